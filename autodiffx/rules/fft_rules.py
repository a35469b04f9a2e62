"""The derivative rules for ``np.fft``: the discrete Fourier transforms and their inverses.

Every transform is linear (the real ones real-linear), so each tangent rule is the
transform itself applied to the tangent, and each adjoint is the transpose under the real
inner product Re<a, b> = Re(sum(conj(a) * b)) that ``docs/complex.md`` explains:

* the adjoint of ``fft`` is the conjugate transpose of the DFT matrix, an ``ifft`` with
  the scaling of the other direction (``norm="backward"`` pairs with ``"forward"``,
  ``"ortho"`` with itself); the adjoint of ``ifft`` is an ``fft`` likewise;
* ``n`` (or ``s``) pads the input with zeros or cuts it before transforming; the adjoint
  cuts, or pads, the cotangent back to the input's length (:func:`refit`);
* ``rfft`` keeps the first n // 2 + 1 bins of the transform of a real signal. Each bin
  between the first and the Nyquist bin stands for itself and for its mirror image, which
  ``irfft`` rebuilds from it: the adjoint of ``irfft`` doubles those bins, and the adjoint
  of ``rfft`` halves them before an ``irfft``. The imaginary parts of the first and the
  Nyquist bin, which ``irfft`` ignores, get a zero cotangent;
* ``hfft`` is ``irfft`` of the conjugate, and ``ihfft`` the conjugate of ``rfft``.

A cotangent may be complex where the input is real (the adjoint of ``fft`` of a real
signal): the gradient of that real input is its real part.
"""

from __future__ import annotations

import numpy as np

from . import registry
from .registry import defrule

# --------------------------------------------------------------------------- helpers

def swapped_norm(norm):
    """The ``norm`` of the transform in the other direction whose matrix is the conjugate
    transpose of this one's: an unscaled transform pairs with an unscaled one.

    >>> swapped_norm(None), swapped_norm("forward"), swapped_norm("ortho")
    ('forward', 'backward', 'ortho')
    """
    return {None: "forward", "backward": "forward", "forward": "backward",
            "ortho": "ortho"}[norm]


def fft_axes(x, s=None, axes=None, inverse_real=False):
    """The transform lengths and axes (non-negative) of an n-dimensional FFT of ``x``, as
    NumPy reads ``s`` and ``axes``; ``inverse_real`` for ``irfftn``, whose default last
    length is 2 (m - 1) for m input bins.

    >>> fft_axes(np.zeros((2, 3, 4)))
    ([2, 3, 4], [0, 1, 2])
    >>> fft_axes(np.zeros((2, 3, 4)), axes=(-1,), inverse_real=True)
    ([6], [2])
    """
    shape = np.shape(x)
    if axes is None:
        count = len(shape) if s is None else len(s)
        axes = range(len(shape) - count, len(shape))
    axes = [a % len(shape) for a in axes]
    if s is None:
        s = [shape[a] for a in axes]
        if inverse_real and axes:
            s[-1] = 2 * (shape[axes[-1]] - 1)
    return [int(n) for n in s], axes


def refit(g, length, axis):
    """``g`` cut, or padded with zeros, to ``length`` along ``axis``: the adjoint of the
    padding or cutting that ``n`` applies to a transform's input."""
    have = np.shape(g)[axis]
    if have > length:
        return np.take(g, np.arange(length), axis=axis)
    if have < length:
        widths = [(0, 0)] * np.ndim(g)
        widths[axis] = (0, length - have)
        return np.pad(g, widths)
    return g


