"""The linear-algebra rules on complex matrices (docs/complex.md, "Linear algebra").

A complex matrix A = X + iY is the pair of real matrices (X, Y). Hypothesis draws
well-conditioned complex matrices of each kind a rule needs (general, Hermitian with
eigenvalues apart, Hermitian positive definite, singular values apart, eigenvalues apart),
and for every rule

1. the tangent along a real direction T and along an imaginary one iT is compared with
   central differences in that direction, separately;
2. the adjoint passes the dot-product test <G, J V> = <Jᵀ G, V> in the real inner product
   <a, b> = Re(sum(conj(a) * b)), with G and V complex; the rules listed in
   ``complex_rules.CONJUGATED_PRIMALS`` get the conjugates of the primal values, as reverse
   mode substitutes them;
3. forward mode's gradient of a real loss of a complex matrix agrees with central
   differences in the real and the imaginary part of every entry.

Eigenvectors (eigh) and singular-vector pairs (svd) are defined up to a phase each: the
central differences turn each one back to the phase of the unshifted one, which is the
gauge of the tangent (each vector moves orthogonally to itself), and the losses of part 3
do not depend on the phases. np.linalg.eig's tangent follows LAPACK's own normalisation
(unit norm, largest entry real, and positive for a complex matrix), so only the signs a
real matrix's eigenvectors are left with are aligned. Each check is shown to reject a wrong
rule: a plain transpose where a conjugate transpose belongs, a phase left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.forward import Dual, apply, new_level
from autodiffx.rules import lookup
from autodiffx.rules.complex_rules import CONJUGATED_PRIMALS

SEEDS = st.integers(0, 2**32 - 1)
STEP = 1e-6
TOLERANCE = 1e-6  # relative to the size of the values involved
GAP = 1e-9  # the dot-product test is exact up to rounding


# --------------------------------------------------------------------------- matrices


def complex_normal(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def general(rng, m, n=None):
    """Entries of size about 1 plus 2 max(m, n) on the diagonal: full rank, well
    conditioned."""
    n = m if n is None else n
    return 0.5 * complex_normal(rng, m, n) + 2 * max(m, n) * np.eye(m, n)


def unitary(rng, m, k):
    q, _ = np.linalg.qr(complex_normal(rng, m, k))
    return q


def hermitian(rng, n):
    """Q diag(w) Qᴴ with eigenvalues at least 1 apart."""
    q = unitary(rng, n, n)
    w = 1.5 * np.arange(n) - n + rng.uniform(-0.2, 0.2, n)
    return (q * w) @ q.conj().T


def positive_definite(rng, n):
    m = complex_normal(rng, n, n)
    return m @ m.conj().T + n * np.eye(n)


def spread_singular(rng, m, n):
    """U diag(s) Vᴴ with singular values at least 1 apart and at least 1."""
    k = min(m, n)
    s = 1.0 + 1.5 * np.arange(k) + rng.uniform(0.0, 0.2, k)
    return (unitary(rng, m, k) * s) @ unitary(rng, n, k).conj().T


def spread_eigenvalues(rng, n):
    """P diag(w) P⁻¹ with P close to I and complex eigenvalues at least 1 apart, with real
    parts 1 or more: LAPACK's order of eigenvalues may jump under a small change of a matrix
    with an eigenvalue near 0, which central differences cannot follow."""
    p = np.eye(n) + 0.1 * complex_normal(rng, n, n)
    w = 1.5 * rng.permutation(n) + 1 + 1j * rng.uniform(-1.0, 1.0, n)
    return p @ np.diag(w) @ np.linalg.inv(p)


def real_spread(rng, n):
    """A real matrix P diag(w) P⁻¹ with real eigenvalues at least 1 apart."""
    p = np.eye(n) + 0.3 * rng.uniform(-1.0, 1.0, (n, n))
    return p @ np.diag(1.5 * rng.permutation(n) + 1) @ np.linalg.inv(p)


def real_pairs(rng, n):
    """A real matrix whose eigenvalues are complex-conjugate pairs (n even)."""
    p = np.eye(n) + 0.3 * rng.uniform(-1.0, 1.0, (n, n))
    d = np.zeros((n, n))
    for i in range(0, n, 2):
        a, b = 1.5 * i + 1, rng.uniform(0.5, 1.5)
        d[i : i + 2, i : i + 2] = [[a, -b], [b, a]]
    return p @ d @ np.linalg.inv(p)


# --------------------------------------------------------------------------- phases


def _eigh_phases(base, result):
    """Each eigenvector turned by the phase that makes its product with ``base``'s real and
    positive: the gauge of the tangent, Im vᴴ dv = 0."""
    w, v = result
    phase = np.sum(np.conj(base[1]) * v, axis=-2)
    return w, v * np.conj(phase / np.abs(phase))[..., np.newaxis, :]


def _svd_phases(base, result):
    """Each pair (u_k, v_k) turned together, by the phase that makes ``base``'s v_kᴴ times
    v_k real and positive: the gauge of the tangent, Im v_kᴴ dv_k = 0."""
    u, s, vh = result
    phase = np.sum(base[2] * np.conj(vh), axis=-1)
    phase = phase / np.abs(phase)
    return u * np.conj(phase)[..., np.newaxis, :], s, vh * phase[..., :, np.newaxis]


def _eigenvalue_order(base, w):
    """Where each of ``base``'s eigenvalues is in ``w``: LAPACK's order of a general
    matrix's eigenvalues may jump under a small change of the matrix."""
    return np.argmin(np.abs(np.expand_dims(base, -1) - np.expand_dims(w, -2)), axis=-1)


