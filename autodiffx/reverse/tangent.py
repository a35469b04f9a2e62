"""The tangent sweep: forward mode written out as code, from the same rules.

For each normalised statement ``t = op(a, b)`` whose result depends on the arguments, the
code computes the value as the user's code does and then its tangent ``dt``, from the
tangents of the operands:

* an elementwise rule's partial derivatives, inlined (``dh = dz * (1 - h ** 2)``), the
  expression the rule's tangent computes (:attr:`~autodiffx.rules.registry.Rule.tangent_texts`);
* for an argument in which the primitive is linear (``Rule.linear``), the primitive itself
  applied to the tangent (``dWX = dW @ X + W @ dX``, ``ds = np.mean(dmaximum)``);
* any other rule's tangent function, called on the one direction
  (``dy = det_tangent(dA, y, A)``).

This is what :func:`autodiffx.jvp` runs for a function it covers, in place of evaluating it
on dual numbers (:mod:`autodiffx.reverse.jvp`): the same arithmetic without the
dispatch of operator overloading. It covers straight-line code, branches and loops over
values without a derivative, with calls of functions that have a rule. Anything else --
a write into an array, a call of the user's own functions, a list, a tuple result -- raises
:class:`Declined`, and the dual numbers run the function as they always do.
"""

from __future__ import annotations

import ast
import builtins
import types

import numpy as np

from ..errors import AutodiffError, Location
from ..rules import registry
from ..rules.helpers import HELPERS
from . import ir, optimize
from .adjoint import large
from .adjoint.calls import _half_at_ties
from .adjoint.nodes import _assign, _call, _load, _np, _parsed


class Declined(AutodiffError):
    """The function holds a construct the tangent sweep does not write: the dual numbers
    evaluate it instead. Never reaches the user."""


_PURE_CALLS = frozenset({
    np.zeros, np.ones, np.full, np.eye, np.identity, np.arange, np.linspace, np.shape,
    np.ndim, np.size, len, range, int, float, bool, abs, min, max, isinstance,
})
"""What an expression without a derivative may call: functions of values that never write
into them or into anything else (``np.random`` draws would be drawn twice if the dual
numbers then ran the function)."""


def _pure(call: ast.Call, values: dict) -> bool:
    """Whether ``call`` is of a function in :data:`_PURE_CALLS` or with a rule (NumPy's,
    which write only into ``out=``)."""
    function = _resolve(call.func, values)
    if function is None or any(k.arg == "out" for k in call.keywords):
        return False
    try:
        return function in _PURE_CALLS or registry.lookup(function) is not None
    except TypeError:  # unhashable
        return False


def _resolve(node: ast.expr, values: dict):
    """The object a name or attribute chain of globals stands for, or ``None``."""
    if isinstance(node, ast.Name):
        if node.id in values:
            return values[node.id]
        return getattr(builtins, node.id, None)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, values)
        if isinstance(owner, types.ModuleType):
            return getattr(owner, node.attr, None)
    return None


