"""Dual numbers that take part in NumPy's own protocols.

A :class:`Dual` carries a *primal* value (a Python float or a NumPy array) and a *tangent*:
the derivative of that value along k directions at once, stored as an array of shape
``(k, *primal.shape)``. With k = 1 it is the textbook dual number a + b·ε; with k > 1 one
evaluation of the user's function pushes k directions (vector, or chunked, forward mode).

NumPy hands every operation on a ``Dual`` to it, through ``__array_ufunc__`` for ufuncs
(``np.tanh``, ``+``, ``@``) and ``__array_function__`` for the rest (``np.sum``,
``np.concatenate``). Either way :func:`apply` looks up the primitive's :class:`Rule` in the
shared registry, computes the primal result with NumPy, and combines the tangent rules.

Each Dual belongs to a *level*, one per forward-mode evaluation. When levels meet (a
gradient taken inside a function being differentiated), only the innermost level is
differentiated by an operation and the outer Duals are treated as constants, so
perturbations of different evaluations are never confused.
"""

from __future__ import annotations

import inspect
import itertools
import operator
from typing import Any

import numpy as np

from ..errors import ArgumentError, DerivativeConversionError, MissingRuleError
from ..rules import registry
from ..rules.helpers import pad_tangent

_levels = itertools.count(1)


def new_level() -> int:
    """A fresh level, higher than every level handed out before."""
    return next(_levels)


