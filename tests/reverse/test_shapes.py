"""Code made for the arguments' shapes (autodiffx/reverse/shapes.py).

The shape analysis is checked against the shapes NumPy gives when the function runs, its
assumption about elementwise rules against every such rule, and the code it makes against
central differences and against the rank-generic code, on broadcasting hypothesis draws.
"""

import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx import reverse
from autodiffx.reverse import emit, ir, shapes
from autodiffx.reverse.normalize import Normalizer
from autodiffx.reverse.source import parse_function
from autodiffx.rules import registry

from .test_gradients import check


def views_and_reductions(x, W, b):
    a = x.T
    c = a[:, None]
    d = np.sum(x, axis=0, keepdims=True)
    e = np.reshape(x, (-1,))
    g = np.expand_dims(b, 0)
    k = np.transpose(W)
    m = W.sum(1)
    n = x[0]
    o = x[1:, ::2]
    p = np.mean(x)
    q = np.dot(W, b)
    r = np.outer(b, b)
    s = np.max(W, axis=-1)
    t = W @ b + q
    v = b @ W.T
    w = np.squeeze(g)
    y = x[..., -1]
    return np.sum(a) + np.sum(c) + np.sum(d) + np.sum(e) + np.sum(k) + np.sum(m) + np.sum(
        n) + np.sum(o) + p + np.sum(r) + np.sum(s) + np.sum(t) + np.sum(v) + np.sum(w) + (
        np.sum(y))


def broadcasting(x, y, z):
    a = x * y
    b = np.tanh(a + z)
    c = b - np.mean(b, axis=0)
    return np.sum(c * c) + np.sum(x)


def loop_and_branch(x, y):
    h = x
    for _ in range(2):
        h = np.tanh(h * y)
    if np.sum(h) > 0:
        k = h[0]
    else:
        k = h[1:2]
    return np.sum(k) + np.sum(h)


def recorded_locals(f, *args):
    """The local names of one call of ``f`` and the shapes of their final values."""
    found = {}

    def tracer(frame, event, arg):
        if frame.f_code is f.__code__ and event == "return":
            found.update({k: np.shape(v) for k, v in frame.f_locals.items()
                          if isinstance(v, (np.ndarray, float, np.generic))})
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        f(*args)
    finally:
        sys.settrace(previous)
    return found


def inferred(f, *args):
    source = parse_function(f)
    normalizer = Normalizer(source, ir.Namer(set()))
    statements = normalizer.run()
    argument_shapes = [np.shape(a) if isinstance(a, np.ndarray) and a.ndim else None
                       for a in args]
    return shapes.infer(statements, normalizer.params, argument_shapes)


dims = st.integers(1, 4)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 4), m=dims, k=dims)
def test_inferred_shapes_are_the_shapes_numpy_gives(n, m, k):
    rng = np.random.default_rng(n * 100 + m * 10 + k)
    args = (rng.normal(size=(n, m)), rng.normal(size=(k, m)), rng.normal(size=m))
    actual = recorded_locals(views_and_reductions, *args)
    found = inferred(views_and_reductions, *args)
    user_names = set(actual) - {"x", "W", "b"}
    assert user_names <= set(found), user_names - set(found)
    for name in actual:
        assert found[name] == actual[name], name


def test_names_bound_to_two_shapes_or_in_loops_are_not_known():
    x, y = np.ones((3, 2)), np.ones(2)
    found = inferred(loop_and_branch, x, y)
    assert "k" not in found  # h[0] in one branch, h[1:2] in the other
    assert found.get("h") == (3, 2)  # bound to one shape everywhere, loop or not
    assert "_" not in found


def test_unknown_arguments_give_unknown_results():
    found = inferred(broadcasting, np.ones((3, 2)), None, np.ones(2))
    assert "a" not in found and "b" not in found
    assert found["x"] == (3, 2)


