"""Subscripts and stores: ``x[index]`` read, ``x[index] = v`` and ``x[index] += v``
written, calls that write into an array (``out=``, ``np.copyto``, ``np.add.at``, ``y.sort()``)
as the stores they amount to, and the copies that keep a name written into from sharing
memory."""

from __future__ import annotations

import ast
import copy

import numpy as np

from ...rules import helpers, registry
from .. import ir, mutation, ranks
from ..fence import refuse
from ..source import is_missing
from .callees import METHODS, is_constant_maker, is_random, is_user_function
from .names import load


class Stores:
    """Subscripts and stores, for :class:`~autodiffx.reverse.normalize.Normalizer`."""

    def _store(self, target: ast.Subscript, value, node) -> None:
        if not (isinstance(target.value, ast.Name) and target.value.id in self.locals):
            raise refuse(
                self.source, target, "a write into a non-local array", "copy it into a local first"
            )
        index = self._index(target.slice)
        atom = self._atom(value)
        self.pending.append(ir.Store(target.value.id, index, atom, self.line))

    def _subscript(self, target: str, node: ast.Subscript, origin) -> None:
        """``target = x[index]``: the rule of ``operator.getitem`` for a local array."""
        value = self._atom(node.value)
        index = self._index(node.slice)
        expression = ast.Subscript(value=value, slice=index, ctx=ast.Load())
        table = self._static(node.value)
        if (isinstance(table, np.ndarray) and isinstance(value, ast.Name)
                and value.id not in self.locals and not ir.names_in(index)):
            # W[0, 0], W[1:] of a global array: a constant (its binding is guarded)
            self.pending.append(ir.Assign(
                target, expression, "opaque", self.line, node=origin,
                rank=ranks.index_rank(table.ndim, index, {})))
            return
        if not isinstance(value, ast.Name) or value.id not in self.locals:
            # np.r_[x, 1.0], a global table indexed by a value: no rule reads the index
            self.pending.append(ir.Assign(
                target, expression, "unsupported", self.line, node=origin,
                operands=[load(n) for n in ir.names_in(index)],
                why=f"indexing {ast.unparse(node.value)}, which is not a local array, "
                "with a value being differentiated has no derivative rule (for np.r_ "
                "and np.c_ use np.concatenate, np.stack or np.column_stack)"))
            return
        if target in self.stored:
            view = self._fresh(self._name_for(node))
            self._emit_rule(view, _getitem(), expression, [value, index], {}, origin)
            self._emit_unshared(target, view, origin)
            return
        self._emit_rule(target, _getitem(), expression, [value, index], {}, origin)

    def _augmented_store(self, target: ast.Subscript, operation: ast.BinOp, node) -> None:
        """``x[index] += v``: ``x_item = x[index]``, then the store of ``x_item + v``."""
        if not (isinstance(target.value, ast.Name) and target.value.id in self.locals):
            raise refuse(self.source, target, "a write into a non-local array", "copy it")
        index = self._index(target.slice)
        base = target.value.id
        old = self._fresh(f"{base}_item")
        self._assign(old, ast.Subscript(value=load(base), slice=copy.deepcopy(index),
                                        ctx=ast.Load()), node)
        operation.left = load(old)
        new = self._atom(operation)
        self.pending.append(ir.Store(base, index, new, self.line))

    def _index(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Tuple):
            return ast.Tuple(elts=[self._index_part(e) for e in node.elts], ctx=ast.Load())
        return self._index_part(node)

    def _index_part(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self._atom(p) for p in (node.lower, node.upper,
                                                                     node.step)]
            return ast.Slice(lower=parts[0], upper=parts[1], step=parts[2])
        return self._atom(node)

    def _writes(self, call: ast.Call) -> bool:
        """Whether ``call`` writes into an array: ``out=``, ``np.copyto``, ``y.sort()``."""
        callee = self._static(call.func)
        if mutation.out_arguments(callee, call) or mutation.writes_into(callee):
            return True
        function = call.func
        return (isinstance(function, ast.Attribute) and function.attr in mutation.WRITING_METHODS
                and is_missing(callee) and function.attr != "append")

    def _writing_call(self, target: str | None, call: ast.Call, origin) -> None:
        """A call that writes into an array, as the store it amounts to (``np.copyto(y, x)``
        is ``y[...] = x``), or as an effect naming what it writes (refused when a derivative
        flows through that); ``target``, when given, is bound to the call's result."""
        callee = self._static(call.func)
        function = call.func
        outs = mutation.out_arguments(callee, call)
        result: ast.expr = ast.Constant(None)
        if outs:
            out = outs[0]
            if len(outs) > 1 or not (isinstance(out, ast.Name) and out.id in self.locals):
                raise refuse(self.source, out, "out= other than one local array",
                             "assign the result instead: y = f(...)")
            value = self._fresh(self._name_for(call))
            self._assign(value, mutation.without_out(callee, call), origin)
            self._store(self._whole(out.id), load(value), origin)
            result = load(out.id)
        elif callee is np.copyto and self._arguments_are(call, 2, {"casting"}):
            self._store(self._whole_of(call.args[0], call), call.args[1], origin)
        elif callee is np.fill_diagonal and self._arguments_are(call, 2, ()):
            diagonal = self._numpy_call("diag_indices", self._numpy_call(
                "min", self._numpy_call("shape", call.args[0])),
                self._numpy_call("ndim", call.args[0]))
            self._store(self._part_of(call.args[0], diagonal, call), call.args[1], origin)
        elif callee is np.put and self._arguments_are(call, 3, ()):
            place = self._numpy_call("unravel_index", call.args[1],
                                     self._numpy_call("shape", call.args[0]))
            self._store(self._part_of(call.args[0], place, call), call.args[2], origin)
        elif callee in (np.place, np.putmask) and self._arguments_are(call, 3, ()) and (
                isinstance(call.args[2], ast.Constant)):
            # a single value: the same as a masked store (an array of values is cycled)
            self._store(self._part_of(call.args[0], call.args[1], call), call.args[2], origin)
        elif mutation.is_ufunc_at(callee) and callee.__self__ in (np.add, np.subtract) and (
                self._arguments_are(call, 3, ())) and isinstance(call.args[0], ast.Name) and (
                call.args[0].id in self.locals):
            # np.add.at(y, index, v): y[...] = scatter_add(y, index, v), repeated indices
            # adding up (np.subtract.at adds -v)
            target_name, index, value = call.args
            if callee.__self__ is np.subtract:
                value = ast.UnaryOp(op=ast.USub(), operand=value)
            operands = [load(target_name.id), self._static_or_atom(index), self._atom(value)]
            scattered = self._fresh(f"{target_name.id}_scattered")
            self.pending.append(ir.Assign(
                scattered, ast.Call(func=load("scatter_add"), args=copy.deepcopy(operands),
                                    keywords=[]), "primitive", self.line,
                rule=registry.require(helpers.scatter_add), operands=operands,
                function=helpers.scatter_add, node=origin))
            self._store(self._whole(target_name.id), load(scattered), origin)
        elif isinstance(function, ast.Attribute) and is_missing(callee) and (
                self._method_as_store(function, call, origin)):
            pass
        else:
            self.pending.append(ir.Effect(ast.Expr(value=call), self.line, origin,
                                          self._possible_writes(call)))
        if target is not None:
            self._assign(target, result, origin)

    def _method_as_store(self, function: ast.Attribute, call: ast.Call, origin) -> bool:
        """``y.fill(v)``, ``y.sort()``, ``y.put(i, v)``, ``y.__setitem__(i, v)`` on a local
        ``y``, as stores; False for other writing methods."""
        receiver = function.value
        if not (isinstance(receiver, ast.Name) and receiver.id in self.locals):
            return False
        args, keywords = call.args, {k.arg: k.value for k in call.keywords}
        if any(isinstance(a, ast.Starred) for a in args) or None in keywords:
            return False
        if function.attr == "fill" and len(args) == 1 and not keywords:
            self._store(self._whole(receiver.id), args[0], origin)
        elif function.attr == "sort" and len(args) <= 1 and set(keywords) <= {"axis"}:
            axis = args[0] if args else keywords.get("axis", ast.Constant(-1))
            ordered = self._numpy_call("sort", receiver)
            ordered.keywords = [ast.keyword(arg="axis", value=axis)]
            self._store(self._whole(receiver.id), ordered, origin)
        elif function.attr == "put" and len(args) == 2 and not keywords:
            place = self._numpy_call("unravel_index", args[0],
                                     self._numpy_call("shape", receiver))
            self._store(ast.Subscript(value=receiver, slice=place, ctx=ast.Store()), args[1],
                        origin)
        elif function.attr == "__setitem__" and len(args) == 2 and not keywords:
            self._store(ast.Subscript(value=receiver, slice=args[0], ctx=ast.Store()),
                        args[1], origin)
        else:
            return False
        return True

    def _possible_writes(self, call: ast.Call) -> list[str]:
        """The local names a call run for its effect may write into: none for a function
        known to write nothing, the written parameters of a user function, else every
        local name passed to it (and the receiver of a method)."""
        callee = self._static(call.func)
        passed = [n for a in [*call.args, *(k.value for k in call.keywords)]
                  for n in ir.names_in(a) if n in self.locals]
        if not is_missing(callee) and mutation.is_known_pure(callee) and not (
                mutation.out_arguments(callee, call)):
            return []
        if not is_missing(callee) and is_user_function(callee):
            from ..source import parse_function

            written = mutation.written_parameters(parse_function(callee))
            code = callee.__code__
            parameters = code.co_varnames[:code.co_argcount]
            given = [a for position, a in enumerate(call.args)
                     if position < len(parameters) and parameters[position] in written]
            given += [k.value for k in call.keywords if k.arg in written]  # k(a=v)
            return [n for a in given for n in ir.names_in(a) if n in self.locals]
        function = call.func
        if isinstance(function, ast.Attribute):
            passed += [n for n in ir.names_in(function.value) if n in self.locals]
        return list(dict.fromkeys(passed))

    def _arguments_are(self, call: ast.Call, count: int, keywords) -> bool:
        """Exactly ``count`` plain positional arguments and no keyword outside ``keywords``."""
        return len(call.args) == count and not any(
            isinstance(a, ast.Starred) for a in call.args) and all(
            k.arg in keywords for k in call.keywords)

    def _whole(self, name: str) -> ast.Subscript:
        """``name[...]``, as a store target."""
        return ast.Subscript(value=load(name), slice=ast.Constant(Ellipsis), ctx=ast.Store())

    def _whole_of(self, node: ast.expr, call) -> ast.Subscript:
        return self._part_of(node, ast.Constant(Ellipsis), call)

    def _part_of(self, node: ast.expr, index: ast.expr, call) -> ast.Subscript:
        if not (isinstance(node, ast.Name) and node.id in self.locals):
            raise refuse(self.source, call, f"a write by {ast.unparse(call.func)} into "
                         f"{ast.unparse(node)}, which is not a local array",
                         "copy it into a local array first (y = x.copy())")
        return ast.Subscript(value=load(node.id), slice=index, ctx=ast.Store())

    def _numpy_call(self, name: str, *args: ast.expr) -> ast.Call:
        """``np.<name>(*args)``, for code that stands for a writing call."""
        numpy_name = next((n for n, v in self.source.namespace.items() if v is np), None)
        if numpy_name is None or numpy_name in self.locals:
            numpy_name = "np"
            if self.source.namespace.setdefault("np", np) is not np:
                raise refuse(self.source, self.source.node, "a writing NumPy call in a module "
                             "where the name np is not NumPy", "import numpy as np")
        function = ast.Attribute(value=load(numpy_name), attr=name, ctx=ast.Load())
        return ast.Call(func=function, args=list(args), keywords=[])

    def _may_share(self, call: ast.Call) -> bool:
        """Whether NumPy's result of ``call`` may share memory with an argument: a view
        (``np.reshape``, ``x.T``), ``np.asarray``, a user function, an unknown call."""
        callee = self._static(call.func)
        if is_missing(callee):
            function = call.func
            if isinstance(function, ast.Attribute) and function.attr in METHODS:
                return METHODS[function.attr][0] in mutation.VIEWS
            return True
        if is_user_function(callee):
            return True
        rule = registry.lookup(callee)
        if rule is not None:
            return callee in mutation.VIEWS
        return not (is_constant_maker(callee) or is_random(callee))

    def _emit_unshared(self, target: str, shared: str, origin) -> None:
        """``target = np.copy(shared)``, where NumPy would make ``target`` share ``shared``'s
        memory: ``target`` is stored into, and generated code never writes into memory it
        did not allocate (an argument's). The aliasing check treats the copy as a view."""
        statement = self._call_rule(target, np.copy, [load(shared)], origin)
        statement.shares = [shared]
        self.pending.append(statement)


def _getitem():
    import operator

    return operator.getitem
