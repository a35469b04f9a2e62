"""Reverse mode on complex numbers, in the convention of ``docs/complex.md``.

The generated code is specialised to the kind of each argument (real or complex), and a
kind analysis (``autodiffx/reverse/kinds.py``) finds the values that may be complex inside:
there the adjoints of the rules that need it read the conjugates of their primal values,
and a real value's cotangent keeps its real part. Each case is checked against central
differences in the real and the imaginary direction of every entry, and against forward
mode; the code of real programs must not change.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx import grad, jvp, vjp
from tests.forward.test_complex import LOSSES, numeric_gradient, smooth_point

try:  # the scipy extra
    import scipy.stats
except ImportError:
    scipy = None


def real_numeric_gradient(f, x, step=1e-6):
    x = np.asarray(x, dtype=float)
    gradient = np.zeros(x.shape)
    for index in np.ndindex(*x.shape):
        delta = np.zeros(x.shape)
        delta[index] = step
        gradient[index] = (f(x + delta) - f(x - delta)) / (2 * step)
    return gradient if x.shape else float(gradient)


def check(loss, *args, wrt=0, forward=True):
    """Reverse mode against central differences and forward mode (which refuses stores
    into arrays, ``forward=False``), for each ``wrt``."""
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    reverse = grad(loss, wrt=wrt)(*args)
    forward = grad(loss, wrt=wrt, mode="forward")(*args) if forward else reverse
    reverse = reverse if isinstance(wrt, tuple) else (reverse,)
    forward = forward if isinstance(wrt, tuple) else (forward,)
    for position, got, other in zip(positions, reverse, forward, strict=True):
        given = args[position]

        def partial(value, position=position):
            changed = list(args)
            changed[position] = value
            return loss(*changed)

        if np.iscomplexobj(given):
            expected = numeric_gradient(partial, given)
        else:
            expected = real_numeric_gradient(partial, given)
            assert not np.iscomplexobj(got), "a real argument's gradient is real"
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got, other, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda f: f.__name__)
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_losses_of_forward_mode_in_reverse_mode(loss, seed):
    check(loss, smooth_point(seed))


def products(z, w, x):
    """Products of complex and real values: the conjugates of multiply, divide, matmul,
    dot, outer, einsum and power, and real cotangents for the real x."""
    a = np.outer(z, w) @ np.conj(w) + x * z
    b = np.einsum("i,i->", z, x) / (w[0] + 2.0)
    c = np.dot(z, np.flip(z)) ** 2
    return np.sum(np.abs(a) ** 2) + np.real(b * c) + np.sum(np.real(z ** 3) * x)


def functions(z, x):
    """Holomorphic functions of complex values mixed with real ones."""
    u = np.exp(0.3 * z) * np.sin(z) + np.sqrt(z + 3.0) - np.log(z * z + 4.0)
    v = np.tanh(z / 4.0) + np.reciprocal(z + 5.0) + np.square(np.cosh(z / 5.0)) * x
    return np.sum(np.real(u) * x) + np.sum(np.imag(v) ** 2) + np.sum(np.abs(u + v))


def spectrum(x):
    """A real signal whose spectrum is complex inside: |rfft|, fft2, ifft and irfft."""
    s = np.fft.rfft(x)
    m = np.fft.fft2(np.reshape(x, (2, 4)))
    back = np.fft.irfft(s * np.exp(1j * np.arange(5) / 3.0), 8)
    return np.sum(np.abs(s)) + np.sum(np.abs(m) ** 2) / 7 + np.sum(back * x) + np.sum(
        np.real(np.fft.ifft(m * 1j, axis=0)))


def in_a_loop(z, x):
    """Complex values carried through a loop, with a store into a complex array."""
    total = 0.0
    state = z
    out = np.zeros(3, dtype=complex)
    for k in range(3):
        state = state * (x[k] + 1j * 0.1) + z / (k + 2.0)
        out[k] = np.sum(state * np.conj(z))
        total = total + np.abs(state[k]) ** 2
    return total + np.sum(np.real(out) * x) + np.sum(np.imag(out))


def real_then_complex(z, x):
    """A name that holds a real value (|z|) and then complex ones: the cotangent reaching
    the real one is made real where it is made (np.abs's adjoint would turn a stray
    imaginary part into a wrong real one)."""
    s = np.abs(z)
    for k in range(2):
        s = s * z + x * k
    parts = [np.abs(s), s]  # a list of real and complex values
    return sum(np.sum(np.real(p * np.conj(p)) + np.real(p) ** 3) for p in parts)


def casts(v):
    """Casts to complex, as users write them."""
    a = v.astype(complex) * 1j
    b = np.astype(v, np.complex128) + 0.5j
    c = (v + 0j) ** 2
    return np.sum(np.imag(a) + np.abs(b) ** 2 + np.real(c * np.conj(a)))


def chained_products(m):
    return np.sum(np.real(np.linalg.multi_dot([m, m.T, m * 1j])))


def complex_of_a_constant(x, v):
    acc = 0j
    for e in v:
        acc = acc + e * complex(x, 0.5)
    return np.abs(acc) ** 2


def _rotate(z, angle):
    return z * np.exp(1j * angle)


def through_a_call(z, angle):
    """A user function called with a complex value and a real one."""
    turned = _rotate(z, angle)
    return np.sum(np.real(turned) ** 2 + 3 * np.imag(turned))


def attributes_and_methods(z):
    """``.real``, ``.imag``, ``.conj()`` and ``.conjugate()``, as users write them."""
    w = z.conjugate() * 2 + z.conj().imag
    return np.sum(z.real ** 2 + 3 * z.imag) + np.abs(w.sum()) + np.sum((z * w).real)


def vectors(seed, n=4):
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.3, 1.5, n) * np.exp(1j * rng.uniform(-np.pi, np.pi, n))
    w = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    x = rng.uniform(0.5, 1.5, n)
    return z, w, x


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_products_of_complex_and_real_values(seed):
    z, w, x = vectors(seed)
    check(products, z, w, x, wrt=(0, 1, 2))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_holomorphic_functions_mixed_with_real_ones(seed):
    z, _, x = vectors(seed)
    check(functions, z, x, wrt=(0, 1))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_real_signal_through_the_ffts(seed):
    x = np.random.default_rng(seed).standard_normal(8)
    check(spectrum, x)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_complex_values_in_a_loop_and_a_store(seed):
    z, _, x = vectors(seed, 3)
    check(in_a_loop, z, x, wrt=(0, 1), forward=False)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_casts_products_of_lists_and_complex_constructors(seed):
    """Found by the fuzzer: a cast to complex passed no derivative (both modes for
    np.astype), multi_dot conjugated its list as one array, complex(x, 0.5) in a loop was
    taken as real (silently wrong)."""
    z, w, x = vectors(seed, 3)
    check(casts, x)
    check(chained_products, np.reshape(np.concatenate([z, w, x]), (3, 3)))
    check(complex_of_a_constant, 0.7, x, wrt=1)


def test_gradients_have_their_arguments_kind():
    """A complex argument's gradient is complex (even where no imaginary part reached
    it), a real one's real, in every transform and in both modes."""

    def f(x, z):
        return np.stack([np.real(x * z), np.real(z) * 2.0])

    for jacobian in (autodiffx.jacfwd, autodiffx.jacrev):
        dx, dz = jacobian(f, wrt=(0, 1))(0.5, 1 + 2j)
        assert not np.iscomplexobj(dx) and np.iscomplexobj(dz)
        np.testing.assert_allclose(dx, [1.0, 0.0])
        np.testing.assert_allclose(dz, [0.5, 2.0])
    for mode in ("reverse", "forward"):
        dx, dz = grad(lambda x, z: np.sum(f(x, z)), wrt=(0, 1), mode=mode)(0.5, 1 + 2j)
        assert isinstance(dx, float) and isinstance(dz, complex)


