"""One sentence first: for each failed function, the mistake behind it, its cause, or what was measured.

The primary diagnosis of a failed function is the first of:
- a cause the run shows by itself: the function never ran (and why), is not defined, was not
  loaded because the file could not be parsed (at line N), returned an output as a Python
  list or tuple, returned None, or ran out of time or memory;
- a named mistake: a mistake model of the assignment's catalogue (`[assignment] mistakes =
  "package.module:NAME"`), run here on the host with every case's inputs and the same RNG
  variants as the expectations, reproduces the submission on every case: within each
  output's tolerance where it returned, the same exception type where it raised, by value
  on at least one case. A parametric model's knobs (a constant, a factor) are fitted on the
  visible case, from its inputs and what the submission returned there, and must then
  reproduce every other case unchanged;
- the exception the call raised (its type and line), an output of another type, or
  arguments modified in place;
- otherwise the most informative observation: how the failing outputs relate to what was
  expected (a constant factor, a transpose, a sign, flipped masks, which cases).
No sentence carries a value measured on a hidden case: a named mistake's sentence is its
fixed hint, and an observation shows a factor only as measured on the visible case.
"""

from __future__ import annotations

import collections
import copy
import functools
import re
import threading
import tomllib
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np

from grader.assignment import Assignment, Case, FunctionSpec, Tolerance
from grader.checks import INPUTS_CHECK, Check, check_id, syntax_error
from grader.compare import compare
from grader.report import DiagnosedMistake, FunctionResult, PrimaryDiagnosis
from grader.testcases import extract
from grader.wire import CallResult, SandboxResult

CATALOGUE_KEY = "mistakes"
SAME_FACTOR = 1e-3
"""Relative spread under which per-case factors count as one constant factor."""

MAX_REMEMBERED = 16384
"""Variant runs kept in memory: every (model, knobs, case, seed) of a few assignments."""

LIST_OUTPUT = "is a Python list"
TUPLE_OUTPUT = "is a Python tuple"
NONE_RETURNED = "the function returned None"
"""How the runner describes outputs of the wrong type (grader/runner.py `_encode`, `_read_outputs`)."""

# Variants draw from numpy's global RNG, as students' code does, and the service grades in
# threads: one diagnosis at a time, which also guards the remembered runs.
_RNG_LOCK = threading.Lock()
_VARIANT_OUTPUTS: dict[tuple[Any, ...], dict[str, Any] | str] = {}
_LINE = re.compile(r"\((?:cell (\d+), )?line (\d+)\)\s*$")


class Mistake(Protocol):
    """What the grader reads from a catalogue entry (the reference's own class may hold more)."""

    id: str
    function: str
    hint: str
    variant: Callable[..., Any]
    candidates: Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[Mapping[str, Any], ...]] | None


@functools.lru_cache(maxsize=8)
def _catalogue_name(case_file: Path) -> str | None:
    return tomllib.loads(case_file.read_text())["assignment"].get(CATALOGUE_KEY)


def catalogue(assignment: Assignment) -> tuple[Mistake, ...]:
    """The assignment's mistake models (none when its case file names no catalogue)."""
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
    assignment: Assignment, mistake: Mistake, knobs: Mapping[str, Any], spec: FunctionSpec, case: Case, seed: int
) -> dict[str, Any] | str:
    """`_run`, remembered: a variant's outputs depend only on the case set, the model, its knobs and the seed."""
    key = (assignment.source_digest, mistake.id, repr(sorted(knobs.items())), case.id, seed)
    if key not in _VARIANT_OUTPUTS:
        if len(_VARIANT_OUTPUTS) >= MAX_REMEMBERED:
            _VARIANT_OUTPUTS.clear()
        variant = functools.partial(mistake.variant, **knobs)
        _VARIANT_OUTPUTS[key] = _run(variant, spec, assignment.data[case.id].inputs, seed)
    return _VARIANT_OUTPUTS[key]


def _matches(actual: Any, expected: np.ndarray, tolerance: Tolerance, *, exact: bool, scalar: bool) -> bool:
    """Whether `actual` passes as `expected` (the rule of grader.compare, without building a message)."""
    if not isinstance(actual, np.ndarray):
        return False
    if scalar and actual.size == 1 and expected.size == 1:
        actual, expected = actual.reshape(()), expected.reshape(())
    if actual.shape != expected.shape:
        return False
    if exact:
        return bool(np.all(np.isin(actual, (0, 1)))) and np.array_equal(actual.astype(bool), expected.astype(bool))
    actual, expected = actual.astype(np.float64), expected.astype(np.float64)
    with np.errstate(all="ignore"):
        return bool(np.all(np.abs(actual - expected) <= tolerance.atol + tolerance.rtol * np.abs(expected)))


