"""A catalogue of awkward functions and bad inputs, each in both modes where it applies.

Every case ends either in the right gradient (checked against central differences or a
closed form) or in an :class:`autodiffx.AutodiffError` whose message names the problem and
the fix (and ``file:line`` when the problem is in user code). A raw ``KeyError``,
``ValueError``, ``RecursionError`` or a wrong number is a failure. The table of cases and
outcomes is ``README.md`` in this folder.
"""

from __future__ import annotations

import functools
import math
import os
import stat
import tempfile
import threading
import tracemalloc

import numpy as np
import pytest

import autodiffx
from autodiffx import (
    ArgumentError,
    AutodiffError,
    InputTypeError,
    NonScalarOutputError,
    NoSourceError,
    UnsupportedSyntaxError,
)
from autodiffx.check import relative_error

from . import functions as u

MODES = ["reverse", "forward"]
H = 1e-5
TOLERANCE = 1e-6  # the corpus's tolerance for h = 1e-5 (see tests/corpus/test_corpus.py)
HERE = os.path.basename(u.__file__)


def central(f, args, position=0, **kwargs):
    """Central differences of scalar ``f`` in argument ``position``."""
    x = np.array(args[position], dtype=float)
    gradient = np.zeros_like(x)
    for entry in np.ndindex(x.shape):
        values = []
        for sign in (1.0, -1.0):
            moved = x.copy()
            moved[entry] += sign * H
            shifted = list(args)
            shifted[position] = float(moved) if np.ndim(args[position]) == 0 else moved
            values.append(f(*shifted, **kwargs))
        gradient[entry] = (values[0] - values[1]) / (2 * H)
    return gradient


def assert_close(got, expected):
    assert np.shape(got) == np.shape(expected)
    assert np.max(relative_error(expected, got)) <= TOLERANCE, (got, expected)


def assert_message(error: BaseException, *words: str, located: bool = False):
    """The message names each of ``words`` (any case); ``located``: a file:line of ours."""
    assert isinstance(error, AutodiffError), f"{type(error).__name__}: {error}"
    text = str(error).lower()
    for word in words:
        assert word.lower() in text, f"{word!r} not in message:\n{error}"
    assert "hint:" in text, f"no hint in message:\n{error}"
    if located:
        assert f"{HERE}:" in str(error), f"no {HERE}:<line> in message:\n{error}"


def raised(thunk) -> BaseException:
    try:
        thunk()
    except Exception as error:  # the catalogue inspects whatever comes out
        return error
    raise AssertionError("no error was raised")


X = np.array([0.3, -1.2, 0.8])

# --------------------------------------------------------------------------- functions


@pytest.mark.parametrize("mode", MODES)
def test_lambda_on_its_own_line(mode):
    assert autodiffx.grad(u.square, mode=mode)(3.0) == pytest.approx(6.0, rel=1e-12)


def test_two_lambdas_on_a_line_reverse():
    error = raised(lambda: autodiffx.grad(u.two_on_a_line[1])(3.0))
    assert isinstance(error, NoSourceError)
    assert_message(error, "lambda", "line of its own", located=True)


def test_two_lambdas_on_a_line_forward():
    assert autodiffx.grad(u.two_on_a_line[1], mode="forward")(3.0) == 3.0


@pytest.mark.parametrize("function", [u.from_eval, u.from_exec], ids=["eval", "exec"])
@pytest.mark.parametrize("mode", MODES)
def test_function_without_source(function, mode):
    gradient = autodiffx.grad(function, mode=mode)
    if mode == "reverse":
        error = raised(lambda: gradient(0.7))
        assert isinstance(error, NoSourceError)
        assert_message(error, "source", 'mode="forward"')
    else:
        assert_close(gradient(0.7), central(function, (0.7,)))