class _Model:
    def __init__(self, scale):
        self.scale = scale


def attribute_in_a_loop(z, model):
    total = 0.0
    for _ in range(2):
        total = total + np.abs(z * model.scale) ** 2
    return np.sum(total)


def test_a_value_taken_as_real_inside_a_loop_of_complex_code_is_refused():
    with pytest.raises(autodiffx.ComplexNotSupportedError, match="loop") as caught:
        grad(attribute_in_a_loop)(np.array([1 + 1j]), _Model(2j))
    assert caught.value.location is not None
    z = np.array([1 + 1j])
    np.testing.assert_allclose(grad(attribute_in_a_loop, mode="forward")(z, _Model(2j)),
                               2 * 2 * 4 * z)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_name_bound_to_real_and_to_complex_values(seed):
    z, _, x = vectors(seed, 3)
    check(real_then_complex, z, x, wrt=(0, 1))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_call_with_complex_and_real_arguments(seed):
    z, _, x = vectors(seed)
    check(through_a_call, z, 0.7, wrt=(0, 1))
    check(through_a_call, x, 0.7, wrt=(0, 1))  # the same callee, real arguments


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_attributes_and_methods_of_complex_arrays(seed):
    z, _, x = vectors(seed)
    check(attributes_and_methods, z)
    check(attributes_and_methods, x)


