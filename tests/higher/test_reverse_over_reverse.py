"""Reverse over reverse on every corpus program, and on the lecture's window scorer.

``jacrev(grad(f, wrt=i), wrt=j)`` transforms the flat gradient code of ``f`` again (see
:mod:`autodiffx.reverse.flat`). Each block of the Hessian is checked against central
differences of the first-order reverse gradient and, where forward mode runs the program,
against forward over reverse (``jacfwd`` of the same gradient). Every corpus program is
taken, lists and ``np.prod`` included.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.check import relative_error
from autodiffx.ner.model import score
from tests.corpus.cases import CASES
from tests.corpus.test_corpus import CHECKS, _copies, draw_point

H = 1e-6
TOLERANCE = 1e-5
"""Central differences of an exact gradient: truncation h² |f''''| / 6 and rounding
eps |∇f| / h stay far below this on the corpus domains, and so does the O(h) error
where a third derivative jumps (|x - 0.5|³ at 0.5 gives 3h)."""
AGREEMENT = 1e-8



def _numeric_jacobian(gradient, args, j):
    """d gradient / d args[j] by central differences, shaped gradient.shape + arg shape."""
    value = np.asarray(args[j], dtype=float)
    columns = []
    for entry in np.ndindex(value.shape):
        step = np.zeros_like(value)
        step[entry] = H
        plus, minus = _copies(args), _copies(args)
        plus[j] = value + step if value.ndim else float(value + step)
        minus[j] = value - step if value.ndim else float(value - step)
        columns.append((np.asarray(gradient(*plus)) - np.asarray(gradient(*minus))) / (2 * H))
    out_shape = np.shape(gradient(*_copies(args)))
    return np.stack(columns, axis=-1).reshape(out_shape + value.shape)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@settings(CHECKS, max_examples=3)
@given(data=st.data())
def test_reverse_over_reverse_matches_differences_and_forward_over_reverse(case, data):
    args = draw_point(data, case)
    for i in case.wrt:
        gradient = autodiffx.grad(case.function, wrt=i)
        for j in case.wrt:
            got = autodiffx.jacrev(gradient, wrt=j)(*_copies(args))
            numeric = _numeric_jacobian(gradient, args, j)
            assert np.shape(got) == np.shape(numeric), case.name
            worst = float(np.max(relative_error(numeric, got), initial=0.0))
            assert worst <= TOLERANCE, f"{case.name} d2/d{i}d{j}: {worst:.2e}"
            if case.forward:
                expected = autodiffx.jacfwd(gradient, wrt=j)(*_copies(args))
                worst = float(np.max(relative_error(expected, got), initial=0.0))
                assert worst <= AGREEMENT, f"{case.name} vs forward over reverse: {worst:.2e}"


# --------------------------------------------------------------------------- the lecture


def window_score(W, b, u, X):
    """The lecture's s = uᵀ tanh(W x + b), summed over the batch; calls ``score``."""
    return np.sum(score(W, b, u, X))


def margin_loss(W, b, u, X, X_c):
    """The max-margin loss written with two calls to ``score``."""
    return np.mean(np.maximum(0.0, 1.0 - score(W, b, u, X) + score(W, b, u, X_c)))


score_gradient_b = autodiffx.grad(window_score, wrt="b")


def squared_gradient_norm(W, b, u, X):
    """‖∂s/∂b‖², a function of a gradient (reverse over reverse through a call)."""
    return np.sum(score_gradient_b(W, b, u, X) ** 2)


def _tanh_second(z):
    t = np.tanh(z)
    return -2.0 * t * (1.0 - t**2)


def _window(data, n, d5, batch, scale=1.0):
    floats = st.floats(-scale, scale, allow_nan=False, allow_subnormal=False)
    draw = data.draw
    return [np.array(draw(st.lists(floats, min_size=k, max_size=k))).reshape(shape)
            for k, shape in ((n * d5, (n, d5)), (n, (n,)), (n, (n,)),
                             (d5 * batch, (d5, batch)))]


@settings(max_examples=20, deadline=None)
@given(data=st.data(), n=st.integers(1, 5), d5=st.integers(1, 6), batch=st.integers(1, 3))
def test_score_hessian_in_b_is_the_closed_form(data, n, d5, batch):
    W, b, u, X = _window(data, n, d5, batch)
    hessian = autodiffx.jacrev(autodiffx.grad(window_score, wrt="b"), wrt="b")(W, b, u, X)
    z = W @ X + b[:, None]
    expected = np.diag(np.sum(u[:, None] * _tanh_second(z), axis=1))
    np.testing.assert_allclose(hessian, expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), n=st.integers(1, 5), d5=st.integers(1, 6))
def test_margin_loss_hessian_in_b_is_the_closed_form(data, n, d5):
    W, b, u, X = _window(data, n, d5, 1, scale=0.5)
    X_c = np.flip(X, axis=0) + 0.25
    hessian = autodiffx.jacrev(autodiffx.grad(margin_loss, wrt=1), wrt=1)(W, b, u, X, X_c)
    z, z_c = W @ X[:, 0] + b, W @ X_c[:, 0] + b
    # the margin 1 - s + s_c is positive for these small weights: J = 1 - s + s_c
    assert 1.0 - u @ np.tanh(z) + u @ np.tanh(z_c) > 0
    expected = np.diag(u * (_tanh_second(z_c) - _tanh_second(z)))
    np.testing.assert_allclose(hessian, expected, rtol=1e-10, atol=1e-12)


def test_margin_loss_hessian_in_W_agrees_with_forward_over_reverse_and_differences():
    rng = np.random.default_rng(4)
    W, b, u = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=3)
    X, X_c = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    gradient = autodiffx.grad(margin_loss, wrt=0)
    got = autodiffx.jacrev(gradient, wrt=0)(W, b, u, X, X_c)
    np.testing.assert_allclose(got, autodiffx.jacfwd(gradient, wrt=0)(W, b, u, X, X_c),
                               rtol=1e-9, atol=1e-12)
    numeric = _numeric_jacobian(gradient, [W, b, u, X, X_c], 0)
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-7)


def test_gradient_of_a_function_of_a_gradient_through_a_call():
    # ∂s/∂b = u ∘ tanh'(z) for one window, so ‖∂s/∂b‖² has gradient 2 (u ∘ tanh'(z)) ∘ u ∘
    # tanh''(z) in b
    rng = np.random.default_rng(5)
    W, b, u, X = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=3), \
        rng.normal(size=(4, 1))
    got = autodiffx.grad(squared_gradient_norm, wrt=1)(W, b, u, X)
    z = W @ X[:, 0] + b
    expected = 2 * u * (1 - np.tanh(z) ** 2) * u * _tanh_second(z)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    np.testing.assert_allclose(
        got, autodiffx.grad(squared_gradient_norm, wrt=1, mode="forward")(W, b, u, X),
        rtol=1e-10)


# --------------------------------------------------------------------------- loops and calls


def step(h, x):
    return np.tanh(h * x)


def unrolled(x, steps):
    """A loop whose trip count is an argument, calling another user function each time."""
    h = x
    for _ in range(steps):
        h = step(h, x) + 1.0
    return np.sum(step(h, 2.0))


@settings(max_examples=15, deadline=None)
@given(x=st.lists(st.floats(-1.5, 1.5, allow_nan=False, allow_subnormal=False),
                  min_size=1, max_size=4),
       steps=st.integers(0, 4))
def test_reverse_over_reverse_through_a_loop_of_calls(x, steps):
    x = np.array(x)
    gradient = autodiffx.grad(unrolled)
    got = autodiffx.jacrev(gradient)(x, steps)
    np.testing.assert_allclose(got, autodiffx.jacfwd(gradient)(x, steps), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(got, _numeric_jacobian(gradient, [x, steps], 0), rtol=1e-5,
                               atol=1e-7)


def inline_penalty(W, b, u, X):
    """``autodiffx.grad(...)`` called where it is made, inside the function."""
    return np.sum(autodiffx.grad(window_score, wrt="b")(W, b, u, X) ** 2)


def test_a_gradient_made_inside_the_function_is_differentiated():
    rng = np.random.default_rng(6)
    W, b, u, X = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=3), \
        rng.normal(size=(4, 1))
    got = autodiffx.grad(inline_penalty, wrt=1)(W, b, u, X)
    np.testing.assert_allclose(got, autodiffx.grad(squared_gradient_norm, wrt=1)(W, b, u, X),
                               rtol=1e-12)
    np.testing.assert_allclose(
        got, autodiffx.grad(inline_penalty, wrt=1, mode="forward")(W, b, u, X), rtol=1e-10)


def test_source_of_a_second_derivative_shows_the_code_of_its_last_call():
    rng = np.random.default_rng(7)
    W, b, u, X = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=3), \
        rng.normal(size=(4, 1))
    hessian_b = autodiffx.jacrev(autodiffx.grad(window_score, wrt="b"), wrt="b")
    hessian_b(W, b, u, X)
    text = autodiffx.source(hessian_b)
    # specialised to the ranks of that call: the lecture's outer product, no rank tests
    assert "def score_vjp_vjp(dscore, W, b, u, X):" in text
    assert "dh = np.outer(u, dscore)" in text and "np.ndim" not in text
