"""More elementwise rules: NaN-ignoring extrema, base-2 and angle conversions, ``np.sinc``,
``np.nan_to_num``, ``np.copysign``, ``np.ldexp``, and the rounding and tests of infinity,
which have no derivative. Conventions at kinks are in each rule's ``doc``.
"""

from __future__ import annotations

import numpy as np

from .registry import _broadcast_rank, defrule, elementwise, nondifferentiable

elementwise(
    np.fmax,
    "(x > y) + 0.5 * (x == y) + np.isnan(y)",
    "(y > x) + 0.5 * (x == y) + (np.isnan(x) & ~np.isnan(y))",
    doc="At a tie each argument gets half of the derivative. NaN is ignored, as np.fmax "
    "ignores it: against a NaN the other argument gets all of it (x, when both are NaN).",
    real_only=True,
)
elementwise(
    np.fmin,
    "(x < y) + 0.5 * (x == y) + np.isnan(y)",
    "(y < x) + 0.5 * (x == y) + (np.isnan(x) & ~np.isnan(y))",
    doc="At a tie each argument gets half of the derivative. NaN is ignored, as np.fmin "
    "ignores it: against a NaN the other argument gets all of it (x, when both are NaN).",
    real_only=True,
)
elementwise(np.logaddexp2, "np.exp2(x - ans)", "np.exp2(y - ans)")
elementwise(np.sinc, "sinc_derivative(x)", doc="sinc'(0) = 0.")
elementwise(np.degrees, "180 / np.pi")
elementwise(np.radians, "np.pi / 180")
elementwise(
    np.copysign,
    "np.sign(x) * np.sign(ans)",
    None,
    doc="|x| with the sign of y: d/dx is 1 where x and the result agree in sign, -1 where "
    "they do not, and 0 at x = 0 (as abs'(0) = 0); y gives only a sign, derivative 0.",
)
elementwise(
    np.ldexp,
    "2.0 ** y",
    None,
    doc="x * 2**y: the derivative in the mantissa x; the exponent y is a whole number.",
)
def _nan_to_num_tangent(t, ans, x, **_):
    if np.iscomplexobj(x):  # NumPy replaces the real and imaginary parts separately
        return (np.where(np.isfinite(np.real(x)), np.real(t), 0.0)
                + 1j * np.where(np.isfinite(np.imag(x)), np.imag(t), 0.0))
    return np.where(np.isfinite(x), t, 0.0)


defrule(
    np.nan_to_num,
    "x",
    keywords={"nan": 0.0, "posinf": None, "neginf": None},
    tangents=(_nan_to_num_tangent,),
    adjoints=("np.where(np.isfinite(x), g, 0.0)",),
    elementwise=True,
    rank=_broadcast_rank,
    doc="1 where x is finite; 0 where NaN or an infinity is replaced by a constant. "
    "copy=False (which writes into x) is refused.",
)

nondifferentiable(np.around, np.fix, name="rounding")
nondifferentiable(np.isposinf, np.isneginf, name="infinity_test")
