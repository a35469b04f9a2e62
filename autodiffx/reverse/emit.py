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
import contextlib
import dataclasses
import gc
import itertools
import linecache
import math
import re
import sys
import threading
import types
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import astor

from .. import custom, transforms
from ..display import Code
from ..errors import (
    AutodiffError,
    Location,
    MissingRuleError,
    UnsupportedSyntaxError,
    UserCodeError,
)
from ..forward.dual import Dual
from ..rules import registry
from ..rules.helpers import HELPERS
from . import (
    activity,
    aliasing,
    fence,
    flat,
    guards,
    ir,
    kinds,
    local_functions,
    loop_else,
    nested,
    optimize,
    ranks,
    shapes,
    sharing,
    tangent,
    walrus,
)
from .adjoint import Comments, Origin, Sweeps, large
from .normalize import Normalizer
from .runtime import RUNTIME
from .source import FunctionSource, parse_function, recording, spread_varargs


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
    guard: guards.Guard | None = field(default=None, repr=False, compare=False)
    """The bindings of globals and closure cells the code was generated for."""
    module: _Module | None = field(default=None, repr=False, compare=False)
    real_names: frozenset | None = field(default=None, repr=False, compare=False)
    """Names whose values the code takes as real without proof (see :mod:`.kinds`): the
    values of these names the pullback reads are checked after each forward sweep
    (:func:`check_real`); ``None`` when nothing was assumed."""
    gradient: Callable | None = field(default=None, repr=False, compare=False)
    """The gradient without the value, ``gradient(*args)`` returning the pullback's result
    for a seed of 1.0: made only when the code is for the arguments' shapes and the value is
    proved a real scalar for floats and arrays of floats (:func:`.shapes.real_scalar`), so
    ``grad`` may call it for such arguments only."""


@dataclass(frozen=True)
class _Module:
    """The compiled module behind a :class:`Generated`, to execute again when only data
    globals changed."""

    code: types.CodeType
    namespace: dict
    name: str
    gradient_name: str | None = None
    written: tuple | None = None
    """``(function name, parameters, parameters written into, defaults, harmless)`` when
    the function writes into the memory of some of its parameters (see
    :func:`.sharing.refusing_shared`)."""
    checked_callees: tuple = ()
    """``(vjp name, written)`` for the callees whose calls are checked so (see
    :attr:`ModuleBuilder.checked_callees`)."""
    reads: tuple = ()
    """What the code reads through its namespace, for those checks
    (:func:`.sharing.reads_of`)."""
    watched: tuple | None = None
    """``(user function, parameters, wrt)`` when the code calls the user's code as it is
    (:attr:`ModuleBuilder.runs_user_code`): calls are checked by
    :func:`.sharing.watching_memory`."""


