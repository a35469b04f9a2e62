"""Checking the widened fuzzer's programs: every check, every mode, one outcome each.

For one program (:mod:`tests.fuzz.constructs`) at one random point, each *check* gives one
*outcome*:

* ``right``: agrees with central differences (and, where both ran, with the other mode);
* ``refused``: raised an :class:`autodiffx.AutodiffError` subclass (saying why);
* ``wrong``: a value, a shape or a derivative disagrees;
* ``crash``: any other exception, or an input array was mutated.

Right and refused pass; wrong and crash are failures. A point is *skipped* (no outcome) when
it lies within a few steps of a kink: the central differences with steps h and 2h disagree.

The checks: ``grad`` in both modes (``value_and_grad`` of ``f``, the sum of the
contributions, for the program's ``wrt``); ``jacrev``, ``jacfwd`` and ``vjp`` of ``g`` (the
vector of contributions) for all arguments; ``hvp`` in both modes (forward over reverse and
forward over forward) against central differences of the gradient that was right; and, for
a program that reads a global or a closure cell, ``grad`` again after ``rebind()`` (the same
transformed function and a new one) against central differences of the rebound program;
and, for one program in ten, ``grad`` in reverse mode of a fresh import whose file is edited
before the first transform (it must differentiate the code that runs, or refuse).

**Complex numbers** (docs/complex.md). For a complex argument the reference is
d/dx + i d/dy of each entry, by differences in the real and the imaginary direction; a real
argument is moved along the real line only, and its gradient must be real (a complex one is
wrong even with imaginary part 0). A program with a complex value must be refused by
``grad`` ("complex-valued reverse/forward": a ComplexOutputError is right), and its ``vjp``
pulls a complex cotangent w back to the gradient of Re sum(conj(w) g). A holomorphic
program is checked with ``grad(f, holomorphic=True)`` against f'(z) = df/dx
("holomorphic reverse/forward").

**Tolerances.** The reference is always computed in float64 (integer inputs are promoted to
float64 by the API, so their true gradient is the float64 gradient at the same point; a
float32 input's reference is its float64 value). Central differences use Richardson
extrapolation N = (4 D(h) - D(2h)) / 3, h = 1e-4: truncation about h^4 |f'''''| / 30 and
rounding about eps |f| / h = 2e-12 |f|, with every value below about 40. So a derivative must
agree to ``TOLERANCE = 1e-6`` on the scale max(1, |num|, |got|); both modes and both Jacobian
transforms apply the same rules and agree to ``AGREEMENT = 1e-8``. With a float32 input the
function runs in float32 (eps 6e-8) through sums of at most a few dozen terms of size at most
about 40, so ``TOLERANCE_32 = AGREEMENT_32 = 1e-3``. A kink within 2h of the point makes
|D(h) - D(2h)| of the order of the slope's jump, while on a smooth stretch it is
h^2 |f'''| / 2, below 1e-6: points where it exceeds ``KINK = 1e-5`` are skipped.
"""

from __future__ import annotations

import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import autodiffx
from autodiffx.check import relative_error
from autodiffx.reverse import jvp as generated

from .constructs import Program, as_float64, draw_program, load, render

H = 1e-4
TOLERANCE = 1e-6
AGREEMENT = 1e-8
TOLERANCE_32 = 1e-3
AGREEMENT_32 = 1e-3
KINK = 1e-5
LARGEST = 1e4
HVP_SHARE = 0.4
EDIT_SHARE = 0.1
ALIAS_SHARE = 0.3

CHECKS = ("grad reverse", "grad forward", "jacrev", "jacfwd", "vjp", "hvp reverse",
          "hvp forward", "rebind reverse", "rebind forward", "grad after edit",
          "aliased reverse", "aliased forward", "global aliased reverse",
          "global aliased forward", "complex-valued reverse", "complex-valued forward",
          "holomorphic reverse", "holomorphic forward", "jvp", "rebind jvp")
FAMILY = {
    "grad reverse": "reverse", "jacrev": "reverse", "vjp": "reverse", "rebind reverse": "reverse",
    "grad forward": "forward", "jacfwd": "forward", "rebind forward": "forward",
    "hvp reverse": "second order", "hvp forward": "second order",
    "grad after edit": "reverse",
    "aliased reverse": "reverse", "aliased forward": "forward",
    "global aliased reverse": "reverse", "global aliased forward": "forward",
    "complex-valued reverse": "reverse", "complex-valued forward": "forward",
    "holomorphic reverse": "reverse", "holomorphic forward": "forward",
    "jvp": "forward", "rebind jvp": "forward",
}
GENERATED = ("written", "declined", "raised")
"""What the check "jvp" records of forward mode's generated JVP (autodiffx.reverse.jvp)
per program: its code written and run, declined by the tangent sweep (or arguments it does
not take: complex numbers, dicts), or written but raising (the dual numbers ran the function
again)."""


INTERNAL = "(the adjoint sweep)"
"""In a refusal's message: NumPy failed inside the generated adjoint code, which the user's
function did not write (the hint asks to report it)."""


class Skip(Exception):
    """The point is unusable (near a kink, too large, or the plain program fails)."""


class Mismatch(Exception):
    """A wrong result."""


# --------------------------------------------------------------------------- ties


class _TieWatch:
    """NumPy, as a program's module sees it, with the functions whose derivative has a kink
    where values tie (max, min, maximum, median, sort, abs at 0, ...) noting a tie at the
    point. There the program may be smooth while an intermediate is not (``a - max(a)``
    with two equal entries): the chain rule then gives the tie convention's derivative,
    which is no derivative of the program, in every AD system. Integer inputs make such
    ties common (``m * x`` equals ``m`` at x = 1), and central differences cannot see them
    when the program is smooth."""

    def __init__(self):
        self.tied = False

    def __getattr__(self, name):
        if name == "linalg":
            return _LinalgWatch(self)
        function = getattr(np, name)
        check = _TIE_CHECKS.get(name)
        if check is None:
            return function

        def watched(*args, **kwargs):
            try:
                self.tied = self.tied or bool(check(*args, **kwargs))
            except Exception:  # noqa: BLE001 - NumPy raises its own error just below
                pass
            return function(*args, **kwargs)

        return watched


class _LinalgWatch:
    """np.linalg, with the decompositions whose values have kinks noting them: a singular
    value at 0 (|s| there, as in the nuclear norm of a matrix of lower rank) or two equal
    singular values or eigenvalues (which one is which swaps)."""

    def __init__(self, watch: _TieWatch):
        self.watch = watch

    def __getattr__(self, name):
        function = getattr(np.linalg, name)
        if name not in ("svd", "svdvals", "eigh", "eigvalsh"):
            return function

        def watched(a, *args, **kwargs):
            try:
                if name.startswith("svd"):
                    values = np.linalg.svd(np.asarray(a, dtype=float), compute_uv=False)
                else:
                    values = np.linalg.eigvalsh(np.asarray(a, dtype=float))
                self.watch.tied = self.watch.tied or _close_values(values, name)
            except Exception:  # noqa: BLE001 - NumPy raises its own error just below
                pass
            return function(a, *args, **kwargs)

        return watched


