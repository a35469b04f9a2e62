"""The ``else`` of a loop in reverse mode (``autodiffx/reverse/loop_else.py``): a flag the
loop's own ``break`` statements set, and an ``if`` after the loop. Checked against central
differences and forward mode (which runs the loop as it is), with the break taken and not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from tests.higher.numeric import numeric_gradient


def for_else(x, limit):
    total = 0.0
    for v in x:
        if v > limit:
            break
        total = total + v ** 2
    else:
        total = total * 3.0
    return total


def while_else(x, limit):
    total = 0.0
    i = 0
    while i < len(x):
        if x[i] > limit:
            break
        total = total + np.sin(x[i])
        i = i + 1
    else:
        total = total - np.sum(x ** 2)
    return total


def no_break(x, limit):
    total = 0.0
    for v in x:
        total = total + v * limit
    else:
        total = total ** 2
    return total


def nested(x, limit):
    """The inner loop's else breaks the outer loop; the outer else runs only when the
    inner loop broke every time."""
    total = 0.0
    for row in x:
        for v in row:
            if v > limit:
                break
            total = total + v ** 3
        else:
            total = total * 2.0
            break
        total = total + np.sum(row)
    else:
        total = total - 1.0
    return total


def name_taken(x, limit):
    broke = 0.5
    total = 0.0
    for v in x:
        if v > limit:
            break
        total = total + v * broke
    else:
        total = total + broke
    return total * np.sum(x)


FUNCTIONS = [for_else, while_else, no_break, nested, name_taken]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("limit", [0.4, 5.0], ids=["breaks", "runs out"])
def test_agrees_with_central_differences_and_forward_mode(function, limit):
    x = np.array([[0.3, -0.2, 0.7], [0.1, 0.9, -0.5]])
    if function is not nested:
        x = x[0]
    want = numeric_gradient(lambda a: function(a, limit), x)
    reverse = autodiffx.grad(function)(x, limit)
    np.testing.assert_allclose(reverse, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(reverse, autodiffx.grad(function, mode="forward")(x, limit),
                               rtol=1e-12, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=5),
       limit=st.floats(-1.0, 1.0), function=st.sampled_from([for_else, while_else]))
def test_random_values_and_limits(values, limit, function):
    x = np.array(values)
    if np.any(np.abs(x - limit) < 1e-3):
        return  # a step of the differences would cross the break's test
    want = numeric_gradient(lambda a: function(a, limit), x)
    np.testing.assert_allclose(autodiffx.grad(function)(x, limit), want, rtol=1e-5,
                               atol=1e-6)


def test_the_generated_code_shows_the_flag():
    text = autodiffx.source(autodiffx.grad(for_else), np.ones(3), 0.5)
    assert "broke = False" in text
    assert "broke = True" in text
    assert "if not broke:" in text
    text = autodiffx.source(autodiffx.grad(name_taken), np.ones(3), 0.5)
    assert "broke_2 = True" in text


def test_a_loop_without_a_break_runs_its_else_after_it():
    text = autodiffx.source(autodiffx.grad(no_break), np.ones(3), 0.5)
    assert "broke" not in text


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_jvp_agrees_with_the_gradient_on_every_call(function):
    x = np.array([[0.3, -0.2, 0.7], [0.1, 0.9, -0.5]])
    if function is not nested:
        x = x[0]
    direction = np.linspace(-1.0, 1.0, x.size).reshape(x.shape)
    for limit in (0.4, 5.0):
        want = np.sum(autodiffx.grad(function)(x, limit) * direction)
        for _ in range(3):  # the first call on dual numbers, then the generated code
            _, tangent = autodiffx.jvp(function, (x, limit), (direction, 0.0))
            assert tangent == pytest.approx(want, rel=1e-12, abs=1e-14)
    assert "if not broke" in autodiffx.jvp_source(function, (x, 0.4), (direction, 0.0)) or (
        function is no_break)