@pytest.mark.parametrize(
    ("function", "args", "wrt", "expected"),
    [
        (abs, (-2.0,), 0, -1.0),
        (max, (1.0, 2.0), (0, 1), (0.0, 1.0)),
        (np.sin, (0.3,), 0, math.cos(0.3)),
    ],
    ids=["abs", "max", "np.sin"],
)
@pytest.mark.parametrize("mode", MODES)
def test_builtins_and_ufuncs(function, args, wrt, expected, mode):
    gradient = autodiffx.grad(function, wrt=wrt, mode=mode)
    if mode == "reverse":
        error = raised(lambda: gradient(*args))
        assert isinstance(error, NoSourceError)
        assert_message(error, "builtin", 'mode="forward"')
    else:
        assert gradient(*args) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_bound_method(mode):
    model = u.Model(np.array([1.0, 2.0, 3.0]))
    gradient = autodiffx.grad(model.energy, mode=mode)
    try:
        result = gradient(X)
    except AutodiffError as error:
        # Refusing is fine if the message is about methods; "not a Python function (a
        # builtin, ufunc or C function)" is not true of a method.
        assert_message(error, "method")
    else:
        assert_close(result, 2 * model.w * X)


@pytest.mark.parametrize("mode", MODES)
def test_functools_partial(mode):
    function = functools.partial(u.scaled, scale=3.0)
    gradient = autodiffx.grad(function, mode=mode)
    if mode == "reverse":
        error = raised(lambda: gradient(X))
        assert isinstance(error, NoSourceError)
        assert_message(error, "partial", 'mode="forward"')
    else:
        assert_close(gradient(X), 6.0 * X)


@pytest.mark.parametrize("mode", MODES)
def test_decorated_with_functools_wraps(mode):
    # wrapped(x) = 2 * sum(x ** 2): the wrapper's factor 2 must not be lost.
    result = autodiffx.grad(u.wrapped, mode=mode)(X)
    assert_close(result, 4.0 * X)


@pytest.mark.parametrize("mode", MODES)
def test_decorated_without_functools_wraps(mode):
    gradient = autodiffx.grad(u.wrapped_plain, mode=mode)
    try:
        result = gradient(X)
    except AutodiffError as error:
        assert_message(error, "*args")
    else:
        assert_close(result, 4.0 * X)


@pytest.mark.parametrize("mode", MODES)
def test_generator(mode):
    error = raised(lambda: autodiffx.grad(u.generator, mode=mode)(1.0))
    assert_message(error, "generator")
    if mode == "reverse":
        assert isinstance(error, UnsupportedSyntaxError)
        assert_message(error, "yield", located=True)


@pytest.mark.parametrize("mode", MODES)
def test_async_function(mode):
    error = raised(lambda: autodiffx.grad(u.coroutine, mode=mode)(1.0))
    assert_message(error, "async")


@pytest.mark.parametrize("function", [u.uses_try, u.uses_with], ids=["try", "with"])
@pytest.mark.parametrize("mode", MODES)
def test_try_and_with_blocks(function, mode):
    gradient = autodiffx.grad(function, mode=mode)
    if mode == "reverse":
        error = raised(lambda: gradient(0.4))
        assert isinstance(error, UnsupportedSyntaxError)
        keyword = "try" if function is u.uses_try else "with"
        assert_message(error, keyword, 'mode="forward"', located=True)
    else:
        assert_close(gradient(0.4), central(function, (0.4,)))


@pytest.mark.parametrize("mode", MODES)
def test_global_write(mode):
    gradient = autodiffx.grad(u.writes_global, mode=mode)
    if mode == "reverse":
        error = raised(lambda: gradient(0.4))
        assert isinstance(error, UnsupportedSyntaxError)
        assert_message(error, "global", "argument", located=True)
    else:
        before = u.COUNTER
        assert gradient(0.4) == pytest.approx(0.8, rel=1e-12)
        assert u.COUNTER == before + 1.0  # forward mode runs the code as it is


