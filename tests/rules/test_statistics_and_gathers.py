"""The conventions of the statistics, running-sum and gather rules, each exactly.

``test_rules.py`` checks every rule away from its kinks (see ``domains.py``); here are the
places the domains avoid: ``np.std`` where it is 0, ``np.sort`` at ties, repeated indices
in ``np.take`` and ``np.take_along_axis``, and the orders of ``np.diff`` that are refused.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import autodiffx
from autodiffx.forward import Dual, new_level
from autodiffx.rules import rule_named

from .domains import DOMAINS
from .test_rules import EXAMPLES, SEEDS, adjoint, dot_product_gap, draw, on_kinks, wrt_paths


def jacobian(function, x, **keywords):
    """Forward mode's Jacobian of ``function(x, **keywords)``, output axes first."""
    x = np.asarray(x, dtype=float)
    seed = np.eye(x.size).reshape(x.size, *x.shape)
    out = function(Dual(x, seed, new_level()), **keywords)
    tangent = out.tangent if isinstance(out, Dual) else np.zeros((x.size, *np.shape(out)))
    return np.moveaxis(tangent, 0, -1).reshape(*np.shape(tangent)[1:], *x.shape)


# --------------------------------------------------------------------------- np.std at 0


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_std_has_gradient_zero_where_it_is_zero(mode):
    def spread(x):
        return np.std(x)

    gradient = autodiffx.grad(spread, mode=mode)(np.full(4, 1.5))
    assert np.array_equal(gradient, np.zeros(4))
    assert "taken as 0" in rule_named("std").doc


def test_std_by_rows_is_zero_only_in_the_constant_row():
    x = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    ans = np.std(x, axis=1)
    by_row = adjoint("std", 0, np.ones(2), x, axis=1)
    assert np.array_equal(by_row[0], np.zeros(3))
    expected = (x[1] - np.mean(x[1])) / (3 * ans[1])
    np.testing.assert_allclose(by_row[1], expected, rtol=1e-14)
    forward = jacobian(np.std, x, axis=1)
    assert np.array_equal(forward[0], np.zeros((2, 3)))
    np.testing.assert_allclose(forward[1, 1], expected, rtol=1e-14)


def test_var_with_ddof_is_the_sample_variance_derivative():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    expected = 2 * (x - np.mean(x)) / 3
    np.testing.assert_allclose(adjoint("var", 0, 1.0, x, ddof=1), expected, rtol=1e-14)
    np.testing.assert_allclose(jacobian(np.var, x, ddof=1), expected, rtol=1e-14)


# --------------------------------------------------------------------------- np.sort at ties


def test_sort_keeps_tied_entries_in_their_order():
    x = np.array([1.0, 0.0, 1.0, 0.0])
    # stable order: the zeros at 1 and 3, then the ones at 0 and 2
    permutation = np.eye(4)[[1, 3, 0, 2]]
    assert np.array_equal(jacobian(np.sort, x), permutation)
    for k in range(4):
        g = np.eye(4)[k]
        assert np.array_equal(adjoint("sort", 0, g, x), permutation[k])
    assert "keep their order" in rule_named("sort").doc


def test_sort_gradients_of_both_modes_agree_at_ties():
    def weighted(x):
        return np.sum(np.sort(x, axis=0) * np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))

    x = np.array([[1.0, 2.0], [1.0, 0.0], [1.0, 2.0]])
    reverse = autodiffx.grad(weighted)(x)
    forward = autodiffx.grad(weighted, mode="forward")(x)
    assert np.array_equal(reverse, forward)
    assert np.array_equal(reverse, [[1.0, 4.0], [3.0, 2.0], [5.0, 6.0]])


# the dot-product test on whole numbers in [-1, 1]: ties everywhere, zero spreads often
KINK_CASES = [
    pytest.param(name, on_kinks(case), id=f"{name}-{position}")
    for name in ("sort", "std")
    for position, case in enumerate(DOMAINS[name])
]


