"""Programs the way users write them: the widened fuzzer's generator.

:mod:`tests.fuzz.generator` builds programs the transformer was designed for, and steers
around what breaks it. This module does the opposite. A program is a short list of
*constructs*, each a few lines that users write (an alias updated in place, ``out=``,
``np.put``, a global rebound between calls, ``float(t)``, ``break``, ``zip``, a helper
returning a tuple, a dict parameter, ``keepdims=True``, a call of a function with a rule
or of one without), over inputs of every kind the API accepts: Python floats and ints,
0-d arrays, float32 and integer arrays, rank-3 arrays and dicts of arrays.

Each construct adds one scalar *contribution* ``c<k>`` to the program. The module defines

* ``f(...)``: the sum of the contributions (checked with ``grad`` in both modes, ``hvp``);
* ``g(...)``: the same body returning ``np.stack`` of the contributions (``jacrev``,
  ``jacfwd``, ``vjp``);
* ``rebind()``: rebinds every global and closure cell the program reads, so the checks can
  run again on the rebound function.

A program is fully determined by ``(seed, index)``; each construct by its own seed, so a
failing program can be shrunk construct by construct (:func:`render` of any subset).

The functions with rules are not listed by hand: :func:`rule_constructs` walks the rule
registry and makes a call for every differentiable primitive, from its family (elementwise
with an automatically found domain, reductions with ``axis``/``keepdims``/``ddof``) or from
a small table of special argument makers. A rule that fits no family and has no maker is
reported by ``test_users.py::test_every_rule_is_fuzzed``, so a new rule cannot be missed.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autodiffx.rules import registry

# --------------------------------------------------------------------------- inputs

# Every program takes x (a scalar), v (3,), m (2, 3); some also r (2, 3, 2) and d, a dict.
PROFILES = {
    "x": ("float", "float", "float", "0-d", "int"),
    "v": ("float64", "float64", "float64", "float32", "int64"),
}
# Complex inputs, drawn from a stream of their own (so the real programs of a seed stay the
# ones they were): x a Python complex, v and m complex128 arrays.
COMPLEX_INPUTS = 0.25
"""The share of programs with some complex inputs (each of x, v, m complex by a coin)."""
COMPLEX_CONSTRUCT = 0.35
"""The share of programs that get one construct of the group "complex numbers" more."""
COMPLEX_RESULT = 0.04
"""The share of programs whose value is complex: grad must refuse (ComplexOutputError)."""
HOLOMORPHIC = 0.05
"""The share of programs that are holomorphic functions of complex inputs, checked with
``holomorphic=True`` against the complex derivative."""


@dataclass(frozen=True)
class Inputs:
    x: str = "float"
    v: str = "float64"
    m: str = "float64"
    rank3: bool = False
    mapping: bool = False

    @property
    def names(self) -> list[str]:
        return ["x", "v", "m"] + (["r"] if self.rank3 else []) + (["d"] if self.mapping else [])

    @property
    def float32(self) -> bool:
        return "float32" in (self.v, self.m)

    @property
    def has_complex(self) -> bool:
        return self.x == "complex" or "complex128" in (self.v, self.m)

    def unusual(self) -> list[str]:
        """The input features that differ from the plain profile (float x, float64 arrays,
        no rank-3 argument, no dict)."""
        return [d for d in self.describe() if d not in ("input x float", "input v float64")]

    def simpler(self) -> list[Inputs]:
        """Each profile one step closer to the plain one."""
        plain = Inputs()
        out = []
        for name in ("x", "v", "m", "rank3", "mapping"):
            if getattr(self, name) != getattr(plain, name):
                values = {k: getattr(self, k) for k in ("x", "v", "m", "rank3", "mapping")}
                values[name] = getattr(plain, name)
                out.append(Inputs(**values))
        return out

    def describe(self) -> list[str]:
        """The input features, for the table (like constructs)."""
        out = [f"input x {self.x}", f"input v {self.v}"]
        if self.m != "float64":
            out.append(f"input m {self.m}")
        if self.rank3:
            out.append("input rank-3 r")
        if self.mapping:
            out.append("input dict d")
        return out

    def draw(self, rng: np.random.Generator) -> list:
        """Values in [-2, 2] (integers in {-2, ..., 2})."""
        if self.x == "float":
            x = float(rng.uniform(-2, 2))
        elif self.x == "complex":
            x = complex(rng.uniform(-2, 2), rng.uniform(-2, 2))
        elif self.x == "0-d":
            x = np.array(rng.uniform(-2, 2))
        else:
            x = int(rng.integers(-2, 3))
        if self.v == "int64":
            v = rng.integers(-2, 3, 3).astype(np.int64)
        elif self.v == "complex128":
            v = rng.uniform(-2, 2, 3) + 1j * rng.uniform(-2, 2, 3)
        else:
            v = rng.uniform(-2, 2, 3).astype(self.v)
        if self.m == "complex128":
            m = rng.uniform(-2, 2, (2, 3)) + 1j * rng.uniform(-2, 2, (2, 3))
        else:
            m = rng.uniform(-2, 2, (2, 3)).astype(self.m)
        args = [x, v, m]
        if self.rank3:
            args.append(rng.uniform(-2, 2, (2, 3, 2)))
        if self.mapping:
            args.append({"w": rng.uniform(-2, 2, 3), "b": float(rng.uniform(-2, 2))})
        return args


def as_float64(args: list) -> list:
    """The inputs at which the true derivative is taken: integers and float32 promoted to
    float64 (``autodiffx.api.as_differentiable`` promotes integer inputs to float64; a
    float32 input's reference is computed in float64). Complex inputs stay as they are."""
    out = []
    for a in args:
        if isinstance(a, dict):
            out.append({k: as_float64([w])[0] for k, w in a.items()})
        elif isinstance(a, (bool, np.bool_)):
            out.append(a)
        elif isinstance(a, int):
            out.append(float(a))
        elif np.iscomplexobj(a):
            out.append(a)
        elif isinstance(a, np.ndarray):
            out.append(a.astype(np.float64))
        else:
            out.append(a)
    return out


# --------------------------------------------------------------------------- expressions


class Context:
    """Random pieces of code over the inputs, for one construct."""

    def __init__(self, rng: random.Random, prefix: str, inputs: Inputs):
        self.rng = rng
        self.p = prefix
        self.inputs = inputs

    def pick(self, options):
        return self.rng.choice(list(options))

    def chance(self, percent: int) -> bool:
        return self.rng.random() * 100 < percent

    def S(self) -> str:
        """A scalar depending on the inputs, of magnitude at most about 2."""
        options = ["x", "np.tanh(x)", "v[1]", "m[1, 2]", "0.5 * np.sum(v)", "np.sin(x) * v[0]",
                   "np.mean(m)", "x * 0.5 + v[2]"]
        if self.inputs.rank3:
            options.append("r[1, 2, 0]")
        if self.inputs.mapping:
            options.append('d["b"]')
        return self.pick_expression(options)

    def V(self) -> str:
        options = ["v", "np.sin(v)", "v * x", "m[0]", "np.tanh(m[1] + v)",
                   "np.sum(m, axis=0) * 0.5", "np.cos(v) * m[1]"]
        if self.inputs.rank3:
            options.append("r[0, :, 1]")
        if self.inputs.mapping:
            options.append('d["w"] * v')
        return self.pick_expression(options)

    def U(self) -> str:
        """Shape (2,)."""
        return self.pick_expression(["m[:, 0]", "v[:2]", "np.tanh(m[:, 1]) * x",
                                     "m @ np.sin(v) * 0.3"])

    def M(self) -> str:
        options = ["m", "np.cos(m)", "m * x", "m + v", "np.outer(np.tanh(m[:, 0]), v)",
                   "np.sin(m) * v"]
        if self.inputs.rank3:
            options.append("r[:, :, 0]")
        return self.pick_expression(options)

    def R(self) -> str:
        """Shape (2, 3, 2)."""
        if self.inputs.rank3:
            return self.pick_expression(["r", "np.tanh(r)", "r * x", "r + m[:, :, None]"])
        return self.pick_expression(["np.stack([m, m * x], axis=-1)",
                                     "np.stack([np.sin(m), m + v], axis=2)"])

    def Q(self) -> str:
        """A well-conditioned (2, 2) matrix (diagonally dominant)."""
        return self.pick_expression(["np.eye(2) * 3.0 + 0.5 * np.tanh(m[:, :2])",
                          "np.eye(2) * 3.0 + 0.4 * np.outer(np.sin(v[:2]), np.cos(m[0, 1:]))"])

    def of(self, kind: str) -> str:
        return getattr(self, kind)()

    # Complex values, of magnitude at most about 3: from complex inputs where there are
    # some, else made the ways users make them (a literal, + 0j, astype, exp(1j t), an FFT).

    def ZS(self) -> str:
        """A complex scalar."""
        options = [f"{self.S()} * 1j + {self.S()}", f"({self.S()} + 0j)",
                   f"{self.S()} * (0.5 - 1j)", f"np.exp(1j * {self.S()})", f"{self.ZV()}[1]",
                   f"np.sum({self.ZV()}) * 0.3", f"complex({self.S()}, 0.5)"]
        if self.inputs.x == "complex":
            options += ["x", "x", "x * 0.5 + v[1]"]
        if self.inputs.v == "complex128":
            options += ["v[0]", "np.mean(v)"]
        if self.inputs.m == "complex128":
            options.append("m[1, 2]")
        return self.pick_expression(options)

    def ZV(self) -> str:
        """A complex (3,) array (``astype(complex)`` is a construct of its own: a bug of it
        would be blamed on every construct otherwise)."""
        options = [f"({self.V()} + 0j)", f"{self.V()} * (1 + 0.5j)", f"np.exp(1j * {self.V()})",
                   f"({self.V()} + 1j * np.sin({self.V()}))", f"np.fft.fft({self.V()}) * 0.3",
                   f"{self.V()} * 1j"]
        if self.inputs.v == "complex128":
            options += ["v", "v", "np.conj(v) * 0.5", "v * m[0]"]
        if self.inputs.m == "complex128":
            options += ["m[0]", "np.sum(m, axis=0) * 0.5"]
        if self.inputs.x == "complex":
            options += [f"{self.V()} * x", "np.sin(v) + x"]
        return self.pick_expression(options)

    def ZM(self) -> str:
        """A complex (2, 3) array."""
        options = [f"({self.M()} + 0j)", f"{self.M()} * (1 - 0.5j)", f"np.exp(0.5j * {self.M()})",
                   f"({self.M()} + 1j * np.cos({self.M()}))"]
        if self.inputs.m == "complex128":
            options += ["m", "m", "m * 0.5 + v"]
        if self.inputs.x == "complex":
            options.append(f"{self.M()} * x * 0.5")
        return self.pick_expression(options)

    def ZQ(self) -> str:
        """A well-conditioned complex (2, 2) matrix."""
        return f"(np.eye(2) * 3.0 + 0.2 * {self.ZM()}[:, :2])"

    def real(self, kind: str) -> str:
        """An expression of ``kind`` that is real even where the inputs are complex."""
        text = self.of(kind)
        return text if not self.inputs.has_complex else self.pick(
            [f"np.real({text})", f"({text}).real", f"np.abs({text})"])

    def real_of(self, value: str) -> str:
        """A real scalar made of the complex ``value`` (what a loss does: |z|², Re z, ...)."""
        return self.pick([f"np.sum(np.abs({value}) ** 2)", f"np.sum(np.abs({value}) ** 2)",
                          f"np.sum(np.real({value}))", f"np.sum(np.imag({value}))",
                          f"np.sum(({value}).real)", f"np.sum(({value}).imag * {self.real('S')})",
                          f"np.real(np.sum({value} * np.conj({value})))",
                          f"np.sum(np.abs({value}))",
                          f"np.sum(np.real({value})) * {self.real('S')}"])

    def pick_expression(self, options) -> str:
        """One of ``options``, in parentheses when it is not a single term (so a subscript or
        a method applies to the whole expression)."""
        text = self.pick(options)
        return f"({text})" if " " in text else text

    def fresh(self, kind: str) -> str:
        """An expression that certainly makes a new array (safe to update in place)."""
        base = self.of(kind)
        return self.pick([f"np.sin({base})", f"{base} * 1.0", f"np.copy({base})",
                          f"{base}.copy()", f"np.tanh({base}) + 0.5"])

    def shape_of(self, kind: str) -> tuple:
        return {"S": (), "U": (2,), "V": (3,), "M": (2, 3), "R": (2, 3, 2), "Q": (2, 2)}[kind]


# --------------------------------------------------------------------------- constructs


@dataclass
class Snippet:
    """A construct's code: ``lines`` of the body (``@RETURN@`` returns early), the scalar
    ``value`` it contributes, module-level ``setup`` and ``rebinds`` (statements run by
    ``rebind()``), and closure cells (``cells``: name -> (initial, rebound))."""

    lines: list[str]
    value: str
    setup: list[str] = field(default_factory=list)
    rebinds: list[str] = field(default_factory=list)
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)


