"""Random plain-NumPy programs for the fuzzer, built as ``ast`` trees.

:func:`programs` is a hypothesis strategy. Each program is a module with a few constants, up
to two helper functions and a main function ``f(x, v, m)`` of a scalar ``x``, a vector ``v``
of shape (3,) and a matrix ``m`` of shape (2, 3), returning ``np.sum(...)`` of its final
value. Bodies mix straight-line arithmetic over the registry's primitives, broadcasting
between the four shapes used here (scalar, (2,), (3,), (2, 3)), ``if``/``elif``/``else`` on
data, ``for`` loops over ``range`` and over rows, ``while`` loops with a bounded counter,
reads through subscripts, writes into local arrays, augmented assignment and calls to the
helpers.

Every primitive is used inside its domain: a logarithm only sees ``1 + a ** 2`` or
``2 + np.sin(a)``, a division is by ``2 + np.sin(a)`` or ``1 + a ** 2``, and so on. Each
expression carries a bound on its magnitude (inputs lie in [-2, 2]); an expression that
could grow past ``LIMIT`` is squashed with ``np.tanh``, so values stay small and central
differences stay accurate.

Kinks are found by running a *watched twin* of the program: the same tree with every
comparison and every kinked call (``np.abs``, ``np.maximum``, ``np.clip``, ``max``,
reductions ``np.max``, the norm, ...) routed through a :class:`Monitor`, which records how far
the point is from the kink and which side it is on. See :func:`watched`.

No random names: variables are ``t0, t1, ...`` in order of creation, helpers ``h0, h1``.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib.util
import itertools
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

# The four shapes, by kind letter.
SHAPES = {"S": (), "U": (2,), "V": (3,), "M": (2, 3)}
# Which operand kinds broadcast to which result kind (elementwise binary operations).
BROADCAST = {
    "S": [("S", "S")],
    "U": [("U", "U"), ("U", "S"), ("S", "U")],
    "V": [("V", "V"), ("V", "S"), ("S", "V")],
    "M": [("M", "M"), ("M", "S"), ("S", "M"), ("M", "V"), ("V", "M")],
}
# An expression of kind k may be added into (or stored over) a variable of kind `into`.
FITS = {"S": {"S"}, "U": {"S", "U"}, "V": {"S", "V"}, "M": {"S", "V", "M"}}
LIMIT = 40.0
CONSTANTS = {
    "C2": "np.array([0.3, -1.2])",
    "C3": "np.array([0.5, -1.0, 2.0])",
    "W": "np.array([[0.2, -0.4, 1.1], [0.7, 0.5, -0.3]])",
}
CONSTANT_OF = {"U": "C2", "V": "C3", "M": "W"}
PARAMS = (("x", "S"), ("v", "V"), ("m", "M"))
_PERCENT = range(100)
# All three arguments most often; a subset leaves some arrays plain (inactive) in both modes.
WRT = ((0, 1, 2), (0, 1, 2), (0, 1, 2), (0,), (1,), (2,), (0, 1), (1, 2), (0, 2))


# --------------------------------------------------------------------------- ast shorthands


def name(identifier: str) -> ast.Name:
    return ast.Name(id=identifier, ctx=ast.Load())


def number(value: float) -> ast.expr:
    if value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
    return ast.Constant(value)


def attribute(dotted: str) -> ast.expr:
    parts = dotted.split(".")
    node: ast.expr = name(parts[0])
    for part in parts[1:]:
        node = ast.Attribute(value=node, attr=part, ctx=ast.Load())
    return node


def call(function: str, *args: ast.expr, **keywords: ast.expr) -> ast.Call:
    return ast.Call(
        func=attribute(function),
        args=list(args),
        keywords=[ast.keyword(arg=k, value=v) for k, v in keywords.items()],
    )


def binop(left: ast.expr, op: ast.operator, right: ast.expr) -> ast.BinOp:
    return ast.BinOp(left=left, op=op, right=right)


def apart(left: ast.expr, right: ast.expr) -> ast.expr:
    """``right``, shifted by 0.5 when it is spelled like ``left`` (a certain tie)."""
    if ast.dump(left) == ast.dump(right):
        return binop(right, ast.Add(), ast.Constant(0.5))
    return right


def plus_one_square(a: ast.expr) -> ast.expr:
    """``1.0 + a ** 2``, positive everywhere."""
    return binop(ast.Constant(1.0), ast.Add(), binop(a, ast.Pow(), ast.Constant(2)))


def two_plus_sin(a: ast.expr) -> ast.expr:
    """``2.0 + np.sin(a)``, in [1, 3]."""
    return binop(ast.Constant(2.0), ast.Add(), call("np.sin", a))


def inside_one(a: ast.expr) -> ast.expr:
    """``0.9 * np.tanh(a)``, inside (-1, 1) with a margin."""
    return binop(number(0.9), ast.Mult(), call("np.tanh", a))


def index(value: ast.expr, *items: ast.expr) -> ast.Subscript:
    item = items[0] if len(items) == 1 else ast.Tuple(elts=list(items), ctx=ast.Load())
    return ast.Subscript(value=value, slice=item, ctx=ast.Load())


def store(node: ast.expr) -> ast.expr:
    node = copy.deepcopy(node)
    node.ctx = ast.Store()
    return node


def assign(target: ast.expr, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[store(target)], value=value, lineno=0)


def slice_(lower=None, upper=None, step=None) -> ast.Slice:
    def bound(value):
        return None if value is None else number(value)

    return ast.Slice(lower=bound(lower), upper=bound(upper), step=bound(step))


# --------------------------------------------------------------------------- variables


@dataclass
class Var:
    name: str
    kind: str
    bound: float
    fresh: bool = False
    """The value is an array this function made itself (or a scalar): safe to update in place."""
    buffer: bool = False
    """A local array made by np.zeros_like/np.zeros: subscripts may be written."""
    integer: bool = False
    """A Python int loop index."""
    active: bool = False
    """Certainly carries a derivative (a Dual in forward mode); False when unsure."""


@dataclass
class Helper:
    name: str
    kinds: tuple[str, ...]
    result: str
    bound: float


@dataclass
class Scope:
    variables: dict[str, Var] = field(default_factory=dict)
    helpers: list[Helper] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Var]:
        return [v for v in self.variables.values() if v.kind == kind]

    def copy(self) -> Scope:
        return Scope({k: copy.copy(v) for k, v in self.variables.items()}, list(self.helpers))


@dataclass
class Program:
    """One generated module: its text, and what was used to build it."""

    source: str
    features: frozenset[str]
    forward_may_refuse: bool
    """The program updates in place an array that may hold no derivative (``np.zeros(3)``, a
    constant): forward mode refuses that by design, with a DerivativeConversionError."""
    wrt: tuple[int, ...] = (0, 1, 2)
    """The arguments to differentiate; the others are passed as plain values."""


# --------------------------------------------------------------------------- the builder


class Builder:
    """Draws one program; every choice goes through hypothesis so failures shrink."""

    def __init__(self, draw):
        self.draw = draw
        self.counter = itertools.count()
        self.counters = itertools.count()
        self.features: set[str] = set()
        self.forward_may_refuse = False

    # ---- choices

    # sampled_from draws evenly (st.integers favours small values and bounds) and still
    # shrinks towards the first option, so options are listed simplest first.
    def pick(self, options: list):
        return self.draw(st.sampled_from(options))

    def chance(self, percent: int) -> bool:
        return self.draw(st.sampled_from(_PERCENT)) < percent

    def fresh_name(self) -> str:
        return f"t{next(self.counter)}"

    # ---- expressions

    def expression(self, scope: Scope, kind: str, depth: int) -> tuple[ast.expr, float]:
        if depth <= 0 or self.chance(25):
            return self.leaf(scope, kind)
        makers = [
            self.arithmetic,
            self.unary,
            self.divided,
            self.power,
            self.kinked,
            self.change_kind,
            self.binary_function,
        ]
        if kind == "S":
            makers.append(self.conditional)
        if any(h.result == kind for h in scope.helpers):
            makers.append(self.helper_call)
        node, bound = self.pick(makers)(scope, kind, depth - 1)
        if bound > LIMIT:
            self.features.add("squash")
            return call("np.tanh", node), 1.0
        return node, bound

    def leaf(self, scope: Scope, kind: str) -> tuple[ast.expr, float]:
        variables = scope.of_kind(kind)
        if kind == "S" and (not variables or self.chance(20)):
            value = self.pick([0.5, 1.5, 2.0, -0.7, 3.0])
            return number(value), abs(value)
        if not variables or self.chance(10):
            if kind == "S":
                return number(0.5), 0.5
            return name(CONSTANT_OF[kind]), 2.0
        variable = self.pick(variables)
        return name(variable.name), variable.bound

    def arithmetic(self, scope, kind, depth):
        left_kind, right_kind = self.pick(BROADCAST[kind])
        left, a = self.expression(scope, left_kind, depth)
        right, b = self.expression(scope, right_kind, depth)
        op = self.pick([ast.Add(), ast.Sub(), ast.Mult()])
        if kind == "M" and {left_kind, right_kind} == {"M", "V"}:
            self.features.add("broadcast")
        elif left_kind != right_kind:
            self.features.add("broadcast scalar")
        return binop(left, op, right), (a * b if isinstance(op, ast.Mult) else a + b)

    def divided(self, scope, kind, depth):
        numerator, a = self.expression(scope, kind, depth)
        denominator_kind = self.pick(sorted(FITS[kind]))
        inner, _ = self.expression(scope, denominator_kind, depth)
        denominator = self.pick([two_plus_sin, plus_one_square])(inner)
        self.features.add("divide")
        return binop(numerator, ast.Div(), denominator), a

    def unary(self, scope, kind, depth):
        a, bound = self.expression(scope, kind, depth)
        small = bound <= 3.0
        tame = a if small else call("np.tanh", a)
        tame_bound = min(bound, 3.0) if small else 1.0
        choices = [
            ("np.sin", lambda: (call("np.sin", a), 1.0)),
            ("np.cos", lambda: (call("np.cos", a), 1.0)),
            ("np.tanh", lambda: (call("np.tanh", a), 1.0)),
            ("np.arctan", lambda: (call("np.arctan", a), 1.6)),
            ("np.exp", lambda: (call("np.exp", tame), math.exp(tame_bound))),
            ("np.exp2", lambda: (call("np.exp2", tame), 2.0**tame_bound)),
            ("np.expm1", lambda: (call("np.expm1", tame), math.exp(tame_bound))),
            ("np.log", lambda: (call("np.log", plus_one_square(a)), math.log1p(bound**2))),
            ("np.log2", lambda: (call("np.log2", two_plus_sin(a)), 1.6)),
            ("np.log10", lambda: (call("np.log10", plus_one_square(a)), math.log1p(bound**2))),
            (
                "np.log1p",
                lambda: (
                    call("np.log1p", binop(a, ast.Pow(), ast.Constant(2))),
                    math.log1p(bound**2),
                ),
            ),
            ("np.sqrt", lambda: (call("np.sqrt", plus_one_square(a)), bound + 1.0)),
            ("np.cbrt", lambda: (call("np.cbrt", two_plus_sin(a)), 1.5)),
            ("np.tan", lambda: (call("np.tan", call("np.tanh", a)), 1.6)),
            (
                "np.arcsin",
                lambda: (call("np.arcsin", inside_one(a)), 1.6),
            ),
            (
                "np.arccos",
                lambda: (call("np.arccos", inside_one(a)), 3.2),
            ),
            (
                "np.arctanh",
                lambda: (call("np.arctanh", inside_one(a)), 1.5),
            ),
            ("np.sinh", lambda: (call("np.sinh", tame), math.sinh(tame_bound))),
            ("np.cosh", lambda: (call("np.cosh", tame), math.cosh(tame_bound))),
            ("np.arcsinh", lambda: (call("np.arcsinh", a), bound)),
            (
                "np.arccosh",
                lambda: (
                    call("np.arccosh", binop(ast.Constant(2.0), ast.Add(), call("np.square", a))),
                    math.acosh(2.0 + bound**2),
                ),
            ),
            ("np.deg2rad", lambda: (call("np.deg2rad", a), bound / 57.0)),
            ("np.rad2deg", lambda: (call("np.rad2deg", call("np.tanh", a)), 57.3)),
            ("np.square", lambda: (call("np.square", a), bound**2)),
            ("np.negative", lambda: (call("np.negative", a), bound)),
            ("np.positive", lambda: (call("np.positive", a), bound)),
            ("-", lambda: (ast.UnaryOp(op=ast.USub(), operand=a), bound)),
            (
                "np.reciprocal",
                lambda: (
                    call("np.reciprocal", binop(ast.Constant(2.0), ast.Add(), call("np.cos", a))),
                    1.0,
                ),
            ),
        ]
        label, make = self.pick(choices)
        self.features.add(label)
        return make()

    def power(self, scope, kind, depth):
        a, bound = self.expression(scope, kind, depth)
        form = self.pick(["square", "cube", "sqrt", "real exponent", "constant base"])
        self.features.add("power " + form)
        if form == "square":
            return binop(a, ast.Pow(), ast.Constant(2)), bound**2
        if form == "cube":
            return binop(a, ast.Pow(), ast.Constant(3)), bound**3
        if form == "sqrt":
            return binop(plus_one_square(a), ast.Pow(), ast.Constant(0.5)), bound + 1.0
        if form == "real exponent":
            exponent_kind = self.pick(sorted(FITS[kind]))
            exponent, _ = self.expression(scope, exponent_kind, depth)
            return (
                call("np.power", plus_one_square(a), call("np.tanh", exponent)),
                1.0 + bound**2,
            )
        return binop(ast.Constant(1.5), ast.Pow(), call("np.tanh", a)), 1.5

    def binary_function(self, scope, kind, depth):
        left_kind, right_kind = self.pick(BROADCAST[kind])
        a, p = self.expression(scope, left_kind, depth)
        b, q = self.expression(scope, right_kind, depth)
        form = self.pick(["np.logaddexp", "np.hypot", "np.arctan2"])
        self.features.add(form)
        if form == "np.logaddexp":
            return call(form, a, b), max(p, q) + 0.7
        if form == "np.hypot":
            return call(form, a, plus_one_square(b)), p + 1.0 + q**2
        return call(form, a, two_plus_sin(b)), 1.6

    def kinked(self, scope, kind, depth):
        forms = ["np.abs", "np.fabs", "np.maximum", "np.minimum", "np.clip", "np.where"]
        if kind == "S":
            forms += ["abs", "max", "min"]
        form = self.pick(forms)
        self.features.add(form)
        if form in ("np.abs", "np.fabs", "abs"):
            a, bound = self.expression(scope, kind, depth)
            return call(form, a), bound
        if form == "np.clip":
            a, bound = self.expression(scope, kind, depth)
            return call(form, a, number(-1.0), number(1.0)), 1.0
        if form in ("max", "min"):
            a, p = self.expression(scope, "S", depth)
            b, q = self.expression(scope, "S", depth)
            return call(form, a, apart(a, b)), max(p, q)
        left_kind, right_kind = self.pick(BROADCAST[kind])
        a, p = self.expression(scope, left_kind, depth)
        b, q = self.expression(scope, right_kind, depth)
        if form in ("np.maximum", "np.minimum"):
            return call(form, a, apart(a, b)), max(p, q)
        if self.chance(35):
            return call("np.where", self.mask(scope, kind, depth), a, b), max(p, q)
        condition_kind = self.pick(sorted(FITS[kind]))
        left, _ = self.expression(scope, condition_kind, depth)
        right, _ = self.expression(scope, condition_kind, depth)
        op = self.pick([ast.Gt(), ast.Lt()])
        condition = ast.Compare(left=left, ops=[op], comparators=[apart(left, right)])
        return call("np.where", condition, a, b), max(p, q)

    def mask(self, scope, kind, depth) -> ast.expr:
        """Comparisons combined with ``&``, ``|`` and ``~``, a mask for ``np.where``.

        For an array result the left operand of every comparison is an array, so each
        comparison gives a boolean array: ``~`` on the Python bool a scalar comparison
        gives would be bitwise (``~True == -2``). A scalar mask uses ``&`` and ``|`` only.
        The watched twin records each comparison's kink like any other.
        """
        forms = ["a & b", "a | b"]
        if kind != "S":
            forms += ["~a", "a & ~b", "~(a | b)"]
        form = self.pick(forms)
        self.features.add("mask " + form)
        left_kinds = sorted(FITS[kind] - {"S"}) or ["S"]

        def comparison() -> ast.expr:
            left_kind = self.pick(left_kinds)
            left, _ = self.expression(scope, left_kind, depth)
            if self.chance(70):
                # None of these is an entry of C2, C3 or W (a certain tie).
                right = number(self.pick([0.0, 0.25, -0.5, 1.0, -1.5]))
            else:
                right, _ = self.expression(scope, self.pick(sorted(FITS[left_kind])), depth)
            op = self.pick([ast.Gt(), ast.Lt()])
            return ast.Compare(left=left, ops=[op], comparators=[apart(left, right)])

        if form == "~a":
            return ast.UnaryOp(op=ast.Invert(), operand=comparison())
        first, second = comparison(), comparison()
        if form == "a & ~b":
            return binop(first, ast.BitAnd(), ast.UnaryOp(op=ast.Invert(), operand=second))
        if form == "~(a | b)":
            return ast.UnaryOp(op=ast.Invert(), operand=binop(first, ast.BitOr(), second))
        return binop(first, ast.BitAnd() if form == "a & b" else ast.BitOr(), second)

    def conditional(self, scope, kind, depth):
        condition = self.condition(scope, depth)
        a, p = self.expression(scope, kind, depth)
        b, q = self.expression(scope, kind, depth)
        self.features.add("conditional expression")
        return ast.IfExp(test=condition, body=a, orelse=b), max(p, q)

    def helper_call(self, scope, kind, depth):
        helper = self.pick([h for h in scope.helpers if h.result == kind])
        args = [self.expression(scope, k, depth)[0] for k in helper.kinds]
        self.features.add("helper call")
        return call(helper.name, *args), helper.bound

    def condition(self, scope, depth) -> ast.expr:
        left, _ = self.expression(scope, "S", depth)
        right, _ = self.expression(scope, "S", max(depth - 1, 0))
        op = self.pick([ast.Gt(), ast.Lt(), ast.GtE(), ast.LtE()])
        return ast.Compare(left=left, ops=[op], comparators=[apart(left, right)])

    def change_kind(self, scope, kind, depth):
        return getattr(self, "make_" + kind)(scope, depth)

    def make_S(self, scope, depth):
        form = self.pick(
            ["sum", "mean", "v[i]", "m[i, j]", "u[i]", "prod", "max", "min", "norm", "dot",
             "inner", "matmul", "method sum"]
        )
        self.features.add("to scalar: " + form)
        if form in ("sum", "mean"):
            source_kind = self.pick(["V", "M", "U"])
            a, bound = self.expression(scope, source_kind, depth)
            size = math.prod(SHAPES[source_kind])
            return call("np." + form, a), bound * (size if form == "sum" else 1)
        if form == "method sum":
            a, bound = self.expression(scope, "V", depth)
            return ast.Call(func=ast.Attribute(value=a, attr="sum", ctx=ast.Load()), args=[],
                            keywords=[]), 3 * bound
        if form == "v[i]":
            a, bound = self.expression(scope, "V", depth)
            return index(a, number(self.pick([0, 1, 2, -1]))), bound
        if form == "u[i]":
            a, bound = self.expression(scope, "U", depth)
            return index(a, number(self.pick([0, 1, -2]))), bound
        if form == "m[i, j]":
            a, bound = self.expression(scope, "M", depth)
            return index(a, number(self.pick([0, 1])), number(self.pick([0, 1, 2]))), bound
        if form == "prod":
            a, bound = self.expression(scope, "V", depth)
            return call("np.prod", a), bound**3
        if form in ("max", "min"):
            source_kind = self.pick(["V", "M"])
            a, bound = self.expression(scope, source_kind, depth)
            return call("np." + form, a), bound
        if form == "norm":
            a, bound = self.expression(scope, "V", depth)
            return call("np.linalg.norm", a), 2 * bound
        a, p = self.expression(scope, "V", depth)
        b, q = self.expression(scope, "V", depth)
        if form == "matmul":
            return binop(a, ast.MatMult(), b), 3 * p * q
        return call("np." + form, a, b), 3 * p * q

    def make_U(self, scope, depth):
        form = self.pick(["m @ v", "dot", "sum axis 1", "m[:, j]", "v[1:]", "v[:2]", "stack"])
        self.features.add("to (2,): " + form)
        if form in ("m @ v", "dot"):
            a, p = self.expression(scope, "M", depth)
            b, q = self.expression(scope, "V", depth)
            node = binop(a, ast.MatMult(), b) if form == "m @ v" else call("np.dot", a, b)
            return node, 3 * p * q
        if form == "sum axis 1":
            a, bound = self.expression(scope, "M", depth)
            return call("np.sum", a, axis=ast.Constant(1)), 3 * bound
        if form == "m[:, j]":
            a, bound = self.expression(scope, "M", depth)
            return index(_viewed(scope, a), slice_(), number(self.pick([0, 1, 2]))), bound
        if form in ("v[1:]", "v[:2]"):
            a, bound = self.expression(scope, "V", depth)
            part = slice_(1, None) if form == "v[1:]" else slice_(None, 2)
            return index(_viewed(scope, a), part), bound
        a, p = self.expression(scope, "S", depth)
        b, q = self.expression(scope, "S", depth)
        return call("np.stack", ast.List(elts=[a, b], ctx=ast.Load())), max(p, q)

    def make_V(self, scope, depth):
        form = self.pick(
            ["m[i]", "sum axis 0", "mean axis 0", "max axis 0", "u @ m", "m.T @ u",
             "v[::-1]", "concatenate", "stack"]
        )
        self.features.add("to (3,): " + form)
        if form == "m[i]":
            a, bound = self.expression(scope, "M", depth)
            return index(_viewed(scope, a), number(self.pick([0, 1, -1]))), bound
        if form in ("sum axis 0", "mean axis 0", "max axis 0"):
            a, bound = self.expression(scope, "M", depth)
            function = "np." + form.split()[0]
            return call(function, a, axis=ast.Constant(0)), 2 * bound
        if form in ("u @ m", "m.T @ u"):
            u, p = self.expression(scope, "U", depth)
            m, q = self.expression(scope, "M", depth)
            if form == "u @ m":
                return binop(u, ast.MatMult(), m), 2 * p * q
            transposed = ast.Attribute(value=_viewed(scope, m), attr="T", ctx=ast.Load())
            return binop(transposed, ast.MatMult(), u), 2 * p * q
        if form == "v[::-1]":
            a, bound = self.expression(scope, "V", depth)
            return index(_viewed(scope, a), slice_(None, None, -1)), bound
        if form == "concatenate":
            u, p = self.expression(scope, "U", depth)
            v, q = self.expression(scope, "V", depth)
            tail = index(_viewed(scope, v), slice_(None, 1))
            return call("np.concatenate", ast.List(elts=[u, tail], ctx=ast.Load())), max(p, q)
        parts = [self.expression(scope, "S", depth) for _ in range(3)]
        return (
            call("np.stack", ast.List(elts=[p[0] for p in parts], ctx=ast.Load())),
            max(p[1] for p in parts),
        )

    def make_M(self, scope, depth):
        form = self.pick(["outer", "stack", "column broadcast", "transpose", "reshape"])
        self.features.add("to (2, 3): " + form)
        if form == "outer":
            u, p = self.expression(scope, "U", depth)
            v, q = self.expression(scope, "V", depth)
            return call("np.outer", u, v), p * q
        if form == "stack":
            a, p = self.expression(scope, "V", depth)
            b, q = self.expression(scope, "V", depth)
            return call("np.stack", ast.List(elts=[a, b], ctx=ast.Load())), max(p, q)
        if form == "column broadcast":
            u, p = self.expression(scope, "U", depth)
            v, q = self.expression(scope, "V", depth)
            _viewed(scope, u)
            column = (
                index(u, slice_(), ast.Constant(None))
                if self.chance(50)
                else call("np.expand_dims", u, ast.Constant(1))
            )
            return binop(column, ast.Mult(), v), p * q
        if form == "transpose":
            parts = [self.expression(scope, "U", depth) for _ in range(3)]
            stacked = call("np.stack", ast.List(elts=[p[0] for p in parts], ctx=ast.Load()))
            return call("np.transpose", stacked), max(p[1] for p in parts)
        a, p = self.expression(scope, "V", depth)
        b, q = self.expression(scope, "V", depth)
        joined = call("np.concatenate", ast.List(elts=[a, b], ctx=ast.Load()))
        return call("np.reshape", joined, ast.Tuple(elts=[number(2), number(3)],
                                                    ctx=ast.Load())), max(p, q)

    # ---- statements

    def squashed(self, scope, kind, depth) -> ast.expr:
        """An expression of magnitude at most about 1.6, for updates inside loops."""
        a, _ = self.expression(scope, kind, depth)
        return call(self.pick(["np.tanh", "np.sin", "np.cos", "np.arctan"]), a)

    def block(self, scope: Scope, count: int, depth: int, loop_level: int) -> list[ast.stmt]:
        statements: list[ast.stmt] = []
        for _ in range(count):
            statements += self.statement(scope, depth, loop_level)
        return statements

    def statement(self, scope: Scope, depth: int, loop_level: int) -> list[ast.stmt]:
        makers = [self.assignment, self.assignment, self.augmented, self.local_array,
                  self.mask_where]
        if loop_level < 2:
            makers += [self.branch, self.for_loop, self.while_loop, self.row_loop,
                       self.moving_index]
        return self.pick(makers)(scope, depth, loop_level)

    def assignment(self, scope, depth, loop_level):
        kind = self.pick(["S", "V", "M", "U"])
        value, bound = self.expression(scope, kind, depth)
        existing = [
            v for v in scope.of_kind(kind) if v.name not in dict(PARAMS) and not v.integer
        ]
        if existing and self.chance(40):
            target = self.pick(existing).name
            self.features.add("overwrite")
        else:
            target = self.fresh_name()
        fresh = kind == "S" or _makes_new_array(value)
        if not fresh:
            _may_alias(scope, value)
        scope.variables[target] = Var(target, kind, bound, fresh=fresh,
                                      active=_active(scope, value))
        return [assign(name(target), value)]

    def augmented(self, scope, depth, loop_level):
        targets = [v for v in scope.variables.values() if v.fresh and not v.integer]
        if not targets:
            return self.assignment(scope, depth, loop_level)
        target = self.pick(targets)
        self.note_in_place(target)
        kind = self.pick(sorted(FITS[target.kind]))
        op = self.pick([ast.Add(), ast.Sub(), ast.Mult(), ast.Div()])
        self.features.add("augmented " + type(op).__name__)
        if isinstance(op, (ast.Add, ast.Sub)):
            value, bound = self.expression(scope, kind, depth)
            target.bound += bound
        elif isinstance(op, ast.Mult):
            inner, _ = self.expression(scope, kind, depth)
            value = binop(ast.Constant(1.0), ast.Add(),
                          binop(number(0.5), ast.Mult(), call("np.sin", inner)))
            target.bound *= 1.5
        else:
            inner, _ = self.expression(scope, kind, depth)
            value = two_plus_sin(inner)
        node = ast.AugAssign(target=store(name(target.name)), op=op, value=value)
        if target.bound > LIMIT:
            squash = assign(name(target.name), call("np.tanh", name(target.name)))
            target.bound = 1.0
            return [node, squash]
        return [node]

    def note_in_place(self, target: Var) -> None:
        # A scalar may be a 0-d array too (np.where returns one), updated in place by +=.
        if not target.active:
            self.forward_may_refuse = True

    def local_array(self, scope, depth, loop_level):
        kind = self.pick(["V", "M"])
        target = self.fresh_name()
        like = [v.name for v in scope.of_kind(kind) if v.name in dict(PARAMS).keys() | {"a", "b"}]
        active = False
        if not like or self.chance(15):
            self.forward_may_refuse = True
            self.features.add("np.zeros buffer")
            shape = ast.Tuple(elts=[number(n) for n in SHAPES[kind]], ctx=ast.Load())
            made = call("np.zeros", shape if kind == "M" else number(3))
        else:
            self.features.add("np.zeros_like buffer")
            like_name = self.pick(like)
            made = call("np.zeros_like", name(like_name))
            active = scope.variables[like_name].active
            if not active:
                self.forward_may_refuse = True  # a helper's argument may be a constant
        statements = [assign(name(target), made)]
        bound = 0.0
        for _ in range(self.draw(st.integers(1, 3))):
            if kind == "M" and self.chance(40):
                where = index(name(target), number(self.pick([0, 1])))
                value, b = self.expression(scope, "V", depth)
            elif kind == "M":
                where = index(name(target), number(self.pick([0, 1])), number(self.pick([0, 1, 2])))
                value, b = self.expression(scope, "S", depth)
            else:
                where = index(name(target), number(self.pick([0, 1, 2, -1])))
                value, b = self.expression(scope, "S", depth)
            if self.chance(30):
                self.features.add("augmented store")
                statements.append(ast.AugAssign(target=store(where), op=ast.Add(), value=value))
                bound += b
            else:
                self.features.add("store")
                statements.append(assign(where, value))
                bound = max(bound, b) + bound
        scope.variables[target] = Var(target, kind, bound, fresh=True, buffer=True, active=active)
        return statements

    def branch(self, scope, depth, loop_level):
        self.features.add("if")
        condition = self.condition(scope, depth)
        targets = self.loop_targets(scope, allow_new=True)
        arms = [self.arm(scope, targets, depth, loop_level)]
        conditions = [condition]
        if self.chance(30):
            self.features.add("elif")
            conditions.append(self.condition(scope, depth))
            arms.append(self.arm(scope, targets, depth, loop_level))
        orelse = self.arm(scope, targets, depth, loop_level)
        for condition, body in reversed(list(zip(conditions, arms, strict=True))):
            orelse = [ast.If(test=condition, body=body, orelse=orelse)]
        for target, kind, bound, fresh, active in targets:
            scope.variables[target] = Var(target, kind, bound, fresh=fresh, active=active)
        return orelse

    def loop_targets(self, scope, allow_new) -> list[tuple[str, str, float, bool, bool]]:
        """(name, kind, bound, fresh, active) of the variables an if statement assigns."""
        candidates = [
            v for v in scope.variables.values() if v.name not in dict(PARAMS) and not v.integer
        ]
        targets = []
        for _ in range(self.draw(st.integers(1, 2))):
            if candidates and (not allow_new or self.chance(60)):
                chosen = self.pick(candidates)
                if chosen.name not in [t[0] for t in targets]:
                    targets.append(
                        (chosen.name, chosen.kind, chosen.bound, chosen.fresh, chosen.active)
                    )
            elif allow_new:
                targets.append(
                    (self.fresh_name(), self.pick(["S", "V", "M", "U"]), 0.0, True, True)
                )
        return targets

    def arm(self, scope, targets, depth, loop_level) -> list[ast.stmt]:
        inner = scope.copy()
        body = self.block(inner, self.draw(st.integers(0, 1)), depth, loop_level + 1)
        for position, (target, kind, bound, fresh, active) in enumerate(targets):
            value, b = self.expression(inner, kind, depth)
            active = active and _active(inner, value)
            body.append(assign(name(target), value))
            fresh = fresh and (kind == "S" or _makes_new_array(value))
            if not fresh:
                _may_alias(scope, value)
                _may_alias(inner, value)
            targets[position] = (target, kind, max(bound, b), fresh, active)
        merge(scope, inner)
        return body

    def loop_update(self, inner: Scope, targets, depth) -> list[ast.stmt]:
        body = []
        for target, kind, _, _ in targets:
            variable = inner.variables[target]
            form = self.pick(["squash", "mix", "accumulate"])
            if form == "accumulate" and not variable.fresh:
                form = "mix"  # the body may have made it an alias: never update it in place
            self.features.add("loop update " + form)
            update_kind = self.pick(sorted(FITS[kind]))
            if form == "squash":
                value = self.squashed(inner, kind, depth)
                body.append(assign(name(target), value))
                variable.active = variable.active and _active(inner, value)
            elif form == "mix":
                value = binop(
                    binop(number(0.5), ast.Mult(), name(target)),
                    ast.Add(),
                    binop(number(0.5), ast.Mult(), self.squashed(inner, update_kind, depth)),
                )
                body.append(assign(name(target), value))
                variable.active = variable.active and _active(inner, value)
            else:
                self.note_in_place(variable)
                value = binop(number(0.25), ast.Mult(), self.squashed(inner, update_kind, depth))
                body.append(ast.AugAssign(target=store(name(target)), op=ast.Add(), value=value))
        return body

    def loop_done(self, scope: Scope, inner: Scope) -> None:
        """After a loop body: a variable the body left without a derivative (rebound to a
        constant) is a plain array on the next iteration, where an in-place update earlier
        in the body (``t += ...``) may be refused by forward mode."""
        for variable_name, variable in scope.variables.items():
            changed = inner.variables.get(variable_name)
            if variable.active and changed is not None and not changed.active:
                self.forward_may_refuse = True
        merge(scope, inner)

    def existing_targets(self, scope):
        """Loops update variables that already exist (a loop may run zero times)."""
        candidates = [
            v for v in scope.variables.values()
            if v.name not in dict(PARAMS) and not v.integer and (v.fresh or v.kind == "S")
        ]
        if not candidates:
            return None
        chosen = {self.pick(candidates).name: None for _ in range(self.draw(st.integers(1, 2)))}
        return [(n, scope.variables[n].kind, 0.0, True) for n in chosen]

    def enter_loop(self, scope, targets, iterations):
        for target, _, _, _ in targets:
            variable = scope.variables[target]
            variable.bound = max(variable.bound, 1.6) + 0.4 * iterations
            variable.fresh = True

    def for_loop(self, scope, depth, loop_level):
        targets = self.existing_targets(scope)
        if targets is None:
            return self.assignment(scope, depth, loop_level)
        count = self.draw(st.integers(1, 3))
        self.enter_loop(scope, targets, count)
        counter = f"i{next(self.counters)}"
        inner = scope.copy()
        inner.variables[counter] = Var(counter, "S", float(count), integer=True)
        body = self.block(inner, self.draw(st.integers(0, 1)), depth, loop_level + 1)
        body += self.loop_update(inner, targets, depth)
        self.features.add("for range")
        if count <= 2 and inner.of_kind("U") and self.chance(50):
            self.features.add("index by loop counter")
            u = self.pick(inner.of_kind("U"))
            extra = index(name(u.name), name(counter))
            body += self.loop_update_with(inner, targets, extra)
        elif inner.of_kind("V") and self.chance(50):
            self.features.add("index by loop counter")
            v = self.pick(inner.of_kind("V"))
            extra = index(name(v.name), name(counter))
            body += self.loop_update_with(inner, targets, extra)
        buffers = [v for v in inner.of_kind("V") if v.buffer and v.fresh]
        if buffers and self.chance(50):
            self.features.add("store by loop counter")
            buffer = self.pick(buffers)
            self.note_in_place(buffer)
            value, bound = self.expression(inner, "S", depth)
            where = index(name(buffer.name), name(counter))
            if self.chance(50):
                body.append(assign(where, value))
            else:
                body.append(ast.AugAssign(target=store(where), op=ast.Add(), value=value))
                bound = buffer.bound + count * bound
            buffer.bound = max(buffer.bound, bound)
            if buffer.bound > LIMIT:
                body.append(assign(name(buffer.name), call("np.tanh", name(buffer.name))))
                buffer.bound = 1.0
        if inner.of_kind("V") and self.chance(20):
            self.features.add("slice store")
            buffers = [v for v in inner.of_kind("V") if v.buffer and v.fresh]
            if buffers:
                buffer = self.pick(buffers)
                self.note_in_place(buffer)
                value, bound = self.expression(inner, "U", depth)
                body.append(assign(index(name(buffer.name), slice_(1, None)), value))
                buffer.bound = max(buffer.bound, bound)
        self.loop_done(scope, inner)
        header = call("range", number(count))
        return [ast.For(target=store(name(counter)), iter=header, body=body, orelse=[],
                        lineno=0)]

    def loop_update_with(self, inner, targets, extra: ast.expr) -> list[ast.stmt]:
        target = targets[0][0]
        value = binop(number(0.25), ast.Mult(), call("np.sin", extra))
        if not inner.variables[target].fresh:  # an alias now: rebind, never update in place
            return [assign(name(target), binop(name(target), ast.Add(), value))]
        self.note_in_place(inner.variables[target])
        return [ast.AugAssign(target=store(name(target)), op=ast.Add(), value=value)]

    def row_loop(self, scope, depth, loop_level):
        targets = self.existing_targets(scope)
        matrices = scope.of_kind("M")
        if targets is None or not matrices:
            return self.assignment(scope, depth, loop_level)
        matrix = self.pick(matrices)
        targets = [t for t in targets if t[0] != matrix.name]  # never update what is iterated
        if not targets:
            return self.assignment(scope, depth, loop_level)
        self.features.add("for row in matrix")
        self.enter_loop(scope, targets, 2)
        row = f"r{next(self.counters)}"
        inner = scope.copy()
        inner.variables[row] = Var(row, "V", matrix.bound)
        body = self.loop_update(inner, targets, depth)
        self.loop_done(scope, inner)
        return [ast.For(target=store(name(row)), iter=name(matrix.name), body=body, orelse=[],
                        lineno=0)]

    def while_loop(self, scope, depth, loop_level):
        targets = self.existing_targets(scope)
        if targets is None:
            return self.assignment(scope, depth, loop_level)
        self.features.add("while")
        count = self.draw(st.integers(1, 4))
        self.enter_loop(scope, targets, count)
        counter = f"k{next(self.counters)}"
        inner = scope.copy()
        body = self.loop_update(inner, targets, depth)
        self.loop_done(scope, inner)
        body.append(ast.AugAssign(target=store(name(counter)), op=ast.Add(), value=number(1)))
        limit = ast.Compare(left=name(counter), ops=[ast.Lt()], comparators=[number(count)])
        test: ast.expr = limit
        if self.chance(70):
            self.features.add("while on data")
            test = ast.BoolOp(op=ast.And(), values=[limit, self.condition(inner, depth)])
        return [
            assign(name(counter), number(0)),
            ast.While(test=test, body=body, orelse=[], lineno=0),
        ]

    def mask_where(self, scope, depth, loop_level):
        """A mask kept in a variable, then ``np.where(~mask, a, b)`` (or ``mask``), at times
        ``a * ~mask + b`` (a mask used as numbers)."""
        kind = self.pick(["V", "M", "U"])
        mask_name = self.fresh_name()  # not in the scope: it is no number to compute with
        statements = [assign(name(mask_name), self.mask(scope, kind, depth))]
        a, p = self.expression(scope, kind, depth)
        b, q = self.expression(scope, kind, depth)
        test: ast.expr = name(mask_name)
        if self.chance(60):
            self.features.add("np.where(~mask)")
            test = ast.UnaryOp(op=ast.Invert(), operand=test)
        value = call("np.where", test, a, b)
        if self.chance(20):  # the mask as weights 0 and 1
            self.features.add("mask times array")
            value = binop(binop(a, ast.Mult(), test), ast.Add(), b)
            p += q
        target = self.fresh_name()
        scope.variables[target] = Var(target, kind, max(p, q), fresh=True,
                                      active=_active(scope, value))
        return [*statements, assign(name(target), value)]

    def moving_index(self, scope, depth, loop_level):
        """A loop whose index ``j`` is rebound later in the same iteration and used both
        before and after: stores into a preallocated array and reads of a list at ``j``.

        The adjoint of each store and read must use the ``j`` of its own statement, not the
        one the iteration ends with (reverse mode once got this wrong). Most stores read the
        entry they overwrite, and consecutive iterations touch overlapping entries, so a
        wrong ``j`` changes the gradient.
        """
        kind = self.pick(["V", "M"])
        size = SHAPES[kind][0]
        uses = self.pick(["store", "list", "store and list"])
        statements: list[ast.stmt] = []
        items = accumulator = buffer = None
        if "list" in uses:
            item_kind = self.pick(["S", "V", "U", "M"])
            self.features.add("list read at a moving index")
            elements = [self.expression(scope, item_kind, depth) for _ in range(size)]
            items = self.fresh_name()
            listed = ast.List(elts=[e for e, _ in elements], ctx=ast.Load())
            _may_alias(scope, listed)
            statements.append(assign(name(items), listed))
            start, bound = self.expression(scope, item_kind, depth)
            accumulator = Var(self.fresh_name(), item_kind, max(bound, 1.6),
                              fresh=item_kind == "S" or _makes_new_array(start),
                              active=_active(scope, start))
            if not accumulator.fresh:
                _may_alias(scope, start)
            statements.append(assign(name(accumulator.name), start))
            scope.variables[accumulator.name] = accumulator
        # The loop's expressions never read the buffer, only uses_at does: a view of it read
        # before a store would meet the open bug ``view_read_before_store``.
        inner = scope.copy()
        if "store" in uses:
            self.features.add("store at a moving index")
            buffer = Var(self.fresh_name(), kind, 3.2, fresh=True, buffer=True)
            like = "v" if kind == "V" else "m"
            if like in scope.variables and self.chance(70):
                made = call("np.zeros_like", name(like))
                buffer.active = scope.variables[like].active
            else:
                shape = ast.Tuple(elts=[number(n) for n in SHAPES[kind]], ctx=ast.Load())
                made = call("np.zeros", shape if kind == "M" else number(3))
            statements.append(assign(name(buffer.name), made))

        count = self.draw(st.integers(1, size - 1))
        looping = self.pick(["for", "while"])
        counter = f"i{next(self.counters)}" if looping == "for" else f"k{next(self.counters)}"
        index_name = f"j{next(self.counters)}"
        first = self.pick(["counter", "reversed"])
        second = self.pick(["j + 1", "counter + 1", "mirror"])
        self.features.add(f"moving index {looping}: j = {first}, then j = {second}")
        if looping == "for":
            inner.variables[counter] = Var(counter, "S", float(count), integer=True)
        if first == "counter":
            start_index: ast.expr = name(counter)
        else:  # size - 2 - counter stays in [0, size - 2], so j + 1 stays inside the array
            start_index = binop(number(size - 2), ast.Sub(), name(counter))
        if second == "j + 1":
            next_index = binop(name(index_name), ast.Add(), number(1))
        elif second == "counter + 1":
            next_index = binop(name(counter), ast.Add(), number(1))
        else:
            next_index = binop(number(size - 1), ast.Sub(), name(index_name))
        body = [assign(name(index_name), start_index)]
        inner.variables[index_name] = Var(index_name, "S", float(size), integer=True)
        body += self.uses_at(inner, index_name, buffer, items, accumulator, depth)
        body.append(assign(name(index_name), next_index))
        body += self.uses_at(inner, index_name, buffer, items, accumulator, depth)
        self.loop_done(scope, inner)
        test: ast.expr = ast.Compare(left=name(counter), ops=[ast.Lt()],
                                     comparators=[number(count)])
        if looping == "while" and self.chance(30):
            test = ast.BoolOp(op=ast.And(), values=[test, self.condition(scope, depth)])
        if buffer is not None:
            scope.variables[buffer.name] = buffer
        if looping == "for":
            header = call("range", number(count))
            statements.append(ast.For(target=store(name(counter)), iter=header, body=body,
                                      orelse=[], lineno=0))
            return statements
        if first == "counter" and second != "mirror" and self.chance(50):
            step: ast.stmt = assign(name(counter), name(index_name))  # j is counter + 1 here
        else:
            step = ast.AugAssign(target=store(name(counter)), op=ast.Add(), value=number(1))
        body.append(step)
        statements.append(assign(name(counter), number(0)))
        statements.append(ast.While(test=test, body=body, orelse=[], lineno=0))
        return statements

    def uses_at(self, inner, index_name, buffer, items, accumulator, depth) -> list[ast.stmt]:
        """The statements of :meth:`moving_index` at the current ``j``."""
        body: list[ast.stmt] = []
        if buffer is not None:
            where = index(name(buffer.name), name(index_name))
            element = "S" if buffer.kind == "V" else "V"
            value = self.squashed(inner, element, depth)
            forms = ["set", "mix", "add"]
            if buffer.kind == "V":  # buffer[j] is a number; a row of a matrix is a view
                forms.append("squash")
            form = self.pick(forms)
            if form == "set":
                body.append(assign(where, value))
            elif form == "squash":
                body.append(assign(where, call("np.tanh", binop(where, ast.Add(), value))))
            elif form == "mix":
                old = binop(number(0.5), ast.Mult(), where)
                body.append(assign(where, binop(old, ast.Add(),
                                                binop(number(0.5), ast.Mult(), value))))
            else:
                body.append(ast.AugAssign(target=store(where), op=ast.Add(),
                                          value=binop(number(0.25), ast.Mult(), value)))
            self.note_in_place(buffer)
        if items is not None:
            read = index(name(items), name(index_name))
            kind = accumulator.kind
            if self.chance(50):
                other, _ = self.expression(inner, self.pick(sorted(FITS[kind])), depth)
                read = binop(read, self.pick([ast.Add(), ast.Mult()]), other)
            squash = self.pick(["np.tanh", "np.sin", "np.arctan"])
            value = binop(binop(number(0.5), ast.Mult(), name(accumulator.name)), ast.Add(),
                          binop(number(0.5), ast.Mult(), call(squash, read)))
            body.append(assign(name(accumulator.name), value))
            variable = inner.variables[accumulator.name]
            variable.active = variable.active and _active(inner, value)
        return body

    # ---- functions

    def helper(self, scope: Scope, position: int) -> ast.FunctionDef:
        kinds = tuple(self.pick(["S", "V", "M", "U"]) for _ in range(self.draw(st.integers(1, 2))))
        names = ["a", "b"][: len(kinds)]
        inner = Scope({n: Var(n, k, 2.0) for n, k in zip(names, kinds, strict=True)},
                      list(scope.helpers))
        body = self.block(inner, self.draw(st.integers(0, 2)), 1, 1)
        result = self.pick(["S", "V", "M", "U"])
        value, bound = self.expression(inner, result, 2)
        value = call("np.tanh", value) if bound > 3.0 else value
        body.append(ast.Return(value=value))
        helper_name = f"h{position}"
        scope.helpers.append(Helper(helper_name, kinds, result, min(bound, 3.0)))
        return _function(helper_name, names, body)

    def main(self, scope: Scope) -> ast.FunctionDef:
        body = self.block(scope, self.draw(st.integers(1, 8)), 2, 0)
        locals_ = [v for v in scope.variables.values() if not v.integer]
        last = [v for v in locals_ if v.name not in dict(PARAMS)]
        final = last[-1] if last else self.pick(locals_)
        total: ast.expr = call("np.sum", name(final.name))
        if self.chance(50):
            other = self.pick(locals_)
            total = binop(total, ast.Add(), call("np.sum", name(other.name)))
        body.append(ast.Return(value=total))
        return _function("f", [p for p, _ in PARAMS], body)


def _function(function_name: str, params: list[str], body: list[ast.stmt]) -> ast.FunctionDef:
    arguments = ast.arguments(
        posonlyargs=[], args=[ast.arg(arg=p) for p in params], vararg=None, kwonlyargs=[],
        kw_defaults=[], kwarg=None, defaults=[],
    )
    return ast.FunctionDef(name=function_name, args=arguments, body=body, decorator_list=[],
                           returns=None, type_comment=None, lineno=0)


_VIEWS = {"reshape", "transpose", "ravel", "squeeze", "expand_dims", "broadcast_to"}


def _may_alias(scope: Scope, value: ast.expr) -> None:
    """A value that may share memory with the arrays it names: none of them is updated in place
    from now on (an in-place update would also change the alias, which the fuzzer avoids)."""
    for node in ast.walk(value):
        if isinstance(node, ast.Name) and node.id in scope.variables:
            scope.variables[node.id].fresh = False


def _viewed(scope: Scope, value: ast.expr) -> ast.expr:
    """``value``, about to be read through a view (``a[1:]``, ``a[::-1]``, ``m[0]``, ``m.T``).

    The generator once kept every array it viewed from being stored into later, to steer
    around the bug ``view_read_before_store`` of ``regressions.py``. That bug is fixed, so
    views are read before stores again (500 programs passed without the avoidance); the
    widened fuzzer (``constructs.py``) also writes through views on purpose.
    """
    return value


def merge(scope: Scope, inner: Scope) -> None:
    """After a block that may or may not run: what the outer scope can still rely on."""
    for variable_name, variable in scope.variables.items():
        changed = inner.variables.get(variable_name)
        if changed is not None:
            variable.fresh = variable.fresh and changed.fresh
            variable.active = variable.active and changed.active
            variable.bound = max(variable.bound, changed.bound)


def _active(scope: Scope, value: ast.expr) -> bool:
    """True when ``value`` certainly carries a derivative (is a Dual in forward mode).

    A comparison carries none; ``a if c else b`` and Python's ``max``/``min`` return one of
    their operands, so both must carry one; a helper may ignore its arguments, so its result
    is never counted on; anything else carries one when an operand does.
    """
    if isinstance(value, ast.Name):
        variable = scope.variables.get(value.id)
        return variable is not None and variable.active
    if isinstance(value, (ast.Compare, ast.Constant)):
        return False
    if isinstance(value, ast.IfExp):
        return _active(scope, value.body) and _active(scope, value.orelse)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        if value.func.id in ("max", "min"):
            return all(_active(scope, a) for a in value.args)
        if value.func.id != "abs":  # a helper
            return False
    if isinstance(value, ast.Call):
        return any(_active(scope, a) for a in value.args)
    return any(_active(scope, child) for child in ast.iter_child_nodes(value)
               if isinstance(child, ast.expr))


def _makes_new_array(node: ast.expr) -> bool:
    """True when ``node`` certainly evaluates to a new array, never a view or an alias."""
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr not in _VIEWS and isinstance(node.func.value, ast.Name) and (
            node.func.value.id == "np"
        )
    return False


# --------------------------------------------------------------------------- the watched twin

# Calls whose derivative has a kink, routed through the Monitor in the watched twin.
_KINKED = {
    "np.abs": "abs",
    "np.fabs": "abs",
    "abs": "abs",
    "np.maximum": "pair",
    "np.minimum": "pair",
    "max": "pair",
    "min": "pair",
    "np.clip": "clip",
    "np.max": "extreme",
    "np.min": "extreme",
    "np.linalg.norm": "norm",
}


class _Watch(ast.NodeTransformer):
    def __init__(self, helpers: set[str]):
        self.helpers = helpers

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        node.name += "_watched"
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        (op,) = node.ops
        return call("_K.compare", node.left, node.comparators[0], ast.Constant(type(op).__name__))

    def visit_Call(self, node):
        self.generic_visit(node)
        spelled = ast.unparse(node.func)
        if spelled in _KINKED:
            return ast.Call(
                func=attribute("_K." + _KINKED[spelled]),
                args=[ast.Constant(spelled), *node.args],
                keywords=node.keywords,
            )
        if spelled in self.helpers:
            node.func = name(spelled + "_watched")
        return node


def watched(functions: list[ast.FunctionDef]) -> list[ast.FunctionDef]:
    """The watched twins of ``functions`` (``f`` becomes ``f_watched`` and so on)."""
    helpers = {f.name for f in functions}
    return [_Watch(helpers).visit(copy.deepcopy(f)) for f in functions]


_OPERATORS = {"Gt": np.greater, "Lt": np.less, "GtE": np.greater_equal, "LtE": np.less_equal}
_CALLS = {
    "np.abs": np.abs, "np.fabs": np.fabs, "abs": abs, "np.maximum": np.maximum,
    "np.minimum": np.minimum, "max": max, "min": min, "np.clip": np.clip, "np.max": np.max,
    "np.min": np.min, "np.linalg.norm": np.linalg.norm,
}


class Monitor:
    """Records, for one evaluation, the distance to the nearest kink and the side taken."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.margin = math.inf
        # The distance to the nearest singularity (the norm at 0): there derivatives of every
        # order grow without bound, so second differences need a wider margin than a kink.
        self.singular = math.inf
        self.trace: list[bytes] = []

    def _note(self, distance, side):
        distance = np.asarray(distance, dtype=float)
        if distance.size:
            self.margin = min(self.margin, float(np.min(distance)))
        side = np.asarray(side)
        self.trace.append(side.tobytes() + repr(side.shape).encode())

    def compare(self, a, b, op):
        self._note(np.abs(np.subtract(a, b)), _OPERATORS[op](a, b))
        return _OPERATORS[op](a, b)

    def abs(self, spelled, a):
        self._note(np.abs(a), np.sign(a))
        return _CALLS[spelled](a)

    def pair(self, spelled, a, b):
        self._note(np.abs(np.subtract(a, b)), np.greater(a, b))
        return _CALLS[spelled](a, b)

    def clip(self, spelled, a, lo, hi):
        self._note(np.minimum(np.abs(np.subtract(a, lo)), np.abs(np.subtract(a, hi))),
                   (np.less(a, lo), np.greater(a, hi)))
        return np.clip(a, lo, hi)

    def extreme(self, spelled, a, axis=None):
        values = np.reshape(a, -1) if axis is None else np.moveaxis(a, axis, -1)
        ordered = np.sort(values, axis=-1)
        if spelled == "np.max":
            self._note(ordered[..., -1] - ordered[..., -2], np.argmax(values, axis=-1))
        else:
            self._note(ordered[..., 1] - ordered[..., 0], np.argmin(values, axis=-1))
        return _CALLS[spelled](a, axis=axis)

    def norm(self, spelled, a):
        self._note(np.linalg.norm(a), True)
        self.singular = min(self.singular, float(np.linalg.norm(a)))
        return np.linalg.norm(a)


