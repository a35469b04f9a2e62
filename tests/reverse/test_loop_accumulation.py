"""A loop's adjoint of ``xs[t]`` adds into the adjoint of ``xs`` in place (``add_at``),
where ``dxs = dxs + unindex(dxs_t, xs, t)`` built an array of the whole of ``xs`` at every
step (issue 15): the same gradients, and a cost per step that does not grow with the
number of steps (benchmarks/bench_loops.py measures it)."""

import numpy as np
import pytest

import autodiffx
from autodiffx.reverse.runtime import add_at

from . import loop_programs as p
from .test_gradients import check

RNG = np.random.default_rng(15)
W = RNG.normal(size=(4, 4)) * 0.4
U = RNG.normal(size=(4, 3)) * 0.4
XS = RNG.normal(size=(6, 3))
H0 = RNG.normal(size=4)


@pytest.mark.parametrize(("f", "args", "wrt"), [
    (p.rnn, (W, U, XS, H0), (0, 1, 2, 3)),
    (p.columns, (XS.T.copy(), RNG.normal(size=3)), (0, 1)),
    (p.repeated_rows, (XS,), (0,)),
    (p.read_twice, (XS,), (0,)),
    (p.nested, (XS,), (0,)),
])
def test_gradients_match_central_differences_and_forward_mode(f, args, wrt):
    check(f, args, wrt)


def test_the_adjoint_of_an_item_is_added_in_place():
    code = autodiffx.source(autodiffx.grad(p.rnn, wrt=(0, 1, 2)), W, U, XS, H0)
    assert "dxs = np.zeros_like(xs)" in code
    assert "dxs = add_at(dxs, t, dxs_t)" in code
    assert "unindex" not in code


def test_an_adjoint_read_twice_in_a_step_still_adds_in_place():
    code = autodiffx.source(autodiffx.grad(p.read_twice), XS)
    assert code.count("add_at(dxs,") == 2
    assert "unindex" not in code


def test_forward_over_reverse_goes_through_the_new_array_path():
    # the gradient with respect to xs, differentiated with respect to W by forward mode:
    # dxs_t carries W's tangents while dxs (np.zeros_like of a plain xs) does not
    def dxs_sum(W_):
        return np.sum(autodiffx.grad(p.rnn, wrt=2)(W_, U, XS, H0) ** 2)

    forward = autodiffx.grad(dxs_sum, mode="forward")(W)
    eps = 1e-6
    central = np.zeros_like(W)
    for position in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[position] = eps
        central[position] = (dxs_sum(W + step) - dxs_sum(W - step)) / (2 * eps)
    np.testing.assert_allclose(forward, central, rtol=1e-5, atol=1e-7)


def test_flat_code_keeps_the_expression_with_a_rule():
    # reverse over reverse differentiates the generated gradient again
    def dxs_sum(xs):
        return np.sum(autodiffx.grad(p.rnn, wrt=2)(W, U, xs, H0) ** 2)

    hessian_row = autodiffx.grad(dxs_sum)(XS)
    forward = autodiffx.grad(dxs_sum, mode="forward")(XS)
    np.testing.assert_allclose(hessian_row, forward, rtol=1e-8, atol=1e-10)


def test_add_at_is_the_sum_with_unindex():
    from autodiffx.rules.helpers import unindex

    cases = [
        (np.zeros((4, 3)), 2, np.ones(3)),
        (np.zeros((4, 3)), (slice(None), 1), np.arange(4.0)),
        (np.zeros((4, 3)), np.array([1, 1, 3]), np.ones((3, 3))),
        (np.zeros(4), -1, 2.5),
        (np.zeros((4, 3)), 0, np.ones((1, 3))),  # more dimensions than the row: a new array
        (np.zeros((4, 3), np.float32), 0, np.ones(3)),  # float64 sum: a new array
    ]
    for total, index, g in cases:
        expected = total + unindex(g, total, index)
        result = add_at(total.copy(), index, g)
        np.testing.assert_array_equal(result, expected)
        assert result.dtype == expected.dtype
    total = np.zeros(3)
    assert add_at(total, 1, 1.0) is total
