# ATTACK (cheating): NaN and infinity of the right shapes, hoping a comparison like
# "abs(a - b) > tol" is False for NaN, or that inf/-inf and NaN masks slip through.
# Must earn 0, with a message naming the NaN/infinity.
import numpy as np


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return float("nan")


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {"dW1": np.full(cache[2].shape, np.nan), "dW2": np.full(cache[6].shape, np.inf),
            "dW3": np.full(cache[10].shape, -np.inf)}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    n1, n2, m = parameters["W1"].shape[0], parameters["W2"].shape[0], X.shape[1]
    cache = [None] * 14
    cache[1], cache[6] = np.full((n1, m), np.nan), np.full((n2, m), np.nan)
    cache[2], cache[7] = np.full((n1, m), np.inf), np.full((n2, m), np.nan)
    return np.full((1, m), np.nan), tuple(cache)


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {"dA1": np.full(cache[2].shape, np.nan), "dA2": np.full(cache[7].shape, np.nan)}
