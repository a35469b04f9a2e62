"""Writes into a differentiated argument's memory made by code the function calls as it is.

A function may call code of the user's that takes no differentiated value, and which
neither mode differentiates: a function passed as an argument, a helper in the closure, a
bound method, a ``functools.partial``, a callable object, a chain of global functions. When
that code writes into a global (or closure) array that *is* the differentiated argument,
NumPy's function sees the write through the argument's other name. Neither mode follows
it: reverse mode's lines read the written values but no derivative accounts for the write;
forward mode reads memory of its own. Each mode must refuse such a call (an
``ArgumentError``), and differentiate the same program when the argument is a separate
array, or when the code only reads the shared memory: then the gradient is the one central
differences give.
"""

from __future__ import annotations

import functools
import linecache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.errors import ArgumentError
from tests.higher.numeric import numeric_gradient

MODES = ["reverse", "forward"]
START = np.array([1.0, 2.0, 3.0])
STORE = START.copy()  # the global the writers write into; a test may pass it as x


def _poke():
    STORE[0] = 10.0


def _peek():
    return float(STORE[0])  # reads the global, writes nothing


class _Holder:
    def __init__(self):
        self.w = START.copy()

    def poke(self):
        self.w[0] = 10.0

    def __call__(self):
        self.w[0] = 10.0


def _write_into(a):
    a[0] = 10.0


class _Model:
    """An object whose method writes into a global (``model.reset()``)."""

    def reset(self):
        self._clear()

    def _clear(self):  # reached through self, not a global name
        STORE[0] = 10.0


MODEL = _Model()


def _object_argument(x, model):
    v = x[:2]
    model.reset()
    return np.sum(v * v)


def _global_object(x):
    v = x[:2]
    MODEL.reset()
    return np.sum(v * v)


def _poke_row(row):
    STORE[0] = 10.0
    return 0.0


def _applied(x):
    v = x[:2]
    np.apply_along_axis(_poke_row, 0, np.ones((2, 2)))
    return np.sum(v * v)


def _mapped(x):
    v = x[:2]
    list(map(_poke_row, [1.0, 2.0]))
    return np.sum(v * v)


@functools.cache
def _cached_poke(key):
    STORE[0] = 10.0
    return key


def _cached(x):
    v = x[:2]
    _cached_poke.cache_clear()
    _cached_poke(1)
    return np.sum(v * v)


def _listed_step(x, steps):
    v = x[:2]
    steps[0]()
    return np.sum(v * v)


def _closure_helper():
    """``(f, array)``: ``f`` calls a helper defined beside it that writes into ``array``."""
    array = START.copy()

    def helper():
        array[0] = 10.0

    def f(x):
        v = x[:2]
        helper()
        return np.sum(v * v)

    return f, array


def _closure_list():
    """``(f, array)``: ``f`` calls a helper that writes into ``array`` through a list in its
    closure."""
    held = [START.copy()]

    def helper():
        held[0][0] = 10.0

    def f(x):
        v = x[:2]
        helper()
        return np.sum(v * v)

    return f, held[0]


def _passed(writer):
    """``(f, args after x)`` for an ``f`` that calls ``writer``, passed as an argument."""
    def f(x, step):
        v = x[:2]
        step()
        return np.sum(v * v)

    return f, (writer,)


def _global_chain(depth: int):
    """An ``f`` calling ``_poke`` through ``depth`` global functions (defined in a fresh
    namespace, each calling the next by its global name)."""
    space = {"np": np, "_poke": _poke}
    source = [f"def call_{i}():\n    call_{i + 1}()\n" for i in range(depth)]
    source.append(f"def call_{depth}():\n    _poke()\n")
    source.append("def f(x):\n    v = x[:2]\n    call_0()\n    return np.sum(v * v)\n")
    text = "\n".join(source)
    filename = f"<chain {depth}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), space)  # noqa: S102
    return space["f"]


def _cases():
    """``(name, f, the array written, the arguments after x)``."""
    holder = _Holder()
    other = _Holder()
    closure_f, closure_array = _closure_helper()
    list_f, list_array = _closure_list()
    return [
        ("function argument", _passed(_poke)[0], STORE, (_poke,)),
        ("bound method argument", _passed(holder.poke)[0], holder.w, (holder.poke,)),
        ("callable object argument", _passed(other)[0], other.w, (other,)),
        ("partial argument", _passed(functools.partial(_write_into, STORE))[0], STORE,
         (functools.partial(_write_into, STORE),)),
        ("method of an object argument", _object_argument, STORE, (_Model(),)),
        ("method of a global object", _global_object, STORE, ()),
        ("function in a list argument", _listed_step, STORE, ([_poke],)),
        ("np.apply_along_axis of a global function", _applied, STORE, ()),
        ("map of a global function", _mapped, STORE, ()),
        ("an lru_cache function", _cached, STORE, ()),
        ("closure helper", closure_f, closure_array, ()),
        ("closure list", list_f, list_array, ()),
        ("global chain, 2 deep", _global_chain(2), STORE, ()),
        ("global chain, 12 deep", _global_chain(12), STORE, ()),
    ]


