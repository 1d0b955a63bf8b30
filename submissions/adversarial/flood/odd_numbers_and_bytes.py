# ATTACK (flood): a handful of odd frames (numbers with huge exponents and 100 000 digits, NaN,
# bytes that are not UTF-8, a frame for a call that does not exist, a second "loaded"): few
# enough that the run is still graded on the frames the runner writes after them.
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
    frames = [
        b"{\"event\": \"call\", \"index\": 1" + b"0" * 100_000 + b", \"status\": \"missing\"}",
        b"{\"event\": \"call\", \"index\": 0, \"status\": \"returned\", \"seconds\": 1e999999, \"outputs\": {\"cost\": {\"shape\": [], \"dtype\": \"<f8\", \"data\": \"AAAAAAAA+H8=\"}}}",
        b"{\"event\": \"call\", \"index\": 3, \"status\": \"returned\", \"seconds\": NaN}",
        b"{\"event\": \"call\", \"index\": 4, \"status\": \"exception\", \"message\": \"\xff\xfe\xc0\xaf\"}",
        b"{\"event\": \"call\", \"index\": 99, \"status\": \"missing\"}",
        b"{\"event\": \"loaded\", \"errors\": [], \"skipped\": []}",
    ]
    return b"".join(PREFIX + frame + b"\n" for frame in frames)


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
