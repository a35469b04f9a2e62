"""Argument makers for the namespace audit: one small program per public NumPy callable.

The set of callables comes from the namespace itself (:func:`public_callables`); the makers
only say *how* to call each one with a differentiated argument. A maker is a
:class:`Spec`: a family name (what kind of signature it stands for), a template for the
body of the program (``{f}`` is the callable, the differentiated parameters are named by
the keyword arguments), and a kind of value per parameter (``"m"``: a 3x4 matrix, ``"s"``:
a Python float, ``"sq"``: a well-conditioned square matrix, ...).

Each callable is tried with its own specs (from :data:`SPECS`, or the signature family it
belongs to), then with the generic fallbacks; the first spec whose *plain* program runs
without an error from NumPy is used. A callable for which none runs is listed as "no
maker", with NumPy's error for the last spec tried, so a bad maker is seen, not hidden.

The program a spec turns into is written to a module file (reverse mode reads source):

    def p_0042(x, y):
        out = np.arctan2(x, y)
        return np.sum(out * W_0042)

``W_0042`` is a fixed random weight array of the output's shape, so the gradient is not
a plain sum; tuple outputs are weighed component by component, complex ones by real and
imaginary part, and outputs that are not numbers (a string, ``None``) are not weighed: the
program then returns ``np.sum(x * W)`` after the call, which checks that the call neither
breaks the derivative nor mutates anything.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# --------------------------------------------------------------------------- the namespace

NAMESPACES = (("np", np), ("np.linalg", np.linalg), ("np.fft", np.fft))


@dataclass(frozen=True)
class Entry:
    """One public name: its dotted name, the object, and how a program reaches it."""

    name: str
    obj: Any
    kind: str = "function"  # "function", "method" (x.name(...)), "attribute" (x.name),
    # or "indexer" (np.r_[...])
    variant: str = ""  # a second way of calling the same callable (see VARIANTS)

    @property
    def key(self) -> str:
        """The row's name: ``np.einsum``, or ``np.einsum[sublist]`` for a variant."""
        return f"{self.name}[{self.variant}]" if self.variant else self.name

    @property
    def short(self) -> str:
        return self.name.rsplit(".", 1)[1]

    @property
    def method(self) -> bool:
        return self.kind in ("method", "attribute")


def _is_indexer(obj) -> bool:
    """``np.r_``, ``np.c_``, ``np.s_``, ``np.mgrid``, ...: NumPy objects used by indexing."""
    cls = type(obj)
    return (hasattr(cls, "__getitem__") and not isinstance(obj, (dict, tuple, np.generic))
            and (cls.__module__ or "").startswith("numpy"))


def public_callables() -> list[Entry]:
    """Every public callable of ``np``, ``np.linalg`` and ``np.fft``, every public ndarray
    method and attribute (``x.T``), and NumPy's indexing helpers (``np.r_``), read from the
    namespaces (nothing is listed by hand)."""
    entries = []
    for prefix, module in NAMESPACES:
        names = getattr(module, "__all__", None) or dir(module)
        for name in sorted(set(names)):
            if name.startswith("_"):
                continue
            try:
                obj = getattr(module, name)
            except AttributeError:  # a name in __all__ that NumPy has removed
                continue
            if isinstance(obj, types.ModuleType):
                continue
            if callable(obj):
                entries.append(Entry(f"{prefix}.{name}", obj))
            elif _is_indexer(obj):
                entries.append(Entry(f"{prefix}.{name}", obj, "indexer"))
    for name in sorted(dir(np.ndarray)):
        if name.startswith("_"):
            continue
        obj = getattr(np.ndarray, name)
        # properties (x.T, x.shape) are descriptors on the class, not callables
        entries.append(Entry(f"ndarray.{name}", obj, "method" if callable(obj) else "attribute"))
    return entries


# --------------------------------------------------------------------------- values


def _distinct(rng: np.random.Generator, shape, low=0.2, high=0.9) -> np.ndarray:
    """Values spread over [low, high] with no ties (sorts, maxima and kinks stay generic)."""
    size = int(np.prod(shape))
    grid = np.linspace(low, high, size) + rng.uniform(-0.2, 0.2, size) * (high - low) / size
    return rng.permutation(grid).reshape(shape)


