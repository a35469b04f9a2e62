"""``jvp``'s generated code (:mod:`autodiffx.reverse.jvp`): right where it runs, and
declined (dual numbers) where it does not cover the function.

Each function is checked three ways: the generated JVP against the dual numbers' (the same
call with the generated path off), against central differences along the tangent, and, for
the lecture's loss, against the closed form. Each test also says which path ran, so that a
test of the generated code cannot pass by falling back.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiffx
from autodiffx import AutodiffError, jvp, jvp_source
from autodiffx.ner.model import max_margin_loss
from autodiffx.reverse import jvp as generated

STEP = 1e-6


def dual_jvp(f, primals, tangents):
    previous = generated.enable(False)
    try:
        return jvp(f, primals, tangents)
    finally:
        generated.enable(previous)


def central(f, primals, tangents):
    def at(sign):
        moved = [p + sign * STEP * t if isinstance(p, np.ndarray) else p + sign * STEP * t
                 for p, t in zip(primals, tangents, strict=True)]
        return np.asarray(f(*moved), dtype=float)
    return (at(1) - at(-1)) / (2 * STEP)


def check(f, primals, tangents, written=True, tolerance=1e-6):
    """The generated JVP (which must run, or must not, as ``written`` says) against dual
    numbers and central differences."""
    assert (generated.code_for(f, primals, tangents) is not None) is written
    value, tangent = jvp(f, primals, tangents)
    dual_value, dual_tangent = dual_jvp(f, primals, tangents)
    np.testing.assert_allclose(value, dual_value, rtol=1e-13)
    np.testing.assert_allclose(tangent, dual_tangent, rtol=1e-10, atol=1e-12)
    assert type(value) is type(dual_value) and type(tangent) is type(dual_tangent)
    assert np.shape(tangent) == np.shape(dual_tangent)
    np.testing.assert_allclose(tangent, central(f, primals, tangents), rtol=tolerance,
                               atol=tolerance)
    return value, tangent


def arrays(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(shape) for shape in shapes)


# --------------------------------------------------------------------------- the lecture


def test_the_lecture_s_loss_runs_generated_code_with_the_closed_form_tangent():
    rng = np.random.default_rng(3)
    W, b, u = rng.standard_normal((6, 10)) * 0.3, rng.standard_normal(6), rng.standard_normal(6)
    X, X_c = rng.standard_normal((10, 5)), rng.standard_normal((10, 5))
    primals = (W, b, u, X, X_c)
    tangents = arrays(*(p.shape for p in primals), seed=4)
    _, tangent = check(max_margin_loss, primals, tangents)
    # the lecture: ds = du·h + u·(f'(z) ∘ dz), dz = dW x + W dx + db, f' = 1 − h²
    dW, db, du, dX, dX_c = tangents

    def score_tangent(X, dX):
        h = np.tanh(W @ X + b[:, None])
        return du @ h + u @ ((1 - h ** 2) * (dW @ X + W @ dX + db[:, None]))

    margin = 1 - u @ np.tanh(W @ X + b[:, None]) + u @ np.tanh(W @ X_c + b[:, None])
    expected = np.mean((margin > 0) * (score_tangent(X_c, dX_c) - score_tangent(X, dX)))
    assert tangent == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", ["score", "logistic_loss", "max_margin_loss"])
@pytest.mark.parametrize("batch", [1, 7])
def test_each_of_the_lecture_s_functions(name, batch):
    from autodiffx.ner import model

    f = getattr(model, name)
    rng = np.random.default_rng(batch)
    W, b, u = rng.standard_normal((6, 10)) * 0.3, rng.standard_normal(6), rng.standard_normal(6)
    X = rng.standard_normal((10, batch))
    last = rng.standard_normal((10, batch)) if name == "max_margin_loss" else (
        rng.integers(0, 2, batch).astype(float))
    primals = (W, b, u, X, last) if name != "score" else (W, b, u, X)
    tangents = tuple(rng.standard_normal(np.shape(p)) for p in primals)
    check(f, primals, tangents)


def test_the_lecture_s_loss_reads_as_the_lecture():
    primals = (np.ones((2, 3)), np.zeros(2), np.ones(2), np.ones((3, 4)), np.ones((3, 4)))
    text = jvp_source(max_margin_loss, primals, primals)
    assert "dh = dz * (1 - h ** 2)" in text
    assert "dz = dW @ X + W @ dX + dexpand_dims_b_1" in text
    assert "ds = du @ h + u @ dh" in text
    assert "np.heaviside(tmp, 0.5)" in text
    compile(text, "<jvp>", "exec")


# --------------------------------------------------------------------------- constructs


def loop_accumulates(x, n_steps):
    total = 0.0
    for k in range(3):
        total = total + np.sum(x ** (k + 1)) * n_steps
    return total


def rebinds_its_operand(x):
    x = np.sin(x)
    x = np.sin(x) * x
    return np.sum(x)


def branches_on_a_value(x):
    if np.sum(x) > 0:
        y = np.exp(x)
    else:
        y = 2.0
    return np.sum(y * x)


def while_loop(x):
    y = x
    k = 0
    while k < 4:
        y = np.tanh(y) + x
        k = k + 1
    return np.mean(y)


def broadcast_of_the_only_differentiated(b, M):
    z = M + b
    return np.sum(z ** 2)


def constant_result(x):
    return 3.0


def identity(x):
    return x


def with_default(x, scale=2.0):
    return np.sum(scale * x ** 2)


def shapes_and_axes(x):
    y = np.reshape(x, (3, 2)).T
    z = np.sum(y, axis=1, keepdims=True)
    return np.expand_dims(z, 0)[0] * np.transpose(x)[0]


def updates_in_place(x):
    total = 0.0
    for i in range(3):
        total += np.sum(x ** i)
    y = x * 2.0
    y *= x
    return total + np.sum(y)


def test_updates_in_place_of_a_number_and_of_an_array_the_function_made():
    check(updates_in_place, arrays((3,)), arrays((3,), seed=1))


def writes_into_its_argument(x):
    x *= 2.0
    return np.sum(x ** 2)


def test_an_update_in_place_of_an_argument_runs_on_dual_numbers():
    x, t = arrays((3,), (3,))
    kept = x.copy()
    check(writes_into_its_argument, (x,), (t,), written=False)
    np.testing.assert_array_equal(x, kept)


def test_a_loop_accumulating_into_a_number():
    check(loop_accumulates, (np.array([0.3, -1.2, 0.7]), 2.0), (np.array([1.0, 0.5, -2.0]),
                                                                0.25))


def test_a_name_rebound_to_a_function_of_itself():
    check(rebinds_its_operand, arrays((4,)), arrays((4,), seed=1))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_each_branch_and_a_constant_in_one(sign):
    check(branches_on_a_value, (sign * np.array([0.5, 1.5]),), (np.array([1.0, -1.0]),))


def test_a_while_loop():
    check(while_loop, arrays((3,)), arrays((3,), seed=2))


def test_the_tangent_of_a_broadcast_operand_has_the_value_s_shape():
    check(broadcast_of_the_only_differentiated, (np.array([1.0, 2.0]), np.ones((3, 2))),
          (np.array([0.5, -1.0]), np.zeros((3, 2))))


def test_a_result_without_a_derivative():
    value, tangent = check(constant_result, arrays((3,)), arrays((3,), seed=1))
    assert tangent == 0.0


def test_the_caller_s_arrays_are_neither_returned_nor_changed():
    x, t = arrays((3,), (3,))
    kept = x.copy(), t.copy()
    value, tangent = check(identity, (x,), (t,))
    assert tangent is not t and not np.shares_memory(tangent, t)
    tangent[0] = 99.0
    np.testing.assert_array_equal(t, kept[1])
    np.testing.assert_array_equal(x, kept[0])


def test_a_parameter_left_to_its_default_and_one_given():
    check(with_default, arrays((3,)), arrays((3,), seed=1))
    check(with_default, (np.ones(3), 0.5), (np.ones(3), 1.0))


def test_shape_operations_and_keywords():
    check(shapes_and_axes, arrays((2, 3)), arrays((2, 3), seed=1))


SCALE = np.array([1.0, 2.0, 3.0])


def reads_a_global(x):
    return np.sum(SCALE * x)


def test_a_global_rebound_between_calls_is_read_anew():
    global SCALE
    x, t = np.ones(3), np.array([1.0, 0.0, 0.0])
    assert jvp(reads_a_global, (x,), (t,))[1] == 1.0
    saved = SCALE
    try:
        SCALE = np.array([5.0, 2.0, 3.0])
        assert jvp(reads_a_global, (x,), (t,))[1] == 5.0
        SCALE[0] = 7.0  # written in place: the same array, read as it is now
        assert jvp(reads_a_global, (x,), (t,))[1] == 7.0
    finally:
        SCALE = saved


COUNTER = 0.0


def reads_a_changing_global(x):
    return np.sum(x * COUNTER)


def test_the_code_is_made_at_the_second_call_and_given_up_when_globals_keep_changing():
    global COUNTER
    f = types.FunctionType(reads_a_changing_global.__code__, globals())
    x, t = np.ones(2), np.array([1.0, 2.0])
    assert jvp(f, (x,), (t,))[1] == 0.0
    assert generated._cache[id(f)][1][((2,),)] == generated._SEEN  # a lambda in a loop
    # pays no transformation
    for step in range(1, 8):
        COUNTER = float(step)
        assert jvp(f, (x,), (t,))[1] == 3.0 * step  # each value as it is now
    assert generated.code_for(f, (x,), (t,)) is None  # remade three times, then dual numbers
    with pytest.raises(AutodiffError, match="changed 3 times"):
        jvp_source(f, (x,), (t,))


def test_a_function_s_code_and_its_text_go_with_it():
    import gc
    import linecache

    f = types.FunctionType(while_loop.__code__, globals())
    code = generated.code_for(f, arrays((3,)), arrays((3,), seed=1))
    filename, identity = code.filename, id(f)
    assert filename in linecache.cache and identity in generated._cache
    del f, code
    gc.collect()
    assert filename not in linecache.cache and identity not in generated._cache


_made = {}
exec("def cube(x):\n    return x * x * x\n", {}, _made)  # no source to read
CUBE = _made["cube"]


def sums_cubes(x):
    return np.sum(CUBE(x))


def test_a_decline_is_asked_again_once_a_rule_is_registered():
    from autodiffx.rules.registry import elementwise, unregister

    x, t = arrays((3,), (3,))
    assert generated.code_for(sums_cubes, (x,), (t,)) is None  # a call it cannot read
    rule = elementwise(CUBE, "3 * x ** 2")
    try:
        assert generated.code_for(sums_cubes, (x,), (t,)) is not None
        value, tangent = jvp(sums_cubes, (x,), (t,))
        assert tangent == pytest.approx(np.sum(3 * x ** 2 * t))
    finally:
        unregister(rule)
    assert generated.code_for(sums_cubes, (x,), (t,)) is None


# --------------------------------------------------------------------------- declined


def writes_into_a_copy(x):
    y = np.copy(x)
    y[0] = 2.0 * y[1]
    return np.sum(y ** 2)


def returns_a_pair(x):
    return np.sum(x), np.prod(x)


def draws(x):
    noise = np.random.default_rng(0).standard_normal(x.shape)
    return np.sum(x * noise)


@pytest.mark.parametrize(("f", "where"), [
    (writes_into_a_copy, "a write into an array"),
    (draws, "without a rule"),
])
def test_what_the_code_does_not_cover_runs_on_dual_numbers_and_says_why(f, where):
    primals, tangents = arrays((3,)), arrays((3,), seed=1)
    check(f, primals, tangents, written=False)
    with pytest.raises(AutodiffError, match=where) as raised:
        jvp_source(f, primals, tangents)
    assert raised.value.location is not None and raised.value.location.line > 0


def alias_then_update(x):
    v = x * 1.0
    w = v
    v *= 2.0
    return np.sum(w * x)


def view_then_update(x):
    v = x * 1.0
    w = v[:2]
    v *= 2.0
    return np.sum(w)


@pytest.mark.parametrize("f", [alias_then_update, view_then_update])
def test_an_update_in_place_seen_through_another_name_runs_on_dual_numbers(f):
    """The generated code writes ``v *= 2.0`` as ``v = v * 2.0``, which another name for
    v's memory would not see: the aliasing check refuses it, and the dual numbers run it."""
    primals, tangents = arrays((3,)), arrays((3,), seed=1)
    check(f, primals, tangents, written=False)
    with pytest.raises(AutodiffError, match="refused it"):
        jvp_source(f, primals, tangents)


