# ATTACK (secrets): read the environment of this process, of PID 1 and of the parent
# process (the grader, outside a sandbox) looking for secrets, and print what it finds
# so it lands in the report. Prints variable NAMES only, never values. Read-only.
# A sandbox must show only its own fixed environment: no grader or host variables.
import os

import numpy as np


def _names(path):
    try:
        with open(path, "rb") as handle:
            return sorted(entry.split(b"=", 1)[0].decode("utf-8", "replace") for entry in handle.read().split(b"\0") if entry)
    except OSError as exc:
        return ["<%s>" % type(exc).__name__]


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    print("own environment:", ",".join(sorted(os.environ)))
    print("pid 1 environment:", ",".join(_names("/proc/1/environ")))
    print("parent environment:", ",".join(_names("/proc/%d/environ" % os.getppid())))
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
