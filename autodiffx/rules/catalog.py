"""The list of supported functions, written from the registry (``docs/functions.md``).

``python -m autodiffx.rules.catalog docs/functions.md`` rewrites the page; a test fails when
the page and the registry disagree, so the list cannot go stale.
"""

from __future__ import annotations

import operator
import sys

import numpy as np

from .registry import Rule, all_rules, describe

HEADER = """# Supported functions

Every function below has one rule in the registry, read by both modes. The list is written
from the registry by `python -m autodiffx.rules.catalog docs/functions.md`, and a test
checks that it is current. A call of a function that is not listed, with a value being
differentiated, is refused with a message; it is never taken as a constant.

{count} functions have a derivative rule; {constant} more are known to have derivative 0
wherever they have one (comparisons, rounding, index queries), so a derivative may pass
around them. The last column gives the convention where a rule has a choice to make (a
kink, a tie, a singular point) or a limit. The ndarray methods (`x.sum()`, `x.T`,
`x.reshape(...)`, `x.repeat(...)`, ...) follow the function of the same name.
"""


def _names(rule: Rule) -> list[str]:
    return ["x[index]" if primitive is operator.getitem else describe(primitive)
            for primitive in rule.primitives]


def _arguments(rule: Rule) -> str:
    """The parameters a derivative flows through."""
    names = [p for p, t, a in zip(rule.params, rule.tangents, rule.adjoints, strict=False)
             if t is not None or a is not None]
    return ", ".join(f"`{n}`" for n in names)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _ours(rule: Rule) -> bool:
    """A rule for NumPy's or Python's functions (not one a user registered for their own)."""
    return all((getattr(p, "__module__", None) or "numpy").split(".")[0] in (
        "numpy", "builtins", "_operator", "operator") or isinstance(p, np.ufunc)
               for p in rule.primitives)


def markdown() -> str:
    """The page: one row per function with a rule, then the constant ones."""
    rules = [rule for rule in all_rules() if _ours(rule)]
    differentiable = sorted(((name, rule) for rule in rules if rule.differentiable
                             for name in _names(rule)), key=lambda item: item[0].lower())
    constant = sorted({name for rule in rules if not rule.differentiable
                       for name in _names(rule)}, key=str.lower)
    lines = [HEADER.format(count=len(differentiable), constant=len(constant))]
    lines.append("| function | derivative with respect to | convention |")
    lines.append("| --- | --- | --- |")
    for name, rule in differentiable:
        results = f" ({rule.outputs} results)" if isinstance(rule.outputs, int) else (
            " (a list of parts)" if rule.outputs else "")
        lines.append(f"| `{name}`{results} | {_arguments(rule)} | {_cell(rule.doc)} |")
    lines.append("")
    lines.append("## Derivative 0 wherever it exists")
    lines.append("")
    lines.append(", ".join(f"`{name}`" for name in constant))
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = markdown()
    if argv:
        with open(argv[0], "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
