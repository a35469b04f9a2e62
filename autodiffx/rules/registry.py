"""The registry of derivative rules: one ``Rule`` per primitive, read by both modes.

A rule holds, side by side,

* a **tangent rule** per positional argument, a Python callable
  ``tangent(t, ans, *args, **keywords)`` that maps the argument's tangent ``t`` to its
  contribution to the output's tangent. Forward mode calls it. Tangents always carry a
  leading axis of directions (one per column of a chunk), so an axis argument must be
  shifted with ``autodiffx.rules.helpers.shift_axis``;
* an **adjoint rule** per positional argument, a Python *expression* in the names ``g``
  (the output's cotangent), ``ans`` (the output), the argument names and the keyword names.
  Reverse mode inlines the expression into the generated code, renaming ``g`` to ``dh``,
  ``ans`` to ``h`` and so on; it is also compiled once into a function for other uses.

``None`` in either slot means "no derivative flows through this argument".

Most rules are one line thanks to three shorthands:

* ``elementwise`` takes the partial derivatives of an elementwise function, as
  expressions, and builds both rules from them (``elementwise(np.tanh, "1 - ans ** 2")``);
* ``nondifferentiable`` declares functions whose derivative is zero everywhere it
  exists (comparisons, ``np.sign``, ``np.argmax``, shape queries);
* ``defrule`` writes out the general case.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ArgumentError, MissingRuleError
from . import helpers

TangentRule = Callable[..., Any]


@dataclass(frozen=True, eq=False)
class Rule:
    """How to differentiate one primitive, in both modes.

    [`defrule`][autodiffx.rules.registry.defrule],
    [`elementwise`][autodiffx.rules.registry.elementwise] and
    [`nondifferentiable`][autodiffx.rules.registry.nondifferentiable] build and register
    one; reverse mode inlines its ``adjoints``, forward mode calls its ``tangents``.
    """

    name: str
    """A short name used in messages and in generated-code comments."""
    primitives: tuple[Callable, ...]
    """The callables this rule covers, for example ``(np.tanh,)``."""
    params: tuple[str, ...]
    """The names of the positional parameters, as the adjoint expressions use them."""
    keywords: Mapping[str, Any] = field(default_factory=dict)
    """The keyword parameters the rule understands, with their defaults."""
    tangents: tuple[TangentRule | None, ...] = ()
    """Per positional parameter: ``tangent(t, ans, *args, **keywords)``, or ``None``."""
    adjoints: tuple[str | None, ...] = ()
    """Per positional parameter: an expression for its cotangent contribution, or ``None``."""
    elementwise: bool = False
    """Tangents are padded to the output's rank before the tangent rule sees them."""
    sequence: bool = False
    """The first parameter is a list of arrays (``np.concatenate``, ``np.stack``)."""
    optional: int = 0
    """How many trailing positional parameters a call may leave out (they become ``None``)."""
    differentiable: bool = True
    """False for functions whose derivative is zero wherever it exists."""
    outputs: int | str | None = None
    """For a primitive with several results (``w, V = np.linalg.eigh(A)``): how many, or
    ``"sections"`` when the second argument says (``np.split(x, 3)``). Its tangent rules
    then return one tangent per result (``None`` for a result without a derivative), and
    in its adjoint expressions ``g[k]`` and ``ans[k]`` are result k's cotangent and value;
    ``g[k]`` is ``None`` where no cotangent reached result k, and a contribution whose
    ``g[k]`` are all ``None`` is left out."""
    rank: Callable[..., int | None] | None = None
    """Output rank from the input ranks (``None`` when unknown), for reverse mode's printer."""
    doc: str = ""
    """The convention at kinks, when there is one worth saying."""
    real_only: bool = False
    """The tangent rules hold for real values only: forward mode refuses complex ones."""
    linear: tuple[int, ...] = ()
    """The positions of the parameters in which the primitive is linear, the others held
    fixed (both of ``x @ y``; ``x`` of ``np.sum(x, axis)``): its tangent through one is the
    primitive itself applied to the tangent in its place, which forward mode's generated code
    writes (``dW @ X + W @ dX``). The rule tests check it against the tangent rules."""
    tangent_texts: tuple[str | None, ...] = ()
    """Per positional parameter of an elementwise rule, its tangent as an expression in
    ``t``, ``ans`` and the parameters (``t * (1 - ans ** 2)``), which forward mode's
    generated code inlines; the tangent rule computes the same values (the rule tests check
    it), perhaps faster for many directions."""

    def adjoint_function(self, index: int) -> Callable | None:
        """The adjoint expression for parameter ``index`` compiled into a function."""
        return _compiled_adjoint(self, index)