_RESERVED = {"np", *dir(builtins), *HELPERS, *RUNTIME}
_COMMENT = re.compile(r"__autodiffx_comment_(\d+)__")
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
        self.result_kinds: dict[tuple, object] = {}
        self.real_names: set[str] = set()
        """Names the kind analysis calls real, in every function of the module."""
        self.assumed = False
        self.any_complex = False
        """Whether the kind analysis assumed a value real (a call without a rule): then the
        values the adjoint sweep reads are checked at call time (:func:`check_real`)."""
        self.bound: list[tuple] = []
        """``(bindings, global name, namespace name)`` for each global the code reads."""
        self.argument_shapes: tuple | None = None
        """The shapes of the called function's arguments when its code is made for them
        (``None`` in an entry: not known), or ``None``: code for any shapes."""
        self.written: tuple | None = None
        """``(name, parameters, parameters written into, defaults, harmless)`` of the called
        function, when it writes into the memory of some of them (the code works on
        copies); ``harmless`` gives for each the other parameters that may share its memory
        (see :func:`.aliasing.check`)."""
        self.checked_callees: dict[str, tuple] = {}
        """The vjp of each callee that is the gradient of a function writing into its
        arguments (``grad(f)`` called in the function), with what ``written`` says of that
        function: the call is refused where the gradient refuses it."""
        self.runs_user_code = False
        """Whether the code calls the user's code as it is (:func:`.sharing.runs_user_code`):
        then each call checks that no differentiated argument's memory changed."""
        self.numpy_alias: str | None = None
        """Another name for NumPy, where a user's name ``np`` would shadow it."""
        self.helper_aliases: dict[str, str] = {}
        """Helpers imported under another name, where a user's name would shadow them."""
        self.tangent = False
        """Whether the functions written are the value and tangent of forward mode (see
        :mod:`.tangent`), not vjps."""
        self.given_counts: list[int] = []
        """For each tangent function requested and not yet written, how many positional
        arguments its call gives (its tangent parameters follow those)."""
        self.real_scalar_vjp: tuple | None = None
        """The called function's vjp, where it comes from and which of its names hold large
        arrays, when its value is proved a real scalar (see :meth:`add_gradient`)."""

    def request(self, function, wrt, argument_ranks, caller=None, caller_source=None,
                suffix: str = "_vjp", argument_kinds: tuple | None = None) -> str:
        """The name of the vjp of ``function`` for ``wrt``, ranks and kinds (``None``: all
        arguments real), generating it once."""
        key = (function, tuple(wrt), tuple(argument_ranks), argument_kinds)
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
            definition = self._transform(function, tuple(wrt), tuple(argument_ranks), name,
                                         argument_kinds)
        finally:
            self.active.pop()
        self.functions.append(definition)
        return name

    def _transform(self, function, wrt, argument_ranks, name, argument_kinds=None
                   ) -> ast.FunctionDef:
        source = _spread(parse_function(function), argument_ranks)
        try:
            return self._transform_source(source, wrt, argument_ranks, name, argument_kinds)
        except (UnsupportedSyntaxError, MissingRuleError) as error:
            if not flat.is_gradient_code(source) or "reverse over reverse" in error.message:
                raise
            raise flat.refused_in_gradient_code(source.name, error) from error

    def _transform_source(self, source, wrt, argument_ranks, name, argument_kinds=None
                          ) -> ast.FunctionDef:
        source = walrus.rewrite(loop_else.rewrite(local_functions.inline(source)))
        fence.check(source, wrt)
        namer = ir.Namer(self.module_names)
        normalizer = Normalizer(source, namer)
        statements = optimize.eliminate_common_subexpressions(normalizer.run(),
                                                              normalizer.stored)
        renames = self._bind_globals(normalizer.globals_used, namer, source.bindings)
        params = normalizer.params
        rank_of = ranks.infer(statements, params, argument_ranks, self.call_ranks,
                              normalizer.globals_used)
        # shapes: for the function called, when its code is made for its arguments' shapes
        shape_of = shapes.infer(statements, params, self.argument_shapes) if (
            self.argument_shapes is not None and len(self.active) == 1 and not self.flat
        ) else None
        kind_of = kinds.infer(statements, params, argument_kinds, self.call_kinds,
                              normalizer.globals_used, rank_of)
        self.note_kinds(kind_of)
        result = statements[-1].value
        differentiated = _value_of_pair(result, source) if with_aux(source.function) else None
        wrt_names = [params[i] for i in wrt]
        relevant = activity.analyse(statements, wrt_names, ir.names_in(
            result if differentiated is None else differentiated))
        activity.check(statements, relevant, source)
        kinds.check_rules(statements, kind_of, relevant, source)
        kinds.check_assumptions(statements, kind_of, source)
        activity.check_lists(statements, relevant, normalizer.lists, source)
        activity.check_dicts(statements, relevant, normalizer.dicts, source)
        if not flat.is_gradient_code(source):
            # gradient code copies every value it reads after a store, by construction
            reached = aliasing.check(statements, params, rank_of, source, normalizer.lists,
                                     aliasing.numbers(statements, params, wrt_names, rank_of),
                                     relevant)
            if reached and len(self.active) == 1:
                # flat code too: reverse over reverse refuses what the gradient refuses
                self.written = (source.name, tuple(params), tuple(sorted(reached)),
                                _defaults_by_name(source.function, params), reached)
        elif not self.flat and flat.written_of(source.function) is not None:
            # the flat gradient of a function writing into its arguments, differentiated
            # again (jacrev(grad(f)), or a function calling grad(f)): its arguments are
            # f's, checked as the gradient's are, at each call
            if len(self.active) == 1:
                self.written = flat.written_of(source.function)
            else:
                self.checked_callees[name] = flat.written_of(source.function)
        # (after the checks of writes, whose messages say more of a call writing into v)
        activity.check_kept(statements, wrt_names, normalizer.globals_used, source)
        if self.tangent:
            return self._tangent_definition(source, statements, params, wrt, relevant, namer,
                                            normalizer, shape_of, renames, name, rank_of,
                                            kind_of)
        sweeps = Sweeps(
            source, statements, params, wrt, rank_of, relevant, namer, self.comments,
            normalizer.lines,
            lambda f, positions, rk, statement: self.request(
                f, positions, rk, statement, source,
                argument_kinds=_callee_kinds(f, statement, kind_of, source)),
            normalizer.stored,
            normalizer.lists,
            ranks.shape_classes(statements, params, rank_of),
            (lambda f: self.callee(f, namer, normalizer.globals_used)) if self.flat else None,
            kind_of,
            shape_of,
        )
        if shape_of is not None and all(s is not None for s in self.argument_shapes):
            # every argument a plain array or float: the code may update the arrays it
            # makes in place, unless a global or closure value is a dual number
            sweeps.plain_values = self.plain_namespace
        body = sweeps.build(result, namer.fresh("pullback"), differentiated)
        self.runs_user_code = self.runs_user_code or sharing.runs_user_code(
            statements, {key[0] for key in self.names}, normalizer.globals_used)
        for statement in ir.walk(statements):
            rule = getattr(statement, "rule", None)
            if rule is not None:
                # names a custom rule's adjoint expressions use (autodiffx.primitive)
                self.namespace.update(custom.namespace_of(rule))
        # the helpers the code calls once optimised (a rewrite may have dropped a call)
        self.helpers |= sweeps.helpers_used - set(HELPERS)
        self.helpers |= {n.id for b in body for n in ir.name_nodes(b)
                         if n.id in HELPERS}
        what = "reverse mode"
        if self.flat:
            what = "gradient" if len(self.active) == 1 else "vector-Jacobian product"
        definition = _definition(source, name, body, self.comments, what)
        self._bind_defaults(definition, source)
        if renames:
            _Rename(renames).visit(definition)
        self._unshadow_helpers(definition)
        proved = shapes.real_scalar(statements, params, self.argument_shapes, result,
                                    shape_of) if (
            shape_of is not None and differentiated is None) else None
        if proved is not None:
            self.real_scalar_vjp = (
                definition, f"gradient of {source.name} ({_short(source.filename)}:"
                f"{source.node.lineno}), without its value",
                lambda name: name not in params and large(shape_of.get(name)),
                # what the proof covers computes without raising; the rest may raise
                lambda statement: not optimize.bound_names(statement) <= proved)
        if self.flat:
            definition = flat.flatten(definition, source.name, top=len(self.active) == 1)
        return definition

    def _tangent_definition(self, source, statements, params, wrt, relevant, namer,
                            normalizer, shape_of, renames, name, rank_of, kind_of
                            ) -> ast.FunctionDef:
        """The function computing the value and its tangent (see :mod:`.tangent`): the
        parameters given, their tangents, then the parameters left to their defaults."""
        given = self.given_counts.pop()
        if self.written is not None:
            writes = [s.line for s in ir.walk(statements) if isinstance(s, ir.Store)
                      or getattr(s, "inplace", False)]
            line = writes[0] if writes else source.node.lineno
            raise tangent.Declined("the tangent code is not generated for a write into an "
                                   "array", location=Location(source.filename, line, 0,
                                                              source.lines.get(line, "")))
        # the inlined tangents are the real ones (d|z| is not t * np.sign(z)); reverse
        # mode checks an assumption at call time, the dual numbers at every operation
        if kind_of.assumed:
            lines = [s.line for s in ir.walk(statements) if isinstance(s, ir.Assign)
                     and set(ir.bound(s)) & set(kind_of.assumed)]
            line = min(lines) if lines else source.node.lineno
            raise tangent.Declined(
                "the tangent code is not generated for a call without a rule (whose values "
                "may be complex)", location=Location(source.filename, line, 0,
                                                     source.lines.get(line, "")))
        if not kind_of.all_real:
            raise tangent.Declined("the tangent code is not generated for a function with "
                                   "values that may be complex")
        arguments = source.node.args
        if arguments.kwonlyargs or arguments.kwarg or arguments.vararg:
            raise tangent.Declined("the tangent code is not generated for a function with "
                                   "keyword-only or variable parameters")
        def request(function, positions, argument_ranks, count, statement):
            if (function, tuple(positions), tuple(argument_ranks), None) not in self.names:
                self.given_counts.append(count)  # (taken by its _tangent_definition)
            return self.request(function, positions, argument_ranks, statement, source,
                                suffix="_jvp")

        sweep = tangent.TangentSweep(source, statements, params, wrt, relevant, namer,
                                     self.comments, normalizer.lines,
                                     normalizer.globals_used, shape_of, rank_of, request,
                                     top=len(self.active) == 1)
        body = sweep.build()
        self.helpers |= sweep.helpers
        for key, value in sweep.namespace.items():
            self.namespace[key] = value
            self.module_names.add(key)
        definition = _definition(source, name, body, self.comments, "forward mode")
        self._bind_defaults(definition, source)
        positional = definition.args.args
        defaults = definition.args.defaults
        first_default = len(positional) - len(defaults)
        if given < first_default:
            raise tangent.Declined("the call leaves out a parameter without a default")
        definition.args.args = [*positional[:given],
                                *(ast.arg(arg=t) for t in sweep.parameters()),
                                *positional[given:]]
        definition.args.defaults = defaults[max(given - first_default, 0):]
        if renames:
            _Rename(renames).visit(definition)
        self._unshadow_helpers(definition)
        return definition

    def add_gradient(self, vjp_name: str) -> str | None:
        """Add the gradient of the called function without its value, for ``grad``: the
        forward sweep and then the pullback's body seeded with 1.0, with what only the value
        needed left out. Its name, or ``None`` when the value is not proved a real scalar,
        a value is checked at call time (:func:`check_real` needs the value's sweep), or the
        vjp does not have the usual shape."""
        if self.real_scalar_vjp is None or self.checked_names() is not None:
            return None
        base = vjp_name.removesuffix("_vjp") + "_grad"
        name = ir.Namer(self.module_names | set(self.namespace)).fresh(
            base, adjoint_too=False, limit=80)
        vjp, where, large_array, keep = self.real_scalar_vjp
        definition = optimize.without_value(
            ir.copy_tree(vjp), name, self.comments.marker(where),
            self.comments.marker("the adjoint sweep, from a cotangent of 1.0 for the value"),
            large_array, keep)
        if definition is None:
            return None
        self.module_names.add(name)
        self.generated_names.add(name)
        self.functions.append(definition)
        return name

    def _unshadow_helpers(self, definition: ast.FunctionDef) -> None:
        """A parameter or local named like a helper the pullback calls (``def f(x,
        unindex)``) would shadow it: the pullback calls the helper under another name,
        bound to it in the module (``unindex_helper(dtmp, x, 1)``)."""
        helpers = set(HELPERS) | set(RUNTIME) | {"np"}
        arguments = definition.args
        bound = {a.arg for a in (*arguments.posonlyargs, *arguments.args,
                                 *arguments.kwonlyargs, arguments.vararg, arguments.kwarg)
                 if a is not None}
        bound |= {n.id for n in ir.name_nodes(definition) if not isinstance(n.ctx, ast.Load)}
        clashes = bound & helpers
        if not clashes:
            return
        if "np" in clashes:  # numpy imported as numpy, and a name np of the user's
            if self.numpy_alias is None:
                self.numpy_alias = ir.Namer(self.module_names | set(self.namespace) | bound
                                            ).fresh("numpy_module", adjoint_too=False)
                self.module_names.add(self.numpy_alias)
            for node in ir.nodes(definition):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                        and node.value.id == "np"):
                    node.value = ast.Name(id=self.numpy_alias, ctx=ast.Load())
        aliases: dict[str, str] = {}
        for pullback in [s for s in definition.body if isinstance(s, ast.FunctionDef)]:
            for node in ir.nodes(pullback):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id in clashes):
                    helper = node.func.id
                    if helper not in aliases:
                        aliases[helper] = ir.Namer(
                            self.module_names | set(self.namespace) | bound).fresh(
                            f"{helper}_helper", adjoint_too=False)
                        self.module_names.add(aliases[helper])
                        self.helper_aliases[aliases[helper]] = helper
                    node.func = ast.Name(id=aliases[helper], ctx=ast.Load())

    def plain_namespace(self) -> bool:
        """Whether no value the module's functions read from globals or closures is a dual
        number (forward mode around reverse mode), in lists, tuples and dicts too. The
        guards keep it so: a binding that changes type makes the code again."""
        return not any(_holds_dual(value) for value in self.namespace.values())

    def _bind_globals(self, globals_used: dict, namer: ir.Namer, bindings=None
                      ) -> dict[str, str]:
        """Put a function's globals in the module's namespace, which its callees share:
        a name another module binds to something else (``C`` in two files) gets a fresh
        name in this function's code. Returns those renames. Each is noted in ``bound``
        with the function's :class:`~.source.Bindings`, for the call-time guards."""
        renames = {}
        for name, value in globals_used.items():
            given = name
            if (name in self.namespace and self.namespace[name] is not value) or (
                    name in self.generated_names):
                taken = self.module_names | set(self.namespace) | namer.taken
                renames[name] = ir.Namer(taken).fresh(name, adjoint_too=False)
                namer.reserve(renames[name])
                name = renames[name]
            self.namespace[name] = value
            if bindings is not None:
                self.bound.append((bindings, given, name))
        return renames

    def _bind_defaults(self, definition: ast.FunctionDef, source: FunctionSource) -> None:
        """The generated function's defaults are the function's own ``__defaults__`` and
        ``__kwdefaults__``, given to its parameters as Python does (the last positional
        ones), not what the source says: they may have been assigned since. A default the
        source spells as a literal of the same immutable value reads as that literal; any
        other (``def f(x, i=i)``, a list, a value assigned since) becomes a name bound to
        the value itself (``i=f_i_default``), not its expression evaluated again."""
        function = source.function
        arguments = definition.args
        positional = [*arguments.posonlyargs, *arguments.args]
        written = dict(zip([a.arg for a in positional[len(positional)
                                                      - len(arguments.defaults):]],
                           arguments.defaults, strict=True))
        actual = tuple(getattr(function, "__defaults__", None) or ())[-len(positional):] \
            if positional else ()
        arguments.defaults = [
            self._default(function, parameter.arg, written.get(parameter.arg), value)
            for parameter, value in zip(positional[len(positional) - len(actual):], actual,
                                        strict=True)]
        keywords = getattr(function, "__kwdefaults__", None) or {}
        arguments.kw_defaults = [
            self._default(function, parameter.arg, node, keywords[parameter.arg])
            if parameter.arg in keywords else None
            for parameter, node in zip(arguments.kwonlyargs, arguments.kw_defaults,
                                       strict=True)]

    def _default(self, function, parameter: str, written: ast.expr | None, value):
        """The default of ``parameter``: ``written`` where that literal is ``value``, else a
        name in the module's namespace bound to ``value``."""
        if written is not None and _is_literal_of(written, value):
            return written
        name = ir.Namer(self.module_names | set(self.namespace)).fresh(
            f"{function.__name__}_{parameter}_default", adjoint_too=False)
        self.module_names.add(name)
        self.namespace[name] = value
        return ast.Name(id=name, ctx=ast.Load())

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
            front = self._front_half(function, argument_ranks)
            if front is None:
                return None
            statements, normalizer = front
            rank_of = ranks.infer(statements, normalizer.params, argument_ranks,
                                  self.call_ranks, normalizer.globals_used)
            result = statements[-1].value
            if isinstance(result, ast.Tuple):
                self.result_ranks[key] = tuple(ranks.atom_rank(e, rank_of)
                                               for e in result.elts)
            else:
                self.result_ranks[key] = ranks.atom_rank(result, rank_of)
        return self.result_ranks[key]

    def _front_half(self, function, argument_ranks):
        """A callee's normalised statements and its normaliser, or ``None`` when it cannot
        be normalised (reported with its location when its vjp itself is built)."""
        try:
            source = walrus.rewrite(loop_else.rewrite(
                _spread(parse_function(function), argument_ranks)))
            fence.check(source, ())
            normalizer = Normalizer(source, ir.Namer(self.module_names))
            return normalizer.run(), normalizer
        except AutodiffError:
            return None

    def call_kinds(self, function, argument_kinds: tuple, count: int):
        """The kinds of the ``count`` values ``function`` returns for arguments of these
        kinds, ``None`` when unknown; the callee's front half is normalised once."""
        key = (function, tuple(argument_kinds), count)
        if key not in self.result_kinds:
            self.result_kinds[key] = None  # a recursive call: unknown
            front = self._front_half(function, (-1,) * len(argument_kinds))
            if front is None:
                return None
            statements, normalizer = front
            found = kinds.infer(statements, normalizer.params, argument_kinds,
                                self.call_kinds, normalizer.globals_used, powers=False)
            if found.assumed:
                return None
            result = statements[-1].value
            if count > 1 and isinstance(result, ast.Tuple) and len(result.elts) == count:
                self.result_kinds[key] = [kinds.atom_kind(e, found.kinds)
                                          for e in result.elts]
            elif count == 1:
                self.result_kinds[key] = [kinds.atom_kind(result, found.kinds)]
        return self.result_kinds[key]

    def note_kinds(self, found: kinds.Analysis) -> None:
        self.real_names |= {name for name, kind in found.kinds.items() if kind == kinds.REAL}
        self.assumed = self.assumed or bool(found.assumed)
        self.any_complex = self.any_complex or not found.all_real

    def checked_names(self) -> frozenset | None:
        """What :func:`kinds.check_real` checks after each forward sweep: nothing when no
        kind was assumed, every value when the module computes with real values only."""
        if not self.assumed:
            return None
        return frozenset(self.real_names) if self.any_complex else frozenset(
            {kinds.EVERY_VALUE})

    def module_source(self) -> tuple[str, dict[int, Origin]]:
        """The printed module, and the user's line behind each generated line."""
        body: list[ast.stmt] = [ast.Import(names=[ast.alias(name="numpy", asname="np")])]
        if self.numpy_alias is not None:
            body.append(ast.Import(names=[ast.alias(name="numpy", asname=self.numpy_alias)]))
        for module, names in (("autodiffx.rules.helpers", HELPERS),
                              ("autodiffx.reverse.runtime", RUNTIME)):
            used = [(h, None) for h in sorted(self.helpers & set(names))]
            used += sorted((h, a) for a, h in self.helper_aliases.items() if h in names)
            if used:
                body.append(ast.ImportFrom(
                    module=module, names=[ast.alias(name=h, asname=a) for h, a in used],
                    level=0))
        body += self.functions
        module = ast.Module(body=body, type_ignores=[])
        _bracket_negative_constants(module)
        text = astor.to_source(module)
        printed = ast.parse(text)
        return _with_comments(text, printed, self.comments.texts), _origins(module, printed)


