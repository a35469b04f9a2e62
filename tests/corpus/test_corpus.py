"""Every corpus program, differentiated both ways and checked three ways.

1. forward mode against central differences;
2. reverse mode (the default) against central differences;
3. reverse mode against forward mode, to 1e-9 relative.

Central differences use the step ``H = 1e-5`` and the lecture's relative error
``|num - grad| / max(1, |num|, |grad|)`` with one tolerance, ``TOLERANCE = 1e-6``, for
every case. The error of (f(x + h) - f(x - h)) / 2h has two parts: truncation,
h^2 |f'''| / 6, which is below 1e-6 while |f'''| < 6e4; and rounding, about
eps_64 |f| / h = 2.2e-11 |f|, below 1e-6 while |f| < 4e4. The domains in ``cases.py`` keep
every program well inside both bounds, so a failure means a wrong derivative, not noise.
(h = 1e-6 would raise the rounding term tenfold; h = 1e-4 the truncation term a
hundredfold.) Points within ``KINK_MARGIN`` of a kink, and points where the value and the
numeric gradient are all zero (where a check proves nothing), are rejected with
``hypothesis.assume``, so they are never counted as passes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiffx
from autodiffx.check import relative_error

from .cases import CASES, KINK_MARGIN, Case, Fixed, Real

H = 1e-5
TOLERANCE = 1e-6
AGREEMENT = 1e-9
EXAMPLES = 15
# Kinks sit exactly where hypothesis likes to look (0, ties, range ends), and points near
# them are rejected by design; so filtering is expected and is not a health problem here.
# No shrinking: with some 270 checks a failing mode would spend minutes minimising inputs
# that are small already; the failure report shows the drawn inputs as they are.
CHECKS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)

FORWARD_CASES = [case for case in CASES if case.forward]
REFUSED_BY_FORWARD = [case for case in CASES if not case.forward]


def _ids(cases):
    return [case.name for case in cases]


# --------------------------------------------------------------------------- drawing


def _strategy(spec: Real | Fixed):
    if isinstance(spec, Fixed):
        return st.just(spec.value)
    floats = st.floats(
        spec.low, spec.high, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )
    if spec.shape is None:
        return floats
    # fill=nothing: every entry drawn on its own, not one value repeated (which is all ties).
    return hnp.arrays(np.float64, spec.shape, elements=floats, fill=st.nothing())


def draw_point(data, case: Case) -> list:
    """Inputs for ``case``, away from its kinks and from trivially-zero points."""
    args = list(data.draw(st.tuples(*(_strategy(s) for s in case.inputs)), label="inputs"))
    if case.kink is not None:
        distance = case.kink(*_copies(args))
        note(f"kink distance {distance:.3g}")
        assume(distance > KINK_MARGIN)
    return args


def _copies(args):
    return [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]


def _evaluate(case: Case, args) -> float:
    return float(np.asarray(case.function(*_copies(args))).reshape(()))


# --------------------------------------------------------------------------- the oracles


def central_differences(case: Case, args) -> list:
    """(f(x + h e_i) - f(x - h e_i)) / 2h for every entry of every ``wrt`` argument."""
    gradients = []
    for index in case.wrt:
        value = args[index]
        if isinstance(value, float):
            plus, minus = list(args), list(args)
            plus[index], minus[index] = value + H, value - H
            gradients.append((_evaluate(case, plus) - _evaluate(case, minus)) / (2 * H))
            continue
        gradient = np.zeros(value.shape)
        for entry in np.ndindex(value.shape):
            plus, minus = list(args), list(args)
            plus[index] = value.copy()
            plus[index][entry] += H
            minus[index] = value.copy()
            minus[index][entry] -= H
            gradient[entry] = (_evaluate(case, plus) - _evaluate(case, minus)) / (2 * H)
        gradients.append(gradient)
    return gradients


def gradients_by(case: Case, args, mode: str) -> list:
    """autodiffx's gradient of ``case`` at ``args``, one entry per ``wrt`` argument."""
    gradient = autodiffx.grad(case.function, wrt=case.wrt, mode=mode)
    return list(gradient(*_copies(args)))


def assert_close(case: Case, args, claimed, expected, tolerance, what: str) -> None:
    for index, got, want in zip(case.wrt, claimed, expected, strict=True):
        if isinstance(args[index], float):
            assert isinstance(got, float), f"{case.name}: gradient {index} is not a float"
        else:
            assert np.shape(got) == args[index].shape, (
                f"{case.name}: gradient {index} has shape {np.shape(got)}, "
                f"argument has {args[index].shape}"
            )
        error = relative_error(want, got)
        worst = float(np.max(error))
        assert worst <= tolerance, (
            f"{case.name}: {what}, argument {index}: relative error {worst:.3e} > "
            f"{tolerance:g}\n  got      {np.asarray(got).tolist()}\n"
            f"  expected {np.asarray(want).tolist()}"
        )


def _not_trivial(case: Case, args, numeric) -> None:
    """Reject points where the value and every numeric partial are exactly zero."""
    zero_gradient = all(not np.any(np.asarray(g)) for g in numeric)
    assume(not (zero_gradient and _evaluate(case, args) == 0.0))


# --------------------------------------------------------------------------- the checks


@pytest.mark.parametrize("case", FORWARD_CASES, ids=_ids(FORWARD_CASES))
@CHECKS
@given(data=st.data())
def test_forward_matches_central_differences(case, data):
    args = draw_point(data, case)
    numeric = central_differences(case, args)
    _not_trivial(case, args, numeric)
    before = _copies(args)
    forward = gradients_by(case, args, "forward")
    for original, now in zip(before, args, strict=True):
        np.testing.assert_array_equal(now, original)  # inputs are never written into
    assert_close(case, args, forward, numeric, TOLERANCE, "forward mode vs central differences")


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
@CHECKS
@given(data=st.data())
def test_reverse_matches_central_differences(case, data):
    args = draw_point(data, case)
    numeric = central_differences(case, args)
    _not_trivial(case, args, numeric)
    reverse = gradients_by(case, args, "reverse")
    assert_close(case, args, reverse, numeric, TOLERANCE, "reverse mode vs central differences")


@pytest.mark.parametrize("case", FORWARD_CASES, ids=_ids(FORWARD_CASES))
@CHECKS
@given(data=st.data())
def test_reverse_matches_forward(case, data):
    args = draw_point(data, case)
    forward = gradients_by(case, args, "forward")
    reverse = gradients_by(case, args, "reverse")
    assert_close(case, args, reverse, forward, AGREEMENT, "reverse mode vs forward mode")


@pytest.mark.parametrize("case", REFUSED_BY_FORWARD, ids=_ids(REFUSED_BY_FORWARD))
def test_forward_refuses_stores_into_plain_arrays(case):
    """Forward mode cannot put a Dual into ``np.zeros(...)``; it must say so clearly."""
    rng = np.random.default_rng(0)
    args = [
        spec.value if isinstance(spec, Fixed) else rng.uniform(spec.low, spec.high, spec.shape)
        for spec in case.inputs
    ]
    with pytest.raises(autodiffx.DerivativeConversionError, match="mode='reverse'"):
        gradients_by(case, args, "forward")


def test_the_corpus_is_large_and_varied():
    assert len(CASES) >= 90
    assert len({case.function for case in CASES}) == len(CASES)
    assert any(isinstance(s, Real) and s.shape is None for c in CASES for s in c.inputs)
    assert any(isinstance(s, Real) and s.shape for c in CASES for s in c.inputs)
