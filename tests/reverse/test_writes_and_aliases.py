"""Reverse mode on writes into arrays, aliases and conversions: right or refused.

A program named ``right_*`` must agree with central differences (and leave its argument
unchanged); one named ``refused_*`` must raise an AutodiffError that says why. Either way,
nothing else may happen: no other exception, no wrong gradient, no written argument.
"""

import numpy as np
import pytest
from higher.numeric import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.errors import AutodiffError, OutputTypeError

from . import writing_programs

# away from the kinks of round, floor and the masks (at whole and half numbers)
POINTS = st.lists(st.floats(-2.0, 2.0).filter(lambda v: abs(2 * v - round(2 * v)) > 0.1),
                  min_size=4, max_size=4, unique=True)


@pytest.mark.parametrize("program", writing_programs.PROGRAMS, ids=lambda p: p.__name__)
@settings(max_examples=5, deadline=None)
@given(values=POINTS)
def test_right_or_refused(program, values):
    x = np.array(values)
    given_x = x.copy()
    if program.__name__.startswith("refused_"):
        with pytest.raises(AutodiffError) as caught:
            autodiffx.grad(program)(x)
        assert program.__name__ in str(caught.value) or caught.value.location is not None
    else:
        gradient = autodiffx.grad(program)(x)
        expected = numeric_gradient(program, given_x.copy())
        np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(x, given_x)


@pytest.mark.parametrize("name", ["refused_returns_none", "refused_returns_string",
                                  "refused_returns_bool"])
def test_outputs_that_are_not_numbers(name):
    with pytest.raises(OutputTypeError):
        autodiffx.grad(getattr(writing_programs, name))(np.ones(4))


@pytest.mark.parametrize("name, words", [
    ("refused_float", "float()"),
    ("refused_item", ".item()"),
    ("refused_tolist", ".tolist()"),
    ("refused_math_sin", "math.sin"),
    ("refused_multiply_at", "np.multiply.at"),
    ("refused_alias_then_add_in_place", "share memory"),
    ("refused_callee_stores_into_argument", "_store_first(y, x), which may write into y"),
    ("refused_callee_adds_in_place", "_add_in_place(...) writing into its argument y"),
    ("refused_r_", "np.r_"),
    ("refused_asarray_then_write", "share memory"),
    ("refused_view_method_then_write", "share memory"),
])
def test_refusals_say_what_happened(name, words):
    with pytest.raises(AutodiffError) as caught:
        autodiffx.grad(getattr(writing_programs, name))(np.linspace(0.3, 0.9, 4))
    assert words in str(caught.value)
    assert "writing_programs.py" in str(caught.value)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("make", [
    lambda v: np.ma.masked_array(v, mask=[True, False, False, False]),
    lambda v: np.matrix(v),
], ids=["masked", "matrix"])
def test_array_subclasses_with_other_meanings_are_refused(mode, make):
    with pytest.raises(autodiffx.InputTypeError, match="plain array"):
        autodiffx.grad(writing_programs.right_copyto, mode=mode)(make(np.ones(4)))


def _store_into_integers(x):
    y = np.zeros(3, dtype=int)
    y[0] = x * 3.0
    return np.sum(y * 1.0) + x


def _store_into_a_copy_of(x, like):
    y = np.empty_like(like)
    y[1:] = x * 3.0
    y.fill(x)
    y[0] = x * 2.0
    return np.sum(y * y)


def test_a_store_into_integers_carries_no_derivative():
    # the stored value is truncated (a step function): only the plain x term remains
    assert autodiffx.grad(_store_into_integers)(0.7) == pytest.approx(1.0)
    assert autodiffx.grad(_store_into_integers, mode="forward")(0.7) == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float64, np.float32])