def comment_text(text: str) -> str:
    """``text`` made safe for one comment line: no line breaks (any character
    ``str.splitlines`` splits at) and no other unprintable character, each written as its
    escape (``\\n``, ``\\x00``)."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _with_comments(text: str, printed: ast.Module, texts: list[str]) -> str:
    """``text`` with each comment marker statement replaced by its comment.

    The markers are found in the parsed module (statements ``__autodiffx_comment_N__``),
    never by matching text, and each marker line is replaced by ``# `` and the comment's
    text made one printable line (:func:`comment_text`): a comment cannot end early and
    start code, whatever file name or source line it quotes. The lines keep their numbers.
    """
    lines = text.splitlines(keepends=True)
    for statement in _statements(printed.body):
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Name)):
            continue
        match = _COMMENT.fullmatch(statement.value.id)
        if match is None or int(match.group(1)) >= len(texts):
            continue
        line = lines[statement.lineno - 1]
        if line.strip() != statement.value.id:
            raise AutodiffError(f"a comment marker is not alone on its line: {line!r}",
                                hint="report this as a bug in autodiffx")
        indent = line[:len(line) - len(line.lstrip())]
        lines[statement.lineno - 1] = f"{indent}# {comment_text(texts[int(match.group(1))])}\n"
    return "".join(lines)


_AUX = "__autodiffx_has_aux__"
_aux_versions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def aux_version(f):
    """``f`` for ``has_aux=True``: a function of the same code, globals and closure that
    reverse mode transforms differentiating only ``value`` of the ``(value, aux)`` it
    returns; ``aux`` is computed in the forward sweep as written and handed back
    undifferentiated. Made once per function, so its generated code is cached apart."""
    if not isinstance(f, types.FunctionType):
        return f  # no source to transform: reverse mode refuses it with the reason
    version = _aux_versions.get(f)
    if version is None:
        version = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__,
                                     f.__closure__)
        version.__kwdefaults__ = f.__kwdefaults__
        version.__qualname__ = f.__qualname__
        version.__module__ = f.__module__
        setattr(version, _AUX, True)
        _aux_versions[f] = version
    return version


def with_aux(function) -> bool:
    """Whether ``function`` was made by :func:`aux_version`."""
    return getattr(function, _AUX, False)


def _value_of_pair(result: ast.expr, source: FunctionSource) -> ast.expr:
    """``value`` of the ``(value, aux)`` that a function differentiated with
    ``has_aux=True`` returns."""
    if not (isinstance(result, ast.Tuple) and len(result.elts) == 2):
        raise UnsupportedSyntaxError(
            f"has_aux=True needs {source.name} to return a pair (value, aux) on every path",
            location=source.location(source.node),
            hint="return value, aux; or leave has_aux out",
        )
    return result.elts[0]


def _refuse_nested_gradient(function, caller, caller_source) -> None:
    """Reverse mode over a gradient function: refused rather than differentiating the
    function it wraps (which gives the gradient of ``f`` instead of that of ``grad(f)``)."""
    made = transforms.made_by(function)
    if made is None:
        return
    name = getattr(made.function, "__name__", "f")
    if made.kind == "value_and_grad":
        what = "a value_and_grad function is not supported; call grad(...) instead"
    elif made.has_aux:
        what = "a gradient with has_aux=True is not supported"
    elif made.mode == "forward":
        what = ("a call to it inside a function is supported (reverse over forward), "
                "differentiating it directly is not")
    else:
        what = "reverse-over-reverse is not supported"
    raise UnsupportedSyntaxError(
        f"reverse mode does not differentiate a gradient function made by autodiffx "
        f"(grad({name}, mode={made.mode!r})): {what}",
        location=caller_source.location(caller.node) if caller_source else None,
        hint="take second derivatives with autodiffx.hessian or autodiffx.hvp "
        "(forward over reverse), or differentiate the outer function with "
        'mode="forward"',
    )


def _definition(source: FunctionSource, name: str, body, comments,
                what: str = "reverse mode") -> ast.FunctionDef:
    arguments = ir.copy_tree(source.node.args)
    for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                     arguments.vararg, arguments.kwarg):
        if argument is not None:
            argument.annotation = None
    where = f"{what} of {source.name} ({_short(source.filename)}:{source.node.lineno})"
    return ast.FunctionDef(name=name, args=arguments, body=[comments.marker(where), *body],
                           decorator_list=[], returns=None, type_comment=None, lineno=0)


_IMMUTABLE_LITERALS = (int, float, complex, str, bytes, bool, type(None))


def _is_literal_of(node: ast.expr, value) -> bool:
    """Whether ``node`` is a literal that evaluates to ``value`` itself, as far as code can
    tell: an immutable value of the same type and the same ``repr`` (``-0.0`` is not
    ``0.0``; a list is never taken as its literal, since it may change in place)."""
    try:
        literal = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False

    def immutable(item) -> bool:
        if type(item) is tuple:
            return all(immutable(i) for i in item)
        return type(item) in _IMMUTABLE_LITERALS

    return type(literal) is type(value) and immutable(literal) and repr(literal) == repr(value)


class _Rename(ast.NodeTransformer):
    """Rename global names read by one generated function (see ``_bind_globals``)."""

    def __init__(self, renames: dict[str, str]):
        self.renames = renames

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if isinstance(node.ctx, ast.Load) and node.id in self.renames:
            node.id = self.renames[node.id]
        return node


def _bracket_negative_constants(tree: ast.AST) -> None:
    """Each ``-0.7`` in ``tree`` as a unary minus, in place, so that astor brackets it:
    ``(-0.7) ** 2``. One breadth-first pass that looks at each node's children and queues
    all but constants (a ``NodeTransformer`` visited every node of the module through its
    method lookup)."""
    queue = [tree]
    for node in queue:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, ast.Constant):
                if _negative(value.value):
                    setattr(node, name, _minus(value.value))
            elif isinstance(value, ast.AST):
                queue.append(value)
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, ast.Constant):
                        if _negative(item.value):
                            value[index] = _minus(item.value)
                    elif isinstance(item, ast.AST):
                        queue.append(item)


def _minus(value) -> ast.UnaryOp:
    return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))


def _negative(value) -> bool:
    return type(value) in (int, float) and math.copysign(1, value) < 0


def _callee_kinds(function, statement, kind_of: kinds.Analysis, caller: FunctionSource):
    """The kinds of a callee's arguments (``None``: all real). A gradient called inside the
    function (reverse over reverse) was made into flat gradient code for real values when
    the function was read; complex arguments to it are refused."""
    found = kinds.of_operands(statement.operands, kind_of)
    code = getattr(function, "__code__", None)
    if found is not None and code is not None and code.co_filename.startswith(
            "<autodiffx-gradient-"):
        raise UnsupportedSyntaxError(
            "reverse mode does not differentiate a reverse-mode gradient called on complex "
            "values inside the function (reverse over reverse)",
            location=caller.location(statement.node) if statement.node else None,
            hint='differentiate the outer function with mode="forward" (forward over '
            "reverse), which does")
    return found


def _holds_dual(value, depth: int = 4) -> bool:
    if isinstance(value, Dual):
        return True
    if depth and isinstance(value, (list, tuple)):
        return any(_holds_dual(item, depth - 1) for item in value)
    if depth and isinstance(value, dict):
        return any(_holds_dual(item, depth - 1) for item in value.values())
    return False


def _spread(source: FunctionSource, argument_ranks) -> FunctionSource:
    """``*args`` as one named parameter per positional argument of the call."""
    arguments = source.node.args
    count = len(argument_ranks) - len(arguments.posonlyargs) - len(arguments.args)
    return spread_varargs(source, count) if arguments.vararg is not None else source


def _statements(body: list, found: list | None = None) -> list:
    """Statements in program order, compound statements before their bodies (a list, built
    without a generator per statement and level: this reads every printed statement)."""
    if found is None:
        found = []
    for statement in body:
        found.append(statement)
        for name in ("body", "orelse"):
            block = getattr(statement, name, None)
            if isinstance(block, list):
                _statements(block, found)
    return found


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


@contextlib.contextmanager
def _deep_recursion(limit: int = 60_000):
    """Room for the passes, which recurse once per level of nesting: a 600-term sum or 190
    nested calls go ten frames deep per level (Python frames are on the heap in 3.11)."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