def _eig_signs(base, result):
    """The eigenvalues in ``base``'s order, and each eigenvector flipped to agree with
    ``base``'s: for a real matrix LAPACK fixes no sign (of a real eigenvector, or of the
    real entry of a complex pair's), and a small change of the matrix may flip one. A
    complex matrix's eigenvectors have their largest entry real and positive, which the
    tangent follows: the flip changes nothing there."""
    w, v = result
    order = _eigenvalue_order(base[0], w)
    w = np.take_along_axis(w, order, axis=-1)
    v = np.take_along_axis(v, np.expand_dims(order, -2), axis=-1)
    return w, v * np.sign(np.real(np.sum(np.conj(base[1]) * v, axis=-2)))[..., None, :]


def _eigvals_order(base, result):
    return np.take_along_axis(result, _eigenvalue_order(base, result), axis=-1)


PHASE_CHOICES = {"eigh": _eigh_phases, "svd": _svd_phases, "eig": _eig_signs,
                 "eigvals": _eigvals_order}
"""Rules whose results LAPACK defines only up to a phase (or a sign, or an order) each, with
how to turn a result to the phases of a ``base`` one. ``test_complex_rules`` aligns with
these too."""


def aligned(name: str, base, result):
    """``result`` turned to ``base``'s phases where the rule ``name`` leaves them free."""
    return PHASE_CHOICES[name](base, result) if name in PHASE_CHOICES else result


# --------------------------------------------------------------------------- the checks


@dataclasses.dataclass(frozen=True)
class LinalgCase:
    """A call of ``function`` on arguments drawn by ``draw(rng)``, differentiated with
    respect to the arguments at ``wrt``."""

    function: Callable
    draw: Callable[[np.random.Generator], list]
    kwargs: dict = dataclasses.field(default_factory=dict)
    wrt: tuple[int, ...] = (0,)

    @property
    def rule(self):
        return lookup(self.function)

    def __str__(self):
        keywords = ",".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.rule.name}({keywords})"


def joined(out) -> np.ndarray:
    if isinstance(out, tuple):
        return np.concatenate([np.ravel(np.asarray(o) + 0.0) for o in out])
    return np.ravel(np.asarray(out) + 0.0)


def pushed(rule, function, args, kwargs, index, t) -> np.ndarray:
    """Forward mode's tangent of ``function`` along ``t`` on argument ``index``, raveled
    (several results joined), with ``rule`` in place of the registered one."""
    args = list(args)
    args[index] = Dual(args[index], t[np.newaxis], new_level())
    out = apply(rule, function, tuple(args), dict(kwargs))
    if isinstance(out, tuple):
        return np.concatenate([np.ravel(o.tangent[0]) if isinstance(o, Dual)
                               else np.zeros(np.size(o)) for o in out])
    return np.ravel(out.tangent[0])


