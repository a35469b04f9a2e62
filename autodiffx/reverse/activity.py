"""Activity analysis: which names need an adjoint.

A name is *active* when its value depends on an argument being differentiated, and
*useful* when the returned value depends on it. Only names that are both get an adjoint;
everything else is a constant as far as the adjoint sweep is concerned. This is also where
a call that would need a derivative nobody can give is found, before any code runs.
"""

from __future__ import annotations

import ast
import operator

import numpy as np

from ..errors import Location, MissingRuleError, UnsupportedSyntaxError
from ..rules import registry
from . import ir
from .source import FunctionSource

_CARRIES = ("primitive", "copy", "call", "list", "unsupported")


def operand_names(statement) -> list[str]:
    """The local names whose values flow into a statement's result."""
    if isinstance(statement, ir.Assign):
        if statement.kind == "opaque":
            return []
        if statement.kind == "unsupported":
            return ir.names_in(statement.expr)
        names = []
        for operand in statement.operands:
            names += ir.names_in(operand) if isinstance(operand, (ast.List, ast.Tuple)) else (
                [operand.id] if isinstance(operand, ast.Name) else []
            )
        if statement.kind == "primitive" and statement.rule is not None:
            names = []
            for operand, adjoint in zip(statement.operands, statement.rule.adjoints,
                                        strict=False):
                if adjoint is None:
                    continue
                names += ir.names_in(operand) if isinstance(operand, (ast.List, ast.Tuple)) \
                    else ([operand.id] if isinstance(operand, ast.Name) else [])
        return list(dict.fromkeys(names))
    if isinstance(statement, ir.Store):
        return [statement.target, *ir.names_in(statement.value)]
    if isinstance(statement, ir.Append):
        return [statement.target, *ir.names_in(statement.value)]
    return []


def _effect_flow(statement: ir.Effect) -> tuple[str | None, list[str]]:
    """For ``receiver.method(args)``: the receiver and the names passed to it."""
    node = statement.statement
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        function = node.value.func
        if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
            args = [n for a in node.value.args for n in ir.names_in(a)]
            return function.value.id, args
    return None, []


def analyse(statements: list, wrt_names: list[str], results: list[str]) -> set[str]:
    """The names that are active and useful (``results`` depend on them): they need an
    adjoint."""
    flat = list(ir.walk(statements))
    active = set(wrt_names)
    changed = True
    while changed:
        changed = False
        for statement in flat:
            if isinstance(statement, (ir.Assign, ir.Store, ir.Append)):
                targets = ir.bound(statement) if isinstance(statement, ir.Assign) else [
                    statement.target]
                if statement.kind in _CARRIES if isinstance(statement, ir.Assign) else True:
                    sources = operand_names(statement)
                    fresh = [t for t in targets if t not in active]
                    if fresh and any(n in active for n in sources):
                        active.update(fresh)
                        changed = True
            elif isinstance(statement, ir.Effect):
                receiver, args = _effect_flow(statement)
                if receiver and receiver not in active and any(a in active for a in args):
                    active.add(receiver)
                    changed = True
    useful = set(results)
    changed = True
    while changed:
        changed = False
        for statement in flat:
            targets: list = []
            sources: list[str] = []
            if isinstance(statement, ir.Assign) and statement.kind in _CARRIES:
                targets, sources = ir.bound(statement), operand_names(statement)
            elif isinstance(statement, (ir.Store, ir.Append)):
                targets, sources = [statement.target], ir.names_in(statement.value)
            elif isinstance(statement, ir.Effect):
                target, sources = _effect_flow(statement)
                targets = [target]
            if any(t in useful for t in targets):
                for name in sources:
                    if name not in useful:
                        useful.add(name)
                        changed = True
    return active & useful


