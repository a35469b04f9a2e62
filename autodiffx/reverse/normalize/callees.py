"""What is known about a called function before the code runs: which NumPy function an
array method stands for (:data:`METHODS`), whether it is one of yours, how many results it
returns, and whether its result is constant or random."""

from __future__ import annotations

import ast
import math
import types

import numpy as np

from ...errors import AutodiffError
from .. import source as source_module

METHODS = {
    "sum": (np.sum, ()),
    "mean": (np.mean, ()),
    "max": (np.max, ()),
    "min": (np.min, ()),
    "prod": (np.prod, ()),
    "dot": (np.dot, ()),
    "reshape": (np.reshape, ("shape",)),
    "ravel": (np.ravel, ()),
    "flatten": (np.ravel, ()),
    "transpose": (np.transpose, ("axes",)),
    "copy": (np.copy, ()),
    "squeeze": (np.squeeze, ()),
    "var": (np.var, ()),
    "std": (np.std, ()),
    "cumsum": (np.cumsum, ()),
    "swapaxes": (np.swapaxes, ()),
    "take": (np.take, ()),
    "repeat": (np.repeat, ()),
    "cumprod": (np.cumprod, ()),
    "astype": (np.astype, ()),
    "round": (np.round, ()),
    "argmax": (np.argmax, ()),
    "argmin": (np.argmin, ()),
    "argsort": (np.argsort, ()),
    "argpartition": (np.argpartition, ()),
    "nonzero": (np.nonzero, ()),
    "conj": (np.conjugate, ()),
    "conjugate": (np.conjugate, ()),
}
"""Array methods with the NumPy function whose rule they use; the parameters that a method
takes as several positional arguments (``x.reshape(2, 3)``) are packed into a tuple."""


_CONSTANT_MAKERS = {
    np.zeros, np.ones, np.empty, np.eye, np.identity, len, range, int, bool, round,
    isinstance, math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite,
}
"""Calls whose result is constant, or piecewise constant, in every argument: their
derivative is zero wherever it exists. (``float``, ``np.full``, ``np.linspace`` or
``np.array`` are not: a derivative flows through them, by a rule or not at all.)"""


def is_constant_maker(callee) -> bool:
    """Whether ``callee`` is one of :data:`_CONSTANT_MAKERS`."""
    try:
        return callee in _CONSTANT_MAKERS
    except TypeError:  # an unhashable callable
        return False


def is_random(callee) -> bool:
    """A function of ``numpy.random``, or a method of one of its generators."""
    module = getattr(callee, "__module__", "") or ""
    if module.startswith("numpy.random"):
        return True
    owner = getattr(callee, "__self__", None)
    return type(owner).__module__.startswith("numpy.random") if owner is not None else False


def is_user_function(callee) -> bool:
    """A Python function outside NumPy, whose source reverse mode follows."""
    return isinstance(callee, types.FunctionType) and not (
        getattr(callee, "__module__", "") or ""
    ).startswith("numpy")


def output_count(rule, call: ast.Call, value_of=None) -> int | None:
    """How many results a call of a rule with several results gives, when the code says:
    a fixed number, or ``np.split(x, 3)`` and ``np.split(x, [2, 5])`` (3 parts), or the
    same through a global or closure name, whose value ``value_of(name)`` gives (and
    guards) or None."""
    if isinstance(rule.outputs, int):
        return rule.outputs
    given = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "indices_or_sections"), None)
    if isinstance(given, ast.Constant) and type(given.value) is int:
        return given.value
    if isinstance(given, (ast.List, ast.Tuple)):
        return len(given.elts) + 1
    value = value_of(given) if value_of is not None and isinstance(given, ast.Name) else None
    if type(value) is int:
        return value
    if isinstance(value, (list, tuple)) and all(type(v) is int for v in value):
        return len(value) + 1
    return None


def returned_tuple_size(function) -> int | None:
    """How many items ``function`` returns, when each of its ``return`` statements returns
    a tuple display of the same length; ``None`` otherwise or when its source is unknown."""
    try:
        definition = source_module.parse_function(function).node
    except AutodiffError:
        return None
    sizes = set()
    pending = list(definition.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                  ast.Lambda)):
            continue  # a nested function's returns are its own
        if isinstance(statement, ast.Return):
            value = statement.value
            sizes.add(len(value.elts) if isinstance(value, ast.Tuple) else None)
        pending.extend(ast.iter_child_nodes(statement))
    return sizes.pop() if len(sizes) == 1 else None
