"""Forward mode: one Jacobian-vector product of the NER max-margin loss.

The loss is the lecture's window scorer s = u·tanh(W x + b) with a corrupted window x_c,
J = mean(max(0, 1 − s + s_c)) over a batch of B windows (d = 50, window 5, n = 100). The
baseline is the same JVP written by hand in NumPy, timed in the same run: hand and
``autodiffx.jvp`` in interleaved rounds, each the best of the rounds in CPU time (as
``bench_reverse.py`` times the gradient). The allocator is the one the process was started
with; ``run_all.py`` runs it with the default allocator and with a steady one.
``bench_dispatch.py`` shows where forward mode's time goes, operation by operation.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_forward_jvp.py [--batches 1 256] [--rounds 25]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from bench_reverse import interleaved
from ner_problem import loss, problem
from timing import format_time

import autodiffx


def hand_jvp(primals, tangents):
    W, b, u, X, Xc = primals
    dW, db, du, dX, dXc = tangents
    h = np.tanh(W @ X + b[:, None])
    hc = np.tanh(W @ Xc + b[:, None])
    dh = (1 - h**2) * (dW @ X + W @ dX + db[:, None])
    dhc = (1 - hc**2) * (dW @ Xc + W @ dXc + db[:, None])
    s = u @ h
    sc = u @ hc
    ds = du @ h + u @ dh
    dsc = du @ hc + u @ dhc
    margin = 1.0 - s + sc
    active = margin > 0
    return np.mean(np.maximum(0.0, margin)), np.mean(active * (dsc - ds))


def problem_with_tangents(batch: int, seed: int = 0):
    primals = problem(batch, seed=seed)
    rng = np.random.default_rng(seed + 1)
    tangents = tuple(rng.standard_normal(np.shape(p)) for p in primals)
    return primals, tangents


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 256, 4096])
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args(argv)
    allocator = "steady" if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "") else (
        "default")
    print("forward-mode JVP of the NER max-margin loss (d=50, window 5, n=100), "
          f"{allocator} allocator, CPU time, best of {args.rounds} interleaved rounds")
    print(f"{'B':>5} {'hand-written':>14} {'autodiffx':>14} {'ratio':>7}")
    for batch in args.batches:
        primals, tangents = problem_with_tangents(batch)
        ours = autodiffx.jvp(loss, primals, tangents)
        theirs = hand_jvp(primals, tangents)
        assert np.allclose(ours, theirs, rtol=1e-10, atol=1e-12), (ours, theirs)
        best = interleaved({"hand": lambda p=primals, t=tangents: hand_jvp(p, t),
                            "jvp": lambda p=primals, t=tangents: autodiffx.jvp(loss, p, t)},
                           args.rounds)
        hand, auto = best["hand"], best["jvp"]
        print(f"{batch:>5} {format_time(hand):>14} {format_time(auto):>14} {auto / hand:>6.2f}x")


if __name__ == "__main__":
    main()