def test_a_pair_of_results():
    primals, tangents = arrays((3,)), arrays((3,), seed=1)
    assert generated.code_for(returns_a_pair, primals, tangents) is not None
    value, tangent = jvp(returns_a_pair, primals, tangents)
    assert (value, tangent) == dual_jvp(returns_a_pair, primals, tangents)
    assert type(value) is tuple and type(tangent) is tuple
    assert tangent[0] == pytest.approx(np.sum(tangents[0]))
    assert tangent[1] == pytest.approx(np.prod(primals[0]) * np.sum(tangents[0] / primals[0]))


def inner(a, b, scale=2.0):
    return np.tanh(a) * b * scale


def calls_inner(x, y):
    z = inner(x, y)
    w = inner(z, 3.0, 0.5)
    return np.sum(w + inner(x, y, 1.0) * inner(y, x))


def test_calls_of_the_user_s_functions_with_defaults_and_constants():
    check(calls_inner, arrays((3,), (3,)), arrays((3,), (3,), seed=1))
    text = jvp_source(calls_inner, arrays((3,), (3,)), arrays((3,), (3,)))
    assert "z, dz = inner_jvp(x, y, dx, dy)" in text


def prints(x):
    print("called")
    return x * 2.0


def calls_one_that_prints(x):
    return np.sum(prints(x))