Maker = Callable[[Context], Snippet]
CONSTRUCTS: dict[str, tuple[str, Maker]] = {}
"""name -> (group, maker)."""


def construct(name: str, group: str):
    def register(maker: Maker) -> Maker:
        CONSTRUCTS[name] = (group, maker)
        return maker

    return register


def _update(c: Context, kind: str) -> tuple[str, str]:
    """An in-place operator and a value to apply with it, kept small."""
    op = c.pick(["+=", "-=", "*="])
    value = c.of(kind) if kind != "S" else c.S()
    if op == "*=":
        value = f"(1.0 + 0.5 * np.sin({value}))"
    return op, value


@construct("plain", "plain")
def _plain(c):
    """Every input read once, nothing unusual: what a failure is shrunk to when the inputs
    alone cause it."""
    terms = ["x * np.sum(v)", "np.sum(np.sin(m))"]
    if c.inputs.rank3:
        terms.append("np.sum(r ** 2)")
    if c.inputs.mapping:
        terms.append('d["b"] * np.sum(d["w"])')
    return Snippet([], " + ".join(terms))


# ---- aliasing and views followed by in-place updates

@construct("alias then +=", "aliasing")
def _alias_iadd(c):
    p = c.p
    op, value = _update(c, "V")
    return Snippet([f"{p}a = {c.fresh('V')}", f"{p}b = {p}a", f"{p}b {op} {value}"],
                   f"np.sum({p}a * {c.V()})")


@construct("slice view then in-place", "aliasing")
def _view_inplace(c):
    p = c.p
    part = c.pick(["[:2]", "[1:]", "[::-1]", "[::2]"])
    op, value = _update(c, "S")
    return Snippet([f"{p}a = {c.fresh('V')}", f"{p}w = {p}a{part}", f"{p}w {op} {value}"],
                   c.pick([f"np.sum({p}a ** 2)", f"np.sum(np.sin({p}a) * v)",
                           f"np.sum({p}a * {p}a[::-1])"]))


@construct("view written, then the same view read again", "aliasing")
def _view_read_again(c):
    """``w = a[:2]; w *= s; ... a[:2] ...``: the second read is the written memory, so it
    must not be taken as the first read's value (as common-subexpression elimination
    would); likewise an item of a tuple."""
    p = c.p
    op, value = _update(c, "S")
    view = c.pick([f"{p}a[:2]", f"np.expand_dims({p}a, 0)", f"{p}a.reshape(3, 1)", f"{p}t[1]"])
    return Snippet([f"{p}a = {c.fresh('V')}", f"{p}t = ({c.V()}, {p}a)", f"{p}w = {view}",
                    f"{p}w {op} {value}"], f"np.sum({view} * {c.S()})")


@construct("copy.copy then write", "aliasing")
def _copy_module(c):
    """``copy.copy`` of an array is new memory; of a list, a new list of the same arrays,
    so a write through an item reaches the original list's."""
    p = c.p
    op, value = _update(c, "S")
    return c.pick([
        Snippet([f"{p}a = {c.fresh('V')}", f"{p}b = copy.copy({p}a)", f"{p}b[0] = {c.S()}"],
                f"np.sum({p}a * {p}b)", setup=["import copy"]),
        Snippet([f"{p}l = [{c.fresh('V')}, {c.V()}]", f"{p}k = copy.copy({p}l)",
                 f"{p}k[0] {op} {value}"], f"np.sum({p}l[0] * {p}l[1])", setup=["import copy"]),
        Snippet([f"{p}a = copy.deepcopy({c.V()})", f"{p}a {op} {value}"], f"np.sum({p}a)",
                setup=["import copy"]),
    ])


@construct("reshape view then store", "aliasing")
def _reshape_store(c):
    p = c.p
    view = c.pick([f"{p}a.reshape(-1)", f"np.reshape({p}a, 6)", f"{p}a.ravel()",
                   f"{p}a.reshape(3, 2)"])
    where = c.pick(["[0]", "[4]", "[-1]"]) if "3, 2" not in view else "[1, 1]"
    return Snippet([f"{p}a = {c.fresh('M')}", f"{p}y = {view}", f"{p}y{where} = {c.S()}"],
                   f"np.sum(np.sin({p}a) * m)")


@construct("transpose view then store", "aliasing")
def _transpose_store(c):
    p = c.p
    store = c.pick([f"{p}t[1] += {c.S()}", f"{p}t[0, 1] = {c.S()}", f"{p}t *= {c.S()}"])
    view = c.pick([f"{p}a.T", f"np.transpose({p}a)"])
    return Snippet([f"{p}a = {c.fresh('M')}", f"{p}t = {view}",
                    store], f"np.sum({p}a * m)")


@construct("view read, then base stored", "aliasing")
def _view_read_then_store(c):
    p = c.p
    return Snippet([f"{p}a = {c.fresh('V')}", f"{p}w = {p}a[1:]", f"{p}s = np.sum({p}w * {c.S()})",
                    f"{p}a[1] = {c.S()}"], f"{p}s + np.sum({p}w * {p}w)")


@construct("row view assigned", "aliasing")
def _row_view(c):
    p = c.p
    return Snippet([f"{p}a = {c.fresh('M')}", f"{p}row = {p}a[{c.pick(['0', '1', '-1'])}]",
                    f"{p}row[:] = {c.V()}"], f"np.sum({p}a * np.cos(m))")


@construct("expand_dims view then store", "aliasing")
def _expand_view(c):
    p = c.p
    return Snippet([f"{p}a = {c.fresh('V')}", f"{p}e = np.expand_dims({p}a, 0)",
                    f"{p}e[0, 1] = {c.S()}"], f"np.sum({p}a * v)")


@construct("alias rebound (no mutation)", "aliasing")
def _alias_rebound(c):
    p = c.p
    return Snippet([f"{p}b = {c.V()}", f"{p}b = {p}b + {c.S()}"], f"np.sum({p}b * v)")


@construct("argument updated in place", "aliasing")
def _argument_inplace(c):
    """A write into an argument itself, as NumPy code often does (``x -= x.mean()``, a row
    zeroed), then the arguments read again: with a caller who passes one array as two
    arguments (the aliased checks of harness.py) the write reaches the other one."""
    store = c.pick([f"v[{c.pick(['0', '2', '-1'])}] = {c.S()}", f"v += {c.S()}",
                    f"v *= (1.0 + 0.5 * np.sin({c.S()}))", f"m[{c.pick(['0', '1'])}] = {c.V()}",
                    f"m[0, 1] -= {c.S()}", "v -= np.mean(v)"])
    return Snippet([store], c.pick(["np.sum(v * np.sin(m[0]))", "np.sum(m * v)",
                                    "np.sum(np.tanh(v)) + np.sum(m[1] ** 2)"]))


# ---- out= and mutating calls

@construct("out= ufunc", "out= and mutating calls")
def _out_ufunc(c):
    p = c.p
    buffer = c.pick(["np.zeros(3)", "np.empty(3)", "np.zeros_like(v, dtype=float)",
                     f"np.empty_like({c.V()})"])
    call = c.pick([f"np.multiply({c.V()}, {c.V()}, out={p}c)",
                   f"np.add({c.V()}, {c.S()}, out={p}c)",
                   f"np.sin({c.V()}, out={p}c)", f"np.subtract({c.V()}, v, out={p}c)"])
    lines = [f"{p}c = {buffer}"]
    if c.chance(40):
        lines.append(f"{p}o = {call}")
        return Snippet(lines, f"np.sum({p}o * np.cos({p}c))")
    lines.append(call)
    return Snippet(lines, f"np.sum({p}c * {c.V()})")


@construct("out= in place on itself", "out= and mutating calls")
def _out_self(c):
    p = c.p
    call = c.pick([f"np.tanh({p}c, out={p}c)", f"np.multiply({p}c, {c.V()}, out={p}c)",
                   f"np.add({p}c, {c.S()}, out={p}c)"])
    return Snippet([f"{p}c = {c.fresh('V')}", call], f"np.sum({p}c * v)")


@construct("out= reduction", "out= and mutating calls")
def _out_reduction(c):
    p = c.p
    function = c.pick(["np.sum", "np.mean", "np.max"])
    return Snippet([f"{p}c = np.zeros(3)", f"{function}({c.M()}, axis=0, out={p}c)"],
                   f"np.sum({p}c * v)")


@construct("np.copyto", "out= and mutating calls")
def _copyto(c):
    p = c.p
    made = c.pick(["np.zeros(3)", "np.zeros_like(v, dtype=float)", c.fresh("V")])
    return Snippet([f"{p}c = {made}",
                    f"np.copyto({p}c, {c.pick([c.V(), c.S()])})"], f"np.sum({p}c * {c.V()})")


@construct("np.put", "out= and mutating calls")
def _put(c):
    p = c.p
    values = c.pick([f"[{c.S()}, {c.S()}]", f"{c.V()}[:2]"])
    return Snippet([f"{p}c = {c.fresh('V')}", f"np.put({p}c, [0, 2], {values})"],
                   f"np.sum({p}c * {c.V()})")


@construct("np.place", "out= and mutating calls")
def _place(c):
    p = c.p
    return Snippet([f"{p}c = {c.fresh('V')}", f"np.place({p}c, {p}c > 0.3, {c.V()})"],
                   f"np.sum({p}c * v)")


@construct("np.put_along_axis", "out= and mutating calls")
def _put_along_axis(c):
    p = c.p
    values = c.pick([c.S(), f"{c.U()}[:, None]"])
    return Snippet([f"{p}c = {c.fresh('M')}",
                    f"np.put_along_axis({p}c, np.array([[0], [2]]), {values}, axis=1)"],
                   f"np.sum({p}c * m)")


@construct("np.fill_diagonal", "out= and mutating calls")
def _fill_diagonal(c):
    p = c.p
    return Snippet([f"{p}c = {c.fresh('M')}", f"np.fill_diagonal({p}c, {c.S()})"],
                   f"np.sum({p}c * m)")


@construct("ufunc.at", "out= and mutating calls")
def _ufunc_at(c):
    p = c.p
    ufunc = c.pick(["np.add.at", "np.add.at", "np.multiply.at", "np.subtract.at"])
    return Snippet([f"{p}c = {c.fresh('V')}", f"{ufunc}({p}c, [0, 0, 2], {c.V()})"],
                   f"np.sum({p}c * v)")


