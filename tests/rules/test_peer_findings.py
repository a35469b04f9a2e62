"""What running a peer's gradient test suite against autodiffx found missing or broken in
the rules (benchmarks/peer_suite), each checked here against central differences in both
modes: the scipy.special functions without a rule, ``scipy.special.logsumexp`` of a 0-d
input, ``scipy.signal.convolve``, Python's ``operator`` functions passed as values,
``np.diff`` of order n > 1, ``np.vstack``'s dtype and casting (``np.row_stack``), and
``np.clip``'s bounds given as a_min= and a_max=.
"""

from __future__ import annotations

import contextlib
import operator
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx

pytest.importorskip("scipy")
import scipy.signal  # noqa: E402 (after the skip; its import installs the convolve rule)
import scipy.special as special  # noqa: E402

MODES = ("forward", "reverse")
STEP = 1e-6


def central_difference(f, args, index, direction):
    """(f(x + h v) - f(x - h v)) / 2h along ``direction`` for argument ``index``."""
    up = list(args)
    down = list(args)
    up[index] = args[index] + STEP * direction
    down[index] = args[index] - STEP * direction
    return (f(*up) - f(*down)) / (2 * STEP)


def assert_matches_differences(f, args, wrt, mode, seed=0):
    """The gradient of the scalar ``f`` along a random direction, against differences."""
    rng = np.random.default_rng(seed)
    gradient = autodiffx.grad(f, wrt=wrt, mode=mode)(*args)
    direction = rng.standard_normal(np.shape(args[wrt]))
    numeric = central_difference(f, args, wrt, direction)
    analytic = float(np.sum(gradient * direction))
    assert abs(numeric - analytic) <= 1e-6 * (1 + abs(numeric)), (numeric, analytic)


# --------------------------------------------------------------------------- scipy.special

