"""Calls that write into arrays: ``np.copyto``, ``out=``, ``np.add.at``, ``y.sort()``, ...

Generated code reads a value by its name, and the adjoint sweep follows the statements that
bind names and store into them. A call that writes into an array changes a value without
either, so reverse mode must see every such call. This module knows which calls write, and
where:

* functions that write into a positional argument (:data:`WRITING_FUNCTIONS`), every
  ``ufunc.at``, and an ``out=`` argument on any call;
* array methods that write into their receiver (:data:`WRITING_METHODS`);
* a user function that writes into one of its parameters (:func:`written_parameters`).

The normalizer turns the common ones into stores that reverse mode differentiates
(``np.copyto(y, x)`` is ``y[...] = x``); the rest are kept as effects naming what they
write, and refused when a derivative flows through what they write.

>>> import numpy as np
>>> writes_into(np.copyto), writes_into(np.add.at), writes_into(np.sum)
((0,), (0,), ())
"""

from __future__ import annotations

import ast
import builtins
import inspect
import math
import types

import numpy as np

from ..errors import AutodiffError
from . import ir
from .source import parse_function

VIEWS = frozenset({
    np.reshape, np.ravel, np.transpose, np.squeeze, np.expand_dims, np.broadcast_to,
    np.swapaxes, np.moveaxis, np.flip, np.diagonal, np.asarray, np.asanyarray,
    np.atleast_1d, np.atleast_2d, np.atleast_3d, np.real, np.imag, np.rot90,
    np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit,
})
"""Functions whose result may share memory with their first argument (NumPy views)."""

WRITING_FUNCTIONS = {
    np.copyto: (0,),
    np.put: (0,),
    np.place: (0,),
    np.putmask: (0,),
    np.put_along_axis: (0,),
    np.fill_diagonal: (0,),
    np.random.shuffle: (0,),
}
"""NumPy functions that write into positional arguments (by position)."""

WRITING_METHODS = frozenset({
    "sort", "fill", "put", "partition", "resize", "itemset", "setfield",
    "__setitem__", "__delitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__",
    "__ifloordiv__", "__ipow__", "__imatmul__", "__imod__", "__iand__", "__ior__",
    "__ixor__", "extend", "insert", "pop", "remove", "reverse", "clear", "update",
    "setdefault", "popitem",
})
"""Methods that write into the object they are called on (arrays, lists and dicts)."""

PURE_BUILTINS = frozenset({
    builtins.print, builtins.len, builtins.isinstance, builtins.repr, builtins.str,
    builtins.format, builtins.id, builtins.type, builtins.hasattr, builtins.callable,
})
"""Builtins called for their effect that write into none of their arguments."""


def is_ufunc_at(callee) -> bool:
    """Whether ``callee`` is ``ufunc.at`` (``np.add.at``), which writes into its first
    argument."""
    return isinstance(getattr(callee, "__self__", None), np.ufunc) and getattr(
        callee, "__name__", "") == "at"


def writes_into(callee) -> tuple[int, ...]:
    """The positions of the arguments ``callee`` writes into, () for none known."""
    if is_ufunc_at(callee):
        return (0,)
    try:
        return WRITING_FUNCTIONS.get(callee, ())
    except TypeError:  # an unhashable callable
        return ()


def is_known_pure(callee) -> bool:
    """Whether ``callee`` is known to write into none of its arguments (unless given
    ``out=``): a NumPy function that is not a writer, a math function, a pure builtin."""
    if callee is None:
        return False
    if writes_into(callee):
        return False
    try:
        if callee in PURE_BUILTINS:
            return True
    except TypeError:
        return False
    if isinstance(callee, np.ufunc):
        return True
    module = getattr(callee, "__module__", None) or ""
    return module == "numpy" or module.startswith("numpy.") or module == "math" or (
        getattr(callee, "__self__", None) is math)


def out_arguments(callee, call: ast.Call) -> list[ast.expr]:
    """The ``out`` arguments of ``call``: ``out=y``, ``out=(y,)``, or a ufunc's extra
    positional arguments (``np.add(a, b, y)``). ``out=None`` is none."""
    found = []
    for keyword in call.keywords:
        if keyword.arg != "out":
            continue
        value = keyword.value
        if isinstance(value, ast.Tuple):
            found += [e for e in value.elts
                      if not (isinstance(e, ast.Constant) and e.value is None)]
        elif not (isinstance(value, ast.Constant) and value.value is None):
            found.append(value)
    if isinstance(callee, np.ufunc) and len(call.args) > callee.nin:
        found += [a for a in call.args[callee.nin:]
                  if not (isinstance(a, ast.Constant) and a.value is None)]
    return found


