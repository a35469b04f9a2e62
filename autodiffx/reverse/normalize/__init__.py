"""A-normal form: the user's function as one operation per statement.

Nested expressions get temporaries with readable, deterministic names (``W @ x + b`` becomes
``Wx = W @ x`` then ``z = Wx + b``). Python operators, builtins and methods are mapped to the
rules of the NumPy functions they stand for (``@`` to ``np.matmul``, ``x.sum()`` to
``np.sum``, ``max(a, b)`` to ``max_builtin``) while the generated line keeps the user's
spelling. Control flow is made regular: early returns become assignments to one result,
conditional expressions become ``if`` statements, loops over sequences loop over indices,
and names assigned more than once in straight-line code get numbered versions.
"""

from __future__ import annotations

import ast
import builtins
import copy
import math
import types

import numpy as np

from ...errors import AutodiffError, MissingRuleError, OutputTypeError
from ...rules import helpers, registry
from .. import flat, ir, mutation, nested, ranks
from .. import source as source_module
from ..fence import consumes_a_generator, refuse
from ..source import FunctionSource, is_missing

_OPERATORS = {
    ast.Add: (np.add, "plus"),
    ast.Sub: (np.subtract, "minus"),
    ast.Mult: (np.multiply, "times"),
    ast.MatMult: (np.matmul, "times"),
    ast.Div: (np.divide, "over"),
    ast.Pow: (np.power, "pow"),
    ast.Mod: (np.remainder, "mod"),
    ast.FloorDiv: (np.floor_divide, "div"),
    ast.BitAnd: (np.bitwise_and, "and"),
    ast.BitOr: (np.bitwise_or, "or"),
    ast.BitXor: (np.bitwise_xor, "xor"),
}
_UNARY = {ast.USub: (np.negative, "neg"), ast.UAdd: (np.positive, "pos"),
          ast.Invert: (np.invert, "not")}

METHODS = {
    "sum": (np.sum, ()),
    "mean": (np.mean, ()),
    "max": (np.max, ()),
    "min": (np.min, ()),
    "prod": (np.prod, ()),
    "dot": (np.dot, ()),
    "reshape": (np.reshape, ("shape",)),
    "ravel": (np.ravel, ()),
    "flatten": (np.ravel, ()),
    "transpose": (np.transpose, ("axes",)),
    "copy": (np.copy, ()),
    "squeeze": (np.squeeze, ()),
    "var": (np.var, ()),
    "std": (np.std, ()),
    "cumsum": (np.cumsum, ()),
    "swapaxes": (np.swapaxes, ()),
    "take": (np.take, ()),
    "repeat": (np.repeat, ()),
    "cumprod": (np.cumprod, ()),
    "astype": (np.astype, ()),
    "round": (np.round, ()),
    "argmax": (np.argmax, ()),
    "argmin": (np.argmin, ()),
    "argsort": (np.argsort, ()),
    "argpartition": (np.argpartition, ()),
    "nonzero": (np.nonzero, ()),
}
"""Array methods with the NumPy function whose rule they use; the parameters that a method
takes as several positional arguments (``x.reshape(2, 3)``) are packed into a tuple."""

_INACTIVE_ATTRIBUTES = {"shape", "ndim", "size", "dtype"}