# (name, function of x, lowest and highest x): one-argument functions, others held fixed
UNARY = [
    ("gamma", lambda x: special.gamma(x), 0.3, 3.0),
    ("rgamma", lambda x: special.rgamma(x), 0.3, 3.0),
    ("erfinv", lambda x: special.erfinv(x), -0.9, 0.9),
    ("erfcinv", lambda x: special.erfcinv(x), 0.1, 1.9),
    ("j0", lambda x: special.j0(x), 0.2, 20.0),
    ("j1", lambda x: special.j1(x), 0.2, 20.0),
    ("y0", lambda x: special.y0(x), 0.5, 20.0),
    ("y1", lambda x: special.y1(x), 0.5, 20.0),
    ("i0", lambda x: special.i0(x), 0.2, 5.0),
    ("i1", lambda x: special.i1(x), 0.2, 5.0),
    ("jv", lambda x: special.jv(2.5, x), 0.5, 10.0),
    ("jn", lambda x: special.jn(2, x), 0.5, 10.0),
    ("yn", lambda x: special.yn(2, x), 0.5, 10.0),
    ("iv", lambda x: special.iv(1.5, x), 0.2, 5.0),
    ("ive", lambda x: special.ive(3.0, x), -5.0, 5.0),
    ("gammainc", lambda x: special.gammainc(1.5, x), 0.3, 4.0),
    ("gammaincc", lambda x: special.gammaincc(2.0, x), 0.3, 4.0),
    ("betainc", lambda x: special.betainc(2.0, 3.0, x), 0.05, 0.95),
    ("beta in a", lambda x: special.beta(x, 1.7), 0.5, 3.0),
    ("betaln in b", lambda x: special.betaln(2.2, x), 0.5, 3.0),
    ("multigammaln", lambda x: special.multigammaln(x, 3), 4.0, 6.0),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, function, lo, hi", UNARY, ids=[u[0] for u in UNARY])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_scipy_special_gradient_matches_differences(name, function, lo, hi, mode, data):
    x = np.array(data.draw(st.lists(st.floats(lo, hi), min_size=1, max_size=4)))
    if name == "ive":  # |x| has a kink at 0
        x = np.where(np.abs(x) < 0.1, 0.5, x)
    if name == "multigammaln":  # it takes a scalar or an array, summed either way
        x = x[:1].reshape(())

    def loss(x):
        return np.sum(function(x) * 1.5)

    assert_matches_differences(loss, [x], 0, mode)


REFUSED_PARAMETERS = [
    ("gammainc a", lambda a: special.gammainc(a, 2.0)),
    ("gammaincc a", lambda a: special.gammaincc(a, 2.0)),
    ("betainc a", lambda a: special.betainc(a, 2.0, 0.3)),
    ("betainc b", lambda b: special.betainc(2.0, b, 0.3)),
    ("jv order", lambda v: special.jv(v, 2.0)),
    ("yv order", lambda v: special.yv(v, 2.0)),
    ("iv order", lambda v: special.iv(v, 2.0)),
    ("ive order", lambda v: special.ive(v, 2.0)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, function", REFUSED_PARAMETERS,
                         ids=[r[0] for r in REFUSED_PARAMETERS])
def test_a_parameter_without_a_rule_is_refused_not_zero(name, function, mode):
    # these derivatives exist; a rule without them must refuse, never pass 0
    with pytest.raises(autodiffx.MissingRuleError, match="derivative rule in x only"):
        autodiffx.grad(function, mode=mode)(1.5)


@pytest.mark.parametrize("mode", MODES)
def test_gammasgn_has_derivative_zero(mode):
    x = np.array([0.5, 2.5, -1.5])
    gradient = autodiffx.grad(lambda x: np.sum(special.gammasgn(x) * x), mode=mode)(x)
    np.testing.assert_array_equal(gradient, special.gammasgn(x))


# --------------------------------------------------------------------------- logsumexp


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_logsumexp_of_a_0d_input_with_an_axis(axis, mode):
    # SciPy reads a 0-d a as [a]: axis=0 is allowed, and the result is a (plus log b)
    def loss(a):
        return special.logsumexp(a, axis=axis) * 2.0

    assert autodiffx.grad(loss, mode=mode)(1.1) == pytest.approx(2.0)

    def weighted(a, b):
        return special.logsumexp(a, axis=axis, b=b, keepdims=True)[0] * 3.0

    gradients = autodiffx.grad(weighted, wrt=(0, 1), mode=mode)(0.3, 2.0)
    assert gradients == pytest.approx((3.0, 1.5))


@pytest.mark.parametrize("mode", MODES)
def test_logsumexp_of_a_0d_input_keeps_its_shape_in_a_jacobian(mode):
    jacobian = autodiffx.jacfwd if mode == "forward" else autodiffx.jacrev
    result = jacobian(lambda a: special.logsumexp(a, axis=0, keepdims=True))(np.float64(0.7))
    assert np.shape(result) == (1,)
    np.testing.assert_allclose(result, [1.0])


# --------------------------------------------------------------------------- convolve

shapes_1d = st.tuples(st.integers(1, 6), st.integers(1, 6))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("convolve_mode", ["full", "valid", "same"])
@settings(max_examples=10, deadline=None)
@given(sizes=shapes_1d, seed=st.integers(0, 2**16))
def test_convolve_1d_gradients_match_differences(sizes, seed, convolve_mode, mode):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(sizes[0]), rng.standard_normal(sizes[1])
    weights = rng.standard_normal(np.shape(scipy.signal.convolve(x, y, mode=convolve_mode)))

    def loss(x, y):
        return np.sum(scipy.signal.convolve(x, y, mode=convolve_mode) * weights)

    assert_matches_differences(loss, [x, y], 0, mode, seed)
    assert_matches_differences(loss, [x, y], 1, mode, seed + 1)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("convolve_mode", ["full", "valid", "same"])
@pytest.mark.parametrize("shapes", [((5, 4), (2, 3)), ((3, 3), (4, 5)), ((4, 3), (4, 1))])
def test_convolve_2d_gradients_match_differences(shapes, convolve_mode, mode):
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    weights = rng.standard_normal(np.shape(scipy.signal.convolve(x, y, mode=convolve_mode)))

    def loss(x, y):
        return np.sum(scipy.signal.convolve(x, y, mode=convolve_mode) * weights)

    assert_matches_differences(loss, [x, y], 0, mode)
    assert_matches_differences(loss, [x, y], 1, mode)


def test_convolve_has_its_rule_whichever_is_imported_first():
    program = (
        "import numpy as np\n"
        "{first}\n{second}\n"
        "from autodiffx.rules import registry\n"
        "assert registry.lookup(scipy.signal.convolve) is not None\n"
        "g = autodiffx.grad(lambda x: np.sum(scipy.signal.convolve(x, np.ones(2))),"
        " mode='forward')(np.ones(3))\n"
        "assert np.allclose(g, 2.0), g\n"
    )
    for first, second in (("import autodiffx", "import scipy.signal"),
                          ("import scipy.signal", "import autodiffx")):
        result = subprocess.run([sys.executable, "-c", program.format(first=first,
                                                                      second=second)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- operators

OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.mod]


def folded_with(function):
    """A loss that calls ``function`` as a value (a closure variable), as code that takes
    operator.add as an argument does."""
    weights = np.array([1.0, -2.0, 0.5])

    def loss(x, y):
        return np.sum(function(x, y) * weights)

    return loss


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("function", OPERATORS, ids=lambda f: f.__name__)
def test_operator_functions_passed_as_values(function, mode):
    x = np.array([0.3, 1.7, -0.6])
    y = np.array([0.7, 0.45, 1.3])  # x / y is never near a whole number: mod is smooth
    loss = folded_with(function)
    assert_matches_differences(loss, [x, y], 0, mode)
    assert_matches_differences(loss, [x, y], 1, mode)


# --------------------------------------------------------------------------- diff, stacks


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=10, deadline=None)
@given(n=st.integers(0, 4), length=st.integers(5, 7), seed=st.integers(0, 2**16))
def test_diff_of_any_order_matches_differences(n, length, seed, mode):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((length, 2))
    weights = rng.standard_normal(np.shape(np.diff(x, n=n, axis=0)))

    def loss(x):
        return np.sum(np.diff(x, n=n, axis=0) * weights)

    assert_matches_differences(loss, [x], 0, mode, seed)


@pytest.mark.parametrize("mode", MODES)
def test_row_stack_and_vstack_with_dtype(mode):
    a, b = np.array([0.5, -1.0]), np.array([[2.0, 0.25]])
    weights = np.array([[1.0, 2.0], [3.0, -4.0]])

    def stacked(a, b):
        return np.sum(np.vstack([a, b], dtype=None, casting="same_kind") ** 2 * weights)

    def rows(a, b):
        return np.sum(np.row_stack((a, b)) ** 2 * weights)

    for loss in (stacked, rows):
        with pytest.warns(DeprecationWarning) if loss is rows else contextlib.nullcontext():
            assert_matches_differences(loss, [a, b], 0, mode)
            assert_matches_differences(loss, [a, b], 1, mode)


@pytest.mark.parametrize("mode", MODES)
def test_clip_bounds_given_by_numpy_keywords(mode):
    x = np.array([-0.5, 0.5, 2.0])

    def loss(x):
        return np.sum(np.clip(x, a_min=0.1, a_max=1.1) ** 2)

    np.testing.assert_allclose(autodiffx.grad(loss, mode=mode)(x), [0.0, 1.0, 0.0])

    def bound(lo):
        return np.sum(np.clip(x, a_min=lo, a_max=None) ** 2)

    assert autodiffx.grad(bound, mode=mode)(0.2) == pytest.approx(0.4)


# --------------------------------------------------------------------------- scipy.stats.norm


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["pdf", "logpdf", "cdf", "logcdf", "sf", "logsf"])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_normal_distribution_gradients_match_differences(method, mode, seed):
    import scipy.stats

    rng = np.random.default_rng(seed)
    x, loc = rng.standard_normal((3, 2)), rng.standard_normal((1, 2))
    scale = rng.uniform(0.5, 2.0, (3, 1))
    weights = rng.standard_normal((3, 2))
    function = getattr(scipy.stats.norm, method)

    def loss(x, loc, scale):
        return np.sum(function(x, loc, scale) * weights)

    def by_name(x, scale):
        return np.sum(function(x, scale=scale) * weights)

    for index in range(3):
        assert_matches_differences(loss, [x, loc, scale], index, mode, seed + index)
    assert_matches_differences(by_name, [x, scale], 1, mode, seed)


# ------------------------------------------------- scipy.stats.t, gamma, beta and chi2


@pytest.mark.parametrize("mode", MODES)
def test_distribution_densities_against_closed_forms(mode):
    import scipy.stats

    x = np.array([0.7, 1.9, 3.2])

    def gamma_in_x(x):
        return np.sum(scipy.stats.gamma.logpdf(x, 2.5))

    def gamma_in_a(a):
        return np.sum(scipy.stats.gamma.logpdf(x, a))

    def t_in_x(x):  # by name, with a scale
        return np.sum(scipy.stats.t.logpdf(x, df=4.0, scale=2.0))

    np.testing.assert_allclose(autodiffx.grad(gamma_in_x, mode=mode)(x), 1.5 / x - 1,
                               rtol=1e-12)
    np.testing.assert_allclose(autodiffx.grad(gamma_in_a, mode=mode)(2.5),
                               np.sum(np.log(x)) - 3 * special.digamma(2.5), rtol=1e-12)
    z = x / 2.0
    np.testing.assert_allclose(autodiffx.grad(t_in_x, mode=mode)(x),
                               -5.0 * z / (4.0 + z * z) / 2.0, rtol=1e-12)
    # second order in a shape: d²/da² of -n log Γ(a) + ... is -n ψ'(a)
    np.testing.assert_allclose(autodiffx.hessian(gamma_in_a, mode=mode)(2.5),
                               -3 * special.polygamma(1, 2.5), rtol=1e-10)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("family", "shapes"), [("t", (3.5,)), ("gamma", (2.0,)),
                                                ("beta", (2.0, 3.0)), ("chi2", (3.0,))])
