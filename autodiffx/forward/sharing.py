"""Arguments that share memory with a differentiated one, and writes into that memory.

Forward mode gives each differentiated argument memory of its own the first time the
function views or writes into it (``_ensure_mirror`` in dual.py copies it), so the caller's
arrays are never changed. NumPy itself writes into the caller's memory, where every other
name for it sees the write. The two agree unless that memory has another name the function
reads: another argument (``f(w, w)``, ``f(w[:2], w)``, ``f(x, out=x)``), an array inside one
(``f(x, [x])``, ``f(x, holder)`` with ``holder.w`` being ``x``), or an array the function
reads from its globals, its closure or its defaults (``grad(f)(W)`` of an ``f`` that reads
``W``). There a write would reach the other name in NumPy but not in forward mode, and the
value and the derivative would both be wrong.

So when such sharing is found at a call (:func:`find`; one ``np.may_share_memory`` per pair
in the common case), a write into the shared memory is refused with an
:class:`~autodiffx.errors.ArgumentError` that says why (:func:`guard`):

* the differentiated argument gets its memory at once, marked (``Mirror.shared``) so that a
  write into it or any view of it raises (``_assign`` in dual.py);
* another argument is passed as a read-only copy: NumPy refuses the write, and
  :func:`~.driver.run` turns its error into ours (:func:`read_only_write`);
* ``ufunc.at``, which NumPy lets write into read-only arrays, and writes into an array inside
  another argument or read by name, which cannot be intercepted, are found afterwards by
  comparing the memory with a copy taken before.

Reading shared memory, without writing into it, gives each argument its own derivative, as
the other mode and central differences do. Inside a nested derivative, where arguments
are Duals of Duals, a write into a shared one is refused by ``_assign`` (``SHARED_DUALS``),
and a read-only copy wrapped in a Dual of an inner level keeps refusing writes
(``GUARDED_COPIES``); sharing through an array subclass is refused at once.

What the function reads by name includes what the code it calls reads: the user's
functions it names (in its globals or its closure, :data:`DEPTH` calls deep; past that the
differentiated arguments are taken as shared), and the functions, bound methods,
``functools.partial`` objects and callable objects it is given as arguments. Not searched:
what a function reaches through ``globals()`` or ``vars()``, and objects its callees reach
through their own arguments' attributes (reverse mode's :mod:`autodiffx.reverse.sharing`
follows ``holder.w`` chains of the code it generates, and compares a differentiated
argument's memory after a call whose code runs the user's code as it is).
"""

from __future__ import annotations

import dis
import functools
import threading
import types

import numpy as np

from ..errors import ArgumentError
from .dual import GUARDED_COPIES, SHARED_DUALS, Dual
from .reach import BUDGET, FIXED_PACKAGES, TooMuch, arrays_in, shares


class Found:
    """What :func:`find` found: ``texts``, by argument position or keyword, what to say of a
    write into an argument that shares memory with a differentiated one (a message and a
    hint; the differentiated one keyed too); ``inside``, ``(array, text)`` for each array
    sharing such memory that is not an argument itself (an item of a list argument, an
    attribute of an object argument, a global, a closure's array, a default)."""

    __slots__ = ("texts", "inside")

    def __init__(self):
        self.texts: dict = {}
        self.inside: list = []

    def __bool__(self) -> bool:
        return bool(self.texts or self.inside)


