"""Primitives with several results, in both modes: the splits (views of their argument)
and the decompositions that return a tuple (np.linalg.eigh, np.linalg.slogdet).

Each gradient is checked against central differences and against the other mode, and the
decompositions against their closed forms: d log|det A| / dA = A^-T, and for eigh the
first-order perturbation of eigenvalues, dw_i = v_i^T dA v_i.
"""

from __future__ import annotations

import numpy as np
import pytest
from higher.numeric import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx

MODES = ("reverse", "forward")
RIGHT = {"rtol": 1e-5, "atol": 1e-7}


def _both(f, x):
    """The gradient in both modes, each checked against central differences."""
    numeric = numeric_gradient(f, x)
    found = [autodiffx.grad(f, mode=mode)(x) for mode in MODES]
    for gradient in found:
        np.testing.assert_allclose(gradient, numeric, **RIGHT)
    np.testing.assert_allclose(found[0], found[1], rtol=1e-10, atol=1e-12)
    return found[0]


# --------------------------------------------------------------------------- splits

WEIGHTS = np.linspace(-1.0, 2.0, 60)


def split_three(x):
    a, b, c = np.split(x, 3)
    return np.sum(a * b) + np.sum(c ** 2)


def split_at_indices(x):
    a, b, c = np.split(x, [1, 3], axis=1)
    return np.sum(a ** 2) * np.sum(b) + np.sum(np.tanh(c))


def array_split_uneven(x):
    a, b, c = np.array_split(x, 3)
    return np.sum(a ** 3) + np.sum(b * WEIGHTS[: b.size]) - np.sum(c)


def hsplit_vsplit(x):
    left, right = np.hsplit(x, 2)
    top, bottom = np.vsplit(x, [1])
    return np.sum(left * right) + np.sum(top) * np.sum(bottom ** 2)


def dsplit_two(x):
    front, back = np.dsplit(x, 2)
    return np.sum(front ** 2 * back)


def split_indexed_at_once(x):
    return np.sum(np.split(x, 2)[1] ** 2) + np.sum(np.hsplit(x, [2])[-1])


def split_as_a_list(x):
    parts = np.split(x, 3)
    return np.sum(parts[2] ** 2) * parts[0][0] + np.sum(np.concatenate(parts) * 2.0)


def split_into_constants(x):
    parts = np.split(np.arange(6.0), 2)  # no derivative flows through the split
    return np.sum(x * parts[1])


@pytest.mark.parametrize("f, shape", [
    (split_three, (6,)),
    (split_at_indices, (2, 5)),
    (array_split_uneven, (7,)),
    (hsplit_vsplit, (3, 4)),
    (dsplit_two, (2, 2, 4)),
    (split_indexed_at_once, (4,)),
    (split_as_a_list, (6,)),
    (split_into_constants, (3,)),
])
def test_splits_in_both_modes(f, shape):
    rng = np.random.default_rng(sum(shape))
    _both(f, rng.normal(size=shape))


@settings(max_examples=25, deadline=None)
@given(parts=st.integers(1, 4), size=st.integers(1, 3), rows=st.integers(1, 3),
       axis=st.sampled_from([0, 1, -1]), seed=st.integers(0, 2 ** 16))
def test_split_gradient_is_the_parts_joined_back(parts, size, rows, axis, seed):
    # d/dx of sum_k <w_k, part_k> is the weights joined back in place: the closed form
    shape = [rows, rows]
    shape[axis] = parts * size
    x = np.random.default_rng(seed).normal(size=shape)
    weights = np.random.default_rng(seed + 1).normal(size=shape)
    pieces = np.split(weights, parts, axis=axis)

    def f(x):
        total = 0.0
        for piece, part in zip(pieces, np.split(x, parts, axis=axis), strict=True):
            total = total + np.sum(piece * part)
        return total

    forward = autodiffx.grad(f, mode="forward")(x)
    np.testing.assert_allclose(forward, weights, rtol=1e-12)