@pytest.mark.parametrize("method", ["cdf", "logcdf", "sf", "logsf"])
def test_distribution_functions_refuse_a_derivative_in_a_shape(mode, family, shapes, method):
    import scipy.stats

    function = getattr(getattr(scipy.stats, family), method)
    x = np.array([0.3, 0.6]) if family == "beta" else np.array([0.8, 1.7])

    first, second = shapes[0], shapes[-1]  # (reverse mode refuses *unpacking)
    if len(shapes) == 2:
        def in_shape(s):
            return np.sum(function(x, s, second))

        def in_x(x):
            return np.sum(function(x, first, second, loc=0.05, scale=1.1))
    else:
        def in_shape(s):
            return np.sum(function(x, s))

        def in_x(x):
            return np.sum(function(x, first, loc=0.05, scale=1.1))

    with pytest.raises(autodiffx.MissingRuleError, match="not in its shape parameters"):
        autodiffx.grad(in_shape, mode=mode)(first)
    assert_matches_differences(in_x, [x], 0, mode, 0)


@pytest.mark.parametrize("mode", MODES)
def test_multigammaln_second_derivative(mode):
    # forward mode over the gradient: d²/da² log Γ_3(a) = Σ_j ψ'(a − j/2)
    second = autodiffx.hessian(lambda a: special.multigammaln(a, 3), mode=mode)(4.5)
    expected = sum(special.polygamma(1, 4.5 - j / 2.0) for j in range(3))
    assert np.asarray(second) == pytest.approx(expected, rel=1e-10)
