"""The fuzzer's shrunk failures, checked in both modes against closed forms and central
differences (same step and tolerance as ``test_fuzz.py``)."""

from __future__ import annotations

import numpy as np
import pytest

import autodiffx
from autodiffx.check import relative_error

from .regressions import REGRESSIONS, Regression
from .test_fuzz import TOLERANCE, copies

H = 1e-5

CASES = [
    pytest.param(
        regression,
        mode,
        id=f"{regression.name}-{index}-{mode}",
        marks=[pytest.mark.xfail(strict=True, reason=regression.reason)]
        if mode in regression.broken
        else [],
    )
    for index, regression in enumerate(REGRESSIONS)
    for mode in regression.modes
]


def central(function, args, position):
    array = np.array(args[position], dtype=float)
    gradient = np.zeros_like(array)
    for entry in np.ndindex(array.shape):
        values = []
        for sign in (1.0, -1.0):
            shifted = array.copy()
            shifted[entry] += sign * H
            moved = list(args)
            moved[position] = float(shifted) if np.ndim(args[position]) == 0 else shifted
            values.append(function(*copies(moved)))
        gradient[entry] = (values[0] - values[1]) / (2 * H)
    return gradient


@pytest.mark.parametrize(("regression", "mode"), CASES)
def test_regression(regression: Regression, mode: str):
    gradient = autodiffx.grad(regression.function, wrt=regression.wrt, mode=mode)
    if isinstance(regression.expected, type):
        with pytest.raises(regression.expected) as caught:
            gradient(*copies(regression.args))
        assert "hint:" in str(caught.value)
        return
    result = gradient(*copies(regression.args))
    expected = regression.expected or (None,) * len(regression.wrt)
    for position, got, closed in zip(regression.wrt, result, expected, strict=True):
        numeric = central(regression.function, regression.args, position)
        assert np.shape(got) == np.shape(numeric)
        if closed is not None:
            np.testing.assert_allclose(got, closed, rtol=1e-12, atol=1e-12)
        assert np.max(relative_error(numeric, got)) <= TOLERANCE
