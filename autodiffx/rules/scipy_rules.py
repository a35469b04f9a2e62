"""Rules for a few SciPy functions, registered only when SciPy is installed (the ``scipy``
extra): ``scipy.special`` (logsumexp, softmax, log_softmax, expit, logit, erf, erfc,
erfinv, erfcinv, gamma, rgamma, gammasgn, gammaln, multigammaln, digamma, polygamma, beta,
betaln, betainc, gammainc, gammaincc, xlogy, xlog1py, and the Bessel functions j0, j1, jv,
y0, y1, yv, yn, i0, i1, iv, ive), ``scipy.linalg`` (solve_triangular, cho_solve, expm),
``scipy.signal.convolve`` (once scipy.signal is imported) and the pdf, logpdf, cdf, logcdf,
sf and logsf of ``scipy.stats``' norm, t, gamma, beta and chi2 (once scipy.stats is).

The ufuncs of ``scipy.special`` reach forward mode through NumPy's ufunc protocol, like
``np.tanh``. The others are Python functions that turn their arguments into plain arrays,
which forward mode cannot follow; so importing autodiffx rebinds them in ``scipy.special``
and ``scipy.linalg`` to a *dispatching* version, which calls the original at once unless an
argument carries a derivative (one type check per call). Both the original and the
dispatching version have the rule, so reverse mode finds either; forward mode needs the
dispatching one, that is a name looked up in ``scipy.special`` or ``scipy.linalg`` after
autodiffx was imported (``scipy.special.logsumexp(x)``, or ``from scipy.special import
logsumexp`` below ``import autodiffx``).

The adjoint expressions name SciPy's functions as helpers (``digamma(x)``,
``expm(...)``); generated code imports them from :mod:`autodiffx.rules.helpers`, and an
exported gradient imports them from SciPy.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.abc
import importlib.util
import inspect
import sys

import numpy as np
import scipy.linalg
import scipy.special

from ..errors import ArgumentError, MissingRuleError
from . import helpers, registry
from .helpers import shift_axis, unreduce
from .lifting import Traced
from .registry import _broadcast_rank, defrule, elementwise, nondifferentiable

# --------------------------------------------------------------------------- dispatching


def _traced(values) -> Traced | None:
    """The first value carrying a derivative among ``values`` (or inside a tuple or list)."""
    for value in values:
        if isinstance(value, Traced):
            return value
        if isinstance(value, (tuple, list)):
            inner = _traced(value)
            if inner is not None:
                return inner
    return None


def _dispatching(original, module):
    """``original`` with forward mode's dispatch: a call with a Dual among its arguments goes
    through the rule (the Dual's ``__autodiffx_rule__``), any other to ``original``."""

    @functools.wraps(original)
    def dispatching(*args, **kwargs):
        traced = _traced(args)
        if traced is None:
            traced = _traced(kwargs.values())
        if traced is not None:
            rule = registry.lookup(dispatching)
            if rule is None:  # the rule was unregistered: refuse, never drop derivatives
                registry.require(original)
            before = getattr(rule, "before_apply", None)
            if before is not None:  # a refusal, or the rule to apply instead
                rule = before(*args, **kwargs) or rule
            return type(traced).__autodiffx_rule__(rule, dispatching, args, kwargs)
        return original(*args, **kwargs)

    dispatching.__signature__ = inspect.signature(original)
    del dispatching.__wrapped__  # a primitive: reverse mode must not read the body
    dispatching.__module__ = module.__name__
    dispatching.original = original
    return dispatching


_CHECKS: dict[str, object] = {}


def _install(module, name):
    """Rebind ``module.name`` to its dispatching version (once); return (it, the original)."""
    current = getattr(module, name)
    original = getattr(current, "original", current)
    if original is not current:
        return current, original
    wrapper = _dispatching(original, module)
    setattr(module, name, wrapper)
    return wrapper, original


logsumexp, _logsumexp = _install(scipy.special, "logsumexp")
softmax, _softmax = _install(scipy.special, "softmax")
log_softmax, _log_softmax = _install(scipy.special, "log_softmax")
polygamma, _polygamma = _install(scipy.special, "polygamma")
solve_triangular, _solve_triangular = _install(scipy.linalg, "solve_triangular")
cho_solve, _cho_solve = _install(scipy.linalg, "cho_solve")
expm, _expm = _install(scipy.linalg, "expm")
multigammaln, _multigammaln = _install(scipy.special, "multigammaln")
digamma = scipy.special.digamma

SCIPY_NAMES = {
    id(f): f"scipy.{module}.{f.__name__}"
    for module, functions in (
        ("special", (logsumexp, _logsumexp, softmax, _softmax, log_softmax, _log_softmax,
                     polygamma, _polygamma, scipy.special.expit, scipy.special.logit,
                     scipy.special.erf, scipy.special.erfc, scipy.special.gammaln,
                     scipy.special.digamma, scipy.special.xlogy, scipy.special.xlog1py,
                     scipy.special.gamma, scipy.special.rgamma, scipy.special.gammasgn,
                     scipy.special.beta, scipy.special.betaln, scipy.special.betainc,
                     scipy.special.gammainc, scipy.special.gammaincc, scipy.special.erfinv,
                     scipy.special.erfcinv, scipy.special.j0, scipy.special.j1,
                     scipy.special.jv, scipy.special.y0, scipy.special.y1, scipy.special.yv,
                     scipy.special.yn, scipy.special.i0, scipy.special.i1, scipy.special.iv,
                     scipy.special.ive, multigammaln, _multigammaln)),
        ("linalg", (solve_triangular, _solve_triangular, cho_solve, _cho_solve, expm, _expm)),
    )
    for f in functions
}
SCIPY_NAMES[id(digamma)] = "scipy.special.digamma"  # the ufunc's own name is psi
SCIPY_NAMES[id(scipy.special.jv)] = "scipy.special.jv"  # also named jn
"""How messages and the catalog name each SciPy primitive (``scipy.special.erf``)."""

# --------------------------------------------------------------------------- helpers


def transposed_trans(trans):
    """solve_triangular's ``trans`` for the transposed system: 1 for 0 ('N'), 0 for 1 or 2
    ('T', 'C': the same for real matrices)."""
    return 0 if trans in (1, 2, "T", "t", "C", "c") else 1


def _trans_index(trans):
    if trans in (0, "N", "n"):
        return 0
    if trans in (1, 2, "T", "t", "C", "c"):
        return 1
    raise ArgumentError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', not "
                        f"{trans!r}")


