"""Loops: ``for`` over a range, a sequence, ``enumerate`` or ``zip`` as a loop over
indices (a literal list unrolled), ``while``, and ``break``/``continue`` lowered to flags
(:func:`lower_jumps`)."""

from __future__ import annotations

import ast
import builtins
import copy

from .. import ir
from ..fence import refuse
from .names import load


class Loops:
    """``for`` and ``while``, for :class:`~autodiffx.reverse.normalize.Normalizer`."""

    def _while(self, node: ast.While) -> list:
        return [ir.While(node.test, self._block(node.body), node.lineno)]

    def _unreversed(self, sequence: ast.expr) -> ast.expr:
        """``reversed(s)``, looped over, as ``s[::-1]``: the same items in the same order,
        and an index (a view of an array) that reverse mode differentiates."""
        if _is_call_to(sequence, "reversed", self.source) and len(sequence.args) == 1 and (
                not sequence.keywords):
            return ast.copy_location(ast.Subscript(
                value=sequence.args[0], slice=ast.Slice(step=ast.Constant(-1)),
                ctx=ast.Load()), sequence)
        return sequence

    def _for(self, node: ast.For) -> list:
        iterator = node.iter
        target = node.target
        prologue = []
        flipped = self._unreversed(iterator)
        if isinstance(flipped, ast.Subscript) and isinstance(flipped.value, (ast.List,
                                                                            ast.Tuple)):
            # reversed([a, b, c]): a, b and c computed in that order, then looped backwards
            iterator = ast.List(elts=[self._atom(e) for e in flipped.value.elts][::-1],
                                ctx=ast.Load())
        if isinstance(iterator, (ast.List, ast.Tuple)) and not any(
            isinstance(n, (ast.Break, ast.Continue)) for n in ast.walk(node)
        ):
            # a loop over a literal list is unrolled: one copy of the body per element,
            # after what the statement put before the loop (a comprehension's `ws = []`)
            out = self.pending
            for element in iterator.elts:
                self.pending = []
                self._assign_target(target, element, node)
                out += self.pending
                out += self._block(copy.deepcopy(node.body))
            return out
        backwards = _reversed_range(iterator, self.source)
        if backwards is not None or _is_call_to(iterator, "range", self.source):
            if not isinstance(target, ast.Name):
                raise refuse(self.source, target, "unpacking a range", "use one name")
            counting = backwards or iterator
            args = [self._atom(a) for a in counting.args]
            loop_iter = ast.Call(func=counting.func, args=args, keywords=[])
            if backwards is not None:  # for t in reversed(range(T)), as it is written
                loop_iter = ast.Call(func=iterator.func, args=[loop_iter], keywords=[])
            index = target.id
            before = self.pending
        else:
            counter = None  # enumerate(sequence, start): (the name counting, start)
            if _is_call_to(iterator, "enumerate", self.source):
                starts = [*iterator.args[1:], *(k.value for k in iterator.keywords
                                               if k.arg == "start")]
                if (
                    len(iterator.args) + len(iterator.keywords) - len(starts) != 1
                    or len(starts) > 1
                    or not isinstance(target, ast.Tuple)
                    or len(target.elts) != 2
                    or not isinstance(target.elts[0], ast.Name)
                ):
                    raise refuse(self.source, iterator, "this use of enumerate",
                                 "write 'for i, item in enumerate(sequence)' or "
                                 "'enumerate(sequence, start)'")
                index_node, item = target.elts
                sequences = [self._atom(self._unreversed(iterator.args[0]))]
                items = [item]
                index = index_node.id
                if starts:  # i = position + start, the position indexing the sequence
                    counter = (index_node, self._atom(starts[0]))
                    index = None
            elif _is_call_to(iterator, "zip", self.source):
                if not isinstance(target, ast.Tuple) or len(target.elts) != len(iterator.args):
                    raise refuse(self.source, target, "this use of zip",
                                 "unpack one name per zipped sequence")
                sequences = [self._atom(self._unreversed(a)) for a in iterator.args]
                items = list(target.elts)
                index = None
            else:
                sequences = [self._atom(self._unreversed(iterator))]
                items = [target]
                index = None
            before = self.pending
            if index is None or index == "_":
                index = self._fresh("index")
            lengths = [
                ast.Call(func=ast.Name(id="len", ctx=ast.Load()), args=[copy.deepcopy(s)],
                         keywords=[])
                for s in sequences
            ]
            length = lengths[0] if len(lengths) == 1 else ast.Call(
                func=ast.Name(id="min", ctx=ast.Load()), args=lengths, keywords=[])
            loop_iter = ast.Call(func=ast.Name(id="range", ctx=ast.Load()), args=[length],
                                 keywords=[])
            self.pending = []
            if counter is not None:
                counted, start = counter
                self._assign_target(counted, ast.BinOp(left=load(index), op=ast.Add(),
                                                       right=start), node)
            for sequence, item in zip(sequences, items, strict=True):
                element = ast.Subscript(value=copy.deepcopy(sequence), slice=load(index),
                                        ctx=ast.Load())
                self._assign_target(item, element, node)
            prologue = self.pending
        body = prologue + self._block(node.body)
        self.line = node.lineno
        return [*before, ir.For(index, loop_iter, body, node.lineno)]


