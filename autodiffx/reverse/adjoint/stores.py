"""Stores into a subscript, ``t[i] = v``: the forward sweep stores, the adjoint sweep gives
``dv`` the part ``dt[i]`` (unbroadcast to ``v``'s shape, checked at run time when ``t``
may hold integers) and zeroes ``dt[i]``, since the stored-over values no longer count."""

from __future__ import annotations

import ast
import copy

import numpy as np

from .. import ir, ranks
from .nodes import _assign, _call, _load, _np


class Stores:
    """The forward and adjoint code of ``ir.Store`` statements."""

    def _forward_store(self, statement: ir.Store) -> list:
        target = ast.Subscript(value=_load(statement.target),
                               slice=copy.deepcopy(statement.index), ctx=ast.Store())
        return [_assign(target, copy.deepcopy(statement.value), pure=False)]

    def _reverse_store(self, statement: ir.Store, defined: set[str]) -> list:
        target = statement.target
        gradient = self.adjoint(target)
        if target not in self.relevant or gradient not in defined:
            return []
        out: list = []
        # resolved once per use, never copied: a tape read is patched into these nodes
        index, where = (self._resolve(self._operand(statement.index), statement)
                        for _ in range(2))
        value = statement.value
        if isinstance(value, ast.Name) and value.id in self.relevant:
            part = ast.Subscript(value=_load(gradient), slice=index, ctx=ast.Load())
            part_rank = ranks.index_rank(self.rank(target), statement.index, self.rank_of)
            value_rank = self.rank(value.id)
            if not (part_rank == 0 and value_rank == 0):
                self.helpers_used.add("unbroadcast")
                part = _call(_load("unbroadcast"), part,
                             self.value(value.id, statement, "before", value_use=False))
                if self.adjoint(value.id) not in defined:
                    part = _call(_np("copy"), part)
            if target not in self.lists and not self._surely_inexact(target, set()):
                # an integer or boolean target truncates what is stored: checked at run time
                self.helpers_used.add("through_cast")
                part = _call(_load("through_cast"), part,
                             self.value(target, statement, "before", value_use=False))
            self._contribute(value.id, part, defined, out)
        zero = ast.Subscript(value=_load(gradient), slice=where, ctx=ast.Store())
        if target in self.lists:  # an item replaced: zeros of its shape, not a number
            zeroed = self._resolve(self._operand(statement.index), statement)
            item = ast.Subscript(value=_load(gradient), slice=zeroed, ctx=ast.Load())
            out.append(_assign(zero, _call(_np("zeros_like"), item)))
        else:
            out.append(_assign(zero, ast.Constant(0.0)))
        return out

    def _surely_inexact(self, name: str, seen: set[str]) -> bool:
        """Whether every binding of ``name`` makes an array of floats: a differentiated
        argument, the result of a rule with a differentiated operand, or ``np.zeros``-like
        constructors without an integer ``dtype``. Then a value stored into it keeps its
        derivative; otherwise the generated code checks the dtype at run time."""
        if name in seen:
            return True  # a cycle through loops: decided by the other bindings
        seen.add(name)
        if name in self.params:
            return self.params.index(name) in self.wrt and not any(
                isinstance(s, ir.Assign) and name in ir.bound(s) for s in ir.walk(self.statements))
        bindings = [s for s in ir.walk(self.statements)
                    if isinstance(s, ir.Assign) and name in ir.bound(s)]
        return bool(bindings) and all(self._makes_inexact(s, seen) for s in bindings)

    def _makes_inexact(self, statement: ir.Assign, seen: set[str]) -> bool:
        if statement.targets:
            return False
        operands = [o.id for o in statement.operands if isinstance(o, ast.Name)]
        if statement.kind == "copy":
            return bool(operands) and self._surely_inexact(operands[0], seen)
        if statement.kind == "primitive" and statement.rule.differentiable:
            return any(o in self.relevant and self._surely_inexact(o, seen) for o in operands)
        call = statement.expr
        if statement.kind != "opaque" or not isinstance(call, ast.Call):
            return False
        keywords = {k.arg: k.value for k in call.keywords}
        dtype = keywords.get("dtype")
        if dtype is not None and not _names_float(dtype):
            return False
        function = statement.function
        if function in (np.zeros, np.ones, np.empty, np.eye, np.identity):
            return True
        if function in (np.zeros_like, np.ones_like, np.empty_like) and operands:
            return dtype is not None or self._surely_inexact(operands[0], seen)
        return False


def _names_float(node: ast.expr) -> bool:
    """``float``, ``np.float64``, ``np.float32``, ``"float64"``...: a real floating dtype."""
    text = ast.unparse(node)
    for prefix in ("np.", "numpy."):
        text = text.removeprefix(prefix)
    return text.strip("'\"") in {"float", "float16", "float32", "float64", "double", "single",
                                 "half", "longdouble", "f8", "f4", "d"}
