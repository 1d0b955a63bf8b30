# ATTACK (cheating): exploit the "checked against your own masks" rule with values of
# vanishing scale. Masks, activations and gradients are all 1e-300: finite and non-zero, so
# the old guard (only all-zero or non-finite values refused) derived expectations from
# them, and every derived expectation was then below atol: A1 = relu(...) * 1e-300 ≈ 0,
# A2 ≈ 0, A3 from A2 ≈ 0 is sigmoid(b3), dA1 from dA2 ≈ 0. Nothing of dropout is
# implemented; it used to earn 30 of 80 (A1, A2, A3, dA1 and the inputs point in every
# case). It must earn 0: derived expectations need genuine 0/1 masks and upstream values
# on the reference's scale (reference/consistency.py).
import numpy as np

TINY = 1e-300


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return None


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    W1, W2, W3, b3 = parameters["W1"], parameters["W2"], parameters["W3"], parameters["b3"]
    m = X.shape[1]
    D1, D2 = np.full((W1.shape[0], m), TINY), np.full((W2.shape[0], m), TINY)
    A3 = 1 / (1 + np.exp(-np.broadcast_to(b3, (W3.shape[0], m))))
    cache = (None, D1, D1.copy(), None, None, None, D2, D2.copy(), None, None, None, A3, None, None)
    return A3, cache


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {"dA2": np.full(cache[7].shape, TINY), "dA1": np.full(cache[2].shape, TINY)}
