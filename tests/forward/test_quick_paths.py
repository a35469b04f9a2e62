"""The quick paths of forward mode give what the general path gives, entry for entry.

``np.sum``, ``np.mean`` and ``np.expand_dims`` on a Dual, and views made by indexing or by a
rearranging function, skip :func:`~autodiffx.forward.dual.apply`'s general machinery (issue
15). Each is checked here against that machinery called directly with the same rule, to the
last bit, against NumPy for the value, and against central differences and reverse mode
for the derivative; views are also written through, to see that their tangent is still the
view of their base's tangent memory.
"""

from __future__ import annotations

import dataclasses
import operator
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiffx
from autodiffx.forward.dual import Dual, apply, new_level
from autodiffx.rules import defrule, registry
from tests.higher.numeric import numeric_gradient


def _dual(primal, tangent):
    return Dual(primal, tangent, new_level())


def _same(a, b):
    """Equal to the last bit (NaN where NaN), of the same type, shape and dtype."""
    assert type(a) is type(b), (type(a), type(b))
    assert np.shape(a) == np.shape(b) and np.result_type(a) == np.result_type(b)
    np.testing.assert_array_equal(a, b, strict=True)


@st.composite
def reductions(draw):
    """An array (float64 or complex128, NaN and inf included), k directions, and the axis
    and keepdims of a reduction over it."""
    dtype = draw(st.sampled_from([np.float64, np.complex128]))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
    elements = st.floats(-1e3, 1e3) if draw(st.booleans()) else st.floats(allow_nan=True)
    primal = draw(hnp.arrays(dtype, shape, elements=elements))
    k = draw(st.integers(1, 3))
    tangent = draw(hnp.arrays(dtype, (k, *shape), elements=st.floats(-1e3, 1e3)))
    rank = len(shape)
    axis = draw(st.one_of(
        st.none(),
        st.integers(-rank, rank - 1),
        st.lists(st.integers(0, rank - 1), unique=True, max_size=rank).map(tuple),
        st.lists(st.integers(-rank, -1), unique=True, min_size=1, max_size=rank).map(tuple),
    ))
    keywords = {} if axis is None and draw(st.booleans()) else {"axis": axis}
    if draw(st.booleans()):
        keywords["keepdims"] = draw(st.booleans())
    return primal, tangent, keywords


@settings(max_examples=150, deadline=None)
@given(case=reductions(), function=st.sampled_from([np.sum, np.mean]),
       as_method=st.booleans())
def test_sum_and_mean_agree_with_the_general_path_to_the_last_bit(case, function, as_method):
    primal, tangent, keywords = case
    x = _dual(primal, tangent)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of nothing
        if as_method:
            quick = getattr(x, function.__name__)(**keywords)
        else:
            quick = function(x, **keywords)
        general = apply(registry.require(function), function, (_dual(primal, tangent),),
                        dict(keywords))
        value = function(primal, **keywords)
    _same(quick.primal, value)
    _same(quick.primal, general.primal)
    _same(quick.tangent, general.tangent)


def test_mean_of_nothing_and_other_dtypes_take_the_general_path():
    empty = _dual(np.zeros((0, 3)), np.zeros((1, 0, 3)))
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        result = np.mean(empty, axis=0)
    assert np.isnan(result.primal).all() and (result.tangent == 0).all()
    single = _dual(np.arange(4, dtype=np.float32), np.ones((1, 4)))
    _same(np.mean(single).primal, np.mean(np.arange(4, dtype=np.float32)))


def test_a_bad_axis_is_numpys_error():
    x = _dual(np.ones((2, 3)), np.ones((1, 2, 3)))
    for call in (lambda: np.sum(x, axis=2), lambda: np.mean(x, axis=(0, 0)),
                 lambda: np.expand_dims(x, 3)):
        with pytest.raises((np.exceptions.AxisError, ValueError)):
            call()


def loss(W, b, u, X, Xc):
    """The NER loss (autodiffx.ner.model), whose forward mode takes the quick paths."""
    h = np.tanh(W @ X + np.expand_dims(b, 1))
    hc = np.tanh(W @ Xc + np.expand_dims(b, axis=-1))
    return np.mean(np.maximum(0.0, 1.0 - u @ h + u @ hc)) + 0.1 * np.sum(h * h, axis=0).mean()


