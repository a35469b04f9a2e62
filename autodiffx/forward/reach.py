"""The arrays a value reaches, and whether two arrays share memory.

Both modes copy an array before writing into it where the caller's memory must not change,
and so must know what else reaches that memory: an item of a list argument, an attribute of
an object (``holder.w``), an array in a user module. :func:`arrays_in` finds the arrays a
value holds, through containers and instance attributes, within a budget of objects
(:class:`TooMuch` past it: refuse rather than guess). Used by
:mod:`autodiffx.reverse.sharing` and :mod:`autodiffx.forward.sharing`.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import numpy as np

from .dual import Dual

BUDGET = 10_000
"""How many objects one call's search for arrays may visit before the call is refused."""

FIXED_PACKAGES = frozenset({"numpy", "autodiffx", "builtins",
                            *getattr(sys, "stdlib_module_names", ())})
"""Packages whose objects hold no arrays of the user's (their data is not the function's)."""

_MISSING = object()


def fixed(module) -> bool:
    """Whether ``module`` (a module's name, ``__module__``) is in :data:`FIXED_PACKAGES`:
    its code and data are not the user's."""
    return isinstance(module, str) and module.split(".")[0] in FIXED_PACKAGES


class TooMuch(Exception):
    """The search for the arrays a call may read went past :data:`BUDGET`."""


def shares(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays share an element (exactly; ``np.may_share_memory`` only compares
    bounds, so ``a[::2]`` and ``a[1::2]`` would seem to), or might, where the exact answer
    is too costly to find."""
    try:
        return bool(np.shares_memory(a, b, max_work=100_000))
    except np.exceptions.TooHardError:
        return True


def arrays_in(value, budget: list, depth: int = 0) -> Iterator[np.ndarray]:
    """The arrays in ``value``: itself, or those held by the lists, tuples, dicts, user
    objects and user modules in it; ``budget`` (a one-item list) counts the objects
    visited, and raises :class:`TooMuch` when spent."""
    budget[0] -= 1
    if budget[0] < 0:
        raise TooMuch
    while isinstance(value, Dual):
        value = value.primal
    if isinstance(value, np.ndarray):
        yield value
        return
    if depth > 8 or value is None or isinstance(value, (int, float, complex, str, bytes,
                                                        np.generic)):
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    elif isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, types.ModuleType):
        if value.__name__.split(".")[0] in FIXED_PACKAGES:
            return
        items = [v for v in vars(value).values() if not isinstance(v, types.ModuleType)]
    elif isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType,
                            types.MethodType, np.ufunc)):
        return  # code: what it reads is transformed with it, or is not data
    else:
        items = attributes(value)
    for item in items:
        yield from arrays_in(item, budget, depth + 1)


def attributes(value) -> list:
    """The values of an object's instance attributes (its ``__dict__`` and slots), for a
    user class or a ``types.SimpleNamespace``; none for other classes of the standard
    library and NumPy (their data is not the function's arrays)."""
    kind = type(value)
    module = getattr(kind, "__module__", None)
    if kind is not types.SimpleNamespace and (
            not isinstance(module, str) or module.split(".")[0] in FIXED_PACKAGES):
        return []
    found = list(getattr(value, "__dict__", {}).values())
    for klass in kind.__mro__:
        slots = getattr(klass, "__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            item = getattr(value, slot, _MISSING) if isinstance(slot, str) else _MISSING
            if item is not _MISSING:
                found.append(item)
    return found
