"""Calls: ``target = f(args)`` by what ``f`` is (a NumPy function with a rule, an array
method, a function of yours, a gradient, a call without a derivative), the binding of
arguments to a rule's parameters, and calls run for their effect (``rows.append(v)``)."""

from __future__ import annotations

import ast
import builtins
import copy
import math
import types

import numpy as np

from ...errors import MissingRuleError
from ...rules import registry, ufunc_methods
from .. import flat, ir, nested
from ..fence import consumes_a_generator, refuse
from ..source import is_missing
from .callees import (
    METHODS,
    is_constant_maker,
    is_random,
    is_user_function,
    returned_tuple_size,
)
from .names import load
from .sequences import ARRAY_SUM

_CONVERSIONS = {float: "float()", complex: "complex()", np.float64: "np.float64()",
                np.float32: "np.float32()"}


_CONVERTING_METHODS = {"item": "plain Python number", "tolist": "plain Python list",
                       "tobytes": "bytes", "__float__": "plain Python number"}


class Calls:
    """Calls, for :class:`~autodiffx.reverse.normalize.Normalizer`."""

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
            if isinstance(function, ast.Name) and function.id in self.locals and (
                    function.id not in self.given):
                raise refuse(
                    self.source, function,
                    f"a call of {function.id}, a name the function binds to a function as "
                    "it runs (which function it is, and what it reads, are not known when "
                    "the code is transformed)",
                    "call the function by its own name (a module-level function, a nested "
                    "def, or a function passed as an argument), or use mode='forward'")
            if isinstance(function, ast.Name) and function.id not in self.given:
                self._use_global(function.id, function)
            callee = None  # (a parameter: a function passed in, known when it runs)
        elif isinstance(function, ast.Name):
            self._use_global(function.id, function)
        if callee is np.linalg.svd and _singular_values_only(node):
            # np.linalg.svd(a, compute_uv=False) is np.linalg.svdvals(a), one result
            callee = np.linalg.svdvals
            function = ast.parse("np.linalg.svdvals", mode="eval").body
            node = ast.Call(func=function, args=node.args[:1], keywords=[])
        form = _function_form(callee, node, self._static)
        if form is not None:  # np.add.reduce(x, axis) is np.sum(x, axis)
            callee, node = form
            function = node.func
        rule = registry.lookup(callee) if callee is not None else None
        starred = [a for a in node.args if isinstance(a, ast.Starred)]
        if starred:
            if (rule is not None and not rule.differentiable) or is_constant_maker(callee):
                # np.zeros(*shape), np.eye(*np.shape(x)): no derivative flows through
                args = [ast.Starred(value=self._atom(a.value), ctx=ast.Load())
                        if isinstance(a, ast.Starred) else self._atom(a) for a in node.args]
                keywords = [ast.keyword(arg=k.arg, value=self._static_or_atom(k.value))
                            for k in node.keywords]
                expression = ast.Call(func=ir.copy_tree(function), args=args,
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
            elif len(node.args) == 1 and not node.keywords and self._array_expression(
                    node.args[0]):
                rule = ARRAY_SUM  # sum(x * x): the rows of an array
        shares = []
        if _is_array_maker(callee) and len(node.args) == 1 and _float_or_no_dtype(node):
            rule = self._array_rule(node.args[0])
            if callee is np.asarray and rule is not None and isinstance(node.args[0], ast.Name):
                # np.asarray(a) of an array is a itself: followed as a copy (its derivative),
                # but a write into either is seen by the other (aliasing.py)
                shares = [node.args[0].id]
            callee = rule.primitives[0] if rule is not None else callee
        if rule is not None and rule.outputs is not None:
            self._several_results(target, node, callee, rule, origin)
            return
        if callee in (copy.copy, copy.deepcopy) and node.args and (
                self._holds_values(node.args[0], comprehensions=True) or isinstance(
                    node.args[0], (ast.List, ast.Tuple, ast.Dict)) or isinstance(
                    node.args[0], ast.Name) and node.args[0].id in (self.lists | self.dicts)):
            # copy.copy(xs) of a list is a list of the same arrays, not np.copy of the
            # array NumPy would make of it
            raise refuse(self.source, node, f"{ast.unparse(node.func)} of a list, tuple or "
                         "dict", "copy the arrays themselves ([v.copy() for v in xs]), or "
                         "use mode='forward'")
        if rule is not None and rule.differentiable and not is_random(callee):
            self._call_with_rule(target, node, callee, rule, origin)
            if shares and self.pending and target in ir.bound(self.pending[-1]):
                self.pending[-1].shares = shares
            return
        args = [self._atom(a) for a in node.args]
        keywords = [ast.keyword(arg=k.arg, value=self._static_or_atom(k.value))
                    for k in node.keywords]
        expression = ast.Call(func=ir.copy_tree(function), args=args, keywords=keywords)
        if rule is None and is_user_function(callee) and target in self.lists and (
                returned_tuple_size(callee) is not None):
            # pair = helper(x), a tuple: its items unpacked, and pair their tuple
            names = self._unpacked_items(target, node, returned_tuple_size(callee), origin)
            elements = [load(n) for n in names]
            self.pending.append(ir.Assign(target, ast.Tuple(elts=elements, ctx=ast.Load()),
                                          "list", self.line, operands=elements, node=origin))
            return
        if rule is None and is_user_function(callee):
            self.pending.append(
                ir.Assign(target, expression, "call", self.line, operands=args,
                          keywords={k.arg: k.value for k in keywords}, function=callee,
                          node=origin)
            )
            return
        inactive = rule is not None or is_random(callee) or is_constant_maker(callee)
        self.pending.append(
            ir.Assign(target, expression, "opaque" if inactive else "unsupported", self.line,
                      operands=args, function=callee, node=origin, rule=rule,
                      why="" if inactive else _why_no_derivative(callee, function))
        )

    def _call_with_rule(self, target, node, callee, rule, origin) -> None:
        if rule.sequence and node.args and isinstance(node.args[0], ast.ListComp):
            node = copy.copy(node)
            node.args = [self._atom(node.args[0]), *node.args[1:]]
        if rule.sequence and node.args and isinstance(node.args[0], ast.Name) and (
            node.args[0].id in self.lists
        ):
            # np.stack(rows) of a list built by appends: the adjoint is a list too
            args = [load(node.args[0].id), *(self._static_or_atom(a) for a in node.args[1:])]
        elif rule.sequence:
            if not node.args or not isinstance(node.args[0], (ast.List, ast.Tuple)):
                # fine while the list holds constants; refused by activity otherwise
                args = [self._atom(a) for a in node.args]
                expression = ast.Call(func=ir.copy_tree(node.func), args=args, keywords=[
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
            func=ir.copy_tree(node.func),
            args=args,
            keywords=[ast.keyword(arg=k, value=v) for k, v in keywords.items()],
        )
        operands, rule_keywords = self._bind(rule, callee, args, keywords, node)
        self._emit_rule(target, callee, expression, operands, rule_keywords, origin, rule)

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
            return ir.copy_tree(node)
        if isinstance(node, ast.Tuple):
            return ast.Tuple(elts=[self._atom(e) for e in node.elts], ctx=ast.Load())
        return self._atom(node)


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
    owner = _user_object(callee)
    if owner is not None:
        return (f"{ast.unparse(function)} is {owner}; reverse mode differentiates "
                "functions, not the methods of objects: pass the arrays the method reads "
                "to a module-level function (forward(layer.W, x) for layer.forward(x)), or "
                "use mode='forward'")
    if isinstance(function, ast.Attribute) and callee is None:
        what = _CONVERTING_METHODS.get(function.attr)
        if what is not None:
            return (f".{function.attr}() turns a value being differentiated into a {what}, "
                    "which drops its derivative")
        return (f"the method .{function.attr}() has no derivative rule (reverse mode "
                "differentiates NumPy's array methods, not the methods of other objects; "
                "pass the arrays to a module-level function, or use mode='forward')")
    if isinstance(function, ast.Name) and callee is None:
        return (f"{function.id} is a function passed in as an argument, whose code "
                "reverse mode cannot see when it transforms the function; call a function "
                "defined at module level by its name, or use mode='forward'")
    return ""


def _user_object(callee) -> str | None:
    """What ``callee`` is, when it is a method of one of the user's objects or such an
    object called (``layer.forward``, ``layer``), for a message; else None."""
    if isinstance(callee, types.MethodType) and is_user_function(callee.__func__) and not (
            isinstance(callee.__self__, (type, types.ModuleType))):
        return f"a method of a {type(callee.__self__).__name__} object"
    call = next((vars(kind)["__call__"] for kind in type(callee).__mro__
                 if "__call__" in vars(kind)), None)
    if is_user_function(call):
        return f"a {type(callee).__name__} object, called (its __call__ method)"
    return None


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


def _function_form(callee, node: ast.Call, static):
    """``(function, call)`` for a call of a ufunc's method that is a function with a rule
    (:mod:`autodiffx.rules.ufunc_methods`), written as a call of that function with the
    method's default axis made explicit; ``None`` for any other call. ``static`` gives the
    value of an expression when it is known before the code runs."""
    ufunc = getattr(callee, "__self__", None)
    method = getattr(callee, "__name__", None)
    if not isinstance(ufunc, np.ufunc) or method not in ufunc_methods.KEYWORDS or not (
            node.args) or any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords):
        return None
    function = ufunc_methods.function_form(ufunc, method)
    if function is None:
        return None
    options = ufunc_methods.arguments(method, tuple(node.args[1:]),
                                      {k.arg: k.value for k in node.keywords})
    if options is None:
        return None
    keywords = [ast.keyword(arg=name, value=value if isinstance(value, ast.expr)
                            else ast.Constant(value)) for name, value in options.items()]
    # numpy.add.reduce(x) as numpy.sum(x, axis=0): NumPy by the name the code uses for it
    module = ast.Name(id="np", ctx=ast.Load())
    if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Attribute) and (
            static(node.func.value.value) is np):
        module = node.func.value.value
    name = ast.Attribute(value=ir.copy_tree(module), attr=function.__name__, ctx=ast.Load())
    return function, ast.copy_location(
        ast.Call(func=name, args=node.args[:1], keywords=keywords), node)


def _singular_values_only(node: ast.Call) -> bool:
    """``np.linalg.svd(a, compute_uv=False)`` (``full_matrices`` given or not, which then
    changes nothing), or with ``compute_uv`` as the third positional argument."""
    given = {k.arg: k.value for k in node.keywords}
    if len(node.args) == 3:
        given["compute_uv"] = node.args[2]
    if len(node.args) not in (1, 2, 3) or set(given) - {"compute_uv", "full_matrices"}:
        return False
    flag = given.get("compute_uv")
    return isinstance(flag, ast.Constant) and flag.value is False
