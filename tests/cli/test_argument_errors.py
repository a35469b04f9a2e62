"""Bad command lines get one paragraph and a non-zero exit, never a traceback: --args that
does not fit the function, a special attribute for FUNC, a very long --args, an export over
an existing file. And ``python -m autodiffx`` is the ``autodiffx`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autodiffx.commands.values import excerpt

PROGRAMS = Path(__file__).parent / "programs"
LECTURE = f"{PROGRAMS / 'cli_lecture.py'}"


def run(*argv: str, module: str = "autodiffx.cli") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *argv], capture_output=True,
                          text=True, timeout=120)


def assert_one_paragraph(result: subprocess.CompletedProcess) -> str:
    """The command failed with a message of a few lines, no traceback; return it."""
    assert result.returncode != 0
    error = result.stderr
    assert error.startswith("autodiffx: error: "), error
    assert "Traceback" not in error
    assert "\n\n" not in error.strip()
    assert len(error.strip().splitlines()) <= 3, error
    return error


# --------------------------------------------------------------------------- too few --args


@pytest.mark.parametrize("command", [
    ["check"], ["graph", "-o", "never.dot"], ["show"], ["show", "--mode", "forward"],
    ["export", "-o", "never_written.py"],
])
def test_too_few_arguments_are_refused_by_every_command(command, tmp_path):
    name, *options = command
    options = [str(tmp_path / o) if o.startswith("never") else o for o in options]
    result = run(name, f"{LECTURE}:scorer", "--args", "shape:(2,3),(2,)", *options)
    error = assert_one_paragraph(result)
    assert "cli_lecture.py:scorer takes 4 arguments (W, b, u, x), but --args gave 2" in error
    assert 'hint: give a tuple with one value per argument' in error
    assert not any(tmp_path.iterdir())  # nothing written


def test_too_many_arguments_are_refused():
    error = assert_one_paragraph(run("show", f"{LECTURE}:f", "--args", "(1.0, 2.0, 0.0, 5.0)"))
    assert "takes 3 arguments (x, y, z), but --args gave 4: (1.0, 2.0, 0.0, 5.0)" in error


def test_optional_and_keyword_only_parameters(tmp_path):
    program = tmp_path / "options.py"
    program.write_text("def scaled(x, factor=2.0):\n    return x * factor\n\n\n"
                       "def keyword(x, *, factor):\n    return x * factor\n")
    error = assert_one_paragraph(run("check", f"{program}:scaled", "--args", "(1.0, 2.0, 3.0)"))
    assert "takes 1 to 2 arguments (x, factor), but --args gave 3" in error
    error = assert_one_paragraph(run("check", f"{program}:keyword", "--args", "1.0"))
    assert "required keyword-only argument(s) factor, which --args cannot give" in error
    result = run("check", f"{program}:scaled", "--args", "1.0")
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- FUNC


@pytest.mark.parametrize("attribute", ["__class__", "__call__", "__code__"])
def test_a_special_attribute_is_not_a_function(attribute):
    error = assert_one_paragraph(run("show", f"{LECTURE}:f.{attribute}"))
    assert f"names the special attribute {attribute}, not a function" in error


# --------------------------------------------------------------------------- check's names


def test_check_names_the_arguments_when_wrt_named_them():
    result = run("check", f"{LECTURE}:scaled", "--args", "shape:(3,),(3,)", "--wrt", "x,w")
    assert result.returncode == 0, result.stderr
    assert "at x[" in result.stdout.splitlines()[1]  # the summary line
    rows = result.stdout.split("rel. error\n", 1)[1]
    assert "w[2]" in rows and "x[0]" in rows
    assert "argument" not in rows


def test_check_keeps_positions_when_wrt_gave_positions():
    result = run("check", f"{LECTURE}:scaled", "--args", "shape:(3,),(3,)", "--wrt", "0,1")
    assert result.returncode == 0, result.stderr
    assert "argument 1[2]" in result.stdout


# --------------------------------------------------------------------------- long --args

LONG = "[" + "1.0, " * 20_000 + "]"  # 100,002 characters


def test_excerpt():
    assert excerpt("(1.0, 2.0)") == "(1.0, 2.0)"
    cut = excerpt(LONG)
    assert len(cut) < 120 and "(100,002 characters)" in cut
    assert cut.startswith("[1.0, 1.0") and cut.endswith("1.0, ]")


def test_a_long_args_is_cut_in_a_refusal():
    error = assert_one_paragraph(run("check", f"{LECTURE}:scorer", "--args", LONG))
    assert "(100,002 characters)" in error
    assert len(error) < 600


def test_a_long_args_that_is_not_a_literal_is_cut():
    result = run("check", f"{LECTURE}:kink", "--args", LONG[:-1])  # no closing bracket
    assert result.returncode == 2
    assert "is not a Python literal" in result.stderr
    assert "(100,001 characters)" in result.stderr
    assert len(result.stderr) < 1500


def test_a_long_args_is_cut_where_check_echoes_it():
    vector = "[" + ", ".join(["0.5"] * 10_000) + "]"
    result = run("check", f"{LECTURE}:scaled", "--args", f"({vector}, {vector})")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("cli_lecture.py:scaled (reverse mode) at --args ([0.5, 0.5")
    assert "characters)" in first and len(first) < 200


# --------------------------------------------------------------------------- export -o


def test_export_does_not_overwrite_without_force(tmp_path):
    output = tmp_path / "lecture_grad.py"
    output.write_text("# mine\n")
    error = assert_one_paragraph(run("export", f"{LECTURE}:f", "-o", str(output)))
    assert f"{output} exists" in error and "--force" in error
    assert output.read_text() == "# mine\n"
    result = run("export", f"{LECTURE}:f", "-o", str(output), "--force")
    assert result.returncode == 0, result.stderr
    assert "def f_grad" in output.read_text()


# --------------------------------------------------------------------------- python -m


def test_python_m_autodiffx_is_the_command():
    argv = ["show", f"{LECTURE}:f", "--wrt", "0,1,2", "--args", "(1.0, 2.0, 0.0)"]
    as_module = run(*argv, module="autodiffx")
    assert as_module.returncode == 0, as_module.stderr
    assert as_module.stdout == run(*argv).stdout
    assert "def f_vjp(x, y, z):" in as_module.stdout
    bare = run(module="autodiffx")
    assert bare.returncode == 2 and bare.stdout.startswith("usage: autodiffx")
    error = assert_one_paragraph(run("show", f"{LECTURE}:f", "--args", "1.0", module="autodiffx"))
    assert "takes 3 arguments" in error