def test_the_ner_loss_agrees_with_reverse_mode_and_central_differences():
    rng = np.random.default_rng(3)
    args = (rng.standard_normal((4, 6)), rng.standard_normal(4), rng.standard_normal(4),
            rng.standard_normal((6, 5)), rng.standard_normal((6, 5)))
    wrt = (0, 1, 2, 3, 4)
    forward = autodiffx.grad(loss, wrt=wrt, mode="forward")(*args)
    backward = autodiffx.grad(loss, wrt=wrt, mode="reverse")(*args)
    for i, (a, b) in enumerate(zip(forward, backward, strict=True)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        rest = list(args)

        def along(z, i=i, rest=rest):
            rest[i] = z
            return loss(*rest)

        np.testing.assert_allclose(a, numeric_gradient(along, args[i]), rtol=1e-5, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), data=st.data())
def test_expand_dims_is_a_view_of_the_input_and_of_its_tangent(shape, data):
    rank = len(shape) + 1
    axis = data.draw(st.integers(-rank, rank - 1))
    by_keyword = data.draw(st.booleans())
    rng = np.random.default_rng(0)
    primal, tangent = rng.standard_normal(shape), rng.standard_normal((2, *shape))
    if data.draw(st.booleans()):  # a complex value carries a complex tangent
        primal, tangent = primal + 1j * primal[::-1], tangent - 2j * tangent
    x = _dual(primal.copy(), tangent.copy())
    view = np.expand_dims(x, axis=axis) if by_keyword else np.expand_dims(x, axis)
    expected = np.expand_dims(primal, axis)
    assert view.primal.shape == expected.shape and view.primal.strides == expected.strides
    np.testing.assert_array_equal(view.tangent, np.expand_dims(tangent, axis % rank + 1))
    np.testing.assert_array_equal(primal, x.primal)  # the caller's arrays stay as they were
    view *= 3.0  # a write into the view is a write into x, tangent included
    np.testing.assert_array_equal(x.primal, 3.0 * primal)
    np.testing.assert_array_equal(x.tangent, 3.0 * tangent)
    x[...] = 0.0  # and a write into x is seen by the view
    assert not view.primal.any() and not view.tangent.any()
    assert primal.any()  # (the arrays given were not written into)


def test_writes_through_quick_views_follow_numpy():
    def f(x):
        m = np.reshape(x, (2, 3)) * 1.0
        column = np.expand_dims(m[:, 1], 1)
        column *= m[:, :1]
        m.T[0] += np.mean(m, axis=1)
        row = m[1]
        row[::-1] *= np.sum(m, axis=0, keepdims=False)
        return np.sum(m * m) + np.sum(column)

    x = np.array([0.3, -0.7, 1.1, 0.5, 0.2, -1.3])
    got = autodiffx.grad(f, mode="forward")(x)
    np.testing.assert_allclose(got, numeric_gradient(lambda z: float(f(z)), x), rtol=1e-5,
                               atol=1e-6)


def test_second_order_through_the_quick_paths():
    def f(x):
        return np.mean(np.expand_dims(x, 0) * np.sum(x * x, axis=-1))

    x = np.array([0.4, -1.2, 0.9])
    hessian = autodiffx.hessian(f, mode="forward")(x)
    rows = [numeric_gradient(lambda z, i=i: autodiffx.grad(f, mode="forward")(z)[i], x)
            for i in range(3)]
    np.testing.assert_allclose(hessian, np.array(rows), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(hessian, autodiffx.hessian(f)(x), rtol=1e-10, atol=1e-12)


def test_a_replaced_rule_is_used_instead_of_the_quick_path():
    original = registry.require(np.sum)
    doubled = registry.register(
        registry.Rule(name="sum", primitives=(np.sum,), params=original.params,
                      keywords=original.keywords,
                      tangents=(lambda t, ans, x, **k: 2.0 * original.tangents[0](t, ans, x, **k),),
                      adjoints=original.adjoints, rank=original.rank))
    try:
        result = np.sum(_dual(np.ones(3), np.ones((1, 3))))
        assert result.tangent.tolist() == [6.0]
    finally:
        registry.unregister(doubled)
        registry.register(original)
    assert np.sum(_dual(np.ones(3), np.ones((1, 3)))).tangent.tolist() == [3.0]


# --------------------------------------------------------------------------- maximum, minimum

_SPECIAL = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, np.nan, np.inf, -np.inf])