def eigen_sizes(a):
    """Eigenvalues of a general matrix, real or complex by the data, and the moduli of
    the eigenvectors (which do not depend on their phases)."""
    w, v = np.linalg.eig(a)
    return np.sum(np.real(w) * 2 + np.imag(w) ** 2) + np.sum(np.abs(v) ** 3)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), turn=st.floats(-2.0, 2.0))
def test_eig_of_real_matrices_with_real_or_complex_eigenvalues(seed, turn):
    """The same code for both: the eigenvalues' kind is decided by the data, and the
    cotangent of the eigenvalues keeps its real part only when they are real."""
    rng = np.random.default_rng(seed)
    a = np.diag([1.0, 2.5, -1.5]) + 0.3 * rng.standard_normal((3, 3))
    a[0, 1] -= turn
    a[1, 0] += turn  # a rotation part: complex eigenvalues once |turn| is large enough
    w = np.linalg.eigvals(a)
    gaps = np.abs(w[:, None] - w[None, :]) + np.eye(3)
    if np.min(gaps) < 0.2 or np.min(np.abs(np.imag(w))[np.abs(np.imag(w)) > 0], initial=1) < 0.05:
        return  # near a repeated eigenvalue, or a pair about to meet the real axis
    check(eigen_sizes, a)
    check(eigen_sizes, a + 0.2j * rng.standard_normal((3, 3)))


@pytest.mark.parametrize("a, eigenvalues", [
    (np.array([[0.3, -1.0], [1.0, 0.2]]), "complex"),
    (np.array([[2.0, 0.5], [0.3, -1.0]]), "real"),
])
def test_eig_of_a_rotation_and_of_a_stretch(a, eigenvalues):
    assert np.iscomplexobj(np.linalg.eigvals(a)) == (eigenvalues == "complex")
    check(eigen_sizes, a)


def test_the_squared_modulus_and_parseval_closed_forms():
    """|z|^2 has gradient 2z; sum |fft(x)|^2 = n sum |x|^2 has gradient 2 n x."""
    assert grad(lambda z: np.abs(z) ** 2)(3 + 4j) == pytest.approx(6 + 8j)
    x = np.array([1.0, 2.0, -1.0, 0.5])
    np.testing.assert_allclose(grad(lambda v: np.sum(np.abs(np.fft.fft(v)) ** 2))(x), 8 * x)
    z = x * np.exp(1j * x)
    np.testing.assert_allclose(grad(lambda v: np.sum(np.abs(np.fft.fft(v)) ** 2))(z), 8 * z)


@settings(max_examples=20, deadline=None)
@given(z=st.complex_numbers(min_magnitude=0.2, max_magnitude=3.0))
def test_holomorphic_gives_the_complex_derivative(z):
    np.testing.assert_allclose(grad(lambda v: np.sin(v), holomorphic=True)(z), np.cos(z))
    np.testing.assert_allclose(grad(lambda v: v ** 3 + np.exp(v), holomorphic=True)(z),
                               3 * z ** 2 + np.exp(z), rtol=1e-12)
    values = np.array([z, 2 * z])
    np.testing.assert_allclose(grad(lambda v: np.sum(np.log(v)), holomorphic=True)(values),
                               1 / values)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_vjp_of_a_complex_value_is_the_transpose_of_jvp(seed):
    """<w, J v> = <J^T w, v> in the real inner product Re(sum(conj(a) b))."""
    z, w, _ = vectors(seed)
    rng = np.random.default_rng(seed + 1)
    v = rng.standard_normal(4) + 1j * rng.standard_normal(4)

    def f(z):
        return np.fft.fft(z * np.exp(0.2 * z)) + np.conj(z) * 2j

    _, pullback = vjp(f, z)
    (pulled,) = pullback(w)
    _, pushed = jvp(f, (z,), (v,))
    assert np.real(np.vdot(w, pushed)) == pytest.approx(np.real(np.vdot(pulled, v)))


