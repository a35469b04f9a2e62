"""Forward mode's errors: each names what failed and what to do instead."""

import math

import numpy as np
import pytest

import autodiffx
from autodiffx import grad


def _forward(f, **options):
    return grad(f, mode="forward", **options)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: float(x),
        lambda x: math.exp(x),
        lambda x: math.sqrt(x * x),
        lambda x: np.asarray(x),
        lambda x: np.array([x, x]).sum(),
    ],
    ids=["float", "math.exp", "math.sqrt", "np.asarray", "np.array-of-list"],
)
def test_dropping_the_derivative_is_refused(f):
    with pytest.raises(autodiffx.DerivativeConversionError, match="derivative"):
        _forward(f)(2.0)


def test_asarray_of_an_array_dual_is_refused():
    with pytest.raises(autodiffx.DerivativeConversionError, match="np.stack"):
        _forward(lambda x: np.sum(np.asarray(x)))(np.array([1.0, 2.0]))


def store_scalar_into_zeros(x):
    y = np.zeros(2)
    y[0] = x[1] * 2.0
    return np.sum(y)


def store_row_into_zeros(x):
    y = np.zeros((2, 2))
    y[0] = x * 2.0
    return np.sum(y)


@pytest.mark.parametrize("f", [store_scalar_into_zeros, store_row_into_zeros])
def test_storing_into_a_plain_array_says_to_use_reverse_mode(f):
    # A scalar store used to surface as NumPy's "setting an array element with a sequence".
    with pytest.raises(autodiffx.DerivativeConversionError, match="mode='reverse'"):
        _forward(f)(np.array([1.0, 2.0]))


def test_unknown_function_is_named():
    with pytest.raises(autodiffx.MissingRuleError, match=r"np\.i0"):
        _forward(lambda x: np.sum(np.i0(x)))(np.array([0.5, 1.5]))


def test_unknown_keyword_is_named():
    with pytest.raises(autodiffx.MissingRuleError, match="where="):
        _forward(lambda x: np.sum(x, where=x > 0))(np.array([0.5, 1.5]))


def test_ufunc_methods_without_a_function_form_are_refused_with_a_hint():
    with pytest.raises(autodiffx.MissingRuleError, match=r"np\.subtract\.reduce"):
        _forward(lambda x: np.subtract.reduce(x))(np.array([0.5, 1.5]))
    with pytest.raises(autodiffx.MissingRuleError, match=r"np\.add\.reduce"):
        _forward(lambda x: np.add.reduce(x, dtype=np.float64))(np.array([0.5, 1.5]))


def test_non_scalar_output_is_refused():
    with pytest.raises(autodiffx.NonScalarOutputError, match=r"shape \(2,\)"):
        _forward(lambda x: x * 2.0)(np.array([0.5, 1.5]))


@pytest.mark.parametrize("wrt", [2, -3, "z", 0.5, (), (0, 0), ("x", 0)])
def test_bad_wrt_is_refused(wrt):
    with pytest.raises(autodiffx.ArgumentError):
        grad(lambda x, y: x * y, wrt=wrt, mode="forward")(1.0, 2.0)


@pytest.mark.parametrize("mode", ["sideways", "Forward", None, 1])
def test_bad_mode_is_refused(mode):
    with pytest.raises(autodiffx.ArgumentError, match="mode"):
        grad(lambda x: x, mode=mode)


@pytest.mark.parametrize("chunk", [0, -2, 1.5, "4", True])
def test_bad_chunk_is_refused(chunk):
    with pytest.raises(autodiffx.ArgumentError, match="chunk"):
        _forward(lambda x: np.sum(x), chunk=chunk)(np.array([1.0, 2.0]))


def test_errors_are_also_the_builtin_kinds():
    # Code that does not know autodiffx can still catch these as usual.
    with pytest.raises(TypeError):
        _forward(lambda x: float(x))(1.0)
    with pytest.raises(ValueError):
        grad(lambda x: x, mode="sideways")


def accumulate_into_zeros(x):
    total = np.zeros(2)
    total += x * 2.0
    return np.sum(total)


def test_augmented_assignment_into_a_plain_array_is_refused_clearly():
    with pytest.raises(autodiffx.DerivativeConversionError, match=r"y = y \+ \.\.\."):
        _forward(accumulate_into_zeros)(np.array([1.0, 2.0]))


def test_augmented_assignment_into_zeros_like_works():
    def f(x):
        total = np.zeros_like(x)
        total += x * 2.0
        total *= x
        return np.sum(total)

    np.testing.assert_allclose(_forward(f)(np.array([1.0, 2.0])), [4.0, 8.0])


def _list_of_duals_to_numpy(x):
    values = [x[0], 2.0 * x[1]]
    return np.sum(values)  # NumPy converts the list without asking its items


def _unknown_function(x):
    return np.sum(np.i0(x))


@pytest.mark.parametrize("f, text", [
    (_list_of_duals_to_numpy, "return np.sum(values)"),
    (_unknown_function, "return np.sum(np.i0(x))"),
])
def test_a_refusal_inside_numpy_names_the_users_line(f, text):
    with pytest.raises(autodiffx.AutodiffError) as caught:
        grad(f, mode="forward")(np.array([0.5, 1.5]))
    message = str(caught.value)
    assert "test_errors.py:" in message
    assert text in message
