"""What forward mode accepts, what it refuses, and that it never writes into the inputs."""

import numpy as np
import pytest

import autodiffx
from autodiffx import grad


def _forward(f, **options):
    return grad(f, mode="forward", **options)


def test_inputs_are_not_mutated():
    x = np.array([1.0, -2.0, 0.5])
    W = np.arange(6.0).reshape(2, 3)
    saved = x.copy(), W.copy()
    grad(lambda W, x: np.sum(np.tanh(W @ x)), wrt=(0, 1), mode="forward")(W, x)
    np.testing.assert_array_equal(x, saved[0])
    np.testing.assert_array_equal(W, saved[1])


def writes_into_its_argument(x):
    x[0] = 5.0 * x[1]
    x[2] += x[0]
    return np.sum(x**2)


@pytest.mark.parametrize("chunk", [None, 1, 2])
def test_a_function_writing_into_its_argument_leaves_the_callers_array_alone(chunk):
    x = np.array([1.0, 2.0, 3.0])
    gradient = _forward(writes_into_its_argument, chunk=chunk)(x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    # With a = 5 x1 and c = x2 + a: f = a^2 + x1^2 + c^2.
    a, c = 5.0 * 2.0, 3.0 + 10.0
    np.testing.assert_allclose(gradient, [0.0, 2 * a * 5 + 2 * 2.0 + 2 * c * 5, 2 * c])
    # The function itself still writes into a plain array when called without autodiffx.
    assert writes_into_its_argument(x.copy()) == pytest.approx(a**2 + 4.0 + c**2)


def test_row_writes_into_a_matrix_argument():
    def f(W):
        W[0] = W[1] * 2.0
        return np.sum(W**2)

    W = np.arange(6.0).reshape(2, 3)
    gradient = _forward(f, chunk=4)(W)
    np.testing.assert_array_equal(W, np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(gradient, [[0.0, 0.0, 0.0], 10.0 * W[1]])


def test_writes_into_zeros_like_keep_their_derivative():
    def f(x):
        y = np.zeros_like(x)
        y[0] = x[1] ** 2
        y[1:] = x[:-1] * 3.0
        return np.sum(y * y)

    x = np.array([1.0, 2.0, -1.0])
    # f = x1^4 + 9 x0^2 + 9 x1^2
    expected = [18 * x[0], 4 * x[1] ** 3 + 18 * x[1], 0.0]
    np.testing.assert_allclose(_forward(f)(x), expected)


def test_ones_like_of_a_dual_is_a_constant():
    f = _forward(lambda x: np.sum(np.ones_like(x) * x**2))
    np.testing.assert_allclose(f(np.array([1.0, 3.0])), [2.0, 6.0])


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.array(3)])
def test_python_and_numpy_integers_are_promoted(value):
    assert _forward(lambda x: x**2)(value) == 6.0


def test_integer_arrays_are_promoted():
    gradient = _forward(lambda x: np.sum(x**2))(np.array([1, 2, 3]))
    assert gradient.dtype == np.float64
    np.testing.assert_array_equal(gradient, [2.0, 4.0, 6.0])


def test_integer_argument_among_floats():
    gradient = grad(lambda a, x: a * np.sum(x), wrt=(0, 1), mode="forward")(2, np.array([1, 2]))
    assert gradient[0] == 3.0
    np.testing.assert_array_equal(gradient[1], [2.0, 2.0])


def test_float32_stays_float32():
    gradient = _forward(lambda x: np.sum(x**2))(np.array([1.0, 2.0], dtype=np.float32))
    assert gradient.dtype == np.float32


@pytest.mark.parametrize(
    "value",
    ["1.0", None, object(), [1.0, 2.0], True],
    ids=["str", "None", "object", "list", "bool"],
)
def test_undifferentiable_inputs_are_refused(value):
    with pytest.raises(autodiffx.InputTypeError, match="argument 0"):
        _forward(lambda x: x)(value)


def test_undifferentiated_arguments_may_be_anything():
    def f(x, label, options):
        return x[label] * options["scale"]

    gradient = _forward(f)(np.array([1.0, 2.0]), 1, {"scale": 3.0})
    np.testing.assert_array_equal(gradient, [0.0, 3.0])


def test_python_float_in_gives_python_float_out():
    gradient = _forward(lambda x: x * x)(1.5)
    assert type(gradient) is float and gradient == 3.0


def test_step_functions_have_zero_derivative():
    # floor division, round and int are steps: derivative zero away from the jumps.
    f = _forward(lambda x: np.sum((x // 1.0) * x + x % 1.0))
    np.testing.assert_allclose(f(np.array([0.5, 2.25])), [1.0, 3.0])
    g = _forward(lambda a: round(a) * a + int(a) + (7.0 // a))
    assert g(2.3) == 2.0


def test_zero_dimensional_array_input_acts_as_a_scalar():
    # A 0-d Dual is not a sequence, so storing it into a plain array reaches __float__
    # and its explanation (tests/fuzz/regressions.py: store_into_plain_zeros).
    assert _forward(lambda a: a * 3.0)(np.array(2.0)) == 3.0
    with pytest.raises(autodiffx.DerivativeConversionError):
        _forward(lambda a: np.sum(np.zeros(2) + _store(a)))(np.array(2.0))


def _store(value):
    y = np.zeros(2)
    y[0] = value
    return y


def test_ndarray_methods_named_like_numpy_functions():
    x = np.array([1.0, 3.0, 2.0])
    np.testing.assert_array_equal(_forward(lambda x: x[x.argmax()] * 2.0)(x), [0.0, 2.0, 0.0])
    np.testing.assert_array_equal(_forward(lambda W: W.trace())(np.ones((2, 2))), np.eye(2))
    # x.cumprod() is np.cumprod(x), differentiated by its rule
    np.testing.assert_allclose(_forward(lambda x: x.cumprod()[-1])(x), [6.0, 2.0, 3.0])
    with pytest.raises(AttributeError, match="frobnicate"):
        _forward(lambda x: x.frobnicate())(x)


@pytest.mark.parametrize("method", ["item", "tolist"])
def test_item_and_tolist_drop_the_derivative(method):
    with pytest.raises(autodiffx.DerivativeConversionError, match=method):
        _forward(lambda x: getattr(x, method)())(np.array([1.0]))
