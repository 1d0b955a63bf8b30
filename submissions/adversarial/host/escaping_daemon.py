# ATTACK (host): leave a daemon behind: double-fork and setsid() so the grandchild leaves
# the runner's process group, then keep trying to write into the corpus test's canary
# folder after grading has finished. Self-limiting: the daemon exits after 30 s.
# No process of the submission may outlive its run.
import os
import time

import numpy as np

CANARY = "/tmp/grader-adversarial-canary"
_STARTED = []


def _daemon():
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with open(os.path.join(CANARY, "ADVERSARIAL-MARKER-daemon"), "a") as handle:
                handle.write("still here\n")
        except OSError:
            pass
        time.sleep(0.5)


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    if not _STARTED:
        _STARTED.append(True)
        try:
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    _daemon()
                os._exit(0)
        except OSError as exc:
            print("fork failed: %s" % type(exc).__name__)
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
