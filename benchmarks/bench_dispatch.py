"""Forward mode's cost per operation: one NumPy call on a Dual against the same NumPy work.

Each case is one operation on tiny arrays (4 entries, so that NumPy's own work is small and
the dispatch shows) on a Dual holding one direction. Its baseline is the NumPy calls that
operation makes on plain arrays: the value, and the tangent as its rule computes it (for
``np.maximum`` without a tie, the rule's ``t * (y > x)`` after counting the ties
``x == y``); ``np.sum`` and ``np.expand_dims`` take quick paths (``forward/dual.py``) that
call ``np.add.reduce`` and ``reshape`` and index the tangent, cheaper than the NumPy
function itself, so their dispatch can come out below zero. The difference is what forward
mode adds to each operation: NumPy's protocol (``__array_ufunc__``,
``__array_function__``), finding the rule, checking the operands and building the result;
for ``np.expand_dims`` also giving the view a view of the input's tangent memory. The value
alone (the NumPy function called on a plain array) is shown for scale. Timed in interleaved
rounds, each the best of the rounds in CPU time (as ``bench_reverse.py`` times the
gradient).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_dispatch.py [--rounds 25]
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_reverse import interleaved
from timing import STEADY

from autodiffx.forward.dual import Dual, new_level


def cases(n: int = 4):
    """``(name, on a Dual, the same NumPy work on plain arrays, the value alone)`` for each
    operation."""
    rng = np.random.default_rng(0)
    level = new_level()
    x, a = rng.standard_normal(n), rng.standard_normal(n)
    m = rng.standard_normal((n, n))
    t = rng.standard_normal((1, n))
    dual = Dual(x, t, level)
    other = Dual(a, rng.standard_normal((1, n)), level)
    ta = other.tangent

    def tanh_by_hand():
        y = np.tanh(x)
        return y, t * (1 - y**2)

    return [
        ("np.tanh(x)", lambda: np.tanh(dual), tanh_by_hand, lambda: np.tanh(x)),
        ("x * a", lambda: dual * a, lambda: (x * a, t * a), lambda: x * a),
        ("a * x", lambda: a * dual, lambda: (a * x, a * t), lambda: a * x),
        ("x + y", lambda: dual + other, lambda: (x + a, t + ta), lambda: x + a),
        ("1.0 - x", lambda: 1.0 - dual, lambda: (1.0 - x, -t), lambda: 1.0 - x),
        ("np.maximum(0.0, x)", lambda: np.maximum(0.0, dual),
         lambda: (np.maximum(0.0, x), np.count_nonzero(0.0 == x), t * (x > 0.0)),
         lambda: np.maximum(0.0, x)),
        ("x @ M", lambda: dual @ m, lambda: (x @ m, t @ m), lambda: x @ m),
        ("M @ x", lambda: m @ dual, lambda: (m @ x, t @ m.T), lambda: m @ x),
        ("np.sum(x)", lambda: np.sum(dual),
         lambda: (np.add.reduce(x, axis=None), np.add.reduce(t, axis=(1,))),
         lambda: np.sum(x)),
        ("np.expand_dims(x, 1)", lambda: np.expand_dims(dual, 1),
         lambda: (x.reshape((n, 1)), t[:, :, None]), lambda: np.expand_dims(x, 1)),
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args(argv)
    allocator = "steady" if STEADY else "default"
    print("forward mode, one operation on 4 entries and one direction, "
          f"{allocator} allocator, CPU time, best of {args.rounds} interleaved rounds (µs)")
    print(f"{'operation':<22} {'value alone':>11} {'NumPy work':>10} {'Dual':>8} "
          f"{'dispatch':>9}")
    for name, on_dual, by_hand, alone in cases():
        best = interleaved({"dual": on_dual, "hand": by_hand, "alone": alone}, args.rounds)
        dual, hand, value = (best[which] * 1e6 for which in ("dual", "hand", "alone"))
        print(f"{name:<22} {value:>11.2f} {hand:>10.2f} {dual:>8.2f} {dual - hand:>9.2f}")


if __name__ == "__main__":
    main()
