# ATTACK (cheating): return correct costs as views into one shared buffer that the next
# call overwrites (and a background thread scribbles over), hoping the grader reads the
# buffer late and sees other values. Outputs are read when the call returns: exactly the
# honest cost points (15) must be earned. Self-limiting: the thread stops after 10 s.
import threading
import time

import numpy as np
from reg_utils import compute_cost

_BUFFER = []


def _scribble(buffer):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        buffer[...] = -1.0
        time.sleep(0.001)


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    if not _BUFFER:
        _BUFFER.append(np.zeros(4))
        threading.Thread(target=_scribble, args=(_BUFFER[0],), daemon=True).start()
    buffer = _BUFFER[0]
    m = Y.shape[1]
    W1, W2, W3 = parameters["W1"], parameters["W2"], parameters["W3"]
    l2 = (1. / m) * (lambd / 2) * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))
    view = buffer[1:2].reshape(())
    view[...] = compute_cost(A3, Y) + l2
    return view


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {name: _BUFFER[0][:1].reshape(1, 1) for name in ("dW1", "dW2", "dW3")}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
