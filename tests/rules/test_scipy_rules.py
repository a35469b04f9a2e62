"""The scipy extra's rules (autodiffx/rules/scipy_rules.py): closed forms, both modes
against central differences and each other, second derivatives, exported code and the
refusals. Skipped when SciPy is not installed; the generic checks of test_rules.py and
test_both_modes.py cover these rules too when it is."""

from __future__ import annotations

import ast
import importlib.util
import re

import numpy as np
import pytest
from higher.numeric import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

pytest.importorskip("scipy")
import scipy.linalg  # noqa: E402
import scipy.special  # noqa: E402

import autodiffx  # noqa: E402
from autodiffx.errors import MissingRuleError  # noqa: E402
from autodiffx.export import export  # noqa: E402

MODES = ("forward", "reverse")


def lse_axis1(x):
    return np.sum(scipy.special.logsumexp(x, axis=1) * np.array([1.0, -2.0]))


def lse_weighted(x, b):
    return scipy.special.logsumexp(x, b=b)


def softmax_sum(x):
    return np.sum(scipy.special.softmax(x, axis=-1) * np.arange(3.0))


def log_softmax_sum(x):
    return np.sum(scipy.special.log_softmax(x, axis=0) * np.arange(6.0).reshape(2, 3))


def special_sum(x):
    return np.sum(scipy.special.erf(x) + scipy.special.erfc(2 * x) + scipy.special.expit(x)
                  + scipy.special.logit(0.5 + 0.3 * np.tanh(x)) + scipy.special.gammaln(x + 3)
                  + scipy.special.digamma(x + 3) + scipy.special.polygamma(2, x + 3))


def xlog_sum(x, y):
    return np.sum(scipy.special.xlogy(x, y) + scipy.special.xlog1py(x, y))


def triangular(a):
    b = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]])
    return np.sum(np.cos(scipy.linalg.solve_triangular(a, b, lower=True, trans="T")))


def triangular_unit(a):
    return np.sum(scipy.linalg.solve_triangular(a, np.ones(3), unit_diagonal=True) ** 2)


def expm_sum(a):
    return np.sum(scipy.linalg.expm(a) * np.arange(9.0).reshape(3, 3))


def cho(b):
    c = np.array([[2.0, 0.0], [0.5, 1.5]])
    return np.sum(scipy.linalg.cho_solve((c, True), b) ** 2)


RNG = np.random.default_rng(7)
SQUARE = RNG.uniform(-1, 1, (3, 3)) + 3 * np.eye(3)
CASES = [
    (lse_axis1, (RNG.normal(size=(2, 3)),)),
    (lse_weighted, (RNG.normal(size=4), RNG.uniform(0.5, 2.0, 4))),
    (softmax_sum, (RNG.normal(size=(2, 3)),)),
    (log_softmax_sum, (RNG.normal(size=(2, 3)),)),
    (special_sum, (RNG.uniform(-1, 1, 5),)),
    (xlog_sum, (RNG.normal(size=4), RNG.uniform(0.5, 2.0, 4))),
    (triangular, (SQUARE,)),
    (triangular_unit, (SQUARE,)),
    (expm_sum, (0.5 * RNG.normal(size=(3, 3)),)),
    (cho, (RNG.normal(size=2),)),
]


@pytest.mark.parametrize(("f", "args"), CASES, ids=[f.__name__ for f, _ in CASES])
@pytest.mark.parametrize("mode", MODES)
def test_gradient_matches_central_differences(f, args, mode):
    for i in range(len(args)):
        gradient = autodiffx.grad(f, wrt=i, mode=mode)(*args)

        def along(v, i=i):
            changed = list(args)
            changed[i] = v
            return f(*changed)

        np.testing.assert_allclose(gradient, numeric_gradient(along, args[i]),
                                   rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("f", "args"), CASES[:5] + CASES[6:9],
                         ids=[f.__name__ for f, _ in CASES[:5] + CASES[6:9]])
def test_second_derivative_matches_differences_of_the_gradient(f, args):
    hessian = autodiffx.hessian(f)(*args)
    gradient = autodiffx.grad(f)
    x = args[0]
    for index in list(np.ndindex(x.shape))[:4]:
        e = np.zeros_like(x)
        e[index] = 1e-5
        column = (gradient(x + e, *args[1:]) - gradient(x - e, *args[1:])) / 2e-5
        np.testing.assert_allclose(hessian[(...,) + index], column, rtol=1e-5, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                  elements=st.floats(-5, 5)), st.sampled_from(MODES))
def test_logsumexp_gradient_is_softmax(x, mode):
    gradient = autodiffx.grad(lambda v: scipy.special.logsumexp(v), mode=mode)(x)
    np.testing.assert_allclose(gradient, scipy.special.softmax(x), rtol=1e-12, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-4, 4)),
       st.sampled_from(MODES))
