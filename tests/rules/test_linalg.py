"""The linear-algebra rules (``autodiffx/rules/linalg_rules.py``) beyond the generic sweeps.

``test_rules.py`` and ``test_both_modes.py`` already run every case of ``domains.py``
(tangents against central differences, adjoints by the dot-product test, both modes end to
end). Here: the closed forms (d det/dA = det A⁻ᵀ, d(aᵀA⁻¹b)/dA, the adjoint of solve), the
Gaussian-process negative log-likelihood in both modes and under the Hessian, second
derivatives of every rule, the conventions (singular matrices, the triangle Cholesky reads,
norm kinks), the refusals, and the generated code of a solve.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from higher.numeric import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.forward import Dual, new_level
from autodiffx.rules import rule_named

from .domains import MATRICES, POSITIVE_DEFINITE, Arg, Case
from .test_rules import ADJOINT_TOLERANCE, dot_product_gap, draw

MODES = ("reverse", "forward")
SEEDS = st.integers(0, 2**32 - 1)
SIZES = st.integers(1, 4)


def well_conditioned(seed, *shape):
    return MATRICES.sample(np.random.default_rng(seed), shape)


def positive_definite(seed, *shape):
    return POSITIVE_DEFINITE.sample(np.random.default_rng(seed), shape)


def relative_error(got, expected):
    return float(np.max(np.abs(got - expected), initial=0.0)) / max(
        1.0, float(np.max(np.abs(expected), initial=0.0)))


def numeric_hessian(f, x):
    """Central differences of the reverse-mode gradient, laid out as ``x.shape * 2``."""
    gradient = autodiffx.grad(f)
    columns = [numeric_gradient(lambda v, i=i: gradient(v)[i], x) for i in np.ndindex(x.shape)]
    return np.reshape(np.stack(columns), x.shape + x.shape)


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=15, deadline=None)
@given(seed=SEEDS, n=SIZES)
def test_gradient_of_det_is_det_times_inverse_transpose(mode, seed, n):
    a = well_conditioned(seed, n, n)
    gradient = autodiffx.grad(lambda a: np.linalg.det(a), mode=mode)(a)
    np.testing.assert_allclose(gradient, np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-10)


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=15, deadline=None)
@given(seed=SEEDS, n=SIZES)
def test_gradient_of_bilinear_form_of_inverse(mode, seed, n):
    """f = aᵀ A⁻¹ b: df/dA = -A⁻ᵀ a bᵀ A⁻ᵀ, df/da = A⁻¹ b, df/db = A⁻ᵀ a."""
    rng = np.random.default_rng(seed)
    matrix = well_conditioned(seed, n, n)
    a, b = rng.standard_normal(n), rng.standard_normal(n)

    def form(matrix, a, b):
        return a @ np.linalg.inv(matrix) @ b

    def form_by_solve(matrix, a, b):
        return a @ np.linalg.solve(matrix, b)

    inverse = np.linalg.inv(matrix)
    expected = (-inverse.T @ np.outer(a, b) @ inverse.T, inverse @ b, inverse.T @ a)
    for f in (form, form_by_solve):
        got = autodiffx.grad(f, wrt=(0, 1, 2), mode=mode)(matrix, a, b)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=15, deadline=None)
@given(seed=SEEDS, n=SIZES, columns=st.sampled_from([None, 1, 3]),
       batch=st.sampled_from([(), (2,), (2, 1)]))
def test_solve_adjoint_is_solve_with_the_transpose(mode, seed, n, columns, batch):
    """x = solve(A, b) and weights W: B̄ = A⁻ᵀ W and Ā = -B̄ xᵀ, matrix by matrix; a 1-d b
    is one vector (NumPy >= 2), whatever the batch of A."""
    rng = np.random.default_rng(seed)
    a = well_conditioned(seed, *batch, n, n)
    b = rng.standard_normal((n,) if columns is None else (*batch, n, columns))
    x = np.linalg.solve(a, b)
    weights = rng.standard_normal(x.shape)

    def f(a, b):
        return np.sum(np.linalg.solve(a, b) * weights)

    da, db = autodiffx.grad(f, wrt=(0, 1), mode=mode)(a, b)
    vector = columns is None
    w = weights[..., np.newaxis] if vector else weights
    xs = x[..., np.newaxis] if vector else x
    d_b = np.linalg.solve(np.swapaxes(a, -1, -2), w)
    d_a = -d_b @ np.swapaxes(xs, -1, -2)
    expected_db = np.sum(d_b[..., 0], axis=tuple(range(len(batch)))) if vector else d_b
    np.testing.assert_allclose(db, expected_db, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(da, d_a, rtol=1e-9, atol=1e-12)


def test_the_dot_product_test_rejects_a_solve_adjoint_without_the_transpose():
    """The sweeps can fail: A⁻¹ g instead of A⁻ᵀ g is caught."""
    rule = rule_named("solve")
    case = Case((Arg((3, 3), MATRICES), Arg((3,))))
    rng = np.random.default_rng(5)
    args = draw(case, rng)
    assert dot_product_gap(rule, case, args, (1,), rng) < ADJOINT_TOLERANCE
    wrong = dataclasses.replace(rule, adjoints=(rule.adjoints[0], "np.linalg.solve(a, g)"))
    assert dot_product_gap(wrong, case, args, (1,), rng) > 1e-3


# --------------------------------------------------------------------------- Gaussian process


def negative_log_likelihood(K, y):
    """0.5 yᵀ K⁻¹ y + 0.5 log det K (the constant left out)."""
    alpha = np.linalg.solve(K, y)
    return 0.5 * y @ alpha + 0.5 * np.log(np.linalg.det(K))


def kernel_likelihood(x, y):
    """The likelihood of a squared-exponential kernel on inputs x, differentiated in x."""
    K = np.exp(-0.5 * (x[:, np.newaxis] - x[np.newaxis, :]) ** 2) + 0.5 * np.eye(len(x))
    return negative_log_likelihood(K, y)


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=10, deadline=None)
@given(seed=SEEDS, n=st.integers(2, 4))
def test_gaussian_process_likelihood_gradient(mode, seed, n):
    K = positive_definite(seed, n, n)
    y = np.random.default_rng(seed + 1).standard_normal(n)
    dK, dy = autodiffx.grad(negative_log_likelihood, wrt=(0, 1), mode=mode)(K, y)
    alpha = np.linalg.solve(K, y)
    inverse = np.linalg.inv(K)
    np.testing.assert_allclose(dK, 0.5 * (inverse - np.outer(alpha, alpha)), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(dy, alpha, rtol=1e-9, atol=1e-12)
    numeric = numeric_gradient(lambda K: negative_log_likelihood(K, y), K)
    assert relative_error(dK, numeric) < 1e-6


@pytest.mark.parametrize("mode", MODES)
def test_gaussian_process_likelihood_hessian(mode):
    rng = np.random.default_rng(3)
    K = positive_definite(3, 3, 3)
    y = rng.standard_normal(3)

    def in_K(K):
        return negative_log_likelihood(K, y)

    hessian = autodiffx.hessian(in_K, mode=mode)(K)
    assert hessian.shape == (3, 3, 3, 3)
    assert relative_error(hessian, numeric_hessian(in_K, K)) < 1e-6
    x = rng.uniform(-1.0, 1.0, 4)
    targets = np.append(y, 0.3)

    def in_x(x):
        return kernel_likelihood(x, targets)

    assert relative_error(autodiffx.hessian(in_x, mode=mode)(x), numeric_hessian(in_x, x)) < 1e-6


# --------------------------------------------------------------------------- second order

W = np.random.default_rng(11).standard_normal((3, 3))
V = np.random.default_rng(12).standard_normal(3)


def solve(A):
    return np.sum(np.linalg.solve(A, V) * V) + np.sum(np.linalg.solve(A, W) * W)


def solve_batched(A):
    return np.sum(np.linalg.solve(np.stack([A, A.T]), V) ** 2)


def inv(A):
    return np.sum(np.linalg.inv(A) * W)


def det(A):
    return np.log(np.linalg.det(A))


def cholesky(A):
    return np.sum(np.linalg.cholesky((A + A.T) / 2) * W)


def cholesky_upper(A):
    return np.sum(np.linalg.cholesky(A @ A.T, upper=True) * W)


def pinv(A):
    return np.sum(np.linalg.pinv(A[:, :2]) * W[:2])


def matrix_power(A):
    cube = np.sum(np.linalg.matrix_power(A / 6, 3) * W)
    return cube + np.sum(np.linalg.matrix_power(A, -2) * W) + np.sum(
        np.linalg.matrix_power(A, 0) * W)


def multi_dot(A):
    return np.linalg.multi_dot([V, A / 6, A.T / 6, V])


def norms_1_and_inf(A):
    matrix = np.linalg.norm(A, 1) + np.linalg.norm(A, -np.inf) ** 2
    return matrix + np.linalg.norm(A[0], 1) ** 2 + np.linalg.norm(A[1], np.inf) ** 2


def norms_p(A):
    return np.linalg.norm(A[0], 3) + np.linalg.norm(A, 2.5, axis=1) @ V


def norms_euclidean(A):
    return np.linalg.norm(A, "fro") ** 3 + np.linalg.norm(A, axis=0) @ V


def trace(A):
    return np.trace(A @ A, offset=1) + np.trace(A * A, axis1=1, axis2=0)


def diagonal(A):
    return np.sum(np.diagonal(A * A, 1) ** 2)


def diag(A):
    return np.sum(np.diag(np.diag(A) ** 2, 1) * np.arange(16.0).reshape(4, 4))


def triangles(A):
    return np.sum(np.tril(A * A, -1) * W) + np.sum(np.triu(A, 1) ** 3)


def kron(A):
    return np.sum(np.kron(A[:2, :2], A[1:, 1:] * A[1:, 1:]) ** 2)


def tensordot(A):
    return np.sum(np.tensordot(A, A * A, axes=([0], [1])) ** 2) + np.tensordot(A, A, 2)


def cross(A):
    return np.sum(np.cross(A, A * A) ** 2) + np.sum(np.cross(A, W, axisa=0) * W)


SECOND_ORDER = {f.__name__: f for f in (
    solve, solve_batched, inv, det, cholesky, cholesky_upper, pinv, matrix_power, multi_dot,
    norms_1_and_inf, norms_p, norms_euclidean, trace, diagonal, diag, triangles, kron,
    tensordot, cross)}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_hessian_matches_differences_of_the_gradient(name, mode):
    """Forward over reverse (Duals through the generated adjoints and their helpers) and
    forward over forward."""
    f = SECOND_ORDER[name]
    a = well_conditioned(4, 3, 3) / 3
    error = relative_error(autodiffx.hessian(f, mode=mode)(a), numeric_hessian(f, a))
    assert error < 1e-6


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_second_derivative_of_singular_value_norms(ord):
    """Through the derivative of np.linalg.svd (its rule, in several_results.py), where the
    singular values are distinct."""
    def f(A):
        return np.linalg.norm(A, ord)

    assert len(set(np.round(np.linalg.svd(W, compute_uv=False), 6))) == min(W.shape)
    for mode in MODES:
        error = relative_error(autodiffx.hessian(f, mode=mode)(W), numeric_hessian(f, W))
        assert error < 1e-6


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_reverse_over_reverse_is_right_or_refused(name):
    """Reverse mode over the generated gradient follows the helpers' source; where that
    source is beyond it (np.linalg.svd for the adjugate, comprehensions) it refuses."""
    f = SECOND_ORDER[name]
    a = well_conditioned(4, 3, 3) / 3
    try:
        hessian = autodiffx.jacrev(autodiffx.grad(f))(a)
    except autodiffx.AutodiffError as error:
        assert name in RR_REFUSED, f"{name}: refused ({error})"
        return
    assert name not in RR_REFUSED, f"{name} is right now: remove it from RR_REFUSED"
    assert relative_error(hessian, numeric_hessian(f, a)) < 1e-6


RR_REFUSED = {"det", "matrix_power", "multi_dot", "norms_1_and_inf", "norms_p",
              "cross"}


# --------------------------------------------------------------------------- conventions


def test_det_at_a_singular_matrix_has_the_adjugate_as_gradient():
    """det(A) A⁻ᵀ does not exist there; the derivative, the transposed adjugate, does."""
    assert "singular" in rule_named("det").doc
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    rank_one = np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 0.5])
    stack = np.stack([singular, np.eye(2)])

    def det(a):
        return np.linalg.det(a)

    def stacked(a):
        return np.sum(np.linalg.det(a) * np.array([2.0, 3.0]))

    for mode in MODES:
        np.testing.assert_allclose(autodiffx.grad(det, mode=mode)(singular),
                                   [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
        assert relative_error(autodiffx.grad(det, mode=mode)(rank_one),
                              numeric_gradient(det, rank_one)) < 1e-8
        assert relative_error(autodiffx.grad(stacked, mode=mode)(stack),
                              numeric_gradient(stacked, stack)) < 1e-8


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_gradient_lives_on_the_triangle_numpy_reads(upper):
    a = positive_definite(7, 4, 4)
    weights = np.random.default_rng(7).standard_normal((4, 4))

    def f(a):
        return np.sum(np.linalg.cholesky(a, upper=upper) * weights)

    other = np.tril if upper else np.triu
    for mode in MODES:
        gradient = autodiffx.grad(f, mode=mode)(a)
        assert np.all(other(gradient, -1 if upper else 1) == 0.0)
        assert relative_error(gradient, numeric_gradient(f, a)) < 1e-6

    def symmetrised(x):
        return f((x + x.T) / 2)

    # through a symmetric construction: the symmetric gradient, whatever the convention
    for mode in MODES:
        gradient = autodiffx.grad(symmetrised, mode=mode)(a)
        np.testing.assert_allclose(gradient, gradient.T, rtol=1e-12, atol=1e-12)
        assert relative_error(gradient, numeric_gradient(symmetrised, a)) < 1e-6


def test_pinv_of_a_square_matrix_has_the_gradient_of_inv():
    a = well_conditioned(9, 3, 3)
    for mode in MODES:
        np.testing.assert_allclose(
            autodiffx.grad(lambda a: np.sum(np.linalg.pinv(a) * W), mode=mode)(a),
            autodiffx.grad(lambda a: np.sum(np.linalg.inv(a) * W), mode=mode)(a),
            rtol=1e-8, atol=1e-12)


def test_matrix_power_zero_is_constant_and_negative_powers_are_powers_of_the_inverse():
    a = well_conditioned(2, 3, 3)
    for mode in MODES:
        zero = autodiffx.grad(lambda a: np.sum(np.linalg.matrix_power(a, 0) * W), mode=mode)(a)
        assert np.array_equal(zero, np.zeros((3, 3)))
        np.testing.assert_allclose(
            autodiffx.grad(lambda a: np.sum(np.linalg.matrix_power(a, -3) * W), mode=mode)(a),
            autodiffx.grad(lambda a: np.sum(np.linalg.inv(a @ a @ a) * W), mode=mode)(a),
            rtol=1e-8, atol=1e-14)


VECTOR_ORDERS = [None, 2, 1, np.inf, -np.inf, 0, 3, 0.5, -1.5]
MATRIX_ORDERS = [None, "fro", "nuc", 1, -1, np.inf, -np.inf, 2, -2]


@pytest.mark.parametrize(("ord", "shape"), [(o, (5,)) for o in VECTOR_ORDERS]
                         + [(o, (3, 4)) for o in MATRIX_ORDERS])
def test_every_norm_order_numpy_accepts_is_differentiated(ord, shape):
    x = np.random.default_rng(13).uniform(0.2, 2.0, shape) * np.where(
        np.arange(np.prod(shape)).reshape(shape) % 3, 1.0, -1.0)

    def f(x):
        return np.linalg.norm(x, ord)

    numeric = numeric_gradient(f, x)
    for mode in MODES:
        assert relative_error(autodiffx.grad(f, mode=mode)(x), numeric) < 1e-6


@pytest.mark.parametrize(("ord", "shape"), [(o, (5,)) for o in VECTOR_ORDERS]
                         + [(o, (3, 4)) for o in MATRIX_ORDERS])
def test_norm_gradient_at_the_origin_is_zero_for_every_order(ord, shape):
    def f(x):
        return np.linalg.norm(x, ord)

    for mode in MODES:
        gradient = autodiffx.grad(f, mode=mode)(np.zeros(shape))
        assert np.array_equal(gradient, np.zeros(shape)), mode


def test_norm_kinks_ties_share_and_zero_entries_get_zero():
    x = np.array([3.0, -3.0, 1.0, 0.0])
    for mode in MODES:
        inf = autodiffx.grad(lambda x: np.linalg.norm(x, np.inf), mode=mode)(x)
        np.testing.assert_array_equal(inf, [0.5, -0.5, 0.0, 0.0])
        one = autodiffx.grad(lambda x: np.linalg.norm(x, 1), mode=mode)(x)
        np.testing.assert_array_equal(one, [1.0, -1.0, 1.0, 0.0])
        half = autodiffx.grad(lambda x: np.linalg.norm(x, 0.5), mode=mode)(x)
        assert np.all(np.isfinite(half)) and half[3] == 0.0
        count = autodiffx.grad(lambda x: np.linalg.norm(x, 0), mode=mode)(x)
        np.testing.assert_array_equal(count, np.zeros(4))
        # a rank-deficient matrix: the zero singular value contributes nothing, and the
        # two equal non-zero ones share the 2-norm's derivative
        m = np.diag([2.0, 2.0, 0.0])
        nuclear = autodiffx.grad(lambda m: np.linalg.norm(m, "nuc"), mode=mode)(m)
        np.testing.assert_allclose(nuclear, np.diag([1.0, 1.0, 0.0]), atol=1e-15)
        spectral = autodiffx.grad(lambda m: np.linalg.norm(m, 2), mode=mode)(m)
        np.testing.assert_allclose(spectral, np.diag([0.5, 0.5, 0.0]), atol=1e-15)


# --------------------------------------------------------------------------- refusals


def test_cross_of_2_vectors_is_refused_in_both_modes():
    a, b = np.array([1.0, 2.0]), np.array([3.0, 5.0])

    def f(a):
        return np.cross(np.reshape(a, (1, 2)), b)[0]

    for mode in MODES:
        with pytest.raises(autodiffx.MissingRuleError, match="2-vectors"), \
                pytest.warns(DeprecationWarning):
            autodiffx.grad(f, mode=mode)(a)


def test_keywords_the_rules_do_not_understand_are_refused():
    a = well_conditioned(1, 3, 3)
    with pytest.raises(autodiffx.AutodiffError):
        autodiffx.grad(lambda a: np.sum(np.linalg.pinv(a, hermitian=True)), mode="forward")(a)
    with pytest.raises(autodiffx.AutodiffError):
        np.trace(Dual(a, np.ones((1, 3, 3)), new_level()), dtype=np.float64)


# --------------------------------------------------------------------------- generated code


def test_generated_gradient_of_solve_reads_as_the_textbook():
    K = positive_definite(0, 3, 3)
    y = np.array([0.5, -1.0, 2.0])
    gradient = autodiffx.grad(negative_log_likelihood, wrt=(0, 1))
    gradient(K, y)
    text = autodiffx.source(gradient)
    assert "np.linalg.solve(K.T, dalpha)" in text
    assert "-np.outer(np.linalg.solve(K.T, dalpha), alpha)" in text
    assert "dK = ddet_K * det_K * np.linalg.inv(K" in text  # the printer may wrap the line
    assert "else ddet_K * adjugate(K).T" in text  # det exactly 0: the adjugate
    stacked = autodiffx.grad(lambda A, B: np.sum(np.linalg.solve(A, B)), wrt=(0, 1))
    stacked(np.stack([K, K]), np.ones((2, 3, 2)))
    assert "np.linalg.solve(np.swapaxes(A, -1, -2)" in autodiffx.source(stacked)


def det_of_a_rank_one_product(v, m):
    # a 2 x 2 matrix of rank 1 built from the inputs: det is 0 up to rounding everywhere
    # near here, so every derivative is 0; det(A) A^-1 would multiply a rounding-sized det by
    # a huge inverse (found by the 20,000-program fuzz run, seed 13)
    return np.linalg.det(np.outer(np.tanh(m[:, 0]), v) @ m.T) * np.cos(v[0])


def test_nearly_singular_det_takes_the_adjugate_in_both_orders():
    v = np.array([0.4, -0.7, 1.1])
    m = np.array([[0.3, -0.2, 0.8], [0.5, 0.9, -0.4]])
    for mode in MODES:
        gradient = autodiffx.grad(det_of_a_rank_one_product, wrt=1, mode=mode)(v, m)
        assert np.max(np.abs(gradient)) < 1e-12
        hessian = autodiffx.hessian(lambda m: det_of_a_rank_one_product(v, m), mode=mode)(m)
        assert np.max(np.abs(hessian)) < 1e-9


# --------------------------------------------------------------------------- eig


def _real_spectrum(seed, n):
    """A real matrix P diag(1, 2.5, 4, ...) P⁻¹ with P close to I: real eigenvalues apart
    and away from 0 (where LAPACK's order of them may jump)."""
    rng = np.random.default_rng(seed)
    p = np.eye(n) + 0.3 * rng.uniform(-1.0, 1.0, (n, n))
    return p @ np.diag(1.0 + 1.5 * np.arange(n)) @ np.linalg.inv(p)


def eigenvalue(A, i):
    values = np.linalg.eigvals(A)
    return values[i]


def eig_energy(A):
    w, v = np.linalg.eig(A)
    return np.sum(np.abs(w) ** 2) + np.sum(np.abs(v[:, 0]) ** 4)  # no sign of v matters


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=10, deadline=None)
@given(seed=SEEDS, n=st.integers(2, 4))
def test_eigenvalue_gradient_is_the_outer_product_of_the_eigenvectors(mode, seed, n):
    """dλ_i/dA = (V⁻ᵀ)_i v_iᵀ: the left eigenvector times the right one, each from V."""
    a = _real_spectrum(seed, n)
    w, v = np.linalg.eig(a)
    left = np.linalg.inv(v).T
    for i in range(n):
        np.testing.assert_allclose(autodiffx.grad(eigenvalue, mode=mode)(a, i),
                                   np.outer(left[:, i], v[:, i]), rtol=1e-8, atol=1e-10)


