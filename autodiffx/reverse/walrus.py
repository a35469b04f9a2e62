"""Assignment expressions (``:=``), as assignments of their own before the statement.

::

    if (s := np.sum(x ** 2)) > 1.0:          s = np.sum(x ** 2)
        return s * 2.0               →       if s > 1.0:
                                                 return s * 2.0

is what Python runs when the assignment expression is evaluated first, unconditionally,
once per run of the statement. So only such a one is moved: in the value of an
assignment, an expression statement or a ``return``, the test of an ``if`` (or ``elif``),
or what a ``for`` loop iterates over; with no call, no other assignment expression and no
read of its name before it in the statement, and not inside a part that Python may skip
(after the first operand of ``and``/``or``, a branch of a conditional expression, a later
comparison of a chain, a comprehension or a lambda). Any other one is left in place, and
the fence refuses it, as before. A ``while`` test is evaluated at every turn, so its
assignment expressions are left too.
"""

from __future__ import annotations

import ast

from .source import FunctionSource

_HOISTABLE = {ast.Assign: "value", ast.AugAssign: "value", ast.AnnAssign: "value",
              ast.Expr: "value", ast.Return: "value", ast.If: "test", ast.For: "iter"}
"""Per statement, the field Python evaluates once, before anything else of the statement
that could read a name the expression binds (an assignment's targets come after)."""


def rewrite(source: FunctionSource) -> FunctionSource:
    """``source`` with each assignment expression that can be moved written as an
    assignment before its statement (in place: the tree is the one parsed for this
    transformation)."""
    if any(isinstance(n, ast.NamedExpr) for n in ast.walk(source.node)):
        source.node.body = _block(source.node.body)
    return source


def _block(statements: list[ast.stmt]) -> list[ast.stmt]:
    result: list[ast.stmt] = []
    for statement in statements:
        for field in ("body", "orelse"):
            block = getattr(statement, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(statement, field, _block(block))
        result.extend(_hoisted(statement))
    return result


def _hoisted(statement: ast.stmt) -> list[ast.stmt]:
    """The assignments moved out of ``statement``, then the statement."""
    field = _HOISTABLE.get(type(statement))
    expression = getattr(statement, field, None) if field else None
    if expression is None:
        return [statement]
    if isinstance(statement, ast.AugAssign) and _read_first(statement.target, expression):
        return [statement]  # y[i] += (i := 1): the target is evaluated before the value
    moved: list[ast.stmt] = []
    while True:
        found = _first_movable(expression)
        if found is None:
            break
        named, parent, name_of_field, index = found
        assignment = ast.copy_location(ast.Assign(
            targets=[ast.copy_location(ast.Name(id=named.target.id, ctx=ast.Store()), named)],
            value=named.value), named)
        replacement = ast.copy_location(ast.Name(id=named.target.id, ctx=ast.Load()), named)
        if parent is None:
            expression = replacement
            setattr(statement, field, expression)
        elif index is None:
            setattr(parent, name_of_field, replacement)
        else:
            getattr(parent, name_of_field)[index] = replacement
        # the value may hold assignment expressions of its own: they go first
        moved.extend(_hoisted(assignment))
    return [*moved, statement]


def _read_first(target: ast.expr, expression: ast.expr) -> bool:
    """Whether an augmented assignment's ``target``, which Python evaluates before the
    value, reads a name an assignment expression of ``expression`` binds, or calls
    something."""
    bound = {n.target.id for n in ast.walk(expression) if isinstance(n, ast.NamedExpr)}
    return any(isinstance(n, ast.Call) or (isinstance(n, ast.Name) and n.id in bound)
               for n in ast.walk(target))


def _first_movable(expression: ast.expr):
    """``(named, parent, field, index)`` for the first assignment expression in evaluation
    order when it can be moved (see the module's docstring), else ``None``."""
    seen_call = False
    seen_names: set[str] = set()

    def visit(node, parent, field, index, skipped):
        nonlocal seen_call
        if isinstance(node, ast.NamedExpr):
            if skipped or seen_call or node.target.id in seen_names:
                raise _Stop
            return node, parent, field, index
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp, ast.IfExp, ast.Dict, ast.Await, ast.Yield,
                             ast.YieldFrom)):
            inside = list(ast.walk(node))
            if any(isinstance(n, ast.NamedExpr) for n in inside):
                raise _Stop  # skipped, or evaluated out of the order of its fields
            seen_call = seen_call or any(isinstance(n, ast.Call) for n in inside)
            seen_names.update(n.id for n in inside if isinstance(n, ast.Name))
            return None
        for child_field, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            for position, child in enumerate(children):
                if not isinstance(child, ast.AST):
                    continue
                conditional = skipped or (
                    isinstance(node, ast.BoolOp) and position > 0) or (
                    isinstance(node, ast.Compare) and child_field == "comparators"
                    and position > 0)
                found = visit(child, node, child_field,
                              position if isinstance(value, list) else None, conditional)
                if found is not None:
                    return found
        if isinstance(node, ast.Call):
            seen_call = True  # (after its arguments: they are evaluated before the call)
        if isinstance(node, ast.Name):
            seen_names.add(node.id)
        return None

    try:
        return visit(expression, None, None, None, False)
    except _Stop:
        return None


class _Stop(Exception):
    """An assignment expression that cannot be moved: stop looking."""
