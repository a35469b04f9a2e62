"""The derivative rules for NumPy's statistics: running products, the NaN-ignoring
reductions, weighted averages, covariance and correlation, medians and quantiles,
convolution, interpolation and polynomials.

Conventions at kinks (ties at a median or quantile, a whole rank, NaN entries) are stated
in each rule's ``doc``.
"""

from __future__ import annotations

import numpy as np

from ..errors import MissingRuleError
from . import helpers
from .helpers import normalize_axis, pad_tangent, shift_axis
from .registry import defrule


def _reduction_rank(rank, axis=None, keepdims=False, **_):
    if rank is None or keepdims:
        return rank
    if axis is None:
        return 0
    return rank - (len(axis) if isinstance(axis, (tuple, list)) else 1)


def _reduce(t, x, axis, keepdims):
    """Sum the tangent ``t`` (directions first) over ``x``'s ``axis``."""
    return np.sum(t, axis=shift_axis(axis, np.ndim(x)), keepdims=keepdims)


REDUCE = {"axis": None, "keepdims": False}
STATISTIC = {"axis": None, "keepdims": False, "ddof": 0}

# --------------------------------------------------------------------------- running products


def _cumprod_tangent(t, ans, x, axis=None):
    if axis is None:  # np.cumprod flattens
        t, x, axis = np.reshape(t, (len(t), -1)), np.ravel(x), 0
    x_last = np.moveaxis(x, axis, -1)
    # d ans[k] = x[k] d ans[k - 1] + (product of the entries before k) t[k]
    d = helpers.linear_scan(x_last, helpers.exclusive_cumprod(x_last)
                            * np.moveaxis(t, shift_axis(axis), -1))
    return np.moveaxis(d, -1, shift_axis(axis))


defrule(
    np.cumprod,
    "x",
    keywords={"axis": None},
    tangents=(_cumprod_tangent,),
    adjoints=("uncumprod(g, x, axis)",),
    rank=lambda x, axis=None, **_: 1 if axis is None else x,
    doc="Exact where x holds zeros: no division, each partial is a product of other entries.",
)

# --------------------------------------------------------------------------- ignoring NaN


def _valid(x):
    return ~np.isnan(x)


def _nansum_tangent(t, ans, x, axis=None, keepdims=False):
    return _reduce(np.where(_valid(x), t, 0.0), x, axis, keepdims)


def _nanmean_tangent(t, ans, x, axis=None, keepdims=False):
    count = np.maximum(np.sum(_valid(x), axis=axis, keepdims=True), 1)
    return _reduce(np.where(_valid(x), t, 0.0) / count, x, axis, keepdims)


def _nan_spread(t, x, axis, keepdims):
    centred = np.where(_valid(x), x - np.nanmean(x, axis=axis, keepdims=True), 0.0)
    if np.iscomplexobj(x):  # half the derivative of |x - mean|^2: Re(conj(x - mean) dx)
        return _reduce(np.real(np.conj(centred) * t), x, axis, keepdims)
    return _reduce(t * centred, x, axis, keepdims)


def _nanvar_tangent(t, ans, x, axis=None, keepdims=False, ddof=0):
    count = np.sum(_valid(x), axis=axis, keepdims=keepdims)
    return 2 * _nan_spread(t, x, axis, keepdims) / (count - ddof)


def _nanstd_tangent(t, ans, x, axis=None, keepdims=False, ddof=0):
    count = np.sum(_valid(x), axis=axis, keepdims=keepdims)
    # helpers.safe_divide, looked up when called: forward mode lifts it (forward over
    # forward meets Duals here)
    return helpers.safe_divide(_nan_spread(t, x, axis, keepdims), ans * (count - ddof))


NAN_DOC = "NaN entries are left out, so their derivative is 0."

