"""The shape, assembly and extra elementwise rules, beyond the registry-wide checks.

``test_rules.py`` and ``test_both_modes.py`` run every rule over the cases of
``domains.py``. Here: random shapes, axes and counts (hypothesis) through both modes against
central differences, the conventions at kinks each exactly (``np.fmax`` against NaN,
``np.sinc`` at 0, ``np.copysign`` at 0, ``np.nan_to_num`` where it replaces), the refusals,
and the ndarray method forms.
"""

from __future__ import annotations

import numpy as np
import pytest
from higher.numeric import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.forward import Dual, new_level
from autodiffx.rules import rule_named

EXAMPLES = 15
MODES = ("reverse", "forward")


def assert_gradients(f, x, *constants, tolerance=1e-6):
    """Both modes' gradients of ``f(x, *constants)`` against central differences and each
    other."""
    numeric = numeric_gradient(lambda v: f(v, *constants), x)
    gradients = [autodiffx.grad(f, mode=mode)(x, *constants) for mode in MODES]
    for mode, gradient in zip(MODES, gradients, strict=True):
        assert np.shape(gradient) == np.shape(x), mode
        scale = max(1.0, float(np.max(np.abs(numeric), initial=0.0)))
        error = float(np.max(np.abs(gradient - numeric), initial=0.0)) / scale
        assert error < tolerance, f"{mode} mode: relative error {error:.1e}"
    np.testing.assert_allclose(gradients[0], gradients[1], rtol=1e-10, atol=1e-12)


def weights_for(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
seeds = st.integers(0, 2**32 - 1)


def values(shape, seed):
    return np.random.default_rng(seed).uniform(-2.0, 2.0, shape)


# --------------------------------------------------------------------------- random shapes


def repeated(x, repeats, axis, w):
    return np.sum(np.repeat(x, repeats, axis=axis) * w)


@settings(max_examples=EXAMPLES, deadline=None)
@given(shape=shapes, seed=seeds, data=st.data())
def test_repeat_with_counts_per_entry_and_one_count(shape, seed, data):
    axis = data.draw(st.sampled_from([None, *range(len(shape)), -1]))
    n = int(np.prod(shape)) if axis is None else shape[axis]
    repeats = data.draw(st.one_of(st.integers(0, 3),
                                  st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    x = values(shape, seed)
    w = weights_for(np.shape(np.repeat(x, repeats, axis=axis)), seed)
    assert_gradients(repeated, x, repeats, axis, w)


def tiled(x, reps, w):
    return np.sum(np.tile(x, reps) * w)


@settings(max_examples=EXAMPLES, deadline=None)
@given(shape=shapes, seed=seeds,
       reps=st.one_of(st.integers(1, 3), st.lists(st.integers(1, 3), min_size=1, max_size=4)))
def test_tile_of_any_rank_against_any_reps(shape, seed, reps):
    x = values(shape, seed)
    assert_gradients(tiled, x, reps, weights_for(np.shape(np.tile(x, reps)), seed))


def padded(x, pad_width, mode, w):
    return np.sum(np.pad(x, pad_width, mode=mode) * w)


@settings(max_examples=EXAMPLES, deadline=None)
@given(shape=shapes, seed=seeds, data=st.data(),
       mode=st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]))
def test_pad_in_every_mode_that_copies(shape, seed, data, mode):
    widths = st.tuples(st.integers(0, 3), st.integers(0, 3))
    pad_width = data.draw(st.lists(widths, min_size=len(shape), max_size=len(shape)))
    x = values(shape, seed)
    w = weights_for(np.shape(np.pad(x, pad_width, mode=mode)), seed)
    assert_gradients(padded, x, pad_width, mode, w)


def rolled(x, shift, axis, w):
    return np.sum(np.roll(x, shift, axis=axis) * w)


@settings(max_examples=EXAMPLES, deadline=None)
@given(shape=shapes, seed=seeds, data=st.data())
def test_roll_by_any_shift_along_any_axes(shape, seed, data):
    axes = data.draw(st.one_of(st.none(), st.integers(0, len(shape) - 1),
                               st.lists(st.integers(0, len(shape) - 1), min_size=1,
                                        max_size=len(shape), unique=True).map(tuple)))
    shift = (data.draw(st.integers(-5, 5)) if not isinstance(axes, tuple)
             else tuple(data.draw(st.integers(-5, 5)) for _ in axes))
    x = values(shape, seed)
    assert_gradients(rolled, x, shift, axes, weights_for(shape, seed))


def rotated(x, k, axes, w):
    return np.sum(np.rot90(x, k, axes) * w)


@settings(max_examples=EXAMPLES, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=3).map(tuple), seed=seeds,
       k=st.integers(-5, 5), data=st.data())
