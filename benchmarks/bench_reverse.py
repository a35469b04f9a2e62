"""Reverse mode: the gradient of the NER max-margin loss w.r.t. (W, b, u, X, Xc).

Three figures, each against a baseline from the same run:
1. the cached gradient's time per call, as a ratio to the lecture's hand-derived gradient
   written in NumPy (B = 1, 16, 256 and 4096 windows; d = 50, window 5, n = 100), through
   ``grad`` and for the generated code alone (the code ``grad`` runs, without the API: the
   gradient without the value where reverse mode made one, else the vjp and its pullback);
2. transform plus first call of a function never seen before (source → generated code →
   compiled → run);
3. the overhead of a cached call: ``grad(f)(x)`` minus running the generated code directly,
   on a function so small that NumPy's own time is negligible.

The gradients of figure 1 are timed in interleaved rounds (hand, grad, generated code, then
again), each the best of the rounds in CPU time (``time.process_time``): on a shared
machine a burst of load then reaches all three alike, and time spent waiting for a core is
not counted. Page faults are: the process's own system time. Each batch size runs in a
fresh process of its own (``--one-process`` runs them one after the other in this one),
since what one batch size leaves in the allocator changes the page faults of the next. The
allocator is the one the process was started with; ``run_all.py`` runs it with the default
allocator and with a steady one (``GLIBC_TUNABLES``).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_reverse.py [--batches 1 256] [--rounds 25]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import types

import numpy as np
from ner_problem import WRT, hand_gradient, loss, problem

import autodiffx
from autodiffx import reverse


def fresh_copy(function):
    """The same code as a new function object, so that no cache knows it."""
    return types.FunctionType(
        function.__code__, function.__globals__, function.__name__, function.__defaults__
    )


def code_of_grad(generated, args):
    """A call of the code ``grad`` runs for ``args``: the gradient without the value where
    reverse mode made one (the value proved a real scalar), else the vjp and its pullback."""
    if generated.gradient is not None:
        return lambda: generated.gradient(*args)

    def vjp_and_pullback():
        value, pullback = generated.function(*args)
        return pullback(1.0)

    return vjp_and_pullback


def tiny(x, y):
    return x * y


def format_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def interleaved(functions: dict, rounds: int, min_time: float = 0.02) -> dict:
    """CPU seconds per call of each function: the best of ``rounds`` interleaved rounds,
    each of as many calls as the first function needs to fill ``min_time``."""
    for function in functions.values():
        function()  # warm up: caches, generated code, allocator
    first = next(iter(functions.values()))
    calls = 1
    while True:
        start = time.process_time()
        for _ in range(calls):
            first()
        if time.process_time() - start >= min_time or calls >= 1 << 16:
            break
        calls *= 2
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.process_time()
            for _ in range(calls):
                function()
            best[name] = min(best[name], (time.process_time() - start) / calls)
    return best


def best_wall_time(function, calls: int, repeat: int = 5) -> float:
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        times.append((time.perf_counter() - start) / calls)
    return min(times)


def gradient_rows(batches, rounds: int) -> None:
    """One row per batch size: hand, grad and the generated code alone, interleaved."""
    gradient = autodiffx.grad(loss, wrt=WRT)
    for batch in batches:
        params = problem(batch)
        ours = gradient(*params)
        for mine, theirs in zip(ours, hand_gradient(*params), strict=True):
            assert np.allclose(mine, theirs, rtol=1e-10, atol=1e-13)
        # the code grad runs: made for these shapes
        alone = code_of_grad(reverse.build(loss, WRT, tuple(np.ndim(p) for p in params),
                                           argument_shapes=tuple(p.shape for p in params)),
                             params)

        best = interleaved({"hand": lambda p=params: hand_gradient(*p),
                            "grad": lambda p=params: gradient(*p),
                            "alone": alone}, rounds)
        hand = best["hand"]
        print(f"{batch:>5} {format_time(hand):>14} {format_time(best['grad']):>14} "
              f"{best['grad'] / hand:>6.2f}x {format_time(best['alone']):>15} "
              f"{best['alone'] / hand:>6.2f}x")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 256, 4096])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--rows-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one-process", action="store_true",
                        help="time every batch size in this process, one after the other "
                        "(by default each gets a fresh process, as a training run would)")
    args = parser.parse_args(argv)

    allocator = "steady" if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "") else (
        "default")
    where = "one process" if args.one_process else "a fresh process per batch size"
    if not args.rows_only:
        print("reverse-mode gradient of the NER max-margin loss (d=50, window 5, n=100), "
              f"{allocator} allocator, CPU time, best of {args.rounds} interleaved rounds, "
              f"{where}")
        print(f"{'B':>5} {'hand-written':>14} {'grad':>14} {'ratio':>7} "
              f"{'generated code':>15} {'ratio':>7}", flush=True)
    if not args.one_process:
        # the allocator's state after one batch size (its thresholds, the heap's layout)
        # changes the page faults of the next: each batch size runs as a program of its own
        for batch in args.batches:
            subprocess.run([sys.executable, __file__, "--one-process", "--rows-only",
                            "--batches", str(batch), "--rounds", str(args.rounds)],
                           check=True)
    else:
        gradient_rows(args.batches, args.rounds)
    if args.rows_only:
        return

    params = problem(1)
    firsts = []
    for _ in range(5):
        copy = fresh_copy(loss)
        start = time.perf_counter()
        autodiffx.grad(copy, wrt=WRT)(*params)
        firsts.append(time.perf_counter() - start)
    print(f"transform + first call: {format_time(min(firsts)).strip()} (best of 5 fresh copies)")

    tiny_gradient = autodiffx.grad(tiny, wrt=(0, 1))
    tiny_gradient(2.0, 3.0)
    direct = code_of_grad(reverse.build(tiny, (0, 1), (0, 0), argument_shapes=((), ())),
                          (2.0, 3.0))

    through_api = best_wall_time(lambda: tiny_gradient(2.0, 3.0), 20000)
    bare = best_wall_time(direct, 20000)
    print(
        f"cached-call overhead: {format_time(through_api - bare).strip()} "
        f"(grad(f)(x) {format_time(through_api).strip()}, generated code alone "
        f"{format_time(bare).strip()})"
    )


if __name__ == "__main__":
    main()
