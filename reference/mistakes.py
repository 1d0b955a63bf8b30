"""Mistake models of the four graded functions: each a family of variants of the reference.

A model is the reference code with one knob turned (a term's factor or sign, a term
missing from one layer, the wrong mask or mask order, another random function, an extra
reseed, a relu derivative with the wrong boundary) and, for the parametric ones, a
constant the student wrote where an argument belongs or a factor on one term. These are
fitted on the visible case: `candidates` proposes knob settings from that case's inputs
(its m, λ or keep_prob) or measures them on what the submission returned there (a factor),
and the grader keeps a setting whose variant reproduces the visible call only if it also
reproduces every other case (grader/diagnose.py). The hint
names the concept to revisit, never the corrected line. Host side only: nothing here is
shipped into the sandbox.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Mapping

import numpy as np

from reference.support.reg_utils import compute_cost, relu, sigmoid

COST = "compute_cost_with_regularization"
BACKWARD_L2 = "backward_propagation_with_regularization"
FORWARD_DROPOUT = "forward_propagation_with_dropout"
BACKWARD_DROPOUT = "backward_propagation_with_dropout"
COMMON_KEEP_PROBS = (0.5, 0.8, 0.86)
"""keep_prob values of the course (the default argument, the public cases, the model's call)."""
RESEEDS = (1, 0, 2, 3, 42)
"""Seeds students reseed with."""


@dataclasses.dataclass(frozen=True)
class Mistake:
    """One mistake model: `variant` takes the graded function's arguments.

    A parametric model also has `candidates`, which proposes knob settings (keyword arguments of
    the variant, such as a constant and which argument it replaces) from the visible case's inputs
    and what the submission returned there (its outputs by name; empty when it returned nothing).
    """

    id: str
    function: str
    hint: str
    variant: Callable[..., Any]
    candidates: Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[Mapping[str, Any], ...]] | None = None


# ---------------------------------------------------------------- the cost


def _examples(array: np.ndarray) -> int:
    return array.shape[1]


def _first_rows(array: np.ndarray) -> int:
    return array.shape[0]


def _cost(
    A3, Y, parameters, lambd, *,
    coefficient: Callable[[float, int], float] = lambda lambd, m: lambd / (2 * m),
    penalty: Callable[[np.ndarray], np.ndarray] = np.square,
    weights: tuple[str, ...] = ("W1", "W2", "W3"),
    examples: Callable[[np.ndarray], int] = _examples,
    log: Callable[[np.ndarray], np.ndarray] | None = None,
    l2_scale: float = 1.0,
    constant: Any = None,
    fixed: str = "",
):
    """The reference cost, its penalty times `l2_scale`; `fixed` names what `constant` replaces: "m" (in the penalty or, with
    "m-everywhere", in the cross-entropy too) or "lambd"."""
    m = examples(Y)
    cross_entropy = compute_cost(A3, Y)
    if log is not None:
        cross_entropy = -1.0 / m * np.sum(Y * log(A3) + (1 - Y) * log(1 - A3))
    if fixed == "m-everywhere":
        cross_entropy = cross_entropy * m / constant
    if fixed.startswith("m"):
        m = constant
    if fixed == "lambd":
        lambd = constant
    return cross_entropy + l2_scale * coefficient(lambd, m) * sum(np.sum(penalty(parameters[name])) for name in weights)


Knobs = Mapping[str, Any]
Outputs = Mapping[str, Any]
PENALTY_FACTORS = (-1.0, 0.0, 1.0, 2.0)
GRADIENT_FACTORS = (-1.0, 0.0, 0.5, 1.0, 2.0)
"""Factors of the penalty or of an L2 term that have their own model (or are right): a fitted factor is
none of them, so that a mistake keeps its one name."""


def _fixed_m_in_cost(inputs: Mapping[str, Any], outputs: Outputs) -> tuple[Knobs, ...]:
    """m written as the visible case's number, in the penalty, or in a hand-written cross-entropy too."""
    m = inputs["Y"].shape[1]
    return ({"constant": m, "fixed": "m"}, {"constant": m, "fixed": "m-everywhere", "log": np.log})


def _fitted(factor: float, named: tuple[float, ...]) -> tuple[float, ...]:
    """The factor, unless it is not finite or one that has its own model."""
    if not np.isfinite(factor) or any(abs(factor - value) < 1e-6 for value in named):
        return ()
    return (float(factor),)


