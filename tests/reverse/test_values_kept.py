"""A value being differentiated handed to code that keeps it, then read back.

``LOG.append(x)`` then ``LOG[-1]``, ``store(x)`` writing a global, ``KEEPER.keep(x)``
setting an attribute: reverse mode reads the value back through a global, a constant to
the generated code, and gave a gradient of zero where central differences give another.
Such a statement is refused, naming the call; forward mode, which carries the derivative
in the value itself, differentiates it. Calls of NumPy's and the standard library's
functions that keep nothing (``print``, ``np.save``) still run as they are.
"""

from __future__ import annotations

import functools
import io

import numpy as np
import pytest

import autodiffx
from autodiffx.errors import UnsupportedSyntaxError
from tests.higher.numeric import numeric_gradient

LOG: list = []
STASH: dict = {}


def _store(v):
    LOG.append(v)


class _Keeper:
    def keep(self, v):
        self.v = v


KEEPER = _Keeper()
STORE_LATER = functools.partial(_store)


def appended(x):
    LOG.append(x)
    return np.sum(LOG[-1] ** 2)


def extended(x):
    LOG.extend([x * 2.0])
    return np.sum(LOG[-1] ** 2)


def set_default(x):
    STASH.clear()
    STASH.setdefault("y", x)
    return np.sum(STASH["y"] ** 2)


def through_a_local_name(x):
    log = LOG
    log.append(x)
    return np.sum(LOG[-1] ** 2)


def stored_by_a_function(x):
    _store(x)
    return np.sum(LOG[-1] ** 2)


def stored_by_a_partial(x):
    STORE_LATER(x)
    return np.sum(LOG[-1] ** 2)


def kept_by_a_method(x):
    KEEPER.keep(x * 3.0)
    return np.sum(KEEPER.v ** 2)


def _write_and_keep(a):
    a[0] = 5.0
    _store(a)  # (kept two calls down)


def written_and_kept(x):
    y = x * 1.0
    _write_and_keep(y)
    return np.sum(LOG[-1] * x)


KEPT = [appended, extended, set_default, through_a_local_name, stored_by_a_function,
        stored_by_a_partial, kept_by_a_method, written_and_kept]


@pytest.fixture(autouse=True)
def _empty():
    LOG.clear()
    STASH.clear()
    yield
    LOG.clear()


@pytest.mark.parametrize("f", KEPT, ids=[f.__name__ for f in KEPT])
def test_reverse_mode_refuses_and_forward_mode_differentiates(f):
    x = np.array([0.3, -1.2, 2.0])
    with pytest.raises(UnsupportedSyntaxError, match="may keep it"):
        autodiffx.grad(f)(x)
    expected = numeric_gradient(f, x)
    np.testing.assert_allclose(autodiffx.grad(f, mode="forward")(x), expected, atol=1e-6)


def printed_and_saved(x):
    print("shape", x.shape, file=io.StringIO())
    np.save(io.BytesIO(), x)
    return np.sum(x ** 2)


def test_calls_that_keep_nothing_still_run():
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(autodiffx.grad(printed_and_saved)(x), 2 * x, rtol=1e-12)


def _validate(a, name="x"):
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has {np.sum(~np.isfinite(a))} entries that are not finite")
    print(name, np.shape(a), a.dtype, file=io.StringIO())


def validated(x):
    _validate(x)
    _validate(x * 2.0, name="2x")
    return np.sum(x ** 3)


def test_a_function_of_the_users_that_keeps_nothing_still_runs():
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(autodiffx.grad(validated)(x), 3 * x ** 2, rtol=1e-12)
