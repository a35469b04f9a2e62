"""Printing, compiling and caching generated modules.

One generated module holds the vjp function of the differentiated function and of every
user function it calls. It is printed with astor, its comment markers are turned into
comments, and it is compiled under a file name registered in :mod:`linecache`, so that
tracebacks, ``inspect.getsource`` and pdb show the generated lines. Results are cached per
``(f, wrt, ranks)``; a lock makes sure each is built once even when threads race.
"""

from __future__ import annotations

import ast
import builtins
import copy
import itertools
import linecache
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import astor

from .. import custom
from ..errors import AutodiffError, MissingRuleError, UnsupportedSyntaxError, UserCodeError
from ..rules import registry
from ..rules.helpers import HELPERS
from . import activity, fence, flat, ir, optimize, ranks
from .adjoint import Comments, Origin, Sweeps
from .normalize import Normalizer
from .runtime import RUNTIME
from .source import FunctionSource, parse_function, spread_varargs


@dataclass(frozen=True)
class Generated:
    """A generated vjp: ``function(*args)`` returns ``(value, pullback)``.

    ``origins`` maps line numbers of the generated ``source`` to the user's lines they come
    from; ``function`` turns a NumPy ``ValueError`` raised in generated code (in either
    sweep) into a :class:`~autodiffx.errors.UserCodeError` that names that line.
    """

    function: Callable
    source: str
    filename: str
    origins: dict[int, Origin] = field(default_factory=dict)


_RESERVED = {"np", *dir(builtins), *HELPERS, *RUNTIME}
_COMMENT = re.compile(r"^(\s*)__autodiffx_comment_(\d+)__$", re.MULTILINE)
_counter = itertools.count(1)