def test_rot90_any_turns_in_any_plane(shape, seed, k, data):
    axes = tuple(data.draw(st.permutations(range(len(shape))))[:2])
    x = values(shape, seed)
    assert_gradients(rotated, x, k, axes, weights_for(np.shape(np.rot90(x, k, axes)), seed))


def vstacked(x, y, w):
    return np.sum(np.vstack((x, y * x[..., :1], y)) * w)


def hstacked(x, y, w):
    return np.sum(np.hstack([x, y * x[..., :1], y]) * w)


def dstacked(x, y, w):
    return np.sum(np.dstack((x, y * x[..., :1], y)) * w)


def column_stacked(x, y, w):
    return np.sum(np.column_stack([x, y * x[..., :1], y]) * w)


@pytest.mark.parametrize("joined", [vstacked, hstacked, dstacked, column_stacked])
@pytest.mark.parametrize("shape", [(3,), (2, 3)])
def test_joins_of_a_list_or_tuple_with_a_product_in_it(joined, shape):
    x = values(shape, 1)
    y = values(shape, 2)
    function = getattr(np, joined.__name__.replace("ed", ""))
    w = weights_for(np.shape(function((x, x, y))), 3)
    assert_gradients(joined, x, y, w)
    assert_gradients(swapped(joined), y, x, w)


def swapped(joined):
    """``joined`` differentiated in its second argument (reverse mode needs a def)."""
    def in_y(y, x, w):
        return joined(x, y, w)

    in_y.__name__ = joined.__name__ + "_in_y"
    return in_y


def partitioned(x, kth, axis, w):
    return np.sum(np.partition(x, kth, axis=axis) * w)


@settings(max_examples=EXAMPLES, deadline=None)
@given(shape=shapes, seed=seeds, data=st.data())
def test_partition_follows_the_entries_it_moves(shape, seed, data):
    axis = data.draw(st.sampled_from([None, -1, 0]))
    n = int(np.prod(shape)) if axis is None else shape[axis]
    kth = data.draw(st.integers(-n, n - 1))
    x = np.random.default_rng(seed).permutation(np.size(x := np.zeros(shape))).reshape(shape)
    x = x * 0.5 + values(shape, seed) * 0.1  # entries at least 0.3 apart: no ties
    assert_gradients(partitioned, x, kth, axis, weights_for(np.shape(np.partition(x, kth, axis)),
                                                            seed))


# --------------------------------------------------------------------------- kinks, exactly


def forward_derivative(function, *args, wrt=0):
    args = list(args)
    args[wrt] = Dual(args[wrt], np.ones((1, *np.shape(args[wrt]))), new_level())
    out = function(*args)
    return out.tangent[0] if isinstance(out, Dual) else np.zeros(np.shape(out))


def adjoint(name, index, g, *args, **keywords):
    rule = rule_named(name)
    ans = rule.primitives[0](*args, **keywords)
    return rule.adjoint_function(index)(g, ans, *args, **keywords)


@pytest.mark.parametrize("function", [np.fmax, np.fmin])
def test_fmax_and_fmin_ignore_nan_and_split_ties(function):
    x = np.array([1.0, np.nan, 2.0, np.nan, 3.0])
    y = np.array([np.nan, 1.0, 2.0, np.nan, 0.0])
    wins_x = (x > y) if function is np.fmax else (x < y)
    expected_x = np.array([1.0, 0.0, 0.5, 1.0, float(wins_x[4])])
    expected_y = np.array([0.0, 1.0, 0.5, 0.0, 1.0 - wins_x[4]])
    for wrt, expected in ((0, expected_x), (1, expected_y)):
        assert np.array_equal(forward_derivative(function, x, y, wrt=wrt), expected)
        assert np.array_equal(adjoint(function.__name__, wrt, np.ones(5), x, y), expected)
    assert "NaN is ignored" in rule_named(function.__name__).doc


