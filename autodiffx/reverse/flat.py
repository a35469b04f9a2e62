"""Reverse over reverse: the generated gradient code, flattened, is transformed again.

A gradient function ``g = autodiffx.grad(f)`` runs generated code with a nested
``pullback`` closure. :func:`gradient_function` prints a flat variant with no closure,
``f_grad(*args)``: the forward sweep, then the adjoint sweep seeded with 1.0, returning
the gradients. Its source is registered with :mod:`linecache`, so reverse mode can read and
transform it like user code: a call ``g(x)`` in a function being differentiated becomes a
call to ``f_grad``, and ``grad(g)``/``jacrev(g)`` differentiate ``f_grad``.

* A function ``f`` calls is called as itself in the forward sweep, and its adjoint is a
  flat vector-Jacobian product that takes the cotangent first, ``layer_vjp(dlayer, W, x)``
  (one cotangent per item when it returns a tuple). Nothing holds a closure, so the second
  transformation sees plain calls to functions with source.
* The tape is read back by index (:class:`_Replay`): ``replay = len(tape)`` and
  ``v = tape[replay]``, which reverse mode differentiates like any list read.
* The adjoint helpers are primitives here, with rules of their own (:func:`helper_rule`;
  never registered in the shared registry). ``unstack`` and ``unconcatenate`` become one
  subscript per piece (:class:`_Pieces`); the adjoint of a list becomes a list grown by
  appends and read by index (:class:`_ListAdjoints`).

What reverse mode refuses in user code it refuses here too, said as a limit of reverse over
reverse (:func:`refused_in_gradient_code`), with the place in the gradient code.
"""

from __future__ import annotations

import ast
import copy
import itertools
import linecache
import re
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

from .. import transforms
from ..arguments import positional_names, resolve_wrt
from ..errors import UnsupportedSyntaxError
from ..rules import helpers, registry
from . import guards, ir, optimize
from .source import note_bindings, recording

_counter = itertools.count(1)
CACHE_SIZE = 64
"""Flat gradient functions kept (least recently used first out)."""


@dataclass(frozen=True)
class _Cached:
    ref: object
    """A weak reference to the gradient function the code is the flat form of."""
    function: object
    found: list
    """The bindings of globals and closure cells its transformation read."""
    guard: object
    filename: str