_compile_lock = threading.Lock()
# Keyed by the rule object itself (weakly), so that a rule built later at a recycled id()
# never picks up another rule's compiled adjoints.
_compiled: weakref.WeakKeyDictionary[Rule, dict[int, Callable | None]] = (
    weakref.WeakKeyDictionary()
)

ADJOINT_NAMESPACE: dict[str, Any] = {"np": np, **helpers.HELPERS}
"""The names an adjoint expression may use besides its own parameters."""


def add_helpers(names: dict[str, Any]) -> None:
    """Make ``names`` helpers as those of :mod:`autodiffx.rules.helpers` are, for a group
    of rules whose adjoint expressions call them (the FFT's, SciPy's): the expressions see
    them, and generated code imports them from that module, so that an exported gradient
    copies or imports them like the others."""
    for name, value in names.items():
        setattr(helpers, name, value)
    helpers.HELPERS.update(names)
    ADJOINT_NAMESPACE.update(names)


def _compiled_adjoint(rule: Rule, index: int) -> Callable | None:
    functions = _compiled.get(rule)
    if functions is not None and index in functions:
        return functions[index]
    expression = rule.adjoints[index]
    if expression is None:
        function = None
    else:
        required = len(rule.params) - rule.optional
        signature = ", ".join(
            [
                "g",
                "ans",
                *rule.params[:required],
                *(f"{name}=None" for name in rule.params[required:]),
                *(f"{k}={v!r}" for k, v in rule.keywords.items()),
            ]
        )
        function = eval(f"lambda {signature}: {expression}", dict(ADJOINT_NAMESPACE))
    with _compile_lock:
        _compiled.setdefault(rule, {})[index] = function
    return function


# --------------------------------------------------------------------------- the registry

_rules_by_id: dict[int, Rule] = {}
_rules_by_name: dict[str, list[Rule]] = {}
"""Each name's rules, latest last: a rule named like an earlier one (a user's ``square``
primitive and NumPy's) hides it from :func:`rule_named` until it is unregistered."""
_registered: dict[Rule, None] = {}
"""Every registered rule, in registration order (a dict as an ordered set)."""
_registry_lock = threading.Lock()


_listeners: list[Callable[[], None]] = []


def on_change(callback: Callable[[], None]) -> None:
    """Call ``callback()`` whenever a rule is registered or removed.

    Reverse mode uses it to drop generated code that inlined an older rule.
    """
    _listeners.append(callback)


def _changed() -> None:
    for callback in _listeners:
        callback()


def register(rule: Rule) -> Rule:
    """Add ``rule`` to the registry, replacing any earlier rule for the same primitives."""
    if rule.differentiable:
        _check(rule)
    with _registry_lock:
        for primitive in rule.primitives:
            _rules_by_id[id(primitive)] = rule
        _registered[rule] = None
        named = _rules_by_name.setdefault(rule.name, [])
        if rule in named:
            named.remove(rule)
        named.append(rule)
    _changed()
    return rule


def unregister(rule: Rule) -> None:
    """Remove ``rule`` from the registry (the primitives it covered then have no rule).

    Examples:
        >>> from autodiffx import elementwise
        >>> from autodiffx.rules.registry import lookup, unregister
        >>> def half(x):
        ...     return x / 2
        >>> rule = elementwise(half, "0.5", name="half_example")
        >>> unregister(rule)
        >>> lookup(half) is None
        True
    """
    with _registry_lock:
        for primitive in rule.primitives:
            if _rules_by_id.get(id(primitive)) is rule:
                del _rules_by_id[id(primitive)]
        _registered.pop(rule, None)
        named = _rules_by_name.get(rule.name, [])
        if rule in named:
            named.remove(rule)
        if not named:
            _rules_by_name.pop(rule.name, None)
    _changed()


