"""Run the peer's (HIPS autograd's) gradient tests against autodiffx, in each mode.

The peer's source distribution is unpacked into a temporary directory (downloaded with pip
if it is not at ``--sdist``), and its ``tests/`` run under pytest with the shim of
``shim/`` first on the path: the peer's import name resolves to plain NumPy and SciPy plus
autodiffx's transforms in the selected mode, and its ``check_grads`` to a checker against
central differences (see ``shim/peer_harness/checker.py``). Every case lands in a JSON-lines
file; this script then prints (and with ``--write`` saves) the summary.

    .venv/bin/python benchmarks/peer_suite/run.py --write benchmarks/peer_suite/README.md

Nothing of the peer's is kept in this repository: its files live only in the temporary
directory of the run.
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scope import OUT_OF_SCOPE_FILES, OUT_OF_SCOPE_TESTS  # noqa: E402 (path set above)

PEER = "autograd==1.7.0"
DEFAULT_SDIST = Path(tempfile.gettempdir()) / "ag_sdist" / "autograd-1.7.0.tar.gz"
OUTCOMES = ("PASS", "REFUSED", "WRONG", "CRASH", "OUT_OF_SCOPE")


def fetch(sdist: Path) -> Path:
    if sdist.exists():
        return sdist
    sdist.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", PEER,
         "-d", str(sdist.parent)],
        check=True,
    )
    return sdist


def unpack(sdist: Path, into: Path) -> Path:
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    (tests,) = into.glob("*/tests")
    return tests


def test_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test")]


def run_mode(mode: str, tests: Path, workdir: Path, files: list[str]) -> list[dict]:
    results = workdir / f"results-{mode}.jsonl"
    results.unlink(missing_ok=True)
    environment = {key: value for key, value in os.environ.items() if key != "CI"}
    environment.update(
        AUTODIFFX_PEER_MODE=mode,
        AUTODIFFX_PEER_RESULTS=str(results),
        AUTODIFFX_PEER_WORKDIR=str(workdir / mode),
        # the autodiffx of the checkout this script lives in, whatever the venv installed
        PYTHONPATH=os.pathsep.join([str(HERE / "shim"), str(tests), str(HERE.parents[1])]),
        PYTHONHASHSEED="0",
    )
    deselect = []
    for (name, test) in OUT_OF_SCOPE_TESTS:
        deselect += ["--deselect", f"{name}::{test}"]
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-p",
        "peer_harness.plugin", "--rootdir", str(tests), "-o", "addopts=", "--tb=no",
        "-W", "ignore", *deselect, *files,
    ]
    subprocess.run(command, cwd=tests, env=environment, check=False)
    return [json.loads(line) for line in results.read_text().splitlines()]


def cases_of(entries: list[dict]) -> list[dict]:
    """One case per check_grads call; a test's own outcome is a case when it made none or
    failed outside them."""
    cases = []
    for entry in entries:
        for case in entry["cases"]:
            cases.append({**case, "file": entry["file"], "test": entry["test"]})
        if not entry["cases"] or entry["test_outcome"] != "PASS":
            cases.append({
                "file": entry["file"], "test": entry["test"], "function": "(test body)",
                "inputs": "", "outcome": entry["test_outcome"],
                "error": entry.get("error", ""), "message": entry.get("message", ""),
            })
    return cases


def out_of_scope_cases(tests: Path, files: list[str]) -> list[dict]:
    cases = []
    for name in files:
        reason = OUT_OF_SCOPE_FILES.get(name)
        for test in test_functions(tests / name):
            why = reason or OUT_OF_SCOPE_TESTS.get((name, test))
            if why:
                cases.append({"file": name, "test": test, "function": "(not run)",
                              "inputs": "", "outcome": "OUT_OF_SCOPE", "message": why})
    return cases


INTRODUCTION = """\
How much of a peer's gradient test suite autodiffx passes, in each mode. The peer is HIPS
autograd 1.7.0: `run.py` unpacks its source distribution into a temporary directory and runs
its `tests/` under pytest, with `shim/` standing in for the package the tests import. Its
NumPy and SciPy names are plain NumPy and SciPy; its `grad`, `jacobian`, `hessian`,
`make_vjp` and the rest are autodiffx's transforms in the mode measured; its `check_grads`
is our checker (`shim/peer_harness/checker.py`), which compares autodiffx's gradient of a
random real projection of the output (and, for order 2, forward mode over that gradient)
with central differences, in autodiffx's complex convention. None of the peer's files are
kept in this repository.

