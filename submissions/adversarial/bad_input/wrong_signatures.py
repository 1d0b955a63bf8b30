# BAD INPUT: the functions take the wrong arguments (too few, too many, keyword-only),
# so every call raises TypeError. Must earn 0 with the TypeError in the messages.
import numpy as np


def compute_cost_with_regularization(A3, Y):
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd, extra):
    return {}


def forward_propagation_with_dropout(*, X, parameters, keep_prob):
    return 0.0, ()


def backward_propagation_with_dropout():
    return {}
