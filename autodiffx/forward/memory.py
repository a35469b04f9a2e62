"""Tangent memory that mirrors primal memory, so views and in-place updates follow NumPy.

NumPy arrays share memory: ``v = x[:2]`` and ``y = x.reshape(-1)`` are views of ``x``, and
``v *= 2`` changes ``x``. A Dual must behave the same way, its tangent included: after
``v *= 2`` the tangent of ``x`` must have changed as well. Tangents have a leading axis of
directions, shape ``(k, *primal.shape)``, so the view a NumPy function made of the primal
cannot simply be repeated on the tangent (``reshape`` is a view of one and a copy of the
other, and advanced indices move axes differently).

A :class:`Mirror` instead gives the *memory* of a primal array a tangent: the primal's
buffer (the array that owns its memory) holds ``n`` elements, and the mirror holds a
``(k, n)`` array ``T`` in which ``T[j, e]`` is the derivative, along direction ``j``, of the
element at offset ``e`` in the buffer. Any view of the buffer, however NumPy made it, has an
exact tangent: the view of ``T`` with the same offset and strides, per direction
(:func:`tangent_view`). Writing into a view writes into ``T``, which every other view sees.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import byte_bounds


def owner(array: np.ndarray) -> np.ndarray:
    """The ndarray that owns ``array``'s memory (``array`` itself when it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


class Mirror:
    """The tangent memory of one primal buffer: ``T[j, e]`` for element offset ``e``."""

    # shared: None, or what to say when this memory is written into: it is a private copy
    # of an argument that shares memory with another argument (driver.py), whose derivative
    # forward mode follows separately, so a write would not reach the other as in NumPy.
    __slots__ = ("owner", "_low", "itemsize", "count", "memory", "shared")

    def __init__(self, primal: np.ndarray, k: int, dtype):
        self.shared = None
        self.owner = owner(primal)
        self.itemsize = self.owner.itemsize
        if self.owner.flags.c_contiguous:  # the common case: its entries in order, no gaps
            self._low = None  # read when a view needs it (reading an address costs ~1 µs)
            self.count = self.owner.size
        else:
            low, high = byte_bounds(self.owner)
            self._low = low
            self.count = (high - low) // self.itemsize
        self.memory = np.zeros((k, self.count), dtype=dtype)

    @classmethod
    def holding(cls, primal: np.ndarray, tangent: np.ndarray, dtype) -> tuple[Mirror, np.ndarray]:
        """The mirror of ``primal``, an array that owns its buffer in C order, holding a
        copy of ``tangent`` (shape ``(k, *primal.shape)``), and that copy: ``primal``'s
        tangent, a view of the mirror's memory. (The common case, made without zeroing
        the memory first or working out the view from addresses.)"""
        same = tangent.dtype is dtype or tangent.dtype == dtype
        copy = tangent.copy() if same else tangent.astype(dtype, order="C")
        mirror = object.__new__(cls)
        mirror.shared = None
        mirror.owner = primal
        mirror.itemsize = primal.itemsize
        mirror._low = None
        mirror.count = primal.size
        mirror.memory = copy.reshape(len(copy), primal.size)
        return mirror, copy

    @property
    def low(self) -> int:
        """The address of the buffer's first byte."""
        if self._low is None:
            self._low = self.owner.__array_interface__["data"][0]
        return self._low


def tangent_view(mirror: Mirror, array: np.ndarray) -> np.ndarray | None:
    """The tangent of the primal view ``array``: a view of ``mirror.memory``, shape
    ``(k, *array.shape)``; None if ``array`` does not lie in the mirror's buffer with entries
    of its size, or its layout cannot be mapped (a dtype view).

    This runs for every view a function makes of a differentiated array, so it reads the
    view's address once and finds its extent from its strides (``byte_bounds`` would read
    it again)."""
    memory = mirror.memory
    k = len(memory)
    size = mirror.itemsize
    part = None  # the real or imaginary parts of complex entries (z.real, np.imag(z)[1:])
    if array.itemsize != size:
        if not (array.itemsize * 2 == size and memory.dtype.kind == "c"
                and array.dtype.kind == "f"):
            return None
        part = "real"
    if array.size == 0 or k == 0:
        return np.zeros((k, *array.shape), dtype=memory.dtype if part is None else
                        memory.real.dtype)
    if array is mirror.owner and array.flags.c_contiguous:  # the whole buffer, in order
        view = memory.reshape((k, *array.shape))
        if not array.flags.writeable:
            view.flags.writeable = False
        return view
    start = array.__array_interface__["data"][0] - mirror.low  # bytes into the buffer
    if part is not None:
        # each entry is the first or the second half of a complex entry: view those
        # complex entries, then their real or imaginary parts (a view too, which a write
        # into the part goes through, as NumPy's does)
        if start % size == array.itemsize:
            part = "imag"
        start -= start % size
    first = last = start  # the offsets of the view's first and last entries in memory
    tsize = memory.itemsize
    strides = [mirror.count * tsize]
    for length, stride in zip(array.shape, array.strides, strict=True):
        if stride % size:
            return None
        if stride < 0:
            first += stride * (length - 1)
        else:
            last += stride * (length - 1)
        strides.append(stride // size * tsize)
    if start % size or first < 0 or last + size > mirror.count * size:
        return None
    view = np.ndarray(
        (k, *array.shape),
        dtype=memory.dtype,
        buffer=memory,
        offset=start // size * tsize,
        strides=tuple(strides),
    )
    if part is not None:
        view = view.real if part == "real" else view.imag
    if not array.flags.writeable:
        view.flags.writeable = False
    return view