def test_sinc_has_derivative_zero_at_zero_and_is_smooth_near_it():
    x = np.array([0.0, 1e-9, -0.004, 0.009, 0.011, 0.5])
    exact = (np.cos(np.pi * x[1:]) - np.sinc(x[1:])) / x[1:]
    derivative = forward_derivative(np.sinc, x)
    assert derivative[0] == 0.0
    np.testing.assert_allclose(derivative[3:], exact[2:], rtol=1e-9)
    np.testing.assert_allclose(derivative[1:3], -np.pi ** 2 / 3 * x[1:3], rtol=1e-4)
    assert np.array_equal(adjoint("sinc", 0, np.ones(6), x), derivative)
    # the second derivative at 0 is -pi**2 / 3, in both modes (no branch is cut off there)
    for mode in MODES:
        second = autodiffx.hessian(lambda v: np.sum(np.sinc(v)), mode=mode)(np.zeros(2))
        np.testing.assert_allclose(second, -np.pi ** 2 / 3 * np.eye(2), rtol=1e-12)
    assert "sinc'(0) = 0" in rule_named("sinc").doc


def test_copysign_derivative_is_the_sign_agreement_and_zero_at_zero():
    x = np.array([2.0, -2.0, 2.0, -2.0, 0.0])
    y = np.array([1.0, 1.0, -1.0, -0.0, -1.0])
    expected = np.array([1.0, -1.0, -1.0, 1.0, 0.0])
    assert np.array_equal(forward_derivative(np.copysign, x, y), expected)
    assert np.array_equal(adjoint("copysign", 0, np.ones(5), x, y), expected)
    assert np.array_equal(forward_derivative(np.copysign, x, y, wrt=1), np.zeros(5))


def test_nan_to_num_passes_finite_entries_only():
    x = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    expected = np.array([1.0, 0.0, 0.0, 0.0, 1.0])
    assert np.array_equal(forward_derivative(np.nan_to_num, x), expected)
    assert np.array_equal(adjoint("nan_to_num", 0, np.ones(5), x, nan=3.0), expected)
    # a NaN cotangent of a replaced entry does not leak
    assert np.array_equal(adjoint("nan_to_num", 0, np.array([1, np.nan, 1, 1, 1]), x),
                          expected)


def test_ldexp_is_differentiated_in_the_mantissa():
    x = np.array([0.5, -1.5, 3.0])
    exponent = np.array([3, -1, 0])
    assert np.array_equal(forward_derivative(np.ldexp, x, exponent), [8.0, 0.5, 1.0])
    assert np.array_equal(adjoint("ldexp", 0, np.ones(3), x, exponent), [8.0, 0.5, 1.0])


def cast(x, dtype):
    return np.sum(x.astype(dtype) * np.arange(1.0, 4.0))


@pytest.mark.parametrize("mode", MODES)
def test_astype_float_passes_the_derivative(mode):
    x = np.array([0.3, -1.7, 2.2])
    assert np.array_equal(autodiffx.grad(cast, mode=mode)(x, float), [1.0, 2.0, 3.0])
    assert np.array_equal(autodiffx.grad(cast, mode=mode)(x, "float64"), [1.0, 2.0, 3.0])


def test_astype_int_has_derivative_zero_or_is_refused():
    """Truncation is a step function: reverse mode (and np.astype) give 0; forward mode's
    x.astype(int) refuses, as before."""
    x = np.array([0.3, -1.7, 2.2])
    assert np.array_equal(autodiffx.grad(cast)(x, int), np.zeros(3))
    with pytest.raises(autodiffx.AutodiffError, match="astype"):
        autodiffx.grad(cast, mode="forward")(x, int)
    assert np.array_equal(forward_derivative(lambda v: np.astype(v, int), x), np.zeros(3))


