"""Failures the program fuzzer found, shrunk by hand to a few lines each.

Each function is a plain NumPy function; :data:`REGRESSIONS` gives its inputs, the arguments
to differentiate, the modes it is checked in, and either the closed-form gradient or the
library error the function must raise. ``test_regressions.py`` checks each in every listed
mode, and against central differences. An entry that still fails is an open bug: it names
the modes it fails in (``broken``) and why, and is marked ``xfail(strict=True)`` there, so
the fix makes it pass and the mark must then go.
"""

from __future__ import annotations

import importlib.util
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import autodiffx

HAVE_SCIPY = importlib.util.find_spec("scipy") is not None
if HAVE_SCIPY:  # the scipy extra's rules
    import scipy.special
    import scipy.stats

C2 = np.array([0.3, -1.2])
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
#     copy. The generator no longer avoids the pattern (generator._viewed).
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


# ----------------------------------------------------------------------------------------
# Open bugs found by the widened fuzzer (constructs.py, harness.py), each shrunk by hand to
# the construct the fuzzer's shrinking named. Every one is listed in KNOWN_OPEN below. The
# rule they break: each mode gives the right derivative or refuses with an AutodiffError.
# A fix may do either: these entries pass when the gradient is right *or* an AutodiffError
# is raised (expected=RIGHT_OR_REFUSED).


# 14. Aliasing: b is a, so b += x changes a. Reverse mode ignores the update (dx 0), forward
#     mode rebinds b to a new Dual and leaves a unchanged (the value itself is wrong).
def alias_then_iadd(x, v):
    a = np.sin(v)
    b = a
    b += x
    return np.sum(a * v)


# 15. A slice is a view: w *= x scales a[:2]. Wrong in both modes.
def slice_view_then_imul(x, v):
    a = np.sin(v)
    w = a[:2]
    w *= x
    return np.sum(a**2)


# 16. a.reshape(-1) of a contiguous array is a view: the store changes a. Both modes.
def reshape_view_then_store(x, m):
    a = np.sin(m)
    y = a.reshape(-1)
    y[0] = x
    return np.sum(a * m)


# 17. a.T is a view. Both modes.
def transpose_view_then_store(x, m):
    a = np.sin(m)
    t = a.T
    t[0, 1] = x
    return np.sum(a * m)


# 18. A view taken before a store into its base sees the store (read after it). Both modes.
def view_read_after_base_store(x, v):
    a = np.sin(v)
    w = a[1:]
    a[1] = x
    return np.sum(w * w)


# 19. A row of a matrix assigned through the row view (row[:] = v). Both modes.
def row_view_assigned(v, m):
    a = np.cos(m)
    row = a[0]
    row[:] = v
    return np.sum(a * np.cos(m))


# 20. np.expand_dims returns a view. Both modes.
def expand_dims_view_then_store(x, v):
    a = np.sin(v)
    e = np.expand_dims(a, 0)
    e[0, 1] = x
    return np.sum(a * v)


# 21. out= writes the product into c; reverse mode treats c as the zeros it was made as.
def out_ufunc(v):
    c = np.zeros(3)
    np.multiply(v, v, out=c)
    return np.sum(c)


# 22. out= onto its own input.
def out_on_itself(v):
    c = np.sin(v)
    np.tanh(c, out=c)
    return np.sum(c * v)


# 23. out= of a reduction.
def out_reduction(m):
    c = np.zeros(3)
    np.sum(m, axis=0, out=c)
    return np.sum(c * c)


# 24. Mutating calls that reverse mode does not see: np.copyto, np.put, np.place,
#     np.fill_diagonal, np.add.at, np.put_along_axis, y.sort(), y.__setitem__. Reverse mode
#     gives the gradient of the program without the call.
def copyto_call(v):
    c = np.zeros(3)
    np.copyto(c, v)
    return np.sum(c * v)


def put_call(x, v):
    c = np.sin(v)
    np.put(c, [0, 2], [x, x])
    return np.sum(c * v)


def place_call(v):
    c = np.sin(v)
    np.place(c, c > 0.3, v)
    return np.sum(c * v)