def test_whether_a_store_truncates_is_read_from_the_target_at_run_time(dtype):
    # the target's dtype comes from an argument: reverse mode cannot prove it is float, so
    # it checks at run time; the same cached code serves every dtype (forward mode refuses
    # a store of a dual number into a plain float array)
    like = np.zeros(3, dtype=dtype)
    x = 1.3
    slope = autodiffx.grad(_store_into_a_copy_of)(x, like)
    h = 1e-4 if dtype != np.float32 else 1e-2
    numeric = (_store_into_a_copy_of(x + h, like) - _store_into_a_copy_of(x - h, like)) / (2 * h)
    assert slope == pytest.approx(numeric, rel=1e-3, abs=1e-6)


def _shares_in_one_branch_writes_in_the_other(x, m, flag):
    t = np.zeros_like(m)
    if flag > 0:
        t = m  # t shares m's memory only on this branch
    else:
        t[0] += x  # a write on the other branch: never into m
        t = t * m
    return np.sum(t * m) + x * np.sum(m)


def _shares_then_writes_in_a_loop(x, m):
    t = np.zeros_like(m)
    for i in range(2):
        if i == 1:
            t[0] += x  # in the second pass t is m: m changes
        else:
            t = m
    return np.sum(m * m)


@pytest.mark.parametrize("flag", [1.0, -1.0])
def test_sharing_on_one_branch_does_not_refuse_a_write_on_the_other(flag):
    m = np.array([0.5, -1.0, 2.0])
    gradient = autodiffx.grad(_shares_in_one_branch_writes_in_the_other, wrt=(0, 1))(
        0.7, m, flag)
    forward = autodiffx.grad(_shares_in_one_branch_writes_in_the_other, wrt=(0, 1),
                             mode="forward")(0.7, m, flag)
    for got, expected in zip(gradient, forward, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_sharing_on_one_branch_reaches_the_other_in_the_next_iteration():
    with pytest.raises(autodiffx.AutodiffError, match="share memory"):
        autodiffx.grad(_shares_then_writes_in_a_loop)(0.7, np.array([0.5, -1.0, 2.0]))


def _view_of_a_value_of_unknown_rank(x, v, d):
    a = np.sin(d["w"] * v)  # d is not differentiated: a's rank is unknown when transformed
    w = a[::2]
    w += x  # a sees the write
    return np.sum(np.sin(a) * v)


def test_a_slice_of_a_value_of_unknown_rank_is_a_view():
    # found by the 20,000-program fuzz run: the slice was taken for a copy (a whole-number
    # index of every axis) because neither its rank nor the index's count was known
    d = {"w": np.array([0.9, -1.9, -0.1])}
    v = np.array([-1.2, -1.3, 0.35])
    with pytest.raises(autodiffx.AutodiffError, match="share memory"):
        autodiffx.grad(_view_of_a_value_of_unknown_rank, wrt=(0, 1))(-1.0, v, d)
    forward = autodiffx.value_and_grad(_view_of_a_value_of_unknown_rank, wrt=(0, 1),
                                       mode="forward")(-1.0, v, d)
    assert forward[0] == pytest.approx(_view_of_a_value_of_unknown_rank(-1.0, v, d))


def _add_at_repeated(x):
    y = np.zeros_like(x)
    np.add.at(y, [0, 2, 0, 3], x * 2.0)  # index 0 twice: both add up
    np.subtract.at(y, np.array([1, 1]), x[0] ** 2)
    return np.sum(y ** 2) + np.sum(np.sin(y) * x)


def _add_at_into_a_matrix(x):
    m = np.outer(x, x)
    np.add.at(m, (np.array([0, 0, 1]), np.array([1, 1, 2])), x[:3] * x[3])
    return np.sum(m * m)


def _multiply_at(x):
    y = x * 1.0
    np.multiply.at(y, [0, 0], x[1])
    return np.sum(y)


def _add_at_seen_through_a_view(x):
    y = x * 1.0
    head = y[:2]
    np.add.at(y, [0, 1], x[2])
    return np.sum(head * x[:2])


@pytest.mark.parametrize("f", [_add_at_repeated, _add_at_into_a_matrix])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_ufunc_at_adds_up_repeated_indices(f, mode):
    x = np.array([0.3, -0.5, 0.9, 1.2])
    step = 1e-6
    numeric = np.array([(f(x + step * e) - f(x - step * e)) / (2 * step) for e in np.eye(4)])
    np.testing.assert_allclose(autodiffx.grad(f, mode=mode)(x), numeric, rtol=1e-6,
                               atol=1e-8)


def test_ufunc_at_second_order():
    x = np.array([0.3, -0.5, 0.9, 1.2])
    forward = autodiffx.hessian(_add_at_into_a_matrix, mode="forward")(x)
    np.testing.assert_allclose(autodiffx.hessian(_add_at_into_a_matrix)(x), forward,
                               rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_other_ufunc_at_is_refused(mode):
    with pytest.raises(autodiffx.AutodiffError, match="multiply"):
        autodiffx.grad(_multiply_at, mode=mode)(np.array([0.3, -0.5, 0.9]))


def test_ufunc_at_through_a_view_is_followed_or_refused():
    x = np.array([0.3, -0.5, 0.9])
    step = 1e-6
    f = _add_at_seen_through_a_view
    numeric = np.array([(f(x + step * e) - f(x - step * e)) / (2 * step) for e in np.eye(3)])
    np.testing.assert_allclose(autodiffx.grad(f, mode="forward")(x), numeric, rtol=1e-6)
    with pytest.raises(autodiffx.AutodiffError, match="share memory"):
        autodiffx.grad(f)(x)


def _constant_helper(a, b):
    return 0.5


def _identity_helper(a, b):
    return a


def _updates_what_a_helper_computed(x, v):
    t = _constant_helper(v + v, v)  # a value computed in the helper: nothing shared
    t += np.sin(np.sum(x))
    return np.sum(t * v)


def _updates_what_a_helper_handed_back(x, v):
    t = _identity_helper(v, v)  # v itself: t += ... writes into v
    t += np.sin(np.sum(x))
    return np.sum(t * v)


def test_a_helper_returning_a_computed_value_shares_nothing():
    # a false refusal the generator's fuzz test found: a helper's result was taken as a
    # possible view of its arguments whatever it returned
    v = np.array([0.3, 0.6, 0.9])
    got = autodiffx.grad(_updates_what_a_helper_computed, wrt=(0, 1))(0.5, v)
    expected = autodiffx.grad(_updates_what_a_helper_computed, wrt=(0, 1), mode="forward")(
        0.5, v)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    with pytest.raises(autodiffx.AutodiffError, match="share memory"):
        autodiffx.grad(_updates_what_a_helper_handed_back, wrt=(0, 1))(0.5, v)


def _number_copied_then_updated(x, v):
    t = x * 2.0  # a number: u = t shares nothing, and t += 1.0 rebinds t
    u = t
    t += 1.0
    return u * np.sum(v) + t * t


def test_a_copied_number_updated_in_place_is_a_rebinding():
    v = np.array([0.3, 0.6])
    got = autodiffx.grad(_number_copied_then_updated, wrt=(0, 1))(0.7, v)
    expected = autodiffx.grad(_number_copied_then_updated, wrt=(0, 1), mode="forward")(0.7, v)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def _zero_d_argument_updated_in_place(x, c):
    u = c  # for a 0-d array c, u is c: c += 1.0 changes u too
    c += 1.0
    return x * u


def _zero_d_local_updated_in_place(x):
    y = np.zeros(())
    t = y
    y += 2.0
    return x * t


def test_a_zero_d_array_is_not_a_number():
    # found by reading the change: a 0-d array argument or local was taken as a number, so
    # an in-place update seen through another name was followed as a rebinding (wrong)
    for f, args in ((_zero_d_argument_updated_in_place, (0.5, np.array(2.0))),
                    (_zero_d_local_updated_in_place, (0.5,))):
        with pytest.raises(autodiffx.AutodiffError, match="share memory"):
            autodiffx.grad(f)(*args)
    # a Python number is one: the update rebinds c, and u keeps 2.0
    assert autodiffx.grad(_zero_d_argument_updated_in_place)(0.5, 2.0) == pytest.approx(2.0)