class Normalizer:
    """Turns one parsed function into a list of :mod:`~autodiffx.reverse.ir` statements."""

    def __init__(self, source: FunctionSource, namer: ir.Namer):
        self.source = source
        self.namer = namer
        node = source.node
        arguments = node.args
        self.params = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
        self.keyword_params = [a.arg for a in arguments.kwonlyargs]
        assigned = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                assigned.add(sub.id)
        self.locals = set(self.params) | set(self.keyword_params) | assigned
        if arguments.vararg:
            self.locals.add(arguments.vararg.arg)
        if arguments.kwarg:
            self.locals.add(arguments.kwarg.arg)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                namer.reserve(sub.id)
            elif isinstance(sub, ast.arg):
                namer.reserve(sub.arg)
        self.stored = {
            target.value.id
            for sub in ast.walk(node)
            if isinstance(sub, (ast.Assign, ast.AugAssign))
            for target in (sub.targets if isinstance(sub, ast.Assign) else [sub.target])
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
        }
        # np.copyto(y, x), np.add(a, b, out=y), y.sort(): y is written into too
        self.stored |= mutation.written_names(node, self._static) & self.locals
        self.lists = _list_names(node, self._is_split)
        self.temporaries: set[str] = set()
        self.complex_names: set[str] = set()
        """Names bound to values computed from complex numbers (refused when differentiated)."""
        self.globals_used: dict[str, object] = {}
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

    def _tuple_results(self, base: str) -> list[str]:
        """One result name per item when the function returns tuples (``return a, b``)."""
        returns = [n for n in ast.walk(self.source.node) if isinstance(n, ast.Return)]
        sizes = {len(n.value.elts) if isinstance(n.value, ast.Tuple) else None
                 for n in returns if n.value is not None}
        if sizes in (set(), {None}):
            return []
        if len(sizes) > 1:
            node = next(n for n in returns if not isinstance(n.value, ast.Tuple) or len(
                n.value.elts) != max(s for s in sizes if s is not None))
            raise refuse(self.source, node, "returns of tuples of different lengths",
                         "return tuples of one length on every path")
        (size,) = sizes
        names = [self.namer.fresh(f"{base}_{position}") for position in range(size)]
        self.locals.update(names)
        return names

    def _result_value(self) -> ast.expr:
        if self.results:
            return ast.Tuple(elts=[_load(n) for n in self.results], ctx=ast.Load())
        return _load(self.result)

    # ------------------------------------------------------------------ entry point

    def run(self) -> list:
        for sub in ast.walk(self.source.node):
            if isinstance(sub, ast.Name) and sub.id not in self.locals:
                self._use_global(sub.id, sub)
        body = [s for s in self.source.node.body if not _is_docstring(s)]
        body = self._restructure_returns(body)
        statements = []
        copied = [p for p in self.params if p in self.stored]
        for name in copied:  # never write into the caller's array
            self.line = self.source.node.lineno
            statements.append(self._call_rule(name, np.copy, [_load(name)], self.source.node))
        statements += self._block(body)
        if body and isinstance(body[-1], ast.If) and _always_returns(body):
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

    def _restructure_returns(self, statements: list) -> list:
        """Move the code after an ``if`` that returns into the branches that fall through."""
        for position, statement in enumerate(statements):
            if isinstance(statement, ast.Return):
                return statements[: position + 1]
            if isinstance(statement, (ast.For, ast.While)) and _contains_return(statement):
                # for ...: ... return v  becomes  result = v; returned = True; break, and
                # after the loop: if returned: return result (an early return, below)
                flag = self._fresh("returned")
                returns = [n for n in ast.walk(statement) if isinstance(n, ast.Return)]
                sizes = {len(r.value.elts) if isinstance(r.value, ast.Tuple) else None
                         for r in returns}
                size = sizes.pop() if len(sizes) == 1 else None
                results = ([self._fresh("result") for _ in range(size)] if size
                           else [self._fresh("result")])
                loop = _ReturnsToBreaks(flag, results).visit(copy.deepcopy(statement))
                first = ast.copy_location(ast.Assign(
                    targets=[ast.Name(id=flag, ctx=ast.Store())], value=ast.Constant(False)),
                    statement)
                value = (ast.Tuple(elts=[_load(r) for r in results], ctx=ast.Load())
                         if size else _load(results[0]))
                after = ast.copy_location(ast.If(test=_load(flag), body=[
                    ast.copy_location(ast.Return(value=value), returns[0])], orelse=[]),
                    statement)
                ast.fix_missing_locations(after)
                return self._restructure_returns(
                    [*statements[:position], first, loop, after, *statements[position + 1:]])
            if isinstance(statement, ast.If) and _contains_return(statement):
                rest = statements[position + 1 :]
                branch = copy.copy(statement)
                branch.body = self._restructure_returns(
                    statement.body + ([] if _always_returns(statement.body) else rest)
                )
                branch.orelse = self._restructure_returns(
                    statement.orelse + ([] if _always_returns(statement.orelse) else rest)
                )
                return [*statements[:position], branch]
        return statements

    # ------------------------------------------------------------------ statements

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
            body = self._block(node.body)
            orelse = self._block(node.orelse)
            self.line = node.lineno
            return [ir.If(node.test, body, orelse, node.lineno)]
        if isinstance(node, ast.While):
            return [ir.While(node.test, self._block(node.body), node.lineno)]
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

    def _return(self, node: ast.Return) -> list:
        if node.value is None:
            raise refuse(self.source, node, "a return without a value", "return a number")
        value = node.value
        if self.results:
            return self._return_tuple(node)
        if self.depth > 1:  # a return inside a branch: assign the result
            self._assign(self.result, value, node)
            return self.pending
        if isinstance(value, ast.Name) and value.id in self.locals and value.id not in self.stored:
            value = _load(node.value.id)
        else:
            self._assign(self.result, node.value, node)
            value = _load(self.result)
        return [*self.pending, ir.Return(value, node.lineno)]

    def _return_tuple(self, node: ast.Return) -> list:
        """``return a, b``: the items are atoms (a branch assigns them to the results)."""
        items = node.value.elts
        if self.depth > 1:
            for name, item in zip(self.results, items, strict=True):
                self._assign(name, item, node)
            return self.pending
        atoms = []
        for item in items:
            if isinstance(item, ast.Name) and item.id in self.locals and (
                item.id not in self.stored
            ):
                atoms.append(_load(item.id))
            else:
                atoms.append(self._atom(item))
        value = ast.Tuple(elts=atoms, ctx=ast.Load())
        return [*self.pending, ir.Return(value, node.lineno)]


    def _assign_targets(self, targets, value, node) -> list:
        first, *others = targets
        self._assign_target(first, value, node)
        for other in others:
            source = first.id if isinstance(first, ast.Name) else None
            if source is None:
                raise refuse(self.source, node, "chained assignment to a non-name", "split it")
            self._assign_target(other, _load(source), node)
        return self.pending

    def _assign_target(self, target, value, node) -> None:
        if isinstance(target, ast.Name):
            self._assign(target.id, value, node)
        elif isinstance(target, ast.Subscript):
            self._store(target, value, node)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self._unpack(target, value, node)
        else:
            raise refuse(
                self.source, target, f"assignment to {ast.unparse(target)}", "assign to a name"
            )

    def _store(self, target: ast.Subscript, value, node) -> None:
        if not (isinstance(target.value, ast.Name) and target.value.id in self.locals):
            raise refuse(
                self.source, target, "a write into a non-local array", "copy it into a local first"
            )
        index = self._index(target.slice)
        atom = self._atom(value)
        self.pending.append(ir.Store(target.value.id, index, atom, self.line))

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
                    atom = _load(temporary)
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
        if isinstance(value, ast.Call) and _is_user_function(self._static(value.func)):
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
            expression = ast.Call(func=copy.deepcopy(function), args=args, keywords=keywords)
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

    def _augmented(self, node: ast.AugAssign) -> list:
        operation = ast.BinOp(left=None, op=node.op, right=node.value)
        if isinstance(node.target, ast.Name):
            operation.left = _load(node.target.id)
            self._assign(node.target.id, operation, node)
            binding = [s for s in self.pending if isinstance(s, ir.Assign)
                       and node.target.id in ir.bound(s)]
            if binding:
                binding[-1].inplace = True
        elif isinstance(node.target, ast.Subscript):
            target = node.target
            if not (isinstance(target.value, ast.Name) and target.value.id in self.locals):
                raise refuse(self.source, target, "a write into a non-local array", "copy it")
            index = self._index(target.slice)
            base = target.value.id
            old = self._fresh(f"{base}_item")
            self._assign(old, ast.Subscript(value=_load(base), slice=copy.deepcopy(index),
                                            ctx=ast.Load()), node)
            operation.left = _load(old)
            new = self._atom(operation)
            self.pending.append(ir.Store(base, index, new, self.line))
        else:
            raise refuse(self.source, node, "augmented assignment to an attribute", "assign")
        return self.pending

    def _expression_statement(self, node: ast.Expr) -> list:
        call = node.value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "append"
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in self.lists
            and len(call.args) == 1
            and not call.keywords
            and not isinstance(call.args[0], ast.Starred)
        ):
            value = self._atom(call.args[0])
            return [*self.pending, ir.Append(call.func.value.id, value, node.lineno, node)]
        if isinstance(call, ast.Call):
            if self._writes(call):
                self._writing_call(None, call, node)
                return self.pending
            return [ir.Effect(node, node.lineno, node, self._possible_writes(call))]
        return [ir.Effect(node, node.lineno, node)]

    # ------------------------------------------------------------------ writing calls

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
            self._store(self._whole(out.id), _load(value), origin)
            result = _load(out.id)
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
            operands = [_load(target_name.id), self._static_or_atom(index), self._atom(value)]
            scattered = self._fresh(f"{target_name.id}_scattered")
            self.pending.append(ir.Assign(
                scattered, ast.Call(func=_load("scatter_add"), args=copy.deepcopy(operands),
                                    keywords=[]), "primitive", self.line,
                rule=registry.require(helpers.scatter_add), operands=operands,
                function=helpers.scatter_add, node=origin))
            self._store(self._whole(target_name.id), _load(scattered), origin)
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
        if not is_missing(callee) and _is_user_function(callee):
            from ..source import parse_function

            written = mutation.written_parameters(parse_function(callee))
            code = callee.__code__
            parameters = code.co_varnames[:code.co_argcount]
            return [n for position, a in enumerate(call.args)
                    if position < len(parameters) and parameters[position] in written
                    for n in ir.names_in(a) if n in self.locals]
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
        return ast.Subscript(value=_load(name), slice=ast.Constant(Ellipsis), ctx=ast.Store())

    def _whole_of(self, node: ast.expr, call) -> ast.Subscript:
        return self._part_of(node, ast.Constant(Ellipsis), call)

    def _part_of(self, node: ast.expr, index: ast.expr, call) -> ast.Subscript:
        if not (isinstance(node, ast.Name) and node.id in self.locals):
            raise refuse(self.source, call, f"a write by {ast.unparse(call.func)} into "
                         f"{ast.unparse(node)}, which is not a local array",
                         "copy it into a local array first (y = x.copy())")
        return ast.Subscript(value=_load(node.id), slice=index, ctx=ast.Store())

    def _numpy_call(self, name: str, *args: ast.expr) -> ast.Call:
        """``np.<name>(*args)``, for code that stands for a writing call."""
        numpy_name = next((n for n, v in self.source.namespace.items() if v is np), None)
        if numpy_name is None or numpy_name in self.locals:
            numpy_name = "np"
            if self.source.namespace.setdefault("np", np) is not np:
                raise refuse(self.source, self.source.node, "a writing NumPy call in a module "
                             "where the name np is not NumPy", "import numpy as np")
        function = ast.Attribute(value=_load(numpy_name), attr=name, ctx=ast.Load())
        return ast.Call(func=function, args=list(args), keywords=[])

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
            func=ast.Attribute(value=_load(target), attr="append", ctx=ast.Load()),
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

    def _for(self, node: ast.For) -> list:
        iterator = node.iter
        target = node.target
        prologue = []
        if isinstance(iterator, (ast.List, ast.Tuple)) and not any(
            isinstance(n, (ast.Break, ast.Continue)) for n in ast.walk(node)
        ):
            # a loop over a literal list is unrolled: one copy of the body per element
            out = []
            for element in iterator.elts:
                self.pending = []
                self._assign_target(target, element, node)
                out += self.pending
                out += self._block(copy.deepcopy(node.body))
            return out
        if _is_call_to(iterator, "range", self.source):
            if not isinstance(target, ast.Name):
                raise refuse(self.source, target, "unpacking a range", "use one name")
            args = [self._atom(a) for a in iterator.args]
            loop_iter = ast.Call(func=iterator.func, args=args, keywords=[])
            index = target.id
            before = self.pending
        else:
            if _is_call_to(iterator, "enumerate", self.source):
                if (
                    len(iterator.args) != 1
                    or iterator.keywords
                    or not isinstance(target, ast.Tuple)
                    or len(target.elts) != 2
                ):
                    raise refuse(self.source, iterator, "this use of enumerate",
                                 "write 'for i, item in enumerate(sequence)'")
                index_node, item = target.elts
                sequences = [self._atom(iterator.args[0])]
                items = [item]
                index = index_node.id if isinstance(index_node, ast.Name) else None
            elif _is_call_to(iterator, "zip", self.source):
                if not isinstance(target, ast.Tuple) or len(target.elts) != len(iterator.args):
                    raise refuse(self.source, target, "this use of zip",
                                 "unpack one name per zipped sequence")
                sequences = [self._atom(a) for a in iterator.args]
                items = list(target.elts)
                index = None
            else:
                sequences = [self._atom(iterator)]
                items = [target]
                index = None
            before = self.pending
            if index is None or index == "_":
                index = self._fresh("index")
            lengths = [
                ast.Call(func=ast.Name(id="len", ctx=ast.Load()), args=[copy.deepcopy(s)],
                         keywords=[])
                for s in sequences
            ]
            length = lengths[0] if len(lengths) == 1 else ast.Call(
                func=ast.Name(id="min", ctx=ast.Load()), args=lengths, keywords=[])
            loop_iter = ast.Call(func=ast.Name(id="range", ctx=ast.Load()), args=[length],
                                 keywords=[])
            self.pending = []
            for sequence, item in zip(sequences, items, strict=True):
                element = ast.Subscript(value=copy.deepcopy(sequence), slice=_load(index),
                                        ctx=ast.Load())
                self._assign_target(item, element, node)
            prologue = self.pending
        body = prologue + self._block(node.body)
        self.line = node.lineno
        return [*before, ir.For(index, loop_iter, body, node.lineno)]

    # ------------------------------------------------------------------ expressions

    def _atom(self, node: ast.expr) -> ast.expr:
        """An atom holding the value of ``node``, emitting statements for it if needed."""
        if isinstance(node, ast.Name):
            if node.id not in self.locals:
                self._use_global(node.id, node)
            return _load(node.id)
        if isinstance(node, ast.Constant):
            return ast.Constant(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            if isinstance(node.operand, ast.Constant) and isinstance(
                node.operand.value, (int, float)
            ):
                return ast.Constant(-node.operand.value)
        if self._is_global_expression(node):
            return copy.deepcopy(node)
        base = self._name_for(node)
        name = self._fresh(base if len(base) <= 16 else "tmp")
        self._assign(name, node, node)
        return _load(name)

    def _is_global_expression(self, node) -> bool:
        """``np.pi``, ``np.newaxis``, ``math.e``: attribute chains on a global name."""
        base = node
        while isinstance(base, ast.Attribute):
            base = base.value
        if node is base or not isinstance(base, ast.Name) or base.id in self.locals:
            return False
        value = self._static(node)
        return not is_missing(value) and not callable(value)

    def _use_global(self, name: str, node) -> None:
        value = self.source.resolve(name)
        if is_missing(value):
            raise refuse(
                self.source, node, f"the undefined name {name!r}", "define it before calling"
            )
        if not hasattr(builtins, name) or getattr(builtins, name) is not value:
            self.globals_used[name] = value

    def _name_transform(self, call: ast.Call) -> ast.Name | None:
        """``autodiffx.grad(f, wrt=1)`` with arguments known before the function runs,
        made once now and given a global name; ``None`` for any other call."""
        from ... import api

        if self._static(call.func) is not api.grad:
            return None
        arguments = [self._static_value(a) for a in call.args]
        keywords = {k.arg: self._static_value(k.value) for k in call.keywords}
        if any(is_missing(v) for v in [*arguments, *keywords.values()]):
            return None
        try:
            gradient = api.grad(*arguments, **keywords)
        except Exception:  # a bad grad(...) call raises again when the code runs
            return None
        base = getattr(arguments[0], "__name__", "f") if arguments else "f"
        name = self.namer.fresh(f"grad_{base}", adjoint_too=False)
        self.source.namespace[name] = gradient
        return ast.Name(id=name, ctx=ast.Load())

    def _static_value(self, node):
        """A constant, or the value of a global name or attribute chain (else missing)."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Tuple):
            items = [self._static_value(e) for e in node.elts]
            return self.source.resolve("\0") if any(map(is_missing, items)) else tuple(items)
        return self._static(node)

    def _static(self, node):
        """The value of a global name or attribute chain, or the missing marker."""
        if isinstance(node, ast.Name):
            if node.id in self.locals:
                return self.source.resolve("\0")
            return self.source.resolve(node.id)
        if isinstance(node, ast.Attribute):
            base = self._static(node.value)
            if is_missing(base):
                return base
            return getattr(base, node.attr, self.source.resolve("\0"))
        return self.source.resolve("\0")

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

    def _is_split(self, node: ast.expr) -> bool:
        """``np.split(x, 3)``, or ``helper(x)`` of a function of yours that returns tuples
        of one length: a call whose results are followed as the items of a list."""
        if not isinstance(node, ast.Call):
            return False
        callee = self._static(node.func)
        if _is_user_function(callee) and not any(
                isinstance(a, ast.Starred) for a in node.args):
            return _returned_tuple_size(callee) is not None
        rule = registry.lookup(callee) if callee is not None else None
        return rule is not None and rule.outputs == "sections" and _output_count(
            rule, node) is not None

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
            size = _output_count(rule, call)
        elif _is_user_function(callee):
            size = _returned_tuple_size(callee)
        else:
            return False
        if size is not None and -size <= index.value < size:
            index.value %= size
            return True
        return False

    def _assign(self, target: str, node: ast.expr, origin) -> None:
        """Append statements computing ``target = node``."""
        if isinstance(node, ast.Name) and node.id in self.locals:
            if target in self.stored and node.id != target:
                self._emit_unshared(target, node.id, origin)
            elif node.id != target:
                self._emit_copy(target, _load(node.id), origin)
            return
        if isinstance(node, ast.IfExp):
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
            return
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left, right = self._atom(node.left), self._atom(node.right)
            function = _OPERATORS[type(node.op)][0]
            expression = ast.BinOp(left=left, op=node.op, right=right)
            self._emit_rule(target, function, expression, [left, right], {}, origin)
            return
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            operand = self._atom(node.operand)
            if isinstance(operand, ast.Constant) and isinstance(node.op, ast.USub):
                self._emit_opaque(target, ast.Constant(-operand.value), origin)
                return
            expression = ast.UnaryOp(op=node.op, operand=operand)
            self._emit_rule(target, _UNARY[type(node.op)][0], expression, [operand], {}, origin)
            return
        if isinstance(node, ast.Call):
            if target in self.stored and self._may_share(node):
                shared = self._fresh(self._name_for(node))
                self._call(shared, node, origin)
                self._emit_unshared(target, shared, origin)
                return
            self._call(target, node, origin)
            return
        if isinstance(node, ast.Subscript) and self._indexes_a_tuple_call(node):
            # helper(x)[k] of a helper returning a tuple, np.linalg.eigh(a)[0]: unpack
            # every item, keep item k
            callee = self._static(node.value.func)
            rule = registry.lookup(callee)
            size = (_output_count(rule, node.value) if rule is not None and rule.outputs
                    else _returned_tuple_size(callee))
            names = [self._fresh(f"{target}_item") for _ in range(size)]
            self._unpack(ast.Tuple(elts=[_load(n) for n in names], ctx=ast.Store()),
                         node.value, origin)
            self._assign(target, _load(names[node.slice.value]), origin)
            return
        if isinstance(node, ast.Subscript):
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
                    operands=[_load(n) for n in ir.names_in(index)],
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
            return
        if isinstance(node, ast.Attribute) and not self._is_global_expression(node):
            value = self._atom(node.value)
            expression = ast.Attribute(value=value, attr=node.attr, ctx=ast.Load())
            if node.attr == "T":
                self._emit_rule(target, np.transpose, expression, [value], {}, origin)
                return
            self._emit_opaque(target, expression, origin, inactive=node.attr in
                              _INACTIVE_ATTRIBUTES)
            return
        if isinstance(node, ast.ListComp):
            self._comprehension(target, node, origin)
            return
        if isinstance(node, (ast.List, ast.Tuple)) and (
                target in self.lists or isinstance(node, ast.List) and self._is_temporary(target)):
            # a tuple display bound to a name is followed as a list is (it stays a tuple)
            elements = [self._atom(e) for e in node.elts]
            self.lists.add(target)
            self.pending.append(ir.Assign(target, type(node)(elts=elements, ctx=ast.Load()),
                                          "list", self.line, operands=elements, node=origin))
            return
        if isinstance(node, (ast.Tuple, ast.List)):
            elements = [self._atom(e) for e in node.elts]
            self._emit_opaque(target, type(node)(elts=elements, ctx=ast.Load()), origin,
                              inactive=False)
            return
        inactive = isinstance(node, (ast.Constant, ast.Compare, ast.BoolOp, ast.Name)) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
        ) or self._is_global_expression(node)
        self._emit_opaque(target, copy.deepcopy(node), origin, inactive=inactive)

    def _call(self, target: str, node: ast.Call, origin) -> None:
        if consumes_a_generator(node):
            # sum(f(r) for r in rows): the generator is consumed at once, as a list would be
            generator = node.args[0]
            node = ast.Call(func=node.func, args=[ast.copy_location(ast.ListComp(
                elt=generator.elt, generators=generator.generators), generator)],
                keywords=node.keywords)
        function = node.func
        if isinstance(function, ast.Call):
            named = self._name_transform(function)
            if named is not None:  # grad(f)(x): as if grad(f) had a module-level name
                function = named
                node = ast.Call(func=named, args=node.args, keywords=node.keywords)
        if self._writes(node):
            self._writing_call(target, node, origin)
            return
        if (
            isinstance(function, ast.Attribute)
            and function.attr in METHODS
            and not self._is_global_expression(function.value)
            and is_missing(self._static(function))
        ):
            self._method(target, node, origin)
            return
        callee = self._static(function)
        if is_missing(callee):
            if isinstance(function, ast.Name):
                self._use_global(function.id, function)
            callee = None
        elif isinstance(function, ast.Name):
            self._use_global(function.id, function)
        rule = registry.lookup(callee) if callee is not None else None
        starred = [a for a in node.args if isinstance(a, ast.Starred)]
        if starred:
            if (rule is not None and not rule.differentiable) or _constant_maker(callee):
                # np.zeros(*shape), np.eye(*np.shape(x)): no derivative flows through
                args = [ast.Starred(value=self._atom(a.value), ctx=ast.Load())
                        if isinstance(a, ast.Starred) else self._atom(a) for a in node.args]
                keywords = [ast.keyword(arg=k.arg, value=self._static_or_atom(k.value))
                            for k in node.keywords]
                expression = ast.Call(func=copy.deepcopy(function), args=args,
                                      keywords=keywords)
                self.pending.append(ir.Assign(target, expression, "opaque", self.line,
                                              operands=args, function=callee, node=origin,
                                              rule=rule))
                return
            raise refuse(self.source, starred[0], "*unpacking", "pass arguments one by one")
        if rule is None and nested.is_forward_gradient(callee):
            rule = nested.rule_for(callee)  # reverse over forward: a primitive with an HVP
        elif rule is None and flat.is_reverse_gradient(callee):
            callee = flat.gradient_function(callee)  # reverse over reverse: flat gradient code
        elif rule is None and callee is not None and flat.is_gradient_code(self.source):
            rule = flat.helper_rule(callee)  # an adjoint helper, in flat gradient code
            if rule is None:
                flat.refuse_helper(callee, self.source.name)
        if callee in (builtins.max, builtins.min) and len(node.args) == 1 and (
                not node.keywords) and self._holds_values(node.args[0], comprehensions=True):
            # max(values) of a list of numbers is max of the 1-d array np.stack(values)
            node = ast.Call(func=node.func, args=[self._stacked(node.args[0], origin)],
                            keywords=[])
        if callee is builtins.sum:
            rule = None
            if len(node.args) == 1 and not node.keywords and isinstance(
                    node.args[0], (ast.Name, ast.ListComp, ast.List)):
                rule = self._list_sum(node.args[0])
        if _is_array_maker(callee) and len(node.args) == 1 and _float_or_no_dtype(node):
            rule = self._array_rule(node.args[0])
            callee = rule.primitives[0] if rule is not None else callee
        if rule is not None and rule.outputs is not None:
            self._several_results(target, node, callee, rule, origin)
            return
        if rule is not None and rule.differentiable and not _random(callee):
            self._call_with_rule(target, node, callee, rule, origin)
            return
        args = [self._atom(a) for a in node.args]
        keywords = [ast.keyword(arg=k.arg, value=self._static_or_atom(k.value))
                    for k in node.keywords]
        expression = ast.Call(func=copy.deepcopy(function), args=args, keywords=keywords)
        if rule is None and _is_user_function(callee) and target in self.lists and (
                _returned_tuple_size(callee) is not None):
            # pair = helper(x), a tuple: its items unpacked, and pair their tuple
            size = _returned_tuple_size(callee)
            names = [self._fresh(f"{target}_item") for _ in range(size)]
            self._unpack(ast.Tuple(elts=[_load(n) for n in names], ctx=ast.Store()), node,
                         origin)
            elements = [_load(n) for n in names]
            self.pending.append(ir.Assign(target, ast.Tuple(elts=elements, ctx=ast.Load()),
                                          "list", self.line, operands=elements, node=origin))
            return
        if rule is None and _is_user_function(callee):
            self.pending.append(
                ir.Assign(target, expression, "call", self.line, operands=args,
                          keywords={k.arg: k.value for k in keywords}, function=callee,
                          node=origin)
            )
            return
        inactive = rule is not None or _random(callee) or _constant_maker(callee)
        self.pending.append(
            ir.Assign(target, expression, "opaque" if inactive else "unsupported", self.line,
                      operands=args, function=callee, node=origin, rule=rule,
                      why="" if inactive else _why_no_derivative(callee, function))
        )

    def _several_results(self, target, node, callee, rule, origin) -> None:
        """``parts = np.split(x, 3)`` bound whole: the parts unpacked into names and
        gathered in a list, when the code says how many; otherwise no derivative passes
        (refused if one has to)."""
        count = _output_count(rule, node)
        if target in self.lists and count is not None:
            names = [self._fresh(f"{target}_item") for _ in range(count)]
            self._unpack(ast.Tuple(elts=[_load(n) for n in names], ctx=ast.Store()), node,
                         origin)
            elements = [_load(n) for n in names]
            self.pending.append(ir.Assign(target, ast.List(elts=elements, ctx=ast.Load()),
                                          "list", self.line, operands=elements, node=origin))
            return
        args = [self._atom(a) for a in node.args]
        keywords = [ast.keyword(arg=k.arg, value=self._static_or_atom(k.value))
                    for k in node.keywords]
        expression = ast.Call(func=copy.deepcopy(node.func), args=args, keywords=keywords)
        spelled = ast.unparse(node.func)
        self.pending.append(ir.Assign(
            target, expression, "unsupported", self.line, operands=args, function=callee,
            node=origin, why=f"{spelled} returns several results, and reverse mode follows "
            f"them only when they are unpacked (a, b = {spelled}(...)), indexed at once "
            f"({spelled}(...)[0]), or, for a split into a number of parts the code gives, "
            "bound to a name used as a list"))

    def _call_with_rule(self, target, node, callee, rule, origin) -> None:
        if rule.sequence and node.args and isinstance(node.args[0], ast.ListComp):
            node = copy.copy(node)
            node.args = [self._atom(node.args[0]), *node.args[1:]]
        if rule.sequence and node.args and isinstance(node.args[0], ast.Name) and (
            node.args[0].id in self.lists
        ):
            # np.stack(rows) of a list built by appends: the adjoint is a list too
            args = [_load(node.args[0].id), *(self._static_or_atom(a) for a in node.args[1:])]
        elif rule.sequence:
            if not node.args or not isinstance(node.args[0], (ast.List, ast.Tuple)):
                # fine while the list holds constants; refused by activity otherwise
                args = [self._atom(a) for a in node.args]
                expression = ast.Call(func=copy.deepcopy(node.func), args=args, keywords=[
                    ast.keyword(arg=k.arg, value=self._static_or_atom(k.value))
                    for k in node.keywords])
                self.pending.append(ir.Assign(target, expression, "unsupported", self.line,
                                              operands=args, node=node))
                return
            first = node.args[0]
            elements = [self._stacked(e, origin) if self._holds_values(e) and isinstance(
                e, (ast.List, ast.Tuple)) else self._atom(e) for e in first.elts]
            args = [type(first)(elts=elements, ctx=ast.Load())]
            args += [self._static_or_atom(a) for a in node.args[1:]]
        else:
            args = []
            for position, argument in enumerate(node.args):
                differentiable = position < len(rule.adjoints) and (
                    rule.adjoints[position] is not None)
                if not (self._holds_values(argument, comprehensions=True)
                        or differentiable and isinstance(
                        argument, ast.List) and argument.elts):
                    args.append(self._static_or_atom(argument))
                    continue
                # np.sum([a, b * b]), np.dot([a, b], v): NumPy takes a list as np.asarray
                # of it, which reverse mode follows as np.stack
                args.append(self._stacked(argument, origin))
        keywords = {k.arg: self._static_or_atom(k.value) for k in node.keywords}
        expression = ast.Call(
            func=copy.deepcopy(node.func),
            args=args,
            keywords=[ast.keyword(arg=k, value=v) for k, v in keywords.items()],
        )
        operands, rule_keywords = self._bind(rule, callee, args, keywords, node)
        self._emit_rule(target, callee, expression, operands, rule_keywords, origin, rule)

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
        return _load(stacked)

    def _list_sum(self, argument: ast.expr) -> registry.Rule | None:
        """The rule of ``sum(xs)`` when ``xs`` is a local list (``None`` otherwise)."""
        if isinstance(argument, ast.Name) and argument.id not in self.lists:
            return None
        return LIST_SUM

    def _array_rule(self, argument: ast.expr) -> registry.Rule | None:
        """``np.array(xs)`` of a list of values is ``np.stack(xs)``; of an array, a copy."""
        if isinstance(argument, (ast.List, ast.Tuple, ast.ListComp)) or (
            isinstance(argument, ast.Name) and argument.id in self.lists
        ):
            return registry.lookup(np.stack)
        if isinstance(argument, ast.Name) and argument.id in self.locals:
            return registry.lookup(np.copy)
        return None

    def _method(self, target, node, origin) -> None:
        function = node.func
        callee, packed = METHODS[function.attr]
        given = list(node.args)
        if any(isinstance(a, ast.Starred) for a in given):
            if not (packed and len(given) == 1):
                starred = next(a for a in given if isinstance(a, ast.Starred))
                raise refuse(self.source, starred, "*unpacking",
                             "pass the arguments one by one")
            given = [given[0].value]  # x.reshape(*shape) is x.reshape(shape)
        receiver = self._atom(function.value)
        args = [self._static_or_atom(a) for a in given]
        keywords = {k.arg: self._static_or_atom(k.value) for k in node.keywords}
        expression = ast.Call(
            func=ast.Attribute(value=receiver, attr=function.attr, ctx=ast.Load()),
            args=args,
            keywords=[ast.keyword(arg=k, value=v) for k, v in keywords.items()],
        )
        if function.attr == "dot":
            # np.dot(x, y), not x.dot(y): a plain array's method would turn a Dual y into an
            # array when forward mode runs this code (forward over reverse)
            expression = ast.Call(func=ast.parse("np.dot", mode="eval").body,
                                  args=[copy.deepcopy(receiver), *args],
                                  keywords=expression.keywords)
        rule = registry.lookup(callee)
        if not rule.differentiable:  # x.round(), x.argmax(): a constant, whatever the arguments
            self._emit_rule(target, callee, expression,
                            [copy.deepcopy(receiver), *args, *keywords.values()], {}, origin)
            return
        if packed and len(args) > 1:
            args = [ast.Tuple(elts=args, ctx=ast.Load())]
        operands, rule_keywords = self._bind(rule, callee, [copy.deepcopy(receiver), *args],
                                             keywords, node)
        self._emit_rule(target, callee, expression, operands, rule_keywords, origin)

    def _bind(self, rule, function, args, keywords, node):
        """:func:`_bind`, refusing arguments the rule does not understand (as forward mode
        does): dropping them would give the gradient of another call."""
        if rule is None:
            return _bind(rule, args, keywords)
        known = (*rule.params, *rule.keywords)
        name = registry.describe(function)
        unknown = [f"{name}(..., {k}=...)" for k in keywords if k not in known]
        extra = registry.keyword_names(rule, function, max(0, len(args) - len(rule.params)))
        unknown += [f"{name} with {len(args)} positional arguments" if k == "*" else
                    f"{name}: its argument {k!r}, given by position," for k, value in zip(
            extra, args[len(rule.params):], strict=True) if k not in rule.keywords
            and not (isinstance(value, ast.Constant) and value.value is None)]
        if unknown:
            what = unknown[0]
            raise MissingRuleError(
                f"{what} is not covered by its derivative rule, which understands "
                f"{', '.join(known)} (in {self.source.name})",
                location=self.source.location(node),
                hint="leave the argument out, or register a rule that handles it "
                "(autodiffx.defrule)",
            )
        return _bind(rule, args, keywords, [n if n in rule.keywords else "" for n in extra])

    def _static_or_atom(self, node: ast.expr) -> ast.expr:
        """Keep literal tuples (``axis=(0, 1)``) as they are; atomise anything else."""
        if isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts):
            return copy.deepcopy(node)
        if isinstance(node, ast.Tuple):
            return ast.Tuple(elts=[self._atom(e) for e in node.elts], ctx=ast.Load())
        return self._atom(node)

    def _call_rule(self, target, function, operands, origin) -> ir.Assign:
        name = "np." + function.__name__
        expression = ast.Call(func=ast.parse(name, mode="eval").body, args=operands, keywords=[])
        rule = registry.require(function)
        return ir.Assign(target, expression, "primitive", self.line, rule=rule,
                         operands=[copy.deepcopy(o) for o in operands], function=function,
                         node=origin)

    def _emit_rule(self, target, function, expression, operands, keywords, origin,
                   rule=None) -> None:
        rule = rule or registry.lookup(function)
        if rule is None or not rule.differentiable:
            self.pending.append(ir.Assign(target, expression, "opaque", self.line, rule=rule,
                                          operands=operands, node=origin))
            return
        if any(self._is_complex(o) for o in operands):
            self.complex_names.add(target)
            self.pending.append(ir.Assign(
                target, expression, "unsupported", self.line, node=origin,
                operands=[_load(n) for o in operands for n in ir.names_in(o)],
                why="it computes with complex numbers, which autodiffx does not "
                "differentiate yet"))
            return
        if target in [o.id for o in operands if isinstance(o, ast.Name)] and sum(
            isinstance(o, ast.Name) and o.id == target for o in operands
        ) > 1:
            # y = y * y: compute into a temporary so that both operands keep the old value.
            temporary = self._fresh(target + "_new")
            self.pending.append(ir.Assign(temporary, expression, "primitive", self.line,
                                          rule=rule, operands=operands, keywords=keywords,
                                          function=function, node=origin))
            self._emit_copy(target, _load(temporary), origin)
            return
        self.pending.append(ir.Assign(target, expression, "primitive", self.line, rule=rule,
                                      operands=operands, keywords=keywords, function=function,
                                      node=origin))

    def _is_complex(self, operand: ast.expr) -> bool:
        """A complex constant (``1j``) or a global holding complex numbers."""
        if isinstance(operand, ast.Constant):
            return isinstance(operand.value, complex)
        if isinstance(operand, ast.Name) and operand.id in self.complex_names:
            return True
        value = self._static(operand)
        return not is_missing(value) and not callable(value) and (
            isinstance(value, (complex, np.complexfloating)) or (
                isinstance(value, np.ndarray) and value.dtype.kind == "c"))

    def _may_share(self, call: ast.Call) -> bool:
        """Whether NumPy's result of ``call`` may share memory with an argument: a view
        (``np.reshape``, ``x.T``), ``np.asarray``, a user function, an unknown call."""
        callee = self._static(call.func)
        if is_missing(callee):
            function = call.func
            if isinstance(function, ast.Attribute) and function.attr in METHODS:
                return METHODS[function.attr][0] in mutation.VIEWS
            return True
        if _is_user_function(callee):
            return True
        rule = registry.lookup(callee)
        if rule is not None:
            return callee in mutation.VIEWS
        return not (_constant_maker(callee) or _random(callee))

    def _emit_unshared(self, target: str, shared: str, origin) -> None:
        """``target = np.copy(shared)``, where NumPy would make ``target`` share ``shared``'s
        memory: ``target`` is stored into, and generated code never writes into memory it
        did not allocate (an argument's). The aliasing check treats the copy as a view."""
        statement = self._call_rule(target, np.copy, [_load(shared)], origin)
        statement.shares = [shared]
        self.pending.append(statement)

    def _emit_copy(self, target, atom, origin) -> None:
        self.pending.append(ir.Assign(target, atom, "copy", self.line, operands=[atom],
                                      node=origin))

    def _emit_opaque(self, target, expression, origin, inactive=True) -> None:
        kind = "opaque" if inactive else "unsupported"
        self.pending.append(ir.Assign(target, expression, kind, self.line, node=origin,
                                      operands=[_load(n) for n in ir.names_in(expression)]))

    # ------------------------------------------------------------------ naming

    def _name_for(self, node: ast.expr) -> str:
        """A readable name for a temporary holding ``node``'s value."""
        def word(part):
            if isinstance(part, ast.Name):
                return part.id
            if isinstance(part, ast.Constant) and isinstance(part.value, int):
                return str(part.value).replace("-", "neg")
            if isinstance(part, ast.Attribute):
                return part.attr
            return None

        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left, right = word(node.left), word(node.right)
            if left and right:
                if isinstance(node.op, (ast.Mult, ast.MatMult)) and len(left + right) <= 3:
                    return left + right
                return f"{left}_{_OPERATORS[type(node.op)][1]}_{right}"
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            operand = word(node.operand)
            if operand:
                return f"{_UNARY[type(node.op)][1]}_{operand}"
        if isinstance(node, ast.Call):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else word(function)
            parts = [word(a) for a in node.args]
            if (
                isinstance(function, ast.Attribute)
                and function.attr in METHODS
                and is_missing(self._static(function))
            ):
                receiver = word(function.value)
                parts = [receiver] if receiver else []
            parts = [p for p in parts if p]
            if name:
                return "_".join([name, *parts]) if parts else name
        if isinstance(node, ast.Subscript):
            base = word(node.value)
            index = word(node.slice)
            if base and index:
                return f"{base}_{index}"
            if base:
                return f"{base}_part"
        if isinstance(node, ast.Attribute) and node.attr == "T":
            base = word(node.value)
            if base:
                return base + "T"
        return "tmp"


_CONSTANT_MAKERS = {
    np.zeros, np.ones, np.empty, np.eye, np.identity, len, range, int, bool, round,
    isinstance, math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite,
}
"""Calls whose result is constant, or piecewise constant, in every argument: their
derivative is zero wherever it exists. (``float``, ``np.full``, ``np.linspace`` or
``np.array`` are not: a derivative flows through them, by a rule or not at all.)"""

_CONVERSIONS = {float: "float()", complex: "complex()", np.float64: "np.float64()",
                np.float32: "np.float32()"}
_CONVERTING_METHODS = {"item": "plain Python number", "tolist": "plain Python list",
                       "tobytes": "bytes", "__float__": "plain Python number"}


def _why_no_derivative(callee, function: ast.expr) -> str:
    """Why a call without a rule cannot carry a derivative, when there is more to say than
    that it has no rule."""
    try:
        conversion = _CONVERSIONS.get(callee)
    except TypeError:
        conversion = None
    if conversion is not None:
        return (f"{conversion} turns a value being differentiated into a plain Python number, "
                "which drops its derivative")
    if getattr(callee, "__self__", None) is math or getattr(callee, "__module__", "") == "math":
        return (f"math.{callee.__name__} works on plain Python numbers, which drops the "
                f"derivative; use np.{callee.__name__}")
    if isinstance(function, ast.Attribute) and callee is None:
        what = _CONVERTING_METHODS.get(function.attr)
        if what is not None:
            return (f".{function.attr}() turns a value being differentiated into a {what}, "
                    "which drops its derivative")
        return f"the method .{function.attr}() has no derivative rule"
    return ""


def _constant_maker(callee) -> bool:
    try:
        return callee in _CONSTANT_MAKERS
    except TypeError:  # an unhashable callable
        return False


LIST_SUM = registry.Rule(
    name="sum",
    primitives=(builtins.sum,),
    params=("xs",),
    adjoints=("[unbroadcast(g, item) for item in xs]",),
    doc="sum(xs) of a local list: every item receives the cotangent",
)
"""The builtin ``sum`` over a local list; reverse mode only (not in the shared registry)."""


def _is_array_maker(callee) -> bool:
    return callee is np.array or callee is np.asarray


def _float_or_no_dtype(node: ast.Call) -> bool:
    """``np.array(v)`` or ``np.array(v, dtype=float)``: a value, not a conversion."""
    for keyword in node.keywords:
        if keyword.arg != "dtype" or not (
            isinstance(keyword.value, ast.Name) and keyword.value.id == "float"
            or isinstance(keyword.value, ast.Attribute) and keyword.value.attr == "float64"
        ):
            return False
    return True


def _list_names(function: ast.FunctionDef, splits=lambda call: False) -> set[str]:
    """Local names bound only to list literals, list comprehensions (``rows = []``) or
    splits (``parts = np.split(x, 3)``, when ``splits(call)`` says)."""
    lists: set[str] = set()
    others: set[str] = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    for node in ast.walk(function):
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
                others.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name)
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


_FORWARD_HINT = 'write the loop out, or use mode="forward"'


def _bind(rule, args, keywords, extra_names=None):
    """The operands in the order of ``rule.params``, and the rule's keywords (the extra
    positional arguments named by ``extra_names``, else in the rule's keyword order)."""
    operands = list(args[: len(rule.params)])
    rule_keywords = {}
    for name, value in keywords.items():
        if name in rule.params:
            position = rule.params.index(name)
            while len(operands) <= position:
                operands.append(ast.Constant(None))
            operands[position] = value
        elif name in rule.keywords:
            rule_keywords[name] = value
    extra = args[len(rule.params):]
    for name, value in zip(extra_names or rule.keywords, extra, strict=False):
        if name:  # "": an argument left at its default (dtype=None), not the rule's
            rule_keywords[name] = value
    while len(operands) < len(rule.params):
        operands.append(ast.Constant(None))
    return operands, rule_keywords


def _getitem():
    import operator

    return operator.getitem


def _random(callee) -> bool:
    module = getattr(callee, "__module__", "") or ""
    if module.startswith("numpy.random"):
        return True
    owner = getattr(callee, "__self__", None)
    return type(owner).__module__.startswith("numpy.random") if owner is not None else False


class _ReturnsToBreaks(ast.NodeTransformer):
    """Inside a loop: ``return v`` becomes ``result = v; returned = True; break``, and each
    inner loop that holds one is followed by ``if returned: break``."""

    def __init__(self, flag: str, results: list[str]):
        self.flag = flag
        self.results = results
        self.depth = 0

    def visit_FunctionDef(self, node):
        return node  # a nested function's returns are its own

    visit_Lambda = visit_FunctionDef

    def _loop(self, node):
        self.depth += 1
        node = self.generic_visit(node)
        self.depth -= 1
        if self.depth > 0 and _contains_return_marker(node, self.flag):
            leave = ast.If(test=_load(self.flag), body=[ast.Break()], orelse=[])
            return [node, ast.fix_missing_locations(ast.copy_location(leave, node))]
        return node

    visit_For = visit_While = _loop

    def visit_Return(self, node):
        value = node.value
        if len(self.results) > 1:
            target: ast.expr = ast.Tuple(elts=[ast.Name(id=r, ctx=ast.Store())
                                              for r in self.results], ctx=ast.Store())
        else:
            target = ast.Name(id=self.results[0], ctx=ast.Store())
        out = [ast.Assign(targets=[target], value=value),
               ast.Assign(targets=[ast.Name(id=self.flag, ctx=ast.Store())],
                          value=ast.Constant(True)),
               ast.Break()]
        return [ast.fix_missing_locations(ast.copy_location(s, node)) for s in out]


def _contains_return_marker(node: ast.AST, flag: str) -> bool:
    """Whether a rewritten loop sets ``flag`` (held a return)."""
    return any(isinstance(n, ast.Name) and n.id == flag and isinstance(n.ctx, ast.Store)
               for n in ast.walk(node))


def _output_count(rule, call: ast.Call) -> int | None:
    """How many results a call of a rule with several results gives, when the code says:
    a fixed number, or ``np.split(x, 3)`` and ``np.split(x, [2, 5])`` (3 parts)."""
    if isinstance(rule.outputs, int):
        return rule.outputs
    given = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "indices_or_sections"), None)
    if isinstance(given, ast.Constant) and type(given.value) is int:
        return given.value
    if isinstance(given, (ast.List, ast.Tuple)):
        return len(given.elts) + 1
    return None


