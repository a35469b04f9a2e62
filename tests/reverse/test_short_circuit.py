"""Values chosen by ``and`` and ``or``: ``w = s or x``, ``y = ok and x``.

Python's ``a or b`` is not a truth value: it is ``a`` when ``a`` is true, and ``b``
otherwise (``a and b`` the other way round). ``w = w or default`` is an everyday idiom, so
the value chosen may be the one being differentiated. Reverse mode used to take every
``and``/``or`` as a truth value, a constant to the generated code, and gave a gradient of
zero for ``np.sum((s or x) ** 2)`` where central differences give ``2x``. It now writes the
choice as Python makes it: ``first = s``, then ``if first: w = first`` ``else: w = x``,
which runs ``x``'s side only when Python would, and differentiates the branch taken.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.errors import AutodiffError
from tests.higher.numeric import numeric_gradient


def default_or_x(x, s):
    w = s or x
    return np.sum(w * x)


def in_an_argument(x, s):
    return np.sum((s or x) ** 2)


def returned(x, s):
    y = np.sin(x)
    return s or np.sum(y)


def gate_and(x, s):
    y = s and x * 3.0
    return np.sum(y * x) if np.ndim(y) else y * np.sum(x)


def and_then_or(x, s):
    z = s and x or 2.0 * x
    return np.sum(z * x)


def three_operands(x, s):
    w = s or None or np.tanh(x)
    return np.sum(w * x)


def call_only_when_needed(x, s):
    # x ** 2 runs only when s is false: the gradient is of the value chosen.
    w = s or np.cos(x) ** 2
    return np.sum(w)


def in_a_loop(x, s):
    acc = None
    for i in range(3):
        acc = acc or s or np.sum(x * i)
        x = x * 1.5
    return acc * np.sum(x)


def in_a_comprehension(x, s):
    ws = [v or x for v in (s, None)]
    return np.sum(ws[0] * ws[1])


def first_is_differentiated(x, s):
    w = np.sum(x) or s
    return w * np.sum(x)


PROGRAMS = [default_or_x, in_an_argument, returned, gate_and, and_then_or, three_operands,
            call_only_when_needed, in_a_loop, in_a_comprehension, first_is_differentiated]

# What the argument s is: false values (None, 0.0), a true number, a true array.
CHOICES = {"None": None, "0.0": 0.0, "2.5": 2.5, "array": np.array([0.5, -1.5, 2.0])}


@settings(max_examples=60, deadline=None)
@given(
    program=st.sampled_from(PROGRAMS),
    choice=st.sampled_from(sorted(CHOICES)),
    x=st.lists(st.floats(0.2, 2.0), min_size=3, max_size=3).map(np.array),
)
def test_both_modes_agree_with_central_differences(program, choice, x):
    s = CHOICES[choice]
    try:
        program(x, s)
    except (ValueError, TypeError):  # the truth value of an array, None * 2.0: the
        # program fails without autodiffx
        return
    expected = numeric_gradient(lambda v: program(v, s), x)
    for mode in ("reverse", "forward"):
        got = autodiffx.grad(program, mode=mode)(x, s)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8, err_msg=mode)


RAN: list = []


def _note(v):
    RAN.append("ran")
    return v


def or_calls(x, s):
    w = s or _note(x)
    return np.sum(w * x)


def test_the_operand_not_chosen_does_not_run():
    RAN.clear()
    autodiffx.grad(or_calls)(np.ones(2), 1.0)
    assert RAN == []
    autodiffx.grad(or_calls)(np.ones(2), None)
    assert RAN == ["ran"]


def test_the_generated_code_shows_the_choice():
    text = autodiffx.source(default_or_x, np.ones(3), None)
    tree = ast.parse(text)
    tests = [ast.unparse(node.test) for node in ast.walk(tree) if isinstance(node, ast.If)]
    assert tests, text  # the forward sweep's choice, and the adjoint's
    assert "w = s or x" in text  # the user's line, as a comment


def truth_values(x, a):
    ok = a > 0 and a < 10
    return np.sum(x * x) if ok else np.sum(x)


def test_a_truth_value_stays_one_statement():
    text = autodiffx.source(truth_values, np.ones(3), 2.0)
    assert "ok = a > 0 and a < 10" in text.replace("(", "").replace(")", "")
    np.testing.assert_allclose(autodiffx.grad(truth_values)(np.ones(3), 2.0), 2 * np.ones(3))


LOG: list = []


def kept_by_or(x):
    r = LOG.append(x) or x
    return np.sum(LOG[-1] * r)


def test_a_value_kept_inside_or_is_refused_not_dropped():
    # LOG.append(x) keeps x where LOG[-1] reads it back; reverse mode used to take the
    # whole `or` as a constant and return 0 where the gradient is 2x.
    LOG.clear()
    with pytest.raises(AutodiffError, match="append"):
        autodiffx.grad(kept_by_or)(np.array([1.0, 2.0]))
    LOG.clear()
    got = autodiffx.grad(kept_by_or, mode="forward")(np.array([1.0, 2.0]))
    np.testing.assert_allclose(got, [2.0, 4.0])
