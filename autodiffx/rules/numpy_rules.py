"""The derivative rules for NumPy's ufuncs and functions, and Python's ``max``, ``min``, ``abs``.

Read a rule as maths: in an adjoint expression ``g`` is the output's cotangent and ``ans``
the output; in a tangent callable ``t`` is the argument's tangent, with the directions on
its first axis. Conventions at kinks are stated where they are chosen and tested in
``tests/rules``.
"""

from __future__ import annotations

import builtins
import copy
import dataclasses
import operator

import numpy as np

from .helpers import (
    einsum_call_tangent,
    extremum_weights,
    matmul_tangent,
    pad_tangent,
    prod_partials,
    safe_divide,
    shift_axis,
    strong_zero,
    undiff,
)
from .registry import (
    _broadcast_rank,
    add_helpers,
    defrule,
    elementwise,
    nondifferentiable,
    register,
    require,
)

_ndarray = np.ndarray  # (a module global: np.ndarray is two lookups, on every call)

# --------------------------------------------------------------------------- arithmetic

# Python's operator functions (operator.add passed as a function, as code that folds with
# functools.reduce does) share the rule of the ufunc their operator maps to.


def _with_operator(rule, function):
    return register(dataclasses.replace(rule, primitives=(*rule.primitives, function)))


_with_operator(elementwise(np.add, "1", "1"), operator.add)
_with_operator(elementwise(np.subtract, "1", "-1"), operator.sub)
_with_operator(elementwise(np.multiply, "y", "x"), operator.mul)
# np.divide(1, y), not 1 / y: y may be a Python number, and 0 (x / len(x) of an empty x)
# must give inf as NumPy does, not a ZeroDivisionError; likewise for log, log1p, arctanh.
_with_operator(elementwise(np.divide, "np.divide(1, y)", "-ans / y", singular=True,
                           name="divide"), operator.truediv)
_with_operator(elementwise(np.negative, "-1"), operator.neg)
elementwise(np.positive, "1")


