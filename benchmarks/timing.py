"""Timing helpers shared by the benchmarks: best-of-repeats per call, and ratios.

Benchmarks report ratios against a baseline measured in the same run, never absolute
limits: the machine is shared and its speed varies.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def per_call(function: Callable[[], object], min_time: float = 0.2, repeat: int = 5) -> float:
    """Seconds per call: the best of ``repeat`` rounds of enough calls to fill ``min_time``."""
    function()  # warm up: caches, generated code, allocator
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            function()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time / repeat or calls >= 1 << 20:
            break
        calls *= 2
    best = elapsed / calls
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def format_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "
