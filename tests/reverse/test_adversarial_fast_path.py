"""Adversarial cases for grad's repeated-call path (the gradient without the value,
shapes.real_scalar, optimize.without_value) and for the call-time guards (``__code__``,
``__defaults__``, ``__kwdefaults__``, rule changes).

The project rule: a gradient agrees with central differences (and forward mode), or grad
raises. Cases marked ``xfail(strict=True)`` document a bug found by review: grad returns a
gradient where calling the function raises, or a gradient that is silently wrong. The
others are regression tests for attacks that held.
"""

import sys
import threading
import warnings

import numpy as np
import pytest

import autodiffx
from autodiffx.reverse import emit

from .defined import define

_function = define


def _has_value_free_code(g) -> bool:
    return "_grad(" in autodiffx.source(g, shapes=True)


# --------------------------------------------------------------------------- bugs found


BRANCH_BOUND = "def f(x):\n    if x > 0.0:\n        a = x * 2.0\n    return a\n"


def test_a_name_bound_in_one_branch_raises_on_the_repeated_call():
    """Fixed: a name bound in a branch or a loop is not proved (it may be unbound when the
    value reads it), so there is no value-free code to return 0.0 where f raises."""
    f = _function(BRANCH_BOUND)
    g = autodiffx.grad(f)
    assert g(1.0) == 2.0  # the vjp, value checked
    assert not _has_value_free_code(g)
    with pytest.raises(UnboundLocalError):
        f(-1.0)
    with pytest.raises(UnboundLocalError):
        g(-1.0)


def test_a_name_bound_in_a_while_loop_raises_on_the_repeated_call():
    f = _function("def f(x):\n    while np.sum(x) > 5.0:\n        a = np.sum(x * x)\n"
                  "        break\n    return a\n")
    g = autodiffx.grad(f)
    np.testing.assert_array_equal(g(np.full(3, 2.0)), np.full(3, 4.0))
    with pytest.raises(UnboundLocalError):
        f(np.ones(3))
    with pytest.raises(UnboundLocalError):
        g(np.ones(3))  # returns [0, 0, 0]


def test_the_same_failing_call_twice_raises_twice():
    f = _function(BRANCH_BOUND)
    g = autodiffx.grad(f)
    with pytest.raises(UnboundLocalError):
        g(-1.0)
    with pytest.raises(UnboundLocalError):
        g(-1.0)


@pytest.mark.parametrize("index", ["()", "...", "None"])
def test_indexing_a_python_float_raises_on_every_call(index):
    f = _function(f"def f(x):\n    a = x[{index}]\n    return np.sum(a) * 2.0\n")
    g = autodiffx.grad(f)
    for _ in range(2):
        with pytest.raises(TypeError):
            g(2.0)


def test_a_python_float_from_an_operator_call_overflows_on_every_call():
    f = _function("def f(x):\n    a = operator.mul(x, 1.0)\n    return a ** 2\n")
    g = autodiffx.grad(f)
    assert g(1.0) == 2.0
    with pytest.raises(OverflowError):
        f(1e200)
    with pytest.raises(OverflowError):
        g(1e200)  # returns 2e+200


def test_errstate_raise_is_honoured_by_the_repeated_call():
    f = _function("def f(x):\n    return np.sum(x ** 2)\n")
    g = autodiffx.grad(f)
    with np.errstate(all="raise"):
        g(np.ones(3))
        with pytest.raises(FloatingPointError):
            f(np.full(3, 1e200))
        with pytest.raises(FloatingPointError):
            autodiffx.grad(f, mode="forward")(np.full(3, 1e200))
        with pytest.raises(FloatingPointError):
            g(np.full(3, 1e200))  # returns [2e200, 2e200, 2e200]