def _returned_tuple_size(function) -> int | None:
    """How many items ``function`` returns, when each of its ``return`` statements returns
    a tuple display of the same length; ``None`` otherwise or when its source is unknown."""
    try:
        definition = source_module.parse_function(function).node
    except AutodiffError:
        return None
    sizes = set()
    pending = list(definition.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                  ast.Lambda)):
            continue  # a nested function's returns are its own
        if isinstance(statement, ast.Return):
            value = statement.value
            sizes.add(len(value.elts) if isinstance(value, ast.Tuple) else None)
        pending.extend(ast.iter_child_nodes(statement))
    return sizes.pop() if len(sizes) == 1 else None


def _is_user_function(callee) -> bool:
    return isinstance(callee, types.FunctionType) and not (
        getattr(callee, "__module__", "") or ""
    ).startswith("numpy")


def _is_call_to(node, name, source) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == name
        and source.resolve(name) is getattr(builtins, name)
    )


def _load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _is_docstring(statement) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and (
        isinstance(statement.value.value, str)
    )


def _contains_return(node) -> bool:
    return any(isinstance(n, ast.Return) for n in ast.walk(node))


def _always_returns(statements) -> bool:
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, ast.Return):
        return True
    if isinstance(last, ast.If):
        return _always_returns(last.body) and _always_returns(last.orelse)
    return False


