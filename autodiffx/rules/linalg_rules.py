"""The derivative rules for NumPy's linear algebra: ``np.linalg`` functions with one output,
norms of every order, and the matrix shape functions (trace, diagonals, triangles, Kronecker,
tensor and cross products).

Read a rule as maths, as in :mod:`.numpy_rules`: ``g`` is the output's cotangent, ``ans``
the output, and ``Aᵀ`` is written ``a.T`` for a matrix and ``np.swapaxes(a, -1, -2)`` for a
stack of them (reverse mode keeps the branch for the ranks it sees). Stacked matrices are
accepted wherever NumPy accepts them. Adjoints call NumPy functions that have rules of their
own, so that forward mode can differentiate them again (``autodiffx.hessian``).

Functions with several outputs (``slogdet``, ``eig``, ``eigh``, ``svd``, ``qr``,
``lstsq``) have their rules in :mod:`.several_results`. On complex matrices every
transpose of a real formula is a conjugate transpose (``docs/complex.md``).
"""

from __future__ import annotations

import numpy as np

from . import helpers
from .helpers import (
    adjugate,
    conjugate_transpose,
    cross_axes,
    norm_partials,
    pad_tangent,
    shift_axis,
    tensordot_axes,
)
from .numpy_rules import _reduction_rank
from .registry import defrule


def _transposed(x):
    """Aᵀ for a matrix, each matrix transposed for a stack."""
    return np.swapaxes(x, -1, -2)


def _same_rank(x, *_, **__):
    return x


# --------------------------------------------------------------------------- solve, inv, det


def _solve_tangent_b(t, ans, a, b):
    if np.ndim(b) == 1:  # NumPy >= 2: a 1-d b, and only that, is a vector
        return np.linalg.solve(a, pad_tangent(t[..., np.newaxis], np.ndim(a)))[..., 0]
    return np.linalg.solve(a, pad_tangent(t, np.ndim(ans)))


def _solve_tangent_a(t, ans, a, b):
    # dx = -A⁻¹ dA x
    x = ans[..., np.newaxis] if np.ndim(b) == 1 else ans
    dx = -np.linalg.solve(a, pad_tangent(t, np.ndim(x)) @ x)
    return dx[..., 0] if np.ndim(b) == 1 else dx


defrule(
    np.linalg.solve,
    "a b",
    tangents=(_solve_tangent_a, _solve_tangent_b),
    adjoints=(
        # Ā = -B̄ xᵀ with B̄ = A⁻ᵀ g
        "-np.outer(np.linalg.solve(a.T, g), ans) if np.ndim(a) == 2 and np.ndim(b) == 1 "
        "else -np.linalg.solve(a.T, g) @ ans.T if np.ndim(a) == 2 and np.ndim(b) == 2 "
        "else -unbroadcast(np.linalg.solve(np.swapaxes(a, -1, -2), g[..., np.newaxis]) "
        "@ ans[..., np.newaxis, :], a) if np.ndim(b) == 1 "
        "else -unbroadcast(np.linalg.solve(np.swapaxes(a, -1, -2), g) "
        "@ np.swapaxes(ans, -1, -2), a)",
        # B̄ = A⁻ᵀ g
        "np.linalg.solve(a.T, g) if np.ndim(a) == 2 "
        "else unbroadcast(np.linalg.solve(np.swapaxes(a, -1, -2), g[..., np.newaxis])[..., 0], "
        "b) if np.ndim(b) == 1 "
        "else unbroadcast(np.linalg.solve(np.swapaxes(a, -1, -2), g), b)",
    ),
    rank=lambda a, b, **_: None if a is None or b is None else a - 1 if b == 1 else max(a, b),
    doc="As NumPy >= 2 reads it: a 1-d b is one vector, anything else a (stack of) matrices "
    "of right-hand sides. Each adjoint solves with Aᵀ once (A̅ and B̅ each their own).",
    name="solve",
)
defrule(
    np.linalg.inv,
    "a",
    tangents=(lambda t, ans, a: -(ans @ t @ ans),),
    adjoints=(
        "-ans.T @ g @ ans.T if np.ndim(a) == 2 "
        "else -np.swapaxes(ans, -1, -2) @ g @ np.swapaxes(ans, -1, -2)",
    ),
    rank=_same_rank,
    name="inv",
)


def _det_tangent(t, ans, a):
    # d det(A) = det(A) tr(A⁻¹ dA), that is tr(adj(A) dA), which holds at singular A too
    if np.all(helpers.invertible(a, ans)):
        return ans * np.trace(np.linalg.solve(a, t), axis1=-2, axis2=-1)
    return np.sum(_transposed(adjugate(a)) * t, axis=(-2, -1))