def fill_diagonal_call(x, m):
    c = np.sin(m)
    np.fill_diagonal(c, x)
    return np.sum(c * m)


def add_at_call(v):
    c = np.sin(v)
    np.add.at(c, [0, 0, 2], v)
    return np.sum(c * v)


def put_along_axis_call(x, m):
    c = np.sin(m)
    np.put_along_axis(c, np.array([[0], [2]]), x, axis=1)
    return np.sum(c * m)


def sort_method(v):
    c = v * 1.0
    c.sort()
    return np.sum(c * C3)


def setitem_method(m):
    c = np.sin(m[1])
    c.__setitem__(1, 0.5)
    return np.sum(c * m[0])


# 25. Forward mode: y.fill(x) on a Dual raises a raw AttributeError ("a Dual has no
#     attribute 'fill'"), not an AutodiffError (y.sort() likewise, see sort_method).
def fill_method(x, v):
    c = np.sin(v)
    c.fill(x)
    return np.sum(c * v)


# 26. Conversions: float(x) of a value being differentiated gives 0 in reverse mode (forward
#     mode refuses, as it should).
def float_conversion(x, v):
    s = float(x)
    return s * np.sum(v)


# 27. Globals and closure cells rebound between calls: reverse mode keeps the value (or the
#     function) the name had at the first call, even through a new grad(f).
SCALE = 1.5
ACTIVATION = np.tanh


def reads_global_scalar(v):
    return np.sum(np.tanh(v) * SCALE)


def reads_global_function(v):
    return np.sum(ACTIVATION(v))


def _set_global(name, value):
    old = globals()[name]
    globals()[name] = value
    return old


def _closure_reading_a_cell():
    cell = 1.5

    def reads_closure_cell(v):
        return np.sum(np.sin(v) * cell)

    def rebind(value):
        nonlocal cell
        old, cell = cell, value
        return old

    return reads_closure_cell, rebind


reads_closure_cell, _rebind_cell = _closure_reading_a_cell()


def _closure_with_a_dict_argument():
    cell = 1.5

    def reads_cell_next_to_a_dict(v, d):
        return np.sum(np.sin(v) * cell) + d["b"]

    def rebind(value):
        nonlocal cell
        old, cell = cell, value
        return old

    return reads_cell_next_to_a_dict, rebind


# Differentiated with respect to a dict too: the rebinding is missed on this path even
# where it is seen without the dict (found in the working tree of the globals fix).
reads_cell_next_to_a_dict, _rebind_cell_next_to_a_dict = _closure_with_a_dict_argument()


# 28. Functions without a rule whose result is taken as constant by reverse mode:
#     np.linspace and np.r_ give 0.
def linspace_of_input(x):
    return np.sum(np.linspace(x, 2.0 + x, 4) ** 2)


def r_of_input(x, v):
    return np.sum(np.r_[v, x] ** 2)


# 29. The einsum sublist form np.einsum(m, (0, 1), (1, 0)) gives a wrong gradient in forward
#     mode (and reverse).
def einsum_sublist(m):
    return np.sum(np.einsum(m, (0, 1), (1, 0)) * np.arange(6.0).reshape(3, 2))


# 30. Builtin max of an array crashes inside generated code (reverse mode).
def builtin_max_of_array(v):
    return max(np.sin(v))


# 31. Complex intermediates: |x (1 + 2j)|^2 = 5 x^2, but both modes get it wrong or crash.
def complex_intermediate(x):
    return np.abs(x * (1 + 2j)) ** 2


# 32. jacfwd and jacrev of a function of a number and a dict, with respect to both: jacfwd
#     raises a raw ValueError from np.result_type ("entry not a 2- or 3- tuple"), jacrev
#     returns an object array for the dict.
def of_a_dict(x, d):
    return np.stack([x * np.sum(d["w"]) * d["b"], d["b"]])


