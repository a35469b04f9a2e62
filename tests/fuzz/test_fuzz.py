"""The program fuzzer: random NumPy programs differentiated both ways and numerically.

Each example is one program from :func:`tests.fuzz.generator.programs`, written to a file in
a private temporary folder and imported, so reverse mode reads its source like any user's.
At one random point (``x`` scalar, ``v`` of shape (3,), ``m`` of shape (2, 3), entries in
[-2, 2]) three gradients with respect to all three arguments must agree:

1. reverse mode, ``autodiffx.grad(f, wrt=program.wrt)`` (usually all three arguments, at
   times a subset, which leaves the others as plain constants);
2. forward mode, the same with ``mode="forward"``;
3. central differences with Richardson extrapolation.

**The tolerance, once for all programs.** The numeric gradient is
N = (4 D(h) - D(2h)) / 3 with D(h) = (f(x + h) - f(x - h)) / 2h and h = 1e-4. Its
truncation error is h^4 |f'''''| / 30, about 3e-18 |f'''''|, and its rounding error about
eps |f| / h = 2e-12 |f|. The generator keeps every value below about 40 in magnitude (a
larger expression is squashed with tanh), and points with |f| > 1e4 are skipped, so both
terms stay far below ``TOLERANCE = 1e-6`` on the lecture's relative error
|num - grad| / max(1, |num|, |grad|). Forward and reverse mode apply the same rules, so they
agree to ``AGREEMENT = 1e-9`` (what is left is summation order).

**Kinks.** The program's watched twin records, at the point and at each of the (up to 40)
shifted points, the distance to every kink it passes (a comparison in ``if``/``while``/``np.where``,
``np.abs``, ``np.maximum``, ``max``, ``np.clip``, ``np.max``, the norm at 0) and which side it
is on. A point within ``KINK_MARGIN = 1e-3`` of a kink, or whose shifted points take another
side anywhere, is rejected with ``hypothesis.assume``: it is not a pass, and hypothesis
draws another program (``max_examples`` counts only the programs that were checked).

Every failure found is shrunk by hypothesis and kept in ``regressions.py``.
"""

from __future__ import annotations

import traceback

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.check import relative_error

from .generator import Program, load, programs

H = 1e-4
TOLERANCE = 1e-6
AGREEMENT = 1e-9
KINK_MARGIN = 1e-3
LARGEST_VALUE = 1e4

