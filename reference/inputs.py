"""Draw each case's inputs from its pinned seed and layer sizes.

Every builder takes the case's table from the case file and returns the function's
arguments by name. The draws of the course's public cases are reproduced exactly:
seed, then W1, b1, W2, b2, W3, b3 (after X where the function takes X).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from reference import solution
from reference.support.reg_utils import forward_propagation, sigmoid


def _given(case: Mapping[str, Any], name: str) -> np.ndarray | None:
    value = case.get("given", {}).get(name)
    return None if value is None else np.array(value)


def _parameters(n0: int, n1: int, n2: int) -> dict[str, np.ndarray]:
    return {
        "W1": np.random.randn(n1, n0),
        "b1": np.random.randn(n1, 1),
        "W2": np.random.randn(n2, n1),
        "b2": np.random.randn(n2, 1),
        "W3": np.random.randn(1, n2),
        "b3": np.random.randn(1, 1),
    }


def _labels(m: int) -> np.ndarray:
    return (np.random.rand(1, m) > 0.5).astype(np.int64)


def cost(case: Mapping[str, Any]) -> dict[str, Any]:
    """A3, Y, parameters, lambd for compute_cost_with_regularization."""
    n0, n1, n2, m = (case["sizes"][key] for key in ("n0", "n1", "n2", "m"))
    np.random.seed(case["seed"])
    given_y = _given(case, "Y")
    parameters = _parameters(n0, n1, n2)
    Y = given_y if given_y is not None else _labels(m)
    given_a3 = _given(case, "A3")
    A3 = given_a3 if given_a3 is not None else sigmoid(np.random.randn(1, m))
    return {"A3": A3, "Y": Y, "parameters": parameters, "lambd": case["lambd"]}


def backward_regularization(case: Mapping[str, Any]) -> dict[str, Any]:
    """X, Y, cache (12 entries, from a plain forward pass), lambd."""
    n0, n1, n2, m = (case["sizes"][key] for key in ("n0", "n1", "n2", "m"))
    np.random.seed(case["seed"])
    X = np.random.randn(n0, m)
    parameters = _parameters(n0, n1, n2)
    Y = _labels(m)
    _, cache = forward_propagation(X, parameters)
    return {"X": X, "Y": Y, "cache": cache, "lambd": case["lambd"]}


def forward_dropout(case: Mapping[str, Any]) -> dict[str, Any]:
    """X, parameters, keep_prob for forward_propagation_with_dropout."""
    n0, n1, n2, m = (case["sizes"][key] for key in ("n0", "n1", "n2", "m"))
    np.random.seed(case["seed"])
    X = np.random.randn(n0, m)
    return {"X": X, "parameters": _parameters(n0, n1, n2), "keep_prob": case["keep_prob"]}


def backward_dropout(case: Mapping[str, Any]) -> dict[str, Any]:
    """X, Y, cache (14 entries, masks included, from our forward pass), keep_prob."""
    n0, n1, n2, m = (case["sizes"][key] for key in ("n0", "n1", "n2", "m"))
    np.random.seed(case["seed"])
    X = np.random.randn(n0, m)
    parameters = _parameters(n0, n1, n2)
    Y = _labels(m)
    _, cache = solution.forward_propagation_with_dropout(X, parameters, case["keep_prob"])
    return {"X": X, "Y": Y, "cache": cache, "keep_prob": case["keep_prob"]}