def _close_values(values, name: str) -> bool:
    values = np.sort(np.asarray(values), axis=-1)
    scale = max(1.0, float(np.max(np.abs(values), initial=0.0)))
    close = np.any(np.diff(values, axis=-1) < 1e-6 * scale)
    return bool(close or (name.startswith("svd") and np.any(values < 1e-6 * scale)))


def _tied_extremum(a, axis=None, *rest, keepdims=False, **options):
    a = np.asarray(a, dtype=float)
    if a.size == 0:
        return False
    top = np.max(a, axis=axis, keepdims=True)
    bottom = np.min(a, axis=axis, keepdims=True)
    return bool(np.any(np.sum(a == top, axis=axis) > 1) or np.any(
        np.sum(a == bottom, axis=axis) > 1))


def _any_duplicate(a, *rest, **options):
    a = np.ravel(np.asarray(a, dtype=float))
    return np.unique(a).size < a.size


_TIE_CHECKS = {
    **dict.fromkeys(("max", "min", "amax", "amin", "nanmax", "nanmin", "ptp"),
                    _tied_extremum),
    **dict.fromkeys(("maximum", "minimum", "fmax", "fmin"),
                    lambda a, b, *rest, **k: np.any(np.asarray(a) == np.asarray(b))),
    **dict.fromkeys(("median", "nanmedian", "sort", "partition", "percentile", "quantile",
                     "nanpercentile", "nanquantile"), _any_duplicate),
    **dict.fromkeys(("abs", "absolute", "fabs", "sign"),
                    lambda a, *rest, **k: np.any(np.asarray(a) == 0)),
    "copysign": lambda a, b, *rest, **k: np.any(np.asarray(a) == 0) or np.any(
        np.asarray(b) == 0),
    "clip": lambda a, lo=None, hi=None, *rest, **k: np.any(np.asarray(a) == lo) or np.any(
        np.asarray(a) == hi),
}


def _builtin_watched(watch: _TieWatch, extremum):
    """Python's ``max`` or ``min``, noting a tie between its arguments (or items)."""
    def watched(*args, **kwargs):
        items = args[0] if len(args) == 1 else args
        try:
            values = [float(np.asarray(v)) for v in items]
            watch.tied = watch.tied or len(set(values)) < len(values)
        except (TypeError, ValueError):
            pass
        return extremum(*args, **kwargs)

    return watched


def tied_at(function: Callable, module, args) -> bool:
    """Whether ``function(*args)`` meets a tie of the functions above, or of Python's
    ``max`` and ``min``."""
    watch = _TieWatch()
    module.np, saved = watch, module.np
    names = vars(module)
    own = {name: names[name] for name in ("max", "min") if name in names}
    module.max = _builtin_watched(watch, own.get("max", max))
    module.min = _builtin_watched(watch, own.get("min", min))
    try:
        function(*copies(args))
    except Exception:  # noqa: BLE001 - the plain program's errors are reported elsewhere
        return False
    finally:
        module.np = saved
        for name in ("max", "min"):
            if name in own:
                names[name] = own[name]
            else:
                del names[name]
    return watch.tied


# --------------------------------------------------------------------------- trees of inputs


def copies(args):
    out = []
    for a in args:
        if isinstance(a, dict):
            out.append({k: np.copy(w) if isinstance(w, np.ndarray) else w for k, w in a.items()})
        else:
            out.append(np.copy(a) if isinstance(a, np.ndarray) else a)
    return out


def leaves(arg) -> list:
    """The differentiable leaves of one argument, in the order the API keeps for dicts."""
    if isinstance(arg, dict):
        return [arg[k] for k in arg]
    return [arg]


def same(before, after) -> bool:
    for a, b in zip(before, after, strict=True):
        for x, y in zip(leaves(a), leaves(b), strict=True):
            if isinstance(x, np.ndarray):
                if not isinstance(y, np.ndarray) or x.dtype != y.dtype or not np.array_equal(x, y):
                    return False
            elif not (x == y):
                return False
    return True


def shifted(args, position: int, key, entry, step: complex):
    """``args`` with one entry of one leaf moved by ``step``: a real step, or, for a complex
    leaf, a real or an imaginary one (``1j * h``)."""
    moved = copies(args)
    original = args[position] if key is None else args[position][key]
    kind = complex if np.iscomplexobj(original) else float
    value = np.array(original, dtype=kind)
    value[entry] += step
    if not isinstance(original, np.ndarray):
        value = kind(value)
    if key is None:
        moved[position] = value
    else:
        moved[position][key] = value
    return moved


def slots(args, positions):
    """(position, key or None, shape) for every leaf of the arguments at ``positions``."""
    out = []
    for position in positions:
        arg = args[position]
        if isinstance(arg, dict):
            out += [(position, k, np.shape(w)) for k, w in arg.items()]
        else:
            out.append((position, None, np.shape(arg)))
    return out


def numeric_partials(function: Callable, args, positions) -> dict:
    """{(position, key): (d function / d Re leaf, d function / d Im leaf or None for a real
    leaf)}, each shaped out.shape + leaf.shape, by Richardson extrapolated central
    differences; raises Skip near a kink. A real leaf is never moved off the real line
    (the program may not be real-valued there)."""
    center = np.asarray(function(*copies(args)))
    kind = complex if np.iscomplexobj(center) else float
    center = center.astype(kind)
    result = {}
    for position, key, shape in slots(args, positions):
        leaf = args[position] if key is None else args[position][key]
        blocks = []
        for direction in (1.0, 1j) if np.iscomplexobj(leaf) else (1.0,):
            block = np.zeros(center.shape + shape, dtype=kind)
            for entry in np.ndindex(shape):
                values = {}
                for step in (H, 2 * H, -H, -2 * H):
                    moved = shifted(args, position, key, entry, step * direction)
                    values[step] = np.asarray(function(*moved)).astype(kind)
                block[(Ellipsis, *entry)] = richardson(center, values)
            blocks.append(block)
        result[position, key] = (blocks[0], blocks[1] if len(blocks) > 1 else None)
    return result


def numeric_jacobian(function: Callable, args, positions) -> dict:
    """{(position, key): d function / d leaf} of a real-valued function, shaped out.shape +
    leaf.shape: for a complex leaf d/dx + i d/dy (docs/complex.md), for a real one d/dx."""
    return {key: along_x if along_y is None else along_x + 1j * along_y
            for key, (along_x, along_y) in numeric_partials(function, args, positions).items()}


