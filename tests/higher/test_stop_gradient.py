"""``stop_gradient``: the identity on values, no derivative, in both modes and at second
order. Each gradient is checked against central differences of the same function with
the stopped value frozen at what it was at the point: that is what "treat this as a
constant" means."""

from __future__ import annotations

import numpy as np
import pytest

import autodiffx
from autodiffx import Dual, stop_gradient
from autodiffx.rules import lookup

from .numeric import numeric_gradient

MODES = ("reverse", "forward")
x0 = np.array([0.4, -1.2, 2.0])
W = np.array([[0.3, -0.5, 0.2], [0.1, 0.4, -0.7]])


def normalised(x):
    scale = stop_gradient(np.sum(x ** 2))
    return np.sum(x ** 3) / scale


SCALE = float(np.sum(x0 ** 2))  # the stopped values at x0, frozen
TARGET = np.tanh(W @ x0) + 0.5
HELD = x0 * x0


def normalised_frozen(x):
    return np.sum(x ** 3) / SCALE


def regression_to_own_output(W, x):
    """A target computed from the parameters but held fixed, as in a bootstrapped loss."""
    target = stop_gradient(np.tanh(W @ x) + 0.5)
    prediction = W @ x
    return np.sum((prediction - target) ** 2)


def regression_frozen(W, x):
    return np.sum((W @ x - TARGET) ** 2)


def through_attribute(x):
    held = autodiffx.stop_gradient(x * x)
    return np.sum(held * np.sin(x))


def attribute_frozen(x):
    return np.sum(HELD * np.sin(x))


def everything_stopped(x):
    return np.sum(stop_gradient(x) ** 2)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("function", "frozen"), [
    (normalised, normalised_frozen),
    (through_attribute, attribute_frozen),
])
def test_gradient_is_that_of_the_function_with_the_value_frozen(function, frozen, mode):
    assert function(x0) == pytest.approx(frozen(x0))  # values unchanged
    gradient = autodiffx.grad(function, mode=mode)(x0)
    np.testing.assert_allclose(gradient, numeric_gradient(frozen, x0), rtol=1e-6, atol=1e-8)
    # and not that of the function itself, whose gradient differs
    assert not np.allclose(gradient, numeric_gradient(function, x0), rtol=1e-3)


@pytest.mark.parametrize("mode", MODES)
def test_a_target_computed_from_the_parameters_is_held_fixed(mode):
    dW = autodiffx.grad(regression_to_own_output, mode=mode)(W, x0)
    expected = numeric_gradient(lambda w: regression_frozen(w, x0), W)
    np.testing.assert_allclose(dW, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_a_fully_stopped_input_has_zero_gradient(mode):
    np.testing.assert_array_equal(autodiffx.grad(everything_stopped, mode=mode)(x0),
                                  np.zeros(3))


def squared_times_stopped(x):
    return np.sum(x ** 2 * stop_gradient(x))


@pytest.mark.parametrize("mode", MODES)
def test_second_order_keeps_the_value_frozen(mode):
    # frozen: sum(x**2 * c) has the Hessian diag(2c), with c = x0
    hessian = autodiffx.hessian(squared_times_stopped, mode=mode)(x0)
    np.testing.assert_allclose(hessian, np.diag(2 * x0), rtol=1e-10)


def test_reverse_mode_sends_no_adjoint_through_it():
    text = autodiffx.source(autodiffx.grad(normalised), x0)
    assert "scale = stop_gradient(" in text  # the value is computed as written
    assert "dscale" not in text  # and no adjoint flows into it
    assert lookup(stop_gradient) is not None and not lookup(stop_gradient).differentiable


def test_values_pass_through_unchanged():
    assert stop_gradient(x0) is x0
    assert stop_gradient(2.5) == 2.5
    a, b = stop_gradient((x0, 1.0))
    assert a is x0 and b == 1.0
    assert stop_gradient({"W": W})["W"] is W


def test_forward_mode_gives_back_the_primal():
    level = 7
    dual = Dual(x0, np.ones((1, 3)), level)
    assert stop_gradient(dual) is x0
    nested = Dual(Dual(x0, np.ones((1, 3)), 8), Dual(np.ones((1, 3)), np.zeros((1, 1, 3)), 8), 9)
    assert stop_gradient(nested) is x0  # every level: the derivative is zero at any order
    stopped = stop_gradient([dual, 3.0])
    assert isinstance(stopped, list) and stopped[0] is x0 and stopped[1] == 3.0
