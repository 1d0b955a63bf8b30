"""The course's helper module for the Regularization assignment, as a notebook imports it.

Shipped into the sandbox so that `from reg_utils import *` works as in the course.
It holds public course helpers only, never a graded function. Plotting and the
course's data file are not available in the sandbox: `plot_decision_boundary` does
nothing and `load_2D_dataset` draws a small deterministic stand-in dataset.
"""

import numpy as np


def sigmoid(x):
    """Sigmoid of x, elementwise."""
    return 1 / (1 + np.exp(-x))


def relu(x):
    """ReLU of x, elementwise."""
    return np.maximum(0, x)


def initialize_parameters(layer_dims):
    """He-style initialisation of a fully connected network, as the course does it."""
    np.random.seed(3)
    parameters = {}
    for layer in range(1, len(layer_dims)):
        parameters["W" + str(layer)] = np.random.randn(layer_dims[layer], layer_dims[layer - 1]) / np.sqrt(
            layer_dims[layer - 1]
        )
        parameters["b" + str(layer)] = np.zeros((layer_dims[layer], 1))
    return parameters


def forward_propagation(X, parameters):
    """LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID, without regularization."""
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    Z1 = np.dot(W1, X) + b1
    A1 = relu(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = relu(Z2)
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)
    cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
    return A3, cache


def backward_propagation(X, Y, cache):
    """Gradients of the plain cross-entropy cost."""
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = 1.0 / m * np.dot(dZ3, A2.T)
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    dW2 = 1.0 / m * np.dot(dZ2, A1.T)
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1.0 / m * np.dot(dZ1, X.T)
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {
        "dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2,
        "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1,
    }


def update_parameters(parameters, grads, learning_rate):
    """One step of gradient descent."""
    for layer in range(len(parameters) // 2):
        key = str(layer + 1)
        parameters["W" + key] = parameters["W" + key] - learning_rate * grads["dW" + key]
        parameters["b" + key] = parameters["b" + key] - learning_rate * grads["db" + key]
    return parameters


def compute_cost(a3, Y):
    """Cross-entropy cost, ignoring the entries where log is undefined."""
    m = Y.shape[1]
    logprobs = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    return 1.0 / m * np.nansum(logprobs)


def predict(X, y, parameters):
    """Predictions of the network (0/1) for X; prints the accuracy against y."""
    a3, _ = forward_propagation(X, parameters)
    p = (a3 > 0.5).astype(int)
    print("Accuracy: " + str(np.mean(p[0, :] == y[0, :])))
    return p


def predict_dec(parameters, X):
    """Predictions used by the course's decision-boundary plot."""
    a3, _ = forward_propagation(X, parameters)
    return a3 > 0.5


def load_2D_dataset():
    """A deterministic stand-in for the course's football dataset (its data file is not in the sandbox)."""
    rng = np.random.RandomState(0)
    train_X = rng.uniform(-0.8, 0.8, (2, 211))
    train_Y = (train_X[0:1] * train_X[1:2] > 0).astype(int)
    test_X = rng.uniform(-0.8, 0.8, (2, 200))
    test_Y = (test_X[0:1] * test_X[1:2] > 0).astype(int)
    return train_X, train_Y, test_X, test_Y


def plot_decision_boundary(model, X, y):
    """Plotting is not available in the sandbox: does nothing."""
    return None
