"""The AST nodes the sweeps generate: small constructors, comment markers, and the origin
each generated statement records (the sweep and the user's line)."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from ...errors import Location


@functools.cache
def _parsed(expression: str) -> ast.expr:
    return ast.parse(expression, mode="eval").body


def _load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _store(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Store())


def _assign(target, value, pure=True) -> ast.Assign:
    node = ast.Assign(targets=[target if isinstance(target, ast.AST) else _store(target)],
                      value=value, lineno=0)
    node.pure = pure
    return node


def _np(name: str) -> ast.expr:
    return ast.Attribute(value=_load("np"), attr=name, ctx=ast.Load())


def _call(function: ast.expr, *args) -> ast.Call:
    return ast.Call(func=function, args=list(args), keywords=[])


class Comments:
    """Comment lines to splice into the printed code (astor drops real comments)."""

    def __init__(self):
        self.texts: list[str] = []

    def marker(self, text: str) -> ast.stmt:
        self.texts.append(text)
        return ast.Expr(value=_load(f"__autodiffx_comment_{len(self.texts) - 1}__"))


@dataclass(frozen=True)
class Origin:
    """Where a generated statement comes from: the sweep, and the user's line."""

    sweep: str
    """``"forward"`` (computing the value) or ``"adjoint"`` (computing the gradient)."""
    location: Location
    function: str
