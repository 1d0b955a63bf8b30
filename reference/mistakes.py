"""Known student mistakes in the four graded functions, each a variant of the reference.

The grader names a mistake only when its variant reproduces a submission's outputs on
every case of the function (grader/diagnose.py). Each variant is a copy of the reference
code with knobs for what students get wrong; the hint names the concept to revisit, not
the corrected line. Host side only: nothing here is shipped into the sandbox.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import numpy as np

from reference.support.reg_utils import compute_cost, relu, sigmoid

COST = "compute_cost_with_regularization"
BACKWARD_L2 = "backward_propagation_with_regularization"
FORWARD_DROPOUT = "forward_propagation_with_dropout"
BACKWARD_DROPOUT = "backward_propagation_with_dropout"
PUBLIC_BATCH = 5
"""The public case's number of examples: what a student who hard-codes m writes."""


@dataclasses.dataclass(frozen=True)
class Mistake:
    """One catalogued mistake: `variant` takes the graded function's arguments."""

    id: str
    function: str
    hint: str
    variant: Callable[..., Any]


def _examples(array: np.ndarray) -> int:
    return array.shape[1]


def _cost(
    A3, Y, parameters, lambd, *,
    l2_factor: float = 0.5,
    penalty: Callable[[np.ndarray], np.ndarray] = np.square,
    weights: tuple[str, ...] = ("W1", "W2", "W3"),
    examples: Callable[[np.ndarray], int] = _examples,
    log: Callable[[np.ndarray], np.ndarray] | None = None,
):
    """The reference cost; `log` replaces the course's compute_cost with a hand-written one."""
    m = examples(Y)
    if log is None:
        cross_entropy = compute_cost(A3, Y)
    else:
        cross_entropy = -1.0 / m * np.sum(Y * log(A3) + (1 - Y) * log(1 - A3))
    return cross_entropy + l2_factor * lambd / m * sum(np.sum(penalty(parameters[name])) for name in weights)


def _backward_l2(
    X, Y, cache, lambd, *,
    l2_coefficient: Callable[[float, int], float] = lambda lambd, m: lambd / m,
    l2_layers: tuple[int, ...] = (1, 2, 3),
    active: Callable[[np.ndarray, int], np.ndarray] = np.greater,
    examples: Callable[[np.ndarray], int] = _examples,
):
    """The reference gradients; `active` is the comparison of the relu derivative."""
    m = examples(X)
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    l2 = {layer: (l2_coefficient(lambd, m) if layer in l2_layers else 0.0) for layer in (1, 2, 3)}
    dZ3 = A3 - Y
    dW3 = 1.0 / m * np.dot(dZ3, A2.T) + l2[3] * W3
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(active(A2, 0)))
    dW2 = 1.0 / m * np.dot(dZ2, A1.T) + l2[2] * W2
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(active(A1, 0)))
    dW1 = 1.0 / m * np.dot(dZ1, X.T) + l2[1] * W1
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {
        "dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2,
        "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1,
    }


def _scale(keep_prob: float, how: str) -> float:
    """What a dropped-out layer is multiplied by: 1/keep_prob (inverted dropout), keep_prob, or 1."""
    return {"divide": 1.0 / keep_prob, "multiply": keep_prob, "none": 1.0}[how]


def _forward_dropout(
    X, parameters, keep_prob=0.5, *,
    draw: Callable[..., np.ndarray] = np.random.rand,
    keep: Callable[[np.ndarray, float], np.ndarray] = np.less,
    threshold: float | None = None,
    scaling: tuple[str, str] = ("divide", "divide"),
    masks_first: bool = False,
    reseed_before_d2: bool = False,
    output_dropout: bool = False,
):
    """The reference forward pass; `masks_first` draws D2 then D1 before any activation."""
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    limit = keep_prob if threshold is None else threshold
    m = X.shape[1]
    if masks_first:
        raw2 = draw(W2.shape[0], m)
        raw1 = draw(W1.shape[0], m)
    Z1 = np.dot(W1, X) + b1
    A1 = relu(Z1)
    D1 = keep(raw1 if masks_first else draw(A1.shape[0], A1.shape[1]), limit)
    A1 = A1 * D1 * _scale(limit, scaling[0])
    Z2 = np.dot(W2, A1) + b2
    A2 = relu(Z2)
    if reseed_before_d2:
        np.random.seed(1)
    D2 = keep(raw2 if masks_first else draw(A2.shape[0], A2.shape[1]), limit)
    A2 = A2 * D2 * _scale(limit, scaling[1])
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)
    if output_dropout:
        A3 = A3 * keep(draw(A3.shape[0], A3.shape[1]), limit) / limit
    cache = (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)
    return A3, cache


