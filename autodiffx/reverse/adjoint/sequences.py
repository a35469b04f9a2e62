"""Python lists: ``xs.append(v)`` runs backwards as ``dv = dxs.pop()``, an item read
``y = xs[i]`` as ``dxs[i] = dxs[i] + dy``, and a literal ``xs = [a, b]`` as ``da = dxs[0]``,
``db = dxs[1]``. A list's adjoint is a list of the items' adjoints."""

from __future__ import annotations

import ast
import copy

from .. import ir
from .nodes import _assign, _call, _load


class Sequences:
    """The forward and adjoint code of list appends, list items and list literals."""

    def _forward_append(self, statement: ir.Append) -> list:
        append = ast.Attribute(value=_load(statement.target), attr="append", ctx=ast.Load())
        return [ast.Expr(value=_call(append, copy.deepcopy(statement.value)))]

    def _list_adjoint(self, name: str, statement, defined: set[str], out: list) -> str:
        """``dxs``, set to zeros shaped like the items of ``xs`` if nothing flowed into it yet."""
        adjoint = self.adjoint(name)
        if adjoint not in defined:
            out.append(_assign(adjoint, self._zero(name, statement)))
            defined.add(adjoint)
        return adjoint

    def _reverse_append(self, statement: ir.Append, defined: set[str]) -> list:
        """``xs.append(v)`` runs backwards as ``dv = dxs.pop()``."""
        if statement.target not in self.relevant:
            return []
        out: list = []
        adjoint = self._list_adjoint(statement.target, statement, defined, out)
        pop = _call(ast.Attribute(value=_load(adjoint), attr="pop", ctx=ast.Load()))
        value = statement.value
        if isinstance(value, ast.Name) and value.id in self.relevant:
            self._contribute(value.id, pop, defined, out, pure=False)
        else:
            out.append(ast.Expr(value=pop))
        return out

    def _reverse_list_item(self, statement: ir.Assign, gradient: str, defined: set[str]):
        """``y = xs[i]`` runs backwards as ``dxs[i] = dxs[i] + dy``."""
        out: list = []
        name = statement.operands[0].id
        adjoint = self._list_adjoint(name, statement, defined, out)
        # Resolved twice, not copied: a tape read is patched into the nodes it returns.
        index, where = (self._resolve(self._operand(statement.operands[1]), statement)
                        for _ in range(2))
        item = ast.Subscript(value=_load(adjoint), slice=index, ctx=ast.Load())
        out.append(_assign(ast.Subscript(value=_load(adjoint), slice=where, ctx=ast.Store()),
                           ast.BinOp(left=item, op=ast.Add(), right=_load(gradient)), pure=False))
        defined.discard(gradient)
        return out

    def _reverse_list_literal(self, statement: ir.Assign, gradient: str, defined: set[str]):
        """``xs = [a, b]`` runs backwards as ``da = dxs[0]``, ``db = dxs[1]``."""
        out: list = []
        contributions = []
        for position, element in enumerate(statement.operands):
            if isinstance(element, ast.Name) and element.id in self.relevant:
                item = ast.Subscript(value=_load(gradient), slice=ast.Constant(position),
                                     ctx=ast.Load())
                contributions.append((element.id, item))
        for name, expression in contributions:
            if name != statement.target:
                self._contribute(name, expression, defined, out)
        defined.discard(gradient)
        return out
