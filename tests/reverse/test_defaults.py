"""Default values of parameters: the values the function got when it was defined.

``def f(x, i=i)`` in a loop, or ``def f(x, s=SCALE)`` with SCALE rebound afterwards, give
each function its own default. Generated code must use those values, not evaluate the
expressions again where it runs (a ``NameError``, or silently the global's current value).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx

SCALES = []
for i in range(3):
    def scaled(x, i=i):
        return np.sum(np.sin(x) * i)

    SCALES.append(scaled)

SCALE = 2.0


def with_a_global_default(x, s=SCALE, *, power=SCALE + 1):
    return np.sum(x ** power) * s


SCALE = 5.0  # rebound after the def: the defaults stay 2.0 and 3.0


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@settings(max_examples=10, deadline=None)
@given(values=st.lists(st.floats(-2, 2), min_size=1, max_size=4))
def test_defaults_are_the_values_at_definition(mode, values):
    x = np.array(values)
    for i, f in enumerate(SCALES):
        np.testing.assert_allclose(autodiffx.grad(f, mode=mode)(x), np.cos(x) * i)
    np.testing.assert_allclose(autodiffx.grad(with_a_global_default, mode=mode)(x),
                               2.0 * 3 * x ** 2)
    np.testing.assert_allclose(autodiffx.grad(with_a_global_default, mode=mode)(x, 1.0,
                                                                                power=2),
                               2 * x)


def test_the_generated_code_names_a_default_that_is_not_a_literal():
    text = autodiffx.source(autodiffx.grad(SCALES[1]), np.ones(2))
    assert "def scaled_vjp(x, i=scaled_i_default):" in text
