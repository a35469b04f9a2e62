"""Generated code for functions from two modules that bind the same global names.

All the vjp functions made for one call share one module namespace, so a global name that
two modules bind differently (``C`` below) must be renamed in one of them; before that was
done the callee silently read the caller's ``C``.
"""

import numpy as np

import autodiffx

from .other_module import scaled

C = 2.0
OFFSET = np.array([0.5, 0.25])


def uses_other_module(x):
    return np.sum((scaled(x) + OFFSET) * C * x)


def _expected(x):
    # f = sum((10 x + [1, -1] + [0.5, 0.25]) * 2 x), f' = 40 x + 2 ([1.5, -0.75])
    return 40.0 * x + 2.0 * np.array([1.5, -0.75])


def test_each_function_reads_its_own_module_globals():
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(autodiffx.grad(uses_other_module)(x), _expected(x))
    np.testing.assert_allclose(autodiffx.grad(uses_other_module, mode="forward")(x),
                               _expected(x))


def test_the_renamed_global_is_visible_in_the_generated_code():
    x = np.array([0.3, -1.2])
    text = autodiffx.source(autodiffx.grad(uses_other_module), x)
    assert "x * C_2" in text and "* C\n" in text


def test_second_derivatives_read_their_own_globals_too():
    x = np.array([0.3, -1.2])
    hessian = autodiffx.jacrev(autodiffx.grad(uses_other_module))(x)
    np.testing.assert_allclose(hessian, 40.0 * np.eye(2))