def _power_base_partial(x, y):
    """d/dx x**y = y * x**(y - 1), and 0 where x == 0 and y == 0: x**0 is the constant 1,
    at x = 0 too.

    There the exponent y - 1 is replaced by 1, so that 0 * 0**-1 never makes a NaN; only
    there, so that the partial keeps its derivative in y everywhere else (a second
    derivative through it). NumPy's power is used so that a Python float 0.0 gives inf
    (where the derivative really is infinite, 0 < y < 1), not ZeroDivisionError.
    """
    if np.all(y >= 1):
        return y * np.power(x, y - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return y * np.power(x, np.where((x == 0) & (y == 0), 1.0, y - 1.0))


def _power_base_tangent(t, ans, x, y):
    if np.iscomplexobj(ans):  # holomorphic in x (principal branch): y x**(y - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return strong_zero(t, y * np.power(x, np.where((x == 0) & (y == 0), 1.0, y - 1.0)))
    if np.all(y >= 1):
        return t * _power_base_partial(x, y)
    return strong_zero(t, _power_base_partial(x, y))


def _power_exponent_tangent(t, ans, x, y):
    if np.iscomplexobj(ans):  # x**y = exp(y log x), with the principal logarithm
        return t * (ans * np.log(np.where(x == 0, 1, x) + 0j))
    return t * (ans * np.log(np.where(x > 0, x, 1)))


defrule(
    np.power,
    "x y",
    tangents=(_power_base_tangent, _power_exponent_tangent),
    adjoints=(
        # y >= 1 everywhere (x ** 2, x ** 1): the plain product, exact at x = 0; otherwise
        # x == 0 with y == 0 gives 0 (x ** 0 is constant; see _power_base_partial) and a
        # zero cotangent stays 0 where x ** (y - 1) is infinite (x ** 0.5 at 0).
        "unbroadcast(g * (y * x ** (y - 1)), x) if np.all(y >= 1) "
        "else unbroadcast(strong_zero(g, y * np.power(x, np.where((x == 0) & (y == 0), 1.0, "
        "y - 1.0))), x)",
        "unbroadcast(g * (ans * np.log(np.where(x > 0, x, 1))), y)",
    ),
    elementwise=True,
    rank=_broadcast_rank,
    doc="d/dx x**y is taken as 0 at x == 0 where y == 0 (x**0 is the constant 1, at x = 0 "
    "too); "
    "d/dy x**y is taken as 0 where x <= 0, where the real logarithm does not exist. With "
    "complex values, d/dy x**y = x**y log x with the principal logarithm (0 at x = 0).",
)
# pow(x, y) and operator.pow (passed as a function) are x ** y; the generated JVP inlines
# the real tangents (those of the adjoints above, with t for g)
register(dataclasses.replace(
    require(np.power), primitives=(np.power, operator.pow, builtins.pow),
    tangent_texts=(
        "t * (y * x ** (y - 1)) if np.all(y >= 1) else strong_zero(t, y * np.power(x, "
        "np.where((x == 0) & (y == 0), 1.0, y - 1.0)))",
        "t * (ans * np.log(np.where(x > 0, x, 1)))",
    )))
# np.float_power is x ** y computed in float64 (or complex128): the same derivatives, whose
# texts already call np.power
register(dataclasses.replace(require(np.power), name="float_power",
                             primitives=(np.float_power,)))
elementwise(np.square, "2 * x")
elementwise(np.reciprocal, "-(ans ** 2)", singular=True)
_with_operator(elementwise(np.remainder, "1", "-np.floor_divide(x, y)"), operator.mod)

# --------------------------------------------------------------------------- elementary

elementwise(np.sqrt, "0.5 / ans", singular=True, doc="sqrt'(0) is inf; 0 times it is 0.")
elementwise(np.cbrt, "1 / (3 * ans ** 2)", singular=True)
elementwise(np.exp, "ans")
elementwise(np.exp2, "ans * np.log(2)")
elementwise(np.expm1, "ans + 1")
elementwise(np.log, "np.divide(1, x)", singular=True)
elementwise(np.log2, "1 / (x * np.log(2))", singular=True)
elementwise(np.log10, "1 / (x * np.log(10))", singular=True)
elementwise(np.log1p, "np.divide(1, 1 + x)", singular=True)
elementwise(np.logaddexp, "np.exp(x - ans)", "np.exp(y - ans)")
elementwise(np.sin, "np.cos(x)")
elementwise(np.cos, "-np.sin(x)")
elementwise(np.tan, "1 + ans ** 2")
elementwise(np.arcsin, "1 / np.sqrt(1 - x ** 2)", singular=True)
elementwise(np.arccos, "-1 / np.sqrt(1 - x ** 2)", singular=True)
elementwise(np.arctan, "1 / (1 + x ** 2)")
elementwise(
    np.arctan2,
    "np.divide(y, x ** 2 + y ** 2)",
    "np.divide(-x, x ** 2 + y ** 2)",
    singular=True,
    doc="At the origin arctan2 jumps: no derivative (NaN where the cotangent is not 0).",
)
elementwise(
    np.hypot,
    "safe_divide(x, ans)",
    "safe_divide(y, ans)",
    doc="The gradient at the origin is taken as 0, as for np.linalg.norm.",
)
elementwise(np.sinh, "np.cosh(x)")
elementwise(np.cosh, "np.sinh(x)")
_TANH = elementwise(np.tanh, "1 - ans ** 2")


def _tanh_tangent(t, ans, x):
    """``t * (1 - ans ** 2)``, in the memory of one new array when there is one direction
    (a JVP's case) and ``t`` and ``ans`` are plain arrays of one dtype: the expression
    would make three arrays of the result's size, and with the default allocator each
    large one may be memory mapped and faulted in anew on every call (for a tanh layer
    of 100 units and a batch of 256, called in a loop, that is most of the expression's
    time). The same operations, in the same order, so the same bits."""
    if type(ans) is _ndarray and type(t) is _ndarray and t.dtype is ans.dtype and (
            t.shape[0] == 1 and t.shape[1:] == ans.shape):
        tangent = np.square(ans[np.newaxis])  # ans ** 2, as NumPy computes it
        np.subtract(1, tangent, out=tangent)
        return np.multiply(t, tangent, out=tangent)
    return t * (1 - ans ** 2)


register(dataclasses.replace(_TANH, tangents=(_tanh_tangent,)))
elementwise(np.arcsinh, "1 / np.sqrt(x ** 2 + 1)")
_ARCCOSH = elementwise(np.arccosh, "1 / np.sqrt(x ** 2 - 1)", singular=True)


def _arccosh_tangent(t, ans, x):
    if np.iscomplexobj(x):  # the principal branch: 1 / (sqrt(x - 1) sqrt(x + 1))
        return strong_zero(t, 1 / (np.sqrt(x - 1) * np.sqrt(x + 1)))
    return strong_zero(t, 1 / np.sqrt(x ** 2 - 1))


register(dataclasses.replace(_ARCCOSH, tangents=(_arccosh_tangent,)))
elementwise(np.arctanh, "np.divide(1, 1 - x ** 2)", singular=True)
elementwise(np.deg2rad, "np.pi / 180")
elementwise(np.rad2deg, "180 / np.pi")

# --------------------------------------------------------------------------- kinks



def _abs_tangent(t, ans, x):
    """sign(x) t for real x; for complex x, d|x| = Re(conj(x) dx) / |x| (0 at x = 0).

    The complex case is written without np.sign(x) = x / |x|, whose rule refuses complex
    values: at second order x and ans are dual numbers, differentiated through these
    operations."""
    if np.iscomplexobj(x):
        zero = ans == 0
        return np.where(zero, 0.0, np.real(np.conj(x) * t) / np.where(zero, 1.0, ans))
    return t * np.sign(x)


_ABS_DOC = ("abs'(0) = 0. For complex x, d|x| = Re(conj(x) dx) / |x|, taken as 0 at 0; the "
            "adjoint g * np.sign(x) holds for complex x as it is (np.sign(x) = x / |x|).")
for _function, _name in ((np.absolute, "absolute"), (builtins.abs, "abs")):
    register(dataclasses.replace(elementwise(_function, "np.sign(x)", name=_name,
                                             doc=_ABS_DOC), tangents=(_abs_tangent,)))
elementwise(np.fabs, "np.sign(x)", doc="fabs'(0) = 0.")


def _pairwise_extremum_tangents(wins):
    """The tangents of ``np.maximum`` (``wins`` is ``>``) or ``np.minimum`` (``<``): ``t``
    times the partials ``(x > y) + 0.5 * (x == y)`` and ``(y > x) + 0.5 * (x == y)``,
    entry for entry, with the halves worked out only when there is a tie (a ReLU's
    tangent is then two NumPy calls and a count, not five). The weights 0, 1/2 and 1 are
    exact in any precision, so they are taken in the tangent's: a float32 tangent stays
    float32, tie or not."""

    def tangent_x(t, ans, x, y):
        ties = x == y
        if np.count_nonzero(ties):
            return t * np.asarray(wins(x, y) + 0.5 * ties, dtype=t.dtype)
        return t * wins(x, y)

    def tangent_y(t, ans, x, y):
        ties = x == y
        if np.count_nonzero(ties):
            return t * np.asarray(wins(y, x) + 0.5 * ties, dtype=t.dtype)
        return t * wins(y, x)

    return tangent_x, tangent_y


for _function, _wins, _word in ((np.maximum, operator.gt, ">"), (np.minimum, operator.lt, "<")):
    register(dataclasses.replace(
        elementwise(
            _function,
            f"(x {_word} y) + 0.5 * (x == y)",
            f"(y {_word} x) + 0.5 * (x == y)",
            doc="At a tie each argument gets half of the derivative.",
            real_only=True,
        ),
        tangents=_pairwise_extremum_tangents(_wins),
    ))


def _builtin_extremum(function, name, compare, swapped, pick, word):
    """Python's ``max``/``min``: of two numbers (``max(a, b)``), or of the items of one 1-d
    array (``max(x)``, which iterates over x)."""

    def tangent_x(t, ans, x, y=None):
        if y is None:
            return t[:, pick(x)]
        return t * compare(x, y)

    def tangent_y(t, ans, x, y=None):
        return t * swapped(y, x)

    op, op_swapped = {"max": (">=", ">"), "min": ("<=", "<")}[word]
    # Which form a call is decides itself when the code is generated: x of rank 0 means two
    # numbers, and an omitted y is the constant None. Otherwise the test runs.
    defrule(
        function,
        "x y",
        tangents=(tangent_x, tangent_y),
        adjoints=(
            f"unbroadcast(g * (x {op} y), x) if np.ndim(x) == 0 or y is not None "
            f"else unindex(g, x, np.arg{word}(x))",
            f"unbroadcast(g * (y {op_swapped} x), y)",
        ),
        optional=1,
        elementwise=True,
        # Python returns one argument as it is, not a broadcast: the rank is known when both
        # have the same; max(x) of an array gives a number, but y is then unknown (None).
        rank=lambda x, y=None, **_: x if x is not None and x == y else None,
        name=name,
        real_only=True,
        doc=f"Python's {word} returns its first argument on a tie, so that argument gets it "
        f"all; {word}(x) of a 1-d array gives it all to the first entry tied for the "
        f"extreme (np.arg{word}), the item Python's {word} returns.",
    )


_builtin_extremum(builtins.max, "max_builtin", operator.ge, operator.gt, np.argmax, "max")
_builtin_extremum(builtins.min, "min_builtin", operator.le, operator.lt, np.argmin, "min")

elementwise(
    np.clip,
    "(a <= a_max) if a_min is None else (a >= a_min) if a_max is None "
    "else (a >= a_min) & (a <= a_max)",
    "a < a_min",
    "a > a_max",
    params=("a", "a_min", "a_max"),  # NumPy's names, so that a_min= and a_max= bind too
    doc="Inside [a_min, a_max], boundaries included, the derivative goes to a; outside, to "
    "the bound.",
    real_only=True,
)
defrule(
    np.where,
    "c x y",
    tangents=(
        None,
        lambda t, ans, c, x, y: np.where(c, t, 0.0),
        lambda t, ans, c, x, y: np.where(c, 0.0, t),
    ),
    adjoints=(
        None,
        "unbroadcast(np.where(c, g, 0.0), x)",
        "unbroadcast(np.where(c, 0.0, g), y)",
    ),
    elementwise=True,
    rank=lambda c, x, y, **_: None if None in (c, x, y) else max(c, x, y),
    doc="The branch that is not selected gets exactly zero, never NaN.",
)

# --------------------------------------------------------------------------- reductions


def _reduction_rank(rank, axis=None, keepdims=False, **_):
    if rank is None or keepdims:
        return rank
    if axis is None:
        return 0
    return rank - (len(axis) if isinstance(axis, (tuple, list)) else 1)


REDUCE = {"axis": None, "keepdims": False}


def _sum_tangent(t, ans, x, axis=None, keepdims=False):
    return np.sum(t, axis=shift_axis(axis, np.ndim(x)), keepdims=keepdims)


def _mean_tangent(t, ans, x, axis=None, keepdims=False):
    if np.size(x) == 0:  # the mean of nothing is NaN whatever x is: no derivative flows
        return _zero_tangent(t, ans)
    return np.mean(t, axis=shift_axis(axis, np.ndim(x)), keepdims=keepdims)


def _zero_tangent(t, ans):
    return np.zeros((len(t), *np.shape(ans)), dtype=np.result_type(t, float))


def _prod_tangent(t, ans, x, axis=None, keepdims=False):
    weighted = t * prod_partials(x, axis)
    return np.sum(weighted, axis=shift_axis(axis, np.ndim(x)), keepdims=keepdims)


def _extremum_tangent(t, ans, x, axis=None, keepdims=False):
    weighted = t * extremum_weights(x, ans, axis, keepdims)
    return np.sum(weighted, axis=shift_axis(axis, np.ndim(x)), keepdims=keepdims)


defrule(
    np.sum,
    "x",
    linear=(0,),
    keywords=REDUCE,
    tangents=(_sum_tangent,),
    adjoints=(
        "np.broadcast_to(g, np.shape(x)) if axis is None else unreduce(g, x, axis, keepdims)",
    ),
    rank=_reduction_rank,
)
defrule(
    np.mean,
    "x",
    linear=(0,),
    keywords=REDUCE,
    tangents=(_mean_tangent,),
    adjoints=(
        # np.maximum(..., 1): an empty x gets its empty gradient, not a ZeroDivisionError
        "np.broadcast_to(g / np.maximum(np.size(x), 1), np.shape(x)) if axis is None "
        "else unreduce(g, x, axis, keepdims) * (np.size(ans) / np.maximum(np.size(x), 1))",
    ),
    rank=_reduction_rank,
)
defrule(
    np.prod,
    "x",
    keywords=REDUCE,
    tangents=(_prod_tangent,),
    adjoints=("unreduce(g, x, axis, keepdims) * prod_partials(x, axis)",),
    rank=_reduction_rank,
    real_only=True,
    doc="Exact where x holds zeros: each partial is the product of the other entries.",
)
for _functions, _name in (((np.max, np.amax), "max"), ((np.min, np.amin), "min")):
    defrule(
        _functions,
        "x",
        keywords=REDUCE,
        tangents=(_extremum_tangent,),
        adjoints=("unreduce(g, x, axis, keepdims) * extremum_weights(x, ans, axis, keepdims)",),
        rank=_reduction_rank,
        name=_name,
        doc="Entries tied for the extreme share the derivative equally.",
    )


# --------------------------------------------------------------------------- statistics


def _centered(x, axis):
    return x - np.mean(x, axis=axis, keepdims=True)


def _count(x, ans, ddof):
    """The divisor of np.var: entries per reduced group, less ``ddof``."""
    return np.size(x) / np.maximum(np.size(ans), 1) - ddof


def _spread(t, x, axis, keepdims):
    """sum(Re(conj(x - mean) t)) over the reduced axes: the derivative of the sum of
    |x - mean|^2, halved (the mean's own change sums to 0 against x - mean)."""
    centered = _centered(x, axis)
    product = np.real(np.conj(centered) * t) if np.iscomplexobj(x) else t * centered
    return np.sum(product, axis=shift_axis(axis, np.ndim(x)), keepdims=keepdims)


def _var_tangent(t, ans, x, axis=None, keepdims=False, ddof=0):
    if np.size(x) == 0:  # the variance of nothing is NaN whatever x is
        return _zero_tangent(t, ans)
    return 2 * _spread(t, x, axis, keepdims) / _count(x, ans, ddof)


def _std_tangent(t, ans, x, axis=None, keepdims=False, ddof=0):
    if np.size(x) == 0:
        return _zero_tangent(t, ans)
    return safe_divide(_spread(t, x, axis, keepdims), ans * _count(x, ans, ddof))


STATISTIC = {"axis": None, "keepdims": False, "ddof": 0}

defrule(
    np.var,
    "x",
    keywords=STATISTIC,
    tangents=(_var_tangent,),
    adjoints=(
        "2 * g * (x - np.mean(x)) / (np.size(x) - ddof) if axis is None "
        "else 2 * unreduce(g, x, axis, keepdims) * (x - np.mean(x, axis=axis, keepdims=True)) "
        "/ (np.size(x) / np.maximum(np.size(ans), 1) - ddof)",
    ),
    rank=_reduction_rank,
)
defrule(
    np.std,
    "x",
    keywords=STATISTIC,
    tangents=(_std_tangent,),
    adjoints=(
        "safe_divide(g * (x - np.mean(x)), ans * (np.size(x) - ddof)) if axis is None "
        "else safe_divide(unreduce(g, x, axis, keepdims) "
        "* (x - np.mean(x, axis=axis, keepdims=True)), "
        "unreduce(ans, x, axis, keepdims) * (np.size(x) / np.maximum(np.size(ans), 1) - ddof))",
    ),
    rank=_reduction_rank,
    doc="Where the standard deviation is exactly 0 its gradient is taken as 0 (as for the "
    "norm at the origin).",
)


def _cumsum_tangent(t, ans, x, axis=None):
    if axis is None:  # np.cumsum flattens
        return np.cumsum(np.reshape(t, (len(t), -1)), axis=1)
    return np.cumsum(t, axis=shift_axis(axis))


defrule(
    np.cumsum,
    "x",
    linear=(0,),
    keywords={"axis": None},
    tangents=(_cumsum_tangent,),
    # the sums of g from each entry to the end: a cumulative sum run backwards
    adjoints=(
        "np.reshape(np.flip(np.cumsum(np.flip(g))), np.shape(x)) if axis is None "
        "else np.flip(np.cumsum(np.flip(g, axis), axis), axis)",
    ),
    rank=lambda x, axis=None, **_: 1 if axis is None else x,
)


def _diff_tangent(t, ans, x, n=1, axis=-1):
    return np.diff(t, n=n, axis=shift_axis(axis))


def undiff_times(g, n=1, axis=-1):
    """The adjoint of ``np.diff(x, n, axis)``: that of first differences, n times over."""
    for _ in range(n):
        g = undiff(g, 1, axis)
    return g


add_helpers({"undiff_times": undiff_times})
defrule(
    np.diff,
    "x",
    linear=(0,),
    keywords={"n": 1, "axis": -1},
    tangents=(_diff_tangent,),
    adjoints=("undiff_times(g, n, axis)",),
    rank=lambda x, **_: x,
    doc="Differences of any order n (the adjoint of first differences n times); prepend= "
    "and append= are not covered.",
)

# --------------------------------------------------------------------------- products


def _matmul_rank(x, y, **_):
    if x is None or y is None:
        return None
    if x <= 2 and y <= 2:
        return x + y - 2 if x and y else None
    return max(x, y) - (x == 1) - (y == 1)


def _matmul_tangent_x(t, ans, x, y):
    """The tangent of ``x @ y`` through ``x``: ``t @ y`` for plain matrices and vectors
    (the direction axis of ``t`` acts as a batch axis), without a second call."""
    if type(y) is _ndarray and type(x) is _ndarray and x.ndim <= 2 and y.ndim <= 2:
        return t @ y
    return matmul_tangent(t, x, y, 0)


def _matmul_tangent_y(t, ans, x, y):
    """The tangent of ``x @ y`` through ``y``, as :func:`_matmul_tangent_x`."""
    if type(x) is _ndarray and type(y) is _ndarray and x.ndim <= 2 and y.ndim <= 2:
        if y.ndim == 1:
            return t @ x.T if x.ndim == 2 else t @ x  # (k, n) @ (n, p), or (k, n) @ (n,)
        return x @ t
    return matmul_tangent(t, x, y, 1)


defrule(
    np.matmul,
    "x y",
    linear=(0, 1),
    tangents=(_matmul_tangent_x, _matmul_tangent_y),
    adjoints=(
        # two matrices: np.dot, not @, because np.matmul runs a slow loop, not BLAS, on a
        # transposed view with an axis of length 1 (one window, x.T of shape (1, n))
        "matmul_adjoint(g, x, y, 0) if np.ndim(x) > 2 or np.ndim(y) > 2 "
        "else (g * y if np.ndim(y) == 1 else y @ g) if np.ndim(x) == 1 "
        "else np.outer(g, y) if np.ndim(y) == 1 else np.dot(g, y.T)",
        "matmul_adjoint(g, x, y, 1) if np.ndim(x) > 2 or np.ndim(y) > 2 "
        "else (g * x if np.ndim(y) == 1 else np.outer(x, g)) if np.ndim(x) == 1 "
        "else x.T @ g if np.ndim(y) == 1 else np.dot(x.T, g)",
    ),
    rank=_matmul_rank,
)


def _dot_tangent(side):
    def tangent(t, ans, x, y):
        if np.ndim(x) == 0 or np.ndim(y) == 0:
            other = y if side == 0 else x
            return pad_tangent(t, np.ndim(ans)) * other
        if np.ndim(x) <= 2 and np.ndim(y) <= 2:
            return matmul_tangent(t, x, y, side)
        return np.stack([np.dot(d, y) if side == 0 else np.dot(x, d) for d in t])

    return tangent


def _dot_rank(x, y, **_):
    if x is None or y is None:
        return None
    if x == 0 or y == 0:
        return max(x, y)
    return x + y - 2


defrule(
    np.dot,
    "x y",
    linear=(0, 1),
    tangents=(_dot_tangent(0), _dot_tangent(1)),
    adjoints=(
        "dot_adjoint(g, x, y, 0) if np.ndim(x) not in (1, 2) or np.ndim(y) not in (1, 2) "
        "else (g * y if np.ndim(y) == 1 else y @ g) if np.ndim(x) == 1 "
        "else np.outer(g, y) if np.ndim(y) == 1 else np.dot(g, y.T)",
        "dot_adjoint(g, x, y, 1) if np.ndim(x) not in (1, 2) or np.ndim(y) not in (1, 2) "
        "else (g * x if np.ndim(y) == 1 else np.outer(x, g)) if np.ndim(x) == 1 "
        "else x.T @ g if np.ndim(y) == 1 else np.dot(x.T, g)",
    ),
    rank=_dot_rank,
)
defrule(
    np.outer,
    "x y",
    linear=(0, 1),
    tangents=(
        lambda t, ans, x, y: t.reshape(len(t), -1)[:, :, np.newaxis] * np.ravel(y),
        lambda t, ans, x, y: np.ravel(x)[:, np.newaxis] * t.reshape(len(t), 1, -1),
    ),
    adjoints=(
        "np.reshape(g @ np.ravel(y), np.shape(x))",
        "np.reshape(np.ravel(x) @ g, np.shape(y))",
    ),
    rank=lambda x, y, **_: 2,
)
def _inner_tangent(side):
    def tangent(t, ans, x, y):
        if np.ndim(x) == 0 or np.ndim(y) == 0:  # np.inner with a scalar multiplies
            return pad_tangent(t, np.ndim(ans)) * (y if side == 0 else x)
        if side == 0:
            return np.inner(t, y)
        return np.moveaxis(np.inner(x, t), np.ndim(x) - 1, 0)

    return tangent


defrule(
    np.inner,
    "x y",
    linear=(0, 1),
    tangents=(_inner_tangent(0), _inner_tangent(1)),
    adjoints=(
        "g * y if np.ndim(x) == 1 and np.ndim(y) == 1 else inner_adjoint(g, x, y, 0)",
        "g * x if np.ndim(x) == 1 and np.ndim(y) == 1 else inner_adjoint(g, x, y, 1)",
    ),
    rank=_dot_rank,
)
def _vdot_tangent(side):
    def tangent(t, ans, x, y):
        directions = t.reshape(len(t), -1)  # np.vdot flattens both operands
        if side == 0:  # conjugate-linear in x: the tangent is conjugated too
            return np.conj(directions) @ np.ravel(y)
        return directions @ np.conj(np.ravel(x))

    return tangent


defrule(
    np.vdot,
    "x y",
    linear=(0, 1),
    tangents=(_vdot_tangent(0), _vdot_tangent(1)),
    adjoints=(
        # sum(conj(x) * y) is conjugate-linear in x: in Re<u, v> its adjoint is conj(g) y
        "np.reshape(np.conj(g) * y, np.shape(x))",
        "np.reshape(g * x, np.shape(y))",
    ),
    rank=lambda x, y, **_: 0,
    doc="Both operands are flattened, and the first is conjugated, as NumPy does.",
)


def _einsum_tangent(position):
    return lambda t, ans, *args: einsum_call_tangent(position, t, *args)


# Both forms of a call: np.einsum("ij,jk->ik", x, y) and the sublist form
# np.einsum(x, [0, 1], y, [1, 2], [0, 2]); the parameter names follow the first. An operand
# is a parameter in one form and a subscript list in the other, and only an operand can be
# differentiated, so each adjoint serves whichever form makes its parameter an operand. The
# common case, subscripts and at most two operands (z is None), reads plainly.
defrule(
    np.einsum,
    "subscripts x y z w",
    tangents=tuple(_einsum_tangent(i) for i in range(5)),
    adjoints=(
        "einsum_call_adjoint(0, g, subscripts, x, y, z, w)",
        "einsum_adjoint(subscripts, 0, g, x, y) if z is None "
        "else einsum_call_adjoint(1, g, subscripts, x, y, z, w)",
        "einsum_adjoint(subscripts, 1, g, x, y) if z is None "
        "else einsum_call_adjoint(2, g, subscripts, x, y, z, w)",
        "einsum_call_adjoint(3, g, subscripts, x, y, z, w)",
        "einsum_call_adjoint(4, g, subscripts, x, y, z, w)",
    ),
    optional=3,
    doc="One or two operands, in the subscripts form or the sublist form; '...' and axes "
    "of length 1 broadcast as NumPy does; a letter repeated in one operand is a diagonal.",
)

# --------------------------------------------------------------------------- shapes


def _same_shape_as_answer(t, ans, *args, **keywords):
    return np.reshape(t, (len(t), *np.shape(ans)))


def _transpose_tangent(t, ans, x, axes=None):
    if axes is None:
        axes = tuple(reversed(range(np.ndim(x))))
    return np.transpose(t, (0, *(a % np.ndim(x) + 1 for a in axes)))


defrule(
    np.transpose,
    "x",
    linear=(0,),
    keywords={"axes": None},
    tangents=(_transpose_tangent,),
    adjoints=(
        "np.transpose(g) if axes is None "
        "else np.transpose(g, np.argsort(np.mod(axes, np.ndim(x))))",
    ),
    rank=lambda x, **_: x,
)
defrule(
    np.moveaxis,
    "x",
    linear=(0,),
    keywords={"source": None, "destination": None},  # NumPy requires both
    tangents=(
        lambda t, ans, x, source=None, destination=None: np.moveaxis(
            t, shift_axis(source), shift_axis(destination)
        ),
    ),
    adjoints=("np.moveaxis(g, destination, source)",),
    rank=lambda x, **_: x,
)
defrule(
    np.swapaxes,
    "x",
    linear=(0,),
    keywords={"axis1": None, "axis2": None},  # NumPy requires both
    tangents=(
        lambda t, ans, x, axis1=None, axis2=None: np.swapaxes(
            t, shift_axis(axis1), shift_axis(axis2)
        ),
    ),
    adjoints=("np.swapaxes(g, axis1, axis2)",),
    rank=lambda x, **_: x,
)
defrule(
    np.flip,
    "x",
    linear=(0,),
    keywords={"axis": None},
    tangents=(lambda t, ans, x, axis=None: np.flip(t, axis=shift_axis(axis, np.ndim(x))),),
    adjoints=("np.flip(g, axis)",),
    rank=lambda x, **_: x,
)
defrule(
    np.reshape,
    "x shape",
    linear=(0,),
    tangents=(_same_shape_as_answer, None),
    adjoints=("np.reshape(g, np.shape(x))", None),
)
defrule(
    np.squeeze,
    "x",
    linear=(0,),
    keywords={"axis": None},
    tangents=(_same_shape_as_answer,),
    adjoints=("np.reshape(g, np.shape(x))",),
)
defrule(np.ravel, "x", tangents=(_same_shape_as_answer,), adjoints=("np.reshape(g, np.shape(x))",))
defrule(
    np.expand_dims,
    "x axis",
    linear=(0,),
    tangents=(_same_shape_as_answer, None),
    adjoints=("np.reshape(g, np.shape(x))", None),
    # The rank of a single integer axis is 0, and it adds one axis; a tuple is not known.
    rank=lambda x, axis, **_: None if x is None or axis != 0 else x + 1,
)
defrule(
    np.broadcast_to,
    "x shape",
    linear=(0,),
    tangents=(
        lambda t, ans, x, shape: np.broadcast_to(
            pad_tangent(t, np.ndim(ans)), (len(t), *np.shape(ans))
        ),
        None,
    ),
    adjoints=("unbroadcast(g, x)", None),
)
defrule(
    (np.copy, copy.copy, copy.deepcopy),  # copy.copy(x) of an array is x.copy()
    "x",
    tangents=(lambda t, ans, x: np.copy(t),),
    adjoints=("g",),
    rank=lambda x, **_: x,
    name="copy",
)
def _with_direction_axis(index):
    return (slice(None), *(index if isinstance(index, tuple) else (index,)))


defrule(
    operator.getitem,
    "x index",
    linear=(0,),
    tangents=(lambda t, ans, x, index: t[_with_direction_axis(index)], None),
    adjoints=("unindex(g, x, index)", None),
    name="getitem",
    doc="Repeated integer indices accumulate their cotangents.",
)


def _take_tangent(t, ans, x, indices, axis=None):
    if axis is None:  # np.take reads the flattened array
        return np.take(np.reshape(t, (len(t), -1)), indices, axis=1)
    return np.take(t, indices, axis=shift_axis(axis))


def _take_rank(x, indices, axis=None, **_):
    if x is None or indices is None:
        return None
    return indices if axis is None else x - 1 + indices


defrule(
    np.take,
    "x indices",
    linear=(0,),
    keywords={"axis": None},
    tangents=(_take_tangent, None),
    adjoints=("untake(g, x, indices, axis)", None),
    rank=_take_rank,
    doc="Repeated indices accumulate their cotangents.",
)


def _take_along_axis_tangent(t, ans, x, indices, axis=-1):
    if axis is None:  # the flattened array, with 1-d indices
        return np.take(np.reshape(t, (len(t), -1)), indices, axis=1)
    return np.take_along_axis(t, np.expand_dims(indices, 0), axis=shift_axis(axis))


defrule(
    np.take_along_axis,
    "x indices",
    linear=(0,),
    keywords={"axis": -1},
    tangents=(_take_along_axis_tangent, None),
    adjoints=("untake_along_axis(g, x, indices, axis)", None),
    rank=lambda x, indices, axis=-1, **_: 1 if axis is None else x,
    doc="Repeated indices accumulate their cotangents.",
)


def _sort_order(x, axis):
    """The permutation np.sort applies, ties kept in their order (so every mode agrees)."""
    return np.argsort(x, axis=axis, kind="stable")


def _sort_tangent(t, ans, x, axis=-1):
    return _take_along_axis_tangent(t, ans, x, _sort_order(x, axis), axis)


defrule(
    np.sort,
    "x",
    keywords={"axis": -1},
    tangents=(_sort_tangent,),
    # g goes back through the permutation that sorted x
    adjoints=('untake_along_axis(g, x, np.argsort(x, axis=axis, kind="stable"), axis)',),
    rank=lambda x, axis=-1, **_: 1 if axis is None else x,
    doc="Tied entries keep their order (a stable argsort): the k-th of a run of equal "
    "entries in the output takes the derivative of the k-th of them in x.",
)


def _concatenate_tangent(ts, ans, arrays, axis=0):
    if axis is None:
        return np.concatenate([t.reshape(len(t), -1) for t in ts], axis=1)
    return np.concatenate(ts, axis=shift_axis(axis))


defrule(
    np.concatenate,
    "arrays",
    linear=(0,),  # in the arrays together: the primitive of their tangents
    keywords={"axis": 0},
    tangents=(_concatenate_tangent,),
    adjoints=("unconcatenate(g, arrays, axis)",),
    sequence=True,
)
defrule(
    np.stack,
    "arrays",
    linear=(0,),  # in the arrays together: the primitive of their tangents
    keywords={"axis": 0},
    tangents=(lambda ts, ans, arrays, axis=0: np.stack(ts, axis=shift_axis(axis)),),
    adjoints=("unstack(g, axis)",),
    sequence=True,
)

# --------------------------------------------------------------------------- array makers


def _linspace_weights(num, endpoint):
    """The weight of ``stop`` in each entry of ``np.linspace(start, stop, num)``: i / div,
    with div = num - 1 (num with endpoint=False); the weight of ``start`` is 1 minus it.
    ``np.linspace(0.0, 1.0, num, endpoint=endpoint)`` is exactly these numbers."""
    return np.linspace(0.0, 1.0, num, endpoint=endpoint)


def _linspace_tangent(side):
    def tangent(t, ans, start, stop, num=50, endpoint=True, axis=0):
        weights = _linspace_weights(num, endpoint)
        if side == 0:
            weights = 1 - weights
        rest = np.ndim(ans) - 1  # the axes of start and stop, broadcast
        spread = pad_tangent(t, rest)[:, np.newaxis] * np.reshape(weights, (1, -1) + (1,) * rest)
        spread = np.broadcast_to(spread, (len(t), num, *np.delete(np.shape(ans), axis)))
        return np.moveaxis(spread, 1, axis % np.ndim(ans) + 1)

    return tangent


def _linspace_rank(start, stop, *_, **__):
    return None if start is None or stop is None else max(start, stop) + 1


defrule(
    np.linspace,
    "start stop",
    keywords={"num": 50, "endpoint": True, "axis": 0},
    tangents=(_linspace_tangent(0), _linspace_tangent(1)),
    # linear in start and stop: entry i is start * (1 - w[i]) + stop * w[i]
    adjoints=(
        "unbroadcast(np.sum(np.moveaxis(g, axis, -1) "
        "* (1 - np.linspace(0.0, 1.0, num, endpoint=endpoint)), axis=-1), start)",
        "unbroadcast(np.sum(np.moveaxis(g, axis, -1) "
        "* np.linspace(0.0, 1.0, num, endpoint=endpoint), axis=-1), stop)",
    ),
    rank=_linspace_rank,
    doc="Linear in start and stop; retstep=True and dtype are refused.",
)


def _fill_tangent(t, ans, *args):
    if np.result_type(ans).kind not in "fc":  # np.full_like of integers: a step function
        return np.zeros((len(t), *np.shape(ans)))
    if np.iscomplexobj(t) and not np.iscomplexobj(ans):  # NumPy keeps the real part
        t = np.real(t)
    return np.broadcast_to(pad_tangent(t, np.ndim(ans)), (len(t), *np.shape(ans)))


defrule(
    np.full,
    "shape fill_value",
    tangents=(None, _fill_tangent),
    adjoints=(None, "unbroadcast(g, fill_value)"),
    doc="Forward mode cannot reach this rule: NumPy's np.full converts its fill value with "
    "np.asarray instead of dispatching it, which forward mode refuses.",
)
defrule(
    np.full_like,
    "a fill_value",
    tangents=(None, _fill_tangent),
    adjoints=(None, "unfill(g, fill_value, ans)"),
    rank=lambda a, fill_value, **_: a,
    doc="No derivative flows through a, whose shape and dtype only are read; an integer a "
    "truncates the fill value, whose derivative is then 0.",
)

# --------------------------------------------------------------------------- no derivative

nondifferentiable(
    np.greater,
    np.greater_equal,
    np.less,
    np.less_equal,
    np.equal,
    np.not_equal,
    np.logical_and,
    np.logical_or,
    np.logical_not,
    np.logical_xor,
    np.isnan,
    np.isinf,
    np.isfinite,
    np.signbit,
    name="comparison",
)
nondifferentiable(np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert, name="bitwise")
# np.sign(z) = z / |z| of a complex z is not constant: complex values are refused.
nondifferentiable(
    np.sign, np.floor, np.ceil, np.rint, np.trunc, np.round, np.floor_divide, np.heaviside,
    name="step", real_only=True,
)
nondifferentiable(
    np.argmax, np.argmin, np.argsort, np.nonzero, np.count_nonzero, np.searchsorted,
    name="index_query",
)
nondifferentiable(
    np.shape, np.ndim, np.size, np.all, np.any, np.allclose, np.isclose, np.array_equal,
    name="shape_query",
)
nondifferentiable(np.zeros_like, np.ones_like, np.empty_like, name="constant_like")