class ModuleBuilder:
    """Generates the vjp functions of one module, callees before callers."""

    def __init__(self, flat: bool = False):
        self.flat = flat
        """Flat code for reverse over reverse (see :mod:`.flat`): no pullback closures."""
        self.callees: dict[int, list[str]] = {}
        self.reserved: set[tuple[int, str]] = set()
        self.generated_names: set[str] = set()
        self.functions: list[ast.FunctionDef] = []
        self.namespace: dict[str, object] = {}
        self.names: dict[tuple, str] = {}
        self.active: list = []
        self.helpers: set[str] = set()
        self.comments = Comments()
        self.module_names: set[str] = set(_RESERVED) | custom.reserved_names()
        self.result_ranks: dict[tuple, object] = {}

    def request(self, function, wrt, argument_ranks, caller=None, caller_source=None,
                suffix: str = "_vjp") -> str:
        """The name of the vjp of ``function`` for ``wrt`` and ranks, generating it once."""
        key = (function, tuple(wrt), tuple(argument_ranks))
        if key in self.names:
            return self.names[key]
        if function in self.active:
            chain = " -> ".join(f.__name__ for f in [*self.active, function])
            raise UnsupportedSyntaxError(
                f"reverse mode does not differentiate recursive calls ({chain})",
                location=caller_source.location(caller.node) if caller_source else None,
                hint='rewrite the recursion as a loop, or use mode="forward"',
            )
        _refuse_nested_gradient(function, caller, caller_source)
        base = getattr(function, "__name__", "f").replace("<lambda>", "lambda") + suffix
        # never the name of a global some generated function reads (the flat gradient
        # code of reverse over reverse calls its own g_vjp by name)
        name = ir.Namer(self.module_names | set(self.namespace)).fresh(
            base, adjoint_too=False, limit=80)
        self.module_names.add(name)
        self.generated_names.add(name)
        self.names[key] = name
        self.active.append(function)
        try:
            definition = self._transform(function, tuple(wrt), tuple(argument_ranks), name)
        finally:
            self.active.pop()
        self.functions.append(definition)
        return name

    def _transform(self, function, wrt, argument_ranks, name) -> ast.FunctionDef:
        source = _spread(parse_function(function), argument_ranks)
        try:
            return self._transform_source(source, wrt, argument_ranks, name)
        except (UnsupportedSyntaxError, MissingRuleError) as error:
            if not flat.is_gradient_code(source) or "reverse over reverse" in error.message:
                raise
            raise flat.refused_in_gradient_code(source.name, error) from error

    def _transform_source(self, source, wrt, argument_ranks, name) -> ast.FunctionDef:
        fence.check(source, wrt)
        namer = ir.Namer(self.module_names)
        normalizer = Normalizer(source, namer)
        statements = optimize.eliminate_common_subexpressions(normalizer.run(),
                                                              normalizer.stored)
        renames = self._bind_globals(normalizer.globals_used, namer)
        params = normalizer.params
        rank_of = ranks.infer(statements, params, argument_ranks, self.call_ranks,
                              normalizer.globals_used)
        result = statements[-1].value
        wrt_names = [params[i] for i in wrt]
        relevant = activity.analyse(statements, wrt_names, ir.names_in(result))
        activity.check(statements, relevant, source)
        activity.check_lists(statements, relevant, normalizer.lists, source)
        sweeps = Sweeps(
            source, statements, params, wrt, rank_of, relevant, namer, self.comments,
            normalizer.lines,
            lambda f, positions, rk, statement: self.request(f, positions, rk, statement,
                                                             source),
            normalizer.stored,
            normalizer.lists,
            ranks.shape_classes(statements, params, rank_of),
            (lambda f: self.callee(f, namer, normalizer.globals_used)) if self.flat else None,
        )
        body = sweeps.build(result, namer.fresh("pullback"))
        for statement in ir.walk(statements):
            rule = getattr(statement, "rule", None)
            if rule is not None:
                # names a custom rule's adjoint expressions use (autodiffx.primitive)
                self.namespace.update(custom.namespace_of(rule))
        self.helpers |= sweeps.helpers_used
        self.helpers |= {n.id for b in body for n in ast.walk(b)
                         if isinstance(n, ast.Name) and n.id in HELPERS}
        what = "reverse mode"
        if self.flat:
            what = "gradient" if len(self.active) == 1 else "vector-Jacobian product"
        definition = _definition(source, name, body, self.comments, what)
        if renames:
            _Rename(renames).visit(definition)
        if self.flat:
            definition = flat.flatten(definition, source.name, top=len(self.active) == 1)
        return definition

    def _bind_globals(self, globals_used: dict, namer: ir.Namer) -> dict[str, str]:
        """Put a function's globals in the module's namespace, which its callees share:
        a name another module binds to something else (``C`` in two files) gets a fresh
        name in this function's code. Returns those renames."""
        renames = {}
        for name, value in globals_used.items():
            if (name in self.namespace and self.namespace[name] is not value) or (
                    name in self.generated_names):
                taken = self.module_names | set(self.namespace) | namer.taken
                renames[name] = ir.Namer(taken).fresh(name, adjoint_too=False)
                namer.reserve(renames[name])
                name = renames[name]
            self.namespace[name] = value
        return renames

    def callee(self, function, namer: ir.Namer, globals_used: dict) -> str:
        """A module-level name for ``function``, which flat code calls in its forward
        sweep: the global name the caller calls it by, else a fresh name that no local of
        the caller (``namer``) has."""
        for name, value in globals_used.items():
            if value is function:
                return name
        names = self.callees.setdefault(id(function), [])
        for name in names:
            if name not in namer.taken or (id(namer), name) in self.reserved:
                return name
        base = getattr(function, "__name__", "f").replace("<lambda>", "lambda")
        others = {key for key, value in self.namespace.items() if value is not function}
        name = ir.Namer(self.module_names | namer.taken | others).fresh(base,
                                                                       adjoint_too=False)
        self.module_names.add(name)
        namer.reserve(name)
        self.reserved.add((id(namer), name))
        self.namespace[name] = function
        names.append(name)
        return name

    def call_ranks(self, function, argument_ranks: tuple[int, ...]):
        """The rank ``function`` returns for arguments of these ranks (a tuple of ranks for
        a tuple), ``None`` when unknown; the callee's front half is transformed once."""
        key = (function, tuple(argument_ranks))
        if key not in self.result_ranks:
            self.result_ranks[key] = None  # a recursive call: unknown
            try:
                source = _spread(parse_function(function), argument_ranks)
                fence.check(source, ())
                normalizer = Normalizer(source, ir.Namer(self.module_names))
                statements = normalizer.run()
            except AutodiffError:
                return None  # reported with its location when the vjp itself is built
            rank_of = ranks.infer(statements, normalizer.params, argument_ranks,
                                  self.call_ranks, normalizer.globals_used)
            result = statements[-1].value
            if isinstance(result, ast.Tuple):
                self.result_ranks[key] = tuple(ranks.atom_rank(e, rank_of)
                                               for e in result.elts)
            else:
                self.result_ranks[key] = ranks.atom_rank(result, rank_of)
        return self.result_ranks[key]

    def module_source(self) -> tuple[str, dict[int, Origin]]:
        """The printed module, and the user's line behind each generated line."""
        body: list[ast.stmt] = [ast.Import(names=[ast.alias(name="numpy", asname="np")])]
        for module, names in (("autodiffx.rules.helpers", HELPERS),
                              ("autodiffx.reverse.runtime", RUNTIME)):
            used = sorted(self.helpers & set(names))
            if used:
                body.append(ast.ImportFrom(
                    module=module, names=[ast.alias(name=h, asname=None) for h in used],
                    level=0))
        body += self.functions
        module = _NegativeConstants().visit(ast.Module(body=body, type_ignores=[]))
        text = astor.to_source(module)
        texts = self.comments.texts

        def comment(match):
            return f"{match.group(1)}# {texts[int(match.group(2))]}"

        # each comment marker is one line and becomes one comment line: lines keep numbers
        return _COMMENT.sub(comment, text), _origins(module, ast.parse(text))


