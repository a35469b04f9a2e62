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
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import astor

from ..errors import UnsupportedSyntaxError
from ..rules.helpers import HELPERS
from . import activity, fence, ir, ranks
from .adjoint import Comments, Sweeps
from .normalize import Normalizer
from .source import FunctionSource, parse_function


@dataclass(frozen=True)
class Generated:
    """A generated vjp: ``function(*args)`` returns ``(value, pullback)``."""

    function: Callable
    source: str
    filename: str


_RESERVED = {"np", *dir(builtins), *HELPERS}
_COMMENT = re.compile(r"^(\s*)__autodiffx_comment_(\d+)__$", re.MULTILINE)
_counter = itertools.count(1)


class ModuleBuilder:
    """Generates the vjp functions of one module, callees before callers."""

    def __init__(self):
        self.functions: list[ast.FunctionDef] = []
        self.namespace: dict[str, object] = {}
        self.names: dict[tuple, str] = {}
        self.active: list = []
        self.helpers: set[str] = set()
        self.comments = Comments()
        self.module_names: set[str] = set(_RESERVED)

    def request(self, function, wrt, argument_ranks, caller=None, caller_source=None) -> str:
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
        base = getattr(function, "__name__", "f").replace("<lambda>", "lambda") + "_vjp"
        name = ir.Namer(self.module_names).fresh(base, adjoint_too=False, limit=80)
        self.module_names.add(name)
        self.names[key] = name
        self.active.append(function)
        try:
            definition = self._transform(function, tuple(wrt), tuple(argument_ranks), name)
        finally:
            self.active.pop()
        self.functions.append(definition)
        return name

    def _transform(self, function, wrt, argument_ranks, name) -> ast.FunctionDef:
        source = parse_function(function)
        fence.check(source, wrt)
        namer = ir.Namer(self.module_names)
        normalizer = Normalizer(source, namer)
        statements = normalizer.run()
        self.namespace.update(normalizer.globals_used)
        params = normalizer.params
        rank_of = ranks.infer(statements, params, argument_ranks)
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
        )
        body = sweeps.build(result, namer.fresh("pullback"))
        self.helpers |= sweeps.helpers_used
        self.helpers |= {n.id for b in body for n in ast.walk(b)
                         if isinstance(n, ast.Name) and n.id in HELPERS}
        return _definition(source, name, body, self.comments)

    def module_source(self) -> str:
        body: list[ast.stmt] = [ast.Import(names=[ast.alias(name="numpy", asname="np")])]
        if self.helpers:
            body.append(ast.ImportFrom(
                module="autodiffx.rules.helpers",
                names=[ast.alias(name=h, asname=None) for h in sorted(self.helpers)],
                level=0,
            ))
        body += self.functions
        text = astor.to_source(ast.Module(body=body, type_ignores=[]))
        texts = self.comments.texts

        def comment(match):
            return f"{match.group(1)}# {texts[int(match.group(2))]}"

        return _COMMENT.sub(comment, text)


def _definition(source: FunctionSource, name: str, body, comments) -> ast.FunctionDef:
    arguments = copy.deepcopy(source.node.args)
    for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                     arguments.vararg, arguments.kwarg):
        if argument is not None:
            argument.annotation = None
    where = f"reverse mode of {source.name} ({_short(source.filename)}:{source.node.lineno})"
    return ast.FunctionDef(name=name, args=arguments, body=[comments.marker(where), *body],
                           decorator_list=[], returns=None, type_comment=None, lineno=0)


def _short(filename: str) -> str:
    return filename.rsplit("/", 1)[-1]


def generate(function, wrt, argument_ranks) -> Generated:
    """Transform ``function`` and compile the module holding its vjp."""
    builder = ModuleBuilder()
    name = builder.request(function, wrt, argument_ranks)
    text = builder.module_source()
    filename = f"<autodiffx-generated-{next(_counter)} {name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = dict(builder.namespace)
    namespace["__name__"] = "autodiffx_generated"
    exec(compile(text, filename, "exec"), namespace)  # the text was printed from our AST
    return Generated(namespace[name], text, filename)


# --------------------------------------------------------------------------- cache

_cache: dict[tuple, Generated] = {}
_last_call: dict = {}
_lock = threading.Lock()


def build(f, wrt, argument_ranks, verbose: bool = False) -> Generated:
    """The cached :class:`Generated` for ``(f, wrt, ranks)``, built on first use."""
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
    _last_call[f] = key
    return generated


def last_call(f):
    """The ``(f, wrt, ranks)`` key of the latest build for ``f``, or ``None``."""
    return _last_call.get(f)
