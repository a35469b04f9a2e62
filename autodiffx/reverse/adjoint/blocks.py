"""The nested blocks of branches and loops: which adjoints a block adds to and so must be
zero on entry, which names are born and die inside it, whether it has adjoint work at all,
and the zero adjoint of a name (a number, ``np.zeros_like`` or a list of zeros)."""

from __future__ import annotations

import ast
import bisect
import copy
import functools

from .. import ir
from .nodes import _assign, _call, _load, _np, _parsed


class Blocks:
    """What branches and loops share: entering and reversing a nested block."""

    def _contributed(self, statements) -> list[str]:
        """The names that statements inside a block may add adjoint contributions to."""
        names = []
        for statement in ir.walk(statements):
            if isinstance(statement, ir.Assign) and any(
                    t in self.relevant for t in ir.bound(statement)):
                if statement.kind in ("copy", "primitive", "call", "list"):
                    for operand in statement.operands:
                        for name in ir.names_in(operand):
                            if name in self.relevant:
                                names.append(name)
            elif isinstance(statement, ir.Store) and statement.target in self.relevant:
                names += [n for n in ir.names_in(statement.value) if n in self.relevant]
            elif isinstance(statement, ir.Append) and statement.target in self.relevant:
                names += [n for n in (statement.target, *ir.names_in(statement.value))
                          if n in self.relevant]
        return list(dict.fromkeys(names))

    def _block_locals(self, block: list) -> set[str]:
        """Names born and dead inside ``block``: their adjoints need no initial zero."""
        if not block:
            return set()
        low, high = self.index[id(block[0])], self.end[id(block[-1])]
        firsts, names = self._by_first_reference
        found = set()
        # the names first referenced inside the block, then those last referenced there too
        for name in names[bisect.bisect_left(firsts, low):bisect.bisect_right(firsts, high)]:
            if name in self.params or self.references[name][-1] > high:
                continue
            if self._born_in(name, block):
                found.add(name)
        return found

    @functools.cached_property
    def _by_first_reference(self) -> tuple[list[int], list[str]]:
        """The referenced names sorted by the point of their first reference (references
        are numbered in program order), and those points."""
        pairs = sorted((sites[0], name) for name, sites in self.references.items() if sites)
        return [first for first, _ in pairs], [name for _, name in pairs]

    def _born_in(self, name: str, block: list) -> bool:
        """Whether ``name`` is first bound, unconditionally, before any read in ``block``
        (or in the one nested block that holds all its references)."""
        position = self._first_mentions(block).get(name)
        if position is None:
            return False
        statement = block[position]
        if name in ir.reads(statement):
            return False
        if isinstance(statement, ir.Assign) and name in ir.bound(statement):
            return True
        if name in ir.writes(statement):
            return False
        low, high = self._span(statement)
        if not all(low <= site <= high for site in self.references[name]):
            return False
        holders = [b for b in ir.children(statement)
                   if any(name in ir.reads(s) or name in ir.writes(s) for s in ir.walk(b))]
        return len(holders) == 1 and self._born_in(name, holders[0])

    def _first_mentions(self, block: list) -> dict[str, int]:
        """For each name, the position of the first statement of ``block`` that reads,
        binds or writes it, itself or in a nested block: found in one pass per block, not
        one per name."""
        found = self._mentions.get(id(block))
        if found is None:
            found = {}
            for position, statement in enumerate(block):
                for name in (*ir.reads(statement), *ir.writes(statement),
                             *self._nested_names(statement)):
                    found.setdefault(name, position)
            self._mentions[id(block)] = found
        return found

    @functools.cached_property
    def _mentions(self) -> dict[int, dict[str, int]]:
        return {}

    def _nested_names(self, statement) -> set[str]:
        names = self._nested.get(id(statement))
        if names is None:
            names = set()
            for block in ir.children(statement):
                for inner in ir.walk(block):
                    names.update(ir.reads(inner))
                    names.update(ir.writes(inner))
            self._nested[id(statement)] = names
        return names

    @functools.cached_property
    def _nested(self) -> dict[int, set[str]]:
        return {}

    def _zero(self, name: str, statement=None, timing: str = "after") -> ast.expr:
        """A zero adjoint for ``name`` as it is at ``statement`` (before or after it)."""
        if name in self.lists:
            # as many zeros as the list has items when the adjoint sweep reaches statement
            items = self.value(name, statement, timing, value_use=False)
            zeros = copy.deepcopy(_parsed("[np.zeros_like(item) for item in ITEMS]"))
            zeros.generators[0].iter = items
            return zeros
        if self.rank(name) == 0 and name not in self.stored:
            return ast.Constant(0.0)
        top_level = name not in self._written_in_loops and name not in self._compound_writes()
        if name in self.params or top_level or name in self.stored:
            self.closure_reads.add(name)
            return _call(_np("zeros_like"), _load(name))
        if statement is not None and self._bound_before(name, statement, timing):
            # an array rebound in a loop: a plain 0.0 would not unbroadcast to its shape
            return _call(_np("zeros_like"), self.value(name, statement, timing,
                                                       value_use=False))
        return ast.Constant(0.0)

    @functools.cached_property
    def _compound_written(self) -> set[str]:
        names = set()
        for statement in self.statements:
            names |= self._nested_names(statement)
            names |= set(ir.writes(statement)) if isinstance(statement, ir.For) else set()
        return names

    @functools.cached_property
    def _written_in_loops(self) -> set[str]:
        """The names some statement inside a loop writes."""
        return {name for statement in ir.walk(self.statements) if self.loops_of[id(statement)]
                for name in ir.writes(statement)}

    def _compound_writes(self) -> set[str]:
        return self._compound_written

    def _enter(self, statement, blocks, defined: set[str], out: list) -> set[str]:
        """Zero the adjoints a compound statement adds to; return the set to keep defined."""
        locals_ = set().union(*(self._block_locals(b) for b in blocks))
        for name in self._contributed(blocks[0] + (blocks[1] if len(blocks) > 1 else [])):
            adjoint = self.adjoint(name)
            if adjoint not in defined and name not in locals_:
                out.append(_assign(adjoint, self._zero(name, statement)))
                defined.add(adjoint)
        return set(defined)

    def _reverse_body(self, block, entry: set[str], line: int | None = None) -> list:
        locals_ = {self.adjoint(n) for n in self._block_locals(block)}
        inside = set(entry) - locals_
        code = self._reverse_block(block, inside, line)
        for adjoint in [a for a in self._ordered(entry) if a not in inside]:
            name = next(n for n, a in self.adjoint_names.items() if a == adjoint)
            code.append(_assign(adjoint, self._zero(name, block[0], "before")))
        return code

    def _ordered(self, adjoints: set[str]) -> list[str]:
        return [a for a in self.adjoint_names.values() if a in adjoints]

    def _has_work(self, blocks) -> bool:
        return any(
            (isinstance(s, (ir.Store, ir.Append)) and s.target in self.relevant)
            or (isinstance(s, ir.Assign) and any(t in self.relevant for t in ir.bound(s)))
            for block in blocks for s in ir.walk(block)
        )


def _has_code(block: list) -> bool:
    """Whether an adjoint block holds more than placeholders for tape reads."""
    return any(getattr(node, "pops_for", None) is None for node in block)
