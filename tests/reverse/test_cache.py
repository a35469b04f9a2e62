"""Caching, thread safety and the visibility of generated code."""

import gc
import inspect
import linecache
import threading
import tracemalloc
import weakref

import numpy as np
import pytest

import autodiffx
from autodiffx import reverse
from autodiffx.reverse import emit


def test_eight_threads_build_once(monkeypatch):
    def f(x):
        return np.sum(np.sin(x) ** 2)

    def g(x):
        return np.sum(np.cos(x) * x)

    built = []
    original = emit.generate

    def counting(function, wrt, ranks, *kinds):
        built.append(function)
        return original(function, wrt, ranks, *kinds)

    monkeypatch.setattr(emit, "generate", counting)
    barrier = threading.Barrier(8)
    results = [None] * 8

    def work(position):
        barrier.wait()
        function = f if position % 2 else g
        results[position] = autodiffx.grad(function)(np.arange(3.0))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(fn.__name__ for fn in built) == ["f", "g"]
    x = np.arange(3.0)
    for position, result in enumerate(results):
        expected = 2 * np.sin(x) * np.cos(x) if position % 2 else np.cos(x) - x * np.sin(x)
        np.testing.assert_allclose(result, expected)


def test_generated_code_is_visible_to_inspect():
    def f(x):
        return np.tanh(x) * 3.0

    generated = reverse.build(f, (0,), (0,))
    assert inspect.getsource(generated.function) in generated.source
    assert generated.filename.startswith("<autodiffx-generated")


def test_source_of_follows_last_call_and_examples():
    def f(W, x):
        return np.sum(W @ x)

    g = autodiffx.grad(f, wrt=(0, 1))
    assert "np.ndim" in reverse.source_of(g)
    g(np.ones((2, 3)), np.ones(3))
    assert "np.outer" in reverse.source_of(g)
    assert "np.outer" in autodiffx.source(g, np.ones((2, 3)), np.ones(3))


def test_verbose_prints_the_source(capsys):
    def f(x):
        return x * x

    autodiffx.grad(f, verbose=True)(3.0)
    assert "def f_vjp(x):" in capsys.readouterr().out


# --------------------------------------------------------------------------- bounded cache

def _generated_names() -> set[str]:
    return {name for name in linecache.cache if name.startswith("<autodiffx-generated")}


@pytest.fixture
def generated_lines():
    """How many generated modules have lines in linecache that the test added (modules
    that other tests made outside the cache, with emit.generate, are not the test's)."""
    before = _generated_names()
    return lambda: len(_generated_names() - before)


def _closure(scale):
    def f(x):
        return np.sum(scale * np.sin(x))

    return f


def test_closures_that_die_leave_no_entry_memory_or_linecache_lines(generated_lines):
    emit.clear_cache()
    x = np.linspace(-1.0, 1.0, 3)

    def differentiate(count, offset):
        for position in range(count):
            scale = 1.0 + offset + position
            gradient = autodiffx.grad(_closure(scale))(x)
            if position % 50 == 0:
                np.testing.assert_allclose(gradient, scale * np.cos(x))
        gc.collect()
        emit.build(_closure(0.0), (0,), (1,))  # purges the entries of collected functions
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        # the first closures fill caches of fixed size (CPython's method cache, parsed
        # rules, tracemalloc's own table of file names): measure the growth after them, in
        # three rounds. Memory kept for each closure grows in every round; a cache that
        # fills (or anything else the process does meanwhile) shows in one round only.
        held = differentiate(60, 0)
        growths = []
        for round_ in range(3):
            after = differentiate(200, 60 + 200 * round_)
            growths.append((after - held) / 200)
            held = after
    finally:
        tracemalloc.stop()
    assert len(emit._cache) <= 2
    assert len(emit._last_call) <= 2
    assert generated_lines() <= 2
    # about 7 KB per closure when every entry was kept; well under 1 KB now
    assert min(growths) < 1500, growths


def test_the_cache_is_bounded_least_recently_used_first(generated_lines):
    emit.clear_cache()
    previous = emit.set_cache_size(10)
    try:
        keep = _closure(7.0)
        functions = [_closure(float(i)) for i in range(30)]
        x = np.array([0.25, 0.5])
        for f in functions:
            autodiffx.grad(f)(x)
            autodiffx.grad(keep)(x)  # used every time: never the least recent
            assert len(emit._cache) <= 10
        assert generated_lines() <= 10
        assert emit.last_call(keep) is not None
        # the oldest were evicted, with their lines; built again they are right
        assert all(emit._cache.get((id(f), (0,), (1,))) is None for f in functions[:20])
        np.testing.assert_allclose(autodiffx.grad(functions[0])(x), 0.0 * np.cos(x))
        np.testing.assert_allclose(autodiffx.grad(functions[3])(x), 3.0 * np.cos(x))
    finally:
        emit.set_cache_size(previous)
    with pytest.raises(ValueError):
        emit.set_cache_size(0)


def test_clear_cache_removes_the_linecache_lines(generated_lines):
    f = _closure(2.0)
    generated = reverse.build(f, (0,), (1,))
    assert generated.filename in linecache.cache
    emit.clear_cache()
    assert generated.filename not in linecache.cache
    assert generated_lines() == 0
    assert emit.last_call(f) is None
    np.testing.assert_allclose(autodiffx.grad(f)(np.zeros(2)), [2.0, 2.0])


def test_the_cache_does_not_keep_the_function_alive():
    f = _closure(3.0)
    g = autodiffx.grad(f)
    g(np.ones(2))
    autodiffx.source(g)
    reference = weakref.ref(f)
    del f, g
    gc.collect()
    assert reference() is None