@construct("y.sort()", "out= and mutating calls")
def _sort_method(c):
    p = c.p
    return Snippet([f"{p}c = {c.fresh('V')}", f"{p}c.sort()"],
                   f"np.sum({p}c * np.array([0.5, -1.0, 2.0]))")


@construct("y.fill(v)", "out= and mutating calls")
def _fill(c):
    p = c.p
    return Snippet([f"{p}c = {c.fresh('V')}", f"{p}c.fill({c.S()})"], f"np.sum({p}c * {c.V()})")


@construct("y.__setitem__", "out= and mutating calls")
def _setitem_method(c):
    p = c.p
    return Snippet([f"{p}c = {c.fresh('V')}", f"{p}c.__setitem__(1, {c.S()})"],
                   f"np.sum({p}c * {c.V()})")


# ---- globals and closure cells rebound between calls

@construct("global scalar rebound", "globals and closures")
def _global_scalar(c):
    name = f"G{c.p.upper()}"
    return Snippet([], f"np.sum(np.tanh({c.V()}) * {name})", setup=[f"{name} = 1.5"],
                   rebinds=[f"{name} = -0.7"])


@construct("global array rebound", "globals and closures")
def _global_array(c):
    name = f"A{c.p.upper()}"
    return Snippet([], f"np.sum({c.V()} * {name})", setup=[f"{name} = np.array([0.5, -1.0, 2.0])"],
                   rebinds=[f"{name} = np.array([1.5, 0.25, -0.5])"])


@construct("global scalar rebound to an array", "globals and closures")
def _global_rank(c):
    name = f"R{c.p.upper()}"
    return Snippet([], f"np.sum({c.V()} * {name})", setup=[f"{name} = 1.5"],
                   rebinds=[f"{name} = np.array([0.5, -1.0, 2.0])"])


@construct("global function rebound", "globals and closures")
def _global_function(c):
    name = f"ACT{c.p.upper()}"
    return Snippet([], f"np.sum({name}({c.V()}))", setup=[f"{name} = np.tanh"],
                   rebinds=[f"{name} = np.sin"])


@construct("closure cell rebound", "globals and closures")
def _closure_cell(c):
    name = f"cell_{c.p}"
    return Snippet([], f"np.sum(np.sin({c.V()}) * {name})", cells={name: ("1.5", "-0.7")})


@construct("closure function rebound", "globals and closures")
def _closure_function(c):
    name = f"act_{c.p}"
    return Snippet([], f"np.sum({name}({c.V()}) * v)", cells={name: ("np.tanh", "np.cos")})


@construct("helper writes a global array", "globals and closures")
def _helper_writes_global(c):
    """A function of the user's that writes into a global array (a buffer, a running
    value), called for its effect, then the global and the arguments read. Its writes put
    the same values each call, so the program's value does not drift from call to call.
    The harness also calls ``f`` with an argument being that global (checks "global
    aliased"), where the write reaches the argument through its other name."""
    p = c.p
    name = f"WG{p.upper()}"
    write = c.pick([f"{name}[{c.pick(['0', '1', '-1'])}] = 0.25",
                    f"{name}[:2] = np.array([1.5, -0.5])", f"{name}.fill(0.75)",
                    f"np.copyto({name}, np.array([0.5, 0.5, -1.0]))",
                    f"np.multiply({name}, 0.0, out={name})"])
    setup = [f"{name} = np.array([0.5, -1.0, 2.0])", f"def {p}poke():", f"    {write}"]
    lines = [f"{p}r = v[{c.pick([':2', '1:', '::2'])}]", f"{p}poke()"]
    return Snippet(lines, c.pick([f"np.sum({p}r * {p}r) + np.sum({name} * {c.V()})",
                                  f"np.sum(np.sin({p}r)) * np.sum(v)",
                                  f"np.sum({p}r * np.tanh(v[:1]))"]), setup=setup)


@construct("value kept in a global list", "globals and closures")
def _kept_in_global(c):
    """A value appended to a global list (a log, a history) and read back from it: the
    derivative must follow it, or the program be refused."""
    p = c.p
    name = f"KEEP{p.upper()}"
    setup = [f"{name} = []"]
    keep = c.pick([f"{name}.append({p}k)", f"{p}keep({p}k)", f"{name}.extend([{p}k])"])
    if keep.startswith(f"{p}keep"):
        setup += [f"def {p}keep(a):", f"    {name}.append(a)"]
    lines = [f"{p}k = {c.V()} * 1.5", keep]
    return Snippet(lines, c.pick([f"np.sum({name}[-1] * v)",
                                  f"np.sum(np.tanh({name}[-1])) + np.sum({p}k)"]),
                   setup=setup)


# ---- conversions

@construct("float(t)", "conversions")
def _float(c):
    return Snippet([f"{c.p}s = float({c.S()})"], f"{c.p}s * {c.S()}")


@construct("t.item()", "conversions")
def _item(c):
    return Snippet([f"{c.p}s = np.sum({c.V()}).item()"], f"{c.p}s * {c.S()}")


@construct("t.tolist()", "conversions")
def _tolist(c):
    p = c.p
    use = c.pick([f"np.sum(np.array({p}l) * {c.V()})", f"sum({p}l) * {c.S()}"])
    return Snippet([f"{p}l = ({c.V()}).tolist()"], use)


@construct("math.sin(t)", "conversions")
def _math(c):
    function = c.pick(["math.sin", "math.exp", "math.tanh"])
    return Snippet([f"{c.p}s = {function}({c.S()})"], f"{c.p}s * {c.S()}")


@construct("int(t)", "conversions")
def _int(c):
    return Snippet([f"{c.p}n = int({c.S()} * 3.0)"], f"{c.p}n * {c.S()}")


@construct("round(t)", "conversions")
def _round(c):
    value = c.pick([f"round({c.S()} * 3.0)", f"round({c.S()}, 1)", f"math.floor({c.S()} * 2.0)",
                    f"np.floor({c.S()} * 2.0)"])
    return Snippet([f"{c.p}n = {value}"], f"{c.p}n * {c.S()}")


# ---- control flow

@construct("break", "control flow")
def _break(c):
    p = c.p
    return Snippet([
        f"{p}a = {c.V()}", f"c{p[1:-1]} = 0.0", f"for {p}i in range(3):",
        f"    c{p[1:-1]} = c{p[1:-1]} + {p}a[{p}i] * {c.S()}",
        f"    if {p}a[{p}i] > {c.pick(['0.3', '-0.5', '1.0'])}:", "        break"],
        f"c{p[1:-1]}")


@construct("continue", "control flow")
def _continue(c):
    p = c.p
    acc = f"c{p[1:-1]}"
    return Snippet([
        f"{acc} = 0.0", f"for {p}e in {c.V()}:", f"    if {p}e < {c.pick(['0.0', '0.5', '-1.0'])}:",
        "        continue", f"    {acc} = {acc} + np.sin({p}e) * {c.S()}"], acc)


@construct("for/else", "control flow")
def _for_else(c):
    p = c.p
    acc = f"c{p[1:-1]}"
    return Snippet([
        f"{acc} = 0.0", f"for {p}e in {c.V()}:",
        f"    if {p}e > {c.pick(['0.3', '-0.5', '1.0', '5.0'])}:", "        break",
        f"    {acc} = {acc} + {p}e * {c.S()}", "else:", f"    {acc} = {acc} * {c.S()}"], acc)


@construct("while/else", "control flow")
def _while_else(c):
    p = c.p
    acc = f"c{p[1:-1]}"
    return Snippet([
        f"{acc} = {c.S()}", f"{p}k = 0", f"while {p}k < 3:",
        f"    if {acc} > {c.pick(['0.8', '-0.2', '3.0'])}:", "        break",
        f"    {acc} = np.tanh({acc}) + {c.S()}", f"    {p}k += 1", "else:",
        f"    {acc} = {acc} ** 2"], acc)


@construct(":= in an if", "control flow")
def _walrus(c):
    p = c.p
    acc = f"c{p[1:-1]}"
    return Snippet([
        f"if ({p}s := np.sum({c.V()} ** 2)) > {c.pick(['0.5', '2.0', '8.0'])}:",
        f"    {acc} = {p}s * {c.S()}", "else:", f"    {acc} = ({p}w := np.tanh({p}s)) * {p}w"],
        acc)


@construct("while True with break", "control flow")
def _while_break(c):
    p = c.p
    acc = f"c{p[1:-1]}"
    return Snippet([
        f"{acc} = {c.S()}", f"{p}k = 0", "while True:", f"    {acc} = np.tanh({acc}) * {c.S()}",
        f"    {p}k += 1", f"    if {p}k >= 3 or {acc} > 0.8:", "        break"], acc)


@construct("early return", "control flow")
def _early_return(c):
    p = c.p
    acc = f"c{p[1:-1]}"
    return Snippet([f"{acc} = np.sum({c.V()} * {c.S()})",
                    f"if {c.S()} > {c.pick(['0.5', '0.0', '-1.0'])}:", "    @RETURN@"], acc)


@construct("return inside a loop", "control flow")
def _loop_return(c):
    p = c.p
    acc = f"c{p[1:-1]}"
    return Snippet([f"{acc} = 0.0", f"for {p}e in {c.V()}:", f"    {acc} = {acc} + {p}e ** 2",
                    f"    if {p}e > {c.pick(['0.5', '1.0'])}:", "        @RETURN@"], acc)


@construct("enumerate", "control flow")
def _enumerate(c):
    p = c.p
    acc = f"c{p[1:-1]}"
    return Snippet([f"{p}w = {c.V()}", f"{acc} = 0.0",
                    f"for {p}i, {p}e in enumerate({c.pick([c.V(), c.M()])}):",
                    f"    {acc} = {acc} + np.sum(np.sin({p}e) * {p}w[{p}i])"], acc)


@construct("reversed / enumerate from a start", "control flow")
def _reversed(c):
    """``for t in reversed(range(n))``, ``reversed(xs)``, ``enumerate(xs, 1)``; and a loop
    backwards over an array it writes into (the items are views: each step reads what
    the last wrote)."""
    p = c.p
    acc = f"c{p[1:-1]}"
    return c.pick([
        Snippet([f"{p}a = {c.V()}", f"{acc} = 0.0", f"for {p}t in reversed(range(3)):",
                 f"    {acc} = np.tanh({acc} * 0.5 + {p}a[{p}t])"], acc),
        Snippet([f"{acc} = 0.0", f"for {p}e in reversed({c.pick([c.V(), c.M()])}):",
                 f"    {acc} = {acc} * 0.7 + np.sum(np.sin({p}e))"], acc),
        Snippet([f"{acc} = 0.0", f"for {p}i, {p}e in enumerate({c.V()}, 1):",
                 f"    {acc} = {acc} + {p}i * {p}e ** 2"], acc),
        Snippet([f"{p}a = {c.fresh('V')}", f"for {p}e in reversed({p}a):",
                 f"    {p}a[0] = {p}a[0] * 0.5 + {p}e"], f"np.sum({p}a * {c.S()})"),
    ])


@construct("zip", "control flow")
def _zip(c):
    p = c.p
    acc = f"c{p[1:-1]}"
    pair = c.pick([(c.V(), c.V()), (c.M(), c.U())])
    return Snippet([f"{acc} = 0.0", f"for {p}e, {p}q in zip({pair[0]}, {pair[1]}):",
                    f"    {acc} = {acc} + np.sum({p}e * np.tanh({p}q))"], acc)


@construct("value chosen by or / and", "control flow")
def _short_circuit(c):
    """``w = w or default``: Python's ``or`` and ``and`` give one of their operands, which
    may be the value being differentiated, not a truth value."""
    p = c.p
    return c.pick([
        Snippet([f"{p}opt = None", f"{p}w = {p}opt or {c.V()}"], f"np.sum({p}w)"),
        Snippet([f"{p}w = {c.S()} and {c.V()}"], f"np.sum({p}w * {c.V()})"),
        Snippet([f"{p}w = ({c.S()} > {c.pick(['0.3', '-0.5'])}) and {c.V()} or {c.V()}"],
                f"np.sum({p}w)"),
        Snippet([f"{p}w = 0.0 or {c.S()} * 2.0 or {c.S()}"], f"{p}w"),
    ])