_pauses = 0
_pauses_lock = threading.Lock()
_collector_was_enabled = False


@contextlib.contextmanager
def _collector_paused():
    """The cyclic garbage collector paused while a transformation runs (if it was on).

    A transformation makes a great many objects (syntax trees, statements, sets of names)
    and almost no reference cycles; each of the collector's full passes walks every live
    object, and as the trees grow those passes made transform time grow faster than the
    function: 2,000 statements took 1.7 s with it, 1.0 s without (benchmarks/
    bench_transform.py). Transformations in several threads share one pause.
    """
    global _pauses, _collector_was_enabled
    with _pauses_lock:
        if _pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_enabled:
                gc.enable()


def generate(function, wrt, argument_ranks, argument_kinds=None,
             argument_shapes=None) -> Generated:
    """Transform ``function`` and compile the module holding its vjp, with the guard of
    the bindings the transformation read. With ``argument_shapes`` the code is made for
    arguments of those shapes only (see :mod:`.shapes`)."""
    builder = ModuleBuilder()
    builder.argument_shapes = argument_shapes
    with _collector_paused():
        with _deep_recursion():
            with recording() as found:
                name = builder.request(function, wrt, argument_ranks,
                                       argument_kinds=argument_kinds)
                gradient_name = builder.add_gradient(name)
            text, origins = builder.module_source()
        filename = registered(text, name)
        code = compile(text, filename, "exec")  # the text was printed from our AST
        # what the rest needs of the builder; then the builder goes, and with it the syntax
        # trees of the transformation, while the collector is still paused: alive when it
        # resumes, they were all walked by its first pass (0.15-0.25 s of the 1.0-1.4 s
        # that 1,000 statements took), to no end since they are freed by their counts
        namespace = dict(builder.namespace)
        bound = builder.bound
        written = builder.written
        checked_callees = tuple(builder.checked_callees.items())
        runs_user_code = builder.runs_user_code
        real_names = builder.checked_names()
        del builder
    namespace["__name__"] = "autodiffx_generated"
    exec(code, namespace)
    keys = guard_keys(bound)
    reads = sharing.reads_of(text, namespace) if (
        written is not None or checked_callees) else ()
    watched = (function, _parameters(function), tuple(wrt)) if runs_user_code else None
    module = _Module(code, namespace, name, gradient_name, written, checked_callees, reads,
                     watched)
    _check_callees(module)
    function, gradient = _entry_points(module, filename, origins)
    return Generated(function, Code(text), filename, origins, guards.guard_of(found, keys),
                     module, real_names, gradient)


