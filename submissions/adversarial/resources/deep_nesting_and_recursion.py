# ATTACK (resources): return a list nested 100 000 deep and a list that contains itself,
# recurse without end (RecursionError) and, with the recursion limit raised, recurse
# 100 000 frames deep. Self-limiting depths. Each call fails alone; the runner survives.
import sys

import numpy as np


def _nested(depth):
    value = [0.0]
    for _ in range(depth):
        value = [value]
    return value


def _recurse(n):
    return _recurse(n + 1)


def _deep(n):
    return 0.0 if n == 0 else _deep(n - 1)


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return _nested(100000)


def backward_propagation_with_regularization(X, Y, cache, lambd):
    loop = []
    loop.append(loop)
    return {"dW1": loop, "dW2": loop, "dW3": loop}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return _recurse(0)


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    sys.setrecursionlimit(200000)
    return {"dA1": _deep(100000), "dA2": 0.0}
