"""Call-time guards: generated code must see what globals and closure cells are bound to now.

Reverse mode reads a function's globals and closure cells while it transforms it (which
rule ``act(x)`` gets, the rank of a global array, the callee a name stands for, ...), and
the generated module's namespace holds the values it read. A :class:`Guard` records, for the
differentiated function and each user function transformed into the same module, every
binding the transformation read (:class:`~.source.Bindings`), and, for attribute chains the
code resolved (``config.act`` where ``config`` is a user module or class), the attribute at
each step. :meth:`Guard.holds` checks them all by identity on each call: a dict lookup or a
cell read per binding, no copy.

When a binding changed, :meth:`Guard.rebinding` says whether the generated code can stay:

* the new value is *the same data* -- a float, complex, NumPy float scalar or array of the
  same type, rank and dtype (nothing in the generated code depends on its value, only on
  its rank, which ranks inference used) -- or an equal immutable value (an ``int``, ``str``,
  ``bool`` or tuple of them that compares equal): the module is executed again in a copy of
  its namespace with the new values (:mod:`.emit`);
* anything else (a callable, a module, a structure, a rank or type change, an int of another
  value: an int may be an axis, a ``wrt`` or a loop bound the code was built for) needs a
  new transformation.

Thread safety: a namespace is never changed once its code has run. A rebinding executes the
module again in a *copy* of the namespace (about 20 us, paid only when a value changed), so a
call in flight in another thread, or a pullback returned before the change, keeps reading the
values its forward sweep used. A per-call fresh namespace would cost that on every call.

Each transformed function's ``__code__``, ``__defaults__`` and ``__kwdefaults__`` are
checked by identity too (IPython's autoreload swaps ``__code__`` in place when a file
changes), and a guard made before a rule was registered or removed fails
(:func:`retire_all`).

Not guarded (assumed fixed): attributes of NumPy, the standard library and autodiffx (a
monkeypatched ``np.sin``), and values reached through anything other than names and
attribute chains.
"""

from __future__ import annotations

import ast
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import ir
from .source import EMPTY, Bindings

_MISSING = object()
_FIXED_PACKAGES = frozenset({"numpy", "autodiffx", "builtins",
                             *getattr(sys, "stdlib_module_names", ())})
_IMMUTABLE = (int, bool, str, bytes, type(None))


@dataclass(eq=False)
class Record:
    """One binding a transformation read: ``kind`` is ``"global"``, ``"absent"`` (an
    attribute not in an instance's or class's ``__dict__``, found further along the class's
    method resolution order), ``"builtin"`` (absent
    from the globals, found in builtins), ``"cell"`` or ``"attribute"``."""

    kind: str
    container: Any
    """The globals dict, the cell, or the ``__dict__`` of the module/class/instance."""
    name: str
    expected: Any
    keys: set[str] = field(default_factory=set)
    """The names the value has in the generated namespace (renamed on a clash)."""

    def current(self) -> Any:
        if self.kind == "cell":
            try:
                return self.container.cell_contents
            except ValueError:
                return EMPTY
        if self.kind in ("builtin", "absent"):
            return _MISSING if self.name in self.container else self.expected
        if self.kind == "getattr":
            return _attribute_now(self.container, self.name)
        return self.container.get(self.name, _MISSING)


_epoch = [object()]
"""Guards made before the last :func:`retire_all` no longer hold."""


def rules_epoch() -> object:
    """The object :func:`retire_all` replaces: the same while no rule changed."""
    return _epoch[0]


def retire_all() -> None:
    """Make every guard made so far fail: a rule was registered or removed, and the code
    they guard inlined the rules of its time. A gradient function keeps its last call's
    code (``grad``'s repeated-call path), out of the cache's reach; its guard stops it."""
    _epoch[0] = object()


