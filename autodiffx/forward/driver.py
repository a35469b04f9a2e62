"""Running a function on Duals: one evaluation pushes a chunk of directions.

These are the forward-mode engines behind :func:`autodiffx.grad`, :func:`autodiffx.jvp` and
:func:`autodiffx.jacfwd`. Arguments arrive already checked and converted by
:mod:`autodiffx.api`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import tree
from ..errors import (
    ArgumentError,
    AutodiffError,
    DerivativeConversionError,
    OutputTypeError,
    UserCodeError,
    user_location,
)
from . import sharing
from .dual import (
    Dual,
    _ArrayDual,
    _ensure_mirror,
    mismatch_error,
    new_dual,
    new_level,
    refused_attribute,
    value_dtype,
)
from .memory import owner

# Entries of the seed block (directions × inputs) one chunk may hold, when no chunk size is
# given: 2**22 float64 values are 32 MiB, which keeps a chunk's tangents in memory easily.
SEED_BUDGET = 2**22


def seed(primal, tangent, position: int) -> np.ndarray:
    """The seed of one direction, ``tangent``, for the argument ``primal`` at ``position``:
    shape ``(1, *np.shape(primal))``, float64, or complex when either is complex (which
    :func:`push` refuses for a real primal)."""
    if type(tangent) is np.ndarray and tangent.dtype is _FLOAT64 and (
            type(primal) is np.ndarray) and primal.dtype.kind != "c":
        # the common case, a real array and a float64 tangent, checked quickly
        if tangent.shape != primal.shape:
            raise _shape_error(position, tangent, primal)
        return tangent[np.newaxis]
    if type(tangent) is not np.ndarray or tangent.dtype != np.float64 or (
            value_dtype(primal).kind == "c"):
        complex_values = np.iscomplexobj(tangent) or value_dtype(primal).kind == "c"
        tangent = np.asarray(tangent, dtype=complex if complex_values else float)
    if tangent.shape != np.shape(primal):
        raise _shape_error(position, tangent, primal)
    return tangent[np.newaxis]


_FLOAT64 = np.dtype(np.float64)


def _shape_error(position: int, tangent: np.ndarray, primal) -> ArgumentError:
    return ArgumentError(
        f"tangent {position} has shape {tangent.shape} but its primal has shape "
        f"{np.shape(primal)}"
    )


def push(
    f: Callable,
    args: Sequence,
    kwargs: dict,
    wrt: Sequence[int],
    seeds: Sequence[np.ndarray],
    structured: bool = False,
) -> tuple[object, np.ndarray]:
    """Evaluate ``f`` with ``args[i]`` carrying tangent ``seeds[j]`` for ``i = wrt[j]``.

    Each seed has shape ``(k, *np.shape(args[i]))``. Returns the primal output and its
    tangent, of shape ``(k, *np.shape(output))`` (with ``structured``, an output that is a
    dict, list or tuple gives the two in its structure: see :func:`run`).
    """
    level = new_level()
    args = list(args)
    shared = sharing.find(f, args, kwargs, wrt)
    watch = sharing.guard(args, kwargs, shared, wrt) if shared else None
    if watch is not None:
        kwargs = watch.kwargs
    kwargs = _private(args, kwargs, wrt, *sharing.aliased_plain(f, args, kwargs, wrt))
    for index, seed in zip(wrt, seeds, strict=True):
        if seed.dtype.kind == "c" and value_dtype(args[index]).kind != "c":
            raise mismatch_error(f"the tangent of argument {index}")
        args[index] = new_dual(args[index], seed, level)
        if watch is not None and index in shared.texts:
            mirror = _ensure_mirror(args[index])[0]
            if mirror is not None:  # memory of its own, refusing writes
                mirror.shared = shared.texts[index]
            else:  # nested (a Dual of Duals): writes into it refused by _assign
                watch.nested.append((args[index], shared.texts[index]))
    if watch is None:
        return run(f, args, kwargs, level, len(seeds[0]), structured)
    with watch:
        return run(f, args, kwargs, level, len(seeds[0]), structured)


def _private(args: list, kwargs: dict, wrt, kept: set, together: set) -> dict:
    """Give ``f`` its own copy of each writable array argument that is not differentiated
    (in ``args``, in place; the keyword arguments to call with are returned): a function
    may write into its arguments, and the caller's arrays are never changed, as in reverse
    mode, which writes into copies too. (A differentiated one is copied by its Dual before
    any write; a read-only one is passed as it is, so that a write raises as in NumPy.)
    Those in ``together`` share memory with each other: one copy of that memory is made,
    and each is the same view of it as before, so a write through one reaches the others.
    Those in ``kept`` share memory with another name the function reads
    (:func:`.sharing.aliased_plain`): a copy would hide a write from that name, so they are
    passed as they are, and the function writes where NumPy would."""
    copies: dict = {}  # id of an owner -> (owner, its copy)

    def private(key, value):
        if type(value) is not np.ndarray or key in wrt or key in kept or (
                not value.flags.writeable):
            return value
        if key not in together:
            return value.copy(order="K")
        again = _view_in_copy(value, copies)
        return value if again is None else again  # (None: passed as it is, as kept)

    for index, arg in enumerate(args):
        args[index] = private(index, arg)
    if any(type(value) is np.ndarray for value in kwargs.values()):
        kwargs = {key: private(key, value) for key, value in kwargs.items()}
    return kwargs


def _view_in_copy(view: np.ndarray, copies: dict) -> np.ndarray | None:
    """``view`` made again in a copy of the memory it views (one copy per memory, in
    ``copies``), at the same offset and with the same strides; None where the memory is
    not an array's own in one block (a copy could not keep its layout)."""
    base = owner(view)
    entry = copies.get(id(base))
    if entry is None:
        if base.base is not None or not (base.flags.c_contiguous or base.flags.f_contiguous):
            return None
        entry = copies[id(base)] = (base, base.copy(order="K"))
    base, copy = entry
    offset = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return np.ndarray(view.shape, view.dtype, buffer=copy, offset=offset,
                      strides=view.strides)


