"""Program points: every statement numbered in order, with the points where each name is
bound, stored into or read, and the questions asked of them (is a value still the one a
statement saw, which statement of a block holds another, is a name surely bound)."""

from __future__ import annotations

import ast
import bisect
import functools
import operator

from .. import ir, mutation


class ProgramPoints:
    """The numbering of statements that the sweeps ask where values change."""

    def _alias_mutations(self, statements) -> None:
        """A view (``y[::-1]``, ``np.reshape(y, ...)``) changes when its base is stored
        into: it counts as mutated there too, so a value the adjoint sweep reads is saved
        as a copy before the store, not read back changed."""
        changed = True
        while changed:
            changed = False
            for statement in ir.walk(statements):
                if not (isinstance(statement, ir.Assign) and statement.kind == "primitive"
                        and (statement.function in mutation.VIEWS
                             or statement.function is operator.getitem)
                        and statement.operands and isinstance(statement.operands[0], ast.Name)):
                    continue
                base = statement.operands[0].id
                for position in self.mutations.get(base, []):
                    positions = self.mutations.setdefault(statement.target, [])
                    if position not in positions:
                        positions.append(position)
                        changed = True

    def _number(self, statements, loops) -> None:
        for statement in statements:
            self.block_of[id(statement)] = statements
            position = len(self.index)
            self.index[id(statement)] = position
            self.loops_of[id(statement)] = loops
            for name in ir.writes(statement):
                self.binds.setdefault(name, []).append(position)
            if isinstance(statement, (ir.Store, ir.Append)):
                self.mutations.setdefault(statement.target, []).append(position)
            for name in [*ir.reads(statement), *ir.writes(statement)]:
                self.references.setdefault(name, []).append(position)
            inner = [*loops, statement] if isinstance(statement, (ir.For, ir.While)) else loops
            for block in ir.children(statement):
                self._number(block, inner)
            self.end[id(statement)] = len(self.index) - 1

    def _span(self, statement) -> tuple[int, int]:
        return self.index[id(statement)], self.end[id(statement)]

    def _stable(self, name: str, statement, timing: str, value_use: bool = True) -> bool:
        """Whether the closure still holds the value ``name`` had at ``statement``."""
        if name not in self.local_names:
            return True
        if any(id(loop) in self.range_loops and loop.target == name
               for loop in self.loops_of[id(statement)]):
            return True
        start, end = self._span(statement)
        limit = end if timing == "after" else start - 1
        sites = list(self.binds.get(name, []))
        if value_use:
            sites += self.mutations.get(name, [])
        if any(site > limit for site in sites):
            return False
        for loop in self.loops_of[id(statement)]:
            low, high = self._span(loop)
            if any(low <= site <= high for site in sites):
                return False
        return True

    def _point(self, statement, timing: str) -> float:
        start, end = self._span(statement)
        return start - 0.5 if timing == "before" else end + 0.5

    def _changes_between(self, name: str, low: float, high: float) -> bool:
        sites = self.binds.get(name, []) + self.mutations.get(name, [])
        return any(low < site < high for site in sites)

    def _ancestor_in(self, statement, block: list):
        """The statement of ``block`` that is or contains ``statement``: a binary search of
        the block's spans, which are in order and do not overlap."""
        position = self.index[id(statement)]
        starts = self._starts.get(id(block))
        if starts is None or len(starts) != len(block):
            starts = self._starts[id(block)] = [self.index[id(s)] for s in block]
        found = bisect.bisect_right(starts, position) - 1
        if found >= 0 and position <= self.end[id(block[found])]:
            return block[found]
        raise AssertionError("statement outside the block")

    @functools.cached_property
    def _starts(self) -> dict[int, list[int]]:
        """Each block's statements' numbers, for :meth:`_ancestor_in`."""
        return {}

    def _bound_before(self, name: str, statement, timing: str = "before") -> bool:
        """Whether ``name`` surely has a value at ``statement`` (before or after it): an
        earlier statement on the path to it binds ``name`` on every branch."""
        if name in self.params:
            return True
        block = self.statements
        while True:
            ancestor = self._ancestor_in(statement, block)
            position = next(i for i, s in enumerate(block) if s is ancestor)
            upto = position + (1 if ancestor is statement and timing == "after" else 0)
            if any(_binds_surely(name, s) for s in block[:upto]):
                return True
            if ancestor is statement:
                return False
            block = next(b for b in ir.children(ancestor)
                         if any(s is statement for s in ir.walk(b)))


def _binds_surely(name: str, statement) -> bool:
    """Whether running ``statement`` always binds ``name`` (a loop may run no times)."""
    if isinstance(statement, ir.Assign):
        return name in ir.bound(statement)
    if isinstance(statement, ir.If):
        return all(any(_binds_surely(name, s) for s in block)
                   for block in (statement.body, statement.orelse))
    return False
