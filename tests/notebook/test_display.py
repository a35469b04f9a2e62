"""What a notebook shows: the generated code highlighted (it still prints as text), and the
computation graph as SVG when Graphviz is installed (and how to get it when not)."""

from __future__ import annotations

import builtins
import os
import shutil
import stat
import sys

import numpy as np
import pytest

import autodiffx
from autodiffx import computation_graph
from autodiffx.display import Code

from .lecture_functions import f, ticks


@pytest.fixture
def code():
    return autodiffx.source(autodiffx.grad(f, wrt=(0, 1, 2)), 1.0, 2.0, 0.0)


def test_source_is_still_a_string_that_prints_as_code(code, capsys):
    assert isinstance(code, str) and isinstance(code, Code)
    assert code.startswith("import numpy as np") and "def f_vjp(x, y, z):" in code
    assert repr(code) == repr(str(code))  # a doctest of it reads as before
    assert code + "" == str(code) and code.splitlines() == str(code).splitlines()
    print(code)
    assert capsys.readouterr().out == str(code) + "\n"


def test_source_shows_as_highlighted_python_in_a_notebook(code):
    pytest.importorskip("pygments")
    html = code._repr_html_()
    assert html.count("<span") > 20  # coloured tokens
    assert "style=" in html  # inline styles: no stylesheet needed in the notebook
    assert "f_vjp" in html and "pullback" in html
    assert "<pre" in html


def test_without_pygments_it_is_an_escaped_pre_block(code, monkeypatch):
    real_import = builtins.__import__

    def no_pygments(name, *args, **kwargs):
        if name.startswith("pygments"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pygments)
    html = Code("if a < b:\n    c = '&'\n")._repr_html_()
    assert html == "<pre>if a &lt; b:\n    c = &#x27;&amp;&#x27;\n</pre>"


def test_markdown_fences_the_code_safely():
    text = autodiffx.source(autodiffx.grad(ticks), np.ones(2))
    assert "```" in text
    markdown = text._repr_markdown_()
    assert markdown.startswith("````python\n") and markdown.endswith("\n````\n")
    assert markdown[len("````python\n"):-len("\n````\n")] == text.rstrip()


def test_ipython_prints_the_code_not_a_quoted_string(code):
    pretty = pytest.importorskip("IPython.lib.pretty")
    assert pretty.pretty(code) == code.rstrip("\n")


# --------------------------------------------------------------------------- graph


def test_graph_has_the_lecture_values_and_gradients():
    picture = autodiffx.graph(f, 1.0, 2.0, 0.0)
    assert picture.value == 6.0 and picture.gradients == (2.0, 5.0, 0.0)
    assert "digraph computation" in picture.to_dot()
    named = autodiffx.graph(f, 1.0, 2.0, 0.0, wrt=("x", 2))
    assert named.gradients == (2.0, 0.0)
    with pytest.raises(autodiffx.ArgumentError, match="wrt names 'w'"):
        autodiffx.graph(f, 1.0, 2.0, 0.0, wrt="w")


def test_without_graphviz_the_repr_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(computation_graph.shutil, "which", lambda name: None)
    picture = autodiffx.graph(f, 1.0, 2.0, 0.0)
    assert picture._repr_svg_() is None  # IPython then shows the repr
    text = repr(picture)
    assert text.startswith("computation graph of f: 3 operations, f = 6\n  df/dx = 2")
    assert "Graphviz's dot program is not on PATH" in text
    assert "apt-get install graphviz" in text and "to_dot()" in text


FAKE_DOT = """#!{python}
import sys
dot = sys.stdin.read()
assert sys.argv[1:] == ["-Tsvg"], sys.argv
print('<svg xmlns="http://www.w3.org/2000/svg"><!-- %d bytes of DOT --></svg>' % len(dot))
"""


def test_with_graphviz_it_renders_inline_as_svg(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text(FAKE_DOT.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    picture = autodiffx.graph(f, 1.0, 2.0, 0.0)
    svg = picture._repr_svg_()
    assert svg.startswith("<svg") and f"{len(picture.to_dot())} bytes of DOT" in svg
    assert "not on PATH" not in repr(picture)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_real_graphviz_draws_the_lecture_graph():
    svg = autodiffx.graph(f, 1.0, 2.0, 0.0)._repr_svg_()
    assert "<svg" in svg and svg.rstrip().endswith("</svg>")


def test_save_writes_the_file(tmp_path):
    path = autodiffx.graph(f, 1.0, 2.0, 0.0).save(tmp_path / "lecture.dot")
    assert path.read_text().startswith("digraph computation")
