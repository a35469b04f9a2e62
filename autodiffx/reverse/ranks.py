"""Rank analysis: the ``ndim`` of each local name, where it is certain.

Argument ranks come from the call; each rule may say its output rank from its inputs'
(``Rule.rank``); literals have rank 0 and ``range`` loop variables rank 0. A name bound to
values of different ranks, or to anything unknown, has rank ``None``. The adjoint pass uses
known ranks to fold ``np.ndim(x)`` in rule expressions, which is what turns the matmul rule
into ``np.outer(dz, x)`` for a matrix-vector product.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from . import ir

Ranks = dict[str, "int | None"]

_UNKNOWN = object()
_SHAPE_MAKERS = {np.zeros, np.ones, np.empty, np.full}


CallRanks = Callable[[Any, tuple[int, ...]], "int | tuple | None"]
"""``call_ranks(function, argument_ranks)``: the rank a user function returns (a tuple of
ranks when it returns a tuple), or ``None`` when unknown."""


def infer(statements: list, params: list[str], ranks: tuple[int, ...],
          call_ranks: CallRanks | None = None, constants: dict | None = None) -> Ranks:
    """Map each local name to its rank, or ``None`` where it is not certain.

    ``constants`` holds the global values the function reads (arrays and numbers have a
    rank too); ``call_ranks`` gives the ranks that calls to user functions return.
    """
    known: dict[str, object] = {}
    for name, value in (constants or {}).items():
        if isinstance(value, (np.ndarray, np.generic, float, int)) and not isinstance(
                value, bool):
            known[name] = int(np.ndim(value))
    for position, name in enumerate(params):
        rank = ranks[position] if position < len(ranks) else -1
        known[name] = rank if rank is not None and rank >= 0 else None
    for _ in range(4):
        before = dict(known)
        for statement in ir.walk(statements):
            if isinstance(statement, ir.Assign) and statement.kind == "call" and call_ranks:
                _bind_call(known, statement, call_ranks)
            elif isinstance(statement, ir.Assign) and statement.targets:
                # several results of a primitive: their ranks from its rule, when it says
                found = _rank_of(statement, known) if statement.kind == "primitive" else None
                if isinstance(found, int):
                    found = (found,) * len(statement.targets)  # one rank for every result
                items = found if isinstance(found, tuple) and len(found) == len(
                    statement.targets) else (None,) * len(statement.targets)
                for name, rank in zip(statement.targets, items, strict=True):
                    _bind(known, name, rank)
            elif isinstance(statement, ir.Assign):
                _bind(known, statement.target, _rank_of(statement, known))
            elif isinstance(statement, ir.For):
                _bind(known, statement.target, 0)
        if known == before:
            break
    return {name: (rank if isinstance(rank, int) else None) for name, rank in known.items()}


def argument_ranks(statement: ir.Assign, known) -> tuple[int, ...]:
    """The ranks of a call's positional arguments, ``-1`` where unknown."""
    return tuple(r if (r := atom_rank(o, known)) is not None else -1
                 for o in statement.operands)


def _bind_call(known, statement: ir.Assign, call_ranks: CallRanks) -> None:
    result = call_ranks(statement.function, argument_ranks(statement, known))
    if statement.targets:
        items = result if isinstance(result, tuple) and len(result) == len(
            statement.targets) else (None,) * len(statement.targets)
        for name, rank in zip(statement.targets, items, strict=True):
            _bind(known, name, rank)
    else:
        _bind(known, statement.target, result if isinstance(result, int) else None)


def _bind(known, name, rank) -> None:
    if name not in known:
        known[name] = rank
    elif known[name] != rank:
        known[name] = None


def atom_rank(atom: ast.expr, known) -> int | None:
    if isinstance(atom, ast.Name):
        rank = known.get(atom.id)
        return rank if isinstance(rank, int) else None
    if isinstance(atom, ast.Constant) and isinstance(atom.value, (int, float, bool)):
        return 0
    return None


def _rank_of(statement: ir.Assign, known) -> int | None:
    if statement.rank is not None:
        return statement.rank
    if statement.kind == "copy":
        return atom_rank(statement.operands[0], known)
    if statement.kind == "primitive":
        rule = statement.rule
        if statement.function is operator.getitem:
            return index_rank(atom_rank(statement.operands[0], known), statement.operands[1],
                              known)
        if rule.rank is None:
            return None
        inputs = [atom_rank(o, known) for o in statement.operands]
        keywords = {}
        for name, node in statement.keywords.items():
            try:
                keywords[name] = ast.literal_eval(node)
            except ValueError:
                return None
        try:
            return rule.rank(*inputs, **keywords)
        except TypeError:
            return None
    if statement.kind == "opaque":
        return _opaque_rank(statement, known)
    return None


