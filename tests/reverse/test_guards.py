"""Globals and closure cells are read at call time (guards), and stale source is refused.

Each module under test is written to a temporary directory and imported, so that reverse
mode reads a real file and the test can rebind the module's globals (or edit the file).
"""

import importlib
import importlib.util
import sys
import textwrap
import threading

import numpy as np
import pytest
from higher.numeric import numeric_gradient as central
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.errors import AutodiffError, NoSourceError
from autodiffx.reverse import emit


def load(directory, name, text):
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """Load modules from ``tmp_path`` under unique names; count transformations."""
    counter = iter(range(1_000_000))
    names = []

    def loader(text, name=None):
        name = name or f"guarded_{id(tmp_path)}_{next(counter)}"
        names.append(name)
        return load(tmp_path, name, text)

    built = []
    original = emit.generate

    def counting(function, wrt, ranks, *kinds):
        built.append(function.__name__)
        return original(function, wrt, ranks, *kinds)

    monkeypatch.setattr(emit, "generate", counting)
    monkeypatch.syspath_prepend(str(tmp_path))
    loader.built = built
    yield loader
    for name in names:
        sys.modules.pop(name, None)


def check(f, x):
    """The reverse gradient of ``f`` at ``x`` against central differences and forward."""
    reverse = autodiffx.grad(f)(x)
    np.testing.assert_allclose(reverse, central(f, x), rtol=1e-6, atol=1e-8)
    # the two modes multiply in different orders: equal up to rounding, which for a
    # product that underflows (a weight of 5e-324) is an absolute difference of one subnormal
    np.testing.assert_allclose(reverse, autodiffx.grad(f, mode="forward")(x), rtol=1e-12,
                               atol=1e-300)
    return reverse


def test_a_rebound_float_is_read_at_call_time_without_transforming_again(modules):
    m = modules("""
        import numpy as np
        A = 2.0

        def f(x):
            return np.sum(A * x * x)
        """)
    x = np.array([0.5, -1.0])
    g = autodiffx.grad(m.f)
    np.testing.assert_allclose(g(x), 2 * 2.0 * x)
    for value in (3.0, -1.5, 3.0):
        m.A = value
        np.testing.assert_allclose(g(x), 2 * value * x)
        np.testing.assert_allclose(autodiffx.grad(m.f)(x), 2 * value * x)
        check(m.f, x)
    assert modules.built == ["f"]  # data: rebound, never transformed again


@settings(max_examples=25, deadline=None)
@given(st.floats(-10, 10), st.floats(-10, 10), st.floats(-3, 3))
def test_rebound_data_for_random_values(tmp_path_factory, a, b, x):
    directory = tmp_path_factory.mktemp("data")
    name = f"guarded_data_{abs(hash((a, b, x)))}"
    m = load(directory, name, """
        import numpy as np
        A = 1.0
        W = np.ones(2)

        def f(x):
            return np.sum(np.sin(A * x) * W)
        """)
    try:
        point = np.array([x, x / 2])
        check(m.f, point)
        m.A = a
        m.W = np.array([b, 1.0])
        check(m.f, point)
    finally:
        sys.modules.pop(name, None)


def test_a_rebound_function_regenerates_and_both_variants_are_kept(modules):
    m = modules("""
        import numpy as np
        act = np.tanh

        def f(x):
            return np.sum(act(x) * x)
        """)
    x = np.array([0.3, -0.7, 1.1])
    for act in (np.sin, np.tanh, np.sin, np.cos, np.tanh):
        m.act = act
        check(m.f, x)
    assert sorted(modules.built) == ["f", "f", "f"]  # tanh, sin, cos: once each


def test_a_rebound_closure_cell(modules):
    m = modules("""
        import numpy as np

        def make():
            scale = 2.0
            act = np.tanh

            def f(x):
                return np.sum(act(scale * x))

            def set_scale(value):
                nonlocal scale
                scale = value

            def set_act(value):
                nonlocal act
                act = value

            return f, set_scale, set_act
        """)
    f, set_scale, set_act = m.make()
    x = np.array([0.2, -0.4])
    check(f, x)
    set_scale(-3.0)
    check(f, x)
    set_act(np.sin)
    check(f, x)
    assert len(modules.built) == 2


