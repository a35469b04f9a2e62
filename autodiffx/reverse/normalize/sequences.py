"""Lists and tuples: names followed as lists (displays, comprehensions, appends, splits),
unpacking (``a, b = ...``), calls with several results, and lists NumPy converts with
``np.asarray``, followed as ``np.stack``."""

from __future__ import annotations

import ast
import builtins
import copy

import numpy as np

from ...rules import registry
from .. import ir
from ..fence import refuse
from ..source import is_missing
from .callees import is_user_function, output_count, returned_tuple_size
from .names import load

LIST_SUM = registry.Rule(
    name="sum",
    primitives=(builtins.sum,),
    params=("xs",),
    adjoints=("[unbroadcast(g, item) for item in xs]",),
    doc="sum(xs) of a local list: every item receives the cotangent",
)
"""The builtin ``sum`` over a local list; reverse mode only (not in the shared registry)."""

ARRAY_SUM = registry.Rule(
    name="sum",
    primitives=(builtins.sum,),
    params=("x",),
    adjoints=("np.broadcast_to(g, np.shape(x))",),
    doc="sum(x) of an array adds its rows (x[0] + x[1] + ...): every row receives the "
    "cotangent",
)
"""The builtin ``sum`` over an array, which iterates over its first axis; reverse mode
only, as :data:`LIST_SUM` (forward mode follows Python's iteration over a Dual)."""


_FORWARD_HINT = 'write the loop out, or use mode="forward"'


_MAY_GIVE_SEVERAL = frozenset({np.gradient, np.nonzero, np.where, np.atleast_1d,
                               np.atleast_2d, np.atleast_3d})
"""NumPy functions with a rule that return a tuple or a list for some arguments
(``np.gradient`` over several axes, ``np.where(c)``, ``np.atleast_1d(a, b)``): ``sum`` of
one of those is not the sum of an array's rows."""


