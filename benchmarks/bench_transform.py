"""Transform time: reverse mode on functions of N statements, and the NER loss's first call.

The function of N statements is the one of issue 15: the statements cycle through

    h_i = np.tanh(h_{i-1})       h_i = h_{i-1} * 1.5 + x
    h_i = W @ h_{i-1}            h_i = np.sin(h_{i-1}) * h_{i-1}

from ``h_0 = x`` and return ``np.sum(h_N)``. Each is written to a fresh file and transformed
once with ``reverse.build(f, (0,), (1, 2))`` (read, normalise, differentiate, optimise,
print, compile; no call), and again for arguments of shapes (8,) and (8, 8), which is what
``grad`` transforms when called with arrays (the shape analysis and its rewrites too).
Transformation should grow about linearly with N, so the column
"per 100 vs N=100" (seconds per 100 statements, as a ratio to the 100-statement function)
should stay near 1. Wall-clock and CPU seconds are both shown: the machine may be shared.

The last line is the NER max-margin loss (``autodiffx/ner/model.py``): transform plus first
call of ``grad(loss, wrt=(W, b, u, X, Xc))`` at B=1, the best of five fresh copies of the
function (so that no cache knows it)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_transform.py [N ...]
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import tempfile
import time
import types
from pathlib import Path

from ner_problem import WRT, loss, problem
from timing import format_time

import autodiffx
from autodiffx import reverse

SIZES = [100, 200, 500, 1000, 2000]
_modules = itertools.count()


def straight_line_source(statements: int) -> str:
    """The source of ``f(x, W)`` with ``statements`` statements (see the module's doc)."""
    kinds = [
        "np.tanh({h})",
        "{h} * 1.5 + x",
        "W @ {h}",
        "np.sin({h}) * {h}",
    ]
    lines = ["import numpy as np", "", "", "def f(x, W):", "    h_0 = x"]
    for i in range(1, statements + 1):
        lines.append(f"    h_{i} = " + kinds[(i - 1) % 4].format(h=f"h_{i - 1}"))
    lines.append(f"    return np.sum(h_{statements})")
    return "\n".join(lines) + "\n"


def load(source: str, directory: Path):
    """``f`` from ``source`` written to a new file (a new module: no cache knows it)."""
    path = directory / f"long_{next(_modules)}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def transform_seconds(statements: int, repeat: int, shapes=None) -> tuple[float, float]:
    """The best wall-clock and CPU seconds of ``repeat`` transforms of fresh copies, for
    any shapes of the ranks or (``shapes``) for arguments of those shapes, as ``grad``
    makes it when called with arrays."""
    source = straight_line_source(statements)
    directory = Path(tempfile.mkdtemp())
    walls, cpus = [], []
    for _ in range(repeat):
        f = load(source, directory)
        wall, cpu = time.perf_counter(), time.process_time()
        reverse.build(f, (0,), (1, 2), argument_shapes=shapes)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def fresh_copy(function):
    """The same code as a new function object, so that no cache knows it."""
    return types.FunctionType(
        function.__code__, function.__globals__, function.__name__, function.__defaults__
    )


def ner_first_call(repeat: int = 5) -> float:
    """Transform plus first call of the NER loss's gradient: the best of ``repeat``."""
    params = problem(1)
    firsts = []
    for _ in range(repeat):
        copy = fresh_copy(loss)
        start = time.perf_counter()
        autodiffx.grad(copy, wrt=WRT)(*params)
        firsts.append(time.perf_counter() - start)
    return min(firsts)


def main(sizes: list[int]) -> None:
    load(straight_line_source(4), Path(tempfile.mkdtemp()))  # warm up imports
    reverse.build(load(straight_line_source(4), Path(tempfile.mkdtemp())), (0,), (1, 2))
    print("reverse-mode transform of a straight-line function of N statements")
    print(f"{'N':>6} {'wall':>10} {'cpu':>10} {'per 100 vs N=100':>17} "
          f"{'cpu, for shapes':>16}")
    base = None
    for statements in sizes:
        repeat = 3 if statements <= 1000 else 1
        wall, cpu = transform_seconds(statements, repeat)
        _, shaped = transform_seconds(statements, repeat, shapes=((8,), (8, 8)))
        per_100 = cpu / statements * 100
        base = base or per_100
        print(f"{statements:>6} {wall:>9.3f}s {cpu:>9.3f}s {per_100 / base:>16.2f}x "
              f"{shaped:>15.3f}s", flush=True)
    print(f"NER max-margin loss, transform + first call: {format_time(ner_first_call()).strip()}"
          " (best of 5 fresh copies)")


if __name__ == "__main__":
    main([int(n) for n in sys.argv[1:]] or SIZES)
