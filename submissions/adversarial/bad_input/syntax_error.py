# BAD INPUT: a syntax error (unclosed bracket) in an otherwise plausible file.
import numpy as np


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    m = Y.shape[1
    return m
