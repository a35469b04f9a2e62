"""Forward mode's generated JVP (:mod:`autodiffx.forward.generated`) against dual numbers
and central differences."""

from __future__ import annotations

import numpy as np
import pytest

import autodiffx
from autodiffx.forward import generated


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


@pytest.mark.parametrize("f", [stack_of_a_list, concatenate_of_a_list, builtin_sum,
                               array_of_a_list, interp_of_a_list])
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
