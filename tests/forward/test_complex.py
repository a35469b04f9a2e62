"""Forward mode on complex numbers, in the convention of ``docs/complex.md``.

For a real loss L of a complex input z = x + iy, ``grad`` returns dL/dx + i dL/dy: the
direction of steepest ascent packed as a complex number (PyTorch's convention, the
conjugate of JAX's and autograd's). Each case here is checked against central differences
in the real and in the imaginary direction of every entry. A complex-valued function has no
gradient (refused, unless ``holomorphic=True``). Reverse mode on the same losses:
``tests/reverse/test_complex.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx import grad, jvp
from autodiffx.forward import Dual, new_level

STEP = 1e-6


def numeric_gradient(f, z):
    """dL/dx + i dL/dy by central differences, entry by entry."""
    z = np.asarray(z, dtype=complex)
    gradient = np.zeros(z.shape, dtype=complex)
    for index in np.ndindex(*z.shape):
        for unit in (1.0, 1j):
            step = np.zeros(z.shape, dtype=complex)
            step[index] = STEP * unit
            gradient[index] += unit * (f(z + step) - f(z - step)) / (2 * STEP)
    return gradient


def fft_energy(z):
    return np.sum(np.abs(np.fft.fft(z)) ** 2)


def squared_modulus(z):
    return np.sum(np.real(z * np.conj(z)))


def spectrum_fit(z):
    target = np.array([1.0, 0.5, 0.25, 2.0, 0.0])
    return np.sum((np.abs(np.fft.fft(z)) - target) ** 2)


def phase_and_size(z):
    return np.sum(np.angle(z) * np.abs(z) + np.log(np.abs(z)))


def holomorphic_inside(z):
    return np.sum(np.real(np.exp(z) * np.sin(z) / (z + 3.0)) + np.imag(z ** 3))


def real_transforms(z):
    signal = np.fft.irfft(z, 8)
    return np.sum(signal ** 2 * np.arange(8)) + np.sum(np.abs(np.fft.rfft(signal)))


def statistics(z):
    return np.var(z) + np.linalg.norm(z) + np.std(z[1:])


def matrices(z):
    a = np.reshape(z[:4], (2, 2)) + 3 * np.eye(2)
    b = np.linalg.solve(a, z[2:4])
    return np.real(np.sum(b * np.conj(b))) + np.abs(np.linalg.det(a)) + np.sum(
        np.abs(np.fft.fftshift(np.fft.fft2(a))) ** 2)


LOSSES = [fft_energy, squared_modulus, spectrum_fit, phase_and_size, holomorphic_inside,
          real_transforms, statistics, matrices]
def smooth_point(seed):
    """Five complex numbers clear of the kinks of these losses: of 0 (|z|, angle), of the
    negative real axis (angle's cut), and of a spectrum with an empty bin (|fft(z)|)."""
    rng = np.random.default_rng(seed)
    while True:
        z = rng.uniform(0.3, 2.0, 5) * np.exp(1j * rng.uniform(-np.pi, np.pi, 5))
        spectra = (np.fft.fft(z), np.fft.fft2(np.reshape(z[:4], (2, 2)) + 3 * np.eye(2)),
                   np.fft.rfft(np.fft.irfft(z, 8)))
        if (np.all(np.abs(z.imag) > 0.05) and all(np.min(np.abs(s)) > 0.05 for s in spectra)
                and np.min(np.abs(z - np.mean(z))) > 0.05):
            return z


@pytest.mark.parametrize("loss", LOSSES, ids=lambda f: f.__name__)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_gradient_of_a_real_loss_matches_central_differences(loss, seed):
    z = smooth_point(seed)
    gradient = grad(loss, mode="forward")(z)
    assert gradient.dtype == complex and gradient.shape == z.shape
    np.testing.assert_allclose(gradient, numeric_gradient(loss, z), rtol=1e-5, atol=1e-5)


def test_the_gradient_of_the_squared_modulus_is_2z():
    """|z|^2 at 3 + 4i: d/dx + i d/dy = 6 + 8i, the ascent direction. JAX and autograd
    return its conjugate 6 - 8i; PyTorch's .grad is 6 + 8i."""
    assert grad(lambda z: np.abs(z) ** 2, mode="forward")(3 + 4j) == 6 + 8j
    z = np.array([1 + 2j, -0.5j, 3.0 + 0j])
    np.testing.assert_allclose(grad(squared_modulus, mode="forward")(z), 2 * z)


def test_fft_energy_gradient_is_2n_z():
    """Parseval: sum |fft(z)|^2 = n sum |z|^2, whose gradient is 2 n z."""
    z = np.array([1 + 2j, 3 - 1j, 0.5 + 0.5j, -1 + 0j])
    np.testing.assert_allclose(grad(fft_energy, mode="forward")(z), 8 * z)


def test_gradient_descent_with_the_gradient_lowers_the_loss():
    z = np.array([0.3 + 1j, -1 + 0.2j, 0.5 - 0.5j, 1j, 2.0 + 0j])
    before = spectrum_fit(z)
    after = spectrum_fit(z - 1e-3 * grad(spectrum_fit, mode="forward")(z))
    assert after < before


def test_a_real_input_to_complex_code_gets_a_real_gradient():
    x = np.array([1.0, 2.0, -1.0, 0.5])
    gradient = grad(fft_energy, mode="forward")(x)
    assert gradient.dtype == float
    np.testing.assert_allclose(gradient, 8 * x)


def test_several_arguments_real_and_complex():
    def loss(z, w):
        return np.sum(np.abs(z * w) ** 2)

    z = np.array([1 + 1j, 2 - 1j])
    w = np.array([0.5, -2.0])
    dz, dw = grad(loss, wrt=(0, 1), mode="forward")(z, w)
    np.testing.assert_allclose(dz, 2 * z * w ** 2)
    np.testing.assert_allclose(dw, 2 * w * np.abs(z) ** 2)


@settings(max_examples=20, deadline=None)
@given(z=st.complex_numbers(min_magnitude=0.2, max_magnitude=3.0))
def test_holomorphic_gives_the_complex_derivative(z):
    """As JAX's holomorphic=True: f'(z) itself, for f holomorphic."""
    np.testing.assert_allclose(grad(np.sin, holomorphic=True, mode="forward")(z), np.cos(z))
    np.testing.assert_allclose(
        grad(lambda z: z ** 3 + np.exp(z), holomorphic=True, mode="forward")(z),
        3 * z ** 2 + np.exp(z), rtol=1e-12)
    z_array = np.array([z, 2 * z])
    np.testing.assert_allclose(
        grad(lambda v: np.sum(np.log(v)), holomorphic=True, mode="forward")(z_array),
        1 / z_array)


def test_jvp_pushes_complex_tangents():
    value, tangent = jvp(np.exp, (1 + 1j,), (1j,))
    assert value == np.exp(1 + 1j) and tangent == pytest.approx(1j * np.exp(1 + 1j))
    value, tangent = jvp(lambda z: np.abs(z) ** 2, (3 + 4j,), (1j,))
    assert tangent == pytest.approx(8.0)  # d/dy (x^2 + y^2) = 2y
    _, tangents = jvp(np.fft.fft, (np.ones(4),), (np.array([1.0, 0, 0, 0]),))
    np.testing.assert_allclose(tangents, np.ones(4))


# --------------------------------------------------------------------------- refusals


def test_grad_of_a_complex_value_is_refused_with_the_ways_out():
    with pytest.raises(autodiffx.ComplexOutputError) as caught:
        grad(lambda z: z ** 2, mode="forward")(1 + 1j)
    assert "jvp" in str(caught.value) and "holomorphic=True" in str(caught.value)
    with pytest.raises(autodiffx.ComplexOutputError):
        grad(lambda x: np.sum(np.fft.fft(x)), mode="forward")(np.ones(3))


def test_holomorphic_needs_complex_inputs_and_a_complex_value():
    with pytest.raises(autodiffx.ArgumentError, match="complex inputs"):
        grad(np.sin, holomorphic=True, mode="forward")(1.0)
    with pytest.raises(autodiffx.ArgumentError, match="complex-valued"):
        grad(np.abs, holomorphic=True, mode="forward")(1j)


def reverse_linear_spectrum(x):
    return np.sum(np.real(np.fft.fft(x)) * np.arange(4.0))


def test_reverse_mode_through_a_linear_transform_is_right():
    """No complex value reaches the adjoint sweep: the FFT's adjoint gives x's cotangent,
    whose real part is the gradient of the real x."""
    x = np.array([1.0, -2.0, 0.5, 3.0])
    reverse = grad(reverse_linear_spectrum)(x)
    forward = grad(reverse_linear_spectrum, mode="forward")(x)
    assert reverse.dtype == float
    np.testing.assert_allclose(reverse, forward, atol=1e-12)
    np.testing.assert_allclose(reverse, numeric_gradient(reverse_linear_spectrum, x).real,
                               atol=1e-6)


def weighted_moduli(z):
    return np.abs(z) ** 2 * np.array([1.0, 2.0, 3.0])


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_jacobian_of_real_outputs_of_complex_inputs_has_gradient_rows(seed):
    """Row i of jacfwd and jacrev is the gradient of output i: d/dx + i d/dy."""
    z = smooth_point(seed)[:3]
    forward = autodiffx.jacfwd(weighted_moduli)(z)
    reverse = autodiffx.jacrev(weighted_moduli)(z)
    np.testing.assert_allclose(forward, np.diag(2 * z * np.array([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(reverse, forward)
    for row in range(3):
        np.testing.assert_allclose(forward[row], numeric_gradient(
            lambda v, row=row: weighted_moduli(v)[row], z), atol=1e-6)


def test_the_jacobian_of_a_complex_valued_function_is_refused():
    with pytest.raises(autodiffx.ComplexNotSupportedError, match="jvp"):
        autodiffx.jacfwd(np.exp)(np.array([1j]))


def test_a_complex_tangent_for_a_real_value_is_refused():
    with pytest.raises(autodiffx.ComplexTangentError, match="real"):
        jvp(np.sin, (1.0,), (1j,))
    with pytest.raises(autodiffx.ComplexTangentError):
        Dual(np.ones(2), np.ones((1, 2), dtype=complex), new_level())


@pytest.mark.parametrize("function", [np.sign, np.prod, lambda a: np.maximum(a, 1.0),
                                      lambda a: np.cov(a)])
def test_rules_for_real_values_only_refuse_complex_ones(function):
    z = np.array([[2 + 1j, 0.5j], [-0.5j, 3 + 0j]])
    with pytest.raises(autodiffx.ComplexNotSupportedError, match="real values only"):
        grad(lambda a: np.sum(np.abs(function(a)) ** 2), mode="forward")(z)


def test_a_complex_cast_keeps_the_derivative_and_a_real_cast_is_refused():
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(
        grad(lambda x: np.sum(np.abs(x.astype(complex) * 1j) ** 2), mode="forward")(x), 2 * x)
    with pytest.raises(autodiffx.DerivativeConversionError, match="imaginary part"):
        grad(lambda z: np.sum(z.astype(float)), mode="forward")(np.array([1 + 1j]))


# Writes through the real and imaginary parts of a complex array: z.imag is a view of every
# other float64 in z's memory. Forward mode gave these views a tangent of their own, and a
# write through one landed on the wrong entries of z (z.imag[0] = 5.0 set z[0] to z[2]'s real
# part, its value and tangent both); a write through z.real dropped every imaginary part; a
# view r = z.real did not see z *= 2; z.real = ... and z.imag += ... raised a raw
# AttributeError (no setter). The views' tangents are now the parts of z's tangent memory.
PARTS = np.array([[0.3, -1.2, 0.8], [0.5, 0.1, -0.7]])


def _store_into_imaginary_part(m):
    z = m * (1 + 1j)
    z.imag[0, 0] = 5.0
    return np.sum(np.abs(z) ** 2)


def _store_into_strided_real_part(m):
    z = m.T * (1 - 1j)
    z.real[::2] = np.sin(m[:, ::2].T)
    return np.sum(np.abs(z) ** 2)


def _part_sees_update(m):
    z = np.exp(1j * m)
    r = z.real
    z *= 2.0
    return np.sum(r ** 2)


def _in_place_on_part_view(m):
    z = m * 1j
    im = np.imag(z)[1]
    im[0] = 3.0
    im *= m[0]
    return np.sum(np.abs(z) ** 2)


def _assign_real_part(m):
    z = m * (1 + 1j)
    z.real = z.imag * 2.0
    return np.sum(np.abs(z) ** 2)


def _add_into_imaginary_part(m):
    z = (m + 0j)[::-1]
    z.imag += m[0]
    return np.sum(z.real * z.imag)


def _assign_real_part_of_real_array(m):
    y = m.copy()
    y.real = np.tanh(m)
    return np.sum(y ** 2)


@pytest.mark.parametrize("f", [_store_into_imaginary_part, _store_into_strided_real_part,
                               _part_sees_update, _in_place_on_part_view, _assign_real_part,
                               _add_into_imaginary_part, _assign_real_part_of_real_array])
def test_writes_through_the_real_and_imaginary_parts_of_a_complex_array(f):
    value, gradient = autodiffx.value_and_grad(f, mode="forward")(PARTS)
    assert value == pytest.approx(f(PARTS.copy()), rel=1e-12)
    expected = np.real(numeric_gradient(lambda m: f(np.real(m)), PARTS))
    np.testing.assert_allclose(gradient, expected, atol=1e-6)


def _store_into_imaginary_part_without_abs(m):
    z = m * (1 + 1j)
    z.imag[0, 0] = 5.0
    return np.sum(z.real ** 2 + z.imag ** 2 * m)


def test_a_write_through_a_part_is_followed_or_refused_at_second_order():
    """Forward over forward follows views by the positions of their entries, which a part
    of each entry does not have: refused, where it wrote z's entries over each other (the
    Hessian came out 0; its entry for m[0, 0] is 2)."""
    with pytest.raises(autodiffx.MissingRuleError, match="could not be located"):
        autodiffx.hessian(_store_into_imaginary_part_without_abs, mode="forward")(PARTS)
    hessian = autodiffx.hessian(_part_sees_update, mode="forward")(PARTS)
    gradient = grad(_part_sees_update, mode="forward")
    step = np.zeros_like(PARTS)
    step[0, 1] = 1e-5
    np.testing.assert_allclose(hessian[..., 0, 1], (gradient(PARTS + step) - gradient(
        PARTS - step)) / 2e-5, atol=1e-5)


def test_setting_the_imaginary_part_of_a_real_array_raises_as_numpy_does():
    def f(v):
        y = v * 2.0
        y.imag = v
        return np.sum(y)

    with pytest.raises(TypeError, match="imaginary part"):
        f(np.ones(2))
    with pytest.raises(TypeError, match="imaginary part"):
        grad(f, mode="forward")(np.ones(2))
