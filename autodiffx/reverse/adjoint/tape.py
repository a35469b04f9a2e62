"""How the adjoint sweep reads forward values: from the closure while a value is still the
one a statement saw, otherwise pushed on the tape in the forward sweep and popped back, in
reverse order, where the adjoint sweep reads it. Also: the shapes kept instead of arrays
(``KEEP_SHAPES_ONLY``) and the names of the locals popped values land in."""

from __future__ import annotations

import ast
import copy
import functools
import operator
from dataclasses import dataclass, field

from ...rules.helpers import HELPERS
from .. import ir, mutation
from .nodes import _assign, _call, _load, _np, _store

# arguments read for their shape only: the helper's argument at that position, and every
# argument of np.shape, np.size...
_SHAPE_HELPERS = {"unbroadcast": 1, "unreduce": 1, "unindex": 1}
_SHAPE_FUNCTIONS = {"shape", "size", "ndim", "zeros_like"}


@dataclass
class _Saved:
    """A forward value the adjoint sweep reads back from the tape."""

    name: str
    copy: bool
    local: ast.Name
    nodes: list = field(default_factory=list)
    host: tuple = ()
    """The statement the value is pushed at, and ``"before"`` or ``"after"`` it."""


class Tape:
    """The reads of forward values, and the tape that serves the ones that change."""

    def value(self, name: str, statement, timing: str, value_use: bool = True) -> ast.Name:
        """A name to read ``name``'s value at ``statement`` by, in the adjoint sweep."""
        if self._stable(name, statement, timing, value_use):
            if name in self.local_names:
                self.closure_reads.add(name)
                self.read_counts[name] = self.read_counts.get(name, 0) + 1
            return _load(name)
        node = _load(name)
        carried = self._carried(name, statement, timing, value_use)
        if carried is not None and carried[1] == "exit":
            # read from the entry value of the next iteration, if that one is saved
            self.deferred.append((carried[0], name, statement, timing, value_use, node))
            return node
        if carried is not None and self._ancestor_in(statement, carried[0].body) is statement:
            # pushed where the iteration reads it, and every iteration reaches that point
            loop = carried[0]
            saved = self.entries.get((id(loop), name))
            if saved is None:
                # a compound statement pops its "before" values after its own adjoint
                host_timing = timing if ir.children(statement) else "before"
                saved = self._save(name, statement, host_timing, value_use)
                self.entries[(id(loop), name)] = saved
        else:
            saved = self._shared(name, statement, timing) or self._save(
                name, statement, timing, value_use)
        if value_use and self.mutations.get(name):
            saved.copy = True
        saved.nodes.append(node)
        return node

    def _save(self, name: str, statement, timing: str, value_use: bool) -> _Saved:
        """Push ``name`` on the tape at ``statement`` (before or after it)."""
        mutated = bool(self.mutations.get(name)) and value_use
        saved = _Saved(name, mutated, _load(name))
        saved.nodes.append(saved.local)
        saved.host = (statement, timing)
        self.pushes.setdefault(id(statement), {"before": [], "after": []})[timing].append(
            saved)
        self.saved.append(saved)
        self._saved_by_name.setdefault(name, []).append(saved)
        return saved

    @functools.cached_property
    def _saved_by_name(self) -> dict[str, list[_Saved]]:
        """``self.saved`` by variable, in the same order: a read looks only at its own."""
        return {}

    def _shared(self, name: str, statement, timing: str) -> _Saved | None:
        """A value already saved at a later statement of the same block that still holds
        what ``name`` holds here: never push one value twice. Not one saved after an
        earlier statement, even at the same point: the adjoint sweep pops it after this
        statement's adjoint."""
        block = self.block_of[id(statement)]
        point = self._point(statement, timing)
        for saved in self._saved_by_name.get(name, ()):
            host, host_timing = saved.host
            if self.block_of[id(host)] is not block:
                continue
            if self.index[id(host)] < self.index[id(statement)]:
                continue
            other = self._point(host, host_timing)
            if other >= point and not self._changes_between(name, point, other):
                return saved
        return None

    def _drop_unpopped(self, body: list) -> None:
        """Push only what the adjoint sweep pops: a branch or loop whose adjoint has no work
        is left out of it with the tape reads inside it (a nested condition, say), so the
        values saved there must not be pushed either, or later reads get the wrong ones."""
        kept: set[tuple[int, str]] = set()

        def visit(block: list) -> None:
            for node in block:
                statement = getattr(node, "pops_for", None)
                if statement is not None:
                    timing = getattr(node, "timing", None)
                    for which in ("before", "after") if timing is None else (timing,):
                        kept.add((id(statement), which))
                    continue
                for field_name in ("body", "orelse"):
                    inner = getattr(node, field_name, None)
                    if isinstance(inner, list):
                        visit(inner)

        visit(body)
        dropped = {id(saved) for saved in self.saved
                   if (id(saved.host[0]), saved.host[1]) not in kept}
        if not dropped:
            return
        lists = [self.saved, *self._saved_by_name.values()]
        lists += [values for pushes in self.pushes.values() for values in pushes.values()]
        for values in lists:
            values[:] = [saved for saved in values if id(saved) not in dropped]

    def _name_saved_values(self) -> None:
        """Name the locals that hold values read back from the tape: the variable's own
        name when the closure does not need it, else ``<name>_saved``, ``<name>_saved_2``
        for the different values of one variable."""
        versions: dict[str, list[_Saved]] = {}
        for saved in self.saved:
            versions.setdefault(saved.name, []).append(saved)
        for name, group in versions.items():
            group.sort(key=lambda saved: self._point(*saved.host))
            reuse = len(group) == 1 and name not in self.closure_reads and (
                name not in self.params)
            for saved in group:
                local = name if reuse else self.namer.fresh(name + "_saved")
                for node in saved.nodes:
                    node.id = local

    def _fill_pops(self, body: list) -> None:
        """Replace each statement's placeholder by the reads of its saved values."""
        position = 0
        while position < len(body):
            node = body[position]
            loop = getattr(node, "carry_for", None)
            if loop is not None:
                inits = [_assign(_store(saved.nodes[0].id), copy.deepcopy(value), pure=False)
                         for (key, _), (saved, value) in self.carried_in.items()
                         if key == id(loop)]
                body[position : position + 1] = self._tag(inits, loop, "adjoint")
                position += len(inits)
                continue
            statement = getattr(node, "pops_for", None)
            if statement is not None:
                pops = []
                pushes = self.pushes.get(id(statement), {"before": [], "after": []})
                timing = getattr(node, "timing", None)
                popped = [*reversed(pushes["after"]), *reversed(pushes["before"])]
                if timing is not None:
                    popped = list(reversed(pushes[timing]))
                for saved in popped:
                    pops.append(_assign(_store(saved.local.id),
                                        _call(_load("next"), _load(self.replay)), pure=False))
                body[position : position + 1] = self._tag(pops, statement, "adjoint")
                position += len(pops)
                continue
            for field_name in ("body", "orelse"):
                block = getattr(node, field_name, None)
                if isinstance(block, list):
                    self._fill_pops(block)
            position += 1

    def _operand(self, node: ast.expr) -> ast.expr:
        local_names = self.local_names

        def marked(sub: ast.AST) -> ast.expr | None:
            if not (isinstance(sub, ast.Name) and sub.id in local_names):
                return None
            name = ir.copy_tree(sub)
            name.forward = (sub.id, "before")
            return name

        return ir.copy_tree(node, marked)

    def _resolve(self, tree: ast.expr, statement) -> ast.expr:
        """Turn the marked forward names in ``tree`` into closure reads or tape reads.

        One walk, depth first in field order (the order of the tape's pushes): a call is
        met before its arguments, so whether an argument is read only for its shape is
        known when the argument's name is resolved."""
        shape_only: set[int] = set()
        shaped: dict[int, ast.Call] = {}  # the second argument of unbroadcast(g, t)
        value = self.value
        candidates = self.shape_candidates
        helpers_used = self.helpers_used

        def resolved(node: ast.AST) -> ast.AST:
            if isinstance(node, ast.Name):
                marked = getattr(node, "forward", None)
                if marked is None:
                    return node
                name, timing = marked
                read = value(name, statement, timing, id(node) not in shape_only)
                if id(node) in shaped and read.id == name:
                    candidates.append((shaped[id(node)], read))
                return read
            if isinstance(node, ast.Call):
                function = node.func
                name = function.id if isinstance(function, ast.Name) else (
                    function.attr if isinstance(function, ast.Attribute) else None)
                if name in _SHAPE_HELPERS and len(node.args) > _SHAPE_HELPERS[name]:
                    shape_only.add(id(node.args[_SHAPE_HELPERS[name]]))
                elif isinstance(function, ast.Attribute) and name in _SHAPE_FUNCTIONS:
                    shape_only.update(id(a) for a in node.args)
                if isinstance(function, ast.Name) and function.id in HELPERS:
                    helpers_used.add(function.id)
                if name == "unbroadcast" and isinstance(function, ast.Name) and len(
                        node.args) == 2:
                    shaped[id(node.args[1])] = node
            for part in node._fields:
                child = getattr(node, part, None)
                if isinstance(child, ast.AST):
                    setattr(node, part, resolved(child))
                elif isinstance(child, list):
                    child[:] = [resolved(c) if isinstance(c, ast.AST) else c for c in child]
            return node

        tree = resolved(tree)
        resolved = None  # a cycle through its own closure cell (see Calls._substitute)
        return tree

    def _fresh_matrix(self, name: str) -> bool:
        """Whether ``name`` is bound once, to a new array of rank 2 or more (not a view):
        worth freeing early."""
        producers = [s for s in ir.walk(self.statements)
                     if isinstance(s, ir.Assign) and name in ir.bound(s)]
        if len(producers) != 1 or (self.rank(name) or 0) < 2:
            return False
        producer = producers[0]
        return producer.kind == "primitive" and not producer.targets and (
            producer.function not in mutation.VIEWS) and producer.function is not operator.getitem

    def _keep_shapes_only(self) -> None:
        """``unbroadcast(g, t)`` for a temporary ``t`` the adjoint sweep reads nothing else
        of becomes ``unbroadcast_to(g, t_shape)``, so that the closure keeps a shape, not
        the array."""
        counts: dict[str, int] = {}
        for _, node in self.shape_candidates:
            counts[node.id] = counts.get(node.id, 0) + 1
        direct = self.closure_reads - set(self.read_counts)  # read without value()
        for call, node in self.shape_candidates:
            name = node.id
            if (counts[name] != self.read_counts.get(name) or name in direct
                    or name in self.params or not self._fresh_matrix(name)):
                continue
            if name not in self.shape_names:
                self.shape_names[name] = self.namer.fresh(name + "_shape", adjoint_too=False)
            node.id = self.shape_names[name]
            call.func = _load("unbroadcast_to")
            self.helpers_used.add("unbroadcast_to")

    def _push(self, saved: _Saved) -> ast.stmt:
        value = _load(saved.name)
        if saved.copy:
            value = _call(_load("list") if saved.name in self.lists else _np("copy"), value)
        append = ast.Attribute(value=_load(self.tape), attr="append", ctx=ast.Load())
        return ast.Expr(value=_call(append, value))
