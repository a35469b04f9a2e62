"""The statistics rules, beyond the registry-wide checks of ``test_rules.py``.

Random shapes, axes, lengths and modes (hypothesis) through both modes against central
differences; the conventions each exactly (np.cumprod at zeros, NaN entries, the middle of
an even count, ties, whole ranks of a quantile); the refusals; second derivatives (a layer
norm through np.var, and each rule under forward over reverse and forward over forward).
"""

from __future__ import annotations

import numpy as np
import pytest
from higher.numeric import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.rules import rule_named

from .test_shape_rules import MODES, assert_gradients, values, weights_for

EXAMPLES = 15
seeds = st.integers(0, 2**32 - 1)
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def axes_of(shape):
    return st.sampled_from([None, *range(len(shape)), -1])


# --------------------------------------------------------------------------- np.cumprod


def running_product(x, axis, w):
    return np.sum(np.cumprod(x, axis=axis) * w)


def brute_force_cumprod_gradient(x, w):
    """d/dx_i of sum_k w_k prod_{j <= k} x_j, product by product (exact with zeros)."""
    gradient = np.zeros_like(x)
    for i in range(len(x)):
        for k in range(i, len(x)):
            gradient[i] += w[k] * np.prod(np.delete(x[: k + 1], i))
    return gradient


@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=seeds, n=st.integers(1, 9))
def test_cumprod_is_exact_where_x_holds_zeros(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, n).astype(float)  # zeros, often several
    w = rng.standard_normal(n)
    expected = brute_force_cumprod_gradient(x, w)
    for mode in MODES:
        gradient = autodiffx.grad(running_product, mode=mode)(x, None, w)
        assert np.all(gradient[expected == 0] == 0)  # zeros stay exactly 0
        # elsewhere a sum of products up to 2**n in size, summed in another order: exact up
        # to rounding of those terms (a cancelling sum loses relative precision)
        scale = np.sum(np.abs(w)) * 2.0 ** n
        np.testing.assert_allclose(gradient, expected, rtol=1e-14, atol=4e-16 * scale)
    assert "Exact where x holds zeros" in rule_named("cumprod").doc


@settings(max_examples=EXAMPLES, deadline=None)
@given(shape=shapes, seed=seeds, data=st.data())
def test_cumprod_along_any_axis(shape, seed, data):
    axis = data.draw(axes_of(shape))
    x = values(shape, seed)
    assert_gradients(running_product, x, axis,
                     weights_for(np.shape(np.cumprod(x, axis=axis)), seed))


def test_cumprod_second_derivative_with_zeros_agrees_in_both_ways():
    x = np.array([2.0, 0.0, -1.0, 0.0, 3.0])
    w = np.arange(1.0, 6.0)
    hessians = [autodiffx.hessian(running_product, mode=mode)(x, None, w) for mode in MODES]
    np.testing.assert_allclose(hessians[0], hessians[1], rtol=1e-14, atol=1e-14)
    numeric = np.stack([numeric_gradient(
        lambda v, i=i: brute_force_cumprod_gradient(v, w)[i], x) for i in range(5)])
    np.testing.assert_allclose(hessians[0], numeric, atol=1e-6)


# --------------------------------------------------------------------------- ignoring NaN


def nan_statistic(x, name, axis, ddof):
    function = {"nansum": np.nansum, "nanmean": np.nanmean, "nanvar": np.nanvar,
                "nanstd": np.nanstd}[name]
    keywords = {} if ddof is None else {"ddof": ddof}
    return np.sum(function(x, axis=axis, **keywords) * np.arange(1.0, 1.0 + np.size(
        function(x, axis=axis, **keywords))).reshape(np.shape(function(x, axis=axis, **keywords))))


def nansum_of(x, axis, w):
    return np.sum(np.nansum(x, axis=axis) * w)


def nanmean_of(x, axis, w):
    return np.sum(np.nanmean(x, axis=axis) * w)


def nanvar_of(x, axis, w):
    return np.sum(np.nanvar(x, axis=axis, ddof=1) * w)


def nanstd_of(x, axis, w):
    return np.sum(np.nanstd(x, axis=axis) * w)