def test_warnings_as_errors_are_honoured_by_the_repeated_call():
    f = _function("def f(x):\n    return np.mean(x)\n")
    g = autodiffx.grad(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(2):
            with pytest.raises(RuntimeWarning):
                g(np.ones(0))


def test_a_keyword_default_assigned_in_place_is_followed():
    f = _function("def f(x, *, c=2.0):\n    return np.sum(x * x) * c\n")
    g = autodiffx.grad(f)
    x = np.ones(3)
    np.testing.assert_allclose(g(x), 4 * x)
    f.__kwdefaults__["c"] = 3.0
    np.testing.assert_allclose(autodiffx.grad(f, mode="forward")(x), 6 * x)
    np.testing.assert_allclose(g(x), 6 * x)  # gives 4x


def test_a_mutable_literal_default_changed_in_place_is_followed():
    f = _function("def f(x, w=[1.0, 2.0]):\n    return np.sum(x * w[0]) + w[1]\n")
    g = autodiffx.grad(f)
    x = np.ones(3)
    np.testing.assert_allclose(g(x), x)
    f.__defaults__[0][0] = 5.0
    np.testing.assert_allclose(autodiffx.grad(f, mode="forward")(x), 5 * x)
    np.testing.assert_allclose(g(x), 5 * x)  # gives x, as does a new grad(f)


def test_a_negative_zero_default_is_not_the_literal_zero():
    f = _function("def f(x, c=0.0):\n    return np.sum(x * np.tanh(np.divide(1.0, c)))\n")
    f.__defaults__ = (-0.0,)
    x = np.ones(2)
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(autodiffx.grad(f, mode="forward")(x), -x)
        np.testing.assert_array_equal(autodiffx.grad(f)(x), -x)  # gives +x


def test_defaults_of_another_length_are_aligned_as_python_does():
    f = _function("def f(x, a=1.0, b=2.0):\n    return np.sum(x * x) * a * b\n")
    g = autodiffx.grad(f)
    x = np.ones(2)
    g(x)
    f.__defaults__ = (5.0,)  # a has no default now; b's is 5.0
    np.testing.assert_allclose(autodiffx.grad(f, mode="forward")(x, 1.0), 10 * x)
    np.testing.assert_allclose(g(x, 1.0), 10 * x)  # gives 4x


def test_a_default_removed_by_assignment_is_missing():
    f = _function("def f(x, a=1.0, b=2.0):\n    return np.sum(x * x) * a * b\n")
    g = autodiffx.grad(f)
    x = np.ones(2)
    g(x)
    f.__defaults__ = (5.0,)
    with pytest.raises(TypeError):
        f(x)
    with pytest.raises(TypeError):
        g(x)


@pytest.mark.parametrize(("source", "bad"), [
    ("def f(x):\n    a = 1.0 / x\n    return x * 2.0\n", 0.0),
    ("def f(x):\n    a = x[5]\n    return x * 2.0\n", 1.0),
])
def test_a_dead_statement_that_raises_still_raises(source, bad):
    f = _function(source)
    with pytest.raises((ZeroDivisionError, TypeError)):
        f(bad)
    with pytest.raises((ZeroDivisionError, TypeError)):
        autodiffx.grad(f)(bad)


class _Activation:
    act = np.tanh


@pytest.mark.parametrize("through", ["instance", "subclass"])
def test_a_class_attribute_replaced_on_the_class_is_followed(through):
    class Config(_Activation):
        pass

    holder = Config() if through == "instance" else type("Derived", (Config,), {})
    f = _function("def f(x):\n    return np.sum(holder.act(x))\n", {"holder": holder})
    g = autodiffx.grad(f)
    x = np.array([0.5, 1.0])
    np.testing.assert_allclose(g(x), 1 - np.tanh(x) ** 2)
    Config.act = np.sin
    np.testing.assert_allclose(autodiffx.grad(f, mode="forward")(x), np.cos(x))
    np.testing.assert_allclose(g(x), np.cos(x))  # gives 1 - sin(x)**2


def test_a_parameter_named_like_a_helper():
    f = _function("def f(x, unindex):\n    a = x[1]\n    return a * unindex\n")
    dx, du = autodiffx.grad(f, wrt=(0, 1))(np.arange(3.0), 2.0)
    np.testing.assert_array_equal(dx, [0.0, 2.0, 0.0])
    assert du == 1.0


@pytest.mark.parametrize("second", ["same", "view"])
def test_an_argument_written_through_an_alias_of_another(second):
    """Fixed (older): f writes into y, and the caller passes the same array (or a view of
    it) as x and y. Reverse mode writes into a copy of y, so it would give [0, 2, 4] where
    f, as it runs, reads x[0] = 5: it refuses such a call, every time; separate arrays are
    differentiated. (Forward mode gave [10, 2, 4], the write seen by x's value but not by
    its derivative; it refuses too now: tests/forward/test_shared_memory.py.)"""
    f = _function("def f(x, y):\n    y[0] = 5.0\n    return np.sum(x * x)\n")
    g = autodiffx.grad(f)

    def aliased():
        x = np.arange(3.0)
        return x, (x if second == "same" else x[:2])

    with pytest.raises(autodiffx.AutodiffError, match="shares with argument 1"):
        autodiffx.grad(f, mode="forward")(*aliased())
    for _ in range(2):
        with pytest.raises(autodiffx.AutodiffError, match="shares memory"):
            g(*aliased())
        with pytest.raises(autodiffx.AutodiffError, match="shares memory"):
            autodiffx.value_and_grad(f)(*aliased())
        x = np.arange(3.0)
        np.testing.assert_allclose(g(x, np.ones(3)), [0.0, 2.0, 4.0])
        np.testing.assert_allclose(x, np.arange(3.0))  # the caller's array is not written


# --------------------------------------------------------------------------- attacks that held


LOSS = ("def f(x, W, y):\n    h = np.tanh(W @ x)\n"
        "    return np.sum(h * h) / 3.0 + y * np.mean(x) + np.dot(x, x) * y\n")


def _central(f, x, h=1e-6):
    """Central differences of a scalar f at x (an array or a float)."""
    x = np.array(x, dtype=float)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        out[i] = (f(x + step) - f(x - step)) / (2 * h)
    return out


def _reference(f, args):
    def at(i, a):
        values = list(args)
        values[i] = a if np.ndim(args[i]) else float(a)
        return f(*values)
    return [_central(lambda a, i=i: at(i, a), args[i]) for i in range(len(args))]


@pytest.mark.parametrize("variant", ["float32", "fortran", "strided", "readonly", "swapped",
                                     "float16"])
def test_layouts_the_fast_path_treats_alike_agree_with_central_differences(variant):
    rng = np.random.default_rng(0)
    x, W, y = rng.normal(size=3), rng.normal(size=(3, 3)), 0.7
    f = _function(LOSS)
    g = autodiffx.grad(f, wrt=(0, 1, 2))
    g(x, W, y)
    assert _has_value_free_code(g)
    if variant == "float32":
        x, W = x.astype(np.float32), W.astype(np.float32)
    elif variant == "fortran":
        W = np.asfortranarray(W)
    elif variant == "strided":
        x = np.repeat(x, 2)[::2]
        W = W.T.copy().T
    elif variant == "readonly":
        x = x.copy()
        x.flags.writeable = False
    elif variant == "swapped":
        x = x.astype(">f8")
    elif variant == "float16":
        x = x.astype(np.float16)
    for _ in range(2):
        got = g(x, W, y)
        want = _reference(f, [np.asarray(x, float), np.asarray(W, float), y])
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(np.asarray(a, float), b, rtol=2e-2, atol=2e-2)
        assert type(got[2]) is float


def test_gradients_never_alias_the_arguments_or_each_other():
    f = _function("def f(x, y):\n    return np.sum(x * y)\n")
    g = autodiffx.grad(f, wrt=(0, 1))
    x, y = np.arange(3.0), np.full(3, 2.0)
    for _ in range(3):
        dx, dy = g(x, y)
        assert dx is not y and dy is not x and not np.shares_memory(dx, dy)
        dx[:] = 100.0
        dy[:] = 100.0
        np.testing.assert_array_equal(y, 2.0)
        np.testing.assert_array_equal(x, np.arange(3.0))
    dx, dy = g(x, x)  # the same array twice
    assert not np.shares_memory(dx, x) and not np.shares_memory(dx, dy)
    np.testing.assert_array_equal(dx, x)


def test_higher_order_transforms_of_a_primed_gradient():
    f = _function("def f(x):\n    return np.sum(np.tanh(x) * x) + np.sum(x ** 3) / 6.0\n")
    x = np.array([0.3, -0.5, 1.2])
    t = np.tanh(x)
    s = 1 - t ** 2
    exact = np.diag(2 * s - 2 * t * s * x + x)
    g = autodiffx.grad(f)
    g(x)
    g(x)
    for _ in range(2):
        np.testing.assert_allclose(autodiffx.hessian(f)(x), exact, atol=1e-12)
        np.testing.assert_allclose(autodiffx.jacrev(g)(x), exact, atol=1e-12)
        np.testing.assert_allclose(autodiffx.jacfwd(g)(x), exact, atol=1e-12)
        np.testing.assert_allclose(
            autodiffx.jvp(g, (x,), (np.array([1.0, 0.0, 0.0]),))[1], exact[:, 0],
            atol=1e-12)
    np.testing.assert_allclose(g(x), t + x * s + x ** 2 / 2, atol=1e-12)


def test_a_swapped_code_object_and_defaults_are_followed():
    f = _function("def f(x, c=2.0):\n    return np.sum(x * x) * c\n")
    other = _function("def f(x, c=2.0):\n    return np.sum(x * x * x) * c\n")
    g = autodiffx.grad(f)
    x = np.array([1.0, 2.0])
    for _ in range(2):
        np.testing.assert_allclose(g(x), 4 * x)
    f.__code__ = other.__code__
    for _ in range(2):
        np.testing.assert_allclose(g(x), 6 * x ** 2)
    f.__defaults__ = (3.0,)
    for _ in range(2):
        np.testing.assert_allclose(g(x), 9 * x ** 2)


def test_a_rule_replaced_between_calls_is_followed():
    from autodiffx.rules import registry

    def tripled(x):
        return 3.0 * x

    rule = autodiffx.elementwise(tripled, "3.0", name="adversarial_tripled")
    try:
        namespace = {"tripled": tripled}
        f = _function("def f(x):\n    return np.sum(tripled(x))\n", namespace)
        g = autodiffx.grad(f)
        x = np.ones(2)
        for _ in range(2):
            np.testing.assert_allclose(g(x), 3 * x)
        registry.unregister(rule)
        rule = autodiffx.elementwise(tripled, "4.0", name="adversarial_tripled")
        for _ in range(2):
            np.testing.assert_allclose(g(x), 4 * x)
        emit.clear_cache()
        np.testing.assert_allclose(g(x), 4 * x)
    finally:
        registry.unregister(rule)


def test_threads_with_different_shapes_get_their_own_gradients():
    f = _function("def f(x):\n    return np.sum(np.tanh(x) * x)\n")
    g = autodiffx.grad(f)
    errors = []

    def work(n):
        x = np.linspace(-1, 1, n)
        want = np.tanh(x) + x * (1 - np.tanh(x) ** 2)
        try:
            for _ in range(300):
                got = g(x)
                if got.shape != x.shape or not np.allclose(got, want):
                    errors.append((n, got))
                    return
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append((n, error))

    threads = [threading.Thread(target=work, args=(n,)) for n in (2, 3, 5, 8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors


def test_a_value_grad_refuses_through_a_global_stays_refused():
    namespace = {"K": 2.0}
    f = _function("def f(x):\n    return np.sum(x) * K\n", namespace)
    g = autodiffx.grad(f)
    x = np.ones(2)
    np.testing.assert_allclose(g(x), 2 * x)
    namespace["K"] = 1j
    for _ in range(2):
        with pytest.raises(autodiffx.AutodiffError):
            g(x)
    namespace["K"] = np.ones(2)  # the value is now shape (2,)
    for _ in range(2):
        with pytest.raises(autodiffx.AutodiffError):
            g(x)


def test_a_primed_gradient_called_inside_a_differentiated_function():
    """Re-entrancy: grad(f), already on its repeated-call path, inside h, differentiated in
    reverse mode (h' = sin x + 3x cos x - x² sin x), at two shapes."""
    g = autodiffx.grad(_function("def f(x):\n    return np.sum(np.sin(x) * x)\n"))
    x = np.array([0.3, -0.7, 1.1])
    g(x)
    g(x)
    h = _function("def f(x):\n    return np.sum(g(x) * x)\n", {"g": g})
    gh = autodiffx.grad(h)
    for point in (x, np.array([0.1, 0.2])):
        exact = np.sin(point) + 3 * point * np.cos(point) - point ** 2 * np.sin(point)
        for _ in range(2):
            np.testing.assert_allclose(gh(point), exact)
        np.testing.assert_allclose(autodiffx.grad(h, mode="forward")(point), exact)


@pytest.mark.parametrize("large", [True, False])
def test_loops_in_the_value_free_code_agree_with_forward_mode(large, monkeypatch):
    """A while loop whose body binds a name of the value once (run three times): with every
    array counted as large or none. (Since a name bound in a loop may be unbound when the
    value reads it, this value is no longer proved, and the vjp runs.)"""
    from autodiffx.reverse import adjoint

    monkeypatch.setattr(adjoint, "LARGE_BYTES", 8 if large else 1 << 17)
    f = _function("def f(x, W):\n    h = np.tanh(W @ x)\n    n = 3.0\n"
                  "    while n > 0.0:\n        a = h * x\n        n = n - 1.0\n"
                  "    r = np.sum(a * h)\n    return r\n")
    # a is bound in the loop, so the value is not proved: the vjp runs every time
    rng = np.random.default_rng(2)
    x, W = rng.normal(size=3), rng.normal(size=(3, 3))
    g = autodiffx.grad(f, wrt=(0, 1))
    want = autodiffx.grad(f, wrt=(0, 1), mode="forward")(x, W)
    for _ in range(2):
        for a, b in zip(g(x, W), want, strict=True):
            np.testing.assert_allclose(a, b)
    assert not _has_value_free_code(g)


def test_a_sum_of_a_number_over_axis_0():
    """NumPy sums a 0-d value over axis 0 (over no axis); the adjoint raised a bare
    ZeroDivisionError (axis % 0) where the gradient is the cotangent itself."""
    f = _function("def f(x, y):\n    return np.sum(y, axis=0) * np.sum(x)\n")
    x = np.array([1.0, 2.0])
    for _ in range(2):
        dx, dy = autodiffx.grad(f, wrt=(0, 1))(x, 1.5)
        np.testing.assert_allclose(dx, [1.5, 1.5])
        assert dy == 3.0
