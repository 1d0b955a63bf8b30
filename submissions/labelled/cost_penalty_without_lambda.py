import numpy as np
from reg_utils import sigmoid, relu


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    """Cross-entropy written out by hand, L2 penalty summed with a loop over the layers."""
    m = Y.shape[1]
    logprobs = np.multiply(-np.log(A3), Y) + np.multiply(-np.log(1 - A3), 1 - Y)
    cross_entropy_cost = 1. / m * np.nansum(logprobs)
    total = 0.0
    for l in range(1, 4):
        W = parameters["W" + str(l)]
        total += np.sum(np.square(W))
    L2_regularization_cost = total / (2 * m)
    return cross_entropy_cost + L2_regularization_cost


def backward_propagation_with_regularization(X, Y, cache, lambd):
    m = X.shape[1]
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    W = {1: W1, 2: W2, 3: W3}
    A_prev = {1: X, 2: A1, 3: A2}
    A = {1: A1, 2: A2}
    grads = {}
    dZ = A3 - Y
    for l in (3, 2, 1):
        grads["dZ" + str(l)] = dZ
        grads["dW" + str(l)] = 1. / m * np.dot(dZ, A_prev[l].T) + lambd / m * W[l]
        grads["db" + str(l)] = 1. / m * np.sum(dZ, axis=1, keepdims=True)
        if l > 1:
            dA = np.dot(W[l].T, dZ)
            grads["dA" + str(l - 1)] = dA
            dZ = np.multiply(dA, np.int64(A[l - 1] > 0))
    return grads


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    caches = []
    A = X
    for l in (1, 2):
        W, b = parameters["W" + str(l)], parameters["b" + str(l)]
        Z = np.dot(W, A) + b
        A = relu(Z)
        D = np.random.rand(A.shape[0], A.shape[1])
        D = (D < keep_prob).astype(int)
        A = np.multiply(A, D)
        A = A / keep_prob
        caches.append((Z, D, A, W, b))
    W3, b3 = parameters["W3"], parameters["b3"]
    Z3 = np.dot(W3, A) + b3
    A3 = sigmoid(Z3)
    (Z1, D1, A1, W1, b1), (Z2, D2, A2, W2, b2) = caches
    cache = (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)
    return A3, cache


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    m = X.shape[1]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache
    grads = {}
    dZ = A3 - Y
    layers = {3: (A2, W3, D2), 2: (A1, W2, D1), 1: (X, W1, None)}
    for l in (3, 2, 1):
        A_prev, W, D = layers[l]
        grads["dZ" + str(l)] = dZ
        grads["dW" + str(l)] = 1. / m * np.dot(dZ, A_prev.T)
        grads["db" + str(l)] = 1. / m * np.sum(dZ, axis=1, keepdims=True)
        if D is not None:
            dA = np.dot(W.T, dZ)
            dA = dA * D
            dA = dA / keep_prob
            grads["dA" + str(l - 1)] = dA
            dZ = np.multiply(dA, np.int64(A_prev > 0))
    return grads
