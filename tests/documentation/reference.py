"""The objects the API reference page shows, read from its ``::: name`` lines."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"


def reference_names() -> list[str]:
    """The dotted names of the ``::: name`` lines of docs/reference.md, in order."""
    return re.findall(r"^::: *([\w.]+)", REFERENCE.read_text(encoding="utf-8"), re.MULTILINE)


def resolve(name: str):
    """The object a dotted name stands for: the longest importable module, then attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise LookupError(name)
