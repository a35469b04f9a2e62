"""Reverse over reverse: the generated gradient code, flattened, is transformed again.

A gradient function ``g = autodiffx.grad(f)`` runs generated code with a nested
``pullback`` closure. :func:`gradient_function` prints a flat variant with no closure,
``f_grad(*args)``: the forward sweep, then the adjoint sweep seeded with 1.0, returning
the gradients. Its source is registered with :mod:`linecache`, so reverse mode can read and
transform it like user code: a call ``g(x)`` in a function being differentiated becomes a
call to ``f_grad``, and ``grad(g)``/``jacrev(g)`` differentiate ``f_grad``.

The adjoint helpers that generated code calls are primitives here, with rules of their own
(:func:`helper_rule`; never registered in the shared registry): ``unbroadcast``,
``unbroadcast_to``, ``unreduce``, ``unindex``, ``matmul_adjoint``, ``safe_divide``,
``strong_zero`` and ``extremum_weights``.

Supported: gradient code with no calls to other generated functions (no user-function
calls in ``f``) and no tape (loops over constants are unrolled and fine; loops that save
values for the adjoint sweep are refused). Anything else is refused with an
:class:`~autodiffx.errors.UnsupportedSyntaxError` that says so.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import threading

from ..errors import UnsupportedSyntaxError
from ..rules import helpers, registry

_counter = itertools.count(1)
_cache: dict[tuple, object] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Drop the flat gradient functions (their code inlined rules that may have changed)."""
    with _lock:
        _cache.clear()


def is_gradient_code(source) -> bool:
    """Whether a parsed function is a flat gradient function made here (its helper calls
    are primitives with the rules below; in user code they are not)."""
    return source.filename.startswith("<autodiffx-gradient-")


def is_reverse_gradient(function) -> bool:
    """A gradient function made by ``autodiffx.grad`` in reverse mode (not value_and_grad)."""
    return (callable(function) and hasattr(function, "__wrapped__")
            and hasattr(function, "wrt") and hasattr(function, "value_and_grad")
            and getattr(function, "mode", None) == "reverse")


def _refuse(name: str, why: str) -> UnsupportedSyntaxError:
    return UnsupportedSyntaxError(
        f"reverse mode cannot differentiate the gradient of {name} (reverse over reverse): "
        f"{why}",
        hint="take second derivatives with autodiffx.hessian or autodiffx.hvp (forward "
        "over reverse), or differentiate the outer function with mode=\"forward\"",
    )


def gradient_function(gradient, argument_ranks=None):
    """The flat gradient function of ``gradient`` (made by ``grad(f)``, reverse mode)."""
    from ..api import _positional_names, _resolve_wrt
    from .emit import ModuleBuilder

    f = gradient.__wrapped__
    name = getattr(f, "__name__", "f").replace("<lambda>", "lambda")
    if getattr(gradient, "has_aux", False):
        raise _refuse(name, "has_aux is not supported")
    params = _positional_names(f) or []
    indices, many = _resolve_wrt(f, gradient.wrt, len(params))
    ranks = tuple(argument_ranks) if argument_ranks is not None else (-1,) * len(params)
    key = (gradient, ranks)
    with _lock:
        if key in _cache:
            return _cache[key]
    builder = ModuleBuilder(flat=True)
    top = builder.request(f, indices, ranks, suffix="_grad")
    if not many:
        _return_one(builder.functions[-1])
    text, _ = builder.module_source()
    filename = f"<autodiffx-gradient-{next(_counter)} {top}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = dict(builder.namespace)
    namespace["__name__"] = "autodiffx_generated"
    exec(compile(text, filename, "exec"), namespace)  # printed from our own AST
    function = namespace[top]
    with _lock:
        _cache[key] = function
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
        arguments = ast.arguments(
            posonlyargs=[], args=[seed, *arguments.posonlyargs, *arguments.args],
            vararg=arguments.vararg, kwonlyargs=arguments.kwonlyargs,
            kw_defaults=arguments.kw_defaults, kwarg=arguments.kwarg,
            defaults=arguments.defaults)
    return ast.FunctionDef(name=vjp.name, args=arguments, body=[*forward, *adjoint],
                           decorator_list=[], returns=None, type_comment=None,
                           lineno=vjp.lineno)


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


def _helper_rules() -> dict[str, registry.Rule]:
    from . import runtime

    h = helpers
    originals = {name: getattr(getattr(h, name), "__wrapped__", getattr(h, name))
                 for name in ("unbroadcast", "unreduce", "unindex", "matmul_adjoint",
                              "safe_divide", "strong_zero", "extremum_weights")}
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
    }


_by_id: dict[int, registry.Rule] = {}


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
           "is_reverse_gradient"]
