"""Python's ``sum`` over an array in reverse mode: it adds the rows (``x[0] + x[1] + ...``),
so each row receives the cotangent (``sequences.ARRAY_SUM``). Checked against central
differences and forward mode, which follows Python's iteration over a Dual."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import autodiffx

from .defined import define
from .test_gradients import central


@pytest.mark.parametrize("body", [
    "return np.sum(sum(x * x))",
    "return sum(x[0] * x[0])",
    "return np.sum(sum(x ** 2) * np.arange(1.0, x.shape[1] + 1.0))",
    "r = np.tanh(x)\n    t = sum(r)\n    return np.sum(t * t)",
    "y = x * 2.0\n    return np.sum(sum(y) + sum(x))",
    "return np.sum(sum(x[:, 0]) * x)",
    "return np.sum(sum(-x.T))",
    "return np.sum(sum(np.sin(x)) * 2.0)",
    "return np.sum(sum(np.sum(x, axis=1, keepdims=True) * x))",
])
@settings(max_examples=15, deadline=None)
@given(x=arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 3)),
                elements=st.floats(-2, 2)))
def test_sum_of_an_array(body, x):
    f = define("def f(x):\n    " + body + "\n")
    got = autodiffx.grad(f)(x.copy())
    np.testing.assert_allclose(got, central(f, (x,), 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, autodiffx.grad(f, mode="forward")(x.copy()),
                               rtol=1e-10, atol=1e-12)


def test_sum_of_a_list_made_by_repetition_is_not_read_as_an_array():
    f = define("def f(x):\n    return np.sum(sum([x] * 3))\n")
    x = np.arange(3.0)
    want = autodiffx.grad(f, mode="forward")(x)
    np.testing.assert_allclose(want, [3.0, 3.0, 3.0])
    try:
        got = autodiffx.grad(f)(x)
    except autodiffx.AutodiffError:
        return
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("inner", ["np.atleast_1d(x, x * 2.0)", "np.modf(x * 2.5)"])
def test_sum_of_a_call_that_gives_several_arrays_is_not_read_as_an_array(inner):
    f = define(f"def f(x):\n    return np.sum(sum({inner}))\n")
    with pytest.raises(autodiffx.AutodiffError):
        autodiffx.grad(f)(np.array([0.3, 0.7]))
