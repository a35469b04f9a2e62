"""A tuple of results bound whole and read by index, and ``tuple((a, b))`` displays.

``out = pair(x)`` followed by ``out[0]`` and ``out[1]`` is the unpacking
``out_0, out_1 = pair(x)`` when ``pair`` returns displays of one length on every path;
``tuple((a, b))`` and ``list([a, b])`` are the displays ``(a, b)`` and ``[a, b]``. Each
program is checked in both modes against central differences.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from tests.higher.numeric import numeric_gradient


def pair(x):
    return tuple((x * 2.0, np.sin(x)))


def branches(x):
    if np.sum(x) > 0:
        return x ** 2, np.cos(x), x
    return tuple([x, x * 3.0, np.tanh(x)])


def read_by_index(x):
    out = pair(x)
    three = branches(x * 0.5)
    return np.sum(out[0] * out[1]) + np.sum(three[2] * three[0]) + np.sum(three[1])


def decomposition_by_index(x):
    a = np.outer(x, x) + np.diag(np.arange(1.0, len(x) + 1.0)) * 3.0
    r = np.linalg.eigh(a)
    return np.sum(r[0] ** 2) + np.sum(np.abs(r[1]) ** 4)


def unpacked_list(x):
    a, b = list([x * 2.0, x ** 2])
    return np.sum(a * b)


def passed_on_whole(x):
    out = pair(x)
    return np.sum(np.stack(out))  # not only indexed: not rewritten


PROGRAMS = [read_by_index, decomposition_by_index, unpacked_list]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@settings(max_examples=10, deadline=None)
@given(values=st.lists(st.floats(0.1, 2), min_size=2, max_size=4), sign=st.sampled_from([1, -1]))
def test_results_read_by_index(program, mode, values, sign):
    x = sign * np.array(values)  # one branch of branches() or the other, away from the switch
    gradient = autodiffx.grad(program, mode=mode)(x)
    np.testing.assert_allclose(gradient, numeric_gradient(program, x.copy()), rtol=1e-5,
                               atol=1e-6)


def test_the_generated_code_unpacks_the_results():
    text = autodiffx.source(autodiffx.grad(read_by_index), np.ones(2))
    assert "(out_0, out_1), pair_pullback = pair_vjp(x)" in text


def test_a_tuple_used_whole_is_still_refused_with_the_reason():
    with pytest.raises(autodiffx.UnsupportedSyntaxError, match="differentiated values"):
        autodiffx.grad(passed_on_whole)(np.ones(2))
    np.testing.assert_allclose(autodiffx.grad(passed_on_whole, mode="forward")(np.ones(2)),
                               2.0 + np.cos(np.ones(2)))
