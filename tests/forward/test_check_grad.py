"""check_grad must reject a wrong gradient, accept a right one, and scale to large inputs."""

import numpy as np
import pytest

import autodiffx
from autodiffx import check_grad


def energy(x):
    return np.sum(np.tanh(x) ** 2)


def right_gradient(x):
    return 2 * np.tanh(x) * (1 - np.tanh(x) ** 2)


def wrong_gradient(x):
    # A classic slip: tanh' taken as 1 - tanh instead of 1 - tanh^2.
    return 2 * np.tanh(x) * (1 - np.tanh(x))


@pytest.fixture
def x():
    return np.random.default_rng(3).uniform(-1.5, 1.5, 6)


def test_accepts_a_right_gradient(x):
    report = check_grad(energy, x, grad_fn=right_gradient)
    assert report.passed and report.method == "entrywise" and report.checks == 6
    assert report.max_error < 1e-7


def test_accepts_forward_mode(x):
    assert check_grad(energy, x, mode="forward").passed


def test_rejects_a_wrong_gradient(x):
    with pytest.raises(autodiffx.GradientCheckError, match="relative error"):
        check_grad(energy, x, grad_fn=wrong_gradient)


def test_rejects_a_gradient_off_in_one_entry(x):
    def almost(x):
        g = right_gradient(x)
        g[4] += 1e-3
        return g

    with pytest.raises(autodiffx.GradientCheckError, match=r"argument 0\[4\]"):
        check_grad(energy, x, grad_fn=almost)


def test_report_without_raising(x):
    report = check_grad(energy, x, grad_fn=wrong_gradient, raise_on_failure=False)
    assert not report.passed and "FAILED" in str(report)


def test_large_inputs_use_directional_derivatives():
    big = np.random.default_rng(4).uniform(-1.5, 1.5, (30, 30))
    report = check_grad(energy, big, mode="forward", max_entries=200, directions=3)
    assert report.passed and report.method == "directional" and report.checks == 3
    with pytest.raises(autodiffx.GradientCheckError, match="random direction"):
        check_grad(energy, big, grad_fn=wrong_gradient, max_entries=200)


def test_several_arguments():
    def f(W, x):
        return np.sum(np.tanh(W @ x))

    rng = np.random.default_rng(5)
    W, x = rng.standard_normal((3, 4)), rng.standard_normal(4)

    def by_hand(W, x):
        delta = 1 - np.tanh(W @ x) ** 2
        return np.outer(delta, x), W.T @ delta

    assert check_grad(f, W, x, wrt=(0, 1), grad_fn=by_hand).passed

    def swapped(W, x):
        gW, gx = by_hand(W, x)
        return gW * 1.01, gx

    with pytest.raises(autodiffx.GradientCheckError, match=r"argument 0\["):
        check_grad(f, W, x, wrt=(0, 1), grad_fn=swapped)


def test_a_zero_function_is_flagged_as_trivial():
    report = check_grad(lambda x: np.sum(np.maximum(x, 0.0)), -np.ones(3), mode="forward")
    assert report.passed and report.trivial and "trivially" in str(report)


def spectrum_energy(z):
    return np.sum(np.abs(np.fft.fft(z * np.exp(0.3j * z))) ** 2)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("max_entries", [200, 1], ids=["entrywise", "directional"])
def test_complex_arguments_are_checked_in_both_parts(mode, max_entries):
    """The gradient d/dx + i d/dy passes; its conjugate (JAX's and autograd's convention)
    fails in the imaginary parts, entry by entry and along random complex directions."""
    z = np.array([1 + 2j, -0.5 + 0.3j, 0.2 - 1j])
    x = np.array([0.5, -1.0])
    report = check_grad(spectrum_energy, z, mode=mode, max_entries=max_entries)
    assert report.passed
    if max_entries == 200:
        assert report.checks == 6 and "(imaginary part)" in report.rows[1][0]
    right = autodiffx.grad(spectrum_energy, mode=mode)(z)
    wrong = check_grad(spectrum_energy, z, grad_fn=lambda z: np.conj(right),
                       max_entries=max_entries, raise_on_failure=False)
    assert not wrong.passed
    both = check_grad(lambda z, x: spectrum_energy(z) * np.sum(x ** 2), z, x, wrt=(0, 1),
                      mode=mode, max_entries=max_entries)
    assert both.passed
