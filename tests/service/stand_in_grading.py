"""A grading function for service tests that must not depend on the sandbox's speed.

Injected with `GRADER_GRADE_FUNCTION=tests.service.stand_in_grading:grade`; the integration
tests in test_real_grading.py use the real engine.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from typing import Any


@dataclasses.dataclass(frozen=True)
class StandInReport:
    status: str
    score: float
    max_score: float
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return dataclasses.asdict(self)


def grade(submission: Any, *, backend: str = "process", timeout: float | None = None) -> StandInReport:
    """Score = number of lines (at most 10); sleeps `STANDIN_GRADE_SECONDS` to look like real work.

    A submission mentioning `log(0)` gets non-finite numbers in its report, as an honest cost
    of `log(0)` puts them into a real one.
    """
    time.sleep(float(os.environ.get("STANDIN_GRADE_SECONDS", "0")))
    if b"raise" in submission.content:
        return StandInReport("error", 0.0, 10.0)
    score = float(min(10, submission.content.count(b"\n")))
    if b"log(0)" in submission.content:
        return StandInReport("graded", score, 10.0, {"cost": -math.inf, "relative_error": math.nan})
    return StandInReport("graded", score, 10.0)
