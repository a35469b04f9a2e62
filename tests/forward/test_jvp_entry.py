"""``jvp``'s quick entry (float64 arrays and Python floats) gives what its general entry gives.

The general entry checks and converts every primal and tangent
(:func:`~autodiffx.arguments.as_differentiable`, :func:`~autodiffx.forward.driver.seed`)
before :func:`~autodiffx.forward.driver.push`; the quick one (issue 15) skips that for the
common arguments. ``general_jvp`` below is the general entry called directly: each case
sits at the quick entry's boundary (a float64 array against float32, integer, complex and
0-d ones, a Python float against an int and a NumPy scalar, one level against two) and
must agree with it to the last bit, type and dtype included.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiffx
from autodiffx import arguments
from autodiffx.api import _jvp_result
from autodiffx.forward import driver
from tests.higher.numeric import H


def general_jvp(f, primals, tangents):
    """``jvp`` through its general entry only (the result shaped as ``jvp`` shapes it)."""
    args = [arguments.as_differentiable(p, i) for i, p in enumerate(primals)]
    seeds = [driver.seed(primal, arguments.as_differentiable(tangent, i), i)
             for i, (primal, tangent) in enumerate(zip(args, tangents, strict=True))]
    value, out = driver.push(f, args, {}, range(len(args)), seeds)
    return _jvp_result(value, out[0])


def _same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _same(x, y)
        return
    assert np.shape(a) == np.shape(b) and np.result_type(a) == np.result_type(b)
    np.testing.assert_array_equal(a, b, strict=True)


def product(x, y):
    return np.tanh(x) * y + x


def total(x, y):
    return np.sum(np.tanh(x) * y) + np.mean(x)


def halves_in_place(x, y):
    """Writes fractions into its argument: an integer argument must have become float64."""
    if np.ndim(x) == 0:
        return x * y
    x[...] = x * 0.5
    return x * y


CASES = [
    # (primals, tangents): the quick entry's own cases, then its neighbours
    ((np.array([0.5, -1.0]), np.array([2.0, 3.0])), (np.array([1.0, 0.0]), np.ones(2))),
    ((0.5, 2.0), (1.0, -1.0)),
    ((np.array(0.5), np.array(2.0)), (np.array(1.0), np.array(-1.0))),
    ((np.array([0.5, -1.0], dtype=np.float32), np.array([2.0, 3.0])),
     (np.array([1.0, 0.0]), np.ones(2))),
    ((np.array([0.5, -1.0]), np.array([2.0, 3.0])),
     (np.array([1.0, 0.0], dtype=np.float32), np.ones(2))),
    ((np.array([1, -2]), np.array([2.0, 3.0])), (np.array([1.0, 0.0]), np.ones(2))),
    ((np.array([True, False]), np.array([2.0, 3.0])), (np.array([1, 0]), np.ones(2))),
    ((np.array([0.5 + 1j, -1.0]), np.array([2.0, 3.0])),
     (np.array([1.0, 1j]), np.ones(2))),
    ((0.5, 2.0), (1, -1.0)),
    ((1, 2.0), (1.0, -1.0)),
    ((np.float64(0.5), 2.0), (1.0, np.float64(-1.0))),
    ((0.5, np.array([2.0, 3.0])), (np.float64(1.0), np.ones(2))),
]


@pytest.mark.parametrize("function", [product, total, halves_in_place])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_the_quick_entry_agrees_with_the_general_one(function, case):
    primals, tangents = CASES[case]
    if function is total and any(np.iscomplexobj(p) for p in primals):
        pytest.skip("a complex loss is not a real number")
    _same(autodiffx.jvp(function, primals, tangents), general_jvp(function, primals, tangents))


@settings(max_examples=60, deadline=None)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), data=st.data())
def test_float64_arrays_of_any_shape(shape, data):
    elements = st.floats(-3, 3)
    x = data.draw(hnp.arrays(np.float64, shape, elements=elements))
    y = data.draw(hnp.arrays(np.float64, shape, elements=elements))
    tx = data.draw(hnp.arrays(np.float64, shape, elements=elements))
    ty = data.draw(hnp.arrays(np.float64, shape, elements=elements))
    saved = [a.copy() for a in (x, y, tx, ty)]
    for function in (product, total):
        quick = autodiffx.jvp(function, (x, y), (tx, ty))
        _same(quick, general_jvp(function, (x, y), (tx, ty)))
        along = (function(x + H * tx, y + H * ty) - function(x - H * tx, y - H * ty)) / (2 * H)
        np.testing.assert_allclose(quick[1], along, rtol=1e-5, atol=1e-6)
    for array, copy in zip((x, y, tx, ty), saved, strict=True):
        np.testing.assert_array_equal(array, copy)  # nothing written into the caller's


def test_the_quick_entry_refuses_what_the_general_one_refuses():
    with pytest.raises(autodiffx.ArgumentError, match="shape"):
        autodiffx.jvp(product, (np.zeros(3), np.zeros(3)), (np.zeros(2), np.zeros(3)))
    with pytest.raises(autodiffx.ArgumentError, match="tangents"):
        autodiffx.jvp(product, (np.zeros(3), np.zeros(3)), (np.zeros(3),))
    with pytest.raises(autodiffx.ComplexTangentError):
        autodiffx.jvp(product, (np.zeros(2), 1.0), (np.zeros(2), 1j))
    with pytest.raises(autodiffx.InputTypeError, match="list"):
        autodiffx.jvp(product, (np.zeros(2), 1.0), ([1.0, 0.0], 1.0))


def test_a_function_writing_into_its_argument_leaves_the_callers_arrays_alone():
    def writes(x, y):
        x[0] = y[1] * 3.0
        view = x[1:]
        view *= y[0]
        return np.sum(x * x)

    x, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0])
    tx, ty = np.array([1.0, 1.0, 0.0]), np.array([0.0, 2.0])
    saved = [a.copy() for a in (x, y, tx, ty)]
    _same(autodiffx.jvp(writes, (x, y), (tx, ty)), general_jvp(writes, (x, y), (tx, ty)))
    for array, copy in zip((x, y, tx, ty), saved, strict=True):
        np.testing.assert_array_equal(array, copy)


def test_nested_jvp_of_a_closure_over_an_outer_dual():
    """The inner jvp's arguments are plain floats (the quick entry), but its function
    reads a Dual of the outer one: d/dx (a x^3) at x = 2 is 12 a, whose derivative in a is
    12. (Before the quick entry, jvp refused a scalar output whose tangent is a Dual.)"""

    def inner_derivative(a):
        return autodiffx.jvp(lambda x: a * x**3, (2.0,), (1.0,))[1]

    outer = autodiffx.jvp(inner_derivative, (1.5,), (1.0,))
    assert outer == (18.0, 12.0)
    assert autodiffx.grad(inner_derivative, mode="forward")(1.5) == 12.0


def test_jvp_of_a_gradient_is_a_hessian_vector_product():
    def f(x):
        return np.sum(np.sin(x) * x)

    x, v = np.array([0.3, -1.2, 2.0]), np.array([1.0, -2.0, 0.5])
    _, hv = autodiffx.jvp(autodiffx.grad(f, mode="forward"), (x,), (v,))
    hessian = np.diag(2 * np.cos(x) - x * np.sin(x))
    np.testing.assert_allclose(hv, hessian @ v, rtol=1e-12)