class Sequences:
    """Lists, tuples and several results, for :class:`~autodiffx.reverse.normalize.Normalizer`."""

    def _display(self, target: str, node: ast.List | ast.Tuple, origin) -> None:
        """``target = [a, b]`` or ``(a, b)``: a list followed item by item when ``target``
        is one, else a value no derivative passes through."""
        if target in self.lists or isinstance(node, ast.List) and self._is_temporary(target):
            # a tuple display bound to a name is followed as a list is (it stays a tuple)
            elements = [self._atom(e) for e in node.elts]
            self.lists.add(target)
            self.pending.append(ir.Assign(target, type(node)(elts=elements, ctx=ast.Load()),
                                          "list", self.line, operands=elements, node=origin))
            return
        elements = [self._atom(e) for e in node.elts]
        self._emit_opaque(target, type(node)(elts=elements, ctx=ast.Load()), origin,
                          inactive=False)

    def _fixed_value(self, node: ast.Name):
        """The value of a global or closure name, read now and guarded at each call (the
        code is made again when it changes), or None for a local name."""
        if node.id in self.locals or is_missing(self._static(node)):
            return None
        self._use_global(node.id, node)
        return self._static(node)

    def _tuple_item(self, target: str, node: ast.Subscript, origin) -> None:
        """``target = helper(x)[k]`` of a helper returning a tuple, or
        ``np.linalg.eigh(a)[0]``: every item unpacked, item k kept."""
        callee = self._static(node.value.func)
        rule = registry.lookup(callee)
        size = (output_count(rule, node.value, self._fixed_value)
                if rule is not None and rule.outputs else returned_tuple_size(callee))
        names = self._unpacked_items(target, node.value, size, origin)
        self._assign(target, load(names[node.slice.value]), origin)

    def _unpacked_items(self, target: str, call: ast.Call, size: int, origin) -> list[str]:
        """``target_item, ... = call``: the ``size`` results of ``call`` unpacked into fresh
        names, which are returned."""
        names = [self._fresh(f"{target}_item") for _ in range(size)]
        self._unpack(ast.Tuple(elts=[load(n) for n in names], ctx=ast.Store()), call, origin)
        return names

    def _unpack(self, target, value, node) -> None:
        names = []
        for element in target.elts:
            if not isinstance(element, ast.Name):
                raise refuse(self.source, element, "nested unpacking", "unpack step by step")
            names.append(element.id)
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(names):
            clash = any(n in names for e in value.elts for n in ir.names_in(e))
            if not clash:
                for name, element in zip(names, value.elts, strict=True):
                    self._assign(name, element, node)
                return
            atoms = []
            for element in value.elts:
                atom = self._atom(element)
                if isinstance(atom, ast.Name) and atom.id in names:
                    temporary = self._fresh(atom.id + "_old")
                    self._emit_copy(temporary, atom, node)
                    atom = load(temporary)
                atoms.append(atom)
            for name, atom in zip(names, atoms, strict=True):
                self._assign(name, atom, node)
            return
        callee = self._static(value.func) if isinstance(value, ast.Call) else None
        rule = registry.lookup(callee) if callee is not None else None
        if rule is not None and rule.outputs is not None:
            # w, V = np.linalg.eigh(a): one primitive binding both names
            label = self._fresh(ir.sanitize(callee.__name__))  # names the call; never bound
            self._call_with_rule(label, value, callee, rule, node)
            statement = self.pending[-1]
            if not (isinstance(statement, ir.Assign) and statement.target == label
                    and statement.kind == "primitive"):
                raise refuse(self.source, value, f"np.{callee.__name__} with these arguments",
                             "pass plain arrays and numbers")
            statement.targets = names
            return
        if isinstance(value, ast.Call) and is_user_function(self._static(value.func)):
            # a, b = helper(x): one call binding both names, differentiated through
            for argument in value.args:
                if isinstance(argument, ast.Starred):
                    raise refuse(self.source, argument, "*unpacking", "pass arguments one by one")
            function = value.func
            if isinstance(function, ast.Name):
                self._use_global(function.id, function)
            args = [self._atom(a) for a in value.args]
            keywords = [ast.keyword(arg=k.arg, value=self._static_or_atom(k.value))
                        for k in value.keywords]
            expression = ast.Call(func=ir.copy_tree(function), args=args, keywords=keywords)
            callee = self._static(function)
            label = ir.sanitize(callee.__name__)  # names the pullback; never bound
            self.pending.append(
                ir.Assign(label, expression, "call", self.line, operands=args,
                          keywords={k.arg: k.value for k in keywords}, function=callee,
                          node=node, targets=names)
            )
            return
        whole = self._atom(value)
        for position, name in enumerate(names):
            item = ast.Subscript(value=copy.deepcopy(whole), slice=ast.Constant(position),
                                 ctx=ast.Load())
            self._assign(name, item, node)

    def _comprehension(self, target: str, node: ast.ListComp, origin) -> None:
        """``[e for v in s if c]`` becomes ``target = []`` and a loop appending ``e``."""
        if target not in self.lists and not self._is_temporary(target):
            raise refuse(self.source, node, f"a list comprehension assigned to {target}, "
                         "which is also bound to something other than a list",
                         "give the list a name of its own")
        self.lists.add(target)
        self.pending.append(ir.Assign(target, ast.List(elts=[], ctx=ast.Load()), "list",
                                      self.line, node=origin))
        element = node.elt
        generators = copy.deepcopy(node.generators)
        for generator in generators:
            if generator.is_async:
                raise refuse(self.source, node, "an async comprehension", _FORWARD_HINT)
        renames = {}
        for generator in generators:
            for name in ir.names_in(generator.target):
                if self._bound_elsewhere(name, node):
                    renames[name] = self._fresh(name)
        if renames:
            element, generators = _renamed((element, generators), renames)
        append = ast.Expr(value=ast.Call(
            func=ast.Attribute(value=load(target), attr="append", ctx=ast.Load()),
            args=[element], keywords=[]))
        body: ast.stmt = append
        for generator in reversed(generators):
            for condition in reversed(generator.ifs):
                body = ast.If(test=condition, body=[body], orelse=[])
            body = ast.For(target=generator.target, iter=generator.iter, body=[body],
                           orelse=[], type_comment=None)
        for sub in ast.walk(body):
            if isinstance(sub, ast.stmt):
                ast.copy_location(sub, node)
        line = self.line
        self.pending = self._for(body)
        self.line = line

    def _bound_elsewhere(self, name: str, comprehension: ast.ListComp) -> bool:
        inside = {id(n) for n in ast.walk(comprehension)}
        return any(
            isinstance(n, (ast.Name, ast.arg)) and id(n) not in inside
            and (n.arg if isinstance(n, ast.arg) else n.id) == name
            for n in ast.walk(self.source.node)
        )

    def _several_results(self, target, node, callee, rule, origin) -> None:
        """``parts = np.split(x, 3)`` bound whole: the parts unpacked into names and
        gathered in a list, when the code says how many; otherwise no derivative passes
        (refused if one has to)."""
        count = output_count(rule, node, self._fixed_value)
        if target in self.lists and count is not None:
            names = self._unpacked_items(target, node, count, origin)
            elements = [load(n) for n in names]
            self.pending.append(ir.Assign(target, ast.List(elts=elements, ctx=ast.Load()),
                                          "list", self.line, operands=elements, node=origin))
            return
        args = [self._atom(a) for a in node.args]
        keywords = [ast.keyword(arg=k.arg, value=self._static_or_atom(k.value))
                    for k in node.keywords]
        expression = ast.Call(func=ir.copy_tree(node.func), args=args, keywords=keywords)
        spelled = ast.unparse(node.func)
        self.pending.append(ir.Assign(
            target, expression, "unsupported", self.line, operands=args, function=callee,
            node=origin, why=f"{spelled} returns several results, and reverse mode follows "
            f"them only when they are unpacked (a, b = {spelled}(...)), indexed at once "
            f"({spelled}(...)[0]), or, for a split into a number of parts the code gives, "
            "bound to a name used as a list"))

    def _holds_values(self, node: ast.expr, comprehensions: bool = False) -> bool:
        """A list display with a name in it, or a local list name (or, with
        ``comprehensions``, a list comprehension): values NumPy converts with np.asarray,
        which reverse mode follows as np.stack."""
        if isinstance(node, ast.Name):
            return node.id in self.lists
        if isinstance(node, ast.ListComp):
            return comprehensions
        return isinstance(node, ast.List) and bool(node.elts) and not all(
            isinstance(e, ast.Constant) for e in node.elts)

    def _stacked(self, node: ast.expr, origin) -> ast.Name:
        """A temporary holding ``np.stack`` of the list ``node`` (a list name, a display,
        nested displays stacked first, or a comprehension)."""
        stacked = self._fresh("stacked")
        if isinstance(node, (ast.List, ast.Tuple)):
            items = ast.List(elts=[
                self._stacked(e, origin) if isinstance(e, (ast.List, ast.Tuple)) and e.elts
                else self._atom(e) for e in node.elts], ctx=ast.Load())
        else:
            items = self._atom(node)
        self.pending.append(self._call_rule(stacked, np.stack, [items], origin))
        return load(stacked)

    def _list_sum(self, argument: ast.expr) -> registry.Rule | None:
        """The rule of ``sum(xs)`` when ``xs`` is a local list, or of ``sum(x)`` when ``x``
        is a local name bound to something else, an array (``None`` otherwise)."""
        if isinstance(argument, ast.Name) and argument.id not in self.lists:
            return ARRAY_SUM if argument.id in self.locals else None
        return LIST_SUM

    def _array_expression(self, node: ast.expr) -> bool:
        """Whether ``node`` is arithmetic, an index or an attribute of local names that are
        not lists, with no list or tuple display in it, or a call of a NumPy function that
        returns one array: a value that is a number or an array, never a list (``[x] * 3``
        and ``np.split(x, 3)`` are lists)."""
        if not isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Subscript, ast.Attribute,
                                 ast.Call)):
            return False
        pending = [node]
        while pending:
            sub = pending.pop()
            if isinstance(sub, ast.Call):
                callee = self._static(sub.func)
                rule = registry.lookup(callee) if callee is not None else None
                if isinstance(callee, np.ufunc):
                    if callee.nout != 1:  # np.modf, np.divmod: a tuple
                        return False
                elif rule is None or rule.outputs is not None or rule.sequence or (
                        callee in _MAY_GIVE_SEVERAL or self._is_split(sub)
                        or not getattr(callee, "__module__", "").startswith("numpy")):
                    return False
            elif isinstance(sub, ast.Subscript):
                pending.append(sub.value)  # (the index may hold tuples: x[:, 0])
            elif isinstance(sub, (ast.BinOp, ast.UnaryOp, ast.Attribute)):
                pending.extend(ast.iter_child_nodes(sub))
            elif isinstance(sub, ast.Name):
                if sub.id in self.lists or sub.id not in self.locals and not isinstance(
                        self._static(sub), (int, float, np.ndarray)):
                    return False
            elif not isinstance(sub, (ast.Constant, ast.operator, ast.unaryop,
                                      ast.expr_context)):
                return False
        return True

    def _array_rule(self, argument: ast.expr) -> registry.Rule | None:
        """``np.array(xs)`` of a list of values is ``np.stack(xs)``; of an array, a copy."""
        if isinstance(argument, (ast.List, ast.Tuple, ast.ListComp)) or (
            isinstance(argument, ast.Name) and argument.id in self.lists
        ):
            return registry.lookup(np.stack)
        if isinstance(argument, ast.Name) and argument.id in self.locals:
            return registry.lookup(np.copy)
        return None

    def _is_split(self, node: ast.expr) -> bool:
        """``np.split(x, 3)``, or ``helper(x)`` of a function of yours that returns tuples
        of one length: a call whose results are followed as the items of a list."""
        if not isinstance(node, ast.Call):
            return False
        callee = self._static(node.func)
        if is_user_function(callee) and not any(
                isinstance(a, ast.Starred) for a in node.args):
            return returned_tuple_size(callee) is not None
        rule = registry.lookup(callee) if callee is not None else None
        return rule is not None and rule.outputs == "sections" and output_count(
            rule, node, self._fixed_value) is not None

    def _indexes_a_tuple_call(self, node: ast.Subscript) -> bool:
        """``helper(x)[k]``: a whole-number index into what a user function returns, when
        every one of its ``return`` statements returns a tuple of one length above k."""
        call, index = node.value, node.slice
        if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub) and isinstance(
                index.operand, ast.Constant) and type(index.operand.value) is int:
            index = node.slice = ast.Constant(-index.operand.value)  # helper(x)[-1]
        if not (isinstance(call, ast.Call) and isinstance(index, ast.Constant)
                and type(index.value) is int):
            return False
        callee = self._static(call.func)
        rule = registry.lookup(callee) if callee is not None else None
        if rule is not None and rule.outputs is not None:
            size = output_count(rule, call, self._fixed_value)
        elif is_user_function(callee):
            size = returned_tuple_size(callee)
        else:
            return False
        if size is not None and -size <= index.value < size:
            index.value %= size
            return True
        return False