defrule(
    np.nansum,
    "x",
    keywords=REDUCE,
    tangents=(_nansum_tangent,),
    adjoints=("np.where(np.isnan(x), 0.0, unreduce(g, x, axis, keepdims))",),
    rank=_reduction_rank,
    doc=NAN_DOC,
)
defrule(
    np.nanmean,
    "x",
    keywords=REDUCE,
    tangents=(_nanmean_tangent,),
    adjoints=(
        "np.where(np.isnan(x), 0.0, unreduce(g, x, axis, keepdims) "
        "/ np.sum(~np.isnan(x), axis=axis, keepdims=True))",
    ),
    rank=_reduction_rank,
    doc=NAN_DOC,
)
defrule(
    np.nanvar,
    "x",
    keywords=STATISTIC,
    tangents=(_nanvar_tangent,),
    adjoints=(
        "np.where(np.isnan(x), 0.0, 2 * unreduce(g, x, axis, keepdims) "
        "* (x - np.nanmean(x, axis=axis, keepdims=True)) "
        "/ (np.sum(~np.isnan(x), axis=axis, keepdims=True) - ddof))",
    ),
    rank=_reduction_rank,
    doc=NAN_DOC,
)
defrule(
    np.nanstd,
    "x",
    keywords=STATISTIC,
    tangents=(_nanstd_tangent,),
    adjoints=(
        "safe_divide(np.where(np.isnan(x), 0.0, unreduce(g, x, axis, keepdims) "
        "* (x - np.nanmean(x, axis=axis, keepdims=True))), unreduce(ans, x, axis, keepdims) "
        "* (np.sum(~np.isnan(x), axis=axis, keepdims=True) - ddof))",
    ),
    rank=_reduction_rank,
    doc=NAN_DOC + " Where the standard deviation is exactly 0 its gradient is taken as 0.",
)

# --------------------------------------------------------------------------- weighted averages


def _along_axis(t, a, weights, axis):
    """The tangent of 1-d ``weights`` laid along ``axis`` of ``a`` (directions first)."""
    if np.ndim(weights) == 1 and np.ndim(a) > 1:
        shape = [1] * np.ndim(a)
        shape[axis] = -1
        return np.reshape(t, (len(t), *shape))
    return t


def _average_tangent_a(t, ans, a, axis=None, weights=None, keepdims=False):
    w = helpers.weights_like(a, weights, axis)
    return _reduce(t * (w / np.sum(w, axis=axis, keepdims=True)), a, axis, keepdims)


def _average_tangent_weights(t, ans, a, axis=None, weights=None, keepdims=False):
    w = helpers.weights_like(a, weights, axis)
    total = np.sum(w, axis=axis, keepdims=True)
    mean = np.sum(w * a, axis=axis, keepdims=True) / total
    return _reduce(_along_axis(t, a, weights, axis) * ((a - mean) / total), a, axis, keepdims)


defrule(
    np.average,
    "a axis weights",
    keywords={"keepdims": False},
    tangents=(_average_tangent_a, None, _average_tangent_weights),
    adjoints=(
        "unreduce(g, a, axis, keepdims) * weights_like(a, weights, axis) "
        "/ np.sum(weights_like(a, weights, axis), axis=axis, keepdims=True)",
        None,
        "unweigh(unreduce(g, a, axis, keepdims) * (a - unreduce(ans, a, axis, keepdims)) "
        "/ np.sum(weights_like(a, weights, axis), axis=axis, keepdims=True), a, weights, axis)",
    ),
    optional=2,
    doc="Differentiable in a and in the weights; returned=True (a tuple) is refused.",
)

# --------------------------------------------------------------------------- covariance


def _cov_tangent(side):
    def tangent(t, ans, m, y=None, rowvar=True, bias=False, ddof=None):
        X = helpers.cov_variables(m, y, rowvar)
        centred = X - np.mean(X, axis=1, keepdims=True)

        def rows(d):  # one direction of the tangent, as the rows of X it moves
            if side == 0:
                return helpers.cov_variables(d, None if y is None else np.zeros(np.shape(y)),
                                             rowvar)
            return helpers.cov_variables(np.zeros(np.shape(m)), d, rowvar)

        T = np.stack([rows(d) for d in t])
        T = T - np.mean(T, axis=2, keepdims=True)
        product = T @ centred.T
        dC = (product + np.swapaxes(product, 1, 2)) / helpers.cov_divisor(
            np.shape(X)[1], bias, ddof)
        return np.reshape(dC, (len(t), *np.shape(ans)))

    return tangent


defrule(
    np.cov,
    "m y",
    keywords={"rowvar": True, "bias": False, "ddof": None},
    tangents=(_cov_tangent(0), _cov_tangent(1)),
    adjoints=("uncov(g, m, y, rowvar, bias, ddof, 0)", "uncov(g, m, y, rowvar, bias, ddof, 1)"),
    optional=1,
    doc="m and y, rowvar, bias and ddof; frequency and analytic weights are refused.",
    real_only=True,
)


