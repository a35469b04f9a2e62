"""Rules for primitives with several results: the splits and the decompositions that return
a tuple (``w, V = np.linalg.eigh(A)``, ``sign, logdet = np.linalg.slogdet(A)``).

A tangent rule here returns one tangent per result (``None`` for a result without a
derivative). In an adjoint expression ``g[k]`` is result k's cotangent, ``None`` when none
reached it, and ``ans[k]`` its value; reverse mode leaves out a contribution whose ``g[k]``
are all ``None``. Forward mode takes the splits as slices of their argument (views, as in
NumPy), so their tangent rules here serve the rule tests and nested derivatives.
"""

from __future__ import annotations

import numpy as np

from ..errors import MissingRuleError
from .helpers import _spectral_gaps as spectral_gaps
from .helpers import check_lstsq, conjugate_transpose, eigenvectors_of, shift_axis
from .registry import defrule


def _split_tangent(function, axis_of):
    def tangent(t, ans, ary, indices_or_sections, **keywords):
        axis = axis_of(np.ndim(ary), keywords)
        return np.split(t, _cuts(ans, axis), axis=shift_axis(axis, np.ndim(ary)))
    tangent.__name__ = f"{function.__name__}_tangent"
    return tangent


def _cuts(parts, axis):
    """Where the parts of a split start along ``axis``, after the first."""
    return list(np.cumsum([np.shape(p)[axis] for p in parts])[:-1])


_SPLITS = (
    # function, its axis from (ndim, keywords), the same as an expression for the adjoint
    (np.split, lambda ndim, k: k.get("axis", 0), "axis"),
    (np.array_split, lambda ndim, k: k.get("axis", 0), "axis"),
    (np.hsplit, lambda ndim, k: 1 if ndim > 1 else 0, "1 if np.ndim(ary) > 1 else 0"),
    (np.vsplit, lambda ndim, k: 0, "0"),
    (np.dsplit, lambda ndim, k: 2, "2"),
)

for _function, _axis_of, _axis in _SPLITS:
    defrule(
        _function,
        "ary indices_or_sections",
        keywords={"axis": 0} if _axis == "axis" else {},
        tangents=(_split_tangent(_function, _axis_of), None),
        adjoints=(f"unsplit(g, ans, {_axis})", None),
        outputs="sections",
        rank=lambda ary, sections, **keywords: ary,  # every part has the array's rank
        doc="Each part is a view of the array split, as in NumPy.",
    )


def _slogdet_tangent(t, ans, a):
    # with s = tr(A^-1 dA): d log|det A| = Re s; a real sign is piecewise constant, a
    # complex one, det / |det|, turns by i Im s
    s = np.sum(np.swapaxes(np.linalg.inv(a), -1, -2) * t, axis=(-2, -1))
    if not np.iscomplexobj(s):
        return None, s
    return ans[0] * 1j * np.imag(s), np.real(s)


defrule(
    np.linalg.slogdet,
    "a",
    tangents=(_slogdet_tangent,),
    # the sign's cotangent matters for complex matrices only, so a program that does not
    # differentiate through the sign gets the plain g[1] A⁻ᵀ
    adjoints=("(g[1] * np.linalg.inv(a).T if np.ndim(a) == 2 else np.expand_dims(g[1], "
              "(-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)) if g[0] is None "
              "else slogdet_adjoint(g, ans, a)",),
    outputs=2,
    rank=lambda a: None if a is None else (a - 2, a - 2),
    doc="A real matrix's sign has derivative 0; a complex matrix's, det / |det|, turns with "
    "the phase of det (d sign = sign i Im tr(A⁻¹ dA)); log|det A| has none where A is "
    "singular.",
)


def _eigh_tangent(t, ans, a, UPLO="L"):  # noqa: N803 - NumPy's keyword
    w, V = ans
    if UPLO.upper() == "L":
        S = np.tril(t) + conjugate_transpose(np.tril(t, -1))
    else:
        S = np.triu(t) + conjugate_transpose(np.triu(t, 1))
    if np.iscomplexobj(S):  # eigh reads the real part of the diagonal only
        S = S - 1j * np.eye(np.shape(w)[-1]) * np.imag(S)
    M = conjugate_transpose(V) @ S @ V  # the perturbation in the eigenbasis
    eye = np.eye(np.shape(w)[-1])
    values = np.diagonal(M, axis1=-2, axis2=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # repeated eigenvalues: the eigenvectors' tangent is inf or nan, the values' fine
        F = 1 / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye) - eye
        return np.real(values) if np.iscomplexobj(values) else values, V @ (F * M)


