"""The corpus registry: each program with how to draw its inputs and where its kinks are.

A :class:`Case` names a function of :mod:`tests.corpus.programs`, one input spec per
positional argument, and ``wrt``, the arguments to differentiate. An input spec is either
:class:`Real` (a Python float when ``shape`` is ``None``, else a float64 array drawn entry
by entry from ``[low, high]``) or :class:`Fixed` (a value passed unchanged and never
differentiated: a label, an index list, a trip count).

``kink(*args)`` returns how far the point is from the nearest place where the function is
not differentiable (ReLU at 0, a tie in a max, a branch boundary, a change in a loop's trip
count), measured in the quantity that switches. The tests skip points closer than
:data:`KINK_MARGIN`. ``None`` means the function is smooth on the whole domain.

Domains keep every function well inside where it is defined (positive for log and sqrt,
inside (-1, 1) for arcsin) and its derivatives moderate, which is what lets one central
difference step and one tolerance serve every case (see ``test_corpus.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import programs as p

KINK_MARGIN = 1e-3
"""Points whose kink distance is below this are skipped (``hypothesis.assume``).

The central-difference step is 1e-5 and the quantities that switch move by at most about
100 times the step over the domains below, so 1e-3 keeps both evaluations on one side.
"""


@dataclass(frozen=True)
class Real:
    """A float input: a Python float (``shape=None``) or an array of this shape."""

    shape: tuple[int, ...] | None = None
    low: float = -2.0
    high: float = 2.0


@dataclass(frozen=True)
class Fixed:
    """An input passed as it is and never differentiated."""

    value: object


@dataclass(frozen=True)
class Case:
    name: str
    function: Callable
    inputs: tuple[Real | Fixed, ...]
    wrt: tuple[int, ...] = (0,)
    kink: Callable[..., float] | None = None
    forward: bool = True
    """False when forward mode refuses the program by design: it stores into a plain
    ``np.zeros`` array, which cannot hold a Dual (forward mode raises
    DerivativeConversionError and says to use reverse mode)."""


def F(low: float = -2.0, high: float = 2.0) -> Real:
    """A Python float in [low, high]."""
    return Real(None, low, high)


def A(*shape: int, low: float = -2.0, high: float = 2.0) -> Real:
    """A float64 array of ``shape`` with entries in [low, high]."""
    return Real(tuple(shape), low, high)


# --------------------------------------------------------------------------- kink distances


def _closest(values) -> float:
    values = np.abs(np.ravel(np.asarray(values, dtype=float)))
    return float(values.min()) if values.size else np.inf


def _top_gap(values, axis=None) -> float:
    """The gap between the largest and second-largest entry (0 at a tie)."""
    values = np.asarray(values, dtype=float)
    if axis is None:
        ordered = np.sort(values.ravel())
        return float(ordered[-1] - ordered[-2]) if ordered.size > 1 else np.inf
    ordered = np.sort(values, axis=axis)
    top = np.take(ordered, -1, axis=axis) - np.take(ordered, -2, axis=axis)
    return float(np.min(top))


def _bottom_gap(values, axis=None) -> float:
    return _top_gap(-np.asarray(values, dtype=float), axis)


def _tanh_scores(W, b, u, X):
    return u @ np.tanh(W @ X + (b[:, None] if np.ndim(X) == 2 else b))


def _while_threshold_kink(a):
    distances = []
    while a < 5.0:
        distances.append(5.0 - a)
        a = a * 1.5 + 0.2
    distances.append(a - 5.0)
    return min(distances)


def _loop_break_kink(x):
    distances = []
    for v in x:
        distances.append(abs(v - 1.5))
        if v > 1.5:
            break
    return min(distances)


def _nested_break_kink(W):
    distances = []
    for row in W:
        for v in row:
            distances.append(abs(v + 1.0))
            if v < -1.0:
                break
    return min(distances)


def _remainder_kink(x):
    quotient = x / 1.5
    return _closest(quotient - np.round(quotient)) * 1.5


def _floor_kink(x):
    jumps = np.concatenate([x / 0.7 - np.round(x / 0.7), x * 2.0 - np.round(x * 2.0)])
    return _closest(jumps) * 0.5


def _huber_kink(x):
    # Huber is C1; only the branch test itself is a (harmless) switch point.
    return _closest(np.abs(x) - 1.0)


def _elif_kink(x):
    m = np.mean(x)
    return min(abs(m - 0.5), abs(m + 0.5))


def _norm_kink(x):
    # Inside the unit ball the norm is computed but unused, so only |x| = 1 switches.
    return abs(np.linalg.norm(x) - 1.0)


def _python_max_kink(a, b, c):
    return min(abs(a - b), abs(max(a, b) - c))


# --------------------------------------------------------------------------- fixed data

_LABELS = np.array([2, 0, 1, 2])
_BINARY = np.array([1.0, 0.0, 0.0, 1.0, 1.0])

# --------------------------------------------------------------------------- the cases

CASES: tuple[Case, ...] = (
    # straight-line code and elementary functions
    Case("lecture", p.lecture, (F(), F(), F()), (0, 1, 2), lambda x, y, z: abs(y - z)),
    Case("cube", p.cube, (F(),)),
    Case("polynomial", p.polynomial, (F(),)),
    Case("rational", p.rational, (F(), F(0.5, 2.0)), (0, 1)),
    Case("trig_mix", p.trig_mix, (A(4, low=-1.0, high=1.0),)),
    Case("softplus", p.softplus, (A(5),)),
    Case("logistic_sum", p.logistic_sum, (A(5),)),
    Case("roots", p.roots, (A(4, low=0.5, high=3.0),)),
    Case("hyperbolic", p.hyperbolic, (A(4, low=-1.5, high=1.5),)),
    Case("inverse_trig", p.inverse_trig, (A(4, low=-1.0, high=1.0),)),
    Case("logarithms", p.logarithms, (A(4, low=0.5, high=3.0),)),
    Case("exponentials", p.exponentials, (A(4),)),
    Case("powers", p.powers, (A(3, low=0.5, high=2.0), F(-1.5, 2.5)), (0, 1)),
    Case("polar", p.polar, (A(3, low=0.5, high=2.0), A(3)), (0, 1)),
    Case("log_add_exp", p.log_add_exp, (A(3), A(3)), (0, 1)),
    Case("square_and_reciprocal", p.square_and_reciprocal, (A(4, low=0.5, high=2.0),)),
    Case("degrees", p.degrees, (A(3),)),
    Case("signs", p.signs, (A(3),)),
    Case("arccosh_arctanh", p.arccosh_arctanh, (A(3, low=1.5, high=3.0),)),
    Case("l1_norm", p.l1_norm, (A(4),), kink=_closest),
    Case("builtin_abs", p.builtin_abs, (F(), F()), (0, 1), lambda a, b: abs(a - b)),
    Case("fabs_shift", p.fabs_shift, (A(4),), kink=lambda x: _closest(x + 0.5)),
    Case("remainder", p.remainder, (A(4),), kink=_remainder_kink),
    Case(
        "clipped",
        p.clipped,
        (A(4),),
        kink=lambda x: min(_closest(x - 1.0), _closest(x + 1.0)),
    ),
    Case("where_branches", p.where_branches, (A(4),), kink=_closest),
    Case(
        "minimum_maximum",
        p.minimum_maximum,
        (A(4), A(4)),
        (0, 1),
        lambda x, y: min(_closest(x - y), _closest(x - 0.2)),
    ),
    # branches
    Case(
        "piecewise",
        p.piecewise,
        (F(),),
        kink=lambda x: min(abs(x - 1.0), abs(x + 1.0)),
    ),
    Case("early_return", p.early_return, (A(3),), kink=lambda x: abs(np.sum(x))),
    Case(
        "conditional_expression",
        p.conditional_expression,
        (F(), F()),
        (0, 1),
        lambda a, b: abs(a - b),
    ),
    Case("branch_on_norm", p.branch_on_norm, (A(3, low=-1.0, high=1.0),), kink=_norm_kink),
    Case("nested_if", p.nested_if, (F(), F()), (0, 1), lambda x, y: min(abs(x), abs(y))),
    Case("elif_chain", p.elif_chain, (A(3),), kink=_elif_kink),
    # loops
    Case("loop_range", p.loop_range, (A(5),)),
    Case("loop_rows", p.loop_rows, (A(3, 2),)),
    Case("loop_list", p.loop_list, (F(), F(), F()), (0, 1, 2)),
    Case("loop_enumerate", p.loop_enumerate, (A(4),)),
    Case("loop_zip", p.loop_zip, (A(3), A(3)), (0, 1)),
    Case("while_counter", p.while_counter, (A(3), Fixed(4))),
    Case("while_threshold", p.while_threshold, (F(0.1, 4.0),), kink=_while_threshold_kink),
    Case("loop_break", p.loop_break, (A(5),), kink=_loop_break_kink),
    Case("loop_continue", p.loop_continue, (A(5, low=-1.0, high=2.0),), kink=_closest),
    Case("nested_loops", p.nested_loops, (A(3, 3),)),
    Case("overwrite_in_loop", p.overwrite_in_loop, (A(4),)),
    Case("augmented_scalar", p.augmented_scalar, (A(4),)),
    Case("augmented_array", p.augmented_array, (A(4),)),
    Case("tuple_unpacking", p.tuple_unpacking, (A(2),)),
    Case("loop_product", p.loop_product, (A(4),)),
    Case("nested_loop_break", p.nested_loop_break, (A(2, 3),), kink=_nested_break_kink),
    Case("fixed_point", p.fixed_point, (F(0.5, 4.0),)),
    # subscripts
    Case("index_reads", p.index_reads, (A(5),)),
    Case("matrix_index", p.matrix_index, (A(2, 3),)),
    Case("write_zeros", p.write_zeros, (A(3),), forward=False),
    Case("write_zeros_rows", p.write_zeros_rows, (A(2, 3),), forward=False),
    Case("store_moving_index", p.store_moving_index, (A(4),), forward=False),
    Case("write_zeros_like", p.write_zeros_like, (A(4),)),
    Case(
        "accumulate_into_zeros",
        p.accumulate_into_zeros,
        (A(2, 3), A(2)),
        (0, 1),
        forward=False,
    ),
    Case("accumulate_into_zeros_like", p.accumulate_into_zeros_like, (A(3),)),
    Case("floor_steps", p.floor_steps, (A(4),), kink=_floor_kink),
    Case("copy_then_write", p.copy_then_write, (A(3),)),
    Case("fancy_index", p.fancy_index, (A(4),), kink=_closest),
    Case("newaxis_broadcast", p.newaxis_broadcast, (A(3), A(2)), (0, 1)),
    # methods
    Case("method_sum_mean", p.method_sum_mean, (A(2, 3),)),
    Case("method_dot", p.method_dot, (A(3), A(3)), (0, 1)),
    Case("method_reshape", p.method_reshape, (A(6),)),
    Case(
        "method_max_min",
        p.method_max_min,
        (A(4),),
        kink=lambda x: min(_top_gap(x), _bottom_gap(x)),
    ),
    Case("method_transpose", p.method_transpose, (A(3, 2),)),
    Case("method_mean_axis", p.method_mean_axis, (A(2, 3),), kink=lambda W: _top_gap(W, 0)),
    Case("method_chain", p.method_chain, (A(6, low=-1.0, high=1.0),)),
    # keyword arguments
    Case("row_softmax", p.row_softmax, (A(2, 3),)),
    Case("mean_axis_keyword", p.mean_axis_keyword, (A(2, 2),)),
    Case("max_trick_rows", p.max_trick_rows, (A(2, 3),)),
    Case("norm_axis_keyword", p.norm_axis_keyword, (A(2, 3, low=0.5, high=2.0),)),
    # calls, closures and globals
    Case("calls_helpers", p.calls_helpers, (A(3),)),
    Case("calls_nested", p.calls_nested, (A(3),)),
    Case("calls_keyword", p.calls_keyword, (A(3),)),
    Case("calls_tuple_return", p.calls_tuple_return, (A(4),)),
    Case("closure_polynomial", p.closure_polynomial, (A(3),)),
    Case("closure_projection", p.closure_projection, (A(3),)),
    Case("uses_globals", p.uses_globals, (A(3),)),
    Case("uses_global_vector", p.uses_global_vector, (A(4),)),
    # lists
    Case("concatenate_list", p.concatenate_list, (A(3), F()), (0, 1)),
    Case("stack_list", p.stack_list, (A(3), A(3)), (0, 1)),
    Case("append_then_stack", p.append_then_stack, (A(3),)),
    Case("append_scalars", p.append_scalars, (A(4),)),
    Case("list_read_moving_index", p.list_read_moving_index, (A(3),)),
    Case("method_statistics", p.method_statistics, (A(2, 3),),
         kink=lambda W: float(np.std(W)) - 0.5),  # std: far from its singular 0
    Case("list_item_writes", p.list_item_writes, (A(3, low=-1.0, high=1.0),)),
    Case("stack_axis", p.stack_axis, (A(3), A(3)), (0, 1)),
    # models from the lecture and the course
    Case("ner_score", p.ner_score, (A(3, 10), A(3), A(3), A(10)), (0, 1, 2, 3)),
    Case(
        "ner_score_logistic",
        p.ner_score_logistic,
        (A(3, 10), A(3), A(3), A(10)),
        (0, 1, 2, 3),
    ),
    Case(
        "ner_score_relu",
        p.ner_score_relu,
        (A(3, 10, low=-1.0, high=1.0), A(3), A(3), A(10, low=-1.0, high=1.0)),
        (0, 1, 2, 3),
        lambda W, b, u, x: _closest(W @ x + b),
    ),
    Case(
        "ner_max_margin",
        p.ner_max_margin,
        (A(3, 10, low=-1.0, high=1.0), A(3), A(3, low=-0.3, high=0.3), A(10), A(10)),
        (0, 1, 2, 3, 4),
        lambda W, b, u, x, x_c: abs(1.0 - _tanh_scores(W, b, u, x) + _tanh_scores(W, b, u, x_c)),
    ),
    Case(
        "ner_batched_loss",
        p.ner_batched_loss,
        (A(3, 10, low=-1.0, high=1.0), A(3), A(3, low=-0.3, high=0.3), A(10, 3), A(10, 3)),
        (0, 1, 2, 3, 4),
        lambda W, b, u, X, X_c: _closest(
            1.0 - _tanh_scores(W, b, u, X) + _tanh_scores(W, b, u, X_c)
        ),
    ),
    Case("logistic_regression", p.logistic_regression, (A(3), A(5, 3), Fixed(_BINARY)), (0, 1)),
    Case("softmax_cross_entropy", p.softmax_cross_entropy, (A(4), Fixed(2))),
    Case(
        "softmax_cross_entropy_batch",
        p.softmax_cross_entropy_batch,
        (A(3, 3), A(4, 3), Fixed(_LABELS)),
        (0, 1),
    ),
    Case("log_sum_exp", p.log_sum_exp, (A(5),)),
    Case("word2vec_naive_softmax", p.word2vec_naive_softmax, (A(3), A(5, 3), Fixed(1)), (0, 1)),
    Case(
        "word2vec_negative_sampling",
        p.word2vec_negative_sampling,
        (A(3), A(5, 3), Fixed(0), Fixed([2, 4, 2])),
        (0, 1),
    ),
    Case(
        "rnn",
        p.rnn,
        (A(3, 3, low=-1.0, high=1.0), A(3, 2, low=-1.0, high=1.0), A(4, 2)),
        (0, 1, 2),
    ),
    Case("rosenbrock", p.rosenbrock, (A(4, low=-1.2, high=1.2),)),
    Case("rosenbrock_2d", p.rosenbrock_2d, (F(-1.2, 1.2), F(-1.2, 1.2)), (0, 1)),
    # The norm's k-th derivative grows like 1/r**k at distance r from the origin, so a
    # central difference with h = 1e-5 is only accurate to 1e-6 for r above about 1e-2:
    # the kink distance is scaled down by 10 to keep those points out.
    Case("euclidean_norm", p.euclidean_norm, (A(3),), kink=lambda x: float(np.linalg.norm(x)) / 10),
    Case(
        "frobenius_norm", p.frobenius_norm, (A(2, 3),), kink=lambda W: float(np.linalg.norm(W)) / 10
    ),
    Case("squared_norm_matmul", p.squared_norm_matmul, (A(4),)),
    Case(
        "mlp",
        p.mlp,
        (A(4, 3, low=-1.0, high=1.0), A(2, 4, low=-1.0, high=1.0), A(3)),
        (0, 1, 2),
        lambda W1, W2, x: _closest(W1 @ x),
    ),
    Case("swish_gelu", p.swish_gelu, (A(4),)),
    Case("leaky_relu", p.leaky_relu, (A(4),), kink=_closest),
    Case(
        "hard_tanh",
        p.hard_tanh,
        (A(4),),
        kink=lambda x: min(_closest(x - 1.0), _closest(x + 1.0)),
    ),
    Case("starred_shapes", p.starred_shapes, (A(3, 3, low=-1.0, high=1.0),)),
    Case(
        "band_mask",
        p.band_mask,
        (A(5),),
        kink=lambda x: min(_closest(x - 1.0), _closest(x + 1.0), _closest(x - 1.5)),
    ),
    Case("tanh_identity", p.tanh_identity, (A(4),)),
    Case("trace_product", p.trace_product, (A(3, 3),)),
    Case("einsum_bilinear", p.einsum_bilinear, (A(3, 3), A(3)), (0, 1)),
    Case("outer_inner", p.outer_inner, (A(3), A(3, low=-1.0, high=1.0)), (0, 1)),
    Case("product_reduction", p.product_reduction, (A(4, low=-1.0, high=1.0),)),
    Case("attention", p.attention, (A(2), A(3, 2), A(3, 2)), (0, 1, 2)),
    Case("shape_functions", p.shape_functions, (A(3, low=-1.0, high=1.0),)),
    Case("batched_matmul", p.batched_matmul, (A(2, 2, 3), A(2, 3, 2)), (0, 1)),
    Case("variance", p.variance, (A(5),)),
    Case(
        "cosine_similarity",
        p.cosine_similarity,
        (A(3, low=0.5, high=2.0), A(3, low=-2.0, high=-0.5)),
        (0, 1),
    ),
    Case(
        "gaussian_log_likelihood",
        p.gaussian_log_likelihood,
        (A(4), F(), F(-0.5, 0.5)),
        (0, 1, 2),
    ),
    Case("huber", p.huber, (A(4),), kink=_huber_kink),
    Case("layer_norm", p.layer_norm, (A(4),)),
    Case("gru_like_gate", p.gru_like_gate, (A(3), A(3)), (0, 1)),
    Case("exponential_moving_average", p.exponential_moving_average, (A(5),)),
    Case("pairwise_distances", p.pairwise_distances, (A(3, 2),)),
    Case("polynomial_horner", p.polynomial_horner, (A(5, low=-1.0, high=1.0), F()), (0, 1)),
    Case("scalar_and_array", p.scalar_and_array, (F(-1.0, 1.0), A(3)), (0, 1)),
    Case(
        "max_of_python_floats",
        p.max_of_python_floats,
        (F(), F(), F()),
        (0, 1, 2),
        _python_max_kink,
    ),
    Case("kinked_sum", p.kinked_sum, (A(4), A(4)), (0, 1), lambda x, y: _closest(x - y)),
    # np.std is singular where it is 0; below 0.5 the derivatives grow too fast for one
    # central-difference step, so such points count as too close to it
    Case("standardize", p.standardize, (A(4),), kink=lambda x: float(np.std(x)) - 0.5),
    Case(
        "row_standardize",
        p.row_standardize,
        (A(2, 3),),
        kink=lambda X: float(np.min(np.std(X, axis=1))) - 0.5,
    ),
    Case("running_energy", p.running_energy, (A(4, 3, low=-1.0, high=1.0),)),
    # sorting has a kink wherever two entries tie
    Case("top_k_weighting", p.top_k_weighting, (A(5),),
         kink=lambda x: _closest(np.diff(np.sort(x)))),
    Case("axes_and_gathers", p.axes_and_gathers, (A(2, 3, 2, low=-1.0, high=1.0),)),
)

BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "two corpus cases share a name"
