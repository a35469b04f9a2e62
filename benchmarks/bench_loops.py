"""Loops: the reverse-mode cost per time step of a recurrent network, for T steps.

The network reads one input row per step, ``h = tanh(W h + U xs[t])``, and returns
``sum(h)``; the gradient is taken with respect to W, U and the inputs xs (H = 16 hidden
units, D = 8 inputs). Each time step does the same work whatever T is, so the gradient's
cost per step should not depend on T. "net per step" leaves out what a call costs whatever
T is (the time of a call with T=1): ``(time(T) - time(1)) / (T - 1)``; the last column,
its ratio to T=10, should stay near 1. A reverse sweep that does work proportional to T in
each step (a full-size array per step for the adjoint of ``xs[t]``) shows up there::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_loops.py [T ...]
"""

from __future__ import annotations

import sys

import numpy as np
from timing import format_time, per_call

import autodiffx

STEPS = [10, 100, 1000, 10000]
HIDDEN, INPUTS = 16, 8


def rnn(W, U, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h)


def main(steps: list[int]) -> None:
    rng = np.random.default_rng(0)
    W = rng.standard_normal((HIDDEN, HIDDEN)) * 0.3
    U = rng.standard_normal((HIDDEN, INPUTS)) * 0.3
    h0 = np.zeros(HIDDEN)
    gradient = autodiffx.grad(rnn, wrt=(0, 1, 2))

    def seconds(count: int) -> float:
        xs = rng.standard_normal((count, INPUTS))
        return per_call(lambda: gradient(W, U, xs, h0), min_time=0.5)

    fixed = seconds(1)  # one step plus what a call costs whatever T is
    print(f"reverse-mode gradient of an RNN (H={HIDDEN}, D={INPUTS}) per time step; "
          f"a call with T=1 takes {format_time(fixed).strip()}")
    print(f"{'T':>6} {'per call':>12} {'per step':>12} {'net per step':>13} "
          f"{'net vs T=10':>12}")
    base = None
    for count in steps:
        total = seconds(count)
        net = (total - fixed) / (count - 1)  # the loop's cost per step, without the call's
        base = base or net
        print(f"{count:>6} {format_time(total):>12} {format_time(total / count):>12} "
              f"{format_time(net):>13} {net / base:>11.2f}x", flush=True)


if __name__ == "__main__":
    main([int(n) for n in sys.argv[1:]] or STEPS)
