"""``autodiffx graph``: the lecture's diagram, gradients of every node, and the outputs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.cli import main
from autodiffx.computation_graph import trace

PROGRAMS = Path(__file__).parent / "programs"
LECTURE = f"{PROGRAMS / 'cli_lecture.py'}"
sys.path.insert(0, str(PROGRAMS))
import cli_lecture  # noqa: E402 - importable only once its folder is on sys.path

EDGE = re.compile(r'(n\d+) -> (\w+) \[label=<<font color="darkgreen">([^<]*)</font>'
                  r'(?:<br/><font color="red">([^<]*)</font>)?>')


def run(*argv: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autodiffx.cli", *argv], capture_output=True,
                          text=True, timeout=60, env=env)


def edges(dot: str) -> dict[str, list[tuple[str, str]]]:
    """Edge labels by forward value text: (gradient text, target) pairs."""
    found: dict[str, list[tuple[str, str]]] = {}
    for _, target, value, gradient in EDGE.findall(dot):
        found.setdefault(value, []).append((gradient, target))
    return found


def test_the_lecture_example_shows_its_values_and_gradients(tmp_path):
    output = tmp_path / "lecture.dot"
    result = run("graph", f"{LECTURE}:f", "--args", "(1.0, 2.0, 0.0)", "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert "df/dx = 2" in result.stdout and "df/dy = 5" in result.stdout
    assert "df/dz = 0" in result.stdout
    dot = output.read_text()
    labels = edges(dot)
    # Forward: a = x + y = 3, b = max(y, z) = 2, f = a * b = 6.
    # Backward: * switches (a gets b = 2, b gets a = 3); max routes to y; + passes on.
    assert [g for g, _ in labels["a = 3"]] == ["2"]
    assert [g for g, _ in labels["b = 2"]] == ["3"]
    assert [g for g, _ in labels["f = 6"]] == ["1"]
    assert sorted(g for g, _ in labels["2"]) == ["2", "3"]  # y's two branches
    assert [g for g, _ in labels["0"]] == ["0"]  # z loses the max
    for name, total in (("x", "2"), ("y", "5"), ("z", "0")):
        assert f'<b>{name}</b><br/><font color="red">{total}</font>' in dot
    assert dot.count("shape=circle") == 3  # +, max, *: one node per operation


def test_integer_arguments_stay_constants_unless_named_in_wrt(capsys, tmp_path):
    # power(x, n) recurses on the count n; only x is an input of the graph.
    output = str(tmp_path / "power.dot")
    assert main(["graph", f"{LECTURE}:power", "--args", "(2.0, 3)", "-o", output]) == 0
    out = capsys.readouterr().out
    assert "3 operation(s)" in out and "dpower/dx = 12" in out and "/dn" not in out
    # With n an input too, each n - 1 is an operation: three of them and three products.
    graph = trace(cli_lecture.power, 2.0, 3.0, wrt=(0, 1))
    assert sum(n.kind == "operation" for n in graph.nodes) == 6
    assert graph.gradients == (12.0, 0.0)


def test_gradients_of_the_scorer_equal_reverse_mode(capsys):
    rng = np.random.default_rng(3)
    args = (rng.standard_normal((4, 3)), rng.standard_normal(4), rng.standard_normal(4),
            rng.standard_normal(3))
    graph = trace(cli_lecture.scorer, *args)
    expected = autodiffx.grad(cli_lecture.scorer, wrt=(0, 1, 2, 3))(*args)
    for got, want in zip(graph.gradients, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    names = {node.name for node in graph.nodes if node.kind == "operation"}
    assert {"z", "h"} <= names  # intermediate values keep the user's variable names


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=2, max_size=6), st.floats(0.1, 2))
def test_every_input_gradient_matches_central_differences(values, w_scale):
    x = np.array(values)
    assume(np.linalg.norm(x) > 0.1)  # the norm has a kink at the origin
    w = np.linspace(-1, 1, len(values)) * w_scale
    graph = trace(cli_lecture.scaled, x, w)
    step = 1e-6
    for index, argument in enumerate((x, w)):
        numeric = []
        for e in np.eye(len(values)):
            plus = [x, w]
            minus = [x, w]
            plus[index] = argument + step * e
            minus[index] = argument - step * e
            numeric.append((cli_lecture.scaled(*plus) - cli_lecture.scaled(*minus)) / (2 * step))
        np.testing.assert_allclose(graph.gradients[index], numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_svg_through_graphviz(tmp_path):
    output = tmp_path / "lecture.svg"
    assert main(["graph", f"{LECTURE}:f", "--args", "(1.0, 2.0, 0.0)", "-o", str(output)]) == 0
    svg = output.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert ">a = 3<" in svg and ">b = 2<" in svg


def test_without_graphviz_the_dot_file_is_written_and_the_install_explained(tmp_path):
    # A PATH holding only this Python's folder: no dot program on it.
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    if shutil.which("dot", path=env["PATH"]):
        pytest.skip("dot sits next to this Python")
    result = run("graph", f"{LECTURE}:f", "--args", "(1.0, 2.0, 0.0)", "-o",
                 str(tmp_path / "lecture.svg"), env=env)
    assert result.returncode == 0, result.stderr
    assert "Install Graphviz" in result.stderr
    assert not (tmp_path / "lecture.svg").exists()
    assert "digraph computation" in (tmp_path / "lecture.dot").read_text()


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (("graph", f"{LECTURE}:f", "-o", "x.dot"), 2, "required: --args"),
        (("graph", f"{LECTURE}:f", "--args", "(1.0, 2.0, 0.0)", "-o", "x.pdf"), 2,
         "must end in .svg, .png, .dot"),
        (("graph", f"{LECTURE}:f", "--args", "(1.0, 2.0, 0.0)", "-o",
          "/no/such/folder/x.dot"), 1, "cannot write /no/such/folder/x.dot"),
        (("graph", f"{LECTURE}:constant", "--args", "1.0", "-o", "x.dot"), 1,
         "does not depend on its numeric arguments"),
        (("graph", f"{LECTURE}:f", "--args", "('a', 'b', 'c')", "-o", "x.dot"), 1,
         "cli_lecture.py:f raised TypeError"),
        (("graph", "nowhere.py:f", "--args", "1.0", "-o", "x.dot"), 1, "no such file"),
    ],
)
def test_bad_arguments(argv, status, message, capsys):
    try:
        code = main(list(argv))
    except SystemExit as exit:
        code = exit.code
    assert code == status
    assert message in capsys.readouterr().err


def test_a_bad_output_folder_end_to_end():
    result = run("graph", f"{LECTURE}:f", "--args", "(1.0, 2.0, 0.0)", "-o",
                 "/no/such/folder/x.svg")
    assert result.returncode == 1
    assert result.stderr.startswith("autodiffx: error: cannot write")
    assert "Traceback" not in result.stderr
