"""examples/lecture3.ipynb runs top to bottom in a real Jupyter kernel (nbclient and
ipykernel, in the ``test`` extra), and shows what it promises: reverse-mode gradients of
functions defined in its cells, the graph, the generated code highlighted, the δ checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

nbclient = pytest.importorskip(
    "nbclient", reason="nbclient is not installed (pip install -e '.[test]' installs it)")
pytest.importorskip(
    "ipykernel", reason="ipykernel is not installed (pip install -e '.[test]' installs it)")
nbformat = pytest.importorskip("nbformat", reason="nbformat (installed with nbclient) is missing")

NOTEBOOK = Path(__file__).parents[2] / "examples" / "lecture3.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path_factory.mktemp("lecture3"))}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    return notebook


def _outputs(notebook, needle: str) -> list:
    """The outputs of the code cell whose source contains ``needle``."""
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and needle in c.source]
    return cell.outputs


def _text(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream") + "".join(
        o.data.get("text/plain", "") for o in outputs if "data" in o)


def test_the_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


def test_the_worked_example_in_a_cell(executed):
    text = _text(_outputs(executed, "def f(x, y, z):"))
    assert "f = 6.0" in text
    assert "gradient (x, y, z): (2.0, 5.0, 0.0)" in text  # reverse mode, source from the cell
    assert "checks by perturbation: 6.2 6.51" in text


def test_the_graph(executed):
    (output,) = _outputs(executed, "autodiffx.graph(f, 1.0, 2.0, 0.0)")
    assert "df/dy = 5" in output.data["text/plain"]
    if shutil.which("dot"):
        assert "<svg" in output.data["image/svg+xml"]
    else:
        assert "Install Graphviz" in output.data["text/plain"]


def test_the_generated_code_is_highlighted_next_to_the_derivation(executed):
    (output,) = _outputs(executed, "autodiffx.source(grad(s,")
    code = output.data["text/plain"]
    for line in ("dz = dh * (1 - h ** 2)", "dW = np.outer(dWx, x)", "dx = W.T @ dWx",
                 "du = ds * h"):
        assert line in code
    assert "<span" in output.data["text/html"]  # Pygments, which ipykernel installs
    derivation = next(c.source for c in executed.cells if "| lecture |" in c.source)
    for line in ("`dz = dh * (1 - h ** 2)`", "`dW = np.outer(dWx, x)`", "`dx = W.T @ dWx`"):
        assert line in derivation and line.strip("`") in code


def test_the_hand_derivation_agrees(executed):
    text = _text(_outputs(executed, "delta = u * (1 - h ** 2)"))
    assert text.count("True") == 4
    assert "gradient check passed" in text


def test_the_cost_of_the_two_modes(executed):
    text = _text(_outputs(executed, "compare.sweep_inputs("))
    assert "forward-chunked" in text and "(32 passes)" in text
    plot = _outputs(executed, "import matplotlib.pyplot as plt")
    assert any("image/png" in o.get("data", {}) for o in plot) or (
        "matplotlib is not installed" in _text(plot))
