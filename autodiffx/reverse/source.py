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
import copy
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
        # the code object, not the function: functools.wraps points inspect at the wrapped
        # function, whose source is not the code that runs
        lines, first = inspect.getsourcelines(code)
    except (OSError, TypeError) as error:
        raise _no_source(function, f"its source could not be read ({error})") from None
    text = textwrap.dedent("".join(lines))
    try:
        module = ast.parse(text)
    except SyntaxError:
        module = None
    if code.co_name == "<lambda>":
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
            if isinstance(node, ast.FunctionDef) and node.name == function.__code__.co_name:
                return node
            if isinstance(node, ast.AsyncFunctionDef):
                raise _no_source(function, "it is an async function (a coroutine), which "
                                 "returns before it runs")
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


def spread_varargs(source: FunctionSource, count: int) -> FunctionSource:
    """``def f(*args)`` called with ``count`` extra positional arguments, as a function of
    that many named parameters (``args_0``, ``args_1``, ...).

    Done only when ``args`` is used as ``g(*args)``, ``args[i]`` with a literal ``i`` or
    ``len(args)``, as in a decorator's wrapper; otherwise ``source`` is returned unchanged
    (and differentiating ``*args`` is refused).
    """
    arguments = source.node.args
    if arguments.vararg is None or count < 0:
        return source
    name = arguments.vararg.arg
    taken = {n.id for n in ast.walk(source.node) if isinstance(n, ast.Name)}
    taken |= {a.arg for a in ast.walk(arguments) if isinstance(a, ast.arg)}
    spread = []
    for position in range(count):
        candidate = f"{name}_{position}"
        while candidate in taken:
            candidate += "_"
        taken.add(candidate)
        spread.append(candidate)
    node = copy.deepcopy(source.node)

    class Spread(ast.NodeTransformer):
        failed = False

        def visit_Call(self, call):
            if (isinstance(call.func, ast.Name) and call.func.id == "len"
                    and source.resolve("len") is builtins.len and len(call.args) == 1
                    and isinstance(call.args[0], ast.Name) and call.args[0].id == name):
                return ast.copy_location(ast.Constant(count), call)
            args = []
            for argument in call.args:
                if isinstance(argument, ast.Starred) and isinstance(argument.value, ast.Name) \
                        and argument.value.id == name:
                    args += [ast.copy_location(ast.Name(id=n, ctx=ast.Load()), argument)
                             for n in spread]
                else:
                    args.append(argument)
            call.args = args
            return self.generic_visit(call)

        def visit_Subscript(self, subscript):
            if isinstance(subscript.value, ast.Name) and subscript.value.id == name and \
                    isinstance(subscript.slice, ast.Constant) and \
                    type(subscript.slice.value) is int and -count <= subscript.slice.value < count:
                return ast.copy_location(
                    ast.Name(id=spread[subscript.slice.value], ctx=ast.Load()), subscript)
            return self.generic_visit(subscript)

        def visit_Name(self, found):
            if found.id == name:
                Spread.failed = True
            return found

    body = [Spread().visit(statement) for statement in node.body]
    if Spread.failed:
        return source
    node.body = body
    node.args.args = [*node.args.args, *(ast.arg(arg=n) for n in spread)]
    node.args.vararg = None
    ast.fix_missing_locations(node)
    return FunctionSource(source.function, node, source.filename, source.lines,
                          source.namespace)