@pytest.mark.parametrize("mode", MODES)
def test_terminating_recursion(mode):
    gradient = autodiffx.grad(u.power_by_recursion, mode=mode)
    try:
        result = gradient(1.3, 3)
    except AutodiffError as error:
        assert mode == "reverse"
        assert isinstance(error, UnsupportedSyntaxError)
        assert_message(error, "recursi", "loop", located=True)
    else:
        assert result == pytest.approx(3 * 1.3**2, rel=1e-12)


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("mode", MODES)
def test_keyword_only_argument(mode):
    result = autodiffx.grad(u.keyword_only, mode=mode)(2.0, scale=3.0)
    assert result == pytest.approx(12.0, rel=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_star_args(mode):
    gradient = autodiffx.grad(u.star_args, wrt=(0, 1), mode=mode)
    try:
        result = gradient(2.0, 3.0)
    except AutodiffError as error:
        assert mode == "reverse", f"forward mode runs the code as it is, but raised {error}"
        assert_message(error, "*xs")
    else:
        assert result == pytest.approx((3.0, 2.0), rel=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_wrt_out_of_range(mode):
    error = raised(lambda: autodiffx.grad(u.two_args, wrt=2, mode=mode)(1.0, 2.0))
    assert isinstance(error, ArgumentError)
    assert_message(error, "out of range", "2 positional")


@pytest.mark.parametrize("mode", MODES)
def test_wrt_unknown_name(mode):
    error = raised(lambda: autodiffx.grad(u.two_args, wrt="z", mode=mode)(1.0, 2.0))
    assert isinstance(error, ArgumentError)
    assert_message(error, "'z'", "x, y")


def test_bad_mode_name():
    error = raised(lambda: autodiffx.grad(u.two_args, mode="backward"))
    assert isinstance(error, ArgumentError)
    assert_message(error, "backward", "reverse", "forward")


# --------------------------------------------------------------------------- inputs


@pytest.mark.parametrize("mode", MODES)
def test_python_int(mode):
    result = autodiffx.grad(u.two_args, wrt=(0, 1), mode=mode)(2, 1)
    assert result == pytest.approx((math.sin(1.0), 2 * math.cos(1.0)), rel=1e-12)
    assert all(isinstance(r, float) for r in result)


@pytest.mark.parametrize("mode", MODES)
def test_integer_array(mode):
    result = autodiffx.grad(u.sum_of_squares, mode=mode)(np.array([1, 2, 3]))
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, [2.0, 4.0, 6.0])


@pytest.mark.parametrize("mode", MODES)
def test_float32(mode):
    x = np.array([0.5, -1.5], dtype=np.float32)
    result = autodiffx.grad(u.sum_of_squares, mode=mode)(x)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, 2 * x, rtol=1e-6)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1.0", ("str", "float")),
        (None, ("None", "float")),
        (object(), ("object", "float")),
    ],
    ids=["string", "None", "object"],
)
@pytest.mark.parametrize("mode", MODES)
def test_inputs_that_cannot_be_differentiated(value, words, mode):
    error = raised(lambda: autodiffx.grad(u.square, mode=mode)(value))
    assert isinstance(error, InputTypeError)
    assert_message(error, *words)


@pytest.mark.parametrize("value", [np.array([1 + 2j]), 1 + 2j], ids=["complex array", "complex"])
def test_complex_inputs_give_complex_values_which_have_no_gradient(value):
    """Both modes take complex inputs (docs/complex.md); the square of one is a complex
    value, which has no gradient: refused, naming the ways out."""
    for mode in MODES:
        error = raised(lambda mode=mode: autodiffx.grad(u.square, mode=mode)(value))
        assert isinstance(error, autodiffx.ComplexOutputError)
        assert_message(error, "complex", "jvp", "holomorphic=True")


@pytest.mark.parametrize("mode", MODES)
def test_nan_propagates(mode):
    result = autodiffx.grad(u.sum_of_squares, mode=mode)(np.array([np.nan, 2.0]))
    assert np.isnan(result[0])
    # Reverse mode gives the partial 2 * 2.0 for the clean entry; forward mode's tangent sum
    # meets 0 * NaN = NaN and gives NaN there too (IEEE arithmetic, not a wrong number).
    assert result[1] == 4.0 if mode == "reverse" else np.isnan(result[1]) or result[1] == 4.0