defrule(
    np.linalg.eigh,
    "a",
    keywords={"UPLO": "L"},
    tangents=(_eigh_tangent,),
    adjoints=("eigh_adjoint(g, ans, a, UPLO)",),
    outputs=2,
    rank=lambda a, **keywords: None if a is None else (a - 1, a),
    doc="eigh reads one triangle of a (UPLO), so entries outside it have derivative 0 (and, "
    "for a complex a, the imaginary parts of the diagonal). Eigenvectors have no derivative "
    "where eigenvalues repeat (the result holds inf or nan there); eigenvalues alone are "
    "differentiable everywhere but at crossings. A complex eigenvector's phase is arbitrary: "
    "its tangent is the one orthogonal to it (Im vᴴ dv = 0), so only losses that do not "
    "depend on the phases have a meaningful derivative (docs/complex.md).",
)


def _svd_tangent(t, ans, a, full_matrices=True):
    """dS = diag(dP), dU = U (F * (dP S + S dP^T)) + (I - U U^T) dA V S^-1 and likewise
    for V, with dP = U^T dA V (Townsend 2016), for the reduced factors. For a complex a
    the transposes are conjugate transposes, ds = Re diag(dP), and the phase that
    Im diag(dP) asks of a pair (u_k, v_k) goes to u_k alone (dU gains U diag(i Im dP_kk /
    s_k), as in JAX), so that each v_k moves orthogonally to itself."""
    _svd_supported(a, full_matrices)
    U, s, Vh = ans
    V = conjugate_transpose(Vh)
    UT = conjugate_transpose(U)
    tT = conjugate_transpose(t)
    dP = UT @ t @ V
    dPT = conjugate_transpose(dP)
    k = np.shape(s)[-1]
    S = np.expand_dims(s, -1) * np.eye(k)
    F = spectral_gaps(s)
    inverse = np.expand_dims(1 / s, -2)
    diagonal = np.diagonal(dP, axis1=-2, axis2=-1)
    inner = F * (dP @ S + S @ dPT)
    if np.iscomplexobj(diagonal):
        inner = inner + 1j * np.expand_dims(np.imag(diagonal) / s, -1) * np.eye(k)
        diagonal = np.real(diagonal)
    dU = U @ inner
    dV = V @ (F * (S @ dP + dPT @ S))
    m, n = np.shape(a)[-2:]
    if m > k:
        dU = dU + ((t @ V - U @ dP) * inverse)
    if n > k:
        dV = dV + ((tT @ U - V @ dPT) * inverse)
    return dU, diagonal, conjugate_transpose(dV)


def _svd_supported(a, full_matrices):
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n:
        raise MissingRuleError(
            "np.linalg.svd(a) of a matrix that is not square, with full_matrices=True, "
            "gives singular vectors that are not unique: they have no derivative",
            hint="pass full_matrices=False (only the first min(m, n) vectors are unique)")


defrule(
    np.linalg.svd,
    "a",
    keywords={"full_matrices": True},  # compute_uv and hermitian are refused: no rule
    tangents=(_svd_tangent,),
    adjoints=("svd_adjoint(g, ans, a, full_matrices)",),
    outputs=3,
    rank=lambda a, **keywords: None if a is None else (a, a - 1, a),
    doc="Singular vectors have a derivative only where the singular values are distinct and "
    "nonzero (inf or nan elsewhere), and, for a matrix that is not square, with "
    "full_matrices=False; singular values have one wherever they are distinct and nonzero. "
    "A complex pair (u_k, v_k) is defined up to a common phase: its tangent keeps v_k's "
    "orthogonal to v_k (as JAX does), so only losses that do not depend on the phases have "
    "a meaningful derivative (docs/complex.md).",
)


def _svdvals_tangent(t, ans, x):
    U, s, Vh = np.linalg.svd(x, full_matrices=False)
    values = np.diagonal(conjugate_transpose(U) @ t @ conjugate_transpose(Vh), axis1=-2,
                         axis2=-1)
    return np.real(values) if np.iscomplexobj(values) else values