defrule(
    np.linalg.det,
    "a",
    tangents=(_det_tangent,),
    adjoints=(
        "g * ans * np.linalg.inv(a).T if np.ndim(a) == 2 and invertible(a, ans) "
        "else g * adjugate(a).T if np.ndim(a) == 2 "
        "else (g * ans)[..., np.newaxis, np.newaxis] * np.swapaxes(np.linalg.inv(a), -1, -2) "
        "if np.all(invertible(a, ans)) "
        "else np.expand_dims(g, (-2, -1)) * np.swapaxes(adjugate(a), -1, -2)",
    ),
    rank=lambda a, **_: None if a is None else a - 2,
    doc="d det(A)/dA = det(A) A⁻ᵀ; at a singular or nearly singular matrix (|det A| below "
    "sqrt(eps) times the product of its row norms, where A⁻¹ is not or barely defined) it is the "
    "transposed adjugate, from the SVD, whose own derivative follows svd's rule.",
    name="det",
)


# --------------------------------------------------------------------------- factorisations


def _cholesky_tangent(t, ans, a, upper=False):
    # dL = L Φ(L⁻¹ dA L⁻ᵀ), dA the symmetric matrix made of the triangle NumPy reads; for a
    # complex (Hermitian) a, L⁻¹ dA L⁻ᴴ, and NumPy reads the diagonal's real part only
    factor = conjugate_transpose(ans) if upper else ans
    triangle = np.triu if upper else np.tril
    read = triangle(t)
    diagonal = np.real(t) if np.iscomplexobj(t) else t
    symmetric = read + conjugate_transpose(read) - np.eye(np.shape(t)[-1]) * diagonal
    half = np.linalg.solve(factor, symmetric)  # L⁻¹ dA
    inner = np.linalg.solve(factor, conjugate_transpose(half))  # L⁻¹ dA L⁻ᵀ (symmetric)
    d_factor = factor @ (np.tril(inner) - np.eye(np.shape(t)[-1]) * inner / 2)
    return conjugate_transpose(d_factor) if upper else d_factor


defrule(
    np.linalg.cholesky,
    "a",
    keywords={"upper": False},
    tangents=(_cholesky_tangent,),
    adjoints=("cholesky_adjoint(g, ans, upper)",),
    rank=_same_rank,
    doc="NumPy reads only the lower triangle of a (the upper one with upper=True), so the "
    "gradient lives on that triangle: Murray's symmetric gradient S = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹) "
    "folded onto it (an off-diagonal entry gets S_ij + S_ji, the other triangle 0). For a "
    "symmetric a built by the program, such as (x + x.T) / 2 or a kernel matrix, this gives "
    "the same gradient of the program as the symmetric convention. A complex a is read as "
    "the Hermitian matrix of that triangle, with the real part of the diagonal: the "
    "transposes become conjugate transposes, and the diagonal's imaginary part has "
    "derivative 0.",
    name="cholesky",
)


def _pinv_tangent(t, ans, a):
    # Golub & Pereyra (1973), for a of constant (full) rank:
    # dA⁺ = -A⁺ dA A⁺ + A⁺ A⁺ᵀ dAᵀ (I - A A⁺) + (I - A⁺ A) dAᵀ A⁺ᵀ A⁺, with conjugate
    # transposes for complex values
    rows, columns = np.shape(a)[-2:]
    t_t = conjugate_transpose(t)
    ans_h = conjugate_transpose(ans)
    return (
        -(ans @ t @ ans)
        + ans @ ans_h @ t_t @ (np.eye(rows) - a @ ans)
        + (np.eye(columns) - ans @ a) @ t_t @ ans_h @ ans
    )


defrule(
    np.linalg.pinv,
    "a",
    tangents=(_pinv_tangent,),
    adjoints=("pinv_adjoint(g, ans, a)",),
    rank=_same_rank,
    doc="The derivative of the pseudo-inverse at a matrix of full rank (Golub and Pereyra); "
    "the pseudo-inverse jumps where the rank changes, and at a rank-deficient matrix the "
    "formula is the derivative along perturbations that keep the rank. rcond, rtol and "
    "hermitian are refused.",
    name="pinv",
)


# --------------------------------------------------------------------------- products


def _matrix_power_tangent(t, ans, a, n):
    if n == 0:
        return np.zeros((len(t), *np.shape(ans)))
    base = a if n > 0 else np.linalg.inv(a)
    d_base = t if n > 0 else -(base @ t @ base)
    powers = [np.eye(np.shape(a)[-1])]
    for _ in range(abs(n) - 1):
        powers.append(powers[-1] @ base)
    # d(Bᵐ) = Σ Bⁱ dB Bᵐ⁻¹⁻ⁱ
    return sum(powers[i] @ d_base @ powers[abs(n) - 1 - i] for i in range(abs(n)))


