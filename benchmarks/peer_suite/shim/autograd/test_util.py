"""The peer's test utilities, reimplemented on the harness's checker."""

import itertools

import numpy as np
from peer_harness.checker import check_grads

__all__ = ["check_equivalent", "check_grads", "check_jvp", "check_vjp", "combo_check",
           "scalar_close"]


def scalar_close(a, b):
    return abs(a - b) < 1e-6 or abs(a - b) / abs(a + b) < 1e-6


def check_equivalent(x, y):
    """Same shape and the same values, to a relative 1e-6."""
    for a, b in zip(_flat(x), _flat(y), strict=True):
        assert np.shape(a) == np.shape(b), f"shape mismatch: {np.shape(a)} vs {np.shape(b)}"
        assert np.allclose(a, b, rtol=1e-6, atol=1e-6), f"value mismatch:\n{a}\n{b}"


def _flat(value):
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _flat(item)]
    if isinstance(value, dict):
        return [leaf for key in value for leaf in _flat(value[key])]
    return [value]


def check_vjp(fun, x):
    check_grads(fun, order=1)(x)


def check_jvp(fun, x):
    check_grads(fun, order=1)(x)


def combo_check(fun, *args, **kwargs):
    """Check ``fun`` at every combination of the given positional and keyword values."""
    def run(*arg_lists, **kwarg_lists):
        keyword_choices = [[(key, value) for value in values]
                           for key, values in kwarg_lists.items()]
        for positional in itertools.product(*arg_lists):
            for keywords in itertools.product(*keyword_choices):
                check_grads(fun, *args, **kwargs)(*positional, **dict(keywords))

    return run