class Dual:
    """A value and its derivative along k directions: ``primal`` and ``tangent``.

    >>> import numpy as np
    >>> x = Dual(np.array([0.0, 1.0]), np.array([[1.0, 0.0]]))
    >>> y = np.tanh(x)
    >>> y.tangent.round(3).tolist()
    [[1.0, 0.0]]
    """

    __slots__ = ("primal", "tangent", "level", "_owns")
    __array_priority__ = 1000

    def __new__(cls, primal: Any = None, tangent: Any = None, level: int = 0):
        # A Dual holding an array of rank 1 or more is a sequence (len, iteration,
        # indexing); a scalar one, 0-d arrays included, must not be, or NumPy's
        # ``y[i] = dual`` reports "setting an array element with a sequence" instead of
        # reaching __float__ and its explanation. (So a 0-d Dual cannot be indexed.)
        if cls is Dual and np.ndim(primal) > 0:
            cls = _ArrayDual
        return object.__new__(cls)

    def __init__(self, primal: Any, tangent: Any, level: int = 0):
        self.primal = primal
        self.tangent = tangent
        self.level = level
        self._owns = False

    # ------------------------------------------------------------------ NumPy protocols

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            raise MissingRuleError(
                f"np.{ufunc.__name__}.{method} has no derivative rule",
                hint=f"use the function form, for example np.sum for np.add.{method}",
            )
        out = kwargs.get("out")
        if out is not None:
            targets = out if isinstance(out, tuple) else (out,)
            if not any(isinstance(target, Dual) for target in targets):
                # y += x, or np.f(..., out=y), with y a plain array and x differentiated.
                raise DerivativeConversionError(
                    f"np.{ufunc.__name__} would store a value being differentiated into a "
                    "plain NumPy array in place (y += ..., or out=...), dropping its "
                    "derivative",
                    hint="write y = y + ... (a new value), start from y = np.zeros_like(x) "
                    "instead of np.zeros, or use mode='reverse'",
                )
            raise MissingRuleError(
                f"np.{ufunc.__name__}(..., out=...) writes into an array in place",
                hint="assign the result instead: y = np.f(x)",
            )
        return apply(registry.require(ufunc), ufunc, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func in _DTYPE_QUERIES:
            # np.result_type(g, float) in generated code: about dtypes, never derivatives
            return func(*(value_dtype(a) if isinstance(a, Dual) else a for a in args), **kwargs)
        rule = registry.require(func)
        if func in _FRESH_LIKE and args and isinstance(args[0], Dual):
            return _fresh_like(func, args, kwargs)
        return apply(rule, func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        raise DerivativeConversionError(
            "a value being differentiated was turned into a plain NumPy array "
            "(np.asarray, np.array, or storing it into an existing array), which would "
            "drop its derivative",
            hint="build arrays from differentiated values with np.stack or "
            "np.concatenate, or use mode='reverse', which supports y[i] = ... writes",
        )

    # ------------------------------------------------------------------ conversions

    def __float__(self):
        raise DerivativeConversionError(
            "float(), a math-module function, or a store into a plain NumPy array "
            "(y[i] = ...) was applied to a value being differentiated, which would drop "
            "its derivative",
            hint="use the NumPy function instead (np.exp rather than math.exp); build arrays "
            "with np.stack or np.concatenate, or use mode='reverse', which supports "
            "y[i] = ... writes",
        )

    __complex__ = __float__

    def __int__(self):
        # Truncation to an int has derivative zero wherever it is defined.
        return int(self.primal)

    def __round__(self, ndigits=None):
        # Like int(): a step function, derivative zero wherever it is defined.
        return round(self.primal, ndigits) if ndigits is not None else round(self.primal)

    def __bool__(self):
        return bool(self.primal)

    def __repr__(self):
        return f"Dual(primal={self.primal!r}, tangent={self.tangent!r}, level={self.level})"

    # ------------------------------------------------------------------ array attributes

    @property
    def shape(self):
        return np.shape(self.primal)

    @property
    def ndim(self):
        return np.ndim(self.primal)

    @property
    def size(self):
        return np.size(self.primal)

    @property
    def dtype(self):
        return value_dtype(self.primal)

    @property
    def T(self):
        return apply(_TRANSPOSE, np.transpose, (self,), {})

    # ------------------------------------------------------------------ methods

    def sum(self, axis=None, keepdims=False):
        return apply(_SUM, np.sum, (self,), {"axis": axis, "keepdims": keepdims})

    def mean(self, axis=None, keepdims=False):
        return apply(_MEAN, np.mean, (self,), {"axis": axis, "keepdims": keepdims})

    def prod(self, axis=None, keepdims=False):
        return apply(_PROD, np.prod, (self,), {"axis": axis, "keepdims": keepdims})

    def max(self, axis=None, keepdims=False):
        return apply(_MAX, np.max, (self,), {"axis": axis, "keepdims": keepdims})

    def min(self, axis=None, keepdims=False):
        return apply(_MIN, np.min, (self,), {"axis": axis, "keepdims": keepdims})

    def dot(self, other):
        return apply(_DOT, np.dot, (self, other), {})

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 else shape
        return apply(_RESHAPE, np.reshape, (self, shape), {})

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 else (axes or None)
        return apply(_TRANSPOSE, np.transpose, (self,), {"axes": axes})

    def ravel(self):
        return apply(_RAVEL, np.ravel, (self,), {})

    flatten = ravel

    def squeeze(self, axis=None):
        return apply(_SQUEEZE, np.squeeze, (self,), {"axis": axis})

    def clip(self, lo=None, hi=None):
        return apply(_CLIP, np.clip, (self, lo, hi), {})

    def item(self, *index):
        raise DerivativeConversionError(
            ".item() was called on a value being differentiated, which would drop its derivative",
            hint="index it instead (x[i]), which keeps the derivative",
        )

    def tolist(self):
        raise DerivativeConversionError(
            ".tolist() was called on a value being differentiated, which would drop its derivative",
            hint="iterate over it instead (for v in x), which keeps the derivative",
        )

    def __getattr__(self, name):
        # Only reached for names not defined above: the ndarray methods that are spelled the
        # same as a NumPy function route through that function, so they are differentiated
        # by its rule or refused with MissingRuleError naming it.
        if name in _FUNCTION_METHODS:
            function = getattr(np, name)
            return lambda *args, **kwargs: function(self, *args, **kwargs)
        raise AttributeError(
            f"a value being differentiated (a Dual) has no attribute {name!r}; forward mode "
            "supports the ndarray methods that are also NumPy functions"
        )

    def copy(self):
        return Dual(np.copy(self.primal), np.copy(self.tangent), self.level)

    def astype(self, dtype):
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise DerivativeConversionError(
                f"astype({np.dtype(dtype).name}) on a value being differentiated would drop "
                "its derivative",
                hint="only floating-point casts keep a derivative",
            )
        return Dual(np.asarray(self.primal).astype(dtype), self.tangent.astype(dtype), self.level)

    # ------------------------------------------------------------------ comparisons: on primals

    def __lt__(self, other):
        return self.primal < _primal(other)

    def __le__(self, other):
        return self.primal <= _primal(other)

    def __gt__(self, other):
        return self.primal > _primal(other)

    def __ge__(self, other):
        return self.primal >= _primal(other)

    def __eq__(self, other):
        return self.primal == _primal(other)

    def __ne__(self, other):
        return self.primal != _primal(other)

    __hash__ = None

    # ------------------------------------------------------------------ arithmetic

    def __add__(self, other):
        return apply(_ADD, np.add, (self, other), {})

    def __radd__(self, other):
        return apply(_ADD, np.add, (other, self), {})

    def __sub__(self, other):
        return apply(_SUBTRACT, np.subtract, (self, other), {})

    def __rsub__(self, other):
        return apply(_SUBTRACT, np.subtract, (other, self), {})

    def __mul__(self, other):
        return apply(_MULTIPLY, np.multiply, (self, other), {})

    def __rmul__(self, other):
        return apply(_MULTIPLY, np.multiply, (other, self), {})

    def __truediv__(self, other):
        return apply(_DIVIDE, np.divide, (self, other), {})

    def __rtruediv__(self, other):
        return apply(_DIVIDE, np.divide, (other, self), {})

    def __pow__(self, other):
        return apply(_POWER, np.power, (self, other), {})

    def __rpow__(self, other):
        return apply(_POWER, np.power, (other, self), {})

    def __matmul__(self, other):
        return apply(_MATMUL, np.matmul, (self, other), {})

    def __rmatmul__(self, other):
        return apply(_MATMUL, np.matmul, (other, self), {})

    def __mod__(self, other):
        return apply(registry.require(np.remainder), np.remainder, (self, other), {})

    def __rmod__(self, other):
        return apply(registry.require(np.remainder), np.remainder, (other, self), {})

    def __floordiv__(self, other):
        return apply(registry.require(np.floor_divide), np.floor_divide, (self, other), {})

    def __rfloordiv__(self, other):
        return apply(registry.require(np.floor_divide), np.floor_divide, (other, self), {})

    def __neg__(self):
        return apply(_NEGATIVE, np.negative, (self,), {})

    def __pos__(self):
        return self

    def __abs__(self):
        return apply(_ABSOLUTE, np.absolute, (self,), {})


class _ArrayDual(Dual):
    """A Dual whose primal is an array: it also supports ``len``, iteration and indexing."""

    __slots__ = ()

    def __len__(self):
        return len(self.primal)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # ------------------------------------------------------------------ indexing

    def __getitem__(self, index):
        return apply(_GETITEM, operator.getitem, (self, index), {})

    def __setitem__(self, index, value):
        if not self._owns:
            # Copy on first write: the primal may be the caller's own array.
            self.primal = np.array(self.primal, dtype=np.result_type(self.primal, float))
            self.tangent = np.array(self.tangent)
            self._owns = True
        items = index if isinstance(index, tuple) else (index,)
        if isinstance(value, Dual) and value.level == self.level:
            self.primal[index] = value.primal
            target = self.tangent[(slice(None), *items)]
            self.tangent[(slice(None), *items)] = pad_tangent(value.tangent, np.ndim(target) - 1)
        else:
            self.primal[index] = value
            self.tangent[(slice(None), *items)] = 0.0


_FUNCTION_METHODS = frozenset(
    {
        "all",
        "any",
        "argmax",
        "argmin",
        "argsort",
        "cumprod",
        "cumsum",
        "diagonal",
        "nonzero",
        "repeat",
        "round",
        "std",
        "swapaxes",
        "take",
        "trace",
        "var",
    }
)
"""ndarray methods that do what the NumPy function of the same name does (not in place)."""


def value_dtype(value, *others) -> np.dtype:
    """``np.result_type(value, *others)``, looking through Duals of outer evaluations."""
    while isinstance(value, Dual):
        value = value.primal
    return np.result_type(value, *others)


def _primal(value):
    return value.primal if isinstance(value, Dual) else value


_FRESH_LIKE = (np.zeros_like, np.ones_like, np.empty_like)
_DTYPE_QUERIES = (np.result_type, np.can_cast)


def _fresh_like(func, args, kwargs):
    """``np.zeros_like(x)`` for a Dual ``x``: a constant that can still be written into.

    The values do not depend on ``x``, so the tangent is zero; returning a Dual (rather than
    a plain array) lets ``y = np.zeros_like(x); y[i] = ...`` store differentiated values.
    """
    like = args[0]
    ans = func(like.primal, *args[1:], **kwargs)
    if value_dtype(ans).kind != "f":
        return ans
    tangent = np.zeros((len(like.tangent), *np.shape(ans)), dtype=value_dtype(ans))
    return Dual(ans, tangent, like.level)


_ADD = registry.require(np.add)
_SUBTRACT = registry.require(np.subtract)
_MULTIPLY = registry.require(np.multiply)
_DIVIDE = registry.require(np.divide)
_POWER = registry.require(np.power)
_MATMUL = registry.require(np.matmul)
_NEGATIVE = registry.require(np.negative)
_ABSOLUTE = registry.require(np.absolute)
_TRANSPOSE = registry.require(np.transpose)
_SUM = registry.require(np.sum)
_MEAN = registry.require(np.mean)
_PROD = registry.require(np.prod)
_MAX = registry.require(np.max)
_MIN = registry.require(np.min)
_DOT = registry.require(np.dot)
_RESHAPE = registry.require(np.reshape)
_RAVEL = registry.require(np.ravel)
_SQUEEZE = registry.require(np.squeeze)
_CLIP = registry.require(np.clip)
_GETITEM = registry.require(operator.getitem)


# --------------------------------------------------------------------------- applying a rule


def apply(rule: registry.Rule, function, args: tuple, kwargs: dict):
    """Evaluate ``function(*args, **kwargs)`` on Duals using ``rule``'s tangent rules.

    This runs for every operation on a Dual, so it is written for speed: the common call
    (exactly the rule's positional parameters) skips argument binding, and tangents are
    padded and fitted inline.
    """
    if rule.sequence:
        level = _innermost_level(args, True)
        if not rule.differentiable:
            return function(*_unwrap_all(args, level, True), **kwargs)
        args, keywords = _bind(rule, function, args, kwargs)
        return _apply_sequence(rule, function, args, keywords, level)
    level = 0
    for arg in args:
        if isinstance(arg, Dual) and arg.level > level:
            level = arg.level
    if not rule.differentiable:
        return function(*_unwrap_all(args, level, False), **kwargs)
    if kwargs or len(args) != len(rule.params):
        args, kwargs = _bind(rule, function, args, kwargs)
    primals = [a.primal if isinstance(a, Dual) and a.level == level else a for a in args]
    if rule.optional:
        ans = function(*_without_left_out(primals, rule.optional), **kwargs)
    else:
        ans = function(*primals, **kwargs)
    out_rank = ans.ndim if type(ans) is np.ndarray else np.ndim(ans)
    tangent = None
    for arg, tangent_rule in zip(args, rule.tangents, strict=False):
        if tangent_rule is None or not isinstance(arg, Dual) or arg.level != level:
            continue
        t = arg.tangent
        if rule.elementwise and t.ndim <= out_rank:
            # Right-aligned broadcasting must see the primal's axes, not the directions.
            t = t.reshape(t.shape[:1] + (1,) * (out_rank + 1 - t.ndim) + t.shape[1:])
        part = tangent_rule(t, ans, *primals, **kwargs)
        tangent = part if tangent is None else tangent + part
    if tangent is None:
        return ans
    shape = ans.shape if type(ans) is np.ndarray else np.shape(ans)
    if tangent.shape[1:] != shape:
        tangent = _fit(tangent, ans)
    return _new_dual(ans, tangent, level)


def _new_dual(primal, tangent, level: int) -> Dual:
    """A Dual built without ``__new__``'s checks (``apply``'s results are well formed)."""
    if type(primal) is np.ndarray and primal.ndim:
        dual = object.__new__(_ArrayDual)
    elif isinstance(primal, Dual) or np.ndim(primal) > 0:
        return Dual(primal, tangent, level)
    else:
        dual = object.__new__(Dual)
    dual.primal = primal
    dual.tangent = tangent
    dual.level = level
    dual._owns = False
    return dual


def _without_left_out(values, optional):
    """Drop the trailing optional arguments a call left out (``_bind`` made them None)."""
    values = list(values)
    while optional and values and values[-1] is None:
        values.pop()
        optional -= 1
    return values


def _apply_sequence(rule, function, args, keywords, level):
    items = list(args[0])
    primals = [a.primal if isinstance(a, Dual) and a.level == level else a for a in items]
    ans = function(primals, *args[1:], **keywords)
    k = next(len(a.tangent) for a in items if isinstance(a, Dual) and a.level == level)
    tangents = [
        a.tangent
        if isinstance(a, Dual) and a.level == level
        else np.zeros((k, *np.shape(a)), dtype=value_dtype(a, float))
        for a in items
    ]
    tangent = rule.tangents[0](tangents, ans, primals, *args[1:], **keywords)
    return Dual(ans, _fit(tangent, ans), level)


def _fit(tangent, ans):
    """Broadcast a tangent to ``(k, *ans.shape)`` when an input was smaller than the output."""
    expected = np.shape(ans)
    if np.shape(tangent)[1:] == expected:
        return tangent
    tangent = pad_tangent(tangent, len(expected))
    return np.broadcast_to(tangent, (len(tangent), *expected))


def _innermost_level(args, sequence: bool) -> int:
    level = 0
    for arg in args[0] if sequence and args else args:
        if isinstance(arg, Dual) and arg.level > level:
            level = arg.level
    if sequence:
        for arg in args[1:]:
            if isinstance(arg, Dual) and arg.level > level:
                level = arg.level
    return level


def _unwrap_all(args, level, sequence):
    def unwrap(value):
        if isinstance(value, Dual) and value.level == level:
            return value.primal
        if isinstance(value, (list, tuple)) and any(isinstance(v, Dual) for v in value):
            return type(value)(unwrap(v) for v in value)
        return value

    return [unwrap(a) for a in args]


_signatures: dict[int, inspect.Signature | None] = {}


def _bind(rule: registry.Rule, function, args: tuple, kwargs: dict):
    """Split a call into the rule's positional parameters and its keyword parameters."""
    n = len(rule.params)
    if len(args) == n and not kwargs:
        return args, {}
    if len(args) == n and all(k in rule.keywords for k in kwargs):
        return args, kwargs
    args = list(args)
    keywords: dict[str, Any] = {}
    names = _parameter_names(function)
    # Positional parameters given by keyword (np.clip(x, a_min=0, a_max=None)).
    for position in range(len(args), n):
        name = names[position] if position < len(names) else None
        if name is not None and name in kwargs:
            args.append(kwargs[name])
        elif name is not None and rule.params[position] in kwargs:
            args.append(kwargs[rule.params[position]])
        elif position >= n - rule.optional:
            args.append(None)
        else:
            raise ArgumentError(
                f"{registry.describe(function)} is missing its argument {rule.params[position]!r}"
            )
    # Keyword parameters given positionally (np.sum(x, 0)).
    extra = args[n:]
    args = args[:n]
    given = registry.keyword_names(rule, function, len(extra))
    for name, value in zip(given, extra, strict=True):
        if name in rule.keywords:
            keywords[name] = value
        elif value is not None:  # None is the default of dtype= and out=
            what = (f"with {n + len(extra)} positional arguments" if name == "*" else
                    f"its argument {name!r}, given by position,")
            raise MissingRuleError(
                f"{registry.describe(function)}: {what} is not covered by its derivative "
                f"rule, which understands "
                f"{', '.join(rule.params + tuple(rule.keywords))}",
                hint="pass the arguments the rule understands by keyword, and leave the "
                "others out",
            )
    consumed = set(names[:n]) | set(rule.params)
    for name, value in kwargs.items():
        if name in consumed:
            continue
        if name not in rule.keywords:
            raise MissingRuleError(
                f"{registry.describe(function)}(..., {name}=...) is not covered by its "
                f"derivative rule, which understands: {', '.join(rule.keywords) or 'no keywords'}",
                hint=f"leave {name}= out, or register a rule that handles it",
            )
        keywords[name] = value
    return tuple(args), keywords


def _parameter_names(function) -> list[str]:
    key = id(function)
    if key not in _signatures:
        try:
            _signatures[key] = inspect.signature(function)
        except (TypeError, ValueError):
            _signatures[key] = None
    signature = _signatures[key]
    return list(signature.parameters) if signature is not None else []
