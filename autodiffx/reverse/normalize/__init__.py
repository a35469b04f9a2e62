"""A-normal form: the user's function as one operation per statement.

Nested expressions get temporaries with readable, deterministic names (``W @ x + b`` becomes
``Wx = W @ x`` then ``z = Wx + b``). Python operators, builtins and methods are mapped to the
rules of the NumPy functions they stand for (``@`` to ``np.matmul``, ``x.sum()`` to
``np.sum``, ``max(a, b)`` to ``max_builtin``) while the generated line keeps the user's
spelling. Control flow is made regular: early returns become assignments to one result,
conditional expressions become ``if`` statements, loops over sequences loop over indices,
and names assigned more than once in straight-line code get numbered versions.

:class:`Normalizer` is the driver; each construct has its handler in a module named for it:
:mod:`.assign` (assignments), :mod:`.expressions` (atoms, operators, temporaries),
:mod:`.calls`, :mod:`.stores` (subscripts and writes into arrays), :mod:`.sequences` (lists,
tuples, unpacking), :mod:`.branches`, :mod:`.loops`, :mod:`.returns` and :mod:`.names`
(globals and static values); :mod:`.callees` says what a called function is, and
:mod:`.versions` numbers the names bound more than once; :mod:`.dicts` reads a local dict of
constant keys as one name per key before anything else.
"""

from __future__ import annotations

import ast
import builtins
import copy
import dataclasses

import numpy as np

from ...errors import OutputTypeError
from .. import ir, mutation
from ..fence import refuse
from ..source import FunctionSource
from . import dicts
from .assign import Assignments
from .branches import Branches
from .callees import METHODS
from .calls import Calls
from .expressions import Expressions
from .indexed import unpack_indexed_results
from .loops import Loops, lower_jumps
from .names import Names, load
from .returns import Returns, always_returns
from .sequences import LIST_SUM, Sequences, list_names
from .stores import Stores
from .versions import rename_versions

__all__ = ["LIST_SUM", "METHODS", "Normalizer", "lower_jumps", "rename_versions"]


