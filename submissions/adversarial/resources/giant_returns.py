# ATTACK (resources): return giant values: a zero-stride view claiming 10^10 entries
# (80 GB if copied), a 72 MB array, a 32-dimensional array and a 2-million-entry nested list.
# Each is refused with "too large" (or too many dimensions) without copying it.
import numpy as np


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return np.broadcast_to(np.float64(0), (10**5, 10**5))


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {"dW1": np.zeros((3000, 3000)), "dW2": np.zeros((1,) * 32), "dW3": [[0.0] * 1000] * 2000}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    big = np.broadcast_to(np.float64(1), (10**7, 10**3))
    return big, (big,) * 14


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {"dA1": np.zeros((0, 10**9)), "dA2": np.broadcast_to(np.int64(1), (2**31, 2**31))}