# 35. Fixed: h(v, w)[k] now unpacks every item of the helper's tuple and keeps item k.
#     Reverse mode: indexing the tuple a helper returns, h(v, w)[0], failed in the adjoint
#     sweep ("setting an array element with a sequence": the tuple's adjoint is built as an
#     array from a number and an array), reported as a UserCodeError whose hint asks to
#     report it. The widened fuzzer counts that as a refusal; it should be right.
def _sum_and_tanh(a, b):
    return np.sum(a * b), np.tanh(a)


def helper_tuple_indexed(x, v):
    return _sum_and_tanh(v, v * x)[0]


# 33. Fixed: read-only primals are copied before a tangent mirrors them. Found by the
#     widened fuzzer's hvp check in the working tree of the forward
#     mode memory work, and committed with it (5f74ed8): forward over reverse of x * np.sum(v)
#     raised "ValueError: assignment destination is read-only" (dual._ensure_mirror wrote
#     into the read-only np.broadcast_to adjoint of v while reshaping it).
def hessian_of_scalar_times_sum(x, v):
    return x * np.sum(v)


# 34. The source file edited after import: reverse mode differentiates the new text while
#     the function runs the old code (here v ** 3 in the file, v ** 2 running).
def _edited_after_import():
    folder = Path(tempfile.mkdtemp(prefix="autodiffx-edited-"))
    path = folder / "autodiffx_edited_module.py"
    path.write_text("import numpy as np\n\n\ndef edited_after_import(v):\n"
                    "    return np.sum(v ** 2)\n")
    spec = importlib.util.spec_from_file_location("autodiffx_edited_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path.write_text("import numpy as np\n\n\ndef edited_after_import(v):\n"
                    "    return np.sum(v ** 3)\n")
    return module.edited_after_import


edited_after_import = _edited_after_import()


# 36. Fixed at bf19593. Found by the hypothesis fuzzer (test_fuzz.py) at 4b8ecc4, where the
#     aliasing pass began to run on every function: a false refusal. t2 is a number updated
#     in a loop, and only later rebound to x; nothing shares memory when it is written, yet
#     reverse mode refuses "a write into t2 that x sees". Without the loop, or without the
#     store into t3, it passes. (Forward mode refuses t3 += ... by design: np.zeros.)
def false_alias_after_loop(x, v):
    t2 = np.sin(0.5 + 0.5)
    for _i0 in range(1):
        t2 += 0.25 * np.tanh(C2[0])
    t3 = np.zeros((2, 3))
    t3[0] += 0.5 + v
    t2 = x
    return np.sum(t3) + np.sum(x)


# 37. Fixed at bf19593. The same pass (found by the second-order fuzzer): a false refusal that names
#     an internal variable, "a write into t0 that t0_item sees". Shrunk by hypothesis only.
def false_alias_internal_name(x, v, m):
    x *= 1.0 + 0.5 * np.sin(0.5 + x - np.cosh(x))
    t0 = np.zeros(3)
    k0 = 0
    while k0 < 1 and x + x + (x + 0.5) <= x + x:
        j1 = k0
        t0[j1] = np.tanh(0.5 if x + 0.5 > x else x + x)
        j1 = 2 - j1
        t0[j1] += 0.25 * np.tanh(np.linalg.norm(v) if x > x else np.maximum(x, x + 0.5))
        k0 += 1
    for r2 in m:
        t0 = np.tanh(np.where(x - 2.0 < x, t0 * r2, C3))
    for _r3 in m:
        t0 = np.tanh(np.tanh(np.rad2deg(np.tanh(np.clip(t0, -1.0, 1.0)))))
    return np.sum(t0)


# ----------------------------------------------------------------------------------------
# Open bugs found by the widened fuzzer's complex constructs (constructs.py: complex inputs,
# the group "complex numbers", complex-valued and holomorphic programs), at ec9ab1d. The
# convention is docs/complex.md's: the gradient of a real loss of z = x + iy is
# dL/dx + i dL/dy, and a real argument's gradient is real. Shrunk by hand.


# 38. Reverse mode: x.astype(complex) of a real argument drops the derivative: the gradient
#     is 0 (the value is sum(v), so it is 1 each). Also with astype(np.complex128) and
#     np.asarray(v, dtype=complex); x + 0j is right. Forward mode is right.
def astype_complex_of_real(v):
    z = v.astype(complex)
    return np.sum(np.imag(z * 1j))


