"""Reverse mode: the gradient of the NER max-margin loss w.r.t. (W, b, u, X, Xc).

Three figures, each against a baseline from the same run:
1. the cached gradient's time per call, as a ratio to the lecture's hand-derived gradient
   written in NumPy (B = 1 and B = 256; d = 50, window 5, n = 100);
2. transform plus first call of a function never seen before (source → generated code →
   compiled → run);
3. the overhead of a cached call: ``grad(f)(x)`` minus running the generated code directly,
   on a function so small that NumPy's own time is negligible.

    python benchmarks/bench_reverse.py
"""

from __future__ import annotations

import argparse
import time
import types

import numpy as np
from ner_problem import WRT, hand_gradient, loss, problem
from timing import format_time, per_call

import autodiffx
from autodiffx import reverse


def fresh_copy(function):
    """The same code as a new function object, so that no cache knows it."""
    return types.FunctionType(
        function.__code__, function.__globals__, function.__name__, function.__defaults__
    )


def tiny(x, y):
    return x * y


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 256])
    args = parser.parse_args(argv)

    print("reverse-mode gradient of the NER max-margin loss (d=50, window 5, n=100)")
    print(f"{'B':>5} {'hand-written':>14} {'autodiffx':>14} {'ratio':>7}")
    gradient = autodiffx.grad(loss, wrt=WRT)
    for batch in args.batches:
        params = problem(batch)
        ours = gradient(*params)
        for mine, theirs in zip(ours, hand_gradient(*params), strict=True):
            assert np.allclose(mine, theirs, rtol=1e-10, atol=1e-13)
        hand = per_call(lambda p=params: hand_gradient(*p))
        auto = per_call(lambda p=params: gradient(*p))
        print(f"{batch:>5} {format_time(hand):>14} {format_time(auto):>14} {auto / hand:>6.2f}x")

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
    generated = reverse.build(tiny, (0, 1), (0, 0))

    def direct():
        value, pullback = generated.function(2.0, 3.0)
        return pullback(1.0)

    through_api = per_call(lambda: tiny_gradient(2.0, 3.0))
    bare = per_call(direct)
    print(
        f"cached-call overhead: {format_time(through_api - bare).strip()} "
        f"(grad(f)(x) {format_time(through_api).strip()}, generated code alone "
        f"{format_time(bare).strip()})"
    )


if __name__ == "__main__":
    main()