def _check(rule: Rule) -> None:
    """Refuse a malformed rule now, rather than when a derivative first needs it."""
    expected = len(rule.params)
    if len(rule.tangents) != expected or len(rule.adjoints) != expected:
        raise ArgumentError(
            f"rule {rule.name!r}: give one tangent and one adjoint per parameter "
            f"{rule.params} (None for a parameter with no derivative)"
        )
    for param, tangent, adjoint in zip(rule.params, rule.tangents, rule.adjoints, strict=True):
        if tangent is not None and not callable(tangent):
            raise ArgumentError(
                f"rule {rule.name!r}: the tangent rule for {param!r} is not callable",
                hint="give a function (t, ans, *params, **keywords) -> tangent, or None",
            )
        if adjoint is None:
            continue
        try:
            compile(adjoint, f"<adjoint of {rule.name}>", "eval")
        except (SyntaxError, TypeError) as error:
            raise ArgumentError(
                f"rule {rule.name!r}: the adjoint rule for {param!r} is not a Python "
                f"expression: {adjoint!r} ({error})",
                hint="write it as one expression in g, ans and the parameter names",
            ) from None


def lookup(function: Callable) -> Rule | None:
    """The rule for ``function``, or ``None`` when it has none."""
    return _rules_by_id.get(id(function))


def rule_named(name: str) -> Rule:
    """The rule registered under ``name``."""
    named = _rules_by_name.get(name)
    if not named:
        raise MissingRuleError(f"no derivative rule is named {name!r}")
    return named[-1]


def require(function: Callable) -> Rule:
    """The rule for ``function``; a ``MissingRuleError`` saying how to add one if none."""
    rule = lookup(function)
    if rule is None:
        raise MissingRuleError(
            f"{describe(function)} has no derivative rule",
            hint="register one with autodiffx.defrule(...) (see the 'Extending autodiffx' "
            "tutorial), or rewrite the code with functions that have rules",
        )
    return rule


def all_rules() -> list[Rule]:
    """Every registered rule that is still the rule of one of its primitives (or has
    none), once each, in registration order."""
    with _registry_lock:
        return [rule for rule in _registered
                if not rule.primitives
                or any(_rules_by_id.get(id(p)) is rule for p in rule.primitives)]


DISPLAY_NAMES: dict[int, str] = {}
"""How ``describe`` names a function outside NumPy that has a rule, by ``id``
(``scipy.special.erf``, which is a NumPy ufunc)."""


def describe(function: Callable) -> str:
    if id(function) in DISPLAY_NAMES:
        return DISPLAY_NAMES[id(function)]
    module = getattr(function, "__module__", None) or ""
    name = getattr(function, "__qualname__", None) or getattr(function, "__name__", None)
    if name is None:
        return repr(function)
    if isinstance(function, np.ufunc) or module.startswith("numpy"):
        prefix = "np.linalg." if "linalg" in module else "np.fft." if (
            module.startswith("numpy.fft")) else "np."
        return prefix + name
    return f"{module}.{name}" if module and module != "builtins" else name


_signatures: dict[int, list[inspect.Parameter] | None] = {}


def keyword_names(rule: Rule, function: Callable, count: int) -> list[str]:
    """The names that ``count`` positional arguments after the rule's own parameters stand
    for: by the function's signature when it has a plain one (``np.sum(x, 0, float)``
    passes ``dtype``, which the rule does not understand, not ``keepdims``), else in the
    order of ``rule.keywords``. Both modes bind calls with it; a name the rule does not
    understand must be refused, never dropped."""
    key = id(function)
    if key not in _signatures:
        try:
            _signatures[key] = list(inspect.signature(function).parameters.values())
        except (TypeError, ValueError):
            _signatures[key] = None
    parameters = _signatures[key]
    n = len(rule.params)
    plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if parameters is not None and len(parameters) >= n + count and all(
            p.kind in plain for p in parameters[: n + count]):
        return [p.name for p in parameters[n: n + count]]
    names = list(rule.keywords)[:count]
    return names + ["*"] * (count - len(names))  # "*": more than the rule has names for


