"""Every rule on complex values: tangents against central differences, adjoints by the
dot-product test.

A complex number z = x + iy is the pair of reals (x, y) (``docs/complex.md``). Each case
of ``domains.py`` is drawn again with complex values for its differentiated arguments, and

1. the tangent along a real direction t and along an imaginary one 1j * t is compared with
   central differences taken in that direction, separately;
2. the adjoint passes the dot-product test <g, J v> = <J^T g, v> in the real inner product
   <a, b> = Re(sum(conj(a) * b)) of pairs of reals, with g and v complex. For the rules
   listed in ``complex_rules.CONJUGATED_PRIMALS`` the adjoint is called with the
   conjugates of the primal values, as the reverse transformer will substitute them.

A rule whose tangents hold for real values only (``rule.real_only``) must be refused in
forward mode instead. Hypothesis also draws values on the branch cuts of ``np.log``,
``np.sqrt`` and ``np.angle``, where the convention is the one-sided derivative from the
side the signed zero of the imaginary part names.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.forward import Dual, new_level
from autodiffx.rules import all_rules, rule_named
from autodiffx.rules.complex_rules import CONJUGATED_PRIMALS, REAL_ADJOINTS

from .domains import DOMAINS, Arg, Case
from .test_complex_linalg import aligned
from .test_rules import SEEDS, draw, function_of, get, push, put, wrt_paths

STEP = 1e-6
TOLERANCE = 1e-6
GAP = 1e-9

HAVE_SCIPY = importlib.util.find_spec("scipy") is not None
LISTED = sorted(name for name in CONJUGATED_PRIMALS | REAL_ADJOINTS
                if HAVE_SCIPY or not name.startswith("scipy."))
"""The listed rules that are registered here: SciPy's only with the scipy extra."""


def complexified(case: Case, args, rng):
    """``args`` with every differentiated argument given an imaginary part."""
    for path in wrt_paths(case):
        value = get(args, path)
        imaginary = rng.uniform(-1.0, 1.0, np.shape(value))
        value = np.asarray(value) + 1j * imaginary
        args = put(args, path, value if value.ndim else complex(value))
    return args


def joined(rule, case, args, base=None):
    out = function_of(rule, case)(*args, **case.kwargs)
    if base is not None:  # eigenvectors and singular vectors turned to base's phases
        out = aligned(rule.name, base, out)
    if rule.outputs is not None:
        return np.concatenate([np.ravel(np.asarray(o) + 0.0) for o in out])
    return np.asarray(out)


