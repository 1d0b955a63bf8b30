# ATTACK (resources): grow memory in 64 MiB steps of touched pages. Self-limiting: stops
# at 3 GiB. The sandbox's memory limit stops it first: status memory_limit_exceeded
# (in the Docker sandbox) or a per-call "ran out of memory" (process rlimit).
import numpy as np


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    chunks = []
    for _ in range(48):
        chunks.append(np.ones(8 * 1024 * 1024))
    return float(len(chunks))


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