_cache: OrderedDict[tuple, _Cached] = OrderedDict()
_dead: list[tuple] = []
_lock = threading.Lock()
_written: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Flat gradient function -> what :attr:`.emit.ModuleBuilder.written` says of the function
it is the gradient of (its arguments that function writes into), when it writes into any."""


def written_of(function) -> tuple | None:
    """``(name, parameters, parameters written into, defaults, harmless)`` of the function
    whose flat gradient ``function`` is, when that function writes into some of its
    arguments: the code differentiating the gradient again refuses the same shared
    arguments."""
    try:
        return _written.get(function)
    except TypeError:  # not weakly referenceable: not one of ours
        return None


def _reference(gradient, key):
    def collected(_):
        _dead.append(key)

    try:
        return weakref.ref(gradient, collected)
    except TypeError:  # not weakly referenceable: kept while cached
        return lambda: gradient


def _forget(cached: _Cached) -> None:
    linecache.cache.pop(cached.filename, None)


def clear_cache() -> None:
    """Drop the flat gradient functions (their code inlined rules that may have changed)
    and their linecache lines."""
    with _lock:
        while _cache:
            _forget(_cache.popitem()[1])


def is_gradient_code(source) -> bool:
    """Whether a parsed function is a flat gradient function made here (its helper calls
    are primitives with the rules below; in user code they are not)."""
    return source.filename.startswith("<autodiffx-gradient-")


def is_reverse_gradient(function) -> bool:
    """A gradient function made by ``autodiffx.grad`` in reverse mode (not value_and_grad)."""
    made = transforms.made_by(function)
    return made is not None and made.kind == "grad" and made.mode == "reverse"


def _refuse(name: str, why: str, location=None) -> UnsupportedSyntaxError:
    return UnsupportedSyntaxError(
        f"reverse mode cannot differentiate the gradient of {name} (reverse over reverse): "
        f"{why}",
        location=location,
        hint="take second derivatives with autodiffx.hessian or autodiffx.hvp (forward "
        "over reverse), or differentiate the outer function with mode=\"forward\"",
    )


def gradient_function(gradient, argument_ranks=None, argument_kinds=None):
    """The flat gradient function of ``gradient`` (made by ``grad(f)``, reverse mode).

    >>> import inspect
    >>> import numpy as np
    >>> from autodiffx import grad
    >>> from autodiffx.ner.model import score
    >>> f = gradient_function(grad(score, wrt="b"), (2, 1, 1, 2))
    >>> print(inspect.getsource(f).splitlines()[0])
    def score_grad(W, b, u, X):
    >>> float(f(np.eye(2), np.zeros(2), np.ones(2), np.zeros((2, 1)))[0])
    1.0
    """
    from .emit import ModuleBuilder

    made = transforms.made_by(gradient)
    f = made.function
    name = getattr(f, "__name__", "f").replace("<lambda>", "lambda")
    if made.has_aux:
        raise _refuse(name, "has_aux is not supported")
    params = positional_names(f) or []
    indices, many = resolve_wrt(f, made.wrt, len(params))
    ranks = tuple(argument_ranks) if argument_ranks is not None else (-1,) * len(params)
    key = (id(gradient), ranks, argument_kinds)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached.ref() is gradient and cached.guard.holds():
            _cache.move_to_end(key)
            note_bindings(cached.found)  # an outer build depends on them too
            return cached.function
    with recording() as found:
        builder = ModuleBuilder(flat=True)
        top = builder.request(f, indices, ranks, suffix="_grad",
                              argument_kinds=argument_kinds)
    if not many:
        _return_one(builder.functions[-1])
    text, _ = builder.module_source()
    filename = f"<autodiffx-gradient-{next(_counter)} {top}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = dict(builder.namespace)
    namespace["__name__"] = "autodiffx_generated"
    exec(compile(text, filename, "exec"), namespace)  # printed from our own AST
    function = namespace[top]
    if builder.written is not None:
        _written[function] = builder.written
    keys: dict[tuple[int, str], set[str]] = {}
    for bindings, global_name, name in builder.bound:
        keys.setdefault((id(bindings), global_name), set()).add(name)
    with _lock:
        if _cache.get(key) is not None:
            _forget(_cache.pop(key))
        reference = _reference(gradient, key)
        _cache[key] = _Cached(reference, function, found, guards.guard_of(found, keys),
                              filename)
        while len(_cache) > CACHE_SIZE:
            _forget(_cache.popitem(last=False)[1])
        while _dead:
            dead = _dead.pop()
            if dead in _cache and _cache[dead].ref() is None:
                _forget(_cache.pop(dead))
    return function


def _return_one(function: ast.FunctionDef) -> None:
    """``return dx`` rather than ``return dx,`` for a gradient with one ``wrt``."""
    last = function.body[-1]
    if isinstance(last.value, ast.Tuple) and len(last.value.elts) == 1:
        last.value = last.value.elts[0]


def flatten(vjp: ast.FunctionDef, name: str, top: bool) -> ast.FunctionDef:
    """One function from a vjp and its pullback: the forward sweep, then the adjoint sweep.

    The function being differentiated (``top``) keeps its parameters and seeds the adjoint
    sweep with 1.0. A function it calls takes the seed as its first parameter, the
    cotangent of its result: ``g_vjp(dout, a, b)`` returns ``(da, db)``.
    """
    body = list(vjp.body)
    pullbacks = [s for s in body if isinstance(s, ast.FunctionDef)]
    if len(pullbacks) != 1 or not isinstance(body[-1], ast.Return):
        raise _refuse(name, "its gradient code does not have the usual shape")
    pullback = pullbacks[0]
    forward = [s for s in body[:-1] if s is not pullback]
    replay = _Replay()
    adjoint = replay.visit(ast.Module(body=pullback.body, type_ignores=[])).body
    adjoint = _Pieces().visit(ast.Module(body=adjoint, type_ignores=[])).body
    taken = {n.id for s in forward + adjoint for n in ast.walk(s) if isinstance(n, ast.Name)}
    adjoint = _ListAdjoints(taken).visit(ast.Module(body=adjoint, type_ignores=[])).body
    for node in ast.walk(ast.Module(body=forward + adjoint, type_ignores=[])):
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            raise _refuse(name, "its gradient code defines functions")
    if not isinstance(adjoint[-1], ast.Return):
        raise _refuse(name, "its gradient code does not end in a return")
    seed = pullback.args.args[0]
    arguments = vjp.args
    if top:
        forward.append(ast.Assign(targets=[ast.Name(id=seed.arg, ctx=ast.Store())],
                                  value=ast.Constant(1.0)))
    else:
        seeds = _seeds(body[-1].value.elts[0], seed.arg, forward, adjoint)
        arguments = ast.arguments(
            posonlyargs=[], args=[*seeds, *arguments.posonlyargs, *arguments.args],
            vararg=arguments.vararg, kwonlyargs=arguments.kwonlyargs,
            kw_defaults=arguments.kw_defaults, kwarg=arguments.kwarg,
            defaults=arguments.defaults)
    heading = forward.pop(0) if forward and optimize.is_comment(forward[0]) else None
    body = [*forward, *adjoint]
    optimize.eliminate_dead_code(body, set())  # the value itself is not returned
    if heading is not None:
        body.insert(0, heading)
    return ast.FunctionDef(name=vjp.name, args=arguments, body=body, decorator_list=[],
                           returns=None, type_comment=None, lineno=vjp.lineno)


def _seeds(result: ast.expr, seed: str, forward: list, adjoint: list) -> list[ast.arg]:
    """The seed parameters of a callee's flat vjp: one per item of a tuple it returns
    (``da, db = dout`` in the pullback becomes the parameters ``da, db``)."""
    if not isinstance(result, ast.Tuple):
        return [ast.arg(arg=seed)]
    for position, statement in enumerate(adjoint):
        if (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Name)
                and statement.value.id == seed and isinstance(statement.targets[0], ast.Tuple)):
            del adjoint[position]
            names = [t.id for t in statement.targets[0].elts]
            break
    else:
        names = ["_"] * len(result.elts)
    namer = ir.Namer({n.id for s in forward + adjoint for n in ast.walk(s)
                      if isinstance(n, ast.Name)})
    return [ast.arg(arg=name if name != "_" else namer.fresh("unused", adjoint_too=False))
            for name in names]


class _Pieces(ast.NodeTransformer):
    """The adjoints of ``np.stack`` and ``np.concatenate`` as one subscript per piece:
    ``da, db = unstack(g, 1)`` becomes ``da = g[:, 0]``, ``db = g[:, 1]``, and
    ``da, db = unconcatenate(g, [a, b], 0)`` becomes slices of ``g`` whose bounds come
    from the shapes of ``a`` and ``b``. Subscripts have a rule; the list helpers do not."""

    def visit_Assign(self, node):
        call = node.value
        target = node.targets[0]
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and isinstance(target, ast.Tuple) and len(node.targets) == 1):
            return node
        if call.func.id == "unstack" and len(call.args) == 2:
            axis = call.args[1]
            if not (isinstance(axis, ast.Constant) and type(axis.value) is int):
                return node
            return [_pure(item, _along(call.args[0], axis.value, ast.Constant(position)))
                    for position, item in enumerate(target.elts)]
        if call.func.id == "unconcatenate" and len(call.args) == 3:
            g, arrays, axis = call.args
            if not (isinstance(axis, ast.Constant) and type(axis.value) is int
                    and isinstance(arrays, ast.List)
                    and len(arrays.elts) == len(target.elts)):
                return node
            out = []
            start = None
            for position, (item, array) in enumerate(zip(target.elts, arrays.elts,
                                                         strict=True)):
                size = ast.Subscript(value=_np_call("shape", array), slice=axis,
                                     ctx=ast.Load())
                stop = size if start is None else ast.BinOp(left=start, op=ast.Add(),
                                                            right=size)
                last = position == len(target.elts) - 1
                out.append(_pure(item, _along(g, axis.value, ast.Slice(
                    lower=start, upper=None if last else stop, step=None))))
                start = stop
            return out
        return node


class _ListAdjoints(ast.NodeTransformer):
    """The adjoint of a list as a list grown by appends and read by index, which reverse
    mode differentiates: ``dxs = list(unstack(g, 0))`` and
    ``dxs = [np.zeros_like(item) for item in xs]`` become loops of appends, and
    ``dv = dxs.pop()`` reads ``dxs[dxs_end]`` after ``dxs_end = dxs_end - 1``."""

    def __init__(self, taken: set[str]):
        self.namer = ir.Namer(taken)
        self.ends: dict[str, str] = {}

    def _fresh(self, base: str) -> str:
        return self.namer.fresh(base, adjoint_too=False)

    def visit_Assign(self, node):
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return node
        name = node.targets[0].id
        value = node.value
        if _is_call(value, "list") and len(value.args) == 1:
            value = value.args[0]
        if (_is_call(value, "pop") and isinstance(value.func, ast.Attribute)
                and isinstance(value.func.value, ast.Name)
                and value.func.value.id in self.ends and not value.args):
            items = value.func.value.id
            end = self.ends[items]
            return [_pure(ast.Name(id=end, ctx=ast.Store()), ast.BinOp(
                        left=ast.Name(id=end, ctx=ast.Load()), op=ast.Sub(),
                        right=ast.Constant(1))),
                    ast.Assign(targets=node.targets, value=ast.Subscript(
                        value=ast.Name(id=items, ctx=ast.Load()),
                        slice=ast.Name(id=end, ctx=ast.Load()), ctx=ast.Load()), lineno=0)]
        position = self._fresh("position")
        if (_is_call(value, "unstack") and len(value.args) == 2
                and isinstance(value.args[1], ast.Constant)
                and type(value.args[1].value) is int):
            g, axis = value.args
            count = ast.Subscript(value=_np_call("shape", g), slice=axis, ctx=ast.Load())
            item = _along(g, axis.value, ast.Name(id=position, ctx=ast.Load()))
        elif (isinstance(value, ast.ListComp) and len(value.generators) == 1
              and isinstance(value.generators[0].target, ast.Name)
              and isinstance(value.generators[0].iter, ast.Name)
              and not value.generators[0].ifs):
            loop = value.generators[0]
            source = loop.iter
            count = ast.Call(func=ast.Name(id="len", ctx=ast.Load()), args=[source],
                             keywords=[])
            item = _Substitute(loop.target.id, ast.Subscript(
                value=source, slice=ast.Name(id=position, ctx=ast.Load()),
                ctx=ast.Load())).visit(value.elt)
        else:
            self.namer.taken.discard(position)
            return node
        self.ends[name] = end = self._fresh(f"{name}_end")
        append = ast.Expr(value=ast.Call(func=ast.Attribute(
            value=ast.Name(id=name, ctx=ast.Load()), attr="append", ctx=ast.Load()),
            args=[item], keywords=[]))
        return [
            ast.Assign(targets=node.targets, value=ast.List(elts=[], ctx=ast.Load()),
                       lineno=0),
            ast.For(target=ast.Name(id=position, ctx=ast.Store()), iter=ast.Call(
                func=ast.Name(id="range", ctx=ast.Load()), args=[count], keywords=[]),
                body=[append], orelse=[], lineno=0),
            _pure(ast.Name(id=end, ctx=ast.Store()), ast.Call(
                func=ast.Name(id="len", ctx=ast.Load()),
                args=[ast.Name(id=name, ctx=ast.Load())], keywords=[])),
        ]


class _Substitute(ast.NodeTransformer):
    def __init__(self, name: str, value: ast.expr):
        self.name = name
        self.value = value

    def visit_Name(self, node):
        return copy.deepcopy(self.value) if node.id == self.name else node


def _is_call(node, name: str) -> bool:
    if not isinstance(node, ast.Call):
        return False
    function = node.func
    return (isinstance(function, ast.Name) and function.id == name) or (
        isinstance(function, ast.Attribute) and function.attr == name)


def _along(array: ast.expr, axis: int, index: ast.expr) -> ast.Subscript:
    """``array[index]`` along ``axis``: ``g[:, :, i]``, or from the end ``g[..., i, :]``."""
    every = ast.Slice(lower=None, upper=None, step=None)
    if axis >= 0:
        parts = [every] * axis + [index]
    else:
        parts = [ast.Constant(Ellipsis), index] + [every] * (-axis - 1)
    key = parts[0] if len(parts) == 1 else ast.Tuple(elts=parts, ctx=ast.Load())
    return ast.Subscript(value=array, slice=key, ctx=ast.Load())


def _pure(target: ast.expr, value: ast.expr) -> ast.Assign:
    """An assignment dead-code elimination may drop (a piece nobody reads)."""
    node = ast.Assign(targets=[target], value=value, lineno=0)
    node.pure = True
    return node


def _np_call(name: str, *args) -> ast.Call:
    return ast.Call(func=ast.Attribute(value=ast.Name(id="np", ctx=ast.Load()), attr=name,
                                       ctx=ast.Load()), args=list(args), keywords=[])


class _Replay(ast.NodeTransformer):
    """The tape read back by index: ``replay = reversed(tape)`` becomes
    ``replay = len(tape)`` and ``v = next(replay)`` becomes
    ``replay = replay - 1; v = tape[replay]``, which reverse mode differentiates (reads of
    a list grown by appends)."""

    def __init__(self):
        self.tapes: dict[str, str] = {}

    def visit_Assign(self, node):
        value = node.value
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                and value.func.id == "reversed" and len(value.args) == 1
                and isinstance(value.args[0], ast.Name) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            self.tapes[node.targets[0].id] = value.args[0].id
            return ast.Assign(targets=node.targets, value=ast.Call(
                func=ast.Name(id="len", ctx=ast.Load()), args=value.args, keywords=[]))
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                and value.func.id == "next" and len(value.args) == 1
                and isinstance(value.args[0], ast.Name) and value.args[0].id in self.tapes):
            replay = value.args[0].id
            step = ast.Assign(targets=[ast.Name(id=replay, ctx=ast.Store())],
                              value=ast.BinOp(left=ast.Name(id=replay, ctx=ast.Load()),
                                              op=ast.Sub(), right=ast.Constant(1)))
            read = ast.Assign(targets=node.targets, value=ast.Subscript(
                value=ast.Name(id=self.tapes[replay], ctx=ast.Load()),
                slice=ast.Name(id=replay, ctx=ast.Load()), ctx=ast.Load()))
            return [step, read]
        return self.generic_visit(node)

    def visit_For(self, node):
        """``for k in reversed(range(...))``: iterate ``range(...)[::-1]``, a range again."""
        self.generic_visit(node)
        loop = node.iter
        if (isinstance(loop, ast.Call) and isinstance(loop.func, ast.Name)
                and loop.func.id == "reversed" and len(loop.args) == 1
                and isinstance(loop.args[0], ast.Call)
                and isinstance(loop.args[0].func, ast.Name)
                and loop.args[0].func.id == "range"):
            node.iter = ast.Subscript(value=loop.args[0], slice=ast.Slice(
                lower=None, upper=None, step=ast.Constant(-1)), ctx=ast.Load())
        return node


# --------------------------------------------------------------------------- helper rules


def _rule(name, function, params, adjoints, differentiable=True, keywords=None):
    return registry.Rule(
        name=name, primitives=(function,), params=params, keywords=keywords or {},
        tangents=(None,) * len(params) if differentiable else (),
        adjoints=adjoints if differentiable else (), differentiable=differentiable,
    )


def _numpy_helper(name: str):
    from ..rules import numpy_rules

    return getattr(numpy_rules, name)


def _fft_helper_rules() -> dict[str, registry.Rule]:
    """The FFT's adjoint helpers: ``unfft`` is the adjoint of ``np.fft.fft``, so its own
    adjoint (in g) is ``np.fft.fft`` again, with the same ``n``, ``axis`` and ``norm``."""
    from ..rules import fft_rules

    one = {"n": None, "axis": -1, "norm": None}
    many = {"s": None, "axes": None, "norm": None}
    table = {
        "unfft": (one, True, "np.fft.ifft(g, n, axis, norm) if inverse else "
                  "np.fft.fft(g, n, axis, norm)"),
        "unfftn": (many, True, "np.fft.ifftn(g, s, axes, norm) if inverse else "
                   "np.fft.fftn(g, s, axes, norm)"),
        "unrfft": (one, False, "np.fft.rfft(g, n, axis, norm)"),
        "unirfft": (one, False, "np.fft.irfft(g, n, axis, norm)"),
        "unrfftn": (many, False, "np.fft.rfftn(g, s, axes, norm)"),
        "unirfftn": (many, False, "np.fft.irfftn(g, s, axes, norm)"),
    }
    return {name: _rule(name, getattr(fft_rules, name), ("v", "x"), (adjoint, None),
                        keywords={**keywords, **({"inverse": False} if inverse else {})})
            for name, (keywords, inverse, adjoint) in table.items()}


def _helper_rules() -> dict[str, registry.Rule]:
    from . import runtime

    h = helpers
    originals = {name: getattr(getattr(h, name), "__wrapped__", getattr(h, name))
                 for name in ("unbroadcast", "unreduce", "unindex", "matmul_adjoint",
                              "safe_divide", "strong_zero", "extremum_weights", "dot_adjoint",
                              "inner_adjoint", "einsum_adjoint", "norm_adjoint",
                              "prod_partials", "untake", "untake_along_axis", "undiff")}
    unbroadcast_to = getattr(runtime.unbroadcast_to, "__wrapped__", runtime.unbroadcast_to)
    return {
        "unbroadcast": _rule("unbroadcast", originals["unbroadcast"], ("v", "x"),
                             ("np.broadcast_to(g, np.shape(v))", None)),
        "unbroadcast_to": _rule("unbroadcast_to", unbroadcast_to, ("v", "shape"),
                                ("np.broadcast_to(g, np.shape(v))", None)),
        "unreduce": _rule("unreduce", originals["unreduce"], ("v", "x"),
                          ("np.reshape(np.sum(g, axis=axis, keepdims=keepdims), np.shape(v))",
                           None),
                          keywords={"axis": None, "keepdims": False}),
        "unindex": _rule("unindex", originals["unindex"], ("v", "x", "index"),
                         ("unbroadcast(g[index], v)", None, None)),
        # the scatters of np.take and np.take_along_axis: their adjoints are the gathers
        "untake": _rule("untake", originals["untake"], ("v", "x", "indices"),
                        ("unbroadcast(np.take(g, indices, axis=axis), v)", None, None),
                        keywords={"axis": None}),
        "untake_along_axis": _rule(
            "untake_along_axis", originals["untake_along_axis"], ("v", "x", "indices"),
            ("unbroadcast(np.take_along_axis(g, indices, axis), v)", None, None),
            keywords={"axis": -1}),
        # the adjoints of the FFTs: each is linear in g, and its adjoint is the transform
        **_fft_helper_rules(),
        # np.diff's adjoint for any order n: n first-difference adjoints; its adjoint is
        # np.diff of order n again
        "undiff_times": _rule("undiff_times", _numpy_helper("undiff_times"), ("v",),
                              ("np.diff(g, n=n, axis=axis)",), keywords={"n": 1, "axis": -1}),
        # the transpose of the first-difference operator; its adjoint is np.diff again
        "undiff": _rule("undiff", originals["undiff"], ("v",), ("np.diff(g, axis=axis)",),
                        keywords={"n": 1, "axis": -1}),
        "matmul_adjoint": _rule(
            "matmul_adjoint", originals["matmul_adjoint"], ("v", "x", "y", "side"),
            ("np.matmul(g, y) if side == 0 else np.matmul(x, g)",
             "np.zeros(np.shape(x)) if side == 0 else matmul_adjoint(v, x, g, 0)",
             "matmul_adjoint(v, g, y, 1) if side == 0 else np.zeros(np.shape(y))",
             None)),
        # elementwise with broadcasting, so each cotangent is summed back to its shape
        "safe_divide": _rule("safe_divide", originals["safe_divide"], ("a", "b"),
                             ("unbroadcast(safe_divide(g, b), a)",
                              "unbroadcast(-safe_divide(g * ans, b), b)")),
        "strong_zero": _rule("strong_zero", originals["strong_zero"], ("v", "d"),
                             ("unbroadcast(strong_zero(g, d), v)",
                              "unbroadcast(strong_zero(g, v), d)")),
        "extremum_weights": _rule("extremum_weights", originals["extremum_weights"], (),
                                  (), differentiable=False),
        "dot_adjoint": _product_rule("dot_adjoint", originals["dot_adjoint"], "np.dot"),
        "inner_adjoint": _product_rule("inner_adjoint", originals["inner_adjoint"],
                                       "np.inner"),
        # two operands at most: the rule has a y, not *operands (_bind refuses a third)
        "einsum_adjoint": registry.Rule(
            name="einsum_adjoint", primitives=(originals["einsum_adjoint"],),
            params=("subscripts", "side", "v", "x", "y"), optional=1,
            tangents=(None,) * 5,
            adjoints=(
                None, None,
                "(np.einsum(subscripts, g) if y is None else np.einsum(subscripts, g, y)) "
                "if side == 0 else np.einsum(subscripts, x, g)",
                "einsum_adjoint(subscripts, 0, v, x, g) if side == 1 "
                "else np.zeros(np.shape(x))",
                "einsum_adjoint(subscripts, 1, v, g, y) if side == 0 "
                "else np.zeros(np.shape(y))",
            )),
        # out = U(v) / U(norm) * x, with U(t) = unreduce(t, x, axis, keepdims)
        "norm_adjoint": _rule(
            "norm_adjoint", originals["norm_adjoint"], ("v", "norm", "x"),
            ("np.reshape(np.sum(safe_divide(g * x, unreduce(norm, x, axis, keepdims)), "
             "axis=axis, keepdims=keepdims), np.shape(v))",
             "np.reshape(np.sum(-safe_divide(g * x * unreduce(v, x, axis, keepdims), "
             "unreduce(norm, x, axis, keepdims) ** 2), axis=axis, keepdims=keepdims), "
             "np.shape(norm))",
             "g * safe_divide(unreduce(v, x, axis, keepdims), "
             "unreduce(norm, x, axis, keepdims))"),
            keywords={"ord": None, "axis": None, "keepdims": False}),
        # the Jacobian of the partials is the (symmetric) Hessian of the product
        "prod_partials": _rule("prod_partials", originals["prod_partials"], ("x",),
                               ("prod_partials_adjoint(g, x, axis, keepdims)",),
                               keywords={"axis": None, "keepdims": False}),
    }


def _product_rule(name: str, function, product: str) -> registry.Rule:
    """The adjoint of a bilinear product for one side is linear in the cotangent ``v`` and
    in the other operand; its own adjoints are the product and the other side's adjoint."""
    return _rule(name, function, ("v", "x", "y", "side"), (
        f"{product}(g, y) if side == 0 else {product}(x, g)",
        f"{name}(v, x, g, 0) if side == 1 else np.zeros(np.shape(x))",
        f"{name}(v, g, y, 1) if side == 0 else np.zeros(np.shape(y))",
        None))