@pytest.mark.parametrize("mode", MODES)
def test_infinity(mode):
    # arctan'(x) = 1 / (1 + x^2), which is 0 at +-inf.
    result = autodiffx.grad(u.arctan_sum, mode=mode)(np.array([np.inf, -np.inf, 0.0]))
    np.testing.assert_array_equal(result, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("mode", MODES)
def test_shape_mismatch(mode):
    error = raised(lambda: autodiffx.grad(u.mismatch, mode=mode)(np.ones(3), np.ones(2)))
    assert isinstance(error, ValueError)
    assert "could not be broadcast" in str(error)  # NumPy's own words
    assert_message(error, "(3,)", "(2,)")
    if mode == "reverse":
        assert_message(error, "return np.sum(x + y)", located=True)


# --------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("mode", MODES)
def test_non_scalar_output(mode):
    error = raised(lambda: autodiffx.grad(u.elementwise_square, mode=mode)(X))
    assert isinstance(error, NonScalarOutputError)
    assert_message(error, "scalar", "(3,)", "jacrev")


@pytest.mark.parametrize("mode", MODES)
def test_returns_none(mode):
    error = raised(lambda: autodiffx.grad(u.returns_none, mode=mode)(1.0))
    assert_message(error, "return")


# --------------------------------------------------------------------------- side effects


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (u.writes_into_input, np.array([0.0, -2.4, 1.6])),
        (u.adds_into_input, 2 * (X + 1.0)),
    ],
    ids=["x[0] = 0.0", "x += 1"],
)
@pytest.mark.parametrize("mode", MODES)
def test_mutating_an_input(function, expected, mode):
    x = X.copy()
    gradient = autodiffx.grad(function, mode=mode)
    try:
        result = gradient(x)
    except AutodiffError as error:
        np.testing.assert_array_equal(x, X)
        assert_message(error, "place")
        return
    np.testing.assert_array_equal(x, X)  # the caller's array is never changed
    assert_close(result, expected)


@pytest.mark.parametrize("mode", MODES)
def test_random_numbers_are_constants(mode):
    noise = np.random.default_rng(0).normal(size=3)
    assert_close(autodiffx.grad(u.uses_random, mode=mode)(X), noise)


def test_long_loop_in_reverse_mode():
    value, gradient = autodiffx.value_and_grad(u.long_loop)(0.5, 100_000)
    assert value == pytest.approx(0.5, rel=1e-9)
    assert gradient == pytest.approx(1.0, rel=1e-9)


def test_long_loop_memory_is_linear():
    gradient = autodiffx.grad(u.long_loop)
    gradient(0.5, 10)  # build and cache the generated code first

    def peak(n):
        tracemalloc.start()
        try:
            gradient(0.5, n)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(20_000), peak(40_000)
    assert large / small < 2.5, (small, large)


# --------------------------------------------------------------------------- NaN traps


@pytest.mark.parametrize("mode", MODES)
def test_where_over_sqrt_of_negatives(mode):
    x = np.array([-4.0, 0.25, 4.0])
    with np.errstate(invalid="ignore"):
        result = autodiffx.grad(u.sqrt_of_negative_unselected, mode=mode)(x)
    np.testing.assert_array_equal(result, [0.0, 1.0, 0.25])


@pytest.mark.parametrize("mode", MODES)
def test_sqrt_at_zero(mode):
    with np.errstate(divide="ignore"):
        result = autodiffx.grad(u.sqrt_sum, mode=mode)(np.array([0.0, 4.0]))
    np.testing.assert_array_equal(result, [np.inf, 0.25])  # sqrt'(0) is inf, documented


@pytest.mark.parametrize("mode", MODES)
def test_abs_at_zero(mode):
    result = autodiffx.grad(u.abs_sum, mode=mode)(np.array([0.0, -2.0, 3.0]))
    np.testing.assert_array_equal(result, [0.0, -1.0, 1.0])


@pytest.mark.parametrize("mode", MODES)
def test_relu_at_zero(mode):
    result = autodiffx.grad(u.relu_sum, mode=mode)(np.array([0.0, -2.0, 3.0]))
    np.testing.assert_array_equal(result, [0.5, 0.0, 1.0])