# --------------------------------------------------------------------------- shorthands


def _refuse_replacing(primitives: tuple[Callable, ...], override: bool, how: str) -> None:
    """A shorthand given a function that already has a rule replaces it only when asked
    (``override=True``): a silent replacement hides a typo or a rule added twice."""
    if override:
        return
    for primitive in primitives:
        existing = lookup(primitive)
        if existing is not None:
            what = getattr(primitive, "__qualname__", None) or repr(primitive)
            raise ArgumentError(
                f"{how}: {what} already has a derivative rule ({existing.name!r}); "
                "registering another would replace it",
                hint=f"pass override=True to {how}(...) to replace it on purpose",
            )


def defrule(
    primitives: Callable | tuple[Callable, ...],
    params: tuple[str, ...] | str,
    *,
    tangents: tuple[TangentRule | None, ...],
    adjoints: tuple[str | None, ...],
    keywords: Mapping[str, Any] | None = None,
    name: str | None = None,
    override: bool = False,
    **options: Any,
) -> Rule:
    """Register the general case: explicit tangent callables and adjoint expressions.

    Both modes read the one rule: forward mode calls the tangent callables, reverse mode
    inlines the adjoint expressions into the generated code (with ``g``, ``ans`` and the
    parameters renamed to the variables there), so the generated code shows them.

    Args:
        primitives: The function the rule covers, or a tuple of functions that share it (a
            NumPy function and its alias). A plain Python function works too: reverse mode
            then calls it as it is instead of reading its source.
        params: The names of the positional parameters, as the rules use them: a tuple or
            one space-separated string (``"x y"``).
        tangents: One tangent rule per parameter, a callable
            ``tangent(t, ans, *params, **keywords)`` returning that parameter's contribution
            to the output's tangent, or ``None`` when no derivative flows through it. ``t``
            carries a leading axis of directions, shape ``(k, *x.shape)`` (forward mode
            pushes k directions per evaluation); so must the result, and an ``axis``
            argument must be moved past it (``autodiffx.rules.helpers.shift_axis``).
        adjoints: One adjoint rule per parameter, a Python expression (a string) for its
            share of the gradient, in ``g`` (the output's cotangent), ``ans`` (the output),
            the parameter names and the keyword names; ``None`` for no derivative. It must
            have the parameter's shape: write ``unbroadcast(expression, x)`` where ``x`` may
            have been broadcast. ``np`` and the helpers of ``autodiffx.rules.helpers`` are
            in scope.
        keywords: The keyword parameters the rules understand, with their defaults; both
            rules receive them. A call with any other keyword is refused, not ignored.
        name: The rule's name in messages and generated-code comments (default: the first
            primitive's ``__name__``).
        override: Replace an existing rule of one of ``primitives``. Without it a function
            that already has a rule keeps it, and this raises ``ArgumentError``.
        **options: Further fields of [`Rule`][autodiffx.rules.registry.Rule]: ``rank``
            (the output's ``ndim`` from the inputs', so reverse mode keeps folding after
            the call), ``optional``, ``sequence``, ``outputs``, ``elementwise``, ``doc``.

    Returns:
        The registered [`Rule`][autodiffx.rules.registry.Rule].

    Raises:
        ArgumentError: A rule already exists (without ``override``), or the rule is
            malformed: a count of tangents or adjoints other than one per parameter, a
            tangent that is not callable, an adjoint that is not an expression.

    Examples:
        radius(x, y) = √(x² + y²) has ∂/∂x = x / radius and ∂/∂y = y / radius. The
        tangents and adjoints say so, and both modes give (3/5, 4/5) at (3, 4). (The rule
        is named after the function: pick a name no built-in rule has, ``hypot`` is
        ``np.hypot``'s.)

        >>> import numpy as np
        >>> from autodiffx import defrule, grad
        >>> from autodiffx.rules.registry import unregister
        >>> def radius(x, y):
        ...     return np.sqrt(x ** 2 + y ** 2)
        >>> rule = defrule(
        ...     radius, "x y",
        ...     tangents=(lambda t, ans, x, y: t * x / ans, lambda t, ans, x, y: t * y / ans),
        ...     adjoints=("unbroadcast(g * x / ans, x)", "unbroadcast(g * y / ans, y)"))
        >>> [round(d, 12) for d in grad(radius, wrt=(0, 1))(3.0, 4.0)]
        [0.6, 0.8]
        >>> [round(d, 12) for d in grad(radius, wrt=(0, 1), mode="forward")(3.0, 4.0)]
        [0.6, 0.8]
        >>> unregister(rule)
    """
    primitives = primitives if isinstance(primitives, tuple) else (primitives,)
    _refuse_replacing(primitives, override, "defrule")
    params = tuple(params.split()) if isinstance(params, str) else tuple(params)
    rule = Rule(
        name=name or primitives[0].__name__,
        primitives=primitives,
        params=params,
        keywords=dict(keywords or {}),
        tangents=tuple(tangents),
        adjoints=tuple(adjoints),
        **options,
    )
    return register(rule)


