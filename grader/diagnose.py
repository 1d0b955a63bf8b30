"""Name the catalogued mistake behind a failed function, or say what can be measured without one.

A mistake is named only when its variant, run here on the host with every case's inputs
and the same RNG variants as the expectations, reproduces the submission's outputs on
every case of the function: within each output's tolerance where the submission returned,
the same exception type where it raised, and by value on at least one case. Otherwise the
observations say how the failing outputs relate to what was expected (a constant factor,
a transpose, a sign, flipped mask entries, which cases) without showing expected values.
Assignment-agnostic: the catalogue is the one the case file names under
`[assignment] mistakes = "package.module:NAME"`, a sequence of entries with `id`,
`function`, `hint` and `variant` (a callable taking the function's arguments).
"""

from __future__ import annotations

import collections
import copy
import functools
import threading
import tomllib
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

import numpy as np

from grader.assignment import Assignment, Case, FunctionSpec
from grader.checks import INPUTS_CHECK, Check
from grader.compare import compare
from grader.report import DiagnosedMistake, FunctionResult, Report
from grader.testcases import extract
from grader.wire import CallResult, SandboxResult

CATALOGUE_KEY = "mistakes"
SAME_FACTOR = 1e-3
"""Relative spread under which per-case factors count as one constant factor."""

MAX_REMEMBERED = 4096
"""Variant runs kept in memory: every (mistake, case, seed) of a few assignments."""

# Variants draw from numpy's global RNG, as students' code does, and the service grades in
# threads: one diagnosis at a time, which also guards the remembered runs.
_RNG_LOCK = threading.Lock()
_VARIANT_OUTPUTS: dict[tuple[str, str, str, int], dict[str, Any] | str] = {}


class Mistake(Protocol):
    """What the grader reads from a catalogue entry (the reference's own class may hold more)."""

    id: str
    function: str
    hint: str
    variant: Callable[..., Any]


@functools.lru_cache(maxsize=8)
def _catalogue_name(case_file: Path) -> str | None:
    return tomllib.loads(case_file.read_text())["assignment"].get(CATALOGUE_KEY)


def catalogue(assignment: Assignment) -> tuple[Mistake, ...]:
    """The assignment's catalogued mistakes (none when its case file names no catalogue)."""
    dotted = _catalogue_name(assignment.case_file)
    return tuple(assignment.resolve(dotted)) if dotted else ()


# ---------------------------------------------------------------- naming a mistake


def _seeds(spec: FunctionSpec, case: Case) -> tuple[int, ...]:
    """The seeds the expectations were generated with (grader.testcases): the case's, then the accepted ones."""
    return tuple(dict.fromkeys((case.call_seed, *spec.also_accept_seeds)))


def _run(variant: Callable[..., Any], spec: FunctionSpec, inputs: Mapping[str, Any], seed: int) -> dict[str, Any] | str:
    """The variant's outputs on copies of the inputs, or the name of the exception it raised."""
    args = [copy.deepcopy(inputs[name]) for name in spec.args]
    np.random.seed(seed)
    try:
        with np.errstate(all="ignore"):
            returned = variant(*args)
        outputs = {name: np.array(extract(returned, output.path)) for name, output in spec.outputs.items()}
    except Exception as exc:  # a variant fails where the mistake makes the student's code fail
        return type(exc).__name__
    for array in outputs.values():
        array.flags.writeable = False
    return outputs


def _variant_outputs(
    assignment: Assignment, mistake: Mistake, spec: FunctionSpec, case: Case, seed: int
) -> dict[str, Any] | str:
    """`_run`, remembered: a variant's outputs depend only on the case set, the mistake and the seed."""
    key = (assignment.source_digest, mistake.id, case.id, seed)
    if key not in _VARIANT_OUTPUTS:
        if len(_VARIANT_OUTPUTS) >= MAX_REMEMBERED:
            _VARIANT_OUTPUTS.clear()
        _VARIANT_OUTPUTS[key] = _run(mistake.variant, spec, assignment.data[case.id].inputs, seed)
    return _VARIANT_OUTPUTS[key]


