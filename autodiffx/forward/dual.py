"""Dual numbers that take part in NumPy's own protocols.

A :class:`Dual` carries a *primal* value (a Python float or a NumPy array) and a *tangent*:
the derivative of that value along k directions at once, stored as an array of shape
``(k, *primal.shape)``. With k = 1 it is the textbook dual number a + b·ε; with k > 1 one
evaluation of the user's function pushes k directions (vector, or chunked, forward mode).

NumPy hands every operation on a ``Dual`` to it, through ``__array_ufunc__`` for ufuncs
(``np.tanh``, ``+``, ``@``) and ``__array_function__`` for the rest (``np.sum``,
``np.concatenate``). Either way :func:`apply` looks up the primitive's :class:`Rule` in the
shared registry, computes the primal result with NumPy, and combines the tangent rules.

A Dual follows NumPy's memory semantics: a view (``x[1:]``, ``x.T``, ``x.reshape(-1)``)
shares its tangent memory with its base (:mod:`.memory`), and in-place updates
(``y += ...``, ``y[i] = ...``, ``np.f(..., out=y)``, ``y.sort()``, ``y.fill(v)``) write into
the primal and the tangent, so every name that views the array sees them. The caller's
arrays are copied before the first write. Masked arrays are refused.

A complex primal carries a complex tangent: the derivative of the pair (real part,
imaginary part) packed as one complex number, as ``docs/complex.md`` explains. A real
primal carries a real tangent; a complex tangent for it is refused
(:class:`~autodiffx.errors.ComplexTangentError`), and so is a complex value reaching a rule
that holds for real values only.

Each Dual belongs to a *level*, one per forward-mode evaluation. When levels meet (a
gradient taken inside a function being differentiated), only the innermost level is
differentiated by an operation and the outer Duals are treated as constants, so
perturbations of different evaluations are never confused.
"""

from __future__ import annotations

import inspect
import itertools
import math
import sys
import threading
import weakref
from typing import Any

import numpy as np

from ..errors import (
    ArgumentError,
    ComplexNotSupportedError,
    ComplexTangentError,
    DerivativeConversionError,
    MissingAttributeError,
    MissingRuleError,
)
from ..rules import helpers, registry, ufunc_methods
from ..rules.helpers import pad_tangent
from ..rules.lifting import Traced
from .memory import Mirror, tangent_view

_levels = itertools.count(1)


def new_level() -> int:
    """A fresh level, higher than every level handed out before."""
    return next(_levels)


_ABSENT = object()
"""An input ``__array_ufunc__`` was not given (it names its first two inputs)."""