@pytest.mark.parametrize("statistic", [nansum_of, nanmean_of, nanvar_of, nanstd_of])
@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=seeds, data=st.data())
def test_nan_statistics_leave_nan_out(statistic, seed, data):
    shape = data.draw(st.sampled_from([(6,), (3, 4), (4, 3, 2)]))
    axis = data.draw(axes_of(shape))
    rng = np.random.default_rng(seed)
    x = rng.permutation(np.size(np.zeros(shape))).reshape(shape) * 0.3 + rng.uniform(0, 0.1)
    holes = rng.random(shape) < 0.3
    counts = np.sum(~holes, axis=axis)
    if np.any(counts < 3):  # a group with too few numbers: NaN statistics, a kink of std
        holes[...] = False
    x = np.where(holes, np.nan, x)
    w = weights_for(np.shape(np.nansum(x, axis=axis)), seed)
    assert_gradients(statistic, x, axis, w)
    for mode in MODES:
        gradient = autodiffx.grad(statistic, mode=mode)(x, axis, w)
        assert np.all(gradient[holes] == 0.0) and np.all(np.isfinite(gradient))
    assert "derivative is 0" in rule_named(statistic.__name__[:-3]).doc


# --------------------------------------------------------------------------- np.average


def weighted(a, weights, axis):
    return np.sum(np.average(a, axis=axis, weights=weights) * np.arange(1.0, 4.0)[: np.size(
        np.average(a, axis=axis, weights=weights))])


def weighted_in_weights(weights, a, axis):
    return weighted(a, weights, axis)


@pytest.mark.parametrize(("a_shape", "w_shape", "axis"), [
    ((4,), (4,), None), ((2, 3), (2, 3), None), ((2, 3), (3,), 1), ((3, 2), (3,), 0),
    ((2, 3), (2, 3), -1), ((3,), None, 0),
])
def test_average_in_values_and_weights(a_shape, w_shape, axis):
    a = values(a_shape, 1)
    weights = None if w_shape is None else np.random.default_rng(2).uniform(0.2, 2.0, w_shape)
    assert_gradients(weighted, a, weights, axis)
    if weights is not None:
        assert_gradients(weighted_in_weights, weights, a, axis)


def average_returned(a):
    mean, total = np.average(a, weights=a * a, returned=True)
    return mean * total


@pytest.mark.parametrize("mode", MODES)
def test_average_returned_is_refused(mode):
    with pytest.raises(autodiffx.AutodiffError):
        autodiffx.grad(average_returned, mode=mode)(np.array([1.0, 2.0]))


# --------------------------------------------------------------------------- cov, corrcoef


def covariance(m, y, rowvar, bias, ddof, w):
    return np.sum(np.cov(m, y, rowvar=rowvar, bias=bias, ddof=ddof) * w)


def covariance_in_y(y, m, rowvar, bias, ddof, w):
    return covariance(m, y, rowvar, bias, ddof, w)


def correlation(x, y, rowvar, w):
    return np.sum(np.corrcoef(x, y, rowvar=rowvar) * w)


def correlation_in_y(y, x, rowvar, w):
    return correlation(x, y, rowvar, w)


@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=seeds, variables=st.integers(1, 3), observations=st.integers(3, 6),
       rowvar=st.booleans(), with_y=st.booleans(), bias=st.booleans(),
       ddof=st.sampled_from([None, 0, 2]))
def test_cov_and_corrcoef_in_both_arguments(seed, variables, observations, rowvar, with_y,
                                            bias, ddof):
    shape = (variables, observations) if rowvar else (observations, variables)
    m = values(shape if variables > 1 else (observations,), seed)
    y = values((observations,), seed + 1) if with_y else None
    w = weights_for(np.shape(np.cov(m, y, rowvar=rowvar)), seed)
    assert_gradients(covariance, m, y, rowvar, bias, ddof, w)
    if with_y:
        assert_gradients(covariance_in_y, y, m, rowvar, bias, ddof, w)
    if variables + with_y > 1:  # a single variable's correlation is the constant 1
        assert_gradients(correlation, m, y, rowvar, w)
        if with_y:
            assert_gradients(correlation_in_y, y, m, rowvar, w)


def test_corrcoef_of_one_variable_has_gradient_zero():
    x = np.array([1.0, 3.0, 2.0, 5.0])
    for mode in MODES:
        gradient = autodiffx.grad(lambda v: np.corrcoef(v), mode=mode)(x)
        np.testing.assert_allclose(gradient, np.zeros(4), atol=1e-15)


# --------------------------------------------------------------------------- medians, quantiles


def median_of(x, axis, w):
    return np.sum(np.median(x, axis=axis) * w)