A case is one `check_grads` call (one function at one set of inputs), or a test's own
assertions when it makes no such call or fails outside one. Outcomes:

- PASS: autodiffx's derivatives agree with central differences (or the test's assertions
  hold, with the peer's complex convention translated to ours where a test compares values);
- REFUSED: autodiffx raised one of its own errors (an `AutodiffError`), named below;
- WRONG: a derivative disagrees with central differences, or a test's assertion fails;
- CRASH: any other exception raised while autodiffx differentiated;
- out of scope: the test exercises the peer's own machinery, or calls a function the peer
  has and NumPy/SciPy do not (listed at the end of each mode, with the reason).

A test that expects the peer to refuse (`pytest.raises` around `check_grads`) passes when
autodiffx refuses with an error of that type, or when its gradient agrees with differences.
"""


HISTORY = """\
## Earlier measurements

| autodiffx | forward PASS | reverse PASS | WRONG | CRASH |
|---|---:|---:|---:|---:|
| 2b354f0 (first run) | 1882 of 2277 (82.7%) | 1499 of 2277 (65.8%) | 0, 0 | 1, 1 |

Between the first run and the one below, the rules the suite found missing were added
(scipy.special's gamma, beta and Bessel families, erfinv, erfcinv, multigammaln;
scipy.signal.convolve; scipy.stats.norm's six functions; Python's operator functions as
values; np.diff of any order; the dtype and casting of np.vstack and np.row_stack;
np.clip's bounds by keyword), logsumexp of a 0-d input stopped crashing, and reverse mode
learned complex numbers (another change). The harness also
stopped counting a SciPy call that fails without any derivative (convolve's `axes`) as a
crash of autodiffx's.
"""


def summarise(mode_cases: dict[str, list[dict]], command: str, measured: str) -> str:
    lines = [
        "# Peer suite: HIPS autograd's gradient tests run against autodiffx",
        "",
        INTRODUCTION,
        "Reproduce with (from the repository root; `CI` unset):",
        "",
        "```",
        command,
        "```",
        "",
        f"Measured: {measured}.",
        "",
    ]
    for mode, cases in mode_cases.items():
        lines += _mode_section(mode, cases)
    lines.append(HISTORY)
    return "\n".join(lines).rstrip("\n") + "\n"


def _percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def _mode_section(mode: str, cases: list[dict]) -> list[str]:
    per_file = collections.defaultdict(collections.Counter)
    for case in cases:
        per_file[case["file"]][case["outcome"]] += 1
    total = collections.Counter(case["outcome"] for case in cases)
    everything = sum(total.values())
    in_scope = everything - total["OUT_OF_SCOPE"]
    lines = [
        f"## Mode: {mode}",
        "",
        f"PASS {total['PASS']} of {everything} cases ({_percent(total['PASS'], everything)} of "
        f"all; {_percent(total['PASS'], in_scope)} of the {in_scope} in scope). "
        f"REFUSED {total['REFUSED']}, WRONG {total['WRONG']}, CRASH {total['CRASH']}, "
        f"out of scope {total['OUT_OF_SCOPE']}.",
        "",
        "| file | PASS | REFUSED | WRONG | CRASH | out of scope | total |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in sorted(per_file):
        counts = per_file[name]
        row = " | ".join(str(counts[outcome]) for outcome in OUTCOMES)
        lines.append(f"| {name} | {row} | {sum(counts.values())} |")
    row = " | ".join(str(total[outcome]) for outcome in OUTCOMES)
    lines += [f"| **all** | {row} | {everything} |", ""]
    lines += _grouped(cases, "REFUSED", "Refusals, grouped by error")
    for outcome in ("WRONG", "CRASH"):
        lines += _listed(cases, outcome)
    lines += _grouped(cases, "OUT_OF_SCOPE", "Out of scope, grouped by reason")
    return lines


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0][:200] if (text or "").strip() else ""


def _grouped(cases: list[dict], outcome: str, title: str) -> list[str]:
    groups = collections.defaultdict(list)
    for case in cases:
        if case["outcome"] == outcome:
            order = case.get("order")
            stage = {0: "in the function itself", 2: "at second order"}.get(order, "")
            key = (case.get("error", ""), _first_line(case.get("message", "")), stage)
            groups[key].append(case)
    if not groups:
        return []
    lines = [f"### {title}", ""]
    for (error, message, stage), members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        where = sorted({f"{c['file']}::{c['test']}" for c in members})
        shown = ", ".join(where[:6]) + (f", … ({len(where) - 6} more)" if len(where) > 6 else "")
        label = (f"({stage}) " if stage else "") + (f"{error}: " if error else "")
        lines.append(f"- **{len(members)}** × {label}{message}  \n  in {shown}")
    return lines + [""]


def _listed(cases: list[dict], outcome: str) -> list[str]:
    chosen = [case for case in cases if case["outcome"] == outcome]
    if not chosen:
        return []
    lines = [f"### Every {outcome}", ""]
    for case in chosen:
        detail = case.get("error") or ""
        if "analytic" in case:
            detail = (f"order {case['order']}: analytic {case['analytic']:.6g}, "
                      f"numeric {case['numeric']:.6g}")
        message = _first_line(case.get("message", ""))
        lines.append(f"- {case['file']}::{case['test']}: `{case['function']}`"
                     f"({case['inputs']}) argnum={case.get('argnum', '')} — {detail}"
                     + (f": {message}" if message else ""))
    return lines + [""]


def _measured() -> str:
    root = HERE.parents[1]
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "autodiffx"],
                           capture_output=True, text=True).stdout.strip()
    state = "with uncommitted changes to autodiffx/" if dirty else "autodiffx/ as committed"
    return f"autodiffx at commit {commit or 'unknown'}, {state}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, default=DEFAULT_SDIST,
                        help=f"the peer's source distribution (default {DEFAULT_SDIST})")
    parser.add_argument("--mode", choices=("forward", "reverse", "both"), default="both")
    parser.add_argument("--files", nargs="*", help="only these test files (e.g. test_fft.py)")
    parser.add_argument("--write", type=Path, help="save the summary as Markdown here")
    parser.add_argument("--json", type=Path, help="save every case as JSON here")
    options = parser.parse_args(argv)

    modes = ("forward", "reverse") if options.mode == "both" else (options.mode,)
    with tempfile.TemporaryDirectory(prefix="peer-suite-") as scratch:
        workdir = Path(scratch)
        tests = unpack(fetch(options.sdist), workdir)
        files = options.files or sorted(p.name for p in tests.glob("test_*.py"))
        runnable = [name for name in files if name not in OUT_OF_SCOPE_FILES]
        mode_cases = {}
        for mode in modes:
            entries = run_mode(mode, tests, workdir, runnable)
            mode_cases[mode] = cases_of(entries) + out_of_scope_cases(tests, files)
    shown = list(argv if argv is not None else sys.argv[1:])
    if "--json" in shown:  # where the raw cases went is not part of the result
        del shown[shown.index("--json"):shown.index("--json") + 2]
    command = ".venv/bin/python benchmarks/peer_suite/run.py " + " ".join(shown)
    summary = summarise(mode_cases, command.strip(), _measured())
    print(summary)
    if options.write:
        options.write.write_text(summary)
    if options.json:
        options.json.write_text(json.dumps(mode_cases, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