def _penalty_factor(inputs: Mapping[str, Any], outputs: Outputs) -> tuple[Knobs, ...]:
    """The factor on the penalty that makes the visible cost what the submission returned."""
    cost = outputs.get("cost")
    cross_entropy = compute_cost(inputs["A3"], inputs["Y"])
    penalty = _cost(inputs["A3"], inputs["Y"], inputs["parameters"], inputs["lambd"]) - cross_entropy
    if not isinstance(cost, np.ndarray) or cost.size != 1 or penalty == 0:
        return ()
    return tuple({"l2_scale": factor} for factor in _fitted((float(cost.ravel()[0]) - cross_entropy) / penalty,
                                                                 PENALTY_FACTORS))


def _fixed_lambd(inputs: Mapping[str, Any], outputs: Outputs) -> tuple[Knobs, ...]:
    return ({"constant": inputs["lambd"], "fixed": "lambd"},)


# ---------------------------------------------------------------- backward with L2


def _relu_derivative(kind: str, A: np.ndarray) -> np.ndarray:
    """What dA is multiplied by: the step (A > 0), the step with its boundary (A >= 0), or A itself."""
    return {"step": np.int64(A > 0), "step-ge": np.int64(A >= 0), "activation": A}[kind]


def _backward_l2(
    X, Y, cache, lambd, *,
    coefficients: Mapping[int, Callable[[float, int], float]] = {},
    relu_derivative: str = "step",
    examples: Callable[[np.ndarray], int] = _examples,
    l2_scale: Mapping[int, float] = {},
    constant: Any = None,
    fixed: str = "",
):
    """The reference gradients; `coefficients` replaces the L2 coefficient λ/m of some layers and
    `l2_scale` multiplies it."""
    m = examples(X)
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    m_l2 = m
    if fixed == "m-everywhere":
        m = m_l2 = constant
    elif fixed == "m":
        m_l2 = constant
    elif fixed == "lambd":
        lambd = constant
    l2 = {layer: l2_scale.get(layer, 1.0) * coefficients.get(layer, lambda lambd, m: lambd / m)(lambd, m_l2)
          for layer in (1, 2, 3)}
    dZ3 = A3 - Y
    dW3 = 1.0 / m * np.dot(dZ3, A2.T) + l2[3] * W3
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, _relu_derivative(relu_derivative, A2))
    dW2 = 1.0 / m * np.dot(dZ2, A1.T) + l2[2] * W2
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, _relu_derivative(relu_derivative, A1))
    dW1 = 1.0 / m * np.dot(dZ1, X.T) + l2[1] * W1
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {
        "dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2,
        "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1,
    }


def _fixed_m_in_gradients(inputs: Mapping[str, Any], outputs: Outputs) -> tuple[Knobs, ...]:
    """m written as the visible case's number, everywhere or in the L2 terms only."""
    m = inputs["X"].shape[1]
    return ({"constant": m, "fixed": "m-everywhere"}, {"constant": m, "fixed": "m"})


def _l2_term_factor(layer: int) -> Callable[[Mapping[str, Any], Outputs], tuple[Knobs, ...]]:
    """The factor on dW<layer>'s L2 term that best explains the visible dW<layer> (least squares)."""

    def fit(inputs: Mapping[str, Any], outputs: Outputs) -> tuple[Knobs, ...]:
        returned = outputs.get(f"dW{layer}")
        W = inputs["cache"][(2, 6, 10)[layer - 1]]
        term = inputs["lambd"] / inputs["X"].shape[1] * W
        if not isinstance(returned, np.ndarray) or returned.shape != W.shape or not np.any(term):
            return ()
        plain = _backward_l2(inputs["X"], inputs["Y"], inputs["cache"], inputs["lambd"],
                             l2_scale={layer: 0.0})[f"dW{layer}"]
        factor = float(np.sum((returned - plain) * term) / np.sum(term * term))
        return tuple({"l2_scale": {layer: value}} for value in _fitted(factor, GRADIENT_FACTORS))

    return fit


# ---------------------------------------------------------------- forward with dropout


def _scale(keep_prob: float, how: str) -> float:
    """What a dropped-out layer is multiplied by: 1/keep_prob (inverted dropout), keep_prob, or 1."""
    return {"divide": 1.0 / keep_prob, "multiply": keep_prob, "none": 1.0}[how]


