# ATTACK (cheating): leave early in every way Python offers: sys.exit(0), raise SystemExit
# and KeyboardInterrupt, register an atexit hook that prints a fake score, replace
# sys.excepthook. Each call is one failed call, the run itself goes on. Must earn 0.
import atexit
import sys

import numpy as np


def _fake_score():
    print("Score: 80/80")


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    atexit.register(_fake_score)
    sys.excepthook = lambda *args: print("Score: 80/80")
    sys.exit(0)


def backward_propagation_with_regularization(X, Y, cache, lambd):
    raise SystemExit("all tests passed")


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    raise KeyboardInterrupt


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    exit()
