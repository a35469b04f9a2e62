"""Forward mode and memory that a differentiated argument shares with another name.

NumPy writes into the caller's memory, where every other name for it sees the write;
forward mode gives a differentiated argument memory of its own. Where that memory has
another name the function reads (another argument, a keyword argument, a global, a closure's
array), a write must be refused (autodiffx/forward/sharing.py), and reading without writing
must give each argument its own derivative, as central differences and reverse mode do.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.errors import ArgumentError, AutodiffError
from tests.higher.numeric import numeric_gradient

W = np.array([3.0, 1.0, 2.0, -0.5])


def _write(kind, a):
    """Write into ``a`` the way ``kind`` says (each a way NumPy code writes in place)."""
    if kind == "index":
        a[0] = 5.0
    elif kind == "slice view":
        v = a[1:3]
        v[0] = 5.0
    elif kind == "reshape view":
        a.reshape(2, 2)[0, 0] = 5.0
    elif kind == "augmented":
        a += 1.0
    elif kind == "out=":
        np.multiply(a, 2.0, out=a)
    elif kind == "sort":
        a.sort()
    elif kind == "fill":
        a.fill(2.0)
    elif kind == "ufunc.at":  # NumPy's ufunc.at writes even into a read-only array
        np.add.at(a, [0, 0], 1.0)
    else:
        raise AssertionError(kind)


WRITES = ["index", "slice view", "reshape view", "augmented", "out=", "sort", "fill",
          "ufunc.at"]


@pytest.mark.parametrize("kind", WRITES)
@pytest.mark.parametrize("written", ["x", "y"])
@pytest.mark.parametrize("wrt", [0, 1, (0, 1)])
def test_a_write_into_memory_two_arguments_share_is_refused(kind, written, wrt):
    def f(x, y):
        _write(kind, x if written == "x" else y)
        return np.sum(x * x * y)

    w = W.copy()
    with pytest.raises(ArgumentError, match="shares with argument"):
        autodiffx.value_and_grad(f, wrt=wrt, mode="forward")(w, w)
    np.testing.assert_array_equal(w, W)  # the caller's array was not written


@pytest.mark.parametrize("kind", ["index", "augmented", "out="])
def test_the_refusal_names_the_line_that_writes(kind):
    def f(x, y):
        _write(kind, y)
        return np.sum(x * y)

    with pytest.raises(ArgumentError) as raised:
        autodiffx.grad(f, mode="forward")(W, W)
    assert raised.value.location is not None
    assert raised.value.location.text.strip().startswith(("a[0] = 5.0", "a += 1.0",
                                                          "np.multiply(a, 2.0, out=a)"))


@pytest.mark.parametrize("views", [(slice(None), slice(None)), (slice(0, 3), slice(1, 4)),
                                   (slice(None, None, 2), slice(None))])
@pytest.mark.parametrize("wrt", [0, 1, (0, 1)])
def test_reading_memory_two_arguments_share_gives_each_its_own_derivative(views, wrt):
    def f(x, y):
        return np.sum(np.sin(x)) * np.sum(y * y) + np.sum(x[:2]) * y[0]

    base = W.copy()
    x, y = base[views[0]], base[views[1]]
    value, gradient = autodiffx.value_and_grad(f, wrt=wrt, mode="forward")(x, y)
    assert value == f(x.copy(), y.copy())
    indices = (wrt,) if isinstance(wrt, int) else wrt
    gradients = (gradient,) if isinstance(wrt, int) else gradient
    for index, got in zip(indices, gradients, strict=True):
        args = [x.copy(), y.copy()]

        def along(z, index=index, args=args):
            return f(*[z if i == index else a for i, a in enumerate(args)])

        np.testing.assert_allclose(got, numeric_gradient(along, args[index]), atol=1e-6)
    np.testing.assert_array_equal(base, W)
    reverse = autodiffx.grad(f, wrt=wrt, mode="reverse")(x, y)
    for a, b in zip(gradients, (reverse,) if isinstance(wrt, int) else reverse, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_keyword_argument_that_shares_memory_and_is_written_is_refused():
    def f(x, out=None):
        np.multiply(out, 2.0, out=out)
        return np.sum(x * out)

    w = W.copy()
    with pytest.raises(ArgumentError, match="keyword argument out"):
        autodiffx.grad(f, mode="forward")(w, out=w)
    np.testing.assert_array_equal(w, W)


G = W.copy()


def _writes_its_argument(x):
    x[0] = 5.0
    return np.sum(x * G)


def _writes_the_global(x):
    G[0] = 5.0
    return np.sum(x * G)


def _reads_the_global(x):
    return np.sum(x * G) + np.sum(np.tanh(G[1:]) * x[:3])


@pytest.mark.parametrize("f", [_writes_its_argument, _writes_the_global])
def test_a_write_into_an_argument_that_is_a_global_the_function_reads_is_refused(f):
    G[...] = W
    with pytest.raises(ArgumentError, match="the global G"):
        autodiffx.grad(f, mode="forward")(G)


def test_reading_a_global_that_is_the_argument_gives_the_argument_s_derivative():
    G[...] = W
    got = autodiffx.grad(_reads_the_global, mode="forward")(G)
    want = numeric_gradient(_reads_the_global, G.copy())
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_array_equal(G, W)


def _reads_g_in_a_helper(x):
    return np.sum(x * G)


def _writes_then_calls_the_helper(x):
    x[0] = 5.0
    return _reads_g_in_a_helper(x)


def test_a_global_a_called_function_reads_is_watched_too():
    G[...] = W
    with pytest.raises(ArgumentError, match="the global G"):
        autodiffx.grad(_writes_then_calls_the_helper, mode="forward")(G)
    np.testing.assert_array_equal(G, W)
    np.testing.assert_allclose(  # reading only: the argument's own derivative
        autodiffx.grad(_reads_g_in_a_helper, mode="forward")(G), W)


class Holder:
    def __init__(self, w):
        self.w = w


PARAMETERS = {"w": W.copy()}
HELD = Holder(W.copy())


def _writes_x_reads_parameters(x):
    x[0] = 5.0
    return np.sum(x * PARAMETERS["w"])


def _writes_held_reads_x(x):
    HELD.w[0] = 5.0
    return np.sum(x * x)


def _reads_parameters(x):
    return np.sum(x * PARAMETERS["w"] * HELD.w)


@pytest.mark.parametrize("f, shared", [(_writes_x_reads_parameters, "PARAMETERS"),
                                       (_writes_held_reads_x, "HELD")])
def test_an_array_inside_a_global_the_function_reads_is_watched(f, shared):
    PARAMETERS["w"][...] = W
    HELD.w[...] = W
    argument = PARAMETERS["w"] if shared == "PARAMETERS" else HELD.w
    with pytest.raises(ArgumentError, match=f"an array in the global {shared}"):
        autodiffx.grad(f, mode="forward")(argument)
    jvp_args = ((argument,), (np.ones(4),))
    PARAMETERS["w"][...] = W
    HELD.w[...] = W
    with pytest.raises(ArgumentError, match=f"an array in the global {shared}"):
        autodiffx.jvp(f, *jvp_args)  # (jvp's quick path hands such calls to push)


def test_reading_an_array_inside_a_global_that_is_the_argument_is_differentiated():
    PARAMETERS["w"][...] = W
    HELD.w[...] = W
    got = autodiffx.grad(_reads_parameters, mode="forward")(PARAMETERS["w"])
    np.testing.assert_allclose(got, W * W)


def test_a_closure_s_array_that_is_the_argument_is_watched():
    state = W.copy()

    def f(x):
        x *= 2.0
        return np.sum(x * state)

    with pytest.raises(ArgumentError, match="the global state"):
        autodiffx.grad(f, mode="forward")(state)
    np.testing.assert_array_equal(state, W)


def test_jvp_s_quick_path_refuses_too():
    def f(x, y):
        y[0] = 5.0
        return np.sum(x * x)

    w = W.copy()
    with pytest.raises(ArgumentError, match="shares with argument 1"):
        autodiffx.jvp(f, (w, w), (np.ones(4), np.zeros(4)))
    np.testing.assert_array_equal(w, W)
    value, tangent = autodiffx.jvp(lambda x, y: np.sum(x * y), (w, w),
                                   (np.ones(4), np.zeros(4)))
    assert (value, tangent) == (np.sum(W * W), np.sum(W))


@pytest.mark.parametrize("outer", ["hessian", "jacfwd of jacfwd", "jacfwd of grad"])
def test_nested_derivatives_refuse_the_write_with_the_same_reason(outer):
    def f(x, y):
        y[0] = 5.0
        return np.sum(x * x * x)

    make = {"hessian": lambda: autodiffx.hessian(f),
            "jacfwd of jacfwd": lambda: autodiffx.jacfwd(autodiffx.jacfwd(f)),
            "jacfwd of grad": lambda: autodiffx.jacfwd(autodiffx.grad(f, mode="forward"))}
    w = W.copy()
    with pytest.raises(ArgumentError, match="shares with argument 1"):
        make[outer]()(w, w)
    np.testing.assert_array_equal(w, W)


@pytest.mark.parametrize("wrap", [lambda a: [a], lambda a: ({"w": a},), Holder])
def test_an_array_inside_another_argument_is_watched(wrap):
    def reach(held):
        return held.w if isinstance(held, Holder) else (
            held[0]["w"] if isinstance(held, tuple) else held[0])

    def writes(x, held):
        reach(held)[0] = 5.0
        return np.sum(x * reach(held))

    def reads(x, held):
        return np.sum(x * x * reach(held))

    w = W.copy()
    with pytest.raises(ArgumentError, match="an array in argument 1"):
        autodiffx.grad(writes, mode="forward")(w, wrap(w))
    w[...] = W
    got = autodiffx.grad(reads, mode="forward")(w, wrap(w))
    want = numeric_gradient(lambda z: reads(z, wrap(W.copy())), W.copy())
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_array_equal(w, W)


@pytest.mark.parametrize("hidden", [False, True])
def test_an_argument_too_large_to_search_is_taken_as_shared(hidden):
    """Past the budget of objects searched, a write into the differentiated argument is
    refused, and so is a write through another name into its memory (its memory compared
    afterwards); reading is differentiated."""
    many = [np.ones(4) for _ in range(10_001)]
    w = W.copy()
    if hidden:
        many[-1] = w

    def reads(x, many):
        return np.sum(x * many[0])

    def writes_x(x, many):
        x[0] = 5.0
        return np.sum(x * many[0])

    def writes_other(x, many):
        many[-1][0] += 1.0
        return np.sum(x * many[0])

    np.testing.assert_allclose(autodiffx.grad(reads, mode="forward")(w, many), np.ones(4))
    with pytest.raises(ArgumentError, match="more than 10000 objects"):
        autodiffx.grad(writes_x, mode="forward")(w, many)
    np.testing.assert_array_equal(w, W)
    if hidden:
        with pytest.raises(ArgumentError, match="more than 10000 objects"):
            autodiffx.grad(writes_other, mode="forward")(w, many)
    else:  # the write reaches no memory of x: differentiated
        np.testing.assert_allclose(autodiffx.grad(writes_other, mode="forward")(w, many),
                                   np.ones(4))


def test_a_read_only_argument_of_the_user_keeps_numpy_s_own_error():
    def f(x, y):
        y[0] = 1.0
        return np.sum(x * x)

    frozen = W.copy()
    frozen.flags.writeable = False
    with pytest.raises(AutodiffError, match="read-only") as raised:
        autodiffx.grad(f, mode="forward")(W.copy(), frozen)
    assert "shares" not in str(raised.value)


@settings(max_examples=60, deadline=None)
@given(
    first=st.tuples(st.integers(0, 5), st.integers(1, 6)),
    second=st.tuples(st.integers(0, 5), st.integers(1, 6)),
    step=st.sampled_from([1, 2]),
    write=st.sampled_from([None, *WRITES[:5]]),
    wrt=st.sampled_from([0, 1, (0, 1)]),
)
def test_views_of_one_array_follow_numpy_or_are_refused(first, second, step, write, wrt):
    """Two views of one buffer, the function writing into one of them or not: forward mode
    gives NumPy's value and each argument's derivative, or refuses."""
    base = np.linspace(-1.0, 2.0, 12)
    x = base[first[0]:first[0] + 4 * step:step][:4]
    y = base[second[0]:second[0] + 4:1][:4]
    if x.shape != (4,) or y.shape != (4,):
        return

    def f(x, y):
        if write is not None:
            _write(write, y)
        return np.sum(np.sin(x) * y) + np.sum(x * x)

    want = f(*_aliased_copies(base, x, y))  # NumPy, on memory shared the same way
    shared = np.shares_memory(x, y)
    try:
        value, gradient = autodiffx.value_and_grad(f, wrt=wrt, mode="forward")(x, y)
    except ArgumentError:
        assert shared and write is not None  # refused only where a write meets sharing
        np.testing.assert_array_equal(base, np.linspace(-1.0, 2.0, 12))
        return
    assert value == want
    if write is None:
        np.testing.assert_array_equal(base, np.linspace(-1.0, 2.0, 12))


def _aliased_copies(base, x, y):
    """``x`` and ``y`` made again as views of a copy of ``base``, at the same offsets."""
    copy = base.copy()
    start = base.__array_interface__["data"][0]

    def again(view):
        offset = view.__array_interface__["data"][0] - start
        return np.ndarray(view.shape, view.dtype, copy, offset, view.strides)

    return again(x), again(y)


def test_a_default_that_is_the_argument_is_watched():
    default = W.copy()

    def f(x, y=default):
        y[0] = 5.0
        return np.sum(x * x)

    with pytest.raises(ArgumentError, match="a default value"):
        autodiffx.grad(f, mode="forward")(default)

    def g(x, y=default):  # read only: x's own derivative, y held
        return np.sum(x * x * y)

    default[...] = W
    np.testing.assert_allclose(autodiffx.grad(g, mode="forward")(default), 2 * W * W)


@pytest.mark.parametrize("by", ["position", "keyword"])
def test_an_argument_not_differentiated_is_written_in_a_copy(by):
    """Found by the fuzzer's "argument updated in place" construct: forward mode wrote into
    the caller's array of an argument it did not differentiate (reverse mode writes into a
    copy). The caller's arrays are never changed, and the gradient is the function's."""

    def f(m, v=None):
        v += 0.5 * v[0]  # (nothing differentiated stored in v)
        return np.sum(v * np.sin(m[0]))

    m, v = np.arange(6.0).reshape(2, 3) / 4, np.array([0.5, -1.0, 2.0])
    call = (lambda g: g(m, v=v)) if by == "keyword" else (lambda g: g(m, v))
    got = call(autodiffx.grad(f, mode="forward"))
    np.testing.assert_array_equal(v, [0.5, -1.0, 2.0])
    want = numeric_gradient(lambda z: f(z, v.copy()), m)
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(call(autodiffx.grad(f)), got, rtol=1e-10)


def _sin_times_square(a, b):
    return np.sum(np.sin(a) * b * b)


@pytest.mark.parametrize("how", ["hessian", "jacfwd of jacfwd", "closure"])
def test_second_order_reading_shared_memory_is_differentiated(how):
    """Found in the peer suite: at second order the arguments are Duals of Duals, and one
    array passed twice was refused at once (15 cases of test_binary_ops.py)."""
    x = np.array([0.3, -1.2, 2.0])
    if how == "hessian":
        got = autodiffx.hessian(_sin_times_square, mode="forward")(x, x)
    elif how == "jacfwd of jacfwd":
        got = autodiffx.jacfwd(autodiffx.jacfwd(_sin_times_square))(x, x)
    else:
        got = autodiffx.hessian(lambda a: _sin_times_square(a, x), mode="forward")(x)
    np.testing.assert_allclose(got, np.diag(-np.sin(x) * x * x), rtol=1e-12)


@pytest.mark.parametrize("written", ["a", "b", "a view of a"])
def test_second_order_writing_shared_memory_is_refused(written):
    def f(a, b):
        target = {"a": a, "b": b, "a view of a": a[1:]}[written]
        target[0] = 5.0
        return np.sum(a * a * b)

    x = np.array([0.3, -1.2, 2.0])
    for second in (autodiffx.jacfwd(autodiffx.jacfwd(f)),
                   autodiffx.jacfwd(lambda a, b: autodiffx.jacfwd(f, wrt=(0, 1))(a, b)[1]),
                   autodiffx.hessian(f, mode="forward")):
        with pytest.raises(ArgumentError, match="shares with argument 1"):
            second(x, x)
        np.testing.assert_array_equal(x, [0.3, -1.2, 2.0])


def test_arguments_not_differentiated_that_share_memory_are_copied_together():
    """Found by the aliased checks of the fuzzer (seed 77777): v a view of m, neither
    differentiated, and f writes into v and reads m. The write must reach m, as when f
    runs, and the caller's m must stay as it was: both are made again in one copy."""

    def f(x, v, m):
        v += np.mean(m)
        return np.sum(np.tanh(v) * x) + np.sum(m[0] ** 2) * x[0]

    x = np.array([0.5, -0.25, 1.0])
    m = np.arange(6.0).reshape(2, 3) / 6

    def plain(z):
        w = m.copy()
        return f(z, w[0], w)

    got = autodiffx.grad(f, mode="forward")(x, m[0], m)
    np.testing.assert_array_equal(m, np.arange(6.0).reshape(2, 3) / 6)
    np.testing.assert_allclose(got, numeric_gradient(plain, x), atol=1e-6)


def test_a_plain_argument_beside_a_dict_argument_is_not_written_into():
    """Fuzzer seed 11111, index 505: the search followed autodiffx's own wrapper for a dict
    argument, whose list of the call's arguments looked like a global holding ``v``; ``v``
    was then passed as it is and the function's write changed the caller's array."""
    def f(x, v, m, d):
        v -= np.mean(v)
        return np.sum(m * v) + np.sum(d["w"] * v)

    v = np.array([0.5, -1.0, 2.0])
    m = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]])
    d = {"w": np.array([0.3, 0.2, -0.1]), "b": 0.4}
    before = v.copy()
    got = autodiffx.grad(f, wrt=3, mode="forward")(0.5, v, m, d)
    np.testing.assert_array_equal(v, before)
    np.testing.assert_allclose(got["w"], before - np.mean(before), rtol=1e-12)
    assert got["b"] == 0.0