def registered(text: str, name: str) -> str:
    """A new file name for generated ``text`` whose main function is ``name``, with the
    text in ``linecache`` (tracebacks, ``inspect`` and ``pdb`` read it there)."""
    filename = f"<autodiffx-generated-{next(_counter)} {name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    return filename


def guard_keys(bound) -> dict[tuple[int, str], set[str]]:
    """:func:`.guards.guard_of`'s ``keys`` from a builder's ``bound``: each global's names
    in the generated namespace, by the bindings it was read from."""
    keys: dict[tuple[int, str], set[str]] = {}
    for bindings, global_name, key in bound:
        keys.setdefault((id(bindings), global_name), set()).add(key)
    return keys


def _rebound(generated: Generated, values: dict, guard) -> Generated:
    """``generated`` with some globals bound to new values (see :mod:`.guards`): its code
    executed again in a copy of its namespace, which calls in flight keep using."""
    namespace = dict(generated.module.namespace)
    namespace.update(values)
    exec(generated.module.code, namespace)
    module = dataclasses.replace(generated.module, namespace=namespace)
    _check_callees(module)
    function, gradient = _entry_points(module, generated.filename, generated.origins)
    return dataclasses.replace(generated, function=function, guard=guard, module=module,
                               gradient=gradient)


def _entry_points(module: _Module, filename: str, origins: dict[int, Origin]):
    """The vjp and the gradient without the value (or ``None``) of a compiled module, as
    the API calls them: NumPy errors reported at the user's line, and arguments that
    share memory with one the function writes into refused."""
    function = _checked(module.namespace[module.name], filename, origins)
    gradient = _checked_gradient(module.namespace, module.gradient_name, filename, origins)
    if module.written is not None:
        function = sharing.refusing_shared(function, *module.written, module.namespace,
                                           module.reads)
        gradient = gradient and sharing.refusing_shared(gradient, *module.written,
                                                        module.namespace, module.reads)
    if module.watched is not None:
        function = sharing.watching_memory(function, *module.watched)
        gradient = gradient and sharing.watching_memory(gradient, *module.watched)
    return function, gradient


