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
from .helpers import check_lstsq, shift_axis
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
    # d log|det A| = tr(A^-1 dA); the sign is piecewise constant
    return None, np.sum(np.swapaxes(np.linalg.inv(a), -1, -2) * t, axis=(-2, -1))


defrule(
    np.linalg.slogdet,
    "a",
    real_only=True,  # complex matrices: not yet (conjugate transposes)
    tangents=(_slogdet_tangent,),
    adjoints=("g[1] * np.linalg.inv(a).T if np.ndim(a) == 2 else "
              "np.expand_dims(g[1], (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)",),
    outputs=2,
    rank=lambda a: None if a is None else (a - 2, a - 2),
    doc="The sign has derivative 0; log|det A| has none where A is singular.",
)


def _eigh_tangent(t, ans, a, UPLO="L"):  # noqa: N803 - NumPy's keyword
    w, V = ans
    if UPLO.upper() == "L":
        S = np.tril(t) + np.swapaxes(np.tril(t, -1), -1, -2)
    else:
        S = np.triu(t) + np.swapaxes(np.triu(t, 1), -1, -2)
    M = np.swapaxes(V, -1, -2) @ S @ V  # the perturbation in the eigenbasis
    eye = np.eye(np.shape(w)[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        # repeated eigenvalues: the eigenvectors' tangent is inf or nan, the values' fine
        F = 1 / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye) - eye
        return np.diagonal(M, axis1=-2, axis2=-1), V @ (F * M)


defrule(
    np.linalg.eigh,
    "a",
    real_only=True,  # complex matrices: not yet (conjugate transposes)
    keywords={"UPLO": "L"},
    tangents=(_eigh_tangent,),
    adjoints=("eigh_adjoint(g, ans, a, UPLO)",),
    outputs=2,
    rank=lambda a, **keywords: None if a is None else (a - 1, a),
    doc="eigh reads one triangle of a (UPLO), so entries outside it have derivative 0. "
    "Eigenvectors have no derivative where eigenvalues repeat (the result holds inf or "
    "nan there); eigenvalues alone are differentiable everywhere but at crossings.",
)


def _svd_tangent(t, ans, a, full_matrices=True):
    """dS = diag(dP), dU = U (F * (dP S + S dP^T)) + (I - U U^T) dA V S^-1 and likewise
    for V, with dP = U^T dA V (Townsend 2016), for the reduced factors."""
    _svd_supported(a, full_matrices)
    U, s, Vh = ans
    V = np.swapaxes(Vh, -1, -2)
    UT = np.swapaxes(U, -1, -2)
    tT = np.swapaxes(t, -1, -2)
    dP = UT @ t @ V
    dPT = np.swapaxes(dP, -1, -2)
    k = np.shape(s)[-1]
    S = np.expand_dims(s, -1) * np.eye(k)
    F = spectral_gaps(s)
    inverse = np.expand_dims(1 / s, -2)
    dU = U @ (F * (dP @ S + S @ dPT))
    dV = V @ (F * (S @ dP + dPT @ S))
    m, n = np.shape(a)[-2:]
    if m > k:
        dU = dU + ((t @ V - U @ dP) * inverse)
    if n > k:
        dV = dV + ((tT @ U - V @ dPT) * inverse)
    return dU, np.diagonal(dP, axis1=-2, axis2=-1), np.swapaxes(dV, -1, -2)


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
    real_only=True,  # complex matrices: not yet (conjugate transposes)
    keywords={"full_matrices": True},  # compute_uv and hermitian are refused: no rule
    tangents=(_svd_tangent,),
    adjoints=("svd_adjoint(g, ans, a, full_matrices)",),
    outputs=3,
    rank=lambda a, **keywords: None if a is None else (a, a - 1, a),
    doc="Singular vectors have a derivative only where the singular values are distinct and "
    "nonzero (inf or nan elsewhere), and, for a matrix that is not square, with "
    "full_matrices=False; singular values have one wherever they are distinct and nonzero.",
)


def _svdvals_tangent(t, ans, x):
    U, s, Vh = np.linalg.svd(x, full_matrices=False)
    return np.diagonal(np.swapaxes(U, -1, -2) @ t @ np.swapaxes(Vh, -1, -2), axis1=-2,
                       axis2=-1)


