"""Forward mode against reverse mode on the lecture's NER loss: passes, time, operations.

The loss has one output and n = |W| + |b| + |u| + |X| + |X_c| inputs (25,700 at d = 50,
n = 100, one window). Its full gradient costs

1. reverse mode: one forward sweep and one adjoint sweep;
2. forward mode, vector chunks: ⌈n / k⌉ evaluations pushing k directions each;
3. forward mode, one direction per pass: n evaluations (timed on a sample of directions and
   extrapolated, which the table says);
4. central differences: 2n evaluations of the loss (sampled and extrapolated likewise);
5. the lecture's hand derivation, the reference for every error column.

Each is reported with its passes, time, time as a multiple of one loss evaluation, its
floating-point operation count (:mod:`autodiffx.cost`, from the shapes of the operations
actually executed) and its largest error against the hand derivation.

Two sweeps follow. The first grows the number of inputs (the word-vector size d) and
shows forward mode's cost growing with it while reverse mode stays a small multiple of the
loss. The second turns the problem around, many outputs and one input: the scores of all
m windows of a sentence as functions of one scalar (a temperature τ scaling the window
vectors). Forward mode needs one pass for any m, reverse mode one pass per output; the
crossover is the m where reverse mode becomes the slower one.
"""

from __future__ import annotations

import csv
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import api
from ..cost import count_flops
from ..forward import driver
from .hand import hand_gradient
from .model import max_margin_loss, score

WRT = (0, 1, 2, 3, 4)
NAMES = ("W", "b", "u", "X", "X_c")
METHODS = ("reverse", "forward-chunked", "forward-single", "central", "hand")
BASELINE = "loss (one evaluation)"


@dataclass
class Measurement:
    """One row of the method table."""

    method: str
    passes: int
    seconds: float
    extrapolated: bool
    ratio_to_loss: float
    flops: int
    max_error: float
    note: str = ""


ROUNDS = 5
"""Timed rounds per measurement; the fastest counts (the others met other work)."""


def timed(function: Callable[[], object], min_time: float, rounds: int = ROUNDS) -> float:
    """Seconds per call: the fastest of ``rounds`` rounds, each of as many calls as fill
    ``min_time / rounds`` (at least one), after one call to warm up.

    A call slower than a round still gets ``rounds`` samples, so that one pause of the
    machine (another process, the garbage collector) cannot decide the figure.
    """
    start = time.perf_counter()
    function()
    first = time.perf_counter() - start
    calls = max(1, math.ceil(min_time / rounds / max(first, 1e-9)))
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def relative_error(got: Sequence[np.ndarray], want: Sequence[np.ndarray]) -> float:
    """max |got − want| / max |want| over all entries of all arrays (a normwise error)."""
    scale = max(float(np.max(np.abs(w))) for w in want) or 1.0
    worst = max(float(np.max(np.abs(np.asarray(g) - w))) for g, w in zip(got, want, strict=True))
    return worst / scale


def _flat(arrays: Iterable[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in arrays])