class TangentSweep:
    """Writes one function's value and tangent code."""

    def __init__(self, source, statements: list, params: list[str], wrt: tuple[int, ...],
                 relevant: set[str], namer: ir.Namer, comments, lines: dict[int, str],
                 globals_used: dict, shape_of: dict | None, rank_of: dict | None = None,
                 request=None, top: bool = True):
        self.source = source
        self.statements = statements
        self.params = params
        self.wrt_names = [params[i] for i in wrt]
        self.relevant = relevant
        self.namer = namer
        self.comments = comments
        self.lines = lines
        self.globals_used = globals_used
        self.shape_of = shape_of or {}
        self.rank_of = rank_of or {}
        self.request = request
        """``request(function, positions, ranks, given, statement)``: the name of the
        generated JVP of a function the code calls, with tangents for ``positions``."""
        self.top = top
        """Whether this is the function ``jvp`` called (which may return a tuple), not one
        it calls."""
        self.tangent_names: dict[str, str] = {}
        self.helpers: set[str] = set()
        self.namespace: dict[str, object] = {}
        """Values the code reads that are neither the user's globals nor helpers: the tangent
        functions of rules without inlined tangents."""
        self.carrying = self._carrying()
        """The names with a tangent: those a derivative may flow into (from the arguments)
        and out of (to the result). Each assignment to one gives it its tangent, zero where
        the value assigned has none, so a tangent never outlives its value (in a loop, or
        after a branch that assigns a constant)."""

    def _carrying(self) -> set[str]:
        carrying = set(self.wrt_names)
        assignments = [s for s in ir.walk(self.statements) if isinstance(s, ir.Assign)
                       and s.kind in ("primitive", "copy", "call") and s.target in self.relevant]
        changed = True
        while changed:
            changed = False
            for statement in assignments:
                if statement.target not in carrying and self._flows(statement, carrying):
                    carrying.add(statement.target)
                    changed = True
        return carrying

    @staticmethod
    def _flows(statement: ir.Assign, carrying: set[str]) -> bool:
        if statement.kind == "call":
            return any(isinstance(o, ast.Name) and o.id in carrying
                       for o in statement.operands)
        if statement.kind == "copy":
            return isinstance(statement.expr, ast.Name) and statement.expr.id in carrying
        rule = statement.rule
        if rule is None or not rule.differentiable:
            return False
        if _joins_a_list(statement):
            return any(isinstance(item, ast.Name) and item.id in carrying
                       for item in statement.operands[0].elts)
        return any(isinstance(operand, ast.Name) and operand.id in carrying and (
            i < len(rule.tangents) and rule.tangents[i] is not None)
            for i, operand in enumerate(statement.operands))

    # ------------------------------------------------------------------ names

    def tangent_of(self, name: str) -> str:
        """The name of ``name``'s tangent in the code (``dz`` for ``z``)."""
        found = self.tangent_names.get(name)
        if found is None:
            found = "d" + name
            if found in self.namer.taken:
                found = self.namer.fresh(found, adjoint_too=False)
            else:
                self.namer.reserve(found)
            self.tangent_names[name] = found
        return found

    def parameters(self) -> list[str]:
        """The tangent parameters, one per differentiated parameter, in order."""
        return [self.tangent_of(name) for name in self.wrt_names]

    def _declined(self, what: str, line: int) -> Declined:
        return Declined(f"the tangent code is not generated for {what}",
                        location=Location(self.source.filename, line, 0,
                                          self.source.lines.get(line, "")))

    def _rank(self, name: str) -> int | None:
        shape = self.shape_of.get(name)
        return None if shape is None else len(shape)

    def _active(self, atom) -> bool:
        return isinstance(atom, ast.Name) and atom.id in self.carrying

    def _zero(self, name: str) -> ast.stmt:
        """``dname = np.zeros(np.shape(name))``: the tangent of a value without one."""
        return _assign(self.tangent_of(name),
                       _call(_np("zeros"), _call(_np("shape"), _load(name))))

    # ------------------------------------------------------------------ statements

    def build(self) -> list[ast.stmt]:
        self.parameters()
        # a parameter not differentiated that a derivative flows into later
        start = [self._zero(name) for name in self.params
                 if name in self.carrying and name not in self.wrt_names]
        body = start + self._block(self.statements, None)
        if self.shape_of:
            # code for these shapes: reverse mode's forward sweep's rewrites, for the
            # tangents too (a tangent has its value's shape)
            shapes = dict(self.shape_of)
            shapes.update((self.tangent_names[name], shape)
                          for name, shape in self.shape_of.items()
                          if name in self.tangent_names)
            arrays = {name for name, shape in shapes.items() if shape}
            optimize.indexed_expand_dims(body, lambda name: len(shapes[name])
                                         if name in arrays else None)
            optimize.inline_within_a_line(body, arrays.__contains__)
            optimize.release_after_last_use(body, lambda name: large(shapes.get(name))
                                            and name not in self.params
                                            and name not in self.parameters())
        return body

    def _block(self, statements: list, line: int | None) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for statement in statements:
            if statement.line != line and statement.line > 0 and not isinstance(
                    statement, (ir.Break, ir.Continue)):
                out.append(self.comments.marker(self.lines.get(statement.line) or
                                                self.source.lines.get(statement.line, "")
                                                .strip()))
                line = statement.line
            out += self._statement(statement)
        return out

    def _statement(self, statement) -> list[ast.stmt]:
        if isinstance(statement, ir.Assign):
            return self._assign(statement)
        if isinstance(statement, ir.If):
            self._check_calls(statement.test, statement.line)
            return [ast.If(test=ir.copy_tree(statement.test),
                           body=self._block(statement.body, statement.line) or [ast.Pass()],
                           orelse=self._block(statement.orelse, statement.line))]
        if isinstance(statement, ir.For):
            self._check_calls(statement.iter, statement.line)
            if statement.target in self.carrying or any(
                    self._active(n) for n in ir.nodes(statement.iter)
                    if not _inside_call(n, statement.iter)):
                raise self._declined("a loop over values with a derivative", statement.line)
            return [ast.For(target=ast.Name(id=statement.target, ctx=ast.Store()),
                            iter=ir.copy_tree(statement.iter),
                            body=self._block(statement.body, statement.line) or [ast.Pass()],
                            orelse=[], type_comment=None, lineno=0)]
        if isinstance(statement, ir.While):
            self._check_calls(statement.test, statement.line)
            return [ast.While(test=ir.copy_tree(statement.test),
                              body=self._block(statement.body, statement.line) or [ast.Pass()],
                              orelse=[])]
        if isinstance(statement, ir.Break):
            return [ast.Break()]
        if isinstance(statement, ir.Continue):
            return [ast.Continue()]
        if isinstance(statement, ir.Return):
            return [self._return(statement)]
        what = {"Store": "a write into an array", "Append": "a list appended to",
                "Effect": "a statement run for its effect"}.get(type(statement).__name__,
                                                                 "this statement")
        raise self._declined(what, statement.line)

    def _check_calls(self, expression: ast.expr, line: int) -> None:
        """An expression without a derivative calls nothing that writes or draws."""
        for node in ir.nodes(expression):
            if isinstance(node, ast.Call) and not _pure(node, self.globals_used):
                raise self._declined(f"a call of {ast.unparse(node.func)} without a rule",
                                     line)

    def _return(self, statement: ir.Return) -> ast.stmt:
        value = statement.value
        items = value.elts if isinstance(value, ast.Tuple) and self.top else [value]
        if not all(isinstance(item, (ast.Name, ast.Constant)) for item in items):
            raise self._declined("a result other than one value or a tuple of values",
                                 statement.line)
        tangents = [_load(self.tangent_of(item.id)) if self._active(item) else
                    _call(_np("zeros"), _call(_np("shape"), ir.copy_tree(item)))
                    for item in items]
        tangent = ast.Tuple(elts=tangents, ctx=ast.Load()) if isinstance(
            value, ast.Tuple) else tangents[0]
        return ast.Return(value=ast.Tuple(elts=[ir.copy_tree(value), tangent],
                                          ctx=ast.Load()))

    # ------------------------------------------------------------------ assignments

    def _assign(self, statement: ir.Assign) -> list[ast.stmt]:
        if statement.targets:
            raise self._declined("an unpacking", statement.line)
        # (``y += v`` is written ``y = y + v``, as reverse mode's forward sweep writes it:
        # the aliasing check refused it where another name for y's memory is read after,
        # and a write into a parameter's memory made the whole function decline)
        target = statement.target
        if target in self.relevant and self._drops_a_derivative(statement):
            raise self._declined("a derivative through a value it does not follow (in a "
                                 "list, a keyword, a call without a rule)", statement.line)
        value = _assign(target, ir.copy_tree(statement.expr))
        carries = target in self.carrying
        if statement.kind == "opaque":
            self._check_calls(statement.expr, statement.line)
            return [value, self._zero(target)] if carries else [value]
        if statement.kind == "copy":
            if not carries:
                return [value]
            if self._active(statement.expr):
                return [value, _assign(self.tangent_of(target),
                                       _load(self.tangent_of(statement.expr.id)))]
            return [value, self._zero(target)]
        if statement.kind == "call" and self.request is not None:
            return self._call(statement, value)
        if statement.kind != "primitive":
            what = {"call": "a call of another function of yours", "list": "a list",
                    "unsupported": "an operation without a rule"}.get(statement.kind,
                                                                      statement.kind)
            raise self._declined(what, statement.line)
        if "out" in statement.keywords:
            raise self._declined("a call writing into out=", statement.line)
        if not carries:
            # no derivative flows in, or the result does not depend on this value (activity
            # analysis proves it): the value alone
            return [value]
        return self._primitive(statement, value)

    def _call(self, statement: ir.Assign, value: ast.stmt) -> list[ast.stmt]:
        """``y = g(a, b)`` of another function of the user's: ``y, dy = g_jvp(a, b, da)``,
        its generated JVP, with tangents for the arguments that carry one."""
        target = statement.target
        positions = [i for i, o in enumerate(statement.operands) if self._active(o)]
        if target not in self.carrying:
            positions = []  # (still its generated code: the function may write, or print)
        if statement.targets or statement.keywords or any(
                not isinstance(o, (ast.Name, ast.Constant)) for o in statement.operands):
            raise self._declined("a call with keywords or with a list or tuple argument",
                                 statement.line)
        ranks = tuple(self._atom_rank(o) for o in statement.operands)
        name = self.request(statement.function, tuple(positions), ranks,
                            len(statement.operands), statement)
        call = ast.Call(func=_load(name),
                        args=[*map(ir.copy_tree, statement.operands),
                              *(_load(self.tangent_of(statement.operands[i].id))
                                for i in positions)], keywords=[])
        tangent = self.tangent_of(target) if target in self.carrying else "_"
        pair = ast.Tuple(elts=[ast.Name(id=target, ctx=ast.Store()),
                               ast.Name(id=tangent, ctx=ast.Store())], ctx=ast.Store())
        return [_assign(pair, call)]

    def _atom_rank(self, atom) -> int:
        if isinstance(atom, ast.Name):
            rank = self.rank_of.get(atom.id)
            return -1 if rank is None else rank
        return int(np.ndim(atom.value)) if isinstance(atom, ast.Constant) else -1

    def _drops_a_derivative(self, statement: ir.Assign) -> bool:
        """Whether the statement reads a value with a tangent where the code would give its
        target none, though the derivative is not zero: inside a list (``np.stack([a,
        b])``), a keyword or an expression without a rule (``np.array([x, y])``), or through
        a rule without tangents (reverse mode's builtin ``sum``). Zero by the rule are a
        nondifferentiable rule's and an operand whose tangent is ``None``."""
        expression = statement.expr
        if not any(self._active(node) for node in ir.nodes(expression)):
            return False
        if statement.kind == "copy":
            return not self._active(expression)
        if statement.kind == "call":
            return False  # (its generated JVP takes the tangents; _call declines the rest)
        if _joins_a_list(statement) and not any(
                self._active(node) for operand in statement.operands[1:]
                for node in ir.nodes(operand)) and not any(
                self._active(node) for keyword in statement.keywords.values()
                for node in ir.nodes(keyword)):
            return False  # (the items' tangents, joined: _join)
        rule = statement.rule
        if statement.kind != "primitive" or rule is None:
            return True
        if not rule.differentiable:
            return False
        if any(self._active(node) for keyword in statement.keywords.values()
               for node in ir.nodes(keyword)):
            return True
        names = set()
        for i, operand in enumerate(statement.operands):
            if isinstance(operand, ast.Name):
                names.add(operand.id)
                if self._active(operand) and i >= len(rule.tangents):
                    return True
            elif any(self._active(node) for node in ir.nodes(operand)):
                return True
        return any(self._active(node) and node.id not in names
                   for node in ir.nodes(expression))

    def _join(self, statement: ir.Assign, value: ast.stmt) -> list[ast.stmt]:
        """``z = np.concatenate([a, b], axis=1)`` (and the other joins, linear in their
        arrays together): ``dz = np.concatenate([da, np.zeros(np.shape(b))], axis=1)``."""
        items = statement.operands[0]
        tangents = [_load(self.tangent_of(item.id)) if self._active(item)
                    else _call(_np("zeros"), _call(_np("shape"), ir.copy_tree(item)))
                    for item in items.elts]
        joined = type(items)(elts=tangents, ctx=ast.Load())
        tangent = _with_operand(statement.expr, statement.operands, 0, joined)
        if tangent is None:
            raise self._declined("a join spelled in a way it does not follow",
                                 statement.line)
        return [value, _assign(self.tangent_of(statement.target), tangent)]

    def _primitive(self, statement: ir.Assign, value: ast.stmt) -> list[ast.stmt]:
        rule = statement.rule
        target = statement.target
        if _joins_a_list(statement) and not self._drops_a_derivative(statement):
            return self._join(statement, value)
        if rule is None or rule.sequence or rule.outputs is not None:
            raise self._declined("a function of a list or with several results",
                                 statement.line)
        for keyword in statement.keywords.values():
            if any(self._active(n) for n in ir.nodes(keyword)):
                raise self._declined("a keyword argument with a derivative",
                                     statement.line)
        if any(not isinstance(o, (ast.Name, ast.Constant)) and any(
                self._active(n) for n in ir.nodes(o)) for o in statement.operands):
            raise self._declined("a list or tuple of values with a derivative",
                                 statement.line)
        active = [i for i, operand in enumerate(statement.operands) if self._active(operand)
                  and i < len(rule.tangents) and rule.tangents[i] is not None]
        parts = []
        reads_old_value = False
        for i in active:
            part = self._part(statement, i)
            parts.append(part)
            # t = f(t) whose tangent reads t itself (not only dt): np.sin's, not np.add's
            reads_old_value = reads_old_value or target in {
                n.id for n in ir.name_nodes(part)}
        code_target = target
        if reads_old_value:
            # t = f(t): the tangent reads the operand t, so the new value waits in a name
            # of its own until the tangent is computed
            code_target = self.namer.fresh(f"{target}_new", adjoint_too=False)
            value = _assign(code_target, ir.copy_tree(statement.expr))
        parts = [_renamed(p, {"__ans__": code_target}) for p in parts]
        code = [value]
        if not parts:
            tangent_value = _call(_np("zeros"), _call(_np("shape"), _load(code_target)))
        else:
            tangent_value = parts[0]
            for part in parts[1:]:
                tangent_value = ast.BinOp(left=tangent_value, op=ast.Add(), right=part)
            if not self._full_shape(statement, active, rule):
                self.helpers.add("broadcast_like")
                tangent_value = _call(_load("broadcast_like"), tangent_value,
                                      _load(code_target))
        code.append(_assign(self.tangent_of(target), tangent_value))
        if reads_old_value:
            code.append(_assign(target, _load(code_target)))
        return code

    def _full_shape(self, statement: ir.Assign, active: list[int], rule) -> bool:
        """Whether the tangent has the value's shape by construction: a linear rule's
        tangent is the primitive applied to a tangent of its operand's shape; an elementwise
        one has the shape of an active operand of the result's shape."""
        if all(i in rule.linear for i in active):
            return True
        if rule.elementwise:
            shape = self.shape_of.get(statement.target)
            if shape is not None and any(
                    self.shape_of.get(statement.operands[i].id) == shape for i in active):
                return True
            # every other operand a number: the result has the active operand's shape
            return len(active) == 1 and bool(rule.tangent_texts) and all(
                i in active or self._atom_rank(o) == 0
                for i, o in enumerate(statement.operands))
        return False

    def _part(self, statement: ir.Assign, index: int) -> ast.expr:
        """Operand ``index``'s share of the tangent, with the value written ``__ans__``."""
        rule = statement.rule
        operands = statement.operands
        tangent = _load(self.tangent_of(operands[index].id))
        if index in rule.linear:
            replaced = _with_operand(statement.expr, operands, index, tangent)
            if replaced is not None:
                return replaced
        text = rule.tangent_texts[index] if index < len(rule.tangent_texts) else None
        if text is not None and len(operands) == len(rule.params) and not statement.keywords:
            mapping = {"t": tangent, "ans": _load("__ans__")}
            mapping.update(zip(rule.params, operands, strict=True))
            expression = ir.copy_tree(_parsed(text), lambda node: _substitute(node, mapping))
            expression = _half_at_ties(optimize.fold(expression, self._rank,
                                                     self.shape_of.get), self._rank)
            self.helpers |= {n.id for n in ir.name_nodes(expression) if n.id in HELPERS}
            return expression
        if len(operands) != len(rule.params):
            raise self._declined("a call leaving out or naming arguments",
                                 statement.line)
        name = f"{rule.name}_tangent" + (
            f"_{rule.params[index]}" if sum(t is not None for t in rule.tangents) > 1 else "")
        name = "".join(c if c.isalnum() else "_" for c in name)
        function = _one_direction(rule, index)
        existing = self.namespace.get(name)
        if existing is not None and existing.rule_tangent is not function.rule_tangent:
            name = self.namer.fresh(name, adjoint_too=False)
        self.namespace[name] = function
        self.namer.reserve(name)
        call = ast.Call(func=_load(name),
                        args=[tangent, _load("__ans__"), *map(ir.copy_tree, operands)],
                        keywords=[ast.keyword(arg=k, value=ir.copy_tree(v))
                                  for k, v in statement.keywords.items()])
        return call