def list_names(function: ast.FunctionDef, splits=lambda call: False) -> set[str]:
    """Local names bound only to list literals, list comprehensions (``rows = []``) or
    splits (``parts = np.split(x, 3)``, when ``splits(call)`` says)."""
    lists: set[str] = set()
    others: set[str] = {a.arg for a in ir.nodes(function.args) if isinstance(a, ast.arg)}
    for node in ir.nodes(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name) and (
                    isinstance(node.value, (ast.List, ast.ListComp))
                    or (isinstance(node.value, ast.Tuple) and not all(
                        isinstance(e, ast.Constant) for e in node.value.elts))
                    or splits(node.value)):
            lists.add(node.targets[0].id)
            continue
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For,
                             ast.comprehension)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                others.update(n.id for n in ir.nodes(target) if isinstance(n, ast.Name)
                              and isinstance(n.ctx, ast.Store) and target is not None
                              and not isinstance(target, ast.Subscript))
    return lists - others


def _renamed(tree, renames: dict[str, str]):
    tree = copy.deepcopy(tree)
    nodes = tree if isinstance(tree, tuple) else (tree,)
    for part in nodes:
        for item in part if isinstance(part, list) else [part]:
            for sub in ast.walk(item):
                if isinstance(sub, ast.Name) and sub.id in renames:
                    sub.id = renames[sub.id]
    return tree