def bin_weights(n, axis, ndim, factor):
    """Weights along ``axis`` for the n // 2 + 1 bins of a real transform of length n:
    1 for the first bin and (n even) the Nyquist bin, ``factor`` for the bins between."""
    weights = np.full(n // 2 + 1, float(factor))
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    shape = [1] * ndim
    shape[axis] = len(weights)
    return weights.reshape(shape)


def unfft(g, x, n=None, axis=-1, norm=None, inverse=False):
    """The adjoint of ``np.fft.fft(x, n, axis, norm)`` (of ``ifft`` when ``inverse``)."""
    back = np.fft.fft if inverse else np.fft.ifft
    return refit(back(g, axis=axis, norm=swapped_norm(norm)), np.shape(x)[axis], axis)


def unfftn(g, x, s=None, axes=None, norm=None, inverse=False):
    """The adjoint of ``np.fft.fftn(x, s, axes, norm)`` (of ``ifftn`` when ``inverse``)."""
    _, axes = fft_axes(x, s, axes)
    for axis in axes:
        g = unfft(g, x, None, axis, norm, inverse)
    return g


def unrfft(g, x, n=None, axis=-1, norm=None):
    """The adjoint of ``np.fft.rfft(x, n, axis, norm)``: the middle bins halved, as each
    also stands for its mirror image, then an inverse real transform."""
    axis = axis % np.ndim(x)
    n = np.shape(x)[axis] if n is None else n
    halved = g * bin_weights(n, axis, np.ndim(g), 0.5)
    return refit(np.fft.irfft(halved, n, axis=axis, norm=swapped_norm(norm)),
                 np.shape(x)[axis], axis)


def unirfft(g, x, n=None, axis=-1, norm=None):
    """The adjoint of ``np.fft.irfft(x, n, axis, norm)``: the transform of the real
    cotangent, its middle bins doubled (each made two entries of the full spectrum)."""
    axis = axis % np.ndim(x)
    n = 2 * (np.shape(x)[axis] - 1) if n is None else n
    spectrum = np.fft.rfft(g, n, axis=axis, norm=swapped_norm(norm))
    return refit(spectrum * bin_weights(n, axis, np.ndim(g), 2.0), np.shape(x)[axis], axis)


def unrfftn(g, x, s=None, axes=None, norm=None):
    """The adjoint of ``np.fft.rfftn(x, s, axes, norm)``: NumPy runs ``rfft`` along the
    last axis, then ``fft`` along the others; the adjoint undoes them in reverse."""
    s, axes = fft_axes(x, s, axes)
    middle = list(np.shape(x))
    middle[axes[-1]] = s[-1] // 2 + 1  # the shape after the rfft
    for axis in axes[:-1]:
        g = refit(np.fft.ifft(g, axis=axis, norm=swapped_norm(norm)), middle[axis], axis)
    return unrfft(g, x, s[-1], axes[-1], norm)


def unirfftn(g, x, s=None, axes=None, norm=None):
    """The adjoint of ``np.fft.irfftn(x, s, axes, norm)``: NumPy runs ``ifft`` along all
    axes but the last, then ``irfft`` along the last; the adjoint undoes them in reverse."""
    s, axes = fft_axes(x, s, axes, inverse_real=True)
    middle = list(np.shape(x))
    for axis, n in zip(axes[:-1], s[:-1], strict=True):
        middle[axis] = n  # the shape after the ifft along this axis
    g = unirfft(g, np.zeros(middle), s[-1], axes[-1], norm)
    for axis in axes[:-1]:
        g = refit(np.fft.fft(g, axis=axis, norm=swapped_norm(norm)), np.shape(x)[axis], axis)
    return g


FFT_HELPERS = {
    "swapped_norm": swapped_norm,
    "fft_axes": fft_axes,
    "refit": refit,
    "bin_weights": bin_weights,
    "unfft": unfft,
    "unfftn": unfftn,
    "unrfft": unrfft,
    "unirfft": unirfft,
    "unrfftn": unrfftn,
    "unirfftn": unirfftn,
}
"""The names the adjoint expressions below use besides NumPy's and the plain helpers."""

registry.add_helpers(FFT_HELPERS)

# --------------------------------------------------------------------------- tangents


def _one_axis_tangent(transform):
    """A transform along one axis, applied to the tangent (directions first)."""

    def tangent(t, ans, x, n=None, axis=-1, norm=None):
        return transform(t, n, axis=axis % np.ndim(x) + 1, norm=norm)

    return tangent


def _many_axes_tangent(transform, inverse_real=False, default_axes=None):
    """An n-dimensional transform applied to the tangent, with ``s`` and ``axes`` made
    explicit first (the tangent has one more axis than x)."""

    def tangent(t, ans, x, s=None, axes=default_axes, norm=None):
        lengths, axes = fft_axes(x, s, axes, inverse_real)
        return transform(t, lengths, axes=[a + 1 for a in axes], norm=norm)

    return tangent


def _one_axis_rank(x, **_):
    return x


ONE_AXIS = {"n": None, "axis": -1, "norm": None}
TWO_AXES = {"s": None, "axes": (-2, -1), "norm": None}
ALL_AXES = {"s": None, "axes": None, "norm": None}
_DOC = ("Linear: the tangent is the transform of the tangent, the adjoint the conjugate "
        "transpose under the real inner product.")
_REAL_DOC = (_DOC + " The bins between the first and the Nyquist bin stand for their "
             "mirror images too: the adjoint of the inverse doubles them.")

for _transform, _adjoint in ((np.fft.fft, "unfft(g, x, n, axis, norm)"),
                             (np.fft.ifft, "unfft(g, x, n, axis, norm, inverse=True)")):
    defrule(_transform, "x", keywords=ONE_AXIS, tangents=(_one_axis_tangent(_transform),),
            adjoints=(_adjoint,), rank=_one_axis_rank, doc=_DOC)

for _transform, _keywords, _adjoint in (
    (np.fft.fft2, TWO_AXES, "unfftn(g, x, s, axes, norm)"),
    (np.fft.ifft2, TWO_AXES, "unfftn(g, x, s, axes, norm, inverse=True)"),
    (np.fft.fftn, ALL_AXES, "unfftn(g, x, s, axes, norm)"),
    (np.fft.ifftn, ALL_AXES, "unfftn(g, x, s, axes, norm, inverse=True)"),
):
    defrule(_transform, "x", keywords=_keywords,
            tangents=(_many_axes_tangent(_transform, default_axes=_keywords["axes"]),),
            adjoints=(_adjoint,), rank=_one_axis_rank, doc=_DOC)

defrule(np.fft.rfft, "x", keywords=ONE_AXIS, tangents=(_one_axis_tangent(np.fft.rfft),),
        adjoints=("unrfft(g, x, n, axis, norm)",), rank=_one_axis_rank,
        doc=_REAL_DOC + " x must be real, as NumPy requires.")
defrule(np.fft.irfft, "x", keywords=ONE_AXIS, tangents=(_one_axis_tangent(np.fft.irfft),),
        adjoints=("unirfft(g, x, n, axis, norm)",), rank=_one_axis_rank,
        doc=_REAL_DOC + " The imaginary parts of the first and the Nyquist bin, which "
        "irfft ignores, have derivative 0.")
defrule(np.fft.hfft, "x", keywords=ONE_AXIS, tangents=(_one_axis_tangent(np.fft.hfft),),
        adjoints=("np.conj(unirfft(g, x, n, axis, swapped_norm(norm)))",),
        rank=_one_axis_rank, doc=_REAL_DOC + " hfft is irfft of the conjugate.")
defrule(np.fft.ihfft, "x", keywords=ONE_AXIS, tangents=(_one_axis_tangent(np.fft.ihfft),),
        adjoints=("unrfft(np.conj(g), x, n, axis, swapped_norm(norm))",),
        rank=_one_axis_rank, doc=_REAL_DOC + " ihfft is the conjugate of rfft.")
for _transform, _keywords, _inverse in ((np.fft.rfft2, TWO_AXES, False),
                                        (np.fft.irfft2, TWO_AXES, True),
                                        (np.fft.rfftn, ALL_AXES, False),
                                        (np.fft.irfftn, ALL_AXES, True)):
    defrule(_transform, "x", keywords=_keywords,
            tangents=(_many_axes_tangent(_transform, _inverse, _keywords["axes"]),),
            adjoints=(f"un{'i' if _inverse else ''}rfftn(g, x, s, axes, norm)",),
            rank=_one_axis_rank, doc=_REAL_DOC)
