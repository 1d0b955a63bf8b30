# ATTACK (resources): start 8 threads in the first call that burn CPU and keep running
# after it, to starve the runner. Self-limiting: the threads stop after 30 s. The
# runner still finishes (the threads die with it) within the time limit.
import threading
import time

import numpy as np

_THREADS = []


def _burn():
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sum(range(1000))


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    if not _THREADS:
        for _ in range(8):
            thread = threading.Thread(target=_burn, daemon=True)
            thread.start()
            _THREADS.append(thread)
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
