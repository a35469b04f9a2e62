"""Arguments that share memory with a differentiated one, and writes into that memory.

Forward mode gives each differentiated argument memory of its own the first time the
function views or writes into it (``_ensure_mirror`` in dual.py copies it), so the caller's
arrays are never changed. NumPy itself writes into the caller's memory, where every other
name for it sees the write. The two agree unless that memory has another name the function
reads: another argument (``f(w, w)``, ``f(w[:2], w)``, ``f(x, out=x)``) or an array the
function reads from its globals or its closure (``grad(f)(W)`` of an ``f`` that reads
``W``). There a write would reach the other name in NumPy but not in forward mode, and the
value and the derivative would both be wrong.

So when such sharing is found at a call (:func:`find`; one ``np.may_share_memory`` per pair
in the common case), a write into the shared memory is refused with an
:class:`~autodiffx.errors.ArgumentError` that says why (:func:`guard`):

* the differentiated argument gets its memory at once, marked (``Mirror.shared``) so that a
  write into it or any view of it raises (``_assign`` in dual.py);
* another argument is passed as a read-only copy: NumPy refuses the write, and
  :func:`~.driver.run` turns its error into ours (:func:`read_only_write`);
* ``ufunc.at``, which NumPy lets write into read-only arrays, and writes into a global or a
  closure's array, which cannot be intercepted, are found afterwards by comparing the memory
  with a copy taken before.

Reading shared memory, without writing into it, gives each argument its own derivative, as
the other mode and central differences do. Sharing through a list, tuple or dict, an array
subclass, or inside a nested derivative is refused at once: writes there cannot be watched.
Functions the differentiated function calls are not searched for globals (reverse mode's
:mod:`autodiffx.reverse.sharing` follows more).
"""

from __future__ import annotations

import dis
import threading
import types

import numpy as np

from ..errors import ArgumentError
from .dual import Dual

_DEPTH = 4  # how deep into lists, tuples and dicts of arguments to look for arrays


def find(f, args: list, kwargs: dict, wrt) -> dict:
    """Where memory of a differentiated argument has another name ``f`` may read, keyed by
    position (an argument), keyword, or ``("global", name, position)`` (a global, a closure's
    array or a default, at ``position`` in :func:`namespace_arrays`), each with what to say if
    ``f`` writes into it: a message and a hint. Keyed by the differentiated argument too.
    Empty in the common case."""
    wrt = tuple(wrt)
    others = [(index, arg) for index, arg in enumerate(args) if type(arg) is not float]
    others += list(kwargs.items())
    others += [(("global", name, position), array)
               for position, (name, array) in enumerate(namespace_arrays(f))]
    shared: dict = {}
    for index in wrt:
        array = args[index]
        while isinstance(array, Dual):  # (nested: refused if shared, by guard)
            array = array.primal
        if not isinstance(array, np.ndarray):
            continue
        for other, value in others:
            if other == index or (other in wrt and other < index):
                continue  # (each pair of differentiated arguments once)
            if _shares(array, value, 0):
                text = _refusal(index, other)
                shared.setdefault(index, text)
                shared.setdefault(other, text)
    return shared


def any_shared(f, primals) -> bool:
    """Whether two of ``primals``, or one of them and an array ``f`` reads by name, may
    share memory: :func:`find`'s question, asked quickly for ``jvp``'s common case."""
    arrays = [primal for primal in primals if type(primal) is np.ndarray]
    if len(arrays) > 1 and any(np.may_share_memory(a, b)
                               for i, a in enumerate(arrays) for b in arrays[i + 1:]):
        return True
    named = namespace_arrays(f)
    return bool(named) and any(np.may_share_memory(a, b) for a in arrays for _, b in named)


def _shares(array: np.ndarray, value, depth: int) -> bool:
    """Whether ``value`` (an array, a Dual, or a list, tuple or dict holding them) reaches
    memory of ``array``."""
    if isinstance(value, np.ndarray):
        if not np.may_share_memory(array, value):
            return False
        try:
            return np.shares_memory(array, value, max_work=10_000)
        except np.exceptions.TooHardError:  # as good as shared: refuse rather than guess
            return True
    if isinstance(value, Dual):
        return _shares(array, value.primal, depth)
    if depth < _DEPTH and isinstance(value, (list, tuple)):
        return any(_shares(array, item, depth + 1) for item in value)
    if depth < _DEPTH and isinstance(value, dict):
        return any(_shares(array, item, depth + 1) for item in value.values())
    return False


def _label(where) -> str:
    if isinstance(where, int):
        return f"argument {where}"
    if isinstance(where, tuple):
        if where[1] == "a default":
            return "a default value of the function"
        return f"the global {where[1]} the function reads"
    return f"keyword argument {where}"


