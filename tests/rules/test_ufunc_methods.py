"""The methods of ufuncs taken as the functions they equal (``autodiffx/rules/ufunc_methods.py``):
``np.add.reduce`` as ``np.sum``, ``np.multiply.accumulate`` as ``np.cumprod``, and so on,
in both modes and in the generated JVP, against central differences; what they do not
cover is refused, never taken as a constant."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from tests.higher.numeric import numeric_gradient


def add_reduce(x, axis):
    return np.sum(np.add.reduce(x, axis=axis) ** 2)


def add_reduce_by_position(x, axis):
    return np.sum(np.sin(np.add.reduce(x, axis)))


def add_reduce_default(x, axis):
    return np.sum(np.add.reduce(x) ** 3)


def add_reduce_keepdims(x, axis):
    return np.sum(np.add.reduce(x, axis=axis, keepdims=True) * x)


def add_accumulate(x, axis):
    return np.sum(np.add.accumulate(x, axis=axis) ** 2)


def add_accumulate_default(x, axis):
    return np.sum(np.tanh(np.add.accumulate(x)))


def multiply_reduce(x, axis):
    return np.sum(np.multiply.reduce(x, axis=axis))


def multiply_accumulate(x, axis):
    return np.sum(np.multiply.accumulate(x, axis) * x)


def maximum_reduce(x, axis):
    return np.sum(np.maximum.reduce(x, axis=axis) ** 2)


def minimum_reduce(x, axis):
    return np.sum(np.minimum.reduce(x, axis, keepdims=True) * x)


def add_reduce_everything(x, axis):
    return np.add.reduce(x * x, axis=None)


FUNCTIONS = [add_reduce, add_reduce_by_position, add_reduce_default, add_reduce_keepdims,
             add_accumulate, add_accumulate_default, multiply_reduce, multiply_accumulate,
             maximum_reduce, minimum_reduce, add_reduce_everything]


def apart(x) -> bool:
    """Entries far from each other, so that max and min have no tie near x."""
    values = np.sort(x.ravel())
    return bool(np.all(np.diff(values) > 1e-3))


arrays = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**32 - 1)).map(
    lambda s: np.random.default_rng(s[2]).uniform(-1.5, 1.5, size=(s[0], s[1])))


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@settings(max_examples=15, deadline=None)
@given(x=arrays, axis=st.sampled_from([0, 1, -1]))
def test_both_modes_agree_with_numeric_gradient(function, x, axis):
    if function in (maximum_reduce, minimum_reduce) and not apart(x):
        return
    want = numeric_gradient(lambda a: function(a, axis), x)
    for mode in ("reverse", "forward"):
        got = autodiffx.grad(function, mode=mode)(x, axis)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=mode)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_jvp_agrees_with_the_gradient_on_every_call(function):
    rng = np.random.default_rng(3)
    x, direction = rng.uniform(-1.5, 1.5, (3, 4)), rng.standard_normal((3, 4))
    gradient = autodiffx.grad(function)(x, 1)
    for _ in range(3):  # the first call on dual numbers, then the generated code
        value, tangent = autodiffx.jvp(lambda a: function(a, 1), (x,), (direction,))
        assert value == pytest.approx(function(x, 1))
        assert tangent == pytest.approx(np.sum(gradient * direction), rel=1e-10, abs=1e-12)


def test_the_generated_code_calls_the_function_form():
    x = np.ones((2, 3))
    text = autodiffx.source(autodiffx.grad(multiply_accumulate), x, 1)
    assert "np.cumprod(x, axis=axis)" in text
    text = autodiffx.source(autodiffx.grad(add_reduce_default), x, 0)
    assert "np.sum(x, axis=0)" in text


def with_dtype(x):
    return np.sum(np.add.reduce(x, dtype=np.float64))


def with_initial(x):
    return np.sum(np.multiply.reduce(x, axis=0, initial=2.0))


def with_where(x):
    return np.sum(np.add.reduce(x, axis=0, where=x > 0))


def subtract_reduce(x):
    return np.sum(np.subtract.reduce(x))


def add_reduceat(x):
    return np.sum(np.add.reduceat(x, [0, 1]))


def maximum_accumulate(x):
    return np.sum(np.maximum.accumulate(x))


@pytest.mark.parametrize("function", [with_dtype, with_initial, with_where, subtract_reduce,
                                      add_reduceat, maximum_accumulate],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_what_the_function_forms_do_not_cover_is_refused(function, mode):
    x = np.array([0.5, 1.5, -0.25])
    with pytest.raises(autodiffx.MissingRuleError):
        autodiffx.grad(function, mode=mode)(x)


class _Operations:
    """An object holding a ufunc, with a method named like NumPy's function form."""

    add = np.add

    @staticmethod
    def sum(x, axis=None):
        return 0.0 * np.sum(x)


OPERATIONS = _Operations()


def through_an_object(x, axis):
    return np.sum(OPERATIONS.add.reduce(x * x, axis=axis))


def test_a_ufunc_reached_through_an_object_calls_numpys_function():
    x = np.array([[0.5, 1.0, -2.0], [1.5, 0.25, 0.75]])
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(autodiffx.grad(through_an_object, mode=mode)(x, 0), 2 * x,
                                   rtol=1e-12)
    text = autodiffx.source(autodiffx.grad(through_an_object), x, 0)
    assert "np.sum(xx, axis=axis)" in text and "OPERATIONS.sum" not in text
