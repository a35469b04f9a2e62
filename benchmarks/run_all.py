"""Every benchmark, each in a fresh process, with the default allocator and a steady one.

A fresh process is what a user runs. glibc's allocator returns freed memory to the kernel
after each call, so the next call pays page faults for its temporaries again; the *steady*
runs set ``GLIBC_TUNABLES`` so that freed memory stays with the process (no trimming, no
``mmap`` for large arrays), which shows how much of a figure is page faults. One BLAS thread
throughout. The header names the machine, NumPy and the BLAS library (threadpoolctl, when
installed: ``pip install ".[bench]"``).

    python benchmarks/run_all.py                 # everything, both allocators
    python benchmarks/run_all.py reverse peers   # the named benchmarks only
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["reverse", "peers", "forward_jvp", "guards", "transform", "loops", "hvp"]
STEADY = ("glibc.malloc.trim_threshold=4294967295:glibc.malloc.mmap_threshold=4294967295:"
          "glibc.malloc.top_pad=268435456")


def machine() -> list[str]:
    lines = [f"python {platform.python_version()} on {platform.system()} {platform.machine()}"]
    try:
        model = next(line.split(":", 1)[1].strip()
                     for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        lines.append(f"cpu: {model}, {os.cpu_count()} logical cores")
    except (OSError, StopIteration):
        lines.append(f"cpu: {platform.processor() or 'unknown'}, {os.cpu_count()} cores")
    import numpy as np

    lines.append(f"numpy {np.__version__}")
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                lines.append(f"blas: {pool.get('internal_api')} {pool.get('version')} "
                             f"({pool.get('architecture')}), "
                             f"{pool.get('num_threads')} thread(s) at startup")
    except ImportError:
        lines.append("blas: install threadpoolctl to name it")
    return lines


def run(name: str, allocator: str) -> int:
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if allocator == "steady":
        environment["GLIBC_TUNABLES"] = STEADY
    print(f"\n## {name}, {allocator} allocator", flush=True)
    return subprocess.call([sys.executable, str(HERE / f"bench_{name}.py")], env=environment)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"some of: {', '.join(BENCHMARKS)} (default: all)")
    names = parser.parse_args(argv).names or BENCHMARKS
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(BENCHMARKS)}")
    print("\n".join(machine()))
    failed = [f"{name} ({allocator})" for name in names
              for allocator in ("default", "steady") if run(name, allocator) != 0]
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
