"""The ``else`` of a loop, as a flag the loop's own ``break`` statements set.

::

    for v in xs:                      broke = False
        if v > limit:                 for v in xs:
            break              →          if v > limit:
        total = total + v                     broke = True
    else:                                     break
        total = 2 * total                 total = total + v
                                      if not broke:
                                          total = 2 * total

is what Python runs: the ``else`` block runs when the loop ends without a ``break``. A loop
with no ``break`` of its own runs its ``else`` block always, so the block simply follows
it. A ``break`` belongs to the innermost loop around it; one in the ``else`` block of an
inner loop belongs to the outer loop, which is why inner loops are rewritten first (their
``else`` then stands in the outer loop's body). The rewrite happens before the fence and
the normaliser see the function, on the tree parsed for this transformation.
"""

from __future__ import annotations

import ast

from . import ir
from .source import FunctionSource


def rewrite(source: FunctionSource) -> FunctionSource:
    """``source`` with every loop's ``else`` written as a flag and an ``if`` (in place: the
    tree is the one parsed for this transformation)."""
    if not any(isinstance(n, (ast.For, ast.While)) and n.orelse for n in ir.nodes(source.node)):
        return source
    taken = {n.id for n in ir.nodes(source.node) if isinstance(n, ast.Name)}
    taken |= {a.arg for a in ir.nodes(source.node) if isinstance(a, ast.arg)}
    source.node.body = _block(source.node.body, taken)
    return source


def _block(statements: list[ast.stmt], taken: set[str]) -> list[ast.stmt]:
    result: list[ast.stmt] = []
    for statement in statements:
        for field in ("body", "orelse"):
            block = getattr(statement, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(statement, field, _block(block, taken))
        if isinstance(statement, (ast.For, ast.While)) and statement.orelse:
            result.extend(_without_else(statement, taken))
        else:
            result.append(statement)
    return result


def _without_else(loop: ast.For | ast.While, taken: set[str]) -> list[ast.stmt]:
    after = loop.orelse
    loop.orelse = []
    if not _breaks(loop.body):
        return [loop, *after]
    flag = _fresh("broke", taken)
    loop.body = _setting(loop.body, flag, loop)
    before = _located(ast.Assign(targets=[_name(flag, ast.Store())],
                                 value=ast.Constant(False)), loop)
    test = ast.UnaryOp(op=ast.Not(), operand=_name(flag, ast.Load()))
    check = _located(ast.If(test=test, body=after, orelse=[]), after[0])
    return [before, loop, check]


def _breaks(statements: list[ast.stmt]) -> bool:
    """Whether a ``break`` in ``statements`` ends the loop they are the body of."""
    for statement in statements:
        if isinstance(statement, ast.Break):
            return True
        if isinstance(statement, (ast.For, ast.While)):
            continue  # its breaks are its own (its else is already rewritten)
        for field in ("body", "orelse"):
            block = getattr(statement, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt) and (
                    _breaks(block)):
                return True
    return False


def _setting(statements: list[ast.stmt], flag: str, loop: ast.AST) -> list[ast.stmt]:
    """``statements`` with ``flag = True`` before each ``break`` of the loop."""
    result: list[ast.stmt] = []
    for statement in statements:
        if isinstance(statement, ast.Break):
            result.append(_located(ast.Assign(targets=[_name(flag, ast.Store())],
                                              value=ast.Constant(True)), statement))
        elif not isinstance(statement, (ast.For, ast.While)):
            for field in ("body", "orelse"):
                block = getattr(statement, field, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    setattr(statement, field, _setting(block, flag, loop))
        result.append(statement)
    return result


def _fresh(base: str, taken: set[str]) -> str:
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    taken.add(name)
    return name


def _name(identifier: str, context: ast.expr_context) -> ast.Name:
    return ast.Name(id=identifier, ctx=context)


def _located(node: ast.stmt, like: ast.AST) -> ast.stmt:
    ast.copy_location(node, like)
    for child in ast.walk(node):
        if child is not node and "lineno" in child._attributes:
            ast.copy_location(child, like)
    return node
