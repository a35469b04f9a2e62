"""``jvp`` of functions of dicts, lists and tuples of arrays, and with such results.

As in JAX, a primal may be a structure of arrays and numbers, with a tangent of the same
structure, and the result may be one: the value and the tangent then come back in the
result's structure. Checked against central differences along the tangent, and, for the
Hessian-vector product of a function of a dict, against differences of reverse mode's
gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.errors import ArgumentError

H = 1e-6


def moved(value, direction, step):
    """``value + step * direction``, leaf by leaf, in the same structure."""
    if isinstance(value, dict):
        return {k: moved(value[k], direction[k], step) for k in value}
    if isinstance(value, (list, tuple)):
        return type(value)(moved(v, d, step) for v, d in zip(value, direction, strict=True))
    return value + step * direction


def along(f, primals, tangents):
    """The derivative of ``f`` along ``tangents`` by central differences, in the result's
    structure."""
    ahead = f(*(moved(p, t, H) for p, t in zip(primals, tangents, strict=True)))
    behind = f(*(moved(p, t, -H) for p, t in zip(primals, tangents, strict=True)))
    return moved(ahead, behind, -1.0) if not isinstance(ahead, (dict, list, tuple)) else (
        _difference(ahead, behind))


def _difference(ahead, behind):
    if isinstance(ahead, dict):
        return {k: _difference(ahead[k], behind[k]) for k in ahead}
    if isinstance(ahead, (list, tuple)):
        return type(ahead)(_difference(a, b) for a, b in zip(ahead, behind, strict=True))
    return (np.asarray(ahead) - np.asarray(behind)) / (2 * H)


def layer(params, x):
    h = np.tanh(params["W"] @ x + params["b"])
    return {"loss": np.sum(h ** 2) * params["scale"], "h": h, "pair": (np.sum(h), h[0])}


def leaves_close(got, want):
    if isinstance(want, dict):
        assert set(got) == set(want)
        for key in want:
            leaves_close(got[key], want[key])
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            leaves_close(g, w)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 4), m=st.integers(1, 3))
def test_a_dict_argument_and_a_dict_result(seed, n, m):
    rng = np.random.default_rng(seed)
    params = {"W": rng.normal(size=(m, n)), "b": rng.normal(size=m),
              "scale": float(rng.uniform(0.5, 2.0))}
    x = rng.normal(size=n)
    dparams = {"W": rng.normal(size=(m, n)), "b": rng.normal(size=m),
               "scale": float(rng.normal())}
    dx = rng.normal(size=n)
    value, tangent = autodiffx.jvp(layer, (params, x), (dparams, dx))
    leaves_close(value, layer(params, x))
    leaves_close(tangent, _difference_of(layer, (params, x), (dparams, dx)))
    assert isinstance(tangent["pair"], tuple) and isinstance(tangent["loss"], float)


def _difference_of(f, primals, tangents):
    return along(f, primals, tangents)


def test_a_tuple_argument_and_a_tuple_result():
    def f(pair, x):
        a, b = pair
        return np.sum(a * x) + b, a * b

    primals = ((np.array([1.0, -2.0]), 3.0), np.array([0.5, 0.25]))
    tangents = ((np.array([0.3, 0.1]), -1.0), np.array([1.0, 2.0]))
    value, tangent = autodiffx.jvp(f, primals, tangents)
    leaves_close(value, f(*primals))
    leaves_close(tangent, along(f, primals, tangents))


def test_the_hessian_along_a_direction_of_a_function_of_a_dict():
    """``jvp`` of reverse mode's gradient, a dict: the Hessian-vector product."""
    rng = np.random.default_rng(5)
    params = {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=2), "scale": 1.5}
    x = rng.normal(size=3)
    direction = {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=2), "scale": 0.5}

    def loss(p):
        h = np.tanh(p["W"] @ x + p["b"])
        return np.sum(h ** 2) * p["scale"]

    gradient = autodiffx.grad(loss)
    _, product = autodiffx.jvp(gradient, (params,), (direction,))
    leaves_close(product, along(gradient, (params,), (direction,)))


def test_a_tangent_of_another_structure_is_refused():
    with pytest.raises(ArgumentError, match="not of the structure of primal 0"):
        autodiffx.jvp(lambda p: p["w"], ({"w": np.ones(2)},), ({"v": np.ones(2)},))
    with pytest.raises(ArgumentError, match="not of the structure of primal 0"):
        autodiffx.jvp(lambda p: p[0], ((np.ones(2), 1.0),), (np.ones(2),))
