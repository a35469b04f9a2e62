"""Failures the program fuzzer found, shrunk by hand to a few lines each.

Each function is a plain NumPy function; :data:`REGRESSIONS` gives its inputs, the arguments
to differentiate, the modes it is checked in, and either the closed-form gradient or the
library error the function must raise. ``test_regressions.py`` checks each in every listed
mode, and against central differences. An entry that still fails is an open bug: it names
the modes it fails in (``broken``) and why, and is marked ``xfail(strict=True)`` there, so
the fix makes it pass and the mark must then go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import autodiffx

C3 = np.array([0.5, -1.0, 2.0])
M = np.array([[0.2, -0.4, 1.1], [0.7, 0.5, -0.3]])
V = np.array([0.3, -1.2, 0.8])


# 1. Reverse mode printed an `if` whose adjoint body was empty (the constant arm has nothing
#    to pull back): IndentationError when the generated module was compiled.
def branch_with_constant_arm(x):
    if x > 0.5:
        t = 0.5
    else:
        t = x
    return t + x


# 2. Reverse mode printed a loop whose forward body was only comments (the body computes a
#    constant nobody reads): IndentationError.
def loop_with_dead_body(x, m):
    t = 0.5
    for _row in m:
        t = np.tanh(C3)  # noqa: F841 (the dead store is what triggered the bug)
    return x * 2.0


# 3. A loop overwrites a variable that depended on the input with a constant; its adjoint is
#    reset to the scalar 0.0, which the array adjoint of the earlier line could not be
#    unbroadcast from: "cannot reshape array of size 1 into shape (3,)".
def constant_overwrites_in_loop(v):
    t = C3 + v
    for _i in range(2):
        t = np.tanh(C3)
    return np.sum(t)


# 4. A while loop that runs zero times, reading an alias of the input: the alias's adjoint
#    stayed the scalar 0.0 and came back as the gradient of a vector (raw ValueError).
def zero_trip_while_through_alias(x, v):
    t0 = v
    t1 = 0.5
    k = 0
    while k < 1 and 0.5 > 1.0:
        t1 = np.tanh(t0[0])
        k += 1
    return np.sum(t1) + np.sum(x)


# 5. Forward mode: a 0-d array input stored into np.zeros(3) raised a raw ValueError
#    ("setting an array element with a sequence") instead of the documented
#    DerivativeConversionError (a Python float gives the right error). Later it became a
#    UserCodeError whose hint says the function "fails on these inputs even without
#    autodiffx", which is not so: the plain function runs.
def store_into_plain_zeros(x):
    y = np.zeros(3)
    y[0] = x
    return np.sum(y)


# 6. Reverse mode printed the folded constant (-0.7) ** 2 as -0.7 ** 2, which Python reads
#    as -(0.7 ** 2): the value and the gradient came out with the wrong sign.
def negative_base_power(x):
    return x * (-0.7) ** 2


# 7. Reverse mode: an array made by np.concatenate in the taken arm of one `if` and read only
#    in the untaken arm of the next keeps the scalar zero adjoint 0.0, which
#    unconcatenate cannot split (raw TypeError "object of type 'float' has no len()").
def concatenate_read_in_untaken_arm(x, v):
    if x > 5.0:
        t = v * 2.0
    else:
        t = np.concatenate([v[1:], v[:1]])
    if x > 5.0:
        s = np.sum(t)
    else:
        s = x * 3.0
    return s


# 8. Reverse mode: a loop over rows whose update mixes the old value with a conditional
#    expression reading it: the generated pullback read `t_saved` before any assignment
#    (UnboundLocalError). Expected gradient: central differences (and forward mode).
def mixed_update_in_row_loop(v, m):
    t = C3 + C3
    for _row in m:
        t = 0.5 * t + 0.5 * np.tanh(0.5 if 0.5 > 1.0 else np.dot(v, t))
    return np.sum(t)


# 9. Reverse mode: a store into an array that was updated in place before (t += v, then
#    t[0] = ...) zeroed the stored entry of an adjoint that was a read-only broadcast view:
#    "assignment destination is read-only" in the adjoint sweep.
def store_after_in_place_add(v):
    t = np.zeros_like(v)
    t += v
    t[0] = 0.5
    return np.sum(t)


# 10. Fixed bug. Reverse mode kept a view the function reads (y[::-1], y[1:], m[0]) on its
#     tape instead of a copy; a later store into the array (y[0] = x) changes the saved
#     value, and the adjoint of the product uses it: dx comes out 1.8, not 1.0. Found by the
#     fuzzer with a read of t[::-1] before a store by loop counter. Fixed: a view counts as
#     mutated where its base is stored into (Sweeps._alias_mutations), so it is saved as a
#     copy. The generator still avoids the pattern (generator._viewed).
def view_read_before_store(x, v):
    y = np.zeros_like(v)
    s = np.sum(y[::-1] * x)
    y[0] = x
    return s + np.sum(y)


# 11. Open bug, found by the second-order fuzzer. Reverse over reverse on a function whose
#     np.concatenate result is used linearly (its Hessian is zero) after an earlier loop
#     that accumulated np.where(..., t0) ** 2 into an array with a stored row: the flat
#     gradient's pullback hands the scalar zero adjoint 0.0 to unconcatenate, a raw
#     "TypeError: object of type 'float' has no len()". Forward over reverse gives the
#     zero Hessian. Each line matters: without the store, the loop, the `if`, or with the
#     constant 0.5 in place of t0, it passes.
def hessian_of_concatenate_after_where(v):
    t0 = 0.5
    t1 = np.zeros((2, 3))
    t1[0] = C3
    for _i in range(1):
        t1 += np.where(v > 0.0, v, t0) ** 2
    if True:
        t1 = np.reshape(np.concatenate([v, v]), (2, 3))
    return np.sum(t1)


# 12. Open bug, found by the second-order fuzzer. Reverse over reverse on a function that
#     stores into a local array inside an `if` arm that is not taken: the flat gradient's
#     pullback makes the adjoint with np.zeros_like(t), but t was never assigned
#     ("NameError: cannot access free variable 't' where it is not associated with a value
#     in enclosing scope"). First order and forward over reverse are right (f = x here).
def hessian_of_store_in_untaken_arm(x, v):
    if x > 0.5:
        t = np.zeros(3)
        t[1] = v[0]
        s = np.sum(t**2)
    else:
        s = x
    return s


# 13. Fixed bug, found by the slow second-order fuzzer. The vjp made for _helper_of_two
#     was named helper_of_two_vjp (the underscore dropped), the name of the flat function the
#     gradient code calls, and replaced it; generated names now avoid the globals read.
#     Reverse over reverse on a function that calls a two-argument helper and, in a loop
#     that does not run, another helper, raised "TypeError: h0_vjp() takes 2 positional
#     arguments but 3 were given". f is 0 for x <= 5, so the Hessian is zero.
def _helper_of_two(a, b):
    return np.tanh(a)


def _helper_of_one(a):
    return np.tanh(a)


def hessian_of_helper_calls_and_idle_loop(x, v, m):
    t = np.zeros_like(v)
    s = _helper_of_two(t, m) * x
    while x > 5.0:
        t = t + _helper_of_one(x)
    return np.sum(s)


@dataclass(frozen=True)
class Regression:
    function: Any
    args: tuple
    wrt: tuple[int, ...]
    expected: Any
    """A tuple of gradients (closed form), an AutodiffError subclass to be raised, or None
    to check against central differences only. In the second-order modes ("reverse over
    reverse", "forward over reverse"): a tuple of rows of Hessian blocks, or None."""
    modes: tuple[str, ...] = ("reverse", "forward")
    broken: tuple[str, ...] = ()
    """Modes in which this is an open bug (expected to fail, strictly)."""
    reason: str = ""

    @property
    def name(self) -> str:
        return self.function.__name__


REGRESSIONS = [
    Regression(branch_with_constant_arm, (0.3,), (0,), (2.0,)),
    Regression(branch_with_constant_arm, (0.7,), (0,), (1.0,)),
    Regression(loop_with_dead_body, (0.3, M), (0, 1), (2.0, np.zeros((2, 3)))),
    Regression(constant_overwrites_in_loop, (V,), (0,), (np.zeros(3),)),
    Regression(zero_trip_while_through_alias, (0.3, V), (0, 1), (1.0, np.zeros(3))),
    Regression(negative_base_power, (0.5,), (0,), (0.49,)),
    Regression(concatenate_read_in_untaken_arm, (0.5, V), (0, 1), (3.0, np.zeros(3))),
    Regression(mixed_update_in_row_loop, (V, M), (0,), None),
    Regression(store_after_in_place_add, (V,), (0,), (np.array([0.0, 1.0, 1.0]),)),
    Regression(
        view_read_before_store,
        (0.8, V),
        (0, 1),
        (1.0, np.zeros(3)),
    ),
    Regression(
        hessian_of_concatenate_after_where,
        (V,),
        (0,),
        ((np.zeros((3, 3)),),),
        modes=("reverse over reverse", "forward over reverse"),
        broken=("reverse over reverse",),
        reason="reverse over reverse passes the scalar zero adjoint 0.0 to unconcatenate: "
        "TypeError: object of type 'float' has no len()",
    ),
    Regression(
        hessian_of_store_in_untaken_arm,
        (0.2, V),
        (0, 1),
        ((0.0, np.zeros(3)), (np.zeros(3), np.zeros((3, 3)))),
        modes=("reverse over reverse", "forward over reverse"),
        broken=("reverse over reverse",),
        reason="the flat gradient's pullback reads t, assigned only in the arm not taken: "
        "NameError: cannot access free variable 't'",
    ),
    Regression(
        hessian_of_helper_calls_and_idle_loop,
        (1.0, V, M),
        (0,),
        ((0.0,),),
        modes=("reverse over reverse", "forward over reverse"),
    ),
    Regression(
        store_into_plain_zeros,
        (np.array(0.3),),
        (0,),
        autodiffx.DerivativeConversionError,
        modes=("forward",),
    ),
]
