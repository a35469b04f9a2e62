"""Second derivatives: forward-over-reverse, hessian and hvp, checked against closed forms
and against central differences of the gradient."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import autodiffx
from autodiffx.ner import model
from tests.corpus.cases import CASES, Fixed

H = 1e-6


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = len(x)
    hess = np.zeros((n, n))
    for i in range(n - 1):
        hess[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        hess[i + 1, i + 1] += 200.0
        hess[i, i + 1] -= 400.0 * x[i]
        hess[i + 1, i] -= 400.0 * x[i]
    return hess


def polynomial(x, c):
    """Horner's rule in a loop: sum over entries of c[0] + c[1] x + ... + c[n] x^n."""
    total = 0.0
    for k in range(len(c) - 1, -1, -1):
        total = total * x + c[k]
    return np.sum(total)


def lecture(x, y, z):
    return (x + y) * max(y, z)


def numeric_jacobian(g, x, h=H):
    """Central differences of the vector function g at x, shape g(x).shape + x.shape."""
    x = np.asarray(x, dtype=float)
    columns = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        e = e.reshape(x.shape)
        columns.append((np.asarray(g(x + e)) - np.asarray(g(x - e))) / (2 * h))
    stacked = np.stack(columns, axis=-1)
    return stacked.reshape(np.shape(g(x)) + x.shape)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_rosenbrock_hessian_equals_its_closed_form(mode):
    x = np.array([1.2, 0.7, -0.3, 2.0, 0.5])
    np.testing.assert_allclose(
        autodiffx.hessian(rosenbrock, mode=mode)(x), rosenbrock_hessian(x), rtol=1e-12
    )


def test_ner_score_hessian_in_b_is_diag_u_times_tanh_second_derivative():
    rng = np.random.default_rng(3)
    d, hidden = 4, 6
    W = rng.normal(size=(hidden, 5 * d)) * 0.3
    b = rng.normal(size=hidden) * 0.3
    u = rng.normal(size=hidden)
    X = rng.normal(size=(5 * d, 1))

    def summed_score(W, b, u, X):
        return np.sum(model.score(W, b, u, X))

    z = (W @ X)[:, 0] + b
    t = np.tanh(z)
    closed = np.diag(u * (-2.0 * t * (1.0 - t**2)))
    for mode in ("reverse", "forward"):
        got = autodiffx.hessian(summed_score, wrt="b", mode=mode)(W, b, u, X)
        np.testing.assert_allclose(got, closed, rtol=1e-10, atol=1e-14)


def test_loop_polynomial_second_derivative_against_differences_of_the_gradient():
    x = np.array([0.3, -1.1, 0.8])
    c = np.array([0.5, -1.0, 2.0, 0.25, 1.5])
    got = autodiffx.hessian(polynomial)(x, c)
    gradient = autodiffx.grad(polynomial)
    np.testing.assert_allclose(
        got, numeric_jacobian(lambda v: gradient(v, c), x), rtol=1e-6, atol=1e-7
    )
    # closed form: the Hessian is diagonal with p''(x_i)
    second = sum(k * (k - 1) * c[k] * x ** (k - 2) for k in range(2, len(c)))
    np.testing.assert_allclose(got, np.diag(second), rtol=1e-12)


def test_lecture_example_second_derivatives_by_forward_over_reverse():
    # f = (x + y) * max(y, z) at (1, 2, 0): y wins, f = xy + y², d²f/dy² = 2, d²f/dxdy = 1
    g = autodiffx.grad(lecture, wrt=(0, 1, 2))
    rows = [autodiffx.jacfwd(lambda *a, i=i: g(*a)[i], wrt=(0, 1, 2))(1.0, 2.0, 0.0)
            for i in range(3)]
    np.testing.assert_allclose(np.array(rows, dtype=float),
                               [[0, 1, 0], [1, 2, 0], [0, 0, 0]])


def test_hvp_equals_hessian_times_vector_and_differences_of_the_gradient():
    x = np.array([1.2, 0.7, -0.3, 2.0])
    v = np.array([0.5, -1.0, 0.25, 2.0])
    hv = autodiffx.hvp(rosenbrock, (x,), (v,))
    np.testing.assert_allclose(hv, rosenbrock_hessian(x) @ v, rtol=1e-12)
    gradient = autodiffx.grad(rosenbrock)
    numeric = (gradient(x + H * v) - gradient(x - H * v)) / (2 * H)
    np.testing.assert_allclose(hv, numeric, rtol=1e-6)
    np.testing.assert_allclose(autodiffx.hvp(rosenbrock, (x,), (v,), mode="forward"), hv,
                               rtol=1e-12)


def test_hvp_of_two_arguments():
    def f(x, y):
        return np.sum(x ** 2 * y)

    hx, hy = autodiffx.hvp(f, (np.array([1.0, 2.0]), 3.0), (np.array([1.0, 1.0]), 1.0))
    # d/dx = 2xy, d/dy = sum x²; H v = (2 y vx + 2 x vy, 2 x · vx)
    np.testing.assert_allclose(hx, [8.0, 10.0])
    assert hy == pytest.approx(6.0)


def test_hessian_refuses_a_tuple_of_arguments():
    with pytest.raises(autodiffx.ArgumentError, match="one argument"):
        autodiffx.hessian(rosenbrock, wrt=(0, 1))


