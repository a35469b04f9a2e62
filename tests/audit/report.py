"""Run the namespace audit and write its table.

    python -m tests.audit.report [path]       # default path: audit_report.md in the cwd

Prints the counts per outcome per mode and every outcome that is not allowed, and writes the
full table (one row per callable: family, forward outcome, reverse outcome) to ``path``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from . import makers
from .outcomes import ALLOWED, MODES, counts, run_all, table


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0] if argv else "audit_report.md")
    start = time.perf_counter()
    programs, missing = makers.make_all()
    with tempfile.TemporaryDirectory() as folder:
        makers.load(folder, programs)
        outcomes = run_all(programs)
    elapsed = time.perf_counter() - start
    from .test_namespace import KNOWN_OPEN

    print(f"{len(programs) + len(missing)} callables, {len(programs)} with a program, "
          f"{len(missing)} without a maker; {elapsed:.1f} s")
    for mode, counter in counts(missing, outcomes).items():
        print(f"  {mode:8s}", ", ".join(f"{k} {v}" for k, v in sorted(counter.items())))
    bad = 0
    for (name, mode), outcome in sorted(outcomes.items()):
        if outcome.status not in ALLOWED:
            bad += 1
            known = "known open" if mode in KNOWN_OPEN.get(name, {}) else "NEW"
            print(f"  [{known}] {name} {mode}: {outcome}")
    for name, modes in sorted(KNOWN_OPEN.items()):
        for mode in modes:
            if mode in MODES and (name, mode) in outcomes and outcomes[
                    name, mode].status in ALLOWED:
                print(f"  [fixed, remove from KNOWN_OPEN] {name} {mode}")
    for line in makers.REJECTED:
        print(f"  automatic variant NumPy refuses (not run): {line}")
    path.write_text("# Namespace audit\n\n" + table(programs, missing, outcomes))
    print(f"table written to {path}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
