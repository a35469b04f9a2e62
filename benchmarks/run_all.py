"""Every benchmark, each in a fresh process, with the default allocator and a steady one.

A fresh process is what a user runs. glibc's allocator returns freed memory to the kernel
after each call, so the next call pays page faults for its temporaries again; the *steady*
runs set ``GLIBC_TUNABLES`` so that freed memory stays with the process (no trimming, no
``mmap`` for large arrays), which shows how much of a figure is page faults. One BLAS thread
throughout (OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and OMP_NUM_THREADS are set to 1 for the
benchmarks). The header names the machine, its load, the commit measured (and whether the
work tree differs from it), NumPy, the BLAS library and kernel NumPy runs (threadpoolctl,
in the ``bench`` extra: ``pip install ".[bench]"``) and the peers installed.

    python benchmarks/run_all.py                       # everything, both allocators
    python benchmarks/run_all.py reverse peers         # the named benchmarks only
    python benchmarks/run_all.py --allocator steady    # one allocator only
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["reverse", "peers", "memory", "forward_jvp", "forward_floor", "dispatch", "guards",
         "transform", "loops", "hvp"]
BENCHMARKS = ORDER + sorted({path.stem.removeprefix("bench_") for path in HERE.glob("bench_*.py")}
                            - set(ORDER))
"""Every ``bench_*.py`` beside this file: the known ones in a sensible order, any other
after them, so that a new benchmark is never left out."""
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
STEADY = ("glibc.malloc.trim_threshold=4294967295:glibc.malloc.mmap_threshold=4294967295:"
          "glibc.malloc.top_pad=268435456")
PEERS = ("autograd", "jax", "torch")


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine() -> list[str]:
    """The header's lines. Call it with ONE_THREAD in the environment and before NumPy is
    imported, so that the BLAS it names runs as the benchmarks' does."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"{now}; python {platform.python_version()} on {platform.system()} "
             f"{platform.release()} {platform.machine()}, host {platform.node()}"]
    try:
        model = next(line.split(":", 1)[1].strip()
                     for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    lines.append(f"cpu: {model}, {os.cpu_count()} logical cores; load average {load}")
    commit = git("rev-parse", "--short", "HEAD")
    if commit:
        changed = [line for line in git("status", "--porcelain", "--", "autodiffx").splitlines()
                   if line]
        state = (f", work tree differs in {len(changed)} file(s) of autodiffx/ (measured as is)"
                 if changed else ", autodiffx/ as committed")
        lines.append(f"autodiffx at commit {commit}{state}")
    import numpy as np

    lines.append(f"numpy {np.__version__}")
    blas_variables = {key: value for key, value in os.environ.items()
                      if key.startswith(("OPENBLAS_", "MKL_", "OMP_"))}
    lines.append("environment: " + ", ".join(f"{key}={value}"
                                             for key, value in sorted(blas_variables.items())))
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        lines.append('blas: unnamed (threadpoolctl is not installed: pip install ".[bench]")')
    else:
        pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
        for pool in pools:
            lines.append(f"blas: {pool.get('internal_api')} {pool.get('version')}, "
                         f"{pool.get('architecture')} kernel, {pool.get('num_threads')} "
                         f"thread(s), {pool.get('filepath')}")
        if not pools:
            lines.append("blas: threadpoolctl found no BLAS library loaded by NumPy")
    peers = []
    for name in PEERS:
        try:
            peers.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            peers.append(f"{name} not installed")
    lines.append(f"peers (bench_peers.py): {', '.join(peers)}")
    return lines


def run(name: str, allocator: str) -> int:
    environment = dict(os.environ, **ONE_THREAD)
    environment.pop("GLIBC_TUNABLES", None)
    if allocator == "steady":
        environment["GLIBC_TUNABLES"] = STEADY
    print(f"\n## {name}, {allocator} allocator", flush=True)
    start = time.perf_counter()
    code = subprocess.call([sys.executable, str(HERE / f"bench_{name}.py")], env=environment)
    print(f"({time.perf_counter() - start:.0f} s{'' if code == 0 else f', exit code {code}'})",
          flush=True)
    return code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"some of: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--allocator", choices=("both", "default", "steady"), default="both")
    args = parser.parse_args(argv)
    names = args.names or BENCHMARKS
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(BENCHMARKS)}")
    allocators = ("default", "steady") if args.allocator == "both" else (args.allocator,)
    os.environ.update(ONE_THREAD)  # before NumPy loads its BLAS, for the header
    print("\n".join(machine()), flush=True)
    failed = [f"{name} ({allocator})" for name in names
              for allocator in allocators if run(name, allocator) != 0]
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