@construct("list comprehension", "functions and structures")
def _comprehension(c):
    p = c.p
    return c.pick([
        Snippet([f"{p}ws = [np.sin({p}e) * {c.S()} for {p}e in ({c.V()}, {c.V()})]"],
                f"np.sum({p}ws[0] * {p}ws[1])"),
        Snippet([f"{p}a = {c.V()}", f"{p}ws = [{p}a[{p}i] ** 2 for {p}i in range(3)]"],
                f"sum({p}ws)"),
        Snippet([f"{p}ws = [np.tanh({p}e) for {p}e in {c.M()} if np.sum({p}e) > -10.0]"],
                f"np.sum(np.stack({p}ws) * {c.S()})"),
    ])


@construct("helper returning a tuple", "functions and structures")
def _tuple_return(c):
    p = c.p
    helper = [f"def {p}h(a, b):", "    return np.sum(a * b), np.tanh(a)"]
    use = c.pick([
        ([f"{p}s, {p}t = {p}h({c.V()}, {c.V()})"], f"{p}s + np.sum({p}t * v)"),
        ([f"{p}pair = {p}h({c.V()}, {c.S()})"], f"{p}pair[0] * {p}pair[1][1]"),
        ([], f"{p}h({c.V()}, {c.V()})[0]"),
    ])
    return Snippet(use[0], use[1], setup=helper)


@construct("dict parameter", "functions and structures")
def _dict_param(c):
    if not c.inputs.mapping:
        return Snippet([f"{c.p}p = {{'a': {c.V()}, 'b': {c.S()}}}"],
                       f"np.sum({c.p}p['a'] * {c.p}p['b'])")
    return Snippet([], c.pick([f'np.sum(d["w"] * {c.V()}) + d["b"] * {c.S()}',
                               'np.sum(np.tanh(d["w"]) * d["b"])']))


@construct("local dict", "functions and structures")
def _local_dict(c):
    p = c.p
    return c.pick([
        Snippet([f"{p}p = {{'a': {c.V()}, 'b': {c.S()}}}", f"{p}p['a'] = {p}p['a'] * 2.0"],
                f"np.sum({p}p['a'] * {p}p['b'])"),
        # a cache filled as the forward pass goes, an entry updated in place
        Snippet([f"{p}cache = {{}}", f"{p}cache['z'] = {c.V()} * 1.5",
                 f"{p}cache['h'] = np.tanh({p}cache['z'])", f"{p}cache['h'] += {c.S()}"],
                f"np.sum({p}cache['h'] * {p}cache['z'])"),
        # an entry replaced in a loop
        Snippet([f"{p}st = dict(h={c.V()}, n=0)", "for _ in range(2):",
                 f"    {p}st['h'] = np.sin({p}st['h']) * {c.S()}", f"    {p}st['n'] += 1"],
                f"np.sum({p}st['h']) * {p}st['n']"),
        # a key computed at run time: reverse mode refuses, naming the dict
        Snippet([f"{p}d = {{}}", f"{p}k = 'v'", f"{p}d[{p}k] = {c.V()}"],
                f"np.sum({p}d[{p}k] ** 2)"),
    ])


@construct("keepdims / axis=-1", "reductions")
def _keepdims(c):
    p = c.p
    a = c.pick([c.M(), c.R()])
    reduce = c.pick(["np.mean({a}, axis=-1, keepdims=True)", "np.sum({a}, axis=-1, keepdims=True)",
                     "np.max({a}, axis=-1, keepdims=True)", "np.std({a}, axis=-1, keepdims=True)",
                     "np.linalg.norm({a}, axis=-1, keepdims=True)",
                     "({a}).mean(axis=-1, keepdims=True)", "np.var({a}, axis=-1)[..., None]"])
    return Snippet([f"{p}a = {a}", f"{p}z = {p}a - {reduce.format(a=p + 'a')}"],
                   f"np.sum({p}z ** 2)")


# ---- calls of functions without a rule (right, or refused with MissingRuleError)

NO_RULE = {
    "np.tile": "np.sum(np.tile({V}, 2) * np.arange(6.0))",
    "np.cumprod": "np.sum(np.cumprod(np.tanh({V})))",
    "np.linalg.det": "np.linalg.det({Q})",
    "np.linalg.inv": "np.sum(np.linalg.inv({Q}) * np.array([[1.0, 2.0], [-0.5, 0.3]]))",
    "np.linalg.solve": "np.sum(np.linalg.solve({Q}, {U}))",
    "np.r_": "np.sum(np.r_[{V}, {S}] ** 2)",
    "np.c_": "np.sum(np.c_[{V}, {V}] * np.arange(6.0).reshape(3, 2))",
    "np.einsum sublist": "np.sum(np.einsum({M}, (0, 1), (1, 0)) * np.arange(6.0).reshape(3, 2))",
    "np.repeat": "np.sum(np.repeat({V}, 2) * np.arange(6.0))",
    "np.roll": "np.sum(np.roll({V}, 1) * v)",
    "np.kron": "np.sum(np.kron({U}, {V}) ** 2)",
    "np.triu": "np.sum(np.triu({M}) ** 2)",
    "np.median": "np.median({V}) * {S}",
    "np.array of scalars": "np.sum(np.array([{S}, {S}]) * {U})",
    "np.vstack": "np.sum(np.vstack([{V}, {V}]) * m)",
    "np.dot of lists": "np.dot([{S}, {S}], [1.0, 2.0])",
    "np.polyval": "np.polyval({V}, {S})",
    "np.interp": "np.interp(0.3, [0.0, 1.0], [{S}, {S}])",
    "builtin max of array": "max({V})",
    "builtin sum of array": "sum({V}) * {S}",
    "np.mean of empty": "np.sum({V}[:0]) + np.mean({V}[:0] * 0.0 + 1.0) * 0.0 + {S}",
    "complex intermediate": "np.abs({S} * (1 + 2j)) ** 2",
    "np.ma": "np.sum(np.ma.masked_array({V}, mask=[False, True, False]))",
    "np.power(t, 0.0)": "np.sum(np.power({V}, 0.0) * v)",
}


def _no_rule_maker(template: str) -> Maker:
    def make(c: Context) -> Snippet:
        text = template
        for kind in "SVUMRQ":
            while "{" + kind + "}" in text:
                text = text.replace("{" + kind + "}", c.of(kind), 1)
        return Snippet([], text)

    return make


for _name, _template in NO_RULE.items():
    CONSTRUCTS["no rule: " + _name] = ("calls without a rule", _no_rule_maker(_template))


# ---- complex numbers: made, transformed and turned into a real loss the ways users do it
# (drawn from a stream of their own, see draw_program; each contributes a real number)

COMPLEX = "complex numbers"


def _complex_maker(lines: list[str], value: str) -> Maker:
    """A construct from templates: ``lines`` assign ``{p}z``, the value is a real loss of
    ``value`` (both filled with expressions of the kinds S, V, U, M, R, Q, ZS, ZV, ZM, ZQ,
    RV, RM: a real V or M even where the inputs are complex)."""

    def make(c: Context) -> Snippet:
        return Snippet([_fill(c, line) for line in lines], c.real_of(_fill(c, value)))

    return make


def _fill(c: Context, text: str) -> str:
    text = text.replace("{p}", c.p)
    for kind in ("ZS", "ZV", "ZM", "ZQ", "RV", "RM", "S", "V", "U", "M", "R", "Q"):
        while "{" + kind + "}" in text:
            if kind in ("RV", "RM"):
                made = c.real(kind[1])
            else:
                made = c.of(kind)
            text = text.replace("{" + kind + "}", made, 1)
    return text


def _choose(table: list[tuple[list[str], str]]) -> Maker:
    def make(c: Context) -> Snippet:
        lines, value = c.pick(table)
        return _complex_maker(lines, value)(c)

    return make


