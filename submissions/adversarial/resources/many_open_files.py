# ATTACK (resources): exhaust file descriptors (files and pipes kept open across calls).
# Self-limiting: at most 5000. The nofile limit stops it; the runner still reports.
import os

import numpy as np

_KEPT = []


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    try:
        for number in range(2500):
            _KEPT.append(open("open-%d.txt" % number, "w"))
            _KEPT.extend(os.pipe())
    except OSError as exc:
        print("stopped after %d descriptors: %s" % (len(_KEPT), type(exc).__name__))
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