def written_through_a_part(x):
    x = x * 1.0
    a, b = np.split(x, 2)
    a[0] = 3.0 * b[1]  # NumPy: a is a view, so this writes into x
    return np.sum(x ** 2)


def test_a_write_through_a_part_reaches_the_array_in_forward_mode():
    x = np.linspace(0.2, 1.4, 4)
    np.testing.assert_allclose(autodiffx.grad(written_through_a_part, mode="forward")(x),
                               numeric_gradient(written_through_a_part, x), **RIGHT)


def test_a_write_through_a_part_is_refused_in_reverse_mode_with_its_line():
    with pytest.raises(autodiffx.AutodiffError, match="share memory") as caught:
        autodiffx.grad(written_through_a_part)(np.linspace(0.2, 1.4, 4))
    assert "test_several_results.py:" in str(caught.value)
    assert "a[0] = 3.0 * b[1]" in str(caught.value)


# --------------------------------------------------------------------------- slogdet


def _well_conditioned(rng, n, batch=()):
    m = rng.normal(size=(*batch, n, n))
    return m + n * np.eye(n) * rng.choice([-1.0, 1.0], size=(*batch, 1, 1))


def logdet(a):
    sign, value = np.linalg.slogdet(a)
    return np.sum(value * 1.5) + np.sum(sign)


def logdet_indexed(a):
    return np.sum(np.linalg.slogdet(a)[1] ** 2)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 4), batch=st.sampled_from([(), (2,), (2, 1)]),
       seed=st.integers(0, 2 ** 16))
def test_slogdet_against_its_closed_form(n, batch, seed):
    a = _well_conditioned(np.random.default_rng(seed), n, batch)
    gradient = _both(logdet, a)
    np.testing.assert_allclose(gradient, 1.5 * np.swapaxes(np.linalg.inv(a), -1, -2),
                               rtol=1e-9, atol=1e-12)
    _both(logdet_indexed, a)


def gaussian_process_nll(K, y):
    sign, value = np.linalg.slogdet(K)
    return 0.5 * y @ np.linalg.solve(K, y) + 0.5 * value


