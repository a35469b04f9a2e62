"""The normalised program: one operation per statement, and the names it may use.

:mod:`~autodiffx.reverse.normalize` turns the user's function into a list of these
statements; every later pass reads them. Operands are *atoms*: a local name, a constant, or
a global expression such as ``np.pi`` (a list of atoms for ``np.concatenate([a, b])``).
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..rules.registry import Rule


@dataclass
class Assign:
    """``target = expr``, where ``expr`` applies one operation to atoms.

    ``kind`` is ``"primitive"`` (a call with a derivative ``rule``), ``"copy"`` (``expr`` is
    an atom), ``"call"`` (a user function differentiated in turn), ``"list"`` (a list
    literal ``[a, b]`` bound to a list name), ``"opaque"`` (no derivative: a constant, a
    comparison, ``np.zeros(n)``, ``np.random``...) or ``"unsupported"`` (refused if a
    derivative has to pass through it).
    """

    target: str
    expr: ast.expr
    kind: str
    line: int
    rule: Rule | None = None
    operands: list[ast.expr] = field(default_factory=list)
    keywords: dict[str, ast.expr] = field(default_factory=dict)
    function: Any = None
    node: ast.AST | None = None
    """The user's expression, for error messages."""
    targets: list[str] = field(default_factory=list)
    """For ``a, b = helper(x)`` (a ``"call"`` returning a tuple): the names bound, in order.
    ``target`` then only names the call (its pullback is ``<target>_pullback``)."""
    shares: list[str] = field(default_factory=list)
    """Names whose memory NumPy's ``target`` would share, where the generated code copies
    instead (``y = x`` of a name that is stored into becomes ``y = np.copy(x)``): the
    aliasing check treats the copy as the view it stands for."""
    inplace: bool = False
    rank: int | None = None
    """The result's rank when the normaliser knows it (``W[0, 0]`` of a global matrix)."""
    why: str = ""
    """For an ``"unsupported"`` statement: why no derivative can pass, when it is more than
    "no rule" (``float(t)`` drops it)."""
    """Made from ``y += v``: NumPy updates an array ``y`` in place, which every other name
    for the same memory sees; the generated code rebinds ``y``."""


def bound(statement) -> list[str]:
    """The names an assignment binds: its ``targets`` when it unpacks, else its ``target``."""
    return list(statement.targets) if statement.targets else [statement.target]


@dataclass
class Store:
    """``target[index] = value``: a write into a local array."""

    target: str
    index: ast.expr
    value: ast.expr
    line: int


@dataclass
class Append:
    """``target.append(value)`` on a local list (one bound only to list literals)."""

    target: str
    value: ast.expr
    line: int
    node: ast.AST | None = None


@dataclass
class Effect:
    """A statement run for its effect only (``lst.append(v)``, ``assert``); no derivative."""

    statement: ast.stmt
    line: int
    node: ast.AST | None = None
    writes: list[str] = field(default_factory=list)
    """Local names the statement may write into (``np.put(y, ...)``, an unknown call's
    arguments): reverse mode refuses it when one of them carries a derivative."""


@dataclass
class If:
    test: ast.expr
    body: list
    orelse: list
    line: int


@dataclass
class For:
    """``for target in iter``, where ``target`` is a name and ``iter`` has no derivative."""

    target: str
    iter: ast.expr
    body: list
    line: int


@dataclass
class While:
    test: ast.expr
    body: list
    line: int


@dataclass
class Break:
    line: int


@dataclass
class Continue:
    line: int


@dataclass
class Return:
    value: ast.expr
    line: int


Statement = Assign | Store | Append | Effect | If | For | While | Break | Continue | Return


def children(statement) -> list[list]:
    """The statement lists nested inside ``statement``."""
    if isinstance(statement, If):
        return [statement.body, statement.orelse]
    if isinstance(statement, (For, While)):
        return [statement.body]
    return []


def read_nodes(statement) -> list:
    """The expression nodes a statement reads (not the blocks nested inside it)."""
    if isinstance(statement, Assign):
        return [statement.expr, *statement.operands, *statement.keywords.values()]
    if isinstance(statement, Store):
        return [statement.index, statement.value]
    if isinstance(statement, Append):
        return [statement.value]
    if isinstance(statement, Effect):
        return [statement.statement]
    if isinstance(statement, (If, While)):
        return [statement.test]
    if isinstance(statement, For):
        return [statement.iter]
    if isinstance(statement, Return):
        return [statement.value]
    return []


def walk(statements: list):
    """Every statement, depth first, in program order."""
    for statement in statements:
        yield statement
        for block in children(statement):
            yield from walk(block)


def nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node under ``tree``, itself first, in the order of ``ast.walk`` (breadth
    first, children in field order), as a list: about twice as fast as ``ast.walk``, whose
    generators per node dominate the passes that read a whole function. Taken at once, so
    a caller that replaces nodes while it reads them sees the tree as it was (``ast.walk``
    reads a node's children only when it reaches the node)."""
    found = [tree]
    for current in found:
        for name in current._fields:
            value = getattr(current, name, None)
            if isinstance(value, ast.AST):
                found.append(value)
            elif isinstance(value, list):
                found += [item for item in value if isinstance(item, ast.AST)]
    return found


def name_nodes(node: ast.AST) -> list[ast.Name]:
    """Every ``ast.Name`` under ``node``, breadth first with children in field order (the
    order of ``ast.walk``, without its generator per node: this runs on every statement in
    several passes)."""
    found = []
    queue = [node]
    for current in queue:
        if isinstance(current, ast.Name):
            found.append(current)
            continue
        for name in current._fields:
            value = getattr(current, name, None)
            if isinstance(value, ast.AST):
                queue.append(value)
            elif isinstance(value, list):
                queue += [item for item in value if isinstance(item, ast.AST)]
    return found


def names_in(node: ast.AST | None) -> list[str]:
    """The names read by an expression, in order, without repeats."""
    if node is None:
        return []
    return list(dict.fromkeys(n.id for n in name_nodes(node)))


_SHARED = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)
"""Node types without fields (``Load()``, ``Add()``): the parser shares one of each too."""