def _parameters(function) -> tuple:
    """The names of ``function``'s positional parameters, in order."""
    code = getattr(function, "__code__", None)
    return code.co_varnames[:code.co_argcount] if code is not None else ()


def _check_callees(module: _Module) -> None:
    """Make the module's calls of the callees in ``checked_callees`` refuse shared
    arguments as the gradients they stand for do: their names, in the namespace the
    module's functions read their globals from, are bound to the checking wrappers."""
    for callee, written in module.checked_callees:
        if callee in module.namespace:  # always, unless no call of it was kept
            module.namespace[callee] = sharing.refusing_shared(
                module.namespace[callee], *written, module.namespace, module.reads)


def _defaults_by_name(function, params) -> dict:
    """The default value of each parameter that has one."""
    positional = tuple(getattr(function, "__defaults__", None) or ())
    names = list(params)[:function.__code__.co_argcount] if hasattr(function, "__code__") \
        else list(params)
    found = dict(zip(names[len(names) - len(positional):], positional, strict=False))
    found.update(getattr(function, "__kwdefaults__", None) or {})
    return found


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


def _checked_gradient(namespace: dict, name: str | None, filename: str,
                      origins: dict[int, Origin]) -> Callable | None:
    """The gradient function ``name`` of a module (see :meth:`ModuleBuilder.add_gradient`)
    with NumPy errors reported at the user's line, as :func:`_checked` does for a vjp."""
    if name is None:
        return None
    gradient = namespace[name]

    def gradient_checked(*args, **kwargs):
        try:
            return gradient(*args, **kwargs)
        except ValueError as error:
            wrapped = _user_error(error, filename, origins)
            if wrapped is None:
                raise
            raise wrapped from error

    gradient_checked.__wrapped__ = gradient
    return gradient_checked


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

