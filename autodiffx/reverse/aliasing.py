"""Names that share memory, and writes that other names would see.

In NumPy ``y = x``, ``v = x[:2]`` and ``r = x.reshape(-1)`` make names for the same memory:
a write through one (``y += 1``, ``v[0] = 0``, ``np.copyto(r, z)``) changes what the others
read. Generated code follows values by name, so it cannot follow such a write. This pass
finds every write into memory another live name shares and refuses it, unless NumPy's
meaning and the generated code's agree:

* the other name is never read after the write (a view made only to write through, or a
  name that is dead);
* the write is ``s += v`` on a number (rank 0), which rebinds ``s`` in Python too.

The same goes for a user function that writes into an argument: reverse mode differentiates
each function on its own, with its arguments copied before it writes into them, so the
caller would read the argument unchanged where NumPy changes it.

Sharing is over-approximated: any view, ``np.asarray``, a user function's result and an
unknown call's result may share its arguments' memory. The cost of that is a refusal with a
hint (copy first), never a wrong gradient.
"""

from __future__ import annotations

import ast
import operator

from ..errors import AutodiffError, UnsupportedSyntaxError
from . import ir, mutation
from .source import FunctionSource, parse_function


class _Classes:
    """Union-find over names."""

    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        self.parent.setdefault(name, name)
        while self.parent[name] != name:
            self.parent[name] = self.parent[self.parent[name]]
            name = self.parent[name]
        return name

    def join(self, name: str, *others: str) -> None:
        for other in others:
            self.parent[self.find(other)] = self.find(name)

    def members(self, name: str) -> set[str]:
        root = self.find(name)
        return {n for n in list(self.parent) if self.find(n) == root}


def _shared_operands(statement: ir.Assign, rank_of: dict) -> list[str]:
    """The names whose memory ``statement``'s result may share."""
    names = [o.id for o in statement.operands if isinstance(o, ast.Name)]
    if statement.shares:
        return list(statement.shares)
    if statement.kind == "copy":
        return names
    if statement.kind == "list":
        return names
    if statement.kind == "primitive":
        if statement.function is operator.getitem:
            base = names[:1]
            # x[i] of rank 0 from an array is a NumPy scalar: a copy
            if base and rank_of.get(statement.target) == 0 and rank_of.get(base[0]) not in (
                    0, None):
                return []
            return base
        return names[:1] if statement.function in mutation.VIEWS else []
    if statement.kind in ("call", "unsupported"):
        return names
    if statement.kind == "opaque" and statement.rule is None and statement.function is not None:
        return names
    return []


def check(statements: list, params: list[str], rank_of: dict, source: FunctionSource,
          lists: set[str] = frozenset()) -> None:
    """Refuse a write into memory that a name read later shares (see the module doc).

    ``xs[i] = v`` into a local list (one of ``lists``) replaces an item: no array memory is
    written, and the list machinery differentiates it."""
    order: dict[int, int] = {}
    end: dict[int, int] = {}
    loops: dict[int, list] = {}
    _number(statements, [], order, end, loops)
    classes = _Classes()
    binds: dict[str, list[int]] = {name: [-1] for name in params}
    reads: dict[str, list[int]] = {}
    writes: list[tuple[str, object, bool]] = []  # (name, statement, the name itself too)
    for statement in ir.walk(statements):
        position = order[id(statement)]
        for name in ir.writes(statement):
            binds.setdefault(name, []).append(position)
        for name in ir.reads(statement):
            reads.setdefault(name, []).append(position)
        if isinstance(statement, ir.Assign):
            shared = _shared_operands(statement, rank_of)
            if shared:
                classes.join(*ir.bound(statement), *shared)
            if statement.inplace:
                before = [o.id for o in statement.operands[:1] if isinstance(o, ast.Name)]
                if before and rank_of.get(before[0]) != 0:
                    # NumPy's y += v on an array: the new y is the old one, written into
                    classes.join(statement.target, before[0])
                    writes.append((before[0], statement, False))
            if statement.kind == "call":
                writes += _argument_writes(statement, rank_of, source)
        elif isinstance(statement, ir.Store) and statement.target not in lists:
            writes.append((statement.target, statement, False))
        elif isinstance(statement, ir.Append):
            classes.join(statement.target, *ir.names_in(statement.value))
    for name, statement, itself in writes:
        position = order[id(statement)]
        spans = [(order[id(loop)], end[id(loop)]) for loop in loops[id(statement)]]
        for other in sorted(classes.members(name) | {name}):
            if other == name and not itself:
                continue
            bound_before = any(b < position or _inside(b, spans) for b in binds.get(other, []))
            read_after = any(r > position or _inside(r, spans) for r in reads.get(other, []))
            if bound_before and read_after:
                raise _refusal(name, other, statement, itself, source)


def _number(statements, enclosing: list, order: dict, end: dict, loops: dict) -> None:
    """Program order of every statement, where each ends, and the loops around it."""
    for statement in statements:
        order[id(statement)] = len(order)
        loops[id(statement)] = enclosing
        inner = [*enclosing, statement] if isinstance(statement, (ir.For, ir.While)) \
            else enclosing
        for block in ir.children(statement):
            _number(block, inner, order, end, loops)
        end[id(statement)] = len(order) - 1


def _inside(position: int, spans) -> bool:
    return any(low <= position <= high for low, high in spans)


def _argument_writes(statement: ir.Assign, rank_of: dict, source: FunctionSource):
    """``helper(y, ...)`` where ``helper`` writes into its parameter for ``y``."""
    try:
        written = mutation.written_parameters(parse_function(statement.function))
    except (AutodiffError, AttributeError, TypeError):
        return []
    code = statement.function.__code__
    parameters = code.co_varnames[:code.co_argcount]
    found = []
    for parameter, argument in zip(parameters, statement.operands, strict=False):
        kind = written.get(parameter)
        if kind is None or not isinstance(argument, ast.Name):
            continue
        if kind == "inplace" and rank_of.get(argument.id) == 0:
            continue  # s += v on a number rebinds the callee's name only
        found.append((argument.id, statement, True))
    return found


def _refusal(name: str, other: str, statement, itself: bool, source: FunctionSource):
    node = getattr(statement, "node", None)
    location = source.location(node) if node is not None else source.location(source.node)
    if itself:
        callee = getattr(statement.function, "__name__", "the function")
        return UnsupportedSyntaxError(
            f"reverse mode does not follow {callee}(...) writing into its argument {name}, "
            f"which {source.name} reads afterwards",
            location=location,
            hint=f"return the new value from {callee} and assign it "
            f"({name} = {callee}(...)), or use mode=\"forward\"",
        )
    return UnsupportedSyntaxError(
        f"reverse mode does not follow a write into {name} that {other} sees, because the "
        f"two share memory (a view or the same array), and {other} is read afterwards "
        f"(in {source.name})",
        location=location,
        hint=f"make {name} its own array first ({name} = {other}.copy(), or "
        f"{name} = {name} + ... instead of an in-place update), or use mode=\"forward\"",
    )