def central_difference(name, function, args, kwargs, index, t) -> np.ndarray:
    base = function(*args, **kwargs)

    def at(step):
        moved = list(args)
        moved[index] = args[index] + step * t
        return joined(aligned(name, base, function(*moved, **kwargs)))

    return (at(STEP) - at(-STEP)) / (2 * STEP)


def tangent_error(rule, case: LinalgCase, args, index, direction, rng) -> float:
    """How far the tangent along ``direction`` times a random T is from central
    differences, relative to the values' size."""
    t = direction * rng.standard_normal(np.shape(args[index]))
    tangent = pushed(rule, case.function, args, case.kwargs, index, t)
    numeric = central_difference(rule.name, case.function, args, case.kwargs, index, t)
    scale = max(1.0, float(np.max(np.abs(numeric))))
    return float(np.max(np.abs(tangent - numeric))) / scale


def conjugated(value):
    if isinstance(value, tuple):
        return tuple(conjugated(v) for v in value)
    return np.conj(value) if np.iscomplexobj(value) else value


def adjoint_gap(rule, case: LinalgCase, args, index, rng, conjugate_primals: bool) -> float:
    """| <G, J V> - <Jᵀ G, V> | relative to the terms' size, with complex G and V (G real
    for a real result), in the real inner product."""
    v = rng.standard_normal(np.shape(args[index])).astype(np.asarray(args[index]).dtype)
    if np.iscomplexobj(args[index]):
        v = v + 1j * rng.standard_normal(np.shape(v))
    jv = pushed(rule, case.function, args, case.kwargs, index, v)
    results = case.function(*args, **case.kwargs)
    parts = results if isinstance(results, tuple) else (results,)
    g = tuple(complex_normal(rng, *np.shape(r)) if np.iscomplexobj(r)
              else rng.standard_normal(np.shape(r)) for r in parts)
    g_in = g if isinstance(results, tuple) else g[0]
    params = list(args) + [None] * (len(rule.params) - len(args))
    if conjugate_primals:
        params, results = [conjugated(p) for p in params], conjugated(results)
    cotangent = rule.adjoint_function(index)(g_in, results, *params, **case.kwargs)
    assert np.shape(cotangent) == np.shape(args[index])
    g_joined = joined(g)
    forward = np.real(np.sum(np.conj(g_joined) * jv))
    backward = np.real(np.sum(np.conj(cotangent) * v))
    scale = np.sum(np.abs(g_joined * jv)) + np.sum(np.abs(cotangent * v)) + 1e-300
    return float(abs(forward - backward) / scale)


def vector(rng, n, columns=None):
    return complex_normal(rng, n) if columns is None else complex_normal(rng, n, columns)


