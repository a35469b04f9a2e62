"""grad of grad in the mode combinations reverse mode takes part in."""

from __future__ import annotations

import numpy as np
import pytest

import autodiffx

from .numeric import H, numeric_gradient


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


def test_reverse_over_forward_directly_on_the_lecture_example():
    # at (1, 2, 0): y wins the max, f = xy + y²; df/dy = x + 2y has gradient (1, 2, 0)
    for wrt in range(3):
        got = autodiffx.grad(lecture_dy, wrt=wrt)(1.0, 2.0, 0.0)
        assert got == pytest.approx((1.0, 2.0, 0.0)[wrt])
    assert autodiffx.grad(lecture_dy, wrt=(0, 1, 2))(1.0, 2.0, 0.0) == pytest.approx(
        (1.0, 2.0, 0.0))
    # df/dx = y: the gradient of the gradient with respect to y is 1
    assert autodiffx.grad(lecture_dx, wrt="y")(1.0, 2.0, 0.0) == pytest.approx(1.0)


@pytest.mark.parametrize("x", [-1.3, 0.2, 0.9])
def test_reverse_over_forward_directly_is_the_second_derivative(x):
    """grad(grad(f, mode="forward")) of a scalar function: f'' by central differences of
    the forward gradient, by forward over forward, and by the closed form."""
    second = autodiffx.grad(polynomial_gradient)
    c = (1.5, 0.25, 2.0, -1.0, 0.5)
    assert second(x) == pytest.approx(np.polyval(np.polyder(c, 2), x), rel=1e-12)
    numeric = (polynomial_gradient(x + H) - polynomial_gradient(x - H)) / (2 * H)
    assert second(x) == pytest.approx(numeric, rel=1e-6)
    assert second(x) == pytest.approx(
        autodiffx.grad(polynomial_gradient, mode="forward")(x), rel=1e-12)


def test_reverse_over_forward_directly_shows_its_code_and_refuses_a_tuple_wrt():
    second = autodiffx.grad(polynomial_gradient)
    second(0.5)
    code = autodiffx.source(second)
    assert "forward_gradient_vjp(polynomial_grad_x, 0, dout, (x,))" in code
    with pytest.raises(autodiffx.UnsupportedSyntaxError, match="one argument"):
        autodiffx.grad(both_dx)(1.0, 2.0, 0.0)


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


# --------------------------------------------------------------------------- reverse over reverse


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def squashed(x):
    return np.sum(np.tanh(x) ** 2) / np.sum(x ** 2 + 1.0)


rosenbrock_gradient = autodiffx.grad(rosenbrock)
squashed_gradient = autodiffx.grad(squashed)
lecture_dy_reverse = autodiffx.grad(lecture, wrt=1)
polynomial_reverse = autodiffx.grad(polynomial)


def weighted_rosenbrock_gradient(x):
    return np.sum(rosenbrock_gradient(x) * np.cos(x))


def lecture_dy_squared(x, y, z):
    return lecture_dy_reverse(x, y, z) ** 2


@pytest.mark.parametrize("f", [rosenbrock, squashed], ids=["rosenbrock", "squashed"])
def test_reverse_over_reverse_hessian_by_jacrev_of_grad(f):
    x = np.array([1.2, 0.7, -0.3, 2.0])
    got = autodiffx.jacrev(autodiffx.grad(f))(x)
    np.testing.assert_allclose(got, autodiffx.hessian(f, mode="forward")(x), rtol=1e-10,
                               atol=1e-12)
    gradient = autodiffx.grad(f)
    numeric = np.stack([(gradient(x + H * e) - gradient(x - H * e)) / (2 * H)
                        for e in np.eye(len(x))], axis=1)
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-6)


def test_reverse_over_reverse_through_a_call_inside_a_function():
    x = np.array([1.2, 0.7, -0.3, 2.0])
    got = autodiffx.grad(weighted_rosenbrock_gradient)(x)
    np.testing.assert_allclose(got, numeric_gradient(weighted_rosenbrock_gradient, x),
                               rtol=1e-6)
    np.testing.assert_allclose(got, autodiffx.grad(weighted_rosenbrock_gradient,
                                                   mode="forward")(x), rtol=1e-12)


def test_reverse_over_reverse_on_the_lecture_example():
    # at (1, 2, 0): df/dy = x + 2y = 5, so (df/dy)² has gradient 2·5·(1, 2, 0)
    got = autodiffx.grad(lecture_dy_squared, wrt=(0, 1, 2))(1.0, 2.0, 0.0)
    assert got == pytest.approx((10.0, 20.0, 0.0))


def test_reverse_over_reverse_of_a_loop_over_constants_is_unrolled_and_right():
    x = np.array([0.5, 1.0])
    c = (1.5, 0.25, 2.0, -1.0, 0.5)
    expected = np.polyval(np.polyder(c, 2), x)
    np.testing.assert_allclose(autodiffx.grad(_uses_polynomial_reverse)(x), expected,
                               rtol=1e-12)


def horner(x, c):
    total = 0.0
    for k in range(len(c) - 1, -1, -1):
        total = total * x + c[k]
    return np.sum(total)


horner_reverse = autodiffx.grad(horner)


def _uses_horner_reverse(x, c):
    return np.sum(horner_reverse(x, c))


def test_reverse_over_reverse_of_a_taped_loop_matches_the_closed_form():
    # the gradient code saves total on a tape; the outer transform differentiates the tape
    x = np.array([0.5, 1.0, -1.5])
    c = np.array([1.5, 0.25, 2.0, -1.0, 0.5])
    expected = np.polyval(np.polyder(c[::-1], 2), x)
    np.testing.assert_allclose(autodiffx.grad(_uses_horner_reverse)(x, c), expected,
                               rtol=1e-12)
    np.testing.assert_allclose(autodiffx.grad(_uses_horner_reverse, mode="forward")(x, c),
                               expected, rtol=1e-12)


def _uses_polynomial_reverse(x):
    return np.sum(polynomial_reverse(x))


rosenbrock_value_and_gradient = autodiffx.value_and_grad(rosenbrock)
squashed_with_aux = autodiffx.grad(lambda x: (squashed(x), 1.0), has_aux=True)


def _uses_value_and_grad(x):
    return np.sum(rosenbrock_value_and_gradient(x)[1])


def _uses_aux_gradient(x):
    return np.sum(squashed_with_aux(x)[0])


def test_reverse_mode_refuses_value_and_grad_and_has_aux_gradients_clearly():
    x = np.array([1.2, 0.7, -0.3])
    with pytest.raises(autodiffx.UnsupportedSyntaxError, match="value_and_grad"):
        autodiffx.grad(_uses_value_and_grad)(x)
    with pytest.raises(autodiffx.UnsupportedSyntaxError, match="has_aux"):
        autodiffx.grad(_uses_aux_gradient)(x)
    # forward mode takes both
    np.testing.assert_allclose(autodiffx.grad(_uses_value_and_grad, mode="forward")(x),
                               autodiffx.hessian(rosenbrock)(x).sum(axis=0), rtol=1e-12)
