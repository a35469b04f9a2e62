"""``row_sums``: the adjoint of a column broadcast along a batch, in code made for shapes.

``W @ X + b[:, None]`` broadcasts ``b`` along the batch; its adjoint sums each row of the
cotangent. Code made for the arguments' shapes writes ``row_sums(dz)`` (a product with
ones, autodiffx/reverse/runtime.py) where rank-generic code calls ``unbroadcast``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiffx
from autodiffx import reverse
from autodiffx.forward import Dual
from autodiffx.reverse.runtime import _ones, row_sums
from tests.higher.numeric import numeric_gradient

finite = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float64, np.complex128]),
                  hnp.array_shapes(min_dims=2, max_dims=4, max_side=12), elements=finite))
def test_row_sums_are_numpy_s_sums_along_the_last_axis(g):
    if g.ndim == 3:
        g = g.transpose(2, 0, 1)  # (a layout that is not C order)
    got = row_sums(g)
    want = np.sum(g, axis=-1, keepdims=True)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.complex128, np.float32, np.int64])
def test_other_dtypes_keep_numpy_s_dtype(dtype):
    g = (np.arange(12).reshape(3, 4) * (1 + 1j if dtype is np.complex128 else 1)).astype(dtype)
    got = row_sums(g)
    want = np.sum(g, axis=-1, keepdims=True)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_a_dual_is_summed_with_its_tangent():
    g = Dual(np.arange(6.0).reshape(2, 3), np.ones((1, 2, 3)))
    got = row_sums(g)
    np.testing.assert_array_equal(got.primal, [[3.0], [12.0]])
    np.testing.assert_array_equal(got.tangent, [[[3.0], [3.0]]])


def make_layer():
    """A new function each time: code for shapes is made for a few shapes per function."""

    def layer(W, b, X):
        z = W @ X + np.expand_dims(b, 1)
        return np.sum(np.tanh(z) ** 2)

    return layer


def make_batched_layer():
    def batched(W, b, X):  # a stack of batches: (k, n, batch), b (k, n, 1) broadcast
        return np.sum(np.tanh(np.matmul(W, X) + b) ** 2)

    return batched


layer = make_layer()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 5), batch=st.integers(2, 30),
       seed=st.integers(0, 2**16))
def test_code_for_shapes_sums_rows_and_agrees_with_central_differences(n, d, batch, seed):
    rng = np.random.default_rng(seed)
    W, b, X = rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=(d, batch))
    layer = make_layer()
    source = reverse.build(layer, (0, 1, 2), (2, 1, 2),
                           argument_shapes=(W.shape, b.shape, X.shape)).source
    assert "row_sums(" in source
    grad = autodiffx.grad(layer, wrt=(0, 1, 2))
    for _ in range(3):  # the first call, and calls made by the code for these shapes
        dW, db, dX = grad(W, b, X)
        np.testing.assert_allclose(db, numeric_gradient(lambda v: layer(W, v, X), b),
                                   rtol=1e-6, atol=1e-6)
        forward = autodiffx.grad(layer, wrt=(0, 1, 2), mode="forward")(W, b, X)
        for got, want in zip((dW, db, dX), forward, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(_ones(batch), np.ones(batch))  # the cache never written


def test_a_hessian_through_row_sums_matches_forward_over_forward():
    rng = np.random.default_rng(3)
    W, X = rng.normal(size=(3, 2)), rng.normal(size=(2, 7))
    b = rng.normal(size=3)
    grad_b = autodiffx.grad(layer, wrt=1)
    for _ in range(2):
        grad_b(W, b, X)  # (code for these shapes from the second call on)
    got = autodiffx.jacfwd(lambda v: grad_b(W, v, X))(b)
    want = autodiffx.hessian(lambda v: layer(W, v, X), mode="forward")(b)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(k=st.integers(1, 3), n=st.integers(1, 4), batch=st.integers(2, 9),
       seed=st.integers(0, 2**16))
def test_a_stack_of_batches_sums_along_the_last_axis(k, n, batch, seed):
    rng = np.random.default_rng(seed)
    W, b, X = rng.normal(size=(n, 3)), rng.normal(size=(k, n, 1)), rng.normal(size=(k, 3, batch))
    batched = make_batched_layer()
    source = reverse.build(batched, (1,), (2, 3, 3),
                           argument_shapes=(W.shape, b.shape, X.shape)).source
    assert "row_sums(" in source
    grad = autodiffx.grad(batched, wrt=1)
    for _ in range(2):
        got = grad(W, b, X)
    np.testing.assert_allclose(got, numeric_gradient(lambda v: batched(W, v, X), b),
                               rtol=1e-6, atol=1e-6)