_PARAM_NAMES = {1: ("x",), 2: ("x", "y"), 3: ("x", "lo", "hi")}


def elementwise(
    primitive: Callable,
    *partials: str | None,
    params: tuple[str, ...] | None = None,
    singular: bool | str | tuple[bool | str, ...] = False,
    name: str | None = None,
    doc: str = "",
    override: bool = False,
    real_only: bool = False,
) -> Rule:
    """Register an elementwise function from its partial derivatives.

    The tangent rule of each parameter is ``t * partial`` and its adjoint rule
    ``g * partial`` (``unbroadcast(g * partial, x)`` for a function of several arguments,
    which undoes broadcasting once, centrally). This is the one-line form most rules take:
    ``elementwise(np.tanh, "1 - ans ** 2")``.

    Args:
        primitive: The elementwise function (a NumPy ufunc, or a Python function that
            works entry by entry).
        *partials: One partial derivative per parameter, each a Python expression in
            ``ans`` (the output) and the parameter names, or ``None`` for a parameter with
            no derivative. ``np`` and the helpers of ``autodiffx.rules.helpers`` are in
            scope.
        params: The parameter names the partials use. Default: ``x`` for one parameter,
            ``x, y`` for two, ``x, lo, hi`` for three.
        singular: ``True`` marks a partial that can be infinite (``sqrt`` at 0): then a
            zero tangent or cotangent stays exactly zero instead of becoming NaN
            (``autodiffx.rules.helpers.strong_zero``), so an unused branch of ``np.where``
            cannot poison the result. A string is the condition under which it can be
            infinite (for ``x ** y``, ``"np.any(y < 1)"``), so that ``x ** 2`` keeps a
            plain product. A tuple gives one such flag per partial.
        name: The rule's name in messages and generated-code comments (default: the
            function's ``__name__``).
        doc: The convention at a kink, when there is one worth saying (shown on the
            supported-functions page).
        override: Replace an existing rule. Without it a function that already has a rule
            keeps it, and this raises ``ArgumentError``.
        real_only: The partials hold for real values only (``np.maximum``): forward mode
            refuses complex ones.

    Returns:
        The registered [`Rule`][autodiffx.rules.registry.Rule].

    Raises:
        ArgumentError: The function already has a rule (without ``override``), or a
            partial is not a Python expression.

    Examples:
        softsign(x) = x / (1 + |x|) has the derivative 1 / (1 + |x|)²; the generated code
        inlines it:

        >>> import numpy as np
        >>> from autodiffx import elementwise, grad, source
        >>> from autodiffx.rules.registry import unregister
        >>> def softsign(x):
        ...     return x / (1 + np.abs(x))
        >>> rule = elementwise(softsign, "1 / (1 + np.abs(x)) ** 2")
        >>> def total(x):
        ...     return np.sum(softsign(x))
        >>> x = np.array([-1.0, 0.0, 3.0])
        >>> grad(total)(x), grad(total, mode="forward")(x)
        (array([0.25  , 1.    , 0.0625]), array([0.25  , 1.    , 0.0625]))
        >>> "dx = dsoftsign_x * (1 / (1 + np.abs(x)) ** 2)" in source(grad(total), x)
        True
        >>> unregister(rule)
    """
    _refuse_replacing((primitive,), override, "elementwise")
    params = params or _PARAM_NAMES[len(partials)]
    flags = singular if isinstance(singular, tuple) else (singular,) * len(partials)
    tangents = tuple(
        None if p is None else _tangent_from_partial(p, params, flag)
        for p, flag in zip(partials, flags, strict=True)
    )
    adjoints = tuple(
        None if p is None else _adjoint_from_partial(p, param, len(params), flag)
        for p, param, flag in zip(partials, params, flags, strict=True)
    )
    return register(
        Rule(
            name=name or primitive.__name__,
            primitives=(primitive,),
            params=params,
            tangents=tangents,
            adjoints=adjoints,
            elementwise=True,
            rank=_broadcast_rank,
            doc=doc,
            real_only=real_only,
            tangent_texts=tuple(None if p is None else _product("t", p, flag)
                                for p, flag in zip(partials, flags, strict=True)),
        )
    )