def without_out(callee, call: ast.Call) -> ast.Call:
    """``call`` with its ``out`` arguments left out."""
    args = list(call.args)
    if isinstance(callee, np.ufunc):
        args = args[:callee.nin]
    return ast.Call(func=call.func, args=args,
                    keywords=[k for k in call.keywords if k.arg != "out"])


def _base_name(node: ast.expr) -> str | None:
    """``y`` for ``y``, ``y[0]``, ``y[0][1]`` and ``y.T``: the name whose memory a write into
    ``node`` changes."""
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def written_names(function: ast.FunctionDef, resolve) -> set[str]:
    """The local names a function writes into by a call: the first argument of a writing
    function, the receiver of a writing method, an ``out=`` argument.

    ``resolve(node)`` gives the value of a global name or attribute chain (or anything
    else when it is not one).
    """
    written = set()
    for node in ir.nodes(function):
        if not isinstance(node, ast.Call):
            continue
        callee = resolve(node.func)
        for position in writes_into(callee):
            if position < len(node.args):
                written.add(_base_name(node.args[position]))
        for out in out_arguments(callee, node):
            written.add(_base_name(out))
        if isinstance(node.func, ast.Attribute) and node.func.attr in WRITING_METHODS \
                and isinstance(node.func.value, (ast.Name, ast.Subscript)):
            written.add(_base_name(node.func.value))
    written.discard(None)
    return written


def written_parameters(source, _seen: frozenset = frozenset()) -> dict[str, str]:
    """The parameters a user function (its :class:`FunctionSource`) may write into, each
    with ``"store"`` (always a write) or ``"inplace"`` (``y += v``, a write when the
    argument is an array, a rebinding when it is a number). A parameter passed on to a
    user function that writes into it (``k(a)`` where ``k`` does ``a[0] = 5.0``) is
    written too, however deep the calls go."""
    node = source.node
    arguments = node.args
    parameters = tuple(a.arg for a in (*arguments.posonlyargs, *arguments.args))
    found: dict[str, str] = {}
    for sub in ir.nodes(node):
        if isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
            found.setdefault(sub.target.id, "inplace")
        elif isinstance(sub, (ast.Assign, ast.AugAssign)):
            for target in sub.targets if isinstance(sub, ast.Assign) else [sub.target]:
                if isinstance(target, ast.Subscript):
                    found[_base_name(target)] = "store"

    def resolve(expression):
        names = []
        while isinstance(expression, ast.Attribute):
            names.append(expression.attr)
            expression = expression.value
        if not isinstance(expression, ast.Name) or expression.id in parameters:
            return None
        value = source.resolve(expression.id)
        for name in reversed(names):
            value = getattr(value, name, None)
        return value

    for name in written_names(node, resolve):
        found[name] = "store"
    for sub in ir.nodes(node):
        if isinstance(sub, ast.Call):
            for name in _passed_to_a_writer(sub, resolve(sub.func), _seen):
                found.setdefault(name, "store")
    return {name: kind for name, kind in found.items() if name in parameters}


def _passed_to_a_writer(call: ast.Call, callee, seen: frozenset) -> list[str]:
    """The names passed to ``call`` where ``callee``, a user function, writes into the
    parameter they are passed as (``seen``: the functions on the way, so that recursion
    ends)."""
    if not isinstance(callee, types.FunctionType) or (
            getattr(callee, "__module__", "") or "").startswith("numpy"):
        return []  # as normalize.callees.is_user_function: NumPy's are known
    try:
        inner = parse_function(callee)
    except (AutodiffError, OSError, TypeError):
        return []  # no source: reverse mode refuses the call where it matters
    if callee.__code__ in seen:
        return []
    written = written_parameters(inner, seen | {callee.__code__})
    code = callee.__code__
    parameters = code.co_varnames[:code.co_argcount]
    names = [_base_name(a) for position, a in enumerate(call.args)
             if position < len(parameters) and parameters[position] in written]
    names += [_base_name(k.value) for k in call.keywords if k.arg in written]
    return [n for n in names if n is not None]