def _reversed_range(node, source) -> ast.Call | None:
    """The ``range(...)`` of ``reversed(range(...))``, else None."""
    if _is_call_to(node, "reversed", source) and len(node.args) == 1 and not node.keywords \
            and _is_call_to(node.args[0], "range", source):
        return node.args[0]
    return None


def _is_call_to(node, name, source) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == name
        and source.resolve(name) is getattr(builtins, name)
    )


def lower_jumps(statements: list, namer: ir.Namer) -> list:
    """Replace ``break``/``continue`` by flags, so that loop bodies are structured.

    ``if c: break`` sets ``broke = True``, the rest of the body runs under
    ``if not broke:``, and the body ends with ``if broke: break``. The adjoint sweep then
    only has to count iterations and replay the recorded branch decisions.
    """
    out = []
    for statement in statements:
        if isinstance(statement, ir.If):
            statement.body = lower_jumps(statement.body, namer)
            statement.orelse = lower_jumps(statement.orelse, namer)
        if isinstance(statement, (ir.For, ir.While)):
            statement.body = lower_jumps(statement.body, namer)
            kinds = _jumps(statement.body)
            if kinds:
                flags = {kind: namer.fresh("broke" if kind is ir.Break else "skip")
                         for kind in (ir.Break, ir.Continue) if kind in kinds}
                body = _rewrite(statement.body, flags, statement.line)
                if ir.Continue in flags:
                    body.insert(0, _flag(flags[ir.Continue], False, statement.line))
                if ir.Break in flags:
                    out.append(_flag(flags[ir.Break], False, statement.line))
                    body.append(ir.If(load(flags[ir.Break]), [ir.Break(-statement.line)], [],
                                      -statement.line))
                statement.body = body
        out.append(statement)
    return out


def _jumps(statements) -> set:
    found = set()
    for statement in statements:
        if isinstance(statement, (ir.Break, ir.Continue)):
            found.add(type(statement))
        elif isinstance(statement, ir.If):
            found |= _jumps(statement.body) | _jumps(statement.orelse)
    return found


def _flag(name, value, line) -> ir.Assign:
    return ir.Assign(name, ast.Constant(value), "opaque", -line)


def _rewrite(statements, flags, line) -> list:
    out = []
    for position, statement in enumerate(statements):
        if isinstance(statement, (ir.Break, ir.Continue)):
            out.append(_flag(flags[type(statement)], True, statement.line))
            return out
        if isinstance(statement, ir.If) and _jumps([statement]):
            kinds = _jumps([statement])
            out.append(ir.If(statement.test, _rewrite(statement.body, flags, line),
                             _rewrite(statement.orelse, flags, line), statement.line))
            rest = _rewrite(statements[position + 1 :], flags, line)
            if rest:
                names = [load(flags[k]) for k in (ir.Break, ir.Continue) if k in kinds]
                test = names[0] if len(names) == 1 else ast.BoolOp(op=ast.Or(), values=names)
                guard = ast.UnaryOp(op=ast.Not(), operand=test)
                out.append(ir.If(guard, rest, [], -abs(rest[0].line)))
            return out
        out.append(statement)
    return out