def _same_outputs(spec: FunctionSpec, case: Case, call: CallResult, produced: Mapping[str, np.ndarray]) -> bool:
    for name, output in spec.outputs.items():
        actual, expected = call.outputs.get(name), produced[name]
        if not isinstance(actual, np.ndarray) or actual.size != expected.size:
            return False
        # Masks differing somewhere cannot pass `compare`: reject them before it builds a message.
        if output.exact and actual.shape == expected.shape and np.any(actual.astype(bool) != expected.astype(bool)):
            return False
        if not compare(name, actual, expected, case.tolerances[name], exact=output.exact, scalar=output.scalar).passed:
            return False
    return True


def _reproduced(
    assignment: Assignment, mistake: Mistake, spec: FunctionSpec, case: Case, call: CallResult | None
) -> str | None:
    """"value" or "exception" when the mistake explains this case's call, else None."""
    if call is None or call.status not in ("returned", "exception"):
        return None
    raised = call.message.split(":", 1)[0] if call.status == "exception" else None
    for seed in _seeds(spec, case):
        produced = _variant_outputs(assignment, mistake, spec, case, seed)
        if isinstance(produced, str):
            if produced == raised:
                return "exception"
        elif raised is None and _same_outputs(spec, case, call, produced):
            return "value"
    return None


def _explains(
    mistake: Mistake, assignment: Assignment, spec: FunctionSpec, calls: Mapping[str, CallResult | None]
) -> bool:
    kinds = []
    for case in assignment.cases_of(spec.name):
        kind = _reproduced(assignment, mistake, spec, case, calls.get(case.id))
        if kind is None:
            return False
        kinds.append(kind)
    return "value" in kinds


def named_mistakes(
    assignment: Assignment, function: str, calls: Mapping[str, CallResult | None], mistakes: Sequence[Mistake]
) -> tuple[Mistake, ...]:
    """The catalogued mistakes of `function` that reproduce the submission's calls (by case id) on every case."""
    spec = assignment.functions[function]
    candidates = [mistake for mistake in mistakes if mistake.function == function]
    if not candidates:
        return ()
    with _RNG_LOCK:
        state = np.random.get_state()
        try:
            return tuple(mistake for mistake in candidates if _explains(mistake, assignment, spec, calls))
        finally:
            np.random.set_state(state)


# ---------------------------------------------------------------- measuring without a diagnosis


def _factor(check: Check) -> float | None:
    """r with actual ≈ r · expected (within the output's tolerance), if there is one."""
    actual, expected = check.actual.astype(np.float64), check.expected.astype(np.float64)
    if check.scalar and actual.size == 1:
        actual = actual.reshape(expected.shape)
    norm = float(np.dot(expected.ravel(), expected.ravel()))
    if actual.shape != expected.shape or norm == 0.0:
        return None
    factor = float(np.dot(actual.ravel(), expected.ravel())) / norm
    fits = compare(check.output, actual, factor * expected, check.tolerance, scalar=check.scalar).passed
    return factor if fits and factor != 0.0 else None


def _transposed(check: Check) -> bool:
    actual, expected = check.actual, check.expected
    return (
        actual.ndim == 2 and actual.shape == expected.shape[::-1] and actual.shape != expected.shape
        and compare(check.output, actual.T, expected, check.tolerance, exact=check.exact).passed
    )


def _flipped(check: Check) -> bool:
    actual, expected = check.actual, check.expected
    return (
        check.exact and actual.shape == expected.shape and bool(np.all(np.isin(actual, (0, 1))))
        and bool(np.all(actual.astype(bool) != expected.astype(bool)))
    )


