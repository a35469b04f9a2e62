"""Golden tests: the generated source of a few functions, compared exactly.

Regenerate with ``AUTODIFFX_REGEN_GOLDEN=1 pytest tests/reverse/test_golden.py``, then read
the diff: the generated code is part of the product.
"""

import linecache
import os
from pathlib import Path

import numpy as np
import pytest

import autodiffx
from autodiffx import reverse
from autodiffx.reverse import flat

from .golden_functions import FLAT_GOLDEN, GOLDEN, JVP_GOLDEN, SHAPED_GOLDEN

FOLDER = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_generated_source_matches_golden(name):
    function, wrt, ranks, *kinds = GOLDEN[name]
    text = reverse.build(function, wrt, ranks, argument_kinds=kinds[0] if kinds else None
                         ).source
    path = FOLDER / f"{name}.py"
    if os.environ.get("AUTODIFFX_REGEN_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"no golden file {path}; run with AUTODIFFX_REGEN_GOLDEN=1"
    assert text == path.read_text()


@pytest.mark.parametrize("name", sorted(SHAPED_GOLDEN))
def test_source_for_shapes_matches_golden(name):
    function, wrt, shapes = SHAPED_GOLDEN[name]
    text = reverse.build(function, wrt, tuple(len(s) for s in shapes),
                         argument_shapes=shapes).source
    path = FOLDER / f"{name}.py"
    if os.environ.get("AUTODIFFX_REGEN_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"no golden file {path}; run with AUTODIFFX_REGEN_GOLDEN=1"
    assert text == path.read_text()


@pytest.mark.parametrize("name", sorted(FLAT_GOLDEN))
def test_flat_gradient_source_matches_golden(name):
    function, wrt, ranks = FLAT_GOLDEN[name]
    flat_function = flat.gradient_function(autodiffx.grad(function, wrt=wrt), ranks)
    text = "".join(linecache.getlines(flat_function.__code__.co_filename))
    path = FOLDER / f"{name}.py"
    if os.environ.get("AUTODIFFX_REGEN_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"no golden file {path}; run with AUTODIFFX_REGEN_GOLDEN=1"
    assert text == path.read_text()


def test_generation_is_deterministic():
    function, wrt, ranks = GOLDEN["score"]
    from autodiffx.reverse import emit

    first = emit.generate(function, wrt, ranks).source
    second = emit.generate(function, wrt, ranks).source
    assert first == second


def test_score_shows_the_lecture_quantities():
    text = reverse.build(*GOLDEN["score"]).source
    assert "np.outer(dWx, x)" in text
    assert "W.T @ dWx" in text
    assert "dz = dh * (1 - h ** 2)" in text


@pytest.mark.parametrize("name", sorted(JVP_GOLDEN))
def test_generated_jvp_matches_golden(name):
    """Forward mode's generated JVP (``jvp_source``), for arguments of these shapes."""
    function, shapes = JVP_GOLDEN[name]
    primals = tuple(np.ones(shape) if shape else 1.0 for shape in shapes)
    text = autodiffx.jvp_source(function, primals, primals)
    path = FOLDER / f"{name}.py"
    if os.environ.get("AUTODIFFX_REGEN_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"no golden file {path}; run with AUTODIFFX_REGEN_GOLDEN=1"
    assert text == path.read_text()
