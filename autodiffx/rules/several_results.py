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

from .helpers import shift_axis
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
    keywords={"UPLO": "L"},
    tangents=(_eigh_tangent,),
    adjoints=("eigh_adjoint(g, ans, a, UPLO)",),
    outputs=2,
    rank=lambda a, **keywords: None if a is None else (a - 1, a),
    doc="eigh reads one triangle of a (UPLO), so entries outside it have derivative 0. "
    "Eigenvectors have no derivative where eigenvalues repeat (the result holds inf or "
    "nan there); eigenvalues alone are differentiable everywhere but at crossings.",
)
