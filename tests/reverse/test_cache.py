"""Caching, thread safety and the visibility of generated code."""

import inspect
import threading

import numpy as np

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

    def counting(function, wrt, ranks):
        built.append(function)
        return original(function, wrt, ranks)

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