def _corrcoef_tangent(side):
    cov_tangent = _cov_tangent(side)

    def tangent(t, ans, x, y=None, rowvar=True):
        C = np.cov(x, y, rowvar=rowvar)
        variables = int(round(np.size(C) ** 0.5))
        dC = np.reshape(cov_tangent(t, C, x, y, rowvar), (len(t), variables, variables))
        C = np.reshape(C, (variables, variables))
        R = np.reshape(ans, (variables, variables))
        variances = np.sum(C * np.eye(variables), axis=1)
        s = np.sqrt(variances)
        relative = np.sum(dC * np.eye(variables), axis=2) / (2 * variances)  # dC_ii / 2C_ii
        dR = dC / np.outer(s, s) - R * (relative[:, :, np.newaxis] + relative[:, np.newaxis, :])
        return np.reshape(dR, (len(t), *np.shape(ans)))

    return tangent


defrule(
    np.corrcoef,
    "x y",
    keywords={"rowvar": True},
    tangents=(_corrcoef_tangent(0), _corrcoef_tangent(1)),
    adjoints=("uncorrcoef(g, ans, x, y, rowvar, 0)", "uncorrcoef(g, ans, x, y, rowvar, 1)"),
    optional=1,
    doc="The derivative of C / (s s^T); NumPy's clipping to [-1, 1] is not differentiated "
    "(it only moves rounding errors). A variable with zero variance gives NaN, as NumPy does.",
    real_only=True,
)

# --------------------------------------------------------------------------- order statistics


def _median_tangent(t, ans, x, axis=None, keepdims=False):
    return _reduce(t * helpers.quantile_weights(x, 0.5, axis), x, axis, keepdims)


defrule(
    np.median,
    "x",
    keywords=REDUCE,
    tangents=(_median_tangent,),
    adjoints=("unreduce(g, x, axis, keepdims) * quantile_weights(x, 0.5, axis)",),
    rank=_reduction_rank,
    doc="With an odd count the middle entry gets all of the derivative; with an even count "
    "the two middle entries get half each. Ties are told apart by a stable argsort (the "
    "earlier of equal entries ranks lower).",
)


def _quantile_tangent_x(scale):
    def tangent(t, ans, x, q, axis=None, keepdims=False, method="linear"):
        helpers.check_quantile_method(method)
        q = np.divide(q, scale)
        weights = helpers.quantile_weights(x, q, axis)  # q's axes, then x's
        lead = np.ndim(q)
        spread = np.reshape(t, (len(t), *(1,) * lead, *np.shape(x))) * weights
        reduced = tuple(1 + lead + a for a in normalize_axis(axis, np.ndim(x)))
        return np.sum(spread, axis=reduced, keepdims=keepdims)

    return tangent


def _quantile_tangent_q(scale):
    def tangent(t, ans, x, q, axis=None, keepdims=False, method="linear"):
        slope = helpers.quantile_slope(x, np.divide(q, scale), axis, keepdims, method) / scale
        return pad_tangent_right(t, np.ndim(ans)) * slope

    return tangent


def pad_tangent_right(t, ndim):
    """Give ``t`` (directions first) trailing axes of length 1 up to rank ``ndim``."""
    return np.reshape(t, (*np.shape(t), *(1,) * (ndim + 1 - np.ndim(t))))


QUANTILE_DOC = (
    "method='linear' only (others are refused). In x: weights 1 - f and f on the two "
    "entries interpolated between, ranked by a stable argsort (ties told apart by their "
    "order). In q: the slope of the segment q lies on; at a whole rank, the segment above "
    "(at the top, the one below)."
)
for _function, _scale in ((np.quantile, 1), (np.percentile, 100)):
    _q = "q" if _scale == 1 else "np.divide(q, 100)"
    _per = "" if _scale == 1 else " / 100"
    defrule(
        _function,
        "x q",
        keywords={"axis": None, "keepdims": False, "method": "linear"},
        tangents=(_quantile_tangent_x(_scale), _quantile_tangent_q(_scale)),
        adjoints=(
            f"unquantile(g, x, {_q}, axis, keepdims, method)",
            # the output has q's axes first: sum over the rest
            f"np.sum(np.reshape(g * quantile_slope(x, {_q}, axis, keepdims, method), "
            f"(*np.shape(q), -1)), axis=-1){_per}",
        ),
        doc=QUANTILE_DOC,
    )

# --------------------------------------------------------------------------- convolution


def _each_direction(function, t, *others, **keywords):
    """``function`` applied to each direction of ``t`` in place of one argument."""
    return np.stack([function(d, *others, **keywords) for d in t])


