"""Parsing the commands' ``--args`` and ``--wrt`` options.

``--args`` is either a Python literal, read with :func:`ast.literal_eval` (never ``eval``),
or a list of shapes for random inputs:

* ``"(1.0, [1.0, 2.0])"``: a tuple gives one argument per entry; anything else is one
  argument. Lists (and tuples inside an argument) become float arrays; numbers, strings
  and ``None`` stay as they are (an int that is differentiated is taken as a float).
* ``"shape:(3,),(2, 3),()"``: one standard-normal array per shape (``()`` is a float),
  drawn with ``--seed`` (default 0).

``--wrt`` is a comma-separated list of positions or names: ``0,2`` or ``W,b``. One item
gives one gradient; two or more give a tuple, as ``grad(f, wrt=(...))`` does.
"""

from __future__ import annotations

import argparse
import ast
from typing import Any

import numpy as np

SHAPE_PREFIX = "shape:"

EXCERPT = 60
"""The longest ``--args`` text quoted whole in a message."""


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """``text``, or for a long one its start and end with the length between.

    >>> excerpt("(1.0, 2.0)")
    '(1.0, 2.0)'
    >>> excerpt("[" + "1.0, " * 20000 + "]")
    '[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, ... (100,002 characters) ... .0, 1.0, 1.0, ]'
    """
    if len(text) <= limit:
        return text
    head, tail = 2 * limit // 3, limit // 4
    return f"{text[:head]} ... ({len(text):,} characters) ... {text[-tail:]}"


def parse_args_expr(text: str, seed: int = 0) -> tuple[Any, ...]:
    """The example arguments an ``--args`` text describes.

    >>> parse_args_expr("(1.0, [1.0, 2.0])")
    (1.0, array([1., 2.]))
    >>> [np.shape(a) for a in parse_args_expr("shape:(3,),(2, 3),()")]
    [(3,), (2, 3), ()]
    """
    stripped = text.strip()
    if stripped.startswith(SHAPE_PREFIX):
        return _random_arguments(stripped[len(SHAPE_PREFIX):], seed)
    try:
        value = ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise argparse.ArgumentTypeError(
            f"{excerpt(text)!r} is not a Python literal; give e.g. \"(1.0, [1.0, 2.0])\" or "
            "\"shape:(3,),(2,3)\""
        ) from None
    values = value if isinstance(value, tuple) else (value,)
    return tuple(_as_argument(v, text) for v in values)


def _as_argument(value: Any, text: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, (list, tuple)):
        try:
            return np.array(value, dtype=float)
        except (ValueError, TypeError):
            raise argparse.ArgumentTypeError(
                f"{excerpt(repr(value))} in --args {excerpt(text)!r} is not a rectangular "
                "list of numbers"
            ) from None
    raise argparse.ArgumentTypeError(
        f"{excerpt(repr(value))} in --args {excerpt(text)!r} is a {type(value).__name__}; "
        "give numbers or "
        "lists of numbers"
    )


def _random_arguments(text: str, seed: int) -> tuple[Any, ...]:
    try:
        shapes = ast.literal_eval(f"({text},)" if text.strip() else "()")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise argparse.ArgumentTypeError(
            f"{SHAPE_PREFIX}{excerpt(text)!r} is not a list of shapes; give e.g. "
            "\"shape:(3,),(2,3),()\""
        ) from None
    if not shapes:
        raise argparse.ArgumentTypeError(f"no shapes after {SHAPE_PREFIX!r}")
    for shape in shapes:
        if not (
            isinstance(shape, tuple)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        ):
            raise argparse.ArgumentTypeError(
                f"{excerpt(repr(shape))} is not a shape: write a tuple of sizes such as (3,) "
                "or (2, 3)"
            )
        if int(np.prod(shape, dtype=np.int64)) > 10**7:
            raise argparse.ArgumentTypeError(
                f"shape {excerpt(repr(shape))} is too large for an example")
    rng = np.random.default_rng(seed)
    return tuple(float(rng.standard_normal()) if s == () else rng.standard_normal(s)
                 for s in shapes)


def parse_wrt(text: str) -> int | str | tuple[int | str, ...]:
    """The ``wrt`` an option text names: ``"0,2"`` -> ``(0, 2)``, ``"W"`` -> ``"W"``.

    >>> parse_wrt("0,2"), parse_wrt("W, b"), parse_wrt("1")
    ((0, 2), ('W', 'b'), 1)
    """
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated argument positions or names, got {excerpt(text)!r}"
        )
    parsed: list[int | str] = []
    for item in items:
        if item.lstrip("-").isdigit():
            parsed.append(int(item))
        elif item.isidentifier():
            parsed.append(item)
        else:
            raise argparse.ArgumentTypeError(
                f"{excerpt(item)!r} in --wrt {excerpt(text)!r} is neither a position (0, 1, "
                "...) nor a name"
            )
    return tuple(parsed) if len(parsed) > 1 else parsed[0]