def _mask(how: str, rows: int, columns: int, limit: float, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A dropout mask drawn the way `how` says; "rand" is the course's way."""
    if how == "rand":
        return np.random.rand(rows, columns) < limit
    if how == "greater":
        return np.random.rand(rows, columns) > limit
    if how == "randn":
        return np.random.randn(rows, columns) < limit
    if how == "binomial":
        return np.random.binomial(1, limit, size=(rows, columns))
    if how == "per-unit":
        return np.random.rand(rows, 1) < limit
    if how == "per-example":
        return np.random.rand(1, columns) < limit
    if how == "transposed":
        return (np.random.rand(columns, rows) < limit).T
    if how == "fixed-shape":
        return np.random.rand(*shape) < limit
    raise ValueError(how)


def _forward_dropout(
    X, parameters, keep_prob=0.5, *,
    mask: str = "rand",
    scaling: tuple[str, str] = ("divide", "divide"),
    masks_first: bool = False,
    reseed_before_d2: int | None = None,
    output_dropout: bool = False,
    constant: Any = None,
    fixed: str = "",
):
    """The reference forward pass; `fixed` names what `constant` replaces: keep_prob in the masks
    and the scaling ("keep_prob"), in the masks only ("threshold") or the scaling only ("scaling"),
    or the masks' shapes ("shapes"); the reseed models take their seed as the constant ("reseed"
    before D2, "seed" first thing)."""
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    threshold = scale_by = keep_prob
    if fixed == "keep_prob":
        threshold = scale_by = constant
    elif fixed == "threshold":
        threshold = constant
    elif fixed == "scaling":
        scale_by = constant
    elif fixed == "reseed":
        reseed_before_d2 = constant
    elif fixed == "seed":
        np.random.seed(constant)
    shapes = (None, None)
    if fixed == "shapes":
        mask, shapes = "fixed-shape", constant
    m = X.shape[1]
    if masks_first:
        D2 = _mask(mask, W2.shape[0], m, threshold, shapes[1])
        D1 = _mask(mask, W1.shape[0], m, threshold, shapes[0])
    Z1 = np.dot(W1, X) + b1
    A1 = relu(Z1)
    if not masks_first:
        D1 = _mask(mask, A1.shape[0], A1.shape[1], threshold, shapes[0])
    A1 = A1 * D1 * _scale(scale_by, scaling[0])
    Z2 = np.dot(W2, A1) + b2
    A2 = relu(Z2)
    if reseed_before_d2 is not None:
        np.random.seed(reseed_before_d2)
    if not masks_first:
        D2 = _mask(mask, A2.shape[0], A2.shape[1], threshold, shapes[1])
    A2 = A2 * D2 * _scale(scale_by, scaling[1])
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)
    if output_dropout:
        A3 = A3 * _mask(mask, A3.shape[0], A3.shape[1], threshold) / threshold
    cache = (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)
    return A3, cache


def _keep_probs(inputs: Mapping[str, Any]) -> tuple[float, ...]:
    return tuple(dict.fromkeys((inputs["keep_prob"], *COMMON_KEEP_PROBS)))


def _fixed_keep_prob(inputs: Mapping[str, Any], outputs: Outputs) -> tuple[Knobs, ...]:
    """keep_prob written as a number (the visible case's or a course value): everywhere, in the masks or the scaling."""
    return tuple({"constant": value, "fixed": where} for where in ("keep_prob", "threshold", "scaling")
                 for value in _keep_probs(inputs))


def _fixed_keep_prob_in_scaling(inputs: Mapping[str, Any], outputs: Outputs) -> tuple[Knobs, ...]:
    return tuple({"constant": value, "fixed": "keep_prob"} for value in _keep_probs(inputs))


def _fixed_mask_shapes(inputs: Mapping[str, Any], outputs: Outputs) -> tuple[Knobs, ...]:
    """The masks' shapes written as the visible case's numbers."""
    m = inputs["X"].shape[1]
    parameters = inputs["parameters"]
    return ({"constant": ((parameters["W1"].shape[0], m), (parameters["W2"].shape[0], m)), "fixed": "shapes"},)


def _reseeds(inputs: Mapping[str, Any], outputs: Outputs) -> tuple[Knobs, ...]:
    return tuple({"constant": seed, "fixed": "reseed"} for seed in RESEEDS)


