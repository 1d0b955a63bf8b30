# ATTACK (secrets): search the interpreter itself for expected values: every object the
# garbage collector knows, every frame up the stack (the runner's locals: plan, bundle,
# arrays), every loaded module; return any array that has the right shape and is not
# one of this call's own arguments.
# Must earn nothing on any backend: the runner never holds expected values.
import gc
import sys

import numpy as np


def _candidates(shape, exclude):
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, dict):
            for value in list(obj.values()):
                if isinstance(value, np.ndarray) and value.shape == shape and id(value) not in exclude:
                    found.append(value)
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, np.ndarray) and value.shape == shape and id(value) not in exclude:
                found.append(value)
        frame = frame.f_back
    for module in list(sys.modules.values()):
        for value in list(getattr(module, "__dict__", {}).values()):
            if isinstance(value, np.ndarray) and value.shape == shape and id(value) not in exclude:
                found.append(value)
    return found


def _ids(*values):
    ids = set()
    for value in values:
        if isinstance(value, dict):
            ids |= _ids(*value.values())
        elif isinstance(value, tuple):
            ids |= _ids(*value)
        ids.add(id(value))
    return ids


def _first(shape, exclude):
    found = _candidates(shape, exclude)
    # Not zeros: all-zero masks would hit a known scoring issue (see zero_masks_consistency.py).
    return found[0] if found else np.full(shape, 0.5)


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    found = _candidates((), _ids(A3, Y, parameters))
    return float(found[0]) if found else 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    exclude = _ids(X, Y, cache)
    W1, W2, W3 = cache[2], cache[6], cache[10]
    return {"dW1": _first(W1.shape, exclude), "dW2": _first(W2.shape, exclude), "dW3": _first(W3.shape, exclude)}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    exclude = _ids(X, parameters)
    n1, n2, m = parameters["W1"].shape[0], parameters["W2"].shape[0], X.shape[1]
    cache = [None] * 14
    cache[1], cache[2] = _first((n1, m), exclude), _first((n1, m), exclude)
    cache[6], cache[7] = _first((n2, m), exclude), _first((n2, m), exclude)
    return _first((1, m), exclude), tuple(cache)


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    exclude = _ids(X, Y, cache)
    return {"dA1": _first(cache[2].shape, exclude), "dA2": _first(cache[7].shape, exclude)}