COMPLEX_TEMPLATES: dict[str, list[tuple[list[str], str]]] = {
    "literal": [([], "{V} * (2 + 0.5j)"), ([], "{S} + 2j * {S}"), ([], "{M} * 1j - {M}"),
                ([], "{V} * (-0.5 + 1j) + {V}"), ([], "(1 - 2j) * {S} * {V}")],
    "x + 0j": [(["{p}z = {V} + 0j"], "{p}z * {ZV}"), (["{p}z = {M} + 0j"], "{p}z ** 2"),
               (["{p}z = {S} + 0j"], "{p}z * {ZS}")],
    "astype(complex)": [(["{p}z = ({V}).astype(complex)"], "{p}z * (1 + 1j) + {ZV}"),
                        (["{p}z = ({M}).astype(np.complex128)"], "{p}z * {ZV}"),
                        (["{p}z = np.astype({V}, complex)"], "{p}z * {ZS}"),
                        (["{p}z = np.asarray({V}, dtype=complex)"], "{p}z * 1j")],
    "np.exp(1j * theta)": [(["{p}w = np.exp(1j * {RV})"], "{p}w * np.conj({ZV})"),
                           (["{p}w = np.exp(1j * {V})"], "np.sum({p}w * {V})"),
                           (["{p}w = np.exp(-1j * {RM})"], "{p}w @ {ZV}")],
    "np.fft.fft": [([], "np.fft.fft({V})"), ([], "np.fft.fft({ZV})"),
                   ([], "np.fft.fft({ZM}, axis=0)"), ([], "np.fft.fft({V}, n=4)"),
                   ([], "np.fft.fft({M}, norm='ortho')")],
    "np.fft.ifft": [([], "np.fft.ifft({ZV})"), ([], "np.fft.ifft({V}) * {ZS}"),
                    ([], "np.fft.ifft({ZM}, n=2, axis=0)"), ([], "np.fft.ifft(np.fft.fft({V}))")],
    "np.fft.rfft": [([], "np.fft.rfft({RV})"), ([], "np.fft.rfft({RM}, axis=0)"),
                    ([], "np.fft.rfft({RV}, n=5)"), ([], "np.fft.rfft({RM}) * {ZS}")],
    "np.fft.irfft": [([], "np.fft.irfft({ZV})"), ([], "np.fft.irfft({ZV}, n=3) * {V}"),
                     ([], "np.fft.irfft(np.fft.rfft({RV}) * {ZS}, n=3)"),
                     ([], "np.fft.irfft({ZM}, axis=0)")],
    "np.fft.fft2": [([], "np.fft.fft2({ZM})"), ([], "np.fft.fft2({M})"),
                    ([], "np.fft.ifft2({ZM}) * {ZS}")],
    "np.fft.fftn": [([], "np.fft.fftn({ZM})"), ([], "np.fft.fftn({R})"),
                    ([], "np.fft.fftn({ZM}, axes=(1,))")],
    "np.fft.fftshift": [([], "np.fft.fftshift(np.fft.fft({V}))"),
                        ([], "np.fft.fftshift({ZM}, axes=1)"), ([], "np.fft.ifftshift({ZV})")],
    # parts of complex values (each a real value, but made from complex ones)
    ".real": [(["{p}z = {ZV}"], "({p}z * {ZV}).real * {RV}"), ([], "{ZM}.real @ {ZV}")],
    ".imag": [(["{p}z = {ZV}"], "{p}z.imag * {ZV}"), ([], "({ZS} * {ZS}).imag")],
    ".conj()": [(["{p}z = {ZV}"], "{p}z.conj() + {ZV}"), ([], "{ZM}.conj() * {ZV}")],
    ".conjugate()": [([], "{ZV}.conjugate() * {ZV}"), ([], "({ZS} * 2.0).conjugate()")],
    "np.real": [([], "np.real({ZV} * {ZV}) * {RV}"), ([], "np.real({ZM}) + {ZV}")],
    "np.imag": [([], "np.imag({ZV}) * {ZS}"), ([], "np.imag({ZS} ** 2)")],
    "np.conj": [([], "np.conj({ZV}) * {ZV}"), ([], "np.conj({ZM}) @ {V}"),
                ([], "np.conjugate({ZS}) + {ZS}")],
    "np.angle": [([], "np.angle({ZV}) * {ZS}"), ([], "np.angle({ZS} + 3.0)")],
    "np.abs": [([], "np.abs({ZV}) * {ZV}"), ([], "np.abs({ZM} + 0.5) ** 2"),
               ([], "abs({ZS}) + {ZS}")],
    # the constructs of real programs, on complex values
    "arithmetic": [([], "{ZV} * {ZV}"), ([], "{ZV} / (3.0 + 0.3 * {ZV})"),
                   ([], "{ZV} ** 2 - {ZS} * {V}"), ([], "({ZS} - {V}) * 1j"),
                   ([], "1.0 / (3.0 + 0.3 * {ZS})"), ([], "-{ZM} + {ZS} ** 3"),
                   ([], "{ZV} ** 0.5 + 1.0"), ([], "{V} ** 2 * {ZS} - {ZV} / 2.0")],
    "matmul/dot/einsum": [([], "{ZM} @ {ZV}"), ([], "np.dot({ZV}, {V})"),
                          ([], "np.einsum('ij,j->i', {ZM}, {ZV})"),
                          ([], "np.einsum('ij,kj->ik', {ZM}, np.conj({ZM}))"),
                          ([], "{M} @ {ZV}"), ([], "np.vdot({ZV}, {V})"),
                          ([], "np.outer({ZV}, {U})"), ([], "np.matmul({ZM}.T, {ZM})"),
                          ([], "np.inner({ZV}, {ZV})")],
    "reductions": [([], "np.sum({ZM}, axis=0)"), ([], "np.mean({ZV}) * {ZS}"),
                   ([], "np.cumsum({ZV})"), ([], "({ZM}).sum(axis=-1, keepdims=True)"),
                   ([], "np.var({ZV})"), ([], "np.linalg.norm({ZV})"),
                   ([], "np.std({ZM}, axis=1)"), ([], "np.prod({ZV})"),
                   ([], "np.diff({ZV})"), ([], "np.trace({ZM}[:, :2])"),
                   ([], "np.mean({ZM}, axis=-1)")],
    "indexing": [([], "{ZM}[1, ::2]"), ([], "{ZV}[[0, 2, 2]]"), ([], "{ZM}[:, -1]"),
                 ([], "{ZV}[::-1] * {ZV}"), ([], "{ZV}[np.abs({ZV}) > 1.0]"),
                 ([], "{ZM}.T[0]"), ([], "{ZV}[None] * {M}")],
    "stack/concatenate/where": [([], "np.concatenate([{ZV}, {V}])"),
                                ([], "np.stack([{ZS}, {S}])"),
                                ([], "np.where({RV} > 0.0, {ZV}, {V})"),
                                ([], "np.vstack([{ZV}, {ZV}]) * {M}")],
    "elementwise": [([], "np.exp(0.3 * {ZV})"), ([], "np.sin({ZV})"), ([], "np.cos({ZS})"),
                    ([], "np.log(6.0 + 0.5 * {ZV})"), ([], "np.sqrt(6.0 + 0.5 * {ZV})"),
                    ([], "np.tanh(0.1 * {ZV})"), ([], "np.square({ZV})"),
                    ([], "np.reciprocal(3.0 + 0.3 * {ZV})"), ([], "np.sinh(0.5 * {ZV})"),
                    ([], "np.cosh(0.5 * {ZS})"), ([], "np.log1p(2.0 + 0.3 * {ZV})"),
                    ([], "np.expm1(0.3 * {ZV})"), ([], "np.arctan(0.2 * {ZV})")],
    "linalg": [([], "np.linalg.solve({ZQ}, {ZV}[:2])"), ([], "np.linalg.det({ZQ})"),
               ([], "np.linalg.inv({ZQ})"), ([], "np.linalg.eigvals({ZQ})"),
               ([], "np.linalg.norm({ZM}, axis=1)")],
    "in-place update": [(["{p}z = {ZV} * 1.0", "{p}z *= {ZS}", "{p}z += 1j * {V}"], "{p}z"),
                        (["{p}z = {V} + 0j", "{p}z -= {ZV}"], "{p}z"),
                        (["{p}z = {ZM} * 1.0", "{p}z[0] *= {ZS}"], "{p}z")],
}


def _register_complex() -> None:
    for name, table in COMPLEX_TEMPLATES.items():
        CONSTRUCTS["complex: " + name] = (COMPLEX, _choose(table))


_register_complex()


@construct("complex: loop", COMPLEX)
def _complex_loop(c):
    p = c.p
    start = c.pick(["0.0", "0j", c.ZS()])
    body = c.pick([
        [f"for {p}e in {c.ZV()}:", f"    {p}acc = {p}acc * 0.5 + {p}e * {c.ZS()}"],
        [f"for {p}i, {p}e in enumerate({c.ZM()}):", f"    {p}acc = {p}acc + {p}e[{p}i] * 1j"],
        [f"for {p}e, {p}q in zip({c.ZV()}, {c.V()}):", f"    {p}acc = {p}acc + {p}e * {p}q"],
        [f"{p}k = 0", f"while {p}k < 3:", f"    {p}acc = 0.5 * {p}acc + 0.3j * {c.ZS()}",
         f"    {p}k += 1"],
    ])
    return Snippet([f"{p}acc = {start}"] + body, c.real_of(f"{p}acc"))


@construct("complex: branch", COMPLEX)
def _complex_branch(c):
    p = c.p
    condition = c.pick([f"np.abs({c.ZS()}) > 1.0", f"np.real({c.ZS()}) > 0.0",
                        f"{c.real('S')} > 0.0"])
    arms = c.pick([(c.ZV(), c.ZV()), (c.V(), c.ZV()), (c.ZV(), f"{c.ZV()} * 1j")])
    return Snippet([f"if {condition}:", f"    {p}t = {arms[0]}", "else:", f"    {p}t = {arms[1]}"],
                   c.real_of(f"{p}t * {c.ZS()}"))


@construct("complex: store into array", COMPLEX)
def _complex_store(c):
    p = c.p
    made = c.pick(["np.zeros(3, dtype=complex)", f"np.zeros_like({c.ZV()})",
                   f"{c.ZV()} * 1.0", "np.zeros(3) + 0j", "np.empty(3, dtype=np.complex128)"])
    stores = c.pick([
        [f"{p}y[0] = {c.ZS()}", f"{p}y[1:] = {c.ZV()}[:2]", f"{p}y[2] = {c.S()}"],
        [f"{p}y[:] = {c.ZV()}", f"{p}y[1] += 1j * {c.S()}"],
        [f"{p}y[...] = {c.V()}", f"{p}y[0] *= {c.ZS()}"],
    ])
    if made.startswith("np.empty") and not stores[0].startswith(f"{p}y[:]"):
        stores = [f"{p}y[:] = {c.ZV()}"] + stores
    return Snippet([f"{p}y = {made}"] + stores, c.real_of(f"{p}y"))


@construct("complex: helper function", COMPLEX)
def _complex_helper(c):
    p = c.p
    helper, use = c.pick([
        ([f"def {p}h(a, b):", "    return a * np.conj(b) + a ** 2"], f"{p}h({c.ZV()}, {c.ZV()})"),
        ([f"def {p}h(a, b):", "    return a * np.conj(b) + a ** 2"], f"{p}h({c.V()}, {c.ZS()})"),
        ([f"def {p}h(z):", "    return np.real(z), np.imag(z)"],
         f"{p}h({c.ZV()})[0] * {p}h({c.ZV()})[1]"),
        ([f"def {p}h(z):", "    return np.abs(z) ** 2"], f"{p}h({c.ZV()} * {c.ZS()})"),
    ])
    return Snippet([f"{p}s = {use}"], c.real_of(f"{p}s"), setup=helper)


# ---- holomorphic functions of complex inputs (programs of their own, see draw_program)

HOLOMORPHIC_GROUP = "holomorphic"


class HoloContext(Context):
    """Complex expressions of complex inputs (x, v, m all complex), holomorphic in them."""

    def S(self) -> str:
        return self.pick_expression(["x", "v[1]", "np.sum(v) * 0.5", "m[1, 2]", "x * v[0]",
                                     "np.mean(m)", "x * 0.5 - 1j"])

    def V(self) -> str:
        return self.pick_expression(["v", "v * x", "m[0]", "np.sum(m, axis=0) * 0.5", "v + x",
                                     "v * (1 - 0.5j)"])

    def M(self) -> str:
        return self.pick_expression(["m", "m * x", "m + v", "m * 1j"])


HOLOMORPHIC_TEMPLATES: dict[str, list[tuple[list[str], str]]] = {
    "polynomial": [([], "{S} ** 3 - 2j * {S} + 1.5"), ([], "np.sum({V} ** 2 * {S})"),
                   ([], "({S} + 1j) * ({S} - 2.0)"), ([], "np.sum(np.square({V}))")],
    "exp": [([], "np.sum(np.exp(0.5 * {V}))"), ([], "np.exp(0.3 * {S}) * {S}")],
    "sin/cos": [([], "np.sin({S}) * np.sum(np.cos(0.5 * {V}))"), ([], "np.sum(np.sin({M}))")],
    "log": [([], "np.sum(np.log(6.0 + 0.5 * {V}))"), ([], "np.log(6.0 + 0.5 * {S})")],
    "sqrt": [([], "np.sqrt(6.0 + 0.5 * {S})")],
    "division": [([], "1.0 / (6.0 + 0.5 * {S})"), ([], "np.sum({V} / (6.0 + 0.5 * {V}))")],
    "tanh": [([], "np.tanh(0.1 * {S})")],
    "matmul/dot/einsum": [([], "np.sum({M} @ {V})"), ([], "np.dot({V}, {V})"),
                          ([], "np.einsum('ij,j->', {M}, {V})")],
    "fft": [([], "np.sum(np.fft.fft({V}) * {V})"), ([], "np.sum(np.fft.ifft({M}) ** 2)")],
    "reductions/indexing": [([], "np.sum({M}[:, 1] * {V}[:2])"), ([], "np.cumsum({V})[-1] ** 2"),
                            ([], "np.mean({M}, axis=0)[2] * {S}")],
    "loop": [(["{p}acc = 0j", "for {p}e in {V}:", "    {p}acc = {p}acc * 0.5 + {p}e * {S}"],
              "{p}acc")],
    "store": [(["{p}y = np.zeros(3, dtype=complex)", "{p}y[0] = {S}", "{p}y[1:] = {V}[:2] * {S}"],
               "np.sum({p}y ** 2)")],
    "in-place": [(["{p}t = {V} * 1.0", "{p}t *= {S}", "{p}t += 1j"], "np.sum({p}t ** 2)")],
    "branch": [(["if np.abs({S}) > 1.0:", "    {p}t = {S} ** 2", "else:", "    {p}t = {S} * 1j"],
                "{p}t")],
}


def _holomorphic_maker(table: list[tuple[list[str], str]]) -> Maker:
    def make(c: Context) -> Snippet:
        lines, value = c.pick(table)
        return Snippet([_fill(c, line) for line in lines], _fill(c, value))

    return make


for _name, _table in HOLOMORPHIC_TEMPLATES.items():
    CONSTRUCTS["holomorphic: " + _name] = (HOLOMORPHIC_GROUP, _holomorphic_maker(_table))