def _same_outputs(spec: FunctionSpec, case: Case, call: CallResult, produced: Mapping[str, np.ndarray]) -> bool:
    return all(
        _matches(call.outputs.get(name), produced[name], case.tolerances[name], exact=output.exact, scalar=output.scalar)
        for name, output in spec.outputs.items()
    )


def _reproduced(
    assignment: Assignment, mistake: Mistake, knobs: Mapping[str, Any], spec: FunctionSpec, case: Case,
    call: CallResult | None,
) -> str | None:
    """"value" or "exception" when the model explains this case's call, else None."""
    if call is None or call.status not in ("returned", "exception"):
        return None
    raised = call.message.split(":", 1)[0] if call.status == "exception" else None
    for seed in _seeds(spec, case):
        produced = _variant_outputs(assignment, mistake, knobs, spec, case, seed)
        if isinstance(produced, str):
            if produced == raised:
                return "exception"
        elif raised is None and _same_outputs(spec, case, call, produced):
            return "value"
    return None


def _fitting_order(assignment: Assignment, function: str) -> list[Case]:
    """The function's cases, visible first: constants are fitted on what the student can see."""
    cases = assignment.cases_of(function)
    return [case for case in cases if not case.hidden] + [case for case in cases if case.hidden]


def _explains(
    mistake: Mistake, assignment: Assignment, spec: FunctionSpec, calls: Mapping[str, CallResult | None]
) -> bool:
    cases = _fitting_order(assignment, spec.name)
    visible = calls.get(cases[0].id)
    outputs = visible.outputs if visible is not None and visible.status == "returned" else {}
    settings = ({},) if mistake.candidates is None else mistake.candidates(assignment.data[cases[0].id].inputs, outputs)
    for knobs in settings:
        kinds = []
        for case in cases:
            kind = _reproduced(assignment, mistake, knobs, spec, case, calls.get(case.id))
            if kind is None:
                break
            kinds.append(kind)
        else:
            if "value" in kinds:
                return True
    return False


def named_mistakes(
    assignment: Assignment, function: str, calls: Mapping[str, CallResult | None], mistakes: Sequence[Mistake]
) -> tuple[Mistake, ...]:
    """The mistake models of `function` that reproduce the submission's calls (by case id) on every case."""
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


# ---------------------------------------------------------------- causes the run shows


def _where(message: str) -> str:
    """"line N" or "cell C, line N" from a runner message ending in "(… line N)", else ""."""
    match = _LINE.search(message)
    if not match:
        return ""
    cell, line = match.groups()
    return f"cell {cell}, line {line}" if cell else f"line {line}"


def _cause(
    function: str, calls: Sequence[CallResult | None], load_errors: Sequence[str], unrun: str = ""
) -> tuple[str, str] | None:
    """(cause id, sentence) when the calls themselves show why the function failed, before any model;
    `unrun` is why calls that never reported have no result."""
    reported = [call for call in calls if call is not None]
    if not reported:
        return "not-run", f"{function} was not run: {unrun.removeprefix('not run: ')}"
    if all(call.status == "missing" for call in reported):
        error = syntax_error(load_errors)
        if error:
            where = _where(error)
            return "syntax-error", (f"{function} was not loaded because your file could not be parsed"
                                    f"{f' at {where}' if where else ''} (a SyntaxError)")
        return "not-defined", f"{function} is not defined in your file: check its name and spelling"
    for call in reported:
        for output, value in call.outputs.items():
            if isinstance(value, str) and (value.startswith(LIST_OUTPUT) or value.startswith(TUPLE_OUTPUT)):
                kind = "list" if value.startswith(LIST_OUTPUT) else "tuple"
                return "returned-list", (f"{function} returned {output} as a Python {kind}, not a numpy array; "
                                         "the training loop computes with it as an array")
            if isinstance(value, str) and NONE_RETURNED in value:
                return "returned-none", f"{function} returned None: does it end with a return statement?"
    for status, cause, text in (("timeout", "timeout", "took longer than the time limit (look for an endless loop)"),
                                ("memory", "out-of-memory", "ran out of memory")):
        if any(call.status == status for call in reported):
            return cause, f"{function} {text}"
    return None


