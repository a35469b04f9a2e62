"""User-defined primitives: a function with its own derivative rules, in both modes.

``@primitive(...)`` registers the decorated function in the registry of rules, in the
registry's own format (see ``autodiffx.rules.registry``): one tangent callable and one
adjoint expression per positional parameter. The function is then a primitive:

* forward mode: called with Duals, it goes through ``autodiffx.forward.dual.apply``
  with the rule, never through its body (so a numerically stable body, or one forward
  mode cannot run, is fine);
* reverse mode: the call stays in the forward sweep as it is written, and the adjoint
  expression is inlined into the generated code. ``namespace`` gives the names an adjoint
  expression uses besides ``np``, the helpers and its parameters (a function of the
  user's module, say); the generated module sees them.

Examples:
    >>> import numpy as np
    >>> from autodiffx import grad, primitive
    >>> from autodiffx.custom import unregister
    >>> @primitive("x", adjoints=("g * np.cos(x)",),
    ...            tangents=(lambda t, ans, x: t * np.cos(x),))
    ... def my_sin(x):
    ...     return np.sin(x)
    >>> grad(my_sin, mode="forward")(0.0)
    1.0
    >>> unregister(my_sin)
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .errors import ArgumentError
from .forward.dual import Dual, apply
from .rules import registry

_namespaces: weakref.WeakKeyDictionary[registry.Rule, dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def primitive(
    params: str | tuple[str, ...],
    *,
    adjoints: tuple[str | None, ...],
    tangents: tuple[Callable | None, ...] | None = None,
    keywords: Mapping[str, Any] | None = None,
    namespace: Mapping[str, Any] | None = None,
    name: str | None = None,
    elementwise: bool = False,
    doc: str = "",
) -> Callable[[Callable], Callable]:
    """Decorate a function to make it a primitive with these rules.

    Forward mode then calls it with the rule instead of running its body on Duals (so a
    numerically stable body, or one forward mode cannot run, is fine); reverse mode keeps
    the call in the forward sweep and inlines the adjoint expressions into the generated
    code. ``autodiffx.custom.unregister(function)`` removes the rule again.

    Args:
        params: The positional parameters the rules use, as names (``"x"`` or ``"x y"``).
        adjoints: One adjoint expression per parameter, in ``g`` (the cotangent of the
            output), ``ans`` (the output) and the parameter and keyword names; ``None`` for
            a parameter with no derivative.
        tangents: One callable ``tangent(t, ans, *params, **keywords)`` per parameter,
            where ``t`` carries a leading axis of directions (see
            [`defrule`][autodiffx.rules.registry.defrule]). Left out, forward mode uses the
            adjoint expressions instead, which is right when the function is elementwise in
            one argument (``elementwise=True``): the tangent is then the adjoint with ``g``
            set to ``t``.
        keywords: The keyword parameters the rules understand, with their defaults.
        namespace: Names the adjoint expressions use besides ``np``, the helpers and their
            parameters (a function of the user's module, say); the generated code sees
            them.
        name: The rule's name in messages and generated-code comments (default: the
            function's name).
        elementwise: The function is elementwise (the output broadcasts like the inputs).
        doc: A note on the convention at kinks, if any.

    Returns:
        A decorator; the function it returns has the rule in its ``rule`` attribute.

    Examples:
        >>> from autodiffx import grad, primitive
        >>> from autodiffx.custom import unregister

        A rule's name is its function's name: pick one no built-in rule uses (``square``
        is ``np.square``'s).

        >>> @primitive("x", adjoints=("g * 2 * x",), elementwise=True)
        ... def my_square(x):
        ...     return x * x
        >>> grad(my_square, mode="forward")(3.0)
        6.0
        >>> unregister(my_square)
    """
    names = tuple(params.split()) if isinstance(params, str) else tuple(params)
    adjoints = tuple(adjoints)
    if len(adjoints) != len(names):
        raise ArgumentError(
            f"primitive: give one adjoint expression per parameter {names}",
            hint="None for a parameter with no derivative",
        )
    extra = dict(namespace or {})

    def decorate(function: Callable) -> Callable:
        rule_holder: list[registry.Rule] = []

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for arg in args:
                if isinstance(arg, Dual) or (
                    isinstance(arg, (list, tuple)) and any(isinstance(a, Dual) for a in arg)
                ):
                    return apply(rule_holder[0], function, args, kwargs)
            for value in kwargs.values():
                if isinstance(value, Dual):
                    return apply(rule_holder[0], function, args, kwargs)
            return function(*args, **kwargs)

        tangent_rules = (
            tuple(tangents)
            if tangents is not None
            else tuple(_tangent_from_adjoint(a, names, keywords or {}, extra, elementwise)
                       for a in adjoints)
        )
        rule = registry.Rule(
            name=name or function.__name__,
            primitives=(wrapper, function),
            params=names,
            keywords=dict(keywords or {}),
            tangents=tangent_rules,
            adjoints=adjoints,
            elementwise=elementwise,
            rank=registry._broadcast_rank if elementwise else None,
            doc=doc,
        )
        rule_holder.append(rule)
        attach_namespace(rule, extra)
        registry.register(rule)
        wrapper.rule = rule
        # reverse mode reads the source of plain functions; this one is a primitive
        del wrapper.__wrapped__
        wrapper.__wrapped_primitive__ = function
        return wrapper

    return decorate


def _tangent_from_adjoint(expression, names, keywords, extra, elementwise):
    if expression is None:
        return None
    if not (elementwise and len(names) == 1):
        raise ArgumentError(
            "primitive: give tangents=(...) too; only an elementwise function of one "
            "argument (elementwise=True) can take its tangent from its adjoint",
        )
    signature = ", ".join(["g", "ans", *names, *(f"{k}={v!r}" for k, v in keywords.items())])
    namespace = {**registry.ADJOINT_NAMESPACE, **extra}
    compiled = eval(f"lambda {signature}: {expression}", namespace)  # the rule's own text

    def tangent(t, ans, *args, **kw):
        # elementwise in one argument: the adjoint is g times the partial, so each
        # direction's tangent is the adjoint with g set to that direction
        return np.stack([compiled(t[j], ans, *args, **kw) for j in range(len(t))])

    return tangent


def attach_namespace(rule: registry.Rule, names: Mapping[str, Any]) -> None:
    """Make ``names`` visible to generated code that inlines ``rule``'s adjoints."""
    with _lock:
        _namespaces[rule] = dict(names)


def namespace_of(rule: registry.Rule) -> dict[str, Any]:
    """The extra names ``rule``'s adjoint expressions use (empty for built-in rules)."""
    return _namespaces.get(rule, {})


def reserved_names() -> set[str]:
    """Every name some custom rule's adjoints use: generated code must not shadow them."""
    with _lock:
        return {name for names in list(_namespaces.values()) for name in names}


def stop_gradient(x: Any) -> Any:
    """``x`` itself, with no derivative: "treat this value as a constant".

    The value is unchanged; what is stopped is the derivative, in both modes and at every
    order. Forward mode gives back the plain value of a Dual (its tangent dropped); reverse
    mode treats the result as a constant (the function is registered as non-differentiable),
    so no adjoint flows back through it. Lists, tuples and dicts of values are stopped
    entry by entry.

    The lecture's use: a target or a normaliser computed from the parameters but meant to be
    held fixed.

    Examples:
        Below, ``scale`` is ``np.sum(x)`` as a value, but the gradient is that of
        ``x / c`` with ``c`` frozen at that value, ``1 / c`` in every entry:

        >>> import numpy as np
        >>> from autodiffx import grad, stop_gradient
        >>> def normalised(x):
        ...     scale = stop_gradient(np.sum(x))
        ...     return np.sum(x / scale)
        >>> grad(normalised, mode="forward")(np.array([1.0, 3.0]))
        array([0.25, 0.25])
    """
    while isinstance(x, Dual):
        x = x.primal
    if isinstance(x, (list, tuple)):
        stopped = [stop_gradient(item) for item in x]
        return type(x)(stopped) if type(x) in (list, tuple) else type(x)(*stopped)
    if isinstance(x, dict):
        return {key: stop_gradient(value) for key, value in x.items()}
    return x


stop_gradient.__module__ = "autodiffx"  # its public name, as the functions page shows it
registry.nondifferentiable(stop_gradient, name="stop_gradient")


def unregister(function: Callable) -> None:
    """Remove the rule of a function decorated with [`primitive`][autodiffx.primitive]."""
    rule = getattr(function, "rule", None)
    if rule is None:
        raise ArgumentError(f"{getattr(function, '__name__', function)!r} is not a primitive")
    registry.unregister(rule)
    with _lock:
        _namespaces.pop(rule, None)