# --------------------------------------------------------------------------- versions


def rename_versions(statements: list, params: list[str], namer: ir.Namer) -> list:
    """Give names bound more than once in straight-line code numbered versions.

    ``x = x * 2`` at the top level becomes ``x_2 = x * 2``, so that every value the adjoint
    sweep needs is still there when it runs. Names also bound inside loops or branches keep
    their single name (the adjoint sweep saves their values on a tape instead).
    """
    nested = set()
    for statement in statements:
        for block in ir.children(statement):
            for inner in ir.walk(block):
                nested.update(ir.writes(inner))
        if isinstance(statement, ir.For):
            nested.add(statement.target)
    current: dict[str, str] = {}
    bound = set(params)
    out = []
    for statement in statements:
        _rename_reads(statement, current)
        if isinstance(statement, ir.Assign) and statement.targets:
            for position, name in enumerate(statement.targets):
                if name in nested:
                    continue
                if name in bound:
                    statement.targets[position] = namer.fresh(name)
                    current[name] = statement.targets[position]
                bound.add(name)
        elif isinstance(statement, ir.Assign) and statement.target not in nested:
            name = statement.target
            if name in bound:
                statement.target = namer.fresh(name)
                current[name] = statement.target
            bound.add(name)
        out.append(statement)
    return out


