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

from ..errors import AutodiffError, NoSourceError
from . import emit, guards
from .emit import ModuleBuilder
from .source import recording
from .tangent import Declined

_FLOAT64 = np.dtype(np.float64)
VARIANTS = 8
"""How many sets of shapes one function gets code for; further shapes run on dual numbers."""


class _Code:
    """One generated JVP: the function, its text, and the guard of what it read."""

    __slots__ = ("function", "source", "guard", "remade", "filename")

    def __init__(self, function, source: str, guard: guards.Guard, filename: str):
        self.function = function
        self.source = source
        self.guard = guard
        self.filename = filename
        self.remade = 0
        """How many times in a row a failed guard made the code again."""


class _Declined:
    """Why a function's JVP is not generated for some shapes (the error the transformation
    raised), for :func:`source`; asked again once a rule is registered or removed (a
    function declined for a call without a rule may have one now)."""

    __slots__ = ("error", "epoch")

    def __init__(self, error: AutodiffError):
        self.error = error
        self.epoch = guards.rules_epoch()


_cache: dict[int, tuple] = {}
"""id of a function -> (a weak reference to it, {shapes: _Code or _Declined}); the entry
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


def code_for(f, primals, tangents, first_call_too: bool = True) -> _Code | None:
    """The generated JVP of ``f`` for these arguments, or ``None`` where the dual numbers
    evaluate it (a construct the sweep declines, arguments other than float64 arrays and
    Python floats, no source).

    Without ``first_call_too`` (as :func:`jvp` asks) the code is made at the second call for
    the same function and shapes, not the first: a function made anew for each call (a
    ``lambda`` in a loop) would pay a transformation every time, which costs a thousand
    evaluations on dual numbers. After :data:`REMAKES` guards that failed (a global rebound
    between calls), the function stays on dual numbers for those shapes."""
    if type(f) is not _FunctionType or not _enabled[0]:
        return None
    key = _shapes(primals, tangents)
    if key is None:
        return None
    entry = _cache.get(id(f))
    remade = 0
    if entry is not None and entry[0]() is f:
        variants = entry[1]
        code = variants.get(key)
        kind = type(code)
        if kind is _Code:
            if code.guard.holds():
                return code
            # a rule registered or removed since (guards.retire_all) is not a binding that
            # keeps changing
            remade = code.remade + (not code.guard.rules_changed())
            if remade > REMAKES:
                variants[key] = _Declined(AutodiffError(
                    f"the globals or closure values {f.__name__} reads changed {REMAKES} "
                    "times: jvp evaluates it on dual numbers, which read them as they are"))
                return None
        elif kind is _Declined:
            if code.epoch is guards.rules_epoch():
                return None
        elif code is None:
            if len(variants) >= VARIANTS:
                return None
            if not first_call_too:
                variants[key] = _SEEN
                return None
    elif not first_call_too:
        _entry(f)[1][key] = _SEEN
        return None
    code = _generate(f, key)
    if type(code) is _Code:
        code.remade = remade
    with _lock:
        _entry(f)[1][key] = code
    return code if type(code) is _Code else None


REMAKES = 3
_SEEN = "seen once"


def _entry(f) -> tuple:
    """The cache entry of ``f``, made if there is none (or only a dead function's)."""
    identity = id(f)
    entry = _cache.get(identity)
    if entry is None or entry[0]() is not f:
        entry = _cache[identity] = (weakref.ref(f, lambda _, i=identity: _forget(i)), {})
    return entry


def refused(f, primals, tangents, error: AutodiffError) -> None:
    """The dual numbers refused ``f`` for these arguments: no code is made for their
    shapes, so that every call gives that refusal (the generated code may follow what they
    refuse, such as ``np.asarray(x)``, which reverse mode reads as a copy)."""
    key = _shapes(primals, tangents) if type(f) is _FunctionType else None
    if key is not None:
        with _lock:
            _entry(f)[1][key] = _Declined(error)


def _forget(identity: int) -> None:
    """A function is gone: its entry goes, and the text of each code made for it, which
    ``linecache`` held for tracebacks."""
    try:
        entry = _cache.pop(identity, None)
        if entry is not None:
            for code in list(entry[1].values()):
                if type(code) is _Code:
                    linecache.cache.pop(code.filename, None)
    except (AttributeError, TypeError):  # at exit, with the module's globals torn down
        pass


_FunctionType = types.FunctionType


def _generate(f, key: tuple) -> _Code | _Declined:
    builder = ModuleBuilder()
    builder.tangent = True
    builder.given_counts.append(len(key))
    builder.argument_shapes = tuple(() if shape is None else shape for shape in key)
    ranks = tuple(0 if shape is None else len(shape) for shape in key)
    try:
        with recording() as found:
            name = builder.request(f, tuple(range(len(key))), ranks, suffix="_jvp")
        text, _ = builder.module_source()
    except AutodiffError as error:
        return _Declined(error)  # declined or refused: the dual numbers decide what to do
    except RecursionError:
        return _Declined(AutodiffError("the function is nested too deeply to transform"))
    filename = emit.registered(text, name)
    namespace = dict(builder.namespace)
    namespace["__name__"] = "autodiffx_generated"
    exec(compile(text, filename, "exec"), namespace)
    return _Code(namespace[name], text, guards.guard_of(found, emit.guard_keys(builder.bound)),
                 filename)


def jvp(f, primals: tuple, tangents: tuple):
    """``(value, tangent)`` of ``f`` at ``primals`` along ``tangents`` by the generated
    code, or ``None`` where the caller runs the dual numbers instead."""
    code = code_for(f, primals, tangents, first_call_too=False)
    if code is None:
        return None
    try:
        value, tangent = code.function(*primals, *tangents)
    except Exception:  # the dual numbers run it again, and report what is wrong
        return None
    if type(value) is tuple:  # ``return a, b``: each as one value would be
        if type(tangent) is not tuple or len(tangent) != len(value):
            return None
        pairs = [_checked(v, t, tangents) for v, t in zip(value, tangent, strict=True)]
        if any(pair is None for pair in pairs):
            return None
        return tuple(v for v, _ in pairs), tuple(t for _, t in pairs)
    return _checked(value, tangent, tangents)


def _checked(value, tangent, tangents):
    """``(value, tangent)`` as dual numbers would give them, or ``None`` where they would
    give something else (a complex value, a dual number's tangent)."""
    kind = type(value)
    if kind is np.ndarray:
        if value.dtype.kind not in "fiub" or type(tangent) is not np.ndarray:
            return None
        if tangent.shape != value.shape or tangent.dtype.kind != "f":
            return None
        if tangent.base is not None or _is_one_of(tangent, tangents):
            tangent = tangent.copy()  # never a view of the caller's arrays, nor read-only
        return value, tangent
    if (kind is np.float64 or kind is float) and type(tangent) in _NUMBERS:
        return value, tangent
    return None  # (a dual number of an outer evaluation read from a closure, say)


_NUMBERS = frozenset({float, np.float64, np.ndarray})


def _is_one_of(value, values) -> bool:
    for other in values:
        if other is value:
            return True
    return False


def source(f, primals, tangents) -> str:
    """The text of the generated JVP of ``f`` for these arguments; raises the
    :class:`AutodiffError` that says why where none is generated."""
    if _shapes(primals, tangents) is None:
        raise AutodiffError(
            "jvp generates code for float64 arrays and Python floats, each with a tangent "
            "of its type and shape; it evaluates other arguments on dual numbers",
            hint="pass float64 arrays (np.asarray(x, dtype=float)) to see the code")
    if type(f) is not _FunctionType:
        raise AutodiffError(f"jvp generates code for Python functions, not {type(f).__name__}",
                            hint="wrap the callable in a def")
    previous = enable(True)
    try:
        code = code_for(f, primals, tangents)
    finally:
        enable(previous)
    if code is not None:
        return code.source
    entry = _cache.get(id(f))
    found = entry[1].get(_shapes(primals, tangents)) if entry is not None else None
    if type(found) is _Declined:
        error = found.error
        if isinstance(error, Declined):
            raise error
        if isinstance(error, NoSourceError):
            raise AutodiffError(
                f"jvp evaluates {f.__name__} on dual numbers, which need no source: its "
                f"code is not generated ({error.message})", location=error.location,
                hint="jvp's result is right either way; to see the code, define the "
                "function in a file, as a plain def") from error
        raise AutodiffError(
            f"jvp evaluates {f.__name__} on dual numbers: the transformation that writes its "
            f"code refused it ({error.message})", location=error.location,
            hint="jvp's result is right either way") from error
    raise AutodiffError(f"jvp evaluates {f.__name__} on dual numbers for these arguments: "
                        f"it has code for {VARIANTS} other sets of shapes already")
