"""Assignments and calls: ``t = op(a, b)`` with a rule, whose adjoints are the rule's
expressions in the code's names (simplified where no broadcasting can have happened), a
copy, a call of a user function through its vjp, and the statements with several results
(``w, V = np.linalg.eigh(a)``, ``a, b = helper(x)``)."""

from __future__ import annotations

import ast
import copy
import math
import operator

import numpy as np

from ...rules.complex_rules import CONJUGATED_PRIMALS
from .. import ir, kinds, optimize, ranks, shapes
from .nodes import _assign, _call, _load, _np, _parsed, _store


class Calls:
    """The forward and adjoint code of ``ir.Assign`` statements."""

    def _forward_assign(self, statement: ir.Assign) -> list:
        if id(statement) in self.vjp_calls:
            vjp_name, pullback = self.vjp_calls[id(statement)]
            call = ir.copy_tree(statement.expr)
            call.func = _load(vjp_name)
            if pullback is None:  # flat code: vjp_name is the callee itself
                return [_assign(_bound_target(statement), call, pure=False)]
            targets = ast.Tuple(elts=[_bound_target(statement), _store(pullback)],
                                ctx=ast.Store())
            return [_assign(targets, call, pure=False)]
        if statement.targets:
            return [_assign(_bound_target(statement), ir.copy_tree(statement.expr),
                            pure=False)]
        pure = statement.kind in ("primitive", "copy")
        return [_assign(statement.target, ir.copy_tree(statement.expr), pure=pure)]

    def _reverse_assign(self, statement: ir.Assign, defined: set[str]) -> list:
        if statement.targets and statement.kind == "primitive":
            return self._reverse_several_results(statement, defined)
        if statement.targets:
            return self._reverse_unpacking_call(statement, defined)
        target = statement.target
        if target not in self.relevant:
            return []
        gradient = self.adjoint(target)
        if gradient not in defined:
            return []
        if statement.kind == "list":
            return self._reverse_list_literal(statement, gradient, defined)
        if (statement.kind == "primitive" and statement.function is operator.getitem
                and isinstance(statement.operands[0], ast.Name)
                and statement.operands[0].id in self.lists):
            return self._reverse_list_item(statement, gradient, defined)
        out: list = self._real_results(statement, [gradient])
        contributions: list[tuple[str, ast.expr]] = []
        if statement.kind == "copy":
            source = statement.operands[0]
            if isinstance(source, ast.Name) and source.id in self.relevant:
                contributions.append((source.id, _load(gradient)))
        elif statement.kind == "primitive":
            contributions = self._rule_contributions(statement, gradient, out)
        elif statement.kind == "call":
            contributions = self._call_contributions(statement, gradient, out, defined)
        first = [(n, e) for n, e in contributions if n != target]
        last = [(n, e) for n, e in contributions if n == target]
        for name, expression in first:
            self._contribute(name, expression, defined, out)
        defined.discard(gradient)
        for name, expression in last:
            self._contribute(name, expression, defined, out)
        return out

    def _substitute(self, expression: str, statement: ir.Assign, gradient: str | None,
                    results: list[str | None] | None = None) -> ast.expr:
        """The rule's adjoint ``expression`` for ``statement``, in the names of the code.
        For several results, ``results`` holds each one's adjoint name (or ``None``)."""
        rule = statement.rule
        operands = list(statement.operands)
        while len(operands) < len(rule.params):
            operands.append(ast.Constant(None))
        bindings = dict(zip(rule.params, operands, strict=False))
        # complex values: the primal values in the adjoint of these rules are conjugated
        conjugate = self.kinds is not None and rule.name in CONJUGATED_PRIMALS
        complex_primals: dict[int, ast.expr] = {}  # by id, the nodes kept alive

        def primal(node: ast.expr, kind) -> ast.expr:
            if conjugate and kind != kinds.REAL:
                complex_primals[id(node)] = node
            return node

        def result(k: int) -> ast.Name:
            marked = _load(statement.targets[k])
            marked.forward = (statement.targets[k], "after")
            return primal(marked, self.kinds and self.kinds.of(statement.targets[k]))

        def cotangent(k: int) -> ast.expr:
            return _load(results[k]) if results[k] is not None else ast.Constant(None)

        def atom(name: str) -> tuple | None:
            # what substituted puts for a name of the parsed expression, as _decided reads it
            if results is not None and name in ("g", "ans"):
                return None
            if name == "g":
                return ("name", gradient)
            if name == "ans":
                return ("name", statement.target)
            if name in bindings:
                return _atom_value(bindings[name])
            if name in rule.keywords:
                value = statement.keywords.get(name)
                return ("constant", rule.keywords[name]) if value is None else (
                    _atom_value(value))
            return ("name", name)

        def substituted(node: ast.AST) -> ast.expr | None:
            # one copy of the parsed expression, with the rule's names replaced on the way
            if isinstance(node, ast.IfExp):
                # a test that folds to a constant (np.ndim of a known rank) picks a branch
                # before the other is copied: folding would drop it anyway
                decided = _decided(node.test, atom, self.rank, self.shape)
                ok, value = (True, decided[1]) if decided is not None else optimize.constant(
                    optimize.fold(ir.copy_tree(node.test, substituted), self.rank,
                                  self.shape))
                if ok:
                    return ir.copy_tree(node.body if value else node.orelse, substituted)
                return None
            if isinstance(node, ast.Subscript):
                item = _result_item(node) if results is not None else None
                if item is None:
                    return None
                return cotangent(item[1]) if item[0] == "g" else result(item[1])
            if not isinstance(node, ast.Name):
                return None
            if results is not None and node.id in ("g", "ans"):
                items = [cotangent(k) if node.id == "g" else result(k)
                         for k in range(len(results))]
                return ast.Tuple(elts=items, ctx=ast.Load())
            if node.id == "g":
                return _load(gradient)
            if node.id == "ans":
                marked = _load(statement.target)
                marked.forward = (statement.target, "after")
                return primal(marked, self.kinds and self.kinds.of(statement.target))
            if node.id in bindings:
                operand = bindings[node.id]
                return primal(self._operand(_slices_as_values(operand)),
                              self.kinds and kinds.atom_kind(operand, self.kinds.kinds))
            if node.id in rule.keywords:
                value = statement.keywords.get(node.id)
                if value is None:
                    return ast.Constant(rule.keywords[node.id])
                return self._operand(value)
            return None

        tree = ir.copy_tree(_parsed(expression), substituted)
        # substituted calls itself through its closure cell, a cycle that would keep these
        # sweeps (and every tree of the transformation) alive until the cyclic collector
        # runs: emptying the cell lets the counts free them (see emit._collector_paused)
        substituted = None
        if complex_primals:
            tree = _conjugated(tree, complex_primals)
        return optimize.fold(tree, self.rank, self.shape)

    def _real_results(self, statement: ir.Assign, gradients: list) -> list:
        """``dt = np.real(dt)`` for a result ``t`` this statement makes real where the name
        ``t`` also holds complex values elsewhere (a loop, a list of both): contributions
        to ``t`` were not made real, so its cotangent is made real here, before use."""
        if self.kinds is None:
            return []
        out = []
        for target, gradient in zip(ir.bound(statement), gradients, strict=False):
            if gradient is not None and self.kinds.of(target) != kinds.REAL and (
                    self.kinds.result_of(statement, target) == kinds.REAL):
                out.append(_assign(gradient, _call(_np("real"), _load(gradient))))
        return out

    def _drop_unbroadcast(self, tree: ast.expr, statement: ir.Assign, position: int):
        """``unbroadcast(e, x)`` is ``e`` when no broadcasting can have happened."""
        if not (
            isinstance(tree, ast.Call)
            and isinstance(tree.func, ast.Name)
            and tree.func.id == "unbroadcast"
        ):
            return tree
        if self.rank(statement.target) == 0:
            return tree.args[0]
        operand = statement.operands[position]
        same = self._class(operand)
        if same is not None and same == self.classes.get(statement.target):
            return tree.args[0]  # the operand has the result's shape: nothing to sum
        others = [o for i, o in enumerate(statement.operands) if i != position]
        if statement.rule.elementwise and all(ranks.atom_rank(o, self.rank_of) == 0
                                              for o in others):
            return tree.args[0]
        if statement.rule.elementwise and len(tree.args) == 2 and _same_atom(
                tree.args[1], operand):
            # code made for these shapes: the operand's shape and the result's are known
            result = self.shape(statement.target)
            wanted = shapes.atom_shape(operand, self.shape_of)
            if result is not None and wanted is not None and len(result) >= len(wanted):
                summed = _summed(tree.args[0], result, wanted)
                if isinstance(summed, ast.Call) and isinstance(summed.func, ast.Name):
                    self.helpers_used.add(summed.func.id)  # row_sums
                return summed
        return tree

    def _class(self, atom) -> str | None:
        if isinstance(atom, ast.Name):
            return self.classes.get(atom.id)
        return None

    def _scalar_seed(self, tree: ast.expr, statement: ir.Assign, operand: ast.expr):
        """``np.broadcast_to(e, np.shape(x))`` from the adjoint of ``np.sum(x)`` or
        ``np.mean(x)`` is plain ``e`` when the only use of ``dx`` is in products
        ``dx * p`` with a ``p`` of ``x``'s shape: broadcasting happens there anyway."""
        if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Attribute)
                and tree.func.attr == "broadcast_to" and self.rank(statement.target) == 0
                and isinstance(operand, ast.Name)):
            return tree
        name = operand.id
        sites = self.references.get(name, [])
        if len(sites) != 2 or len(self.binds.get(name, [])) != 1 or name in self.params:
            return tree
        producer = next((s for s in ir.walk(self.statements) if isinstance(s, ir.Assign)
                         and s.target == name and not s.targets), None)
        if producer is None or self.loops_of[id(producer)] or self.loops_of[id(statement)]:
            return tree
        if not (producer.kind == "primitive" and producer.rule.elementwise):
            return tree
        whole = self.classes.get(name)
        if whole is None:
            return tree
        rule = producer.rule
        bindings = dict(zip(rule.params, producer.operands, strict=False))
        for operand_, expression in zip(producer.operands, rule.adjoints, strict=False):
            if expression is None or not (isinstance(operand_, ast.Name)
                                          and operand_.id in self.relevant):
                continue
            if not _full_product(_parsed(expression), bindings, whole, self._class):
                return tree
        return tree.args[0]

    def _rule_contributions(self, statement: ir.Assign, gradient: str, out: list):
        rule = statement.rule
        contributions = []
        for position, expression in enumerate(rule.adjoints):
            if expression is None or position >= len(statement.operands):
                continue
            operand = statement.operands[position]
            if rule.sequence and position == 0 and isinstance(operand, (ast.List, ast.Tuple)):
                names = [e.id if isinstance(e, ast.Name) and e.id in self.relevant else None
                         for e in operand.elts]
                if not any(names):
                    continue
                tree = self._substitute(expression, statement, gradient)
                tree = self._resolve(tree, statement)
                targets = []
                for name in names:
                    if name is None:
                        targets.append(_store(self.namer.fresh("unused")))
                        continue
                    part = self.namer.fresh(self.adjoint(name) + "_part", adjoint_too=False)
                    targets.append(_store(part))
                    contributions.append((name, _load(part)))
                out.append(_assign(ast.Tuple(elts=targets, ctx=ast.Store()), tree, pure=False))
                continue
            if not (isinstance(operand, ast.Name) and operand.id in self.relevant):
                continue
            source = self._transposed_operand(statement, position)
            if source is not None:  # dW = dZ.T @ X for Z = X @ W.T, not dWT then a transpose
                tree = self._product_of_transposed(statement, position, gradient)
                contributions.append((source, self._resolve(tree, statement)))
                continue
            tree = self._substitute(expression, statement, gradient)
            tree = self._drop_unbroadcast(tree, statement, position)
            tree = self._scalar_seed(tree, statement, operand)
            tree = _half_at_ties(tree, self.rank)
            tree = self._untransposed(tree)
            tree = self._resolve(tree, statement)
            contributions.append((operand.id, tree))
        return contributions

    # ------------------------------------------------------------------ transposes

    def _transpose_of(self, name: str) -> str | None:
        """``W`` when ``name`` is bound once, to ``W.T`` (or ``np.transpose(W)``) of a
        matrix ``W`` whose value never changes (an argument or a name bound once, neither
        stored into, outside loops): then ``name.T`` is ``W`` wherever ``name`` is read."""
        binds = self.binds.get(name, [])
        if len(binds) != 1 or name in self.params or name in self.stored or (
                name in self.mutations):
            return None
        producer = self._producer(name)
        if not (producer is not None and producer.kind == "primitive"
                and producer.function is np.transpose and not producer.keywords
                and len(producer.operands) == 1 and isinstance(producer.operands[0], ast.Name)
                and not self.loops_of[id(producer)]):
            return None
        source = producer.operands[0].id
        if self.rank(source) != 2 or source in self.stored or source in self.mutations or (
                len(self.binds.get(source, [])) > (0 if source in self.params else 1)):
            return None
        return source

    def _transpose_targets(self) -> set[str]:
        """The names some statement binds to ``np.transpose`` of something, computed once:
        only they can be a ``WT`` of :meth:`_transpose_of`."""
        if self.transpose_targets is None:
            self.transpose_targets = {
                s.target for s in ir.walk(self.statements) if isinstance(s, ir.Assign)
                and s.kind == "primitive" and s.function is np.transpose}
        return self.transpose_targets

    def _producer(self, name: str) -> ir.Assign | None:
        return next((s for s in ir.walk(self.statements) if isinstance(s, ir.Assign)
                     and s.target == name and not s.targets), None)

    def _transposed_operand(self, statement: ir.Assign, position: int) -> str | None:
        """``W`` when operand ``position`` of a product of two matrices is ``WT = W.T``,
        read nowhere else: its adjoint then goes straight to ``W``, transposed."""
        if self.kinds is not None:  # complex values: the rule's adjoint, with conjugates
            return None
        if not (statement.kind == "primitive" and statement.function in (np.matmul, np.dot)
                and len(statement.operands) == 2 and not statement.keywords
                and all(ranks.atom_rank(o, self.rank_of) == 2 for o in statement.operands)
                and not self.loops_of[id(statement)]):
            return None
        operand = statement.operands[position]
        source = self._transpose_of(operand.id)
        if source is None or source not in self.relevant or len(
                self.references.get(operand.id, [])) != 2:  # bound here, read by statement
            return None
        return source

    def _product_of_transposed(self, statement: ir.Assign, position: int, gradient: str):
        """The adjoint of ``W`` through ``X @ WT`` (``g.T @ X``) or ``WT @ Y``
        (``Y @ g.T``), in the layout of ``W``."""
        other = self._untransposed(self._operand(statement.operands[1 - position]))
        transposed = ast.Attribute(value=_load(gradient), attr="T", ctx=ast.Load())
        pair = (transposed, other) if position == 1 else (other, transposed)
        return _call(_np("dot"), *pair)

    def _untransposed(self, tree: ast.expr) -> ast.expr:
        """``WT.T`` is ``W`` where ``WT = W.T`` (see :meth:`_transpose_of`)."""
        transposes = self._transpose_targets()
        if not any(isinstance(node, ast.Attribute) and node.attr == "T"
                   and isinstance(node.value, ast.Name) and node.value.id in transposes
                   for node in ir.nodes(tree)):
            return tree  # the common case: nothing to rewrite
        return _Untranspose(self).visit(tree)

    def _reverse_several_results(self, statement: ir.Assign, defined: set[str]) -> list:
        """``w, V = np.linalg.eigh(a)``: the rule's adjoints read ``g[k]`` as result k's
        adjoint, or ``None`` where no derivative reached it."""
        gradients = [self.adjoint(t) if t in self.relevant and self.adjoint(t) in defined
                     else None for t in statement.targets]
        if not any(gradients):
            return []
        rule = statement.rule
        contributions = []
        for position, expression in enumerate(rule.adjoints):
            if expression is None or position >= len(statement.operands):
                continue
            operand = statement.operands[position]
            if not (isinstance(operand, ast.Name) and operand.id in self.relevant):
                continue
            read = _results_read(expression)
            if read is not None and all(gradients[k] is None for k in read):
                continue  # only results no derivative reached
            tree = self._substitute(expression, statement, None, gradients)
            contributions.append((operand.id, self._resolve(tree, statement)))
        for gradient in gradients:
            defined.discard(gradient)
        out: list = self._real_results(statement, gradients)
        for name, expression in contributions:
            self._contribute(name, expression, defined, out)
        return out

    def _reverse_unpacking_call(self, statement: ir.Assign, defined: set[str]) -> list:
        """``a, b = helper(x)``: the pullback takes ``(da, db)``, zeros where none flowed."""
        gradients = [self.adjoint(t) for t in statement.targets if t in self.relevant]
        if not any(g in defined for g in gradients):
            return []
        items = []
        for target in statement.targets:
            adjoint = self.adjoint(target) if target in self.relevant else None
            if adjoint in defined:
                items.append(_load(adjoint))
            else:
                zeros = self.value(target, statement, "after", value_use=False)
                items.append(_call(_np("zeros_like"), zeros))
        cotangent = ast.Tuple(elts=items, ctx=ast.Load())
        out: list = []
        contributions = self._call_contributions(statement, cotangent, out, defined)
        for target in statement.targets:
            defined.discard(self.adjoint(target))
        for name, expression in contributions:
            self._contribute(name, expression, defined, out)
        return out

    def _call_contributions(self, statement: ir.Assign, gradient, out: list, defined: set[str]):
        positions = [i for i, o in enumerate(statement.operands)
                     if isinstance(o, ast.Name) and o.id in self.relevant]
        if not positions:
            return []
        argument_ranks = ranks.argument_ranks(statement, self.rank_of)
        vjp_name = self.request_vjp(statement.function, tuple(positions), argument_ranks,
                                    statement)
        seed = _load(gradient) if isinstance(gradient, str) else gradient
        if self.request_callee is not None:
            self.vjp_calls[id(statement)] = (self.request_callee(statement.function), None)
            call = copy.deepcopy(statement.expr)
            call.func = _load(vjp_name)
            seeds = seed.elts if isinstance(seed, ast.Tuple) else [seed]  # one per item
            call.args = [*seeds, *(self._resolve(self._operand(a), statement)
                                   for a in call.args)]
            for keyword in call.keywords:
                keyword.value = self._resolve(self._operand(keyword.value), statement)
        else:
            pullback = self.namer.fresh(statement.target + "_pullback")
            self.vjp_calls[id(statement)] = (vjp_name, pullback)
            self.local_names.add(pullback)
            self.binds[pullback] = [self.index[id(statement)]]
            call = _call(self.value(pullback, statement, "after"), seed)
        contributions = []
        targets = []
        names = [statement.operands[p].id for p in positions]
        for name in names:
            adjoint = self.adjoint(name)
            if (names.count(name) == 1 and adjoint not in defined and name not in self.stored
                    and name not in ir.bound(statement)):
                # the first contribution: the pullback's result is the adjoint itself
                targets.append(_store(adjoint))
                contributions.append((name, _load(adjoint)))
                continue
            part = self.namer.fresh(adjoint + "_part", adjoint_too=False)
            targets.append(_store(part))
            contributions.append((name, _load(part)))
        out.append(_assign(ast.Tuple(elts=targets, ctx=ast.Store()), call, pure=False))
        return contributions