defrule(
    np.convolve,
    "a v",
    keywords={"mode": "full"},
    tangents=(
        lambda t, ans, a, v, mode="full": _each_direction(
            lambda d: np.convolve(d, v, mode), t),
        lambda t, ans, a, v, mode="full": _each_direction(
            lambda d: np.convolve(a, d, mode), t),
    ),
    # convolution is linear in each argument; its adjoint is a correlation with the other
    adjoints=(
        "np.correlate(to_full(g, np.size(a), np.size(v), mode), v, 'valid')",
        "np.correlate(to_full(g, np.size(a), np.size(v), mode), a, 'valid')",
    ),
    rank=lambda a, v, **_: 1,
)
defrule(
    np.correlate,
    "a v",
    keywords={"mode": "valid"},
    tangents=(
        lambda t, ans, a, v, mode="valid": _each_direction(
            lambda d: np.correlate(d, v, mode), t),
        lambda t, ans, a, v, mode="valid": _each_direction(
            lambda d: np.correlate(a, d, mode), t),
    ),
    # np.correlate(a, v) is a convolution with v reversed
    adjoints=(
        "np.convolve(to_full(g, np.size(a), np.size(v), mode, 'correlate'), v, 'valid')",
        "np.flip(np.correlate(to_full(g, np.size(a), np.size(v), mode, 'correlate'), a, "
        "'valid'))",
    ),
    rank=lambda a, v, **_: 1,
)

# --------------------------------------------------------------------------- interpolation


def _interp_points_refused(*_, **__):
    helpers.no_rule(
        "np.interp has a derivative rule in fp (the values) only, not in x or xp",
        hint="differentiate with respect to fp, or write the interpolation with np.where",
    )


_INTERP_REFUSAL = ("no_rule('np.interp has a derivative rule in fp (the values) only, not in "
                   "x or xp')")

defrule(
    np.interp,
    "x xp fp",
    keywords={"left": None, "right": None, "period": None},
    tangents=(
        _interp_points_refused,
        _interp_points_refused,
        lambda t, ans, x, xp, fp, left=None, right=None, period=None: np.einsum(
            "...m,km->k...", helpers.interp_weights(x, xp, left, right, period), t),
    ),
    adjoints=(
        _INTERP_REFUSAL,
        _INTERP_REFUSAL,
        "np.ravel(g) @ np.reshape(interp_weights(x, xp, left, right, period), (np.size(g), -1))",
    ),
    rank=lambda x, xp, fp, **_: x,
    doc="Linear in fp; left and right given as numbers are constants. The points x and xp "
    "are refused.",
)

# --------------------------------------------------------------------------- polynomials


def _polyval_tangent_p(t, ans, p, x):
    powers = np.expand_dims(x, -1) ** np.arange(len(p) - 1, -1, -1)
    return np.einsum("...n,kn->k...", powers, t)


def _polyval_tangent_x(t, ans, p, x):
    slope = np.polyval(p[:-1] * np.arange(len(p) - 1, 0, -1), x)
    return pad_tangent(t, np.ndim(ans)) * slope


defrule(
    np.polyval,
    "p x",
    tangents=(_polyval_tangent_p, _polyval_tangent_x),
    adjoints=(
        # g times the Vandermonde matrix of x
        "np.ravel(g) @ np.ravel(x)[:, np.newaxis] ** np.arange(np.size(p) - 1, -1, -1)",
        "g * np.polyval(p[:-1] * np.arange(np.size(p) - 1, 0, -1), x)",
    ),
    rank=lambda p, x, **_: x,
)


# --------------------------------------------------------------------------- np.gradient


def _gradient_axis(f, axis):
    if axis is None and np.ndim(f) == 1:
        return 0
    if isinstance(axis, int):
        return axis % np.ndim(f)
    raise MissingRuleError(
        "np.gradient over several axes returns a list of arrays, which has no derivative "
        "rule",
        hint="take one axis at a time: np.gradient(f, axis=0), np.gradient(f, axis=1)")


def _spacing(spacing) -> tuple:
    """np.gradient's spacing as its varargs: none, or one constant (however bound)."""
    if spacing is None:
        return ()
    return tuple(spacing) if isinstance(spacing, tuple) else (spacing,)


def _gradient_tangent(t, ans, f, spacing=None, axis=None, edge_order=1):
    axis = _gradient_axis(f, axis)
    spacing = _spacing(spacing)
    return np.gradient(t, *spacing, axis=axis + 1, edge_order=edge_order)


defrule(
    np.gradient,
    "f spacing",
    keywords={"axis": None, "edge_order": 1},
    tangents=(_gradient_tangent, None),
    adjoints=("ungradient(g, f, spacing, axis, edge_order)", None),
    optional=1,
    rank=lambda f, spacing=None, **keywords: f,
    doc="Linear in f (one array, along one axis, with a constant spacing); the spacing "
    "has no derivative rule.",
)
