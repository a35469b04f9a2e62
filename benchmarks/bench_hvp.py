"""Second order: one Hessian-vector product of the NER max-margin loss with respect to W.

The HVP is forward-over-reverse (``autodiffx.hvp``: Duals pushed through the generated
gradient code), with X of shape (250, 1) (d = 50, window 5, one window, n = 100). It is
reported as a ratio to one reverse-mode gradient with respect to W in the same run; the
target is at most 4x. The HVP is checked against central differences of the gradient.

The same HVP by reverse over reverse (the gradient of ⟨∇J(W), V⟩, whose gradient code is
transformed a second time) is timed next to it, and so is the whole Hessian in b (n × n)
both ways: forward over reverse (``autodiffx.hessian``, n Dual directions in chunks) and
reverse over reverse (``jacrev(grad(J, wrt="b"), wrt="b")``, one reverse pass per row).

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

    def along_V(W):
        return np.sum(gradient(W) * V)

    reverse_hvp = autodiffx.grad(along_V)
    assert np.allclose(reverse_hvp(W), ours, rtol=1e-10, atol=1e-12)

    one_gradient = per_call(lambda: gradient(W))
    one_hvp = per_call(lambda: autodiffx.hvp(loss_in_W, (W,), (V,)))
    one_reverse_hvp = per_call(lambda: reverse_hvp(W))
    print(f"HVP of the NER max-margin loss in W (X of shape {X.shape})")
    print(f"{'':>24} {'time':>12} {'/ gradient':>11}")
    for label, seconds in (("gradient (reverse)", one_gradient),
                           ("hvp, forward/reverse", one_hvp),
                           ("hvp, reverse/reverse", one_reverse_hvp)):
        print(f"{label:>24} {format_time(seconds):>12} {seconds / one_gradient:>10.2f}x")

    gradient_b = autodiffx.grad(max_margin_loss, wrt="b")
    forward_hessian = autodiffx.hessian(max_margin_loss, wrt="b")
    reverse_hessian = autodiffx.jacrev(gradient_b, wrt="b")
    H = forward_hessian(W, b, u, X, Xc)
    assert np.allclose(reverse_hessian(W, b, u, X, Xc), H, rtol=1e-10, atol=1e-12)
    one_b = per_call(lambda: gradient_b(W, b, u, X, Xc))
    print(f"Hessian of the loss in b ({H.shape[0]} x {H.shape[1]})")
    for label, call in (("forward over reverse", forward_hessian),
                        ("reverse over reverse", reverse_hessian)):
        seconds = per_call(lambda call=call: call(W, b, u, X, Xc))
        print(f"{label:>24} {format_time(seconds):>12} {seconds / one_b:>10.2f}x")


if __name__ == "__main__":
    main()