def pulled_back(partials: dict, cotangent) -> dict:
    """The cotangent pulled back through a (complex-valued) function with these partials,
    in the convention of docs/complex.md: the gradient of Re sum(conj(w) * f), packed as
    d/dx + i d/dy for a complex leaf."""
    out = {}
    for key, (along_x, along_y) in partials.items():
        axes = np.ndim(cotangent)
        x_part = np.real(np.tensordot(np.conj(cotangent), along_x, axes))
        out[key] = x_part if along_y is None else x_part + 1j * np.real(
            np.tensordot(np.conj(cotangent), along_y, axes))
    return out


def richardson(center, values):
    """The Richardson-extrapolated central difference from f at 0, ±h, ±2h; raises Skip
    when a kink lies within 2h: the central differences with h and 2h disagree (a kink
    between the points), or the one-sided second-order differences do (a kink at the point,
    which central differences of a piecewise linear function cannot see)."""
    p1, p2, m1, m2 = values[H], values[2 * H], values[-H], values[-2 * H]
    near, far = (p1 - m1) / (2 * H), (p2 - m2) / (4 * H)
    right, left = (-3 * center + 4 * p1 - p2) / (2 * H), (3 * center - 4 * m1 + m2) / (2 * H)
    if not all(np.all(np.isfinite(a)) for a in (near, far, right, left)):
        raise Skip("not finite near the point")
    scale = np.maximum(1.0, np.abs(near))
    if np.max(np.maximum(np.abs(near - far), np.abs(right - left)) / scale, initial=0.0) > KINK:
        raise Skip("a kink near the point")
    return (4 * near - far) / 3


def compare(what: str, got, expected, tolerance: float, kinds: bool = True) -> None:
    """``got`` agrees with ``expected``; with ``kinds``, a complex ``got`` where ``expected``
    is real is wrong too (docs/complex.md: a real argument's gradient is real). Between two
    results (the modes) only the numbers count."""
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            raise Mismatch(f"{what}: expected a dict with keys {sorted(expected)}, got {got!r}")
        for key in expected:
            compare(f"{what}[{key!r}]", got[key], expected[key], tolerance, kinds)
        return
    if np.shape(got) != np.shape(expected):
        raise Mismatch(f"{what}: shape {np.shape(got)}, expected {np.shape(expected)}")
    expected_array = np.asarray(expected)
    try:
        got_array = np.asarray(got)
        if got_array.dtype.kind not in "biufc":
            raise TypeError(got_array.dtype)
    except (TypeError, ValueError) as error:
        raise Mismatch(f"{what}: not an array of numbers: {got!r}") from error
    if kinds and got_array.dtype.kind == "c" and expected_array.dtype.kind != "c":
        # docs/complex.md: a real argument's gradient is real (and so is a real value)
        raise Mismatch(f"{what}: complex ({got_array.dtype}) where a real result is expected: "
                       f"{got!r}")
    if expected_array.dtype.kind == "c" or got_array.dtype.kind == "c":
        scale = np.maximum(1.0, np.maximum(np.abs(expected_array), np.abs(got_array)))
        errors = np.abs(expected_array - got_array) / scale
    else:
        errors = relative_error(np.asarray(expected, float), np.asarray(got, float))
    error = float(np.max(errors, initial=0.0))
    if not error <= tolerance:
        raise Mismatch(f"{what}: relative error {error:.2e}\n  got      {got!r}\n"
                       f"  expected {expected!r}")


def regroup(blocks: dict, args, position, prefix=()):
    """The block(s) for one argument: an array, or a dict of arrays for a dict argument."""
    if isinstance(args[position], dict):
        return {k: blocks[position, k] for k in args[position]}
    return blocks[position, None]


# --------------------------------------------------------------------------- one program


@dataclass
class Outcome:
    check: str
    kind: str  # right, refused, wrong, crash
    detail: str = ""


@dataclass
class Result:
    program: Program
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    skipped: str = ""
    generated: str = ""
    """One of ``GENERATED`` when the check "jvp" ran."""
    jvp_call: tuple | None = None
    """The check "jvp"'s ``(primals, tangents)``, which "rebind jvp" calls again."""

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.kind in ("wrong", "crash")]


def run_check(name: str, body: Callable[[], None], args) -> Outcome:
    before = copies(args)
    try:
        body()
    except autodiffx.AutodiffError as error:
        return Outcome(name, "refused", f"{type(error).__name__}: {str(error).splitlines()[0]}")
    except Mismatch as error:
        return Outcome(name, "wrong", str(error))
    except Skip:
        raise
    except Exception:
        return Outcome(name, "crash", traceback.format_exc(limit=-6))
    if not same(before, args):
        return Outcome(name, "crash", "an input array was mutated")
    return Outcome(name, "right")


