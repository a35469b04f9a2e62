"""Assignments: ``x = e``, ``a = b = e``, ``x += e``, and the dispatch of ``target = e`` to
the handler of the kind of expression ``e`` is (operators, calls, subscripts, lists...)."""

from __future__ import annotations

import ast
import copy

from .. import ir
from ..fence import refuse
from .branches import yields_a_truth_value
from .expressions import OPERATORS, UNARY
from .names import load


class Assignments:
    """Assignment statements, for :class:`~autodiffx.reverse.normalize.Normalizer`."""

    def _assign_targets(self, targets, value, node) -> list:
        first, *others = targets
        self._assign_target(first, value, node)
        for other in others:
            source = first.id if isinstance(first, ast.Name) else None
            if source is None:
                raise refuse(self.source, node, "chained assignment to a non-name", "split it")
            self._assign_target(other, load(source), node)
        return self.pending

    def _assign_target(self, target, value, node) -> None:
        if isinstance(target, ast.Name):
            self._assign(target.id, value, node)
        elif isinstance(target, ast.Subscript):
            self._store(target, value, node)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self._unpack(target, value, node)
        else:
            raise refuse(
                self.source, target, f"assignment to {ast.unparse(target)}", "assign to a name"
            )

    def _assign(self, target: str, node: ast.expr, origin) -> None:
        """Append statements computing ``target = node``."""
        if isinstance(node, ast.Name) and node.id in self.locals:
            if target in self.stored and node.id != target:
                self._emit_unshared(target, node.id, origin)
            elif node.id != target:
                self._emit_copy(target, load(node.id), origin)
        elif isinstance(node, ast.IfExp):
            self._conditional(target, node, origin)
        elif isinstance(node, ast.BoolOp) and not yields_a_truth_value(node):
            self._short_circuit(target, node, origin)
        elif isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            self._operator(target, node, origin)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
            self._unary_operator(target, node, origin)
        elif isinstance(node, ast.Call):
            if target in self.stored and self._may_share(node):
                shared = self._fresh(self._name_for(node))
                self._call(shared, node, origin)
                self._emit_unshared(target, shared, origin)
            else:
                self._call(target, node, origin)
        elif isinstance(node, ast.Subscript) and self._indexes_a_tuple_call(node):
            self._tuple_item(target, node, origin)
        elif isinstance(node, ast.Subscript):
            self._subscript(target, node, origin)
        elif isinstance(node, ast.Attribute) and not self._is_global_expression(node):
            self._attribute(target, node, origin)
        elif isinstance(node, ast.ListComp):
            self._comprehension(target, node, origin)
        elif isinstance(node, (ast.List, ast.Tuple)):
            self._display(target, node, origin)
        else:
            inactive = isinstance(node, (ast.Constant, ast.Compare, ast.BoolOp, ast.Name)) or (
                isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
            ) or self._is_global_expression(node)
            self._emit_opaque(target, copy.deepcopy(node), origin, inactive=inactive)

    def _augmented(self, node: ast.AugAssign) -> list:
        operation = ast.BinOp(left=None, op=node.op, right=node.value)
        if isinstance(node.target, ast.Name):
            operation.left = load(node.target.id)
            self._assign(node.target.id, operation, node)
            binding = [s for s in self.pending if isinstance(s, ir.Assign)
                       and node.target.id in ir.bound(s)]
            if binding:
                binding[-1].inplace = True
        elif isinstance(node.target, ast.Subscript):
            self._augmented_store(node.target, operation, node)
        else:
            raise refuse(self.source, node, "augmented assignment to an attribute", "assign")
        return self.pending
