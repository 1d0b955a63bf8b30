"""The pytest side of grading: one test item per case, judged once, every verdict handed back.

Collected only by `grader.pytest_run.run_checks`, whose plugin turns this file into a
`CaseFile`: a plain `pytest.Item` per case, without the fixture machinery of test
functions (which cost more than the comparisons). Each item judges its case
(`grader.checks.judge`), puts the judged checks in the run's `judged` mapping, keyed by
check id, and fails if any output is wrong: its outcome in pytest-json-report's record
is the case's outcome.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from grader.checks import CaseChecks, Check, judge


class CaseFailed(Exception):
    """Some output of the case is wrong; the message lists why, one output per line."""


class CaseItem(pytest.Item):
    """The checks of one case: judges them all, hands every judged check back, fails if any output is wrong."""

    def __init__(self, *, case_checks: CaseChecks, judged: dict[str, Check], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case_checks = case_checks
        self.judged = judged

    def runtest(self) -> None:
        checks = judge(self.case_checks)
        self.judged.update((check.id, check) for check in checks)
        failed = [check.verdict.message for check in checks if not check.verdict.passed]
        if failed:
            raise CaseFailed("\n".join(failed))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"case {self.name}"


class CaseFile(pytest.File):
    """This file, as pytest sees it during a grading run: one CaseItem per case, in case order."""

    def __init__(self, *, planned: list[CaseChecks], judged: dict[str, Check], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.judged = judged

    def collect(self) -> Iterator[CaseItem]:
        for case_checks in self.planned:
            yield CaseItem.from_parent(self, name=case_checks.case.id, case_checks=case_checks, judged=self.judged)