def plain_duals(f: Callable, primals: Sequence, tangents: Sequence
                ) -> tuple[list[Dual], int] | None:
    """The arguments of :func:`run` for one direction, made quickly in the common case, and
    the new level they belong to: every primal a float64 array with its tangent a float64
    array of its shape, or a Python float with a Python float tangent. None for anything
    else, which :func:`seed` and :func:`push` check and convert as usual.

    Each Dual is :func:`~.dual.new_dual`'s, written out: this runs once per ``jvp`` call,
    for every argument, so its cost is part of every call's."""
    level = new_level()
    duals = []
    for primal, tangent in zip(primals, tangents, strict=True):
        kind = type(primal)
        if kind is np.ndarray:
            if type(tangent) is not np.ndarray or primal.dtype is not _FLOAT64 or (
                    tangent.dtype is not _FLOAT64 or tangent.shape != primal.shape):
                return None
            dual = _new(_ArrayDual if primal.ndim else Dual)
            tangent = tangent[None]
        elif kind is float and type(tangent) is float:
            dual = _new(Dual)
            tangent = np.array((tangent,))
        else:
            return None
        dual.primal = primal
        dual.tangent = tangent
        dual.level = level
        dual._owns = False  # the caller's array: copied before any write (dual.py)
        dual._mirror = dual._base = dual._views = dual._remake = dual._index = None
        duals.append(dual)
    if sharing.any_shared(f, primals):
        return None  # (push refuses writes into memory that has another name)
    return duals, level


_new = object.__new__