def compare_methods(
    params: tuple,
    methods: Sequence[str] = METHODS,
    sample: int = 24,
    chunk: int | None = None,
    min_time: float = 0.2,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[Measurement]:
    """Measure each way of getting the gradient of the max-margin loss at ``params``."""
    loss = max_margin_loss
    total = sum(int(np.size(p)) for p in params)
    expected = hand_gradient(*params)
    expected_flat = _flat(expected)
    scale = float(np.max(np.abs(expected_flat))) or 1.0
    loss_seconds = timed(lambda: loss(*params), min_time)
    loss_flops = count_flops(loss, *params).total
    rng = np.random.default_rng(seed)
    entries = np.sort(rng.choice(total, size=min(sample, total), replace=False))
    rows = []

    def note(text):
        if progress is not None:
            progress(text)

    for method in methods:
        note(method)
        if method == "reverse":
            gradient = api.grad(loss, wrt=WRT)
            seconds = timed(lambda g=gradient: g(*params), min_time)
            flops = count_flops(gradient, *params).total
            error = relative_error(gradient(*params), expected)
            rows.append(Measurement(method, 1, seconds, False, 0, flops, error))
        elif method == "forward-chunked":
            k = driver.chunk_size(total, chunk)
            gradient = api.grad(loss, wrt=WRT, mode="forward", chunk=k)
            seconds = timed(lambda g=gradient: g(*params), min_time)
            passes = math.ceil(total / k)
            flops = count_flops(gradient, *params).total
            error = relative_error(gradient(*params), expected)
            rows.append(
                Measurement(method, passes, seconds, False, 0, flops, error, note=f"k = {k}")
            )
        elif method == "forward-single":
            seeds = [_basis_seed(params, int(i)) for i in entries]
            args = list(params)

            per_pass = timed(
                lambda a=args, s=seeds[0]: driver.push(loss, a, {}, WRT, s), min_time / 2
            )
            got = np.array([float(np.asarray(driver.push(loss, args, {}, WRT, s)[1])[0])
                            for s in seeds])
            error = float(np.max(np.abs(got - expected_flat[entries]))) / scale
            flops = count_flops(
                lambda *p, s=seeds[0]: driver.push(loss, p, {}, WRT, s), *params
            )
            rows.append(
                Measurement(method, total, per_pass * total, True, 0, flops.total * total, error,
                            note=f"{len(entries)} directions timed, x{total} extrapolated")
            )
        elif method == "central":
            h = 1e-5
            got = []
            for i in entries:
                plus, minus = _nudged(params, int(i), h)
                got.append((loss(*plus) - loss(*minus)) / (2 * h))
            error = float(np.max(np.abs(np.array(got) - expected_flat[entries]))) / scale
            rows.append(
                Measurement(method, 2 * total, 2 * total * loss_seconds, True, 0,
                            2 * total * loss_flops, error,
                            note=f"{len(entries)} entries checked, h = {h:g}")
            )
        elif method == "hand":
            seconds = timed(lambda: hand_gradient(*params), min_time)
            flops = count_flops(hand_gradient, *params).total
            rows.append(Measurement(method, 1, seconds, False, 0, flops, 0.0, note="reference"))
        else:
            raise api.ArgumentError(
                f"unknown method {method!r}", hint=f"choose from: {', '.join(METHODS)}"
            )
    for row in rows:
        row.ratio_to_loss = row.seconds / loss_seconds
    rows.insert(0, Measurement(BASELINE, 1, loss_seconds, False, 1.0, loss_flops,
                               0.0, note=f"n = {total} inputs"))
    return rows


def _basis_seed(params, flat_index: int) -> list[np.ndarray]:
    seeds = []
    offset = 0
    for p in params:
        seed = np.zeros((1, int(np.size(p))))
        if offset <= flat_index < offset + seed.shape[1]:
            seed[0, flat_index - offset] = 1.0
        seeds.append(seed.reshape((1, *np.shape(p))))
        offset += int(np.size(p))
    return seeds


def _nudged(params, flat_index: int, h: float):
    plus, minus = [], []
    offset = 0
    for p in params:
        size = int(np.size(p))
        if offset <= flat_index < offset + size:
            up, down = np.array(p, dtype=float), np.array(p, dtype=float)
            up.reshape(-1)[flat_index - offset] += h
            down.reshape(-1)[flat_index - offset] -= h
            plus.append(up)
            minus.append(down)
        else:
            plus.append(p)
            minus.append(p)
        offset += size
    return plus, minus


# --------------------------------------------------------------------------- sweeps


def sweep_inputs(
    sizes: Sequence[int],
    hidden: int,
    batch: int,
    min_time: float,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Reverse and chunked forward mode as the number of inputs grows (through d)."""
    rows = []
    for d in sizes:
        params = random_params(d, hidden, batch, seed)
        total = sum(int(np.size(p)) for p in params)
        loss_seconds = timed(lambda p=params: max_margin_loss(*p), min_time)
        reverse = api.grad(max_margin_loss, wrt=WRT)
        forward = api.grad(max_margin_loss, wrt=WRT, mode="forward")
        for method, gradient in (("reverse", reverse), ("forward-chunked", forward)):
            if progress is not None:
                progress(f"d = {d}, {method}")
            seconds = timed(lambda g=gradient, p=params: g(*p), min_time)
            flops = count_flops(gradient, *params).total
            rows.append(
                {"d": d, "inputs": total, "method": method, "seconds": seconds,
                 "ratio_to_loss": seconds / loss_seconds, "flops": flops}
            )
    return rows


def window_scores(tau, W, b, u, X):
    """The scores of every window (columns of X) with the window vectors scaled by tau."""
    return score(W, b, u, tau * X)


REPEATS = 3
"""Repeats of the output sweep: its crossover is read from each and from their minimum."""


def sweep_outputs(
    window_counts: Sequence[int],
    d: int,
    hidden: int,
    min_time: float,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    repeats: int = REPEATS,
) -> list[dict]:
    """One input, m outputs: d(scores)/dτ by jacfwd (1 pass) and jacrev (m passes).

    The whole sweep runs ``repeats`` times, interleaved so that a slow spell of the machine
    touches every count alike; each row's ``seconds`` is the fastest repeat, and
    ``repeat_seconds`` keeps them all (see :func:`crossovers`).
    """
    forward = api.jacfwd(window_scores, wrt=0)
    reverse = api.jacrev(window_scores, wrt=0)
    cases = []
    for m in window_counts:
        W, b, u, X, _ = random_params(d, hidden, m, seed)
        arguments = (1.0, W, b, u, X)
        expected = forward(*arguments)
        for method, jacobian, passes in (("forward", forward, 1), ("reverse", reverse, m)):
            got = jacobian(*arguments)
            error = float(np.max(np.abs(np.asarray(got) - expected)))
            cases.append(({"windows": m, "method": method, "passes": passes,
                           "max_difference": error}, jacobian, arguments))
    times: list[list[float]] = [[] for _ in cases]
    for repeat in range(repeats):
        for (row, jacobian, arguments), seconds in zip(cases, times, strict=True):
            if progress is not None and repeat == 0:
                progress(f"m = {row['windows']}, {row['method']}")
            seconds.append(timed(lambda j=jacobian, a=arguments: j(*a), min_time))
    return [{**row, "seconds": min(seconds),
             "repeat_seconds": " ".join(f"{s:.3e}" for s in seconds)}
            for (row, _, _), seconds in zip(cases, times, strict=True)]


def crossovers(rows: list[dict]) -> list[int | None]:
    """The crossover of each repeat of the output sweep on its own: how stable it is."""
    count = len(rows[0]["repeat_seconds"].split()) if rows else 0
    return [crossover([{**row, "seconds": float(row["repeat_seconds"].split()[k])}
                       for row in rows]) for k in range(count)]


def crossover(rows: list[dict]) -> int | None:
    """The smallest window count from which on reverse mode is slower than forward mode at
    every count tried (at m = 1 or 2 the two take one or two passes each, and which is
    faster there is within the noise of the machine)."""
    by_count: dict[int, dict[str, float]] = {}
    for row in rows:
        by_count.setdefault(row["windows"], {})[row["method"]] = row["seconds"]
    found = None
    for m in sorted(by_count, reverse=True):
        times = by_count[m]
        if not times.get("reverse", 0.0) > times.get("forward", math.inf):
            break
        found = m
    return found


def random_params(d: int, hidden: int, batch: int, seed: int = 0, window: int = 5):
    """Xavier-initialised (W, b, u) and random windows (X, X_c) of width 5·d."""
    rng = np.random.default_rng(seed)
    bound = math.sqrt(6 / (hidden + window * d))
    return (
        rng.uniform(-bound, bound, (hidden, window * d)),
        rng.uniform(-0.1, 0.1, hidden),
        rng.uniform(-bound, bound, hidden),
        rng.standard_normal((window * d, batch)),
        rng.standard_normal((window * d, batch)),
    )


# --------------------------------------------------------------------------- output


def format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def method_table(rows: list[Measurement]) -> str:
    header = (f"{'method':<24}{'passes':>8}{'time':>13}{'× loss':>10}{'FLOPs':>13}"
              f"{'max error':>11}  note")
    lines = [header, "-" * len(header)]
    for row in rows:
        star = "*" if row.extrapolated else " "
        error = "—" if row.method in ("hand", BASELINE) else f"{row.max_error:.1e}"
        lines.append(
            f"{row.method:<24}{row.passes:>8}{format_seconds(row.seconds) + star:>13}"
            f"{row.ratio_to_loss:>10.1f}{row.flops:>13.3g}{error:>11}  {row.note}"
        )
    if any(row.extrapolated for row in rows):
        lines.append("* extrapolated from a timed sample of passes")
    return "\n".join(lines)


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def measurements_as_rows(rows: list[Measurement]) -> list[dict]:
    return [asdict(row) for row in rows]


class Progress:
    """A one-line progress bar on standard error (silent when it is not a terminal)."""

    def __init__(self, total: int, label: str, stream=None):
        self.total = max(total, 1)
        self.done = 0
        self.label = label
        self.stream = stream or sys.stderr
        self.live = getattr(self.stream, "isatty", lambda: False)()

    def __call__(self, what: str) -> None:
        self.done += 1
        if not self.live:
            return
        width = 30
        filled = int(width * min(self.done, self.total) / self.total)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {what:<24}")
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\r" + " " * 80 + "\r")
            self.stream.flush()


def plot(input_rows: list[dict], output_rows: list[dict], path: Path) -> bool:
    """Draw cost against size for each method; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for method in ("reverse", "forward-chunked"):
        mine = [r for r in input_rows if r["method"] == method]
        left.plot([r["inputs"] for r in mine], [r["ratio_to_loss"] for r in mine], "o-",
                  label=method)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("inputs n (grows with the word-vector size d)")
    left.set_ylabel("gradient time / loss time")
    left.set_title("One output, many inputs: the NER loss")
    left.legend()
    for method in ("forward", "reverse"):
        mine = [r for r in output_rows if r["method"] == method]
        right.plot([r["windows"] for r in mine], [r["seconds"] * 1e3 for r in mine], "o-",
                   label=f"{method} ({'1 pass' if method == 'forward' else 'm passes'})")
    right.set_xlabel("outputs m (windows scored)")
    right.set_ylabel("Jacobian time (ms)")
    right.set_title("Many outputs, one input: d scores / d τ")
    right.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