def copy_tree(node: ast.AST, replace: Callable[[ast.AST], ast.AST | None] | None = None
              ) -> ast.AST:
    """A copy of the tree under ``node``, several times faster than ``copy.deepcopy``: every
    node and list in a field is new, other attribute values are shared. ``replace(sub)``,
    when given, may return the node to put in place of ``sub`` (not copied further), or
    ``None``; it is not asked about the shared nodes without fields (``Load()``, ``Add()``).
    """
    if isinstance(node, _SHARED):
        return node
    if replace is not None:
        replaced = replace(node)
        if replaced is not None:
            return replaced
    kind = node.__class__
    new = kind.__new__(kind)
    attributes = new.__dict__
    # every attribute at once (positions, and the marks the sweeps put on nodes: none
    # holds a node or a list), then a copy of each field that holds nodes
    attributes.update(node.__dict__)
    for name in kind._fields:
        value = attributes.get(name)
        if isinstance(value, ast.AST):
            attributes[name] = copy_tree(value, replace)
        elif isinstance(value, list):
            attributes[name] = [copy_tree(v, replace) if isinstance(v, ast.AST) else v
                                for v in value]
    return new


def reads(statement) -> list[str]:
    """The names a statement reads (for a compound statement: its header only)."""
    if isinstance(statement, Assign):
        return names_in(statement.expr)
    if isinstance(statement, Store):
        return list(dict.fromkeys([statement.target, *names_in(statement.index),
                                   *names_in(statement.value)]))
    if isinstance(statement, Append):
        return list(dict.fromkeys([statement.target, *names_in(statement.value)]))
    if isinstance(statement, Effect):
        return names_in(statement.statement)
    if isinstance(statement, (If, While)):
        return names_in(statement.test)
    if isinstance(statement, For):
        return names_in(statement.iter)
    if isinstance(statement, Return):
        return names_in(statement.value)
    return []


def writes(statement) -> list[str]:
    """The names a statement binds (for a compound statement: its header only)."""
    if isinstance(statement, Assign):
        return bound(statement)
    if isinstance(statement, For):
        return [statement.target]
    return []


# --------------------------------------------------------------------------- names


class Namer:
    """Deterministic, readable fresh names that never collide.

    A name is free when neither it nor its adjoint ``d<name>`` is taken, so that every
    variable can get the adjoint name a reader expects.
    """

    def __init__(self, taken=()):
        # where the search for each base's next free number starts: names are only added
        # to ``taken`` (a release clears this), so the first free number never goes down,
        # and the n-th temporary of a base costs one test, not n
        self.hints: dict[tuple[str, bool], int] = {}
        self.taken: set[str] = _Taken(taken, self.hints)

    def reserve(self, name: str) -> None:
        self.taken.add(name)

    def fresh(self, base: str, *, adjoint_too: bool = True, limit: int = 24) -> str:
        base = sanitize(base, limit)
        number = self.hints.get((base, adjoint_too), 1)
        candidate = base if number == 1 else f"{base}_{number}"
        while self._clashes(candidate, adjoint_too):
            number += 1
            candidate = f"{base}_{number}"
        self.hints[(base, adjoint_too)] = number
        self.taken.add(candidate)
        return candidate

    def _clashes(self, name: str, adjoint_too: bool) -> bool:
        if name in self.taken or keyword.iskeyword(name):
            return True
        return adjoint_too and "d" + name in self.taken


class _Taken(set):
    """The names a :class:`Namer` has given or been told of; releasing one clears the
    namer's search hints."""

    def __init__(self, names, hints: dict):
        super().__init__(names)
        self.hints = hints

    def discard(self, name) -> None:
        self.hints.clear()
        super().discard(name)

    def remove(self, name) -> None:
        self.hints.clear()
        super().remove(name)

    def pop(self):
        self.hints.clear()
        return super().pop()

    def clear(self) -> None:
        self.hints.clear()
        super().clear()

    def __isub__(self, names):
        self.hints.clear()
        return super().__isub__(names)

    def difference_update(self, *names) -> None:
        self.hints.clear()
        super().difference_update(*names)

    def intersection_update(self, *names) -> None:
        self.hints.clear()
        super().intersection_update(*names)

    def __iand__(self, names):
        self.hints.clear()
        return super().__iand__(names)

    def symmetric_difference_update(self, names) -> None:
        self.hints.clear()
        super().symmetric_difference_update(names)

    def __ixor__(self, names):
        self.hints.clear()
        return super().__ixor__(names)


def sanitize(base: str, limit: int = 24) -> str:
    base = re.sub(r"\W", "_", base).strip("_") or "tmp"
    if base[0].isdigit():
        base = "t" + base
    return base if len(base) <= limit else "tmp"
