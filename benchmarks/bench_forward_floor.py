"""Forward mode's floor: the NER JVP through a bare dual number, with no checks at all.

``bench_forward_jvp.py`` compares ``autodiffx.jvp`` with a hand-written JVP and with the
NumPy calls forward mode makes, written out without dispatch ("rules"). ``jvp`` of the loss
runs its generated code (``autodiffx.jvp_source``), with no dual number; the column "dual
numbers" here is ``jvp`` with that code turned off, what runs for a function the code does
not cover. Between the rules and the dual numbers lie two costs, and this splits them.
``Bare`` is the least a dual number that works by operator overloading can be: two slots,
NumPy's protocols answered for the loss's operations only, each operation's value computed
and the registered tangent rules called (the ones the dual numbers call, from the same
plans), and nothing checked: no levels, no complex values, no views or writes, no shared
memory, no other types. Its time less the rules' is
what overloading itself costs (Python's operators, NumPy's override protocol, the calls of
the rules, a new object per operation); the dual numbers less ``Bare`` is what forward mode's
checks and bookkeeping cost, the part that tuning forward mode can cut. Each figure is a
ratio to the hand JVP timed in the same rounds (CPU time, best of interleaved rounds, as
the other benchmarks).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_forward_floor.py [--batches 1 256] [--rounds 25]
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_forward_jvp import dual_jvp, hand_jvp, problem_with_tangents, rules_jvp
from bench_reverse import interleaved
from ner_problem import loss
from timing import STEADY, format_time

from autodiffx.forward import dual

_PLANS = {ufunc: dual._plan(ufunc)
          for ufunc in (np.add, np.subtract, np.matmul, np.tanh, np.maximum)}
"""The plans forward mode makes from the registered rules: ``(arity, elementwise, tangent
of x, tangent of y, real_only, rule)``."""


class Bare:
    """A value and its tangent (directions first), and nothing else."""

    __slots__ = ("primal", "tangent")

    def __init__(self, primal, tangent):
        self.primal = primal
        self.tangent = tangent

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if len(inputs) == 1:  # np.tanh
            x = inputs[0].primal
            ans = ufunc(x)
            return Bare(ans, _PLANS[ufunc][2](inputs[0].tangent, ans, x))
        return _binary(ufunc, *inputs)  # np.maximum

    def __array_function__(self, func, types, args, kwargs):
        x = args[0]
        if func is np.expand_dims and args[1:] == (1,) and x.primal.ndim == 1:
            return Bare(x.primal.reshape((x.primal.size, 1)), x.tangent[:, :, None])
        if func is np.mean and len(args) == 1 and not kwargs:
            count = x.primal.size
            return Bare(np.add.reduce(x.primal, axis=None) / count,
                        np.add.reduce(x.tangent, axis=tuple(range(1, x.tangent.ndim))) / count)
        raise NotImplementedError(f"Bare does not take {func.__name__}")

    def __add__(self, other):
        return _binary(np.add, self, other)

    def __radd__(self, other):
        return _binary(np.add, other, self)

    def __sub__(self, other):
        return _binary(np.subtract, self, other)

    def __rsub__(self, other):
        return _binary(np.subtract, other, self)

    def __matmul__(self, other):
        return _binary(np.matmul, self, other)


def _binary(ufunc, a, b):
    """``ufunc(a, b)``: the value, and the sum of the tangent rules of the Bare operands
    (the loss's operands have the result's rank, so no tangent needs padding)."""
    _, _, to_x, to_y, _, _ = _PLANS[ufunc]
    x, tx = (a.primal, a.tangent) if type(a) is Bare else (a, None)
    y, ty = (b.primal, b.tangent) if type(b) is Bare else (b, None)
    ans = ufunc(x, y)
    if tx is None:
        return Bare(ans, to_y(ty, ans, x, y))
    if ty is None:
        return Bare(ans, to_x(tx, ans, x, y))
    return Bare(ans, to_x(tx, ans, x, y) + to_y(ty, ans, x, y))


def bare_jvp(primals, tangents):
    out = loss(*(Bare(primal, tangent[np.newaxis])
                 for primal, tangent in zip(primals, tangents, strict=True)))
    return float(out.primal), float(out.tangent[0])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 256])
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args(argv)
    allocator = "steady" if STEADY else "default"
    print("forward-mode JVP of the NER max-margin loss against a bare dual number, "
          f"{allocator} allocator, CPU time, best of {args.rounds} interleaved rounds "
          "(ratios to the hand JVP)")
    print(f"{'B':>5} {'hand-written':>13} {'rules':>7} {'Bare':>7} {'dual numbers':>13} "
          f"{'overloading':>12} {'checks':>10}")
    for batch in args.batches:
        primals, tangents = problem_with_tangents(batch)
        ours = dual_jvp(primals, tangents)
        assert np.allclose(bare_jvp(primals, tangents), ours, rtol=1e-10, atol=1e-12)
        best = interleaved({"hand": lambda p=primals, t=tangents: hand_jvp(p, t),
                            "rules": lambda p=primals, t=tangents: rules_jvp(p, t),
                            "bare": lambda p=primals, t=tangents: bare_jvp(p, t),
                            "jvp": lambda p=primals, t=tangents: dual_jvp(p, t)},
                           args.rounds)
        hand, rules, bare, auto = best["hand"], best["rules"], best["bare"], best["jvp"]
        print(f"{batch:>5} {format_time(hand):>13} {rules / hand:>6.2f}x {bare / hand:>6.2f}x "
              f"{auto / hand:>12.2f}x {format_time(bare - rules):>12} "
              f"{format_time(auto - bare):>10}")


if __name__ == "__main__":
    main()
