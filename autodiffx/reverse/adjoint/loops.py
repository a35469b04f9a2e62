"""Loops, ``for`` and ``while``: the adjoint sweep runs the body's adjoint backwards as
many times as the forward sweep ran it, with ``reversed(range(n))`` when the loop is a
``for i in range(n)`` whose bounds do not change, else with a trip counter the forward
sweep keeps. A value bound in the body and read in the next iteration is pushed once per
iteration: the exit value of one iteration is the entry value of the next."""

from __future__ import annotations

import ast
import copy
import functools

from .. import ir
from .blocks import _has_code
from .nodes import _assign, _call, _load, _store


class Loops:
    """The forward and adjoint code of ``ir.For`` and ``ir.While`` statements."""

    def _forward_loop(self, statement) -> list:
        out = []
        body = self._forward_block(statement.body, statement.line)
        counter = self.counters.get(id(statement))
        if counter is not None:
            out.append(_assign(counter, ast.Constant(0), pure=False))
            body.insert(0, ast.AugAssign(target=_store(counter), op=ast.Add(),
                                         value=ast.Constant(1)))
        body = body or [ast.Pass()]
        if isinstance(statement, ir.For):
            out.append(ast.For(target=_store(statement.target),
                               iter=copy.deepcopy(statement.iter), body=body, orelse=[],
                               type_comment=None, lineno=0))
        else:
            out.append(ast.While(test=copy.deepcopy(statement.test), body=body, orelse=[]))
        return out

    def _range_loops(self) -> set[int]:
        """Loops ``for i in range(...)`` that the adjoint sweep can run with ``reversed``."""
        candidates = {}
        for statement in ir.walk(self.statements):
            if isinstance(statement, ir.For):
                candidates.setdefault(statement.target, []).append(statement)
        chosen = set()
        for name, loops in candidates.items():
            if len(self.binds.get(name, [])) != len(loops) or name in self.params:
                continue
            spans = [self._span(loop) for loop in loops]
            inside = all(any(a <= p <= b for a, b in spans) for p in self.references[name])
            simple = all(
                not any(isinstance(s, ir.Break) for s in ir.walk(loop.body))
                and _is_range(loop.iter)
                and all(self._stable(n, loop, "before") for n in ir.names_in(loop.iter)
                        if n != "range")
                for loop in loops
            )
            if inside and simple:
                chosen |= {id(loop) for loop in loops}
        return chosen

    def _carried(self, name: str, statement, timing: str, value_use: bool):
        """``(loop, "entry")`` when ``name`` holds, at this point, the value it had when the
        innermost loop's iteration began; ``(loop, "exit")`` when the value it will have
        when the iteration ends; ``None`` otherwise. The exit value of one iteration is the
        entry value of the next, so one push per iteration serves both."""
        loops = self.loops_of[id(statement)]
        if not loops:
            return None
        loop = loops[-1]
        if isinstance(loop, ir.For) and loop.target == name or self._breaks(loop):
            return None
        if value_use and self.mutations.get(name):
            return None
        low, high = self._span(loop)
        sites = [s for s in self.binds.get(name, []) if low < s <= high]
        if not sites:
            return None
        point = self._point(statement, timing)
        if all(site > point for site in sites):
            return loop, "entry"
        if all(site < point for site in sites):
            return loop, "exit"
        return None

    def _breaks(self, loop) -> bool:
        """Whether ``loop``'s body holds a ``break`` (asked once per loop)."""
        found = self._loop_breaks.get(id(loop))
        if found is None:
            found = any(isinstance(s, ir.Break) for s in ir.walk(loop.body))
            self._loop_breaks[id(loop)] = found
        return found

    @functools.cached_property
    def _loop_breaks(self) -> dict[int, bool]:
        return {}

    def _resolve_deferred(self) -> None:
        """Exit values read from the next iteration's entry value, or pushed where read."""
        while self.deferred:
            loop, name, statement, timing, value_use, node = self.deferred.pop(0)
            entry = self.entries.get((id(loop), name))
            if entry is not None and entry.host[0] is statement and not ir.children(statement):
                entry = None  # its pop would come before this read, in the same statement
            if entry is None:
                saved = self._shared(name, statement, timing) or self._save(
                    name, statement, timing, value_use)
                saved.nodes.append(node)
                continue
            entry.nodes.append(node)
            if (id(loop), name) not in self.carried_in:
                # before the adjoint loop: the value the last iteration ended with
                self.carried_in[(id(loop), name)] = (entry, self.value(name, loop, "after",
                                                                     value_use))

    def _reverse_loop(self, statement, defined: set[str]) -> list:
        if not self._has_work([statement.body]):
            return []
        out: list = []
        entry = self._enter(statement, [statement.body], defined, out)
        if id(statement) in self.range_loops:
            arguments = self._resolve(self._operand(statement.iter), statement)
            iterator = _call(_load("reversed"), arguments)
            target = _store(statement.target)
        else:
            counter = self.namer.fresh("trips")
            self.counters[id(statement)] = counter
            self.local_names.add(counter)
            self.binds[counter] = [self.index[id(statement)]]
            iterator = _call(_load("range"), self.value(counter, statement, "after"))
            target = _store("_" if "_" not in self.namer.taken else self.namer.fresh("step"))
        body = self._reverse_body(statement.body, entry, statement.line)
        if not _has_code(body):
            return out
        carry = ast.Pass()
        carry.carry_for = statement
        out.append(carry)
        out.append(ast.For(target=target, iter=iterator, body=body, orelse=[],
                           type_comment=None, lineno=0))
        return out


def _is_range(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range")