# --------------------------------------------------------------------------- refusals


def pad_by_mean(x):
    return np.sum(np.pad(x, 2, mode="mean"))


@pytest.mark.parametrize("mode", MODES)
def test_pad_modes_without_a_rule_are_refused_naming_the_mode(mode):
    with pytest.raises(autodiffx.MissingRuleError, match="mode='mean'"):
        autodiffx.grad(pad_by_mean, mode=mode)(np.array([1.0, 2.0, 4.0]))


def two_at_least(x):
    a, b = np.atleast_2d(x, x)
    return np.sum(a * b)


@pytest.mark.parametrize("mode", MODES)
def test_atleast_of_several_arrays_is_refused(mode):
    with pytest.raises(autodiffx.AutodiffError):
        autodiffx.grad(two_at_least, mode=mode)(np.array([1.0, 2.0]))


# --------------------------------------------------------------------------- method forms


def methods(x):
    y = x.repeat(2, axis=0) * x.cumprod().reshape(-1, 1)[:4]
    return np.sum(y.astype(float) * x.round()[0])


@pytest.mark.parametrize("mode", MODES)
def test_method_forms_match_the_functions(mode):
    x = np.array([[0.6, -1.2], [1.4, 0.3]])
    assert_gradients(methods, x)
    gradient = autodiffx.grad(methods, mode=mode)(x)
    assert np.shape(gradient) == (2, 2)


def generated_repeat(x):
    return np.sum(np.repeat(x, 3) * np.arange(6.0))


def test_generated_code_of_repeat_reads_as_a_scatter():
    source = autodiffx.source(autodiffx.grad(generated_repeat))
    assert "untake(" in source and "np.repeat(np.arange(" in source


def many_helpers(x, w):
    y = np.pad(x, 1, mode="edge") + np.sum(np.cumprod(x))
    z = np.sum(np.vstack([x, w])) + np.sum(np.repeat(x, 2) * np.tile(w, 2))
    return np.sum(y ** 2) + z + np.quantile(x, 0.3) + np.median(x) + np.polyval(x, 0.5)


def test_exported_gradient_carries_the_new_helpers(tmp_path):
    """The exporter copies each helper the generated code names, and the helpers those
    call (untake, linear_scan, normalize_axis, ...), so they must be plain functions."""
    import importlib.util

    from autodiffx.export import export_source

    x = np.array([0.3, -1.2, 0.9, 2.0])
    w = np.array([1.0, 2.0, 0.5, -1.0])
    path = tmp_path / "exported_many_helpers.py"
    path.write_text(export_source(many_helpers, wrt=(0, 1), args=(x, w)))
    spec = importlib.util.spec_from_file_location("exported_many_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for exported, live in zip(module.many_helpers_grad(x, w),
                              autodiffx.grad(many_helpers, wrt=(0, 1))(x, w), strict=True):
        np.testing.assert_allclose(exported, live, rtol=1e-14)


def pad_by_value(c, x):
    return np.sum(np.pad(x, 1, constant_values=c))


def variance_by_ddof(c, x):
    return np.var(x, ddof=c)


def interp_with_left(c, x):
    return np.sum(np.interp(np.array([-1.0, 0.5]), np.array([0.0, 1.0]), x, left=c))


@pytest.mark.parametrize(("f", "x"), [(pad_by_value, np.array([1.0, 3.0, 2.0])),
                                      (variance_by_ddof, np.array([1.0, 3.0, 2.0])),
                                      (interp_with_left, np.array([1.0, 3.0]))])
@pytest.mark.parametrize("mode", MODES)
def test_a_keyword_that_carries_a_derivative_is_refused(f, x, mode):
    """Rules differentiate their positional parameters only; reverse mode passed no
    derivative through a differentiated keyword (np.var(x, ddof=c) gave 0), silently."""
    with pytest.raises(autodiffx.AutodiffError) as raised:
        autodiffx.grad(f, mode=mode)(0.5, x)
    if mode == "reverse":
        assert "carries a derivative" in str(raised.value)