defrule(
    np.linalg.svdvals,
    "x",
    real_only=True,  # complex matrices: not yet (conjugate transposes)
    tangents=(_svdvals_tangent,),
    adjoints=("svd_adjoint((None, g, None), np.linalg.svd(x, full_matrices=False), x, False)",),
    rank=lambda x: None if x is None else x - 1,
    doc="ds_i = u_i^T dA v_i, where the singular values are distinct and nonzero.",
)


def _eigvalsh_tangent(t, ans, a, UPLO="L"):  # noqa: N803 - NumPy's keyword
    return _eigh_tangent(t, np.linalg.eigh(a, UPLO=UPLO), a, UPLO)[0]


defrule(
    np.linalg.eigvalsh,
    "a",
    real_only=True,  # complex matrices: not yet (conjugate transposes)
    keywords={"UPLO": "L"},
    tangents=(_eigvalsh_tangent,),
    adjoints=("eigh_adjoint((g, None), np.linalg.eigh(a, UPLO), a, UPLO)",),
    rank=lambda a, **keywords: None if a is None else a - 1,
    doc="dw_i = v_i^T dS v_i, for the symmetric S read from one triangle of a (UPLO).",
)


def _qr_tangent(t, ans, a, mode="reduced"):
    """With X = Q^T dA R^-1 and its antisymmetric part from below,
    Omega = tril(X, -1) - tril(X, -1)^T: dQ = Q (Omega - X) + dA R^-1, dR = (X - Omega) R."""
    _qr_supported(a, mode)
    Q, R = ans
    right = np.swapaxes(np.linalg.solve(np.swapaxes(R, -1, -2), np.swapaxes(t, -1, -2)),
                        -1, -2)  # dA R^-1
    X = np.swapaxes(Q, -1, -2) @ right
    lower = np.tril(X, -1)
    omega = lower - np.swapaxes(lower, -1, -2)
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
    real_only=True,  # complex matrices: not yet (conjugate transposes)
    keywords={"mode": "reduced"},
    tangents=(_qr_tangent,),
    adjoints=("qr_adjoint(g, ans, a)",),
    outputs=2,
    rank=lambda a, **keywords: None if a is None else (a, a),
    doc="For a square or tall matrix of full rank, mode='reduced'.",
)


def _lstsq_tangents(a, b, x, tA, tb):
    """dx = (AᵀA)⁻¹ (dAᵀ r + Aᵀ (db - dA x)), with r = b - A x; d(sum of squared residuals)
    = 2 rᵀ (db - dA x), since Aᵀ r = 0 at the solution."""
    column = np.ndim(b) == 1  # then x, r and the tangents get a trailing axis here
    r = b - a @ x
    if column:
        x, r, tb = x[:, None], r[:, None], tb[..., None]
    dr = tb - tA @ x  # directions first, broadcast over them
    dx = np.linalg.solve(a.T @ a, np.swapaxes(tA, -1, -2) @ r + a.T @ dr)
    dres = 2 * np.sum(r * dr, axis=-2)
    return (dx[..., 0], dres[..., 0]) if column else (dx, dres)


def _lstsq_tangent_a(t, ans, a, b, rcond=None):
    x, residuals, rank, s = ans
    check_lstsq(a, rank)
    dx, dres = _lstsq_tangents(a, b, x, t, np.zeros((len(t),) + np.shape(b)))
    U, s_, Vh = np.linalg.svd(a, full_matrices=False)
    ds = np.diagonal(U.T @ t @ Vh.T, axis1=-2, axis2=-1)
    return dx, dres if np.size(residuals) else None, None, ds


def _lstsq_tangent_b(t, ans, a, b, rcond=None):
    x, residuals, rank, s = ans
    check_lstsq(a, rank)
    dx, dres = _lstsq_tangents(a, b, x, np.zeros((len(t),) + np.shape(a)), t)
    return dx, dres if np.size(residuals) else None, None, None


defrule(
    np.linalg.lstsq,
    "a b",
    real_only=True,  # complex matrices: not yet (conjugate transposes)
    keywords={"rcond": None},
    tangents=(_lstsq_tangent_a, _lstsq_tangent_b),
    adjoints=("lstsq_adjoint(g, ans, a, b, 0)", "lstsq_adjoint(g, ans, a, b, 1)"),
    outputs=4,
    doc="For a matrix of full column rank with at least as many rows as columns (x is then "
    "(AᵀA)⁻¹Aᵀb); the rank has no derivative; a wide or rank-deficient matrix is refused.",
)
