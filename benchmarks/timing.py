"""Timing helpers shared by the benchmarks: best-of-repeats per call, and ratios.

Benchmarks report ratios against a baseline measured in the same run, never absolute
limits: the machine is shared and its speed varies.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time
from collections.abc import Callable


def steady_allocator() -> bool:
    """Ask glibc to keep freed memory instead of returning it to the system at once.

    With its default thresholds glibc unmaps large freed blocks and faults them back in on
    the next allocation, which adds noise of several tens of percent to timings of
    medium-sized arrays (B = 256 here), for the baseline and autodiffx alike. The same
    effect as MALLOC_TRIM_THRESHOLD_/MALLOC_MMAP_THRESHOLD_, set from inside the process.
    Returns False where this is not glibc.
    """
    return set_malloc_thresholds(trim=2_000_000_000, mmap=1 << 30)


def set_malloc_thresholds(trim: int, mmap: int) -> bool:
    """glibc's ``mallopt``: free memory above ``trim`` bytes at the top of the heap goes
    back to the system, and blocks of ``mmap`` bytes or more get their own mapping.
    Returns False where this is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_trim_threshold, trim)) and bool(
            libc.mallopt(m_mmap_threshold, mmap))
    except (OSError, AttributeError):
        return False


STEADY = "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "") or (
    os.environ.get("AUTODIFFX_STEADY_ALLOCATOR") == "1" and steady_allocator())
"""Whether this process keeps freed memory: set from outside (``run_all.py``'s steady runs
set ``GLIBC_TUNABLES``), or asked for with ``AUTODIFFX_STEADY_ALLOCATOR=1``. By default a
benchmark runs with the allocator a user's process has."""


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