def _rename_reads(statement, current: dict[str, str]) -> None:
    if not current:
        return
    nodes = ir.read_nodes(statement)
    if isinstance(statement, (ir.Store, ir.Append)):
        statement.target = current.get(statement.target, statement.target)
    seen = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and id(sub) not in seen:
                seen.add(id(sub))
                sub.id = current.get(sub.id, sub.id)
    for block in ir.children(statement):
        for inner in block:
            _rename_reads(inner, current)


# --------------------------------------------------------------------------- break, continue


def lower_jumps(statements: list, namer: ir.Namer) -> list:
    """Replace ``break``/``continue`` by flags, so that loop bodies are structured.

    ``if c: break`` sets ``broke = True``, the rest of the body runs under
    ``if not broke:``, and the body ends with ``if broke: break``. The adjoint sweep then
    only has to count iterations and replay the recorded branch decisions.
    """
    out = []
    for statement in statements:
        if isinstance(statement, ir.If):
            statement.body = lower_jumps(statement.body, namer)
            statement.orelse = lower_jumps(statement.orelse, namer)
        if isinstance(statement, (ir.For, ir.While)):
            statement.body = lower_jumps(statement.body, namer)
            kinds = _jumps(statement.body)
            if kinds:
                flags = {kind: namer.fresh("broke" if kind is ir.Break else "skip")
                         for kind in (ir.Break, ir.Continue) if kind in kinds}
                body = _rewrite(statement.body, flags, statement.line)
                if ir.Continue in flags:
                    body.insert(0, _flag(flags[ir.Continue], False, statement.line))
                if ir.Break in flags:
                    out.append(_flag(flags[ir.Break], False, statement.line))
                    body.append(ir.If(_load(flags[ir.Break]), [ir.Break(-statement.line)], [],
                                      -statement.line))
                statement.body = body
        out.append(statement)
    return out