CASES = [
    LinalgCase(np.linalg.solve, lambda r: [general(r, 3), vector(r, 3)], wrt=(0, 1)),
    LinalgCase(np.linalg.solve, lambda r: [general(r, 3), vector(r, 3, 2)], wrt=(0, 1)),
    LinalgCase(np.linalg.inv, lambda r: [general(r, 3)]),
    LinalgCase(np.linalg.det, lambda r: [general(r, 3)]),
    LinalgCase(np.linalg.det, lambda r: [np.outer(vector(r, 3), vector(r, 3))]),  # singular
    LinalgCase(np.linalg.slogdet, lambda r: [general(r, 3)]),
    LinalgCase(np.linalg.pinv, lambda r: [general(r, 3)]),
    LinalgCase(np.linalg.pinv, lambda r: [general(r, 2, 4)]),
    LinalgCase(np.linalg.pinv, lambda r: [general(r, 4, 2)]),
    LinalgCase(np.linalg.cholesky, lambda r: [positive_definite(r, 3)]),
    LinalgCase(np.linalg.cholesky, lambda r: [positive_definite(r, 3)], {"upper": True}),
    LinalgCase(np.linalg.qr, lambda r: [general(r, 3)]),
    LinalgCase(np.linalg.qr, lambda r: [general(r, 4, 2)]),
    LinalgCase(np.linalg.eigh, lambda r: [hermitian(r, 3)]),
    LinalgCase(np.linalg.eigh, lambda r: [hermitian(r, 3)], {"UPLO": "U"}),
    LinalgCase(np.linalg.eigvalsh, lambda r: [hermitian(r, 3)]),
    LinalgCase(np.linalg.svd, lambda r: [spread_singular(r, 3, 3)]),
    LinalgCase(np.linalg.svd, lambda r: [spread_singular(r, 4, 2)], {"full_matrices": False}),
    LinalgCase(np.linalg.svd, lambda r: [spread_singular(r, 2, 3)], {"full_matrices": False}),
    LinalgCase(np.linalg.svdvals, lambda r: [spread_singular(r, 3, 2)]),
    LinalgCase(np.linalg.eig, lambda r: [spread_eigenvalues(r, 3)]),
    LinalgCase(np.linalg.eigvals, lambda r: [spread_eigenvalues(r, 3)]),
    # real matrices: real eigenvalues, and complex-conjugate pairs with complex tangents
    LinalgCase(np.linalg.eig, lambda r: [real_spread(r, 3)]),
    LinalgCase(np.linalg.eig, lambda r: [real_pairs(r, 4)]),
    LinalgCase(np.linalg.eigvals, lambda r: [real_pairs(r, 2)]),
    LinalgCase(np.linalg.eigvals, lambda r: [real_spread(r, 3)]),
    LinalgCase(np.linalg.lstsq, lambda r: [general(r, 5, 3), vector(r, 5)], wrt=(0, 1)),
    LinalgCase(np.linalg.lstsq, lambda r: [general(r, 4, 2), vector(r, 4, 3)], wrt=(0, 1)),
    LinalgCase(np.linalg.matrix_power, lambda r: [general(r, 3) / 6, 3]),
    LinalgCase(np.linalg.matrix_power, lambda r: [general(r, 3), -2]),
    LinalgCase(np.linalg.multi_dot,
               lambda r: [[vector(r, 3), complex_normal(r, 3, 2), complex_normal(r, 2, 2)]]),
    LinalgCase(np.trace, lambda r: [complex_normal(r, 3, 3)]),
    *(LinalgCase(np.linalg.norm, lambda r: [spread_singular(r, 3, 4)], {"ord": order})
      for order in (None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf)),
    *(LinalgCase(np.linalg.norm, lambda r: [vector(r, 4)], {"ord": order})
      for order in (None, 1, 3, np.inf)),
]


def case_parameters():
    return [pytest.param(case, id=f"{case}-{i}") for i, case in enumerate(CASES)]


@pytest.mark.parametrize("case", case_parameters())
@settings(max_examples=8, deadline=None)
@given(seed=SEEDS)
def test_tangents_match_central_differences_in_each_part(case, seed):
    rng = np.random.default_rng(seed)
    args = case.draw(rng)
    if case.function is np.linalg.multi_dot:  # one list argument: its arrays in turn
        for position in range(len(args[0])):
            def function(*arrays, position=position):
                return np.linalg.multi_dot(list(arrays))
            inner = LinalgCase(function, lambda r: args[0])
            for direction in (1.0, 1j):
                error = _multi_dot_tangent_error(inner, args[0], position, direction, rng)
                assert error < TOLERANCE, f"array {position} along {direction}: {error:.1e}"
        return
    for index in case.wrt:
        # a real argument has real tangents only
        for direction in (1.0, 1j) if np.iscomplexobj(args[index]) else (1.0,):
            error = tangent_error(case.rule, case, args, index, direction, rng)
            assert error < TOLERANCE, f"argument {index} along {direction}: {error:.1e}"