def test_gaussian_process_likelihood_second_order():
    rng = np.random.default_rng(3)
    m = rng.normal(size=(3, 3))
    K = m @ m.T + 3 * np.eye(3)
    y = rng.normal(size=3)

    def nll(K):
        return gaussian_process_nll(K, y)

    gradient = _both(nll, K)
    inverse = np.linalg.inv(K)
    alpha = inverse @ y
    np.testing.assert_allclose(gradient, 0.5 * (inverse.T - np.outer(alpha, alpha)),
                               rtol=1e-9, atol=1e-12)
    numeric = np.stack([numeric_gradient(lambda k, i=i: autodiffx.grad(nll, mode="forward")(
        k)[np.unravel_index(i, K.shape)], K) for i in range(K.size)]).reshape(K.shape * 2)
    for mode in MODES:
        np.testing.assert_allclose(autodiffx.hessian(nll, mode=mode)(K), numeric,
                                   rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- eigh


def eigen_energy(a):
    w, V = np.linalg.eigh(a)
    return np.sum(w ** 3) + np.sum(V[:, 0] * np.arange(1.0, 1.0 + len(w))) ** 2


def top_eigenvalue_upper(a):
    return np.linalg.eigh(a, UPLO="U")[0][-1]


def eigenvalues_only(a):
    w, V = np.linalg.eigh(a)
    return np.sum(w * np.arange(len(w)))


def _distinct_spectrum(rng, n):
    """A random symmetric-looking matrix (eigh reads one triangle) whose eigenvalues are
    well apart, so that eigenvectors are differentiable."""
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    values = np.arange(n) * 1.5 + rng.normal(scale=0.1, size=n)
    return q @ np.diag(values) @ q.T + np.triu(rng.normal(size=(n, n)), 1)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_eigh_in_both_modes(n, seed):
    a = _distinct_spectrum(np.random.default_rng(seed), n)
    for f in (eigen_energy, top_eigenvalue_upper, eigenvalues_only):
        _both(f, a)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_eigenvalue_gradient_is_the_eigenvector_outer_product(n, seed):
    # dw_i = v_i^T dS v_i for the symmetric S that eigh reads from the lower triangle, so
    # the gradient of w_i is v_i v_i^T's lower triangle with the off-diagonal doubled
    a = _distinct_spectrum(np.random.default_rng(seed), n)
    weights = np.arange(n)
    _, V = np.linalg.eigh(a)
    X = V @ np.diag(weights) @ V.T
    expected = np.tril(X) + np.tril(X.T, -1)
    for mode in MODES:
        np.testing.assert_allclose(autodiffx.grad(eigenvalues_only, mode=mode)(a), expected,
                                   rtol=1e-9, atol=1e-12)


def test_eigh_second_order_in_both_modes():
    a = _distinct_spectrum(np.random.default_rng(5), 3)
    numeric = np.stack([numeric_gradient(lambda k, i=i: autodiffx.grad(
        eigen_energy, mode="forward")(k)[np.unravel_index(i, a.shape)], a)
        for i in range(a.size)]).reshape(a.shape * 2)
    for mode in MODES:
        np.testing.assert_allclose(autodiffx.hessian(eigen_energy, mode=mode)(a), numeric,
                                   rtol=1e-4, atol=1e-5)


def eigh_bound_whole(a):
    result = np.linalg.eigh(a)
    return np.sum(result[0])


def eigh_sliced(a):
    result = np.linalg.eigh(a)
    return np.sum(result[0]) + np.sum(result[1:][0])


def test_a_decomposition_bound_whole_and_read_by_index_is_unpacked():
    """result[0] and result[1] of a decomposition are its results (the sum of the
    eigenvalues is the trace: gradient I); any other use is refused, saying how to unpack."""
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(autodiffx.grad(eigh_bound_whole, mode=mode)(np.eye(2)),
                                   np.eye(2), rtol=1e-12)
    with pytest.raises(autodiffx.AutodiffError, match=r"unpacked \(a, b = np.linalg.eigh"):
        autodiffx.grad(eigh_sliced)(np.eye(2))


def test_generated_code_calls_the_adjoints_by_name():
    text = autodiffx.source(autodiffx.grad(logdet), np.eye(2))
    assert "sign, value = np.linalg.slogdet(a)" in text
    assert "np.linalg.inv(a).T" in text
    text = autodiffx.source(autodiffx.grad(split_three), np.ones(6))
    assert "a, b, c = np.split(x, 3)" in text
    assert "dx = unsplit((da, db, dc), (a, b, c), 0)" in text


# --------------------------------------------------------------------------- svd, qr


def _spread_singular(rng, m, n):
    u, _ = np.linalg.qr(rng.normal(size=(m, min(m, n))))
    v, _ = np.linalg.qr(rng.normal(size=(n, min(m, n))))
    return (u * (1.0 + 1.5 * np.arange(min(m, n)))) @ v.T


SHAPES = st.sampled_from([(1, 1), (2, 2), (3, 3), (4, 2), (2, 4), (3, 5)])


@settings(max_examples=20, deadline=None)
@given(shape=SHAPES, seed=st.integers(0, 2 ** 16))
def test_factors_multiplied_back_give_the_weights(shape, seed):
    # sum(W * (U S Vh)) and sum(W * (Q R)) are sum(W * A): the adjoints through every factor
    # must add up to W exactly, whatever the factors' own derivatives
    rng = np.random.default_rng(seed)
    a = _spread_singular(rng, *shape)
    weights = rng.normal(size=shape)

    def through_svd(a):
        U, s, Vh = np.linalg.svd(a, full_matrices=False)
        return np.sum(weights * ((U * s) @ Vh))

    def through_qr(a):
        Q, R = np.linalg.qr(a)
        return np.sum(weights * (Q @ R))

    functions = [through_svd] + ([through_qr] if shape[0] >= shape[1] else [])
    for f in functions:
        for mode in MODES:
            np.testing.assert_allclose(autodiffx.grad(f, mode=mode)(a), weights,
                                       rtol=1e-8, atol=1e-8)


def nuclear_norm(a):
    return np.sum(np.linalg.svdvals(a))


def singular_vector_energy(a):
    U, s, Vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(U[:, 0] * np.arange(1.0, 1.0 + a.shape[0])) ** 2 + np.sum(s ** 2) * Vh[0, 0]


def r_diagonal(a):
    Q, R = np.linalg.qr(a)
    return np.sum(np.abs(np.diagonal(R)) ** 1.5) + np.sum(Q[:, -1] ** 3)


@settings(max_examples=15, deadline=None)
@given(shape=SHAPES, seed=st.integers(0, 2 ** 16))
def test_svd_and_qr_in_both_modes(shape, seed):
    a = _spread_singular(np.random.default_rng(seed), *shape)
    gradient = _both(nuclear_norm, a)
    U, s, Vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(gradient, U @ Vh, rtol=1e-9, atol=1e-10)  # d |A|_* = U V^T
    _both(singular_vector_energy, a)
    if shape[0] >= shape[1]:
        _both(r_diagonal, a)


def test_svd_and_qr_second_order_in_both_modes():
    a = _spread_singular(np.random.default_rng(9), 3, 2)
    for f in (singular_vector_energy, r_diagonal):
        numeric = np.stack([numeric_gradient(lambda k, i=i, f=f: autodiffx.grad(
            f, mode="forward")(k)[np.unravel_index(i, a.shape)], a)
            for i in range(a.size)]).reshape(a.shape * 2)
        for mode in MODES:
            np.testing.assert_allclose(autodiffx.hessian(f, mode=mode)(a), numeric,
                                       rtol=1e-4, atol=1e-5)


def full_svd_of_a_wide_matrix(a):
    U, s, Vh = np.linalg.svd(a)
    return np.sum(Vh[-1] ** 2) + np.sum(s)


def wide_qr(a):
    return np.sum(np.linalg.qr(a)[1])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f, words", [
    (full_svd_of_a_wide_matrix, "full_matrices=False"),
    (wide_qr, "wide matrix"),
])
def test_factors_that_are_not_unique_are_refused(f, words, mode):
    with pytest.raises(autodiffx.AutodiffError, match=words):
        autodiffx.grad(f, mode=mode)(_spread_singular(np.random.default_rng(2), 2, 4))


