"""The derivative rules for NumPy's shape and assembly functions.

Each of them copies entries of its input into new places (a gather): the tangent is the same
gather applied to the tangent, and the adjoint sends every copy's cotangent back to the
entry it came from, summing the copies (``untake``). Where NumPy has a shorter spelling for
that (``np.roll`` back by the same shift, ``np.rot90`` the other way), the adjoint uses it.
"""

from __future__ import annotations

import numpy as np

from . import helpers
from .helpers import check_pad_mode, positions, shift_axis
from .registry import defrule, nondifferentiable


def _same_shape_as_answer(t, ans, *args, **keywords):
    return np.reshape(t, (len(t), *np.shape(ans)))


def _gather(t, where):
    """The tangent of a gather: entry ``i`` of the result copies flat entry ``where[i]``."""
    return np.take(np.reshape(t, (len(t), -1)), where, axis=1)


def _same_rank(x, *_, **__):
    return x


# --------------------------------------------------------------------------- copies


def _repeat_tangent(t, ans, x, repeats, axis=None):
    if axis is None:  # np.repeat flattens
        return np.repeat(np.reshape(t, (len(t), -1)), repeats, axis=1)
    return np.repeat(t, repeats, axis=shift_axis(axis))


defrule(
    np.repeat,
    "x repeats",
    linear=(0,),
    keywords={"axis": None},
    tangents=(_repeat_tangent, None),
    # np.repeat(x, r, axis) is np.take(x, np.repeat(np.arange(n), r), axis)
    adjoints=(
        "untake(g, x, np.repeat(np.arange(np.size(x) if axis is None else np.shape(x)[axis]), "
        "repeats), axis)",
        None,
    ),
    rank=lambda x, repeats, axis=None, **_: 1 if axis is None else x,
    doc="Each entry gets the sum of the cotangents of its copies; repeats (a count, or one "
    "per entry) is a whole number and has no derivative.",
)
defrule(
    np.tile,
    "x reps",
    linear=(0,),
    tangents=(lambda t, ans, x, reps: _gather(t, np.tile(positions(x), reps)), None),
    adjoints=("untake(g, x, np.tile(positions(x), reps))", None),
    doc="Each entry gets the sum of the cotangents of its copies.",
)


def _pad_tangent(t, ans, x, pad_width, mode="constant", constant_values=0):
    check_pad_mode(mode)
    if mode == "constant":  # the padding is constant: its tangent is 0
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (np.ndim(x), 2))
        return np.pad(t, ((0, 0), *widths))
    return _gather(t, np.pad(positions(x), pad_width, mode=mode))


defrule(
    np.pad,
    "x pad_width",
    keywords={"mode": "constant", "constant_values": 0},
    tangents=(_pad_tangent, None),
    adjoints=("unpad(g, x, pad_width, mode)", None),
    rank=_same_rank,
    doc="Modes constant (the constant values are constants: no derivative), edge, reflect, "
    "symmetric and wrap, whose padding copies entries: each entry gets the cotangents of its "
    "copies. Other modes are refused.",
)


def _roll_tangent(t, ans, x, shift, axis=None):
    if axis is None:  # np.roll rolls the flattened array
        return np.reshape(np.roll(np.reshape(t, (len(t), -1)), shift, axis=1), np.shape(t))
    return np.roll(t, shift, axis=shift_axis(axis))


defrule(
    np.roll,
    "x shift",
    linear=(0,),
    keywords={"axis": None},
    tangents=(_roll_tangent, None),
    adjoints=("np.roll(g, np.negative(shift), axis)", None),
    rank=_same_rank,
)
defrule(
    np.partition,
    "x kth",
    keywords={"axis": -1},
    tangents=(
        lambda t, ans, x, kth, axis=-1: (
            _gather(t, np.argpartition(x, kth, axis=None)) if axis is None
            else np.take_along_axis(t, np.argpartition(x, kth, axis=axis)[np.newaxis],
                                    axis=shift_axis(axis))
        ),
        None,
    ),
    adjoints=("untake_along_axis(g, x, np.argpartition(x, kth, axis=axis), axis)", None),
    rank=lambda x, kth, axis=-1, **_: 1 if axis is None else x,
    doc="Entry i of the result takes the derivative of the entry np.argpartition puts "
    "there; among tied entries that choice is NumPy's, the same in both modes.",
)

# --------------------------------------------------------------------------- rearrangements

defrule(
    np.rot90,
    "x",
    linear=(0,),
    keywords={"k": 1, "axes": (0, 1)},
    tangents=(lambda t, ans, x, k=1, axes=(0, 1): np.rot90(t, k, axes=shift_axis(axes)),),
    adjoints=("np.rot90(g, -k, axes)",),
    rank=_same_rank,
)
defrule(
    np.fliplr,
    "x",
    linear=(0,),
    tangents=(lambda t, ans, x: np.flip(t, 2),),
    adjoints=("np.fliplr(g)",),
    rank=_same_rank,
)
defrule(
    np.flipud,
    "x",
    linear=(0,),
    tangents=(lambda t, ans, x: np.flip(t, 1),),
    adjoints=("np.flipud(g)",),
    rank=_same_rank,
)


def _rollaxis_tangent(t, ans, x, axis, start=0):
    destination = helpers.rollaxis_destination(np.ndim(x), axis, start)
    return np.moveaxis(t, axis % np.ndim(x) + 1, destination + 1)


