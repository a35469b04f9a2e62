"""The package's import layers: each part imports only from the parts below it.

A part is a top-level module (``api``, ``arguments``) or a subpackage (``rules``,
``forward``, ``reverse``). Every import statement counts, including those inside functions:
an import deferred to call time is still a dependency. Modules of one subpackage may import
each other freely. ``docs/architecture.md`` explains what each layer owns.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "autodiffx"

# Bottom to top. A part may import from parts in lower rows only (never its own row).
LAYERS = [
    ["errors", "display", "version"],
    ["tree", "rules"],
    ["forward"],
    ["arguments", "transforms", "custom"],
    ["reverse"],
    ["api"],
    ["check", "export", "cost"],
    ["computation_graph", "ner"],
    ["commands"],
    ["cli"],
    ["__init__", "__main__"],
]
LAYER_OF = {part: row for row, parts in enumerate(LAYERS) for part in parts}


def part_of(path: pathlib.Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imported_parts(path: pathlib.Path, root: pathlib.Path = PACKAGE) -> set[str]:
    """The parts of the package at ``root`` that the module at ``path`` imports, anywhere
    in it."""
    package = path.relative_to(root.parent).parent.parts  # ("autodiffx", "reverse", ...)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                target = [*base, *(node.module.split(".") if node.module else [])]
            else:
                target = (node.module or "").split(".")
            if target[0] != "autodiffx":
                continue
            if len(target) > 1:
                found.add(target[1])
            else:  # from autodiffx import api, errors; a name of __init__ otherwise
                found.update(alias.name if (root / alias.name).exists()
                             or (root / f"{alias.name}.py").exists() else "__init__"
                             for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name.split(".")
                if target[0] == "autodiffx" and len(target) > 1:
                    found.add(target[1])
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_part_has_a_layer():
    parts = {part_of(path) for path in MODULES}
    missing = sorted(parts - set(LAYER_OF))
    assert not missing, f"add {missing} to LAYERS here and to docs/architecture.md"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_from_lower_layers(path):
    part = part_of(path)
    if part not in LAYER_OF:
        pytest.skip("no layer yet (see test_every_part_has_a_layer)")
    upward = sorted(
        other for other in imported_parts(path) - {part}
        if other in LAYER_OF and LAYER_OF[other] >= LAYER_OF[part]
    )
    assert not upward, (
        f"{path.relative_to(PACKAGE)} (layer {LAYER_OF[part]}) imports {upward}, "
        "from its own layer or above"
    )


def test_the_layers_are_read_from_every_kind_of_import(tmp_path):
    """The checker sees relative, absolute and function-level imports."""
    package = tmp_path / "autodiffx"
    (package / "reverse").mkdir(parents=True)
    module = package / "reverse" / "example.py"
    module.write_text(
        "from .. import tree\nfrom ..api import grad\nimport autodiffx.forward.dual\n"
        "from . import emit\nfrom .. import __version__\n"
        "def later():\n    from autodiffx.rules import registry\n"
    )
    (package / "tree.py").touch()
    assert imported_parts(module, package) == {
        "tree", "api", "forward", "reverse", "rules", "__init__"}
