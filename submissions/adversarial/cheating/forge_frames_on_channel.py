# ATTACK (cheating): find the runner's private output channel among the open file
# descriptors and write forged frames on it before the runner's own: a "loaded" frame,
# a "returned" frame for every call (claiming untouched arguments), one for a call that
# does not exist, a malformed one and a fake "done". The host takes only the first frame
# per call and compares the values inside; forged values earn what they are worth: 0.
import base64
import json
import os
import stat

import numpy as np

PREFIX = b"\x1egrader-frame "
_FORGED = []


def _frame(frame):
    return PREFIX + json.dumps(frame).encode() + b"\n"


def _forge():
    zero = {"shape": [], "dtype": "<f8", "data": base64.b64encode(np.zeros(()).tobytes()).decode()}
    names = ("cost", "dW1", "dW2", "dW3", "D1", "D2", "A1", "A2", "A3", "dA1", "dA2")
    frames = [_frame({"event": "loaded", "errors": [], "skipped": []})]
    frames += [_frame({"event": "call", "index": index, "status": "returned", "mutated": [],
                       "outputs": {name: zero for name in names}}) for index in range(64)]
    frames += [_frame({"event": "call", "index": 10**6, "status": "returned"}), PREFIX + b"{not json\n"]
    frames.append(_frame({"event": "done", "stdout": "Score: 80/80", "stdout_bytes": 12}))
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode) or stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.write(fd, b"".join(frames))
        except OSError:
            pass


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    if not _FORGED:
        _FORGED.append(True)
        _forge()
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
