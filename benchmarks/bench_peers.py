"""Peers: the gradient of the NER max-margin loss by every library at hand, in one run.

Each row is a ratio to the hand-written NumPy gradient measured in the same run
(B = 1, 16, 256 and 4096; d = 50, window 5, n = 100; float64 everywhere; the gradient with
respect to all five inputs, checked against the hand gradient before it is timed).
autodiffx's two modes always run; HIPS autograd, JAX (eager and jit) and PyTorch (eager)
run when installed (``pip install ".[bench]"``; benchmarks/README.md says how to get
PyTorch's CPU wheel), and are listed as skipped otherwise.

Every method at one B is timed in interleaved rounds (hand, autodiffx, each peer, then
again), each figure the best of the rounds in CPU time (``time.process_time``, as
``bench_reverse.py`` times), so that a burst of load on the shared machine reaches all of
them alike; CPU time also counts any helper thread a library runs. One thread each: NumPy's
OpenBLAS through OPENBLAS_NUM_THREADS=1 (``run_all.py`` sets it), PyTorch through
``torch.set_num_threads(1)`` (it brings its own BLAS), and XLA's CPU backend through
XLA_FLAGS (set here unless already set). The chunked forward-mode gradient takes n/k
passes; it is timed alone, best of 3 calls, and only where it takes seconds, not minutes.
Each batch size runs in a fresh process of its own (``--one-process`` runs them one after
the other in this one), as in ``bench_reverse.py``: what one batch size leaves in the
allocator changes the page faults of the next.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_peers.py [--batches 1 256] [--rounds 15]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from ner_problem import WRT, hand_gradient, loss, problem
from timing import STEADY, format_time

import autodiffx

XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def autograd_gradient():
    import autograd
    import autograd.numpy as anp

    def ag_loss(W, b, u, X, Xc):
        s = u @ anp.tanh(W @ X + b[:, None])
        sc = u @ anp.tanh(W @ Xc + b[:, None])
        return anp.mean(anp.maximum(0.0, 1.0 - s + sc))

    return autograd.grad(ag_loss, argnum=WRT)


def jax_gradient(jit: bool):
    os.environ.setdefault("XLA_FLAGS", XLA_ONE_THREAD)  # read when JAX starts its backend
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
    """PyTorch eager: NumPy's arrays in (``from_numpy`` shares their memory, float64), the
    tape recorded and run backward, NumPy arrays out; all of it inside the timing."""
    import torch

    torch.set_num_threads(1)

    def run(*params):
        tensors = [torch.from_numpy(p).requires_grad_() for p in params]
        W, b, u, X, Xc = tensors
        s = u @ torch.tanh(W @ X + b[:, None])
        sc = u @ torch.tanh(W @ Xc + b[:, None])
        torch.mean(torch.relu(1.0 - s + sc)).backward()
        return [t.grad.numpy() for t in tensors]

    return run


FORWARD_LIMIT = 30_000
"""Inputs above which the chunked forward-mode gradient is not timed: it needs n/k passes
(B = 16 has 33,200 inputs, B = 256 153,300: minutes per gradient), which ``autodiffx ner``
sweeps instead."""


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


def calls_to_fill(function, min_time: float) -> int:
    calls = 1
    while True:
        start = time.process_time()
        for _ in range(calls):
            function()
        if time.process_time() - start >= min_time or calls >= 1 << 16:
            return calls
        calls *= 2


def interleaved(functions: dict, rounds: int, min_time: float) -> dict:
    """CPU seconds per call of each function: the best of ``rounds`` interleaved rounds, each
    round as many calls of each function as fill ``min_time`` (counted once, beforehand)."""
    counts = {name: calls_to_fill(function, min_time) for name, function in functions.items()}
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(rounds):
        for name, function in functions.items():
            calls = counts[name]
            start = time.process_time()
            for _ in range(calls):
                function()
            best[name] = min(best[name], (time.process_time() - start) / calls)
    return best


def alone(function, repeat: int = 3) -> float:
    """CPU seconds of the best of ``repeat`` calls (after the checking call)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