CACHE_SIZE = 512
"""The default number of ``(f, wrt, ranks)`` entries kept (least recently used first out);
change it with :func:`set_cache_size`."""
VARIANTS = 4
"""Generated modules kept per entry, one per set of bindings of the globals the code depends
on (``act = np.tanh`` and ``act = np.sin``), so alternating between them does not transform
again each time."""


class _Entry:
    """The generated modules of one ``(f, wrt, ranks)``, most recently used first. ``f``
    is held weakly: when it is collected the entry goes (see :func:`_purge`)."""

    __slots__ = ("ref", "variants")

    def __init__(self, ref, generated: Generated):
        self.ref = ref
        self.variants = [generated]


_cache: OrderedDict[tuple, _Entry] = OrderedDict()
"""``(id(f), wrt, ranks)`` -> entry; the entry's weak reference says whether ``f`` is the
function that had that id."""
_size = CACHE_SIZE
_last_call: dict[int, tuple] = {}
"""``id(f)`` -> ``(weak reference to f, wrt, ranks)`` of the latest build for ``f``."""
_shape_variants: dict[tuple, set] = {}
_shape_owners: dict[tuple, Callable] = {}
"""A weak reference to the function of each key of ``_shape_variants``, whose callback
lets :func:`_purge` drop the key once the function is collected: another function may get
its id (the cache's own entry may have been dropped before, and its reference with it)."""
"""``(id(f), wrt, ranks, kinds)`` -> the sets of argument shapes code was made for."""
SHAPE_VARIANTS = 8
"""How many sets of argument shapes of one ``(f, wrt, ranks)`` get code of their own; the
code for further shapes is the rank-generic code (a function called with a new batch size
each time is transformed a few times, not at every call)."""
_dead: list[tuple] = []
"""Keys whose function was collected; removed under the lock by :func:`_purge` (a weak
reference callback may run in the middle of a cache operation, so it only appends)."""
_lock = threading.RLock()  # reentrant: flat gradient code is built while building


def build(f, wrt, argument_ranks, verbose: bool = False, argument_kinds=None,
          argument_shapes=None) -> Generated:
    """The :class:`Generated` for ``(f, wrt, ranks)`` and the current bindings of the
    globals and closure cells its code depends on: cached, checked on each call by its
    guard, rebound or generated again when they changed (see :mod:`.guards`).

    ``argument_shapes`` (a shape or ``None`` per argument) asks for code made for those
    shapes (see :mod:`.shapes`); after :data:`SHAPE_VARIANTS` sets of shapes for one
    ``(f, wrt, ranks)``, further ones get the rank-generic code.
    """
    given = f
    if flat.is_reverse_gradient(f):
        # reverse over reverse: differentiate the flat gradient code of f
        f = flat.gradient_function(f, argument_ranks, argument_kinds)
        argument_shapes = None
    elif nested.is_forward_gradient(f):
        # reverse over forward: differentiate a function calling it, the call a primitive
        f = nested.calling_function(f)
        argument_shapes = None
    if _dead:
        _purge()
    try:
        key = (id(f), wrt, argument_ranks, argument_kinds, argument_shapes)
        entry = _cache[key]
    except (KeyError, TypeError):
        entry = None
    if entry is not None and entry.ref() is f:
        generated = entry.variants[0]
        if generated.guard.holds():
            try:
                _cache.move_to_end(key)
            except KeyError:  # evicted by another thread meanwhile
                pass
            last = _last_call.get(id(given))
            if last is None or last[1] is not wrt or last[2] is not argument_ranks or (
                    last[3] is not argument_kinds) or last[4] is not argument_shapes:
                _note_last(given, wrt, argument_ranks, argument_kinds, argument_shapes)
            return generated
    return _build(f, given, tuple(wrt), tuple(argument_ranks), verbose, argument_kinds,
                  argument_shapes)


