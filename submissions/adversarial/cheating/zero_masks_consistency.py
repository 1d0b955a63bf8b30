# ATTACK (cheating): exploit the "checked against your own masks" rule. With all-zero
# dropout masks the activations the grader derives from them are trivial (A1 = A2 = 0,
# A3 = sigmoid(b3)), and an all-zero dA2 makes the derived dA1 zero too. Nothing here
# implements dropout: it should earn 0. Known design issue, see SECURITY.md.
import numpy as np


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    W1, W2, W3, b3 = parameters["W1"], parameters["W2"], parameters["W3"], parameters["b3"]
    m = X.shape[1]
    D1, D2 = np.zeros((W1.shape[0], m)), np.zeros((W2.shape[0], m))
    A3 = 1 / (1 + np.exp(-np.broadcast_to(b3, (W3.shape[0], m))))
    cache = (None, D1, D1.copy(), None, None, None, D2, D2.copy(), None, None, None, A3, None, None)
    return A3, cache


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {"dA2": np.zeros(cache[7].shape), "dA1": np.zeros(cache[2].shape)}