def test_real_programs_get_the_real_code():
    def loss(x):
        return np.sum(np.sin(x) * x)

    text = autodiffx.source(grad(loss), np.ones(3))
    assert "conj" not in text and "np.real" not in text
    text = autodiffx.source(grad(loss), np.ones(3) + 0j)
    assert "np.conj(x)" in text


def test_the_code_for_complex_values_conjugates_where_the_maths_does():
    def energy(z, w):
        return np.sum(np.abs(z * w) ** 2)

    z = np.array([1 + 1j, 2 - 1j])
    w = np.array([0.5, -2.0])
    text = autodiffx.source(grad(energy, wrt=(0, 1)), z, w)
    assert "dz = unbroadcast(dzw * w, z)" in text  # w is real: no conjugate
    assert "dw = np.real(unbroadcast(dzw * np.conj(z), w))" in text  # a real cotangent
    dz, dw = grad(energy, wrt=(0, 1))(z, w)
    np.testing.assert_allclose(dz, 2 * z * w ** 2)
    np.testing.assert_allclose(dw, 2 * w * np.abs(z) ** 2)


def test_a_real_argument_then_a_complex_one_gets_two_codes():
    def loss(z):
        return np.sum(np.abs(z * z) ** 2)

    g = grad(loss)
    x = np.array([1.0, -2.0])
    z = np.array([1 + 1j, 0.5j])
    np.testing.assert_allclose(g(x), 4 * x ** 3)
    np.testing.assert_allclose(g(z), 4 * np.abs(z) ** 2 * z)
    np.testing.assert_allclose(g(x), 4 * x ** 3)


def on_the_cuts(z):
    return np.sum(np.real(np.sqrt(z) * 1j) + np.imag(np.log(z)) * 2 + np.angle(z) ** 2)


@settings(max_examples=20, deadline=None)
@given(size=st.floats(0.2, 3.0), below=st.booleans())
def test_branch_cuts_follow_the_side_the_signed_zero_names(size, below):
    """On the negative real axis NumPy's sqrt, log and angle take the side that the sign
    of the zero imaginary part names; reverse mode's derivative is the one from that side,
    as forward mode's (docs/complex.md, "Branch cuts and kinks")."""
    z = np.array([complex(-size, -0.0 if below else 0.0), complex(0.5, 1.0)])
    reverse = grad(on_the_cuts)(z)
    np.testing.assert_allclose(reverse, grad(on_the_cuts, mode="forward")(z), rtol=1e-12)
    side = -1e-4 if below else 1e-4  # differences taken just off the cut, on that side
    shifted = z + np.array([1j * side, 0])
    np.testing.assert_allclose(reverse, numeric_gradient(on_the_cuts, shifted), rtol=1e-3,
                               atol=1e-3)


# --------------------------------------------------------------------------- second order


