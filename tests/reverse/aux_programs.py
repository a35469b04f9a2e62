"""Functions that return ``(value, aux)``, for ``has_aux=True`` (tests/reverse/test_has_aux.py).
They live in a file of their own because reverse mode reads their source."""

import numpy as np


def with_dict(a):
    return np.sum(np.tanh(a) * a), {"note": a + 1, "count": a.size, "name": "dict"}


def with_nested(a, b):
    h = np.sin(a) * b
    return np.sum(h * h), [h + 1, (a * 2, "text", None), {"b": b}]


def in_branches(a):
    if np.sum(a) > 0:
        return np.sum(a ** 3), ("positive", a.max())
    return np.sum(np.exp(a)), ("negative", a.min())


def aux_is_an_intermediate(a):
    h = np.exp(a)
    loss = np.sum(h * a)
    return loss, h


def not_a_pair(a):
    return np.sum(a * a)