def test_jacfwd_and_jacrev_agree_for_every_kind_of_wrt():
    def f(x, y):
        return np.tanh(x) * y[0] + np.sin(y[1:]) * x

    x = np.array([0.1, -0.4])
    y = np.array([0.7, 1.1, 0.3])
    for wrt in (0, 1, "y", (0, 1), ("x", 1)):
        a = autodiffx.jacfwd(f, wrt=wrt)(x, y)
        b = autodiffx.jacrev(f, wrt=wrt)(x, y)
        if isinstance(wrt, tuple):
            for p, q in zip(a, b, strict=True):
                np.testing.assert_allclose(p, q, rtol=1e-12)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12)


def _point(case, rng):
    args = []
    for spec in case.inputs:
        if isinstance(spec, Fixed):
            args.append(spec.value)
        elif spec.shape is None:
            args.append(float(rng.uniform(spec.low, spec.high)))
        else:
            args.append(rng.uniform(spec.low, spec.high, spec.shape))
    return args


SECOND_ORDER_CASES = [case for case in CASES if case.forward]


@pytest.mark.parametrize("case", SECOND_ORDER_CASES, ids=[c.name for c in SECOND_ORDER_CASES])
def test_corpus_forward_over_reverse_matches_forward_over_forward(case):
    rng = np.random.default_rng(7)
    args = _point(case, rng)
    w = case.wrt[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = autodiffx.hessian(case.function, wrt=w, mode="forward")(*args)
        except autodiffx.AutodiffError:
            pytest.skip("forward-over-forward refuses this program")
    got = autodiffx.hessian(case.function, wrt=w)(*args)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)


def _cubes(x):
    return np.sum(x ** 3)


_cubes_gradient = autodiffx.grad(_cubes)


def _summed_gradient(x):
    return np.sum(_cubes_gradient(x))


def test_reverse_mode_differentiates_the_gradient_not_f():
    # the known silent wrong gradient: d/dx sum(3x²) = 6x = [6, 12], not f's [3, 12]
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(autodiffx.grad(_summed_gradient)(x), [6.0, 12.0])
    np.testing.assert_allclose(autodiffx.grad(_summed_gradient, mode="forward")(x),
                               [6.0, 12.0])
    np.testing.assert_allclose(autodiffx.jacrev(_cubes_gradient)(x), np.diag([6.0, 12.0]))


def test_registering_a_rule_drops_generated_code_that_inlined_the_old_one():
    def _scaled(x):
        return 3.0 * x

    def uses(x):
        return np.sum(_scaled(x))

    x = np.array([1.0, 2.0])
    first = autodiffx.rules.defrule(_scaled, "x", tangents=(lambda t, ans, x: 3.0 * t,),
                                    adjoints=("3.0 * g",))
    try:
        np.testing.assert_allclose(autodiffx.grad(uses)(x), [3.0, 3.0])
        # a deliberately different rule: the cached code must not keep the first one
        second = autodiffx.rules.defrule(_scaled, "x", tangents=(lambda t, ans, x: 5.0 * t,),
                                         adjoints=("5.0 * g",), override=True)
        np.testing.assert_allclose(autodiffx.grad(uses)(x), [5.0, 5.0])
        autodiffx.rules.unregister(second)
    finally:
        autodiffx.rules.unregister(first)



@pytest.mark.parametrize(("x_shape", "y_shape", "outer"),
                         [((3,), (2, 3, 4), 0), ((2, 2, 3), (3,), 1)])
def test_second_order_of_a_batched_matmul_with_a_vector(x_shape, y_shape, outer):
    # The tangent rule of x @ y pads a 1-d operand with an axis; when that operand is held
    # fixed by the inner derivative and carries the outer one's, it is a dual number,
    # which np.expand_dims takes (and np.asarray(y)[:, None] refused)
    rng = np.random.default_rng(3)
    operands = [rng.normal(size=x_shape), rng.normal(size=y_shape)]
    weights = rng.normal(size=np.shape(np.matmul(*operands)))

    def f(x, y):
        return np.sum(weights * np.tanh(np.matmul(x, y)))

    def inner_gradient(v):  # the gradient in the other operand, as the outer one moves
        args = list(operands)
        args[outer] = v
        return autodiffx.grad(f, wrt=1 - outer, mode="forward")(*args)

    got = autodiffx.jacfwd(inner_gradient)(operands[outer])
    np.testing.assert_allclose(got, numeric_jacobian(inner_gradient, operands[outer]),
                               atol=1e-6)


@pytest.mark.parametrize("power", [1.0, 1.5, 3.0])
def test_second_order_of_the_modulus_of_a_complex_value(power):
    # the tangent of |z| for complex z, Re(conj(z) dz) / |z|, is itself differentiated at
    # second order (z a dual number then), without np.sign's refusal of complex values
    weights = np.array([1.0, 2.0, -0.5])

    def f(x):
        z = x[:3] + 1j * x[3:]
        return np.sum(np.abs(z) ** power * weights)

    x = np.array([0.5, -1.2, 0.7, 0.3, 2.0, -0.4])
    gradient = autodiffx.grad(f, mode="forward")
    np.testing.assert_allclose(gradient(x), autodiffx.grad(f)(x), rtol=1e-10)
    np.testing.assert_allclose(autodiffx.jacfwd(gradient)(x), numeric_jacobian(gradient, x),
                               atol=1e-6)