CASES = _cases()


@pytest.fixture(autouse=True)
def _fresh_arrays():
    for _, _, array, _ in CASES:
        array[...] = START
    yield
    for _, _, array, _ in CASES:
        array[...] = START


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_a_write_into_the_argument_through_another_name_is_refused(case, mode):
    _, f, array, rest = case
    assert f(START.copy(), *rest) != f(array, *rest)  # NumPy: the write reaches x
    array[...] = START
    with pytest.raises(ArgumentError, match="differentiated"):
        autodiffx.grad(f, mode=mode)(array, *rest)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_a_separate_argument_is_differentiated(case, mode):
    _, f, array, rest = case
    x = np.array([0.5, -1.5, 2.0])
    expected = numeric_gradient(lambda z: f(z, *rest), x)
    array[...] = START
    got = autodiffx.grad(f, mode=mode)(x, *rest)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    assert array[0] == 10.0  # the code ran, and wrote where it writes
    np.testing.assert_array_equal(x, [0.5, -1.5, 2.0])


@pytest.mark.parametrize("mode", MODES)
def test_code_that_only_reads_the_shared_memory_is_differentiated(mode):
    def f(x, look):
        v = x[:2]
        return np.sum(v * v) * look()

    STORE[...] = START
    got = autodiffx.grad(f, mode=mode)(STORE, _peek)
    # x is STORE, but look() only reads it: each name its own derivative (look() is a
    # constant to both modes, as to central differences of a separate x)
    expected = numeric_gradient(lambda z: f(z, _peek), STORE.copy())
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(STORE, START)


@settings(max_examples=30, deadline=None)
@given(depth=st.integers(0, 12), shared=st.booleans(), mode=st.sampled_from(MODES))
def test_chains_of_any_depth(depth, shared, mode):
    f = _global_chain(depth)
    STORE[...] = START
    x = STORE if shared else np.array([0.25, 4.0, -1.0])
    if shared:
        with pytest.raises(ArgumentError, match="differentiated"):
            autodiffx.grad(f, mode=mode)(x)
        return
    expected = numeric_gradient(f, x)
    np.testing.assert_allclose(autodiffx.grad(f, mode=mode)(x), expected, rtol=1e-6,
                               atol=1e-8)


def test_reverse_mode_calls_a_function_argument_that_takes_no_differentiated_value():
    def f(x, scale):
        c = scale()
        return np.sum(x * x) * c

    x = np.array([0.5, -1.5, 2.0])
    expected = numeric_gradient(lambda z: f(z, lambda: 3.0), x)
    np.testing.assert_allclose(autodiffx.grad(f)(x, lambda: 3.0), expected, rtol=1e-6)


def test_reverse_mode_says_why_it_cannot_follow_a_function_argument():
    def f(x, act):
        return np.sum(act(x))

    with pytest.raises(autodiffx.AutodiffError, match="act is a function passed in"):
        autodiffx.grad(f)(np.ones(3), np.tanh)
    # forward mode runs it as it is
    np.testing.assert_allclose(autodiffx.grad(f, mode="forward")(np.zeros(3), np.tanh),
                               np.ones(3))


def test_reverse_mode_says_why_it_cannot_call_a_name_bound_to_a_function():
    def f(x, act):
        act = act if act is not None else np.tanh
        return np.sum(act(x))

    with pytest.raises(autodiffx.AutodiffError, match="a call of act, a name the function "
                       "binds to a function as it runs"):
        autodiffx.grad(f)(np.ones(3), None)


@pytest.mark.parametrize("mode", MODES)
def test_a_write_into_an_argument_not_differentiated_is_seen_or_refused(mode):
    """Fuzzer seed 22223, index 2962: ``v`` (not differentiated) is the global a helper
    writes into, and ``np.sum(v)`` is read before and after the call. Reverse mode
    computed it once, before the write (a value computed once and used twice), and gave the
    gradient of another program. The program as it runs, with ``v`` the global, is the one
    to differentiate, or the call is refused."""
    def f(x, v):
        c0 = x * (0.5 * np.sum(v))
        r = v[1:]
        _poke()
        return c0 + np.sum(np.sin(r)) * np.sum(v) * x

    def as_it_runs(x):
        STORE[...] = START
        return f(x, STORE)

    expected = (as_it_runs(0.7 + 1e-6) - as_it_runs(0.7 - 1e-6)) / 2e-6
    STORE[...] = START
    try:
        value, got = autodiffx.value_and_grad(f, mode=mode)(0.7, STORE)
    except ArgumentError:
        assert mode == "reverse"  # forward mode passes v as it is, as NumPy does
        return
    assert value == pytest.approx(as_it_runs(0.7), rel=1e-12)
    assert got == pytest.approx(expected, rel=1e-6)