defrule(
    np.rollaxis,
    "x axis",
    keywords={"start": 0},
    tangents=(_rollaxis_tangent, None),
    adjoints=("np.moveaxis(g, rollaxis_destination(np.ndim(x), axis, start), axis)", None),
    rank=_same_rank,
)
for _function, _least in ((np.atleast_1d, 1), (np.atleast_2d, 2), (np.atleast_3d, 3)):
    defrule(
        _function,
        "x",
        tangents=(_same_shape_as_answer,),
        adjoints=("np.reshape(g, np.shape(x))",),
        rank=lambda x, _least=_least, **_: None if x is None else max(x, _least),
        doc="One array only: with several, NumPy returns a list, which has no rule.",
    )


def _astype_tangent(t, ans, x, dtype):
    if np.result_type(ans).kind not in "fc":  # a cast to integers truncates: a step function
        return np.zeros((len(t), *np.shape(ans)))
    if np.iscomplexobj(t) and np.result_type(ans).kind != "c":
        t = np.real(t)  # a complex value cast to reals keeps its real part, as NumPy does
    return t.astype(np.result_type(ans))


defrule(
    np.astype,
    "x dtype",
    tangents=(_astype_tangent, None),
    adjoints=("g if np.issubdtype(np.result_type(ans), np.inexact) else np.zeros_like(g)", None),
    rank=_same_rank,
    doc="A cast to another floating or a complex type passes the derivative (a complex "
    "value cast to reals keeps its real part, as NumPy does); a cast to integers or "
    "booleans truncates (a step function), so its derivative is 0.",
)

# --------------------------------------------------------------------------- joining


def _join_tangent(promoted, axis_of):
    """The tangent of a function that reshapes each array (``promoted`` gives the shape)
    and concatenates them along ``axis_of(rank of the result)``."""

    def tangent(ts, ans, arrays, **keywords):  # dtype and casting: see below
        pieces = [np.reshape(t, (len(t), *promoted(a))) for t, a in zip(ts, arrays, strict=True)]
        return np.concatenate(pieces, axis=axis_of(np.ndim(ans)) + 1)

    return tangent


def _as_column(a):
    return np.shape(np.atleast_2d(a).T) if np.ndim(a) < 2 else np.shape(a)


# np.vstack and np.hstack take dtype= and casting= (np.row_stack, an old name of vstack,
# passes them on); a float or complex dtype leaves the derivative as it is.
_CASTING = {"dtype": None, "casting": "same_kind"}
for _functions, _promoted, _axis_of, _adjoint, _keywords in (
    ((np.vstack, *([np.row_stack] if hasattr(np, "row_stack") else [])),
     lambda a: np.shape(np.atleast_2d(a)), lambda rank: 0, "unjoin(g, arrays, 0)", _CASTING),
    ((np.hstack,), lambda a: np.shape(np.atleast_1d(a)), lambda rank: 0 if rank == 1 else 1,
     "unjoin(g, arrays, 0 if np.ndim(g) == 1 else 1)", _CASTING),
    ((np.dstack,), lambda a: np.shape(np.atleast_3d(a)), lambda rank: 2,
     "unjoin(g, arrays, 2)", None),
    ((np.column_stack,), _as_column, lambda rank: 1, "unjoin(g, arrays, 1)", None),
):
    defrule(
        _functions if len(_functions) > 1 else _functions[0],
        "arrays",
        keywords=_keywords,
        tangents=(_join_tangent(_promoted, _axis_of),),
        adjoints=(_adjoint,),
        sequence=True,
        linear=(0,),
        name=_functions[0].__name__,
    )

# --------------------------------------------------------------------------- no derivative

nondifferentiable(np.argpartition, np.argwhere, np.flatnonzero, name="position_query")


# The FFT's reordering of frequencies: a roll by half of each axis, undone by its inverse.
def _shift_axes(axes, ndim):
    """fftshift's axes for a tangent with a leading direction axis."""
    if axes is None:
        return tuple(range(1, ndim + 1))
    return shift_axis(axes) if isinstance(axes, (tuple, list)) else (shift_axis(axes),)


for _shift, _inverse in ((np.fft.fftshift, "ifftshift"), (np.fft.ifftshift, "fftshift")):
    defrule(
        _shift,
        "x",
        keywords={"axes": None},
        tangents=(lambda t, ans, x, axes=None, _shift=_shift: _shift(
            t, axes=_shift_axes(axes, np.ndim(x))),),
        adjoints=(f"np.fft.{_inverse}(g, axes=axes)",),
        rank=lambda x, **keywords: x,
    )


# np.add.at(y, index, v), as reverse mode stores it: y = scatter_add(y, index, v)
def _scatter_value_tangent(t, ans, y, index, v):
    """v's tangent added into zeros at index (directions first, v right-aligned)."""
    sub = np.shape(np.asarray(y)[index])
    padded = np.reshape(t, (len(t),) + (1,) * (len(sub) - np.ndim(v)) + np.shape(v))
    return helpers.scatter_add(np.zeros((len(t),) + np.shape(y)), helpers.at_tangent(index),
                               padded)


defrule(
    helpers.scatter_add,
    "y index v",
    tangents=(lambda t, ans, y, index, v: t, None, _scatter_value_tangent),
    adjoints=("g", None, "unbroadcast(g[index], v)"),
    rank=lambda y, index, v: y,
    doc="np.add.at(y, index, v) and np.subtract.at: repeated indices add up; the index "
    "has no derivative.",
)