def triangle_of(m, lower=False, unit_diagonal=False):
    """The entries of ``m`` that solve_triangular (or cho_solve) reads: its lower or upper
    triangle, without the diagonal when it is taken as ones."""
    shift = 1 if unit_diagonal else 0
    return np.tril(m, -shift) if lower else np.triu(m, shift)


def solve_triangular_adjoint(g, ans, a, trans=0, lower=False, unit_diagonal=False):
    """The adjoint of ``x = solve_triangular(a, b, trans, lower, unit_diagonal)`` for ``a``:
    with op(T) x = b, T's cotangent is -op^T(gb x^T), gb the solve of the transposed
    system, kept to the triangle T is read from."""
    gb = solve_triangular(a, g, trans=transposed_trans(trans), lower=lower,
                          unit_diagonal=unit_diagonal)
    n = np.shape(a)[-1]
    outer = -np.reshape(gb, (n, -1)) @ np.reshape(ans, (n, -1)).T
    if transposed_trans(trans) == 0:  # T^T x = b: the cotangent of T is the transpose
        outer = outer.T
    return triangle_of(outer, lower, unit_diagonal)


def _solve_triangular_many(a, t, trans, lower, unit_diagonal):
    """solve_triangular of each direction of ``t`` (directions first) in one call."""
    n = np.shape(a)[-1]
    k = len(t)
    columns = np.reshape(np.moveaxis(t, 0, -1), (n, -1))
    x = solve_triangular(a, columns, trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    return np.moveaxis(np.reshape(x, (*np.shape(t)[1:], k)), -1, 0)


def _check_square(a, name):
    if np.ndim(a) != 2:
        raise MissingRuleError(
            f"{name} of a stack of matrices (a of shape {np.shape(a)}) has no derivative "
            "rule", hint="solve one matrix at a time")


def _solve_triangular_tangent_a(t, ans, a, b, trans=0, lower=False, unit_diagonal=False):
    _check_square(a, "scipy.linalg.solve_triangular")
    n = np.shape(a)[-1]
    dT = triangle_of(t, lower, unit_diagonal)
    if _trans_index(trans) == 1:
        dT = np.swapaxes(dT, -1, -2)
    product = -(dT @ np.reshape(ans, (n, -1)))
    return _solve_triangular_many(a, np.reshape(product, (len(t), *np.shape(ans))), trans,
                                  lower, unit_diagonal)


def _solve_triangular_tangent_b(t, ans, a, b, trans=0, lower=False, unit_diagonal=False):
    _check_square(a, "scipy.linalg.solve_triangular")
    return _solve_triangular_many(a, t, trans, lower, unit_diagonal)


def expm_derivative(a, e):
    """The derivative of ``expm`` at ``a`` in the direction ``e``: the top-right block of
    expm([[a, e], [0, a]]) (Najfeld and Havel, 1995). Stacks of matrices broadcast."""
    n = np.shape(a)[-1]
    shape = np.broadcast_shapes(np.shape(a), np.shape(e))
    a = np.broadcast_to(a, shape)
    e = np.broadcast_to(e, shape)
    top = np.concatenate([a, e], axis=-1)
    bottom = np.concatenate([np.zeros_like(a), a], axis=-1)
    return expm(np.concatenate([top, bottom], axis=-2))[..., :n, n:]


def logsumexp_operand(a):
    """``a`` as SciPy's logsumexp reads it: a 0-d ``a`` as the 1-d array [a] (so that
    ``axis=0`` is allowed and ``keepdims=True`` gives shape (1,))."""
    return np.reshape(a, (1,)) if np.ndim(a) == 0 else a


def convolve_full_cotangent(g, in1, in2, mode="full"):
    """The cotangent ``g`` of ``convolve(in1, in2, mode)`` placed in the full convolution
    it was cut from (zeros elsewhere): 'same' and 'valid' keep its centre, as SciPy cuts."""
    pads = []
    for n, m, size in zip(np.shape(in1), np.shape(in2), np.shape(g), strict=True):
        full = n + m - 1
        start = {"full": 0, "same": (m - 1) // 2, "valid": min(n, m) - 1}[mode]
        pads.append((start, full - start - size))
    return np.pad(g, pads) if any(any(p) for p in pads) else g


def convolve_adjoint(g, in1, in2, mode, operand):
    """The cotangent of operand 0 (``in1``) or 1 (``in2``) of ``convolve(in1, in2, mode)``:
    the full cotangent correlated with the other operand (a convolution with it reversed)."""
    full = convolve_full_cotangent(g, in1, in2, mode) if np.ndim(in1) else g
    return convolve(full, np.flip(in2 if operand == 0 else in1), mode="valid")


def logsumexp_partials(g, ans, a, axis=None, keepdims=False):
    """The cotangent ``g`` of ``logsumexp(a, axis, keepdims=keepdims)`` times
    exp(a - logsumexp), in the shape of ``a`` (also of a 0-d ``a``, read as [a])."""
    operand = logsumexp_operand(a)
    partials = unreduce(g, operand, axis, keepdims) * np.exp(
        operand - unreduce(ans, operand, axis, keepdims))
    return np.reshape(partials, ()) if np.ndim(a) == 0 and np.size(partials) == 1 else partials


def multigammaln_derivative(a, d):
    """d/da log Γ_d(a) = Σ_{j<d} ψ(a − j/2), the multivariate gamma function's log."""
    return np.sum(digamma(np.expand_dims(a, -1) - np.arange(d) / 2.0), axis=-1)


def _check_logsumexp(a=None, axis=None, b=None, keepdims=False, return_sign=False, **_):
    if return_sign:
        raise MissingRuleError(
            "scipy.special.logsumexp(..., return_sign=True) has no derivative rule (it "
            "returns the sign too)", hint="leave return_sign out: with positive weights b "
            "the sum is positive")


def _check_cho_solve(c_and_lower=None, b=None, *rest, **keywords):
    if _traced([c_and_lower]) is not None:
        raise MissingRuleError(
            "scipy.linalg.cho_solve((c, lower), b) has a derivative rule in b only, not in "
            "the Cholesky factor c",
            hint="solve with np.linalg.solve(a, b) to differentiate the matrix, or with "
            "scipy.linalg.solve_triangular twice (L y = b, then L^T x = y)")


# --------------------------------------------------------------------------- helper names

SCIPY_HELPERS = {
    "digamma": digamma,
    "polygamma": polygamma,
    "solve_triangular": solve_triangular,
    "cho_solve": cho_solve,
    "expm": expm,
    "transposed_trans": transposed_trans,
    "triangle_of": triangle_of,
    "solve_triangular_adjoint": solve_triangular_adjoint,
    "expm_derivative": expm_derivative,
    "multigammaln_derivative": multigammaln_derivative,
    "logsumexp_operand": logsumexp_operand,
    "logsumexp_partials": logsumexp_partials,
    "gammaln": scipy.special.gammaln,
    "betaln": scipy.special.betaln,
    "j0": scipy.special.j0,
    "j1": scipy.special.j1,
    "jv": scipy.special.jv,
    "y0": scipy.special.y0,
    "y1": scipy.special.y1,
    "yv": scipy.special.yv,
    "yn": scipy.special.yn,
    "i0": scipy.special.i0,
    "i1": scipy.special.i1,
    "iv": scipy.special.iv,
    "ive": scipy.special.ive,
}
"""The names the adjoint expressions above use besides NumPy's and the plain helpers."""

registry.add_helpers(SCIPY_HELPERS)
registry.DISPLAY_NAMES.update(SCIPY_NAMES)


# --------------------------------------------------------------------------- scipy.special


def _unreduce_weights(a, ans, axis, keepdims, b):
    """b exp(a - logsumexp): the partials of logsumexp in a (softmax when b is None)."""
    weights = np.exp(a - helpers.unreduce(ans, a, axis, keepdims))
    return weights if b is None else weights * b


def _logsumexp_tangent_a(t, ans, a, axis=None, b=None, keepdims=False, return_sign=False):
    _check_logsumexp(return_sign=return_sign)
    a = logsumexp_operand(a)
    weights = _unreduce_weights(a, ans, axis, keepdims, b)
    t = helpers.pad_tangent(t, np.ndim(weights))
    return np.sum(t * weights, axis=shift_axis(axis, np.ndim(weights)), keepdims=keepdims)


def _logsumexp_tangent_b(t, ans, a, axis=None, b=None, keepdims=False, return_sign=False):
    _check_logsumexp(return_sign=return_sign)
    a = logsumexp_operand(a)
    weights = np.broadcast_to(np.exp(a - helpers.unreduce(ans, a, axis, keepdims)),
                              np.broadcast_shapes(np.shape(a), np.shape(b)))
    t = helpers.pad_tangent(t, np.ndim(weights))
    return np.sum(t * weights, axis=shift_axis(axis, np.ndim(weights)), keepdims=keepdims)


def _logsumexp_rank(rank, *others, keepdims=False, **keywords):
    if rank == 0 and not others:  # a 0-d a is read as [a]
        return 1 if keepdims else 0
    if rank is None or keepdims:
        return rank
    return 0 if not others and "axis" not in keywords else None


_LOGSUMEXP_REFUSAL = ("no_rule('scipy.special.logsumexp(..., return_sign=True) has no "
                      "derivative rule') if return_sign else ")
LOGSUMEXP = defrule(
    (logsumexp, _logsumexp),
    "a axis b",
    keywords={"keepdims": False, "return_sign": False},
    tangents=(_logsumexp_tangent_a, None, _logsumexp_tangent_b),
    adjoints=(
        _LOGSUMEXP_REFUSAL + "unbroadcast(logsumexp_partials(g, ans, a, axis, keepdims) "
        "* (1 if b is None else b), a)",
        None,
        _LOGSUMEXP_REFUSAL + "unbroadcast(logsumexp_partials(g, ans, a, axis, keepdims), b)",
    ),
    optional=2,
    name="scipy.special.logsumexp",
    rank=_logsumexp_rank,
    doc="Differentiable in a and in the weights b (log of a sum b exp(a) that stays "
    "positive); return_sign=True is refused.",
)
object.__setattr__(LOGSUMEXP, "before_apply", _check_logsumexp)


def _softmax_tangent(t, ans, x, axis=None):
    inner = np.sum(t * ans, axis=shift_axis(axis, np.ndim(x)), keepdims=True)
    return ans * (t - inner)


def _log_softmax_tangent(t, ans, x, axis=None):
    return t - np.sum(t * np.exp(ans), axis=shift_axis(axis, np.ndim(x)), keepdims=True)


defrule(
    (softmax, _softmax), "x", keywords={"axis": None},
    tangents=(_softmax_tangent,),
    adjoints=("ans * (g - np.sum(g * ans, axis=axis, keepdims=True))",),
    name="scipy.special.softmax", rank=lambda rank, **_: rank,
)
defrule(
    (log_softmax, _log_softmax), "x", keywords={"axis": None},
    tangents=(_log_softmax_tangent,),
    adjoints=("g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True)",),
    name="scipy.special.log_softmax", rank=lambda rank, **_: rank,
)

elementwise(scipy.special.expit, "ans * (1 - ans)", name="scipy.special.expit")
elementwise(scipy.special.logit, "1 / (x * (1 - x))", singular=True,
            doc="Infinite slope at 0 and 1.", name="scipy.special.logit")
elementwise(scipy.special.erf, "2 / np.sqrt(np.pi) * np.exp(-x ** 2)", name="scipy.special.erf")
elementwise(scipy.special.erfc, "-2 / np.sqrt(np.pi) * np.exp(-x ** 2)", name="scipy.special.erfc")
elementwise(scipy.special.gammaln, "digamma(x)", singular=True,
            doc="The derivative of log|Γ(x)| is digamma(x), also for negative x; infinite "
            "at the poles 0, -1, -2, ...", name="scipy.special.gammaln")
elementwise(scipy.special.digamma, "polygamma(1, x)", singular=True, name="scipy.special.digamma",
            doc="Infinite at the poles 0, -1, -2, ...", real_only=True)
registry.register(dataclasses.replace(
    elementwise(polygamma, None, "polygamma(n + 1, x)", params=("n", "x"),
                singular=(False, True), name="scipy.special.polygamma",
                doc="Differentiable in x; the order n is an integer."),
    primitives=(polygamma, _polygamma)))  # the original too, as for the others
elementwise(scipy.special.xlogy, "np.log(y)", "np.where(x == 0, 0.0, x / y)",
            singular=(True, False),
            doc="xlogy(0, y) = 0; d/dx = log(y), d/dy = x / y, taken as 0 where x = 0.",
            name="scipy.special.xlogy")
elementwise(scipy.special.xlog1py, "np.log1p(y)", "np.where(x == 0, 0.0, x / (1 + y))",
            singular=(True, False),
            doc="xlog1py(0, y) = 0; d/dx = log1p(y), d/dy = x / (1 + y), taken as 0 where "
            "x = 0.", name="scipy.special.xlog1py")


# The gamma and beta families. At a pole of Γ (0, -1, -2, ...) the derivatives are infinite.
elementwise(scipy.special.gamma, "ans * digamma(x)", singular=True, name="scipy.special.gamma",
            doc="Γ'(x) = Γ(x) ψ(x); infinite at the poles 0, -1, -2, ...")
elementwise(scipy.special.rgamma, "-ans * digamma(x)", singular=True,
            name="scipy.special.rgamma", doc="(1/Γ)' = -ψ(x)/Γ(x).")
nondifferentiable(scipy.special.gammasgn, name="scipy.special.gammasgn")
elementwise(scipy.special.beta, "ans * (digamma(a) - digamma(a + b))",
            "ans * (digamma(b) - digamma(a + b))", params=("a", "b"), singular=True,
            name="scipy.special.beta")
elementwise(scipy.special.betaln, "digamma(a) - digamma(a + b)",
            "digamma(b) - digamma(a + b)", params=("a", "b"), singular=True,
            name="scipy.special.betaln",
            doc="The derivative of log|B(a, b)|, as for gammaln.")
def _refused(function, parameter):
    """A partial that refuses: the derivative in ``parameter`` exists but has no rule here,
    so it must not pass as zero."""
    return (f"no_rule('{function} has a derivative rule in x only, not in its "
            f"{parameter}', hint='keep the {parameter} a constant')")


elementwise(scipy.special.betainc, _refused("scipy.special.betainc", "shape parameter a"),
            _refused("scipy.special.betainc", "shape parameter b"),
            "np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - betaln(a, b))",
            params=("a", "b", "x"), singular=True, name="scipy.special.betainc",
            doc="Differentiable in x only (the density of the beta distribution); not in "
            "the shape parameters a and b.")
elementwise(scipy.special.gammainc, _refused("scipy.special.gammainc", "shape a"),
            "np.exp((a - 1) * np.log(x) - x - gammaln(a))",
            params=("a", "x"), singular=True, name="scipy.special.gammainc",
            doc="Differentiable in x only (the density of the gamma distribution); not in "
            "the shape a.")
elementwise(scipy.special.gammaincc, _refused("scipy.special.gammaincc", "shape a"),
            "-np.exp((a - 1) * np.log(x) - x - gammaln(a))",
            params=("a", "x"), singular=True, name="scipy.special.gammaincc",
            doc="Differentiable in x only; not in the shape a.")
registry.register(dataclasses.replace(
    elementwise(multigammaln, "multigammaln_derivative(a, d)", None, params=("a", "d"),
                name="scipy.special.multigammaln",
                doc="Differentiable in a; the dimension d is an integer."),
    primitives=(multigammaln, _multigammaln)))

# The inverse error functions: the reciprocal of erf' at the result.
elementwise(scipy.special.erfinv, "np.sqrt(np.pi) / 2 * np.exp(ans ** 2)",
            name="scipy.special.erfinv", doc="Infinite at -1 and 1.")
elementwise(scipy.special.erfcinv, "-np.sqrt(np.pi) / 2 * np.exp(ans ** 2)",
            name="scipy.special.erfcinv", doc="Infinite at 0 and 2.")

# Bessel functions, from their recurrences: J' = (J_{v-1} - J_{v+1}) / 2, and so on.
elementwise(scipy.special.j0, "-j1(x)", name="scipy.special.j0")
elementwise(scipy.special.j1, "0.5 * (j0(x) - jv(2, x))", name="scipy.special.j1")
elementwise(scipy.special.y0, "-y1(x)", singular=True, name="scipy.special.y0")
elementwise(scipy.special.y1, "0.5 * (y0(x) - yv(2, x))", singular=True,
            name="scipy.special.y1")
elementwise(scipy.special.i0, "i1(x)", name="scipy.special.i0")
elementwise(scipy.special.i1, "0.5 * (i0(x) + iv(2, x))", name="scipy.special.i1")
for _bessel, _partial, _doc in (
    (scipy.special.jv, "0.5 * (jv(v - 1, x) - jv(v + 1, x))", "J_v'"),
    (scipy.special.yv, "0.5 * (yv(v - 1, x) - yv(v + 1, x))", "Y_v'"),
    (scipy.special.yn, "0.5 * (yn(v - 1, x) - yn(v + 1, x))", "Y_n' (n a whole number)"),
    (scipy.special.iv, "0.5 * (iv(v - 1, x) + iv(v + 1, x))", "I_v'"),
    (scipy.special.ive, "0.5 * (ive(v - 1, x) + ive(v + 1, x)) - np.sign(x) * ans",
     "ive = I_v(x) exp(-|x|)"),
):
    _name = SCIPY_NAMES[id(_bessel)]
    # ive(v, z) of a complex z scales by exp(-|Re z|), which is not holomorphic: refused
    elementwise(_bessel, None if _bessel is scipy.special.yn else _refused(_name, "order v"),
                _partial, params=("v", "x"), singular=True, name=_name,
                real_only=_bessel is scipy.special.ive,
                doc=f"Differentiable in x ({_doc}); the order v is refused (yn's is an "
                "integer).")

# --------------------------------------------------------------------------- scipy.linalg

_TRIANGULAR = {"trans": 0, "lower": False, "unit_diagonal": False}

defrule(
    (solve_triangular, _solve_triangular),
    "a b",
    keywords=_TRIANGULAR,
    tangents=(_solve_triangular_tangent_a, _solve_triangular_tangent_b),
    adjoints=(
        "solve_triangular_adjoint(g, ans, a, trans, lower, unit_diagonal)",
        "solve_triangular(a, g, trans=transposed_trans(trans), lower=lower, "
        "unit_diagonal=unit_diagonal)",
    ),
    name="scipy.linalg.solve_triangular",
    rank=lambda a_rank, b_rank, **_: b_rank,
    doc="a of one matrix; only the triangle it reads has a derivative (not the diagonal "
    "with unit_diagonal=True).",
)


def _cho_solve_tangent_b(t, ans, c_and_lower, b):
    c, lower = c_and_lower
    n = np.shape(c)[-1]
    k = len(t)
    columns = np.reshape(np.moveaxis(t, 0, -1), (n, -1))
    x = cho_solve((c, lower), columns)
    return np.moveaxis(np.reshape(x, (*np.shape(t)[1:], k)), -1, 0)


def _cho_solve_tangent_c(t, ans, c_and_lower, b):
    _check_cho_solve(t)


CHO_SOLVE = defrule(
    (cho_solve, _cho_solve),
    "c_and_lower b",
    tangents=(_cho_solve_tangent_c, _cho_solve_tangent_b),
    adjoints=(
        "no_rule('scipy.linalg.cho_solve((c, lower), b) has a derivative rule in b only, "
        "not in the Cholesky factor c')",
        "cho_solve(c_and_lower, g)",
    ),
    name="scipy.linalg.cho_solve",
    sequence=True,  # reverse mode then follows the tuple's entries, and refuses c
    doc="Differentiable in b only (the Cholesky factor c is refused).",
)
# Forward mode: c is refused before the rule runs; the rule proper, for b, reads the tuple
# as one constant argument.
_CHO_SOLVE_B = dataclasses.replace(CHO_SOLVE, sequence=False)


def _cho_solve_forward(*args, **kwargs):
    _check_cho_solve(*args, **kwargs)
    return _CHO_SOLVE_B


object.__setattr__(CHO_SOLVE, "before_apply", _cho_solve_forward)


def _expm_tangent(t, ans, a):
    return expm_derivative(a, t)


defrule(
    (expm, _expm), "a",
    tangents=(_expm_tangent,),
    adjoints=("expm_derivative(np.swapaxes(a, -1, -2), g)",),
    name="scipy.linalg.expm", rank=lambda rank, **_: rank,
    doc="The derivative from the block matrix expm([[a, e], [0, a]]).",
)

# --------------------------------------------------------------------------- scipy.signal
# scipy.signal takes longer to import than NumPy and the rest of autodiffx together, so its
# rule is installed when something imports it: at once if it already was, else by a finder
# that waits for its import. Either way, the order of the imports does not matter.


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Runs ``then()`` right after the module ``name`` is first imported."""

    def __init__(self, name, then):
        self.name, self.then, self.loader = name, then, None

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # one import only; the real finders find the spec
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        self.loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        module.__spec__.loader = module.__loader__ = self.loader
        self.then()


def when_imported(name, then):
    """Call ``then()`` once the module ``name`` is imported (now, if it already is)."""
    if name in sys.modules:
        then()
    else:
        sys.meta_path.insert(0, _AfterImport(name, then))


def _convolve_tangent_in1(t, ans, in1, in2, mode="full", method="auto"):
    return np.stack([convolve(direction, in2, mode=mode, method=method) for direction in t])


def _convolve_tangent_in2(t, ans, in1, in2, mode="full", method="auto"):
    return np.stack([convolve(in1, direction, mode=mode, method=method) for direction in t])


def _check_convolve(in1=None, in2=None, mode="full", method="auto", **_):
    if np.ndim(in1) != np.ndim(in2):
        raise MissingRuleError(
            "scipy.signal.convolve of arrays of different ranks has no derivative rule",
            hint="give both operands the same number of axes (np.reshape)")


convolve = _convolve = CONVOLVE = None  # until scipy.signal is imported


def _install_signal():
    global convolve, _convolve, CONVOLVE
    convolve, _convolve = _install(sys.modules["scipy.signal"], "convolve")
    for function in (convolve, _convolve):
        SCIPY_NAMES[id(function)] = "scipy.signal.convolve"
    registry.add_helpers({"convolve": convolve, "convolve_adjoint": convolve_adjoint,
                          "convolve_full_cotangent": convolve_full_cotangent})
    registry.DISPLAY_NAMES.update(SCIPY_NAMES)
    CONVOLVE = _convolve_rule()


def _convolve_rule():
    rule = defrule(
        (convolve, _convolve),
        "in1 in2",
        keywords={"mode": "full", "method": "auto"},
        tangents=(_convolve_tangent_in1, _convolve_tangent_in2),
        adjoints=("convolve_adjoint(g, in1, in2, mode, 0)",
                  "convolve_adjoint(g, in1, in2, mode, 1)"),
        name="scipy.signal.convolve",
        rank=lambda rank1, rank2, **_: rank1 if rank1 is not None else rank2,
        doc="Bilinear: each operand's cotangent is the (zero-padded) cotangent correlated "
        "with the other operand. Both operands have the same number of axes.",
    )
    object.__setattr__(rule, "before_apply", _check_convolve)
    return rule


when_imported("scipy.signal", _install_signal)


# --------------------------------------------------------------------------- scipy.stats
# The normal distribution's functions of x, loc and scale. Like scipy.signal, scipy.stats
# is installed when it is imported. Its functions are methods of the object
# scipy.stats.norm, which gets a dispatching version of each as an attribute of its own.


def normal_partial(ans, x, loc=None, scale=None, method="pdf", which=0):
    """The derivative of ``scipy.stats.norm.<method>(x, loc, scale)`` in x (``which`` 0),
    loc (1) or scale (2), from z = (x − loc) / scale and the density φ."""
    loc = 0.0 if loc is None else loc
    scale = 1.0 if scale is None else scale
    z = (x - loc) / scale
    dz = (1 / scale, -1 / scale, -z / scale)[which]  # ∂z/∂(x, loc, scale)
    if method in ("pdf", "logpdf"):  # log φ(z) − log scale
        partial = -z * dz - (1 / scale if which == 2 else 0.0)
        return ans * partial if method == "pdf" else partial
    log_density = -0.5 * z ** 2 - 0.5 * np.log(2 * np.pi)
    sign = 1.0 if method in ("cdf", "logcdf") else -1.0  # sf = 1 − cdf
    if method in ("cdf", "sf"):
        return sign * np.exp(log_density) * dz
    return sign * np.exp(log_density - ans) * dz  # logcdf, logsf: φ / cdf, φ / sf


NORMAL_METHODS = ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf")


def _normal_tangent(method, which):
    def tangent(t, ans, x, loc=None, scale=None):
        partial = normal_partial(ans, x, loc, scale, method, which)
        return helpers.pad_tangent(t, np.ndim(partial)) * partial

    return tangent


def _with_defaults(method):
    """``method(x, loc, scale)`` with None read as the default (0 and 1): forward mode
    passes a parameter left out before a given one (``pdf(x, scale=2.0)``) as None."""

    def normal(x, loc=None, scale=None):
        return method(x, 0.0 if loc is None else loc, 1.0 if scale is None else scale)

    normal.__name__ = normal.__qualname__ = method.__name__
    normal.__doc__ = method.__doc__
    return normal


def _install_stats():
    norm = sys.modules["scipy.stats"].norm
    wrappers = {}
    for method in NORMAL_METHODS:
        current = getattr(norm, method)
        original = getattr(current, "original", current)
        if original is current:
            current = _dispatching(_with_defaults(original), sys.modules["scipy.stats"])
            setattr(norm, method, current)  # shadows the method for this object only
        wrappers[method] = current
        SCIPY_NAMES[id(current)] = f"scipy.stats.norm.{method}"
    registry.DISPLAY_NAMES.update(SCIPY_NAMES)
    for method, wrapper in wrappers.items():
        defrule(
            wrapper,
            "x loc scale",
            tangents=tuple(_normal_tangent(method, which) for which in range(3)),
            adjoints=tuple(
                f"unbroadcast(g * normal_partial(ans, x, loc, scale, {method!r}, {which}), "
                f"{name})" for which, name in enumerate(("x", "loc", "scale"))),
            optional=2,
            elementwise=True,
            name=f"scipy.stats.norm.{method}",
            rank=_broadcast_rank,
            # SciPy casts a complex loc or scale to real (a ComplexWarning): complex values
            # are refused rather than followed through a function they do not reach
            real_only=True,
            doc="In x, loc and scale (given by position or by name), from z = (x - loc) / "
            "scale; the log forms divide by the value without forming it. Real values "
            "only: SciPy drops the imaginary part of a complex loc or scale.",
        )


registry.add_helpers({"normal_partial": normal_partial})
when_imported("scipy.stats", _install_stats)


# --------------------------------------------------------------------------- scipy.stats families
# Student's t, gamma, beta and chi-squared: ``<family>.<method>(x, *shapes, loc, scale)``. Each
# has a standard log-density ℓ(z; shapes) in z = (x − loc) / scale, and
# log pdf(x) = ℓ(z) − log scale; the partials of ℓ in z and in the shapes are written below.
# The distribution functions (cdf, sf and their logs) have the density as their partial in
# x, loc and scale, but in a shape only an integral with no closed form: a derivative there
# is refused, never passed as zero.


def stats_t_partials(z, df):
    """Student's t: log-density ℓ(z; df) and its partials in z and in df."""
    square = z * z
    log_density = (gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * np.log(df * np.pi)
                   - (df + 1) / 2 * np.log1p(square / df))
    in_df = (0.5 * (digamma((df + 1) / 2) - digamma(df / 2)) - 0.5 / df
             - 0.5 * np.log1p(square / df) + (df + 1) * square / (2 * df * (df + square)))
    return log_density, -(df + 1) * z / (df + square), (in_df,)


def stats_gamma_partials(z, a):
    """The gamma distribution (z > 0): ℓ(z; a) and its partials in z and in a."""
    log_z = np.log(z)
    return (a - 1) * log_z - z - gammaln(a), (a - 1) / z - 1, (log_z - digamma(a),)


def stats_beta_partials(z, a, b):
    """The beta distribution (0 < z < 1): ℓ(z; a, b) and its partials in z, a and b."""
    log_z, log_rest, both = np.log(z), np.log1p(-z), digamma(a + b)
    return ((a - 1) * log_z + (b - 1) * log_rest - betaln(a, b),
            (a - 1) / z - (b - 1) / (1 - z),
            (log_z - digamma(a) + both, log_rest - digamma(b) + both))


def stats_chi2_partials(z, df):
    """The chi-squared distribution (z > 0): ℓ(z; df) and its partials in z and in df."""
    half = df / 2
    return ((half - 1) * np.log(z) - z / 2 - half * np.log(2.0) - gammaln(half),
            (half - 1) / z - 0.5, (0.5 * np.log(z / 2) - 0.5 * digamma(half),))


STANDARD_FAMILIES = {"t": ("df",), "gamma": ("a",), "beta": ("a", "b"), "chi2": ("df",)}
"""family -> its shape parameters, in SciPy's order."""

digamma, gammaln, betaln = scipy.special.digamma, scipy.special.gammaln, scipy.special.betaln


def family_partial(ans, x, *params, family, method, which):
    """The derivative of ``scipy.stats.<family>.<method>(x, *shapes, loc, scale)`` in its
    parameter ``which`` (0 for x, then the shapes, loc and scale); ``ans`` is the value.
    Outside the support (where the density is 0) the logarithms give nan, as the finite
    differences of SciPy's -inf would.

    Examples:
        The gamma log-density in its shape a is log x − ψ(a), in both modes:

        >>> import numpy as np, scipy.special, scipy.stats
        >>> from autodiffx import grad
        >>> def log_likelihood(a):
        ...     return scipy.stats.gamma.logpdf(2.0, a)
        >>> want = np.log(2.0) - scipy.special.digamma(1.5)
        >>> [bool(np.isclose(grad(log_likelihood, mode=m)(1.5), want))
        ...  for m in ("reverse", "forward")]
        [True, True]
    """
    count = 2 if family == "beta" else 1
    loc = params[count] if len(params) > count and params[count] is not None else 0.0
    scale = (params[count + 1] if len(params) > count + 1 and params[count + 1] is not None
             else 1.0)
    z = (x - loc) / scale
    partials = {"t": stats_t_partials, "gamma": stats_gamma_partials,
                "beta": stats_beta_partials, "chi2": stats_chi2_partials}[family]
    log_density, in_z, in_shapes = partials(z, *params[:count])
    if method in ("pdf", "logpdf"):
        if which == 0:
            partial = in_z / scale
        elif which <= count:
            partial = in_shapes[which - 1]
        elif which == count + 1:
            partial = -in_z / scale
        else:
            partial = -(in_z * z + 1) / scale
        return ans * partial if method == "pdf" else partial
    if 1 <= which <= count:
        raise MissingRuleError(
            f"scipy.stats.{family}.{method} has a derivative rule in x, loc and scale only, "
            "not in its shape parameters",
            hint="keep the shape parameters constants")
    log_density = log_density - np.log(scale)  # of x: the density of z over scale
    factor = 1.0 if which == 0 else -1.0 if which == count + 1 else -z
    sign = 1.0 if method in ("cdf", "logcdf") else -1.0  # sf = 1 − cdf
    if method in ("cdf", "sf"):
        return sign * np.exp(log_density) * factor
    return sign * np.exp(log_density - ans) * factor  # logcdf, logsf: pdf / cdf, pdf / sf


def _family_tangent(family, method, which):
    def tangent(t, ans, x, *params):
        partial = family_partial(ans, x, *params, family=family, method=method, which=which)
        return helpers.pad_tangent(t, np.ndim(partial)) * partial

    return tangent


def _with_shapes(method, shapes):
    """``method(x, *shapes, loc, scale)`` with SciPy's parameter names, loc and scale
    optional (None read as 0 and 1, as :func:`_with_defaults` does for the normal)."""
    names = ("x", *shapes, "loc", "scale")
    signature = inspect.Signature([
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          default=None if name in ("loc", "scale") else inspect.Parameter.empty)
        for name in names])

    def distribution(*args, **kwargs):
        given = signature.bind(*args, **kwargs).arguments
        loc, scale = given.get("loc"), given.get("scale")
        return method(*(given[name] for name in names[:-2]), 0.0 if loc is None else loc,
                      1.0 if scale is None else scale)

    distribution.__name__ = distribution.__qualname__ = method.__name__
    distribution.__doc__ = method.__doc__
    distribution.__signature__ = signature
    return distribution


def _install_families():
    stats = sys.modules["scipy.stats"]
    installed = []
    for family, shapes in STANDARD_FAMILIES.items():
        distribution = getattr(stats, family)
        for method in NORMAL_METHODS:
            current = getattr(distribution, method)
            original = getattr(current, "original", current)
            if original is current:
                current = _dispatching(_with_shapes(original, shapes), stats)
                setattr(distribution, method, current)  # for this object only
            SCIPY_NAMES[id(current)] = f"scipy.stats.{family}.{method}"
            installed.append((family, shapes, method, current))
    registry.DISPLAY_NAMES.update(SCIPY_NAMES)
    for family, shapes, method, wrapper in installed:
        names = ("x", *shapes, "loc", "scale")
        partial_in = ("x, loc, scale" if method not in ("pdf", "logpdf")
                      else ", ".join(names))
        defrule(
            wrapper,
            names,
            tangents=tuple(_family_tangent(family, method, which)
                           for which in range(len(names))),
            adjoints=tuple(
                f"unbroadcast(g * family_partial(ans, {', '.join(names)}, "
                f"family={family!r}, method={method!r}, which={which}), {name})"
                for which, name in enumerate(names)),
            optional=2,
            elementwise=True,
            name=f"scipy.stats.{family}.{method}",
            rank=_broadcast_rank,
            real_only=True,
            doc=f"In {partial_in} (by position or by name), from z = (x - loc) / scale and "
            "the standard log-density's partials"
            + ("; the shapes are refused (no closed form)." if method not in
               ("pdf", "logpdf") else "."),
        )


registry.add_helpers({"family_partial": family_partial, "stats_t_partials": stats_t_partials,
                      "stats_gamma_partials": stats_gamma_partials,
                      "stats_beta_partials": stats_beta_partials,
                      "stats_chi2_partials": stats_chi2_partials})
when_imported("scipy.stats", _install_families)
