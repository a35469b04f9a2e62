"""docs/functions.md is written from the registry and must say what the registry holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autodiffx.rules import all_rules, catalog

PAGE = Path(__file__).resolve().parents[2] / "docs" / "functions.md"


def test_the_page_lists_what_the_registry_holds():
    assert PAGE.read_text(encoding="utf-8") == catalog.markdown(), (
        "docs/functions.md is stale: run python -m autodiffx.rules.catalog docs/functions.md")


def test_every_rule_has_a_row_and_a_new_rule_would_too():
    text = catalog.markdown()
    for rule in all_rules():
        for name in catalog._names(rule):
            assert f"`{name}`" in text
    for name in ("np.linalg.solve", "np.linalg.eigh", "np.split", "np.einsum", "x[index]"):
        assert f"| `{name}`" in text
    assert "`np.argmax`" in text.split("## Derivative 0 wherever it exists")[1]
    assert np.linalg.slogdet.__name__ in text
