"""Second order: one Hessian-vector product of the NER max-margin loss with respect to W.

The HVP is forward-over-reverse (``autodiffx.hvp``: Duals pushed through the generated
gradient code), with X of shape (250, 1) (d = 50, window 5, one window, n = 100). It is
reported as a ratio to one reverse-mode gradient with respect to W in the same run; the
target is at most 4x. The HVP is checked against central differences of the gradient.

    python benchmarks/bench_hvp.py
"""

from __future__ import annotations

import argparse

import numpy as np
from ner_problem import problem
from timing import format_time, per_call

import autodiffx
from autodiffx.ner.model import max_margin_loss


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args(argv)
    W, b, u, X, Xc = problem(args.batch)
    rng = np.random.default_rng(5)
    V = rng.standard_normal(W.shape)

    def loss_in_W(W):
        return max_margin_loss(W, b, u, X, Xc)

    gradient = autodiffx.grad(loss_in_W)
    ours = autodiffx.hvp(loss_in_W, (W,), (V,))
    step = 1e-6
    numeric = (gradient(W + step * V) - gradient(W - step * V)) / (2 * step)
    assert np.allclose(ours, numeric, rtol=1e-5, atol=1e-8), np.max(np.abs(ours - numeric))

    one_gradient = per_call(lambda: gradient(W))
    one_hvp = per_call(lambda: autodiffx.hvp(loss_in_W, (W,), (V,)))
    print(f"HVP of the NER max-margin loss in W (X of shape {X.shape})")
    print(f"{'gradient':>14} {'hvp':>14} {'ratio':>7}")
    ratio = one_hvp / one_gradient
    print(f"{format_time(one_gradient):>14} {format_time(one_hvp):>14} {ratio:>6.2f}x")


if __name__ == "__main__":
    main()
