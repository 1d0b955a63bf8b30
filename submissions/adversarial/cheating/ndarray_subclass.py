# ATTACK (cheating): return ndarray subclasses that lie: every comparison operator says
# "equal", subtraction and abs give zeros, isfinite/allclose-style checks pass, and
# shape/dtype are spoofed. The host only ever sees plain bytes of the real data. Must earn 0.
import numpy as np


class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool) if np.ndim(other) else True

    __le__ = __ge__ = __eq__

    def __ne__(self, other):
        return False

    def __sub__(self, other):
        return np.zeros(np.shape(other)).view(Liar)

    __rsub__ = __sub__

    def __abs__(self):
        return np.zeros(self.shape)

    def __array__(self, dtype=None):
        return np.zeros(self.view(np.ndarray).shape)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(1)

    def tobytes(self, *args, **kwargs):
        return b"\0" * 8

    @property
    def dtype(self):
        return np.dtype("float64")


def _liar(shape):
    return (np.full(shape, 123.0)).view(Liar)


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return _liar(())


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {name: _liar(cache[i].shape) for name, i in (("dW1", 2), ("dW2", 6), ("dW3", 10))}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    n1, n2, m = parameters["W1"].shape[0], parameters["W2"].shape[0], X.shape[1]
    cache = [None] * 14
    cache[1], cache[2], cache[6], cache[7] = _liar((n1, m)), _liar((n1, m)), _liar((n2, m)), _liar((n2, m))
    return _liar((1, m)), tuple(cache)


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {"dA1": _liar(cache[2].shape), "dA2": _liar(cache[7].shape)}
