"""Forward mode's ``x.view()`` and ``x.astype(...)``, at first and second order.

``x.view()`` is another name for the same memory, as in NumPy (a write through either is
seen by both); a view as another dtype reinterprets bytes, which has no derivative. At
second order the primal of a value cast is a dual number of the outer level, which casts
itself, its derivative with it.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import autodiffx
from autodiffx.errors import DerivativeConversionError
from tests.higher.numeric import numeric_gradient


def write_through_a_view(x):
    y = x * 1.0
    v = y.view()
    v[1] = v[0] ** 2  # y changes too: a view is the same memory
    return np.sum(y * x) + np.sum(x.view() ** 3)


def cube_of_complex_cast(x):
    return np.sum(np.real(x.astype(complex) ** 3) * np.array([1.0, -2.0, 0.5]))


@pytest.mark.parametrize("f", [write_through_a_view, cube_of_complex_cast])
def test_first_and_second_order(f):
    x = np.array([0.5, 1.5, -1.0])
    gradient = autodiffx.grad(f, mode="forward")
    np.testing.assert_allclose(gradient(x), numeric_gradient(f, x), atol=1e-6)
    if f is cube_of_complex_cast:  # (reverse mode has no rule for .view())
        np.testing.assert_allclose(gradient(x), autodiffx.grad(f)(x), rtol=1e-10)
    want = np.array([numeric_gradient(lambda y, i=i: gradient(y)[i], x) for i in range(3)])
    np.testing.assert_allclose(autodiffx.jacfwd(gradient)(x), want, atol=1e-6)
    np.testing.assert_allclose(autodiffx.hessian(f, mode="forward")(x), want, atol=1e-6)


def test_a_view_as_another_dtype_is_refused():
    with pytest.raises(DerivativeConversionError, match="another kind of array"):
        autodiffx.grad(lambda x: np.sum(x.view(np.int64)), mode="forward")(np.ones(2))


def shallow_copy_written(x, m):
    a = np.copy(x)
    b = copy.copy(a)  # new memory, as ndarray.__copy__ makes
    b[0] = m[1]
    return np.sum(a * b)


def deep_copy_written(x, m):
    a = x * 1.0
    pair = copy.deepcopy([a, a])  # one copy, named twice
    pair[0][1] = m[0]
    return np.sum(a * pair[1]) + np.sum(pair[0])


@pytest.mark.parametrize("f", [shallow_copy_written, deep_copy_written])
def test_copy_module_copies_are_new_memory(f):
    # copy.copy of a Dual shared its primal and tangent (the default for a class with
    # slots): the write into b reached a, and the value was 2.66 where NumPy gives 2.48.
    x, m = np.array([0.7, 1.3, 0.4]), np.array([0.2, 0.9])
    value, gradients = autodiffx.value_and_grad(f, wrt=(0, 1), mode="forward")(x, m)
    assert value == pytest.approx(f(x, m), rel=1e-12)
    np.testing.assert_allclose(gradients[0], numeric_gradient(lambda v: f(v, m), x), atol=1e-6)
    np.testing.assert_allclose(gradients[1], numeric_gradient(lambda v: f(x, v), m), atol=1e-6)


def test_setting_shape_in_place_is_refused_with_the_library_error():
    # it raised Python's own AttributeError ("property 'shape' ... has no setter")
    def f(x):
        y = x * 1.0
        y.shape = (1, 3)
        return np.sum(y)

    with pytest.raises(autodiffx.AutodiffError, match="reshape"):
        autodiffx.grad(f, mode="forward")(np.ones(3))