def test_erf_and_gammaln_have_their_closed_forms(x, mode):
    erf = autodiffx.grad(lambda v: np.sum(scipy.special.erf(v)), mode=mode)(x)
    np.testing.assert_allclose(erf, 2 / np.sqrt(np.pi) * np.exp(-x ** 2), rtol=1e-12)
    positive = np.abs(x) + 0.1
    gammaln = autodiffx.grad(lambda v: np.sum(scipy.special.gammaln(v)), mode=mode)(positive)
    np.testing.assert_allclose(gammaln, scipy.special.digamma(positive), rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(0, 1000), st.sampled_from([0, 1, "T"]), st.booleans(),
       st.booleans())
def test_modes_agree_on_solve_triangular(n, seed, trans, lower, unit):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, (n, n)) + 3 * np.eye(n)
    b = rng.normal(size=(n, 2))

    def f(a, b):
        x = scipy.linalg.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit)
        return np.sum(np.sin(x))

    for i in (0, 1):
        forward = autodiffx.grad(f, wrt=i, mode="forward")(a, b)
        reverse = autodiffx.grad(f, wrt=i, mode="reverse")(a, b)
        np.testing.assert_allclose(forward, reverse, rtol=1e-10, atol=1e-12)
    # entries outside the triangle read (and the diagonal with unit_diagonal) have none
    outside = np.triu(np.ones((n, n)), 1 if not unit else 0) if lower else np.tril(
        np.ones((n, n)), -1 if not unit else 0)
    assert np.all(autodiffx.grad(f, wrt=0)(a, b)[outside == 1] == 0)


def test_xlogy_convention_at_x_zero():
    x = np.array([0.0, 0.0, 1.5])
    y = np.array([0.0, 2.0, 2.0])
    assert scipy.special.xlogy(0.0, 0.0) == 0
    for mode in MODES:
        dy = autodiffx.grad(lambda u, v: np.sum(scipy.special.xlogy(u, v)), wrt=1,
                            mode=mode)(x, y)
        np.testing.assert_array_equal(dy, [0.0, 0.0, 0.75])
        dx = autodiffx.grad(lambda u, v: np.sum(scipy.special.xlogy(u, v)), wrt=0,
                            mode=mode)(x, y)
        np.testing.assert_array_equal(dx[1:], np.log(y[1:]))


def sign_lse(x):
    return scipy.special.logsumexp(x, return_sign=True)[0]


def cho_in_c(c):
    return np.sum(scipy.linalg.cho_solve((c, True), np.ones(2)))


@pytest.mark.parametrize("mode", MODES)
def test_refusals(mode):
    with pytest.raises(MissingRuleError, match="return_sign"):
        autodiffx.grad(sign_lse, mode=mode)(np.array([1.0, 2.0]))
    with pytest.raises(MissingRuleError, match="Cholesky factor"):
        autodiffx.grad(cho_in_c, mode=mode)(np.array([[2.0, 0.0], [0.5, 1.5]]))


@pytest.mark.parametrize(("f", "args"), [CASES[4], CASES[6], CASES[8], CASES[9]],
                         ids=["special", "triangular", "expm", "cho_solve"])
def test_exported_gradient_imports_scipy_and_agrees(f, args, tmp_path):
    path = export(f, tmp_path / f"exported_{f.__name__}.py", args=args)
    text = path.read_text()
    imported = {alias.name if isinstance(node, ast.Import) else node.module
                for node in ast.walk(ast.parse(text))
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    assert not any(name.startswith("autodiffx") for name in imported)
    assert any(name.startswith("scipy") for name in imported)
    assert "SciPy" in text
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    np.testing.assert_allclose(getattr(module, f"{f.__name__}_grad")(*args),
                               autodiffx.grad(f)(*args), rtol=1e-12)


def test_generated_code_reads_like_the_maths():
    text = autodiffx.source(autodiffx.grad(expm_sum), CASES[8][1][0])
    assert "expm_derivative(np.swapaxes(a, -1, -2)" in text
    text = autodiffx.source(autodiffx.grad(special_sum), CASES[4][1][0])
    assert "digamma(" in text and "polygamma(" in text


def test_the_hand_written_scipy_section_lists_exactly_the_scipy_rules():
    import scipy.signal  # noqa: F401 (their rules are registered when they are imported,
    import scipy.stats  # noqa: F401  which another test file may or may not have done)

    from autodiffx.rules import all_rules, catalog
    from autodiffx.rules.registry import DISPLAY_NAMES

    listed = set(re.findall(r"`(scipy\.(?:special|linalg|signal|stats)\.[\w.]+)`",
                            catalog.SCIPY_SECTION))
    registered = {DISPLAY_NAMES[id(p)] for rule in all_rules() for p in rule.primitives
                  if id(p) in DISPLAY_NAMES}
    assert listed == registered
