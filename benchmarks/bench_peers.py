"""Peers: the gradient of the NER max-margin loss by every library at hand, in one run.

Each row is a ratio to the hand-written NumPy gradient measured in the same run
(B = 1 and B = 256; d = 50, window 5, n = 100; float64 everywhere). autodiffx's two modes
always run; HIPS autograd, JAX (eager and jit) and PyTorch (eager) run when installed
(``pip install ".[bench]"``), and are listed as skipped otherwise.

    python benchmarks/bench_peers.py
"""

from __future__ import annotations

import argparse
import importlib.util

import numpy as np
from ner_problem import WRT, hand_gradient, loss, problem
from timing import format_time, per_call

import autodiffx


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def autograd_gradient():
    import autograd
    import autograd.numpy as anp

    def ag_loss(W, b, u, X, Xc):
        s = u @ anp.tanh(W @ X + b[:, None])
        sc = u @ anp.tanh(W @ Xc + b[:, None])
        return anp.mean(anp.maximum(0.0, 1.0 - s + sc))

    return autograd.grad(ag_loss, argnum=WRT)


def jax_gradient(jit: bool):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def jax_loss(W, b, u, X, Xc):
        s = u @ jnp.tanh(W @ X + b[:, None])
        sc = u @ jnp.tanh(W @ Xc + b[:, None])
        return jnp.mean(jnp.maximum(0.0, 1.0 - s + sc))

    gradient = jax.grad(jax_loss, argnums=WRT)
    if jit:
        gradient = jax.jit(gradient)

    def run(*params):
        return [np.asarray(g) for g in jax.block_until_ready(gradient(*params))]

    return run


def torch_gradient():
    import torch

    torch.set_num_threads(1)

    def run(*params):
        tensors = [torch.from_numpy(p).requires_grad_() for p in params]
        W, b, u, X, Xc = tensors
        s = u @ torch.tanh(W @ X + b[:, None])
        sc = u @ torch.tanh(W @ Xc + b[:, None])
        torch.mean(torch.clamp(1.0 - s + sc, min=0.0)).backward()
        return [t.grad.numpy() for t in tensors]

    return run


FORWARD_LIMIT = 30_000
"""Inputs above which the chunked forward-mode gradient is not timed: it needs n/k passes
(B = 256 has 153,300 inputs, minutes per gradient), which ``autodiffx ner`` sweeps instead."""


def methods(inputs: int):
    """(name, factory or None, reason when unavailable)."""
    rows = [("autodiffx reverse", lambda: autodiffx.grad(loss, wrt=WRT), "")]
    forward = "autodiffx forward (chunked)"
    if inputs <= FORWARD_LIMIT:
        rows.append((forward, lambda: autodiffx.grad(loss, wrt=WRT, mode="forward"), ""))
    else:
        rows.append((forward, None, f"not timed: {inputs} inputs"))
    peers = [
        ("autograd", "autograd", autograd_gradient),
        ("JAX eager", "jax", lambda: jax_gradient(jit=False)),
        ("JAX jit", "jax", lambda: jax_gradient(jit=True)),
        ("PyTorch eager", "torch", torch_gradient),
    ]
    for name, module, factory in peers:
        if available(module):
            rows.append((name, factory, ""))
        else:
            rows.append((name, None, f"skipped: {module} is not installed"))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 256])
    parser.add_argument("--min-time", type=float, default=0.2)
    args = parser.parse_args(argv)
    table = {}
    for batch in args.batches:
        params = problem(batch)
        expected = hand_gradient(*params)
        hand = per_call(lambda p=params: hand_gradient(*p), min_time=args.min_time)
        table[("hand-written NumPy", batch)] = (hand, 1.0)
        inputs = sum(int(np.size(p)) for p in params)
        for name, factory, reason in methods(inputs):
            if factory is None:
                table[(name, batch)] = reason
                continue
            gradient = factory()
            for got, want in zip(gradient(*params), expected, strict=True):
                assert np.allclose(got, want, rtol=1e-8, atol=1e-12), name
            seconds = per_call(lambda g=gradient, p=params: g(*p), min_time=args.min_time)
            table[(name, batch)] = (seconds, seconds / hand)
    names = list(dict.fromkeys(name for name, _ in table))
    header = "".join(f"{'B = ' + str(b):>26}" for b in args.batches)
    print("gradient of the NER max-margin loss, ratio to hand-written NumPy (same run)")
    print(f"{'method':<30}{header}")
    for name in names:
        cells = []
        for batch in args.batches:
            entry = table[(name, batch)]
            if isinstance(entry, str):
                cells.append(f"{'(' + entry.split(': ')[0] + ')':>26}")
            else:
                seconds, ratio = entry
                cells.append(f"{format_time(seconds):>14} {ratio:>9.2f}x  ")
        print(f"{name:<30}{''.join(cells)}")


if __name__ == "__main__":
    main()