def _atom_value(node: ast.expr) -> tuple | None:
    """``("name", id)`` or ``("constant", value)`` for an operand that is a name or a
    constant, as :func:`_decided` reads it; ``None`` for anything else."""
    if isinstance(node, ast.Name):
        return ("name", node.id)
    if isinstance(node, ast.Constant):
        return ("constant", node.value)
    return None


def _decided(test: ast.expr, atom, rank, shape) -> tuple | None:
    """``("constant", value)`` when folding the test of a rule's conditional (``np.ndim(x)
    == 1``), its names replaced, gives a constant, worked out on the parsed test without
    copying it: each rule of :class:`.optimize.Folder` that can make a constant of
    constants, names of known rank or shape, comparisons, ``not``, ``and`` and ``or``.
    ``atom(name)`` is what a name of the test stands for (see :func:`_atom_value`). ``None``
    when this cannot tell (or the folding would raise): the caller then copies and folds
    the test. The tests of np.matmul's adjoints were a third of the nodes copied."""
    try:
        value = _evaluated(test, atom, rank, shape)
    except Exception:  # the copy and the fold raise it again, where they did
        return None
    return value if value is not None and value[0] == "constant" else None


def _evaluated(node: ast.expr, atom, rank, shape) -> tuple | None:
    if isinstance(node, ast.Constant):
        return ("constant", node.value)
    if isinstance(node, ast.Name):
        return atom(node.id)
    if isinstance(node, ast.Call):
        parts = [_evaluated(a, atom, rank, shape) for a in node.args]
        function = node.func
        if None in parts or node.keywords or not (
                isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name)
                and atom(function.value.id) == ("name", "np")):
            return None
        return _numpy_constant(function.attr, parts, rank, shape)
    if isinstance(node, ast.Compare):
        parts = [_evaluated(p, atom, rank, shape) for p in (node.left, *node.comparators)]
        if any(p is None or p[0] != "constant" for p in parts):
            return None
        result = True
        for op, (_, left), (_, right) in zip(node.ops, parts, parts[1:], strict=False):
            result = result and optimize.COMPARISONS[type(op)](left, right)
        return ("constant", bool(result))
    if isinstance(node, ast.BoolOp):
        parts = [_evaluated(v, atom, rank, shape) for v in node.values]
        is_and = isinstance(node.op, ast.And)
        for index, part in enumerate(parts):
            if part is None or part[0] != "constant":
                return None  # then the folded expression keeps this operand
            if bool(part[1]) != is_and or index == len(parts) - 1:
                return part
        return None
    if isinstance(node, ast.UnaryOp):
        part = _evaluated(node.operand, atom, rank, shape)
        if part is None or part[0] != "constant":
            return None
        if isinstance(node.op, ast.Not):
            return ("constant", not part[1])
        if isinstance(node.op, ast.USub) and type(part[1]) in (int, float):
            return ("constant", -part[1])
    return None