defrule(
    np.linalg.svdvals,
    "x",
    tangents=(_svdvals_tangent,),
    adjoints=("svd_adjoint((None, g, None), np.linalg.svd(x, full_matrices=False), x, False)",),
    rank=lambda x: None if x is None else x - 1,
    doc="ds_i = Re(u_iᴴ dA v_i), where the singular values are distinct and nonzero.",
)


def _eigvalsh_tangent(t, ans, a, UPLO="L"):  # noqa: N803 - NumPy's keyword
    return _eigh_tangent(t, np.linalg.eigh(a, UPLO=UPLO), a, UPLO)[0]


defrule(
    np.linalg.eigvalsh,
    "a",
    keywords={"UPLO": "L"},
    tangents=(_eigvalsh_tangent,),
    adjoints=("eigh_adjoint((g, None), np.linalg.eigh(a, UPLO), a, UPLO)",),
    rank=lambda a, **keywords: None if a is None else a - 1,
    doc="dw_i = v_iᴴ dS v_i, for the symmetric (Hermitian) S read from one triangle of a "
    "(UPLO).",
)


def _eig_tangent(t, ans, a):
    """dw = diag(W) and dV = V (F * W), with W = V⁻¹ dA V and F[i, j] = 1 / (w[j] - w[i])
    (0 on the diagonal), then each column v moved along itself to keep NumPy's (LAPACK's)
    normalisation: by -v Re(vᴴ dv) for unit norm, and by -i v Im(dv_k) / v_k for the entry
    v_k of largest modulus, which LAPACK makes real. A real a with real eigenvalues has
    real results and a real tangent; with complex ones, complex results and tangents."""
    w, V = ans
    n = np.shape(w)[-1]
    eye = np.eye(n)
    W = np.linalg.solve(V, t @ V)  # directions first, V broadcast over them
    with np.errstate(divide="ignore", invalid="ignore"):
        # repeated eigenvalues: the eigenvectors' tangent is inf or nan, the values' fine
        F = 1 / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye) - eye
        dV = V @ (F * W)
    dV = dV - V * np.real(np.sum(np.conj(V) * dV, axis=-2, keepdims=True))
    if np.iscomplexobj(V):
        at = np.expand_dims(np.argmax(np.real(V * np.conj(V)), axis=-2), -2)
        entry = np.real(np.take_along_axis(V, at, axis=-2))
        moved = np.take_along_axis(dV, np.broadcast_to(at, np.shape(dV)[:-2] + at.shape[-2:]),
                                   axis=-2)
        dV = dV - 1j * V * (np.imag(moved) / entry)
    dw = np.diagonal(W, axis1=-2, axis2=-1)
    if not np.iscomplexobj(w):  # a real a with real eigenvalues: real tangents
        return np.real(dw), np.real(dV)
    return dw, dV


def _eigvals_tangent(t, ans, a):
    w, V = eigenvectors_of(a, ans)
    dw = np.diagonal(np.linalg.solve(V, t @ V), axis1=-2, axis2=-1)
    return dw if np.iscomplexobj(ans) else np.real(dw)


_EIG_DOC = (
    "For a matrix with distinct eigenvalues (the eigenvectors' tangent is inf or nan where "
    "two meet). A real matrix may have complex eigenvalues: NumPy then returns complex "
    "results, whose tangents are complex too. Eigenvectors follow NumPy's normalisation: "
    "unit norm, and the entry of largest modulus real (LAPACK's convention); that phase is "
    "a convention, not a property of the matrix, so a loss should not depend on it "
    "(docs/complex.md)."
)

defrule(
    np.linalg.eig,
    "a",
    tangents=(_eig_tangent,),
    adjoints=("eig_adjoint(g, ans, a)",),
    outputs=2,
    rank=lambda a, **keywords: None if a is None else (a - 1, a),
    doc=_EIG_DOC,
)
defrule(
    np.linalg.eigvals,
    "a",
    tangents=(_eigvals_tangent,),
    adjoints=("eig_adjoint((g, None), eigenvectors_of(a, ans), a)",),
    rank=lambda a, **keywords: None if a is None else a - 1,
    doc="dw_i = (V⁻¹ dA V)_ii, for distinct eigenvalues; complex for a real matrix with "
    "complex eigenvalues.",
)