def _raised(function: str, calls: Sequence[CallResult | None]) -> tuple[str, str] | None:
    raised = next((call for call in calls if call is not None and call.status == "exception"), None)
    if raised is None:
        return None
    where = _where(raised.message)
    return "raised", f"{function} raised {raised.message.split(':', 1)[0]}{f' at {where}' if where else ''}"


def _wrong_type(function: str, calls: Sequence[CallResult | None]) -> tuple[str, str] | None:
    for call in calls:
        if call is None or call.status != "returned":
            continue
        for output, value in call.outputs.items():
            if isinstance(value, str):
                return "wrong-type", f"{function} returned {output} in a form that is not a numeric array: {output} {value}"
    return None


def _mutated(function: str, calls: Sequence[CallResult | None]) -> tuple[str, str] | None:
    names = sorted({name for call in calls if call is not None for name in call.mutated})
    if not names:
        return None
    return "mutated-inputs", (f"{function} changed its argument {', '.join(names)} in place; work on new arrays "
                              "and leave what it receives as it was")


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
    # A factor is shown only as measured on the visible case: one measured on a hidden case would
    # say how far that case's expected value is.
    visible = next((factor for check, factor in zip(measured, factors) if not check.case.hidden), None)
    if abs(high / low - 1) <= SAME_FACTOR and (len(measured) > 1 or measured[0].actual.size > 1):
        if visible is None:
            return "it is a constant multiple of what was expected, the same factor wherever it is wrong"
        return f"it is ×{visible:.3g} what was expected, the same factor wherever it is wrong"
    if all(check.actual.size > 1 for check in measured):
        return ("it is a constant multiple of what was expected in each case, but the factor changes "
                "from case to case" + (f" (×{visible:.3g} in the visible case)" if visible is not None else ""))
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


def _most_informative(lines: Sequence[str], function: str) -> str:
    """The observation that says most: one with a measured relation, else the first, else a plain fact."""
    related = [line for line in lines if "; " in line]
    if related:
        return related[0]
    return lines[0] if lines else f"{function} lost points, but no single observation explains how"


# ---------------------------------------------------------------- the report


def primary_diagnosis(
    function: str,
    calls: Sequence[CallResult | None],
    load_errors: Sequence[str],
    named: Sequence[Mistake],
    observed: Sequence[str],
    unrun: str,
) -> PrimaryDiagnosis:
    """The one sentence a failed function leads with (see the module docstring for the order)."""
    found = _cause(function, calls, load_errors, unrun)
    if found is None and named:
        return PrimaryDiagnosis(kind="mistake", id=named[0].id, sentence=named[0].hint)
    found = found or _raised(function, calls) or _wrong_type(function, calls) or _mutated(function, calls)
    if found is not None:
        return PrimaryDiagnosis(kind="cause", id=found[0], sentence=found[1])
    return PrimaryDiagnosis(kind="observation", id="observation", sentence=_most_informative(observed, function))


def diagnose(
    assignment: Assignment, result: SandboxResult, checks: Sequence[Check], functions: Mapping[str, FunctionResult]
) -> dict[str, FunctionResult]:
    """`functions` with each failed function's primary diagnosis, named mistakes and observations."""
    mistakes = catalogue(assignment)
    calls = {case.id: result.calls.get(index) for index, case in enumerate(assignment.cases)}
    diagnosed = dict(functions)
    for name, function in functions.items():
        if function.passed:
            continue
        own_calls = [calls.get(case.id) for case in _fitting_order(assignment, name)]
        named = () if _cause(name, own_calls, result.load_errors) else named_mistakes(assignment, name, calls, mistakes)
        failing = {check_id(case.id, output) for case in function.cases
                   for output, verdict in case.outputs.items() if not verdict.passed}
        observed = () if named else observations([c for c in checks if c.case.function == name], failing)
        diagnosed[name] = function.model_copy(update={
            "primary": primary_diagnosis(name, own_calls, result.load_errors, named, observed,
                                         function.cases[0].message if function.cases else ""),
            "diagnosis": [DiagnosedMistake(id=m.id, hint=m.hint) for m in named],
            "observations": list(observed),
        })
    return diagnosed

