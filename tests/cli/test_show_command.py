"""``autodiffx show``: generated code, colours, the forward-mode explanation, bad input."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from autodiffx.cli import main

PROGRAMS = Path(__file__).parent / "programs"
LECTURE = f"{PROGRAMS / 'cli_lecture.py'}"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autodiffx.cli", *argv], capture_output=True,
                          text=True, timeout=60, cwd=cwd)


def in_process(argv) -> int:
    try:
        return main(list(argv))
    except SystemExit as exit:
        return exit.code


def test_prints_runnable_reverse_code_for_the_lecture_example():
    result = run("show", f"{LECTURE}:f", "--wrt", "0,1,2", "--args", "(1.0, 2.0, 0.0)")
    assert result.returncode == 0, result.stderr
    assert not ANSI.search(result.stdout)  # piped: plain text
    namespace: dict = {}
    exec(compile(result.stdout, "<shown>", "exec"), namespace)
    value, pullback = namespace["f_vjp"](1.0, 2.0, 0.0)
    assert value == 6.0
    assert tuple(float(g) for g in pullback(1.0)) == (2.0, 5.0, 0.0)


def test_colours_on_request_and_only_add_escape_codes():
    argv = ("show", f"{LECTURE}:scorer", "--wrt", "W,b,u,x", "--args",
            "shape:(2, 3),(2,),(2,),(3,)")
    coloured = run(*argv, "--color", "always")
    plain = run(*argv, "--color", "never")
    assert coloured.returncode == plain.returncode == 0, coloured.stderr + plain.stderr
    assert ANSI.search(coloured.stdout)
    assert ANSI.sub("", coloured.stdout) == plain.stdout
    assert "def scorer_vjp(W, b, u, x)" in plain.stdout


def test_forward_mode_explains_passes_instead_of_printing_code():
    result = run("show", f"{LECTURE}:scorer", "--mode", "forward", "--wrt", "W,b",
                 "--args", "shape:(2, 3),(2,),(2,),(3,)")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "generates no code" in text
    assert "n = 8 input entries" in text  # W has 6 entries, b 2
    assert "1 evaluation(s)" in text


BAD = [
    (("show", "missing.py:f"), 1, "no such file: missing.py"),
    (("show", f"{LECTURE}:nothing"), 1, "has no function 'nothing'"),
    (("show", f"{LECTURE}"), 1, "expected FILE.py:FUNC"),
    (("show", f"{LECTURE}:f", "--wrt", "7"), 1, "wrt=7 is out of range"),
    (("show", f"{LECTURE}:f", "--wrt", "x,,z"), 2, "argument --wrt"),
    (("show", f"{LECTURE}:f", "--mode", "sideways"), 2, "invalid choice: 'sideways'"),
    (("show", f"{LECTURE}:f", "--args", "[1, 2"), 2, "is not a Python literal"),
]


@pytest.mark.parametrize(("argv", "status", "message"), [BAD[0], BAD[4]])
def test_bad_arguments_give_a_message_and_no_traceback(argv, status, message):
    result = run(*argv)
    assert result.returncode == status
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if status == 1:
        assert result.stderr.startswith("autodiffx: error: ")


@pytest.mark.parametrize(("argv", "status", "message"), BAD)
def test_bad_arguments_in_process(argv, status, message, capsys):
    # The same entry point as the subprocess runs, without starting Python each time.
    assert in_process(argv) == status
    assert message in capsys.readouterr().err


def test_a_syntax_error_in_the_file_names_the_line(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import numpy as np\n\ndef f(x):\n    return np.sum(x +)\n")
    result = run("show", f"{broken}:f")
    assert result.returncode == 1
    assert "syntax error" in result.stderr
    assert f"{broken}:4" in result.stderr
    assert "Traceback" not in result.stderr


def test_help():
    result = run("show", "--help")
    assert result.returncode == 0
    assert "--wrt" in result.stdout and "--args" in result.stdout