class Guard:
    """The bindings one generated module was built from, checked on every call."""

    __slots__ = ("records", "_lookups", "_absent", "_cells", "_computed", "_epoch", "codes")

    def __init__(self, records: list[Record], codes: tuple = ()):
        self.records = records
        self.codes = codes
        """``(weak reference to a function, (__code__, __defaults__, __kwdefaults__))`` for
        each function transformed into the module: code swapped in place (autoreload) or
        defaults assigned make the module stale."""
        self._epoch = _epoch[0]
        self._lookups = tuple((r.container.get, r.name, r.expected) for r in records
                              if r.kind in ("global", "attribute"))
        self._absent = tuple((r.container, r.name) for r in records
                             if r.kind in ("builtin", "absent"))
        self._computed = tuple((r.container, r.name, r.expected) for r in records
                               if r.kind == "getattr")
        self._cells = tuple((r.container, r.expected) for r in records if r.kind == "cell")

    def rules_changed(self) -> bool:
        """Whether a rule was registered or removed since the guard was made (then
        :meth:`holds` is false whatever the bindings)."""
        return self._epoch is not _epoch[0]

    def holds(self) -> bool:
        """Whether every recorded binding is still bound to the same object, and no rule
        changed since the guard was made."""
        if self._epoch is not _epoch[0]:
            return False
        for function, code in self.codes:
            if not _same_code(function(), code):
                return False
        for get, name, expected in self._lookups:
            if get(name, _MISSING) is not expected:
                return False
        for container, name in self._absent:
            if name in container:
                return False
        for owner, name, expected in self._computed:
            if _attribute_now(owner, name) is not expected:
                return False
        for cell, expected in self._cells:
            try:
                if cell.cell_contents is not expected:
                    return False
            except ValueError:
                if expected is not EMPTY:
                    return False
        return True

    def rebinding(self) -> tuple[dict[str, Any], Guard] | None:
        """For changed bindings that are only data: the namespace names to rebind, with
        their new values, and the guard of the rebound module. ``None`` when a change
        needs a new transformation."""
        if self._epoch is not _epoch[0] or not all(
                _same_code(function(), code) for function, code in self.codes):
            return None  # rules, code or defaults changed: transform again
        values: dict[str, Any] = {}
        updated = []
        for record in self.records:
            now = record.current()
            if now is record.expected:
                updated.append(record)
                continue
            if record.kind == "getattr":
                return None  # a computed attribute changed: transform again
            if record.kind in ("builtin", "absent", "cell") and (now is EMPTY or
                                                       record.expected is EMPTY):
                return None
            if not (same_value(record.expected, now) or same_data(record.expected, now)):
                return None
            # the code evaluates an attribute chain when it runs: nothing to rebind
            if record.kind != "attribute" and not same_value(record.expected, now):
                if not record.keys:
                    return None  # read while transforming, but not by the code: unknown use
                for key in record.keys:
                    if key in values and values[key] is not now:
                        return None
                    values[key] = now
            updated.append(Record(record.kind, record.container, record.name, now,
                                  record.keys))
        for record in updated:  # a key shared by two bindings that now differ
            for key in record.keys:
                if key in values and values[key] is not record.expected:
                    return None
        return values, Guard(updated, self.codes)


def _same_code(function, code: tuple) -> bool:
    """Whether ``function`` (``None``: collected) still reads as ``code`` (by identity), the
    ``__code__``, ``__defaults__`` and ``__kwdefaults__`` items :class:`~.source.Bindings`
    noted when it was transformed."""
    if function is None or function.__code__ is not code[0] or (
            function.__defaults__ is not code[1]):
        return False
    keywords, items = function.__kwdefaults__, code[2]
    if keywords is None or items is None:
        return keywords is None and items is None
    return len(keywords) == len(items) and all(
        keywords.get(name, _MISSING) is value for name, value in items)


def _attribute_now(owner: Any, name: str) -> Any:
    try:
        return getattr(owner, name, _MISSING)
    except Exception:  # a property that raises now: the guard fails
        return _MISSING


def same_value(old: Any, new: Any) -> bool:
    """Equal immutable values of the same exact type (ints, strings, tuples of them)."""
    if type(old) is not type(new):
        return False
    if type(old) is tuple:
        return len(old) == len(new) and all(map(same_value, old, new))
    return type(old) in _IMMUTABLE and old == new


def same_data(old: Any, new: Any) -> bool:
    """Numbers and arrays the generated code treats alike: only their values differ."""
    kind = type(old)
    if kind is not type(new):
        return False
    if kind in (float, complex):
        return True
    if kind is np.ndarray:
        return old.ndim == new.ndim and old.dtype == new.dtype
    return isinstance(old, (np.floating, np.complexfloating))


def guard_of(found: list[Bindings], keys: dict[tuple[int, str], set[str]]) -> Guard:
    """The guard of a module whose transformation read ``found``; ``keys`` maps
    ``(id(bindings), name)`` to the names the value has in the generated namespace."""
    records: dict[tuple, Record] = {}
    codes = {id(b.code[0]): (b.function, b.code) for b in found}
    for bindings in found:
        for name, (kind, value) in bindings.reads.items():
            if kind == "cell":
                container = bindings.cells[name]
            else:
                container = bindings.globals
            identity = (kind, id(container), name)
            record = records.get(identity)
            if record is None:
                record = records[identity] = Record(kind, container, name, value)
            record.keys |= keys.get((id(bindings), name), set())
        for kind, owner, attribute, value in _attribute_steps(bindings):
            identity = (kind, id(owner), attribute)
            if identity not in records:
                records[identity] = Record(kind, owner, attribute, value)
    return Guard(list(records.values()), tuple(codes.values()))