_by_id: dict[int, registry.Rule] = {}
_WITHOUT_RULES = {"unstack": "np.stack", "unconcatenate": "np.concatenate"}


def refuse_helper(callee, name: str) -> None:
    """Refuse a call in flat gradient code to an adjoint helper that has no rule here."""
    for helper, user_facing in _WITHOUT_RULES.items():
        function = getattr(helpers, helper)
        if callee in (function, getattr(function, "__wrapped__", None)):
            raise _refuse(_user_name(name), f"the adjoint of {user_facing} ({helper}) has "
                          "no derivative rule of its own")


def refused_in_gradient_code(name: str, error) -> UnsupportedSyntaxError:
    """What transforming flat gradient code refused, said as a reverse-over-reverse limit."""
    return _refuse(_user_name(name), error.message, error.location)


def _user_name(name: str) -> str:
    """``f`` for the flat function ``f_grad`` (or a callee's ``g_vjp_2``)."""
    return re.sub(r"_(grad|vjp)(_\d+)?$", "", name)


def helper_rule(callee) -> registry.Rule | None:
    """The rule of an adjoint helper called by generated code, or None."""
    if not _by_id:
        from . import runtime

        rules = _helper_rules()
        for name, rule in rules.items():
            for function in (getattr(helpers, name, None), getattr(runtime, name, None),
                             rule.primitives[0]):
                if function is not None:
                    _by_id[id(function)] = rule
    return _by_id.get(id(callee))


__all__ = ["clear_cache", "flatten", "gradient_function", "helper_rule",
           "is_reverse_gradient", "refuse_helper", "refused_in_gradient_code"]