def _relation(failing: list[Check]) -> str | None:
    """How every measurable failing value relates to its expectation, if one way fits them all."""
    measured = [
        check for check in failing
        if isinstance(check.actual, np.ndarray) and check.actual.size and np.all(np.isfinite(check.actual))
    ]
    if not measured:
        return None
    if all(not np.any(check.actual) for check in measured):
        return "it is all zeros"
    if all(_transposed(check) for check in measured):
        return "it is the transpose of what was expected"
    if all(check.exact for check in measured):
        flipped = all(_flipped(check) for check in measured)
        return "every entry is flipped (kept where dropped was expected and vice versa)" if flipped else None
    factors = [_factor(check) for check in measured]
    if any(factor is None for factor in factors):
        return None
    low, high = min(factors), max(factors)
    if low * high <= 0:
        return None
    if all(abs(factor + 1) <= SAME_FACTOR for factor in factors):
        return "it has the opposite sign of what was expected"
    # A factor measured on a hidden case would give its expected value away (SECURITY.md,
    # "Hidden cases"): only factors measured on visible cases are shown.
    visible = {check.case.id: factor for check, factor in zip(measured, factors) if not check.case.hidden}
    if abs(high / low - 1) <= SAME_FACTOR and (len(measured) > 1 or measured[0].actual.size > 1):
        value = (f"×{next(iter(visible.values())):.3g} what was expected" if visible
                 else "a constant multiple of what was expected")
        return f"it is {value}, the same factor wherever it is wrong"
    if all(check.actual.size > 1 for check in measured):
        shown = ", ".join(f"×{factor:.3g} in {case}" for case, factor in visible.items())
        return ("it is a constant multiple of what was expected in each case, but the factor changes "
                "from case to case" + (f" ({shown})" if shown else ""))
    return None


def observations(checks: Sequence[Check], failing: set[str]) -> tuple[str, ...]:
    """Per failing scored output: the cases it fails in and how it relates to its expectation there."""
    by_output: dict[str, list[Check]] = collections.defaultdict(list)
    for check in checks:
        if check.output != INPUTS_CHECK and check.weight > 0:
            by_output[check.output].append(check)
    lines = []
    for output, output_checks in by_output.items():
        wrong = [check for check in output_checks if check.id in failing]
        if not wrong:
            continue
        right = [check.case.id for check in output_checks if check.id not in failing]
        relation = _relation([check for check in wrong if not check.failure])
        lines.append(
            f"{output} is wrong in {len(wrong)} of {len(output_checks)} cases"
            + (f" (right in {', '.join(right)})" if right else "")
            + (f"; {relation}" if relation else "")
        )
    return tuple(lines)


# ---------------------------------------------------------------- the report


def diagnose(
    assignment: Assignment, result: SandboxResult, checks: Sequence[Check], functions: Mapping[str, FunctionResult]
) -> dict[str, FunctionResult]:
    """`functions` with each failed function's diagnosis, or observations when no mistake is named."""
    mistakes = catalogue(assignment)
    calls = {case.id: result.calls.get(index) for index, case in enumerate(assignment.cases)}
    diagnosed = dict(functions)
    for name, function in functions.items():
        if function.passed:
            continue
        named = named_mistakes(assignment, name, calls, mistakes)
        if named:
            update: dict[str, Any] = {"diagnosis": [DiagnosedMistake(id=m.id, hint=m.hint) for m in named]}
        else:
            failing = {f"{case.id}::{output}" for case in function.cases
                       for output, verdict in case.outputs.items() if not verdict.passed}
            own = [check for check in checks if check.case.function == name]
            update = {"observations": list(observations(own, failing))}
        diagnosed[name] = function.model_copy(update=update)
    return diagnosed


def most_frequent_mistakes(reports: Iterable[Report]) -> list[tuple[str, str, int]]:
    """(id, hint, number of submissions) of every diagnosed mistake, most frequent first."""
    counts: collections.Counter[str] = collections.Counter()
    hints: dict[str, str] = {}
    for report in reports:
        seen = {m.id: m.hint for function in report.functions.values() for m in function.diagnosis}
        counts.update(seen.keys())
        hints.update(seen)
    return [(mistake_id, hints[mistake_id], count)
            for mistake_id, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
