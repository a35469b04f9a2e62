"""Each optimisation of generated code: where it applies, where it must not, and that the
gradients stay right either way (central differences, forward mode)."""

import numpy as np
import pytest

from autodiffx import reverse

from .test_gradients import check

RNG = np.random.default_rng(11)
V = RNG.normal(size=3)
COLUMN = RNG.normal(size=(2, 1))


def source(f, *args, wrt=(0,)):
    """The generated code without its comments (they quote the user's lines)."""
    text = reverse.build(f, wrt, tuple(np.ndim(a) for a in args)).source
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))


# ----------------------------------------------------------------- common subexpressions


def repeated_call(x, b):
    return np.sum(x * np.expand_dims(b, 1)) + np.sum(np.tanh(x) * np.expand_dims(b, 1))


def repeated_after_store(x):
    y = x * 1.0
    first = np.sin(y)
    y[0] = 3.0 * x[1]
    second = np.sin(y)
    return np.sum(first * second)


def repeated_in_loop(x):
    total = 0.0
    y = x
    for _ in range(3):
        total = total + np.sum(np.sin(y))
        y = y * 0.5
        total = total + np.sum(np.sin(y))
    return total


def repeated_copy(x):
    a = np.copy(x)
    b = np.copy(x)
    a[0] = 0.0
    return np.sum(a * b)


def test_a_repeated_call_is_computed_once():
    X, b = RNG.normal(size=(2, 3)), V[:2]
    assert source(repeated_call, X, b, wrt=(0, 1)).count("np.expand_dims(b, 1)") == 1
    check(repeated_call, (X, b), (0, 1))


@pytest.mark.parametrize("f", [repeated_after_store, repeated_in_loop])
def test_a_call_on_changed_operands_is_computed_again(f):
    assert source(f, V).count("np.sin(y)") == 2
    check(f, (V,), (0,), forward=f is not repeated_after_store)


def test_copies_stay_distinct_arrays():
    assert source(repeated_copy, V).count("np.copy(x)") == 2
    check(repeated_copy, (V,), (0,), forward=False)


# ----------------------------------------------------------------- unbroadcast of equal shapes


def same_shapes(x):
    t = x * 2.0
    return np.sum(t + np.sin(x))


def broadcast_shapes(x, b):
    t = x * 2.0
    return np.sum(t + np.sin(b))


def test_unbroadcast_between_equal_shapes_is_dropped():
    assert "unbroadcast" not in source(same_shapes, V)
    check(same_shapes, (V,), (0,))


@pytest.mark.parametrize("b", [V[:1], COLUMN, V])
def test_unbroadcast_between_other_arguments_stays(b):
    assert "unbroadcast" in source(broadcast_shapes, V, b, wrt=(0, 1))
    check(broadcast_shapes, (V, b), (0, 1))


# ----------------------------------------------------------------- scalar seeds of sums


def mean_of_maximum(x):
    return np.mean(np.maximum(0.0, x))


def sum_of_tanh(x):
    return np.sum(np.tanh(x))


def mean_of_sum(x, b):
    return np.mean(x + b)


def mean_of_product(x, b):
    return np.mean(x * b)


def sum_used_twice(x):
    y = np.tanh(x)
    return np.sum(y) + np.sum(y * y)


@pytest.mark.parametrize("f", [mean_of_maximum, sum_of_tanh])
def test_broadcast_seed_feeding_a_product_is_a_scalar(f):
    text = source(f, V + 0.5)
    assert "broadcast_to" not in text
    check(f, (V + 0.5,), (0,))


@pytest.mark.parametrize("f", [mean_of_sum, mean_of_product])
@pytest.mark.parametrize("b", [V[:1], COLUMN, 2.0])
def test_broadcast_seed_stays_where_a_scalar_would_lose_shape(f, b):
    text = source(f, V, b, wrt=(0, 1))
    assert "broadcast_to" in text
    check(f, (V, np.array(b)), (0, 1))


def test_broadcast_seed_stays_when_the_value_has_other_uses():
    assert "broadcast_to" in source(sum_used_twice, V)
    check(sum_used_twice, (V,), (0,))


# ----------------------------------------------------------------- shapes instead of arrays


def matrix_temporary(W, X, b):
    Z = W @ X
    return np.sum(np.tanh(Z + np.expand_dims(b, 1)))


def matrix_temporary_read(W, X, b):
    Z = W @ X
    return np.sum(np.tanh(Z + np.expand_dims(b, 1)) * Z)


@pytest.mark.parametrize("columns", [1, 4])
@pytest.mark.parametrize("keep_shapes_only", [False, True])
def test_a_matrix_read_only_for_its_shape(columns, keep_shapes_only, monkeypatch):
    from autodiffx.reverse import adjoint, emit

    monkeypatch.setattr(adjoint, "KEEP_SHAPES_ONLY", keep_shapes_only)
    emit._cache.clear()
    W, X = RNG.normal(size=(3, 2)), RNG.normal(size=(2, columns))
    b = RNG.normal(size=3)
    text = source(matrix_temporary, W, X, b, wrt=(0, 1, 2))
    shapes_only = "Z_shape = np.shape(Z)" in text and "unbroadcast_to(dtmp, Z_shape)" in text
    assert shapes_only is keep_shapes_only
    check(matrix_temporary, (W, X, b), (0, 1, 2))
    emit._cache.clear()


def test_a_matrix_read_for_its_value_is_kept():
    W, X, b = RNG.normal(size=(3, 2)), RNG.normal(size=(2, 4)), RNG.normal(size=3)
    assert "Z_shape" not in source(matrix_temporary_read, W, X, b, wrt=(0, 1, 2))
    check(matrix_temporary_read, (W, X, b), (0, 1, 2))


def test_unbroadcast_to_sums_stretched_axes():
    from autodiffx.reverse.runtime import unbroadcast_to

    g = RNG.normal(size=(2, 3))
    assert unbroadcast_to(g, (2, 3)) is g
    np.testing.assert_allclose(unbroadcast_to(g, (2, 1)), g.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(unbroadcast_to(g, (3,)), g.sum(axis=0))


# ----------------------------------------------------------------- constant folding


@pytest.mark.parametrize("text", [
    "x or 1", "x or 0", "0 or x", "1 or x", "x and 1", "x and 0", "0 and x", "1 and x",
    "0 or 0.0", "1 and 2", "0 or x or 2", "x or 1 or y", "1.0 and x and 0", "0 or 0 or x",
    "x and True", "None or x", "'' or x and 3",
])
@pytest.mark.parametrize("x", [0, 0.0, 2, 5.5, [], [1]])
def test_folding_and_or_keeps_python_s_value(text, x):
    """``a or b`` evaluates to an operand: folding must give the same value and type for
    every value of the unknown names (``x or 1`` is x when x is true, not 1)."""
    import ast

    from autodiffx.reverse import optimize

    folded = optimize.fold(ast.parse(text, mode="eval").body, lambda name: None)
    code = compile(ast.Expression(ast.fix_missing_locations(folded)), "<folded>", "eval")
    for y in (0, 3):
        expected = eval(text, {"x": x, "y": y})
        got = eval(code, {"x": x, "y": y})
        assert got == expected and type(got) is type(expected), ast.unparse(folded)
