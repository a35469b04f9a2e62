"""Forward mode as generated code: the JVP of a function written out once, then called.

:func:`autodiffx.jvp` of float64 arrays and Python floats asks :func:`jvp` here first. For a
function the tangent sweep covers (:mod:`autodiffx.reverse.tangent`: straight-line code,
branches and loops, calls of NumPy functions with a rule), the code computing the value and
its tangent is generated from the function's source, cached for the arguments' shapes, and
run: NumPy's own calls with no dual numbers between them, which is what the hand-written
JVP costs. For anything else :func:`jvp` returns ``None`` and the caller evaluates the
function on dual numbers, as before; the answer is the same either way (the tests compare
the two on every function they differentiate).

What makes the generated code safe to reuse is what makes reverse mode's safe: the globals
and closure cells it read are guarded on each call (:mod:`autodiffx.reverse.guards`), and it
is made for the arguments' shapes. What makes it safe to prefer: it writes into no array
(the sweep declines every write), so a function sharing memory between its arguments gets
the values NumPy would; the user's arrays are never changed; and if the code raises, the
dual numbers run the function again and report the error with its location as they do.
"""

from __future__ import annotations

import linecache
import threading
import types
import weakref

import numpy as np

from ..errors import AutodiffError
from ..reverse import emit, guards
from ..reverse.emit import ModuleBuilder
from ..reverse.source import recording

_FLOAT64 = np.dtype(np.float64)
VARIANTS = 8
"""How many sets of shapes one function gets code for; further shapes run on dual numbers."""


class _Code:
    """One generated JVP: the function, its text, and the guard of what it read."""

    __slots__ = ("function", "source", "guard")

    def __init__(self, function, source: str, guard: guards.Guard):
        self.function = function
        self.source = source
        self.guard = guard


_DECLINED = object()
_cache: dict[int, tuple] = {}
"""id of a function -> (a weak reference to it, {shapes: _Code or _DECLINED}); the entry
goes when the function does."""
_lock = threading.Lock()
_enabled = [True]


def enable(flag: bool) -> bool:
    """Turn the generated JVP on or off (the tests run both); returns the previous setting."""
    previous = _enabled[0]
    _enabled[0] = bool(flag)
    return previous


def _shapes(primals, tangents) -> tuple | None:
    """The key of the arguments' shapes: a shape per float64 array, ``None`` per Python
    float; ``None`` when any primal or tangent is anything else (it runs on dual numbers)."""
    shapes = []
    for primal, tangent in zip(primals, tangents, strict=True):  # (jvp checked the counts)
        kind = type(primal)
        if kind is _ndarray:
            if type(tangent) is not _ndarray or primal.dtype is not _FLOAT64 or (
                    tangent.dtype is not _FLOAT64):
                return None
            shape = primal.shape
            if tangent.shape != shape:
                return None
            shapes.append(shape)
        elif kind is float and type(tangent) is float:
            shapes.append(None)
        else:
            return None
    return tuple(shapes)


_ndarray = np.ndarray


def code_for(f, primals, tangents) -> _Code | None:
    """The generated JVP of ``f`` for these arguments, or ``None`` where the dual numbers
    evaluate it (a construct the sweep declines, arguments other than float64 arrays and
    Python floats, no source)."""
    if type(f) is not _FunctionType or not _enabled[0]:
        return None
    key = _shapes(primals, tangents)
    if key is None:
        return None
    entry = _cache.get(id(f))
    if entry is not None and entry[0]() is f:
        variants = entry[1]
        code = variants.get(key)
        if code is _DECLINED:
            return None
        if code is not None and code.guard.holds():
            return code
        if code is None and len(variants) >= VARIANTS:
            return None
    code = _generate(f, key)
    with _lock:
        entry = _cache.get(id(f))
        if entry is None or entry[0]() is not f:
            identity = id(f)
            entry = _cache[identity] = (
                weakref.ref(f, lambda _, identity=identity: _cache.pop(identity, None)), {})
        entry[1][key] = _DECLINED if code is None else code
    return code


_FunctionType = types.FunctionType


def _generate(f, key: tuple) -> _Code | None:
    builder = ModuleBuilder()
    builder.tangent = True
    builder.given_count = len(key)
    builder.argument_shapes = tuple(() if shape is None else shape for shape in key)
    ranks = tuple(0 if shape is None else len(shape) for shape in key)
    try:
        with recording() as found:
            name = builder.request(f, tuple(range(len(key))), ranks, suffix="_jvp")
        text, _ = builder.module_source()
    except (AutodiffError, RecursionError):
        return None  # declined or refused: the dual numbers decide what to do
    if builder.any_complex or builder.assumed:
        # a value that may be complex: the tangent texts inlined are the rules' for real
        # values (np.abs's t * np.sign(x) is not d|z| of a complex z), and nothing checks
        # at call time what the kind analysis assumed real
        return None
    filename = f"<autodiffx-generated-{next(emit._counter)} {name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = dict(builder.namespace)
    namespace["__name__"] = "autodiffx_generated"
    exec(compile(text, filename, "exec"), namespace)
    keys: dict[tuple[int, str], set[str]] = {}
    for bindings, global_name, bound_as in builder.bound:
        keys.setdefault((id(bindings), global_name), set()).add(bound_as)
    return _Code(namespace[name], text, guards.guard_of(found, keys))


def jvp(f, primals: tuple, tangents: tuple):
    """``(value, tangent)`` of ``f`` at ``primals`` along ``tangents`` by the generated
    code, or ``None`` where the caller runs the dual numbers instead."""
    code = code_for(f, primals, tangents)
    if code is None:
        return None
    try:
        value, tangent = code.function(*primals, *tangents)
    except Exception:  # the dual numbers run it again, and report what is wrong
        return None
    kind = type(value)
    if kind is np.ndarray:
        if value.dtype.kind not in "fiub" or type(tangent) is not np.ndarray:
            return None
        if tangent.shape != value.shape or tangent.dtype.kind != "f":
            return None
        if tangent.base is not None or _is_one_of(tangent, tangents):
            tangent = tangent.copy()  # never a view of the caller's arrays, nor read-only
        return value, tangent
    if kind is np.float64 or kind is float:
        return value, tangent
    return None


def _is_one_of(value, values) -> bool:
    for other in values:
        if other is value:
            return True
    return False


def source(f, primals, tangents) -> str | None:
    """The text of the generated JVP of ``f`` for these arguments, or ``None``."""
    code = code_for(f, primals, tangents)
    return None if code is None else code.source
