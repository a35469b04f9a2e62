"""ANSI colours for Python source, from the standard library's own tokenizer.

No new dependency: :mod:`tokenize` splits the text, and each token keeps its exact
spelling, so removing the colours gives back the input unchanged.
"""

from __future__ import annotations

import builtins
import io
import keyword
import os
import tokenize
from typing import TextIO

RESET = "\033[0m"
COLOURS = {
    "comment": "\033[2;32m",  # dim green
    "keyword": "\033[1;35m",  # bold magenta
    "string": "\033[33m",  # yellow
    "number": "\033[36m",  # cyan
    "builtin": "\033[34m",  # blue
    "definition": "\033[1;34m",  # bold blue: the name after def
    "adjoint": "\033[31m",  # red, as the lecture draws gradients: dW, db, dx ...
}


def highlight(source: str) -> str:
    """``source`` with ANSI colour codes around comments, keywords, strings and numbers.

    Names of adjoints (``d`` + a name the code also uses, such as ``dW`` for ``W``) are
    red, the colour of gradients in the lecture's diagrams.

    >>> highlight("x = 1  # one") == "x = \\033[36m1\\033[0m  \\033[2;32m# one\\033[0m"
    True
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    names = {t.string for t in tokens if t.type == tokenize.NAME}
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    pieces = []
    position = 0
    previous = ""
    for token in tokens:
        kind = _kind(token, previous, names)
        if token.type == tokenize.NAME or token.string.strip():
            previous = token.string
        if kind is None:
            continue
        start = starts[token.start[0] - 1] + token.start[1]
        end = starts[token.end[0] - 1] + token.end[1]
        pieces.append(source[position:start])
        pieces.append(COLOURS[kind] + source[start:end] + RESET)
        position = end
    pieces.append(source[position:])
    return "".join(pieces)


def _kind(token: tokenize.TokenInfo, previous: str, names: set[str]) -> str | None:
    if token.type == tokenize.COMMENT:
        return "comment"
    if token.type == tokenize.STRING:
        return "string"
    if token.type == tokenize.NUMBER:
        return "number"
    if token.type != tokenize.NAME:
        return None
    text = token.string
    if keyword.iskeyword(text):
        return "keyword"
    if previous == "def":
        return "definition"
    if previous == ".":
        return None
    if len(text) > 1 and text[0] == "d" and text[1:] in names:
        return "adjoint"
    if hasattr(builtins, text):
        return "builtin"
    return None


def wants_colour(stream: TextIO, choice: str = "auto") -> bool:
    """Colour for ``"always"``; none for ``"never"``; for ``"auto"``, only on a terminal.

    ``auto`` also honours the ``NO_COLOR`` convention (https://no-color.org).
    """
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