FUZZ = dict(
    deadline=None,
    suppress_health_check=[
        HealthCheck.filter_too_much,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
    print_blob=True,
    report_multiple_bugs=False,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A private temporary folder for the generated modules."""
    return tmp_path_factory.mktemp("fuzz-programs")


def draw_inputs(seed: int):
    rng = np.random.default_rng(seed)
    return float(rng.uniform(-2, 2)), rng.uniform(-2, 2, 3), rng.uniform(-2, 2, (2, 3))


def copies(args):
    """Fresh copies of the inputs; a Python float stays a Python float."""
    return [a if isinstance(a, float) else np.copy(a) for a in args]


def numeric_gradient(watched, monitor, args, wrt, base_trace):
    """Richardson-extrapolated central differences; every shifted point must stay on the
    base point's side of every kink (else the point is rejected)."""
    gradients = []
    for position in wrt:
        arg = args[position]
        array = np.array(arg, dtype=float)
        gradient = np.zeros_like(array)
        for entry in np.ndindex(array.shape):
            slopes = []
            for step in (H, 2 * H):
                values = []
                for sign in (1.0, -1.0):
                    shifted = array.copy()
                    shifted[entry] += sign * step
                    moved = list(args)
                    moved[position] = float(shifted) if np.ndim(arg) == 0 else shifted
                    monitor.reset()
                    values.append(watched(*copies(moved)))
                    assume(monitor.trace == base_trace)
                slopes.append((values[0] - values[1]) / (2 * step))
            gradient[entry] = (4 * slopes[0] - slopes[1]) / 3
        gradients.append(float(gradient) if np.ndim(arg) == 0 else gradient)
    return gradients


def _fail_here(failure: str | None) -> None:
    """Fail at one fixed place, outside any ``except``: hypothesis tells failures apart by
    where they were raised (and what they were raised from), and generated modules get a new
    name on every run, which would make each replay look like a different failure."""
    if failure is not None:
        raise AssertionError(failure)


def check_program(program: Program, seed: int, folder) -> None:
    """The three gradients of ``program`` at the point drawn from ``seed`` agree."""
    note(program.source)
    module = load(program.source, folder)
    args = draw_inputs(seed)
    note(f"inputs: {args!r}")
    monitor = module._K

    monitor.reset()
    value = module.f_watched(*copies(args))
    base_trace = list(monitor.trace)
    assume(monitor.margin >= KINK_MARGIN)
    assume(np.isfinite(value) and abs(value) < LARGEST_VALUE)
    assert module.f(*copies(args)) == value, "the watched twin differs"
    numeric = numeric_gradient(module.f_watched, monitor, args, program.wrt, base_trace)
    names = ["xvm"[i] for i in program.wrt]

    inputs = copies(args)
    failure = None
    try:
        reverse_value, reverse = autodiffx.value_and_grad(module.f, wrt=program.wrt)(*inputs)
    except Exception:
        failure = "reverse mode raised:\n" + traceback.format_exc()
    _fail_here(failure)
    for after, arg in zip(inputs, args, strict=True):
        np.testing.assert_array_equal(after, arg, err_msg="reverse mode changed an input")
    np.testing.assert_allclose(reverse_value, value, rtol=1e-12, atol=1e-12)

    inputs = copies(args)
    try:
        forward_value, forward = autodiffx.value_and_grad(
            module.f, wrt=program.wrt, mode="forward"
        )(*inputs)
    except autodiffx.DerivativeConversionError as error:
        # Documented: forward mode cannot update in place an array that holds no derivative
        # (np.zeros(3), a constant); the hint says to start from np.zeros_like(x).
        assert program.forward_may_refuse, f"forward mode refused a program: {error}"
        assert "np.zeros_like" in str(error) or "np.stack" in str(error), str(error)
        forward_value, forward = None, None
        event("forward mode refused an in-place update of a plain array (documented)")
    except Exception:
        failure = "forward mode raised:\n" + traceback.format_exc()
    _fail_here(failure)
    for after, arg in zip(inputs, args, strict=True):
        np.testing.assert_array_equal(after, arg, err_msg="forward mode changed an input")

    for name, num, rev in zip(names, numeric, reverse, strict=True):
        assert np.shape(rev) == np.shape(num), f"reverse gradient for {name} has a wrong shape"
        error = np.max(relative_error(num, rev))
        assert error <= TOLERANCE, (
            f"reverse mode disagrees with central differences for {name}: "
            f"numeric {num}, reverse {rev}"
        )
    if forward is not None:
        np.testing.assert_allclose(forward_value, value, rtol=1e-12, atol=1e-12)
        for name, num, rev, fwd in zip(names, numeric, reverse, forward, strict=True):
            assert np.shape(fwd) == np.shape(num), f"forward gradient for {name}: wrong shape"
            error = np.max(relative_error(num, fwd))
            assert error <= TOLERANCE, (
                f"forward mode disagrees with central differences for {name}: "
                f"numeric {num}, forward {fwd}"
            )
            agreement = np.max(relative_error(fwd, rev))
            assert agreement <= AGREEMENT, (
                f"forward and reverse mode disagree for {name}: forward {fwd}, reverse {rev}"
            )
    for feature in sorted(program.features):
        event(feature)


@settings(max_examples=500, **FUZZ)
@given(program=programs(), seed=st.integers(0, 2**32 - 1))
def test_programs(program, seed, folder):
    check_program(program, seed, folder)


@pytest.mark.slow
@settings(max_examples=20_000, **FUZZ)
@given(program=programs(), seed=st.integers(0, 2**32 - 1))
def test_many_programs(program, seed, folder):
    check_program(program, seed, folder)