def made_by_autodiffx(function) -> bool:
    """Whether ``function`` is a transform made by ``autodiffx.grad`` (or value_and_grad)."""
    return (hasattr(function, "__wrapped__") and hasattr(function, "wrt")
            and getattr(function, "mode", None) in ("reverse", "forward"))


def _refuse_nested_gradient(function, caller, caller_source) -> None:
    """Reverse mode over a gradient function: refused rather than differentiating the
    function it wraps (which gives the gradient of ``f`` instead of that of ``grad(f)``)."""
    if not made_by_autodiffx(function):
        return
    name = getattr(function.__wrapped__, "__name__", "f")
    if not hasattr(function, "value_and_grad"):
        what = "a value_and_grad function is not supported; call grad(...) instead"
    elif getattr(function, "has_aux", False):
        what = "a gradient with has_aux=True is not supported"
    elif function.mode == "forward":
        what = ("a call to it inside a function is supported (reverse over forward), "
                "differentiating it directly is not")
    else:
        what = "reverse-over-reverse is not supported"
    raise UnsupportedSyntaxError(
        f"reverse mode does not differentiate a gradient function made by autodiffx "
        f"(grad({name}, mode={function.mode!r})): {what}",
        location=caller_source.location(caller.node) if caller_source else None,
        hint="take second derivatives with autodiffx.hessian or autodiffx.hvp "
        "(forward over reverse), or differentiate the outer function with "
        'mode="forward"',
    )


def _definition(source: FunctionSource, name: str, body, comments,
                what: str = "reverse mode") -> ast.FunctionDef:
    arguments = copy.deepcopy(source.node.args)
    for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                     arguments.vararg, arguments.kwarg):
        if argument is not None:
            argument.annotation = None
    where = f"{what} of {source.name} ({_short(source.filename)}:{source.node.lineno})"
    return ast.FunctionDef(name=name, args=arguments, body=[comments.marker(where), *body],
                           decorator_list=[], returns=None, type_comment=None, lineno=0)


class _Rename(ast.NodeTransformer):
    """Rename global names read by one generated function (see ``_bind_globals``)."""

    def __init__(self, renames: dict[str, str]):
        self.renames = renames

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if isinstance(node.ctx, ast.Load) and node.id in self.renames:
            node.id = self.renames[node.id]
        return node


class _NegativeConstants(ast.NodeTransformer):
    """``-0.7`` as a unary minus, so that astor brackets it: ``(-0.7) ** 2``."""

    def visit_Constant(self, node: ast.Constant):
        value = node.value
        if type(value) in (int, float) and math.copysign(1, value) < 0:
            return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
        return node


def _spread(source: FunctionSource, argument_ranks) -> FunctionSource:
    """``*args`` as one named parameter per positional argument of the call."""
    arguments = source.node.args
    count = len(argument_ranks) - len(arguments.posonlyargs) - len(arguments.args)
    return spread_varargs(source, count) if arguments.vararg is not None else source


def _statements(body: list):
    """Statements in program order, compound statements before their bodies."""
    for statement in body:
        yield statement
        for name in ("body", "orelse"):
            block = getattr(statement, name, None)
            if isinstance(block, list):
                yield from _statements(block)


