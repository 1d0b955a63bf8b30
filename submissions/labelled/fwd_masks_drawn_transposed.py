import numpy as np
from reg_utils import *


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    m = Y.shape[1]
    W1, W2, W3 = parameters["W1"], parameters["W2"], parameters["W3"]
    l2 = np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3)
    return compute_cost(A3, Y) + lambd * l2 / (2 * m)


def backward_propagation_with_regularization(X, Y, cache, lambd):
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = np.dot(dZ3, A2.T) / m + lambd * W3 / m
    db3 = np.mean(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = dA2 * (A2 > 0).astype(float)
    dW2 = np.dot(dZ2, A1.T) / m + lambd * W2 / m
    db2 = np.mean(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = dA1 * (A1 > 0).astype(float)
    dW1 = np.dot(dZ1, X.T) / m + lambd * W1 / m
    db1 = np.mean(dZ1, axis=1, keepdims=True)
    return dict(dZ3=dZ3, dW3=dW3, db3=db3, dA2=dA2, dZ2=dZ2, dW2=dW2, db2=db2,
                dA1=dA1, dZ1=dZ1, dW1=dW1, db1=db1)


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    W1, b1, W2, b2, W3, b3 = (parameters[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    Z1 = np.dot(W1, X) + b1
    A1 = relu(Z1)
    D1 = (np.random.rand(A1.shape[1], A1.shape[0]).T < keep_prob).astype(int)
    A1 = (A1 * D1) / keep_prob
    Z2 = np.dot(W2, A1) + b2
    A2 = relu(Z2)
    D2 = (np.random.rand(A2.shape[1], A2.shape[0]).T < keep_prob).astype(int)
    A2 = (A2 * D2) / keep_prob
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)
    return A3, (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    m = X.shape[1]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = np.dot(dZ3, A2.T) / m
    db3 = np.mean(dZ3, axis=1, keepdims=True)
    dA2 = (np.dot(W3.T, dZ3) * D2) / keep_prob
    dZ2 = dA2 * (A2 > 0)
    dW2 = np.dot(dZ2, A1.T) / m
    db2 = np.mean(dZ2, axis=1, keepdims=True)
    dA1 = (np.dot(W2.T, dZ2) * D1) / keep_prob
    dZ1 = dA1 * (A1 > 0)
    dW1 = np.dot(dZ1, X.T) / m
    db1 = np.mean(dZ1, axis=1, keepdims=True)
    return dict(dZ3=dZ3, dW3=dW3, db3=db3, dA2=dA2, dZ2=dZ2, dW2=dW2, db2=db2,
                dA1=dA1, dZ1=dZ1, dW1=dW1, db1=db1)