def check_program(program: Program, folder: Path, only: str | None = None) -> Result:
    """Every check of ``program`` (or only the check named ``only``)."""
    result = Result(program)
    tag = f"{program.seed}_{program.index}_{abs(hash(program.source)) % 10**8}"
    module = load(program.source, folder, tag)
    rng = np.random.default_rng([program.seed, program.index])
    args = program.inputs.draw(rng)
    reference = as_float64(args)
    float32 = program.inputs.float32
    tolerance = TOLERANCE_32 if float32 else TOLERANCE
    agreement = AGREEMENT_32 if float32 else AGREEMENT
    every = tuple(range(len(args)))
    if program.output != "real":
        special = check_holomorphic if program.output == "holomorphic" else check_complex_valued
        return special(program, module, args, result, rng, only)

    try:
        value = np.asarray(module.g(*copies(reference)))
        if np.iscomplexobj(value):
            raise Skip("a complex value in a real program (a bug of the generator)")
        value = value.astype(float)
        if not np.all(np.isfinite(value)) or np.max(np.abs(value), initial=0.0) > LARGEST:
            raise Skip("the value is too large")
        if tied_at(module.g, module, reference) or tied_at(module.g, module, args):
            raise Skip("a tie at the point (a kink of an intermediate)")
        jacobian = numeric_jacobian(module.g, reference, every)
    except Skip as skip:
        result.skipped = str(skip)
        return result
    except Exception:
        result.skipped = "the plain program raised: " + traceback.format_exc(limit=-1)
        return result
    total = float(np.sum(value))
    gradient = {key: np.sum(block, axis=0) for key, block in jacobian.items()}
    # grad differentiates only program.wrt: the other inputs keep their type there (an
    # integer array copied and stored into truncates what is stored; np.place of a float64
    # into a float32 array raises), so its reference promotes only the differentiated inputs
    at_wrt = [r if i in program.wrt else a
              for i, (a, r) in enumerate(zip(args, reference, strict=True))]
    if any(a is not r for a, r in zip(at_wrt, reference, strict=True)):
        try:
            total = float(np.sum(np.asarray(module.g(*copies(at_wrt)), dtype=float)))
            gradient = {key: np.sum(block, axis=0) for key, block in numeric_jacobian(
                module.g, at_wrt, program.wrt).items()}
        except Exception:
            result.skipped = "the plain program raised: " + traceback.format_exc(limit=-1)
            return result

    def wanted(name: str) -> bool:
        return only is None or only == name

    grads = {}
    results = {}

    def grad_check(mode: str, transform: Callable, expected_value: float, expected: dict):
        def body():
            if mode == "reverse":
                # grad itself, twice, first: a call laid out like the last one may run the
                # gradient without the value (when the value is proved a real scalar)
                plain = autodiffx.grad(module.f, wrt=program.wrt)
                for call in ("first", "second"):
                    again = plain(*copies_args)
                    again = again if isinstance(again, tuple) else (again,)
                    for position, g in zip(program.wrt, again, strict=True):
                        compare(f"grad's {call} call, argument {position}", g,
                                regroup(expected, reference, position), tolerance)
            got_value, got = transform(*copies_args)
            compare(f"value ({mode})", got_value, expected_value, 1e-4 if float32 else 1e-9)
            got = got if isinstance(got, tuple) else (got,)
            for position, g in zip(program.wrt, got, strict=True):
                compare(f"gradient for argument {position} ({mode})", g,
                        regroup(expected, reference, position), tolerance)
            results[mode] = got

        copies_args = copies(args)
        outcome = run_check(f"grad {mode}", body, copies_args)
        return outcome

    for mode in ("reverse", "forward"):
        grads[mode] = autodiffx.value_and_grad(module.f, wrt=program.wrt, mode=mode)
        if wanted(f"grad {mode}") or (only or "").startswith("rebind") or (
                only or "").startswith("hvp"):
            result.outcomes[f"grad {mode}"] = grad_check(mode, grads[mode], total, gradient)
    if {"reverse", "forward"} <= results.keys():
        try:
            for position, a, b in zip(program.wrt, results["reverse"], results["forward"],
                                      strict=True):
                compare(f"forward vs reverse for argument {position}", a, b, agreement,
                        kinds=False)
        except Mismatch as error:
            result.outcomes["grad forward"] = Outcome("grad forward", "wrong", str(error))

    jacobians = {}
    for name, transform in (("jacrev", autodiffx.jacrev), ("jacfwd", autodiffx.jacfwd)):
        if not wanted(name):
            continue

        def body(transform=transform, name=name, inputs=None):
            got = transform(module.g, wrt=every)(*inputs)
            for position, block in zip(every, got, strict=True):
                compare(f"{name} block {position}", block, regroup(jacobian, reference, position),
                        tolerance)
            jacobians[name] = got

        inputs = copies(args)
        result.outcomes[name] = run_check(name, lambda b=body, i=inputs: b(inputs=i), inputs)
    if {"jacrev", "jacfwd"} <= jacobians.keys():
        try:
            for position, a, b in zip(every, jacobians["jacrev"], jacobians["jacfwd"],
                                      strict=True):
                compare(f"jacrev vs jacfwd for argument {position}", a, b, agreement,
                        kinds=False)
        except Mismatch as error:
            result.outcomes["jacfwd"] = Outcome("jacfwd", "wrong", str(error))

    if wanted("vjp"):
        cotangent = rng.uniform(-1, 1, value.shape)

        def vjp_body(inputs):
            got_value, pullback = autodiffx.vjp(module.g, *inputs)
            compare("vjp value", got_value, value, 1e-4 if float32 else 1e-9)
            got = pullback(cotangent)
            for position, g in zip(every, got, strict=True):
                expected = regroup(jacobian, reference, position)
                expected = ({k: np.tensordot(cotangent, w, axes=1) for k, w in expected.items()}
                            if isinstance(expected, dict) else np.tensordot(cotangent, expected, 1))
                compare(f"vjp cotangent for argument {position}", g, expected, tolerance)

        inputs = copies(args)
        result.outcomes["vjp"] = run_check("vjp", lambda: vjp_body(inputs), inputs)

    if wanted("jvp"):
        check_jvp(module, reference, jacobian, float(np.sum(value)), result,
                  np.random.default_rng([program.seed, program.index, 7]))

    hvp_here = only in ("hvp reverse", "hvp forward") or (
        only is None and rng.uniform() < HVP_SHARE)
    for mode in ("reverse", "forward"):
        name = f"hvp {mode}"
        if not hvp_here or not wanted(name):
            continue
        if result.outcomes.get(f"grad {mode}", Outcome("", "")).kind != "right" or (
                program.wrt != every):
            continue
        tangents = [direction(rng, a) for a in reference]
        try:
            expected = numeric_hvp(grads[mode], reference, tangents)
        except Skip:
            continue
        except Exception:
            continue

        def hvp_body(inputs, mode=mode, expected=expected, tangents=tangents):
            got = autodiffx.hvp(module.f, inputs, tangents, mode=mode)
            got = got if isinstance(got, tuple) else (got,)
            for position, a, b in zip(every, got, expected, strict=True):
                compare(f"hvp ({mode}) for argument {position}", a, b,
                        tolerance)

        inputs = copies(args)
        result.outcomes[name] = run_check(name, lambda h=hvp_body, i=inputs: h(i), inputs)

    edit_here = only == "grad after edit" or (only is None and rng.uniform() < EDIT_SHARE)
    if edit_here and result.outcomes.get("grad reverse", Outcome("", "")).kind == "right":
        # The file is edited after import, before the first transform: reverse mode must
        # differentiate the code that runs (f as imported), or refuse; never the new text.
        fresh_module = load(program.source, folder, tag + "_edited")
        path = Path(fresh_module.__file__)
        path.write_text(program.source.replace("    return ", "    return 2.0 * ", 1))

        def edited_body(inputs):
            got_value, got = autodiffx.value_and_grad(fresh_module.f, wrt=program.wrt)(
                *inputs)
            compare("value after the file was edited", got_value, total,
                    1e-4 if float32 else 1e-9)
            got = got if isinstance(got, tuple) else (got,)
            for position, gr in zip(program.wrt, got, strict=True):
                compare(f"gradient after the file was edited, argument {position}", gr,
                        regroup(gradient, reference, position), tolerance)

        inputs = copies(args)
        result.outcomes["grad after edit"] = run_check(
            "grad after edit", lambda: edited_body(inputs), inputs)

    alias_here = (only or "").startswith("aliased") or (
        only is None and rng.uniform() < ALIAS_SHARE)
    if alias_here:
        check_aliased(program, module, reference, result, only, tolerance)
    if (only or "global aliased").startswith("global aliased"):
        check_global_aliased(program, module, reference, result, only, tolerance)

    if program.rebinds and (only is None or only.startswith("rebind")):
        module.rebind()
        try:
            value2 = np.asarray(module.g(*copies(at_wrt)), dtype=float)
            jacobian2 = numeric_jacobian(module.g, at_wrt, program.wrt)
        except Exception:
            return result
        total2 = float(np.sum(value2))
        gradient2 = {key: np.sum(block, axis=0) for key, block in jacobian2.items()}
        for mode in ("reverse", "forward"):
            name = f"rebind {mode}"
            if not wanted(name) or result.outcomes[f"grad {mode}"].kind != "right":
                continue
            fresh = autodiffx.value_and_grad(module.f, wrt=program.wrt, mode=mode)

            def rebind_body(inputs, mode=mode, fresh=fresh):
                for transform, which in ((grads[mode], "the same grad"), (fresh, "a new grad")):
                    got_value, got = transform(*copies(inputs))
                    compare(f"value after rebind ({which}, {mode})", got_value, total2,
                            1e-4 if float32 else 1e-9)
                    got = got if isinstance(got, tuple) else (got,)
                    for position, gr in zip(program.wrt, got, strict=True):
                        compare(f"gradient after rebind for argument {position} ({which})",
                                gr, regroup(gradient2, reference, position), tolerance)

            inputs = copies(args)
            result.outcomes[name] = run_check(name, lambda r=rebind_body, i=inputs: r(i), inputs)
        if result.jvp_call is not None and wanted("rebind jvp") and result.outcomes[
                "jvp"].kind == "right":
            check_rebind_jvp(module, reference, every, result)
    return result


