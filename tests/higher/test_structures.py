"""Structured parameters (dicts, lists, tuples, nested) and has_aux, in both modes."""

from __future__ import annotations

import numpy as np
import pytest

import autodiffx
from autodiffx import tree
from autodiffx.ner import model

from .numeric import numeric_gradient

MODES = ("reverse", "forward")


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return {"W": rng.normal(size=(3, 4)) * 0.5, "b": rng.normal(size=3), "u": rng.normal(size=3)}


def summed_score(params, X):
    return np.sum(model.score(params["W"], params["b"], params["u"], X))


def mlp(params, x):
    h = np.tanh(params["W"] @ x + params["b"])
    return np.sum(params["u"] * h)


def unpacked(pair, x):
    W, b = pair
    return np.sum(np.tanh(W @ x + b) ** 2)


def nested(params, x):
    first = np.tanh(params["layers"][0]["W"] @ x)
    second = params["layers"][1]["W"] @ first
    return np.sum(second ** 2) * params["scale"]


def _check_against_differences(f, args, position, gradient):
    leaves, spec = tree.flatten(args[position])
    got = tree.flatten(gradient)[0]
    assert tree.flatten(gradient)[1] == spec
    for i, leaf in enumerate(leaves):

        def along(value, i=i):
            changed = list(leaves)
            changed[i] = value
            call = list(args)
            call[position] = tree.unflatten(spec, changed)
            return f(*call)

        np.testing.assert_allclose(got[i], numeric_gradient(along, leaf), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_dict_parameters_give_a_dict_of_gradients(mode):
    params = _params()
    X = np.random.default_rng(1).normal(size=(4, 2))
    gradient = autodiffx.grad(summed_score, mode=mode)(params, X)
    assert list(gradient) == ["W", "b", "u"]
    _check_against_differences(summed_score, [params, X], 0, gradient)
    # closed form for u: sum over the batch of tanh(W X + b)
    h = np.tanh(params["W"] @ X + params["b"][:, None])
    np.testing.assert_allclose(gradient["u"], h.sum(axis=1), rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", [mlp, unpacked, nested], ids=["mlp", "unpacked", "nested"])
def test_structures_in_both_modes_match_central_differences(f, mode):
    rng = np.random.default_rng(2)
    x = rng.normal(size=4)
    if f is mlp:
        params = _params()
    elif f is unpacked:
        params = [rng.normal(size=(3, 4)), rng.normal(size=3)]
    else:
        params = {"layers": [{"W": rng.normal(size=(3, 4))}, {"W": rng.normal(size=(2, 3))}],
                  "scale": 1.5}
    gradient = autodiffx.grad(f, mode=mode)(params, x)
    _check_against_differences(f, [params, x], 0, gradient)


def test_both_modes_agree_on_a_structure_and_a_plain_argument_together():
    params = _params(3)
    x = np.random.default_rng(4).normal(size=4)
    reverse = autodiffx.grad(mlp, wrt=(0, 1))(params, x)
    forward = autodiffx.grad(mlp, wrt=(0, 1), mode="forward")(params, x)
    for key in params:
        np.testing.assert_allclose(reverse[0][key], forward[0][key], rtol=1e-12)
    np.testing.assert_allclose(reverse[1], forward[1], rtol=1e-12)


def test_reverse_mode_code_for_a_structure_names_the_leaves():
    params = _params()
    text = autodiffx.source(autodiffx.grad(mlp), params, np.ones(4))
    assert "def mlp_vjp(W, b, u, x):" in text
    assert "dW = np.outer(dWx, x)" in text
    assert "return dW, db, du" in text


def test_a_list_of_plain_numbers_is_still_refused():
    with pytest.raises(autodiffx.InputTypeError, match="argument 0"):
        autodiffx.grad(lambda x: x, mode="forward")([1.0, 2.0])


def with_aux(x):
    value = np.sum(np.sin(x) ** 2)
    return value, np.cos(x)


@pytest.mark.parametrize("mode", MODES)
def test_has_aux_returns_the_aux_output_untouched(mode):
    x = np.array([0.3, -1.2, 2.0])
    gradient, aux = autodiffx.grad(with_aux, has_aux=True, mode=mode)(x)
    np.testing.assert_allclose(gradient, 2 * np.sin(x) * np.cos(x), rtol=1e-12)
    np.testing.assert_allclose(aux, np.cos(x))
    assert type(aux) is np.ndarray
    (value, aux2), gradient2 = autodiffx.value_and_grad(with_aux, has_aux=True, mode=mode)(x)
    assert value == pytest.approx(np.sum(np.sin(x) ** 2))
    np.testing.assert_allclose(aux2, np.cos(x))
    np.testing.assert_allclose(gradient2, gradient)


def loss_and_count(params, x):
    loss = mlp(params, x)
    return loss, len(x)


@pytest.mark.parametrize("mode", MODES)
def test_has_aux_with_structured_parameters(mode):
    params = _params(5)
    x = np.linspace(-1.0, 1.0, 4)
    gradient, count = autodiffx.grad(loss_and_count, has_aux=True, mode=mode)(params, x)
    assert count == 4
    _check_against_differences(mlp, [params, x], 0, gradient)


def test_has_aux_needs_a_pair():
    with pytest.raises(autodiffx.ArgumentError, match="pair"):
        autodiffx.grad(lambda x: x * 2.0, has_aux=True, mode="forward")(1.0)


def layer(params, x):
    return np.tanh(params["W"] @ x + params["b"])


def _scaled_by_a_cell():
    scale = 1.5

    def scaled(params, x):
        return np.sum(np.sin(params["W"] @ x) * scale) + params["b"][0]

    def rebind(value):
        nonlocal scale
        scale = value

    return scaled, rebind


@pytest.mark.parametrize("jacobian", [autodiffx.jacfwd, autodiffx.jacrev])
def test_jacobians_of_a_structure_have_its_structure(jacobian):
    # as in JAX: {"W": d out/d W, "b": d out/d b}, each of shape out.shape + leaf.shape
    params = {"W": _params()["W"], "b": _params()["b"]}
    x = np.array([0.3, -0.2, 0.5, 0.1])
    blocks = jacobian(layer, wrt=(0, 1))(params, x)
    assert set(blocks[0]) == {"W", "b"}
    for key, leaf in params.items():
        assert blocks[0][key].shape == (3,) + leaf.shape
        for index in np.ndindex(leaf.shape):
            def along(value, key=key, index=index):
                changed = {k: v.copy() for k, v in params.items()}
                changed[key][index] = value
                return layer(changed, x)
            step = 1e-6
            numeric = (along(leaf[index] + step) - along(leaf[index] - step)) / (2 * step)
            np.testing.assert_allclose(blocks[0][key][(slice(None), *index)], numeric,
                                       rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(blocks[1], np.tanh(params["W"] @ x + params["b"])[:, None] * 0
                               + (1 - layer(params, x) ** 2)[:, None] * params["W"],
                               rtol=1e-12)


def test_reverse_mode_sees_a_closure_cell_rebound_next_to_a_structure():
    scaled, rebind = _scaled_by_a_cell()
    params = {"W": _params()["W"], "b": _params()["b"]}
    x = np.array([0.3, -0.2, 0.5, 0.1])
    before = autodiffx.grad(scaled)(params, x)
    rebind(-0.7)
    after = autodiffx.grad(scaled)(params, x)
    forward = autodiffx.grad(scaled, mode="forward")(params, x)
    np.testing.assert_allclose(after["W"], forward["W"], rtol=1e-12)
    np.testing.assert_allclose(after["W"], before["W"] * (-0.7 / 1.5), rtol=1e-12)
