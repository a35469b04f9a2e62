"""Second derivatives through ``np.prod``, exact where ``x`` holds zeros.

The Hessian of a product is ∂²Π/∂x_i∂x_k = Π_{j∉{i,k}} x_j for i ≠ k (in one reduced
group) and 0 on the diagonal. Forward over reverse pushes Duals through
``prod_partials`` (its tangent is ``prod_partials_tangent``), reverse over reverse
differentiates it with the rule whose adjoint is ``prod_partials_adjoint``, and forward over
forward meets ``prod_partials`` in ``np.prod``'s own tangent rule. The three are checked
against each other, against central differences of the gradient and against the closed
form, which this file computes with plain loops over the entries.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.check import relative_error
from autodiffx.rules import helpers

H = 1e-6
AGREEMENT = 1e-10
"""The modes differ only in rounding: products of a few entries of size at most 2."""
DIFFERENCES = 1e-6
"""Central differences of an exact, polynomial-like gradient (entries at most 2, groups
of at most 4): truncation h² |f'''| / 6 and rounding eps |∇f| / h stay far below this."""

CHECKS = settings(max_examples=25, deadline=None)


# --------------------------------------------------------------------------- the closed form


def _group_of(index, reduced):
    """The entries of the reduced group an index belongs to share its other coordinates."""
    return tuple(c for axis, c in enumerate(index) if axis not in reduced)


def closed_form_hessian(x, axis, weights=None):
    """∂²/∂x∂x of Σ_groups w_group Π_group x: Π_{j∉{a,b}} x_j off the diagonal of a group.

    ``weights`` has the shape of the kept axes (one weight per group), or is None for 1.
    """
    x = np.asarray(x, dtype=float)
    reduced = helpers.normalize_axis(axis, x.ndim)
    hessian = np.zeros(x.shape + x.shape)
    for a in np.ndindex(x.shape):
        group = _group_of(a, reduced)
        weight = 1.0 if weights is None else weights[group]
        for b in np.ndindex(x.shape):
            if a == b or _group_of(b, reduced) != group:
                continue
            product = 1.0
            for c in np.ndindex(x.shape):
                if c not in (a, b) and _group_of(c, reduced) == group:
                    product *= x[c]
            hessian[a + b] = weight * product
    return hessian


# --------------------------------------------------------------------------- drawing points


@st.composite
def reductions(draw):
    """A shape (one to three axes of one to four entries), an axis argument for it (None,
    an int, negative or not, or a tuple) and keepdims."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    return shape, axis, draw(st.booleans())


@st.composite
def points(draw, shape, zeros):
    """Entries in [-2, 2] with ``zeros`` of them (at drawn places) exactly 0."""
    size = int(np.prod(shape))
    values = draw(st.lists(st.floats(-2.0, 2.0, allow_nan=False, allow_subnormal=False),
                           min_size=size, max_size=size))
    x = np.array(values, dtype=float)
    places = draw(st.lists(st.integers(0, size - 1), min_size=min(zeros, size),
                           max_size=min(zeros, size), unique=True))
    x[places] = 0.0
    return x.reshape(shape)


def _kept_shape(shape, axis, keepdims):
    reduced = helpers.normalize_axis(axis, len(shape))
    return tuple(1 if a in reduced else n for a, n in enumerate(shape)
                 if keepdims or a not in reduced)


# --------------------------------------------------------------------------- the three modes


@functools.cache
def _transforms(f):
    """The second-derivative functions of ``f``, made once (their generated code is cached
    with them)."""
    return {
        "forward over reverse": autodiffx.hessian(f),
        "reverse over reverse": autodiffx.jacrev(autodiffx.grad(f)),
        "forward over forward": autodiffx.hessian(f, mode="forward"),
        "gradient": autodiffx.grad(f),
    }


def _hessians(f, x, *rest):
    """The Hessian of ``f(x, *rest)`` in x by forward over reverse, reverse over reverse and
    forward over forward."""
    return {mode: hessian(x.copy(), *rest)
            for mode, hessian in _transforms(f).items() if mode != "gradient"}


def _numeric_hessian(f, x, *rest):
    """Central differences of the (first-order, reverse-mode) gradient."""
    gradient = _transforms(f)["gradient"]
    columns = []
    for entry in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[entry] = H
        columns.append((gradient(x + step, *rest) - gradient(x - step, *rest)) / (2 * H))
    return np.stack(columns, axis=-1).reshape(x.shape + x.shape)


# The reduction's arguments are arguments of the functions, so that each is transformed once.


def weighted_products(x, weights, axis, keepdims):
    return np.sum(weights * np.prod(x, axis=axis, keepdims=keepdims))


def curved(x, axis, keepdims):
    """Nonlinear in the products, and the keepdims product broadcast against x."""
    p = np.prod(x, axis=axis, keepdims=keepdims)
    scaled = x * np.prod(x, axis=axis, keepdims=True)
    return np.sum(np.sin(p) + 0.5 * p**2) + np.sum(np.tanh(scaled))


def _assert_close(expected, got, tolerance, what):
    assert np.shape(got) == np.shape(expected), what
    worst = float(np.max(relative_error(expected, got), initial=0.0))
    assert worst <= tolerance, f"{what}: {worst:.2e}"


@pytest.mark.parametrize("zeros", [0, 1, 2])
@CHECKS
@given(data=st.data())
def test_weighted_products_have_the_closed_form_hessian(zeros, data):
    shape, axis, keepdims = data.draw(reductions())
    x = data.draw(points(shape, zeros))
    kept = _kept_shape(shape, axis, keepdims)
    weights = np.array(data.draw(st.lists(st.floats(-2.0, 2.0), min_size=int(np.prod(kept)),
                                          max_size=int(np.prod(kept))))).reshape(kept)
    group_weights = weights.reshape(_kept_shape(shape, axis, False))
    expected = closed_form_hessian(x, axis, group_weights)
    for mode, got in _hessians(weighted_products, x, weights, axis, keepdims).items():
        _assert_close(expected, got, AGREEMENT, f"{mode}, axis={axis}, keepdims={keepdims}")


@pytest.mark.parametrize("zeros", [0, 1, 2])
@CHECKS
@given(data=st.data())
def test_modes_agree_with_each_other_and_with_differences(zeros, data):
    shape, axis, keepdims = data.draw(reductions())
    x = data.draw(points(shape, zeros))
    hessians = _hessians(curved, x, axis, keepdims)
    numeric = _numeric_hessian(curved, x, axis, keepdims)
    reference = hessians["forward over reverse"]
    for mode, got in hessians.items():
        _assert_close(numeric, got, DIFFERENCES, f"{mode} vs differences, axis={axis}")
        _assert_close(reference, got, AGREEMENT, f"{mode} vs forward over reverse")


def test_the_product_of_a_vector_with_two_zeros():
    """Only the pair of zeros has a nonzero second derivative: the product of the rest."""
    x = np.array([3.0, 0.0, -2.0, 0.0, 5.0])
    expected = np.zeros((5, 5))
    expected[1, 3] = expected[3, 1] = 3.0 * -2.0 * 5.0
    def product(x):
        return np.prod(x)

    for mode, got in _hessians(product, x).items():
        np.testing.assert_array_equal(got, expected, err_msg=mode)


def test_a_method_call_with_zeros_in_two_groups():
    """``x.prod(axis=1)``: one zero in row 0 (its row's partials are the other entries),
    two in row 1, no coupling between rows."""

    def row_products(x):
        return np.sum(x.prod(axis=1) * np.array([2.0, -1.0]))

    x = np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 4.0]])
    expected = closed_form_hessian(x, 1, np.array([2.0, -1.0]))
    assert expected[0, 0, 0, 1] == 2.0 * -2.0 and expected[1, 0, 1, 1] == -1.0 * 4.0
    for mode, got in _hessians(row_products, x).items():
        np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0.0, err_msg=mode)


# --------------------------------------------------------------------------- the helpers


@pytest.mark.parametrize("zeros", [0, 1, 2])
@CHECKS
@given(data=st.data())
def test_helpers_apply_the_closed_form_and_are_each_others_transpose(zeros, data):
    shape, axis, keepdims = data.draw(reductions())
    x = data.draw(points(shape, zeros))
    size = x.size
    directions = data.draw(st.integers(1, 3))
    floats = st.floats(-2.0, 2.0, allow_nan=False, allow_subnormal=False)
    t = np.array(data.draw(st.lists(floats, min_size=directions * size,
                                    max_size=directions * size))).reshape((directions, *shape))
    g = np.array(data.draw(st.lists(floats, min_size=size, max_size=size))).reshape(shape)
    matrix = closed_form_hessian(x, axis).reshape(size, size)

    tangent = helpers.prod_partials_tangent(t, x, axis, keepdims)
    adjoint = helpers.prod_partials_adjoint(g, x, axis, keepdims)
    np.testing.assert_allclose(tangent.reshape(directions, size),
                               t.reshape(directions, size) @ matrix.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adjoint.reshape(size), g.reshape(size) @ matrix,
                               rtol=1e-12, atol=1e-12)
    # ⟨g, J t⟩ = ⟨Jᵀ g, t⟩, per direction
    np.testing.assert_allclose(np.sum(g * tangent, axis=tuple(range(1, tangent.ndim))),
                               np.sum(adjoint * t, axis=tuple(range(1, t.ndim))),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (-1, 0)])
def test_the_tangent_is_the_derivative_of_the_partials(axis):
    """Central differences of prod_partials itself, at a point with a zero."""
    rng = np.random.default_rng(4)
    x = rng.uniform(-2.0, 2.0, size=(2, 3, 2))
    x[0, 1, 1] = 0.0
    t = rng.normal(size=(1, *x.shape))
    numeric = (helpers.prod_partials(x + H * t[0], axis)
               - helpers.prod_partials(x - H * t[0], axis)) / (2 * H)
    np.testing.assert_allclose(helpers.prod_partials_tangent(t, x, axis)[0], numeric,
                               rtol=1e-7, atol=1e-8)


def test_no_reduced_axes_means_no_curvature():
    """``np.prod(x, axis=())`` is x itself: partials 1, second derivatives 0."""
    x = np.array([[0.0, 2.0], [3.0, -1.0]])
    assert not np.any(helpers.prod_partials_tangent(np.ones((2, 2, 2)), x, ()))
    assert not np.any(helpers.prod_partials_adjoint(np.ones((2, 2)), x, ()))


def test_a_third_derivative_is_refused_clearly():
    def f(x):
        return np.sum(np.prod(x, axis=0) ** 2)

    x = np.array([[1.0, 2.0], [3.0, 0.0]])
    with pytest.raises(autodiffx.MissingRuleError, match="third derivative through np.prod"):
        autodiffx.jacfwd(autodiffx.hessian(f))(x)
