# ATTACK (cheating): return objects that impersonate numbers and arrays: a class that
# claims __class__ is np.ndarray, answers __eq__ with True, __float__ with whatever is
# asked, __array__ with zeros, __len__ with a huge number and __getitem__ with itself;
# and a float subclass whose __eq__/__sub__/__abs__ lie. Must earn 0.
import numpy as np


class Impostor:
    @property
    def __class__(self):
        return np.ndarray

    def __eq__(self, other):
        return True

    def __float__(self):
        return 0.0

    def __array__(self, dtype=None):
        return np.zeros((2, 2))

    def __len__(self):
        return 10**12

    def __getitem__(self, key):
        return self


class LyingFloat(float):
    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0

    def __float__(self):
        return 0.0


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return LyingFloat(1234.5)


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return Impostor()


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return Impostor(), Impostor()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {"dA1": Impostor(), "dA2": [Impostor(), Impostor()]}