# --------------------------------------------------------------------------- the strategy


@st.composite
def programs(draw) -> Program:
    """A random program, as the text of a module defining ``f(x, v, m)``."""
    builder = Builder(draw)
    wrt = draw(st.sampled_from(WRT))
    scope = Scope(
        {
            p: Var(p, k, 2.0, fresh=k == "S", active=i in wrt)
            for i, (p, k) in enumerate(PARAMS)
        }
    )
    helpers = [builder.helper(scope, i) for i in range(draw(st.integers(0, 2)))]
    main = builder.main(scope)
    functions = [*helpers, main]
    body: list[ast.stmt] = [ast.Import(names=[ast.alias(name="numpy", asname="np")])]
    body += [assign(name(k), ast.parse(v, mode="eval").body) for k, v in CONSTANTS.items()]
    body += functions + watched(functions)
    module = ast.Module(body=body, type_ignores=[])
    ast.fix_missing_locations(module)
    text = '"""A program generated by tests/fuzz/generator.py."""\n\n' + ast.unparse(module) + "\n"
    return Program(text, frozenset(builder.features), builder.forward_may_refuse, wrt)


# --------------------------------------------------------------------------- modules on disk

def load(text: str, folder: Path):
    """Write ``text`` to a file in ``folder`` and import it (so inspect sees the source).

    The file is named after a hash of the text, so a program replayed by hypothesis while
    shrinking fails at the same file and line.
    """
    module_name = "autodiffx_fuzz_" + hashlib.sha1(text.encode()).hexdigest()[:16]
    path = folder / f"{module_name}.py"
    if not path.exists():
        path.write_text(text)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[module_name]
    module._K = Monitor()
    return module
