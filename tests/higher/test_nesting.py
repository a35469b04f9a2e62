"""grad of grad in the mode combinations reverse mode takes part in."""

from __future__ import annotations

import numpy as np
import pytest

import autodiffx

H = 1e-6


def polynomial(x):
    """Horner's rule in a loop over fixed coefficients."""
    total = 0.0
    for c in (1.5, 0.25, 2.0, -1.0, 0.5):
        total = total * x + c
    return np.sum(total)


def lecture(x, y, z):
    return (x + y) * max(y, z)


polynomial_gradient = autodiffx.grad(polynomial, mode="forward")
lecture_dy = autodiffx.grad(lecture, wrt=1, mode="forward")
lecture_dx = autodiffx.grad(lecture, wrt="x", mode="forward")


def weighted_gradient(x):
    return np.sum(polynomial_gradient(x) * np.sin(x))


def lecture_mixed(x, y, z):
    return lecture_dy(x, y, z) * y + lecture_dx(x, y, z) * x


def numeric_gradient(f, x):
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = H
        out[i] = (f(x + e) - f(x - e)) / (2 * H)
    return out


def test_reverse_over_forward_on_a_loop_matches_differences_and_forward_over_forward():
    x = np.array([0.3, -0.8, 1.1])
    got = autodiffx.grad(weighted_gradient)(x)
    np.testing.assert_allclose(got, numeric_gradient(weighted_gradient, x), rtol=1e-6)
    np.testing.assert_allclose(got, autodiffx.grad(weighted_gradient, mode="forward")(x),
                               rtol=1e-12)
    # closed form: p'(x) sin x has derivative p''(x) sin x + p'(x) cos x
    c = (1.5, 0.25, 2.0, -1.0, 0.5)
    d1 = np.polyval(np.polyder(c), x)
    d2 = np.polyval(np.polyder(c, 2), x)
    np.testing.assert_allclose(got, d2 * np.sin(x) + d1 * np.cos(x), rtol=1e-12)


def test_reverse_over_forward_on_the_lecture_example():
    # at (1, 2, 0): y wins the max, f = xy + y², df/dy = x + 2y, df/dx = y
    # lecture_mixed = (x + 2y) y + y x: gradient (2y, x + 4y + x, 0) = (4, 10, 0)
    got = autodiffx.grad(lecture_mixed, wrt=(0, 1, 2))(1.0, 2.0, 0.0)
    assert got == pytest.approx((4.0, 10.0, 0.0))
    for i, point in enumerate([1.0, 2.0, 0.5]):
        def along(v, i=i):
            args = [1.0, 2.0, 0.5]
            args[i] = float(v)
            return lecture_mixed(*args)

        numeric = (along(point + H) - along(point - H)) / (2 * H)
        assert autodiffx.grad(lecture_mixed, wrt=i)(1.0, 2.0, 0.5) == pytest.approx(
            numeric, rel=1e-6)


def test_reverse_mode_refuses_to_differentiate_a_forward_gradient_directly():
    with pytest.raises(autodiffx.UnsupportedSyntaxError, match="inside a function"):
        autodiffx.grad(lecture_dy)(1.0, 2.0, 0.0)


both_dx = autodiffx.grad(lecture, wrt=(0, 1), mode="forward")


def uses_a_tuple_gradient(x, y):
    return both_dx(x, y, 0.0)[0]


def test_reverse_over_forward_refuses_a_tuple_wrt_clearly():
    with pytest.raises(autodiffx.UnsupportedSyntaxError, match="one argument"):
        autodiffx.grad(uses_a_tuple_gradient)(1.0, 2.0)


def test_forward_over_forward_and_forward_over_reverse_agree_on_the_loop():
    x = np.array([0.3, -0.8, 1.1])
    reverse_inner = autodiffx.grad(polynomial)

    def through_reverse(x):
        return np.sum(reverse_inner(x) * np.sin(x))

    np.testing.assert_allclose(autodiffx.grad(through_reverse, mode="forward")(x),
                               autodiffx.grad(weighted_gradient, mode="forward")(x),
                               rtol=1e-12)