@construct("holomorphic: helper function", HOLOMORPHIC_GROUP)
def _holomorphic_helper(c):
    p = c.p
    return Snippet([f"{p}s = {p}h({c.V()})"], f"np.sum({p}s)",
                   setup=[f"def {p}h(a):", "    return a ** 2 + 1j * a"])


# ---- calls of functions with a rule, from the registry

GRID = np.linspace(-2.0, 2.0, 41)
DOMAINS = ("{e}", "0.5 * np.tanh({e})", "1.5 + 0.4 * np.tanh({e})", "0.3 + 0.2 * np.tanh({e})")
_DOMAIN_FUNCTIONS = (lambda e: e, lambda e: 0.5 * np.tanh(e), lambda e: 1.5 + 0.4 * np.tanh(e),
                     lambda e: 0.3 + 0.2 * np.tanh(e))


def domain_of(primitive, arity: int) -> str | None:
    """The first domain map (from :data:`DOMAINS`) on which ``primitive`` is finite."""
    for text, function in zip(DOMAINS, _DOMAIN_FUNCTIONS, strict=True):
        args = [function(GRID), function(GRID[::-1] * 0.7)][:arity]
        try:
            with np.errstate(all="raise"):
                value = np.asarray(primitive(*args), dtype=float)
        except (FloatingPointError, ValueError, TypeError):
            continue
        if np.all(np.isfinite(value)) and np.max(np.abs(value)) < 1e3:
            return text
    return None


# Special argument makers: primitive name -> templates (any of them).
SPECIAL = {
    "concatenate": ["np.concatenate([{V}, {U}])", "np.concatenate([{M}, {M}], axis=1)",
                    "np.concatenate([{R}, {R}], axis=-1)"],
    "stack": ["np.stack([{V}, {V}])", "np.stack([{S}, {S}, {S}])", "np.stack([{M}, {M}], axis=-1)"],
    "dot": ["np.dot({V}, {V})", "np.dot({M}, {V})", "np.dot({U}, {M})"],
    "inner": ["np.inner({V}, {V})", "np.inner({M}, {V})"],
    "vdot": ["np.vdot({V}, {V})", "np.vdot({M}, {M})", "np.vdot({M}, np.outer({U}, {V}))"],
    "outer": ["np.outer({U}, {V})"],
    "matmul": ["np.matmul({M}, {V})", "{M} @ {M}.T", "{R}.transpose(0, 2, 1) @ {M}[0]"],
    "einsum": ["np.einsum('ij,j->i', {M}, {V})", "np.einsum('ij->', {M})",
               "np.einsum('ijk,ij->k', {R}, {M})", "np.einsum('i,i', {V}, {V})",
               "np.einsum('ij,kj->ik', {M}, {M})"],
    "take": ["np.take({V}, [2, 0, 0])", "np.take({M}, [1, 2], axis=1)", "({V}).take([1, 1])"],
    "take_along_axis": ["np.take_along_axis({M}, np.array([[2, 0], [1, 1]]), axis=1)"],
    "broadcast_to": ["np.broadcast_to({V}, (2, 3))", "np.broadcast_to({S}, (3,))"],
    "expand_dims": ["np.expand_dims({V}, 0)", "np.expand_dims({M}, -1)"],
    "reshape": ["np.reshape({M}, (3, 2))", "({R}).reshape(6, 2)", "({V}).reshape(3, 1)",
                "np.reshape({M}, -1)"],
    "transpose": ["np.transpose({M})", "np.transpose({R}, (2, 0, 1))", "({M}).T",
                  "({R}).transpose()"],
    "moveaxis": ["np.moveaxis({R}, 0, -1)", "np.moveaxis({M}, 1, 0)"],
    "swapaxes": ["np.swapaxes({R}, 0, 2)", "({M}).swapaxes(0, 1)"],
    "trace": ["np.trace({M}[:, :2])", "np.trace({Q})"],
    "where": ["np.where({V} > 0.2, {V}, {S})", "np.where({M} < 0.0, {M}, 0.0)"],
    "clip": ["np.clip({V}, -0.5, 0.8)", "({M}).clip(-1.0, 1.0)", "np.clip({V}, {S}, 3.0)"],
    "getitem": ["({M})[1:, ::2]", "({V})[[0, 2, 2]]", "({R})[..., 0]", "({V})[None]",
                "({V})[({V}) > 0.0]", "({M})[:, [2, 0]]", "({R})[1, :, -1]", "({M})[-1, -1]",
                "({R})[1, 1:, [0, 1]]", "({R})[[0, 1], :, [1, 0]]"],
    "copy": ["np.copy({V})", "({M}).copy()"],
    "ravel": ["np.ravel({M})", "({R}).ravel()"],
    "squeeze": ["np.squeeze({V}[None])", "np.squeeze({M}[:, :1], axis=1)"],
    "diff": ["np.diff({V})", "np.diff({M}, axis=0)", "np.diff({R})"],
    "cumsum": ["np.cumsum({V})", "np.cumsum({M}, axis=1)", "({M}).cumsum()",
               "np.cumsum({R}, axis=-1)"],
    "flip": ["np.flip({V})", "np.flip({M}, axis=1)", "np.flip({R}, axis=0)"],
    "sort": ["np.sort({V})", "np.sort({M}, axis=0)", "np.sort({R})"],
    "norm": ["np.linalg.norm({V})", "np.linalg.norm({M}, axis=1)", "np.linalg.norm({M})",
             "np.linalg.norm({R}, axis=-1, keepdims=True)", "np.linalg.norm({V}, ord=1)"],
    "var": ["np.var({V})", "np.var({M}, axis=0)", "np.var({M}, ddof=1)", "({R}).var(axis=-1)"],
    "std": ["np.std({V})", "np.std({M}, axis=1, keepdims=True)", "np.std({M}, ddof=1)",
            "({M}).std()"],
    "max": ["np.max({V})", "np.max({M}, axis=0)", "np.amax({R}, axis=-1)", "({M}).max(axis=1)"],
    "min": ["np.min({V})", "np.min({M}, axis=1, keepdims=True)", "np.amin({R})"],
    "sum": ["np.sum({M}, axis=0)", "np.sum({R}, axis=(0, 2))", "({M}).sum(axis=-1, keepdims=True)"],
    "mean": ["np.mean({M}, axis=0)", "np.mean({R}, axis=-1)", "({V}).mean()"],
    "prod": ["np.prod(np.tanh({V}))", "np.prod({M}, axis=0)", "({M}).prod(axis=1)"],
    "max_builtin": ["max({S}, {S})"],
    "min_builtin": ["min({S}, {S})"],
    "abs": ["abs({S})", "abs({V})"],
    "power": ["np.power(1.5 + 0.4 * np.tanh({V}), {S})", "({V}) ** 3", "np.power({V}, 2)",
              "(1.0 + ({V}) ** 2) ** 0.5", "2.0 ** ({V})"],
    "remainder": ["np.remainder({V}, 1.5)", "({V}) % 0.7"],
    "arctan2": ["np.arctan2({V}, 1.5 + 0.4 * np.tanh({V}))"],
    "linspace": ["np.linspace({S}, 2.0 + {S}, 4)", "np.linspace(0.0, {S}, 3, endpoint=False)",
                 "np.linspace({U}, {U} + 1.0, 3, axis=-1)"],
    "full": ["np.full(3, {S}) * {V}", "np.full((2, 3), {S})"],
    "full_like": ["np.full_like({V}, {S})", "np.full_like({M}, {S}) * m"],
    "divide": ["({V}) / (2.0 + np.sin({V}))", "np.divide({S}, 1.5 + 0.4 * np.tanh({S}))"],
    # shape_rules, elementwise_rules and statistics_rules
    "repeat": ["np.repeat({V}, 2)", "np.repeat({M}, [1, 0, 2], axis=1)", "({V}).repeat(2)"],
    "tile": ["np.tile({V}, 2)", "np.tile({M}, (2, 1))"],
    "pad": ["np.pad({V}, 1)", "np.pad({M}, ((1, 0), (0, 2)), mode='edge')",
            "np.pad({V}, 2, mode='reflect')", "np.pad({M}, 1, mode='wrap')"],
    "roll": ["np.roll({V}, 1)", "np.roll({M}, -1, axis=1)", "np.roll({R}, (1, 1), axis=(0, 2))"],
    "partition": ["np.partition({V}, 1)", "np.partition({M}, 0, axis=0)"],
    "rot90": ["np.rot90({M})", "np.rot90({R}, 2, axes=(1, 2))"],
    "fliplr": ["np.fliplr({M})"],
    "flipud": ["np.flipud({V})", "np.flipud({M})"],
    "rollaxis": ["np.rollaxis({R}, 2)", "np.rollaxis({R}, 0, 3)"],
    "atleast_1d": ["np.atleast_1d({S})", "np.atleast_1d({V})"],
    "atleast_2d": ["np.atleast_2d({V})", "np.atleast_2d({M})"],
    "atleast_3d": ["np.atleast_3d({V})", "np.atleast_3d({M})"],
    "astype": ["({V}).astype(float)", "np.astype({M}, np.float64)"],
    "vstack": ["np.vstack([{V}, {V}])", "np.vstack(({M}, {V}))"],
    "hstack": ["np.hstack([{V}, {U}])", "np.hstack(({M}, {M}))"],
    "dstack": ["np.dstack([{M}, {M}])", "np.dstack(({V}, {V}))"],
    "column_stack": ["np.column_stack([{V}, {V}])", "np.column_stack(({M}.T, {V}))"],
    "ldexp": ["np.ldexp({V}, 2)", "np.ldexp({M}, np.array([1, -1, 0]))"],
    "cumprod": ["np.cumprod({V})", "np.cumprod({M}, axis=1)", "({M}).cumprod()"],
    "average": ["np.average({V})", "np.average({M}, axis=1, weights=1.5 + np.tanh({V}))",
                "np.average({V}, weights=1.5 + 0.4 * np.tanh({V}))"],
    "cov": ["np.cov({M})", "np.cov({V}, {V} ** 2)", "np.cov({M}, rowvar=False, bias=True)"],
    "corrcoef": ["np.corrcoef({M})", "np.corrcoef({V}, np.sin({V}) + {V} ** 2)"],
    "median": ["np.median({V})", "np.median({M}, axis=1)"],
    "quantile": ["np.quantile({V}, 0.3)", "np.quantile({M}, [0.2, 0.7], axis=0)"],
    "percentile": ["np.percentile({V}, 30.0)", "np.percentile({M}, 70.0, axis=1)"],
    "convolve": ["np.convolve({V}, {U})", "np.convolve({V}, {V}, 'same')"],
    "correlate": ["np.correlate({V}, {U})", "np.correlate({U}, {V}, 'full')"],
    "interp": ["np.interp(np.array([0.2, 1.4]), np.array([0.0, 1.0, 2.0]), {V})"],
    "polyval": ["np.polyval({V}, {S})", "np.polyval({U}, {M})"],
    # linear algebra, on matrices kept well away from singular
    "solve": ["np.linalg.solve({Q} + 3 * np.eye(2), {U})",
              "np.linalg.solve(2 * np.eye(2) + 0.3 * {Q}, {Q})"],
    "inv": ["np.linalg.inv({Q} + 3 * np.eye(2))"],
    "det": ["np.linalg.det({Q})", "np.linalg.det({M} @ ({M}).T)"],
    "pinv": ["np.linalg.pinv({M} + 3 * np.eye(2, 3))"],
    "cholesky": ["np.linalg.cholesky({Q} @ ({Q}).T + np.eye(2))"],
    "matrix_power": ["np.linalg.matrix_power({Q}, 3)",
                     "np.linalg.matrix_power({Q} + 3 * np.eye(2), -1)"],
    "multi_dot": ["np.linalg.multi_dot([{M}, ({M}).T, {U}])"],
    "diag": ["np.diag({V})", "np.diag({M})", "np.diag({Q}, k=1)"],
    "diagonal": ["np.diagonal({M})", "np.diagonal({R}, axis1=0, axis2=2)"],
    "tril": ["np.tril({M})", "np.tril({Q}, k=-1)"],
    "triu": ["np.triu({M}, k=1)", "np.triu({R})"],
    "kron": ["np.kron({U}, {V})", "np.kron({Q}, {M})"],
    "tensordot": ["np.tensordot({M}, {V}, axes=1)",
                  "np.tensordot({R}, {M}, axes=([0, 1], [0, 1]))"],
    "cross": ["np.cross({V}, {V} * 2 + 1)"],
    # several results: one taken at once (unpacking is a construct of its own)
    "split": ["np.split({V}, 3)[1]", "np.split({M}, [1], axis=1)[-1]"],
    "array_split": ["np.array_split({V}, 2)[0]"],
    "hsplit": ["np.hsplit({M}, 3)[2]"],
    "vsplit": ["np.vsplit({M}, 2)[1]"],
    "dsplit": ["np.dsplit({R}, 2)[0]"],
    "eigh": ["np.linalg.eigh({Q} + ({Q}).T + np.diag([0.0, 6.0]))[0]",
             "np.linalg.eigh({Q} + np.diag([0.0, 6.0]))[1]"],
    "slogdet": ["np.linalg.slogdet({Q} + 3 * np.eye(2))[1]"],
    "svd": ["np.linalg.svd({M}, full_matrices=False)[1]",
            "np.linalg.svd({Q} + np.diag([0.0, 6.0]))[0]"],
    "svdvals": ["np.linalg.svdvals({M})"],
    "eigvalsh": ["np.linalg.eigvalsh({Q} + ({Q}).T)"],
    "qr": ["np.linalg.qr({Q} + 3 * np.eye(2))[1]", "np.linalg.qr(({M}).T)[0]"],
    "lstsq": ["np.linalg.lstsq(({M}).T + 3 * np.eye(3, 2), {V}, rcond=None)[0]",
              "np.linalg.lstsq(({M}).T + 3 * np.eye(3, 2), {V}, rcond=None)[1]"],
    "real": ["np.real({V})", "({M}).real"],
    "real_if_close": ["np.real_if_close({V})"],
    "conjugate": ["np.conj({V})", "np.conjugate({M})"],
    "gradient": ["np.gradient({V})", "np.gradient({M}, 0.5, axis=1)"],
    "fftshift": ["np.fft.fftshift({V})", "np.fft.fftshift({M}, axes=1)"],
    "ifftshift": ["np.fft.ifftshift({R})"],
    # complex values inside, a real value out (linear, so reverse mode follows them too)
    "imag": ["np.imag({V})"],
    "angle": ["np.angle(np.exp({V}))"],
    "fft": ["np.real(np.fft.fft({V}))", "np.imag(np.fft.fft({M}, axis=0))"],
    "ifft": ["np.real(np.fft.ifft({V}, n=6))"],
    "fft2": ["np.real(np.fft.fft2({M}))"],
    "ifft2": ["np.imag(np.fft.ifft2({M}, norm='ortho'))"],
    "fftn": ["np.real(np.fft.fftn({M}))"],
    "ifftn": ["np.real(np.fft.ifftn({M}, axes=(1,)))"],
    "rfft": ["np.real(np.fft.rfft({V}))", "np.imag(np.fft.rfft({M}, axis=0))"],
    "irfft": ["np.fft.irfft({V})"],
    "rfft2": ["np.real(np.fft.rfft2({M}))"],
    "irfft2": ["np.fft.irfft2({M})"],
    "rfftn": ["np.imag(np.fft.rfftn({M}))"],
    "irfftn": ["np.fft.irfftn({M}, norm='forward')"],
    "hfft": ["np.fft.hfft({V})"],
    "ihfft": ["np.real(np.fft.ihfft({V}))"],
    # eigenvalues of a general matrix: complex for some real ones (NumPy decides from the
    # data); eigenvectors through |.|**2 (their phases, and a real one's sign, are free)
    "eig": ["np.real(np.linalg.eig({Q} + np.diag([0.0, 6.0]))[0])",
            "np.abs(np.linalg.eig({Q} + np.diag([0.0, 6.0]))[1]) ** 2"],
    "eigvals": ["np.real(np.linalg.eigvals({Q} + np.diag([0.0, 6.0])))",
                "np.abs(np.linalg.eigvals({Q})) ** 2"],
}

