# ATTACK (resources / loading): "only definitions are loaded", but a class body is a
# definition that runs code: loop forever inside one while the file loads. The load
# budget stops it: status error, "loading the file took longer than ...".
# Self-limiting: the loop ends by itself after 60 s.
import time

import numpy as np


class Trap:
    _deadline = time.monotonic() + 60
    while time.monotonic() < _deadline:
        pass


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