def note_call(f, wrt: tuple, argument_ranks: tuple, argument_kinds=None,
              argument_shapes=None) -> None:
    """Record a call of code :func:`build` returned for these arguments before, so that
    ``source(g)`` without examples shows the code of the last call."""
    last = _last_call.get(id(f))
    if last is None or last[1] is not wrt or last[2] is not argument_ranks or (
            last[3] is not argument_kinds) or last[4] is not argument_shapes:
        _note_last(f, wrt, argument_ranks, argument_kinds, argument_shapes)


def _build(f, given, wrt: tuple, argument_ranks: tuple, verbose: bool,
           argument_kinds=None, argument_shapes=None) -> Generated:
    with _lock:
        if argument_shapes is not None:
            family = (id(f), wrt, argument_ranks, argument_kinds)
            seen = _shape_variants.get(family)
            if seen is None:
                seen = _shape_variants[family] = set()
                _shape_owners[family] = _reference(f, ("shapes", family))
            if argument_shapes not in seen and len(seen) >= SHAPE_VARIANTS:
                argument_shapes = None  # called with many shapes: the rank-generic code
            else:
                seen.add(argument_shapes)
        key = (id(f), wrt, argument_ranks, argument_kinds, argument_shapes)
        entry = _cache.get(key)
        if entry is not None and entry.ref() is not f:
            _drop(key)
            entry = None
        generated = _current(entry) if entry is not None else None
        if generated is None:
            generated = generate(f, wrt, argument_ranks, argument_kinds, argument_shapes)
            if verbose:
                print(generated.source)
            if entry is None:
                entry = _Entry(_reference(f, key), generated)
                _cache[key] = entry
            else:
                entry.variants.insert(0, generated)
                for old in entry.variants[VARIANTS:]:
                    _forget_lines(old, entry.variants[:VARIANTS])
                del entry.variants[VARIANTS:]
        _cache.move_to_end(key)
        while len(_cache) > _size:
            _drop(next(iter(_cache)))
        _note_last(given, wrt, argument_ranks, argument_kinds, argument_shapes)
    return generated


def _current(entry: _Entry) -> Generated | None:
    """A variant of ``entry`` valid for the current bindings (moved to the front), one
    rebound to new data values, or ``None`` when the code must be generated again."""
    variants = entry.variants
    for position, generated in enumerate(variants):
        if generated.guard.holds():
            variants.insert(0, variants.pop(position))
            return generated
    for position, generated in enumerate(variants):
        plan = generated.guard.rebinding()
        if plan is not None:
            rebound = _rebound(generated, *plan)
            variants.pop(position)
            variants.insert(0, rebound)
            return rebound
    return None


def _reference(f, key):
    def collected(_, key=key):
        _dead.append(key)

    try:
        return weakref.ref(f, collected)
    except TypeError:  # not weakly referenceable: kept alive while cached
        return lambda: f


def _note_last(given, wrt: tuple, argument_ranks: tuple, argument_kinds=None,
               argument_shapes=None) -> None:
    last = _last_call.get(id(given))
    if last is not None and last[0]() is given:
        _last_call[id(given)] = (last[0], wrt, argument_ranks, argument_kinds, argument_shapes)
        return
    identity = id(given)

    def collected(_):
        _dead.append(("last", identity))

    try:
        reference = weakref.ref(given, collected)
    except TypeError:
        return
    _last_call[id(given)] = (reference, wrt, argument_ranks, argument_kinds, argument_shapes)


def _purge() -> None:
    """Remove the entries (and their linecache lines) of collected functions."""
    with _lock:
        while _dead:
            key = _dead.pop()
            if key[0] == "last":
                last = _last_call.get(key[1])
                if last is not None and last[0]() is None:
                    del _last_call[key[1]]
                continue
            if key[0] == "shapes":
                owner = _shape_owners.get(key[1])
                if owner is not None and owner() is None:
                    del _shape_owners[key[1]]
                    _shape_variants.pop(key[1], None)
                continue
            entry = _cache.get(key)
            if entry is not None and entry.ref() is None:
                _drop(key)
                _shape_variants.pop(key[:4], None)


def _drop(key) -> None:
    entry = _cache.pop(key)
    for generated in entry.variants:
        _forget_lines(generated, ())


def _forget_lines(generated: Generated, kept) -> None:
    """Remove ``generated``'s lines from linecache unless a kept variant shares them."""
    if all(other.filename != generated.filename for other in kept):
        linecache.cache.pop(generated.filename, None)


def set_cache_size(size: int) -> int:
    """Keep at most ``size`` generated entries (the default is :data:`CACHE_SIZE`);
    returns the previous size."""
    global _size
    if type(size) is not int or size < 1:
        raise ValueError(f"the cache size must be a positive int, not {size!r}")
    with _lock:
        previous, _size = _size, size
        while len(_cache) > _size:
            _drop(next(iter(_cache)))
    return previous


def clear_cache() -> None:
    """Drop every generated module and its linecache lines: a rule was registered or
    removed, and generated code inlines the rules it was built from."""
    with _lock:
        guards.retire_all()
        while _cache:
            _drop(next(iter(_cache)))
        _last_call.clear()
        _shape_variants.clear()
        _shape_owners.clear()
        flat.clear_cache()


registry.on_change(clear_cache)


def last_call(f):
    """The ``(f, wrt, ranks, kinds, shapes)`` of the latest build for ``f``, or ``None``."""
    last = _last_call.get(id(f))
    if last is None or last[0]() is not f:
        return None
    return (f, last[1], last[2], last[3], last[4])
