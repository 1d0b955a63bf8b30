"""The pytest side of grading: one test item per case, every output's verdict recorded for the report.

Collected only by `grader.pytest_run.run_checks`, whose plugin turns this file into a
`CaseFile`: a plain `pytest.Item` per case, without the fixture machinery of test
functions (which cost more than the comparisons). The verdicts travel to the score
report through pytest-json-report's user properties.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from grader.checks import Check, by_case


class CaseFailed(Exception):
    """Some output of the case is wrong; the message lists why, one output per line."""


class CaseItem(pytest.Item):
    """The checks of one case: runs them all, records every verdict, fails if any output is wrong."""

    def __init__(self, *, checks: list[Check], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks = checks

    def runtest(self) -> None:
        verdicts = {check.output: check.verdict() for check in self.checks}
        self.user_properties.append(
            ("verdicts", {name: dataclasses.asdict(verdict) for name, verdict in verdicts.items()})
        )
        failed = [verdict.message for verdict in verdicts.values() if not verdict.passed]
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

    def __init__(self, *, checks: list[Check], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks = checks

    def collect(self) -> Iterator[CaseItem]:
        for case_id, checks in by_case(self.checks).items():
            yield CaseItem.from_parent(self, name=case_id, checks=checks)
