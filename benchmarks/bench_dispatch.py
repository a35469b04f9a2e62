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
alone (the NumPy function called on a plain array) is shown for scale.

Part of the dispatch is not forward mode's to cut: the column "protocol" is the same call
on an object whose ``__array_ufunc__``, ``__array_function__`` and operators return at once
(less an empty call), the cost of Python's operator dispatch and NumPy's override protocol
before any of forward mode's code runs; "ours" is the dispatch less that. Timed in
interleaved rounds, each the best of the rounds in CPU time (as ``bench_reverse.py`` times
the gradient).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_dispatch.py [--rounds 25]
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_reverse import interleaved
from timing import STEADY

from autodiffx.forward.dual import Dual, new_level


class Trivial:
    """Takes part in NumPy's protocols and Python's operators, and does nothing: each
    answers itself at once."""

    __slots__ = ()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return self

    def __array_function__(self, func, types, args, kwargs):
        return self

    def _itself(self, other):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _itself
    __matmul__ = __rmatmul__ = _itself


def cases(n: int = 4):
    """``(name, on a Dual, the same NumPy work on plain arrays, the value alone, the same
    call on a Trivial)`` for each operation."""
    rng = np.random.default_rng(0)
    level = new_level()
    x, a = rng.standard_normal(n), rng.standard_normal(n)
    m = rng.standard_normal((n, n))
    t = rng.standard_normal((1, n))
    dual = Dual(x, t, level)
    other = Dual(a, rng.standard_normal((1, n)), level)
    ta = other.tangent
    trivial, other_trivial = Trivial(), Trivial()

    def tanh_by_hand():
        y = np.tanh(x)
        return y, t * (1 - y**2)

    return [
        ("np.tanh(x)", lambda: np.tanh(dual), tanh_by_hand, lambda: np.tanh(x),
         lambda: np.tanh(trivial)),
        ("x * a", lambda: dual * a, lambda: (x * a, t * a), lambda: x * a,
         lambda: trivial * a),
        ("a * x", lambda: a * dual, lambda: (a * x, a * t), lambda: a * x,
         lambda: a * trivial),
        ("x + y", lambda: dual + other, lambda: (x + a, t + ta), lambda: x + a,
         lambda: trivial + other_trivial),
        ("1.0 - x", lambda: 1.0 - dual, lambda: (1.0 - x, -t), lambda: 1.0 - x,
         lambda: 1.0 - trivial),
        ("np.maximum(0.0, x)", lambda: np.maximum(0.0, dual),
         lambda: (np.maximum(0.0, x), np.count_nonzero(0.0 == x), t * (x > 0.0)),
         lambda: np.maximum(0.0, x), lambda: np.maximum(0.0, trivial)),
        ("x @ M", lambda: dual @ m, lambda: (x @ m, t @ m), lambda: x @ m,
         lambda: trivial @ m),
        ("M @ x", lambda: m @ dual, lambda: (m @ x, t @ m.T), lambda: m @ x,
         lambda: m @ trivial),
        ("np.sum(x)", lambda: np.sum(dual),
         lambda: (np.add.reduce(x, axis=None), np.add.reduce(t, axis=(1,))),
         lambda: np.sum(x), lambda: np.sum(trivial)),
        ("np.expand_dims(x, 1)", lambda: np.expand_dims(dual, 1),
         lambda: (x.reshape((n, 1)), t[:, :, None]), lambda: np.expand_dims(x, 1),
         lambda: np.expand_dims(trivial, 1)),
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args(argv)
    allocator = "steady" if STEADY else "default"
    print("forward mode, one operation on 4 entries and one direction, "
          f"{allocator} allocator, CPU time, best of {args.rounds} interleaved rounds (µs)")
    print(f"{'operation':<22} {'value alone':>11} {'NumPy work':>10} {'Dual':>8} "
          f"{'dispatch':>9} {'protocol':>9} {'ours':>6}")
    for name, on_dual, by_hand, alone, on_trivial in cases():
        best = interleaved({"dual": on_dual, "hand": by_hand, "alone": alone,
                            "trivial": on_trivial, "nothing": _nothing}, args.rounds)
        dual, hand, value, trivial, nothing = (
            best[which] * 1e6 for which in ("dual", "hand", "alone", "trivial", "nothing"))
        protocol = trivial - nothing
        print(f"{name:<22} {value:>11.2f} {hand:>10.2f} {dual:>8.2f} {dual - hand:>9.2f} "
              f"{protocol:>9.2f} {dual - hand - protocol:>6.2f}")


def _nothing():
    return None


if __name__ == "__main__":
    main()
