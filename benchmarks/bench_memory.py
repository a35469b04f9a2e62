"""Peak memory of one gradient of the NER max-margin loss, as a ratio to the hand gradient.

The figure is the peak of memory allocated during ONE call, above what was held just before
it; what the call returns (the gradients) is held at its end and so counts, for autodiffx
and the baseline alike. Measured with :mod:`tracemalloc`: NumPy reports every array buffer
it allocates or frees to it (``PyTraceMalloc_Track``, in its own domain), and Python's
objects are traced as well, so the peak is of arrays and Python objects together. Not seen:
memory that a library allocates with plain ``malloc`` (OpenBLAS's own work buffers, which
the hand gradient uses the same way), and the allocator's slack and page rounding.

Rows, each against its baseline measured the same way:

* ``grad``: the cached gradient ``autodiffx.grad(loss, wrt=WRT)`` after a warm-up call,
  against the lecture's hand gradient (``ner_problem.hand_gradient``);
* ``generated code``: the generated forward and pullback alone, without the API (built for
  the arguments' shapes, as ``grad`` builds it);
* ``jvp``: one forward-mode ``autodiffx.jvp`` with one direction, against the hand JVP of
  ``bench_forward_jvp.py``.

Each figure comes from a fresh process (the problem is built, the function called once to
warm up, then measured over 3 calls, each after ``gc.collect()`` and
``tracemalloc.reset_peak()``; the 3 agree, else the range is shown). Two checks of the
method run first: allocating one 8 MB array must show 8 MB, and two 8 MB arrays of which
one is freed a peak of 16 MB and 8 MB held. As a cross-check that no large buffer escapes
tracemalloc, the same calls are measured again in other fresh processes without it, by the
rise of the process's resident high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs``) with glibc told to ``mmap`` every block of 64 KiB or more, so
that a freed array leaves the process at once (Linux only; page-rounded, and it counts
OpenBLAS's buffers when they are first touched). Those processes drop ``GLIBC_TUNABLES``, so
the cross-check is the same in ``run_all.py``'s steady runs; tracemalloc does not depend on
the allocator.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_memory.py [--batches 256 4096]
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from timing import set_malloc_thresholds  # noqa: E402

MB = 1e6
CALLS = 3
CHECK_ENTRIES = 1_000_000
"""An 8 MB float64 array, for the checks of the method."""


def one_array():
    return np.ones(CHECK_ENTRIES)


def two_arrays_one_freed():
    first = np.ones(CHECK_ENTRIES)
    second = first + 1.0
    del first
    return second


def workload(method: str, batch: int):
    """The call to measure, built and warmed up."""
    if method == "check one":
        return one_array
    if method == "check two":
        return two_arrays_one_freed
    from ner_problem import WRT, hand_gradient, loss, problem

    import autodiffx

    if method in ("hand", "grad", "generated"):
        params = problem(batch)
        if method == "hand":
            function = lambda: hand_gradient(*params)  # noqa: E731
        elif method == "grad":
            gradient = autodiffx.grad(loss, wrt=WRT)
            function = lambda: gradient(*params)  # noqa: E731
        else:
            from autodiffx import reverse

            # the code grad makes: for these shapes, where build takes them
            shapes = {"argument_shapes": tuple(np.shape(p) for p in params)}
            if "argument_shapes" not in inspect.signature(reverse.build).parameters:
                shapes = {}
            generated = reverse.build(loss, WRT, tuple(np.ndim(p) for p in params),
                                      **shapes).function

            def function():
                value, pullback = generated(*params)
                return pullback(1.0)
        for mine, theirs in zip(function(), hand_gradient(*params), strict=True):
            assert np.allclose(mine, theirs, rtol=1e-10, atol=1e-13), method
        return function
    from bench_forward_jvp import hand_jvp, problem_with_tangents

    primals, tangents = problem_with_tangents(batch)
    if method == "hand jvp":
        function = lambda: hand_jvp(primals, tangents)  # noqa: E731
    elif method == "jvp":
        function = lambda: autodiffx.jvp(loss, primals, tangents)  # noqa: E731
    else:
        raise ValueError(f"unknown method {method!r}")
    assert np.allclose(function(), hand_jvp(primals, tangents), rtol=1e-10, atol=1e-12)
    return function


def traced(function) -> list[tuple[int, int]]:
    """(peak above the memory held before the call, memory held after it with the result
    alive), in bytes, for each of CALLS calls."""
    figures = []
    for _ in range(CALLS):
        gc.collect()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = function()
        current, peak = tracemalloc.get_traced_memory()
        figures.append((peak - before, current - before))
        del result
    return figures


def _status(key: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE).group(1)) * 1024


def resident(function) -> list[tuple[int, int]]:
    """(rise of the resident high-water mark, rise of the resident size with the result
    alive), in bytes, for each of CALLS calls."""
    figures = []
    for _ in range(CALLS):
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        before = _status("VmRSS")
        result = function()
        figures.append((_status("VmHWM") - before, _status("VmRSS") - before))
        del result
    return figures


def mmap_large_blocks() -> bool:
    """glibc: serve every block of 64 KiB or more with its own mmap, and return it on free."""
    return set_malloc_thresholds(trim=1 << 17, mmap=1 << 16)


def child(method: str, batch: int, probe: str) -> None:
    if probe == "traced":
        tracemalloc.start()
        function = workload(method, batch)
        print(json.dumps(traced(function)))
        return
    if not (Path("/proc/self/clear_refs").exists() and mmap_large_blocks()):
        print(json.dumps(None))
        return
    function = workload(method, batch)
    print(json.dumps(resident(function)))


def measure(method: str, batch: int, probe: str):
    """The figures of one configuration, from a fresh process; None when unavailable."""
    environment = dict(os.environ)
    if probe == "resident":  # its own allocator settings, not run_all.py's steady ones
        environment.pop("GLIBC_TUNABLES", None)
    output = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", method, str(batch), probe],
        capture_output=True, text=True, check=True, env=environment,
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    return None if figures is None else [tuple(pair) for pair in figures]


def span(values) -> str:
    low, high = min(values), max(values)
    if abs(high - low) < 0.005 * MB:
        return f"{low / MB:.2f}"
    return f"{low / MB:.2f}–{high / MB:.2f}"


def cell(figures, baseline=None, width: int = 22) -> str:
    """'peak MB (ratio to the baseline's peak)'; the peak shown is the largest of the calls."""
    if figures is None:
        return f"{'n/a':>{width}}"
    text = span([peak for peak, _ in figures])
    if baseline is not None and max(p for p, _ in baseline) > 0:
        text += f" ({max(p for p, _ in figures) / max(p for p, _ in baseline):.2f}x)"
    return f"{text:>{width}}"