def _attribute_steps(bindings: Bindings):
    """``(kind, __dict__, attribute, value)`` for each step of the attribute chains on free
    names in the function, where the step is looked up in the ``__dict__`` of a user
    module, class or instance (NumPy's and the standard library's are taken as fixed):
    ``"attribute"`` where it was found, and ``"absent"`` for each ``__dict__`` before it
    along the method resolution order (an instance's, a subclass's), where it may appear."""
    node = bindings.node
    if node is None:
        return
    nodes = ir.nodes(node)
    local = {n.id for n in nodes if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    local |= {a.arg for a in ir.nodes(node.args) if isinstance(a, ast.arg)}
    seen = set()
    for sub in nodes:
        if not isinstance(sub, ast.Attribute) or not isinstance(sub.ctx, ast.Load):
            continue
        chain = []
        base = sub
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if not isinstance(base, ast.Name) or base.id in local or base.id not in \
                bindings.reads:
            continue
        value = bindings.reads[base.id][1]
        for attribute in reversed(chain):
            if _fixed(value):
                break  # NumPy's, the standard library's: taken as fixed
            owner = _owner_dict(value)
            if owner is not None and attribute in owner:
                value = owner[attribute]
                if (id(owner), attribute) not in seen:
                    seen.add((id(owner), attribute))
                    yield "attribute", owner, attribute, value
                continue
            inherited = _inherited(value, attribute)
            if inherited is not None and not _data_descriptor(inherited[1][attribute]):
                before, holder = inherited
                for container in ((owner,) if owner is not None else ()) + tuple(before):
                    if (id(container), attribute) not in seen:
                        seen.add((id(container), attribute))
                        yield "absent", container, attribute, holder[attribute]
                if not isinstance(value, type) and (id(value), "__class__") not in seen:
                    seen.add((id(value), "__class__"))  # holder.__class__ = Other
                    yield "getattr", value, "__class__", type(value)
                value = holder[attribute]
                if (id(holder), attribute) not in seen:
                    seen.add((id(holder), attribute))
                    yield "attribute", holder, attribute, value
                continue
            # computed: a slot, a property, a metaclass's attribute, __getattr__
            try:
                now = getattr(value, attribute)
            except Exception:  # whatever it raises, the code raises it too
                break
            if isinstance(now, _DATA):
                break  # data: the code reads the chain again when it runs
            if (id(value), attribute) not in seen:
                seen.add((id(value), attribute))
                yield "getattr", value, attribute, now
            value = now


_DATA = (np.ndarray, np.generic, int, float, complex, bool, str, bytes, type(None), tuple,
         list, dict)
"""Values an attribute chain's code reads again at each call: only what may decide the
code (a function, a module, a class) is guarded by ``getattr``."""


def _fixed(value: Any) -> bool:
    """Whether ``value`` belongs to NumPy, the standard library or autodiffx."""
    if isinstance(value, types.ModuleType):
        return value.__name__.split(".")[0] in _FIXED_PACKAGES
    module = getattr(type(value) if not isinstance(value, type) else value, "__module__",
                     None)
    return not isinstance(module, str) or module.split(".")[0] in _FIXED_PACKAGES


def _data_descriptor(attribute: Any) -> bool:
    """A slot or a property: the value lives elsewhere, or is computed at each access."""
    kind = type(attribute)
    return hasattr(kind, "__set__") or hasattr(kind, "__delete__")


def _inherited(value: Any, attribute: str):
    """For an attribute not in ``value``'s own ``__dict__``: the ``__dict__`` of each class
    of its method resolution order without it, and the one that has it; ``None`` when no
    user class has it (a class of a fixed package, ``__getattr__``, a slot)."""
    if isinstance(value, types.ModuleType):
        return None
    classes = value.__mro__[1:] if isinstance(value, type) else type(value).__mro__
    before = []
    for klass in classes:
        module = getattr(klass, "__module__", None)
        if not isinstance(module, str) or module.split(".")[0] in _FIXED_PACKAGES:
            return None
        if attribute in klass.__dict__:
            return before, klass.__dict__
        before.append(klass.__dict__)
    return None


def _owner_dict(value: Any) -> dict | None:
    if isinstance(value, types.ModuleType):
        top = value.__name__.split(".")[0]
        return None if top in _FIXED_PACKAGES else value.__dict__
    module = getattr(type(value) if not isinstance(value, type) else value, "__module__",
                     None)
    if not isinstance(module, str) or module.split(".")[0] in _FIXED_PACKAGES:
        return None
    if isinstance(value, type):
        return value.__dict__  # a mappingproxy: .get and ``in`` work, and it is live
    namespace = getattr(value, "__dict__", None)
    return namespace if isinstance(namespace, dict) else None
