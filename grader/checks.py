"""Turn a sandboxed run into checks: one per case and output, each with what it is compared to.

Here the expectation of every output is chosen: the RNG variant (the course's two
templates) that best explains the submission's outputs, and, where the reference
says so, values recomputed from the submission's own earlier steps (dropout masks).
Pure: no I/O; the comparisons themselves run under pytest (`check_outputs.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.assignment import Assignment, Case, FunctionSpec, Tolerance
from grader.compare import Verdict, compare
from grader.wire import Call, CallResult, SandboxResult

INPUTS_CHECK = "inputs"


@dataclasses.dataclass(frozen=True)
class Check:
    """One output of one case, with everything needed to judge it."""

    case: Case
    output: str
    weight: float
    points: float
    actual: np.ndarray | str | None = None
    expected: np.ndarray | None = None
    tolerance: Tolerance | None = None
    exact: bool = False
    scalar: bool = False
    against: str = "reference"
    failure: str = ""
    """Why the call produced nothing (exception, timeout, missing function), if it did not."""
    mutated: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.case.id}::{self.output}"

    def verdict(self) -> Verdict:
        if self.output == INPUTS_CHECK:
            return _inputs_verdict(self)
        if self.failure:
            return Verdict(self.output, False, f"{self.output} was not produced: {self.failure}",
                           expected_shape=list(self.expected.shape))
        return compare(
            self.output,
            self.actual,
            self.expected,
            self.tolerance,
            exact=self.exact,
            scalar=self.scalar,
            hidden=self.case.hidden,
            against=self.against,
        )


def by_case(checks: list[Check]) -> dict[str, list[Check]]:
    """Case id -> that case's checks, cases in the order they first appear."""
    grouped: dict[str, list[Check]] = {}
    for check in checks:
        grouped.setdefault(check.case.id, []).append(check)
    return grouped


def _inputs_verdict(check: Check) -> Verdict:
    if check.failure:
        return Verdict(INPUTS_CHECK, False, f"not checked: {check.failure}")
    if check.mutated:
        names = ", ".join(check.mutated)
        return Verdict(INPUTS_CHECK, False, f"the function modified its argument(s) {names} in place; "
                       "work on copies or new arrays instead")
    return Verdict(INPUTS_CHECK, True, "the arguments were left unmodified")


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


def _best_variant(
    spec: FunctionSpec, case: Case, variants: dict[str, dict[str, np.ndarray]], outputs: dict[str, Any]
) -> dict[str, np.ndarray]:
    """The expected set that gives the submission the most credit (first one on a tie)."""

    def credit(expected: dict[str, np.ndarray]) -> float:
        return sum(
            output.weight
            for name, output in spec.outputs.items()
            if compare(name, outputs.get(name), expected[name], case.tolerances[name],
                       exact=output.exact, scalar=output.scalar).passed
        )

    return max(variants.values(), key=credit)


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
) -> list[Check]:
    """Every check of every case, in case order; `unfinished` explains calls that never reported."""
    checks: list[Check] = []
    for index, case in enumerate(assignment.cases):
        spec = assignment.functions[case.function]
        data = assignment.data[case.id]
        call = result.calls.get(index)
        failure = _failure(call, case.function, unfinished, result.load_errors)
        outputs = {} if failure else call.outputs
        expected = _best_variant(spec, case, data.expected, outputs)
        derived: dict[str, tuple[np.ndarray, str]] = {}
        if spec.consistency and not failure:
            arrays = {name: value for name, value in outputs.items() if isinstance(value, np.ndarray)}
            derived = assignment.resolve(spec.consistency)(data.inputs, arrays, expected)
        for name, output in spec.outputs.items():
            value, against = derived.get(name, (expected[name], "reference"))
            checks.append(
                Check(
                    case=case,
                    output=name,
                    weight=output.weight,
                    points=case.points * output.weight / spec.total_weight,
                    actual=outputs.get(name),
                    expected=value,
                    tolerance=case.tolerances[name],
                    exact=output.exact,
                    scalar=output.scalar,
                    against=against,
                    failure=failure,
                )
            )
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
    return checks
