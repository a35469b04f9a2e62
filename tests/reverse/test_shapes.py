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
    # da = da_plus_z is read as da_plus_z
    assert "dy = np.sum(da_plus_z * x, axis=0)" in specialised  # y (4,) under (3, 4)
    assert "dz = row_sums(da_plus_z)" in specialised  # z (3, 1): each row's sum
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


# ---------------------------------------------------------------------------- lifetimes


def two_products(x, A, B):
    p = x @ A
    q = x @ B
    return np.sum(np.tanh(p) * q) + np.sum(x @ A.T)


def shared_cotangent(x, W):
    h = np.tanh(W @ x)
    k = h * 2.0
    return np.sum(h * k) + np.sum(W @ h)


def layered(W1, W2, X):
    z = W1 @ X
    h = np.tanh(z)
    y = W2 @ h
    e = np.tanh(y)
    return np.sum(e * e) + np.sum(z)


LARGE = (200, 100)  # 160 KB of float64: large enough to be let go after its last use


@pytest.mark.parametrize("f", [two_products, shared_cotangent, layered])
@pytest.mark.parametrize("batch", [3, 100])
def test_code_that_accumulates_in_place_and_lets_go_is_right(f, batch):
    rng = np.random.default_rng(batch)
    if f is two_products:
        args = [rng.normal(size=(batch, 100)), rng.normal(size=(100, 100)) / 10,
                rng.normal(size=(100, 100)) / 10]
    elif f is shared_cotangent:
        args = [rng.normal(size=(100, batch)), rng.normal(size=(100, 100)) / 10]
    else:
        args = [rng.normal(size=(200, 100)) / 10, rng.normal(size=(200, 200)) / 10,
                rng.normal(size=(100, batch))]
    wrt = tuple(range(len(args)))
    kept = [np.copy(a) for a in args]
    specialised = autodiffx.grad(f, wrt=wrt)(*args)
    ranks = tuple(np.ndim(a) for a in args)
    generic = reverse.build(f, wrt, ranks).function(*args)[1](1.0)
    for a, b in zip(specialised, generic, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    # a directional derivative by central differences, along a random direction
    directions = [rng.normal(size=np.shape(a)) for a in args]
    step = 1e-6
    ahead = f(*[a + step * d for a, d in zip(args, directions, strict=True)])
    behind = f(*[a - step * d for a, d in zip(args, directions, strict=True)])
    along = sum(np.sum(g * d) for g, d in zip(specialised, directions, strict=True))
    np.testing.assert_allclose(along, (ahead - behind) / (2 * step), rtol=1e-6)
    for a, b in zip(args, kept, strict=True):
        np.testing.assert_array_equal(a, b)  # the user's arrays are never written


def test_large_arrays_are_let_go_and_sums_accumulate_in_the_code_for_their_shapes():
    from autodiffx.ner.model import max_margin_loss

    def problem(batch):
        rng = np.random.default_rng(batch)
        return (rng.normal(size=(100, 250)) / 10, rng.normal(size=100),
                rng.normal(size=100), rng.normal(size=(250, batch)),
                rng.normal(size=(250, batch)))

    g = autodiffx.grad(max_margin_loss, wrt=(0, 1, 2, 3, 4))
    g(*problem(1))
    small = autodiffx.source(g, shapes=True)
    g(*problem(512))
    large = autodiffx.source(g, shapes=True)
    assert "del " not in small  # arrays of a few hundred bytes: nothing to gain
    for line in ("del z\n", "del dh\n", "del dz_c\n"):
        assert line in large
    for text in (small, large):
        assert "dW += np.dot(dz, X.T)" in text
        assert "dz = dh * (1 - h ** 2)" in text  # the lecture's delta, still
        assert "z = W @ X + expand_dims_b_1" in text  # the user's line, as written
    assert "dW = dW + " in autodiffx.source(g)  # the rank-generic code is unchanged


def scorer(W, u, X):
    h = np.tanh(W @ X)
    return np.sum(u @ h) + np.sum(W @ X) + np.sum(h @ X.T)


def test_forward_mode_around_the_code_for_shapes_is_right():
    """Forward over reverse with one argument a dual number and the others plain arrays:
    the plain ones give the code their shapes, and contributions that are dual numbers
    must not be added into a plain array in place."""
    rng = np.random.default_rng(3)
    W, u, X = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(3, 5))
    V = rng.normal(size=W.shape)

    def gradient_of_u(W):
        return autodiffx.grad(scorer, wrt=(0, 1, 2))(W, u, X)[1]

    _, along = autodiffx.jvp(gradient_of_u, (W,), (V,))
    step = 1e-6
    expected = (gradient_of_u(W + step * V) - gradient_of_u(W - step * V)) / (2 * step)
    np.testing.assert_allclose(along, expected, rtol=1e-6, atol=1e-8)


def test_a_dual_number_in_a_closure_keeps_sums_out_of_place():
    """All arguments plain, but the function closes over a dual number (a gradient taken
    inside a forward-mode evaluation): ``dx = W.T @ dz`` then ``dx = dx + a * dout`` must
    not add a dual number into the plain array in place."""
    rng = np.random.default_rng(4)
    W, x = rng.normal(size=(6, 5)), rng.normal(size=5)

    def gradient_at(a):
        def f(x, W):
            return np.sum(a * x) + np.sum(np.tanh(W @ x))

        return autodiffx.grad(f, wrt=(0, 1))(x, W)[0]

    def plain(x, W):
        return np.sum(0.7 * x) + np.sum(np.tanh(W @ x))

    assert "dx += " in autodiffx.source(autodiffx.grad(plain, wrt=(0, 1)), x, W, shapes=True)
    _, along = autodiffx.jvp(gradient_at, (0.7,), (1.0,))
    step = 1e-6
    expected = (gradient_at(0.7 + step) - gradient_at(0.7 - step)) / (2 * step)
    np.testing.assert_allclose(along, expected, rtol=1e-6, atol=1e-8)