def _multi_dot_tangent_error(case, arrays, position, direction, rng):
    t = direction * rng.standard_normal(np.shape(arrays[position]))
    duals = list(arrays)
    duals[position] = Dual(arrays[position], t[np.newaxis], new_level())
    tangent = np.ravel(np.linalg.multi_dot(duals).tangent[0])
    numeric = central_difference("multi_dot", case.function, arrays, {}, position, t)
    return float(np.max(np.abs(tangent - numeric))) / max(1.0, float(np.max(np.abs(numeric))))


@pytest.mark.parametrize("case", case_parameters())
@settings(max_examples=8, deadline=None)
@given(seed=SEEDS)
def test_adjoints_pass_the_dot_product_test_in_the_complex_inner_product(case, seed):
    rng = np.random.default_rng(seed)
    args = case.draw(rng)
    rule = case.rule
    if case.function is np.linalg.multi_dot:
        return  # a list argument: test_complex_rules checks it from the registry's cases
    for index in case.wrt:
        gap = adjoint_gap(rule, case, args, index, rng, rule.name in CONJUGATED_PRIMALS)
        assert gap < GAP, f"argument {index}: dot-product gap {gap:.1e}"


# --------------------------------------------------------------------------- real losses


def numeric_gradient(loss, z) -> np.ndarray:
    """∂L/∂x + i ∂L/∂y at every entry, by central differences in each part."""
    out = np.zeros(np.shape(z), complex)
    h = 1e-6
    for index in np.ndindex(*np.shape(z)):
        unit = np.zeros(np.shape(z))
        unit[index] = h
        along_x = (loss(z + unit) - loss(z - unit)) / (2 * h)
        along_y = (loss(z + 1j * unit) - loss(z - 1j * unit)) / (2 * h)
        out[index] = along_x + 1j * along_y
    return out


def det_squared(a):
    return np.abs(np.linalg.det(a)) ** 2


def solution_energy(a):
    return np.sum(np.abs(np.linalg.solve(a, a[:, 0] + 1)) ** 2)


def inverse_energy(a):
    return np.sum(np.abs(np.linalg.inv(a)) ** 2)


def slogdet_both(a):
    sign, logdet = np.linalg.slogdet(a)
    return logdet + np.real(sign) ** 3  # the sign of a complex matrix moves too


def eigh_energy(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w**2) + np.sum(np.abs(v[0]) ** 2 * w)  # |v_ki| does not see phases


def eigvalsh_energy(a):
    return np.sum(np.linalg.eigvalsh(a) ** 3)


def cholesky_energy(a):
    return np.sum(np.abs(np.linalg.cholesky(a)) ** 3)