# 39. Both modes: the function np.astype(v, complex) (NumPy 2's spelling of v.astype)
#     drops the derivative: gradient 0, where it is 2 v (|v i|² = v²).
def np_astype_complex(v):
    return np.sum(np.abs(np.astype(v, complex) * 1j) ** 2)


# 40. jacfwd of a real-valued function of a real x and a complex z: x's block is complex
#     (array([1.+0.j])), where a real argument's derivative is real (jacrev gives
#     array([1.]), grad in either mode 1.0). Every jacfwd of a program with a complex input
#     and a real one differentiated shows it.
def real_and_complex_arguments(x, z):
    return np.stack([np.real(x * z)])


# 41. Reverse mode: np.linalg.multi_dot of complex matrices fails in the adjoint sweep
#     ("setting an array element with a sequence. The requested array has an inhomogeneous
#     shape", a UserCodeError that says it comes from the adjoint sweep). Forward mode is
#     right. With real matrices both modes are right.
def multi_dot_complex(m):
    return np.sum(np.real(np.linalg.multi_dot([m, m.T])))


MC = M + 0.5j * M[::-1]


# 42. Not about complex numbers (found by the same run, seed 12): np.add.at into a copy of
#     an integer array (v is not differentiated). NumPy casts the added floats to integers
#     (0.7 adds 0), so f(x) = x * sum(v) = -x. Reverse mode returns the value 0.0 and the
#     gradient 0.0; forward mode refuses (DerivativeConversionError).
def add_at_into_integer_array(x, v):
    c = v.copy()
    np.add.at(c, [0, 0, 2], x)
    return x * np.sum(c)


VI = np.array([1, -2, 0])


# 43. Forward over forward (hvp(..., mode="forward"), jacfwd of a forward-mode grad): an
#     in-place subtraction of an imaginary value from a complex copy of a real argument loses
#     the second derivative: the Hessian comes out 0, where it is -diag(tanh''(v)) (f is
#     -sum(tanh(v)) + const). First order is right in both modes; z = z - ... (not in
#     place), z -= np.tanh(v) (real), and forward over reverse are right. Found by the CI
#     run (seed 0, index 38) once the complex constructs were added.
def in_place_subtract_of_imaginary(v):
    z = v + 0j
    z -= np.tanh(v) * 1j
    return np.sum(np.imag(z))


# 44. Reverse mode: a loop accumulates products with complex(x, 0.5) (a call without a rule,
#     which reverse mode takes as real when its inputs are) into an accumulator that starts
#     complex (0j): the gradient is silently wrong (-0.098 where it is -0.148 each). With
#     acc = 0.0, or without the loop, the call-time check refuses it (ComplexNotSupportedError:
#     "took as real ... holds complex numbers"), as docs/complex.md says. Forward mode is right.
#     Found by the 20,000-program run (seed 2026, index 11920).
def complex_call_in_loop(x, v):
    acc = 0j
    for e in v:
        acc = acc + e * complex(x, 0.5)
    return np.abs(acc) ** 2


# 45. Fixed at 3e467d2 (linear algebra on complex matrices). Both modes: the determinant of
#     a complex matrix that is singular everywhere (rank 1): det is 0 for every a, so its
#     gradient is 0, but at 3863165 both modes gave [2.94, 0.74] here (det(A) A^-T of a
#     singular A is rounding noise times a huge inverse); the real np.outer(a, b) gave 1e-16.
#     Found by the 20,000-program run (seed 2026, index 8335: np.linalg.det(M @ M.T) with
#     M = np.outer(..., v) and v complex).
def det_of_singular_complex(a, z):
    return np.imag(np.linalg.det(np.outer(a, z)))


Z2 = np.array([0.3 + 1j, -1.2 + 0.5j])


