"""The derivative rules for the parts of complex numbers: ``np.real``, ``np.imag``,
``np.conj``, ``np.angle``, ``np.real_if_close``, and ``np.iscomplex`` (no derivative).

A complex number z = x + iy is the pair of reals (x, y). Tangents are complex numbers
holding the derivative of that pair; a cotangent g = a + ib stands for the real gradient
(a, b), and an adjoint is the transpose under the real inner product
Re<u, v> = Re(sum(conj(u) * v)) (see ``docs/complex.md``). So the adjoint of
``np.real`` passes g on as the real part of z's cotangent, and that of ``np.imag`` as its
imaginary part, 1j * g. Where the argument is real, its gradient is the real part of the
cotangent: 0 for ``np.imag`` and ``np.angle``, whose values then do not change.
"""

from __future__ import annotations

import numpy as np

from .registry import _broadcast_rank, defrule, nondifferentiable


def _same_rank(val, **_):
    return val


defrule(
    np.real,
    "val",
    tangents=(lambda t, ans, val: np.real(t),),
    adjoints=("g",),
    rank=_same_rank,
    doc="The real part: its cotangent is the real part of z's.",
)
defrule(
    np.imag,
    "val",
    tangents=(lambda t, ans, val: np.imag(t),),
    adjoints=("1j * g",),
    rank=_same_rank,
    doc="The imaginary part: its cotangent is the imaginary part of z's (1j * g). The "
    "imaginary part of a real value is 0 whatever it is: derivative 0.",
)
defrule(
    np.conjugate,
    "x",
    tangents=(lambda t, ans, x: np.conjugate(t),),
    adjoints=("np.conj(g)",),
    elementwise=True,
    rank=_broadcast_rank,
    name="conjugate",
    doc="x - iy: the tangent and the cotangent are conjugated too.",
)


def _angle_tangent(t, ans, z, deg=False):
    """d angle(z) = Im(conj(z) dz) / |z|^2, in degrees with ``deg``; 0 at z = 0. ``z`` is
    not made an array: in forward over forward it is a dual number, which np.asarray
    refuses (DerivativeConversionError)."""
    if not np.iscomplexobj(z) and not np.iscomplexobj(t):
        return np.zeros(np.shape(t))
    size = np.abs(z) ** 2
    rate = np.imag(np.conj(z) * t) / np.where(size == 0, 1.0, size)
    rate = np.where(size == 0, 0.0, rate)
    return rate * (180 / np.pi) if deg else rate


defrule(
    np.angle,
    "z",
    keywords={"deg": False},
    tangents=(_angle_tangent,),
    adjoints=("1j * g * safe_divide(1, np.conj(z)) * (180 / np.pi if deg else 1)",),
    elementwise=True,
    rank=_same_rank,
    doc="d angle(z) = Im(conj(z) dz) / |z|^2 (in degrees with deg=True); at z = 0, where "
    "the angle jumps, it is taken as 0. On the branch cut (the negative real axis) "
    "np.angle is pi or -pi by the sign of the zero imaginary part; its derivative there "
    "is the one from that side. Of a real value the angle is constant (0 or pi): "
    "derivative 0.",
)
defrule(
    np.real_if_close,
    "a",
    keywords={"tol": 100},
    tangents=(lambda t, ans, a, tol=100: np.real(t) if np.isrealobj(ans) else t,),
    adjoints=("g",),
    rank=_same_rank,
    doc="a itself, or its real part where NumPy drops an imaginary part within tol "
    "machine epsilons of 0; the derivative is then that of the real part (as np.real's).",
)
nondifferentiable(np.iscomplex, np.isreal, np.iscomplexobj, np.isrealobj,
                  name="complex_test")

# --------------------------------------------------------------------------- for reverse mode

CONJUGATED_PRIMALS = frozenset({
    "multiply", "divide", "power", "float_power", "square", "reciprocal", "sqrt", "exp",
    "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan", "arcsin",
    "arccos", "arctan",
    "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "matmul", "dot", "outer",
    "inner", "einsum", "solve", "inv", "det", "slogdet", "matrix_power", "multi_dot", "kron",
    "tensordot", "cross", "sinc", "cumprod", "average", "polyval",
    "scipy.special.logsumexp", "scipy.special.softmax", "scipy.special.log_softmax",
    "scipy.special.erf", "scipy.special.erfc", "scipy.special.xlogy",
    "scipy.special.xlog1py", "scipy.linalg.solve_triangular", "scipy.linalg.expm",
    "scipy.special.gamma", "scipy.special.rgamma", "scipy.special.jv", "scipy.special.yv",
    "scipy.special.iv", "scipy.signal.convolve",
})
"""The rules whose adjoint expression is the transpose, not the conjugate transpose, of
their complex-linear tangent: g * f'(x) where complex values need g * conj(f'(x)). The
expressions stay as they are, so that the code generated for real programs does not
change; on complex values the reverse transformer must substitute the conjugates of the
primal values (``x``, ``y``, ``ans``) into them, which gives the conjugate transpose.
Every other rule's adjoint holds for complex values as written (linear maps with real
coefficients, ``abs``, ``var``, ``real``, ``imag``, ``angle``, the FFTs), except those in
:data:`REAL_ADJOINTS`. ``tests/rules/test_complex_rules.py`` checks both lists."""

REAL_ADJOINTS = frozenset({"nan_to_num", "correlate"})
"""Rules whose tangents hold for complex values but whose adjoint holds for real values
only: ``np.nan_to_num`` replaces the real and imaginary parts separately, while its adjoint
masks whole entries; ``np.correlate`` conjugates its second argument, so its adjoint holds
as written for the first and with conjugated primals for the second."""

RESULT_KINDS: dict[str, str | tuple[str, ...]] = {
    # real whatever the operands
    **dict.fromkeys((
        "abs", "absolute", "fabs", "angle", "real", "imag", "norm", "var", "std", "nanvar",
        "nanstd", "svdvals", "eigvalsh", "irfft", "irfft2", "irfftn", "hfft", "comparison",
        "complex_test", "infinity_test", "index_query", "position_query", "shape_query",
        "step", "arctan2", "hypot",
    ), "real"),
    # the first argument's (np.full_like(a, v) has a's dtype), or the dtype asked for
    "full_like": "first",
    "astype": "dtype",
    # complex whatever the operands
    **dict.fromkeys(("fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "rfft2",
                     "rfftn", "ihfft"), "complex"),
    # decided by the data for a real matrix (complex eigenvalues or not); complex for a
    # complex one
    "eig": ("complex_or_either", "complex_or_either"),
    "eigvals": "complex_or_either",
    # several results: eigenvalues and singular values are real
    "eigh": ("real", "like"),
    "svd": ("like", "real", "like"),
    "slogdet": ("like", "real"),
    "lstsq": ("like", "real", "real", "real"),
}
"""The kind of a rule's result where it is not that of its operands (complex when one
operand is, else real): ``"real"``, ``"complex"``, ``"either"`` (known only from the
data), ``"complex_or_either"`` (complex when an operand is, else known only from the
data), ``"like"`` (the operands'), ``"first"`` (the first operand's), ``"dtype"`` (the
dtype argument's), or a tuple of these for a rule with several results. A literal
``dtype=`` keyword decides for any rule.
Reverse mode's kind analysis (``autodiffx/reverse/kinds.py``) reads it;
``tests/rules/test_complex_rules.py`` checks it against NumPy's results."""
