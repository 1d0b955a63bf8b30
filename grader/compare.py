"""Compare one output with what was expected and say, for a student, what differs.

Pure functions on arrays. Masks (`exact` outputs) must match entry for entry;
other outputs within the case's tolerance. Messages name the output, its shape and
the differing entries. A hidden case says nothing a student could search towards its
expected value (SECURITY.md, "Hidden cases"): no expected value, no size or direction
of an error (max_abs_error and max_rel_error are None), and not which or how many
entries differ: for a mask, flipping those would give it away, and for a float output
they can trace a hidden mask too (an unmasked A1 fails exactly where D1 is 0).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from grader.assignment import Tolerance

MAX_POSITIONS = 5


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of checking one output of one case."""

    output: str
    passed: bool
    message: str
    shape: list[int] | None = None
    expected_shape: list[int] | None = None
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    mismatches: int | None = None
    against: str = "reference"


def _shape(shape: tuple[int, ...]) -> str:
    return "()" if not shape else "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _positions(mask: np.ndarray) -> str:
    where = np.argwhere(mask)[:MAX_POSITIONS]
    listed = ", ".join("[" + ", ".join(map(str, index)) + "]" for index in where)
    more = int(mask.sum()) - len(where)
    return listed + (f" and {more} more" if more > 0 else "")


def _error(value: float, hidden: bool) -> float | None:
    """An error size, or None on a hidden case, where a student could bisect on it."""
    return None if hidden else value


def _number(value: float) -> str:
    return f"{value:.6g}"


def compare(
    name: str,
    actual: np.ndarray | str | None,
    expected: np.ndarray,
    tolerance: Tolerance,
    *,
    exact: bool = False,
    scalar: bool = False,
    hidden: bool = True,
    against: str = "reference",
) -> Verdict:
    """Check `actual` against `expected`; `against` names what the expectation was derived from."""
    expected_shape = list(expected.shape)
    label = name if against == "reference" else f"{name} (checked against your own {against})"
    if actual is None:
        return Verdict(name, False, f"{name} was not produced", expected_shape=expected_shape, against=against)
    if isinstance(actual, str):
        return Verdict(name, False, f"{name} {actual}", expected_shape=expected_shape, against=against)
    if scalar and actual.size == 1:
        actual = actual.reshape(())
    shape = list(actual.shape)
    if actual.shape != expected.shape:
        hint = " (is it transposed?)" if actual.ndim == 2 and actual.shape == expected.shape[::-1] else ""
        return Verdict(
            name,
            False,
            f"{name} has shape {_shape(actual.shape)}; expected {_shape(expected.shape)}{hint}",
            shape,
            expected_shape,
            against=against,
        )
    if exact:
        return _compare_mask(name, label, actual, expected, hidden, against)
    return _compare_close(name, label, actual.astype(np.float64), expected.astype(np.float64), tolerance, hidden, against)


def _compare_mask(
    name: str, label: str, actual: np.ndarray, expected: np.ndarray, hidden: bool, against: str
) -> Verdict:
    shape = list(actual.shape)
    if not np.all(np.isin(actual, (0, 1))):
        bad = ~np.isin(actual, (0, 1))
        return Verdict(
            name, False,
            f"{label} should hold only 0/1 (False/True) entries; {int(bad.sum())} do not, at {_positions(bad)}",
            shape, shape, mismatches=int(bad.sum()), against=against,
        )
    differ = actual.astype(bool) != expected.astype(bool)
    count = int(differ.sum())
    if count == 0:
        return Verdict(name, True, f"{name} is correct", shape, shape, _error(0.0, hidden), _error(0.0, hidden),
                       None if hidden else 0, against)
    if hidden:
        return Verdict(name, False, f"{label} differs from the expected mask", shape, shape, against=against)
    first = tuple(int(i) for i in np.argwhere(differ)[0])
    message = (f"{label}: {count} of {actual.size} mask entries differ, at {_positions(differ)}; "
               f"at {list(first)} you have {bool(actual[first])}, expected {bool(expected[first])}")
    return Verdict(name, False, message, shape, shape, 1.0, None, count, against)


def _compare_close(
    name: str,
    label: str,
    actual: np.ndarray,
    expected: np.ndarray,
    tolerance: Tolerance,
    hidden: bool,
    against: str,
) -> Verdict:
    shape = list(actual.shape)
    finite = np.isfinite(actual)
    if not finite.all():
        bad = ~finite
        return Verdict(
            name, False,
            f"{label} contains NaN or infinity at {int(bad.sum())} entries ({_positions(bad)})",
            shape, shape, _error(math.inf, hidden), _error(math.inf, hidden), int(bad.sum()), against,
        )
    # Finite values near the float limit may overflow to inf here; that is the right answer, not a warning.
    with np.errstate(over="ignore"):
        difference = np.abs(actual - expected)
        differ = difference > tolerance.atol + tolerance.rtol * np.abs(expected)
        # A relative error means nothing where the expected value is about zero (it read "relative 4e+307"):
        # it is measured only where the expectation is not, and where it differs if anything does.
        meaningful = (np.abs(expected) > tolerance.atol) & (differ if differ.any() else True)
        relative = difference[meaningful] / np.abs(expected[meaningful])
    max_abs = float(difference.max()) if difference.size else 0.0
    max_rel = float(relative.max()) if relative.size else None
    count = int(differ.sum())
    max_abs, max_rel = _error(max_abs, hidden), _error(max_rel, hidden)
    if count == 0:
        return Verdict(name, True, f"{name} is correct", shape, shape, max_abs, max_rel, 0, against)
    allowed = f"allowed rtol {tolerance.rtol:g}, atol {tolerance.atol:g}"
    if hidden:
        # Not even which entries: where an activation fails can trace the hidden mask it multiplies.
        return Verdict(name, False, f"{label} is not within tolerance: {allowed}", shape, shape, None, None, None, against)
    where = "" if actual.ndim == 0 else f"{count} of {actual.size} entries differ, at {_positions(differ)}"
    first = tuple(int(i) for i in np.argwhere(differ)[0]) if actual.ndim else ()
    at = f" at {list(first)}" if first else ""
    relative_text = "" if max_rel is None else f"relative {_number(max_rel)}; "
    message = (
        f"{label} is not within tolerance: {where + '; ' if where else ''}largest difference {_number(max_abs)} "
        f"({relative_text}{allowed}); you have {_number(float(actual[first]))}{at}, "
        f"expected {_number(float(expected[first]))}"
    )
    return Verdict(name, False, message, shape, shape, max_abs, max_rel, count, against)
