"""Python's own spellings of things NumPy also does: ``enumerate(xs, 1)``, ``pow(x, 3)``,
``copy.copy(x)``. Reverse mode refused each of them ("this use of enumerate", "pow has no
derivative rule", or a message about the copy module's internals), where forward mode ran
them; each is now differentiated, checked against central differences and forward mode.
Calls it still refuses say what the call is (a function chosen as the code runs, a dict
comprehension), not the name of a node type."""

from __future__ import annotations

import copy
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.errors import UnsupportedSyntaxError
from tests.higher.numeric import numeric_gradient


def enumerate_from_one(x):
    return sum(i * v for i, v in enumerate(x, 1))


def enumerate_start_keyword(x):
    acc = 0.0
    for k, v in enumerate(x * x, start=-2):
        acc = acc + k * np.sin(v)
    return acc


def enumerate_rows_from_a_variable(x):
    first = len(x) - 1
    acc = 0.0
    for k, row in enumerate(np.outer(x, x), first):
        acc = acc + k * np.sum(row * x)
    return acc


def builtin_pow(x):
    return pow(np.sum(x * x), 1.5) + np.sum(pow(x, 3))


def operator_pow(x):
    return np.sum(operator.pow(x, 2) * x)


def copied_then_written(x):
    y = copy.copy(x)
    y[0] = 0.5  # a copy: x keeps its first entry
    return np.sum(y * x)


def deep_copied(x):
    y = copy.deepcopy(np.tanh(x))
    return np.sum(y * y)


def copied_list(x):
    parts = copy.copy([x, x * 2.0])
    return np.sum(parts[0] * parts[1])


PROGRAMS = [enumerate_from_one, enumerate_start_keyword, enumerate_rows_from_a_variable,
            builtin_pow, operator_pow, copied_then_written, deep_copied, copied_list]


@settings(max_examples=40, deadline=None)
@given(program=st.sampled_from(PROGRAMS),
       x=st.lists(st.floats(0.3, 1.5), min_size=2, max_size=4).map(np.array))
def test_gradients_agree_with_central_differences_and_forward_mode(program, x):
    kept = x.copy()
    got = autodiffx.grad(program)(x)
    np.testing.assert_array_equal(x, kept)  # the user's array is never written
    np.testing.assert_allclose(got, numeric_gradient(program, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, autodiffx.grad(program, mode="forward")(x), rtol=1e-10)


def test_enumerate_counts_from_its_start_in_the_generated_code():
    text = autodiffx.source(enumerate_start_keyword, np.ones(3))
    assert "k = index + -2" in text or "k = index - 2" in text, text


def chosen_by_name(x):
    return np.sum(getattr(np, "sin")(x))


def dict_comprehension(x):
    d = {k: x * k for k in (1.0, 2.0)}
    return np.sum(d[1.0] * d[2.0])


@pytest.mark.parametrize(("program", "says"), [
    (chosen_by_name, r"a call of getattr\(np, 'sin'\), a function chosen as the code runs"),
    (dict_comprehension, "a dict comprehension over differentiated values"),
])
def test_what_is_still_refused_is_named(program, says):
    with pytest.raises(UnsupportedSyntaxError, match=says):
        autodiffx.grad(program)(np.ones(3))
    np.testing.assert_allclose(autodiffx.grad(program, mode="forward")(np.ones(3) * 0.5),
                               numeric_gradient(program, np.ones(3) * 0.5), rtol=1e-6)