def quartic(z):
    return np.sum(np.real(z ** 3 * np.conj(z)) + np.imag(z) ** 2 * np.real(z))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_hessian_vector_products_of_complex_inputs(seed):
    """H v, H the real Hessian in (x, y) packed as complex numbers: the derivative of the
    gradient along v, in both inner modes."""
    z, v, _ = vectors(seed, 3)
    step = 1e-6
    expected = (grad(quartic)(z + step * v) - grad(quartic)(z - step * v)) / (2 * step)
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(autodiffx.hvp(quartic, (z,), (v,), mode=mode), expected,
                                   rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("outer", ["reverse", "forward"])
@pytest.mark.parametrize("inner", ["reverse", "forward"])
def test_a_gradient_inside_a_function_of_complex_values(outer, inner):
    """Reverse over forward and both forward outers are differentiated; reverse over
    reverse is refused, naming forward over reverse."""
    z = np.array([1 + 0.5j, -0.3 + 1j])
    gradient = grad(quartic, mode=inner)

    def projected(a):
        return np.real(np.sum(gradient(a) * np.array([1.0, 2.0 - 1j])))

    if (outer, inner) == ("reverse", "reverse"):
        with pytest.raises(autodiffx.UnsupportedSyntaxError, match="forward over reverse"):
            grad(projected)(z)
        return
    np.testing.assert_allclose(grad(projected, mode=outer)(z),
                               numeric_gradient(projected, z), rtol=1e-5, atol=1e-5)


def spectrum_of_a_scalar(x):
    return np.sum(np.real(np.fft.fft(x * np.array([1.0, 2.0, 0.5]) + 1j) ** 3))


def every_transform_of_a_scalar(x):
    """Each FFT with its n, axis (or s, axes) and norm: reverse over reverse reads the
    adjoint helpers (unfft, unrfft, ...) as linear maps whose adjoints are the transforms."""
    v = x * np.array([1.0, 2.0, 0.5, -1.0]) + np.array([0.0, 0.3, -0.2, 1.0])
    m = np.reshape(v, (2, 2)) * x
    parts = [np.fft.fft(v, 6, norm="ortho"), np.fft.ifft(v * 1j, 3), np.fft.rfft(v, 5),
             np.fft.irfft(np.fft.rfft(v) * x, 4, norm="forward"),
             np.fft.fftn(m, (3, 2), axes=(0, 1)), np.fft.ifftn(m, axes=(0,)),
             np.fft.rfftn(m), np.fft.irfftn(np.fft.rfftn(m), (2, 2), axes=(0, 1))]
    return sum(np.sum(np.real(p * np.conj(p)) + np.real(p) ** 3) for p in parts)


@pytest.mark.parametrize("loss", [spectrum_of_a_scalar, every_transform_of_a_scalar],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("outer", ["reverse", "forward"])
@pytest.mark.parametrize("inner", ["reverse", "forward"])
def test_second_derivative_of_a_real_scalar_through_complex_values(outer, inner, loss):
    step = 1e-5
    first = grad(loss)
    expected = (first(0.7 + step) - first(0.7 - step)) / (2 * step)
    second = grad(grad(loss, mode=inner), mode=outer)(0.7)
    assert isinstance(second, float) and second == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------- refusals


def _outside(x):
    return np.roots(x)  # a function without a rule: its values are constants


def made_by_a_call_without_a_rule(x):
    r = _outside(np.array([1.0, 0.0, 1.0]))  # roots of t^2 + 1: +-1j
    return np.sum(np.abs(x * r) ** 2)


def test_a_value_taken_as_real_that_is_complex_is_refused_not_differentiated():
    with pytest.raises(autodiffx.ComplexNotSupportedError, match="took as real"):
        grad(made_by_a_call_without_a_rule)(np.array([1.0, 2.0]))
    # forward mode follows the value wherever it comes from
    np.testing.assert_allclose(grad(made_by_a_call_without_a_rule, mode="forward")(
        np.array([1.0, 2.0])), 2 * np.array([1.0, 2.0]))  # |x r|^2 = x^2


def power_of_python_numbers(x, v):
    s = x * 2.0 - 1.0  # a Python float when x is one
    return abs(s ** 1.5) + np.sum(v)


def power_of_a_negative_literal(x):
    return abs((-2.0) ** x)


def power_of_numpy_values(x, v):
    t = np.sum(v) * x - 1.0  # a NumPy scalar: its power is nan for a negative base
    return np.sum(np.abs(v) ** 1.5) + np.sum(v ** 2) ** 0.5 + t ** 2.0 + np.abs(t) ** 0.5


def test_power_of_python_numbers_is_checked_for_complex_values():
    """(-2.0) ** 1.5 is complex in Python (nan in NumPy): reverse mode took a ** b of real
    values as real, and gave abs(s ** 1.5) a wrong gradient at a negative s. Such a power of
    Python numbers is checked at call time: refused where complex, right where real."""
    v = np.array([0.5, -1.0])
    with pytest.raises(autodiffx.ComplexNotSupportedError, match="Python numbers"):
        grad(power_of_python_numbers)(0.0, v)  # s = -1.0
    with pytest.raises(autodiffx.ComplexNotSupportedError, match="took as real"):
        grad(power_of_a_negative_literal)(1.5)
    x = 2.0  # s = 3.0
    np.testing.assert_allclose(grad(power_of_python_numbers)(x, v), 2.0 * 1.5 * 3.0 ** 0.5)


def test_power_of_numpy_values_is_not_checked(monkeypatch):
    """A power of NumPy values (an array, np.sum(v)) is never complex: no call-time check,
    which would also keep grad from its gradient without the value."""
    import autodiffx.reverse as reverse

    def refuse(*args, **kwargs):
        raise AssertionError("checked")

    monkeypatch.setattr(reverse, "check_real", refuse)
    v = np.array([0.5, -1.0])
    x = 2.0
    t = np.sum(v) * x - 1.0
    expected_x = np.sum(v) * (2.0 * t + 0.5 * np.sign(t) * np.abs(t) ** -0.5)
    np.testing.assert_allclose(grad(power_of_numpy_values)(x, v), expected_x)


def _sign(a):
    return np.sum(np.abs(np.sign(a) * a) ** 2)


def _maximum(a):
    return np.sum(np.abs(np.maximum(a, 1.0)) ** 2)


def _nan_to_num(a):
    return np.sum(np.abs(np.nan_to_num(a)) ** 2)


class _Table:
    """A container reverse mode cannot see into."""

    def __init__(self, values):
        self.values = values

    def __getitem__(self, index):
        return self.values[index]


def read_from_an_object(x, table):
    return np.sum(np.abs(x * table[0]) ** 2)


def test_values_read_out_of_an_object_argument_are_checked():
    """table[0] of an object is taken as real when the code is made, then checked: a
    complex one is refused, a real one differentiated (|x t|^2 has gradient 2 x |t|^2)."""
    x = np.array([1.0, 2.0])
    with pytest.raises(autodiffx.ComplexNotSupportedError, match="took as real"):
        grad(read_from_an_object)(x, _Table([np.array([1j, 2.0])]))
    np.testing.assert_allclose(grad(read_from_an_object, mode="forward")(
        x, _Table([np.array([1j, 2.0])])), 2 * x * np.array([1.0, 4.0]))
    np.testing.assert_allclose(grad(read_from_an_object)(x, _Table([np.array([3.0, 2.0])])),
                               2 * x * np.array([9.0, 4.0]))


@pytest.mark.parametrize("loss", [_sign, _maximum, _nan_to_num], ids=lambda f: f.__name__)
def test_rules_for_real_values_only_are_refused_on_complex_ones(loss):
    """np.sign is constant on real values only; np.maximum's partials and np.nan_to_num's
    adjoint hold for real values only. On real values they are differentiated."""
    with pytest.raises(autodiffx.ComplexNotSupportedError, match="real values only") as caught:
        grad(loss)(np.array([1 + 1j, 2.0]))
    assert caught.value.location is not None
    x = np.array([1.5, -2.0])
    np.testing.assert_allclose(grad(loss)(x), real_numeric_gradient(loss, x), atol=1e-6)


def normal_of_a_complex_location(v):
    return np.sum(np.imag(scipy.stats.norm.logpdf(0.3, v, 1.5)))


@pytest.mark.skipif(scipy is None, reason="needs the scipy extra")
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_scipy_stats_norm_refuses_complex_values(mode):
    """SciPy casts a complex loc to real (a ComplexWarning): the function never sees the
    imaginary part, so complex values are refused, not followed (reverse mode was silently
    wrong: found by the fuzzer)."""
    with pytest.raises(autodiffx.ComplexNotSupportedError):
        grad(normal_of_a_complex_location, mode=mode)(np.array([0.2 + 0.3j, -0.4 + 0.1j]))


def test_a_complex_cotangent_for_a_real_output_is_refused():
    _, pullback = vjp(lambda x: np.sin(x), np.array([1.0, 2.0]))
    with pytest.raises(autodiffx.ArgumentError, match="real"):
        pullback(np.array([1j, 1.0]))
