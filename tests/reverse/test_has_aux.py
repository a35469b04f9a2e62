"""``has_aux=True`` in reverse mode: the function returns ``(value, aux)``; only ``value``
is differentiated, and ``aux`` (any structure, computed from differentiated values or not)
comes back as the function computed it."""

import numpy as np
import pytest
from higher.numeric import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import autodiffx

from . import aux_programs as programs

values = arrays(np.float64, st.integers(1, 4),
                elements=st.floats(-2.0, 2.0, allow_nan=False, allow_subnormal=False))


def same(a, b):
    """Equal structures with equal leaves."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def value_only(f):
    return lambda *args: f(*args)[0]


@settings(max_examples=25, deadline=None)
@given(a=values)
def test_aux_of_any_structure_is_returned_and_not_differentiated(a):
    for f in (programs.with_dict, programs.in_branches, programs.aux_is_an_intermediate):
        gradient, aux = autodiffx.grad(f, has_aux=True)(a)
        if f is not programs.in_branches or abs(np.sum(a)) > 1e-3:  # not at the branch's edge
            np.testing.assert_allclose(gradient, numeric_gradient(value_only(f), a),
                                       rtol=1e-6, atol=1e-8)
        forward_gradient, forward_aux = autodiffx.grad(f, has_aux=True, mode="forward")(a)
        np.testing.assert_allclose(gradient, forward_gradient, rtol=1e-12, atol=1e-300)
        assert same(aux, f(a)[1])
        assert same(aux, forward_aux)


@settings(max_examples=25, deadline=None)
@given(a=values, scale=st.floats(-2.0, 2.0))
def test_two_arguments_and_value_and_grad(a, scale):
    b = np.full_like(a, scale)
    f = programs.with_nested
    (value, aux), (da, db) = autodiffx.value_and_grad(f, wrt=(0, 1), has_aux=True)(a, b)
    assert value == pytest.approx(f(a, b)[0])
    assert same(aux, f(a, b)[1])
    np.testing.assert_allclose(da, numeric_gradient(lambda x: f(x, b)[0], a), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(db, numeric_gradient(lambda y: f(a, y)[0], b), rtol=1e-6,
                               atol=1e-8)


def test_the_generated_code_differentiates_the_value_only():
    gradient = autodiffx.grad(programs.aux_is_an_intermediate, has_aux=True)
    gradient(np.array([0.5, -1.0]))
    code = autodiffx.source(gradient)
    assert "def pullback(dloss):" in code
    assert "return (loss, h), pullback" in code
    # the same function without has_aux returns a pair, which grad refuses
    with pytest.raises(autodiffx.AutodiffError):
        autodiffx.grad(programs.aux_is_an_intermediate)(np.array([0.5, -1.0]))


def test_a_function_that_returns_no_pair_is_refused_clearly():
    with pytest.raises(autodiffx.UnsupportedSyntaxError, match="return a pair"):
        autodiffx.grad(programs.not_a_pair, has_aux=True)(np.ones(2))