class Normalizer(Assignments, Calls, Stores, Sequences, Expressions, Names, Branches, Loops,
                 Returns):
    """Turns one parsed function into a list of :mod:`~autodiffx.reverse.ir` statements.

    The driver: it holds the state of the pass and hands each statement to the handler of
    its construct, mixed in from the module named for it. The handlers append what they
    emit for the current statement to ``self.pending``, name temporaries with
    :meth:`_fresh`, and read ``self.locals`` (every local name), ``self.stored`` (names
    written into), ``self.lists`` (names followed as lists), ``self.dicts`` (names bound to
    dicts that stay dicts, see :mod:`.dicts`) and ``self.line``.
    """

    def __init__(self, source: FunctionSource, namer: ir.Namer):
        source = _with_literal_conversions(source)
        source, self.dicts = dicts.scalarise(source)
        self.source = source
        self.namer = namer
        node = source.node
        arguments = node.args
        self.params = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
        self.keyword_params = [a.arg for a in arguments.kwonlyargs]
        nodes = ir.nodes(node)  # read three times below
        assigned = set()
        for sub in nodes:
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                assigned.add(sub.id)
        self.locals = set(self.params) | set(self.keyword_params) | assigned
        self.given = (set(self.params) | set(self.keyword_params)) - assigned
        """Parameters never rebound: a function among them is the caller's, known when
        the function runs (see ``Calls._call``)."""
        if arguments.vararg:
            self.locals.add(arguments.vararg.arg)
        if arguments.kwarg:
            self.locals.add(arguments.kwarg.arg)
        for sub in nodes:
            if isinstance(sub, ast.Name):
                namer.reserve(sub.id)
            elif isinstance(sub, ast.arg):
                namer.reserve(sub.arg)
        self.stored = {
            target.value.id
            for sub in nodes
            if isinstance(sub, (ast.Assign, ast.AugAssign))
            for target in (sub.targets if isinstance(sub, ast.Assign) else [sub.target])
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
        }
        # np.copyto(y, x), np.add(a, b, out=y), y.sort(): y is written into too
        self.stored |= mutation.written_names(node, self._static) & self.locals
        self.globals_used: dict[str, object] = {}
        self.lists = list_names(node, self._is_split)
        self.temporaries: set[str] = set()
        self.line = node.lineno
        base = node.name if len(node.name) <= 12 and node.name != "lambda_" else "out"
        self.result = namer.fresh(base)
        self.locals.add(self.result)
        self.results = self._tuple_results(base)
        self.depth = 0
        self.lines: dict[int, str] = {}

    def _fresh(self, base: str) -> str:
        name = self.namer.fresh(base)
        self.locals.add(name)
        self.temporaries.add(name)
        return name

    def _is_temporary(self, name: str) -> bool:
        return name in self.temporaries

    def run(self) -> list:
        for sub in ir.nodes(self.source.node):
            if isinstance(sub, ast.Name) and sub.id not in self.locals:
                self._use_global(sub.id, sub)
        body = [s for s in self.source.node.body if not _is_docstring(s)]
        body = unpack_indexed_results(body, self)
        body = self._restructure_returns(body)
        statements = []
        copied = [p for p in self.params if p in self.stored]
        for name in copied:  # never write into the caller's array
            self.line = self.source.node.lineno
            statements.append(self._call_rule(name, np.copy, [load(name)], self.source.node))
        statements += self._block(body)
        if body and isinstance(body[-1], ast.If) and always_returns(body):
            statements.append(ir.Return(self._result_value(), body[-1].lineno))
        if not any(isinstance(n, ast.Return) and n.value is not None
                   for n in ast.walk(self.source.node)):
            raise OutputTypeError(
                f"{self.source.name} returns None, not a number or an array, so there is "
                "nothing to differentiate",
                location=self.source.location(self.source.node),
                hint="return the value to differentiate (a float or a NumPy array)",
            )
        if not statements or not isinstance(statements[-1], ir.Return):
            raise refuse(
                self.source,
                self.source.node,
                "a function that can end without a return",
                "end every path with 'return <value>'",
            )
        statements = rename_versions(statements, self.params, self.namer)
        return lower_jumps(statements, self.namer)

    def _block(self, statements: list) -> list:
        self.depth += 1
        try:
            return self._statements(statements)
        finally:
            self.depth -= 1

    def _statements(self, statements: list) -> list:
        out = []
        for statement in statements:
            self.line = statement.lineno
            self.lines[statement.lineno] = self.source.statement_text(statement)
            out += self._statement(statement)
        return out

    def _statement(self, node: ast.stmt) -> list:
        self.pending: list = []
        if isinstance(node, ast.Return):
            return self._return(node)
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is None:
                return []
            return self._assign_targets(targets, node.value, node)
        if isinstance(node, ast.AugAssign):
            return self._augmented(node)
        if isinstance(node, ast.Expr):
            return self._expression_statement(node)
        if isinstance(node, ast.If):
            return self._if(node)
        if isinstance(node, ast.While):
            return self._while(node)
        if isinstance(node, ast.For):
            return self._for(node)
        if isinstance(node, ast.Break):
            return [ir.Break(node.lineno)]
        if isinstance(node, ast.Continue):
            return [ir.Continue(node.lineno)]
        if isinstance(node, ast.Pass):
            return []
        if isinstance(node, (ast.Assert, ast.Raise)):
            return [ir.Effect(node, node.lineno, node)]
        raise refuse(self.source, node, f"a {type(node).__name__} statement", "rewrite it")


def _is_docstring(statement) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and (
        isinstance(statement.value.value, str)
    )


def _with_literal_conversions(source: FunctionSource) -> FunctionSource:
    """``source`` with ``tuple((a, b))`` read as ``(a, b)`` (see :class:`_LiteralConversions`),
    on a copy of its tree; ``source`` itself when it has none."""
    if not any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
               and n.func.id in ("tuple", "list") and len(n.args) == 1
               and isinstance(n.args[0], (ast.Tuple, ast.List)) for n in ir.nodes(source.node)):
        return source
    node = _LiteralConversions(source.namespace).visit(copy.deepcopy(source.node))
    return dataclasses.replace(source, node=node)


class _LiteralConversions(ast.NodeTransformer):
    """``tuple((a, b))`` is the tuple ``(a, b)`` and ``list([a, b])`` the list ``[a, b]``
    (when ``tuple`` and ``list`` are the builtins): the displays reverse mode follows."""

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        function = node.func
        if not (isinstance(function, ast.Name) and function.id in ("tuple", "list")
                and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], (ast.Tuple, ast.List))):
            return node
        if self.namespace.get(function.id, getattr(builtins, function.id)) is not getattr(
                builtins, function.id):
            return node  # a name of the user's own
        kind = ast.Tuple if function.id == "tuple" else ast.List
        return ast.copy_location(kind(elts=node.args[0].elts, ctx=ast.Load()), node)