def find(f, args: list, kwargs: dict, wrt) -> Found:
    """Where memory of a differentiated argument has another name ``f`` may read: another
    argument, an array inside one (through lists, tuples, dicts and instance attributes,
    within :data:`~autodiffx.forward.reach.BUDGET` objects), or an array ``f`` reads by name
    (:func:`namespace_arrays`). Empty (false) in the common case.

    >>> import numpy as np
    >>> w = np.ones(3)
    >>> sorted(find(lambda x, y: x * y, [w, w[1:]], {}, (0,)).texts)  # y views x's memory
    [0, 1]
    >>> bool(find(lambda x, y: x * y, [w, np.ones(3)], {}, (0,)))
    False
    """
    wrt = tuple(wrt)
    others = _others(f, args, kwargs)
    found = Found()
    budget = [BUDGET]
    for index in wrt:
        array = args[index]
        while isinstance(array, Dual):  # (nested: refused if shared, by guard)
            array = array.primal
        if not isinstance(array, np.ndarray):
            continue
        for other, value in others:
            if other == index or (other in wrt and other < index):
                continue  # (each pair of differentiated arguments once)
            hits = _sharing(array, value, budget)
            if hits == []:
                continue
            if not isinstance(other, tuple) and isinstance(value, (np.ndarray, Dual)):
                text = _refusal(index, other)  # another argument: guard watches both
                found.texts.setdefault(index, text)
                found.texts.setdefault(other, text)
                continue
            if hits is None:
                # Too much to search, or code too deep to follow: taken as shared, with
                # the differentiated argument's own memory to compare (only a write
                # through another name can change it, forward mode writing into a copy)
                text = _refusal(index, other, inside=True, searched=False,
                                beyond=value if type(value) is _Beyond else None)
                hits = [array]
            else:  # an array in an argument, or one the function reads by name
                text = _refusal(index, other, inside=type(value) is not np.ndarray)
            found.texts.setdefault(index, text)
            found.inside += [(hit, text) for hit in hits]
    return found


def _sharing(array: np.ndarray, value, budget: list) -> list | None:
    """The arrays ``value`` is or holds (through lists, tuples, dicts and instance
    attributes) that share an element with ``array``; None past the search ``budget``."""
    if isinstance(value, (np.ndarray, Dual)):
        return [value] if _shares(array, value) else []
    if type(value) is _Beyond:
        return None
    try:
        return [a for a in arrays_in(value, budget) if _shares(array, a)]
    except TooMuch:
        return None


_PLAIN_SCALARS = (float, int, complex, str, bytes, type(None))


def aliased_plain(f, args: list, kwargs: dict, wrt) -> tuple[set, set]:
    """The writable array arguments not differentiated (positions and keywords) whose
    memory has another name ``f`` may read, in two sets. Forward mode gives the function a
    copy of every other such argument (``driver._private``), and a write into these must
    reach the other name, as NumPy's does: ``together``, those that share memory only with
    other such arguments, are copied together (one copy of their memory, each a view of it
    as before); ``kept``, those that share it with an array inside another argument or one
    the function reads by name, or past the search budget, are passed as they are."""
    plain = [(key, value) for key, value in [*enumerate(args), *kwargs.items()]
             if type(value) is np.ndarray and key not in wrt and value.flags.writeable]
    if not plain:
        return set(), set()
    keys = {key for key, _ in plain}
    others = _others(f, args, kwargs)
    kept, together = set(), set()
    budget = [BUDGET]
    for key, array in plain:
        for other, value in others:
            if other != key and _sharing(array, value, budget) != []:  # (None: too much)
                (together if other in keys else kept).add(key)
    return kept, together - kept


def _others(f, args: list, kwargs: dict) -> list:
    """``(where, value)`` for everything of the call's that may hold memory ``f`` reads:
    its arguments and keyword arguments, what ``f`` reads by name
    (:func:`namespace_arrays`), and what a function passed as an argument reads by name
    (``f(x, step)``, where ``step`` writes into a global)."""
    others = []
    for key, value in [*enumerate(args), *kwargs.items()]:
        if isinstance(value, _PLAIN_SCALARS):
            continue
        others.append((key, value))
        if type(value) is not np.ndarray and not isinstance(value, _NOT_CODE):
            others += [(("global", name), item) for name, item in _reach(value, set(), 0)]
    others += [(("global", name), value) for name, value in namespace_arrays(f)]
    return others


class Reachable:
    """What :func:`reachable` found: ``shares(array)`` tells whether ``array`` may share
    memory with any of it (past the search budget, or through code too deep to follow:
    yes)."""

    __slots__ = ("values",)

    def __init__(self, values: list):
        self.values = values

    def shares(self, array: np.ndarray) -> bool:
        budget = [BUDGET]
        return any(_sharing(array, value, budget) != [] for _, value in self.values)


def reachable(f, args, kwargs: dict) -> Reachable:
    """What ``f`` called with ``args`` and ``kwargs`` may reach besides the arguments
    themselves: arrays inside them, and what ``f``, the functions it calls and the
    functions it is given read by name (reverse mode asks this of arguments whose memory
    the user's code, run as it is, might write into)."""
    return Reachable([(key, value) for key, value in _others(f, list(args), kwargs)
                      if not isinstance(value, np.ndarray) or isinstance(key, tuple)])


