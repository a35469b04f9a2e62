"""Products in the layout that runs fast, and the tie of max(x, 0) in one operation, each
checked against central differences and forward mode, and where each applies in the code."""

import numpy as np
import pytest

import autodiffx

from .test_gradients import check

RNG = np.random.default_rng(15)
W = RNG.normal(size=(3, 4))
B = RNG.normal(size=3)


def rows(W, X):
    return np.sum(np.tanh(X @ W.T) ** 2)


def rows_dot(W, X):
    return np.sum(np.tanh(np.dot(X, np.transpose(W))) ** 2)


def left(W, Y):
    return np.sum(np.sin(W.T @ Y))


def transpose_read_twice(W, X):
    WT = W.T
    return np.sum(X @ WT) + np.sum(WT * WT)


def transpose_and_matrix(W, X):
    return np.sum(X @ W.T) + np.sum(np.cos(W))


def transpose_of_rebound(W, X):
    V = W * 2.0
    VT = V.T
    V = V + 1.0
    return np.sum((X @ VT) ** 2) + np.sum(V)


@pytest.mark.parametrize("batch", [1, 2, 5])
@pytest.mark.parametrize("f", [rows, rows_dot, transpose_read_twice, transpose_and_matrix,
                               transpose_of_rebound])
def test_products_with_a_transposed_matrix(f, batch):
    check(f, (W, RNG.normal(size=(batch, 4))), (0, 1))


@pytest.mark.parametrize("batch", [1, 3])
def test_transposed_matrix_on_the_left(batch):
    check(left, (W, RNG.normal(size=(3, batch))), (0, 1))


def source(f, *args, wrt=(0, 1)):
    return str(autodiffx.source(autodiffx.grad(f, wrt=wrt), *args))


def test_the_gradient_of_w_comes_in_its_own_layout():
    text = source(rows, W, np.ones((2, 4)))
    assert "dW = np.dot(" in text and ".T, X)" in text
    assert "np.transpose" not in text and "dWT" not in text
    assert "WT.T" not in text  # the other operand's adjoint reads W itself
    assert "np.transpose" not in source(left, W, np.ones((3, 2)))


def test_a_transpose_read_twice_keeps_its_adjoint():
    assert "dWT" in source(transpose_read_twice, W, np.ones((2, 4)))


def test_two_matrices_multiply_with_np_dot():
    text = source(lambda W, X: np.sum(W @ X), W, np.ones((4, 1)))
    assert "np.dot(dWX, X.T)" in text or "np.dot(" in text
    assert "@ X.T" not in text
    # a matrix times a vector keeps the lecture's W.T @ δ
    assert "W.T @ " in source(lambda W, x: np.sum(np.tanh(W @ x)), W, np.ones(4))


def relu_mean(x):
    return np.mean(np.maximum(x, 0.0) + np.maximum(0.0, 2.0 * x))


def clipped_below(x):
    return np.sum(np.minimum(x, 0) ** 2 + np.minimum(0, x))


TIES = np.array([[-1.5, 0.0, 0.7], [0.0, 2.0, -0.3]])


@pytest.mark.parametrize("f", [relu_mean, clipped_below])
def test_ties_at_zero_share_the_derivative(f):
    check(f, (TIES + 0.25,), (0,))
    (gradient,) = autodiffx.grad(f, wrt=(0,))(TIES)
    (by_forward,) = autodiffx.grad(f, wrt=(0,), mode="forward")(TIES)
    np.testing.assert_allclose(gradient, by_forward, rtol=1e-12)
    assert "np.heaviside" in source(f, TIES, wrt=(0,))


def test_the_tie_of_a_number_stays_a_comparison():
    text = source(lambda x: np.maximum(x, 0.0) * 3.0, 0.0, wrt=(0,))
    assert "heaviside" not in text
    assert autodiffx.grad(lambda x: np.maximum(x, 0.0) * 3.0)(0.0) == 1.5


def test_relu_at_a_tie_is_half():
    (gradient,) = autodiffx.grad(relu_mean, wrt=(0,))(TIES)
    assert gradient[0, 1] == pytest.approx(1.5 / 6)  # half of 1 and half of 2, over 6