@pytest.mark.parametrize("mode", MODES)
def test_tie_in_builtin_max(mode):
    result = autodiffx.grad(u.builtin_max, wrt=(0, 1), mode=mode)(1.5, 1.5)
    assert result == (1.0, 0.0)


@pytest.mark.parametrize("mode", MODES)
def test_tie_in_numpy_maximum(mode):
    result = autodiffx.grad(u.numpy_maximum, wrt=(0, 1), mode=mode)(1.5, 1.5)
    assert result == (0.5, 0.5)


@pytest.mark.parametrize("mode", MODES)
def test_tie_in_max_reduction(mode):
    result = autodiffx.grad(u.reduction_max, mode=mode)(np.array([2.0, 1.0, 2.0, 2.0]))
    np.testing.assert_allclose(result, [1 / 3, 0.0, 1 / 3, 1 / 3], rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_norm_at_zero(mode):
    result = autodiffx.grad(u.norm, mode=mode)(np.zeros(3))
    np.testing.assert_array_equal(result, np.zeros(3))


@pytest.mark.parametrize("mode", MODES)
def test_log_sum_exp_of_large_inputs(mode):
    x = np.array([1000.0, 999.0, 998.0])
    value, result = autodiffx.value_and_grad(u.log_sum_exp, mode=mode)(x)
    softmax = np.exp(x - x.max()) / np.sum(np.exp(x - x.max()))
    assert value == pytest.approx(1000.0 + np.log(np.sum(np.exp(x - 1000.0))), rel=1e-12)
    np.testing.assert_allclose(result, softmax, rtol=1e-12)


# --------------------------------------------------------------------------- concurrency


def test_threads_build_each_gradient_once(monkeypatch):
    from autodiffx.reverse import emit

    calls: list = []
    lock = threading.Lock()
    original = emit.generate

    def counting(function, wrt, ranks, *kinds):
        with lock:
            calls.append((function, tuple(wrt)))
        return original(function, wrt, ranks, *kinds)

    monkeypatch.setattr(emit, "generate", counting)
    shared = u.make_scaled_sine(2.0)
    others = [u.make_scaled_sine(float(c)) for c in range(3, 7)]
    barrier = threading.Barrier(8)
    results: dict[int, object] = {}

    def work(thread):
        function = shared if thread % 2 == 0 else others[thread // 2]
        barrier.wait()
        try:
            results[thread] = (function, autodiffx.grad(function)(X))
        except Exception as error:  # reported below, not swallowed
            results[thread] = error

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for thread, outcome in results.items():
        assert not isinstance(outcome, Exception), f"thread {thread}: {outcome!r}"
        function, gradient = outcome
        scale = 2.0 if function is shared else 3.0 + others.index(function)
        np.testing.assert_allclose(gradient, scale * np.cos(X), rtol=1e-12)
    built = [function for function, _ in calls]
    assert built.count(shared) == 1
    assert all(built.count(other) == 1 for other in others)


# --------------------------------------------------------------------------- generated code


@pytest.mark.parametrize("mode", MODES)
def test_names_and_strings_that_look_like_code(mode):
    result = autodiffx.grad(u.code_like, wrt=(0, 1), mode=mode)(0.5, 2.0)
    assert result == pytest.approx((2.0 + math.cos(0.5), 0.5), rel=1e-12)
    if mode == "reverse":
        text = autodiffx.source(autodiffx.grad(u.code_like, wrt=(0, 1)), 0.5, 2.0)
        compile(text, "<check>", "exec")
        assert "\nimport os" not in text and "; import os;" not in text.replace(
            "'); import os; ('", ""
        )


def test_generated_code_writes_no_public_files():
    from autodiffx import reverse

    before = set(os.listdir("."))
    generated = reverse.build(u.sum_of_squares, (0,), (1,))
    assert set(os.listdir(".")) == before
    if os.path.exists(generated.filename):
        folder = os.path.dirname(os.path.abspath(generated.filename))
        assert folder.startswith(tempfile.gettempdir())
        assert stat.S_IMODE(os.stat(folder).st_mode) & 0o077 == 0  # private to the user
    else:
        assert generated.filename.startswith("<")  # kept in memory (linecache) only
