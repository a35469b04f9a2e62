"""Returns: early returns made regular (the code after an ``if`` that returns moves into
the branches that fall through; a return inside a loop becomes ``result = v``, a flag and
``break``), and the result name, or one name per item of a returned tuple."""

from __future__ import annotations

import ast
import copy

from .. import ir
from ..fence import refuse
from .names import load


class Returns:
    """``return``, for :class:`~autodiffx.reverse.normalize.Normalizer`."""

    def _tuple_results(self, base: str) -> list[str]:
        """One result name per item when the function returns tuples (``return a, b``)."""
        returns = [n for n in ir.nodes(self.source.node) if isinstance(n, ast.Return)]
        sizes = {len(n.value.elts) if isinstance(n.value, ast.Tuple) else None
                 for n in returns if n.value is not None}
        if sizes in (set(), {None}):
            return []
        if len(sizes) > 1:
            node = next(n for n in returns if not isinstance(n.value, ast.Tuple) or len(
                n.value.elts) != max(s for s in sizes if s is not None))
            raise refuse(self.source, node, "returns of tuples of different lengths",
                         "return tuples of one length on every path")
        (size,) = sizes
        names = [self.namer.fresh(f"{base}_{position}") for position in range(size)]
        self.locals.update(names)
        return names

    def _result_value(self) -> ast.expr:
        if self.results:
            return ast.Tuple(elts=[load(n) for n in self.results], ctx=ast.Load())
        return load(self.result)

    def _restructure_returns(self, statements: list) -> list:
        """Move the code after an ``if`` that returns into the branches that fall through."""
        for position, statement in enumerate(statements):
            if isinstance(statement, ast.Return):
                return statements[: position + 1]
            if isinstance(statement, (ast.For, ast.While)) and contains_return(statement):
                # for ...: ... return v  becomes  result = v; returned = True; break, and
                # after the loop: if returned: return result (an early return, below)
                flag = self._fresh("returned")
                returns = [n for n in ast.walk(statement) if isinstance(n, ast.Return)]
                sizes = {len(r.value.elts) if isinstance(r.value, ast.Tuple) else None
                         for r in returns}
                size = sizes.pop() if len(sizes) == 1 else None
                results = ([self._fresh("result") for _ in range(size)] if size
                           else [self._fresh("result")])
                loop = _ReturnsToBreaks(flag, results).visit(copy.deepcopy(statement))
                first = ast.copy_location(ast.Assign(
                    targets=[ast.Name(id=flag, ctx=ast.Store())], value=ast.Constant(False)),
                    statement)
                value = (ast.Tuple(elts=[load(r) for r in results], ctx=ast.Load())
                         if size else load(results[0]))
                after = ast.copy_location(ast.If(test=load(flag), body=[
                    ast.copy_location(ast.Return(value=value), returns[0])], orelse=[]),
                    statement)
                ast.fix_missing_locations(after)
                return self._restructure_returns(
                    [*statements[:position], first, loop, after, *statements[position + 1:]])
            if isinstance(statement, ast.If) and contains_return(statement):
                rest = statements[position + 1 :]
                branch = copy.copy(statement)
                branch.body = self._restructure_returns(
                    statement.body + ([] if always_returns(statement.body) else rest)
                )
                branch.orelse = self._restructure_returns(
                    statement.orelse + ([] if always_returns(statement.orelse) else rest)
                )
                return [*statements[:position], branch]
        return statements

    def _return(self, node: ast.Return) -> list:
        if node.value is None:
            raise refuse(self.source, node, "a return without a value", "return a number")
        value = node.value
        if self.results:
            return self._return_tuple(node)
        if self.depth > 1:  # a return inside a branch: assign the result
            self._assign(self.result, value, node)
            return self.pending
        if isinstance(value, ast.Name) and value.id in self.locals and value.id not in self.stored:
            value = load(node.value.id)
        else:
            self._assign(self.result, node.value, node)
            value = load(self.result)
        return [*self.pending, ir.Return(value, node.lineno)]

    def _return_tuple(self, node: ast.Return) -> list:
        """``return a, b``: the items are atoms (a branch assigns them to the results)."""
        items = node.value.elts
        if self.depth > 1:
            for name, item in zip(self.results, items, strict=True):
                self._assign(name, item, node)
            return self.pending
        atoms = []
        for item in items:
            if isinstance(item, ast.Name) and item.id in self.locals and (
                item.id not in self.stored
            ):
                atoms.append(load(item.id))
            else:
                atoms.append(self._atom(item))
        value = ast.Tuple(elts=atoms, ctx=ast.Load())
        return [*self.pending, ir.Return(value, node.lineno)]


class _ReturnsToBreaks(ast.NodeTransformer):
    """Inside a loop: ``return v`` becomes ``result = v; returned = True; break``, and each
    inner loop that holds one is followed by ``if returned: break``."""

    def __init__(self, flag: str, results: list[str]):
        self.flag = flag
        self.results = results
        self.depth = 0

    def visit_FunctionDef(self, node):
        return node  # a nested function's returns are its own

    visit_Lambda = visit_FunctionDef

    def _loop(self, node):
        self.depth += 1
        node = self.generic_visit(node)
        self.depth -= 1
        if self.depth > 0 and _contains_return_marker(node, self.flag):
            leave = ast.If(test=load(self.flag), body=[ast.Break()], orelse=[])
            return [node, ast.fix_missing_locations(ast.copy_location(leave, node))]
        return node

    visit_For = visit_While = _loop

    def visit_Return(self, node):
        value = node.value
        if len(self.results) > 1:
            target: ast.expr = ast.Tuple(elts=[ast.Name(id=r, ctx=ast.Store())
                                              for r in self.results], ctx=ast.Store())
        else:
            target = ast.Name(id=self.results[0], ctx=ast.Store())
        out = [ast.Assign(targets=[target], value=value),
               ast.Assign(targets=[ast.Name(id=self.flag, ctx=ast.Store())],
                          value=ast.Constant(True)),
               ast.Break()]
        return [ast.fix_missing_locations(ast.copy_location(s, node)) for s in out]


def _contains_return_marker(node: ast.AST, flag: str) -> bool:
    """Whether a rewritten loop sets ``flag`` (held a return)."""
    return any(isinstance(n, ast.Name) and n.id == flag and isinstance(n.ctx, ast.Store)
               for n in ast.walk(node))


def contains_return(node) -> bool:
    """Whether ``node`` holds a ``return`` statement."""
    return any(isinstance(n, ast.Return) for n in ast.walk(node))


def always_returns(statements) -> bool:
    """Whether every path through ``statements`` ends in a ``return``."""
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, ast.Return):
        return True
    if isinstance(last, ast.If):
        return always_returns(last.body) and always_returns(last.orelse)
    return False