def _joins_a_list(statement: ir.Assign) -> bool:
    """Whether the statement joins a literal list or tuple of names and constants with a
    rule linear in them together (``np.concatenate([a, b])``, ``np.stack((a, 1.0))``)."""
    rule = statement.rule
    return (statement.kind == "primitive" and rule is not None and rule.sequence
            and 0 in rule.linear and bool(statement.operands)
            and isinstance(statement.operands[0], (ast.List, ast.Tuple))
            and all(isinstance(item, (ast.Name, ast.Constant))
                    for item in statement.operands[0].elts))


def _inside_call(node: ast.AST, expression: ast.expr) -> bool:
    """Whether ``node`` is read through a call in ``expression`` (``range(len(x))``)."""
    return any(node is inner for call in ir.nodes(expression) if isinstance(call, ast.Call)
               for inner in ir.nodes(call) if inner is not call)


def _substitute(node: ast.AST, mapping: dict) -> ast.AST | None:
    if isinstance(node, ast.Name) and node.id in mapping:
        return ir.copy_tree(mapping[node.id])
    return None


def _renamed(expression: ast.expr, names: dict[str, str]) -> ast.expr:
    for node in ir.name_nodes(expression):
        if node.id in names:
            node.id = names[node.id]
    return expression


def _with_operand(expression: ast.expr, operands: list, index: int, tangent: ast.expr):
    """``expression`` (one operation on ``operands``) with operand ``index`` replaced by
    ``tangent``, or ``None`` when the operand's place in it is not plain."""
    if isinstance(expression, ast.BinOp) and len(operands) == 2:
        places = [expression.left, expression.right]
    elif isinstance(expression, ast.UnaryOp) and len(operands) == 1:
        places = [expression.operand]
    elif isinstance(expression, ast.Call) and not any(
            isinstance(a, ast.Starred) for a in expression.args):
        places = list(expression.args)
        if isinstance(expression.func, ast.Attribute) and len(places) == len(operands) - 1:
            places = [expression.func.value, *places]  # x.sum(axis=0): x is operand 0
    elif isinstance(expression, ast.Attribute) and len(operands) == 1:
        places = [expression.value]
    elif isinstance(expression, ast.Subscript):
        places = [expression.value]
    else:
        return None
    if index >= len(places) or places[index] is not operands[index] and not (
            isinstance(places[index], ast.Name) and isinstance(operands[index], ast.Name)
            and places[index].id == operands[index].id):
        return None
    chosen = places[index]
    return ir.copy_tree(expression, lambda node: ir.copy_tree(tangent)
                        if node is chosen else None)


class _OneDirection:
    """A rule's tangent function for one direction: the code's tangents have no axis of
    directions, the rule's have one (``t[np.newaxis]``), taken off the result."""

    __slots__ = ("rule_tangent", "elementwise")

    def __init__(self, rule_tangent, elementwise: bool):
        self.rule_tangent = rule_tangent
        self.elementwise = elementwise

    def __call__(self, t, ans, *args, **keywords):
        t = np.asarray(t)[np.newaxis]
        if self.elementwise:
            rank = np.ndim(ans)
            if t.ndim <= rank:  # right-aligned broadcasting must see the primal's axes
                t = t.reshape(t.shape[:1] + (1,) * (rank + 1 - t.ndim) + t.shape[1:])
        return self.rule_tangent(t, ans, *args, **keywords)[0]


def _one_direction(rule, index: int) -> _OneDirection:
    return _OneDirection(rule.tangents[index], rule.elementwise)