def any_shared(f, primals) -> bool:
    """Whether two of ``primals``, or one of them and an array ``f`` reads by name, may
    share memory: :func:`find`'s question, asked quickly for ``jvp``'s common case."""
    arrays = [primal for primal in primals if type(primal) is np.ndarray]
    if len(arrays) > 1 and not _distinct_owners(arrays) and any(
            np.may_share_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1:]):
        return True
    named = namespace_arrays(f)
    return bool(named) and any(type(b) is not np.ndarray or np.may_share_memory(a, b)
                               for a in arrays for _, b in named)


def _distinct_owners(arrays: list) -> bool:
    """Whether each array is, or is a view of, an array that allocated its own memory, a
    different one for each: then no two share memory (the common case, told without
    NumPy's bounds checks)."""
    owners = set()
    for array in arrays:
        base = array.base
        while base is not None:
            if type(base) is not np.ndarray:
                return False  # memory from elsewhere (np.frombuffer, a memmap)
            array, base = base, base.base
        owners.add(id(array))
    return len(owners) == len(arrays)


def _shares(array: np.ndarray, value) -> bool:
    """Whether ``value`` (an array or a Dual of one) shares an element with ``array``."""
    while isinstance(value, Dual):
        value = value.primal
    return isinstance(value, np.ndarray) and np.may_share_memory(array, value) and shares(
        array, value)


def _label(where) -> str:
    if isinstance(where, int):
        return f"argument {where}"
    if isinstance(where, tuple):
        if where[1] == "a default":
            return "a default value of the function"
        return f"the global {where[1]} the function reads"
    return f"keyword argument {where}"


def _refusal(index: int, other, inside: bool = False, searched: bool = True,
             beyond: _Beyond | None = None) -> tuple[str, str]:
    """What to say of a write into the memory that argument ``index``, which is being
    differentiated, shares with ``other`` (an array ``inside`` it; or, not ``searched``, may
    share, ``other`` holding more than the budget of objects, or being code ``beyond``
    what is followed): a message and a hint."""
    what = f"an array in {_label(other)}" if inside else _label(other)
    if beyond is not None:
        what = (f"memory {beyond.what} ({beyond.why}, not followed to check whether it "
                "is this argument's)")
    elif not searched:
        what = (f"{_label(other)}, which holds more than {BUDGET} objects (too many to "
                "check for one sharing it)")
    return (
        f"the function writes into memory that {_label(index)}, which is being "
        f"differentiated, shares with {what}: forward mode follows the argument's "
        "derivative in memory of its own, so the write would not reach the other name as "
        "it does when the function runs",
        "pass separate arrays (np.copy), or keep the function from writing into them",
    )


class Watch:
    """The copies :func:`guard` made and took, checked when the evaluation ends: used as
    ``with watch: run(...)``."""

    __slots__ = ("kwargs", "copies", "taken", "nested")

    def __init__(self, kwargs: dict):
        self.kwargs = kwargs
        self.copies = []  # (read-only copy passed instead of an argument, original, text)
        self.taken = []  # (copy of a global taken before, the global, text)
        self.nested = []  # (a Dual of an outer level, text): writes into it refused

    def __enter__(self):
        _guards().extend(self.copies)
        for copy, _, text in self.copies:
            GUARDED_COPIES[id(copy)] = (copy, text)
        for dual, text in self.nested:
            SHARED_DUALS[id(dual)] = (dual, text)
        return self

    def __exit__(self, kind, error, traceback):
        guards = _guards()
        del guards[len(guards) - len(self.copies):]
        for copy, _, _ in self.copies:
            GUARDED_COPIES.pop(id(copy), None)
        for dual, _ in self.nested:
            SHARED_DUALS.pop(id(dual), None)
        if kind is not None:
            return False
        for copy, original, text in self.copies:  # ufunc.at writes into read-only arrays
            if copy.tobytes() != original.tobytes():
                raise ArgumentError(text[0], hint=text[1])
        for copy, original, text in self.taken:
            if copy.tobytes() != original.tobytes():
                raise ArgumentError(text[0], hint=text[1])
        return False