def held(figures) -> str:
    return "n/a" if figures is None else span([kept for _, kept in figures])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 4096])
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "B", "PROBE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        method, batch, probe = args.child
        child(method, int(batch), probe)
        return

    print("peak memory of ONE call above what was held before it, returned values included, "
          f"MB (1 MB = 10^6 bytes); each figure from a fresh process, {CALLS} calls after a "
          "warm-up")
    for probe, title in (("traced", "tracemalloc"),
                         ("resident", "resident high-water mark, blocks >= 64 KiB mmapped")):
        one, two = measure("check one", 0, probe), measure("check two", 0, probe)
        print(f"check of the method ({title}): one 8 MB array: peak {cell(one, width=0)}, "
              f"held {held(one)}; two 8 MB arrays, one freed: peak {cell(two, width=0)}, "
              f"held {held(two)}")
    for probe, title in (("traced", "tracemalloc"),
                         ("resident", "cross-check: rise of the resident high-water mark")):
        print(f"\n{title}; peak MB (ratio to the hand-written peak), and MB held after the "
              "call (the returned values)")
        print(f"{'B':>5} {'hand gradient':>14} {'grad':>22} {'generated code':>22} "
              f"{'hand JVP':>10} {'jvp':>22}   held: hand / grad / hand JVP / jvp")
        for batch in args.batches:
            figures = {method: measure(method, batch, probe)
                       for method in ("hand", "grad", "generated", "hand jvp", "jvp")}
            hand, hand_jvp = figures["hand"], figures["hand jvp"]
            print(f"{batch:>5} {cell(hand, width=14)} {cell(figures['grad'], hand)} "
                  f"{cell(figures['generated'], hand)} {cell(hand_jvp, width=10)} "
                  f"{cell(figures['jvp'], hand_jvp)}   "
                  f"{held(hand)} / {held(figures['grad'])} / {held(hand_jvp)} / "
                  f"{held(figures['jvp'])}")


if __name__ == "__main__":
    main()
