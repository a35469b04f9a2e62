"""Reverse mode over forward mode: a call to ``grad(f, mode="forward")`` as a primitive.

When the function being transformed calls ``g = autodiffx.grad(f, wrt=i, mode="forward")``,
the call stays in the forward sweep as written, and ``g`` gets a rule built on demand
(never registered): for a cotangent ``w`` of ``g``'s output, the contribution to argument
``j`` is ``∇_j (w · ∇_i f)``, the j-th block of a Hessian-vector product. It is computed
by nested forward mode without forming the Hessian: the forward-mode gradient of ``f``
with respect to argument ``j``, pushed along ``w`` on argument ``i``
(:func:`forward_gradient_vjp`).

Supported: ``g`` made by ``grad`` with ``mode="forward"``, one argument in ``wrt``
(an index or a name), no ``has_aux``, called with positional arguments. Anything else is
refused when the rule is built (:class:`~autodiffx.errors.UnsupportedSyntaxError`).
"""

from __future__ import annotations

import itertools
import linecache
import threading
import weakref

import numpy as np

from .. import custom, transforms
from ..arguments import as_differentiable, positional_names, resolve_wrt
from ..errors import UnsupportedSyntaxError
from ..forward import driver
from ..rules import registry

_rules: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def is_forward_gradient(function) -> bool:
    """A gradient function made by ``autodiffx.grad(..., mode="forward")``."""
    made = transforms.made_by(function)
    return made is not None and made.kind == "grad" and made.mode == "forward"


def rule_for(gradient) -> registry.Rule:
    """The (cached, unregistered) rule for calls of the forward-mode gradient ``gradient``."""
    with _lock:
        rule = _rules.get(gradient)
    if rule is not None:
        return rule
    made = transforms.made_by(gradient)
    f = made.function
    name = getattr(f, "__name__", "f").replace("<lambda>", "lambda")
    if isinstance(made.wrt, (tuple, list)) or made.has_aux:
        raise UnsupportedSyntaxError(
            f"reverse mode differentiates a call to grad({name}, mode='forward') only when "
            "it differentiates one argument (wrt=an index or a name) without has_aux",
            hint="differentiate the outer function with mode='forward', or split the "
            "gradient into one call per argument",
        )
    params = tuple(positional_names(f) or ())
    (wrt,), _ = resolve_wrt(f, made.wrt, len(params))
    token = _token(f"{name}_grad_{params[wrt]}" if wrt < len(params) else f"{name}_grad",
                   gradient)
    arguments = ", ".join(params) + ("," if len(params) == 1 else "")
    adjoints = tuple(
        f"forward_gradient_vjp({token}, {j}, g, ({arguments}))" for j in range(len(params))
    )
    rule = registry.Rule(
        name=f"grad({name}, mode='forward')",
        primitives=(gradient,),
        params=params,
        tangents=(None,) * len(params),
        adjoints=adjoints,
        rank=lambda *ranks, **keywords: ranks[wrt] if wrt < len(ranks) else None,
    )
    custom.attach_namespace(rule, {token: gradient,
                                   "forward_gradient_vjp": forward_gradient_vjp})
    with _lock:
        _rules[gradient] = rule
    return rule


_callers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_counter = itertools.count(1)


def calling_function(gradient):
    """A plain function whose one statement calls ``gradient`` (made by
    ``grad(f, mode="forward")``), for reverse mode to differentiate with the call as a
    primitive (:func:`rule_for`): reverse over forward taken directly,
    ``grad(grad(f, mode="forward"))``. Made once per gradient; its source is registered with
    :mod:`linecache`, so ``source()`` shows it.

    >>> import autodiffx
    >>> def f(x):
    ...     return x ** 3
    >>> caller = calling_function(autodiffx.grad(f, mode="forward"))
    >>> import inspect; print(inspect.getsource(caller), end="")
    def f_grad_x_forward(x):
        return f_grad_x(x)
    """
    with _lock:
        caller = _callers.get(gradient)
    if caller is not None:
        return caller
    rule = rule_for(gradient)  # refuses what is not supported, saying why
    made = transforms.made_by(gradient)
    token = next(t for t, g in custom.namespace_of(rule).items() if g is gradient)
    parameters = ", ".join(rule.params)
    name = f"{token}_forward"
    text = f"def {name}({parameters}):\n    return {token}({parameters})\n"
    filename = f"<autodiffx-forward-gradient-{next(_counter)} {name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {token: gradient, "__name__": getattr(made.function, "__module__", None)}
    exec(compile(text, filename, "exec"), namespace)  # our own two lines
    caller = namespace[name]
    with _lock:
        _callers[gradient] = caller
    return caller


_tokens: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _token(base: str, gradient) -> str:
    """A module-level name for ``gradient`` in generated code, distinct per gradient."""
    with _lock:
        token, n = base, 2
        while _tokens.get(token, gradient) is not gradient:
            token = f"{base}_{n}"
            n += 1
        _tokens[token] = gradient
    return token


def forward_gradient_vjp(gradient, position: int, w, args):
    """The VJP of ``gradient`` (= ∇_i f, forward mode) with cotangent ``w``, for argument
    ``position``: the forward-mode gradient of ``f`` in that argument, pushed along ``w``
    on argument ``i`` (nested forward mode: no Hessian is formed)."""
    made = transforms.made_by(gradient)
    f = made.function
    args = list(args)
    (wrt,), _ = resolve_wrt(f, made.wrt, len(args))
    args = [as_differentiable(a, i) if i in (wrt, position) else a for i, a in enumerate(args)]
    inner = made.again(position)
    # the Hessian of a real f of (x, y) is symmetric: the VJP is the JVP along w, a complex
    # direction dx + i dy for a complex argument (docs/complex.md), a real one otherwise
    seed = np.asarray(w) if np.iscomplexobj(args[wrt]) else np.asarray(np.real(w), float)
    seed = seed.reshape((1, *np.shape(args[wrt])))
    _, tangent = driver.push(inner, args, {}, [wrt], [seed])
    result = tangent[0]
    return float(result) if np.ndim(args[position]) == 0 and not np.ndim(result) else result
