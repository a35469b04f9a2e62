"""Getting a function's source, parsing it, and resolving the names it uses.

Reverse mode reads the user's code, so this is where it can fail first: builtins, ufuncs,
functions typed at a REPL and code made by ``eval``/``exec`` have no source to read. A
lambda written in a file does (``inspect`` returns its whole line); it is accepted when it
is the only lambda on that line.

Globals and closure cells are read once, when the function is transformed: the generated
code sees the values they had then (a global array is a constant).
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any

from ..errors import Location, NoSourceError

_MISSING = object()


@dataclass
class FunctionSource:
    """One parsed user function, with where it came from and what its names mean."""

    function: Any
    node: ast.FunctionDef
    filename: str
    lines: dict[int, str] = field(default_factory=dict)
    """Source text per line number in the file, for messages and comments."""
    namespace: dict[str, Any] = field(default_factory=dict)
    """Globals and closure cells of the function (closure cells win)."""

    @property
    def name(self) -> str:
        return self.node.name

    def location(self, node: ast.AST) -> Location:
        line = getattr(node, "lineno", self.node.lineno)
        column = getattr(node, "col_offset", -1) + 1
        return Location(self.filename, line, column, self.lines.get(line, ""))

    def resolve(self, name: str) -> Any:
        """The value ``name`` has in the function's scope (globals, closure, builtins)."""
        if name in self.namespace:
            return self.namespace[name]
        return getattr(builtins, name, _MISSING)

    def statement_text(self, node: ast.stmt) -> str:
        """The source of one statement, on one line (the header only for compound ones)."""
        if isinstance(node, (ast.If, ast.For, ast.While)):
            return self.lines.get(node.lineno, "").strip()
        end = getattr(node, "end_lineno", node.lineno) or node.lineno
        text = " ".join(self.lines.get(n, "").strip() for n in range(node.lineno, end + 1))
        return text.strip()


def is_missing(value: Any) -> bool:
    return value is _MISSING


def _no_source(function: Any, why: str) -> NoSourceError:
    name = getattr(function, "__qualname__", None) or repr(function)
    return NoSourceError(
        f"reverse mode needs the source code of {name}, but {why}",
        hint='use mode="forward", which runs the function as it is and needs no source',
    )


def parse_function(function: Any) -> FunctionSource:
    """Parse ``function``'s source into a :class:`FunctionSource`."""
    code = getattr(function, "__code__", None)
    if code is None or not inspect.isfunction(function):
        raise _no_source(function, "it is not a Python function (a builtin, ufunc or C function)")
    filename = code.co_filename
    if filename.startswith("<") and filename.endswith(">") and "autodiffx" not in filename:
        raise _no_source(function, f"it was defined in {filename} (a REPL, eval or exec)")
    try:
        lines, first = inspect.getsourcelines(function)
    except (OSError, TypeError) as error:
        raise _no_source(function, f"its source could not be read ({error})") from None
    text = textwrap.dedent("".join(lines))
    try:
        module = ast.parse(text)
    except SyntaxError:
        module = None
    if function.__name__ == "<lambda>":
        node = _lambda_node(function, module, filename, first, lines)
    else:
        node = _function_node(function, module)
    if first > 1:
        ast.increment_lineno(node, first - 1)
    numbered = {first + i: line.rstrip("\n") for i, line in enumerate(lines)}
    return FunctionSource(function, node, filename, numbered, _namespace(function))


def _function_node(function: Any, module: ast.Module | None) -> ast.FunctionDef:
    if module is not None:
        for node in module.body:
            if isinstance(node, ast.FunctionDef) and node.name == function.__name__:
                return node
            if isinstance(node, ast.AsyncFunctionDef):
                break
    raise _no_source(function, "its source is not a plain 'def' statement")


def _lambda_node(function, module, filename, first, lines) -> ast.FunctionDef:
    lambdas = [] if module is None else [n for n in ast.walk(module) if isinstance(n, ast.Lambda)]
    if len(lambdas) != 1:
        count = "no parsable lambda" if not lambdas else f"{len(lambdas)} lambdas"
        raise NoSourceError(
            f"reverse mode cannot tell which lambda to differentiate: its line holds {count}",
            location=Location(filename, first, 0, lines[0] if lines else ""),
            hint="give the lambda a line of its own, write it as a 'def', or use "
            'mode="forward"',
        )
    (node,) = lambdas
    body = ast.Return(value=node.body)
    ast.copy_location(body, node.body)
    definition = ast.FunctionDef(
        name="lambda_",
        args=node.args,
        body=[body],
        decorator_list=[],
        returns=None,
        type_comment=None,
    )
    ast.copy_location(definition, node)
    ast.fix_missing_locations(definition)
    return definition


def _namespace(function: Any) -> dict[str, Any]:
    namespace = dict(function.__globals__)
    code = function.__code__
    for name, cell in zip(code.co_freevars, function.__closure__ or (), strict=True):
        try:
            namespace[name] = cell.cell_contents
        except ValueError:  # an empty cell: the name is assigned later in the outer scope
            continue
    return namespace