def _backward_dropout(
    X, Y, cache, keep_prob, *,
    masks: tuple[str | None, str | None] = ("D2", "D1"),
    scaling: tuple[str, str] = ("divide", "divide"),
):
    """The reference gradients; `masks` names the mask reapplied to dA2 and to dA1 (None: no mask)."""
    m = X.shape[1]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache
    named = {"D1": D1, "D2": D2, None: 1}
    dZ3 = A3 - Y
    dW3 = 1.0 / m * np.dot(dZ3, A2.T)
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3) * named[masks[0]] * _scale(keep_prob, scaling[0])
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    dW2 = 1.0 / m * np.dot(dZ2, A1.T)
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2) * named[masks[1]] * _scale(keep_prob, scaling[1])
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1.0 / m * np.dot(dZ1, X.T)
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {
        "dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2,
        "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1,
    }


def _mistake(mistake_id: str, function: str, hint: str, variant: Callable[..., Any], **knobs: Any) -> Mistake:
    return Mistake(mistake_id, function, hint, functools.partial(variant, **knobs))


def _first_rows(array: np.ndarray) -> int:
    return array.shape[0]


def _public_batch(array: np.ndarray) -> int:
    return PUBLIC_BATCH


CATALOGUE: tuple[Mistake, ...] = (
    _mistake("cost.l2-over-m", COST,
             "Your L2 term is twice what formula (2) gives: compare every factor in front of the sum of "
             "squared weights with the formula.",
             _cost, l2_factor=1.0),
    _mistake("cost.m-from-y-rows", COST,
             "Y has one row and one column per example: check which dimension of Y you use as the number "
             "of examples m.",
             _cost, examples=_first_rows),
    _mistake("cost.hard-coded-m", COST,
             "The number of examples m changes from call to call: read it from the shape of the inputs "
             "instead of writing a fixed number.",
             _cost, examples=_public_batch),
    _mistake("cost.weights-not-squared", COST,
             "The L2 penalty adds up squared weights; summing the raw weights lets positive and negative "
             "weights cancel out.",
             _cost, penalty=np.asarray),
    _mistake("cost.missing-layer-W3", COST,
             "The L2 penalty is taken over the weights of every layer of the network, the output layer "
             "included.",
             _cost, weights=("W1", "W2")),
    _mistake("cost.log10", COST,
             "Cross-entropy is defined with the natural logarithm: check which log function your cost calls.",
             _cost, log=np.log10),
    _mistake("cost.no-l2-term", COST,
             "The regularized cost is the cross-entropy cost plus the L2 penalty; the penalty is not in "
             "what you return.",
             _cost, l2_factor=0.0),
    *(
        _mistake(f"backward_l2.l2-missing-dW{layer}", BACKWARD_L2,
                 f"The L2 penalty depends on W{layer} too, so its derivative belongs in dW{layer} as well.",
                 _backward_l2, l2_layers=tuple(other for other in (1, 2, 3) if other != layer))
        for layer in (1, 2, 3)
    ),
    _mistake("backward_l2.l2-without-m", BACKWARD_L2,
             "The penalty is divided by m in the cost, so its derivative is too: check the scale of the "
             "L2 term in your dW.",
             _backward_l2, l2_coefficient=lambda lambd, m: lambd),
    _mistake("backward_l2.l2-over-2m", BACKWARD_L2,
             "Differentiating a squared weight brings down a factor 2: check what becomes of the 1/2 of "
             "the penalty in the gradient.",
             _backward_l2, l2_coefficient=lambda lambd, m: lambd / (2 * m)),
    _mistake("backward_l2.l2-subtracted", BACKWARD_L2,
             "The penalty grows with the size of the weights, so its gradient points the same way as W, "
             "not against it.",
             _backward_l2, l2_coefficient=lambda lambd, m: -lambd / m),
    _mistake("backward_l2.relu-derivative-ge", BACKWARD_L2,
             "A ReLU unit whose output is 0 passes no gradient back: check which entries your ReLU "
             "derivative keeps.",
             _backward_l2, active=np.greater_equal),
    _mistake("backward_l2.m-from-x-rows", BACKWARD_L2,
             "X has one column per example: check which dimension of X you use as the number of examples m.",
             _backward_l2, examples=_first_rows),
    _mistake("backward_l2.hard-coded-m", BACKWARD_L2,
             "The number of examples m changes from call to call: read it from the shape of the inputs "
             "instead of writing a fixed number.",
             _backward_l2, examples=_public_batch),
    _mistake("forward_dropout.mask-greater", FORWARD_DROPOUT,
             "A unit must be kept with probability keep_prob: check the direction of the comparison that "
             "turns the random matrix into a mask.",
             _forward_dropout, keep=np.greater),
    _mistake("forward_dropout.mask-randn", FORWARD_DROPOUT,
             "Thresholding at keep_prob gives the right keep probability only for numbers uniform in "
             "[0, 1): check which random function draws your masks.",
             _forward_dropout, draw=np.random.randn),
    _mistake("forward_dropout.hard-coded-keep-prob", FORWARD_DROPOUT,
             "keep_prob is an argument: the masks and the scaling must use the value passed in, not a "
             "fixed number.",
             _forward_dropout, threshold=0.5),
    _mistake("forward_dropout.no-scaling", FORWARD_DROPOUT,
             "Inverted dropout rescales the kept units so each layer keeps the same expected value: "
             "step 4 is missing.",
             _forward_dropout, scaling=("none", "none")),
    _mistake("forward_dropout.no-scaling-A1", FORWARD_DROPOUT,
             "Inverted dropout rescales the kept units of every dropped-out layer, the first hidden layer "
             "included.",
             _forward_dropout, scaling=("none", "divide")),
    _mistake("forward_dropout.no-scaling-A2", FORWARD_DROPOUT,
             "Inverted dropout rescales the kept units of every dropped-out layer, the second hidden layer "
             "included.",
             _forward_dropout, scaling=("divide", "none")),
    _mistake("forward_dropout.scale-multiplied", FORWARD_DROPOUT,
             "Dropping units lowers a layer's expected value by the factor keep_prob; the rescaling must "
             "undo that, not repeat it.",
             _forward_dropout, scaling=("multiply", "multiply")),
    _mistake("forward_dropout.d2-before-d1", FORWARD_DROPOUT,
             "The masks come from one random stream: draw them in the order of the layers, each just "
             "before it is used.",
             _forward_dropout, masks_first=True),
    _mistake("forward_dropout.reseed-before-d2", FORWARD_DROPOUT,
             "Seeding the generator again before the second mask makes it repeat the first mask's random "
             "numbers.",
             _forward_dropout, reseed_before_d2=True),
    _mistake("forward_dropout.output-dropout", FORWARD_DROPOUT,
             "Dropout is applied to the hidden layers only; the output layer's activation is never shut "
             "down.",
             _forward_dropout, output_dropout=True),
    _mistake("backward_dropout.dA1-masked-with-D2", BACKWARD_DROPOUT,
             "Each gradient must shut down the same units as its layer did in the forward pass: check "
             "which mask goes with dA1.",
             _backward_dropout, masks=("D2", "D2")),
    _mistake("backward_dropout.masks-swapped", BACKWARD_DROPOUT,
             "Each gradient must shut down the same units as its layer did in the forward pass: check "
             "which mask goes with dA2 and which with dA1.",
             _backward_dropout, masks=("D1", "D2")),
    _mistake("backward_dropout.dA1-unmasked", BACKWARD_DROPOUT,
             "Units shut down in the forward pass pass no gradient back: dA1 needs the first layer's mask "
             "too.",
             _backward_dropout, masks=("D2", None)),
    _mistake("backward_dropout.no-scaling", BACKWARD_DROPOUT,
             "The forward pass divided the kept units by keep_prob, so their gradients are scaled the "
             "same way.",
             _backward_dropout, scaling=("none", "none")),
    _mistake("backward_dropout.no-scaling-dA2", BACKWARD_DROPOUT,
             "The forward pass divided the kept units of A2 by keep_prob, so dA2 is scaled the same way.",
             _backward_dropout, scaling=("none", "divide")),
    _mistake("backward_dropout.no-scaling-dA1", BACKWARD_DROPOUT,
             "The forward pass divided the kept units of A1 by keep_prob, so dA1 is scaled the same way.",
             _backward_dropout, scaling=("divide", "none")),
    _mistake("backward_dropout.scale-multiplied", BACKWARD_DROPOUT,
             "The gradient of a layer that was divided by keep_prob is divided by keep_prob as well, not "
             "multiplied.",
             _backward_dropout, scaling=("multiply", "multiply")),
)