class Dual(Traced):
    """A value and its derivative along k directions: ``primal`` and ``tangent``.

    ``tangent`` has a leading axis of directions: shape ``(k, *primal.shape)``. NumPy
    functions run unchanged on a Dual (through ``__array_ufunc__`` and
    ``__array_function__``) and carry the tangent along by the registered rules.

    Examples:
        One direction, the first coordinate: tanh′(0) = 1, and the second entry, which
        the direction leaves alone, gets 0.

        >>> import numpy as np
        >>> from autodiffx import Dual
        >>> x = Dual(np.array([0.0, 1.0]), np.array([[1.0, 0.0]]))
        >>> y = np.tanh(x)
        >>> y.tangent.round(3).tolist()
        [[1.0, 0.0]]
    """

    __slots__ = ("primal", "tangent", "level", "_owns", "_mirror", "_base", "_views",
                 "_remake", "_index", "__weakref__")
    __array_priority__ = 1000

    @classmethod
    def __autodiffx_helper__(cls, helper, args, kwargs):
        """A call of an adjoint helper (:mod:`autodiffx.rules.lifting`) with a Dual in it."""
        from .lifted import lift

        return lift(helper)(*args, **kwargs)

    @classmethod
    def __autodiffx_rule__(cls, rule, function, args, kwargs):
        """A call of a Python function with a rule (:mod:`autodiffx.rules.lifting`)."""
        return apply(rule, function, args, kwargs)

    def __new__(cls, primal: Any = None, tangent: Any = None, level: int = 0):
        # A Dual holding an array of rank 1 or more is a sequence (len, iteration,
        # indexing); a scalar one, 0-d arrays included, must not be, or NumPy's
        # ``y[i] = dual`` reports "setting an array element with a sequence" instead of
        # reaching __float__ and its explanation. (So a 0-d Dual cannot be indexed.)
        if cls is Dual and np.ndim(primal) > 0:
            cls = _ArrayDual
        return object.__new__(cls)

    def __init__(self, primal: Any, tangent: Any, level: int = 0):
        if np.iscomplexobj(tangent) and not np.iscomplexobj(_innermost(primal)):
            raise mismatch_error("a tangent given for a real value")
        self.primal = primal
        self.tangent = tangent
        self.level = level
        # Memory bookkeeping for views and in-place updates (see memory.py and _assign):
        # _owns: the primal (and, when nested, the tangent) is ours alone to write into;
        # _mirror: the tangent memory of the primal's buffer, once a view or write needs it;
        # _base, _views, _remake, _index: at a nested level, a view of _base (made again by
        # _remake(), written through _base[_index]) and the views of this Dual.
        self._owns = False
        self._mirror = None
        self._base = None
        self._views = None
        self._remake = None
        self._index = None

    # ------------------------------------------------------------------ NumPy protocols

    def __array_ufunc__(self, ufunc, method, first=_ABSENT, second=_ABSENT, *rest, **kwargs):
        # The first two inputs are parameters of their own, not in *inputs: NumPy calls
        # this for nearly every operation, and a call of one or two inputs then builds no
        # tuple and indexes none (about 30 ns of an operation's dispatch). NumPy passes
        # inputs by position, and none of its keywords is named first or second.
        if method == "__call__" and not kwargs and not rest:
            if second is not _ABSENT:  # (call_ufunc's work, without its frame)
                return call_binary(ufunc, first, second)
            if first is not _ABSENT:
                return call_unary(ufunc, first)
        inputs = ((first, second, *rest) if second is not _ABSENT
                  else () if first is _ABSENT else (first,))
        if method == "__call__" and not kwargs:
            return call_ufunc(ufunc, inputs)
        if method == "at" and ufunc in (np.add, np.subtract) and len(inputs) == 3 and (
                not kwargs):
            _add_at(ufunc, *inputs)
            return None
        if method in ("reduce", "accumulate") and len(inputs) == 1:
            function = ufunc_methods.function_form(ufunc, method)
            options = ufunc_methods.arguments(method, (), kwargs) if function else None
            if options is not None:  # np.add.reduce(x, axis) is np.sum(x, axis)
                return function(inputs[0], **options)
        if method != "__call__":
            raise MissingRuleError(
                f"np.{ufunc.__name__}.{method} has no derivative rule",
                hint=f"use the function form, for example np.sum for np.add.{method}",
            )
        out = kwargs.pop("out", None)
        targets = out if isinstance(out, tuple) else (out,)
        if out is not None and any(target is not None for target in targets):
            if len(targets) != 1:
                raise MissingRuleError(
                    f"np.{ufunc.__name__}(..., out=...) with several outputs has no "
                    "derivative rule",
                    hint="assign the results instead: a, b = np.f(x)",
                )
            target = targets[0]
            if not isinstance(target, Dual):
                # y += x, or np.f(..., out=y), with y a plain array and x differentiated.
                raise DerivativeConversionError(
                    f"np.{ufunc.__name__} would store a value being differentiated into a "
                    "plain NumPy array in place (y += ..., or out=...), dropping its "
                    "derivative",
                    hint="write y = y + ... (a new value), start from y = np.zeros_like(x) "
                    "instead of np.zeros, or use mode='reverse'",
                )
            if not _writable(target):
                raise MissingRuleError(
                    f"np.{ufunc.__name__}(..., out=y) needs y to be an array, but y holds "
                    "a single number",
                    hint="assign the result instead: y = np.f(x)",
                )
            _assign(target, Ellipsis, apply(registry.require(ufunc), ufunc, inputs, kwargs))
            return target
        return apply(registry.require(ufunc), ufunc, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        fast = _FAST_FUNCTIONS.get(func)
        if fast is not None:
            result = fast(func, args, kwargs)
            if result is not None:
                return result
        if func not in _SPECIAL_FUNCTIONS and not (func is np.linalg.svd and _no_vectors(
                args, kwargs)):
            return apply(registry.lookup(func) or registry.require(func), func, args, kwargs)
        if func in _DTYPE_QUERIES:
            # np.result_type(g, float) in generated code: about dtypes, never derivatives
            return func(*(value_dtype(a) if isinstance(a, Dual) else a for a in args), **kwargs)
        if func in _SPLIT_AXIS:
            return _split(func, args, kwargs)
        if func is np.linalg.svd:  # only with compute_uv=False: the singular values alone
            return np.linalg.svdvals(args[0])
        rule = registry.require(func)
        if args and isinstance(args[0], Dual):  # np.zeros_like and its kin
            return _fresh_like(func, args, kwargs)
        return apply(rule, func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("numpy.ma"):
            raise DerivativeConversionError(
                "a masked array (np.ma) was built from a value being differentiated; "
                "forward mode does not differentiate masked arrays, whose masked entries "
                "would silently drop out of the derivative",
                hint="use np.where(mask, 0.0, x) (or multiply by a 0/1 weight array) instead "
                "of a masked array",
            )
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

    def __complex__(self):
        raise DerivativeConversionError(
            "complex() was applied to a value being differentiated, which would drop its "
            "derivative",
            hint="multiply by 1 + 0j (or use .astype(complex)), which keeps the derivative",
        )

    def __int__(self):
        # Truncation to an int has derivative zero wherever it is defined.
        return int(self.primal)

    def __round__(self, ndigits=None):
        # Like int(): a step function, derivative zero wherever it is defined.
        return round(self.primal, ndigits) if ndigits is not None else round(self.primal)

    # floor, ceil and trunc are step functions too: math.floor(x) has derivative zero.
    def __floor__(self):
        return math.floor(self.primal)

    def __ceil__(self):
        return math.ceil(self.primal)

    def __trunc__(self):
        return math.trunc(self.primal)

    def __bool__(self):
        return bool(self.primal)

    def __repr__(self):
        return f"Dual(primal={self.primal!r}, tangent={self.tangent!r}, level={self.level})"

    # ------------------------------------------------------------------ array attributes

    @property
    def shape(self):
        return np.shape(self.primal)

    @shape.setter
    def shape(self, value):
        # (without a setter, Python's own AttributeError: "property has no setter")
        raise MissingAttributeError(
            "setting .shape of a value being differentiated (reshaping it in place) is not "
            "supported", hint=f"write y = y.reshape({value!r}), a new name for the values")

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

    @property
    def real(self):
        return np.real(self)

    @real.setter
    def real(self, value):
        # z.real = v (and z.real += v, which ends in it): a write through the view, as
        # NumPy's; the view's tangent is the real part of z's (memory.tangent_view)
        np.real(self)[...] = value

    @property
    def imag(self):
        return np.imag(self)

    @imag.setter
    def imag(self, value):
        if not np.iscomplexobj(_innermost(self.primal)):
            raise TypeError("array does not have imaginary part to set")  # as NumPy says
        np.imag(self)[...] = value

    # ------------------------------------------------------------------ methods

    def sum(self, axis=None, keepdims=False, **options):
        keywords = {"axis": axis, "keepdims": keepdims, **_given(options)}
        if np.sum in _FAST_FUNCTIONS:  # (the quick path, while its rule is in place)
            result = _reduction(np.sum, (self,), keywords)
            if result is not None:
                return result
        return apply(_SUM, np.sum, (self,), keywords)

    def mean(self, axis=None, keepdims=False, **options):
        keywords = {"axis": axis, "keepdims": keepdims, **_given(options)}
        if np.mean in _FAST_FUNCTIONS:  # (the quick path, while its rule is in place)
            result = _reduction(np.mean, (self,), keywords)
            if result is not None:
                return result
        return apply(_MEAN, np.mean, (self,), keywords)

    def prod(self, axis=None, keepdims=False, **options):
        return apply(_PROD, np.prod, (self,),
                     {"axis": axis, "keepdims": keepdims, **_given(options)})

    def max(self, axis=None, keepdims=False, **options):
        return apply(_MAX, np.max, (self,),
                     {"axis": axis, "keepdims": keepdims, **_given(options)})

    def min(self, axis=None, keepdims=False, **options):
        return apply(_MIN, np.min, (self,),
                     {"axis": axis, "keepdims": keepdims, **_given(options)})

    def dot(self, other):
        if np.dot in _FAST_FUNCTIONS:
            return call_binary(np.dot, self, other)
        return apply(_DOT, np.dot, (self, other), {})

    def reshape(self, *shape, **options):
        shape = shape[0] if len(shape) == 1 else shape
        return apply(_RESHAPE, np.reshape, (self, shape), _given(options))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 else (axes or None)
        return apply(_TRANSPOSE, np.transpose, (self,), {"axes": axes})

    def ravel(self, **options):
        return apply(_RAVEL, np.ravel, (self,), _given(options))

    def flatten(self, **options):
        # ndarray.flatten always copies (ravel gives a view when it can)
        return self.ravel(**options).copy()

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

    def view(self, dtype=None, type=None):  # noqa: A002 - NumPy's keyword
        """``x.view()``: another name for the same memory, as NumPy's (a write through
        either is seen by both). A view with another dtype or type reinterprets the
        memory's bytes, which has no derivative."""
        if dtype is not None or type is not None:
            raise DerivativeConversionError(
                "x.view(dtype or type) on a value being differentiated reads its memory as "
                "another kind of array, which would drop its derivative",
                hint="use x.view() (the same array), x.astype(dtype) for another "
                "floating-point dtype, or np.asarray(x)",
            )
        if not _writable(self):
            return self  # a number: immutable, so the same value is its view
        return _getitem(self, Ellipsis)

    def copy(self):
        primal = np.copy(self.primal)
        dual = Dual(primal, np.copy(self.tangent), self.level)
        dual._owns = type(primal) is np.ndarray or isinstance(primal, Dual)
        return dual

    def __copy__(self):
        # copy.copy(x) of an array is new memory (ndarray.__copy__); the default for a
        # class with slots would share the primal and the tangent, and a write into the
        # copy would reach x
        return self.copy()

    def __deepcopy__(self, memo):
        return memo.setdefault(id(self), self.copy())

    # ------------------------------------------------------------------ in place, as NumPy

    def sort(self, axis=-1, kind=None, order=None):
        """Sort in place: the primal and the tangent permuted by the stable sort order."""
        if order is not None:
            raise MissingRuleError(
                "x.sort(order=...) sorts structured arrays, which are not differentiated"
            )
        if not _writable(self):
            raise MissingAttributeError(
                "x.sort() on a single number: there is nothing to sort",
                hint="sort an array",
            )
        order = np.argsort(_innermost(self.primal), axis=axis, kind="stable")
        primal = np.take_along_axis(self.primal, order, axis=axis)
        tangent = np.take_along_axis(
            self.tangent, np.expand_dims(order, 0), axis=axis if axis < 0 else axis + 1
        )
        _assign(self, Ellipsis, new_dual(primal, tangent, self.level))

    def fill(self, value):
        """Fill in place: the primal with ``value``, the tangent with its tangent (or 0)."""
        if not _writable(self):
            raise MissingAttributeError(
                "x.fill(v) on a single number: a NumPy scalar has no fill() either",
                hint="write x = v",
            )
        if np.ndim(value) != 0:
            raise ValueError("fill() needs a single value")
        _assign(self, Ellipsis, value)

    def __setitem__(self, index, value):
        # Defined for scalar Duals too: a 0-d array takes y[...] = v. (Only __getitem__
        # would make NumPy see a sequence; see __new__.)
        _assign(self, index, value)

    def __iadd__(self, other):
        return _inplace(self, np.add, other)

    def __isub__(self, other):
        return _inplace(self, np.subtract, other)

    def __imul__(self, other):
        return _inplace(self, np.multiply, other)

    def __itruediv__(self, other):
        return _inplace(self, np.divide, other)

    def __ipow__(self, other):
        return _inplace(self, np.power, other)

    def __imatmul__(self, other):
        return _inplace(self, np.matmul, other)

    def __imod__(self, other):
        return _inplace(self, np.remainder, other)

    def __ifloordiv__(self, other):
        return _inplace(self, np.floor_divide, other)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        # NumPy's keywords: subok has no meaning for a Dual; copy=False gives the array
        # itself when it has the dtype already, as NumPy does (writes into one reach both)
        if not copy and np.dtype(dtype) == value_dtype(self) and (
                order in ("K", "A") or order == "C" and np.ndim(self) < 2):
            return self
        if not np.issubdtype(np.dtype(dtype), np.inexact):
            raise DerivativeConversionError(
                f"astype({np.dtype(dtype).name}) on a value being differentiated would drop "
                "its derivative",
                hint="only floating-point and complex casts keep a derivative",
            )
        if np.iscomplexobj(self.tangent) and not np.issubdtype(np.dtype(dtype),
                                                               np.complexfloating):
            raise DerivativeConversionError(
                f"astype({np.dtype(dtype).name}) on a complex value being differentiated "
                "would drop its imaginary part without saying so",
                hint="take np.real(z) (or np.abs(z)), which keep their derivatives",
            )
        primal = self.primal  # (a Dual of an outer level casts itself, its derivative too)
        primal = primal if isinstance(primal, Dual) else np.asarray(primal)
        return Dual(primal.astype(dtype, order=order, casting=casting),
                    self.tangent.astype(dtype), self.level)

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
        return call_binary(np.add, self, other)

    def __radd__(self, other):
        return call_binary(np.add, other, self)

    def __sub__(self, other):
        return call_binary(np.subtract, self, other)

    def __rsub__(self, other):
        return call_binary(np.subtract, other, self)

    def __mul__(self, other):
        return call_binary(np.multiply, self, other)

    def __rmul__(self, other):
        return call_binary(np.multiply, other, self)

    def __truediv__(self, other):
        return call_binary(np.divide, self, other)

    def __rtruediv__(self, other):
        return call_binary(np.divide, other, self)

    def __pow__(self, other):
        return call_binary(np.power, self, other)

    def __rpow__(self, other):
        return call_binary(np.power, other, self)

    def __matmul__(self, other):
        return call_binary(np.matmul, self, other)

    def __rmatmul__(self, other):
        return call_binary(np.matmul, other, self)

    def __mod__(self, other):
        return call_binary(np.remainder, self, other)

    def __rmod__(self, other):
        return call_binary(np.remainder, other, self)

    def __floordiv__(self, other):
        return call_binary(np.floor_divide, self, other)

    def __rfloordiv__(self, other):
        return call_binary(np.floor_divide, other, self)

    def __divmod__(self, other):  # divmod(x, y): (x // y, x % y), as for numbers and arrays
        return self // other, self % other

    def __rdivmod__(self, other):
        return other // self, other % self

    def __neg__(self):
        return call_unary(np.negative, self)

    def __pos__(self):
        return self.copy()  # +x is a new array in NumPy, not x itself

    def __abs__(self):
        return call_unary(np.absolute, self)


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
        return _getitem(self, index)


_FUNCTION_METHODS = frozenset(
    {
        "all",
        "any",
        "argmax",
        "argmin",
        "argpartition",
        "argsort",
        "conj",
        "conjugate",
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

_METHODS = _FUNCTION_METHODS | {
    "T", "astype", "clip", "copy", "dot", "fill", "flatten", "imag", "max", "mean", "min",
    "prod", "real",
    "ravel", "reshape", "sort", "squeeze", "sum", "transpose", "view",
}
_MUTATING_METHODS = frozenset(
    {"put", "partition", "resize", "itemset", "setfield", "byteswap", "setflags"}
)


# --------------------------------------------------------------------------- attributes
# A Dual answers the ndarray attributes it lacks with a MissingAttributeError saying what to
# do instead. That was a ``__getattr__``, but a class with ``__getattr__`` has CPython read
# *every* attribute of its instances through a slower hook, which also keeps LOAD_ATTR from
# specialising: ``x.primal``, ``x.tangent`` and ``x.level``, which each operation reads
# several times, cost about 30 ns more each (0.1-0.25 µs of an operation's dispatch,
# bench_dispatch.py). So the names are laid out on the class once instead: the ndarray
# methods spelled as a NumPy function are methods calling it, and every other attribute of
# an ndarray is a _Refused descriptor raising what ``__getattr__`` raised. A name no
# ndarray has gets Python's own AttributeError on a Dual, as on an ndarray; one escaping
# the user's function is raised as a MissingAttributeError by driver.run (refused_attribute).


class _Refused:
    """An ndarray attribute a Dual does not have: reading it, from an instance or from the
    class, raises :class:`~autodiffx.errors.MissingAttributeError`, an AttributeError, so
    ``hasattr`` and NumPy's probes of its protocol names see it as absent."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __get__(self, dual, owner=None):
        raise refused_attribute(self.name)


def refused_attribute(name: str) -> MissingAttributeError:
    """What to say of a Dual's attribute ``name`` that it does not have."""
    if name.startswith("__"):  # protocol probes (NumPy's): keep them cheap
        return MissingAttributeError(f"a Dual has no attribute {name!r}")
    if name in _MUTATING_METHODS:
        hint = (f"x.{name}(...) changes an array in place, which forward mode does not "
                "differentiate; build a new array instead (x.sort() and x.fill(v) work)")
    else:
        hint = ("use the NumPy function of the same name (np.f(x)), or an ndarray "
                "method forward mode supports: " + ", ".join(sorted(_METHODS)))
    return MissingAttributeError(
        f"a value being differentiated (a Dual) has no attribute {name!r}; forward mode "
        "supports the ndarray methods that are also NumPy functions",
        hint=hint,
    )


def _function_method(name: str):
    """``x.name(...)`` as ``np.name(x, ...)``: differentiated by that function's rule, or
    refused with a MissingRuleError naming it."""

    def method(self, *args, **kwargs):
        return getattr(np, name)(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``np.{name}(x, ...)``, differentiated by its rule."
    return method


def _lay_out_attributes() -> None:
    for name in sorted(_FUNCTION_METHODS):
        setattr(Dual, name, _function_method(name))
    # Of the dunder names only NumPy's protocol ones: others (__len__, __index__,
    # __buffer__) are type slots, which an entry in the class would switch on.
    protocol = {name for name in dir(np.ndarray)
                if name.startswith(("__array", "__dlpack")) and name.endswith("__")}
    public = {name for name in dir(np.ndarray) if not name.startswith("_")}
    for name in sorted((public | protocol | _MUTATING_METHODS) - set(dir(_ArrayDual))):
        setattr(Dual, name, _Refused(name))


_lay_out_attributes()


def _given(options: dict) -> dict:
    """A method's extra keyword arguments, less those left at NumPy's default None (the
    rest reach the rule, which refuses those it does not understand)."""
    return {name: value for name, value in options.items() if value is not None}


def _innermost(value):
    """The plain value under every level of Duals."""
    while isinstance(value, Dual):
        value = value.primal
    return value


def _writable(dual: Dual) -> bool:
    """Whether ``dual`` holds an array that can be written into (not a single number)."""
    return type(_innermost(dual.primal)) is np.ndarray


def mismatch_error(what: str) -> ComplexTangentError:
    """A complex tangent for a real value: the derivative of a real value is real."""
    return ComplexTangentError(
        f"{what} is complex, but the value is real: the derivative of a real value is real",
        hint="give a real tangent for a real input, or make the input complex "
        "(x + 0j) to follow it in complex directions",
    )


def real_only_error(function) -> ComplexNotSupportedError:
    """A complex value reached a rule whose tangents hold for real values only."""
    return ComplexNotSupportedError(
        f"{registry.describe(function)} was given complex values; its derivative rule "
        "holds for real values only",
        hint="see docs/complex.md for the functions differentiated on complex values; "
        "split the computation into real and imaginary parts to use this one",
    )


def _any_complex(args) -> bool:
    for arg in args:
        if isinstance(arg, (list, tuple)):
            if _any_complex(arg):
                return True
        elif _is_complex(_innermost(arg)):
            return True
    return False


def _is_complex(value) -> bool:
    """``np.iscomplexobj(value)``, answered without NumPy's dispatch for the common types."""
    kind = type(value)
    if kind is np.ndarray or kind is np.float64:
        return value.dtype.kind == "c"
    if kind is float or kind is int:
        return False
    return np.iscomplexobj(value)


def _check_value(ans, function) -> None:
    """Refuse results forward mode cannot differentiate: masked arrays."""
    if isinstance(ans, np.ma.MaskedArray):
        raise DerivativeConversionError(
            f"{registry.describe(function)} gave a masked array (np.ma); forward mode does not "
            "differentiate masked arrays, whose masked entries would silently drop out of "
            "the derivative",
            hint="use np.where(mask, 0.0, x) (or multiply by a 0/1 weight array) instead of "
            "a masked array",
        )


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
    if value_dtype(ans).kind not in "fc":
        return ans
    tangent = np.zeros((len(like.tangent), *np.shape(ans)), dtype=value_dtype(ans))
    dual = Dual(ans, tangent, like.level)
    dual._owns = type(ans) is np.ndarray  # a new array, ours to write into
    return dual


class _Unregistered:
    """Stands for the rule of a primitive whose rule was removed: using it raises the
    registry's MissingRuleError, as ``np.add(x, y)`` would."""

    def __init__(self, primitive):
        self.primitive = primitive

    def __getattr__(self, name):
        registry.require(self.primitive)  # raises: the primitive has no rule
        raise AttributeError(name)


_OPERATOR_RULES = {
    "_TRANSPOSE": np.transpose, "_SUM": np.sum, "_MEAN": np.mean, "_PROD": np.prod,
    "_MAX": np.max, "_MIN": np.min,
    "_DOT": np.dot, "_RESHAPE": np.reshape, "_RAVEL": np.ravel, "_SQUEEZE": np.squeeze,
    "_CLIP": np.clip, "_EXPAND_DIMS": np.expand_dims,
}
"""The rules the methods of a Dual use (``x.sum()`` is ``np.sum``'s), bound to module names
for speed, and bound again whenever a rule is registered or removed, so that ``x.sum()``
follows a rule replaced with ``override=True`` as ``np.sum(x)`` does. (The operators,
``x * y``, take their rules from :func:`call_ufunc`'s plans, which are made again too.)"""


def _bind_operator_rules() -> None:
    for name, primitive in _OPERATOR_RULES.items():
        rule = registry.lookup(primitive)
        globals()[name] = rule if rule is not None else _Unregistered(primitive)


_TRANSPOSE = _SUM = _MEAN = _PROD = _MAX = _MIN = _DOT = _RESHAPE = _RAVEL = None
_SQUEEZE = _CLIP = _EXPAND_DIMS = None
_bind_operator_rules()
registry.on_change(_bind_operator_rules)
_BUILTIN_SUM, _BUILTIN_MEAN, _BUILTIN_EXPAND_DIMS, _BUILTIN_DOT = _SUM, _MEAN, _EXPAND_DIMS, _DOT
"""The rules the quick paths (:func:`_reduction`, :func:`_expand_dims`, :func:`_product`)
are written for: a replaced rule takes the general path."""
_STRUCTURAL = frozenset(registry.require(function) for function in (
    np.transpose, np.moveaxis, np.swapaxes, np.flip, np.reshape, np.squeeze, np.ravel,
    np.expand_dims, np.atleast_1d, np.atleast_2d, np.atleast_3d))
"""Rules whose tangent is the primitive's own rearrangement of the tangent (the direction
axis aside), entry for entry: where that is a view of the input's mirrored tangent, it is
the view's tangent (:func:`apply`)."""


# --------------------------------------------------------------------------- quick paths
# A loss calls a few functions over and over (np.sum, np.mean, np.expand_dims) on Duals of
# one level holding plain arrays. For those calls, each function below does what apply
# would, without its general machinery; it returns None for any other call, which then
# takes apply. Each is used only while the function's registered rule is still the one it
# reproduces (a user may replace a rule): see _FAST_FUNCTIONS.


def _reduction(function, args, kwargs):
    """``np.sum(x)`` or ``np.mean(x)``, with ``axis=`` and ``keepdims=`` at most, of an
    array of float64 or complex128 with entries: NumPy's own reduction (``np.mean`` divides
    ``np.add.reduce`` by the count, as NumPy does) on the primal and on the tangent."""
    if len(args) != 1:
        return None
    x = args[0]
    if type(x) is not _ArrayDual:
        return None
    primal, t = x.primal, x.tangent
    if type(primal) is not np.ndarray or type(t) is not np.ndarray or (
            primal.dtype not in _REDUCED or t.dtype not in _REDUCED or not primal.size):
        return None
    axis, keepdims = None, False
    for name, value in kwargs.items():
        if name == "axis":
            axis = value
        elif name == "keepdims" and (value is True or value is False):
            keepdims = value
        else:
            return None
    rank = primal.ndim
    if axis is None:
        shifted = _AFTER_DIRECTIONS[rank]
        count = primal.size
    elif type(axis) is int and -rank <= axis < rank:
        axis %= rank
        shifted = axis + 1
        count = primal.shape[axis]
    elif type(axis) is tuple and all(type(a) is int and -rank <= a < rank for a in axis):
        axis = tuple(a % rank for a in axis)
        if len(set(axis)) != len(axis):
            return None
        shifted = tuple(a + 1 for a in axis)
        count = 1
        for a in axis:
            count *= primal.shape[a]
    else:
        return None
    ans = np.add.reduce(primal, axis=axis, keepdims=keepdims)
    tangent = np.add.reduce(t, axis=shifted, keepdims=keepdims)
    if function is np.mean:
        ans = ans / count
        tangent = tangent / count
    # The Dual of the result, a new array or a NumPy scalar (new_dual, written out).
    array = type(ans) is _ndarray
    dual = object.__new__(_ArrayDual if array and ans.ndim else Dual)
    dual.primal = ans
    dual.tangent = tangent
    dual.level = x.level
    dual._owns = array
    dual._mirror = dual._base = dual._views = dual._remake = dual._index = None
    return dual


_FLOAT64 = np.dtype(np.float64)
_REDUCED = (_FLOAT64, np.dtype(np.complex128))
_AFTER_DIRECTIONS = [tuple(range(1, rank + 1)) for rank in range(65)]
"""Per rank, the axes of a tangent other than its direction axis (NumPy has 64 at most)."""


def _expand_dims(function, args, kwargs):
    """``np.expand_dims(x, axis)`` for one integer axis: a view of ``x``, whose tangent is
    the same view of ``x``'s mirrored tangent memory (as :func:`apply` makes it)."""
    if kwargs:
        if len(args) != 1 or len(kwargs) != 1 or "axis" not in kwargs:
            return None
        x, axis = args[0], kwargs["axis"]
    elif len(args) == 2:
        x, axis = args
    else:
        return None
    if type(x) is not _ArrayDual or type(axis) is not int:
        return None
    if type(x.primal) is not _ndarray or type(x.tangent) is not _ndarray:
        return None
    rank = x.primal.ndim + 1
    if not -rank <= axis < rank:
        return None
    mirror = x._mirror
    if mirror is None:
        mirror = _ensure_mirror(x)[0]  # (which may copy x's primal: read it after)
        if mirror is None:
            return None
    axis %= rank
    primal = x.primal
    ans = primal.reshape((*primal.shape[:axis], 1, *primal.shape[axis:]))  # as NumPy
    # The Dual of the view, with the same view of the mirrored tangent (_mirrored_as,
    # written out).
    dual = object.__new__(_ArrayDual)
    dual.primal = ans
    dual.tangent = x.tangent[_NEW_AXIS_AFTER[axis]]
    dual.level = x.level
    dual._owns = True
    dual._mirror = mirror
    dual._base = dual._views = dual._remake = dual._index = None
    return dual


_NEW_AXIS_AFTER = [(slice(None),) * (axis + 1) + (None,) for axis in range(64)]
"""Per axis of a primal, the index of its tangent that inserts a new axis there."""


def _product(function, args, kwargs):
    """``np.dot(x, y)``: like a ufunc, a function of two arrays or numbers whose result is
    a new array, so :func:`call_ufunc` takes it."""
    if kwargs or len(args) != 2:
        return None
    return call_binary(function, args[0], args[1])


_QUICK_PATHS = {np.sum: (_reduction, _BUILTIN_SUM), np.mean: (_reduction, _BUILTIN_MEAN),
                np.expand_dims: (_expand_dims, _BUILTIN_EXPAND_DIMS),
                np.dot: (_product, _BUILTIN_DOT)}
"""Per function, its quick path and the rule that path reproduces."""
_FAST_FUNCTIONS: dict = {}
"""The quick paths in use: those whose function still has the rule they reproduce."""


def _bind_quick_paths() -> None:
    global _FAST_FUNCTIONS
    with _rebinding:
        _FAST_FUNCTIONS = {function: quick for function, (quick, rule) in _QUICK_PATHS.items()
                           if registry.lookup(function) is rule}


_rebinding = threading.Lock()
"""Held while a table made from the registry (quick paths, ufunc plans) is made or
forgotten, so that a table made from a rule being replaced in another thread cannot
outlive the replacement."""


_bind_quick_paths()
registry.on_change(_bind_quick_paths)


# --------------------------------------------------------------------------- applying a rule


def call_ufunc(ufunc, args: tuple):
    """``ufunc(*args)`` without keywords: :func:`apply`'s common case, taken quickly.

    Nearly every operation of a typical loss (``+``, ``*``, ``@``, ``np.tanh``) is a ufunc
    called on Duals of one level that hold plain arrays or numbers, and on plain arrays and
    numbers. Then there is nothing for :func:`apply` to look at besides the rule's tangents:
    no other level's Duals, no argument binding, and no memory bookkeeping, since a ufunc's
    result is a new array, never a view of an input. Any other call goes to :func:`apply`.
    The work is done by :func:`call_binary` and :func:`call_unary`, which the operators
    (``x * y``, ``-x``) call directly.
    """
    if len(args) == 2:
        return call_binary(ufunc, args[0], args[1])
    if len(args) == 1:
        return call_unary(ufunc, args[0])
    plan = _plans.get(ufunc) or _plan(ufunc)
    return apply(plan[5] or registry.require(ufunc), ufunc, args, {})


def call_binary(ufunc, a, b):
    """``ufunc(a, b)``, as :func:`call_ufunc` takes it. This runs for nearly every
    operation, so it is written out inline, for speed (each check it skips saves tens of
    nanoseconds of an operation's microsecond of dispatch)."""
    try:  # (an exception costs nothing until raised: cheaper than _plans.get)
        arity, elementwise, to_x, to_y, real_only, rule = _plans[ufunc]
    except KeyError:
        arity, elementwise, to_x, to_y, real_only, rule = _plan(ufunc)
    if arity != 2:
        return apply(rule or registry.require(ufunc), ufunc, (a, b), {})
    kind = type(a)
    if kind is _ArrayDual or kind is Dual:
        tx, level, x = a.tangent, a.level, a.primal
        if type(tx) is not _ndarray or (type(x) is not _ndarray and type(x) not in _PLAIN):
            return apply(rule, ufunc, (a, b), {})
    elif kind is _ndarray or kind is float or kind in _PLAIN:
        x, tx, level = a, None, None
    else:
        return apply(rule, ufunc, (a, b), {})
    kind = type(b)
    if kind is _ArrayDual or kind is Dual:
        ty, y = b.tangent, b.primal
        if type(ty) is not _ndarray or (type(y) is not _ndarray and type(y) not in _PLAIN):
            return apply(rule, ufunc, (a, b), {})
        if level is None:
            level = b.level
        elif b.level != level:  # Duals of two levels
            return apply(rule, ufunc, (a, b), {})
    elif kind is _ndarray or kind is float or kind in _PLAIN:
        if tx is None:  # no Dual at all (NumPy's own business): apply's plain result
            return apply(rule, ufunc, (a, b), {})
        y, ty = b, None
    else:
        return apply(rule, ufunc, (a, b), {})
    # (float64, the common dtype, answers without reading .kind; _PLAIN's others are real)
    if real_only and ((type(x) is _ndarray and x.dtype is not _FLOAT64 and x.dtype.kind == "c")
                      or (type(y) is _ndarray and y.dtype is not _FLOAT64
                          and y.dtype.kind == "c")):
        raise real_only_error(ufunc)
    ans = ufunc(x, y)
    # Each tangent rule, of the operands that are Duals; an elementwise rule's tangent
    # padded to the result's rank, so that broadcasting sees the primal's axes.
    if ty is None:
        if to_x is None:
            return ans
        if elementwise and tx.ndim <= ans.ndim:
            tx = _padded(tx, ans.ndim)
        tangent = to_x(tx, ans, x, y)
    elif tx is None:
        if to_y is None:
            return ans
        if elementwise and ty.ndim <= ans.ndim:
            ty = _padded(ty, ans.ndim)
        tangent = to_y(ty, ans, x, y)
    else:
        if elementwise:
            if tx.ndim <= ans.ndim:
                tx = _padded(tx, ans.ndim)
            if ty.ndim <= ans.ndim:
                ty = _padded(ty, ans.ndim)
        if to_x is None:
            if to_y is None:
                return ans
            tangent = to_y(ty, ans, x, y)
        elif to_y is None:
            tangent = to_x(tx, ans, x, y)
        else:
            tangent = to_x(tx, ans, x, y) + to_y(ty, ans, x, y)
    # The Dual of the result, a new array (new_dual, written out, as in call_unary).
    if tangent.dtype is not ans.dtype and tangent.dtype.kind == "c" and ans.dtype.kind != "c":
        raise mismatch_error(f"the tangent {registry.describe(ufunc)} computed")
    if tangent.base is not None:
        tangent = _unshared(tangent, (a, b))
    shape = ans.shape
    if tangent.shape[1:] != shape:
        tangent = _fit(tangent, ans)
    dual = _new(_ArrayDual if shape else Dual)  # (shape is () for a NumPy scalar)
    dual.primal = ans
    dual.tangent = tangent
    dual.level = level
    dual._owns = type(ans) is _ndarray
    dual._mirror = dual._base = dual._views = dual._remake = dual._index = None
    return dual


def call_unary(ufunc, a):
    """``ufunc(a)``, as :func:`call_ufunc` takes it (see :func:`call_binary`)."""
    try:
        arity, _, to_x, _, real_only, rule = _plans[ufunc]
    except KeyError:
        arity, _, to_x, _, real_only, rule = _plan(ufunc)
    kind = type(a)
    if arity != 1 or (kind is not _ArrayDual and kind is not Dual):
        return apply(rule or registry.require(ufunc), ufunc, (a,), {})
    tx, x = a.tangent, a.primal
    if type(tx) is not _ndarray or (type(x) is not _ndarray and type(x) not in _PLAIN):
        return apply(rule, ufunc, (a,), {})
    if real_only and type(x) is _ndarray and x.dtype is not _FLOAT64 and x.dtype.kind == "c":
        raise real_only_error(ufunc)
    ans = ufunc(x)
    if to_x is None:
        return ans
    tangent = to_x(tx, ans, x)  # (a unary ufunc keeps the shape)
    # The Dual of the result, a new array (new_dual, written out, as in call_binary).
    if tangent.dtype is not ans.dtype and tangent.dtype.kind == "c" and ans.dtype.kind != "c":
        raise mismatch_error(f"the tangent {registry.describe(ufunc)} computed")
    # (only an input with tangent memory can have lent it to the rule's tangent: its
    # mirror, a slot, is read before the tangent's base)
    if a._mirror is not None and tangent.base is not None:
        tangent = _unshared(tangent, (a,))
    shape = ans.shape
    if tangent.shape[1:] != shape:
        tangent = _fit(tangent, ans)
    dual = _new(_ArrayDual if shape else Dual)  # (shape is () for a NumPy scalar)
    dual.primal = ans
    dual.tangent = tangent
    dual.level = a.level
    dual._owns = type(ans) is _ndarray
    dual._mirror = dual._base = dual._views = dual._remake = dual._index = None
    return dual


_new = object.__new__


_ndarray = np.ndarray
_plans: dict = {}
"""Per ufunc (or function that :func:`call_ufunc` takes, ``np.dot``), how it is taken:
``(arity, elementwise, tangent of x, tangent of y, real_only, rule)``, ``elementwise`` saying
whether tangents are padded to the result's rank; an arity of -1 sends every call to
:func:`apply`. Made on first use from the registered rule, and forgotten whenever a rule is
registered or removed, so that a rule replaced with ``override=True`` is followed."""


def _plan(ufunc) -> tuple:
    """The plan of ``ufunc`` from its rule registered now, kept in ``_plans``."""
    with _rebinding:
        rule = registry.lookup(ufunc)
        if rule is None or (
                rule.sequence or rule.outputs is not None or rule.optional
                or not rule.differentiable or len(rule.tangents) not in (1, 2)
                or any(getattr(primitive, "nout", 1) != 1 for primitive in rule.primitives)):
            plan = -1, False, None, None, False, rule
        else:
            to_x, to_y = (*rule.tangents, None)[:2]
            plan = len(rule.tangents), rule.elementwise, to_x, to_y, rule.real_only, rule
        _plans[ufunc] = plan
        return plan


def _forget_plans() -> None:
    with _rebinding:
        _plans.clear()


registry.on_change(_forget_plans)


_PLAIN = frozenset({np.ndarray, float, int, np.float64})
"""The types of values :func:`call_ufunc` takes as they are (subclasses of ndarray, such
as masked arrays, and anything else go through :func:`apply`)."""


def _padded(t, rank: int):
    """The tangent ``t`` of a lower rank than an elementwise result given the result's rank,
    so that right-aligned broadcasting sees the primal's axes, not the directions."""
    return t.reshape(t.shape[:1] + (1,) * (rank + 1 - t.ndim) + t.shape[1:])


def apply(rule: registry.Rule, function, args: tuple, kwargs: dict):
    """Evaluate ``function(*args, **kwargs)`` on Duals using ``rule``'s tangent rules.

    This runs for every operation on a Dual, so it is written for speed: the common call
    (exactly the rule's positional parameters) skips argument binding, and tangents are
    padded and fitted inline.

    When NumPy's result is a view of an input's primal (``x.T``, ``x.reshape(-1)``,
    ``x[1:]``), the result's tangent is the same view of the input's tangent memory
    (:mod:`.memory`), so in-place updates of either are seen by both, as in NumPy.
    """
    if rule.sequence:
        level = _innermost_level(args, True)
        if rule.real_only and _any_complex(args):
            raise real_only_error(function)
        if not rule.differentiable:
            return function(*_unwrap_all(args, level, True), **kwargs)
        args, keywords = _bind(rule, function, args, kwargs)
        return _apply_sequence(rule, function, args, keywords, level)
    level = 0
    for arg in args:
        if isinstance(arg, Dual) and arg.level > level:
            level = arg.level
    if rule.real_only and _any_complex(args):
        raise real_only_error(function)
    if not rule.differentiable:
        return function(*_unwrap_all(args, level, False), **kwargs)
    if kwargs or len(args) != len(rule.params):
        args, kwargs = _bind(rule, function, args, kwargs)
    if rule.outputs is not None:
        return _apply_outputs(rule, function, args, kwargs, level)
    primals = [a.primal if isinstance(a, Dual) and a.level == level else a for a in args]
    if rule.optional:
        ans = function(*_without_left_out(primals, rule.optional), **kwargs)
    else:
        ans = function(*primals, **kwargs)
    kind = type(ans)
    owns = False
    view = None
    if kind is np.ndarray:
        if ans.base is None and not _is_an_input(ans, args):
            owns = True
        else:
            # (Only under the registered rule: a rule passed in by hand, as the rule tests
            # do, is asked for its own tangent.)
            if registry.lookup(function) is rule:
                view = _view_of_input(rule, function, args, kwargs, level, ans)
            if view is not None:
                # The rule's tangents still run below, for the arguments they refuse
                # (np.diff(x, n=0) is x itself); the view's tangent is the mirrored one.
                ans = view[0]
                primals = [a.primal if isinstance(a, Dual) and a.level == level else a
                           for a in args]
            else:
                owns = not _overlaps_an_input(ans, args)
    elif kind is not np.float64 and kind is not float:
        _check_value(ans, function)
    plain = kind is np.ndarray or kind is np.float64  # with .ndim and .shape, unlike a float
    out_rank = ans.ndim if plain else np.ndim(ans)
    tangent = None
    for arg, tangent_rule in zip(args, rule.tangents, strict=False):
        if tangent_rule is None or not isinstance(arg, Dual) or arg.level != level:
            continue
        t = arg.tangent
        if type(t) is not np.ndarray or type(arg.primal) is not np.ndarray:
            arg._owns = False  # nested: the result may share the tangent (see _assign)
        if rule.elementwise and t.ndim <= out_rank:
            # Right-aligned broadcasting must see the primal's axes, not the directions.
            t = t.reshape(t.shape[:1] + (1,) * (out_rank + 1 - t.ndim) + t.shape[1:])
        part = tangent_rule(t, ans, *primals, **kwargs)
        tangent = part if tangent is None else tangent + part
    if view is not None:
        mirror = view[1]
        if rule in _STRUCTURAL and type(tangent) is np.ndarray and (
                tangent.shape[1:] == ans.shape) and np.may_share_memory(tangent, mirror.memory):
            # The rule took the same view of the input's mirrored tangent (a reshape of a
            # reshape): that is the view's tangent, found without reading addresses.
            return _mirrored_as(ans, tangent, mirror, level)
        dual = _mirrored(ans, mirror, level)
        if dual is not None:
            return dual
        owns = not _overlaps_an_input(ans, args)  # a view whose tangent cannot be mapped
    if tangent is None:
        return ans
    if tangent.dtype.kind == "c" and not np.iscomplexobj(_innermost(ans)):
        raise mismatch_error(f"the tangent {registry.describe(function)} computed")
    if type(tangent) is np.ndarray and tangent.base is not None:
        tangent = _unshared(tangent, args)
    shape = ans.shape if plain else np.shape(ans)
    if tangent.shape[1:] != shape:
        tangent = _fit(tangent, ans)
    dual = new_dual(ans, tangent, level)
    if owns:
        dual._owns = True
    elif kind is np.ndarray or isinstance(ans, Dual):
        _nested_view(dual, args, level, lambda: apply(rule, function, args, kwargs),
                     lambda base: _positions(rule, function, args, kwargs, base, ans))
    return dual


def _apply_outputs(rule, function, args, kwargs, level):
    """A primitive with several results (``np.linalg.eigh``): each result a new Dual, its
    tangent summed over the arguments' tangent rules, which give one tangent per result
    (``None`` for a result without a derivative). Returned as NumPy returns them (a tuple,
    a named tuple or a list)."""
    primals = [a.primal if isinstance(a, Dual) and a.level == level else a for a in args]
    ans = _evaluate(rule, function, args, kwargs, level)
    results = list(ans)
    for result in results:
        if type(result) is not np.ndarray or result.dtype.kind == "c":
            _check_value(result, function)
    tangents: list = [None] * len(results)
    for arg, tangent_rule in zip(args, rule.tangents, strict=False):
        if tangent_rule is None or not isinstance(arg, Dual) or arg.level != level:
            continue
        parts = tangent_rule(arg.tangent, ans, *primals, **kwargs)
        tangents = [t if part is None else part if t is None else t + part
                    for t, part in zip(tangents, parts, strict=True)]
    duals = []
    for result, tangent in zip(results, tangents, strict=True):
        if tangent is None:
            duals.append(result)
            continue
        if type(tangent) is np.ndarray and tangent.base is not None:
            tangent = _unshared(tangent, args)
        dual = new_dual(result, _fit(tangent, result), level)
        dual._owns = type(result) is np.ndarray and not _overlaps_an_input(result, args)
        duals.append(dual)
    if isinstance(ans, list):
        return duals
    return type(ans)(*duals) if hasattr(ans, "_fields") else tuple(duals)


_SPLIT_AXIS = {np.split: None, np.array_split: None, np.vsplit: 0, np.dsplit: 2,
               np.hsplit: "columns"}
_SPECIAL_FUNCTIONS = frozenset((*_FRESH_LIKE, *_DTYPE_QUERIES, *_SPLIT_AXIS))


def _no_vectors(args, kwargs) -> bool:
    """``np.linalg.svd(a, compute_uv=False)``: the singular values, one result."""
    flag = args[2] if len(args) > 2 else kwargs.get("compute_uv", True)
    return flag is False and not kwargs.get("hermitian", False)


def _add_at(ufunc, target, index, value) -> None:
    """``np.add.at(y, index, v)`` (and ``np.subtract.at``) into a dual number ``y``, in
    place as NumPy writes: the new primal and tangent are computed with repeated indices
    adding up, then written into ``y`` whole, so that every view of ``y`` sees them."""
    if not isinstance(target, Dual):
        raise DerivativeConversionError(
            f"np.{ufunc.__name__}.at would add a value being differentiated into a plain "
            "NumPy array in place, dropping its derivative",
            hint="start from y = np.zeros_like(x) (an array that carries a derivative), or "
            "use mode='reverse'")
    if isinstance(index, Dual):
        raise MissingRuleError(f"np.{ufunc.__name__}.at with a differentiated index has no "
                               "derivative rule", hint="pass the indices as plain integers")
    level = target.level
    same = isinstance(value, Dual) and value.level == level
    # copies (of inner dual numbers too, when derivatives are nested)
    primal = target.primal * 1.0 if isinstance(target.primal, Dual) else np.array(
        target.primal, copy=True)
    ufunc.at(primal, index, value.primal if same else value)
    tangent = target.tangent * 1.0 if isinstance(target.tangent, Dual) else np.array(
        target.tangent, copy=True)
    if same:
        sub = np.shape(target.primal[index])
        t = value.tangent
        t = np.reshape(t, (len(t),) + (1,) * (len(sub) - (np.ndim(t) - 1)) + np.shape(t)[1:])
        ufunc.at(tangent, helpers.at_tangent(index), t)
    _assign(target, Ellipsis, Dual(primal, tangent, level))


def _split(func, args, kwargs):
    """``np.split(x, ...)`` and its family, as NumPy makes them: basic slices of ``x``
    along one axis, taken with ``x[...]``, so that each part is a view of ``x`` whose
    tangent is a view of ``x``'s (a write into a part is a write into ``x``)."""
    bound = inspect.signature(func).bind(*args, **kwargs)
    given = dict(bound.arguments)
    x = given.pop("ary")
    if not isinstance(x, Dual) or any(isinstance(v, Dual) for v in given.values()):
        raise MissingRuleError(
            f"np.{func.__name__} has a derivative rule for the array being split only",
            hint="pass the sections or indices as plain numbers",
        )
    pieces = func(x.primal, **given)  # NumPy's own checks and errors
    axis = _SPLIT_AXIS[func]
    if axis is None:
        axis = given.get("axis", 0)
    elif axis == "columns":
        axis = 1 if np.ndim(x.primal) > 1 else 0
    axis %= np.ndim(x.primal)
    bounds = np.cumsum([0] + [np.shape(p)[axis] for p in pieces])
    lead = (slice(None),) * axis
    return [x[(*lead, slice(int(lo), int(hi)))]
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def _positions(rule, function, args, kwargs, base, ans):
    """Where the entries of the view ``ans = function(..., base, ...)`` sit in ``base``:
    ``(index,)``, an index with one integer array per axis of ``base``, found by applying
    ``function`` to the entries' flat positions; None when that does not give an array of
    ``ans``'s shape."""
    if np.result_type(_innermost(ans)) != np.result_type(_innermost(base.primal)):
        return None  # a part of each entry (np.imag(z) of a complex z), not whole entries
    shape = np.shape(base.primal)
    where = np.arange(int(np.prod(shape)), dtype=np.intp).reshape(shape)
    values = [where if a is base else _innermost(a) for a in args]
    try:
        if rule.optional:
            found = function(*_without_left_out(values, rule.optional), **kwargs)
        else:
            found = function(*values, **kwargs)
    except Exception:  # noqa: BLE001 - any failure means "cannot write through this view"
        return None
    if type(found) is not np.ndarray or found.shape != np.shape(ans):
        return None
    return (np.unravel_index(found, shape),)


def _evaluate(rule, function, args, kwargs, level):
    """The primal result: ``function`` applied to the primals of the Duals at ``level``."""
    primals = [a.primal if isinstance(a, Dual) and a.level == level else a for a in args]
    if rule.optional:
        return function(*_without_left_out(primals, rule.optional), **kwargs)
    return function(*primals, **kwargs)


def _is_an_input(ans, args) -> bool:
    for arg in args:
        if arg is ans or (isinstance(arg, Dual) and arg.primal is ans):
            return True
    return False


def _overlaps_an_input(ans, args) -> bool:
    for arg in args:
        if isinstance(arg, Dual):
            arg = arg.primal
        if type(arg) is np.ndarray and np.may_share_memory(ans, arg):
            return True
    return False


def _view_of_input(rule, function, args, kwargs, level, ans):
    """``(ans, mirror)`` if ``ans`` is a view of an input's primal, which now has tangent
    memory (``ans`` made again if that primal had to be copied first); None if it views no
    input or the input cannot have tangent memory (nested, scalar)."""
    for arg in args:
        if not (isinstance(arg, Dual) and arg.level == level):
            continue
        primal = arg.primal
        if type(primal) is not np.ndarray or not np.may_share_memory(ans, primal):
            continue
        mirror, copied = _ensure_mirror(arg)
        if mirror is None:
            return None
        if copied:  # the input's primal moved to memory of its own: view that instead
            ans = _evaluate(rule, function, args, kwargs, level)
        return ans, mirror
    return None


def _mirrored(ans, mirror, level):
    tangent = tangent_view(mirror, ans)
    if tangent is None:
        return None
    return _mirrored_as(ans, tangent, mirror, level)


def _mirrored_as(ans, tangent, mirror, level):
    """The Dual of the view ``ans`` whose tangent, a view of ``mirror``'s memory, is
    ``tangent``."""
    dual = new_dual(ans, tangent, level)
    dual._mirror = mirror
    dual._owns = True
    return dual


def _ensure_mirror(dual) -> tuple[Mirror | None, bool]:
    """Give ``dual``'s tangent memory that mirrors its primal's, once (see memory.py).

    A primal that is not the Dual's own (the caller's array, a view of a plain array) is
    copied first, so a write never reaches memory outside the evaluation. Returns the
    mirror (None for a nested or scalar Dual) and whether the primal was copied.
    """
    if dual._mirror is not None:
        return dual._mirror, False
    if dual._base is not None or dual._views:  # nested views are tracked by _refresh
        return None, False
    primal, tangent = dual.primal, dual.tangent
    if type(primal) is not np.ndarray or type(tangent) is not np.ndarray:
        return None, False
    copied = False
    shared = None
    if not dual._owns or not primal.flags.writeable:
        # (a read-only primal, np.broadcast_to's, cannot be written into by NumPy either)
        if GUARDED_COPIES and not primal.flags.writeable:
            shared = _guarded_text(primal)
        primal = np.array(primal, order="K")
        dual.primal = primal
        dual._owns = copied = True
    dtype = tangent.dtype
    if dtype is not _FLOAT64 or primal.dtype is not _FLOAT64:  # (else float64 stays)
        if dtype.kind not in "fc":
            dtype = np.dtype(float)
        if primal.dtype.kind == "c":  # a complex value's tangent is complex
            dtype = np.result_type(dtype, np.complex64)
    if primal.base is None and primal.flags.c_contiguous and tangent.shape == (
            len(tangent), *primal.shape):
        mirror, view = Mirror.holding(primal, tangent, dtype)
    else:
        mirror = Mirror(primal, len(tangent), dtype)
        view = tangent_view(mirror, primal)
        if view is None:
            return None, copied
        view[...] = tangent
    dual.tangent = view
    dual._mirror = mirror
    if shared is not None:  # a read-only copy of a shared argument (sharing.py), wrapped
        mirror.shared = shared  # at an inner level: its writes are refused still
    return mirror, copied


GUARDED_COPIES: dict = {}
"""``id(copy) -> (copy, (message, hint))``: the read-only copies that running evaluations
pass for arguments whose memory a differentiated one shares (:mod:`.sharing`)."""


def _guarded_text(array: np.ndarray):
    for copy, text in GUARDED_COPIES.values():
        if np.may_share_memory(array, copy):
            return text
    return None


def _unshared(tangent, args):
    """``tangent``, copied if it is a view of an input's tangent memory (which a later
    in-place update could change under it)."""
    for arg in args:
        if isinstance(arg, Dual) and arg._mirror is not None and np.may_share_memory(
            tangent, arg._mirror.memory
        ):
            return tangent.copy()
    return tangent


_remaking = 0  # > 0 while views are made again (which registers no new view)


def _nested_view(dual, args, level, remake, index):
    """At a nested level (primals are Duals themselves) a view's tangent is not mirrored:
    note that ``dual`` views an input, how to make it again after the input is written
    (``remake``), and, for a basic index, where writes into it go (``index``)."""
    if _remaking:
        return
    inner = _innermost(dual.primal)
    if type(inner) is not np.ndarray:
        return
    for arg in args:
        if isinstance(arg, Dual) and arg.level == level:
            source = _innermost(arg.primal)
            if type(source) is np.ndarray and np.may_share_memory(inner, source):
                dual._base = arg
                dual._remake = remake
                dual._index = index
                if arg._views is None:
                    arg._views = []
                arg._views = [ref for ref in arg._views if ref() is not None]
                arg._views.append(weakref.ref(dual))
                return


def _refresh(dual) -> None:
    """Make every live nested view of ``dual`` again from its new contents."""
    global _remaking
    if not dual._views:
        return
    for ref in dual._views:
        view = ref()
        if view is None:
            continue
        _remaking += 1
        try:
            fresh = view._remake()
        finally:
            _remaking -= 1
        view.primal = fresh.primal
        view.tangent = fresh.tangent
        view._owns = False
        _refresh(view)


def new_dual(primal, tangent, level: int) -> Dual:
    """A Dual built without the constructor's checks, for a tangent known to be well formed
    (a rule's result, or a seed that :func:`~.driver.push` checked)."""
    kind = type(primal)
    if kind is np.ndarray and primal.ndim:
        dual = object.__new__(_ArrayDual)
    elif kind is not np.float64 and kind is not np.ndarray and (
            isinstance(primal, Dual) or np.ndim(primal) > 0):
        return Dual(primal, tangent, level)
    else:
        dual = object.__new__(Dual)
    dual.primal = primal
    dual.tangent = tangent
    dual.level = level
    dual._owns = False
    dual._mirror = None
    dual._base = None
    dual._views = None
    dual._remake = None
    dual._index = None
    return dual


# --------------------------------------------------------------------------- indexing


def _is_basic(items) -> bool:
    for item in items:
        if not (
            item is None
            or item is Ellipsis
            or type(item) is slice
            or (isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)))
        ):
            return False
    return True


def _items(index) -> tuple:
    return index if isinstance(index, tuple) else (index,)


def _moved_index(items) -> tuple:
    """The index for a tangent whose direction axis was moved to the end (the direction
    axis is then the trailing, untouched one, whatever NumPy does with advanced indices)."""
    if any(item is Ellipsis for item in items):
        return (*items, slice(None))
    return (*items, Ellipsis, slice(None))


def index_tangent(tangent, index):
    """The tangent of ``x[index]`` from the tangent of ``x`` (directions first).

    Basic indices keep the direction axis in front. Advanced indices that NumPy moves to the
    front (separated by a slice, ``x[3, 1:, [1, 3]]``) would move ahead of it, so the
    direction axis is put last, the index applied, and the axis moved back.
    """
    items = _items(index)
    if _is_basic(items):
        return tangent[(slice(None), *items)]
    moved = np.moveaxis(tangent, 0, -1)
    return np.moveaxis(moved[_moved_index(items)], -1, 0)


def _store_tangent(tangent, index, value_tangent) -> None:
    """``tangent[directions of index] = value_tangent`` in place (None stores zeros)."""
    items = _items(index)
    if _is_basic(items):
        target = tangent[(slice(None), *items)]
        if value_tangent is None:
            target[...] = 0.0
        else:
            target[...] = pad_tangent(value_tangent, np.ndim(target) - 1)
        return
    moved = np.moveaxis(tangent, 0, -1)
    index = _moved_index(items)
    if value_tangent is None:
        moved[index] = 0.0
        return
    rank = np.ndim(moved[index]) - 1
    moved[index] = np.moveaxis(pad_tangent(value_tangent, rank), 0, -1)


def _getitem(dual, index):
    """``dual[index]``: a view of ``dual`` for basic indices, as in NumPy, else a copy."""
    level = dual.level
    ans = dual.primal[index]
    kind = type(ans)
    if kind is np.ndarray and (ans.base is not None or ans is dual.primal):
        if np.may_share_memory(ans, dual.primal):
            mirror, copied = _ensure_mirror(dual)
            if mirror is not None:
                if copied:
                    ans = dual.primal[index]
                items = _items(index)
                if _is_basic(items):  # the same index of the mirrored tangent is a view
                    tangent = dual.tangent[(slice(None), *items)]
                    if tangent.shape[1:] == ans.shape:
                        return _mirrored_as(ans, tangent, mirror, level)
                view = _mirrored(ans, mirror, level)
                if view is not None:
                    return view
    tangent = dual.tangent
    if type(tangent) is not np.ndarray or type(dual.primal) is not np.ndarray:
        dual._owns = False
    tangent = index_tangent(tangent, index)
    if type(tangent) is np.ndarray and tangent.base is not None:
        tangent = _unshared(tangent, (dual,))
    result = new_dual(ans, tangent, level)
    if kind is np.ndarray:
        result._owns = not np.may_share_memory(ans, dual.primal)
    if (kind is np.ndarray or isinstance(ans, Dual)) and _is_basic(_items(index)):
        _nested_view(result, (dual,), level, lambda: _getitem(dual, index),
                     lambda base: (index,))
    return result


# --------------------------------------------------------------------------- writing


SHARED_DUALS: dict = {}
"""``id(dual) -> (dual, (message, hint))`` for the arguments of running evaluations, at a
nested level, whose memory another name shares (:mod:`.sharing`): a write into one of
them, or into a view of one, is refused. (At the first level ``Mirror.shared`` does this.)"""


def _refuse_shared_write(target: Dual) -> None:
    """Refuse a write into ``target`` if it is, views, or holds (at a nested level, as its
    primal) a Dual whose memory another argument shares."""
    stack = [target]
    while stack:
        dual = stack.pop()
        if not isinstance(dual, Dual):
            continue
        entry = SHARED_DUALS.get(id(dual))
        text = entry[1] if entry is not None and entry[0] is dual else (
            dual._mirror.shared if dual._mirror is not None else None)
        if text is not None:
            raise ArgumentError(text[0], hint=text[1])
        stack += (dual._base, dual.primal)


def _assign(target: Dual, index, value) -> None:
    """``target[index] = value`` in place, primal and tangent, as NumPy writes arrays.

    Every view of ``target`` sees the write: their tangents share its tangent memory (a
    :class:`~.memory.Mirror`). At a nested level (the primal is itself a Dual, or the
    tangent is) tangents are not mirrored; there a write into a view is a write into its
    base, and a write into a base makes its views again (``_refresh``).
    """
    level = target.level
    if SHARED_DUALS:  # a nested Dual whose memory another argument shares (sharing.py)
        _refuse_shared_write(target)
    if isinstance(value, Dual) and value.level > level:
        raise DerivativeConversionError(
            "a value being differentiated by an inner derivative was stored in place into "
            "an array of an outer one (y[i] = ..., y += ..., or out=y), which would mix "
            "up the two derivatives",
            hint="build a new array inside the inner function instead of writing into "
            "one from outside it",
        )
    same = isinstance(value, Dual) and value.level == level
    value_primal = value.primal if same else value
    value_tangent = value.tangent if same else None
    primal = target.primal
    nested_value = isinstance(value_primal, Dual) or isinstance(value_tangent, Dual)
    plain = type(primal) is np.ndarray and type(target.tangent) is np.ndarray
    if plain and nested_value and target._mirror is not None:
        raise MissingRuleError(
            "a value carrying the derivative of an outer evaluation was stored in place "
            "into an array that has views, inside a nested derivative; forward mode cannot "
            "widen an array that other names view",
            hint="build the array from the values (np.stack), or write into a copy",
        )
    mirror = _ensure_mirror(target)[0] if plain and not nested_value else None
    if mirror is not None:
        if mirror.shared is not None:  # an argument that shares memory with another
            message, hint = mirror.shared
            raise ArgumentError(message, hint=hint)
        target.primal[index] = value_primal  # NumPy's own shape checks and casting
        _store_tangent(target.tangent, index, value_tangent)
        return
    if type(_innermost(primal)) is not np.ndarray:
        raise MissingRuleError(
            "an in-place update (y[i] = ..., y += ..., out=y) was applied to a single "
            "number being differentiated",
            hint="write y = ... (a new value)",
        )
    _refuse_shared_write(target)  # (nested: the memory of an outer level's argument)
    if target._base is not None:
        # A view at a nested level: write its new contents into its base, which makes
        # its views (this one included) again.
        if callable(target._index):  # where the view's entries sit in its base
            target._index = target._index(target._base)  # (index,) or None
        if target._index is None:
            raise MissingRuleError(
                "inside a nested derivative, an array being differentiated was updated in "
                "place through a view whose entries could not be located in the array it "
                "views; forward mode follows writes through views made by indexing, "
                "reshaping and transposing",
                hint="write into the array itself, or copy the view first (v = v.copy())",
            )
        contents = target.copy()
        _assign(contents, index, value)
        _assign(target._base, target._index[0], contents)
        return
    if not target._owns:
        target.primal = np.copy(primal)
        target.tangent = np.copy(target.tangent)
        target._owns = True
    # A value carrying an outer derivative turns a plain part of the target into a Dual
    # of that outer level (zero derivative so far), which can hold it.
    if isinstance(value_primal, Dual) and not isinstance(target.primal, Dual):
        target.primal = _lifted(target.primal, value_primal)
    if isinstance(value_tangent, Dual) and not isinstance(target.tangent, Dual):
        target.tangent = _lifted(target.tangent, value_tangent)
    if value_tangent is not None and np.iscomplexobj(_innermost(value_tangent)) and (
            not np.iscomplexobj(_innermost(target.tangent))) and np.iscomplexobj(
            _innermost(target.primal)):
        # a complex value whose tangent is still real (z = v + 0j of a real v, nested):
        # a complex tangent written into it needs room for its imaginary part
        target.tangent = target.tangent * (1 + 0j)
    target.primal[index] = value_primal
    _store_tangent(target.tangent, index, value_tangent)
    _refresh(target)


def _lifted(array, like: Dual) -> Dual:
    """``array`` as a Dual of ``like``'s level with a zero derivative, ready to be written."""
    primal = np.array(array, dtype=np.result_type(array, float))
    tangent = np.zeros((len(like.tangent), *primal.shape), dtype=primal.dtype)
    dual = Dual(primal, tangent, like.level)
    dual._owns = True
    return dual


def _inplace(dual: Dual, ufunc, other):
    """``dual op= other``: in place for an array, as NumPy; a new value for a number."""
    result = call_binary(ufunc, dual, other)
    if not _writable(dual):
        return result  # NumPy scalars are immutable: x += 1 rebinds x
    _assign(dual, Ellipsis, result)
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
    if type(ans) is not np.ndarray or ans.dtype.kind == "c":
        _check_value(ans, function)
    for a in items:
        if isinstance(a, Dual) and a.level == level and type(a.primal) is not np.ndarray:
            a._owns = False
    tangent = rule.tangents[0](tangents, ans, primals, *args[1:], **keywords)
    if type(tangent) is np.ndarray and tangent.base is not None:
        tangent = _unshared(tangent, items)
    dual = Dual(ans, _fit(tangent, ans), level)
    dual._owns = type(ans) is np.ndarray and not _overlaps_an_input(ans, items)
    return dual


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