_BITWISE = (ast.BitAnd, ast.BitOr, ast.BitXor, ast.LShift, ast.RShift)


def _opaque_rank(statement: ir.Assign, known) -> int | None:
    expression = statement.expr
    if isinstance(expression, ast.Constant) and isinstance(expression.value, (int, float)):
        return 0
    if isinstance(expression, ast.Compare) and len(expression.comparators) == 1:
        sides = [atom_rank(expression.left, known), atom_rank(expression.comparators[0], known)]
        return max(sides) if None not in sides else None
    if isinstance(expression, ast.Attribute) and expression.attr in ("ndim", "size"):
        return 0
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, _BITWISE) or (
            isinstance(expression, ast.UnaryOp) and isinstance(expression.op, ast.Invert)):
        # a & b, ~a of masks or numbers (whose ranks are known): broadcasting's rank
        sides = [atom_rank(o, known) for o in statement.operands]
        return max(sides) if sides and None not in sides else None
    if isinstance(expression, ast.Call):
        function = statement.function
        if function in (len, int, float):
            return 0
        if function in _SHAPE_MAKERS and expression.args:
            shape = expression.args[0]
            if isinstance(shape, ast.Tuple):
                return len(shape.elts)
            if atom_rank(shape, known) == 0:
                return 1
    return None


def index_rank(rank: int | None, index: ast.expr, known) -> int | None:
    """The rank of ``x[index]`` for ``x`` of rank ``rank``, when the index is simple."""
    if rank is None:
        return None
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    consumed = added = 0
    for item in items:
        if isinstance(item, ast.Slice):
            consumed += 1
            added += 1
        elif isinstance(item, ast.Constant) and item.value is None:
            added += 1
        elif isinstance(item, ast.Constant) and isinstance(item.value, int):
            consumed += 1
        elif isinstance(item, ast.Name) and known.get(item.id) == 0:
            consumed += 1
        else:
            return None
    if consumed > rank:
        return None
    return rank - consumed + added


# --------------------------------------------------------------------------- equal shapes

SCALAR = "()"
"""The shape class of rank-0 values."""


def shape_classes(statements: list, params: list[str], rank_of: Ranks) -> dict[str, str]:
    """Names whose shapes are provably equal share a class (a string); a name missing from
    the map has no class that can be proven.

    Rank-0 values have the class ``"()"``; each argument is its own class; a copy has its
    source's class; an elementwise operation whose operands all have one class, apart from
    rank-0 ones, has that class. Anything else bound once is a class of its own.
    """
    binds: dict[str, int] = {}
    for statement in ir.walk(statements):
        for name in ir.writes(statement):
            binds[name] = binds.get(name, 0) + 1
    known: dict[str, object] = {name: name for name in params}
    for _ in range(4):
        before = dict(known)
        for statement in ir.walk(statements):
            if isinstance(statement, ir.Assign):
                for name in ir.bound(statement):
                    _bind(known, name, _class_of(statement, name, known, rank_of, binds))
            elif isinstance(statement, ir.For):
                _bind(known, statement.target, None)
        if known == before:
            break
    classes = {name: c for name, c in known.items() if isinstance(c, str)}
    for name, rank in rank_of.items():
        if rank == 0:
            classes[name] = SCALAR
    return classes


def _class_of(statement: ir.Assign, name: str, known, rank_of, binds) -> str | None:
    if rank_of.get(name) == 0:
        return SCALAR
    if statement.kind == "copy" and not statement.targets:
        return _atom_class(statement.operands[0], known, rank_of)
    if statement.kind == "primitive" and statement.rule.elementwise:
        classes = {_atom_class(o, known, rank_of) for o in statement.operands}
        classes.discard(SCALAR)
        if len(classes) == 1 and None not in classes:
            return classes.pop()
        if not classes:
            return SCALAR
    return "#" + name if binds.get(name) == 1 else None


def _atom_class(atom: ast.expr, known, rank_of) -> str | None:
    if isinstance(atom, ast.Constant) and type(atom.value) in (int, float, bool):
        return SCALAR
    if isinstance(atom, ast.Name):
        if rank_of.get(atom.id) == 0:
            return SCALAR
        value = known.get(atom.id)
        return value if isinstance(value, str) else None
    return None
