# Week 1 -- Regularization. Written outside the notebook, tested with the public tests.
import numpy as np
from reg_utils import sigmoid, relu, compute_cost

LAYERS = ("W1", "W2", "W3")


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    m = Y.shape[1]
    cross_entropy_cost = compute_cost(A3, Y)
    squares = [np.sum(np.square(parameters[name])) for name in LAYERS]
    L2_regularization_cost = np.multiply(np.divide(lambd, 2 * m), np.sum(squares))
    cost = np.add(cross_entropy_cost, L2_regularization_cost)
    return cost


def backward_propagation_with_regularization(X, Y, cache, lambd):
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    reg = lambd / m

    dZ3 = np.subtract(A3, Y)
    dW3 = np.divide(np.dot(dZ3, A2.T), m) + reg * W3
    db3 = np.divide(np.sum(dZ3, axis=1, keepdims=True), m)

    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.where(A2 > 0, dA2, 0.0)
    dW2 = np.divide(np.dot(dZ2, A1.T), m) + reg * W2
    db2 = np.divide(np.sum(dZ2, axis=1, keepdims=True), m)

    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.where(A1 > 0, dA1, 0.0)
    dW1 = np.divide(np.dot(dZ1, X.T), m) + reg * W1
    db1 = np.divide(np.sum(dZ1, axis=1, keepdims=True), m)

    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2,
            "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def _dropout(A, keep_prob):
    D = np.random.rand(A.shape[0], A.shape[1])
    D = np.less(D, keep_prob)
    A = np.multiply(A, D)
    A = np.divide(A, keep_prob)
    return A, D


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    np.random.seed(0)
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]

    Z1 = np.add(np.dot(W1, X), b1)
    A1, D1 = _dropout(relu(Z1), keep_prob)
    Z2 = np.add(np.dot(W2, A1), b2)
    A2, D2 = _dropout(relu(Z2), keep_prob)
    Z3 = np.add(np.dot(W3, A2), b3)
    A3 = sigmoid(Z3)

    cache = (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)
    return A3, cache


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    m = X.shape[1]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache

    dZ3 = np.subtract(A3, Y)
    dW3 = np.divide(np.dot(dZ3, A2.T), m)
    db3 = np.divide(np.sum(dZ3, axis=1, keepdims=True), m)
    dA2 = np.dot(W3.T, dZ3)
    dA2 = np.multiply(dA2, D2)
    dA2 = np.divide(dA2, keep_prob)
    dZ2 = np.where(A2 > 0, dA2, 0.0)
    dW2 = np.divide(np.dot(dZ2, A1.T), m)
    db2 = np.divide(np.sum(dZ2, axis=1, keepdims=True), m)

    dA1 = np.dot(W2.T, dZ2)
    dA1 = np.multiply(dA1, D1)
    dA1 = np.divide(dA1, keep_prob)
    dZ1 = np.where(A1 > 0, dA1, 0.0)
    dW1 = np.divide(np.dot(dZ1, X.T), m)
    db1 = np.divide(np.sum(dZ1, axis=1, keepdims=True), m)

    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2,
            "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}
