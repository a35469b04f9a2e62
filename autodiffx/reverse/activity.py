"""Activity analysis: which names need an adjoint.

A name is *active* when its value depends on an argument being differentiated, and
*useful* when the returned value depends on it. Only names that are both get an adjoint;
everything else is a constant as far as the adjoint sweep is concerned. This is also where
a call that would need a derivative nobody can give is found, before any code runs.
"""

from __future__ import annotations

import ast
import builtins
import functools
import operator
import types

import numpy as np

from ..errors import AutodiffError, Location, MissingRuleError, UnsupportedSyntaxError
from ..forward.reach import fixed
from ..rules import registry
from . import ir, mutation
from .source import FunctionSource, parse_function

_CARRIES = ("primitive", "copy", "call", "list", "unsupported")


def operand_names(statement) -> list[str]:
    """The local names whose values flow into a statement's result."""
    if isinstance(statement, ir.Assign):
        if statement.kind == "opaque":
            return []
        if statement.kind == "unsupported":
            return ir.names_in(statement.expr)
        names = []
        for operand in statement.operands:
            names += ir.names_in(operand) if isinstance(operand, (ast.List, ast.Tuple)) else (
                [operand.id] if isinstance(operand, ast.Name) else []
            )
        if statement.kind == "primitive" and statement.rule is not None:
            names = []
            for operand, adjoint in zip(statement.operands, statement.rule.adjoints,
                                        strict=False):
                if adjoint is None:
                    continue
                names += ir.names_in(operand) if isinstance(operand, (ast.List, ast.Tuple)) \
                    else ([operand.id] if isinstance(operand, ast.Name) else [])
            # a keyword carries no derivative through the rule, but one that depends on the
            # arguments must be seen, to be refused (see _refuse_differentiated_keyword)
            for value in statement.keywords.values():
                names += ir.names_in(value)
        return list(dict.fromkeys(names))
    if isinstance(statement, ir.Store):
        return [statement.target, *ir.names_in(statement.value)]
    if isinstance(statement, ir.Append):
        return [statement.target, *ir.names_in(statement.value)]
    return []


def _effect_flow(statement: ir.Effect) -> tuple[list[str], list[str]]:
    """The names an effect may write into and the names that may flow into them: those
    the normalizer found (``np.put(y, i, v)``), or the receiver of ``receiver.method(args)``
    and the names passed to it."""
    if statement.writes:
        return list(statement.writes), ir.reads(statement)
    receiver, args = _method_flow(statement)
    return ([receiver] if receiver else []), args


def _method_flow(statement: ir.Effect) -> tuple[str | None, list[str]]:
    node = statement.statement
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        function = node.value.func
        if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
            args = [n for a in node.value.args for n in ir.names_in(a)]
            return function.value.id, args
    return None, []


def analyse(statements: list, wrt_names: list[str], results: list[str]) -> set[str]:
    """The names that are active and useful (``results`` depend on them): they need an
    adjoint.

    Each statement's flow (the names it binds or writes, the names flowing into them) is
    found once. Activity spreads forward along the flows from ``wrt_names`` and usefulness
    backward from ``results``: two searches of the graph of flows, each visiting a flow
    once whatever loops and branches do to the order.
    """
    flows = [flow for flow in map(_flow, ir.walk(statements)) if flow is not None]
    into: dict[str, list[list[str]]] = {}  # name -> the targets of flows it is a source of
    out_of: dict[str, list[list[str]]] = {}  # name -> the sources of flows it is a target of
    for targets, sources, carries in flows:
        if not carries:
            continue
        for name in sources:
            into.setdefault(name, []).append(targets)
        for name in targets:
            out_of.setdefault(name, []).append(sources)
    return _reached(wrt_names, into) & _reached(results, out_of)


def _reached(start, edges: dict[str, list[list[str]]]) -> set[str]:
    """The names reached from ``start`` along ``edges`` (start included)."""
    reached = set(start)
    pending = list(reached)
    while pending:
        for names in edges.pop(pending.pop(), ()):
            for name in names:
                if name not in reached:
                    reached.add(name)
                    pending.append(name)
    return reached


