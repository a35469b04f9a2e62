"""The helpers generated code may call besides :mod:`autodiffx.rules.helpers`.

>>> import numpy as np
>>> unbroadcast_to(np.ones((2, 3)), (1, 3)).tolist()
[[2.0, 2.0, 2.0]]
>>> total = np.zeros(3)
>>> add_at(total, 1, 2.0) is total, total.tolist()
(True, [0.0, 2.0, 0.0])
"""

from __future__ import annotations

import numpy as np

from ..rules import lifting
from ..rules.helpers import unbroadcast, unindex


@lifting.linear(0)
def unbroadcast_to(g, shape: tuple[int, ...]):
    """:func:`~autodiffx.rules.helpers.unbroadcast` to a shape rather than to an array.

    The forward sweep keeps only ``np.shape(t)`` of a temporary ``t`` whose value the
    adjoint sweep never reads, so that ``t`` itself is freed early.
    """
    if np.shape(g) == shape:
        return g
    return unbroadcast(g, np.broadcast_to(0.0, shape))


@lifting.linear(0)
def row_sums(g):
    """``np.sum(g, axis=-1, keepdims=True)``: the sum of each row of ``g`` (along its last
    axis), kept as a column; ``g`` has two dimensions or more.

    Computed as the product of ``g`` with a vector of ones, which BLAS does in one pass: a
    sum along each short row pays NumPy's reduction overhead once per row, 2-4 times the
    product's time for the adjoint of a bias added to a batch (``W @ X + b[:, None]``),
    and 25 times for 10,000 rows of 2. Other values (a Dual, another dtype) are summed.

    >>> row_sums(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [[3.0], [7.0]]
    >>> row_sums(np.ones((2, 3, 4))).shape
    (2, 3, 1)
    """
    if type(g) is np.ndarray and (g.dtype == _FLOAT or g.dtype == _COMPLEX):
        return np.dot(g, _ones(g.shape[-1]))[..., None]
    return np.sum(g, axis=-1, keepdims=True)


_FLOAT = np.dtype(np.float64)
_COMPLEX = np.dtype(np.complex128)


def _ones(n: int) -> np.ndarray:
    """A read-only vector of ``n`` ones (np.ones, kept for the next call of that length)."""
    ones = _ONES.get(n)
    if ones is None:
        ones = np.ones(n)
        ones.flags.writeable = False
        if len(_ONES) < 256:
            _ONES[n] = ones
    return ones


_ONES: dict = {}


def add_at(total, index, g):
    """``total + unindex(g, total, index)``, computed in ``total`` itself where that gives
    the same values and dtype: ``g`` added at ``index`` (repeated integer indices
    accumulate, as with ``np.add.at``).

    Generated code calls it on an adjoint buffer it owns, such as ``dxs =
    np.zeros_like(xs)`` before a loop that reads ``xs[t]``, which nothing else reads until
    the loop ends: ``dxs = dxs + unindex(dxs_t, xs, t)`` would build a zero array of the
    whole of ``xs`` at every step. It returns a new array, as that expression would, when
    the sum needs a wider dtype than ``total`` has (``unindex`` works in at least float64),
    when ``g`` has more dimensions than the part it is added to, or when a value carries
    derivatives (forward mode over this code).

    >>> total = np.zeros(4)
    >>> add_at(total, [3, 0, 3], np.array([1.0, 2.0, 3.0])).tolist()
    [2.0, 0.0, 0.0, 4.0]
    >>> add_at(np.zeros(2, np.float32), 0, 1.0).dtype  # as total + unindex(...) would be
    dtype('float64')
    """
    if (type(total) is not np.ndarray or isinstance(g, lifting.Traced)
            or np.result_type(total, g, float) != total.dtype):
        return total + unindex(g, total, index)
    if not _is_basic(index):
        np.add.at(total, index, g)
        return total
    if np.ndim(g) > np.ndim(total[index]):
        return total + unindex(g, total, index)
    total[index] += g
    return total


def _is_basic(index) -> bool:
    """Whether ``index`` selects without repeats: integers, slices, ``None`` and ``...``."""
    items = index if isinstance(index, tuple) else (index,)
    return all(item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice))
               for item in items)


RUNTIME = {"unbroadcast_to": unbroadcast_to, "add_at": add_at, "row_sums": row_sums}
"""The names generated code may import from this module."""