def cubed_eigenvalues(A):
    values = np.linalg.eigvals(A)
    return np.sum(values**3)


def cubed_symmetric_eigenvalues(A):
    return np.sum(np.linalg.eigvalsh((A + A.T) / 2) ** 3)


def test_eig_of_a_symmetric_matrix_has_eighs_eigenvalue_gradient():
    """At a symmetric matrix the left and right eigenvectors agree: dλ = vᵀ dA v, as for
    the symmetric part that eigvalsh reads."""
    a = positive_definite(3, 3, 3)
    for mode in MODES:
        np.testing.assert_allclose(autodiffx.grad(cubed_eigenvalues, mode=mode)(a),
                                   autodiffx.grad(cubed_symmetric_eigenvalues, mode=mode)(a),
                                   rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_second_derivative_through_eig(mode):
    """Forward over forward and forward over reverse: the tangent rule and eig_adjoint are
    written with NumPy functions that have rules, so Duals go through them."""
    a = _real_spectrum(3, 3)
    error = relative_error(autodiffx.hessian(eig_energy, mode=mode)(a),
                           numeric_hessian(eig_energy, a))
    assert error < 1e-6


def _singular_values(a):
    s = np.linalg.svd(a, compute_uv=False)
    return np.sum(s ** 2) + np.sum(np.linalg.svd(a, full_matrices=False, compute_uv=False))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_svd_without_vectors_is_svdvals(mode):
    """np.linalg.svd(a, compute_uv=False) returns the singular values alone: the gradient
    of sum(s**2) is 2a (the Frobenius norm), of sum(s) U Vh."""
    a = np.array([[1.0, 2.0, 0.3], [0.5, -1.0, 2.0]])
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(autodiffx.grad(_singular_values, mode=mode)(a), 2 * a + u @ vh,
                               atol=1e-12)