SCALE = 2.0


def scaled(x, y):
    return np.sum(np.tanh(x * y) * SCALE)


def test_calls_like_the_last_one_reuse_its_code_and_still_check_everything():
    """grad's repeated-call path (the same layout of plain float arguments as the last
    call) against central differences, with other dtypes, kinds, shapes and a rebound
    global in between."""
    global SCALE
    g = autodiffx.grad(scaled, wrt=(0, 1))
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(3, 2)), rng.normal(size=2)
    for _ in range(2):
        check(scaled, [x, y], wrt=(0, 1), forward=False)
        first = g(x, y)
    again = g(x.astype(np.float32), y.astype(np.float32))
    assert again[0].dtype == np.float32
    np.testing.assert_allclose(again[0], first[0], rtol=1e-5)
    with pytest.raises(autodiffx.AutodiffError, match="complex"):
        g(x + 0.5j, y)  # a complex value out: refused, on this path too
    np.testing.assert_allclose(g(x, y)[0], first[0])
    SCALE = 3.0
    try:
        np.testing.assert_allclose(g(x, y)[0], first[0] * 1.5)
    finally:
        SCALE = 2.0
    np.testing.assert_allclose(g(x, y)[0], first[0])
    with pytest.raises(autodiffx.AutodiffError):
        g(x, np.ones(3))  # shapes that do not broadcast: NumPy's error, at the user's line


def expanded_first(x, y):
    a = np.expand_dims(x, 0)
    return np.sum(np.tanh(a * y)) + np.sum(np.sum(a * y, axis=0, keepdims=True) ** 2)


def expanded_last(x, y):
    a = np.expand_dims(x, 2)
    return np.sum(np.tanh(a * y)) + np.sum(np.sum(a * y, axis=1) ** 2)


def expanded_negative(x, y):
    a = np.expand_dims(x, -2)
    return np.sum(np.tanh(a * y)) + np.sum(np.sum(a * y, axis=-1, keepdims=True) ** 2)


@pytest.mark.parametrize("f", [expanded_first, expanded_last, expanded_negative])
def test_expand_dims_by_indexing_is_the_same_view(f):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 2))
    axis = {expanded_first: 0, expanded_last: 2, expanded_negative: -2}[f]
    y = rng.normal(size=np.expand_dims(x, axis).shape)
    g = autodiffx.grad(f, wrt=(0, 1))
    g(x, y)
    forward_sweep = autodiffx.source(g, shapes=True).split("def pullback")[0]
    assert "\n    a = np.expand_dims" not in forward_sweep and "\n    a = x[" in forward_sweep
    check(f, [x, y], wrt=(0, 1))


def test_results_are_the_callers_own_arrays():
    """grad hands back each gradient as an array the caller may write into without
    touching another result, an argument or anything the library keeps: a reshaped view
    of an array nothing else holds is kept as it is, any other view is copied."""
    from autodiffx import api

    def made():
        total = np.ones((3, 1))
        return np.reshape(total, (3,))

    alone = made()
    shared = np.zeros((2, 3))
    args = [np.ones(3), np.ones(3), np.ones(3), np.ones(3)]
    results = api._owned([alone, shared[0], shared[1], args[3]], args, (0, 1, 2, 3))
    assert results[0] is alone  # a view of all of an array no one else refers to
    assert results[1] is not shared[0] and results[2] is not shared[1]
    assert all(r.base is None or r is alone for r in results[1:3])
    for result in results:
        result += 1.0
    np.testing.assert_array_equal(shared, 0.0)
    part = np.ones(4)[1:]  # a view of part of an array: copied, not to keep the rest
    assert api._owned([part], [np.ones(3)], (0,))[0] is not part


def reshaped_bias(W, b, X):
    return np.sum(np.tanh(W @ X + np.expand_dims(b, 1)))


def test_a_reshaped_gradient_is_handed_back_uncopied_and_is_the_callers():
    rng = np.random.default_rng(7)
    W, b, X = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(4, 5))
    g = autodiffx.grad(reshaped_bias, wrt=(0, 1, 2))
    first = g(W, b, X)
    second = g(W, b, X)
    check(reshaped_bias, [W, b, X], wrt=(0, 1, 2))
    for a, c in zip(first, second, strict=True):
        assert not np.shares_memory(a, c)
        np.testing.assert_array_equal(a, c)
    first[1][:] = 7.0  # writing into one result changes nothing else
    np.testing.assert_array_equal(g(W, b, X)[1], second[1])


def threaded(W, x):
    h = np.tanh(W @ x)
    return np.sum(h * h) + np.sum(W @ x)


def test_threads_calling_one_gradient_with_several_shapes_get_their_own_answers():
    """Threads share one gradient function, its last-call shortcut and the cache of code
    for shapes; each must get the gradient of its own arguments."""
    import threading

    rng = np.random.default_rng(8)
    problems = [(rng.normal(size=(4, 3)), rng.normal(size=(3, batch)))
                for batch in (1, 2, 5, 2, 9, 1)]
    g = autodiffx.grad(threaded, wrt=(0, 1))
    expected = [reverse.build(threaded, (0, 1), (2, 2)).function(*p)[1](1.0)
                for p in problems]
    failures = []

    def worker(offset):
        for step in range(60):
            index = (offset + step) % len(problems)
            got = g(*problems[index])
            for mine, theirs in zip(got, expected[index], strict=True):
                if mine.shape != theirs.shape or not np.allclose(mine, theirs, rtol=1e-12):
                    failures.append((offset, step))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads between almost every few bytecodes
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not failures
