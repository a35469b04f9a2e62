"""Vector (chunked) forward mode, jacfwd and jvp, against each other and central differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiffx
from autodiffx import grad, jacfwd, jvp
from autodiffx.check import relative_error

H = 1e-5
TOLERANCE = 1e-6  # the corpus's tolerance and step; see tests/corpus/test_corpus.py


def scorer(W, b, u, x):
    return u @ np.tanh(W @ x + b)


def layer(W, x):
    return np.tanh(W @ x)


def _numeric_jacobian(f, x):
    """Central differences, one column per entry of x: shape out.shape + x.shape."""
    out = np.asarray(f(x))
    columns = []
    for entry in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[entry] += H
        minus[entry] -= H
        columns.append((np.asarray(f(plus)) - np.asarray(f(minus))) / (2 * H))
    return np.moveaxis(np.array(columns), 0, -1).reshape(out.shape + x.shape)


@pytest.fixture
def scorer_inputs():
    rng = np.random.default_rng(7)
    return (
        rng.standard_normal((3, 5)),
        rng.standard_normal(3),
        rng.standard_normal(3),
        rng.standard_normal(5),
    )


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 7, 15, 16, 100, None])
def test_every_chunk_size_gives_the_same_gradient(scorer_inputs, chunk):
    # 15 + 3 + 3 + 5 = 26 entries: most chunk sizes here do not divide 26.
    one = grad(scorer, wrt=(0, 1, 2, 3), mode="forward", chunk=1)(*scorer_inputs)
    some = grad(scorer, wrt=(0, 1, 2, 3), mode="forward", chunk=chunk)(*scorer_inputs)
    for a, b in zip(one, some, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)


def test_chunked_gradient_matches_the_full_jacobian_and_the_lecture(scorer_inputs):
    W, b, u, x = scorer_inputs
    dW, db, du, dx = grad(scorer, wrt=(0, 1, 2, 3), mode="forward", chunk=4)(W, b, u, x)
    z = W @ x + b
    delta = u * (1 - np.tanh(z) ** 2)  # the lecture's error signal
    np.testing.assert_allclose(db, delta, rtol=1e-12)
    np.testing.assert_allclose(dW, np.outer(delta, x), rtol=1e-12)
    np.testing.assert_allclose(dx, W.T @ delta, rtol=1e-12)
    np.testing.assert_allclose(du, np.tanh(z), rtol=1e-12)
    full = jacfwd(scorer, wrt=(0, 1, 2, 3), chunk=3)(W, b, u, x)
    for a, j in zip((dW, db, du, dx), full, strict=True):
        np.testing.assert_allclose(j, a, rtol=1e-12)


@pytest.mark.parametrize("chunk", [1, 4, 5, None])
def test_jacfwd_shape_is_output_then_input(chunk):
    rng = np.random.default_rng(1)
    W, x = rng.standard_normal((4, 3)), rng.standard_normal(3)
    dW, dx = jacfwd(layer, wrt=(0, 1), chunk=chunk)(W, x)
    assert dW.shape == (4, 4, 3)
    assert dx.shape == (4, 3)
    np.testing.assert_allclose(dx, _numeric_jacobian(lambda v: layer(W, v), x), atol=1e-8)
    np.testing.assert_allclose(dW, _numeric_jacobian(lambda M: layer(M, x), W), atol=1e-8)


def test_jacfwd_by_name_and_single_argument():
    rng = np.random.default_rng(2)
    W, x = rng.standard_normal((2, 3)), rng.standard_normal(3)
    by_name = jacfwd(layer, wrt=("x", "W"))(W, x)
    by_index = jacfwd(layer, wrt=(1, 0))(W, x)
    for a, b in zip(by_name, by_index, strict=True):
        np.testing.assert_array_equal(a, b)
    single = jacfwd(layer, wrt="x")(W, x)
    assert isinstance(single, np.ndarray) and single.shape == (2, 3)


def test_jacfwd_of_scalar_input_and_scalar_output():
    assert jacfwd(lambda a: np.array([1.0, 2.0]) * a)(2.0).shape == (2,)
    assert jacfwd(lambda W: np.sum(W**2))(np.ones((2, 3))).shape == (2, 3)


def test_wrt_names_and_indices_agree(scorer_inputs):
    by_name = grad(scorer, wrt=("u", "W"), mode="forward")(*scorer_inputs)
    by_index = grad(scorer, wrt=[2, 0], mode="forward")(*scorer_inputs)
    assert isinstance(by_name, tuple) and len(by_name) == 2
    for a, b in zip(by_name, by_index, strict=True):
        np.testing.assert_array_equal(a, b)
    single = grad(scorer, wrt="b", mode="forward")(*scorer_inputs)
    assert isinstance(single, np.ndarray) and single.shape == (3,)


@settings(max_examples=25, deadline=None)
@given(
    x=hnp.arrays(np.float64, (4,), elements=st.floats(-2, 2), fill=st.nothing()),
    v=hnp.arrays(np.float64, (4,), elements=st.floats(-1, 1), fill=st.nothing()),
)
def test_jvp_matches_central_differences(x, v):
    def f(x):
        return np.sin(x) * np.sum(x**2)

    value, tangent = jvp(f, (x,), (v,))
    np.testing.assert_array_equal(value, f(x))
    numeric = (f(x + H * v) - f(x - H * v)) / (2 * H)
    assert np.max(relative_error(numeric, tangent)) <= TOLERANCE


def test_jvp_with_several_primals_and_a_scalar():
    value, tangent = jvp(
        lambda a, x: a * np.sum(x), (2.0, np.array([1.0, 3.0])), (1.0, np.zeros(2))
    )
    assert value == 8.0 and tangent == 4.0


def test_jvp_refuses_mismatched_tangents():
    with pytest.raises(autodiffx.ArgumentError, match="shape"):
        jvp(np.sin, (np.zeros(3),), (np.zeros(2),))
    with pytest.raises(autodiffx.ArgumentError, match="tangents"):
        jvp(np.sin, (np.zeros(3),), ())
