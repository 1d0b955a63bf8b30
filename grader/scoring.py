"""Scores from a pytest run's verdicts: points per output, per case, per function.

Pure. Each case's test judged every output: whether it passed and why. Its outcome in
pytest-json-report's record must agree (passed exactly when every output passed), or
the case counts as unchecked. Leaving the arguments unmodified earns its share only
when at least one scored output of the case is correct, so an empty function earns nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from grader.assignment import Assignment
from grader.checks import INPUTS_CHECK, CaseChecks, Check
from grader.compare import Verdict
from grader.report import CaseResult, FunctionResult, OutputResult

if TYPE_CHECKING:
    from grader.pytest_run import Judging

UNCHECKED = "the grader could not check this output (an internal error, not your fault)"


class Unchecked(Exception):
    """Some check has no recorded verdict: the grader, not the submission, failed."""


def _verdicts(case_checks: CaseChecks, judging: Judging) -> dict[str, Verdict] | None:
    """Check id -> verdict for every check of the case, if its test judged them all and its record agrees."""
    judged = [judging.checks.get(check.id) for check in case_checks.checks]
    if any(check is None for check in judged):
        return None
    outcome = "passed" if all(check.verdict.passed for check in judged) else "failed"
    if judging.outcomes.get(case_checks.case.id) != outcome:
        return None
    return {check.id: check.verdict for check in judged}


def _round(points: float) -> float:
    return round(points, 4)


def score(assignment: Assignment, planned: list[CaseChecks], judging: Judging) -> dict[str, FunctionResult]:
    """Per-function results; raises Unchecked (after scoring the rest) if a case went unjudged or its record disagrees."""
    grouped: dict[str, tuple[Check, ...]] = {case_checks.case.id: case_checks.checks for case_checks in planned}
    verdicts: dict[str, Verdict] = {}
    for case_checks in planned:
        verdicts |= _verdicts(case_checks, judging) or {}
    missing = []
    functions: dict[str, FunctionResult] = {}
    for name in assignment.functions:
        cases = []
        for case in assignment.cases_of(name):
            outputs: dict[str, OutputResult] = {}
            failure = ""
            for check in grouped.get(case.id, ()):
                verdict = verdicts.get(check.id)
                if verdict is None:
                    missing.append(check.id)
                    verdict = Verdict(check.output, False, UNCHECKED)
                failure = failure or check.failure
                outputs[check.output] = OutputResult(
                    scored=check.weight > 0,
                    points=_round(check.points),
                    score=_round(check.points) if verdict.passed else 0.0,
                    passed=verdict.passed,
                    message=verdict.message,
                    shape=verdict.shape,
                    expected_shape=verdict.expected_shape,
                    max_abs_error=verdict.max_abs_error,
                    max_rel_error=verdict.max_rel_error,
                    mismatches=verdict.mismatches,
                    checked_against=verdict.against,
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