@pytest.mark.parametrize("mode", MODES)
def test_median_sends_the_derivative_to_the_middle(mode):
    odd = np.array([3.0, 1.0, 2.0])
    assert np.array_equal(autodiffx.grad(median_of, mode=mode)(odd, None, 1.0), [0, 0, 1])
    even = np.array([4.0, 1.0, 3.0, 2.0])
    assert np.array_equal(autodiffx.grad(median_of, mode=mode)(even, None, 1.0),
                          [0, 0, 0.5, 0.5])
    # ties: the stable order tells them apart, the earlier ranks lower
    tied = np.array([2.0, 1.0, 2.0, 2.0])
    assert np.array_equal(autodiffx.grad(median_of, mode=mode)(tied, None, 1.0),
                          [0.5, 0, 0.5, 0])
    rows = np.array([[3.0, 1.0, 2.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    assert np.array_equal(autodiffx.grad(median_of, mode=mode)(rows, 1, np.ones(2)),
                          [[0, 0.5, 0.5, 0], [0, 0.5, 0.5, 0]])
    assert "half each" in rule_named("median").doc


def quantile_of(x, q, axis, w):
    return np.sum(np.quantile(x, q, axis=axis) * w)


def quantile_in_q(q, x, axis, w):
    return quantile_of(x, q, axis, w)


def percentile_in_q(q, x, axis, w):
    return np.sum(np.percentile(x, q, axis=axis) * w)


@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=seeds, data=st.data())
def test_quantile_in_x_and_q(seed, data):
    shape = data.draw(st.sampled_from([(5,), (3, 4), (2, 3, 4)]))
    axis = data.draw(axes_of(shape))
    rng = np.random.default_rng(seed)
    x = rng.permutation(np.size(np.zeros(shape))).reshape(shape) * 0.5 + rng.uniform(0, 0.2)
    n = np.size(x) if axis is None else shape[axis]
    q = rng.uniform(0.0, 1.0, data.draw(st.sampled_from([(), (2,)])))
    if np.any(np.abs((n - 1) * q - np.round((n - 1) * q)) < 0.05):  # keep off whole ranks
        q = (np.floor((n - 1) * q) + 0.5) / max(n - 1, 1)
    w = weights_for(np.shape(np.quantile(x, q, axis=axis)), seed)
    assert_gradients(quantile_of, x, q, axis, w)
    if n > 1:
        assert_gradients(quantile_in_q, q, x, axis, w)
        assert_gradients(percentile_in_q, 100 * q, x, axis, w / 1.0)


@pytest.mark.parametrize("mode", MODES)
def test_quantile_at_a_whole_rank_takes_the_segment_above(mode):
    x = np.array([0.0, 1.0, 5.0])  # q = 0.5 is the whole rank 1: slopes 2 below, 8 above
    assert autodiffx.grad(quantile_in_q, mode=mode)(0.5, x, None, 1.0) == 8.0
    assert autodiffx.grad(quantile_in_q, mode=mode)(1.0, x, None, 1.0) == 8.0  # the top
    assert autodiffx.grad(quantile_in_q, mode=mode)(0.0, x, None, 1.0) == 2.0
    assert "segment above" in rule_named("quantile").doc


def nearest_quantile(x):
    return np.quantile(x, 0.3, method="nearest")


@pytest.mark.parametrize("mode", MODES)
def test_quantile_methods_other_than_linear_are_refused(mode):
    with pytest.raises(autodiffx.MissingRuleError, match="method='nearest'"):
        autodiffx.grad(nearest_quantile, mode=mode)(np.array([1.0, 3.0, 2.0]))


# --------------------------------------------------------------------------- convolution


def convolved(a, v, mode, w):
    return np.sum(np.convolve(a, v, mode) * w)


def convolved_in_v(v, a, mode, w):
    return convolved(a, v, mode, w)


def correlated(a, v, mode, w):
    return np.sum(np.correlate(a, v, mode) * w)


def correlated_in_v(v, a, mode, w):
    return correlated(a, v, mode, w)


@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=seeds, n=st.integers(1, 7), m=st.integers(1, 7),
       mode=st.sampled_from(["full", "same", "valid"]))
def test_convolve_and_correlate_of_any_lengths(seed, n, m, mode):
    a = values((n,), seed)
    v = values((m,), seed + 1)
    w = weights_for(np.shape(np.convolve(a, v, mode)), seed)
    assert_gradients(convolved, a, v, mode, w)
    assert_gradients(convolved_in_v, v, a, mode, w)
    w = weights_for(np.shape(np.correlate(a, v, mode)), seed)
    assert_gradients(correlated, a, v, mode, w)
    assert_gradients(correlated_in_v, v, a, mode, w)


# --------------------------------------------------------------------------- interp, polyval


def interpolated(fp, x, xp, left, right):
    return np.sum(np.interp(x, xp, fp, left=left, right=right) * np.arange(np.size(x)))


@pytest.mark.parametrize(("left", "right"), [(None, None), (-1.0, 4.0)])
def test_interp_in_the_values(left, right):
    xp = np.array([0.0, 0.5, 2.0, 3.0])
    x = np.array([-1.0, 0.2, 0.5, 1.1, 2.9, 3.5])
    assert_gradients(interpolated, values((4,), 3), x, xp, left, right)


def interpolated_in_x(x, xp, fp):
    return np.sum(np.interp(x, xp, fp))


@pytest.mark.parametrize("mode", MODES)
def test_interp_in_the_points_is_refused(mode):
    with pytest.raises(autodiffx.MissingRuleError, match="fp"):
        autodiffx.grad(interpolated_in_x, mode=mode)(np.array([0.5, 1.5]), np.arange(3.0),
                                                       np.array([1.0, 3.0, 2.0]))


def polynomial(p, x):
    return np.sum(np.polyval(p, x) * np.arange(1.0, 1.0 + np.size(x)).reshape(np.shape(x)))


def polynomial_in_x(x, p):
    return polynomial(p, x)


@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=seeds, degree=st.integers(0, 4), shape=st.sampled_from([(), (3,), (2, 2)]))
def test_polyval_in_coefficients_and_points(seed, degree, shape):
    p = values((degree + 1,), seed)
    x = values(shape, seed + 1)
    x = float(x) if shape == () else x
    assert_gradients(polynomial, p, x)
    assert_gradients(polynomial_in_x, x, p)


