"""Python's own spellings of things NumPy also does: ``enumerate(xs, 1)``, ``pow(x, 3)``,
``copy.copy(x)``, ``for t in reversed(range(T))``, ``reversed(xs)``. Reverse mode refused
each of them ("this use of enumerate", "pow has no derivative rule", a message about the
copy module's internals) or, for ``reversed(range(T))``, stopped with a TypeError of its
own; forward mode ran them. Each is now differentiated, and checked against central
differences and forward mode. Calls it still refuses say what the call is (a function
chosen as the code runs, a dict comprehension), not the name of a node type."""

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


def copied_list_written(x):
    # copy.copy of a list is a new list of the same arrays: the write reaches kept[0]
    kept = [x * 1.0, x]
    parts = copy.copy(kept)
    parts[0] += 1.0
    return np.sum(kept[0] * x)


def backwards_in_time(x):
    # an RNN's loop run from the last step, as backprop written by hand often is
    h = 0.0
    for t in reversed(range(len(x))):
        h = np.tanh(0.5 * h + x[t])
    return h * h


def backwards_with_a_step(x):
    acc = 0.0
    for t in reversed(range(1, len(x), 2)):
        acc = acc * 0.5 + x[t] * x[t - 1]
    return acc


def items_reversed(x):
    acc = 0.0
    for v in reversed(x):
        acc = acc * 0.7 + np.sin(v)
    return acc


def enumerate_reversed(x):
    return sum(i * v * v for i, v in enumerate(reversed(x)))


def zip_reversed(x):
    return sum(a * np.cos(b) for a, b in zip(reversed(x), x, strict=True))


def reversed_list(x):
    acc = 0.0
    for part in reversed([x[0] * 2.0, x[-1], np.sum(x)]):
        acc = acc * 0.5 + part ** 2
    return acc


PROGRAMS = [enumerate_from_one, enumerate_start_keyword, enumerate_rows_from_a_variable,
            builtin_pow, operator_pow, copied_then_written, deep_copied,
            backwards_in_time, backwards_with_a_step, items_reversed, enumerate_reversed,
            zip_reversed, reversed_list]


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


def test_a_loop_backwards_in_time_runs_forwards_in_the_adjoint():
    # range(n) is run backwards as reversed(range(n)); reversed(range(n)) as range(n),
    # with no tape of the index.
    text = autodiffx.source(backwards_in_time, np.ones(4))
    assert "for t in reversed(range(len_x)):" in text, text
    assert "for t in range(len_x):" in text, text
    assert "tape.append(t)" not in text, text


def chosen_by_name(x, name="sin"):
    return np.sum(getattr(np, name)(x))


def dict_comprehension(x):
    d = {k: x * k for k in (1.0, 2.0)}
    return np.sum(d[1.0] * d[2.0])


@pytest.mark.parametrize(("program", "says"), [
    (chosen_by_name, r"a call of getattr\(np, name\), a function chosen as the code runs"),
    (dict_comprehension, "a dict comprehension over differentiated values"),
    # (taken as np.copy of np.stack(kept) by the rule, it gave 2x where the program's
    # gradient is 2x + 1)
    (copied_list_written, "copy.copy of a list, tuple or dict"),
])
def test_what_is_still_refused_is_named(program, says):
    with pytest.raises(UnsupportedSyntaxError, match=says):
        autodiffx.grad(program)(np.ones(3))
    np.testing.assert_allclose(autodiffx.grad(program, mode="forward")(np.ones(3) * 0.5),
                               numeric_gradient(program, np.ones(3) * 0.5), rtol=1e-6)


class _Layer:
    def __init__(self):
        self.W = np.arange(6.0).reshape(2, 3) / 10

    def forward(self, x):
        return np.tanh(self.W @ x)

    def __call__(self, x):
        return self.forward(x)


LAYER = _Layer()


def through_a_method(x):
    return np.sum(LAYER.forward(x))


def through_a_called_object(x):
    return np.sum(LAYER(x))


def through_an_argument_method(x, layer):
    return np.sum(layer.forward(x))


@pytest.mark.parametrize(("program", "says"), [
    (through_a_method, "LAYER.forward is a method of a _Layer object"),
    (through_a_called_object, r"LAYER is a _Layer object, called \(its __call__ method\)"),
    (through_an_argument_method, "not the methods of other objects"),
])
def test_methods_of_objects_are_refused_for_what_they_are(program, says):
    # Reverse mode said "_Layer.forward has no derivative rule and no Python source", or
    # printed the object's repr; forward mode runs the method.
    x = np.array([0.7, 1.3, 0.4])
    args = (x, LAYER) if program is through_an_argument_method else (x,)
    with pytest.raises(autodiffx.AutodiffError, match=says):
        autodiffx.grad(program)(*args)
    expected = LAYER.W.T @ (1 - np.tanh(LAYER.W @ x) ** 2)  # the closed form
    np.testing.assert_allclose(autodiffx.grad(program, mode="forward")(*args), expected)


PARTS = 3


def split_by_a_global(x):
    parts = np.array_split(x, PARTS)
    return np.sum(parts[0] * 2.0) + np.sum(parts[-1] ** 2)


def split_by_a_closure(sections):
    def f(x):
        a, b, c = np.split(x, sections)
        return np.sum(a) + np.sum(b ** 2) + np.sum(np.sin(c))
    return f


@pytest.mark.parametrize("program", [split_by_a_global, split_by_a_closure([1, 4]),
                                     split_by_a_closure(3)])
def test_the_number_of_parts_may_come_from_a_global_or_a_closure(program):
    # Reverse mode counted the parts of np.split only from a literal in the call, and
    # refused np.split(x, k) with k a closure or global name: the harness of the peer
    # suite passes every argument that way.
    x = np.linspace(0.1, 1.2, 6)
    got = autodiffx.grad(program)(x)
    np.testing.assert_allclose(got, numeric_gradient(program, x), rtol=1e-6, atol=1e-9)


def test_a_global_count_of_parts_is_guarded(monkeypatch):
    x = np.linspace(0.1, 1.2, 6)
    gradient = autodiffx.grad(split_by_a_global)
    gradient(x)
    monkeypatch.setattr(__import__(__name__, fromlist=["PARTS"]), "PARTS", 2)
    np.testing.assert_allclose(gradient(x), numeric_gradient(split_by_a_global, x),
                               rtol=1e-6, atol=1e-9)