def contracted(jacobian: dict, reference, tangents) -> float:
    """The derivative of the sum of ``g`` along ``tangents``, from its numeric Jacobian."""
    expected = 0.0
    for position, tangent in enumerate(tangents):
        block = regroup(jacobian, reference, position)
        pairs = ([(np.sum(block[k], axis=0), tangent[k]) for k in block]
                 if isinstance(block, dict) else [(np.sum(block, axis=0), tangent)])
        for partial, t in pairs:
            # a real f of a complex z = x + iy: df = dx . df/dx + dy . df/dy, and the
            # partial is packed df/dx + i df/dy (docs/complex.md)
            expected += float(np.sum(np.real(np.conj(partial) * t)))
    return expected


def check_rebind_jvp(module, reference, every, result: Result) -> None:
    """``jvp`` of ``f`` after ``rebind()``, with the check "jvp"'s arguments (the float64
    reference): the generated code made before the rebinding (the check ran ``jvp`` twice,
    so it was made) must see the new binding (its guard), or the dual numbers run."""
    primals, tangents = result.jvp_call
    try:
        total = float(np.sum(module.g(*copies(reference))))
        expected = contracted(numeric_jacobian(module.g, reference, every), reference,
                              tangents)
    except Exception:  # noqa: BLE001 - the plain program raises at the new binding
        return

    def body(inputs):
        got_value, got = autodiffx.jvp(module.f, inputs, tangents)
        compare("jvp value after rebind", got_value, total, 1e-9)
        compare("jvp tangent after rebind", got, expected, TOLERANCE)

    inputs = copies(primals)
    result.outcomes["rebind jvp"] = run_check("rebind jvp", lambda: body(inputs), inputs)


def check_jvp(module, reference, jacobian: dict, total: float, result: Result,
              rng: np.random.Generator) -> None:
    """``jvp`` of ``f`` (the sum of the contributions) along random tangents for every
    argument (a dict argument gets a dict of tangents): the generated JVP where it is
    written (:mod:`autodiffx.reverse.jvp`), against the numeric Jacobian of ``g``
    contracted with the tangents and against the same ``jvp`` on dual numbers
    (``generated.enable(False)``). ``result.generated`` records whether the generated code
    was written and ran. The point is the reference, integer and float32 inputs promoted
    to float64 (as the API promotes integers; the other checks call with them as drawn):
    the generated JVP takes float64 arrays and Python floats only, so it is tried on every
    program without a dict or complex input. The tangents come from a stream of their own
    (``rng``), so the other checks draw what they drew before this one existed."""
    args = reference
    tangents = [{k: direction(rng, w) for k, w in a.items()} if isinstance(a, dict)
                else direction(rng, a) for a in args]
    expected = contracted(jacobian, reference, tangents)
    primals = copies(args)
    result.jvp_call = (copies(args), tangents)
    try:
        if generated.code_for(module.f, primals, tangents) is None:
            result.generated = "declined"
        else:
            result.generated = "raised" if generated.jvp(
                module.f, copies(primals), tangents) is None else "written"
    except Exception:  # noqa: BLE001 - jvp meets it again below, where it is a crash
        result.generated = "raised"

    def body(inputs):
        got_value, got = autodiffx.jvp(module.f, inputs, tangents)
        compare("jvp value", got_value, total, 1e-9)
        compare("jvp tangent", got, expected, TOLERANCE)
        previous = generated.enable(False)
        try:
            dual_value, dual = autodiffx.jvp(module.f, copies(inputs), tangents)
        except autodiffx.AutodiffError:
            if result.generated != "written":
                raise
            return  # the generated code's tangent is right where the dual numbers refuse
        finally:
            generated.enable(previous)
        compare("jvp value, dual numbers", dual_value, total, 1e-9)
        compare(f"jvp tangent ({result.generated}) vs dual numbers", got, dual, AGREEMENT,
                kinds=False)

    result.outcomes["jvp"] = run_check("jvp", lambda: body(primals), primals)


def check_aliased(program: Program, module, reference, result: Result, only, tolerance):
    """``grad`` of ``f`` called with one argument a view of another (``f(m[0], m)``,
    ``f(w, w)``, as users call it): NumPy's function then sees a write through one argument
    in the other. Where neither of the two is differentiated, the gradient is that of the
    function as it runs, with the two sharing memory. Else, where the sharing changes the
    value (the value differs from the same call with separate copies) no gradient is right
    and each mode must refuse; where it does not, the gradient is that of the separate call
    (each argument perturbed alone, as central differences do), or a refusal."""
    pair = next(((i, j) for i, a in enumerate(reference) for j, b in enumerate(reference)
                 if i != j and type(a) is np.ndarray and type(b) is np.ndarray
                 and a.dtype == b.dtype == np.float64 and a.ndim >= b.ndim
                 and a.shape[a.ndim - b.ndim:] == b.shape and (a.ndim > b.ndim or i < j)),
                None)
    if pair is None:
        return
    i, j = pair
    index = (0,) * (reference[i].ndim - reference[j].ndim) + (Ellipsis,)  # a view of i

    def aliased(values):
        out = copies(values)
        out[j] = out[i][index]
        return out

    separate = copies(reference)
    separate[j] = np.copy(separate[i][index])  # the point: what the view holds
    # Neither shared argument differentiated: the gradient is that of the function with
    # the two sharing memory, as it runs (they are constants). Else: the separate call's.
    _check_shared_call(program, module, result, only, tolerance, "aliased", separate,
                       aliased, i not in program.wrt and j not in program.wrt,
                       f"argument {j} a view of argument {i}", watched=i)