def _flow(statement) -> tuple[list[str], list[str], bool] | None:
    """``(targets, sources, carries)``: the names ``statement`` binds or writes, the names
    whose values flow into them, and whether a derivative flows through it (not through
    a constant or a call without a derivative)."""
    if isinstance(statement, ir.Assign):
        carries = statement.kind in _CARRIES
        return ir.bound(statement), operand_names(statement), carries
    if isinstance(statement, (ir.Store, ir.Append)):
        return [statement.target], operand_names(statement), True
    if isinstance(statement, ir.Effect):
        targets, sources = _effect_flow(statement)
        return targets, sources, True
    return None


def check(statements: list, relevant: set[str], source: FunctionSource) -> None:
    """Refuse, with a location, a derivative that has to pass through something unsupported."""
    for statement in ir.walk(statements):
        if isinstance(statement, ir.Assign) and statement.kind == "primitive":
            _refuse_differentiated_keyword(statement, relevant, source)
        if isinstance(statement, ir.Assign) and statement.kind == "unsupported":
            passed = [n for n in operand_names(statement) if n in relevant]
            if statement.target in relevant and passed:
                _refuse_unsupported(statement, source)
            if passed and isinstance(statement.expr, ast.Call) and not _pure_call(statement):
                # its result carries no derivative, but it may write into what it is given
                raise UnsupportedSyntaxError(
                    f"reverse mode cannot tell whether {ast.unparse(statement.expr)} writes "
                    f"into {passed[0]}, which carries a derivative (in {source.name})",
                    location=source.location(statement.node),
                    hint=f"pass it {passed[0]}.copy(), or call it outside the function "
                    'being differentiated, or use mode="forward"',
                )
        elif isinstance(statement, ir.Effect) and statement.writes:
            written = [w for w in statement.writes if w in relevant]
            if written:
                call = statement.statement
                text = ast.unparse(call.value if isinstance(call, ast.Expr) else call)
                raise UnsupportedSyntaxError(
                    f"reverse mode cannot follow derivatives through {text}, which may "
                    f"write into {written[0]} (in {source.name})",
                    location=source.location(statement.node),
                    hint=f"compute the new value and assign it (for example "
                    f"{written[0]} = np.where(mask, value, {written[0]}) or a store "
                    f"{written[0]}[i] = value), or use mode=\"forward\"",
                )
        elif isinstance(statement, ir.Effect):
            written, args = _effect_flow(statement)
            if written and written[0] in relevant and any(a in relevant for a in args):
                raise UnsupportedSyntaxError(
                    f"reverse mode cannot follow derivatives through {written[0]}."
                    f"{statement.statement.value.func.attr}(...) (in {source.name})",
                    location=source.location(statement.node),
                    hint="preallocate an array (y = np.zeros(n)) and write y[i] = value, "
                    'build it with np.stack([...]) of named values, or use mode="forward"',
                )


def _pure_call(statement: ir.Assign) -> bool:
    """Whether a call without a rule is known to write into none of its arguments: a
    NumPy, math or pure builtin function, or an array method that does not write."""
    call = statement.expr
    function = call.func
    if statement.function is None and isinstance(function, ast.Attribute):
        # x.byteswap(True) and x.byteswap(inplace=True) write into x; x.byteswap() copies
        inplace = any(k.arg == "inplace" for k in call.keywords) or (
            function.attr == "byteswap" and call.args)
        return hasattr(np.ndarray, function.attr) and not inplace and (
            function.attr not in mutation.WRITING_METHODS)
    return mutation.is_known_pure(statement.function)


def _list_uses() -> tuple:
    """The rules that may read a list whose items carry derivatives."""
    from .normalize import LIST_SUM

    return (LIST_SUM, *(registry.lookup(f) for f in (np.stack, np.concatenate,
                                                      operator.getitem)))