def run(f: Callable, args: Sequence, kwargs: dict, level: int, k: int,
        structured: bool = False):
    """Evaluate ``f`` on arguments among which are Duals of ``level`` with ``k`` directions:
    the primal output and its tangent, as :func:`push` returns them. With ``structured``,
    an output that is a dict, list or tuple (``jvp``'s case) gives its values and its
    tangents, each in that structure."""
    try:
        out = f(*args, **kwargs)
    except AutodiffError as error:
        if error.location is None:
            # a refusal from inside a NumPy call on a Dual: name the user's line
            error.location = user_location(error.__traceback__)
        raise
    except TypeError as error:
        if isinstance(error, AutodiffError) or not any(
                text in str(error) for text in _NEEDS_MEMORY):
            raise
        # memoryview(x), np.ndarray(buffer=x), bytes(x), np.nditer(x): Python or NumPy
        # wanted the plain memory of a value being differentiated, which a dual number does
        # not expose
        raise DerivativeConversionError(
            f"{error} (a value being differentiated, a dual number in forward mode, was "
            "given where Python or NumPy reads an array's memory directly)",
            location=user_location(error.__traceback__),
            hint="compute with NumPy functions on the array itself, or use mode='reverse'",
        ) from error
    except AttributeError as error:
        if isinstance(error, AutodiffError) or not isinstance(error.obj, Dual):
            raise
        # an attribute no ndarray has either (x.no_such_method): Python's AttributeError,
        # raised as the MissingAttributeError every missing attribute of a Dual gives
        # (dual.py lays out the ndarray's names on the class, not a __getattr__)
        refusal = refused_attribute(error.name)
        refusal.location = user_location(error.__traceback__)
        raise refusal from error
    except ValueError as error:  # NumPy's shape errors, shown at the user's line
        location = user_location(error.__traceback__)
        text = sharing.read_only_write(error)
        if text is not None:  # a write into an argument passed read-only
            raise ArgumentError(text[0], location=location, hint=text[1]) from error
        if location is None:
            raise
        raise UserCodeError(
            f"NumPy raised {type(error).__name__}: {error}",
            location=location,
            hint="the function fails on these inputs even without autodiffx; check the "
            "shapes of the arrays on that line",
        ) from error
    if structured and type(out) in (dict, list, tuple) and tree.is_structure(out):
        leaves, spec = tree.flatten(out)
        parts = [split(leaf, level, k) for leaf in leaves]
        return (tree.unflatten(spec, [value for value, _ in parts]),
                tree.unflatten(spec, [tangent for _, tangent in parts]))
    return split(out, level, k)


_NEEDS_MEMORY = ("Dual'", "cannot be written back to via WRITEBACKIFCOPY")
"""What Python's and NumPy's TypeErrors say when they are given a Dual where they read an
array's memory (the class named, or np.nditer's complaint about an operand not an array)."""