def make_value(kind: str, rng: np.random.Generator):
    """A value of ``kind`` at a generic point (the kinds are listed in the module doc)."""
    if kind == "m":  # a 3x4 matrix in (0.2, 0.9)
        return _distinct(rng, (3, 4))
    if kind == "m2":  # the same, above 1 (arccosh)
        return _distinct(rng, (3, 4), 1.2, 2.5)
    if kind == "signed":  # a 3x4 matrix of both signs, away from 0
        return _distinct(rng, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    if kind == "v":  # a vector of 6
        return _distinct(rng, (6,))
    if kind == "v3":
        return _distinct(rng, (3,))
    if kind == "v4":
        return _distinct(rng, (4,))
    if kind == "v8":
        return _distinct(rng, (8,))
    if kind == "t":  # a 2x3x4 array
        return _distinct(rng, (2, 3, 4))
    if kind == "sq":  # a well-conditioned 3x3 matrix, real distinct eigenvalues
        return np.diag([1.0, 2.0, 3.5]) + 0.2 * _distinct(rng, (3, 3), -1.0, 1.0)
    if kind == "sq4":  # 4x4 (tensorinv, tensorsolve with a (2, 2, 2, 2) reshape)
        return np.diag([1.0, 2.0, 3.0, 4.5]) + 0.2 * _distinct(rng, (4, 4), -1.0, 1.0)
    if kind == "s":  # a Python float
        return float(rng.uniform(0.2, 0.9))
    if kind == "s2":  # a Python float in (1.2, 2.5)
        return float(rng.uniform(1.2, 2.5))
    if kind == "z":  # a 0-d array
        return np.array(rng.uniform(0.2, 0.9))
    raise ValueError(f"unknown value kind {kind!r}")


def rng_for(name: str) -> np.random.Generator:
    """A fixed seed per callable, so a failure replays at the same point."""
    return np.random.default_rng(zlib.crc32(name.encode()))


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class Spec:
    """How to call one callable: ``body`` is Python statements whose last line is the
    expression to weigh; ``{f}`` stands for the callable (``np.sin``), or for the method
    name after ``x.``."""

    family: str
    body: str
    kinds: dict[str, str] = field(default_factory=dict)


def spec(family: str, body: str, **kinds: str) -> Spec:
    return Spec(family, body, kinds)


# Callables the audit never calls: they write files, change NumPy's global state, print,
# or run a test suite. Each is reported as "no maker" with this reason.
NEVER_CALLED = {
    **dict.fromkeys(
        ["np.save", "np.savez", "np.savez_compressed", "np.savetxt", "ndarray.dump",
         "ndarray.tofile", "np.memmap"], "writes a file"),
    **dict.fromkeys(
        ["np.load", "np.loadtxt", "np.genfromtxt", "np.fromfile", "np.fromregex"],
        "reads a file"),
    **dict.fromkeys(
        ["np.seterr", "np.seterrcall", "np.setbufsize", "np.set_printoptions"],
        "changes NumPy's global state"),
    **dict.fromkeys(["np.info", "np.show_config", "np.show_runtime"], "prints"),
    "np.test": "runs NumPy's test suite",
    **dict.fromkeys(
        ["np.float16", "np.half", "np.float32", "np.single", "np.complex64", "np.csingle"],
        "rounds to low precision: central differences cannot check it to 1e-5"),
    **dict.fromkeys(
        ["np.busday_count", "np.busday_offset", "np.is_busday", "np.datetime_as_string",
         "np.datetime_data", "np.isnat", "np.busdaycalendar", "np.datetime64",
         "np.timedelta64"], "dates: no floating-point argument"),
}

UNARY = "unary ufunc"
BINARY = "binary ufunc"
INTEGER = "integer ufunc"
REDUCTION = "reduction with axis"
SHAPE = "shape op"
LINALG = "linalg on a square matrix"
SPD = "linalg on a symmetric positive definite matrix"
CONSTRUCTOR = "constructor from scalars"
SEQUENCE = "function of a sequence"
INDEX = "index/search"
FFT = "fft"
METHOD = "ndarray method"
ATTRIBUTE = "ndarray attribute"
INDEXER = "indexing helper"
MUTATOR = "writes into an array"
ELEMENTWISE = "elementwise function"
PAIR = "function of two arrays"
SCALAR = "scalar type"
GENERIC = "generic fallback"

# Domains of unary ufuncs that need more than (0.2, 0.9).
UFUNC_DOMAIN = {"arccosh": "m2", "acosh": "m2"}
# Ufuncs NumPy defines for integers (or bools) only: fed a piecewise-constant integer array.
INT_ARG = "np.floor(x * 10).astype(np.int64)"
INT_ARG_Y = "np.floor(y * 10).astype(np.int64)"
SYM = "(x + np.transpose(x)) / 2"  # symmetric, so that perturbing x keeps it symmetric
SORTED = "np.sort(x)"

# Keyed by the callable's dotted name. A list is tried in order.
SPECS: dict[str, list[Spec]] = {}


def _add(names: str, *specs: Spec) -> None:
    for name in names.split():
        SPECS[name] = list(specs)


# ---- reductions and scans: (a, axis)
_add("np.sum np.mean np.prod np.max np.min np.amax np.amin np.ptp np.std np.var np.median "
     "np.nansum np.nanmean np.nanprod np.nanmax np.nanmin np.nanstd np.nanvar np.nanmedian "
     "np.cumsum np.cumprod np.nancumsum np.nancumprod np.cumulative_sum np.cumulative_prod "
     "np.all np.any np.count_nonzero np.argmax np.argmin np.nanargmax np.nanargmin "
     "np.average np.sort np.argsort np.flip np.unwrap",
     spec(REDUCTION, "{f}(x, axis=1)", x="m"), spec(REDUCTION, "{f}(x, axis=0)", x="m"))
_add("np.diff", spec(REDUCTION, "{f}(x, axis=1)", x="m"))
_add("np.percentile np.nanpercentile", spec(REDUCTION, "{f}(x, 30.0, axis=1)", x="m"))
_add("np.quantile np.nanquantile", spec(REDUCTION, "{f}(x, 0.3, axis=1)", x="m"))
_add("np.trapezoid", spec(REDUCTION, "{f}(x, axis=1)", x="m"),
     spec(REDUCTION, "{f}(x, y)", x="v", y="v"))
_add("np.gradient", spec(REDUCTION, "{f}(x)", x="m"))
_add("np.linalg.norm", spec(REDUCTION, "{f}(x, axis=1)", x="m"), spec(REDUCTION, "{f}(x)", x="m"))
_add("np.linalg.vector_norm", spec(REDUCTION, "{f}(x, axis=1)", x="m"))
_add("np.linalg.matrix_norm", spec(REDUCTION, "{f}(x)", x="m"))
_add("np.trace np.diagonal np.linalg.trace np.linalg.diagonal", spec(REDUCTION, "{f}(x)", x="m"))

# ---- shape ops: (x, shape/axes)
_add("np.reshape", spec(SHAPE, "{f}(x, (4, 3))", x="m"))
_add("np.transpose np.permute_dims", spec(SHAPE, "{f}(x, (2, 0, 1))", x="t"))
_add("np.moveaxis", spec(SHAPE, "{f}(x, 0, -1)", x="t"))
_add("np.rollaxis", spec(SHAPE, "{f}(x, 2)", x="t"))
_add("np.swapaxes", spec(SHAPE, "{f}(x, 0, 2)", x="t"))
_add("np.expand_dims", spec(SHAPE, "{f}(x, 1)", x="m"))
_add("np.squeeze", spec(SHAPE, "{f}(np.reshape(x, (3, 1, 4)))", x="m"))
_add("np.broadcast_to", spec(SHAPE, "{f}(x, (2, 3, 4))", x="m"))
_add("np.resize", spec(SHAPE, "{f}(x, (5, 3))", x="m"))
_add("np.tile", spec(SHAPE, "{f}(x, (2, 1))", x="m"))
_add("np.repeat", spec(SHAPE, "{f}(x, 2, axis=1)", x="m"))
_add("np.roll", spec(SHAPE, "{f}(x, 1, axis=1)", x="m"))
_add("np.rot90", spec(SHAPE, "{f}(x)", x="m"))
_add("np.pad", spec(SHAPE, "{f}(x, 1)", x="m"), spec(SHAPE, "{f}(x, 1, mode='reflect')", x="m"))
_add("np.tril np.triu", spec(SHAPE, "{f}(x, -1)", x="m"))
_add("np.diag np.diagflat", spec(SHAPE, "{f}(x)", x="v3"), spec(SHAPE, "{f}(x)", x="m"))
_add("np.split np.array_split", spec(SHAPE, "{f}(x, 2, axis=1)", x="m"))
_add("np.hsplit", spec(SHAPE, "{f}(x, 2)", x="m"))
_add("np.vsplit", spec(SHAPE, "{f}(x, [1])", x="m"))
_add("np.dsplit", spec(SHAPE, "{f}(x, 2)", x="t"))
_add("np.unstack", spec(SHAPE, "{f}(x, axis=1)", x="m"))
_add("np.delete", spec(SHAPE, "{f}(x, 1, axis=1)", x="m"))
_add("np.insert", spec(SHAPE, "{f}(x, 1, y, axis=0)", x="m", y="v"),
     spec(SHAPE, "{f}(x, 1, y)", x="v", y="s"))
_add("np.append", spec(SHAPE, "{f}(x, y)", x="m", y="v"))
_add("np.trim_zeros", spec(SHAPE, "{f}(x)", x="v"))
_add("np.take", spec(INDEX, "{f}(x, [2, 0, 2], axis=1)", x="m"))
_add("np.take_along_axis", spec(INDEX, "{f}(x, np.argsort(x, axis=1), axis=1)", x="m"))
_add("np.compress", spec(INDEX, "{f}([True, False, True, True], x, axis=1)", x="m"))
_add("np.extract", spec(INDEX, "{f}(x > 0.5, x)", x="m"))
_add("np.choose", spec(INDEX, "{f}([0, 1, 0], [x, y])", x="v3", y="v3"))
_add("np.select", spec(INDEX, "{f}([x > 0.5, x <= 0.5], [x, y])", x="m", y="m"))
_add("np.where", spec(INDEX, "{f}(x > 0.5, x, y)", x="m", y="m"))
_add("np.piecewise", spec(INDEX, "{f}(x, [x > 0.5], [np.sin, np.cos])", x="m"))
_add("np.searchsorted", spec(INDEX, "{f}(np.sort(x), y)", x="v", y="v3"))
_add("np.digitize", spec(INDEX, "{f}(y, np.sort(x))", x="v", y="v3"))
_add("np.argpartition np.partition", spec(INDEX, "{f}(x, 2, axis=1)", x="m"))
_add("np.lexsort", spec(INDEX, "{f}((x, y))", x="v", y="v"))
_add("np.argwhere np.flatnonzero np.nonzero", spec(INDEX, "{f}(x > 0.5)", x="m"))
_add("np.unravel_index", spec(INDEX, "{f}(np.argmax(x), (3, 4))", x="m"))
_add("np.ravel_multi_index", spec(INDEX, "{f}((np.argmax(x, axis=0), [0, 1, 2, 3]), (3, 4))",
                                  x="m"))
_add("np.diag_indices_from np.tril_indices_from np.triu_indices_from",
     spec(INDEX, "{f}(x)", x="sq"))
_add("np.diag_indices np.tril_indices np.triu_indices", spec(INDEX, "{f}(3)[0] * a", a="s"))
_add("np.mask_indices", spec(INDEX, "{f}(3, np.triu)[0] * a", a="s"))
_add("np.ix_", spec(INDEX, "{f}(np.argsort(x), np.argsort(y))", x="v3", y="v3"))
_add("np.indices", spec(INDEX, "{f}((2, 3)) * a", a="s"))
_add("np.vectorize", spec(ELEMENTWISE, "{f}(np.sin)(x)", x="m"))
_add("np.bincount", spec(INDEX, "{f}(np.argsort(x), weights=y)", x="v", y="v"))
_add("np.histogram np.histogram_bin_edges", spec(INDEX, "{f}(x, bins=3)", x="v"))
_add("np.histogram2d", spec(INDEX, "{f}(x, y, bins=2)", x="v", y="v"))
_add("np.histogramdd", spec(INDEX, "{f}(x, bins=2)", x="m"))
_add("np.isin", spec(INDEX, "{f}(x, y)", x="v", y="v"))
_add("np.interp", spec(INDEX, "{f}(z, np.sort(x), y)", z="v3", x="v", y="v"))

# ---- sets and sorting
_add("np.unique np.unique_values np.sort_complex", spec(INDEX, "{f}(x)", x="v"))
_add("np.unique_all np.unique_counts np.unique_inverse", spec(INDEX, "{f}(x)", x="v"))
_add("np.intersect1d np.setdiff1d np.setxor1d np.union1d",
     spec(INDEX, "{f}(x, np.concatenate([x[:2], y]))", x="v", y="v3"))

# ---- linalg
_add("np.linalg.inv np.linalg.det np.linalg.slogdet np.linalg.eig np.linalg.eigvals "
     "np.linalg.pinv np.linalg.svd np.linalg.svdvals np.linalg.qr np.linalg.matrix_rank "
     "np.linalg.cond",
     spec(LINALG, "{f}(x)", x="sq"))
_add("np.linalg.cholesky np.linalg.eigh np.linalg.eigvalsh", spec(SPD, "{f}(" + SYM + ")", x="sq"))
_add("np.linalg.matrix_power", spec(LINALG, "{f}(x, 3)", x="sq"))
_add("np.linalg.solve", spec(LINALG, "{f}(x, y)", x="sq", y="v3"))
_add("np.linalg.lstsq", spec(LINALG, "{f}(x, y, rcond=None)", x="sq", y="v3"))
_add("np.linalg.tensorinv", spec(LINALG, "{f}(np.reshape(x, (2, 2, 2, 2)), ind=2)", x="sq4"))
_add("np.linalg.tensorsolve",
     spec(LINALG, "{f}(np.reshape(x, (2, 2, 2, 2)), np.reshape(y, (2, 2)))", x="sq4", y="v4"))
_add("np.linalg.multi_dot", spec(SEQUENCE, "{f}([x, np.transpose(y), z])", x="m", y="m",
                                 z="m"))
_add("np.linalg.matrix_transpose np.matrix_transpose", spec(SHAPE, "{f}(x)", x="m"))

# ---- two arrays
_add("np.dot np.matmul np.linalg.matmul", spec(PAIR, "{f}(x, np.transpose(y))", x="m", y="m"))
_add("np.vdot np.inner np.outer np.linalg.outer np.convolve np.correlate np.kron np.vecdot "
     "np.linalg.vecdot np.polyadd np.polysub np.polymul np.polyval",
     spec(PAIR, "{f}(x, y)", x="v", y="v3"), spec(PAIR, "{f}(x, y)", x="v", y="v"))
_add("np.polydiv", spec(PAIR, "{f}(x, y)", x="v", y="v3"))
_add("np.cross np.linalg.cross", spec(PAIR, "{f}(x, y)", x="v3", y="v3"))
_add("np.tensordot np.linalg.tensordot", spec(PAIR, "{f}(x, y, axes=([1], [1]))", x="m", y="m"))
_add("np.matvec", spec(PAIR, "{f}(x, y)", x="m", y="v"))
_add("np.vecmat", spec(PAIR, "{f}(y, x)", x="m", y="v3"))
_add("np.einsum", spec(PAIR, "{f}('ij,kj->ik', x, y)", x="m", y="m"),
     spec(PAIR, "{f}(x, (0, 1), (1, 0))", x="m"))
_add("np.einsum_path", spec(PAIR, "{f}('ij,kj->ik', x, y)", x="m", y="m"))
_add("np.cov np.corrcoef", spec(PAIR, "{f}(x)", x="m"), spec(PAIR, "{f}(x, y)", x="v", y="v"))
_add("np.polyfit", spec(PAIR, "{f}(x, y, 2)", x="v", y="v"))
_add("np.allclose np.isclose np.array_equal np.array_equiv",
     spec(PAIR, "{f}(x, y)", x="m", y="m"))
_add("np.ldexp", spec(BINARY, "{f}(x, " + INT_ARG_Y + ")", x="m", y="m"))
_add("np.may_share_memory np.shares_memory", spec(PAIR, "{f}(x, y)", x="m", y="m"))

# ---- polynomials of one coefficient array
_add("np.poly np.roots np.polyder np.polyint", spec(ELEMENTWISE, "{f}(x)", x="v3"))

# ---- constructors from scalars
_add("np.linspace np.geomspace np.logspace", spec(CONSTRUCTOR, "{f}(a, b, 5)", a="s", b="s2"))
_add("np.arange", spec(CONSTRUCTOR, "{f}(a, b, 0.25)", a="s", b="s2"))
_add("np.full", spec(CONSTRUCTOR, "{f}((2, 3), a)", a="s"))
_add("np.full_like", spec(CONSTRUCTOR, "{f}(x, a)", x="m", a="s"))
_add("np.empty", spec(CONSTRUCTOR, "y = {f}((2, 3))\ny[...] = a\ny", a="s"))
_add("np.empty_like", spec(CONSTRUCTOR, "y = {f}(x)\ny[...] = x * 2.0\ny", x="m"))
_add("np.zeros np.ones np.identity np.eye np.tri np.hamming np.hanning np.bartlett "
     "np.blackman", spec(CONSTRUCTOR, "{f}(3) * a", a="s"))
_add("np.kaiser", spec(CONSTRUCTOR, "{f}(4, a)", a="s2"))
_add("np.fromfunction", spec(CONSTRUCTOR, "{f}(lambda i, j: i + j, (2, 3)) * a", a="s"))
_add("np.fromiter", spec(CONSTRUCTOR, "{f}(iter(x), float)", x="v"))
_add("np.zeros_like np.ones_like", spec(CONSTRUCTOR, "{f}(x)", x="m"))
_add("np.vander", spec(CONSTRUCTOR, "{f}(x, 3)", x="v3"))
_add("np.meshgrid", spec(SEQUENCE, "{f}(x, y)", x="v3", y="v"))
_add("np.broadcast_arrays", spec(SEQUENCE, "{f}(x, y)", x="m", y="v4"))
_add("np.broadcast_shapes", spec(INDEX, "{f}(np.shape(x), (2, 1, 1))", x="m"))

# ---- sequences
_add("np.concatenate np.concat", spec(SEQUENCE, "{f}([x, y], axis=1)", x="m", y="m"))
_add("np.stack", spec(SEQUENCE, "{f}([x, y], axis=1)", x="m", y="m"))
_add("np.hstack np.vstack np.row_stack np.dstack np.column_stack",
     spec(SEQUENCE, "{f}((x, y))", x="m", y="m"))
_add("np.block", spec(SEQUENCE, "{f}([[x, y]])", x="m", y="m"))
_add("np.atleast_1d np.atleast_2d np.atleast_3d", spec(SEQUENCE, "{f}(a)", a="s"),
     spec(SEQUENCE, "{f}(x)", x="v"))
_add("np.array np.asarray np.asanyarray np.ascontiguousarray np.asfortranarray "
     "np.asarray_chkfinite np.require",
     spec(SEQUENCE, "{f}([x, y])", x="v", y="v"), spec(SEQUENCE, "{f}(x)", x="m"))
_add("np.bmat", spec(SEQUENCE, "{f}([[x, y]])", x="m", y="m"))
_add("np.asmatrix", spec(SEQUENCE, "{f}(x)", x="m"))
_add("np.apply_along_axis", spec(SEQUENCE, "{f}(np.sum, 1, x)", x="m"))
_add("np.apply_over_axes", spec(SEQUENCE, "{f}(np.sum, x, [1])", x="m"))

# ---- elementwise (not ufuncs)
_add("np.sinc np.i0 np.fix np.real np.imag np.angle np.nan_to_num np.real_if_close "
     "np.isposinf np.isneginf np.isreal np.iscomplex np.conj np.round np.around",
     spec(ELEMENTWISE, "{f}(x)", x="m"))
_add("np.clip", spec(ELEMENTWISE, "{f}(x, 0.4, 0.7)", x="m"),
     spec(ELEMENTWISE, "{f}(x, y, z)", x="m", y="s", z="s2"))
_add("np.astype", spec(ELEMENTWISE, "{f}(x, np.float64)", x="m"))
_add("np.copy", spec(ELEMENTWISE, "{f}(x)", x="m"))
_add("np.ediff1d", spec(ELEMENTWISE, "{f}(x)", x="v"))
_add("np.packbits", spec(INTEGER, "{f}(x > 0.5)", x="m"))
_add("np.unpackbits", spec(INTEGER, "{f}(np.packbits(x > 0.5))", x="m"))
_add("np.base_repr np.binary_repr", spec(INTEGER, "{f}(" + INT_ARG + "[0, 0])", x="m"))
_add("np.format_float_positional np.format_float_scientific", spec(ELEMENTWISE, "{f}(a)", a="s"))
_add("np.array2string np.array_repr np.array_str", spec(ELEMENTWISE, "{f}(x)", x="m"))

# ---- writes into an array: the written array is what the program weighs
_add("np.copyto", spec(MUTATOR, "y = np.zeros((3, 4))\n{f}(y, x)\ny", x="m"))
_add("np.put", spec(MUTATOR, "y = x * 1.0\n{f}(y, [0, 5], [z, z])\ny", x="m", z="s"))
_add("np.place", spec(MUTATOR, "y = x * 1.0\n{f}(y, y > 0.5, z)\ny", x="m", z="v"))
_add("np.putmask", spec(MUTATOR, "y = x * 1.0\n{f}(y, y > 0.5, z)\ny", x="m", z="m"))
_add("np.put_along_axis", spec(MUTATOR, "y = x * 1.0\n{f}(y, np.argmax(y, axis=1, keepdims=True)"
                                        ", z, axis=1)\ny", x="m", z="s"))
_add("np.fill_diagonal", spec(MUTATOR, "y = x * 1.0\n{f}(y, z)\ny", x="m", z="s"))

# ---- fft
for _name in ("fft ifft rfft ihfft".split()):
    _add(f"np.fft.{_name}", spec(FFT, "{f}(x)", x="v8"))
for _name in ("fft2 ifft2 fftn ifftn rfft2 rfftn".split()):
    _add(f"np.fft.{_name}", spec(FFT, "{f}(x)", x="m"))
_add("np.fft.hfft np.fft.irfft", spec(FFT, "{f}(x)", x="v"))
_add("np.fft.irfft2 np.fft.irfftn", spec(FFT, "{f}(x)", x="m"))
_add("np.fft.fftshift np.fft.ifftshift", spec(FFT, "{f}(x)", x="m"))
_add("np.fft.fftfreq np.fft.rfftfreq", spec(FFT, "{f}(6, a)", a="s"))

# ---- scalar types
_add("np.float64 np.double np.longdouble np.float128 np.int64 np.int32 np.int16 np.int8 "
     "np.intp np.int_ np.intc np.long np.longlong np.short np.byte np.uint np.uint8 "
     "np.uint16 np.uint32 np.uint64 np.uintc np.uintp np.ulong np.ulonglong np.ushort "
     "np.ubyte np.bool np.bool_ np.complex128 np.cdouble np.complex256 np.clongdouble",
     spec(SCALAR, "{f}(a)", a="s"))

# ---- ndarray methods: x.<name>(...)
_add("ndarray.sum ndarray.mean ndarray.prod ndarray.max ndarray.min ndarray.std ndarray.var "
     "ndarray.cumsum ndarray.cumprod ndarray.all ndarray.any ndarray.argmax ndarray.argmin "
     "ndarray.argsort", spec(METHOD, "x.{f}(axis=1)", x="m"), spec(METHOD, "x.{f}()", x="m"))
_add("ndarray.reshape", spec(METHOD, "x.{f}(4, 3)", x="m"))
_add("ndarray.transpose", spec(METHOD, "x.{f}(2, 0, 1)", x="t"))
_add("ndarray.swapaxes", spec(METHOD, "x.{f}(0, 2)", x="t"))
_add("ndarray.squeeze", spec(METHOD, "np.reshape(x, (3, 1, 4)).{f}()", x="m"))
_add("ndarray.take", spec(METHOD, "x.{f}([2, 0, 2], axis=1)", x="m"))
_add("ndarray.repeat", spec(METHOD, "x.{f}(2, axis=1)", x="m"))
_add("ndarray.clip", spec(METHOD, "x.{f}(0.4, 0.7)", x="m"))
_add("ndarray.round", spec(METHOD, "x.{f}(1)", x="m"))
_add("ndarray.compress", spec(METHOD, "x.{f}([True, False, True, True], axis=1)", x="m"))
_add("ndarray.choose", spec(METHOD, "np.argsort(x).{f}([x, x * 2.0, x * 3.0])", x="v3"))
_add("ndarray.dot", spec(METHOD, "x.{f}(np.transpose(y))", x="m", y="m"))
_add("ndarray.searchsorted", spec(METHOD, "np.sort(x).{f}(y)", x="v", y="v3"))
_add("ndarray.astype", spec(METHOD, "x.{f}(np.float64)", x="m"))
_add("ndarray.view", spec(METHOD, "x.{f}()", x="m"))
_add("ndarray.getfield", spec(METHOD, "x.{f}(np.float64)", x="m"))
_add("ndarray.byteswap", spec(METHOD, "x.{f}()", x="m"))
_add("ndarray.item", spec(METHOD, "x.{f}(1, 2)", x="m"))
_add("ndarray.to_device", spec(METHOD, "x.{f}('cpu')", x="m"))
_add("ndarray.fill", spec(MUTATOR, "y = np.zeros((3, 4))\ny.{f}(a)\ny", a="s"))
_add("ndarray.put", spec(MUTATOR, "y = x * 1.0\ny.{f}([0, 5], [a, a])\ny", x="m", a="s"))
_add("ndarray.sort", spec(MUTATOR, "y = x * 1.0\ny.{f}(axis=1)\ny", x="m"))
_add("ndarray.partition", spec(MUTATOR, "y = x * 1.0\ny.{f}(2, axis=1)\ny", x="m"))
_add("ndarray.argpartition", spec(METHOD, "x.{f}(2, axis=1)", x="m"))
_add("ndarray.resize", spec(MUTATOR, "y = x * 1.0\ny.{f}((2, 6))\ny", x="m"))
_add("ndarray.setfield", spec(MUTATOR, "y = np.zeros((3, 4))\ny.{f}(x, np.float64)\ny", x="m"))
_add("ndarray.setflags", spec(MUTATOR, "y = x * 1.0\ny.{f}(write=False)\ny", x="m"))
_add("ndarray.flat", spec(ATTRIBUTE, "x.{f}[[1, 5, 1]]", x="m"))
_add("ndarray.T ndarray.mT", spec(ATTRIBUTE, "x.{f}", x="t"))
_add("np.r_", spec(INDEXER, "{f}[x, y]", x="v", y="v3"), spec(INDEXER, "{f}[x, 0.5]", x="v"))
_add("np.c_", spec(INDEXER, "{f}[x, y]", x="v", y="v"))
_add("np.s_ np.index_exp", spec(INDEXER, "x[{f}[1:, ::2]]", x="m"))
_add("np.mgrid np.ogrid", spec(INDEXER, "{f}[0:1:3j, 0:1:4j][0] * x", x="m"))
_add("ndarray.diagonal ndarray.trace ndarray.flatten ndarray.ravel ndarray.copy ndarray.conj "
     "ndarray.conjugate ndarray.nonzero ndarray.tolist ndarray.tobytes ndarray.dumps",
     spec(METHOD, "x.{f}()", x="m"))


def _ufunc_specs(name: str, ufunc: np.ufunc) -> list[Spec]:
    short = name.rsplit(".", 1)[1]
    if ufunc.nin == 1:
        kind = UFUNC_DOMAIN.get(short, "m")
        return [spec(UNARY, "{f}(x)", x=kind), spec(INTEGER, "{f}(" + INT_ARG + ")", x="m"),
                spec(INTEGER, "{f}(x > 0.5)", x="m")]
    if ufunc.nin == 2:
        return [spec(BINARY, "{f}(x, y)", x="m", y="m"),
                spec(BINARY, "{f}(x, y)", x="m", y="v"),  # matvec-like gufuncs: see SPECS
                spec(INTEGER, "{f}(" + INT_ARG + ", " + INT_ARG_Y + ")", x="m", y="m"),
                spec(INTEGER, "{f}(x > 0.5, y > 0.5)", x="m", y="m")]
    return []


GENERIC_SPECS = [
    spec(GENERIC, "{f}(x)", x="m"),
    spec(GENERIC, "{f}(x)", x="v"),
    spec(GENERIC, "{f}(x)", x="sq"),
    spec(GENERIC, "{f}(a)", a="s"),
    spec(GENERIC, "{f}(x, y)", x="m", y="m"),
    spec(GENERIC, "{f}(x, y)", x="v", y="v"),
]
METHOD_GENERIC_SPECS = [spec(GENERIC, "x.{f}()", x="m")]
ATTRIBUTE_GENERIC_SPECS = [spec(ATTRIBUTE, "x.{f}", x="m")]


# Extra rows: other ways of calling a callable that users write and the issue names (the
# einsum sublist form, out=, the ufunc methods). Keyed by "name[variant]"; no fallback.
VARIANTS: dict[str, list[Spec]] = {
    "np.einsum[sublist]": [spec(PAIR, "{f}(x, [0, 1], [1, 0])", x="m")],
    "np.einsum[trace]": [spec(PAIR, "{f}('ii', x)", x="sq")],
    "np.add[out=]": [spec(MUTATOR, "y = np.zeros((3, 4))\n{f}(x, 1.0, out=y)\ny", x="m")],
    "np.sin[out=]": [spec(MUTATOR, "y = np.zeros((3, 4))\n{f}(x, out=y)\ny", x="m")],
    "np.sum[out=]": [spec(MUTATOR, "y = np.zeros(3)\n{f}(x, axis=1, out=y)\ny", x="m")],
    "np.add[at]": [spec(MUTATOR, "y = x * 1.0\n{f}.at(y, [0, 0, 2], z)\ny", x="m", z="v4")],
    "np.multiply[at]": [spec(MUTATOR, "y = x * 1.0\n{f}.at(y, [0, 0, 2], z)\ny", x="m", z="v4")],
    "np.add[reduce]": [spec(REDUCTION, "{f}.reduce(x, axis=1)", x="m")],
    "np.multiply[accumulate]": [spec(REDUCTION, "{f}.accumulate(x, axis=1)", x="m")],
    "np.multiply[outer]": [spec(PAIR, "{f}.outer(x, y)", x="v3", y="v")],
    "np.mean[all axes]": [spec(REDUCTION, "{f}(x)", x="m")],
    "np.max[keepdims]": [spec(REDUCTION, "{f}(x, axis=-1, keepdims=True)", x="m")],
    "np.power[scalar exponent]": [spec(BINARY, "{f}(x, 3.0)", x="m")],
    "np.linalg.norm[vector, ord=1]": [spec(REDUCTION, "{f}(x, ord=1)", x="v")],
    "np.linalg.norm[fro]": [spec(REDUCTION, "{f}(x, 'fro')", x="m")],
    "np.linspace[num=1]": [spec(CONSTRUCTOR, "{f}(a, b, 1)", a="s", b="s2")],
    "np.full[shape of x]": [spec(CONSTRUCTOR, "{f}(np.shape(x), a) * x", x="m", a="s")],
    "np.where[one branch]": [spec(INDEX, "{f}(x > 0.5, x, 0.0)", x="m")],
    "np.reshape[-1]": [spec(SHAPE, "{f}(x, -1)", x="m")],
    "np.take[flat]": [spec(INDEX, "{f}(x, [5, 1, 5])", x="m")],
    "ndarray.sum[no arguments]": [spec(METHOD, "x.{f}()", x="t")],
}


def variant_entries(entries: list[Entry]) -> list[Entry]:
    by_name = {e.name: e for e in entries}
    result = []
    for key in VARIANTS:
        name, variant = key[:-1].split("[")
        base = by_name[name]
        result.append(Entry(name, base.obj, base.kind, variant))
    return result


def specs_for(entry: Entry) -> list[Spec]:
    """The specs to try for ``entry``, most specific first."""
    if entry.variant:
        return list(VARIANTS.get(entry.key) or KEYWORD_VARIANTS[entry.key])
    specs = list(SPECS.get(entry.name, ()))
    if isinstance(entry.obj, np.ufunc):
        specs += _ufunc_specs(entry.name, entry.obj)
    if entry.kind == "attribute":
        return specs + ATTRIBUTE_GENERIC_SPECS
    if entry.kind == "indexer":
        return specs
    return specs + (METHOD_GENERIC_SPECS if entry.method else GENERIC_SPECS)


# --------------------------------------------------------------------------- programs


@dataclass
class Program:
    """One callable's program: the function, its arguments, and how it was made."""

    entry: Entry
    spec: Spec
    fname: str
    params: tuple[str, ...]
    args: tuple
    lines: list[str]
    weights: dict[str, Any]
    function: Callable | None = None
    sink: bool = False  # the output is not numbers: the program weighs its inputs instead

    @property
    def family(self) -> str:
        return self.spec.family + (" (output not weighed)" if self.sink else "")


@dataclass
class NoMaker:
    entry: Entry
    reason: str

    family = "no maker"


def _call_text(entry: Entry, body: str) -> str:
    if entry.method:
        return body.replace("{f}", entry.short)
    return body.replace("{f}", entry.name)


def _namespace() -> dict:
    return {"np": np, "__builtins__": __builtins__}


def _run_body(lines: list[str], params, args):
    """Run the program's body in plain NumPy and return the value of its last line."""
    names = dict(_namespace())
    names.update(zip(params, args, strict=True))
    *statements, last = lines
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            for statement in statements:
                exec(statement, names)  # noqa: S102 (the audit runs its own generated text)
            return eval(last, names)  # noqa: S307


def _is_array_like(value) -> bool:
    return isinstance(value, (np.ndarray, np.generic, float, int, bool)) and not isinstance(
        value, np.matrix)


def _weigh(value, out: str, fname: str, rng) -> tuple[list[str], dict[str, Any]] | None:
    """Lines that turn ``out`` (an expression with the plain value ``value``) into a float,
    and the weights they read; ``None`` when the value is not numbers."""
    if isinstance(value, tuple) or (isinstance(value, list) and value and all(
            isinstance(v, np.ndarray) for v in value)):  # (values, edges), np.split(...)
        lines, weights, terms = [], {}, []
        for i, component in enumerate(value):
            part = _weigh(component, f"{out}[{i}]", f"{fname}_{i}", rng)
            if part is None:
                continue
            more, w = part
            lines += more[:-1]
            terms.append(more[-1])
            weights.update(w)
        return (lines + [" + ".join(terms)], weights) if terms else None
    if isinstance(value, list):  # x.tolist(): weighed through np.asarray(out)
        try:
            array = np.asarray(value)
        except ValueError:  # ragged
            return None
        if array.dtype.kind not in "fiub":
            return None
        out, value = f"np.asarray({out})", array
    if not _is_array_like(value):
        return None
    dtype = np.asarray(value).dtype
    shape = np.shape(value)
    name = f"W_{fname}"
    if dtype.kind in "fiub":
        weights = {name: rng.uniform(0.5, 1.5, shape)}
        return [f"np.sum({out} * {name})"], weights
    if dtype.kind == "c":
        weights = {name: rng.uniform(0.5, 1.5, shape), name + "i": rng.uniform(0.5, 1.5, shape)}
        return [f"np.sum(np.real({out}) * {name}) + np.sum(np.imag({out}) * {name}i)"], weights
    return None


def _finite(value) -> bool:
    """False when a numeric output has an inf or a nan (a point outside the domain)."""
    parts = value if isinstance(value, (tuple, list)) else [value]
    for part in parts:
        if isinstance(part, (np.ndarray, np.generic, float, int)) and not isinstance(
                part, np.matrix):
            array = np.asarray(part)
            if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
                return False
    return True


def make_program(entry: Entry, index: int) -> Program | NoMaker:
    """The first spec for ``entry`` whose plain program runs, as a :class:`Program`."""
    if entry.key in NEVER_CALLED:
        return NoMaker(entry, NEVER_CALLED[entry.key])
    fname = f"p_{index:04d}"
    last_error = "no spec applies"
    for candidate in specs_for(entry):
        rng = rng_for(entry.key)
        params = tuple(candidate.kinds)
        args = tuple(make_value(kind, rng) for kind in candidate.kinds.values())
        lines = _call_text(entry, candidate.body).split("\n")
        try:
            value = _run_body(lines, params, args)
        except Exception as error:  # NumPy refused the call: the maker is wrong, try the next
            last_error = f"{candidate.body!r}: {type(error).__name__}: {error}"[:200]
            continue
        if not params:
            last_error = f"{candidate.body!r} takes no differentiated argument"
            continue
        if not _finite(value):
            last_error = f"{candidate.body!r}: NumPy returns inf or nan at this point"
            continue
        weighed = _weigh(value, "out", fname, rng)
        if weighed is None:  # not numbers: call it, then weigh the inputs themselves
            name = f"W_{fname}"
            weights = {f"{name}_{p}": rng.uniform(0.5, 1.5, np.shape(a))
                       for p, a in zip(params, args, strict=True)}
            result = " + ".join(f"np.sum({p} * {name}_{p})" for p in params)
            body = [*lines[:-1], f"out = {lines[-1]}", f"return {result}"]
        else:
            more, weights = weighed
            body = [*lines[:-1], f"out = {lines[-1]}", *more[:-1], f"return {more[-1]}"]
        return Program(entry, candidate, fname, params, args, body, weights,
                       sink=weighed is None)
    return NoMaker(entry, last_error)


def module_text(programs: list[Program]) -> str:
    """One module holding every program (one file is far faster than one per callable).

    The weight arrays come from :data:`WEIGHTS`, which :func:`load` puts into the module's
    namespace before running it.
    """
    parts = ['"""Generated by tests/audit/makers.py: one program per NumPy callable."""', "",
             "import numpy as np", ""]
    for program in programs:
        for name in program.weights:
            parts.append(f"{name} = WEIGHTS[{name!r}]")
    for program in programs:
        parts += ["", "", f"def {program.fname}({', '.join(program.params)}):",
                  f"    # {program.entry.key} ({program.family})"]
        parts += [f"    {line}" for line in program.lines]
    return "\n".join(parts) + "\n"


# Values tried for the keywords a rule says it understands (``Rule.keywords``), so that a
# new rule's keywords are audited as soon as it is registered.
KEYWORD_SAMPLES = {
    "axis": ["-1", "(0, 1)"],
    "keepdims": ["True"],
    "ddof": ["1"],
    "n": ["2"],
    "ord": ["'fro'", "1", "np.inf"],
    "endpoint": ["False"],
    "k": ["1", "-1"],
    "offset": ["1"],
    "upper": ["True"],
}
KEYWORD_VARIANTS: dict[str, list[Spec]] = {}
REJECTED: list[str] = []
"""Automatic variants NumPy itself refuses (``np.squeeze(x, axis=-1)`` on a (3, 1, 4) array,
``np.log`` of negative numbers): reported, not run."""


def keyword_specs(program: Program) -> list[tuple[str, Spec]]:
    """One variant per keyword the callable's rule understands and per sample value, made
    from the program's one-line call ``{f}(x, ...)``."""
    from autodiffx.rules import lookup

    rule = lookup(program.entry.obj) if not program.entry.method else None
    body = program.spec.body
    if rule is None or not rule.keywords or program.entry.variant or "\n" in body or not (
            body.startswith("{f}(") and body.endswith(")")):
        return []
    variants = []
    for keyword in rule.keywords:
        if f"{keyword}=" in body:
            continue
        if keyword not in KEYWORD_SAMPLES:
            REJECTED.append(f"{program.entry.key}[{keyword}=...]: no sample value in "
                            "KEYWORD_SAMPLES (positional in the maker, or to be added)")
        for value in KEYWORD_SAMPLES.get(keyword, []):
            variants.append((f"{keyword}={value}", Spec(
                program.spec.family, f"{body[:-1]}, {keyword}={value})", program.spec.kinds)))
    return variants


POINT_KINDS = {"signed": "signed", "float": "s"}
"""Other points for ufuncs: both signs (``np.abs``, ``np.maximum`` take both branches), and
Python floats instead of arrays (the scalar paths of both modes)."""


def point_specs(program: Program) -> list[tuple[str, Spec]]:
    """The ufunc's program at the other points of :data:`POINT_KINDS` (a point outside the
    ufunc's domain is dropped by :func:`make_program`'s finiteness check)."""
    kinds = program.spec.kinds
    if program.spec.family not in (UNARY, BINARY) or program.entry.variant or "m" not in set(
            kinds.values()):
        return []
    return [(variant, Spec(program.spec.family, program.spec.body,
                           {p: kind if k == "m" else k for p, k in kinds.items()}))
            for variant, kind in POINT_KINDS.items()]


def make_all(entries: list[Entry] | None = None) -> tuple[list[Program], list[NoMaker]]:
    """A program for every entry that has a working maker, and the rest as no-makers; then a
    program per keyword variant of every callable with a rule (:func:`keyword_specs`).

    Only plain NumPy runs here (no file is written), so it is cheap enough for collection.
    """
    if entries is None:
        entries = public_callables()
        entries += variant_entries(entries)
    programs, missing = [], []
    for index, entry in enumerate(entries):
        made = make_program(entry, index)
        (programs if isinstance(made, Program) else missing).append(made)
    REJECTED.clear()
    for program in list(programs):
        for variant, candidate in [*keyword_specs(program), *point_specs(program)]:
            entry = Entry(program.entry.name, program.entry.obj, program.entry.kind, variant)
            if entry.key in VARIANTS:
                continue  # a hand-written variant of the same name wins
            KEYWORD_VARIANTS[entry.key] = [candidate]
            made = make_program(entry, len(programs) + len(missing))
            if isinstance(made, Program):
                programs.append(made)
            else:
                REJECTED.append(f"{entry.key}: {made.reason}")
    return programs, missing


def load(folder: Path, programs: list[Program], module_name="autodiffx_audit_programs"):
    """Write the programs to one module in ``folder``, import it, and attach the functions."""
    weights: dict[str, Any] = {}
    for program in programs:
        weights.update(program.weights)
    path = Path(folder) / f"{module_name}.py"
    path.write_text(module_text(programs))
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(loader_spec)
    module.WEIGHTS = weights
    sys.modules[module_name] = module
    loader_spec.loader.exec_module(module)
    for program in programs:
        program.function = getattr(module, program.fname)
    return module
