"""Run the widened fuzzer from the command line, for long runs.

    .venv/bin/python tests/fuzz/run_many.py --count 20000 --seed 7

prints the outcome counts per check, the refusal table per construct and input kind, and,
for every failure class (the constructs and inputs a failing program shrinks to), one shrunk
program and its error; then the source of every failing program of a class not in
``regressions.KNOWN_OPEN`` (``--all`` prints those of known classes too). The exit status
is 1 when a failure of an unknown class was found.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fuzz import harness  # noqa: E402
from tests.fuzz.regressions import KNOWN_OPEN  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="programs to check")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed")
    parser.add_argument("--all", action="store_true",
                        help="also print the source of every failing program of a known class")
    parser.add_argument("--shrink", type=int, default=3,
                        help="failures shrunk per check and kind (x10)")
    options = parser.parse_args(argv)

    warnings.simplefilter("ignore")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="autodiffx-fuzz-") as folder:

        def progress(index: int) -> None:
            if (index + 1) % 1000 == 0:
                print(f"... {index + 1} programs, {time.perf_counter() - start:.0f} s",
                      file=sys.stderr, flush=True)

        run = harness.run_and_report(options.seed, options.count, Path(folder), KNOWN_OPEN,
                                     shrink_limit=options.shrink, progress=progress)
        elapsed = time.perf_counter() - start
        print(f"seed {options.seed}, {options.count} programs in {elapsed:.1f} s")
        print(harness.summary(run))
        print()
        print(harness.refusal_table(run))
        print()
        print("failure classes (one shrunk program each):")
        print(harness.failure_report(run) or "none")
        new = [f for f in run.failures if not f.known]
        shown = run.failures if options.all else new
        if shown:
            print()
            print(f"every failing program{'' if options.all else ' of a new class'}:")
            for failure in shown:
                state = "known open" if failure.known else "NEW"
                print(f"--- [{state}] {failure.outcome.kind} in {failure.outcome.check}, "
                      f"class {failure.klass}, index {failure.program.index}, "
                      f"inputs {failure.program.inputs}, wrt={failure.program.wrt}")
                print(failure.outcome.detail.rstrip())
                print(failure.program.source)
        print(f"{len(run.failures)} failing checks, {len(new)} of classes not known open")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
