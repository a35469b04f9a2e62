"""``autodiffx ner``: the comparison's numbers, and the command end to end."""

from __future__ import annotations

import csv
import subprocess
import sys
import time

import numpy as np
import pytest

from autodiffx.ner import compare

EXACT = ("reverse", "forward-chunked", "forward-single")


@pytest.fixture(scope="module")
def rows():
    params = compare.random_params(d=3, hidden=6, batch=2, seed=4)
    return {r.method: r for r in compare.compare_methods(params, min_time=0.001, sample=6)}


@pytest.mark.parametrize("method", EXACT)
def test_automatic_gradients_equal_the_hand_derivation(rows, method):
    assert rows[method].max_error < 1e-10


def test_central_differences_agree_to_their_own_accuracy(rows):
    # A central difference with h = 1e-5 is accurate to about h² ≈ 1e-10 times the third
    # derivative plus rounding of about 1e-16 / h ≈ 1e-11: far from exact.
    assert rows["central"].max_error < 1e-6


def test_passes_follow_the_number_of_inputs(rows):
    total = 6 * 15 + 6 + 6 + 2 * 15 * 2  # W (6 × 5d), b, u, X and X_c (5d × 2) at d = 3
    assert rows[compare.BASELINE].note == f"n = {total} inputs"
    assert rows["reverse"].passes == 1
    assert rows["forward-single"].passes == total
    assert rows["central"].passes == 2 * total
    assert rows["forward-single"].extrapolated and rows["central"].extrapolated
    assert not rows["reverse"].extrapolated


def test_forward_mode_costs_more_operations_than_reverse_mode(rows):
    assert rows["forward-chunked"].flops > 10 * rows["reverse"].flops


def test_the_output_sweep_agrees_between_modes():
    result = compare.sweep_outputs([1, 3], d=2, hidden=4, min_time=0.001)
    assert all(r["max_difference"] < 1e-12 for r in result)
    assert {r["passes"] for r in result if r["method"] == "reverse"} == {1, 3}


def test_crossover_is_the_first_count_where_reverse_is_slower():
    fake = [
        {"windows": 1, "method": "forward", "seconds": 2.0},
        {"windows": 1, "method": "reverse", "seconds": 1.0},
        {"windows": 4, "method": "forward", "seconds": 2.0},
        {"windows": 4, "method": "reverse", "seconds": 3.0},
    ]
    assert compare.crossover(fake) == 4
    assert compare.crossover(fake[:2]) is None
    # reverse slower at m = 1 by chance, faster at 2: the crossover is where it stays slower
    noisy = [{"windows": 1, "method": "reverse", "seconds": 2.1},
             {"windows": 1, "method": "forward", "seconds": 2.0},
             {"windows": 2, "method": "reverse", "seconds": 1.9},
             {"windows": 2, "method": "forward", "seconds": 2.0}, *fake[2:]]
    assert compare.crossover(noisy) == 4


def test_each_repeat_of_the_output_sweep_gives_its_own_crossover():
    fake = [
        {"windows": 1, "method": "forward", "repeat_seconds": "2 2 2"},
        {"windows": 1, "method": "reverse", "repeat_seconds": "1 3 1"},
        {"windows": 4, "method": "forward", "repeat_seconds": "2 2 2"},
        {"windows": 4, "method": "reverse", "repeat_seconds": "3 3 1"},
    ]
    assert compare.crossovers(fake) == [4, 1, None]
    result = compare.sweep_outputs([1, 2], d=2, hidden=4, min_time=0.001, repeats=2)
    for row in result:
        repeats = [float(s) for s in row["repeat_seconds"].split()]
        assert len(repeats) == 2 and row["seconds"] == pytest.approx(min(repeats), rel=1e-3)
    assert len(compare.crossovers(result)) == 2


def test_a_slow_first_call_does_not_decide_the_timing():
    calls = []

    def function():
        calls.append(None)
        if len(calls) == 2:  # the first timed call meets a pause of the machine
            time.sleep(0.05)

    assert compare.timed(function, min_time=0.0) < 0.01
    assert len(calls) == 1 + compare.ROUNDS


def run(*arguments, cwd):
    return subprocess.run(
        [sys.executable, "-m", "autodiffx.cli", *arguments],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )


def test_quick_run_writes_its_csv_files(tmp_path):
    out = tmp_path / "out"
    result = run("ner", "--quick", "--d", "2", "--hidden", "4", "--epochs", "1",
                 "--sizes", "1,2", "--windows", "1,2", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "crossover" in result.stdout and "held-out split" in result.stdout
    with (out / "methods.csv").open() as handle:
        methods = {row["method"]: row for row in csv.DictReader(handle)}
    assert set(compare.METHODS) <= set(methods)
    assert float(methods["reverse"]["max_error"]) < 1e-10
    assert (out / "sweep_inputs.csv").exists() and (out / "sweep_outputs.csv").exists()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["ner", "--methods", "magic"], "unknown method"),
        (["ner", "--sizes", "a,b"], "comma-separated integers"),
        (["ner", "--d", "0"], "must be 1 or more"),
        (["ner", "--batch", "x"], "expected an integer"),
        (["ner", "--optimiser", "lbfgs"], "invalid choice"),
    ],
)
def test_bad_arguments_get_a_message_not_a_traceback(tmp_path, arguments, message):
    result = run(*arguments, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_help_describes_every_option(tmp_path):
    result = run("ner", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in ("--quick", "--d", "--hidden", "--seed", "--out", "--methods", "--sizes"):
        assert option in result.stdout


def test_flop_counts_scale_as_expected():
    from autodiffx.cost import count_flops

    W, x = np.ones((3, 4)), np.ones(4)
    assert count_flops(lambda W, x: W @ x, W, x).total == 2 * 3 * 4
    assert count_flops(lambda x: np.tanh(x).sum(), x).total == 4 + 4