def accepts_complex(rule, case, args) -> bool:
    """Whether NumPy itself computes the function on these complex values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            function_of(rule, case)(*args, **case.kwargs)
        except (TypeError, ValueError, np.linalg.LinAlgError):
            return False
    return True


def central_difference(rule, case, args, path, t):
    value = get(args, path)
    base = function_of(rule, case)(*args, **case.kwargs)
    high = joined(rule, case, put(args, path, value + STEP * t), base)
    low = joined(rule, case, put(args, path, value - STEP * t), base)
    return (high - low) / (2 * STEP)


def conjugated(value):
    if isinstance(value, list):
        return [conjugated(v) for v in value]
    return np.conj(value) if np.iscomplexobj(value) else value


def adjoint_gap(rule, case, args, path, rng, conjugate_primals) -> float:
    shape = np.shape(get(args, path))
    v = rng.standard_normal(shape)
    if np.iscomplexobj(get(args, path)):
        v = v + 1j * rng.standard_normal(shape)
    ans, jv = push(rule, case, args, {path: v[np.newaxis]})
    results = function_of(rule, case)(*args, **case.kwargs)
    g = rng.standard_normal(np.shape(ans))
    if np.iscomplexobj(ans):
        g = g + 1j * rng.standard_normal(np.shape(ans))
    params = list(args) + [None] * (len(rule.params) - len(args))
    if rule.outputs is not None:
        cuts = np.cumsum([np.size(r) for r in results])[:-1]
        g_in = tuple(np.reshape(part, np.shape(r)) for part, r in zip(
            np.split(np.ravel(g), cuts), results, strict=True))
    else:
        g_in = g.item() if np.ndim(g) == 0 else g
    if conjugate_primals:
        params, results = conjugated(params), conjugated(results)
    cotangent = rule.adjoint_function(path[0])(g_in, results, *params, **case.kwargs)
    if len(path) == 2:
        cotangent = cotangent[path[1]]
    forward = np.real(np.sum(np.conj(g) * jv[0]))
    backward = np.real(np.sum(np.conj(cotangent) * v))
    scale = np.sum(np.abs(g * jv[0])) + np.sum(np.abs(cotangent * v)) + 1e-300
    return float(abs(forward - backward) / scale)


CASES = [
    pytest.param(rule.name, index, id=f"{rule.name}-{index}")
    for rule in all_rules()
    if rule.differentiable
    for index, case in enumerate(DOMAINS[rule.name])
    if wrt_paths(case)
]


@pytest.mark.parametrize(("name", "index"), CASES)
@settings(max_examples=4, deadline=None)
@given(seed=SEEDS)
def test_rule_on_complex_values(name, index, seed):
    rule = rule_named(name)
    case = DOMAINS[name][index]
    rng = np.random.default_rng(seed)
    args = complexified(case, draw(case, rng), rng)
    if not accepts_complex(rule, case, args):
        return  # NumPy refuses complex values here (np.maximum of Python complex numbers)
    if rule.real_only:
        with pytest.raises(autodiffx.ComplexNotSupportedError):
            for path in wrt_paths(case):
                push(rule, case, args, {path: np.ones((1, *np.shape(get(args, path))), complex)})
        return
    for path in wrt_paths(case):
        for direction in (1.0, 1j):  # the real and the imaginary direction, separately
            t = direction * rng.standard_normal(np.shape(get(args, path)))
            try:
                _, jt = push(rule, case, args, {path: np.asarray(t)[np.newaxis]})
            except autodiffx.ComplexNotSupportedError:
                return  # refused by the rule for these arguments (norm's ord="nuc")
            numeric = central_difference(rule, case, args, path, t)
            scale = max(1.0, float(np.max(np.abs(numeric), initial=0.0)))
            error = float(np.max(np.abs(jt[0] - numeric), initial=0.0)) / scale
            assert error < TOLERANCE, f"{path} along {direction}: {error:.2e}"
        if name not in REAL_ADJOINTS:
            gap = adjoint_gap(rule, case, args, path, rng, name in CONJUGATED_PRIMALS)
            assert gap < GAP, f"{path}: dot-product gap {gap:.2e}"


@pytest.mark.parametrize("name", LISTED)
def test_each_listed_adjoint_fails_on_complex_values_as_written(name):
    """The lists hold no rule whose adjoint is already right for complex values."""
    rule = rule_named(name)
    wrong = False
    for case in DOMAINS[name]:
        rng = np.random.default_rng(3)
        args = complexified(case, draw(case, rng), rng)
        if not accepts_complex(rule, case, args):
            continue
        for path in wrt_paths(case):
            try:
                wrong |= adjoint_gap(rule, case, args, path, rng, False) > 1e-3
            except TypeError:  # np.power's adjoint compares y >= 1, complex y included
                wrong = True
    assert wrong


def test_the_lists_name_rules():
    names = {rule.name for rule in all_rules()}
    assert set(LISTED) <= names
    assert not any(rule_named(n).real_only for n in LISTED)


def test_the_checks_reject_a_real_fft_adjoint_without_its_halved_bins():
    """The dot-product test sees the weights of rfft's middle bins."""
    rule = rule_named("rfft")
    wrong = dataclasses.replace(rule, adjoints=("np.fft.irfft(g, np.shape(x)[-1], "
                                                "norm=swapped_norm(norm))",))
    case = Case((Arg((6,)),))
    args = draw(case, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    assert adjoint_gap(rule, case, args, (0,), rng, False) < GAP
    assert adjoint_gap(wrong, case, args, (0,), rng, False) > 1e-2


# --------------------------------------------------------------------------- branch cuts

ON_THE_CUT = st.tuples(st.floats(0.1, 5.0), st.sampled_from([0.0, -0.0]))


def tangent(function, z, direction):
    out = function(Dual(np.array([z]), np.array([[direction]], dtype=complex), new_level()))
    return out.tangent[0, 0]


@pytest.mark.parametrize("function", [np.log, np.sqrt, np.angle, np.log10, np.log2])
@settings(max_examples=30, deadline=None)
@given(point=ON_THE_CUT)
def test_on_a_branch_cut_the_derivative_is_the_one_from_the_side_of_the_signed_zero(
        function, point):
    """On the negative real axis NumPy's value belongs to the side the signed zero of the
    imaginary part names (sqrt(-4 + 0j) = 2j, sqrt(-4 - 0j) = -2j); so does the
    derivative: along the axis, a central difference on the cut; across it, a one-sided
    difference from that side."""
    magnitude, zero = point
    z = complex(-magnitude, zero)
    side = np.copysign(1.0, zero)
    h = 1e-7

    def f(re, im):
        return complex(function(complex(re, im)))

    along = (f(-magnitude + h, zero) - f(-magnitude - h, zero)) / (2 * h)
    across = side * (f(-magnitude, side * h) - f(-magnitude, zero)) / h
    np.testing.assert_allclose(tangent(function, z, 1.0), along, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tangent(function, z, 1j), across, rtol=1e-5, atol=1e-5)


def test_sqrt_and_log_values_on_the_cut_are_numpys():
    assert np.sqrt(complex(-4.0, 0.0)) == 2j and np.sqrt(complex(-4.0, -0.0)) == -2j
    assert np.angle(complex(-1.0, 0.0)) == np.pi and np.angle(complex(-1.0, -0.0)) == -np.pi


def test_angle_at_zero_has_derivative_zero():
    assert tangent(np.angle, 0j, 1.0) == 0.0 and tangent(np.angle, 0j, 1j) == 0.0
    adjoint = rule_named("angle").adjoint_function(0)
    assert adjoint(1.0, 0.0, np.array([0j]))[0] == 0.0
    assert "taken as 0" in rule_named("angle").doc
