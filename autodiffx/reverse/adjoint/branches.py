"""Branches, ``if test: ... else: ...``: the adjoint sweep runs the adjoint of the branch
the forward sweep took. It decides by the test itself outside loops while the test's names
still hold their values, else by the condition the forward sweep records (``cond = test``)."""

from __future__ import annotations

import ast
import copy

from .. import ir
from .blocks import _has_code
from .nodes import _assign, _load


class Branches:
    """The forward and adjoint code of ``ir.If`` statements."""

    def _forward_if(self, statement: ir.If) -> list:
        out = []
        test = copy.deepcopy(statement.test)
        if id(statement) in self.conditions:
            condition = self.conditions[id(statement)]
            out.append(_assign(condition, test, pure=False))
            test = _load(condition)
        body = self._forward_block(statement.body, statement.line) or [ast.Pass()]
        orelse = self._forward_block(statement.orelse, statement.line)
        out.append(ast.If(test=test, body=body, orelse=orelse))
        return out

    def _reverse_if(self, statement: ir.If, defined: set[str]) -> list:
        if not self._has_work([statement.body, statement.orelse]):
            return []
        out: list = []
        entry = self._enter(statement, [statement.body, statement.orelse], defined, out)
        test_names = [n for n in ir.names_in(statement.test) if n in self.local_names]
        reuse = not self.loops_of[id(statement)] and all(
            self._stable(n, statement, "before") for n in test_names)
        if reuse:
            test = self._resolve(self._operand(statement.test), statement)
        else:
            condition = self.namer.fresh("cond")
            self.conditions[id(statement)] = condition
            self.local_names.add(condition)
            self.binds[condition] = [self.index[id(statement)]]
            test = self.value(condition, statement, "after")
        body = self._reverse_body(statement.body, entry, statement.line)
        orelse = self._reverse_body(statement.orelse, entry, statement.line)
        if not _has_code(body) and not _has_code(orelse):
            return out
        if not _has_code(body):
            out.append(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=test), body=orelse,
                              orelse=[]))
        else:
            out.append(ast.If(test=test, body=body, orelse=orelse))
        return out
