"""Branches: ``if`` statements, and conditional expressions (``a if c else b``), which
become ``if`` statements assigning one name. (Returns inside branches are made regular
first, in :mod:`.returns`.)"""

from __future__ import annotations

import ast

from .. import ir


class Branches:
    """``if`` and ``a if c else b``, for :class:`~autodiffx.reverse.normalize.Normalizer`."""

    def _if(self, node: ast.If) -> list:
        body = self._block(node.body)
        orelse = self._block(node.orelse)
        self.line = node.lineno
        return [ir.If(node.test, body, orelse, node.lineno)]

    def _conditional(self, target: str, node: ast.IfExp, origin) -> None:
        """``target = a if c else b`` as ``if c: target = a`` ``else: target = b``."""
        test = node.test
        saved = self.pending
        self.pending = []
        self._assign(target, node.body, origin)
        body = self.pending
        self.pending = []
        self._assign(target, node.orelse, origin)
        orelse = self.pending
        self.pending = saved
        self.pending.append(ir.If(test, body, orelse, self.line))
