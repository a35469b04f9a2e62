"""Reverse-mode gradients against central differences and forward mode."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import autodiffx
from autodiffx import reverse

from . import programs as p


def central(f, args, index, eps=1e-6):
    args = [np.array(a, dtype=float) if not isinstance(a, int) else a for a in args]
    x = args[index]
    gradient = np.zeros_like(x)
    for position in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[position] = eps
        up = list(args)
        down = list(args)
        up[index] = x + step
        down[index] = x - step
        gradient[position] = (f(*[np.copy(a) for a in up]) - f(*[np.copy(a) for a in down])) / (
            2 * eps
        )
    return gradient


def check(f, args, wrt, forward=True):
    gradients = autodiffx.grad(f, wrt=wrt)(*[np.copy(a) for a in args])
    for index, gradient in zip(wrt, gradients, strict=True):
        expected = central(f, args, index)
        np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-6)
        assert np.shape(gradient) == np.shape(args[index])
    if forward:
        other = autodiffx.grad(f, wrt=wrt, mode="forward")(*[np.copy(a) for a in args])
        for mine, theirs in zip(gradients, other, strict=True):
            np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)


RNG = np.random.default_rng(7)
V = RNG.normal(size=3)
M = RNG.normal(size=(3, 3))

CASES = [
    (p.branch, (0.7, 1.3), (0, 1)),
    (p.branch, (-0.2, 1.3), (0, 1)),
    (p.branch, (-0.9, 1.3), (0, 1)),
    (p.early_return, (2.0,), (0,)),
    (p.early_return, (0.5,), (0,)),
    (p.conditional_expression, (0.5,), (0,)),
    (p.conditional_expression, (-0.5,), (0,)),
    (p.overwrite_in_loop, (V, 4), (0,)),
    (p.recurrent, (M * 0.5, V), (0, 1)),
    (p.accumulate, (V,), (0,)),
    (p.while_loop, (0.7,), (0,)),
    (p.break_loop, (0.4,), (0,)),
    (p.continue_loop, (0.4,), (0,)),
    (p.over_rows, (M,), (0,)),
    (p.over_enumerate, (M, V), (0, 1)),
    (p.over_zip, (V, V + 1), (0, 1)),
    (p.nested_loops, (V,), (0,)),
    (p.augmented, (V,), (0,)),
    (p.unpacking, (0.5, 0.7), (0, 1)),
    (p.keywords, (M,), (0,)),
    (p.joined, (V, V * 2), (0, 1)),
    (p.methods, (M,), (0,)),
    (p.uses_global, (V,), (0,)),
    (p.make_closure(2.5), (V,), (0,)),
    (p.calls_helper, (V, V + 1), (0, 1)),
    (p.random_is_constant, (V,), (0,)),
    (p.subscripts, (M,), (0,)),
    (p.attributes, (M,), (0,)),
    (p.loop_over_literal, (0.3, -1.2), (0, 1)),
    (p.python_scalars, (0.3, -1.2), (0, 1)),
    (p.loop_with_branch, (V,), (0,)),
    (p.tuple_return, (V,), (0,)),
    (p.tuple_return_one_used, (V,), (0,)),
    (p.tuple_return_in_branch, (V, V + 1), (0, 1)),
    (p.tuple_return_in_branch, (-V - 3, V + 1), (0, 1)),
    (p.tuple_return_same_name, (V,), (0,)),
    (p.tuple_return_constant, (V,), (0,)),
    (p.tuple_return_in_loop, (V,), (0,)),
    (p.append_stack, (V,), (0,)),
    (p.append_sum, (V,), (0,)),
    (p.append_index, (V,), (0,)),
    (p.append_in_branch, (V,), (0,)),
    (p.append_unused_values, (V,), (0,)),
    (p.list_inside_loop, (V,), (0,)),
    (p.comprehension_range, (V,), (0,)),
    (p.stack_then_append, (V,), (0,)),
    (p.list_used_twice, (V,), (0,)),
    (p.reads_twice, (V,), (0,)),
    (p.three_versions, (V,), (0,)),
    (p.carried_in_while, (V,), (0,)),
    (p.carried_with_break, (V,), (0,)),
    (p.concatenate_after_branches, (0.3, V), (0, 1)),
    (p.concatenate_after_branches, (0.7, V), (0, 1)),
    (p.rebound_in_loop_then_read, (0.3, V), (0, 1)),
    (p.power_of_negative_constant, (V,), (0,)),
    (p.branch_reads_carried_value, (0.3, V, M[:2]), (0, 1)),
    (p.inactive_elif_in_loop, (-1.2, V), (0, 1)),
    (p.inactive_elif_in_loop, (1.2, V), (0, 1)),
    (p.read_right_after_rebinding, (V,), (0,)),
]


@pytest.mark.parametrize(
    "f, args, wrt", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]
)
def test_gradient_matches_central_differences_and_forward_mode(f, args, wrt):
    check(f, args, wrt)


# np.array of a list of values: forward mode refuses it (a Dual turned into an array)
REVERSE_ONLY = [
    (p.append_array, (V,), (0,)),
    (p.array_of_literal, (0.3, -1.2), (0, 1)),
    (p.comprehension_over_array, (M,), (0,)),
    (p.comprehension_nested, (V,), (0,)),
]


@pytest.mark.parametrize("f, args, wrt", REVERSE_ONLY)
def test_np_array_of_a_list_is_a_stack(f, args, wrt):
    check(f, args, wrt, forward=False)


@pytest.mark.parametrize("f", [p.write_into_local, p.write_into_argument])
def test_subscript_writes(f):
    x = V.copy()
    check(f, (x,), (0,), forward=False)
    assert np.array_equal(x, V), "the caller's array must not be written"


vectors = arrays(np.float64, 3, elements=st.floats(-2, 2))


@settings(max_examples=25, deadline=None)
@given(vectors, st.floats(-2, 2))
def test_recurrent_and_branches_for_random_values(x, y):
    # central differences are meaningless across a branch boundary: stay away from them
    assume(abs(y) > 1e-3 and abs(y + 0.5) > 1e-3)
    assume(all(abs(np.sum(x) * i - 1.0) > 1e-3 for i in range(4)))
    check(p.recurrent, (M * 0.5, x), (0, 1))
    check(p.branch, (y, x[0]), (0, 1))
    check(p.loop_with_branch, (x,), (0,))


def test_lecture_example():
    from .golden_functions import lecture

    assert autodiffx.grad(lecture, wrt=(0, 1, 2))(1.0, 2.0, 0.0) == (2.0, 5.0, 0.0)


def test_hundred_thousand_iterations():
    n = 100_000
    assert autodiffx.grad(p.long_loop)(2.0, n) == pytest.approx(n * 1e-5)
    expected = 1.0000001**n
    assert autodiffx.grad(p.long_while)(2.0, n) == pytest.approx(expected)


def test_pullback_can_run_twice():
    generated = reverse.build(p.recurrent, (0, 1), (2, 1))
    value, pullback = generated.function(M * 0.5, V)
    first = pullback(1.0)
    second = pullback(1.0)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_jacrev_of_vector_output():
    def f(x):
        return np.tanh(x) * x[0]

    np.testing.assert_allclose(autodiffx.jacrev(f)(V), autodiffx.jacfwd(f)(V))


def test_unknown_ranks_keep_runtime_conditionals():
    def f(W, x):
        return np.sum(W @ x)

    text = reverse.build(f, (0, 1), (-1, -1)).source
    assert "np.ndim" in text
    value, pullback = reverse.build(f, (0, 1), (-1, -1)).function(M, V)
    dW, dx = pullback(1.0)
    np.testing.assert_allclose(dW, np.outer(np.ones(3), V))


def test_one_value_is_pushed_once():
    text = reverse.build(p.reads_twice, (0,), (1,)).source
    # y is read by sin(y), by the product, and by cos(y): the value is the same, and it is
    # also the value the previous iteration ended with
    assert text.count("tape.append(y)") == 1
    assert text.count("y_saved = next(replay)") == 1


def test_values_of_one_variable_get_distinct_names():
    text = reverse.build(p.three_versions, (0,), (1,)).source
    assert "y_saved = next(replay)" in text and "y_saved_2 = next(replay)" in text
    assert text.count("tape.append(y)") == 2  # the entry value and the middle one


def test_exit_value_is_the_next_entry_value():
    text = reverse.build(p.rnn_like, (0, 1), (2, 1)).source
    assert text.count("tape.append(") == 1
    assert "h_saved = h\n" in text  # the last iteration ends with h's final value
    # only the value tanh's adjoint needs is pushed: the exit value, not the entry value
    assert reverse.build(p.carried_in_while, (0,), (1,)).source.count("tape.append(") == 1