@pytest.mark.parametrize(("name", "case"), KINK_CASES)
@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=SEEDS)
def test_tangent_and_adjoint_agree_at_ties_and_zero_spread(name, case, seed):
    rule = rule_named(name)
    rng = np.random.default_rng(seed)
    args = draw(case, rng)
    for path in wrt_paths(case):
        assert dot_product_gap(rule, case, args, path, rng) < 1e-9


# --------------------------------------------------------------------------- gathers


def test_take_accumulates_repeated_indices():
    x = np.arange(6.0).reshape(2, 3)
    g = np.ones((2, 4))
    dx = adjoint("take", 0, g, x, [2, 2, 0, 2], axis=1)
    assert np.array_equal(dx, [[1.0, 0.0, 3.0], [1.0, 0.0, 3.0]])
    flat = adjoint("take", 0, np.array([1.0, 2.0, 4.0]), x, np.array([5, 0, 5]))
    assert np.array_equal(flat, [[2.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    assert np.array_equal(jacobian(np.take, x, indices=[5, 5]).sum(axis=0),
                          [[0.0, 0.0, 0.0], [0.0, 0.0, 2.0]])


def test_take_along_axis_accumulates_repeats_and_broadcast_entries():
    x = np.array([[1.0], [2.0]])  # its last axis is broadcast against the indices'
    indices = np.array([[0, 0, 0], [0, 1, 0]])
    assert np.array_equal(np.take_along_axis(x, indices, axis=0), [[1, 1, 1], [1, 2, 1]])
    dx = adjoint("take_along_axis", 0, np.ones((2, 3)), x, indices, axis=0)
    assert np.array_equal(dx, [[5.0], [1.0]])
    forward = jacobian(np.take_along_axis, x, indices=indices, axis=0)
    assert np.array_equal(forward.sum(axis=(0, 1)), dx)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("n", [0, 2, 3])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_diff_of_order_n_is_n_nested_first_differences(mode, n):
    def of_order_n(x):
        return np.sum(np.diff(x, n=n) ** 2)

    def nested(x):
        for _ in range(n):
            x = np.diff(x)
        return np.sum(x ** 2)

    x = np.array([1.0, 2.0, 4.0, 3.0, 0.5])
    np.testing.assert_allclose(autodiffx.grad(of_order_n, mode=mode)(x),
                               autodiffx.grad(nested, mode="forward")(x), rtol=1e-14)


def test_nested_first_differences_are_second_differences():
    def second_differences(x):
        return np.sum(np.diff(np.diff(x)) ** 2)

    x = np.array([1.0, 2.0, 4.0, 3.0, 0.5])
    d2 = np.diff(x, n=2)
    expected = 2 * np.array([d2[0], d2[1] - 2 * d2[0], d2[0] - 2 * d2[1] + d2[2],
                             d2[1] - 2 * d2[2], d2[2]])
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(autodiffx.grad(second_differences, mode=mode)(x), expected,
                                   rtol=1e-14)


def test_cumsum_adjoint_is_the_reversed_cumulative_sum():
    g = np.array([1.0, 10.0, 100.0])
    assert np.array_equal(adjoint("cumsum", 0, g, np.zeros(3)), [111.0, 110.0, 100.0])
    by_column = adjoint("cumsum", 0, np.ones((2, 3)), np.zeros((2, 3)), axis=1)
    assert np.array_equal(by_column, [[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]])


def test_the_tie_cases_really_tie():
    """on_kinks draws whole numbers in [-1, 1]: with 4 or more entries a tie is certain,
    and a pair of entries has zero spread one time in three."""
    sort_case, std_by_column = on_kinks(DOMAINS["sort"][0]), on_kinks(DOMAINS["std"][4])
    assert std_by_column.kwargs == {"axis": 0, "keepdims": False}
    rng = np.random.default_rng(0)
    x = draw(sort_case, rng)[0]
    assert len(np.unique(x)) < np.size(x)
    columns = [draw(std_by_column, rng)[0] for _ in range(20)]
    assert any(np.any(np.std(c, axis=0) == 0) for c in columns)