# --------------------------------------------------------------------------- lstsq


def least_squares(a, b):
    x, residuals, rank, s = np.linalg.lstsq(a, b, rcond=None)
    return np.sum(x ** 2) + 0.5 * np.sum(residuals) + np.sum(s * np.arange(len(s)))


@settings(max_examples=15, deadline=None)
@given(m=st.integers(2, 5), n=st.integers(1, 2), columns=st.sampled_from([None, 1, 3]),
       seed=st.integers(0, 2 ** 16))
def test_lstsq_in_both_modes_and_its_closed_form(m, n, columns, seed):
    rng = np.random.default_rng(seed)
    a = _spread_singular(rng, m, n)
    b = rng.normal(size=(m,) if columns is None else (m, columns))
    _both(lambda a: least_squares(a, b), a)
    _both(lambda b: least_squares(a, b), b)
    # x alone: the gradient of <w, x> in b is A (AᵀA)⁻¹ w, the closed form of lstsq's b̄
    w = rng.normal(size=(n,) if columns is None else (n, columns))

    def linear(b):
        return np.sum(w * np.linalg.lstsq(a, b, rcond=None)[0])

    np.testing.assert_allclose(autodiffx.grad(linear)(b), a @ np.linalg.solve(a.T @ a, w),
                               rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_lstsq_of_a_wide_matrix_is_refused(mode):
    a = _spread_singular(np.random.default_rng(1), 2, 4)
    with pytest.raises(autodiffx.AutodiffError, match="full column rank"):
        autodiffx.grad(lambda b: np.sum(np.linalg.lstsq(a, b, rcond=None)[0]), mode=mode)(
            np.ones(2))
