"""A return inside a loop: reverse mode rewrites it as result = v; returned = True; break
(and ``if returned: break`` after each inner loop), then ``if returned: return result``
after the loop, an early return it already follows. Checked against central differences
and forward mode, on inputs that leave the loop both ways."""

from __future__ import annotations

import numpy as np
import pytest
from higher.numeric import numeric_gradient

import autodiffx


def first_large(v):
    acc = 0.0
    for e in v:
        acc = acc + e ** 2
        if e > 0.5:
            return acc * np.sin(e)
    return acc * 2.0


def nested_with_a_pair(m):
    total = 0.0
    for row in m:
        for e in row:
            total = total + np.sin(e)
            if total > 1.0:
                return total, e
    return total * 3.0, m[0, 0]


def from_a_pair(m):
    a, b = nested_with_a_pair(m)
    return a * b


def while_until(x):
    k = 0
    y = x
    while k < 10:
        y = y * 1.5
        if np.sum(y) > 4.0:
            return np.sum(y ** 2)
        k += 1
    return -np.sum(y)


@pytest.mark.parametrize("f, x", [
    (first_large, np.array([0.2, 0.7, 0.1])),    # leaves at the second item
    (first_large, np.array([0.1, 0.2, 0.3])),    # runs to the end
    (from_a_pair, np.array([[0.3, 0.5], [0.9, 0.4]])),
    (from_a_pair, np.array([[0.1, 0.1], [0.1, 0.1]])),
    (while_until, np.array([0.3, 0.4])),
])
def test_a_return_inside_a_loop(f, x):
    got = autodiffx.grad(f)(x)
    np.testing.assert_allclose(got, numeric_gradient(f, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, autodiffx.grad(f, mode="forward")(x), rtol=1e-10)


def test_the_generated_code_breaks_and_returns_after_the_loop():
    text = autodiffx.source(autodiffx.grad(first_large), np.ones(3))
    assert "break" in text and "if returned:" in text
