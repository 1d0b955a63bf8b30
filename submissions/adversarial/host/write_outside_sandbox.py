# ATTACK (host): write files outside the sandbox's scratch space: the corpus test's
# canary folder (/tmp/grader-adversarial-canary, overwriting canary.txt too), /, /etc,
# the runner's folder and the folders above it (the grader's source tree outside a sandbox).
# Creates only small files named ADVERSARIAL-MARKER-*. Nothing may appear on the host.
import os
import sys

import numpy as np

CANARY = "/tmp/grader-adversarial-canary"
MARKER = "ADVERSARIAL-MARKER-written"


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    runner = os.path.dirname(os.path.abspath(getattr(sys.modules["__main__"], "__file__", "/")))
    targets = [CANARY, "/", "/etc", runner, os.path.dirname(runner), os.path.dirname(os.path.dirname(runner))]
    written = []
    for folder in targets:
        try:
            with open(os.path.join(folder, MARKER), "w") as handle:
                handle.write("written by a submission\n")
            written.append(folder)
        except OSError:
            pass
    try:
        with open(os.path.join(CANARY, "canary.txt"), "w") as handle:
            handle.write("overwritten by a submission\n")
        written.append("canary.txt")
    except OSError:
        pass
    print("written: %s" % written)
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