def _refusal(index: int, other) -> tuple[str, str]:
    """What to say of a write into the memory that argument ``index``, which is being
    differentiated, shares with ``other``: a message and a hint."""
    return (
        f"the function writes into memory that {_label(index)}, which is being "
        f"differentiated, shares with {_label(other)}: forward mode follows the "
        "argument's derivative in memory of its own, so the write would not reach the "
        "other name as it does when the function runs",
        "pass separate arrays (np.copy), or keep the function from writing into them",
    )


class Watch:
    """The copies :func:`guard` made and took, checked when the evaluation ends: used as
    ``with watch: run(...)``."""

    __slots__ = ("kwargs", "copies", "taken")

    def __init__(self, kwargs: dict):
        self.kwargs = kwargs
        self.copies = []  # (read-only copy passed instead of an argument, original, text)
        self.taken = []  # (copy of a global taken before, the global, text)

    def __enter__(self):
        _guards().extend(self.copies)
        return self

    def __exit__(self, kind, error, traceback):
        guards = _guards()
        del guards[len(guards) - len(self.copies):]
        if kind is not None:
            return False
        for copy, original, text in self.copies:  # ufunc.at writes into read-only arrays
            if copy.tobytes() != original.tobytes():
                raise ArgumentError(text[0], hint=text[1])
        for copy, original, text in self.taken:
            if copy.tobytes() != original.tobytes():
                raise ArgumentError(text[0], hint=text[1])
        return False


def guard(f, args: list, kwargs: dict, shared: dict, wrt) -> Watch:
    """Pass every argument in ``shared`` that is not differentiated as a read-only copy
    (``args`` is changed in place; the keyword arguments to call with are ``.kwargs``), and
    take a copy of every global in it, to compare afterwards. Refuses sharing that cannot
    be watched."""
    watch = Watch(dict(kwargs))
    for where, text in shared.items():
        if isinstance(where, tuple):  # a global or a closure's array
            value = namespace_arrays(f)[where[2]][1]
            watch.taken.append((np.array(value, copy=True, order="K"), value, text))
            continue
        value = args[where] if isinstance(where, int) else watch.kwargs[where]
        if type(value) is not np.ndarray:
            raise ArgumentError(
                f"{_label(where)} shares memory with another argument, one of them being "
                "differentiated, through a list, tuple or dict, an array subclass or a "
                "nested derivative, where forward mode cannot watch the memory for writes",
                hint="pass separate arrays (np.copy)",
            )
        if where in wrt:
            continue  # (memory of its own, made by push)
        copy = np.array(value, order="K")
        copy.flags.writeable = False
        watch.copies.append((copy, value, text))
        if isinstance(where, int):
            args[where] = copy
        else:
            watch.kwargs[where] = copy
    return watch


_active = threading.local()  # the read-only copies of this thread's running evaluations


def _guards() -> list:
    guards = getattr(_active, "guards", None)
    if guards is None:
        guards = _active.guards = []
    return guards


def guarded(array) -> tuple[str, str] | None:
    """What to say of a write into ``array`` (a message and a hint) if it is a read-only
    copy :func:`guard` passed instead of an argument. (Reverse mode, run inside forward
    mode, asks this of a read-only argument it would write into.)"""
    for copy, _, text in reversed(getattr(_active, "guards", ())):
        if isinstance(array, np.ndarray) and np.may_share_memory(array, copy):
            return text
    return None


def read_only_write(error: ValueError) -> tuple[str, str] | None:
    """What to say of NumPy's ``error`` if it refused a write into a read-only copy of an
    argument (the innermost evaluation's)."""
    guards = getattr(_active, "guards", None)
    if guards and "read-only" in str(error):
        return guards[-1][2]
    return None


# ---------------------------------------------------------------- globals and closures

_NAMES: dict = {}  # code object -> the global names its code (nested code too) loads


def namespace_arrays(f) -> list:
    """``(name, array)`` for every NumPy array ``f`` reads by a global name, from its
    closure (its own code and the code nested in it, not the functions it calls) or as a
    default value (named ``"a default"``)."""
    code = getattr(f, "__code__", None)
    if code is None:
        return []
    names = _NAMES.get(code)
    if names is None:
        if len(_NAMES) > 4096:
            _NAMES.clear()
        names = _NAMES[code] = tuple(sorted(_global_names(code)))
    found = []
    space = getattr(f, "__globals__", {})
    for name in names:
        value = space.get(name)
        if type(value) is np.ndarray:
            found.append((name, value))
    for default in (*(getattr(f, "__defaults__", None) or ()),
                    *(getattr(f, "__kwdefaults__", None) or {}).values()):
        if type(default) is np.ndarray:  # (a parameter left out reads it)
            found.append(("a default", default))
    for name, cell in zip(code.co_freevars, f.__closure__ or (), strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # a cell not filled yet
            continue
        if type(value) is np.ndarray:
            found.append((name, value))
    return found


def _global_names(code: types.CodeType) -> set:
    names = set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            names.add(instruction.argval)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names