def _numpy_constant(name: str, parts: list[tuple], rank, shape) -> tuple | None:
    """The constant :meth:`.optimize.Folder.visit_Call` makes of ``np.<name>(...)``."""
    if name == "ndim" and len(parts) == 1:
        kind, value = parts[0]
        if kind == "name":
            known = rank(value)
            return ("constant", known) if known is not None else None
        return ("constant", 0) if type(value) in (int, float, bool) else None
    if name in ("size", "shape") and len(parts) == 1 and parts[0][0] == "name":
        known = shape(parts[0][1])
        if known is None:
            return None
        return ("constant", math.prod(known) if name == "size" else tuple(known))
    if name in ("maximum", "minimum") and len(parts) == 2 and all(
            kind == "constant" and type(value) is int for kind, value in parts):
        pick = max if name == "maximum" else min
        return ("constant", pick(value for _, value in parts))
    if name in ("any", "all") and len(parts) == 1 and parts[0][0] == "constant" and type(
            parts[0][1]) is bool:
        return ("constant", parts[0][1])
    return None


def _result_item(node: ast.expr) -> tuple[str, int] | None:
    """``("g", k)`` for ``g[k]`` and ``("ans", k)`` for ``ans[k]`` in an adjoint expression."""
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and node.value.id in ("g", "ans") and isinstance(node.slice, ast.Constant)
            and type(node.slice.value) is int):
        return node.value.id, node.slice.value
    return None


