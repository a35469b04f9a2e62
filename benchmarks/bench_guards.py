"""The cost of reverse mode's call-time guards (globals and closure cells, see
:mod:`autodiffx.reverse.guards`), per call, against the unguarded generated function.

Two timings in the same run, ratio reported (the machine is shared):

* *unguarded*: the code ``grad`` runs, called directly: the gradient without the value
  where reverse mode made one (the value proved a real scalar), else the vjp and its
  pullback;
* *guarded*: ``reverse.build(f, wrt, ranks)`` (the cache lookup and the guard check) and
  then the same code;
* *grad*: the whole cached call of ``autodiffx.grad(f, wrt)``: argument checks, the guard
  of the previous call's code, that code, and the result shaped like the arguments. Its
  excess over *unguarded* is the API's cached-call overhead (issue 15's target: at most
  2 µs on ``f(x) = x * x``).

Run with ``OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_guards.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_reverse import code_of_grad  # noqa: E402
from timing import per_call  # noqa: E402

import autodiffx  # noqa: E402
from autodiffx import arguments  # noqa: E402
from autodiffx.ner.model import max_margin_loss  # noqa: E402
from autodiffx.reverse import emit  # noqa: E402

A = 2.0
ROUNDS = 5


def square(x):
    return x * x


def scaled_square(x):
    return A * x * x


def measure(name, f, args, wrt):
    ranks = tuple(int(np.ndim(a)) for a in args)
    # the code grad runs: made for the arguments' shapes (floats and arrays)
    shapes = tuple(s if type(s) is tuple else None for s in arguments.layouts(args))
    generated = emit.build(f, wrt, ranks, argument_shapes=shapes)
    unguarded = code_of_grad(generated, args)

    def guarded():
        return code_of_grad(emit.build(f, wrt, ranks, argument_shapes=shapes), args)()

    def guard_only():
        return emit.build(f, wrt, ranks, argument_shapes=shapes)

    gradient = autodiffx.grad(f, wrt=wrt if len(wrt) > 1 else wrt[0])

    def through_api():
        return gradient(*args)

    # interleaved rounds, best of each: the machine is shared and its speed drifts
    base = with_guard = check = holds = api = float("inf")
    for _ in range(ROUNDS):
        holds = min(holds, per_call(generated.guard.holds))
        base = min(base, per_call(unguarded))
        with_guard = min(with_guard, per_call(guarded))
        check = min(check, per_call(guard_only))
        api = min(api, per_call(through_api))
    records = len(generated.guard.records)
    print(f"{name:28s} records {records:2d}  unguarded {base * 1e6:8.2f} us  "
          f"guarded {with_guard * 1e6:8.2f} us  build+guard alone {check * 1e6:6.2f} us  "
          f"guard check alone {holds * 1e6:5.2f} us  "
          f"ratio {with_guard / base:5.3f}")
    print(f"{'':28s} grad {api * 1e6:8.2f} us: cached-call overhead "
          f"{(api - base) * 1e6:6.2f} us, ratio {api / base:5.3f}")


def main():
    rng = np.random.default_rng(0)
    d, n, batch = 50, 100, 256
    W = rng.standard_normal((n, 5 * d)) * 0.1
    b = np.zeros(n)
    u = rng.standard_normal(n) * 0.1
    X = rng.standard_normal((5 * d, batch))
    X_c = rng.standard_normal((5 * d, batch))
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    measure("f(x) = x * x", square, (1.5,), (0,))
    measure("f(x) = A * x * x (global)", scaled_square, (1.5,), (0,))
    measure("NER max_margin_loss B=256", max_margin_loss, (W, b, u, X, X_c), (0, 1, 2))


if __name__ == "__main__":
    main()