# --------------------------------------------------------------------------- second order


def layer_norm(x, gain, bias):
    centred = x - np.mean(x, axis=-1, keepdims=True)
    normalised = centred / np.sqrt(np.var(x, axis=-1, keepdims=True) + 1e-5)
    return np.sum(np.tanh(normalised * gain + bias) ** 2)


def test_layer_norm_through_var_under_grad_and_hessian():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4))
    gain, bias = rng.standard_normal(4), rng.standard_normal(4)
    assert_gradients(layer_norm, x, gain, bias)
    gradient = autodiffx.grad(layer_norm)
    expected = np.stack([numeric_gradient(lambda v, i=i: gradient(v, gain, bias).ravel()[i], x)
                         for i in range(x.size)]).reshape(2, 4, 2, 4)
    for mode in MODES:
        hessian = autodiffx.hessian(layer_norm, mode=mode)(x, gain, bias)
        np.testing.assert_allclose(hessian, expected, atol=1e-6)
        np.testing.assert_allclose(hessian, np.transpose(hessian, (2, 3, 0, 1)), atol=1e-10)


def cumprod_statistic(x):
    return np.sum(np.cumprod(x) * np.nanmean(x))


def robust_spread(x):
    return np.quantile(x ** 3, 0.7) - np.median(x) + np.nanstd(x) + np.average(x, weights=x * x)


def smooth_series(x):
    return np.sum(np.convolve(x, np.flip(x), "same") ** 2) + np.sum(np.polyval(x, x))


def covariance_trace(x):
    rows = np.reshape(x, (2, 3))
    return np.sum(np.cov(rows) ** 2) + np.sum(np.corrcoef(rows * rows + rows))


@pytest.mark.parametrize("f", [cumprod_statistic, robust_spread, smooth_series,
                               covariance_trace])
def test_hessians_of_both_ways_match_central_differences(f):
    x = np.array([0.4, -1.3, 0.9, 2.1, -0.6, 1.7])
    gradient = autodiffx.grad(f)
    expected = np.stack([numeric_gradient(lambda v, i=i: gradient(v)[i], x)
                         for i in range(x.size)])
    for mode in MODES:
        hessian = autodiffx.hessian(f, mode=mode)(x)
        scale = max(1.0, float(np.max(np.abs(expected))))
        assert np.max(np.abs(hessian - expected)) / scale < 1e-6, mode

