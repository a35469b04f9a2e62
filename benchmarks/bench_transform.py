"""Seconds reverse mode takes to transform a function of N statements.

Each function is ``y = np.tanh(y) * 0.5 + y * c`` repeated N times, written to a fresh
file and differentiated once (transform, compile, one call). Transformation should grow
about linearly with N::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_transform.py [N ...]
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import autodiffx


def transform_seconds(statements: int) -> float:
    lines = ["import numpy as np", "", "def f(x):", "    y = x"]
    lines += [f"    y = np.tanh(y) * 0.5 + y * {0.1 + i % 7 / 10}" for i in range(statements)]
    lines.append("    return np.sum(y)")
    path = Path(tempfile.mkdtemp()) / f"long_{statements}.py"
    path.write_text("\n".join(lines) + "\n")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    start = time.perf_counter()
    autodiffx.grad(module.f)(np.ones(3))
    return time.perf_counter() - start


def main(sizes: list[int]) -> None:
    for statements in sizes:
        print(f"{statements:5d} statements  {transform_seconds(statements):7.2f} s", flush=True)


if __name__ == "__main__":
    main([int(n) for n in sys.argv[1:]] or [100, 200, 600])
