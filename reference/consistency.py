"""Expected values recomputed from a submission's own earlier steps.

A wrong dropout mask should cost the mask points once, not again in every
activation computed from it: each activation is checked against what the
submission's own mask and own previous activation give. A step whose inputs have
the wrong shape, are not finite, or are all zero is left out, and the reference
value is used instead: an all-zero mask or gradient would make the derived value
trivial, so returning zeros everywhere must not earn the derived outputs.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from reference.support.reg_utils import relu, sigmoid


def _usable(array: np.ndarray | None, shape: tuple[int, ...]) -> bool:
    return (
        array is not None
        and array.shape == shape
        and bool(np.all(np.isfinite(array)))
        and bool(np.any(array != 0))
    )


Expectation = tuple[np.ndarray, str]
"""An expected value and, for the student, what it was derived from."""


def forward_dropout(inputs: Mapping[str, Any], outputs: Mapping[str, np.ndarray | None]) -> dict[str, Expectation]:
    """A1 from the submission's D1; A2 from its A1 and D2; A3 from its A2."""
    X, parameters, keep_prob = inputs["X"], inputs["parameters"], inputs["keep_prob"]
    W1, b1, W2, b2, W3, b3 = (parameters[key] for key in ("W1", "b1", "W2", "b2", "W3", "b3"))
    m = X.shape[1]
    expected: dict[str, Expectation] = {}
    A1 = outputs.get("A1")
    if _usable(outputs.get("D1"), (W1.shape[0], m)):
        expected["A1"] = (relu(np.dot(W1, X) + b1) * outputs["D1"] / keep_prob, "D1")
    if _usable(A1, (W1.shape[0], m)) and _usable(outputs.get("D2"), (W2.shape[0], m)):
        expected["A2"] = (relu(np.dot(W2, A1) + b2) * outputs["D2"] / keep_prob, "A1 and D2")
    A2 = outputs.get("A2")
    if _usable(A2, (W2.shape[0], m)):
        expected["A3"] = (sigmoid(np.dot(W3, A2) + b3), "A2")
    return expected


def backward_dropout(inputs: Mapping[str, Any], outputs: Mapping[str, np.ndarray | None]) -> dict[str, Expectation]:
    """dA1 from the submission's own dA2, with the cache's D1 reapplied."""
    cache, keep_prob = inputs["cache"], inputs["keep_prob"]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dA2 = outputs.get("dA2")
    if not _usable(dA2, A2.shape):
        return {}
    dZ2 = dA2 * (A2 > 0)
    return {"dA1": (np.dot(W2.T, dZ2) * D1 / keep_prob, "dA2")}
