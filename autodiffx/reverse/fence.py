"""Rejecting the Python reverse mode does not differentiate, before any work is done.

Each refusal is an :class:`UnsupportedSyntaxError` naming the construct, the place
(file:line:column and the source line) and what to write instead.
"""

from __future__ import annotations

import ast
import builtins

from ..errors import UnsupportedSyntaxError
from . import ir
from .source import FunctionSource

_FORWARD = 'differentiate it with mode="forward", which runs the code as it is'

_REFUSED: dict[type, tuple[str, str]] = {
    ast.Try: ("a try statement", "move the try/except outside the function, or " + _FORWARD),
    ast.With: ("a with statement", "move the with block outside the function, or " + _FORWARD),
    ast.AsyncWith: ("an async with statement", _FORWARD),
    ast.AsyncFor: ("an async for loop", _FORWARD),
    ast.AsyncFunctionDef: ("an async function", _FORWARD),
    ast.Await: ("await", _FORWARD),
    ast.Yield: ("yield (a generator)", "return an array instead, or " + _FORWARD),
    ast.YieldFrom: ("yield from (a generator)", "return an array instead, or " + _FORWARD),
    ast.ClassDef: ("a class definition inside the function", "define the class outside"),
    ast.FunctionDef: (
        "a function defined inside the function",
        "define it at module level and call it",
    ),
    ast.Lambda: ("a lambda inside the function", "define a function at module level instead"),
    ast.Global: ("a global statement", "pass the value as an argument and return results"),
    ast.Nonlocal: ("a nonlocal statement", "pass the value as an argument and return results"),
    ast.Delete: ("a del statement", "drop the del; the name is simply not used again"),
    ast.Import: ("an import inside the function", "import at module level"),
    ast.ImportFrom: ("an import inside the function", "import at module level"),
    ast.NamedExpr: ("an assignment expression (:=)", "assign on a statement of its own"),
    ast.Match: ("a match statement", "use if/elif/else, or " + _FORWARD),
    ast.Starred: ("*unpacking", "pass the arguments one by one"),
    ast.GeneratorExp: ("a generator expression", "build a list or an array, or " + _FORWARD),
}
if hasattr(ast, "TryStar"):  # Python 3.11+
    _REFUSED[ast.TryStar] = ("a try statement", _FORWARD)


def refuse(source: FunctionSource, node: ast.AST, construct: str, hint: str):
    """An :class:`UnsupportedSyntaxError` for ``construct`` at ``node``."""
    return UnsupportedSyntaxError(
        f"reverse mode does not support {construct} (in {source.name})",
        location=source.location(node),
        hint=hint,
    )


def consumes_a_generator(node: ast.AST) -> bool:
    """``sum(... for ...)``: a generator expression, the only argument of a builtin that
    consumes it at once (``sum``, ``max``, ``min``, ``any``, ``all``, ``list``, ...)."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("sum", "max", "min", "any", "all", "list", "tuple", "sorted")
            and len(node.args) == 1 and isinstance(node.args[0], ast.GeneratorExp))


def check(source: FunctionSource, wrt: tuple[int, ...]) -> None:
    """Raise :class:`UnsupportedSyntaxError` for the first unsupported construct."""
    arguments = source.node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    if arguments.vararg is not None and any(i >= len(positional) for i in wrt):
        raise refuse(
            source,
            arguments.vararg,
            "differentiating *" + arguments.vararg.arg,
            "name the arguments one by one, or " + _FORWARD,
        )
    for statement in source.node.body:
        nodes = ir.nodes(statement)
        # f(*args) is left to the normalizer: fine where no derivative flows (np.eye(*shape))
        call_arguments = {id(a) for node in nodes if isinstance(node, ast.Call)
                          for a in node.args if isinstance(a, ast.Starred)}
        # sum(f(r) for r in rows): consumed at once, differentiated as a list comprehension
        call_arguments |= {id(node.args[0]) for node in nodes
                           if consumes_a_generator(node)
                           and source.resolve(node.func.id) is getattr(builtins, node.func.id)}
        for node in nodes:
            if id(node) in call_arguments:
                continue
            refused = _REFUSED.get(type(node))
            if refused is not None:
                raise refuse(source, node, *refused)
            if isinstance(node, ast.keyword) and node.arg is None:
                raise refuse(source, node.value, "**keyword unpacking", "pass keywords by name")
            if isinstance(node, (ast.For, ast.While)) and node.orelse:
                raise refuse(source, node, "else on a loop", "use a flag and an if after it")