defrule(
    np.linalg.matrix_power,
    "a n",
    tangents=(_matrix_power_tangent, None),
    adjoints=("matrix_power_adjoint(g, a, n)", None),
    rank=lambda a, n, **_: a,
    doc="Any whole n: A⁰ = I is constant; a negative n is the power of A⁻¹.",
    name="matrix_power",
)


def _multi_dot_tangent(ts, ans, arrays):
    matrices = [np.reshape(a, (1, -1)) if i == 0 and np.ndim(a) == 1 else a
                for i, a in enumerate(arrays)]
    if np.ndim(matrices[-1]) == 1:
        matrices[-1] = np.reshape(matrices[-1], (-1, 1))
    total = 0.0
    for i, t in enumerate(ts):
        t = np.reshape(t, (len(t), *np.shape(matrices[i])))
        left = np.linalg.multi_dot(matrices[:i]) if i > 1 else matrices[0] if i == 1 else None
        right_matrices = matrices[i + 1:]
        right = (np.linalg.multi_dot(right_matrices) if len(right_matrices) > 1
                 else right_matrices[0] if right_matrices else None)
        part = t if left is None else left @ t
        total = total + (part if right is None else part @ right)
    return np.reshape(total, (len(ts[0]), *np.shape(ans)))


defrule(
    np.linalg.multi_dot,
    "arrays",
    tangents=(_multi_dot_tangent,),
    adjoints=("multi_dot_adjoint(g, arrays)",),
    sequence=True,
    doc="A 1-d first (last) array is a row (column) vector, as NumPy reads it; out= is "
    "refused.",
    name="multi_dot",
)


def _norm_tangent(t, ans, x, ord=None, axis=None, keepdims=False):
    partials = norm_partials(x, ans, ord, axis, keepdims)
    if np.iscomplexobj(x):  # the partials are those of a real function of a complex x
        product = np.real(np.conj(partials) * t)
    else:
        product = t * partials
    return np.sum(product, axis=shift_axis(axis, np.ndim(x)), keepdims=keepdims)


defrule(
    np.linalg.norm,
    "x",
    keywords={"ord": None, "axis": None, "keepdims": False},
    tangents=(_norm_tangent,),
    adjoints=(
        # the Euclidean (Frobenius) norm, x / ‖x‖; every other order by its partials
        "norm_adjoint(g, ans, x, ord, axis, keepdims) "
        "if ord is None or ord == 'fro' or ord == 2 and np.ndim(x) == 1 "
        "else unreduce(g, x, axis, keepdims) * norm_partials(x, ans, ord, axis, keepdims)",
    ),
    rank=_reduction_rank,  # ord changes no rank: the axes decide
    name="norm",
    doc="Every order NumPy accepts, on real and complex input: vectors None, 2, 1, inf, -inf, "
    "0, any p; "
    "matrices None, 'fro', 'nuc', 1, -1, inf, -inf, 2, -2, stacked over the other axes. The "
    "gradient of the norm at the origin is taken as 0. Other kinks: |x_i| contributes "
    "sign(x_i), 0 at 0; entries, columns, rows or singular values tied for the extreme share "
    "the derivative equally; a singular value of exactly 0 contributes nothing; ord=0 (a "
    "count) has derivative 0. Of a complex x, the partials are those of the real function "
    "of (Re x, Im x): x/‖x‖, sign(x) = x/|x|, and U Vᴴ weighted for the spectral orders.",
)

# --------------------------------------------------------------------------- diagonals


def _trace_tangent(t, ans, x, offset=0, axis1=0, axis2=1):
    return np.trace(t, offset=offset, axis1=shift_axis(axis1), axis2=shift_axis(axis2))


defrule(
    np.trace,
    "x",
    keywords={"offset": 0, "axis1": 0, "axis2": 1},
    tangents=(_trace_tangent,),
    adjoints=(
        "g * np.eye(*np.shape(x), k=offset) if np.ndim(x) == 2 and (axis1, axis2) == (0, 1) "
        "else np.moveaxis(np.expand_dims(g, (-2, -1)) * np.eye(np.shape(x)[axis1], "
        "np.shape(x)[axis2], k=offset), (-2, -1), (axis1, axis2))",
    ),
    rank=lambda x, **_: None if x is None else x - 2,
    doc="dtype= and out= are refused.",
    name="trace",
)
defrule(
    np.diagonal,
    "x",
    keywords={"offset": 0, "axis1": 0, "axis2": 1},
    tangents=(
        lambda t, ans, x, offset=0, axis1=0, axis2=1: np.diagonal(
            t, offset=offset, axis1=shift_axis(axis1), axis2=shift_axis(axis2)),
    ),
    adjoints=("undiagonal(g, x, offset, axis1, axis2)",),
    rank=lambda x, **_: None if x is None else x - 1,
    name="diagonal",
)