def test_a_callees_global_and_a_global_shared_by_two_modules(modules):
    a = modules("""
        import numpy as np
        S = 2.0

        def inner(x):
            return S * x * x
        """, name="guarded_shared_a")
    b = modules("""
        import numpy as np
        from guarded_shared_a import S, inner

        def outer(x):
            return np.sum(inner(x) + S * x)
        """)
    assert a.S is b.S  # one object, one name in the generated namespace
    x = np.array([0.5, 2.0])
    np.testing.assert_allclose(check(b.outer, x), 2 * 2.0 * x + 2.0)
    a.S = 5.0  # inner reads 5.0 now, outer still 2.0
    np.testing.assert_allclose(check(b.outer, x), 2 * 5.0 * x + 2.0)
    b.S = 7.0
    np.testing.assert_allclose(check(b.outer, x), 2 * 5.0 * x + 7.0)


def test_a_rank_type_or_int_change_regenerates(modules):
    m = modules("""
        import numpy as np
        A = 2.0
        N = 2

        def f(x):
            return np.sum(A * x ** N)
        """)
    x = np.array([0.5, -1.5, 2.0])
    check(m.f, x)
    m.A = np.array([1.0, -2.0, 3.0])
    check(m.f, x)
    m.N = 3
    check(m.f, x)
    m.A = 4  # an int where an array was
    check(m.f, x)


def test_an_attribute_chain_on_a_user_module(modules):
    config = modules("""
        import numpy as np
        act = np.tanh
        scale = 2.0
        """, name="guarded_config")
    m = modules("""
        import numpy as np
        import guarded_config

        def f(x):
            return np.sum(guarded_config.act(x) * guarded_config.scale)
        """)
    x = np.array([0.1, 0.9])
    check(m.f, x)
    config.act = np.sin
    check(m.f, x)
    config.scale = -4.0
    check(m.f, x)


def test_a_global_defined_later_that_shadows_a_builtin(modules):
    m = modules("""
        import numpy as np

        def f(x):
            return np.sum(abs(x) * x)
        """)
    x = np.array([0.5, -2.0])
    check(m.f, x)
    m.abs = np.sin
    check(m.f, x)


def test_a_pullback_keeps_the_values_of_its_forward_sweep(modules):
    m = modules("""
        import numpy as np
        A = 2.0

        def f(x):
            return A * x * x
        """)
    value, pullback = autodiffx.vjp(m.f, 3.0)
    m.A = 10.0
    assert autodiffx.grad(m.f)(3.0) == pytest.approx(60.0)  # the rebound module
    assert value == pytest.approx(18.0)
    assert pullback(1.0)[0] == pytest.approx(12.0)  # the first call's A


def test_threads_see_a_consistent_module_while_a_global_is_rebound(modules):
    m = modules("""
        import numpy as np
        A = 1.0

        def f(x):
            return np.sum(A * x * x)
        """)
    x = np.arange(4.0)
    g = autodiffx.grad(m.f)
    g(x)
    errors = []
    stop = threading.Event()

    def work():
        while not stop.is_set():
            value, pullback = autodiffx.vjp(m.f, x)
            a = value / np.sum(x * x)  # the A this call's forward sweep used
            gradient = pullback(1.0)[0]
            if not np.allclose(gradient, 2 * a * x):
                errors.append((a, gradient))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for step in range(300):
        m.A = float(step % 7 + 1)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []


def test_an_edited_file_is_refused_until_reloaded(modules, tmp_path):
    name = "guarded_edited"
    m = modules("""
        import numpy as np

        def f(x):
            return np.sum(x * x)
        """, name=name)
    path = tmp_path / f"{name}.py"
    # an edit elsewhere in the file moves f but does not change it: accepted
    path.write_text("# a comment\n\n" + path.read_text())
    x = np.array([1.0, 2.0])
    check(m.f, x)
    path.write_text(path.read_text().replace("x * x", "x * x * x"))
    emit.clear_cache()
    for function in (autodiffx.grad(m.f), autodiffx.value_and_grad(m.f)):
        with pytest.raises(NoSourceError, match="changed after the module was imported") as \
                error:
            function(x)
        assert "importlib.reload" in str(error.value)
        assert isinstance(error.value, AutodiffError)
    m = importlib.reload(m)
    np.testing.assert_allclose(check(m.f, x), 3 * x ** 2)