def _over_items(loop: ir.For, names: list[str]) -> bool:
    """``for index in range(len(xs))`` (what ``for item in xs`` becomes), whose body does
    not grow or replace ``xs`` (Python would visit the items added while it loops)."""
    iterator = loop.iter
    if not (isinstance(iterator, ast.Call) and isinstance(iterator.func, ast.Name)
            and iterator.func.id == "range" and len(iterator.args) == 1):
        return False
    length = iterator.args[0]
    if not (isinstance(length, ast.Call) and isinstance(length.func, ast.Name)
            and length.func.id == "len" and len(length.args) == 1
            and isinstance(length.args[0], ast.Name) and [length.args[0].id] == names):
        return False
    return not any(isinstance(s, (ir.Append, ir.Store)) and s.target == names[0]
                   or isinstance(s, ir.Assign) and names[0] in ir.bound(s)
                   for s in ir.walk(loop.body))


def check_lists(statements: list, relevant: set[str], lists: set[str],
                source: FunctionSource) -> None:
    """Refuse a list of differentiated values used in a way reverse mode cannot follow."""
    active_lists = lists & relevant
    if not active_lists:
        return
    for statement in ir.walk(statements):
        used = [n for n in ir.reads(statement) if n in active_lists]
        if not used or isinstance(statement, ir.Append) or (
                isinstance(statement, ir.Assign) and statement.kind == "list"):
            continue
        if isinstance(statement, ir.For) and _over_items(statement, used):
            continue  # for item in xs: range(len(xs)) and xs[index], items read one by one
        if (isinstance(statement, ir.Store) and statement.target in active_lists
                and isinstance(statement.index, (ast.Name, ast.Constant))
                and not (isinstance(statement.value, ast.Name)
                         and statement.value.id in active_lists)):
            continue  # xs[i] = v: an item replaced
        if isinstance(statement, ir.Assign) and statement.kind in ("primitive", "opaque"):
            rule = statement.rule
            first = statement.operands[0] if statement.operands else None
            if statement.kind == "opaque" and statement.target not in relevant:
                continue  # len(rows), a comparison: no derivative flows
            if rule is not None and rule in _list_uses() and isinstance(first, ast.Name) and (
                first.id in active_lists
            ) and all(n not in active_lists for o in statement.operands[1:]
                      for n in ir.names_in(o)):
                if rule.name != "getitem" or isinstance(statement.operands[1],
                                                        (ast.Name, ast.Constant)):
                    continue
        name = used[0]
        node = getattr(statement, "node", None)
        raise UnsupportedSyntaxError(
            f"reverse mode cannot follow derivatives through this use of the list {name} "
            f"(in {source.name})",
            location=source.location(node) if node is not None else Location(
                source.filename, abs(statement.line), 0, source.lines.get(abs(statement.line),
                                                                           "")),
            hint=f"read the list only with {name}[i] (an integer index), np.stack({name}), "
            f"np.array({name}), np.concatenate({name}) or sum({name}); append to it with "
            f"{name}.append(value); or use mode=\"forward\"",
        )


def _refuse_differentiated_keyword(statement: ir.Assign, relevant: set[str],
                                   source: FunctionSource) -> None:
    """A rule differentiates its positional parameters only: a keyword argument
    (``np.var(x, ddof=c)``, ``np.pad(x, 1, constant_values=c)``) that carries a derivative
    would otherwise pass none, silently."""
    for keyword, value in statement.keywords.items():
        carried = [n for n in ir.names_in(value) if n in relevant]
        if carried:
            raise MissingRuleError(
                f"{registry.describe(statement.function)}: its argument {keyword}= carries a "
                f"derivative (through {carried[0]}), which its rule does not differentiate "
                f"(in {source.name})",
                location=source.location(statement.node),
                hint=f"give {keyword}= a value that does not depend on the arguments being "
                "differentiated, or differentiate with respect to other arguments",
            )