def test_a_call_of_a_function_that_prints_runs_on_dual_numbers(capsys):
    check(calls_one_that_prints, arrays((2,)), arrays((2,), seed=1), written=False)


COMPLEX = np.array([1.0 + 2.0j, 0.5 - 1.0j])


def spectrum(x):
    return np.sum(np.abs(np.fft.fft(x)))


def with_a_complex_global(x):
    return np.sum(np.abs(COMPLEX * x))


@pytest.mark.parametrize("f", [spectrum, with_a_complex_global])
def test_complex_values_inside_run_on_dual_numbers(f):
    """The inlined tangents are the real ones: d|z| is not t * np.sign(z) for complex z."""
    check(f, arrays((2,)), arrays((2,), seed=1), written=False)


def test_other_arguments_run_on_dual_numbers_and_the_source_says_so():
    assert generated.code_for(identity, (np.arange(3),), (np.ones(3),)) is None
    with pytest.raises(AutodiffError, match="float64"):
        jvp_source(identity, (np.arange(3),), (np.ones(3),))


def shape_mismatch(x, y):
    return np.sum(x * y)


def test_an_error_in_the_function_is_the_dual_numbers_error():
    with pytest.raises(Exception) as generated_error:
        jvp(shape_mismatch, arrays((3,), (4,)), arrays((3,), (4,)))
    with pytest.raises(Exception) as dual_error:
        dual_jvp(shape_mismatch, arrays((3,), (4,)), arrays((3,), (4,)))
    assert type(generated_error.value) is type(dual_error.value)
    assert str(generated_error.value) == str(dual_error.value)