@st.composite
def pairs(draw):
    """Two broadcastable arrays (or numbers) with ties, NaN and infinities, and tangents."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    k = draw(st.integers(1, 2))
    values, tangents = [], []
    for shape in shapes.input_shapes:
        if shape == () and draw(st.booleans()):
            values.append(draw(_SPECIAL))  # a Python number, as in np.maximum(0.0, x)
        else:
            values.append(draw(hnp.arrays(np.float64, shape, elements=_SPECIAL)))
        tangents.append(draw(hnp.arrays(np.float64, (k, *shape), elements=st.one_of(
            st.floats(-3, 3), st.sampled_from([np.inf, np.nan])))))
    return values, tangents


@settings(max_examples=200, deadline=None)
@given(case=pairs(), function=st.sampled_from([np.maximum, np.minimum]))
def test_maximum_and_minimum_tangents_are_the_partials_times_t(case, function):
    """The tangent is t times the adjoint's partial, entry for entry (ties give half to
    each argument, NaN and infinities as the product gives them)."""
    (x, y), (tx, ty) = case
    wins = np.greater if function is np.maximum else np.less
    level = new_level()
    with np.errstate(invalid="ignore"):  # inf times 0, as the adjoint's product gives it
        result = function(Dual(x, tx, level), Dual(y, ty, level))
        one = function(x, Dual(y, ty, new_level()))
    rank = np.ndim(result.primal)
    pad = [t.reshape(t.shape[:1] + (1,) * (rank + 1 - t.ndim) + t.shape[1:]) for t in (tx, ty)]
    with np.errstate(invalid="ignore"):
        want = (pad[0] * (wins(x, y) + 0.5 * (x == y))
                + pad[1] * (wins(y, x) + 0.5 * (x == y)))
        np.testing.assert_array_equal(result.tangent, np.broadcast_to(want, result.tangent.shape))
        np.testing.assert_array_equal(result.primal, function(x, y))
    with np.errstate(invalid="ignore"):
        want = pad[1] * (wins(y, x) + 0.5 * (x == y))
    np.testing.assert_array_equal(one.tangent, np.broadcast_to(want, one.tangent.shape))


@pytest.mark.parametrize("function", [np.maximum, np.minimum])
def test_a_float32_tangent_stays_float32_at_a_tie_or_not(function):
    x = np.array([0.0, -2.0, 3.0], np.float32)
    t = np.array([[1.5, -1.0, 2.0]], np.float32)
    wins = np.greater if function is np.maximum else np.less
    for y in (np.float32(0.0), np.float32(-7.0)):  # a tie at the first entry, and none
        result = function(Dual(x, t, new_level()), y)
        assert result.tangent.dtype == np.float32
        want = t.astype(np.float64) * (wins(x, y) + 0.5 * (x == y))
        np.testing.assert_array_equal(result.tangent, want.astype(np.float32))


def test_a_relu_agrees_with_reverse_mode_at_ties_and_at_second_order():
    def f(x):
        return np.sum(np.maximum(0.0, x) * x + np.minimum(x, x[::-1]) ** 2)

    x = np.array([0.0, -1.0, 2.0, 0.0, 1.0])  # ties with 0 and with the reversed x
    forward = autodiffx.grad(f, mode="forward")(x)
    np.testing.assert_array_equal(forward, autodiffx.grad(f)(x))
    np.testing.assert_allclose(autodiffx.hessian(f, mode="forward")(x), autodiffx.hessian(f)(x),
                               rtol=1e-12)


# --------------------------------------------------------------------------- np.dot

_DOT_SHAPES = [((), ()), ((), (3,)), ((2, 3), ()), ((3,), (3,)), ((2, 3), (3,)),
               ((3,), (3, 2)), ((2, 3), (3, 4)), ((2, 2, 3), (3,)), ((3,), (2, 3, 2)),
               ((2, 2, 3), (3, 2))]


@settings(max_examples=100, deadline=None)
@given(shapes=st.sampled_from(_DOT_SHAPES), which=st.sampled_from(["x", "y", "both"]),
       complex_values=st.booleans(), k=st.integers(1, 3), as_method=st.booleans(),
       seed=st.integers(0, 2**16))
def test_dot_agrees_with_the_general_path_to_the_last_bit(shapes, which, complex_values, k,
                                                         as_method, seed):
    rng = np.random.default_rng(seed)

    def value(shape, *lead):
        v = rng.standard_normal((*lead, *shape))
        return v + 1j * rng.standard_normal(v.shape) if complex_values else v

    plain = [value(shape) for shape in shapes]
    if not shapes[0]:
        plain[0] = complex(plain[0]) if complex_values else float(plain[0])
    tangents = [value(shape, k) for shape in shapes]
    level = new_level()

    def operands():
        return [Dual(p, t, level) if which in (name, "both") else p
                for name, p, t in zip("xy", plain, tangents, strict=True)]

    x, y = operands()
    quick = x.dot(y) if as_method and isinstance(x, Dual) else np.dot(x, y)
    general = apply(registry.require(np.dot), np.dot, tuple(operands()), {})
    _same(quick.primal, np.dot(*plain))
    _same(quick.primal, general.primal)
    _same(quick.tangent, general.tangent)


def test_dot_inside_a_nested_derivative():
    def f(x):
        m = np.reshape(x, (2, 2))
        return np.dot(np.dot(x[:2], m * x[0]), x[2:] ** 2) + m.dot(x[1:3]).dot(x[::2])

    x = np.array([0.3, -1.1, 0.7, 2.0])
    hessian = autodiffx.hessian(f, mode="forward")(x)
    np.testing.assert_allclose(hessian, autodiffx.hessian(f)(x), rtol=1e-10)


# --------------------------------------------------------------------------- the paths taken


def test_the_common_operations_take_the_quick_paths(monkeypatch):
    """A loss's common operations never reach apply, and views of an array that owns its
    memory never work out their tangent from addresses (memory.tangent_view): if a change
    sent them back to the general machinery, this fails (the benchmarks would only slow)."""
    from autodiffx.forward import dual as dual_module

    level = new_level()
    x = Dual(np.array([0.5, -1.0, 2.0]), np.ones((2, 3)), level)
    y = Dual(np.array([1.0, 0.0, -3.0]), np.ones((2, 3)), level)
    m = Dual(np.arange(6.0).reshape(2, 3), np.ones((2, 2, 3)), level)

    def refuse(*args, **kwargs):
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(dual_module, "apply", refuse)
    monkeypatch.setattr(dual_module, "tangent_view", refuse)
    results = [x + y, x * 2.0, 1.0 - x, np.tanh(x), np.maximum(0.0, x), m @ x, x @ m.primal.T,
               np.sum(x), np.mean(m, axis=0), m.sum(axis=(0, 1), keepdims=True), x.mean(),
               np.expand_dims(x, 1), np.expand_dims(m, axis=-1), np.dot(m, x), x.dot(y),
               m[1], m[:, ::-1], x[None, 1:]]
    assert all(isinstance(result, Dual) for result in results)


# --------------------------------------------------------------------------- ufunc plans

_MULTIPLY_CALLS = {
    "x * y": lambda x, y: x * y,
    "y * x": lambda x, y: y * x,
    "ndarray * x": lambda x, y: np.asarray(y) * x,
    "np.multiply": lambda x, y: np.multiply(x, y),
    "x *= y": lambda x, y: _in_place_product(x, y),
}


def _in_place_product(x, y):
    x = x + 0.0  # (a copy of the caller's array, made without multiplying)
    x *= y
    return x


@pytest.mark.parametrize("call", list(_MULTIPLY_CALLS))
def test_every_way_into_a_ufunc_follows_a_replaced_and_a_removed_rule(call):
    """Each way a ufunc reaches forward mode takes the plan made from the rule registered
    now: the built-in one, a replacement (three times the product rule), none (refused),
    and the built-in one again."""
    product = _MULTIPLY_CALLS[call]
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])

    def tangent():
        return product(_dual(x, np.ones((1, 2))), y).tangent

    np.testing.assert_array_equal(tangent(), [[3.0, -1.0]])
    original = registry.require(np.multiply)
    tripled = defrule(
        np.multiply, "x y",
        tangents=(lambda t, ans, x, y: 3.0 * t * y, lambda t, ans, x, y: 3.0 * t * x),
        adjoints=("unbroadcast(3.0 * g * y, x)", "unbroadcast(3.0 * g * x, y)"),
        override=True)
    try:
        np.testing.assert_array_equal(tangent(), [[9.0, -3.0]])
        registry.unregister(tripled)
        with pytest.raises(autodiffx.MissingRuleError, match="multiply"):
            tangent()
    finally:
        registry.unregister(tripled)
        registry.register(original)
    np.testing.assert_array_equal(tangent(), [[3.0, -1.0]])


def test_dot_as_a_method_follows_a_replaced_rule():
    original = registry.require(np.dot)
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    assert _dual(x, np.ones((1, 2))).dot(y).tangent.tolist() == [2.0]
    doubled = registry.register(dataclasses.replace(
        original, tangents=tuple(lambda t, ans, x, y, rule=r: 2.0 * rule(t, ans, x, y)
                                 for r in original.tangents)))
    try:
        assert _dual(x, np.ones((1, 2))).dot(y).tangent.tolist() == [4.0]
        assert np.dot(_dual(x, np.ones((1, 2))), y).tangent.tolist() == [4.0]
    finally:
        registry.unregister(doubled)
        registry.register(original)
    assert np.dot(_dual(x, np.ones((1, 2))), y).tangent.tolist() == [2.0]


_QUICK_CALLS = {
    "np.sum": (np.sum, lambda x: np.sum(x)),
    "x.sum()": (np.sum, lambda x: x.sum()),
    "np.mean": (np.mean, lambda x: np.mean(x, axis=0)),
    "x.mean()": (np.mean, lambda x: x.mean(axis=0)),
    "np.expand_dims": (np.expand_dims, lambda x: np.expand_dims(x, 1)),
    "np.dot": (np.dot, lambda x: np.dot(x, np.ones(3))),
}


@pytest.mark.parametrize("call", list(_QUICK_CALLS))
def test_each_quick_path_gives_way_to_a_replaced_rule_and_comes_back(call):
    """A replaced rule is called (its tangent doubles the built-in one's; a view's tangent
    is the view of its input's tangent memory whatever the rule says), and once the
    built-in rule is back, the quick path is taken again."""
    function, quick = _QUICK_CALLS[call]

    def tangent():
        return np.ravel(quick(_dual(np.arange(3.0), np.ones((1, 3)))).tangent)

    before = tangent()
    original = registry.require(function)
    calls = []

    def doubled_rule(rule):
        def doubled(t, ans, *args, **keywords):
            calls.append(rule)
            return 2.0 * rule(t, ans, *args, **keywords)
        return doubled

    doubled = registry.register(dataclasses.replace(original, tangents=tuple(
        None if rule is None else doubled_rule(rule) for rule in original.tangents)))
    try:
        replaced = tangent()
        assert calls
        np.testing.assert_array_equal(replaced, before if function is np.expand_dims
                                      else 2.0 * before)
    finally:
        registry.unregister(doubled)
        registry.register(original)
    calls.clear()
    np.testing.assert_array_equal(tangent(), before)
    assert not calls


# --------------------------------------------------------------------------- ufuncs

_UFUNCS = [np.add, np.subtract, np.multiply, np.divide, np.maximum, np.tanh, np.negative,
           np.exp]
try:  # a unary ufunc whose rule holds for real values only (the scipy extra)
    from scipy.special import digamma
except ImportError:  # pragma: no cover - without the extra
    pass
else:
    _UFUNCS.append(digamma)
_KINDS = ["dual", "dual", "complex dual", "outer", "nested", "nested tangent", "array",
          "float", "int", "float64", "float32", "complex", "zero-d"]
"""The operands a ufunc may meet: a Dual of the innermost level (the quick path's), a Dual
of an outer level and ones holding a Dual as value or as tangent (two levels: the general
path), and plain values of every type the quick path takes or sends on."""
_PLAIN_KINDS = ("array", "float", "int", "float64", "float32", "complex")


def _operand(kind, shape, k, levels, rng):
    inner, outer = levels
    values = rng.uniform(0.5, 2.0, shape)
    if kind == "dual":
        return Dual(values, rng.standard_normal((k, *shape)), inner)
    if kind == "complex dual":
        return Dual(values - 0.5j, rng.standard_normal((k, *shape)) + 1j, inner)
    if kind == "outer":
        return Dual(values, rng.standard_normal((2, *shape)), outer)
    if kind == "nested":
        primal = Dual(values, rng.standard_normal((2, *shape)), outer)
        tangent = Dual(rng.standard_normal((k, *shape)), rng.standard_normal((2, k, *shape)),
                       outer)
        return Dual(primal, tangent, inner)
    if kind == "nested tangent":  # a plain value whose tangent an outer level differentiates
        tangent = Dual(rng.standard_normal((k, *shape)), rng.standard_normal((2, k, *shape)),
                       outer)
        return Dual(values, tangent, inner)
    if kind == "float":
        return 1.5
    if kind == "int":
        return 2
    if kind == "float64":
        return np.float64(0.75)
    if kind == "float32":
        return values.astype(np.float32)
    if kind == "complex":
        return values + 0.5j * values
    if kind == "zero-d":
        return Dual(np.array(1.25), rng.standard_normal((k,)), inner)
    return values


def _same_value(a, b):
    """Equal to the last bit, Duals level for level."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, Dual):
        assert a.level == b.level
        _same_value(a.primal, b.primal)
        _same_value(a.tangent, b.tangent)
        return
    assert np.shape(a) == np.shape(b) and np.result_type(a) == np.result_type(b)
    np.testing.assert_array_equal(a, b, strict=True)


@settings(max_examples=300, deadline=None)
@given(ufunc=st.sampled_from(_UFUNCS), kinds=st.tuples(*[st.sampled_from(_KINDS)] * 2),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       k=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_a_ufunc_call_agrees_with_the_general_path_to_the_last_bit(ufunc, kinds, shapes, k,
                                                                   seed):
    """NumPy's ufunc call on Duals (call_ufunc, which takes Duals of one level holding
    plain values, and sends the rest to apply) against apply, for one level and two, one
    direction and several, and every kind of plain operand."""
    arity = ufunc.nin
    if all(kind in _PLAIN_KINDS for kind in kinds[:arity]):  # (NumPy's own business)
        kinds = ("dual", *kinds[1:])
    levels = (new_level(), new_level())
    levels = levels[::-1]  # the inner level is the newer one

    def operands():
        rng = np.random.default_rng(seed)
        return tuple(_operand(kind, shape, k, levels, rng)
                     for kind, shape in zip(kinds[:arity], shapes.input_shapes, strict=False))

    with np.errstate(all="ignore"):
        try:
            general = apply(registry.require(ufunc), ufunc, operands(), {})
        except autodiffx.AutodiffError as refusal:  # complex values for np.maximum
            with pytest.raises(type(refusal)):
                ufunc(*operands())
            return
        quick = ufunc(*operands())
    _same_value(quick, general)


_OPERATORS = {
    "+": (operator.add, np.add), "-": (operator.sub, np.subtract),
    "*": (operator.mul, np.multiply), "/": (operator.truediv, np.divide),
    "**": (operator.pow, np.power), "%": (operator.mod, np.remainder),
    "//": (operator.floordiv, np.floor_divide),
}


@settings(max_examples=300, deadline=None)
@given(symbol=st.sampled_from(list(_OPERATORS)),
       kinds=st.tuples(*[st.sampled_from(_KINDS)] * 2),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       k=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_an_operator_agrees_with_the_general_path_to_the_last_bit(symbol, kinds, shapes, k,
                                                                  seed):
    """The operators of a Dual (``x * y``, ``2.0 - x``) call call_binary directly, without
    NumPy's protocol: against apply, for one level and two, one direction and several, and
    every kind of plain operand, on either side."""
    operation, ufunc = _OPERATORS[symbol]
    if kinds[0] in _PLAIN_KINDS and kinds[1] in _PLAIN_KINDS:  # (NumPy's own business)
        kinds = (kinds[0], "dual")
    levels = (new_level(), new_level())[::-1]

    def operands():
        rng = np.random.default_rng(seed)
        return tuple(_operand(kind, shape, k, levels, rng)
                     for kind, shape in zip(kinds, shapes.input_shapes, strict=True))

    with np.errstate(all="ignore"):
        try:
            general = apply(registry.require(ufunc), ufunc, operands(), {})
        except (autodiffx.AutodiffError, TypeError) as refusal:
            with pytest.raises(type(refusal)):
                operation(*operands())
            return
        quick = operation(*operands())
    _same_value(quick, general)


@pytest.mark.parametrize("kind", [k for k in _KINDS if k not in _PLAIN_KINDS])
@pytest.mark.parametrize("operation, ufunc", [(operator.neg, np.negative),
                                              (operator.abs, np.absolute),
                                              (np.tanh, np.tanh), (np.exp, np.exp)])
def test_a_unary_operation_agrees_with_the_general_path_to_the_last_bit(kind, operation,
                                                                        ufunc):
    """``-x``, ``abs(x)`` and ``np.tanh(x)`` (call_unary) against apply, for every kind of
    Dual: one level, an outer one, nested, complex, 0-d."""
    levels = (new_level(), new_level())[::-1]

    def operand():
        return _operand(kind, (2, 3), 2, levels, np.random.default_rng(7))

    general = apply(registry.require(ufunc), ufunc, (operand(),), {})
    _same_value(operation(operand()), general)


@pytest.mark.parametrize("shapes", [((3, 4), (4,)), ((4,), (4, 2)), ((2, 3), (3, 2)),
                                    ((3,), (3,)), ((2, 2, 3), (3, 2))])
@pytest.mark.parametrize("kinds", [("dual", "dual"), ("dual", "array"), ("array", "dual"),
                                   ("dual", "outer"), ("outer", "dual"), ("nested", "dual"),
                                   ("complex dual", "dual")])
def test_a_product_agrees_with_the_general_path_to_the_last_bit(shapes, kinds):
    """``x @ y`` (call_binary with the matmul rule's two tangents) against apply."""
    levels = (new_level(), new_level())[::-1]

    def operands():
        rng = np.random.default_rng(3)
        return tuple(_operand(kind, shape, 2, levels, rng)
                     for kind, shape in zip(kinds, shapes, strict=True))

    general = apply(registry.require(np.matmul), np.matmul, operands(), {})
    x, y = operands()
    _same_value(x @ y, general)


# --------------------------------------------------------------------------- np.tanh


@settings(max_examples=200, deadline=None)
@given(dtype=st.sampled_from([np.float64, np.float32, np.complex128]),
       tangent_dtype=st.sampled_from([None, np.float64, np.float32]),
       shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), k=st.integers(1, 3),
       data=st.data())
def test_tanh_tangent_is_the_formula_to_the_last_bit(dtype, tangent_dtype, shape, k, data):
    """np.tanh's tangent rule computes t * (1 - ans ** 2) in one array when it can (one
    direction, one dtype): the same bits as the expression, in the dtype the expression
    gives, and a new array, never the tangent or value it was given, nor memory they
    share; with several directions or two dtypes, the expression itself."""
    from autodiffx.rules.numpy_rules import _tanh_tangent

    elements = st.floats(-30, 30, width=32)
    x = data.draw(hnp.arrays(dtype, shape, elements=elements))
    t = data.draw(hnp.arrays(tangent_dtype or dtype, (k, *shape), elements=elements))
    ans = np.tanh(x)
    kept = (t.copy(), ans.copy())
    tangent = _tanh_tangent(t, ans, x)
    want = t * (1 - ans ** 2)
    assert type(tangent) is np.ndarray and tangent.dtype == want.dtype
    np.testing.assert_array_equal(tangent, want, strict=True)
    assert not np.may_share_memory(tangent, t) and not np.may_share_memory(tangent, ans)
    np.testing.assert_array_equal(t, kept[0])
    np.testing.assert_array_equal(ans, kept[1])


def test_tanh_through_forward_mode_nested_and_against_reverse_mode():
    """The rule on Duals: a JVP (one direction, the one-array path) and a Hessian (the
    rule on values that are Duals themselves, the expression's path), against reverse
    mode and central differences."""
    def f(x):
        return np.sum(np.tanh(x * x) * x)

    x = np.array([0.3, -1.2, 2.0, 0.0])
    v = np.array([1.0, -0.5, 0.25, 2.0])
    value, tangent = autodiffx.jvp(f, (x,), (v,))
    assert value == f(x)
    np.testing.assert_allclose(tangent, autodiffx.grad(f)(x) @ v, rtol=1e-13)
    np.testing.assert_allclose(tangent, numeric_gradient(f, x) @ v, rtol=1e-6)
    np.testing.assert_allclose(autodiffx.hessian(f, mode="forward")(x),
                               autodiffx.hessian(f)(x), rtol=1e-12)


def test_a_ufunc_call_without_a_dual_is_numpys_plain_result():
    """call_binary and call_unary reached with plain values only (NumPy's own business,
    which apply gives back as NumPy computes it): no Dual, and no error."""
    from autodiffx.forward.dual import call_binary, call_ufunc, call_unary

    x, y = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    for quick, plain in ((call_binary(np.add, x, 1.0), x + 1.0),
                         (call_binary(np.matmul, x, y), x @ y),
                         (call_unary(np.tanh, x), np.tanh(x)),
                         (call_ufunc(np.multiply, (2.0, y)), 2.0 * y)):
        _same_value(quick, plain)