def _refuse_unsupported(statement: ir.Assign, source: FunctionSource) -> None:
    location = source.location(statement.node)
    if statement.why:
        raise MissingRuleError(
            f"reverse mode cannot differentiate this line: {statement.why} "
            f"(in {source.name})",
            location=location,
            hint="compute with NumPy functions on the arrays themselves, or leave the "
            "derivative out where it is not wanted (differentiate with respect to other "
            "arguments)",
        )
    if statement.function is not None:
        raise MissingRuleError(
            f"{registry.describe(statement.function)} has no derivative rule and no Python "
            f"source to differentiate (in {source.name})",
            location=location,
            hint="register a rule with autodiffx.defrule(...), rewrite the line with "
            'functions that have rules, or use mode="forward"',
        )
    construct = type(statement.node).__name__ if statement.node is not None else "expression"
    expression = statement.expr
    if isinstance(expression, (ast.List, ast.Tuple, ast.Dict, ast.DictComp, ast.SetComp,
                               ast.GeneratorExp)):
        construct = type(expression).__name__
    if isinstance(expression, ast.Call) and not isinstance(expression.func, (
            ast.Name, ast.Attribute)):  # getattr(np, name)(x), table[k](x), make()(x)
        raise UnsupportedSyntaxError(
            f"reverse mode does not differentiate a call of {ast.unparse(expression.func)}, "
            f"a function chosen as the code runs (in {source.name})",
            location=location,
            hint="call the function by its name (np.sin(x), or a function of your own), "
            'or use mode="forward"',
        )
    descriptions = {
        "ListComp": "a list comprehension over differentiated values",
        "List": "a list of differentiated values",
        "Tuple": "a tuple of differentiated values",
        "Attribute": "this attribute of a differentiated value",
        "DictComp": "a dict comprehension over differentiated values",
        "SetComp": "a set of differentiated values",
        "GeneratorExp": "a generator of differentiated values (other than sum's argument)",
        "Dict": "a dict of differentiated values",
        "Call": "a list of differentiated values built elsewhere and passed to this call",
    }
    hint = ("compute the values into a preallocated array, or pass the list straight to "
            "np.stack/np.concatenate; a list name bound only to list literals and grown with "
            '.append is differentiated too; or use mode="forward"')
    if construct in ("Dict", "DictComp"):
        hint = ("keep the values in names of their own; a dict bound once at the function's "
                "top level and used only as name['key'] with constant keys (not passed on, "
                'returned or looped over) is differentiated too; or use mode="forward"')
    raise UnsupportedSyntaxError(
        f"reverse mode does not differentiate {descriptions.get(construct, construct)} "
        f"(in {source.name})",
        location=location,
        hint=hint,
    )


def check_dicts(statements: list, relevant: set[str], dicts: set[str],
                source: FunctionSource) -> None:
    """Refuse a derivative stored into, or read from, a dict that stays a dict (one that
    :mod:`~autodiffx.reverse.normalize.dicts` could not read as one name per key). Left
    alone, ``cache[key] = h`` would be differentiated as a write into an array."""
    names = set(dicts)
    for statement in ir.walk(statements):  # versions and copies of those names
        if isinstance(statement, ir.Assign) and (
                _makes_dict(statement.expr) or statement.kind == "copy"
                and isinstance(statement.expr, ast.Name) and statement.expr.id in names):
            names.add(statement.target)
    for statement in ir.walk(statements):
        if isinstance(statement, ir.Store):
            name = statement.target
        elif isinstance(statement, ir.Assign) and statement.rule is not None and (
                statement.rule.name == "getitem"):
            first = statement.operands[0] if statement.operands else None
            name = first.id if isinstance(first, ast.Name) else None
        else:
            continue
        if name in names and name in relevant:
            raise UnsupportedSyntaxError(
                f"reverse mode does not follow derivatives through the dict {name}: it "
                "follows a dict made in the function only when it is bound once, at the "
                "function's top level, and used only as name['key'] with constant keys "
                f"(in {source.name})",
                location=Location(source.filename, abs(statement.line), 0,
                                  source.lines.get(abs(statement.line), "")),
                hint="index the dict with constant keys only (cache['h'], not cache[key]) "
                "and do not pass it on or loop over it, or keep the values in names of "
                'their own, or use mode="forward"',
            )


def _makes_dict(expression) -> bool:
    return isinstance(expression, (ast.Dict, ast.DictComp)) or (
        isinstance(expression, ast.Call) and isinstance(expression.func, ast.Name)
        and expression.func.id == "dict")


# ------------------------------------------------------------ values the function lets go

