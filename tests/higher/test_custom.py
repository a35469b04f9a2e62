"""Custom primitives (@autodiffx.primitive): both modes use the rule, not the body."""

from __future__ import annotations

import numpy as np
import pytest

import autodiffx
from autodiffx import custom

H = 1e-6


def numeric_gradient(f, x):
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = H
        out[i] = (f(x + e) - f(x - e)) / (2 * H)
    return out


def _softmax(x):
    shifted = np.exp(x - np.max(x))
    return shifted / np.sum(shifted)


def _make_logsumexp():
    @autodiffx.primitive(
        "x",
        tangents=(lambda t, ans, x: np.sum(t * _softmax(x), axis=-1),),
        adjoints=("g * softmax(x)",),
        namespace={"softmax": _softmax},
    )
    def logsumexp(x):
        top = np.max(x)
        return top + np.log(np.sum(np.exp(x - top)))

    return logsumexp


@pytest.fixture
def logsumexp():
    function = _make_logsumexp()
    globals()["logsumexp"] = function  # the functions below find it as a global
    yield function
    custom.unregister(function)
    del globals()["logsumexp"]


def loss(x, w):
    return logsumexp(x * w) - np.sum(x)  # noqa: F821 (bound by the fixture)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_custom_logsumexp_matches_differences_and_the_softmax(logsumexp, mode):
    x = np.array([0.5, -1.0, 2.0, 800.0])  # exp(800) overflows: only the stable body works
    w = np.array([1.0, 2.0, 0.5, 1.0])
    gradient = autodiffx.grad(loss, mode=mode)(x, w)
    np.testing.assert_allclose(gradient, w * _softmax(x * w) - 1.0, rtol=1e-12, atol=1e-15)
    small = x[:3]
    np.testing.assert_allclose(
        autodiffx.grad(loss, mode=mode)(small, w[:3]),
        numeric_gradient(lambda v: loss(v, w[:3]), small), rtol=1e-6, atol=1e-8)


def test_forward_mode_does_not_run_the_body_with_duals():
    # np.asarray in the body would turn a Dual into a plain array: only the rule can work
    @autodiffx.primitive("x", tangents=(lambda t, ans, x: 3.0 * t * x ** 2,),
                         adjoints=("3.0 * g * x ** 2",))
    def cube(x):
        return np.asarray(x) ** 3

    try:
        x = np.array([0.5, -2.0])
        np.testing.assert_allclose(autodiffx.grad(lambda v: np.sum(cube(v)), mode="forward")(x),
                                   3.0 * x ** 2)
        assert autodiffx.rules.lookup(cube) is cube.rule
    finally:
        custom.unregister(cube)


def test_the_generated_code_inlines_the_adjoint_readably(logsumexp):
    text = autodiffx.source(autodiffx.grad(loss), np.ones(3), np.ones(3))
    assert "logsumexp(xw)" in text
    assert "softmax(xw)" in text
    assert "def " not in text.split("def loss_vjp")[1].split("def pullback")[0]
    assert "logsumexp_vjp" not in text  # a primitive, not a transformed user function


def _guarded(x):
    try:
        return np.tanh(x)
    except FloatingPointError:
        return x


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_function_the_transformer_refuses_becomes_differentiable(mode):
    guarded = autodiffx.primitive("x", adjoints=("g * (1 - ans ** 2)",), elementwise=True)(
        _guarded
    )
    try:
        def uses(x):
            return np.sum(guarded(x) ** 2)

        x = np.array([0.3, -0.7])
        expected = 2 * np.tanh(x) * (1 - np.tanh(x) ** 2)
        if mode == "forward":
            got = autodiffx.grad(uses, mode=mode)(x)
        else:
            globals()["guarded_tmp"] = guarded
            got = autodiffx.grad(_uses_guarded)(x)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    finally:
        globals().pop("guarded_tmp", None)
        custom.unregister(guarded)


def _uses_guarded(x):
    return np.sum(guarded_tmp(x) ** 2)  # noqa: F821 (bound by the test)


def test_a_rule_needs_one_adjoint_per_parameter():
    with pytest.raises(autodiffx.ArgumentError, match="one adjoint"):
        autodiffx.primitive("x y", adjoints=("g",))


def test_tangents_are_required_unless_elementwise():
    with pytest.raises(autodiffx.ArgumentError, match="tangents"):
        autodiffx.primitive("x", adjoints=("g * x",))(lambda x: x * x / 2)