def _results_read(expression: str) -> set[int] | None:
    """The k of every ``g[k]`` an adjoint expression reads; ``None`` when it reads ``g``
    whole (a helper that takes every result's cotangent)."""
    tree = _parsed(expression)
    items = {id(n.value) for n in ast.walk(tree) if _result_item(n) is not None}
    if any(isinstance(n, ast.Name) and n.id == "g" and id(n) not in items
           for n in ast.walk(tree)):
        return None
    return {_result_item(n)[1] for n in ast.walk(tree)
            if _result_item(n) is not None and _result_item(n)[0] == "g"}


def _full_product(tree: ast.expr, bindings: dict, whole: str, class_of) -> bool:
    """Whether an elementwise adjoint is ``g * p`` (or ``strong_zero(g, p)``, perhaps in
    ``unbroadcast``) with ``p`` reading ``ans`` or an operand of class ``whole``, so that
    it has the result's full shape whatever the shape of ``g``."""
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and (
            tree.func.id == "unbroadcast"):
        tree = tree.args[0]
    if isinstance(tree, ast.IfExp):
        return all(_full_product(branch, bindings, whole, class_of)
                   for branch in (tree.body, tree.orelse))
    if isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Mult) and isinstance(
            tree.left, ast.Name) and tree.left.id == "g":
        partial = tree.right
    elif isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and (
            tree.func.id == "strong_zero") and isinstance(tree.args[0], ast.Name) and (
            tree.args[0].id == "g"):
        partial = tree.args[1]
    else:
        return False
    for node in ast.walk(partial):
        if isinstance(node, ast.Name) and (node.id == "ans" or class_of(
                bindings.get(node.id)) == whole):
            return True
    return False