def _qr_tangent(t, ans, a, mode="reduced"):
    """With X = Q^T dA R^-1 and its antisymmetric part from below,
    Omega = tril(X, -1) - tril(X, -1)^T: dQ = Q (Omega - X) + dA R^-1, dR = (X - Omega) R.
    For a complex a the transposes are conjugate transposes, and Omega = Q^H dQ, now
    anti-Hermitian, also takes the imaginary part of X's diagonal, since NumPy's R has a
    real diagonal."""
    _qr_supported(a, mode)
    Q, R = ans
    right = conjugate_transpose(np.linalg.solve(conjugate_transpose(R),
                                                conjugate_transpose(t)))  # dA R^-1
    X = conjugate_transpose(Q) @ right
    lower = np.tril(X, -1)
    omega = lower - conjugate_transpose(lower)
    if np.iscomplexobj(X):
        omega = omega + 1j * np.eye(np.shape(X)[-1]) * np.imag(X)
    return Q @ (omega - X) + right, (X - omega) @ R


def _qr_supported(a, mode):
    m, n = np.shape(a)[-2:]
    if mode != "reduced":
        raise MissingRuleError(f"np.linalg.qr(a, mode={mode!r}) has no derivative rule",
                               hint="use the default mode='reduced'")
    if m < n:
        raise MissingRuleError(
            "np.linalg.qr(a) of a wide matrix (fewer rows than columns) has no derivative rule",
            hint="factor a.T instead, or a square or tall matrix")


defrule(
    np.linalg.qr,
    "a",
    keywords={"mode": "reduced"},
    tangents=(_qr_tangent,),
    adjoints=("qr_adjoint(g, ans, a)",),
    outputs=2,
    rank=lambda a, **keywords: None if a is None else (a, a),
    doc="For a square or tall matrix of full rank, mode='reduced'.",
)


def _lstsq_tangents(a, b, x, tA, tb):
    """dx = (AᵀA)⁻¹ (dAᵀ r + Aᵀ (db - dA x)), with r = b - A x; d(sum of squared residuals)
    = 2 rᵀ (db - dA x), since Aᵀ r = 0 at the solution. For complex values the transposes
    are conjugate transposes, and the residuals, sums of |r|², have tangent 2 Re(rᴴ dr)."""
    column = np.ndim(b) == 1  # then x, r and the tangents get a trailing axis here
    r = b - a @ x
    if column:
        x, r, tb = x[:, None], r[:, None], tb[..., None]
    dr = tb - tA @ x  # directions first, broadcast over them
    a_h = conjugate_transpose(a)
    dx = np.linalg.solve(a_h @ a, conjugate_transpose(tA) @ r + a_h @ dr)
    dres = 2 * np.sum(np.conj(r) * dr, axis=-2) if np.iscomplexobj(dr) else (
        2 * np.sum(r * dr, axis=-2))
    dres = np.real(dres)
    return (dx[..., 0], dres[..., 0]) if column else (dx, dres)


def _lstsq_tangent_a(t, ans, a, b, rcond=None):
    x, residuals, rank, s = ans
    check_lstsq(a, rank)
    dx, dres = _lstsq_tangents(a, b, x, t, np.zeros((len(t),) + np.shape(b)))
    U, s_, Vh = np.linalg.svd(a, full_matrices=False)
    ds = np.real(np.diagonal(conjugate_transpose(U) @ t @ conjugate_transpose(Vh), axis1=-2,
                             axis2=-1))
    return dx, dres if np.size(residuals) else None, None, ds


def _lstsq_tangent_b(t, ans, a, b, rcond=None):
    x, residuals, rank, s = ans
    check_lstsq(a, rank)
    dx, dres = _lstsq_tangents(a, b, x, np.zeros((len(t),) + np.shape(a)), t)
    return dx, dres if np.size(residuals) else None, None, None


defrule(
    np.linalg.lstsq,
    "a b",
    keywords={"rcond": None},
    tangents=(_lstsq_tangent_a, _lstsq_tangent_b),
    adjoints=("lstsq_adjoint(g, ans, a, b, 0)", "lstsq_adjoint(g, ans, a, b, 1)"),
    outputs=4,
    doc="For a matrix of full column rank with at least as many rows as columns (x is then "
    "(AᵀA)⁻¹Aᵀb); the rank has no derivative; a wide or rank-deficient matrix is refused.",
)
