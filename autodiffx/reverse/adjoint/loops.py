"""Loops, ``for`` and ``while``: the adjoint sweep runs the body's adjoint backwards as
many times as the forward sweep ran it, with ``reversed(range(n))`` when the loop is a
``for i in range(n)`` whose bounds do not change, else with a trip counter the forward
sweep keeps. A value bound in the body and read in the next iteration is pushed once per
iteration: the exit value of one iteration is the entry value of the next. The adjoint of
an item read in the body (``xs[t]``) is added in place (``add_at``) into the adjoint of the
whole, a buffer the loop zeroes and owns, so that a step costs the item's size."""

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
                and (_is_range(loop.iter) or _is_reversed_range(loop.iter))
                and all(self._stable(n, loop, "before") for n in ir.names_in(loop.iter)
                        if n not in ("range", "reversed"))
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
            # the loop run backwards: reversed(range(n)) for range(n), and range(n) for
            # reversed(range(n))
            iterator = arguments.args[0] if _is_reversed_range(arguments) else _call(
                _load("reversed"), arguments)
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
        self._scatter_in_place(out)
        return out

    def _scatter_in_place(self, out: list) -> None:
        """``dxs = dxs + unindex(dxs_t, xs, t)`` in the adjoint loop ``out[-1]`` becomes
        ``dxs = add_at(dxs, t, dxs_t)``, which adds in place, when ``dxs`` is a buffer the
        loop owns: zeroed just before it (``np.zeros_like``, a new array), and inside it
        named only by its own sums ``dxs = dxs + ...``, so that no other name can share its
        memory. A step then costs the size of ``xs[t]``, not of ``xs``."""
        if self.request_callee is not None:
            return  # flat code is differentiated again, through the rules of its helpers
        loop = out[-1]
        owned = {s.targets[0].id for s in out[:-1] if _is_zeros_like(s)}
        if not owned:
            return
        uses: dict[str, int] = {}
        for node in ir.name_nodes(loop):
            if node.id in owned:
                uses[node.id] = uses.get(node.id, 0) + 1
        sums: dict[str, list[ast.Assign]] = {}
        for node in ast.walk(loop):
            name = _sum_into(node)
            if name in owned:
                sums.setdefault(name, []).append(node)
        for name, statements in sums.items():
            if uses[name] != 2 * len(statements):
                continue  # read or bound elsewhere in the loop: another name may share it
            for statement in statements:
                added = statement.value.right
                if (isinstance(added, ast.Call) and isinstance(added.func, ast.Name)
                        and added.func.id == "unindex" and len(added.args) == 3
                        and not added.keywords):
                    g, _, index = added.args
                    statement.value = _call(_load("add_at"), _load(name), index, g)
                    self.helpers_used.add("add_at")


def _is_zeros_like(statement) -> bool:
    """Whether ``statement`` is ``name = np.zeros_like(...)``."""
    return (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Attribute)
            and statement.value.func.attr == "zeros_like"
            and isinstance(statement.value.func.value, ast.Name)
            and statement.value.func.value.id == "np")


def _sum_into(node) -> str | None:
    """``name`` when ``node`` is ``name = name + e`` with ``e`` not reading ``name``."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.BinOp)
            and isinstance(node.value.op, ast.Add) and isinstance(node.value.left, ast.Name)):
        return None
    name = node.targets[0].id
    if node.value.left.id != name or any(
            n.id == name for n in ir.name_nodes(node.value.right)):
        return None
    return name


def _is_reversed_range(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "reversed" and len(node.args) == 1 and _is_range(node.args[0]))


def _is_range(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range")