def _half_at_ties(tree: ast.expr, rank) -> ast.expr:
    """``(x > 0) + 0.5 * (x == 0)``, the derivative of ``np.maximum(x, 0)`` with half at
    the tie, is ``np.heaviside(x, 0.5)``: one operation instead of four (and
    ``np.heaviside(-x, 0.5)`` for ``np.minimum``). Only against the constant 0, and only for
    an array ``x`` (rank known, at least 1): a number keeps its Python float. Where ``x``
    is NaN, and max has no derivative, heaviside gives NaN where the comparisons gave 0."""
    if not any(_tie_shaped(node) for node in ir.nodes(tree)):
        return tree  # the common case: nothing to rewrite
    return _Ties(rank).visit(tree)


class _Ties(ast.NodeTransformer):
    """See :func:`_half_at_ties`. A class of the module's, not one made per call: a class
    is a reference cycle, and one holding the sweeps kept every tree of the transformation
    alive until the cyclic collector ran (see ``Calls._substitute``)."""

    def __init__(self, rank):
        self.rank = rank

    def visit_BinOp(self, node):
        self.generic_visit(node)
        return _tie_step(node, self.rank) or node


class _Untranspose(ast.NodeTransformer):
    """``WT.T`` as ``W`` (see ``Calls._untransposed``; a class of the module's, as
    :class:`_Ties` is)."""

    def __init__(self, sweeps):
        self.sweeps = sweeps

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if node.attr == "T" and isinstance(node.value, ast.Name) and getattr(
                node.value, "forward", None) is not None:
            source = self.sweeps._transpose_of(node.value.id)
            if source is not None:
                return self.sweeps._operand(_load(source))
        return node


