# ATTACK (resources): print 200 MB to stdout and stderr. Self-limiting: 200 MB in total.
# Printed text is captured, counted and truncated; the run goes on: status graded.
import os
import sys

import numpy as np

_FLOODED = []


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    if not _FLOODED:
        _FLOODED.append(True)
        line = "flood " * 170000 + "\n"
        for _ in range(100):
            sys.stdout.write(line)
            os.write(2, line.encode())
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
