"""Scores from pytest-json-report's record: points per output, per case, per function.

Pure. Each case's test records a verdict per output: whether it passed and why. Leaving the arguments unmodified earns its share only when at least one scored
output of the case is correct, so an empty function earns nothing.
"""

from __future__ import annotations

from typing import Any

from grader.assignment import Assignment
from grader.checks import INPUTS_CHECK, Check, by_case
from grader.report import CaseResult, FunctionResult, OutputResult

UNCHECKED = "the grader could not check this output (an internal error, not your fault)"


class Unchecked(Exception):
    """Some check has no recorded verdict: the grader, not the submission, failed."""


def _recorded(pytest_report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Check id -> recorded verdict, for every case test that ran to its end."""
    recorded = {}
    for test in pytest_report.get("tests", []):
        case_id = test["nodeid"].rsplit("::", 1)[-1]
        for entry in test.get("user_properties", []):
            for output, verdict in entry.get("verdicts", {}).items():
                recorded[f"{case_id}::{output}"] = verdict
    return recorded


def _round(points: float) -> float:
    return round(points, 4)


def score(assignment: Assignment, checks: list[Check], pytest_report: dict[str, Any]) -> dict[str, FunctionResult]:
    """Per-function results; raises Unchecked (after scoring the rest) if a verdict is missing."""
    recorded = _recorded(pytest_report)
    grouped = by_case(checks)
    missing = []
    functions: dict[str, FunctionResult] = {}
    for name in assignment.functions:
        cases = []
        for case in assignment.cases_of(name):
            outputs: dict[str, OutputResult] = {}
            failure = ""
            for check in grouped.get(case.id, []):
                verdict = recorded.get(check.id)
                if verdict is None:
                    missing.append(check.id)
                    verdict = {"passed": False, "message": UNCHECKED}
                passed = verdict["passed"]
                failure = failure or check.failure
                outputs[check.output] = OutputResult(
                    scored=check.weight > 0,
                    points=_round(check.points),
                    score=_round(check.points) if passed else 0.0,
                    passed=passed,
                    message=verdict["message"],
                    shape=verdict.get("shape"),
                    expected_shape=verdict.get("expected_shape"),
                    max_abs_error=verdict.get("max_abs_error"),
                    max_rel_error=verdict.get("max_rel_error"),
                    mismatches=verdict.get("mismatches"),
                    checked_against=verdict.get("against", "reference"),
                )
            inputs = outputs.get(INPUTS_CHECK)
            if inputs is not None and inputs.passed:
                if not any(out.passed for key, out in outputs.items() if out.scored and key != INPUTS_CHECK):
                    outputs[INPUTS_CHECK] = inputs.model_copy(
                        update={"score": 0.0, "message": "not awarded: no output of this case is correct"}
                    )
            case_score = _round(sum(out.score for out in outputs.values()))
            cases.append(
                CaseResult(
                    id=case.id,
                    visibility=case.visibility,
                    score=case_score,
                    max_score=_round(case.points),
                    passed=case_score >= _round(case.points),
                    message=failure,
                    outputs=outputs,
                )
            )
        total = _round(sum(case.score for case in cases))
        maximum = _round(sum(case.max_score for case in cases))
        functions[name] = FunctionResult(
            score=total, max_score=maximum, passed=all(case.passed for case in cases), cases=cases
        )
    if missing:
        raise Unchecked(functions, missing)
    return functions