def _check_shared_call(program: Program, module, result: Result, only, tolerance,
                       check: str, separate: list, sharing: Callable[[list], list],
                       constants: bool, what: str, reset: Callable[[], None] = lambda: None,
                       watched: int | None = None):
    """The checks ``check`` reverse/forward of a call ``sharing(separate)`` in which some
    memory has two names (``what`` says which), against the same call on ``separate``
    copies: where the values differ (and a name differentiated), each mode must refuse;
    else the gradient is the separate call's, or, with ``constants`` (no shared argument
    differentiated), that of the function as it runs with the sharing. ``reset()`` runs
    before each evaluation; input ``watched`` must come back unchanged."""

    def plain(*values):
        reset()
        return module.g(*(sharing(list(values)) if constants else values))

    try:
        reset()
        apart = float(np.sum(np.asarray(module.g(*copies(separate)), dtype=float)))
        reset()
        together = float(np.sum(np.asarray(module.g(*sharing(separate)), dtype=float)))
        gradient = {key: np.sum(block, axis=0) for key, block in numeric_jacobian(
            plain, separate, program.wrt).items()}
    except Exception:  # a kink at the new point, or the plain program raises there
        return
    diverges = not constants and not _close(apart, together)
    for mode in ("reverse", "forward"):
        name = f"{check} {mode}"
        if only is not None and only != name:
            continue

        def body(mode=mode):
            reset()
            inputs = sharing(separate)
            before = None if watched is None else np.copy(inputs[watched])
            try:
                got_value, got = autodiffx.value_and_grad(module.f, wrt=program.wrt,
                                                          mode=mode)(*inputs)
            finally:
                if before is not None and not np.array_equal(inputs[watched], before):
                    raise RuntimeError("the shared input array was mutated")
            if diverges:
                raise Mismatch(f"{what}: the value is {together} where separate copies "
                               f"give {apart}, so no gradient is right, yet {mode} mode "
                               f"gave one (value {got_value})")
            compare(f"value, {what} ({mode})", got_value, together, 1e-9)
            got = got if isinstance(got, tuple) else (got,)
            for position, g in zip(program.wrt, got, strict=True):
                compare(f"gradient for argument {position}, {what} ({mode})", g,
                        regroup(gradient, separate, position), tolerance)

        result.outcomes[name] = run_check(name, body, separate)
    reset()


def check_global_aliased(program: Program, module, reference, result: Result, only,
                         tolerance):
    """``grad`` of ``f`` called with an argument being a global array that a function of
    the program writes into (the construct "helper writes a global array"), as a user
    passing ``G`` to a function whose helper updates ``G``: NumPy's function sees the
    write in the argument. Where the value differs from the same call with a separate
    copy, no gradient is right and each mode must refuse; where it does not, the gradient
    is the separate call's (or a refusal), as :func:`check_aliased` says. The global is
    set before each call to values the helper's write changes."""
    names = sorted(name for name, value in vars(module).items()
                   if name.startswith("WG") and type(value) is np.ndarray)
    if not names:
        return
    shared = getattr(module, names[0])
    position = next((k for k, a in enumerate(reference) if type(a) is np.ndarray
                     and a.dtype == np.float64 and a.shape == shared.shape), None)
    if position is None:
        return
    start = np.array([-0.3, 1.25, 0.8])  # (no helper writes these values)

    def reset():
        for name in names:
            getattr(module, name)[...] = start

    def sharing(values):
        out = copies(values)
        out[position] = shared
        return out

    separate = copies(reference)
    separate[position] = start.copy()
    _check_shared_call(program, module, result, only, tolerance, "global aliased", separate,
                       sharing, position not in program.wrt,
                       f"argument {position} the global {names[0]}, which a helper writes "
                       "into", reset=reset)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def direction(rng: np.random.Generator, a):
    """A random tangent for the argument ``a``: complex for a complex one."""
    shape = np.shape(a)
    t = rng.uniform(-1, 1, shape)
    if np.iscomplexobj(a):
        t = t + 1j * rng.uniform(-1, 1, shape)
    return t if np.ndim(a) else (complex(t) if np.iscomplexobj(a) else float(t))


def check_complex_valued(program: Program, module, args, result: Result, rng,
                         only: str | None) -> Result:
    """A program whose value is complex: ``grad`` must refuse it in each mode, with a
    ComplexOutputError (right) or another AutodiffError (refused), never return a gradient;
    ``vjp`` of ``g`` (complex values) pulls a complex cotangent back to the gradient of
    Re sum(conj(w) g), packed as d/dx + i d/dy for a complex input."""
    reference = as_float64(args)
    every = tuple(range(len(args)))
    try:
        value = np.asarray(module.g(*copies(reference)))
        if not np.all(np.isfinite(value)) or np.max(np.abs(value), initial=0.0) > LARGEST:
            raise Skip("the value is too large")
        if tied_at(module.g, module, reference) or tied_at(module.g, module, args):
            raise Skip("a tie at the point (a kink of an intermediate)")
        if not np.iscomplexobj(module.f(*copies(reference))):
            raise Skip("a real value in a complex-valued program (a bug of the generator)")
        # on the inputs as given too: an integer array updated in place with floats
        # (v -= np.mean(v)) raises in NumPy itself, whatever autodiffx does
        module.f(*copies(args))
        partials = numeric_partials(module.g, reference, every) if only in (None, "vjp") else {}
    except Skip as skip:
        result.skipped = str(skip)
        return result
    except Exception:
        result.skipped = "the plain program raised: " + traceback.format_exc(limit=-1)
        return result
    tolerance = TOLERANCE_32 if program.inputs.float32 else TOLERANCE

    for mode in ("reverse", "forward"):
        name = f"complex-valued {mode}"
        if only not in (None, name):
            continue

        def body(inputs, mode=mode):
            got = autodiffx.value_and_grad(module.f, wrt=program.wrt, mode=mode)(*inputs)
            raise Mismatch(f"grad of a complex-valued function returned {got!r}")

        inputs = copies(args)
        outcome = run_check(name, lambda b=body, i=inputs: b(i), inputs)
        if outcome.kind == "refused" and outcome.detail.startswith("ComplexOutputError"):
            outcome.kind = "right"
        result.outcomes[name] = outcome

    if only in (None, "vjp"):
        cotangent = rng.uniform(-1, 1, value.shape) + 1j * rng.uniform(-1, 1, value.shape)
        _check_complex_vjp(module, args, result, value, partials, cotangent, every,
                           reference, 1e-4 if program.inputs.float32 else 1e-9, tolerance)
    return result