# 46. Reverse mode: the scipy.special rules of holomorphic functions gamma, rgamma, jv, yv
#     and iv (added after ec9ab1d) do not conjugate their primals for a complex argument
#     (they are not in complex_rules.CONJUGATED_PRIMALS): the real part of the gradient
#     comes out with the wrong sign (0.32 - 0.09j where it is -0.32 - 0.09j). Forward mode
#     is right. Found by the CI run of the widened fuzzer (seed 0, index 443: rgamma of
#     np.tanh of a complex m). 47. scipy.special.ive (exp(-|Re z|) iv(v, z), not
#     holomorphic) of a complex argument: wrong in both modes.
def gamma_family_of_complex(z):
    return np.sum(np.imag(scipy.special.gamma(z)) + np.imag(scipy.special.rgamma(z)))


def bessel_of_complex(z):
    return np.sum(np.imag(scipy.special.jv(1.5, z) + scipy.special.yv(1, z)
                          + scipy.special.iv(1, z)))


def ive_of_complex(z):
    return np.sum(np.imag(scipy.special.ive(1, z)))


ZS = np.array([1.5 + 0.3j, 1.2 - 0.2j])


# 48. Reverse mode: a rule for real values only (scipy.stats.norm.logsf, np.maximum) given a
#     complex operand that is not differentiated was followed: the partial in x read the
#     complex loc that SciPy casts to real (relative error 0.2). Forward mode refuses. Found
#     by the fuzzer (seed 19191, index 938: logsf with loc 0.5 * np.sum(v) of a complex v).
def real_rule_with_complex_constant(x):
    return np.sum(np.maximum(x, np.array([1.0 + 1j, 1.0 - 1j])).real)


def normal_logsf_with_complex_loc(x, v):
    return np.imag(np.sum(np.tanh(scipy.stats.norm.logsf(x, 0.5 * np.sum(v), 1.5))))


# 49. Reverse mode, a real program: the adjoints of np.imag and np.angle (1j * g, ...) gave a
#     real argument a complex cotangent, which reverse mode kept in real programs (it takes
#     the real part only where a program has complex values). A second such adjoint turned
#     its imaginary part real: np.imag(np.imag(v)), v.imag.imag, np.imag(np.angle(v)) and
#     np.angle(np.angle(v) - 1.0) (all constant) gave v a gradient of -1 or -1 / v, silently.
#     50. Added into a real cotangent in place (the code made for these shapes turns
#     dv = dv + ... into dv += ...), it raised numpy's UFuncTypeError from generated code.
#     Found by the fuzzer (seed 22222, index 2460: np.angle(np.exp(d["w"] * v)) next to
#     np.stack([np.sin(m), m + v], axis=2)).
def parts_of_real_values(v):
    return (np.sum(np.imag(np.imag(v))) + np.sum(v.imag.imag) + np.sum(np.imag(np.angle(v)))
            + np.sum(np.angle(np.angle(v) - 1.0)) + np.sum(v))


def angle_of_real_next_to_broadcast(v, m):
    return np.sum(np.angle(v)) + np.sum(m + v)


# 51. Forward over forward (hessian(f, mode="forward"), hvp(..., mode="forward")): every
#     np.angle was refused with a DerivativeConversionError that blamed the user's line for
#     "turning a value being differentiated into a plain NumPy array": the rule's tangent
#     called np.asarray on its argument, a dual number there. Found while fixing 49.
def angle_then_cube(v):
    return np.sum(np.angle(v * (1.0 + 1.0j)) ** 2) + np.sum(np.angle(v)) + np.sum(v ** 3)


# 52. Reverse mode: a ** b of a Python float a is complex for a negative a and a b not
#     integral ((-2.0) ** 1.5), where NumPy's power gives nan; the kind analysis took it as
#     real, so abs(x ** 1.5) at x = -2.0 had the gradient 2.12 where it is -2.12, silently.
#     (Forward mode computes x ** 1.5 with NumPy's power: nan for the value and gradient.)
#     Found by hand while fixing 49.
def power_of_negative_python_float(x):
    return abs(x ** 1.5)