def _product(factor: str, partial: str, singular: bool | str) -> str:
    if partial == "1":
        return factor
    if partial == "-1":
        return f"-{factor}"
    if partial.isidentifier() or partial.replace(".", "").isdigit():
        plain = f"{factor} * {partial}"
    else:
        plain = f"{factor} * ({partial})"
    if singular is True:
        return f"strong_zero({factor}, {partial})"
    if singular:
        return f"(strong_zero({factor}, {partial}) if {singular} else {plain})"
    return plain


def _tangent_from_partial(partial: str, params: tuple[str, ...], singular: bool | str):
    signature = ", ".join(["t", "ans", *params])
    body = _product("t", partial, singular)
    return eval(f"lambda {signature}: {body}", dict(ADJOINT_NAMESPACE))


def _adjoint_from_partial(partial: str, param: str, arity: int, singular: bool | str) -> str:
    product = _product("g", partial, singular)
    return product if arity == 1 else f"unbroadcast({product}, {param})"


def _broadcast_rank(*ranks: int | None, **keywords: Any) -> int | None:
    known = [r for r in ranks if r is not None]
    return max(known) if len(known) == len(ranks) else None


def nondifferentiable(*primitives: Callable, name: str | None = None,
                      override: bool = False, real_only: bool = False) -> Rule:
    """Register functions whose derivative is zero wherever it exists.

    Forward mode returns their plain result (no tangent); reverse mode treats their output
    as a constant. Comparisons, ``np.sign``, ``np.floor``, ``np.argmax`` and shape queries
    are of this kind. A function that already has a rule keeps it unless
    ``override=True``. ``real_only=True`` for those that are constant on real values only
    (``np.sign(z)`` is ``z / |z|`` for a complex z): forward mode refuses complex values.

    Examples:
        A step function: its derivative is zero wherever it exists, and the gradient
        flows only through the other factor.

        >>> import numpy as np
        >>> from autodiffx import grad, nondifferentiable
        >>> from autodiffx.rules.registry import unregister
        >>> def is_positive(x):
        ...     return (x > 0) * 1.0
        >>> rule = nondifferentiable(is_positive)
        >>> def gated(x):
        ...     return np.sum(is_positive(x) * 3 * x)
        >>> grad(gated)(np.array([-1.0, 2.0]))
        array([0., 3.])
        >>> unregister(rule)
    """
    _refuse_replacing(primitives, override, "nondifferentiable")
    rule = Rule(
        name=name or primitives[0].__name__,
        primitives=tuple(primitives),
        params=(),
        differentiable=False,
        real_only=real_only,
    )
    return register(rule)