def check_kept(statements: list, wrt_names: list[str], known: dict,
               source: FunctionSource) -> None:
    """Refuse a statement run for its effect that hands a value being differentiated to
    code that may keep it where reverse mode cannot follow it: a function or method of the
    user's (``store(x)``, ``model.keep(x)``), or a method of a container that is not one of
    the function's own lists (``LOG.append(x)``, ``CACHE.setdefault(k, x)``, a local name
    for a global list). Read back later (``LOG[-1]``), the value would be a constant to
    the generated code, and its derivative lost. Calls of NumPy's, the standard library's
    and autodiffx's own functions (``print(x)``, ``np.save``) keep nothing that the
    function reads back, and are run as they are. ``known`` holds the values of the global
    names the statements read."""
    flows = [flow for flow in map(_flow, ir.walk(statements)) if flow is not None]
    into: dict[str, list[list[str]]] = {}
    for targets, sources, carries in flows:
        if carries:
            for name in sources:
                into.setdefault(name, []).append(targets)
    active = _reached(wrt_names, into)
    for statement in ir.walk(statements):
        if not isinstance(statement, ir.Effect):
            continue
        for call in (n for n in ast.walk(statement.statement) if isinstance(n, ast.Call)):
            passed = [name for argument in [*call.args, *(k.value for k in call.keywords)]
                      for name in ir.names_in(argument) if name in active]
            if passed and not _keeps_nothing(call, passed, known):
                text = ast.unparse(call)
                raise UnsupportedSyntaxError(
                    f"reverse mode cannot follow {passed[0]}, a value being differentiated, "
                    f"into {text}, which may keep it where the function reads it back (in "
                    f"{source.name})",
                    location=source.location(statement.node),
                    hint="return the value instead of storing it, keep it in a local list "
                    "grown with .append (then np.stack), or use mode=\"forward\"",
                )


def _keeps_nothing(call: ast.Call, passed: list[str], known: dict) -> bool:
    """Whether ``call`` keeps nothing of the values named ``passed``: a function of
    NumPy's, the standard library's or autodiffx's (``print``, ``np.save``), named by a
    global name or a builtin, or a function or method of the user's whose parameters that
    receive them it keeps nothing of (:func:`.mutation.kept_parameters`)."""
    root = call.func
    while isinstance(root, ast.Attribute):
        root = root.value
    steps = root is not call.func

    def lookup(name):  # a local name: what it holds is not known before the call
        if name in known:
            return known[name]
        return getattr(builtins, name) if not steps and hasattr(builtins, name) else (
            mutation.MISSING)

    value = mutation.chain_value(call.func, lookup)
    if value is mutation.MISSING:
        return False
    while True:  # a partial, a decorator's wrapper: the function it calls
        inner = getattr(value, "func", None) if isinstance(value, functools.partial) else (
            vars(value).get("__wrapped__") if type(getattr(value, "__dict__", None)) is dict
            and not isinstance(value, (type, types.ModuleType)) else None)
        if inner is None:
            break
        value = inner
    if isinstance(value, types.FunctionType) and not fixed(value.__module__):
        return _keeps_no_parameter(value, call, passed, bound=steps and not isinstance(
            known.get(root.id), types.ModuleType))
    if isinstance(value, (list, dict, set, tuple)) or isinstance(
            value, types.BuiltinFunctionType) and not isinstance(
            getattr(value, "__self__", None), (types.ModuleType, type(None))):
        return False  # a container's method: it may keep the value
    module = getattr(value, "__module__", None) if not isinstance(
        value, types.ModuleType) else value.__name__
    return fixed(module)


def _keeps_no_parameter(function, call: ast.Call, passed: list[str], bound: bool) -> bool:
    """Whether the user's ``function``, called as ``call`` (a method of an object when
    ``bound``: its first parameter is the object), keeps none of the values ``passed``."""
    try:
        kept = mutation.kept_parameters(parse_function(function))
    except AutodiffError:
        return False
    code = function.__code__
    parameters = code.co_varnames[int(bound):code.co_argcount]
    for position, argument in enumerate(call.args):
        if any(name in passed for name in ir.names_in(argument)) and (
                position >= len(parameters) or parameters[position] in kept
                or isinstance(argument, ast.Starred)):
            return False
    return not any(keyword.arg is None or keyword.arg in kept for keyword in call.keywords
                   if any(name in passed for name in ir.names_in(keyword.value)))