# 53. Reverse mode refused x += np.where((0.5 > 0.0) & (0.5 > 0.0), 0.5, 0.5); t0 = x;
#     x += 0.5 of a number x ("a write into x_2 that t0 sees"): the rank of a & b was not
#     known, so x might have become an array, updated in place by the second +=. Found by the
#     slow second-order run of test_fuzz.py (hypothesis seed 33333).
def mask_and_in_place_number(x, v):
    x += np.where((0.5 > 0.0) & (0.5 > 0.0), 0.5, 0.5)
    t0 = x
    x += 0.5
    return np.sum(t0) + np.sum(x) + np.sum(v)


RIGHT_OR_REFUSED = "right or refused"
"""``expected`` for the entries above: central differences, or an AutodiffError."""


@dataclass(frozen=True)
class Regression:
    function: Any
    args: tuple
    wrt: tuple[int, ...]
    expected: Any
    """A tuple of gradients (closed form), an AutodiffError subclass to be raised, or None
    to check against central differences only. In the second-order modes ("reverse over
    reverse", "forward over reverse", "forward over forward"): a tuple of rows of Hessian
    blocks, or None."""
    modes: tuple[str, ...] = ("reverse", "forward")
    broken: tuple[str, ...] = ()
    """Modes in which this is an open bug (expected to fail, strictly)."""
    reason: str = ""
    rebind: Any = None
    """For the modes "reverse after rebind" and "forward after rebind": a callable that
    rebinds what the function reads and returns a callable that undoes it."""

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


def _open(function, args, wrt, broken, reason, modes=("reverse", "forward"), rebind=None):
    return Regression(function, args, wrt, RIGHT_OR_REFUSED, modes=modes, broken=broken,
                      reason=reason, rebind=rebind)


