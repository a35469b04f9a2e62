"""The adjoint helpers, made differentiable in forward mode (forward-over-reverse).

Generated reverse-mode code calls the helpers of :mod:`autodiffx.rules.helpers`
(``unindex``, ``unbroadcast``, ``matmul_adjoint``, ...). When ``jacfwd(grad(f))`` or
``hvp`` pushes Duals through that code, a helper meets Duals; several of them build arrays
in ways a Dual cannot go through (``np.zeros`` and item assignment, ``np.asarray``,
``np.split``). Each helper is therefore treated as a primitive with a tangent rule of its
own, written here:

* most are **linear** in the cotangent ``g`` and read the other arguments only for their
  shapes (``unbroadcast``, ``unreduce``, ``unindex``, ``untake``, ``untake_along_axis``,
  ``undiff``, ``unconcatenate``, ``unstack``): the tangent is the helper applied to the
  tangent of ``g``, direction by direction (the indices of the ``untake`` helpers are
  integers, and the sort order they receive is piecewise constant in ``x``);
* the product adjoints are **bilinear** in ``g`` and the other operand (``matmul_adjoint``,
  ``dot_adjoint``, ``inner_adjoint``, ``einsum_adjoint``): the product rule, per direction;
* ``safe_divide`` and ``strong_zero`` have closed-form tangents; ``extremum_weights`` is
  piecewise constant (zero tangent);
* ``prod_partials`` (the partials of ``np.prod``) has the Hessian of the product as its
  Jacobian, applied by :func:`~autodiffx.rules.helpers.prod_partials_tangent`; its own
  adjoint ``prod_partials_adjoint`` (called by reverse-over-reverse code) is linear in the
  cotangent, and a third derivative through ``x`` is refused.

``install()`` rebinds the helper names in :mod:`autodiffx.rules.helpers` (and
:mod:`autodiffx.reverse.runtime`) to these dispatching versions, so code that imports them
afterwards, including generated modules and helpers that call each other
(``norm_adjoint``), sees them. A dispatching version calls the original at once when no
argument is a Dual, so reverse mode pays one type check per helper call. The originals stay
reachable through ``__wrapped__`` (``inspect.getsource`` shows the original body, which is
what the exporter copies).
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import MissingRuleError
from ..rules import helpers, registry
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
        if not _has_dual(args):
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

    lifted.lifted = True
    return lifted


def _has_dual(args) -> bool:
    for arg in args:
        kind = type(arg)
        if kind is np.ndarray or kind is float:
            continue
        if isinstance(arg, Dual):
            return True
        if kind is list and any(isinstance(v, Dual) for v in arg):
            return True
    return False


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

    lifted.lifted = True
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

    lifted.lifted = True
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

    lifted.lifted = True
    return lifted


def _safe_divide(original):
    # d(a / b) = da / b − a db / b², each quotient as safe as the helper itself.
    def tangent(divide, a, b, ta, tb):
        part = 0.0 if ta is None else divide(ta, b)
        return part if tb is None else part - divide(a * tb, b * b)

    return _binary(original, tangent)


def _strong_zero(original):
    # The product rule, each product keeping the helper's "zero times anything is zero".
    def tangent(product, g, d, tg, td):
        part = 0.0 if tg is None else product(tg, d)
        return part if td is None else part + product(g, td)

    return _binary(original, tangent)


def _constant(original):
    """A piecewise-constant helper: its tangent is zero."""

    @functools.wraps(original)
    def lifted(*args, **kwargs):
        return original(*(_shape_only(a) for a in args), **kwargs)

    lifted.lifted = True
    return lifted


def _prod_partials(original):
    """``prod_partials(x, axis, keepdims)``: the tangent is the Hessian of the product times
    the tangent of ``x``, computed directly (the helper builds arrays a Dual cannot enter)."""

    @functools.wraps(original)
    def lifted(x, axis=None, keepdims=False):
        if not isinstance(x, Dual):
            return original(x, axis, keepdims)
        primal, tangent = x.primal, x.tangent
        if isinstance(primal, Dual) or isinstance(tangent, Dual):
            raise _third_order()
        k = len(tangent)
        tangent = np.broadcast_to(tangent, (k, *np.shape(primal)))
        return Dual(original(primal, axis, keepdims),
                    helpers.prod_partials_tangent(tangent, primal, axis, keepdims), x.level)

    lifted.lifted = True
    return lifted


def _prod_partials_adjoint(original):
    """``prod_partials_adjoint(g, x, axis, keepdims)`` is linear in ``g``; through ``x`` it
    would be a third derivative of ``np.prod``, which has no rule."""
    linear = _linear(original, (0,))

    @functools.wraps(original)
    def lifted(g, x, axis=None, keepdims=False):
        if isinstance(x, Dual):
            raise _third_order()
        return linear(g, x, axis, keepdims)

    lifted.lifted = True
    return lifted


def _third_order() -> MissingRuleError:
    return MissingRuleError(
        "forward mode cannot take a third derivative through np.prod: the derivative of "
        "its second-derivative helper has no rule",
        hint="differentiate at most twice through np.prod, or write the product as a "
        "loop of multiplications",
    )


_LIFTED = (
    "unbroadcast", "unreduce", "unindex", "untake", "untake_along_axis", "undiff",
    "unconcatenate", "unstack", "matmul_adjoint", "dot_adjoint", "inner_adjoint",
    "einsum_adjoint", "safe_divide", "strong_zero", "extremum_weights", "prod_partials",
    "prod_partials_adjoint",
)


def _lifted_helpers() -> dict:
    h = helpers
    return {
        "unbroadcast": _linear(h.unbroadcast, (0,), (1,)),
        "unreduce": _linear(h.unreduce, (0,), (1,)),
        "unindex": _linear(h.unindex, (0,), (1,)),
        "untake": _linear(h.untake, (0,), (1,)),
        "untake_along_axis": _linear(h.untake_along_axis, (0,), (1,)),
        "undiff": _linear(h.undiff, (0,)),
        "unconcatenate": _linear(h.unconcatenate, (0,), (1,)),
        "unstack": _linear(h.unstack, (0,)),
        "matmul_adjoint": _product_adjoint(h.matmul_adjoint),
        "dot_adjoint": _product_adjoint(h.dot_adjoint),
        "inner_adjoint": _product_adjoint(h.inner_adjoint),
        "einsum_adjoint": _einsum_adjoint(h.einsum_adjoint),
        "safe_divide": _safe_divide(h.safe_divide),
        "strong_zero": _strong_zero(h.strong_zero),
        "extremum_weights": _constant(h.extremum_weights),
        "prod_partials": _prod_partials(h.prod_partials),
        "prod_partials_adjoint": _prod_partials_adjoint(h.prod_partials_adjoint),
    }


_installed = False


def _rebind_rules() -> None:
    """Point the rules written as expressions at the lifted helpers.

    Those rules were compiled (``eval``) against copies of the registry's namespace that
    hold the original helpers; in forward over forward an original ``strong_zero`` tests a
    Dual's primal for zero and drops its outer derivative (the second derivative of
    ``x * x / 2`` came out 0). Module namespaces are left alone: ``install`` rebinds those.
    """
    originals = {}
    for name in _LIFTED:
        function = getattr(helpers, name)
        if getattr(function, "lifted", False):
            originals[id(function.__wrapped__)] = function
    namespaces = [registry.ADJOINT_NAMESPACE]
    for rule in registry.all_rules():
        for function in rule.tangents:
            namespace = getattr(function, "__globals__", None)
            if namespace is not None and "__name__" not in namespace:
                namespaces.append(namespace)
    for namespace in namespaces:
        for name, value in list(namespace.items()):
            lifted = originals.get(id(value))
            if lifted is not None and value is lifted.__wrapped__:
                namespace[name] = lifted


def install() -> None:
    """Rebind the helper names to their forward-differentiable versions (once)."""
    global _installed
    if _installed:
        return
    _installed = True
    from ..rules import numpy_rules

    for name, function in _lifted_helpers().items():
        setattr(helpers, name, function)
        # The tangent rules of np.prod, np.max and np.linalg.norm call helpers too, and
        # meet Duals there in forward over forward (a Dual of an outer level as ``x``).
        if getattr(numpy_rules, name, None) is function.__wrapped__:
            setattr(numpy_rules, name, function)
    _rebind_rules()
    registry.on_change(_rebind_rules)  # rules registered later are compiled the same way
    from ..reverse import runtime  # imported here: reverse mode imports forward mode

    for name, function in runtime.RUNTIME.items():
        if name == "unbroadcast_to" and not getattr(function, "lifted", False):
            setattr(runtime, name, _linear(function, (0,)))
