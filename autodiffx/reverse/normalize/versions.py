"""Versions: names bound more than once in straight-line code get numbered versions, so
that the adjoint sweep finds every value it needs."""

from __future__ import annotations

import ast

from .. import ir


def rename_versions(statements: list, params: list[str], namer: ir.Namer) -> list:
    """Give names bound more than once in straight-line code numbered versions.

    ``x = x * 2`` at the top level becomes ``x_2 = x * 2``, so that every value the adjoint
    sweep needs is still there when it runs. Names also bound inside loops or branches keep
    their single name (the adjoint sweep saves their values on a tape instead).
    """
    nested = set()
    for statement in statements:
        for block in ir.children(statement):
            for inner in ir.walk(block):
                nested.update(ir.writes(inner))
        if isinstance(statement, ir.For):
            nested.add(statement.target)
    current: dict[str, str] = {}
    bound = set(params)
    out = []
    for statement in statements:
        _rename_reads(statement, current)
        if isinstance(statement, ir.Assign) and statement.targets:
            for position, name in enumerate(statement.targets):
                if name in nested:
                    continue
                if name in bound:
                    statement.targets[position] = namer.fresh(name)
                    current[name] = statement.targets[position]
                bound.add(name)
        elif isinstance(statement, ir.Assign) and statement.target not in nested:
            name = statement.target
            if name in bound:
                statement.target = namer.fresh(name)
                current[name] = statement.target
            bound.add(name)
        out.append(statement)
    return out


def _rename_reads(statement, current: dict[str, str]) -> None:
    if not current:
        return
    nodes = ir.read_nodes(statement)
    if isinstance(statement, (ir.Store, ir.Append)):
        statement.target = current.get(statement.target, statement.target)
    seen = set()
    for node in nodes:
        for sub in ir.nodes(node):
            if isinstance(sub, ast.Name) and id(sub) not in seen:
                seen.add(id(sub))
                sub.id = current.get(sub.id, sub.id)
    for block in ir.children(statement):
        for inner in block:
            _rename_reads(inner, current)