BOTH = ("reverse", "forward")
REVERSE = ("reverse",)
# Entries with broken=() were open when added and are fixed at d65982d (4b8ecc4 for reverse
# mode's aliasing and views, 7c66775 for reverse
# mode's writing calls and conversions, 5f74ed8 for forward mode's aliasing, f4743fc for
# rebound globals and edited files, 39214fd and e045a88 for the rules): they stay as
# regressions; their reasons say what was wrong.
REGRESSIONS += [
    _open(alias_then_iadd, (0.7, V), (0, 1), (), "b = a; b += x is lost"),
    _open(slice_view_then_imul, (0.7, V), (0, 1), (), "w = a[:2]; w *= x is lost"),
    _open(reshape_view_then_store, (0.7, M), (0, 1), (), "a.reshape(-1) store is lost"),
    _open(transpose_view_then_store, (0.7, M), (0, 1), (), "a.T store is lost"),
    _open(view_read_after_base_store, (0.7, V), (0, 1), (),
          "a view read after a store into its base"),
    _open(row_view_assigned, (V, M), (0, 1), (), "row[:] = v through a row view is lost"),
    _open(expand_dims_view_then_store, (0.7, V), (0, 1), (),
          "np.expand_dims view store is lost"),
    _open(out_ufunc, (V,), (0,), (), "out= is ignored by reverse mode"),
    _open(out_on_itself, (V,), (0,), (), "out= is ignored by reverse mode"),
    _open(out_reduction, (M,), (0,), (), "out= is ignored by reverse mode"),
    _open(copyto_call, (V,), (0,), (), "np.copyto is ignored by reverse mode"),
    _open(put_call, (0.7, V), (0, 1), (), "np.put is ignored by reverse mode"),
    _open(place_call, (V,), (0,), (), "np.place is ignored by reverse mode"),
    _open(fill_diagonal_call, (0.7, M), (0, 1), (),
          "np.fill_diagonal is ignored by reverse mode"),
    _open(add_at_call, (V,), (0,), (), "np.add.at is ignored by reverse mode"),
    _open(put_along_axis_call, (0.7, M), (0, 1), (),
          "np.put_along_axis is ignored by reverse mode"),
    _open(sort_method, (V,), (0,), (),
          "y.sort() is ignored by reverse mode; forward mode raises AttributeError"),
    _open(setitem_method, (M,), (0,), (), "y.__setitem__ is ignored by reverse mode"),
    _open(fill_method, (0.7, V), (0, 1), (),
          "forward mode: y.fill(x) raises a raw AttributeError"),
    _open(float_conversion, (0.7, V), (0, 1), (), "float(x) gives 0 in reverse mode"),
    _open(reads_global_scalar, (V,), (0,), (),
          "reverse mode keeps a global's value from the first call",
          modes=("reverse after rebind", "forward after rebind"),
          rebind=lambda: (lambda old: lambda: _set_global("SCALE", old))(
              _set_global("SCALE", -0.7))),
    _open(reads_global_function, (V,), (0,), (),
          "reverse mode keeps the function a global named at the first call",
          modes=("reverse after rebind", "forward after rebind"),
          rebind=lambda: (lambda old: lambda: _set_global("ACTIVATION", old))(
              _set_global("ACTIVATION", np.sin))),
    _open(reads_closure_cell, (V,), (0,), (),
          "reverse mode keeps a closure cell's value from the first call",
          modes=("reverse after rebind", "forward after rebind"),
          rebind=lambda: (lambda old: lambda: _rebind_cell(old))(_rebind_cell(-0.7))),
    _open(reads_cell_next_to_a_dict, (V, {"w": V, "b": 0.7}), (0, 1), (),
          "reverse mode keeps a closure cell's value when a dict is differentiated too",
          modes=("reverse after rebind", "forward after rebind"),
          rebind=lambda: (lambda old: lambda: _rebind_cell_next_to_a_dict(old))(
              _rebind_cell_next_to_a_dict(-0.7))),
    _open(edited_after_import, (V,), (0,), (),
          "reverse mode differentiates the edited file, not the code that runs"),
    Regression(false_alias_after_loop, (0.3, V), (0, 1), None, modes=REVERSE,
               reason="false aliasing refusal: a write into t2 that x sees (fixed)"),
    Regression(false_alias_internal_name, (0.3, V, M), (0, 1, 2), None,
               reason="false aliasing refusal naming t0_item (fixed)"),
    Regression(helper_tuple_indexed, (0.7, V), (0, 1), None),
    _open(linspace_of_input, (0.7,), (0,), (), "np.linspace gives 0 in reverse mode"),
    _open(r_of_input, (0.7, V), (0, 1), (), "np.r_ gives 0 in reverse mode"),
    _open(einsum_sublist, (M,), (0,), (), "the einsum sublist form"),
    _open(builtin_max_of_array, (V,), (0,), (),
          "builtin max of an array crashes in generated code"),
    _open(complex_intermediate, (0.7,), (0,), (), "complex intermediates"),
    _open(of_a_dict, (0.5, {"w": V, "b": 0.7}), (0, 1), (),
          "jacrev/jacfwd of a function of a dict", modes=("jacrev", "jacfwd")),
    _open(astype_complex_of_real, (V,), (0,), (),
          "reverse mode: v.astype(complex) of a real argument gave the gradient 0 (fixed)"),
    _open(np_astype_complex, (V,), (0,), (),
          "np.astype(v, complex) gave the gradient 0 in both modes (fixed)"),
    _open(real_and_complex_arguments, (0.5, 1 + 2j), (0, 1), (),
          "jacfwd: a complex block for a real argument next to a complex one (fixed)",
          modes=("jacrev", "jacfwd")),
    Regression(multi_dot_complex, (MC,), (0,), None,
               reason="reverse mode: multi_dot of complex matrices failed in the adjoint "
               "sweep (fixed)"),
    _open(add_at_into_integer_array, (0.7, VI), (0,), (),
          "reverse mode: np.add.at into an integer array: value 0.0 and gradient 0.0, where "
          "NumPy casts each addition back to integers (fixed)"),
    Regression(in_place_subtract_of_imaginary, (V,), (0,), None,
               modes=("forward over forward", "forward over reverse", "reverse over reverse"),
               reason="forward over forward: z -= np.tanh(v) * 1j lost the second derivative "
               "(a real tangent of the complex z; fixed)"),
    _open(complex_call_in_loop, (0.7, V), (1,), (),
          "reverse mode: complex(x, 0.5) in a loop into a complex accumulator: wrong, not "
          "refused (fixed)"),
    Regression(det_of_singular_complex, (C2, Z2), (0,), None,
               reason="det of a singular complex matrix: a gradient of rounding noise (fixed)"),
]