def _seeds_first(inputs: Mapping[str, Any], outputs: Outputs) -> tuple[Knobs, ...]:
    """Seeds other than the course template's 1, which is accepted (`also_accept_seeds`)."""
    return tuple({"constant": seed, "fixed": "seed"} for seed in RESEEDS if seed != 1)


# ---------------------------------------------------------------- backward with dropout


def _backward_dropout(
    X, Y, cache, keep_prob, *,
    masks: tuple[str | None, str | None] = ("D2", "D1"),
    scaling: tuple[str, str] = ("divide", "divide"),
    relu_derivative: str = "step",
    constant: Any = None,
    fixed: str = "",
):
    """The reference gradients; `masks` names the mask reapplied to dA2 and to dA1 (None: no mask)."""
    m = X.shape[1]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache
    if fixed == "keep_prob":
        keep_prob = constant
    named = {"D1": D1, "D2": D2, None: 1}
    dZ3 = A3 - Y
    dW3 = 1.0 / m * np.dot(dZ3, A2.T)
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3) * named[masks[0]] * _scale(keep_prob, scaling[0])
    dZ2 = np.multiply(dA2, _relu_derivative(relu_derivative, A2))
    dW2 = 1.0 / m * np.dot(dZ2, A1.T)
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2) * named[masks[1]] * _scale(keep_prob, scaling[1])
    dZ1 = np.multiply(dA1, _relu_derivative(relu_derivative, A1))
    dW1 = 1.0 / m * np.dot(dZ1, X.T)
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {
        "dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2,
        "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1,
    }


# ---------------------------------------------------------------- the models


def _mistake(
    mistake_id: str, function: str, hint: str, variant: Callable[..., Any],
    candidates: Callable[[Mapping[str, Any], Outputs], tuple[Knobs, ...]] | None = None, **knobs: Any,
) -> Mistake:
    return Mistake(mistake_id, function, hint, functools.partial(variant, **knobs), candidates)


# The L2 term of a gradient, (λ/m)·W, as students get it wrong: id suffix, coefficient, and the hint.
_L2_TERM_MISTAKES: tuple[tuple[str, Callable[[float, int], float], str], ...] = (
    ("missing", lambda lambd, m: 0.0,
     "The L2 penalty depends on {W} too, so its derivative belongs in {dW} as well."),
    ("without-m", lambda lambd, m: lambd,
     "The penalty is divided by m in the cost, so its derivative is too: check the scale of the L2 term "
     "in {dW}."),
    ("over-2m", lambda lambd, m: lambd / (2 * m),
     "Differentiating a squared weight brings down a factor 2: check what becomes of the 1/2 of the "
     "penalty in the L2 term of {dW}."),
    ("subtracted", lambda lambd, m: -lambd / m,
     "The penalty grows with the size of the weights, so its gradient in {dW} points the same way as "
     "{W}, not against it."),
    ("without-lambda", lambda lambd, m: 1.0 / m,
     "The regularization strength λ scales the penalty, so it scales the L2 term of {dW} as well."),
    ("twice", lambda lambd, m: 2 * lambd / m,
     "The 2 brought down by differentiating a squared weight cancels the 1/2 of the penalty: check the "
     "factor in front of the L2 term of {dW}."),
)


def _l2_term_models() -> tuple[Mistake, ...]:
    models = []
    for suffix, coefficient, hint in _L2_TERM_MISTAKES:
        models.append(_mistake(
            "backward_l2.no-l2-term" if suffix == "missing" else f"backward_l2.l2-{suffix}", BACKWARD_L2,
            hint.format(W="the weights", dW="every dW"),
            _backward_l2, coefficients={layer: coefficient for layer in (1, 2, 3)}))
        for layer in (1, 2, 3):
            models.append(_mistake(
                f"backward_l2.l2-{suffix}-dW{layer}", BACKWARD_L2, hint.format(W=f"W{layer}", dW=f"dW{layer}"),
                _backward_l2, coefficients={layer: coefficient}))
    return tuple(models)


_HARD_CODED_M = ("The number of examples m changes from call to call: read it from the shape of the inputs "
                 "instead of writing a fixed number.")
_HARD_CODED_LAMBDA = ("λ is an argument: the penalty must use the value passed in, not a fixed number.")
_HARD_CODED_KEEP_PROB = ("keep_prob is an argument: the masks and the scaling must use the value passed in, "
                         "not a fixed number.")