HAND = "hand-written NumPy"


def measure_batch(batch: int, rounds: int, min_time: float) -> dict:
    """{method: (seconds, ratio to the hand gradient) or the reason it was not timed}."""
    params = problem(batch)
    expected = hand_gradient(*params)
    timed = {HAND: lambda p=params: hand_gradient(*p)}
    slow = {}
    row = {}
    inputs = sum(int(np.size(p)) for p in params)
    for name, factory, reason in methods(inputs):
        if factory is None:
            row[name] = reason
            continue
        gradient = factory()
        for got, want in zip(gradient(*params), expected, strict=True):
            assert np.allclose(got, want, rtol=1e-8, atol=1e-12), name
        call = lambda g=gradient, p=params: g(*p)  # noqa: E731
        (slow if name.startswith("autodiffx forward") else timed)[name] = call
    best = interleaved(timed, rounds, min_time)
    best.update({name: alone(call) for name, call in slow.items()})
    row.update({name: (seconds, seconds / best[HAND]) for name, seconds in best.items()})
    return row


def settings() -> str:
    """The peers' thread settings, as the process that timed them had them."""
    text = ""
    if "torch" in sys.modules:
        import torch

        text += f"; PyTorch on {torch.get_num_threads()} thread(s)"
    if "jax" in sys.modules:
        text += f"; XLA_FLAGS={os.environ.get('XLA_FLAGS')!r}"
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 256, 4096])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--min-time", type=float, default=0.02,
                        help="seconds of calls of each method in a round")
    parser.add_argument("--one-process", action="store_true",
                        help="time every batch size in this process, one after the other "
                        "(by default each gets a fresh process)")
    parser.add_argument("--row-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.row_only:  # a child of main: one batch size, as JSON
        row = measure_batch(args.batches[0], args.rounds, args.min_time)
        print(json.dumps({"row": row, "settings": settings()}))
        return
    table, threads = {}, ""
    for batch in args.batches:
        if args.one_process:
            row = measure_batch(batch, args.rounds, args.min_time)
            threads = settings()
        else:
            # what one batch size leaves in the allocator changes the page faults of the
            # next (as in bench_reverse.py): each batch size runs in a process of its own
            output = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--row-only",
                 "--batches", str(batch), "--rounds", str(args.rounds),
                 "--min-time", str(args.min_time)],
                capture_output=True, text=True, check=True).stdout
            answer = json.loads(output.strip().splitlines()[-1])
            row = {name: entry if isinstance(entry, str) else tuple(entry)
                   for name, entry in answer["row"].items()}
            threads = answer["settings"]
        table.update({(name, batch): entry for name, entry in row.items()})
    names = [HAND] + [name for name, _, _ in methods(0)]
    width = 24
    header = "".join(f"{'B = ' + str(b):>{width}}" for b in args.batches)
    where = "one process" if args.one_process else "a fresh process per batch size"
    print("gradient of the NER max-margin loss (d=50, window 5, n=100), ratio to hand-written "
          f"NumPy in the same run, {'steady' if STEADY else 'default'} allocator, CPU time, "
          f"best of {args.rounds} interleaved rounds, {where}")
    print(f"{'method':<28}{header}")
    for name in names:
        cells = []
        for batch in args.batches:
            entry = table[(name, batch)]
            if isinstance(entry, str):
                cells.append(f"{'(' + entry.split(': ')[0] + ')':>{width}}")
            else:
                seconds, ratio = entry
                cells.append(f"{format_time(seconds):>13} {ratio:>8.2f}x ")
        print(f"{name:<28}{''.join(cells)}")
    installed = [f"{module} {version(module)}" for module in ("autograd", "jax", "torch")
                 if available(module)]
    print(f"peers: {', '.join(installed) or 'none installed'}{threads}")


if __name__ == "__main__":
    main()
