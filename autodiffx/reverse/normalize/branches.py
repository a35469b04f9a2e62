"""Branches: ``if`` statements, conditional expressions (``a if c else b``) and
short-circuit values (``w = w or default``), which become ``if`` statements assigning one
name. (Returns inside branches are made regular
first, in :mod:`.returns`.)"""

from __future__ import annotations

import ast

from .. import ir
from .names import load


class Branches:
    """``if`` and ``a if c else b``, for :class:`~autodiffx.reverse.normalize.Normalizer`."""

    def _if(self, node: ast.If) -> list:
        body = self._block(node.body)
        orelse = self._block(node.orelse)
        self.line = node.lineno
        return [ir.If(node.test, body, orelse, node.lineno)]

    def _conditional(self, target: str, node: ast.IfExp, origin) -> None:
        """``target = a if c else b`` as ``if c: target = a`` ``else: target = b``."""
        test = node.test
        saved = self.pending
        self.pending = []
        self._assign(target, node.body, origin)
        body = self.pending
        self.pending = []
        self._assign(target, node.orelse, origin)
        orelse = self.pending
        self.pending = saved
        self.pending.append(ir.If(test, body, orelse, self.line))

    def _short_circuit(self, target: str, node: ast.BoolOp, origin) -> None:
        """``target = a or b`` as Python runs it: ``first = a`` (unless ``a`` is a name),
        then ``if first: target = first`` ``else: target = b`` (for ``and`` the branches
        swap), so that ``b`` runs only when Python would run it, and whichever operand is
        the value keeps its derivative. ``a or b or c`` is ``a or (b or c)``."""
        if isinstance(node.values[0], ast.Name):  # `scale or ...`: tested as it is
            first = node.values[0].id
        else:
            first = self._fresh(self._name_for(node.values[0]))
            self._assign(first, node.values[0], origin)
        rest = node.values[1] if len(node.values) == 2 else ast.copy_location(
            ast.BoolOp(op=node.op, values=node.values[1:]), node.values[1])
        saved = self.pending
        self.pending = []
        self._assign(target, load(first), origin)
        chosen = self.pending
        self.pending = []
        self._assign(target, rest, origin)
        otherwise = self.pending
        self.pending = saved
        body, orelse = (chosen, otherwise) if isinstance(node.op, ast.Or) else (
            otherwise, chosen)
        self.pending.append(ir.If(load(first), body, orelse, self.line))


def yields_a_truth_value(node: ast.expr) -> bool:
    """Whether every value ``node`` may give is a truth value or a literal: comparisons,
    ``not``, constants, and ``and``/``or`` of those. Such a value carries no derivative, and
    ``ok = a > 0 and b > 0`` stays one statement.

    >>> yields_a_truth_value(ast.parse("a > 0 and not b", mode="eval").body)
    True
    >>> yields_a_truth_value(ast.parse("scale or np.tanh(x)", mode="eval").body)
    False
    """
    if isinstance(node, ast.BoolOp):
        return all(map(yields_a_truth_value, node.values))
    return isinstance(node, (ast.Compare, ast.Constant)) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not))