# --------------------------------------------------------------------------- hypothesis


def mixed(x, y):
    z = np.tanh(x) * y + np.maximum(x, 0.0) - np.exp(-y ** 2)
    w = np.where(x > 0, z, x * 2.0)
    return np.mean(w * np.sqrt(1.0 + z ** 2))


@settings(max_examples=40, deadline=None)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
       seed=st.integers(0, 2 ** 32 - 1))
def test_random_shapes_and_values(shape, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-2, 2, shape), rng.uniform(-2, 2, shape)
    # keep clear of the kink of maximum(x, 0), where differences straddle it
    x = np.where(np.abs(x) < 1e-3, 0.5, x)
    primals = (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    if primals[0].ndim == 0:
        primals = tuple(float(p) for p in primals)
        tangents = (float(rng.standard_normal()), float(rng.standard_normal()))
    else:
        tangents = (rng.standard_normal(shape), rng.standard_normal(shape))
    # a new function for each example: one function has code for eight sets of shapes
    fresh = types.FunctionType(mixed.__code__, mixed.__globals__)
    check(fresh, primals, tangents, tolerance=1e-5)


def test_the_api_exports_the_source():
    assert autodiffx.jvp_source is jvp_source


def _central(f, primals, tangents, h=1e-6):
    ahead = f(*(p + h * t for p, t in zip(primals, tangents, strict=True)))
    behind = f(*(p - h * t for p, t in zip(primals, tangents, strict=True)))
    return (ahead - behind) / (2 * h)


def _dual(f, primals, tangents):
    previous = generated.enable(False)
    try:
        return autodiffx.jvp(f, primals, tangents)
    finally:
        generated.enable(previous)


# --------------------------------------------------------------------------- found by the
# fuzzer's check "jvp" (tests/fuzz/harness.py: check_jvp), branch fuzz-jvp


def abs_of_complex(v):
    return np.sum(np.real(np.abs(v + 0.5j) * (1 + 1j)))


def abs_of_complex_kind(v):
    return np.sum(np.abs((v + 0j) + 0.5) ** 2)


@pytest.mark.parametrize("f", [abs_of_complex, abs_of_complex_kind])
def test_complex_intermediates_are_not_inlined_as_real(f):
    """The tangent texts inlined are the rules' for real values: np.abs's ``t *
    np.sign(x)`` gave d|z| = dz z / |z| for a complex z (seed 11111, index 62: a complex
    tangent of a real value; with a complex factor after it, a wrong number)."""
    v = np.array([0.3, -1.2, 0.7])
    t = np.array([1.0, 0.5, -0.2])
    value, tangent = autodiffx.jvp(f, (v,), (t,))
    assert not np.iscomplexobj(tangent)
    assert tangent == pytest.approx(_central(f, (v,), (t,)), rel=1e-6)
    assert tangent == pytest.approx(_dual(f, (v,), (t,))[1], rel=1e-12)


def stack_of_a_list(x, m):
    a = np.stack([m, m * x], axis=-1)
    return np.sum(a ** 2)


def concatenate_of_a_list(x, v):
    return np.sum(np.concatenate([v, v * x]))


def builtin_sum(x, v):
    return sum(v) * x


def array_of_a_list(x, v):
    return np.sum(np.array([x, 2.0 * x])) + np.sum(v)


def interp_of_a_list(x, v):
    return np.interp(0.3, [0.0, 1.0], [x * 0.5 + v[2], x])


def test_joins_of_a_list_take_the_items_tangents():
    """np.stack and np.concatenate are linear in their arrays together: their tangent is
    the same join of the items' tangents (zeros for an item without one)."""
    x, m = 0.7, np.array([[0.1, 0.2, 0.3], [1.0, -0.5, 2.0]])
    check(stack_of_a_list, (x, m), (1.0, np.linspace(-1.0, 0.5, 6).reshape(2, 3)))
    check(concatenate_of_a_list, (x, m[0]), (0.5, np.array([1.0, 0.0, -2.0])))
    text = jvp_source(stack_of_a_list, (x, m), (1.0, m))
    assert "da = np.stack([dm, dm * x + dx * m], axis=-1)" in text


def test_an_array_made_from_a_list_is_refused_at_every_call():
    """Reverse mode reads np.array([x, 2.0 * x]) as np.stack, and so can the generated JVP
    (its code is right); the dual numbers refuse it (a conversion they cannot see into).
    jvp refuses it at the first call, and then at every later call too, not only at the
    first (a refusal of the dual numbers keeps the generated code from running)."""
    primals, tangents = (0.7, np.array([0.3, -1.2, 0.7])), (1.0, np.array([-1.0, 0.0, 0.5]))
    f = types.FunctionType(array_of_a_list.__code__, array_of_a_list.__globals__)
    code = generated.code_for(f, primals, tangents)
    assert code.function(*primals, *tangents)[1] == pytest.approx(
        _central(f, primals, tangents), rel=1e-6)
    g = types.FunctionType(array_of_a_list.__code__, array_of_a_list.__globals__)
    for _ in range(3):
        with pytest.raises(autodiffx.AutodiffError, match="plain NumPy array"):
            autodiffx.jvp(g, primals, tangents)
    assert generated.code_for(g, primals, tangents) is None


@pytest.mark.parametrize("f", [builtin_sum, interp_of_a_list])
def test_a_derivative_the_sweep_does_not_follow_is_declined(f):
    """A value with a tangent read inside a list (``np.stack([m, m * x])``), by a call
    without a rule (``np.interp``, ``np.array``) or through a rule without tangents
    (reverse mode's builtin ``sum``) gave its target no tangent: jvp returned 0 (or only
    the other operands' share) where the dual numbers give the derivative or refuse (seed
    11111: indexes 177, 249, 276 and three more)."""
    x = 0.7
    second = np.array([[0.1, 0.2, 0.3], [1.0, -0.5, 2.0]]) if f is stack_of_a_list else (
        np.array([0.3, -1.2, 0.7]))
    primals, tangents = (x, second), (1.0, np.linspace(-1.0, 0.5, second.size).reshape(
        second.shape))
    assert generated.code_for(f, primals, tangents) is None
    try:
        value, tangent = autodiffx.jvp(f, primals, tangents)
    except autodiffx.AutodiffError:
        return  # refused, as the dual numbers refuse np.array and np.interp of a list
    assert tangent == pytest.approx(_central(f, primals, tangents), rel=1e-6)