def split(out, level: int, k: int):
    """The primal and the tangent of one output of a forward evaluation."""
    if isinstance(out, Dual) and out.level == level:
        return out.primal, out.tangent
    if not isinstance(out, (Dual, float, int, np.ndarray, np.generic)) or isinstance(out, bool):
        raise OutputTypeError(
            f"the function returned {type(out).__name__} {_short(out)}, not a number or an "
            "array, so there is nothing to differentiate",
            hint="return the value to differentiate (a float or a NumPy array); a generator "
            "or an async function must be consumed or awaited by a plain function first",
        )
    # The output does not depend on the inputs at this level.
    return out, np.zeros((k, *np.shape(out)))


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def chunk_size(total: int, chunk: int | None) -> int:
    """How many directions to push per evaluation."""
    if chunk is not None:
        if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
            raise ArgumentError(
                f"chunk={chunk!r} is not a positive whole number",
                hint="chunk is how many directions one evaluation pushes, e.g. chunk=8; "
                "leave it out to push as many as fit in memory",
            )
        return max(1, min(int(chunk), total))
    return max(1, min(total, SEED_BUDGET // max(total, 1)))


def seeds_for(args: Sequence, wrt: Sequence[int], start: int, stop: int) -> list[np.ndarray]:
    """Rows ``start:stop`` of the identity, split among the ``wrt`` arguments and reshaped."""
    sizes = [int(np.size(args[i])) for i in wrt]
    k = stop - start
    seeds = []
    offset = 0
    rows = np.arange(k)
    for index, size in zip(wrt, sizes, strict=True):
        seed = np.zeros((k, size), dtype=value_dtype(args[index], float))
        columns = start + rows - offset
        inside = (columns >= 0) & (columns < size)
        seed[rows[inside], columns[inside]] = 1.0
        seeds.append(seed.reshape((k, *np.shape(args[index]))))
        offset += size
    return seeds


def jacobian_columns(
    f: Callable,
    args: Sequence,
    kwargs: dict,
    wrt: Sequence[int],
    chunk: int | None = None,
):
    """Push every basis direction of the ``wrt`` inputs, ``k`` per evaluation.

    Returns the output value and the stacked tangents, of shape ``(n, *output.shape)``
    where n is the total number of input entries.
    """
    total = sum(int(np.size(args[i])) for i in wrt)
    k = chunk_size(total, chunk)
    value = None
    blocks = []
    for start in range(0, total, k):
        stop = min(start + k, total)
        value, tangent = push(f, args, kwargs, wrt, seeds_for(args, wrt, start, stop))
        # A tangent is a Dual itself when f takes a derivative of an outer evaluation.
        blocks.append(tangent if isinstance(tangent, Dual) else np.asarray(tangent))
    if not blocks:  # no inputs to differentiate: still evaluate once
        value = f(*args, **kwargs)
        return value, np.zeros((0, *np.shape(value)))
    return value, np.concatenate(blocks, axis=0)



def gradient_columns(
    f: Callable,
    args: Sequence,
    kwargs: dict,
    wrt: Sequence[int],
    chunk: int | None = None,
    holomorphic: bool = False,
):
    """Like :func:`jacobian_columns`, with complex inputs: one column per input entry.

    A complex entry z = x + iy is pushed twice, along 1 and along 1j, and its column is
    d/dx + i d/dy of the output: for a real output, the gradient in the convention of
    ``docs/complex.md`` (the direction of steepest ascent, packed as one complex number).
    With ``holomorphic`` only the direction 1 is pushed: the column is then the complex
    derivative f'(z) of a holomorphic f. Real entries give their plain columns.
    """
    twice = [not holomorphic and value_dtype(args[i]).kind == "c" for i in wrt]
    if not any(twice):
        return jacobian_columns(f, args, kwargs, wrt, chunk)
    # The directions, in order: per argument its entries along 1, then (if complex and
    # not holomorphic) its entries along 1j.
    sizes = [int(np.size(args[i])) for i in wrt]
    starts = np.cumsum([0] + [size * (2 if two else 1)
                              for size, two in zip(sizes, twice, strict=True)])
    total = int(starts[-1])
    k = chunk_size(total, chunk)
    value, blocks = None, []
    for start in range(0, total, k):
        stop = min(start + k, total)
        seeds = []
        for index, size, two, first in zip(wrt, sizes, twice, starts[:-1], strict=True):
            seed = np.zeros((stop - start, size), dtype=value_dtype(args[index], float))
            for row, direction in enumerate(range(start, stop)):
                entry = direction - first
                if 0 <= entry < size:
                    seed[row, entry] = 1.0
                elif two and size <= entry < 2 * size:
                    seed[row, entry - size] = 1j
            seeds.append(seed.reshape((stop - start, *np.shape(args[index]))))
        value, tangent = push(f, args, kwargs, wrt, seeds)
        blocks.append(tangent if isinstance(tangent, Dual) else np.asarray(tangent))
    columns = np.concatenate(blocks, axis=0)
    parts = []
    for size, two, first in zip(sizes, twice, starts[:-1], strict=True):
        along_one = columns[first: first + size]
        parts.append(along_one + 1j * columns[first + size: first + 2 * size] if two
                     else along_one)
    return value, np.concatenate(parts, axis=0)