def kept_parameters(source, _seen: frozenset = frozenset()) -> set[str]:
    """The parameters of a user function (its :class:`FunctionSource`) whose value it may
    keep beyond the call: bound to another name or stored (``G = a``, ``self.v = a``,
    ``d[k] = a``, in a list or dict display), handed to a method of something else
    (``LOG.append(a)``) or to a function that is neither NumPy's nor the standard
    library's and not a user function that keeps nothing of it. Reading it (``a[0]``,
    ``a.shape``, ``a * 2``), writing into it (``a[0] = v``, ``a += v``), passing it to
    NumPy (``np.sum(a)``, ``np.add(a, 1, out=a)``) or returning it keep nothing."""
    node = source.node
    arguments = node.args
    parameters = {a.arg for a in (*arguments.posonlyargs, *arguments.args,
                                  *arguments.kwonlyargs)}
    parents = {id(child): parent for parent in ir.nodes(node)
               for child in ast.iter_child_nodes(parent)}
    kept = set()
    for sub in ir.nodes(node):
        if not (isinstance(sub, ast.Name) and sub.id in parameters
                and isinstance(sub.ctx, ast.Load)):
            continue
        parent = parents.get(id(sub))
        if isinstance(parent, (ast.Subscript, ast.Attribute)) and parent.value is sub:
            continue  # a[...], a.shape, a.sum(): the method of an array keeps nothing
        if isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Return,
                               ast.If, ast.While, ast.Assert, ast.AugAssign, ast.Expr)):
            continue
        if isinstance(parent, ast.keyword):
            parent = parents.get(id(parent))
        if isinstance(parent, ast.Call) and sub is not parent.func and _keeps_no_argument(
                parent, source, _seen, sub.id):
            continue
        kept.add(sub.id)
    return kept


MISSING = object()
"""What :func:`chain_value` gives for what is not a plain name or attribute chain."""


def chain_value(expression: ast.expr, lookup):
    """The value of a name or attribute chain (``np.linalg.norm``, ``model.step``) before
    the code runs: ``lookup(name)`` for its first name (``MISSING`` where it has none),
    then each attribute, read without running code (a property or ``__getattr__`` gives
    ``MISSING``; a module's attributes are plain)."""
    names = []
    while isinstance(expression, ast.Attribute):
        names.append(expression.attr)
        expression = expression.value
    if not isinstance(expression, ast.Name):
        return MISSING
    value = lookup(expression.id)
    for name in reversed(names):
        if value is MISSING:
            return MISSING
        try:
            value = getattr(value, name) if isinstance(value, types.ModuleType) else (
                inspect.getattr_static(value, name))
        except AttributeError:
            return MISSING
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
    return value


def _keeps_no_argument(call: ast.Call, source, seen: frozenset, name: str) -> bool:
    """Whether ``call`` (``f(..., name, ...)``) keeps nothing of what it is given: a
    function of NumPy's or the standard library's named by a global name, or a user
    function that keeps nothing of the parameter it gets ``name`` as."""
    value = chain_value(call.func, source.resolve)
    if isinstance(value, np.ufunc) or (isinstance(value, types.BuiltinFunctionType) and (
            value.__self__ is None or isinstance(value.__self__, types.ModuleType))):
        return True  # (not LOG.append: a container's method keeps what it is given)
    module = getattr(value, "__module__", None)
    if isinstance(module, str) and module.split(".")[0] in ("numpy", "math", "builtins"):
        return True
    if not isinstance(value, types.FunctionType) or value.__code__ in seen:
        return False
    try:
        inner = parse_function(value)
    except (AutodiffError, OSError, TypeError):
        return False
    code = value.__code__
    parameters = code.co_varnames[:code.co_argcount]
    given = [parameters[position] for position, a in enumerate(call.args)
             if position < len(parameters) and isinstance(a, ast.Name) and a.id == name]
    given += [k.arg for k in call.keywords if isinstance(k.value, ast.Name)
              and k.value.id == name]
    if len(given) != sum(isinstance(a, ast.Name) and a.id == name
                         for a in [*call.args, *(k.value for k in call.keywords)]):
        return False  # passed as *args or beyond the parameters: not followed
    return not (set(given) & kept_parameters(inner, seen | {code}))
