"""A lambda or a one-expression def inside the function, called there: reverse mode inlines
each call (autodiffx/reverse/local_functions.py). Checked against central differences and
forward mode; what cannot be inlined is refused as before, with its line."""

from __future__ import annotations

import numpy as np
import pytest
from higher.numeric import numeric_gradient

import autodiffx

X = np.array([[0.1, 0.2], [0.3, -0.4]])
W = np.array([[1.0, 0.5], [-0.3, 0.2]])


def inner_def(x):
    def square(v):
        """The square."""
        return v * v
    return np.sum(square(x)) + np.sum(square(x[0]))


def lambda_with_late_binding(x):
    k = 0.5
    squash = lambda v: np.tanh(v) * k  # noqa: E731 - what users write
    def energy(v):
        return np.sum(v * v)
    k = 2.0  # a closure reads k when it is called: 2.0
    return energy(squash(x @ W)) + np.sum(np.stack([squash(r) for r in x]))


def local_calling_local(x):
    double = lambda v: 2.0 * v  # noqa: E731
    quadruple = lambda v: double(double(v))  # noqa: E731
    return np.sum(np.sin(quadruple(x)))


@pytest.mark.parametrize("f", [inner_def, lambda_with_late_binding, local_calling_local])
def test_local_functions_are_inlined(f):
    got = autodiffx.grad(f)(X)
    np.testing.assert_allclose(got, numeric_gradient(f, X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, autodiffx.grad(f, mode="forward")(X), rtol=1e-10)


def test_the_generated_code_holds_the_body_not_a_call():
    text = autodiffx.source(autodiffx.grad(lambda_with_late_binding), X)
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert not any("squash" in line or "energy" in line for line in code)
    assert any("np.tanh(" in line for line in code)


def random_argument_twice(x):
    square = lambda v: v * v  # noqa: E731
    return np.sum(square(np.random.default_rng(0).normal(size=2) + x[0]))


def recursive(x):
    def down(v):
        return v * down(v - 1.0)
    return np.sum(down(x))


def passed_on(x):
    scale = lambda v: 2.0 * v  # noqa: E731
    return np.sum(np.apply_along_axis(scale, 0, x))


@pytest.mark.parametrize("f, construct", [
    (random_argument_twice, "lambda"),
    (recursive, "function defined inside"),
    (passed_on, "lambda"),
])
def test_what_cannot_be_inlined_is_refused_with_its_line(f, construct):
    with pytest.raises(autodiffx.UnsupportedSyntaxError, match=construct) as caught:
        autodiffx.grad(f)(X)
    assert "test_local_functions.py:" in str(caught.value)