def svd_energy(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    weights = np.arange(1.0, 1.0 + np.size(a)).reshape(np.shape(a))
    # u_k v_kᴴ does not see the common phase of a pair
    return np.sum(s) + np.real(np.sum(weights * (u[:, :1] @ vh[:1, :])))


def svdvals_energy(a):
    return np.sum(np.linalg.svdvals(a) ** 3)


def eig_energy(a):
    w, v = np.linalg.eig(a)
    return np.sum(np.abs(w) ** 2) + np.sum(np.abs(v[:, 0]) ** 4) + np.sum(np.real(w) ** 3)


def qr_energy(a):
    q, r = np.linalg.qr(a)
    return np.sum(np.abs(r) ** 2 * np.arange(1.0, 1.0 + np.shape(r)[1])) + np.sum(
        np.abs(q[:, 0]) ** 3)


def pinv_energy(a):
    return np.sum(np.abs(np.linalg.pinv(a)) ** 2)


def lstsq_energy(a):
    x, residuals, rank, s = np.linalg.lstsq(a, a[:, 0] * 1j + 1)
    y, squares, rank, s = np.linalg.lstsq(a, np.arange(4.0))
    return np.sum(np.abs(x) ** 2) + np.sum(squares)


def norm_2(a):
    return np.linalg.norm(a, 2)


def norm_nuclear(a):
    return np.linalg.norm(a, "nuc")


def norm_minus_2(a):
    return np.linalg.norm(a, -2)


def power_energy(a):
    return np.sum(np.abs(np.linalg.matrix_power(a, 3)) ** 2)


def trace_squared(a):
    return np.abs(np.trace(a @ a)) ** 2


def _general_small(r):
    return general(r, 3) / 6


LOSSES: list[tuple[Callable[[Any], Any], Callable]] = [
    (det_squared, _general_small),
    (solution_energy, lambda r: general(r, 3)),
    (inverse_energy, lambda r: general(r, 3)),
    (slogdet_both, lambda r: general(r, 3)),
    (eigh_energy, lambda r: hermitian(r, 3)),
    (eigvalsh_energy, lambda r: hermitian(r, 3)),
    (cholesky_energy, lambda r: positive_definite(r, 3)),
    (svd_energy, lambda r: spread_singular(r, 3, 2)),
    (svdvals_energy, lambda r: spread_singular(r, 2, 3)),
    (eig_energy, lambda r: spread_eigenvalues(r, 3)),
    (qr_energy, lambda r: general(r, 3, 2)),
    (pinv_energy, lambda r: general(r, 2, 3)),
    (lstsq_energy, lambda r: general(r, 4, 2)),
    (norm_2, lambda r: spread_singular(r, 3, 3)),
    (norm_nuclear, lambda r: spread_singular(r, 3, 2)),
    (norm_minus_2, lambda r: spread_singular(r, 2, 3)),
    (power_energy, lambda r: general(r, 2) / 4),
    (trace_squared, lambda r: general(r, 2)),
]
LOSS_IDS = [loss.__name__ for loss, _ in LOSSES]


@pytest.mark.parametrize(("loss", "matrix"), LOSSES, ids=LOSS_IDS)
@settings(max_examples=5, deadline=None)
@given(seed=SEEDS)
def test_forward_gradient_of_a_real_loss_matches_central_differences(loss, matrix, seed):
    z = matrix(np.random.default_rng(seed))
    gradient = autodiffx.grad(loss, mode="forward")(z)
    expected = numeric_gradient(loss, z)
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(gradient, expected, rtol=0, atol=1e-6 * scale)


@pytest.mark.parametrize(("loss", "matrix"), LOSSES, ids=LOSS_IDS)
def test_reverse_mode_gives_forward_modes_gradient(loss, matrix):
    """Reverse mode inlines the adjoints, with the conjugates of the primal values for the
    rules of CONJUGATED_PRIMALS: the same gradient as forward mode's tangents."""
    z = matrix(np.random.default_rng(7))
    np.testing.assert_allclose(autodiffx.grad(loss)(z), autodiffx.grad(loss, mode="forward")(z),
                               rtol=1e-9, atol=1e-12)


@settings(max_examples=5, deadline=None)
@given(seed=SEEDS)
def test_a_real_matrix_with_complex_eigenvalues_has_a_real_gradient(seed):
    """np.linalg.eig of a real matrix gives complex eigenvalues in conjugate pairs; forward
    mode carries complex tangents for them, and the gradient of a real loss is real. Reverse
    mode, which learns from the data that they are complex, gives the same."""
    a = real_pairs(np.random.default_rng(seed), 4)

    def eigenpairs(a):
        w, v = np.linalg.eig(a)
        return np.sum(np.imag(w) ** 2) + np.sum(np.abs(v) ** 4)

    def eigenvalues(a):
        values = np.linalg.eigvals(a)
        return np.sum(np.abs(values) ** 3)

    for loss in (eigenpairs, eigenvalues):
        gradient = autodiffx.grad(loss, mode="forward")(a)
        assert gradient.dtype == np.float64
        numeric = np.real(numeric_gradient(loss, a))
        np.testing.assert_allclose(gradient, numeric, rtol=0, atol=1e-6)
        np.testing.assert_allclose(autodiffx.grad(loss)(a), gradient, rtol=1e-9, atol=1e-12)


def test_eigenvalues_of_a_real_matrix_follow_the_complex_pair():
    """A rotation by θ has eigenvalues e^{±iθ}: along the direction that turns it further,
    their tangents are ±i e^{±iθ}."""
    theta = 0.3
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    turning = np.array([[-np.sin(theta), -np.cos(theta)], [np.cos(theta), -np.sin(theta)]])
    w, tangent = autodiffx.jvp(np.linalg.eigvals, (rotation,), (turning,))
    np.testing.assert_allclose(tangent, 1j * np.sign(np.imag(w)) * w, atol=1e-12)


# --------------------------------------------------------------------------- the checks fail


def _eigh_tangent_with_plain_transposes(t, ans, a, UPLO="L"):  # noqa: N803
    w, v = ans
    s = np.tril(t) + np.swapaxes(np.tril(t, -1), -1, -2)
    m = np.swapaxes(v, -1, -2) @ s @ v
    eye = np.eye(np.shape(w)[-1])
    f = 1 / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye) - eye
    return np.real(np.diagonal(m, axis1=-2, axis2=-1)), v @ (f * m)


