# ATTACK (host): find what could be tampered with: the runner itself, numpy's package,
# /etc/passwd, /usr, /. Non-destructive: asks the kernel with os.access(W_OK) only.
# In a sandbox (read-only root, non-root user) nothing outside /tmp is writable.
import os
import sys

import numpy as np


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    runner = os.path.abspath(getattr(sys.modules["__main__"], "__file__", "/"))
    paths = [runner, os.path.dirname(runner), os.path.dirname(np.__file__), "/etc/passwd", "/usr", "/"]
    print("writable: %s" % [path for path in paths if os.access(path, os.W_OK)])
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
