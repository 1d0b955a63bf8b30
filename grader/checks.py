"""Turn a sandboxed run into checks, one per case and output, and judge a case's checks.

`build_checks` says what each case must be judged on; `judge` (run under pytest, by
`check_outputs.py`) compares every output once per accepted RNG variant (the course's two
templates) and keeps the variant whose verdicts give the most credit, with, where the
reference says so, expectations recomputed from the submission's own earlier steps
(dropout masks). Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

import numpy as np

from grader.assignment import Assignment, Case, Tolerance
from grader.compare import Verdict, compare
from grader.wire import Call, CallResult, SandboxResult

INPUTS_CHECK = "inputs"

Expectations = dict[str, tuple[np.ndarray, str]]
"""Output -> an expected value recomputed from the submission's own steps, and what it follows from."""


def check_id(case_id: str, output: str) -> str:
    """The one key of an output of a case, in verdicts, scores and diagnoses."""
    return f"{case_id}::{output}"


@dataclasses.dataclass(frozen=True)
class Check:
    """One output of one case: what it is worth, what the call returned and, once judged, its verdict."""

    case: Case
    output: str
    weight: float
    points: float
    actual: np.ndarray | str | None = None
    expected: np.ndarray | None = None
    """Once judged: the chosen variant's value, or one recomputed from the submission's own steps."""
    tolerance: Tolerance | None = None
    exact: bool = False
    scalar: bool = False
    against: str = "reference"
    """What `expected` follows from: "reference", or the outputs it was recomputed from."""
    failure: str = ""
    """Why the call produced nothing (exception, timeout, missing function), if it did not."""
    mutated: tuple[str, ...] = ()
    verdict: Verdict | None = None
    """Once judged: whether the output passed, and why."""

    @property
    def id(self) -> str:
        return check_id(self.case.id, self.output)


@dataclasses.dataclass(frozen=True)
class CaseChecks:
    """The checks of one case, not yet judged, and the expected sets they may be judged against."""

    case: Case
    checks: tuple[Check, ...]
    variants: tuple[dict[str, np.ndarray], ...]
    """The accepted RNG variants' distinct expected outputs, in order of preference."""
    derive: Callable[[dict[str, np.ndarray]], Expectations] | None = None
    """Expectations recomputed from the submission's own outputs, given a variant's (see reference/consistency.py)."""


def _inputs_verdict(check: Check) -> Verdict:
    if check.failure:
        return Verdict(INPUTS_CHECK, False, f"not checked: {check.failure}")
    if check.mutated:
        names = ", ".join(check.mutated)
        return Verdict(INPUTS_CHECK, False, f"the function modified its argument(s) {names} in place; "
                       "work on copies or new arrays instead")
    return Verdict(INPUTS_CHECK, True, "the arguments were left unmodified")


def _judged(check: Check, expected: np.ndarray, against: str) -> Check:
    """`check` against `expected`: its one comparison."""
    if check.failure:
        verdict = Verdict(check.output, False, f"{check.output} was not produced: {check.failure}",
                          expected_shape=list(expected.shape))
    else:
        verdict = compare(check.output, check.actual, expected, check.tolerance, exact=check.exact,
                          scalar=check.scalar, hidden=check.case.hidden, against=against)
    return dataclasses.replace(check, expected=expected, against=against, verdict=verdict)


def _against_variant(case_checks: CaseChecks, variant: dict[str, np.ndarray]) -> list[Check]:
    derived = case_checks.derive(variant) if case_checks.derive else {}
    return [_judged(check, *derived.get(check.output, (variant[check.output], "reference")))
            for check in case_checks.checks if check.output != INPUTS_CHECK]


def judge(case_checks: CaseChecks) -> list[Check]:
    """Every check of the case with its verdict, against the variant that gives the most credit (first on a tie).

    Each output is compared once per variant, and those comparisons are the verdicts:
    nothing is compared again once the variant is chosen.
    """
    judged = max(
        (_against_variant(case_checks, variant) for variant in case_checks.variants),
        key=lambda checks: sum(check.weight for check in checks if check.verdict.passed),
    )
    by_output = {check.output: check for check in judged}
    return [
        by_output.get(check.output) or dataclasses.replace(check, verdict=_inputs_verdict(check))
        for check in case_checks.checks
    ]


def _distinct(variants: Sequence[dict[str, np.ndarray]]) -> tuple[dict[str, np.ndarray], ...]:
    """`variants` without those expecting the same as an earlier one, which would be compared again for nothing.

    Both templates draw the same masks when a case's seeds agree, or when it keeps every unit.
    """
    distinct: list[dict[str, np.ndarray]] = []
    for variant in variants:
        if not any(all(np.array_equal(variant[name], kept[name]) for name in variant) for kept in distinct):
            distinct.append(variant)
    return tuple(distinct)


def plan_calls(assignment: Assignment) -> list[Call]:
    """The calls the runner makes, one per case, in case order; nothing hidden goes in."""
    calls = []
    for case in assignment.cases:
        spec = assignment.functions[case.function]
        inputs = assignment.data[case.id].inputs
        calls.append(
            Call(
                function=case.function,
                args=tuple(inputs[name] for name in spec.args),
                arg_names=spec.args,
                seed=case.call_seed,
                outputs={name: output.path for name, output in spec.outputs.items()},
            )
        )
    return calls


def syntax_error(load_errors: Sequence[str]) -> str | None:
    """The load error that says the file could not be parsed, if there is one."""
    return next((error for error in load_errors if error.startswith("SyntaxError")), None)


def _failure(call: CallResult | None, function: str, unfinished: str, load_errors: list[str]) -> str:
    if call is None:
        return unfinished
    if call.status == "missing":
        if parse_error := syntax_error(load_errors):
            return f"{function} was not loaded: your file could not be parsed ({parse_error})"
        return f"{function} is not defined in your file"
    if call.status == "exception":
        return f"{function} raised {call.message}"
    if call.status == "timeout":
        return f"{function} {call.message}"
    if call.status == "memory":
        return f"{function} ran out of memory"
    return ""


def build_checks(
    assignment: Assignment, result: SandboxResult, unfinished: str = "the run ended before this call"
) -> list[CaseChecks]:
    """Every case's checks, in case order, not yet judged; `unfinished` explains calls that never reported."""
    planned: list[CaseChecks] = []
    for index, case in enumerate(assignment.cases):
        spec = assignment.functions[case.function]
        data = assignment.data[case.id]
        call = result.calls.get(index)
        failure = _failure(call, case.function, unfinished, result.load_errors)
        outputs = {} if failure else call.outputs
        checks = [
            Check(
                case=case,
                output=name,
                weight=output.weight,
                points=case.points * output.weight / spec.total_weight,
                actual=outputs.get(name),
                tolerance=case.tolerances[name],
                exact=output.exact,
                scalar=output.scalar,
                failure=failure,
            )
            for name, output in spec.outputs.items()
        ]
        if spec.inputs_weight:
            checks.append(
                Check(
                    case=case,
                    output=INPUTS_CHECK,
                    weight=spec.inputs_weight,
                    points=case.points * spec.inputs_weight / spec.total_weight,
                    failure=failure,
                    mutated=tuple(call.mutated) if call and not failure else (),
                )
            )
        derive = None
        if spec.consistency and not failure:
            arrays = {name: value for name, value in outputs.items() if isinstance(value, np.ndarray)}
            derive = functools.partial(assignment.resolve(spec.consistency), data.inputs, arrays)
        planned.append(CaseChecks(case, tuple(checks), _distinct(list(data.expected.values())), derive))
    return planned
