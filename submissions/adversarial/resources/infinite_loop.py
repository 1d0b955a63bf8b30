# ATTACK (resources): an endless busy loop in every function. Each call is stopped at its
# time budget, a function is not run again after it timed out, and the whole run ends
# at the wall-clock limit: status timeout, a message naming the limit, no hang.
import numpy as np


def _spin():
    while True:
        pass


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    _spin()


def backward_propagation_with_regularization(X, Y, cache, lambd):
    _spin()


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    _spin()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    _spin()