def _diag_tangent(t, ans, v, k=0):
    if np.ndim(v) == 2:
        return np.diagonal(t, offset=k, axis1=1, axis2=2)
    # v on the k-th diagonal: rows[p, i] = 1 where v_i sits in row p, columns likewise
    size = np.shape(ans)[0]
    rows = np.eye(size, np.shape(v)[0], k=-max(-k, 0))
    columns = np.eye(size, np.shape(v)[0], k=-max(k, 0))
    return (rows * t[:, np.newaxis, :]) @ columns.T


defrule(
    np.diag,
    "v",
    keywords={"k": 0},
    tangents=(_diag_tangent,),
    adjoints=("np.diagonal(g, k) if np.ndim(v) == 1 else undiagonal(g, v, k)",),
    rank=lambda v, **_: None if v is None else 3 - v,
    doc="A 1-d v makes a matrix with v on diagonal k; a matrix v gives its diagonal k.",
    name="diag",
)


def _triangle_rule(function, name):
    def tangent(t, ans, m, k=0):
        if np.ndim(m) == 1:  # NumPy repeats a vector as the rows of a square matrix
            t = np.broadcast_to(t[:, np.newaxis, :], (len(t), *np.shape(ans)))
        return function(t, k)

    defrule(
        function,
        "m",
        keywords={"k": 0},
        tangents=(tangent,),
        adjoints=(
            f"np.{name}(g, k) if np.ndim(m) >= 2 else np.sum(np.{name}(g, k), axis=0)",
        ),
        rank=lambda m, **_: None if m is None else max(m, 2),
        doc="A 1-d m is repeated as the rows of a square matrix, as NumPy does.",
        name=name,
    )


_triangle_rule(np.tril, "tril")
_triangle_rule(np.triu, "triu")


# --------------------------------------------------------------------------- tensor products


def _kron_tangent(side):
    def tangent(t, ans, a, b):
        padded = pad_tangent(t, np.ndim(ans))
        if side == 0:
            return np.kron(padded, b)
        return np.kron(np.expand_dims(a, 0), padded)

    return tangent


defrule(
    np.kron,
    "a b",
    tangents=(_kron_tangent(0), _kron_tangent(1)),
    adjoints=("unkron(g, a, b, 0)", "unkron(g, a, b, 1)"),
    rank=lambda a, b, **_: None if a is None or b is None else max(a, b),
    name="kron",
)


def _tensordot_tangent(side):
    def tangent(t, ans, a, b, axes=2):
        a_axes, b_axes = tensordot_axes(np.ndim(a), np.ndim(b), axes)
        if side == 0:
            return np.tensordot(t, b, axes=([i + 1 for i in a_axes], b_axes))
        out = np.tensordot(a, t, axes=(a_axes, [i + 1 for i in b_axes]))
        return np.moveaxis(out, np.ndim(a) - len(a_axes), 0)

    return tangent


def _tensordot_rank(a, b, *positional, axes=2, **_):
    if a is None or b is None or positional:  # axes given by position: its rank only
        return None
    if np.ndim(axes) == 0:
        return a + b - 2 * axes
    first = axes[0]
    return a + b - 2 * (1 if np.ndim(first) == 0 else len(first))


defrule(
    np.tensordot,
    "a b",
    keywords={"axes": 2},
    tangents=(_tensordot_tangent(0), _tensordot_tangent(1)),
    adjoints=("tensordot_adjoint(g, a, b, axes, 0)", "tensordot_adjoint(g, a, b, axes, 1)"),
    rank=_tensordot_rank,
    doc="Every form of axes: a count, a pair of axes, a pair of sequences of axes.",
    name="tensordot",
)


def _cross_tangent(side):
    def tangent(t, ans, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
        axisa, axisb, axisc = cross_axes(a, b, axisa, axisb, axisc, axis)
        # directions first, each vector on the last axis, broadcast like the result
        moved = pad_tangent(np.moveaxis(t, shift_axis(axisa if side == 0 else axisb), -1),
                            np.ndim(ans))
        if side == 0:
            product = np.cross(moved, np.moveaxis(b, axisb, -1))
        else:
            product = np.cross(np.moveaxis(a, axisa, -1), moved)
        return np.moveaxis(product, -1, axisc % np.ndim(ans) + 1)

    return tangent


defrule(
    np.cross,
    "a b",
    keywords={"axisa": -1, "axisb": -1, "axisc": -1, "axis": None},
    tangents=(_cross_tangent(0), _cross_tangent(1)),
    adjoints=(
        "cross_adjoint(g, a, b, 0, axisa, axisb, axisc, axis)",
        "cross_adjoint(g, a, b, 1, axisa, axisb, axisc, axis)",
    ),
    rank=lambda a, b, **_: None if a is None or b is None else max(a, b),
    doc="3-vectors, along any axes, broadcast as NumPy does; 2-vectors (deprecated by "
    "NumPy 2) are refused.",
    name="cross",
)