CATALOGUE: tuple[Mistake, ...] = (
    _mistake("cost.l2-over-m", COST,
             "Your L2 term is twice what formula (2) gives: compare every factor in front of the sum of "
             "squared weights with the formula.",
             _cost, coefficient=lambda lambd, m: lambd / m),
    _mistake("cost.l2-without-m", COST,
             "Formula (2) averages the penalty over the m examples (the columns of Y), as it does the "
             "cross-entropy: check the factor in front of the sum of squared weights and where your m comes from.",
             _cost, coefficient=lambda lambd, m: lambd / 2),
    _mistake("cost.l2-without-lambda", COST,
             "The regularization strength λ scales the penalty: it belongs in front of the sum of squared "
             "weights.",
             _cost, coefficient=lambda lambd, m: 1 / (2 * m)),
    _mistake("cost.l2-subtracted", COST,
             "The penalty makes large weights cost more, so it is added to the cross-entropy, not "
             "subtracted from it.",
             _cost, coefficient=lambda lambd, m: -lambd / (2 * m)),
    _mistake("cost.l2-factor", COST,
             "Only the penalty is off, by the same factor in every case: compare the factor in front of the "
             "sum of squared weights with formula (2).",
             _cost, _penalty_factor),
    _mistake("cost.m-from-y-rows", COST,
             "Y has one row and one column per example: check which dimension of Y you use as the number "
             "of examples m.",
             _cost, examples=_first_rows, log=np.log),
    _mistake("cost.hard-coded-m", COST, _HARD_CODED_M, _cost, _fixed_m_in_cost),
    _mistake("cost.hard-coded-lambda", COST, _HARD_CODED_LAMBDA, _cost, _fixed_lambd),
    _mistake("cost.weights-not-squared", COST,
             "The L2 penalty adds up squared weights; summing the raw weights lets positive and negative "
             "weights cancel out.",
             _cost, penalty=np.asarray),
    _mistake("cost.norm-not-squared", COST,
             "The L2 penalty adds up the squared weights, which is the square of each matrix's norm, not "
             "the norm itself.",
             _cost, penalty=np.linalg.norm),
    _mistake("cost.l1-penalty", COST,
             "L2 regularization penalizes squared weights; adding up their absolute values is a different "
             "(L1) penalty.",
             _cost, penalty=np.abs),
    *(
        _mistake(f"cost.missing-layer-W{layer}", COST,
                 f"The L2 penalty is taken over the weights of every layer of the network, W{layer} included.",
                 _cost, weights=tuple(f"W{other}" for other in (1, 2, 3) if other != layer))
        for layer in (1, 2, 3)
    ),
    _mistake("cost.log10", COST,
             "Cross-entropy is defined with the natural logarithm: check which log function your cost calls.",
             _cost, log=np.log10),
    _mistake("cost.no-l2-term", COST,
             "The regularized cost is the cross-entropy cost plus the L2 penalty; the penalty is not in "
             "what you return.",
             _cost, coefficient=lambda lambd, m: 0.0),
    *_l2_term_models(),
    *(
        _mistake(f"backward_l2.l2-factor-dW{layer}", BACKWARD_L2,
                 f"Only the L2 term of dW{layer} is off, by the same factor in every case: compare its factor "
                 f"with the derivative of the penalty in formula (2).",
                 _backward_l2, _l2_term_factor(layer))
        for layer in (1, 2, 3)
    ),
    _mistake("backward_l2.relu-derivative-ge", BACKWARD_L2,
             "A ReLU unit whose output is 0 passes no gradient back: check which entries your ReLU "
             "derivative keeps.",
             _backward_l2, relu_derivative="step-ge"),
    _mistake("backward_l2.relu-derivative-activation", BACKWARD_L2,
             "The derivative of ReLU is 1 where the unit is active and 0 elsewhere, not the activation "
             "itself.",
             _backward_l2, relu_derivative="activation"),
    _mistake("backward_l2.m-from-x-rows", BACKWARD_L2,
             "X has one column per example: check which dimension of X you use as the number of examples m.",
             _backward_l2, examples=_first_rows),
    _mistake("backward_l2.hard-coded-m", BACKWARD_L2, _HARD_CODED_M, _backward_l2, _fixed_m_in_gradients),
    _mistake("backward_l2.hard-coded-lambda", BACKWARD_L2, _HARD_CODED_LAMBDA, _backward_l2, _fixed_lambd),
    _mistake("forward_dropout.mask-greater", FORWARD_DROPOUT,
             "A unit must be kept with probability keep_prob: check the direction of the comparison that "
             "turns the random matrix into a mask.",
             _forward_dropout, mask="greater"),
    _mistake("forward_dropout.mask-randn", FORWARD_DROPOUT,
             "Thresholding at keep_prob gives the right keep probability only for numbers uniform in "
             "[0, 1): check which random function draws your masks.",
             _forward_dropout, mask="randn"),
    _mistake("forward_dropout.mask-binomial", FORWARD_DROPOUT,
             "The masks are drawn as in step 1, with np.random.rand thresholded at keep_prob, so that they "
             "use the same random numbers as the expected ones.",
             _forward_dropout, mask="binomial"),
    _mistake("forward_dropout.mask-per-unit", FORWARD_DROPOUT,
             "Each mask has one entry per unit and per example, the shape of its layer's activation, so "
             "that every example drops its own units.",
             _forward_dropout, mask="per-unit"),
    _mistake("forward_dropout.mask-per-example", FORWARD_DROPOUT,
             "Each mask has one entry per unit and per example, the shape of its layer's activation, so "
             "that every unit is dropped on its own.",
             _forward_dropout, mask="per-example"),
    _mistake("forward_dropout.mask-transposed-draw", FORWARD_DROPOUT,
             "Draw each mask directly in the shape of its layer's activation (units by examples): the "
             "random numbers then land where the expected ones do.",
             _forward_dropout, mask="transposed"),
    _mistake("forward_dropout.hard-coded-mask-shape", FORWARD_DROPOUT,
             "The layer sizes and the number of examples change from call to call: take each mask's shape "
             "from its layer's activation instead of writing fixed numbers.",
             _forward_dropout, _fixed_mask_shapes),
    _mistake("forward_dropout.hard-coded-keep-prob", FORWARD_DROPOUT, _HARD_CODED_KEEP_PROB,
             _forward_dropout, _fixed_keep_prob),
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
             _forward_dropout, _reseeds),
    _mistake("forward_dropout.reseed", FORWARD_DROPOUT,
             "Seeding the generator inside the function with a number of your own replaces the random "
             "stream the masks are expected to come from.",
             _forward_dropout, _seeds_first),
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
    _mistake("backward_dropout.dA2-unmasked", BACKWARD_DROPOUT,
             "Units shut down in the forward pass pass no gradient back: dA2 needs the second layer's mask "
             "D2.",
             _backward_dropout, masks=(None, "D1")),
    _mistake("backward_dropout.unmasked", BACKWARD_DROPOUT,
             "Units shut down in the forward pass pass no gradient back: dA2 and dA1 need the masks of "
             "their layers.",
             _backward_dropout, masks=(None, None)),
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
    _mistake("backward_dropout.scale-multiplied-dA2", BACKWARD_DROPOUT,
             "A2 was divided by keep_prob in the forward pass, so dA2 is divided by keep_prob as well, not "
             "multiplied.",
             _backward_dropout, scaling=("multiply", "divide")),
    _mistake("backward_dropout.scale-multiplied-dA1", BACKWARD_DROPOUT,
             "A1 was divided by keep_prob in the forward pass, so dA1 is divided by keep_prob as well, not "
             "multiplied.",
             _backward_dropout, scaling=("divide", "multiply")),
    _mistake("backward_dropout.relu-derivative-ge", BACKWARD_DROPOUT,
             "A ReLU unit whose output is 0 passes no gradient back: check which entries your ReLU "
             "derivative keeps.",
             _backward_dropout, relu_derivative="step-ge"),
    _mistake("backward_dropout.relu-derivative-activation", BACKWARD_DROPOUT,
             "The derivative of ReLU is 1 where the unit is active and 0 elsewhere, not the activation "
             "itself.",
             _backward_dropout, relu_derivative="activation"),
    _mistake("backward_dropout.hard-coded-keep-prob", BACKWARD_DROPOUT,
             "keep_prob is an argument: the scaling of the gradients must use the value passed in, not a "
             "fixed number.",
             _backward_dropout, _fixed_keep_prob_in_scaling),
)