def _svd_tangent_without_the_phase_of_u(t, ans, a, full_matrices=True):
    u, s, vh = ans
    v = vh.conj().T
    dp = u.conj().T @ t @ v
    k = len(s)
    big_s = np.diag(s)
    gaps = 1 / (s[np.newaxis] ** 2 - s[:, np.newaxis] ** 2 + np.eye(k)) - np.eye(k)
    du = u @ (gaps * (dp @ big_s + big_s @ dp.conj().swapaxes(-1, -2)))
    dv = v @ (gaps * (big_s @ dp + dp.conj().swapaxes(-1, -2) @ big_s))
    return du, np.real(np.diagonal(dp, axis1=-2, axis2=-1)), dv.conj().swapaxes(-1, -2)


def _eig_tangent_without_the_normalisation(t, ans, a):
    w, v = ans
    inner = np.linalg.solve(v, t @ v)
    eye = np.eye(len(w))
    f = 1 / (w[np.newaxis] - w[:, np.newaxis] + eye) - eye
    return np.diagonal(inner, axis1=-2, axis2=-1), v @ (f * inner)


@pytest.mark.parametrize(("function", "wrong", "matrix"), [
    (np.linalg.eigh, _eigh_tangent_with_plain_transposes, hermitian),
    (np.linalg.svd, _svd_tangent_without_the_phase_of_u, spread_singular),
    (np.linalg.eig, _eig_tangent_without_the_normalisation, spread_eigenvalues),
], ids=["eigh-transposed", "svd-phase", "eig-unnormalised"])
def test_the_tangent_check_rejects_a_wrong_complex_tangent(function, wrong, matrix):
    """The phase alignment removes only the phase each vector is free to take: a tangent
    that forgets a conjugate or the phase u_k must take with v_k still fails."""
    rng = np.random.default_rng(0)
    args = [matrix(rng, 3, 3) if matrix is spread_singular else matrix(rng, 3)]
    case = LinalgCase(function, lambda r: args)
    assert tangent_error(case.rule, case, args, 0, 1.0, rng) < TOLERANCE
    bad = dataclasses.replace(case.rule, tangents=(wrong,))
    errors = [tangent_error(bad, case, args, 0, d, rng) for d in (1.0, 1j)]
    assert max(errors) > 1e-2


def test_the_adjoint_check_rejects_a_plain_transpose():
    """pinv's adjoint with transposes where conjugate transposes belong (its old
    expression) fails the dot-product test on complex values, with or without conjugated
    primals: its tangent has dAᴴ terms, whose adjoints need the conjugate of G."""
    rule = lookup(np.linalg.pinv)
    old = ("-ans.T @ g @ ans.T + (np.eye(np.shape(a)[0]) - a @ ans) @ g.T @ ans @ ans.T "
           "+ ans.T @ ans @ g.T @ (np.eye(np.shape(a)[1]) - ans @ a)")
    bad = dataclasses.replace(rule, adjoints=(old,))
    rng = np.random.default_rng(1)
    args = [general(rng, 2, 3)]
    case = LinalgCase(np.linalg.pinv, lambda r: args)
    assert adjoint_gap(rule, case, args, 0, rng, False) < GAP
    for conjugate_primals in (False, True):
        assert adjoint_gap(bad, case, args, 0, rng, conjugate_primals) > 1e-3
