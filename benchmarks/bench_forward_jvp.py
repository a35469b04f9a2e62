"""Forward mode: one Jacobian-vector product of the NER max-margin loss.

The loss is the lecture's window scorer s = u·tanh(W x + b) with a corrupted window x_c,
J = mean(max(0, 1 − s + s_c)) over a batch of B windows (d = 50, window 5, n = 100). The
baseline is the same JVP written by hand in NumPy, timed in the same run: hand and
``autodiffx.jvp`` (which runs the JVP code it generates for the loss, see
``autodiffx.jvp_source``), and ``jvp`` on dual numbers (the generated code turned off:
operator overloading, what runs for a function the generated code does not cover), in
interleaved rounds, each the best of the rounds in CPU time (as
``bench_reverse.py`` times the gradient). A third column is the floor: the NumPy calls
forward mode makes, written out without dispatch (``rules_jvp``); the rest of the gap is
dispatch, which ``bench_dispatch.py`` shows operation by operation. A fourth is the hand
JVP written as the loss is (``hand_jvp_as_loss``): it keeps what the loss's names keep (z
and h of both windows, and their tangents) until the end, where ``hand_jvp`` lets them go
at once. With the default allocator, whose freed memory goes back to the system, those
longer lifetimes cost page faults on every call at large B, for the hand as for forward
mode; comparing forward mode with this column leaves them out. The allocator is the one the
process was started with; ``run_all.py`` runs it with the default allocator and with a
steady one.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_forward_jvp.py [--batches 1 256] [--rounds 25]
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_reverse import interleaved
from ner_problem import loss, problem
from timing import STEADY, format_time

import autodiffx
from autodiffx.reverse import jvp as generated


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


def hand_jvp_as_loss(primals, tangents):
    """The hand JVP with the lifetimes of the loss's names (autodiffx/ner/model.py): z, h and
    their tangents of the true window stay alive while the corrupted window is worked out."""
    W, b, u, X, Xc = primals
    dW, db, du, dX, dXc = tangents
    z = W @ X + b[:, None]
    dz = dW @ X + W @ dX + db[:, None]
    h = np.tanh(z)
    dh = (1 - h**2) * dz
    s = u @ h
    ds = du @ h + u @ dh
    z_c = W @ Xc + b[:, None]
    dz_c = dW @ Xc + W @ dXc + db[:, None]
    h_c = np.tanh(z_c)
    dh_c = (1 - h_c**2) * dz_c
    s_c = u @ h_c
    ds_c = du @ h_c + u @ dh_c
    margin = 1.0 - s + s_c
    return np.mean(np.maximum(0.0, margin)), np.mean((margin > 0) * (ds_c - ds))


def rules_jvp(primals, tangents):
    """The NumPy calls forward mode makes for the JVP, written out without dispatch: each
    rule's tangent as the rule computes it, on tangents with a leading axis of one direction,
    and the values as forward mode computes them (``np.expand_dims`` and ``np.mean`` of a
    Dual take the quick paths of ``forward/dual.py``, which call ``reshape`` and
    ``np.add.reduce``). What forward mode could cost with no overhead at all, as long as the
    rules stay as they are (numpy_rules.py, helpers.py); the copy of ``b`` and its tangent
    that the first view of ``b`` makes (tangent memory, forward/memory.py) is left out."""
    W, b, u, X, Xc = primals
    dW, db, du, dX, dXc = (t[np.newaxis] for t in tangents)

    def product(x, dx, y, dy):
        return x @ y, dx @ y + x @ dy

    def branch(X, dX):
        z, dz = product(W, dW, X, dX)
        column, dcolumn = b.reshape((*b.shape, 1)), db[:, :, None]  # views
        z, dz = z + column, dz + dcolumn
        h = np.tanh(z)
        return product(u, du, h, dz * (1 - h**2))

    s, ds = branch(X, dX)
    sc, dsc = branch(Xc, dXc)
    margin, dmargin = 1.0 - s + sc, -ds + dsc
    loss = np.maximum(0.0, margin)
    ties = 0.0 == margin  # np.maximum's tangent works out halves only where there are ties
    dloss = dmargin * ((margin > 0.0) + 0.5 * ties if np.count_nonzero(ties) else margin > 0.0)
    count = margin.size
    mean, dmean = np.add.reduce(loss, axis=None) / count, np.add.reduce(dloss, axis=(1,)) / count
    return mean, dmean[0]  # (jvp takes the one direction)


def dual_jvp(primals, tangents):
    """``autodiffx.jvp`` on dual numbers: forward mode by operator overloading, which jvp
    runs for a function its generated code does not cover."""
    previous = generated.enable(False)
    try:
        return autodiffx.jvp(loss, primals, tangents)
    finally:
        generated.enable(previous)


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
    allocator = "steady" if STEADY else "default"
    print("forward-mode JVP of the NER max-margin loss (d=50, window 5, n=100), "
          f"{allocator} allocator, CPU time, best of {args.rounds} interleaved rounds")
    print(f"{'B':>5} {'hand-written':>14} {'autodiffx':>14} {'ratio':>7} "
          f"{'dual numbers':>14} {'ratio':>7} "
          f"{'rules, no dispatch':>19} {'ratio':>7} {'hand as the loss':>17} {'ratio':>7} "
          f"{'autodiffx / it':>15}")
    for batch in args.batches:
        primals, tangents = problem_with_tangents(batch)
        ours = autodiffx.jvp(loss, primals, tangents)
        assert generated.code_for(loss, primals, tangents) is not None  # the generated code
        for other in (dual_jvp(primals, tangents), hand_jvp(primals, tangents),
                      rules_jvp(primals, tangents),
                      hand_jvp_as_loss(primals, tangents)):
            assert np.allclose(ours, other, rtol=1e-10, atol=1e-12), (ours, other)
        best = interleaved({"hand": lambda p=primals, t=tangents: hand_jvp(p, t),
                            "jvp": lambda p=primals, t=tangents: autodiffx.jvp(loss, p, t),
                            "dual": lambda p=primals, t=tangents: dual_jvp(p, t),
                            "rules": lambda p=primals, t=tangents: rules_jvp(p, t),
                            "as_loss": lambda p=primals, t=tangents: hand_jvp_as_loss(p, t)},
                           args.rounds)
        hand, auto, rules, as_loss = best["hand"], best["jvp"], best["rules"], best["as_loss"]
        dual = best["dual"]
        print(f"{batch:>5} {format_time(hand):>14} {format_time(auto):>14} {auto / hand:>6.2f}x "
              f"{format_time(dual):>14} {dual / hand:>6.2f}x "
              f"{format_time(rules):>19} {rules / hand:>6.2f}x {format_time(as_loss):>17} "
              f"{as_loss / hand:>6.2f}x {auto / as_loss:>14.2f}x")


if __name__ == "__main__":
    main()