def check(statements: list, relevant: set[str], source: FunctionSource) -> None:
    """Refuse, with a location, a derivative that has to pass through something unsupported."""
    for statement in ir.walk(statements):
        if isinstance(statement, ir.Assign) and statement.kind == "unsupported":
            if statement.target in relevant and any(
                n in relevant for n in operand_names(statement)
            ):
                _refuse_unsupported(statement, source)
        elif isinstance(statement, ir.Effect):
            receiver, args = _effect_flow(statement)
            if receiver in relevant and any(a in relevant for a in args):
                raise UnsupportedSyntaxError(
                    f"reverse mode cannot follow derivatives through {receiver}."
                    f"{statement.statement.value.func.attr}(...) (in {source.name})",
                    location=source.location(statement.node),
                    hint="preallocate an array (y = np.zeros(n)) and write y[i] = value, "
                    'build it with np.stack([...]) of named values, or use mode="forward"',
                )


def _list_uses() -> tuple:
    """The rules that may read a list whose items carry derivatives."""
    from .normalize import LIST_SUM

    return (LIST_SUM, *(registry.lookup(f) for f in (np.stack, np.concatenate,
                                                      operator.getitem)))


def check_lists(statements: list, relevant: set[str], lists: set[str],
                source: FunctionSource) -> None:
    """Refuse a list of differentiated values used in a way reverse mode cannot follow."""
    active_lists = lists & relevant
    if not active_lists:
        return
    for statement in ir.walk(statements):
        used = [n for n in ir.reads(statement) if n in active_lists]
        if not used or isinstance(statement, ir.Append) or (
                isinstance(statement, ir.Assign) and statement.kind == "list"):
            continue
        if (isinstance(statement, ir.Store) and statement.target in active_lists
                and isinstance(statement.index, (ast.Name, ast.Constant))
                and not (isinstance(statement.value, ast.Name)
                         and statement.value.id in active_lists)):
            continue  # xs[i] = v: an item replaced
        if isinstance(statement, ir.Assign) and statement.kind in ("primitive", "opaque"):
            rule = statement.rule
            first = statement.operands[0] if statement.operands else None
            if statement.kind == "opaque" and statement.target not in relevant:
                continue  # len(rows), a comparison: no derivative flows
            if rule is not None and rule in _list_uses() and isinstance(first, ast.Name) and (
                first.id in active_lists
            ) and all(n not in active_lists for o in statement.operands[1:]
                      for n in ir.names_in(o)):
                if rule.name != "getitem" or isinstance(statement.operands[1],
                                                        (ast.Name, ast.Constant)):
                    continue
        name = used[0]
        node = getattr(statement, "node", None)
        raise UnsupportedSyntaxError(
            f"reverse mode cannot follow derivatives through this use of the list {name} "
            f"(in {source.name})",
            location=source.location(node) if node is not None else Location(
                source.filename, abs(statement.line), 0, source.lines.get(abs(statement.line),
                                                                           "")),
            hint=f"read the list only with {name}[i] (an integer index), np.stack({name}), "
            f"np.array({name}), np.concatenate({name}) or sum({name}); append to it with "
            f"{name}.append(value); or use mode=\"forward\"",
        )


def _refuse_unsupported(statement: ir.Assign, source: FunctionSource) -> None:
    location = source.location(statement.node)
    if statement.function is not None:
        raise MissingRuleError(
            f"{registry.describe(statement.function)} has no derivative rule and no Python "
            f"source to differentiate (in {source.name})",
            location=location,
            hint="register a rule with autodiffx.defrule(...), rewrite the line with "
            'functions that have rules, or use mode="forward"',
        )
    construct = type(statement.node).__name__ if statement.node is not None else "expression"
    if isinstance(statement.expr, (ast.List, ast.Tuple, ast.Dict)):
        construct = type(statement.expr).__name__
    descriptions = {
        "ListComp": "a list comprehension over differentiated values",
        "List": "a list of differentiated values",
        "Tuple": "a tuple of differentiated values",
        "Attribute": "this attribute of a differentiated value",
        "DictComp": "a dict comprehension over differentiated values",
        "Dict": "a dict of differentiated values",
        "Call": "a list of differentiated values built elsewhere and passed to this call",
    }
    raise UnsupportedSyntaxError(
        f"reverse mode does not differentiate {descriptions.get(construct, construct)} "
        f"(in {source.name})",
        location=location,
        hint="compute the values into a preallocated array, or pass the list straight to "
        "np.stack/np.concatenate; a list name bound only to list literals and grown with "
        '.append is differentiated too; or use mode="forward"',
    )
