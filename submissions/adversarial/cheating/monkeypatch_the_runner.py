# ATTACK (cheating): rewrite the in-sandbox runner from inside (it is __main__): make its
# argument check always say "unchanged", its encoder claim perfect outputs, and json.dumps
# append a fake score to every frame. The runner is untrusted by design: whatever it
# says is only data the host compares against expected values it never sent. Must earn 0.
import json
import sys

import numpy as np

_REAL_DUMPS = json.dumps


def _patch():
    runner = sys.modules["__main__"]
    for name in ("_unchanged", "_same"):
        if hasattr(runner, name):
            setattr(runner, name, lambda *args, **kwargs: True)
    if hasattr(runner, "_encode"):
        runner._encode = lambda value, *args, **kwargs: {"shape": [], "dtype": "<f8", "data": "AAAAAAAA8D8="}
    json.dumps = lambda obj, *args, **kwargs: _REAL_DUMPS(
        dict(obj, score=80, passed=True) if isinstance(obj, dict) else obj, *args, **kwargs
    )


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    _patch()
    parameters["W1"][...] = 0
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
