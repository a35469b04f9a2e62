"""Expressions: nested expressions broken into atoms held by temporaries with readable
names, Python operators and attributes mapped to NumPy rules, and the statements that bind
one result (a primitive with a rule, a copy, or a value no derivative passes through)."""

from __future__ import annotations

import ast

import numpy as np

from ...rules import registry
from .. import ir
from ..source import is_missing
from .callees import METHODS
from .names import load

OPERATORS = {
    ast.Add: (np.add, "plus"),
    ast.Sub: (np.subtract, "minus"),
    ast.Mult: (np.multiply, "times"),
    ast.MatMult: (np.matmul, "times"),
    ast.Div: (np.divide, "over"),
    ast.Pow: (np.power, "pow"),
    ast.Mod: (np.remainder, "mod"),
    ast.FloorDiv: (np.floor_divide, "div"),
    ast.BitAnd: (np.bitwise_and, "and"),
    ast.BitOr: (np.bitwise_or, "or"),
    ast.BitXor: (np.bitwise_xor, "xor"),
}


UNARY = {ast.USub: (np.negative, "neg"), ast.UAdd: (np.positive, "pos"),
          ast.Invert: (np.invert, "not")}


_INACTIVE_ATTRIBUTES = {"shape", "ndim", "size", "dtype"}



_RULE_ATTRIBUTES = {"T": np.transpose, "real": np.real, "imag": np.imag}
"""Array attributes that are functions of the array, with the function whose rule they use."""

class Expressions:
    """Atoms, operators and the assignments they emit, for
    :class:`~autodiffx.reverse.normalize.Normalizer`."""

    def _atom(self, node: ast.expr) -> ast.expr:
        """An atom holding the value of ``node``, emitting statements for it if needed."""
        if isinstance(node, ast.Name):
            if node.id not in self.locals:
                self._use_global(node.id, node)
            return load(node.id)
        if isinstance(node, ast.Constant):
            return ast.Constant(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            if isinstance(node.operand, ast.Constant) and isinstance(
                node.operand.value, (int, float)
            ):
                return ast.Constant(-node.operand.value)
        if self._is_global_expression(node):
            return ir.copy_tree(node)
        base = self._name_for(node)
        name = self._fresh(base if len(base) <= 16 else "tmp")
        self._assign(name, node, node)
        return load(name)

    def _operator(self, target: str, node: ast.BinOp, origin) -> None:
        """``target = a + b``, ``a @ b``, ...: the rule of the NumPy function the operator
        stands for."""
        left, right = self._atom(node.left), self._atom(node.right)
        function = OPERATORS[type(node.op)][0]
        expression = ast.BinOp(left=left, op=node.op, right=right)
        self._emit_rule(target, function, expression, [left, right], {}, origin)

    def _unary_operator(self, target: str, node: ast.UnaryOp, origin) -> None:
        """``target = -a``, ``+a``, ``~a`` (``-2`` is a constant)."""
        operand = self._atom(node.operand)
        if isinstance(operand, ast.Constant) and isinstance(node.op, ast.USub):
            self._emit_opaque(target, ast.Constant(-operand.value), origin)
            return
        expression = ast.UnaryOp(op=node.op, operand=operand)
        self._emit_rule(target, UNARY[type(node.op)][0], expression, [operand], {}, origin)

    def _attribute(self, target: str, node: ast.Attribute, origin) -> None:
        """``target = x.T`` (a transpose), ``x.real`` and ``x.imag`` (the rules of
        ``np.real`` and ``np.imag``), ``x.shape`` and other attributes (constants)."""
        value = self._atom(node.value)
        expression = ast.Attribute(value=value, attr=node.attr, ctx=ast.Load())
        if node.attr in _RULE_ATTRIBUTES:
            self._emit_rule(target, _RULE_ATTRIBUTES[node.attr], expression, [value], {},
                            origin)
            return
        self._emit_opaque(target, expression, origin, inactive=node.attr in
                          _INACTIVE_ATTRIBUTES)

    def _call_rule(self, target, function, operands, origin) -> ir.Assign:
        name = "np." + function.__name__
        expression = ast.Call(func=ast.parse(name, mode="eval").body, args=operands, keywords=[])
        rule = registry.require(function)
        return ir.Assign(target, expression, "primitive", self.line, rule=rule,
                         operands=[ir.copy_tree(o) for o in operands], function=function,
                         node=origin)

    def _emit_rule(self, target, function, expression, operands, keywords, origin,
                   rule=None) -> None:
        rule = rule or registry.lookup(function)
        if rule is None or not rule.differentiable:
            self.pending.append(ir.Assign(target, expression, "opaque", self.line, rule=rule,
                                          operands=operands, node=origin))
            return
        if target in [o.id for o in operands if isinstance(o, ast.Name)] and sum(
            isinstance(o, ast.Name) and o.id == target for o in operands
        ) > 1:
            # y = y * y: compute into a temporary so that both operands keep the old value.
            temporary = self._fresh(target + "_new")
            self.pending.append(ir.Assign(temporary, expression, "primitive", self.line,
                                          rule=rule, operands=operands, keywords=keywords,
                                          function=function, node=origin))
            self._emit_copy(target, load(temporary), origin)
            return
        self.pending.append(ir.Assign(target, expression, "primitive", self.line, rule=rule,
                                      operands=operands, keywords=keywords, function=function,
                                      node=origin))

    def _emit_copy(self, target, atom, origin) -> None:
        self.pending.append(ir.Assign(target, atom, "copy", self.line, operands=[atom],
                                      node=origin))

    def _emit_opaque(self, target, expression, origin, inactive=True) -> None:
        kind = "opaque" if inactive else "unsupported"
        self.pending.append(ir.Assign(target, expression, kind, self.line, node=origin,
                                      operands=[load(n) for n in ir.names_in(expression)]))

    def _name_for(self, node: ast.expr) -> str:
        """A readable name for a temporary holding ``node``'s value."""
        def word(part):
            if isinstance(part, ast.Name):
                return part.id
            if isinstance(part, ast.Constant) and isinstance(part.value, int):
                return str(part.value).replace("-", "neg")
            if isinstance(part, ast.Attribute):
                return part.attr
            return None

        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            left, right = word(node.left), word(node.right)
            if left and right:
                if isinstance(node.op, (ast.Mult, ast.MatMult)) and len(left + right) <= 3:
                    return left + right
                return f"{left}_{OPERATORS[type(node.op)][1]}_{right}"
        if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
            operand = word(node.operand)
            if operand:
                return f"{UNARY[type(node.op)][1]}_{operand}"
        if isinstance(node, ast.Call):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else word(function)
            parts = [word(a) for a in node.args]
            if (
                isinstance(function, ast.Attribute)
                and function.attr in METHODS
                and is_missing(self._static(function))
            ):
                receiver = word(function.value)
                parts = [receiver] if receiver else []
            parts = [p for p in parts if p]
            if name:
                return "_".join([name, *parts]) if parts else name
        if isinstance(node, ast.Subscript):
            base = word(node.value)
            index = word(node.slice)
            if base and index:
                return f"{base}_{index}"
            if base:
                return f"{base}_part"
        if isinstance(node, ast.Attribute) and node.attr == "T":
            base = word(node.value)
            if base:
                return base + "T"
        return "tmp"
