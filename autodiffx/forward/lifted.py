"""Forward mode through the adjoint helpers (forward over reverse).

Generated reverse-mode code calls the helpers of :mod:`autodiffx.rules.helpers`
(``unindex``, ``unbroadcast``, ``matmul_adjoint``, ...). When ``jacfwd(grad(f))`` or ``hvp``
pushes Duals through that code, a helper meets Duals, and several of them build arrays in
ways a Dual cannot go through (``np.zeros`` and item assignment, ``np.asarray``,
``np.split``). Each helper declares its derivative where it is defined
(:mod:`autodiffx.rules.lifting`); its dispatcher hands a call with a Dual argument to
``Dual.__autodiffx_helper__``, which calls :func:`lift`: the helper's forward-mode version,
built here once per helper from that declaration:

* **linear** in the cotangent ``g``, reading other arguments for their shapes only
  (``unbroadcast``, ``unreduce``, ``unindex``, ``untake``, ...): the tangent is the helper
  applied to the tangent of ``g``, direction by direction;
* **product** adjoints, bilinear in ``g`` and the other operand (``matmul_adjoint``,
  ``dot_adjoint``, ``inner_adjoint``, ``einsum_adjoint``): the product rule, per direction;
* **binary** helpers with a tangent formula (``safe_divide``, ``strong_zero``);
* **unary** helpers with a tangent for all directions at once (``prod_partials``);
* **constant** helpers (``extremum_weights``): zero tangent.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import MissingRuleError
from ..rules import helpers
from ..rules.lifting import traced_in
from .dual import Dual

# --------------------------------------------------------------------------- Dual plumbing


def _level(values) -> int:
    level = 0
    for value in values:
        if isinstance(value, Dual) and value.level > level:
            level = value.level
        elif isinstance(value, (list, tuple)):
            inner = _level(value)
            level = max(level, inner)
    return level


def _primal(value, level):
    if isinstance(value, Dual) and value.level == level:
        return value.primal
    if isinstance(value, list) and any(isinstance(v, Dual) for v in value):
        return [_primal(v, level) for v in value]
    return value


def _shape_only(value):
    """An argument read only for its shape: its plain value at every level."""
    while isinstance(value, Dual):
        value = value.primal
    if isinstance(value, list):
        return [_shape_only(v) for v in value]
    return value


def _directions(value, level, k):
    """The tangent of ``value`` at ``level`` as ``k`` full-shape slices, or None if constant."""
    if isinstance(value, Dual) and value.level == level:
        tangent = value.tangent
        shape = (k, *np.shape(value.primal))
        if np.shape(tangent) != shape:
            tangent = np.broadcast_to(tangent, shape) if not isinstance(tangent, Dual) else (
                np.broadcast_to(tangent, shape)
            )
        return [tangent[j] for j in range(k)]
    return None


def _count(values, level) -> int:
    for value in values:
        if isinstance(value, Dual) and value.level == level:
            return len(value.tangent)
    return 0


def _combine(primal, parts, level):
    """A Dual from a primal and per-direction tangents (a list of Duals for a list)."""
    if isinstance(primal, list):
        return [
            _combine(piece, [part[i] for part in parts], level) for i, piece in enumerate(primal)
        ]
    tangent = np.stack([np.broadcast_to(p, np.shape(primal)) for p in parts])
    return Dual(primal, tangent, level)


# --------------------------------------------------------------------------- lifting


def _linear(original, linear: tuple[int, ...], shapes: tuple[int, ...] = ()):
    """``original`` is multilinear in the arguments at ``linear``; those at ``shapes`` are
    read for their shapes only. The tangent is the sum over the linear arguments of the
    helper with that argument replaced by its tangent (the product rule)."""

    @functools.wraps(original)
    def lifted(*args, **kwargs):
        if traced_in(args) is None:
            return original(*args, **kwargs)
        args = [_shape_only(a) if i in shapes else a for i, a in enumerate(args)]
        level = _level(args)
        if level == 0:
            return original(*args, **kwargs)
        primals = [_primal(a, level) for a in args]
        ans = original(*primals, **kwargs)
        k = _count(args, level)
        if k == 0:  # only a list argument carried Duals: not a linear slot
            raise MissingRuleError(
                f"forward mode cannot differentiate {original.__name__} with respect to "
                "a list argument"
            )
        parts = None
        for position in linear:
            if position >= len(args):
                continue
            slices = _directions(args[position], level, k)
            if slices is None:
                continue
            for j in range(k):
                replaced = list(primals)
                replaced[position] = slices[j]
                part = lifted(*replaced, **kwargs)
                if parts is None:
                    parts = [None] * k
                parts[j] = part if parts[j] is None else _add(parts[j], part)
        if parts is None:
            return ans
        return _combine(ans, parts, level)

    return lifted


def _add(a, b):
    if isinstance(a, list):
        return [_add(x, y) for x, y in zip(a, b, strict=True)]
    return a + b


def _product_adjoint(original):
    """``(g, x, y, side)`` helpers: bilinear in ``g`` and the operand that is not ``side``."""

    @functools.wraps(original)
    def lifted(g, x, y, side):
        if not (isinstance(g, Dual) or isinstance(x, Dual) or isinstance(y, Dual)):
            return original(g, x, y, side)
        if np.ndim(_shape_only(x)) == 0 or np.ndim(_shape_only(y)) == 0:
            # the scalar case is g * other, unbroadcast to the target's shape
            target, other = (x, y) if side == 0 else (y, x)
            return helpers.unbroadcast(g * other, _shape_only(target))
        if side == 0:
            return _bilinear(original, side)(g, _shape_only(x), y, side)
        return _bilinear(original, side)(g, x, _shape_only(y), side)

    return lifted


@functools.cache
def _bilinear(original, side):
    return _linear(original, (0, 2 if side == 0 else 1))


def _einsum_adjoint(original):
    @functools.wraps(original)
    def lifted(subscripts, side, g, *operands):
        values = (g, *operands)
        if not any(isinstance(v, Dual) for v in values):
            return original(subscripts, side, g, *operands)
        operands = list(operands)
        operands[side] = _shape_only(operands[side])
        linear = tuple(i for i in range(2, 3 + len(operands)) if i != 3 + side)
        return _linear(original, linear)(subscripts, side, g, *operands)

    return lifted


def _binary(original, tangent):
    """A two-argument helper whose tangent, per direction, is
    ``tangent(helper, a, b, ta, tb)`` (``ta`` or ``tb`` is None where that argument has no
    tangent at this level)."""

    @functools.wraps(original)
    def lifted(a, b):
        if not (isinstance(a, Dual) or isinstance(b, Dual)):
            return original(a, b)
        level = _level((a, b))
        pa, pb = _primal(a, level), _primal(b, level)
        ans = lifted(pa, pb)
        k = _count((a, b), level)
        ta = _directions(a, level, k)
        tb = _directions(b, level, k)
        parts = [
            tangent(lifted, pa, pb, None if ta is None else ta[j], None if tb is None else tb[j])
            for j in range(k)
        ]
        return _combine(ans, parts, level)

    return lifted


def _constant(original):
    """A piecewise-constant helper: its tangent is zero."""

    @functools.wraps(original)
    def lifted(*args, **kwargs):
        return original(*(_shape_only(a) for a in args), **kwargs)

    return lifted


def _unary(original, derivative):
    """``helper(x, *rest)`` whose tangent along all directions ``t`` of ``x`` is
    ``derivative.tangent(t, x, *rest)`` (computed directly: such helpers build arrays a Dual
    cannot enter)."""

    @functools.wraps(original)
    def lifted(x, *rest, **kwargs):
        if not isinstance(x, Dual):
            return original(x, *rest, **kwargs)
        primal, tangent = x.primal, x.tangent
        if isinstance(primal, Dual) or isinstance(tangent, Dual):
            raise _refused(original, derivative)
        tangent = np.broadcast_to(tangent, (len(tangent), *np.shape(primal)))
        return Dual(original(primal, *rest, **kwargs),
                    derivative.tangent(tangent, primal, *rest, **kwargs), x.level)

    return lifted


def _refusing(lifted, original, derivative):
    """``lifted``, refusing a Dual at the positions whose derivative has no rule."""
    if not derivative.refused:
        return lifted

    @functools.wraps(original)
    def refusing(*args, **kwargs):
        if any(i < len(args) and isinstance(args[i], Dual) for i in derivative.refused):
            raise _refused(original, derivative)
        return lifted(*args, **kwargs)

    return refusing


def _refused(original, derivative) -> MissingRuleError:
    what = derivative.refusal or f"a further derivative through {original.__name__}"
    return MissingRuleError(
        f"forward mode cannot take {what}: the derivative of the helper "
        f"{original.__name__} has no rule",
        hint="differentiate one order fewer through this operation, or write it with "
        "operations that have rules (a product as a loop of multiplications)",
    )


_BUILDERS = {
    "linear": lambda original, d: _refusing(_linear(original, d.linear, d.shapes), original, d),
    "product": lambda original, d: _product_adjoint(original),
    "einsum": lambda original, d: _einsum_adjoint(original),
    "binary": lambda original, d: _binary(original, d.tangent),
    "unary": lambda original, d: _unary(original, d),
    "constant": lambda original, d: _constant(original),
}
_lifted: dict = {}


def lift(helper):
    """The forward-mode version of ``helper`` (a helper declared in
    :mod:`autodiffx.rules.lifting`), made on first use."""
    lifted = _lifted.get(helper)
    if lifted is None:
        derivative = helper.derivative
        lifted = _lifted[helper] = _BUILDERS[derivative.kind](helper.__wrapped__, derivative)
    return lifted
