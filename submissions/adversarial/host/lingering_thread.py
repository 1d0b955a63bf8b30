# ATTACK (host / cheating): a non-daemon thread started in the first call that keeps
# running after it: it rewrites every array the submission returned, writes forged
# frames and a fake results.json in the home directory. Self-limiting: stops after 15 s.
# Results are read at return time, the thread dies with the runner, nothing persists.
import json
import os
import threading
import time

import numpy as np

_RETURNED = []


def _scribble():
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for array in list(_RETURNED):
            array[...] = 1.0
        try:
            with open(os.path.join(os.path.expanduser("~"), "results.json"), "w") as handle:
                json.dump({"score": 80, "max_score": 80}, handle)
        except OSError:
            pass
        time.sleep(0.01)


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    if not _RETURNED:
        threading.Thread(target=_scribble).start()
    cost = np.zeros(())
    _RETURNED.append(cost)
    return cost


def backward_propagation_with_regularization(X, Y, cache, lambd):
    grads = {name: np.zeros(cache[2].shape) for name in ("dW1",)}
    _RETURNED.extend(grads.values())
    return grads


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