def _tie_shaped(node: ast.AST) -> bool:
    """Whether ``node`` is ``a + 0.5 * b``, the shape :func:`_tie_step` rewrites."""
    return (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)
            and isinstance(node.right, ast.BinOp) and isinstance(node.right.op, ast.Mult)
            and _is_constant(node.right.left, 0.5))


def _tie_step(node: ast.BinOp, rank) -> ast.expr | None:
    if not _tie_shaped(node):
        return None
    step, tie = _zero_comparison(node.left), _zero_comparison(node.right.right)
    if step is None or tie is None or tie[1] is not ast.Eq or step[1] not in (ast.Gt, ast.Lt):
        return None
    name = step[0]
    if not (tie[0] == name and (rank(name) or 0) >= 1):
        return None
    operand = copy.deepcopy(node.left.left if isinstance(node.left.left, ast.Name)
                            else node.left.comparators[0])
    if step[1] is ast.Lt:
        operand = ast.UnaryOp(op=ast.USub(), operand=operand)
    return _call(_np("heaviside"), operand, ast.Constant(0.5))


def _zero_comparison(node: ast.expr) -> tuple[str, type] | None:
    """``(name, Gt)`` for ``name > 0``, ``(name, Eq)`` for ``name == 0`` or ``0 == name``."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return None
    left, right, op = node.left, node.comparators[0], type(node.ops[0])
    if isinstance(left, ast.Name) and _is_constant(right, 0):
        return left.id, op
    if isinstance(right, ast.Name) and _is_constant(left, 0) and op is ast.Eq:
        return right.id, op
    return None


def _is_constant(node: ast.expr, value: float) -> bool:
    return (isinstance(node, ast.Constant) and type(node.value) in (int, float)
            and node.value == value)


def _bound_target(statement: ir.Assign) -> ast.expr:
    """What the forward sweep assigns to: ``y``, or ``(a, b)`` for an unpacking call."""
    if statement.targets:
        return ast.Tuple(elts=[_store(t) for t in statement.targets], ctx=ast.Store())
    return _store(statement.target)


def _slices_as_values(node: ast.expr) -> ast.expr:
    """An index as a value: ``1:`` becomes ``slice(1, None)`` (only a subscript takes ``:``)."""
    if isinstance(node, ast.Slice):
        parts = [p if p is not None else ast.Constant(None)
                 for p in (node.lower, node.upper, node.step)]
        if node.step is None:
            parts.pop()
            if node.lower is None and node.upper is None:
                parts.pop()
        return _call(_load("slice"), *parts)
    if isinstance(node, ast.Tuple):
        return ast.Tuple(elts=[_slices_as_values(e) for e in node.elts], ctx=ast.Load())
    return node


_SHAPE_READERS = {"unbroadcast": 1, "unreduce": 1, "unbroadcast_to": 1, "unindex": 1,
                  "ndim": 0, "shape": 0, "size": 0, "zeros_like": 0, "ones_like": 0,
                  "empty_like": 0, "len": 0}
"""Calls that read only the shape of their arguments from this position on."""


def _conjugated(tree: ast.expr, primals: dict[int, ast.expr]) -> ast.expr:
    """``tree`` with ``np.conj(x)`` for each complex primal ``x`` (a node whose id is in
    ``primals``), except where only its shape is read (``unbroadcast(e, x)``,
    ``np.shape(x)``, ``x.shape``)."""

    def visit(node: ast.AST, shape_only: bool) -> ast.AST:
        if primals.get(id(node)) is node:
            if shape_only:
                return node
            if isinstance(node, ast.Constant) and isinstance(node.value, complex):
                return ast.Constant(node.value.conjugate())
            if isinstance(node, (ast.List, ast.Tuple)):  # np.linalg.multi_dot([a, b])
                items = [_call(_np("conj"), e) if isinstance(e, ast.Name) else e
                         for e in node.elts]
                return type(node)(elts=items, ctx=ast.Load())
            return _call(_np("conj"), node)
        if isinstance(node, ast.Attribute) and node.attr in ("shape", "ndim", "size",
                                                             "dtype"):
            node.value = visit(node.value, True)
            return node
        if isinstance(node, ast.Call):
            function = node.func
            name = function.id if isinstance(function, ast.Name) else (
                function.attr if isinstance(function, ast.Attribute) else None)
            first = _SHAPE_READERS.get(name)
            node.func = visit(node.func, shape_only)
            node.args = [visit(a, shape_only or (first is not None and i >= first))
                         for i, a in enumerate(node.args)]
            for keyword in node.keywords:
                keyword.value = visit(keyword.value, shape_only)
            return node
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                setattr(node, field, [visit(v, shape_only) if isinstance(v, ast.AST) else v
                                      for v in value])
            elif isinstance(value, ast.AST):
                setattr(node, field, visit(value, shape_only))
        return node

    return visit(tree, False)


def _same_atom(a: ast.expr, b: ast.expr) -> bool:
    if isinstance(a, ast.Name) and isinstance(b, ast.Name):
        return a.id == b.id
    return (isinstance(a, ast.Constant) and isinstance(b, ast.Constant)
            and type(a.value) is type(b.value) and a.value == b.value)


def _summed(gradient: ast.expr, shape: tuple, wanted: tuple) -> ast.expr:
    """``unbroadcast(gradient, x)`` for a ``gradient`` of ``shape`` and an ``x`` of shape
    ``wanted``, both known: the gradient itself, or its sum over the axes broadcasting
    added (leading) and stretched (length 1 in ``x``), reshaped where both happened."""
    if shape == wanted:
        return gradient
    if not wanted:
        return _call(_np("sum"), gradient)
    extra = len(shape) - len(wanted)
    leading = tuple(range(extra))
    stretched = tuple(extra + i for i, n in enumerate(wanted)
                      if n == 1 and shape[extra + i] != 1)

    def summed(axes: tuple, keepdims: bool) -> ast.Call:
        axis = ast.Constant(axes[0]) if len(axes) == 1 else ast.Tuple(
            elts=[ast.Constant(a) for a in axes], ctx=ast.Load())
        keywords = [ast.keyword(arg="axis", value=axis)]
        if keepdims:
            keywords.append(ast.keyword(arg="keepdims", value=ast.Constant(True)))
        return ast.Call(func=_np("sum"), args=[gradient], keywords=keywords)

    if not stretched:
        return summed(leading, False)
    if not leading and len(shape) >= 2 and stretched == (len(shape) - 1,):
        # the sums along the last axis, kept: a product with ones, 2-4 times faster than
        # a sum along short rows (runtime.py)
        return _call(_load("row_sums"), gradient)
    if not leading:
        return summed(stretched, True)
    return _call(_np("reshape"), summed(leading + stretched, True), ast.Tuple(
        elts=[ast.Constant(n) for n in wanted], ctx=ast.Load()))