def _check_complex_vjp(module, args, result: Result, value, partials, cotangent, every,
                       reference, value_tolerance, tolerance) -> None:
    """``vjp`` of the complex-valued ``module.g`` with a complex cotangent w, against the
    partials pulled back along w (the gradient of Re sum(conj(w) g))."""

    def vjp_body(inputs):
        got_value, pullback = autodiffx.vjp(module.g, *inputs)
        compare("vjp value", got_value, value, value_tolerance)
        got = pullback(cotangent)
        expected = pulled_back(partials, cotangent)
        for position, g in zip(every, got, strict=True):
            compare(f"vjp cotangent for argument {position}", g,
                    regroup(expected, reference, position), tolerance)

    inputs = copies(args)
    result.outcomes["vjp"] = run_check("vjp", lambda: vjp_body(inputs), inputs)


def check_holomorphic(program: Program, module, args, result: Result, rng,
                      only: str | None) -> Result:
    """A holomorphic program of complex inputs: ``grad(f, holomorphic=True)`` in each mode
    against the complex derivative f'(z) = df/dx by central differences (and df/dy = i f'(z)
    checked first, that the program is holomorphic), and the modes against each other;
    ``vjp`` of ``g`` as for a complex-valued program."""
    every = tuple(range(len(args)))
    try:
        value = np.asarray(module.f(*copies(args)))
        if not np.all(np.isfinite(value)) or np.max(np.abs(value), initial=0.0) > LARGEST:
            raise Skip("the value is too large")
        if tied_at(module.g, module, args):
            raise Skip("a tie at the point (a kink of an intermediate)")
        partials = numeric_partials(module.f, args, program.wrt)
        for along_x, along_y in partials.values():
            scale = np.maximum(1.0, np.abs(along_x))
            if np.max(np.abs(along_y - 1j * along_x) / scale, initial=0.0) > 1e-5:
                raise Skip("not holomorphic at the point (a bug of the generator, or a branch)")
    except Skip as skip:
        result.skipped = str(skip)
        return result
    except Exception:
        result.skipped = "the plain program raised: " + traceback.format_exc(limit=-1)
        return result
    derivative = {key: along_x for key, (along_x, _) in partials.items()}
    results = {}
    for mode in ("reverse", "forward"):
        name = f"holomorphic {mode}"
        if only not in (None, name):
            continue

        def body(inputs, mode=mode):
            got_value, got = autodiffx.value_and_grad(module.f, wrt=program.wrt, mode=mode,
                                                      holomorphic=True)(*inputs)
            compare(f"value ({mode}, holomorphic)", got_value, value, 1e-9)
            got = got if isinstance(got, tuple) else (got,)
            for position, g in zip(program.wrt, got, strict=True):
                compare(f"f'(z) for argument {position} ({mode})", g,
                        regroup(derivative, args, position), TOLERANCE)
            results[mode] = got

        inputs = copies(args)
        result.outcomes[name] = run_check(name, lambda b=body, i=inputs: b(i), inputs)
    if {"reverse", "forward"} <= results.keys():
        try:
            for position, a, b in zip(program.wrt, results["reverse"], results["forward"],
                                      strict=True):
                compare(f"forward vs reverse for argument {position}", a, b, AGREEMENT,
                        kinds=False)
        except Mismatch as error:
            result.outcomes["holomorphic forward"] = Outcome("holomorphic forward", "wrong",
                                                             str(error))
    if only in (None, "vjp"):
        try:
            value_g = np.asarray(module.g(*copies(args)))
            partials_g = numeric_partials(module.g, args, every)
        except Skip:
            return result
        cotangent = rng.uniform(-1, 1, value_g.shape) + 1j * rng.uniform(-1, 1, value_g.shape)
        _check_complex_vjp(module, args, result, value_g, partials_g, cotangent, every, args,
                           1e-9, TOLERANCE)
    return result


def numeric_hvp(gradient: Callable, args, tangents):
    """d/dt gradient(args + t * tangents) at 0, by Richardson-extrapolated central
    differences of a gradient function (a value_and_grad)."""
    def at(step):
        moved = []
        for a, t in zip(args, tangents, strict=True):
            moved.append(a + step * t if isinstance(a, np.ndarray) else type(a)(a + step * t))
        got = gradient(*moved)[1]
        return [np.asarray(g) for g in (got if isinstance(got, tuple) else (got,))]

    center = at(0.0)
    values = {step: at(step) for step in (H, 2 * H, -H, -2 * H)}
    return [richardson(center[i], {s: v[i] for s, v in values.items()})
            for i in range(len(center))]


# --------------------------------------------------------------------------- shrinking


def shrink(program: Program, check: str, kind: str, folder: Path) -> Program:
    """A smaller program that still gives ``kind`` in ``check``: constructs removed one at a
    time, then all of them replaced by the ``plain`` construct, then each input made plain."""

    def fails(candidate: Program) -> bool:
        try:
            outcome = check_program(candidate, folder, only=check).outcomes.get(check)
        except Exception:
            return False
        return outcome is not None and outcome.kind == kind

    current = program
    changed = True
    while changed and len(current.constructs) > 1:
        changed = False
        for drop in range(len(current.constructs)):
            keep = [i for i in range(len(current.constructs)) if i != drop]
            candidate = render(current, keep)
            if fails(candidate):
                current, changed = candidate, True
                break
    if current.names != ["plain"]:
        candidate = render(current, constructs=[("plain", 0)])
        if fails(candidate):
            current = candidate
    changed = True
    while changed:
        changed = False
        for inputs in current.inputs.simpler():
            wrt = tuple(i for i in current.wrt if i < len(inputs.names))
            candidate = render(Program(current.seed, current.index, inputs, current.constructs,
                                       wrt or (0,), output=current.output))
            if fails(candidate):
                current, changed = candidate, True
                break
    return current


def failure_class(program: Program) -> str:
    """The constructs of a (shrunk) program and its unusual inputs."""
    names = sorted(set(program.names) - {"plain"})
    output = [] if program.output == "real" else [f"output {program.output}"]
    return " + ".join(names + program.inputs.unusual() + output) or "plain"


# --------------------------------------------------------------------------- many programs


@dataclass
class Failure:
    program: Program
    outcome: Outcome
    minimal: Program
    known: bool

    @property
    def klass(self) -> str:
        return failure_class(self.minimal)


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    internal: list = field(default_factory=list)
    """Refusals that are the library's own errors (NumPy failing in generated adjoint code,
    reported as a UserCodeError that asks to be reported): (program, outcome)."""

    def checked(self) -> list[Result]:
        return [r for r in self.results if not r.skipped]


def is_known(klass: str, check: str, known_open: dict) -> bool:
    family = FAMILY[check]
    if check in known_open and check in known_open[check][0]:
        return True  # a bug of the check itself, whatever the program
    for construct in klass.split(" + "):
        entry = known_open.get(construct)
        if entry is not None and (family in entry[0] or check in entry[0]):
            return True
    return False