if HAVE_SCIPY:
    REGRESSIONS += [
        _open(gamma_family_of_complex, (ZS,), (0,), (),
              "reverse mode: scipy.special.gamma and rgamma of complex values, unconjugated "
              "(fixed)"),
        _open(bessel_of_complex, (ZS,), (0,), (),
              "reverse mode: scipy.special.jv, yv and iv of complex values, unconjugated "
              "(fixed)"),
        _open(ive_of_complex, (ZS,), (0,), (),
              "scipy.special.ive of complex values: wrong in both modes (refused now: "
              "exp(-|Re z|) is not holomorphic)"),
        Regression(normal_logsf_with_complex_loc, (C2, ZS), (0,),
                   autodiffx.ComplexNotSupportedError,
                   reason="reverse mode: a complex loc, not differentiated, went into the "
                   "partial in x (fixed: refused, as forward mode does)"),
    ]

REGRESSIONS += [
    Regression(parts_of_real_values, (V,), (0,), (np.ones(3),),
               reason="reverse mode: 1j * g, the adjoint of np.imag and np.angle, kept complex "
               "for a real argument (fixed)"),
    Regression(angle_of_real_next_to_broadcast, (V, M), (0, 1),
               (np.full(3, 2.0), np.ones((2, 3))),
               reason="reverse mode: a complex cotangent added in place into a real one "
               "(UFuncTypeError; fixed)"),
    Regression(parts_of_real_values, (V,), (0,), ((np.zeros((3, 3)),),),
               modes=("reverse over reverse", "forward over reverse", "forward over forward")),
    Regression(power_of_negative_python_float, (-2.0,), (0,),
               autodiffx.ComplexNotSupportedError, modes=REVERSE,
               reason="reverse mode: (-2.0) ** 1.5, complex in Python, taken as real: a wrong "
               "gradient (fixed: refused)"),
    Regression(power_of_negative_python_float, (2.0,), (0,), (1.5 * 2.0 ** 0.5,)),
    Regression(mask_and_in_place_number, (0.3, V), (0, 1), (2.0, np.ones(3))),
    Regression(mask_and_in_place_number, (0.3, V), (0,), ((0.0,),),
               modes=("reverse over reverse", "forward over reverse")),
    Regression(angle_then_cube, (V,), (0,), ((np.diag(6.0 * V),),),
               modes=("reverse over reverse", "forward over reverse", "forward over forward"),
               reason="forward over forward: np.angle's tangent called np.asarray on a dual "
               "number (a DerivativeConversionError blaming the user's line; fixed)"),
]

REGRESSIONS.append(
    Regression(real_rule_with_complex_constant, (C2,), (0,), autodiffx.ComplexNotSupportedError,
               reason="reverse mode: np.maximum with a complex constant was followed "
               "(fixed: refused, as forward mode does)"))

REGRESSIONS.append(
    Regression(
        hessian_of_scalar_times_sum,
        (0.5, V),
        (0, 1),
        ((0.0, np.ones(3)), (np.ones(3), np.zeros((3, 3)))),
        modes=("forward over reverse", "reverse over reverse"),
        reason="forward over reverse: ValueError: assignment destination is read-only "
        "(forward/dual.py _ensure_mirror on the np.broadcast_to adjoint; fixed)",
    )
)

KNOWN_OPEN: dict[str, tuple[tuple[str, ...], str | tuple[str, ...]]] = {
    # A failure class of the widened fuzzer (a construct of constructs.py, or an input
    # feature, as harness.failure_class names it) -> (the families it fails in: "reverse",
    # "forward", "second order", or single checks such as "jacrev"; the regression(s) above
    # that reproduce it). A key naming a check is a bug of that check whatever the program.
    #
    # This table must shrink to empty: when a fix makes a regression pass, its strict xfail
    # fails; delete the regression's `broken` and the entries here that name it. The CI
    # fuzzer fails on any failure of a class not listed here. It follows HEAD 377e65c: the
    # complex-number classes found at ec9ab1d are fixed.
}
