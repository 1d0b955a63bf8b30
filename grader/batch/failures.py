"""What went wrong in a report, as short messages: per case, per function, and grouped across a class."""

from __future__ import annotations

import re
from grader.report import CaseResult, FunctionResult

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_POSITIONS = re.compile(r"\[[#, ]*\](?:, \[[#, ]*\])*(?: and # more)?")


def case_failures(case: CaseResult) -> list[str]:
    """Why a case lost points: why the call produced nothing, or each failed scored output."""
    if case.message:
        return [case.message]
    return [output.message for output in case.outputs.values() if output.scored and not output.passed]


def function_failures(function: FunctionResult) -> list[str]:
    """Distinct failure messages of a function, in case order."""
    messages: list[str] = []
    for case in function.cases:
        messages += [message for message in case_failures(case) if message and message not in messages]
    return messages


def message_kind(message: str) -> str:
    """A message with its numbers and positions blanked, so the same mistake groups across students."""
    return _POSITIONS.sub("…", _NUMBER.sub("#", message))