def run_many(seed: int, count: int, folder: Path, known_open: dict,
             shrink_limit: int = 3, progress: Callable[[int], None] | None = None,
             shrink_known: bool = True) -> Run:
    """Check programs 0 .. count-1 of ``seed``, and shrink each failing program to its
    class (at most ``10 * shrink_limit`` shrinks per check and kind of failure; the same
    constructs and inputs are shrunk once). With ``shrink_known=False`` a failing program
    that already holds a known open class for that check is counted as that class without
    shrinking (faster; a new bug it hides also shows in programs without the known one)."""
    run = Run()
    shrunk: dict[tuple[str, str, str], Program] = {}
    shrinks: Counter = Counter()
    for index in range(count):
        program = draw_program(seed, index)
        result = check_program(program, folder)
        run.results.append(result)
        for outcome in result.failures():
            key = (outcome.check, outcome.kind, failure_class(program))
            if not shrink_known and is_known(failure_class(program), outcome.check,
                                             known_open):
                shrunk.setdefault(key, program)
            if key not in shrunk:
                if shrinks[outcome.check, outcome.kind] < 10 * shrink_limit:
                    shrinks[outcome.check, outcome.kind] += 1
                    shrunk[key] = shrink(program, outcome.check, outcome.kind, folder)
                else:
                    shrunk[key] = program
            minimal = shrunk[key]
            run.failures.append(Failure(program, outcome, minimal,
                                        is_known(failure_class(minimal), outcome.check,
                                                 known_open)))
        for outcome in result.outcomes.values():
            if outcome.kind == "refused":
                run.errors[outcome.detail.split(":")[0]] += 1
                if INTERNAL in outcome.detail:
                    run.internal.append((program, outcome))
        if progress is not None:
            progress(index)
    return run


def refusal_table(run: Run) -> str:
    """Per construct (and input feature): programs containing it, then for each check the
    share refused, and the failures (wrong or crash) it took part in."""
    columns = list(CHECKS)
    short = ["rev", "fwd", "jacrev", "jacfwd", "vjp", "hvp-r", "hvp-f", "reb-r", "reb-f", "edit",
             "al-r", "al-f", "gal-r", "gal-f", "cv-r", "cv-f", "hol-r", "hol-f", "jvp",
             "reb-j"]
    stats: dict[str, dict] = defaultdict(lambda: {"n": 0, "c": Counter(), "r": Counter(),
                                                  "bad": Counter(), "gen": Counter()})
    for result in run.checked():
        for feature in result.program.features():
            row = stats[feature]
            row["n"] += 1
            if result.generated:
                row["gen"][result.generated] += 1
            for name, outcome in result.outcomes.items():
                row["c"][name] += 1
                if outcome.kind == "refused":
                    row["r"][name] += 1
                elif outcome.kind in ("wrong", "crash"):
                    row["bad"][name] += 1
    width = max([len(f) for f in stats] + [10])
    header = f"{'construct':<{width}} {'progs':>5} " + " ".join(
        f"{s:>6}" for s in [*short, "gen-w", "gen-x"])
    lines = [
        "refused % per check (wrong+crash count in brackets when any); '-' = not run;",
        "gen-w: % of the programs checked by jvp whose generated JVP was written and ran (the",
        "rest declined), gen-x: how many had generated code that raised (dual numbers ran)",
        header, "-" * len(header)]
    def order(feature: str) -> tuple:
        complex_feature = feature.startswith(("complex:", "holomorphic:", "output")) or (
            "complex" in feature and feature.startswith("input"))
        return complex_feature, feature.startswith(("input", "output")), feature

    for feature in sorted(stats, key=order):
        row = stats[feature]
        cells = []
        for column in columns:
            n = row["c"][column]
            if not n:
                cells.append(f"{'-':>6}")
                continue
            text = f"{100 * row['r'][column] / n:.0f}"
            if row["bad"][column]:
                text += f"[{row['bad'][column]}]"
            cells.append(f"{text:>6}")
        generated_count = sum(row["gen"].values())
        cells.append(f"{100 * row['gen']['written'] / generated_count:>6.0f}"
                     if generated_count else f"{'-':>6}")
        cells.append(f"{row['gen']['raised']:>6}" if generated_count else f"{'-':>6}")
        lines.append(f"{feature:<{width}} {row['n']:>5} " + " ".join(cells))
    return "\n".join(lines)


def summary(run: Run) -> str:
    outcomes = Counter()
    for result in run.checked():
        for outcome in result.outcomes.values():
            outcomes[outcome.check, outcome.kind] += 1
    skipped = Counter(r.skipped.split(":")[0] for r in run.results if r.skipped)
    lines = [f"programs: {len(run.results)}, checked: {len(run.checked())}, "
             f"skipped: {dict(skipped)}"]
    for check in CHECKS:
        parts = {k: outcomes[check, k] for k in ("right", "refused", "wrong", "crash")}
        if any(parts.values()):
            lines.append(f"  {check:<15} " + "  ".join(f"{k} {v:>5}" for k, v in parts.items()))
    generated_counts = Counter(r.generated for r in run.checked() if r.generated)
    if generated_counts:
        lines.append("  generated JVP    " + "  ".join(
            f"{k} {generated_counts[k]:>5}" for k in GENERATED))
    if run.internal:
        by_class = Counter(failure_class(program) for program, _ in run.internal)
        lines.append(f"  refusals that are internal errors (NumPy failed in the adjoint sweep): "
                     f"{len(run.internal)}, in programs with {dict(by_class.most_common(8))}")
    return "\n".join(lines)


def failure_report(run: Run, show_known: bool = True, limit: int = 1000) -> str:
    classes: dict[tuple[str, str, str], list[Failure]] = defaultdict(list)
    for failure in run.failures:
        if failure.known and not show_known:
            continue
        classes[failure.klass, failure.outcome.check, failure.outcome.kind].append(failure)
    lines = []
    for (klass, check, kind), items in sorted(classes.items())[:limit]:
        first = items[0]
        state = "known open" if first.known else "NEW"
        lines.append(f"=== [{state}] {kind} in {check}: {klass} ({len(items)} programs)")
        lines.append(f"inputs: {first.minimal.inputs}, wrt={first.minimal.wrt}, "
                     f"seed={first.program.seed}, index={first.program.index}")
        detail = check_program(first.minimal, _folder_of(run), only=check).outcomes.get(check)
        lines.append((detail or first.outcome).detail.rstrip())
        lines.append(first.minimal.source)
    return "\n".join(lines)


_FOLDERS: dict[int, Path] = {}


def _folder_of(run: Run) -> Path:
    return _FOLDERS[id(run)]


def run_and_report(seed: int, count: int, folder: Path, known_open: dict, **kw) -> Run:
    run = run_many(seed, count, folder, known_open, **kw)
    _FOLDERS[id(run)] = folder
    return run