def _origins(built: ast.Module, printed: ast.Module) -> dict[int, Origin]:
    """Pair the statements we built with those parsed back from the printed text."""
    origins: dict[int, Origin] = {}
    for ours, theirs in zip(_statements(built.body), _statements(printed.body), strict=True):
        origin = getattr(ours, "origin", None)
        if origin is None:
            continue
        compound = isinstance(theirs, (ast.If, ast.For, ast.While))
        last = theirs.lineno if compound else (theirs.end_lineno or theirs.lineno)
        for line in range(theirs.lineno, last + 1):
            origins[line] = origin
    return origins


def _short(filename: str) -> str:
    return filename.rsplit("/", 1)[-1]


def generate(function, wrt, argument_ranks) -> Generated:
    """Transform ``function`` and compile the module holding its vjp."""
    builder = ModuleBuilder()
    name = builder.request(function, wrt, argument_ranks)
    text, origins = builder.module_source()
    filename = f"<autodiffx-generated-{next(_counter)} {name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = dict(builder.namespace)
    namespace["__name__"] = "autodiffx_generated"
    exec(compile(text, filename, "exec"), namespace)  # the text was printed from our AST
    return Generated(_checked(namespace[name], filename, origins), text, filename, origins)


def _checked(vjp: Callable, filename: str, origins: dict[int, Origin]) -> Callable:
    """``vjp`` and its pullbacks, with NumPy errors reported at the user's line.

    A ``try`` costs nothing in Python 3.11 when nothing is raised, so the normal path pays
    only for one extra call.
    """

    def checked_pullback(pullback):
        def pullback_checked(cotangent):
            try:
                return pullback(cotangent)
            except ValueError as error:
                wrapped = _user_error(error, filename, origins)
                if wrapped is None:
                    raise
                raise wrapped from error

        return pullback_checked

    def vjp_checked(*args, **kwargs):
        try:
            value, pullback = vjp(*args, **kwargs)
        except ValueError as error:
            wrapped = _user_error(error, filename, origins)
            if wrapped is None:
                raise
            raise wrapped from error
        return value, checked_pullback(pullback)

    vjp_checked.__wrapped__ = vjp
    return vjp_checked


def _user_error(error: ValueError, filename: str, origins: dict[int, Origin]):
    """A :class:`UserCodeError` for ``error`` at the innermost generated frame, or None."""
    if isinstance(error, AutodiffError):
        return None
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    origin = origins.get(line)
    if origin is None:
        return None
    kind = type(error).__name__
    if origin.sweep == "forward":
        message = f"NumPy raised {kind} in {origin.function}: {error}"
        hint = ("calling the function directly raises the same error: check the shapes and "
                "values of its arguments")
    else:
        message = (f"NumPy raised {kind} while computing the gradient of a line of "
                   f"{origin.function} (the adjoint sweep): {error}")
        hint = ("the function itself ran, so this may be a missing case in a derivative "
                'rule: please report it; mode="forward" may work meanwhile')
    return UserCodeError(message, location=origin.location, hint=hint)


# --------------------------------------------------------------------------- cache

_cache: dict[tuple, Generated] = {}
_last_call: dict = {}
_lock = threading.RLock()  # reentrant: flat gradient code is built while building


def build(f, wrt, argument_ranks, verbose: bool = False) -> Generated:
    """The cached :class:`Generated` for ``(f, wrt, ranks)``, built on first use."""
    given = f
    if flat.is_reverse_gradient(f):
        # reverse over reverse: differentiate the flat gradient code of f
        f = flat.gradient_function(f, argument_ranks)
    key = (f, wrt, argument_ranks)
    try:
        generated = _cache[key]
    except (KeyError, TypeError):
        key = (f, tuple(wrt), tuple(argument_ranks))
        with _lock:
            generated = _cache.get(key)
            if generated is None:
                generated = generate(f, key[1], key[2])
                _cache[key] = generated
                if verbose:
                    print(generated.source)
    _last_call[f] = _last_call[given] = key
    return generated


def clear_cache() -> None:
    """Drop every generated module: a rule was registered or removed, and generated code
    inlines the rules it was built from."""
    with _lock:
        _cache.clear()
        _last_call.clear()
        flat.clear_cache()


registry.on_change(clear_cache)


def last_call(f):
    """The ``(f, wrt, ranks)`` key of the latest build for ``f``, or ``None``."""
    return _last_call.get(f)