OPERATORS = {
    "mul": ["({V}) * ({V})", "({S}) * ({M})"],
    "sub": ["({V}) - ({S})", "({M}) - ({V})"],
    "neg": ["-({V})", "-({S}) * ({M})"],
}
"""Python's operators, where a rule holds them next to a NumPy function (operator.mul)."""
if importlib.util.find_spec("scipy") is not None:  # the scipy extra's rules
    import scipy.signal  # noqa: F401 (installs the rules of scipy.signal and scipy.stats)
    import scipy.stats  # noqa: F401

    SPECIAL.update({
        "scipy.special.logsumexp": ["scipy.special.logsumexp({V})",
                                    "scipy.special.logsumexp({M}, axis=1)",
                      "scipy.special.logsumexp({V}, b=np.array([0.5, 1.0, 2.0]))"],
        "scipy.special.softmax": ["scipy.special.softmax({V})",
                                  "scipy.special.softmax({M}, axis=0)"],
        "scipy.special.log_softmax": ["scipy.special.log_softmax({V})",
                        "scipy.special.log_softmax({M}, axis=-1)"],
        "scipy.special.expit": ["scipy.special.expit({V})", "scipy.special.expit({M})"],
        "scipy.special.logit": ["scipy.special.logit(0.5 + 0.4 * np.tanh({V}))"],
        "scipy.special.erf": ["scipy.special.erf({V})", "scipy.special.erf({M})"],
        "scipy.special.erfc": ["scipy.special.erfc({V})"],
        "scipy.special.gammaln": ["scipy.special.gammaln(np.exp({V}) + 0.5)"],
        "scipy.special.digamma": ["scipy.special.digamma(np.exp({V}) + 0.5)"],
        "scipy.special.polygamma": ["scipy.special.polygamma(1, np.exp({V}) + 0.5)"],
        "scipy.special.xlogy": ["scipy.special.xlogy({V}, np.exp({V}))",
                                "scipy.special.xlogy({S}, np.exp({M}))"],
        "scipy.special.xlog1py": ["scipy.special.xlog1py({V}, np.exp({V}))"],
        "scipy.linalg.solve_triangular": [
            "scipy.linalg.solve_triangular({Q} + 3 * np.eye(2), {U}, lower=True)",
            "scipy.linalg.solve_triangular(np.eye(2) * 3 + {Q}, {Q}, trans='T')"],
        "scipy.linalg.cho_solve": [
            "scipy.linalg.cho_solve((np.array([[2.0, 0.0], [0.5, 1.5]]), True), {U})"],
        "scipy.linalg.expm": ["scipy.linalg.expm(0.5 * {Q})"],
        "scipy.special.gamma": ["scipy.special.gamma(1.5 + 0.4 * np.tanh({V}))"],
        "scipy.special.rgamma": ["scipy.special.rgamma(1.5 + 0.4 * np.tanh({V}))"],
        "scipy.special.beta": ["scipy.special.beta(1.5 + 0.4 * np.tanh({V}), "
                               "1.5 + 0.4 * np.tanh({S}))"],
        "scipy.special.betaln": ["scipy.special.betaln(1.5 + 0.4 * np.tanh({V}), "
                                 "1.5 + 0.4 * np.tanh({V}))"],
        "scipy.special.betainc": ["scipy.special.betainc(2.0, 3.0, 0.5 + 0.4 * np.tanh({V}))",
                                  "scipy.special.betainc(1.5 + 0.4 * np.tanh({S}), 2.0, "
                                  "0.5 + 0.4 * np.tanh({V}))"],
        "scipy.special.gammainc": ["scipy.special.gammainc(2.0, np.exp({V}))",
                                   "scipy.special.gammainc(1.5 + 0.4 * np.tanh({S}), "
                                   "np.exp({V}))"],
        "scipy.special.gammaincc": ["scipy.special.gammaincc(2.0, np.exp({V}))"],
        "scipy.special.multigammaln": ["scipy.special.multigammaln(3.0 + 0.4 * np.tanh({S}), 2)"],
        "scipy.special.erfinv": ["scipy.special.erfinv(0.5 * np.tanh({V}))"],
        "scipy.special.erfcinv": ["scipy.special.erfcinv(1.0 + 0.5 * np.tanh({V}))"],
        "scipy.special.j0": ["scipy.special.j0({V})"],
        "scipy.special.j1": ["scipy.special.j1({M})"],
        "scipy.special.y0": ["scipy.special.y0(1.5 + 0.4 * np.tanh({V}))"],
        "scipy.special.y1": ["scipy.special.y1(1.5 + 0.4 * np.tanh({V}))"],
        "scipy.special.i1": ["scipy.special.i1({V})"],
        "scipy.special.jv": ["scipy.special.jv(1.5, 1.5 + 0.4 * np.tanh({V}))",
                             "scipy.special.jv(2, {V})"],
        "scipy.special.yv": ["scipy.special.yv(1, 1.5 + 0.4 * np.tanh({V}))"],
        "scipy.special.yn": ["scipy.special.yn(2, 1.5 + 0.4 * np.tanh({V}))"],
        "scipy.special.iv": ["scipy.special.iv(0.5, 1.5 + 0.4 * np.tanh({V}))",
                             "scipy.special.iv(1, {V})"],
        "scipy.special.ive": ["scipy.special.ive(1, {V})"],
        # installed when scipy.signal and scipy.stats are imported (the programs import them)
        "scipy.signal.convolve": ["scipy.signal.convolve({V}, np.array([0.5, -1.0, 2.0]))",
                                  "scipy.signal.convolve({V}, {V}, mode='same')"],
        **{f"scipy.stats.norm.{method}": [f"scipy.stats.norm.{method}({{V}}, {{S}}, "
                                          "1.5 + 0.4 * np.tanh({S}))"]
           for method in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf")},
        # x inside each family's support; a shape that depends on the inputs for the
        # densities (the distribution functions refuse a derivative in their shapes)
        **{f"scipy.stats.{family}.{method}": [
            f"scipy.stats.{family}.{method}({x}, "
            + ", ".join([shape if method in ("pdf", "logpdf") else "2.5"] * count)
            + (", loc=0.1 * np.tanh({S}), scale=1.3)" if family in ("t", "gamma", "chi2")
               else ")")]
           for family, x, shape, count in (
               ("t", "{V}", "3.0 + np.tanh({S})", 1),
               ("gamma", "1.5 + 0.4 * np.tanh({V})", "2.0 + 0.5 * np.tanh({S})", 1),
               ("beta", "0.5 + 0.3 * np.tanh({V})", "2.0 + 0.5 * np.tanh({S})", 2),
               ("chi2", "1.5 + 0.4 * np.tanh({V})", "3.0 + np.tanh({S})", 1))
           for method in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf")},
    })


def _primitive_name(primitive) -> str:
    return getattr(primitive, "__name__", repr(primitive))


def _reduction_templates(name: str, rule: registry.Rule) -> list[str]:
    out = [f"np.{name}({{V}})", f"np.{name}({{M}}, axis=-1)"]
    if "keepdims" in rule.keywords:
        out.append(f"np.{name}({{R}}, axis=-1, keepdims=True)")
    return out


THROUGH_CONSTRUCTS = {"scatter_add": "ufunc.at"}
"""Rules for helpers users never call by name, and the construct that reaches them
(``np.add.at(y, i, v)`` becomes ``y[...] = scatter_add(y, i, v)``)."""


def rule_constructs() -> tuple[dict[str, list[str]], list[str]]:
    """Templates for every differentiable primitive of the registry, and the names of the
    rules no template could be made for."""
    templates: dict[str, list[str]] = {}
    missing: list[str] = []
    for rule in registry.all_rules():
        if not rule.differentiable or rule.name in THROUGH_CONSTRUCTS:
            continue
        for primitive in rule.primitives:
            name = _primitive_name(primitive)
            label = rule.name if len(rule.primitives) == 1 else f"{rule.name} ({name})"
            if rule.name in SPECIAL:
                templates[label] = SPECIAL[rule.name]
                continue
            if getattr(primitive, "__module__", "") in ("_operator", "operator") and (
                    name in OPERATORS):
                templates[label] = OPERATORS[name]
                continue
            if rule.elementwise and len(rule.params) in (1, 2) and hasattr(np, name):
                domain = domain_of(primitive, len(rule.params))
                if domain is None:
                    missing.append(rule.name)
                    continue
                kinds = ("V", "S") if len(rule.params) == 2 else ("V",)
                first = ", ".join(domain.format(e="{" + k + "}") for k in kinds)
                second = ", ".join(domain.format(e="{" + k + "}") for k in ("M", "V")[: len(kinds)])
                templates[label] = [f"np.{name}({first})", f"np.{name}({second})"]
                continue
            if rule.params == ("x",) and "axis" in rule.keywords and hasattr(np, name):
                templates[label] = _reduction_templates(name, rule)
                continue
            missing.append(rule.name)
    return templates, sorted(set(missing))


PHASES = ("np.linalg.eigh(", ")[1]"), ("np.linalg.svd(", ")[0]")
"""Eigenvectors and singular vectors (the start and the end of a template's text): of a
complex matrix they are defined up to a phase each, and docs/complex.md says their
derivative means something only for a loss that does not depend on the phases."""


def _rule_maker(templates: list[str]) -> Maker:
    def make(c: Context) -> Snippet:
        text = c.pick(templates)
        for kind in "SVUMRQ":
            while "{" + kind + "}" in text:
                text = text.replace("{" + kind + "}", c.of(kind), 1)
        if c.inputs.has_complex and any(text.startswith(start) and text.endswith(end)
                                        for start, end in PHASES):
            text = f"np.abs({text}) ** 2"
        weights = c.pick(["", " * np.cos(v[0])", " * 0.5"])
        return Snippet([f"{c.p}r = {text}"], f"np.sum(np.tanh({c.p}r)){weights}"
                       if c.chance(30) else f"np.sum({c.p}r){weights}")

    return make


RULE_TEMPLATES, RULES_WITHOUT_TEMPLATE = rule_constructs()
for _name, _templates in RULE_TEMPLATES.items():
    CONSTRUCTS["rule: " + _name] = ("calls with a rule", _rule_maker(_templates))

GROUPS = sorted({group for group, _ in CONSTRUCTS.values()})


# --------------------------------------------------------------------------- programs


@dataclass
class Program:
    seed: int
    index: int
    inputs: Inputs
    constructs: list[tuple[str, int]]
    """(construct name, its own seed)."""
    wrt: tuple[int, ...]
    source: str = ""
    rebinds: bool = False
    output: str = "real"
    """"real"; "complex" (a complex value: grad must refuse it); "holomorphic" (a
    holomorphic function of complex inputs, for ``grad(..., holomorphic=True)``)."""

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.constructs]

    def features(self) -> list[str]:
        output = [] if self.output == "real" else [f"output {self.output}"]
        return sorted(set(self.names)) + self.inputs.describe() + output


def _construct_weights() -> tuple[list[str], list[float]]:
    """Each group equally likely, then each construct in it: so the ~90 rule calls do not
    drown the ~45 hand-written constructs."""
    names, weights = [], []
    for group in GROUPS:
        if group in (COMPLEX, HOLOMORPHIC_GROUP):  # drawn from a stream of their own
            continue
        members = [n for n, (g, _) in CONSTRUCTS.items() if g == group]
        share = 0.3 if group == "plain" else 1.0  # a control: always right or refused
        for member in members:
            names.append(member)
            weights.append(share / len(members))
    return names, weights


_NAMES, _WEIGHTS = _construct_weights()


def draw_program(seed: int, index: int) -> Program:
    """Program number ``index`` of the run with seed ``seed``."""
    rng = random.Random(f"{seed}:{index}")
    inputs = Inputs(
        x=rng.choice(PROFILES["x"]),
        v=rng.choice(PROFILES["v"]),
        rank3=rng.random() < 0.25,
        mapping=rng.random() < 0.15,
    )
    if inputs.v == "float32" and rng.random() < 0.5:
        inputs = Inputs(inputs.x, inputs.v, "float32", inputs.rank3, inputs.mapping)
    count = rng.choice([1, 1, 2, 2, 3])
    chosen = rng.choices(_NAMES, _WEIGHTS, k=count)
    constructs = [(name, rng.randrange(2**31)) for name in chosen]
    n = len(inputs.names)
    wrt = tuple(range(n)) if rng.random() < 0.7 else tuple(
        sorted(rng.sample(range(n), rng.randint(1, n))))
    program = Program(seed, index, inputs, constructs, wrt)
    return render(_complex_variant(program))


_COMPLEX_NAMES = [n for n, (g, _) in CONSTRUCTS.items() if g == COMPLEX]
_HOLOMORPHIC_NAMES = [n for n, (g, _) in CONSTRUCTS.items() if g == HOLOMORPHIC_GROUP]


def _complex_variant(program: Program) -> Program:
    """``program`` with complex numbers, drawn from a stream of its own, so that a seed's
    real programs stay the ones they were: complex inputs (``COMPLEX_INPUTS``), one more
    construct of the group "complex numbers" (``COMPLEX_CONSTRUCT``), a complex value
    (``COMPLEX_RESULT``); or, instead, a holomorphic program (``HOLOMORPHIC``)."""
    rng = random.Random(f"{program.seed}:{program.index}:complex")
    if rng.random() < HOLOMORPHIC:
        inputs = Inputs("complex", "complex128", "complex128")
        constructs = [(rng.choice(_HOLOMORPHIC_NAMES), rng.randrange(2**31))
                      for _ in range(rng.choice([1, 2, 2, 3]))]
        wrt = (0, 1, 2) if rng.random() < 0.6 else tuple(sorted(rng.sample(range(3),
                                                                           rng.randint(1, 2))))
        return Program(program.seed, program.index, inputs, constructs, wrt,
                       output="holomorphic")
    inputs, constructs, output = program.inputs, list(program.constructs), "real"
    if rng.random() < COMPLEX_INPUTS:
        x, v, m = (rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.4)
        if not (x or v or m):
            v = True
        inputs = Inputs("complex" if x else inputs.x, "complex128" if v else inputs.v,
                        "complex128" if m else inputs.m, inputs.rank3, inputs.mapping)
    if rng.random() < COMPLEX_CONSTRUCT:
        constructs.append((rng.choice(_COMPLEX_NAMES), rng.randrange(2**31)))
    if rng.random() < COMPLEX_RESULT:
        output = "complex"
    return Program(program.seed, program.index, inputs, constructs, program.wrt,
                   output=output)


REALIZERS = ("np.real({c})", "np.real({c})", "np.imag({c})", "np.abs({c}) ** 2 * 0.1",
             "({c}).real")
"""What a program with complex inputs makes of a construct's value (which may be complex
there) to keep its result real."""


def _realizer(program: Program, name: str, seed: int) -> str:
    if program.output == "holomorphic" or not program.inputs.has_complex or CONSTRUCTS[name][
            0] in (COMPLEX, HOLOMORPHIC_GROUP):
        return "{c}"
    return random.Random(f"{seed}:real").choice(REALIZERS)


def render(program: Program, keep: list[int] | None = None, inputs: Inputs | None = None,
           constructs: list[tuple[str, int]] | None = None) -> Program:
    """``program`` with its source written out (only the constructs at positions ``keep``,
    or ``constructs`` in place of its own; ``inputs`` in place of its own)."""
    chosen = constructs if constructs is not None else [
        program.constructs[i] for i in (keep if keep is not None
                                        else range(len(program.constructs)))]
    inputs = inputs or program.inputs
    snippets = []
    output = program.output
    kind = HoloContext if output == "holomorphic" else Context
    candidate = Program(program.seed, program.index, inputs, chosen, program.wrt,
                        output=output)
    terms = []
    for k, (name, seed) in enumerate(chosen):
        context = kind(random.Random(seed), f"_{k}_", inputs)
        snippets.append(CONSTRUCTS[name][1](context))
        terms.append(_realizer(candidate, name, seed).format(c=f"c{k}"))
    count = len(snippets)
    setup, rebinds, cells, body = [], [], {}, []
    for k, snippet in enumerate(snippets):
        setup += snippet.setup
        rebinds += snippet.rebinds
        cells.update(snippet.cells)
        body += [(k, line) for line in snippet.lines]
        if snippet.value != f"c{k}":
            body.append((k, f"c{k} = {snippet.value}"))

    def returns(upto: int) -> tuple[str, str]:
        total = " + ".join(terms[: upto + 1]) or "0.0"
        parts = terms[: upto + 1] + ["0.0"] * (count - upto - 1)
        if output == "complex":
            total = f"({total}) * (1 + 0.5j)"
            parts = [f"{part} * (1 + 0.5j)" for part in parts]
        return f"return {total}", f"return np.stack([{', '.join(parts) or '0.0'}])"

    def function(fname: str, which: int) -> list[str]:
        lines = [f"def {fname}({', '.join(inputs.names)}):"]
        for k, line in body:
            lines.append("    " + line.replace("@RETURN@", returns(k)[which]))
        lines.append("    " + returns(count - 1)[which])
        return lines

    text = ['"""A program generated by tests/fuzz/constructs.py."""', "import math", "",
            "import numpy as np", ""]
    text += setup
    text.append("")
    functions = function("f", 0) + [""] + function("g", 1)
    if cells:
        text.append("def _make():")
        for cell, (initial, _) in cells.items():
            text.append(f"    {cell} = {initial}")
        text += ["    " + line for line in functions]
        text.append("    def _rebind_cells():")
        text.append(f"        nonlocal {', '.join(cells)}")
        for cell, (_, rebound) in cells.items():
            text.append(f"        {cell} = {rebound}")
        text.append("    return f, g, _rebind_cells")
        text.append("")
        text.append("f, g, _rebind_cells = _make()")
    else:
        text += functions
    text.append("")
    text.append("def rebind():")
    if rebinds:
        names = sorted({line.split("=")[0].strip() for line in rebinds})
        text.append(f"    global {', '.join(names)}")
    text += ["    " + line for line in rebinds]
    if cells:
        text.append("    _rebind_cells()")
    text.append("    return None")
    if any("scipy." in line for line in text):  # the scipy extra's rules
        text[text.index("import numpy as np")] = (
            "import numpy as np\nimport scipy.linalg\nimport scipy.signal\nimport scipy.special"
            "\nimport scipy.stats")
    source = "\n".join(text) + "\n"
    compile(source, "<fuzz>", "exec")
    return Program(program.seed, program.index, inputs, chosen, program.wrt, source,
                   bool(rebinds or cells), output)


def load(source: str, folder: Path, tag: str):
    """Write ``source`` into ``folder`` and import it (so reverse mode can read it)."""
    module_name = f"autodiffx_users_{tag}"
    path = folder / f"{module_name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[module_name]
    return module


def dedent(text: str) -> str:
    return textwrap.dedent(text)