def _jumps(statements) -> set:
    found = set()
    for statement in statements:
        if isinstance(statement, (ir.Break, ir.Continue)):
            found.add(type(statement))
        elif isinstance(statement, ir.If):
            found |= _jumps(statement.body) | _jumps(statement.orelse)
    return found


def _flag(name, value, line) -> ir.Assign:
    return ir.Assign(name, ast.Constant(value), "opaque", -line)


def _rewrite(statements, flags, line) -> list:
    out = []
    for position, statement in enumerate(statements):
        if isinstance(statement, (ir.Break, ir.Continue)):
            out.append(_flag(flags[type(statement)], True, statement.line))
            return out
        if isinstance(statement, ir.If) and _jumps([statement]):
            kinds = _jumps([statement])
            out.append(ir.If(statement.test, _rewrite(statement.body, flags, line),
                             _rewrite(statement.orelse, flags, line), statement.line))
            rest = _rewrite(statements[position + 1 :], flags, line)
            if rest:
                names = [_load(flags[k]) for k in (ir.Break, ir.Continue) if k in kinds]
                test = names[0] if len(names) == 1 else ast.BoolOp(op=ast.Or(), values=names)
                guard = ast.UnaryOp(op=ast.Not(), operand=test)
                out.append(ir.If(guard, rest, [], -abs(rest[0].line)))
            return out
        out.append(statement)
    return out
