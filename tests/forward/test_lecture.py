"""The lecture's worked example and nested forward mode (perturbation confusion)."""

import numpy as np
import pytest

import autodiffx
from autodiffx import grad


def lecture(x, y, z):
    return (x + y) * max(y, z)


def test_lecture_example_gives_2_5_0():
    assert grad(lecture, wrt=(0, 1, 2), mode="forward")(1.0, 2.0, 0.0) == (2.0, 5.0, 0.0)


def test_lecture_example_value_and_perturbations():
    value, gradient = autodiffx.value_and_grad(lecture, wrt=(0, 1), mode="forward")(1.0, 2.0, 0.0)
    assert value == 6.0
    # The lecture's perturbation checks: f(1.1, 2, 0) = 6.2 and f(1, 2.1, 0) = 6.51,
    # which the gradient predicts to first order (exactly for x, to 0.01 for y).
    assert lecture(1.1, 2.0, 0.0) == pytest.approx(value + 0.1 * gradient[0])
    assert lecture(1.0, 2.1, 0.0) == pytest.approx(value + 0.1 * gradient[1] + 0.01)


def test_cube_warm_up():
    derivative = grad(lambda x: x**3, mode="forward")
    assert derivative(1.0) == 3.0
    assert derivative(4.0) == 48.0


def test_perturbation_confusion_is_avoided():
    # d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1; confusing the two perturbations gives 2.
    def f(x):
        return x * grad(lambda y: x + y, mode="forward")(2.0)

    assert grad(f, mode="forward")(1.0) == 1.0
    assert grad(f, mode="forward")(5.0) == 1.0


def test_inner_derivative_that_depends_on_the_outer_variable():
    # d/dx [x * d/dy (x * y)] = d/dx x**2 = 2x, whichever way the levels are nested.
    def f(x):
        inner = grad(lambda y: np.sum(x * y), mode="forward")(np.array([2.0, 3.0]))
        return np.sum(x * inner)

    x = np.array([1.0, -2.0])
    np.testing.assert_allclose(grad(f, mode="forward")(x), 2 * x)


def test_nested_evaluation_mixing_levels_in_a_stack():
    # The inner np.stack holds an inner-level Dual and an outer-level Dual at once.
    def f(x):
        inner = grad(lambda y: np.sum(np.stack([y, y * 2.0, x * 0.0 + 1.0])), mode="forward")
        return x * inner(2.0)

    assert grad(f, mode="forward")(1.5) == 3.0


def test_hessian_by_forward_over_forward():
    # f = sum(x^3) + x0 x1: the Hessian is diag(6 x) plus 1 off the diagonal at (0, 1).
    def f(x):
        return np.sum(x**3) + x[0] * x[1]

    x = np.array([1.0, -2.0, 0.5])
    hessian = autodiffx.jacfwd(grad(f, mode="forward"), chunk=2)(x)
    expected = np.diag(6 * x)
    expected[0, 1] = expected[1, 0] = 1.0
    np.testing.assert_allclose(hessian, expected)