def guard(args: list, kwargs: dict, found: Found, wrt) -> Watch:
    """Pass every argument in ``found.texts`` that is not differentiated as a read-only copy
    (``args`` is changed in place; the keyword arguments to call with are ``.kwargs``), and
    take a copy of every array in ``found.inside``, to compare afterwards. Refuses sharing
    that cannot be watched: an argument that is an array subclass or a Dual (a nested
    derivative)."""
    watch = Watch(dict(kwargs))
    for where, text in found.texts.items():
        value = args[where] if isinstance(where, int) else watch.kwargs[where]
        if type(value) is not np.ndarray:
            if where not in wrt and not isinstance(value, (np.ndarray, Dual)):
                continue  # a container or an object: its arrays are in found.inside
            if isinstance(value, Dual):  # nested: writes refused (push registers the
                if where not in wrt:     # differentiated ones, wrapped, itself)
                    watch.nested.append((value, text))
                continue
            raise ArgumentError(
                f"{_label(where)} shares memory with another argument, one of them being "
                "differentiated, as an array subclass, where forward mode cannot watch the "
                "memory for writes",
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
    for array, text in found.inside:
        watch.taken.append((np.array(array, copy=True, order="K"), array, text))
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


def namespace_arrays(f, seen: set | None = None, depth: int = 0) -> list:
    """``(name, value)`` for every NumPy array ``f`` reads by a global name, from its
    closure (its own code and the code nested in it) or as a default value (named ``"a
    default"``), with every list, tuple, dict or object of the user's it reads that way
    (which :func:`find` searches for arrays), and, the same way, what the user's functions
    it calls by such a name read, to :data:`DEPTH` calls deep (then a :class:`_Beyond` in
    place of what is not followed: :func:`find` takes it as shared). The functions it may
    call are those it names: plain functions, bound methods (their object too),
    ``functools.partial`` objects (their arguments too) and callable objects of the
    user's. (Asked at every forward-mode call: kept lean.)"""
    try:
        code = f.__code__
        space = f.__globals__
    except AttributeError:  # a builtin, a ufunc, a callable object
        return []
    names = _NAMES.get(code)
    if names is None:
        if len(_NAMES) > 4096:
            _NAMES.clear()
        names = _NAMES[code] = tuple(sorted(_global_names(code)))
    if seen is None:
        seen = {code}
    found = []
    if not _users(f):  # a wrapper of autodiffx's (structured arguments): its data is the
        return [item for cell in f.__closure__ or ()  # call's own, but what the function
                for item in _reach(_contents(cell), seen, depth)]  # it wraps reads counts
    for name in names:
        value = space.get(name)
        kind = type(value)
        if kind is np.ndarray or kind in _CONTAINERS or _holds_arrays(value, kind):
            found.append((name, value))
            if kind is not np.ndarray and kind is not types.ModuleType:
                found += _reach(value, seen, depth)  # an object's methods, a list's functions
        elif isinstance(value, type) and _users(value):  # a class: its attributes
            found.append((name, [item for klass in value.__mro__ if _users(klass)
                                 for item in vars(klass).values()]))
        elif kind in _CALLABLES or _wraps(value):
            found += _reach(value, seen, depth, name)
    defaults = f.__defaults__
    if defaults:
        found += [("a default", d) for d in defaults if type(d) is np.ndarray]
    defaults = f.__kwdefaults__
    if defaults:
        found += [("a default", d) for d in defaults.values() if type(d) is np.ndarray]
    closure = f.__closure__
    if closure:
        for name, cell in zip(code.co_freevars, closure, strict=False):
            try:
                value = cell.cell_contents
            except ValueError:  # a cell not filled yet
                continue
            kind = type(value)
            if kind is np.ndarray or kind in _CONTAINERS or _holds_arrays(value, kind):
                found.append((name, value))
                if kind is not np.ndarray and kind is not types.ModuleType:
                    found += _reach(value, seen, depth)
            elif kind in _CALLABLES or _wraps(value):  # a helper defined beside f
                found += _reach(value, seen, depth, name)
    return found


def _contents(cell):
    try:
        return cell.cell_contents
    except ValueError:  # a cell not filled yet
        return None


DEPTH = 8
"""How many calls deep :func:`namespace_arrays` follows the user's functions."""


class _Beyond:
    """Code :func:`namespace_arrays` does not follow (too deep): what it may reach is
    taken as shared with every differentiated argument."""

    __slots__ = ("what", "why")

    def __init__(self, what: str, why: str):
        self.what = what
        self.why = why


def _reach(value, seen: set, depth: int, name: str | None = None) -> list:
    """What the user's code that ``f`` may call through ``value`` reads by name (as
    :func:`namespace_arrays`): a function of the user's; a bound method, its object and
    the other methods of its class (``self.step()`` is not a global name); a partial and
    its arguments; an object of the user's, through the methods of its class; the
    functions and objects in a short list, tuple or dict (``steps[0]()``). A
    :class:`_Beyond` past :data:`DEPTH`. Nothing for NumPy's, SciPy's and the standard
    library's own functions, which hold no arrays of the user's."""
    found, functions, pending, visited = [], [], [value], set()
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind is types.FunctionType:
            functions.append(value)
        elif id(value) in visited:
            continue
        elif kind is types.MethodType:
            visited.add(id(value))
            found.append((f"{name or value.__name__}.__self__", value.__self__))
            pending += [value.__func__, value.__self__]
        elif kind is functools.partial:
            visited.add(id(value))
            found.append((f"the arguments of {name or 'a partial'}",
                          [*value.args, *value.keywords.values()]))
            pending += [value.func, *value.args, *value.keywords.values()]
        elif kind is staticmethod or kind is classmethod:
            pending.append(value.__func__)
        elif kind in _CONTAINERS:
            visited.add(id(value))
            items = value.values() if kind is dict else vars(value).values() if (
                kind is types.SimpleNamespace) else value
            if len(items) <= _SHORT:
                pending += [item for item in items if type(item) not in _ATOMS and (
                    type(item) is not np.ndarray)]
        elif _wraps(value):  # functools.cache(step), a decorator's wrapper object
            visited.add(id(value))
            pending.append(value.__dict__["__wrapped__"])
        elif kind is not types.ModuleType and _holds_arrays(value, kind):
            visited.add(id(value))  # an object of the user's: what its methods read
            pending += [item for klass in kind.__mro__ if _users(klass)
                        for item in vars(klass).values()
                        if type(item) in (types.FunctionType, staticmethod, classmethod)]
    for function in functions:
        if not _users(function) or function.__code__ in seen:
            continue
        if depth >= DEPTH:
            found.append(("a call", _Beyond(
                f"that {function.__qualname__} may reach",
                f"a function called more than {DEPTH} calls deep")))
            continue
        seen.add(function.__code__)
        found += namespace_arrays(function, seen, depth + 1)
    return found


def _wraps(value) -> bool:
    """Whether ``value`` wraps a function it names in ``__wrapped__`` (``functools.wraps``,
    ``functools.cache``), without running any code of the object's."""
    attributes = getattr(value, "__dict__", None) if not isinstance(value, type) else None
    return type(attributes) is dict and "__wrapped__" in attributes


_SHORT = 64
"""The longest list, tuple or dict :func:`_reach` looks into for functions."""

_CALLABLES = frozenset({types.FunctionType, types.MethodType, functools.partial})
_NOT_CODE = (type, np.ufunc, types.BuiltinFunctionType, np.ndarray, Dual)
"""Callables whose call runs none of the user's code (a class is searched as data)."""


_CONTAINERS = frozenset({list, tuple, dict, types.SimpleNamespace})


def _holds_arrays(value, kind) -> bool:
    """Whether a global of this ``kind`` may hold the user's arrays: an instance of a class
    of the user's, or a module of the user's (a list, tuple, dict or SimpleNamespace is
    checked before; numbers, strings, functions, classes and library objects hold none)."""
    if kind is types.ModuleType:
        return value.__name__.split(".")[0] not in _NOT_USERS
    if kind in _ATOMS or kind is types.FunctionType or isinstance(value, type):
        return False
    module = getattr(kind, "__module__", None)
    return isinstance(module, str) and module.split(".")[0] not in _NOT_USERS


_ATOMS = frozenset({int, float, complex, str, bytes, bool, type(None), np.ufunc,
                    types.BuiltinFunctionType})


def _users(function) -> bool:
    """Whether ``function`` (or a class) is the user's (not NumPy's, SciPy's or the
    standard library's, whose globals hold no arrays of the user's)."""
    module = function.__module__
    return not isinstance(module, str) or module.split(".")[0] not in _NOT_USERS


_NOT_USERS = FIXED_PACKAGES | {"scipy"}


def _global_names(code: types.CodeType) -> set:
    names = set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            names.add(instruction.argval)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names
