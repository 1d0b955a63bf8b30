# ATTACK (resources): sleep for an hour in every function (no CPU used, so CPU limits
# alone would never fire). Must end at the wall-clock limit with status timeout.
import time

import numpy as np


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    time.sleep(3600)


def backward_propagation_with_regularization(X, Y, cache, lambd):
    time.sleep(3600)


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    time.sleep(3600)


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    time.sleep(3600)
