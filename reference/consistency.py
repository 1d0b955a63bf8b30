"""Expected values recomputed from a submission's own earlier steps.

A wrong dropout mask should cost the mask points once, not again in every
activation computed from it: A1 is checked against what the submission's own D1
gives, A2 against its own A1 and D2, A3 against its own A2, and dA1 against its own
dA2. Such a derived expectation pays only for work, so it is used only when:

- every mask it follows from is a genuine mask: bool, or numbers that are exactly
  0 or 1, of the expected shape (a mask of 1e-300 everywhere or of uniform draws
  is not one);
- every float array it follows from is on the reference's scale: finite, of the
  reference's shape, and its norm within a factor SCALE of the norm of the
  reference value of the same output (an A1 of 1e-12 times the reference, or a
  huge or NaN A2, is not; A1 without the 1/keep_prob scaling, or an A1 that an
  inverted mask leaves with a third of its units, is);
- the derived value itself is on the scale of the reference value of its output
  and, unless that reference is constant too, not constant (within CONSTANT), so
  that it cannot be met without work: an all-zero mask, or a dA2 that is non-zero
  only where the cache's A2 is zero, derives all zeros; an A2 along W3ᵀ, large
  enough to saturate the sigmoid, derives an A3 of all ones. Neither is used.

Otherwise the reference value is expected. "The reference value" is the one the
grader expects for that output of the case (of the RNG variant that fits the
submission best), passed in as `reference`. A mask of all ones is a genuine mask:
the A1 derived from it is relu(W1·X + b1)/keep_prob, the whole of layer one's work,
so it earns A1 (the mask itself still fails). Likewise an upstream array that is
wrong but on scale still needs the next layer computed from it to earn that layer.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from reference.support.reg_utils import relu, sigmoid

SCALE = 1000.0
"""Largest factor, either way, between the norm of a value and its reference's that counts as on scale.

Generous, since honest mistakes move norms by a factor of ten or more (an inverted mask
keeps 30% of a layer, a sigmoid near 0 shrinks exponentially), yet a value a thousand
times smaller still shifts what is derived from it a hundred times more than the
tolerance (rtol 1e-5) allows; the 1e-12 and 1e-300 of an attack are far outside it.
"""

CONSTANT = 1e-4
"""Relative spread under which a derived value counts as constant: wider than any case's tolerance."""

Expectation = tuple[np.ndarray, str]
"""An expected value and, for the student, what it was derived from."""


def genuine_mask(array: np.ndarray | None, shape: tuple[int, ...]) -> bool:
    """A bool array, or one holding exactly 0 and 1 only, of `shape`."""
    if array is None or array.shape != shape:
        return False
    if array.dtype == np.bool_:
        return True
    return array.dtype.kind in "iuf" and bool(np.all((array == 0) | (array == 1)))


def on_scale(array: np.ndarray | None, reference: np.ndarray) -> bool:
    """Finite, of the reference's shape, with a norm within a factor SCALE of the (non-zero) reference's."""
    if array is None or array.shape != reference.shape or array.dtype.kind not in "biuf":
        return False
    values = array.astype(np.float64)
    if not np.all(np.isfinite(values)):
        return False
    with np.errstate(over="ignore"):
        norm, reference_norm = np.linalg.norm(values), np.linalg.norm(reference.astype(np.float64))
    return bool(reference_norm > 0 and reference_norm / SCALE <= norm <= reference_norm * SCALE)


def _constant(array: np.ndarray) -> bool:
    values = array.astype(np.float64)
    return bool(np.allclose(values, values.flat[0], rtol=CONSTANT, atol=0.0))


def informative(value: np.ndarray, reference: np.ndarray) -> bool:
    """On the reference's scale, and not constant unless the reference is: meeting it takes work."""
    return on_scale(value, reference) and (not _constant(value) or _constant(reference))


def _kept(
    derived: dict[str, Expectation], name: str, value: np.ndarray, source: str, reference: Mapping[str, np.ndarray]
) -> None:
    if informative(value, reference[name]):
        derived[name] = (value, source)


def forward_dropout(
    inputs: Mapping[str, Any], outputs: Mapping[str, np.ndarray | None], reference: Mapping[str, np.ndarray]
) -> dict[str, Expectation]:
    """A1 from the submission's D1; A2 from its A1 and D2; A3 from its A2 (see the module docstring)."""
    X, parameters, keep_prob = inputs["X"], inputs["parameters"], inputs["keep_prob"]
    W1, b1, W2, b2, W3, b3 = (parameters[key] for key in ("W1", "b1", "W2", "b2", "W3", "b3"))
    A1, A2, D1, D2 = (outputs.get(name) for name in ("A1", "A2", "D1", "D2"))
    derived: dict[str, Expectation] = {}
    with np.errstate(all="ignore"):
        if genuine_mask(D1, reference["D1"].shape):
            _kept(derived, "A1", relu(np.dot(W1, X) + b1) * D1 / keep_prob, "D1", reference)
        if on_scale(A1, reference["A1"]) and genuine_mask(D2, reference["D2"].shape):
            _kept(derived, "A2", relu(np.dot(W2, A1) + b2) * D2 / keep_prob, "A1 and D2", reference)
        if on_scale(A2, reference["A2"]):
            _kept(derived, "A3", sigmoid(np.dot(W3, A2) + b3), "A2", reference)
    return derived


def backward_dropout(
    inputs: Mapping[str, Any], outputs: Mapping[str, np.ndarray | None], reference: Mapping[str, np.ndarray]
) -> dict[str, Expectation]:
    """dA1 from the submission's own dA2, with the cache's D1 reapplied (see the module docstring)."""
    cache, keep_prob = inputs["cache"], inputs["keep_prob"]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dA2 = outputs.get("dA2")
    derived: dict[str, Expectation] = {}
    if on_scale(dA2, reference["dA2"]):
        with np.errstate(all="ignore"):
            dZ2 = dA2 * (A2 > 0)
            _kept(derived, "dA1", np.dot(W2.T, dZ2) * D1 / keep_prob, "dA2", reference)
    return derived
