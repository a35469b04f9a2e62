"""``autodiffx check``: the report, the exit status, and the --args syntax."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autodiffx.cli import main
from autodiffx.commands.values import parse_args_expr, parse_wrt

LECTURE = f"{Path(__file__).parent / 'programs' / 'cli_lecture.py'}"


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autodiffx.cli", *argv], capture_output=True,
                          text=True, timeout=60)


def in_process(argv) -> int:
    try:
        return main(list(argv))
    except SystemExit as exit:
        return exit.code


def test_a_correct_gradient_passes_with_status_0():
    result = run("check", f"{LECTURE}:scaled", "--args", "shape:(3,),(3,)", "--wrt", "x,w")
    assert result.returncode == 0, result.stderr
    assert "gradient check passed: 6 entrywise comparisons" in result.stdout
    assert "w[2]" in result.stdout  # the table lists entries of w too, by name


def test_a_gradient_at_a_kink_fails_with_status_1():
    # max(x, 0) at 0: reverse mode sends the whole gradient to x (1), central
    # differences see half of it (0.5).
    result = run("check", f"{LECTURE}:kink", "--args", "0.0")
    assert result.returncode == 1
    assert "gradient check FAILED" in result.stdout
    assert "5.00e-01" in result.stdout
    assert "Traceback" not in result.stderr


def test_forward_mode_and_a_literal_point(capsys):
    status = in_process(["check", f"{LECTURE}:f", "--mode", "forward", "--wrt", "0,1,2",
                         "--args", "(1, 2, 0)"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "(forward mode)" in out and "3 entrywise comparisons" in out


def test_an_error_inside_the_function_is_reported_without_a_traceback():
    result = run("check", f"{LECTURE}:broken", "--mode", "forward", "--args", "[1.0]")
    assert result.returncode == 1
    assert result.stderr.startswith("autodiffx: error: cli_lecture.py:broken raised IndexError")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (("check", f"{LECTURE}:f"), 2, "the following arguments are required: --args"),
        (("check", f"{LECTURE}:f", "--args", "(1.0, {2: 3})"), 2, "is a dict"),
        (("check", f"{LECTURE}:f", "--args", "shape:(3,"), 2, "not a list of shapes"),
        (("check", f"{LECTURE}:f", "--args", "shape:(-1,)"), 2, "is not a shape"),
        (("check", f"{LECTURE}:f", "--args", "([1, 2], [3], 0.0)", "--wrt", "0,0"), 1,
         "names an argument twice"),
        (("check", f"{LECTURE}:f", "--args", "(1.0, 2.0, 0.0)", "--wrt", "q"), 1,
         "wrt names 'q'"),
        (("check", f"{LECTURE}:f", "--args", "(1.0, 2.0, 0.0)", "--mode", "both"), 2,
         "invalid choice"),
        (("check", f"{LECTURE}:f", "--args", "(1.0, 2.0, 0.0)", "--rows", "-2"), 2,
         "must be 0 or more"),
    ],
)
def test_bad_arguments(argv, status, message, capsys):
    assert in_process(argv) == status
    assert message in capsys.readouterr().err


def test_a_bad_argument_end_to_end():
    result = run("check", f"{LECTURE}:f", "--args", "(1.0, 'x', [1, [2]])")
    assert result.returncode == 2
    assert "not a rectangular list of numbers" in result.stderr
    assert "Traceback" not in result.stderr


def test_lists_become_float_arrays_and_numbers_stay():
    args = parse_args_expr("(1, [1, 2], ((1, 2), (3, 4)), 'name', None)")
    assert args[0] == 1 and isinstance(args[0], int)  # e.g. a count for range()
    assert args[1].dtype == np.float64 and args[1].shape == (2,)
    assert args[2].shape == (2, 2)
    assert args[3:] == ("name", None)
    assert parse_args_expr("[1.5]")[0].shape == (1,)  # a list alone is one argument


def test_shapes_give_seeded_random_inputs():
    first = parse_args_expr("shape:(2, 3),()", seed=3)
    again = parse_args_expr("shape:(2, 3),()", seed=3)
    other = parse_args_expr("shape:(2, 3),()", seed=4)
    assert first[0].shape == (2, 3) and isinstance(first[1], float)
    assert np.array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])


def test_the_parser_never_evaluates_code():
    with pytest.raises(argparse.ArgumentTypeError):
        parse_args_expr("__import__('os').getcwd()")


def test_wrt_lists():
    assert parse_wrt("0") == 0
    assert parse_wrt("W, b") == ("W", "b")
    assert parse_wrt("-1,0") == (-1, 0)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_wrt("1.5")
