"""Assignment expressions (``:=``) in reverse mode (``autodiffx/reverse/walrus.py``): those
Python evaluates first and once per run of their statement become assignments before it;
the others are refused, never differentiated in another order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from tests.higher.numeric import numeric_gradient


def in_an_if(x, limit):
    if (s := np.sum(x ** 2)) > limit:
        return s * 2.0
    return s


def in_an_elif(x, limit):
    if limit > 10.0:
        out = np.sum(x)
    elif (m := np.max(np.tanh(x))) > limit:
        out = m * np.sum(x ** 3)
    else:
        out = -m
    return out


def in_a_value(x, limit):
    y = (h := np.tanh(x * limit)) * h + 1.0
    return np.sum(y * x)


def nested(x, limit):
    total = (a := (b := x * limit) + 1.0) @ b
    return total + np.sum(a)


def in_a_loop_header(x, limit):
    total = 0.0
    for v in (rows := np.sin(x) * limit):
        total = total + v * np.sum(rows)
    return total


def in_a_return(x, limit):
    return (s := np.sum(np.exp(x) * limit)) * s


FUNCTIONS = [in_an_if, in_an_elif, in_a_value, nested, in_a_loop_header, in_a_return]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@settings(max_examples=15, deadline=None)
@given(values=st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=4),
       limit=st.floats(-0.9, 1.5))
def test_agrees_with_central_differences_and_forward_mode(function, values, limit):
    x = np.array(values)
    f = lambda a: function(a, limit)  # noqa: E731
    if function in (in_an_if, in_an_elif) and any(
            abs(_test_value(function, x + d, limit) - limit) < 1e-3
            for d in (0.0, 1e-6, -1e-6)):
        return  # a step of the differences would cross the branch's test
    if function is in_an_elif and np.min(np.diff(np.sort(x))) < 1e-3:
        return  # a tie of np.max, a kink
    want = numeric_gradient(f, x)
    reverse = autodiffx.grad(function)(x, limit)
    np.testing.assert_allclose(reverse, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reverse, autodiffx.grad(function, mode="forward")(x, limit),
                               rtol=1e-10, atol=1e-12)


def _test_value(function, x, limit):
    return np.sum(x ** 2) if function is in_an_if else np.max(np.tanh(x))


def test_the_assignment_comes_first_in_the_generated_code():
    text = autodiffx.source(autodiffx.grad(in_an_if), np.ones(3), 0.5)
    assert text.index("s = np.sum(") < text.index("if s > limit:")
    text = autodiffx.source(autodiffx.grad(nested), np.ones(3), 0.5)
    assert text.index("b = x * limit") < text.index("a = b + 1.0")


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_jvp_agrees_with_the_gradient_on_every_call(function):
    x, direction = np.array([0.3, -0.2, 0.7]), np.array([1.0, -0.5, 0.25])
    for limit in (0.2, 1.2):
        want = np.sum(autodiffx.grad(function)(x, limit) * direction)
        for _ in range(3):  # the first call on dual numbers, then the generated code
            _, tangent = autodiffx.jvp(function, (x, limit), (direction, 0.0))
            assert tangent == pytest.approx(want, rel=1e-12, abs=1e-14)


def in_a_while_test(x, limit):
    total = 0.0
    while (n := total) < limit:
        total = n + np.sum(x ** 2)
    return total


def after_a_call(x, limit):
    return np.sum(x) + (s := np.sum(x * limit)) * s


def after_and(x, limit):
    w = limit > 0 and (_s := np.sum(x))
    return w * np.sum(x)


def in_a_comprehension(x, limit):
    return sum([(y := v * limit) * y for v in x])


def its_name_read_first(x, limit):
    y = x * limit
    return np.sum(y * (y := x ** 2))


def its_name_in_an_updated_target(x, limit):
    y = np.zeros(2)
    i = 0
    y[i] += (i := 1) * np.sum(x * limit)  # y[0], the i before the assignment expression
    return np.sum(y * np.array([1.0, 3.0])) * np.sum(x)


def in_a_conditional_expression(x, limit):
    return np.sum(x) if limit > 0 else (s := np.sum(x ** 2)) * s


@pytest.mark.parametrize("function", [in_a_while_test, after_a_call, after_and,
                                      in_a_comprehension, its_name_read_first,
                                      its_name_in_an_updated_target,
                                      in_a_conditional_expression],
                         ids=lambda f: f.__name__)
def test_one_that_cannot_be_moved_is_refused(function):
    with pytest.raises(autodiffx.UnsupportedSyntaxError, match=r":="):
        autodiffx.grad(function)(np.array([0.3, -0.2, 0.7]), 0.5)
