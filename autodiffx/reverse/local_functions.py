"""Functions defined inside the function: a ``lambda`` or a one-line ``def`` called there.

::

    def loss(x):
        squash = lambda v: np.tanh(v) * scale
        def energy(v):
            return np.sum(v * v)
        return energy(squash(x))

is differentiated as ``return np.sum(np.tanh(x) * scale * (np.tanh(x) * scale))``: each
call is replaced by the body with the arguments in place of the parameters, before the
function is normalised. That is what Python computes: a closure reads its free names when
it is called (late binding), and the call site is in the same scope.

Only a function that is bound once, before its calls, is one expression, and is used only
by calling it with positional arguments is inlined. Anything else is left in place and the
fence refuses it, as before, with its location:

* an argument that calls something and stands for a parameter used twice (the call would
  run twice);
* a call inside a comprehension, or a body with one, that binds a name of the body (the
  names would mean something else there);
* recursion, defaults, ``*args``, keywords, decorators.
"""

from __future__ import annotations

import ast
import copy
import dataclasses

from . import mutation
from .source import FunctionSource


@dataclasses.dataclass
class _Local:
    name: str
    params: list[str]
    body: ast.expr
    statement: ast.stmt


def inline(source: FunctionSource) -> FunctionSource:
    """``source`` with its local functions inlined at their calls (a copy; the same source
    when there are none)."""
    locals_ = [found for statement in source.node.body
               if (found := _local(statement)) is not None]
    if not locals_:
        return source
    node = copy.deepcopy(source.node)
    for local in locals_:
        statement = next(s for s in node.body if _local(s) is not None
                         and _local(s).name == local.name)
        local = _local(statement)
        if not _inlinable(local, node, source):
            continue
        _Inliner(local).visit(node)
        node.body.remove(statement)
    return dataclasses.replace(source, node=node)


def _local(statement: ast.stmt) -> _Local | None:
    """The one-expression function a statement defines, if it does."""
    if isinstance(statement, ast.FunctionDef):
        body = [s for s in statement.body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                        and isinstance(s.value.value, str))]  # a docstring
        arguments = statement.args
        if (statement.decorator_list or statement.returns or len(body) != 1
                or not isinstance(body[0], ast.Return) or body[0].value is None
                or not _plain(arguments)):
            return None
        return _Local(statement.name, [a.arg for a in arguments.args], body[0].value,
                      statement)
    if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Lambda) and _plain(statement.value.args)):
        return _Local(statement.targets[0].id, [a.arg for a in statement.value.args.args],
                      statement.value.body, statement)
    return None


def _plain(arguments: ast.arguments) -> bool:
    return not (arguments.posonlyargs or arguments.vararg or arguments.kwonlyargs
                or arguments.kwarg or arguments.defaults)


def _bound_names(node: ast.AST) -> set[str]:
    """Names bound anywhere in ``node``: assignment targets, loop and comprehension
    variables, parameters of nested functions, definitions."""
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(sub.name)
        elif isinstance(sub, ast.arg):
            names.add(sub.arg)
    return names


def _pure(call: ast.Call, source: FunctionSource) -> bool:
    """A call of a NumPy or math function that writes nothing and draws no random numbers:
    running it twice gives the same value (``np.tanh(x)``, not ``rng.normal()``)."""
    chain, node = [], call.func
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return False
    value = source.resolve(node.id)
    for attribute in reversed(chain):
        value = getattr(value, attribute, None)
    module = getattr(value, "__module__", None) or ""
    return mutation.is_known_pure(value) and not module.startswith("numpy.random")


def _inlinable(local: _Local, function: ast.FunctionDef, source: FunctionSource) -> bool:
    name = local.name
    params = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    if name in params:
        return False
    # bound once: by its own statement
    for sub in ast.walk(function):
        if sub is function or _contains(local.statement, sub):
            continue
        if (isinstance(sub, ast.Name) and sub.id == name and not isinstance(sub.ctx, ast.Load)
                or isinstance(sub, (ast.FunctionDef, ast.ClassDef)) and sub.name == name
                or isinstance(sub, ast.arg) and sub.arg == name):
            return False
    free = {n.id for n in ast.walk(local.body) if isinstance(n, ast.Name)} - set(
        local.params)
    if name in free or _bound_names(local.body) & (free | set(local.params)):
        return False  # recursion, or a body that rebinds its own names
    uses = [n for n in ast.walk(function) if isinstance(n, ast.Name) and n.id == name
            and isinstance(n.ctx, ast.Load)]
    calls = {id(c.func): c for c in ast.walk(function) if isinstance(c, ast.Call)}
    for use in uses:
        call = calls.get(id(use))
        if call is None or call.keywords or len(call.args) != len(local.params) or any(
                isinstance(a, ast.Starred) for a in call.args):
            return False
        if getattr(use, "lineno", 0) <= local.statement.lineno and not _contains(
                local.statement, use):
            return False  # called before it is defined
        if _contains(local.statement, use):
            return False
        counts = {p: sum(isinstance(n, ast.Name) and n.id == p for n in ast.walk(local.body))
                  for p in local.params}
        for param, argument in zip(local.params, call.args, strict=True):
            if counts[param] > 1 and any(isinstance(n, ast.Call) and not _pure(n, source)
                                         for n in ast.walk(argument)):
                return False  # the call would run twice
    for scope in ast.walk(function):
        if isinstance(scope, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            inside = any(_contains(scope, use) for use in uses)
            targets = {n.id for g in scope.generators for n in ast.walk(g.target)
                       if isinstance(n, ast.Name)}
            if inside and targets & free:
                return False
    return True


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    return any(n is inner for n in ast.walk(outer))


class _Inliner(ast.NodeTransformer):
    """Each call of the local function becomes its body, the arguments in place."""

    def __init__(self, local: _Local):
        self.local = local

    def visit_Call(self, node: ast.Call):
        node = self.generic_visit(node)
        if not (isinstance(node.func, ast.Name) and node.func.id == self.local.name):
            return node
        values = dict(zip(self.local.params, node.args, strict=True))

        class Substitute(ast.NodeTransformer):
            def visit_Name(self, name):
                if isinstance(name.ctx, ast.Load) and name.id in values:
                    return copy.deepcopy(values[name.id])
                return name

        return Substitute().visit(copy.deepcopy(self.local.body))
