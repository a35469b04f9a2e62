"""Counting the floating-point operations a computation executes.

:func:`count_flops` runs a function on inputs viewed as :class:`CountingArray`, an ndarray
subclass that records every NumPy operation applied to it, with an estimate of its
floating-point operations taken from the operands' shapes:

* an elementwise ufunc costs one operation per output entry (a ``tanh`` counts as one,
  like an addition: the estimate counts array work, not instruction latency);
* a reduction (``sum``, ``max``) costs one per input entry;
* ``matmul``, ``dot``, ``inner``, ``outer`` and two-operand ``einsum`` cost 2 per
  multiply-add.

Because the subclass takes part in NumPy's protocols, the same counter measures hand-written
NumPy, reverse-mode generated code and forward mode's dual numbers (whose primals and
tangents are both counted), so the forward-versus-reverse comparison counts all three
alike.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import numpy as np

_state = threading.local()


class CountingArray(np.ndarray):
    """An ndarray that adds the cost of each operation on it to the active counter."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [_plain(x) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(x) for x in kwargs["out"])
        result = getattr(ufunc, method)(*plain, **kwargs)
        _record(ufunc.__name__, _ufunc_cost(ufunc, method, plain, result))
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        cost = _function_cost(func, args)
        if cost is not None:
            result = func(*_plain_tree(args), **_plain_tree(kwargs))
            _record(func.__name__, cost)
            return _wrap(result)
        return super().__array_function__(func, types, args, kwargs)


def _plain(x):
    return x.view(np.ndarray) if isinstance(x, CountingArray) else x


def _plain_tree(value):
    if isinstance(value, CountingArray):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_tree(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain_tree(v) for k, v in value.items()}
    return value


def _wrap(result):
    if isinstance(result, np.ndarray) and not isinstance(result, CountingArray):
        return result.view(CountingArray)
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    if isinstance(result, list):
        return [_wrap(r) for r in result]
    return result


def _record(name: str, flops: int) -> None:
    counter = getattr(_state, "counter", None)
    if counter is not None and flops:
        counter[name] += int(flops)


def _ufunc_cost(ufunc, method, inputs, result) -> int:
    if ufunc is np.matmul and method == "__call__":
        a, b = (np.asarray(x) for x in inputs[:2])
        return 2 * int(np.size(result)) * int(a.shape[-1] if a.ndim else 1)
    if method in ("reduce", "accumulate", "reduceat"):
        return int(np.size(inputs[0]))
    if method == "at":
        return int(np.size(inputs[-1])) if len(inputs) > 2 else int(np.size(inputs[1]))
    if isinstance(result, tuple):
        return sum(int(np.size(r)) for r in result)
    return int(np.size(result))


def _function_cost(func, args) -> int | None:
    if func is np.dot or func is np.inner:
        a, b = (np.asarray(_plain(x)) for x in args[:2])
        if a.ndim == 0 or b.ndim == 0:
            return int(max(a.size, b.size))
        contracted = a.shape[-1]
        return 2 * (a.size // contracted) * (b.size // contracted) * contracted
    if func is np.outer:
        return int(np.size(args[0])) * int(np.size(args[1]))
    if func is np.einsum and len(args) >= 2 and isinstance(args[0], str):
        operands = [np.asarray(_plain(x)) for x in args[1:]]
        letters = {}
        for term, op in zip(args[0].split("->")[0].split(","), operands, strict=False):
            for letter, size in zip(term.strip(), op.shape, strict=False):
                letters[letter] = size
        return 2 * int(np.prod(list(letters.values()) or [1]))
    if func is np.tensordot:
        a, b = (np.asarray(_plain(x)) for x in args[:2])
        result = np.tensordot(a, b, *args[2:])
        shared = (a.size * b.size / max(result.size, 1)) ** 0.5
        return int(2 * result.size * shared)
    return None


class FlopCount:
    """The result of :func:`count_flops`: the total and the breakdown by operation."""

    def __init__(self, by_operation: Counter, value):
        self.by_operation = by_operation
        self.value = value

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def __repr__(self) -> str:
        top = ", ".join(f"{k}={v}" for k, v in self.by_operation.most_common(5))
        return f"FlopCount(total={self.total}, {top})"


def counting(value):
    """``value`` viewed as a :class:`CountingArray` (Python numbers become 0-d arrays)."""
    if isinstance(value, np.ndarray):
        return value.view(CountingArray)
    if isinstance(value, (float, int, np.generic)):
        return np.asarray(value, dtype=float).view(CountingArray)
    if isinstance(value, (list, tuple)):
        return type(value)(counting(v) for v in value)
    return value


def count_flops(function: Callable, *args, **kwargs) -> FlopCount:
    """Run ``function(*args, **kwargs)`` once, counting floating-point operations.

    >>> import numpy as np
    >>> count_flops(lambda W, x: W @ x, np.ones((3, 4)), np.ones(4)).total
    24
    """
    previous = getattr(_state, "counter", None)
    _state.counter = Counter()
    try:
        value = function(*(counting(a) for a in args), **kwargs)
        return FlopCount(_state.counter, value)
    finally:
        counter = _state.counter
        _state.counter = previous
        if previous is not None:
            previous.update(counter)