def _elementwise_calls():
    for rule in registry.all_rules():
        if rule.elementwise:
            for primitive in rule.primitives:
                if primitive not in shapes.NOT_BROADCASTING:
                    yield pytest.param(primitive, len(rule.params), id=rule.name)


def test_builtin_max_and_min_are_not_taken_to_broadcast():
    """``max(x, 0.5)`` returns one of its operands, whose shape depends on the values."""

    def f(x):
        return np.sum(max(x, 0.5) * x)

    found = inferred(f, np.ones(1))
    assert found["x"] == (1,)
    assert not any("max" in name for name in found)
    for value in (np.array([0.2]), np.array([0.9])):
        check(f, [value], wrt=(0,))


@pytest.mark.parametrize(("primitive", "arity"), list(_elementwise_calls()))
def test_elementwise_rules_give_the_broadcast_shape(primitive, arity):
    """The analysis gives an elementwise rule's result the broadcast shape of its operands;
    every such rule must do that (a reduction or a view marked elementwise would not)."""
    layouts = [(3, 1), (1, 4), (4,)][:arity] if arity <= 3 else [(2, 1)] * arity
    operands = [np.full(shape, 0.4 + 0.1 * i) for i, shape in enumerate(layouts)]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            result = primitive(*operands)
        except (TypeError, ValueError) as error:  # integer-only arguments and the like
            pytest.skip(f"{primitive} does not take these operands: {error}")
    results = result if isinstance(result, tuple) else (result,)
    for item in results:
        assert np.shape(item) == np.broadcast_shapes(*layouts)


broadcastable = st.sampled_from([
    ((3, 4), (4,), (3, 1)),
    ((3, 1), (1, 4), (4,)),
    ((2, 3, 4), (3, 1), (1,)),
    ((4,), (3, 4), ()),
    ((2, 1, 4), (3, 1), (2, 3, 4)),
    ((5,), (5,), (5,)),
])


@settings(max_examples=30, deadline=None)
@given(layout=broadcastable, seed=st.integers(0, 2**16))
def test_code_for_shapes_agrees_with_differences_and_the_generic_code(layout, seed):
    rng = np.random.default_rng(seed)
    args = [rng.normal(size=shape) if shape else float(rng.normal()) for shape in layout]
    g = autodiffx.grad(broadcasting, wrt=(0, 1, 2))
    specialised = g(*args)
    check(broadcasting, args, wrt=(0, 1, 2))
    ranks = tuple(np.ndim(a) for a in args)
    generic = reverse.build(broadcasting, (0, 1, 2), ranks).function(*args)[1](1.0)
    for a, b, arg in zip(specialised, generic, args, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        assert np.shape(a) == np.shape(arg)


def test_the_code_for_shapes_sums_where_broadcasting_stretched():
    g = autodiffx.grad(broadcasting, wrt=(0, 1, 2))
    x, y, z = np.ones((3, 4)), np.ones(4), np.ones((3, 1))
    g(x, y, z)
    specialised = autodiffx.source(g, shapes=True)
    generic = autodiffx.source(g)
    assert "unbroadcast" in generic
    assert "unbroadcast" not in specialised
    assert "dy = np.sum(da * x, axis=0)" in specialised  # y (4,) under a (3, 4) product
    assert "dz = np.sum(da_plus_z, axis=1, keepdims=True)" in specialised  # z (3, 1)
    assert autodiffx.source(g, x, y, z, shapes=True) == specialised


def test_many_shapes_fall_back_to_the_rank_generic_code():
    def f(x):
        return np.sum(np.tanh(x) * x[0])

    g = autodiffx.grad(f)
    for n in range(1, emit.SHAPE_VARIANTS + 4):
        x = np.linspace(-1, 1, 2 * n).reshape(n, 2)
        check(f, [x], wrt=(0,))
        np.testing.assert_allclose(g(x), autodiffx.grad(f, mode="forward")(x), rtol=1e-12)
    families = [v for k, v in emit._shape_variants.items() if k[0] == id(f)]
    assert len(families) == 1 and len(families[0]) == emit.SHAPE_VARIANTS
