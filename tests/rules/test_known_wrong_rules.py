"""The rules issue 12 found wrong or missing ("Known wrong rules"), through both modes.

Each program is differentiated with ``autodiffx.grad`` in reverse mode (generated code) and
in forward mode (Duals), and checked against central differences and against the other
mode; where a mode cannot support a call it must refuse with an AutodiffError.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx

MODES = ("reverse", "forward")
STEP = 1e-6


def central_differences(f, x):
    x = np.asarray(x, dtype=float)
    gradient = np.zeros(np.shape(x))
    for i in np.ndindex(*np.shape(x)):
        step = np.zeros(np.shape(x))
        step[i] = STEP
        high, low = x + step, x - step
        if not np.ndim(x):
            high, low = float(high), float(low)
        gradient[i] = (f(high) - f(low)) / (2 * STEP)
    return gradient


def both_modes(f, x, *, atol=1e-6):
    """The gradient of ``f`` at ``x`` in both modes, checked against central differences
    and against each other."""
    numeric = central_differences(f, x)
    gradients = [autodiffx.grad(f, mode=mode)(x) for mode in MODES]
    for mode, gradient in zip(MODES, gradients, strict=True):
        assert np.shape(gradient) == np.shape(x), mode
        np.testing.assert_allclose(gradient, numeric, atol=atol, rtol=1e-6, err_msg=mode)
    np.testing.assert_allclose(gradients[0], gradients[1], atol=1e-12, rtol=1e-12)
    return gradients[0]


# --------------------------------------------------------------------------- x ** p at 0


def power_0_float(x):
    return np.sum(np.power(x, 0.0))


def power_0_int(x):
    return np.sum(x ** 0)


def power_1(x):
    return np.sum(x ** 1)


def power_1_float(x):
    return np.sum(np.power(x, 1.0))


def power_2(x):
    return np.sum(x ** 2)


def power_2_float(x):
    return np.sum(np.power(x, 2.0))


def power_3(x):
    return np.sum(np.power(x, 3.0))


POWERS = {power_0_float: 0.0, power_0_int: 0, power_1: 1, power_1_float: 1.0, power_2: 2,
          power_2_float: 2.0, power_3: 3.0}  # fmt: skip
AT_ZERO = {"float": 0.0, "0-d": np.array(0.0), "array": np.array([0.0, -1.5, 0.0, 2.0])}


@pytest.mark.parametrize("kind", sorted(AT_ZERO))
@pytest.mark.parametrize("f", list(POWERS), ids=lambda f: f.__name__)
def test_power_at_zero_has_its_one_sided_derivative_in_both_modes(f, kind):
    """x**0 has derivative 0 (also at 0), x**1 has 1, x**p with p > 1 has 0 at 0: never a
    NaN, never a ZeroDivisionError (the Python float), never a warning."""
    x = AT_ZERO[kind]
    p = POWERS[f]
    expected = np.zeros(np.shape(x)) if p == 0 else p * np.power(x, p - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for mode in MODES:
            gradient = autodiffx.grad(f, mode=mode)(x)
            assert np.array_equal(gradient, expected), (mode, gradient)
    both_modes(f, x)


def zero_base(x):
    return np.sum(0.0 ** x)


def zero_base_array(x):
    return np.sum(np.power(np.zeros(3), x))


def test_zero_base_has_derivative_zero_in_the_exponent():
    x = np.array([0.5, 1.0, 2.5])
    for f in (zero_base, zero_base_array):
        assert np.array_equal(both_modes(f, x), np.zeros(3))


def power_pair(x):
    return np.sum(np.power(x[:3], x[3:]))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]), min_size=3, max_size=3),
       st.lists(st.sampled_from([0.0, 1.0, 2.0, 2.5, 3.0]), min_size=3, max_size=3))
def test_power_of_two_arrays_agrees_in_both_modes_with_zeros(bases, exponents):
    """x ** y with zeros in x and y: both modes agree, with the convention at x = 0, y = 0
    (central differences in the exponent at x = 0 see 0 ** y jump, so only the modes)."""
    x = np.array(bases + exponents)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reverse, forward = (autodiffx.grad(power_pair, mode=m)(x) for m in MODES)
    assert np.array_equal(reverse, forward)
    b, e = np.array(bases), np.array(exponents)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where((b == 0) & (e == 0), 0.0, e * np.power(b, e - 1.0))
    np.testing.assert_allclose(reverse[:3], expected, rtol=1e-12)


def test_power_keeps_plain_generated_code_for_whole_exponents():
    text = autodiffx.source(autodiffx.grad(power_2), np.ones(3))
    assert "(2 * x)" in text and "strong_zero" not in text


# --------------------------------------------------------------------------- einsum

W = np.arange(1.0, 13.0)


def einsum_sublist_transpose(x):
    return np.sum(np.einsum(x[:4].reshape(2, 2), (0, 1), (1, 0)) * W[:4].reshape(2, 2))


def einsum_sublist_product(x):
    a = x[:4].reshape(2, 2)
    b = x[2:6].reshape(2, 2)
    return np.sum(np.einsum(a, [0, 1], b, [1, 2], [0, 2]) * W[:4].reshape(2, 2))


def einsum_sublist_implicit(x):
    return np.sum(np.einsum(x[:6].reshape(2, 3), [0, 1], x[6:9], [1]) * W[:2])


def einsum_sublist_diagonal(x):
    return np.einsum(x[:9].reshape(3, 3), [0, 0])


def einsum_sublist_ellipsis(x):
    return np.sum(np.einsum(x[:6].reshape(2, 3), [Ellipsis, 1], [Ellipsis]) * W[:2])


def einsum_ellipsis_batch(x):
    a = x[:8].reshape(2, 2, 2)
    return np.sum(np.einsum("...ij,...jk->...ik", a, x[:4].reshape(2, 2)) * W[:8].reshape(2, 2, 2))


def einsum_ellipsis_trailing(x):
    return np.sum(np.einsum("i...->...", x[:6].reshape(2, 3)) * W[:3])


def einsum_ellipsis_implicit(x):
    return np.sum(np.einsum("...i", x[:6].reshape(2, 3)) * W[:6].reshape(2, 3))


def einsum_broadcast_length_one(x):
    product = np.einsum("ij,jk->ik", x[:2].reshape(2, 1), x[2:11].reshape(3, 3))
    return np.sum(product * W[:6].reshape(2, 3))


def einsum_three_operands(x):
    return np.einsum("i,i,i->", x[:3], x[3:6], x[6:9])


def einsum_three_operands_one_differentiated(x):
    return np.einsum("i,i,i->", np.ones(3), np.ones(3), x[:3])


EINSUMS = [
    einsum_sublist_transpose, einsum_sublist_product, einsum_sublist_implicit,
    einsum_sublist_diagonal, einsum_sublist_ellipsis, einsum_ellipsis_batch,
    einsum_ellipsis_trailing, einsum_ellipsis_implicit, einsum_broadcast_length_one,
]  # fmt: skip


@pytest.mark.parametrize("f", EINSUMS, ids=lambda f: f.__name__)
def test_einsum_sublists_ellipses_and_broadcasting_in_both_modes(f):
    x = np.random.default_rng(3).standard_normal(12)
    gradient = both_modes(f, x)
    assert np.any(gradient != 0)


@pytest.mark.parametrize("f", [einsum_three_operands, einsum_three_operands_one_differentiated])
@pytest.mark.parametrize("mode", MODES)
def test_einsum_with_three_operands_is_refused_in_both_modes(f, mode):
    with pytest.raises(autodiffx.MissingRuleError, match="3 operands"):
        autodiffx.grad(f, mode=mode)(np.ones(12))


# --------------------------------------------------------------------------- array makers


def linspace(x):
    return np.sum(np.linspace(x[0], x[1], 5) ** 2)


def linspace_without_endpoint(x):
    return np.sum(np.linspace(x[0], x[1], 5, endpoint=False) * W[:5])


def linspace_keywords(x):
    return np.sum(np.linspace(x[0], stop=x[1], num=4) * W[:4])


def linspace_of_arrays_on_axis_1(x):
    return np.sum(np.linspace(x[:2], x[2], 3, axis=1) * W[:6].reshape(2, 3))


def linspace_of_arrays_on_last_axis(x):
    return np.sum(np.linspace(x[:2], x[2:4], 4, axis=-1, endpoint=False) * W[:8].reshape(2, 4))


def linspace_of_one(x):
    return np.sum(np.linspace(x[0], x[1], 1) * 3.0)


def full(x):
    return np.sum(np.full((2, 2), x[0]) ** 2)


def full_of_a_row(x):
    return np.sum(np.full((2, 2), x[:2]) * W[:4].reshape(2, 2))


def full_then_store(x):
    y = np.full((4,), x[0])
    y[1] = x[2]
    return np.sum(y * W[:4])


def full_like(x):
    return np.sum(np.full_like(x, x[0]) ** 2)


def full_like_of_a_constant(x):
    return np.sum(np.full_like(np.zeros(3), x[1]) * W[:3])


def full_like_of_integers(x):
    return np.sum(np.full_like(np.arange(3), x[1]) * W[:3])


MAKERS = [linspace, linspace_without_endpoint, linspace_keywords, linspace_of_arrays_on_axis_1,
          linspace_of_arrays_on_last_axis, linspace_of_one, full_like]  # fmt: skip


@pytest.mark.parametrize("f", MAKERS, ids=lambda f: f.__name__)
def test_array_makers_carry_the_derivative_of_their_values_in_both_modes(f):
    x = np.array([0.3, -0.7, 1.1, 0.5])
    assert np.any(both_modes(f, x) != 0)


@pytest.mark.parametrize(
    "f", [full, full_of_a_row, full_then_store, full_like_of_a_constant, full_like_of_integers],
    ids=lambda f: f.__name__)
def test_fill_values_in_reverse_mode_and_refused_in_forward_mode(f):
    """NumPy does not hand np.full's fill value (nor np.full_like's, when ``a`` is plain) to
    a Dual: it converts it, and forward mode refuses that."""
    x = np.array([0.3, -0.7, 1.1, 0.5])
    gradient = autodiffx.grad(f)(x)
    np.testing.assert_allclose(gradient, central_differences(f, x), atol=1e-6)
    with pytest.raises(autodiffx.AutodiffError):
        autodiffx.grad(f, mode="forward")(x)


def test_full_like_of_integers_has_derivative_zero():
    """np.full_like of integers truncates the fill value: 0, not the sum of the weights."""
    x = np.array([0.3, 1.7, 1.1, 0.5])
    assert np.array_equal(autodiffx.grad(full_like_of_integers)(x), np.zeros(4))


def linspace_with_step(x):
    return np.sum(np.linspace(x[0], x[1], 4, retstep=True)[0])


def linspace_of_integers(x):
    return np.sum(np.linspace(x[0], x[1], 4, dtype=int))


@pytest.mark.parametrize("f", [linspace_with_step, linspace_of_integers])
@pytest.mark.parametrize("mode", MODES)
def test_linspace_keywords_without_a_rule_are_refused(f, mode):
    with pytest.raises(autodiffx.MissingRuleError, match="retstep|dtype"):
        autodiffx.grad(f, mode=mode)(np.array([0.3, 2.7]))


# --------------------------------------------------------------------------- max(x), min(x)


def builtin_max(x):
    return max(x) * 2.0


def builtin_min(x):
    return min(x) * 2.0


def builtin_max_of_two(x):
    return max(x[0], x[1]) * 2.0 + min(x[2], x[3])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(-2, 2), min_size=1, max_size=6))
def test_builtin_extremum_of_an_array_goes_to_the_first_extreme_entry(values):
    """Whole numbers, so ties are common: Python's max returns the first of the tied items,
    and both modes give it the whole derivative (np.argmax's choice)."""
    x = np.array(values, dtype=float)
    for f, pick in ((builtin_max, np.argmax), (builtin_min, np.argmin)):
        expected = np.zeros(len(x))
        expected[pick(x)] = 2.0
        for mode in MODES:
            assert np.array_equal(autodiffx.grad(f, mode=mode)(x), expected), mode


def test_builtin_extremum_matches_differences_away_from_ties():
    x = np.array([0.3, -0.7, 1.1, 0.5])
    for f in (builtin_max, builtin_min, builtin_max_of_two):
        both_modes(f, x)


def test_max_of_two_numbers_keeps_its_plain_generated_code():
    text = autodiffx.source(autodiffx.grad(builtin_max_of_two), np.ones(4))
    assert "(x_0 >= x_1)" in text and "argmax" not in text
    text = autodiffx.source(autodiffx.grad(builtin_max), np.ones(4))
    assert "np.argmax(x)" in text and ">= None" not in text


# --------------------------------------------------------------------------- empty arrays


def mean(x):
    return np.mean(x)


def mean_on_axis_0(x):
    return np.sum(np.mean(x, axis=0))


def variance(x):
    return np.var(x)


def variance_on_axis_1(x):
    return np.sum(np.var(x, axis=1))


def deviation(x):
    return np.std(x)


def mean_by_hand(x):
    return np.sum(x) / len(x)


def mean_of_an_empty_slice(x):
    return np.sum(x) + np.sum(np.mean(x[:0]))


@pytest.mark.parametrize("shape", [(0,), (0, 3)])
@pytest.mark.parametrize(
    "f", [mean, mean_on_axis_0, variance, variance_on_axis_1, deviation, mean_by_hand],
    ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", MODES)
def test_statistics_of_an_empty_array_have_an_empty_gradient(f, shape, mode):
    """NumPy gives NaN with a RuntimeWarning; the gradient is empty, and no exception comes
    from autodiffx's internals."""
    if f in (mean_on_axis_0, variance_on_axis_1) and len(shape) == 1:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gradient = autodiffx.grad(f, mode=mode)(np.zeros(shape))
    assert np.shape(gradient) == shape


def test_the_mean_of_an_empty_slice_passes_no_derivative():
    x = np.array([0.3, -0.7, 1.1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for mode in MODES:
            assert np.array_equal(autodiffx.grad(mean_of_an_empty_slice, mode=mode)(x),
                                  np.ones(3))


# --------------------------------------------------------------------------- the audit


def hypot(x):
    return np.sum(np.hypot(x[:2], x[2:]))


def log(x):
    return np.log(x)


def log1p(x):
    return np.log1p(x)


def arctanh(x):
    return np.arctanh(x)


def divide_by_zero(x):
    return np.sum(np.divide(x, 0.0))


def test_hypot_at_the_origin_has_gradient_zero_like_the_norm():
    x = np.array([0.0, 3.0, 0.0, 4.0])
    for mode in MODES:
        assert np.array_equal(autodiffx.grad(hypot, mode=mode)(x), [0.0, 0.6, 0.0, 0.8])
    both_modes(hypot, np.array([0.5, 3.0, -1.0, 4.0]))


@pytest.mark.parametrize(("f", "x"), [(log, 0.0), (log1p, -1.0), (arctanh, 1.0)],
                         ids=["log", "log1p", "arctanh"])
@pytest.mark.parametrize("mode", MODES)
def test_singular_points_of_a_python_float_give_inf_not_zero_division(f, x, mode):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert autodiffx.grad(f, mode=mode)(x) == np.inf


@pytest.mark.parametrize("mode", MODES)
def test_dividing_an_array_by_a_zero_constant_gives_inf_not_zero_division(mode):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.array_equal(autodiffx.grad(divide_by_zero, mode=mode)(np.ones(2)),
                              [np.inf, np.inf])