def test_methods_closures_and_lambdas_are_not_mistaken_for_stale(modules):
    m = modules("""
        import numpy as np
        from math import pi as PI

        class Model:
            def __init__(self):
                self.scale = 2.0

            def loss(self, x):
                return np.sum(self.scale * np.sin(x) * PI)

        def make(c):
            def f(x):
                return np.sum(c * x ** 2)
            return f

        square = lambda x: np.sum(x * x)  # noqa: E731
        """)
    x = np.array([0.3, 0.4])
    check(m.Model().loss, x)
    check(m.make(3.0), x)
    check(m.square, x)


def test_reverse_over_reverse_follows_a_rebound_global(modules):
    m = modules("""
        import numpy as np
        A = 2.0
        act = np.sin

        def f(x):
            return A * act(x) * x
        """)
    x = 0.7
    second = autodiffx.grad(autodiffx.grad(m.f))
    hessian = autodiffx.grad(autodiffx.grad(m.f), mode="forward")
    for a, act in ((2.0, np.sin), (-3.0, np.sin), (-3.0, np.cos), (2.0, np.sin)):
        m.A, m.act = a, act
        assert second(x) == pytest.approx(hessian(x), rel=1e-10)
        first = autodiffx.grad(m.f)
        numeric = (first(x + 1e-6) - first(x - 1e-6)) / 2e-6
        assert second(x) == pytest.approx(numeric, rel=1e-6)


def test_one_gradient_function_called_again_follows_every_rebinding(modules):
    """A gradient function reuses the code of its previous call only while that code's
    guard holds and the ranks are the same (api keeps the last call's code)."""
    m = modules("""
        import numpy as np
        A = 2.0
        act = np.tanh

        def f(x):
            return np.sum(A * act(x) * x)
        """)
    g = autodiffx.grad(m.f)
    forward = autodiffx.grad(m.f, mode="forward")
    vector, scalar = np.array([0.3, -0.7, 1.1]), 0.4
    for a, act, x in ((2.0, np.tanh, vector), (-3.0, np.tanh, vector), (-3.0, np.sin, vector),
                      (-3.0, np.sin, scalar), (5.0, np.sin, scalar), (5.0, np.sin, vector),
                      (2.0, np.tanh, vector)):
        m.A, m.act = a, act
        for _ in range(2):
            np.testing.assert_allclose(g(x), central(m.f, x), rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(g(x), forward(x), rtol=1e-12)


def test_source_follows_the_last_call_of_either_gradient_function(modules):
    m = modules("""
        import numpy as np

        def f(x):
            return np.sum(x @ x.T)
        """)
    g, h = autodiffx.grad(m.f), autodiffx.grad(m.f)
    g(np.ones(3))
    h(np.ones((2, 2)))
    matrix = autodiffx.source(g)
    assert matrix == autodiffx.source(g, np.ones((2, 2)))
    g(np.ones(3))  # the code of g's first call, reused: the last call of f again
    assert autodiffx.source(g) != matrix
    assert autodiffx.source(g) == autodiffx.source(g, np.ones(3))


def test_code_swapped_in_place_as_autoreload_does_is_followed(modules, tmp_path):
    """IPython's autoreload keeps the function objects and assigns each a new ``__code__``
    when the file changes: a gradient function made before (called twice, so its second
    call reused its code) follows, for the differentiated function and for a callee; so
    does a new ``__defaults__``."""
    name = "guarded_autoreloaded"
    m = modules("""
        import numpy as np

        def inner(x, scale=2.0):
            return x * x * scale

        def f(x):
            return np.sum(inner(x))
        """, name=name)
    x = np.array([1.0, 2.0])
    g, both = autodiffx.grad(m.f), autodiffx.value_and_grad(m.f)
    for _ in range(2):
        np.testing.assert_allclose(g(x), 4 * x)
        np.testing.assert_allclose(both(x)[1], 4 * x)
    path = tmp_path / f"{name}.py"
    path.write_text(path.read_text().replace("x * x * scale", "x * x * x * scale"))
    fresh = importlib.reload(importlib.import_module(name))  # the new code, as autoreload
    m_inner, m_f = m.inner, m.f  # reads it; the old objects get the new code
    for old, new in ((m_inner, fresh.inner), (m_f, fresh.f)):
        old.__code__ = new.__code__
    fresh.f, fresh.inner = m_f, m_inner
    for _ in range(2):
        np.testing.assert_allclose(g(x), 6 * x ** 2)
        np.testing.assert_allclose(both(x)[1], 6 * x ** 2)
    m_inner.__defaults__ = (3.0,)
    np.testing.assert_allclose(g(x), 9 * x ** 2)
    np.testing.assert_allclose(check(m_f, x), 9 * x ** 2)
