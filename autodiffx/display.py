"""How autodiffx's results show in IPython and Jupyter.

IPython asks an object for its richest picture through ``_repr_html_``, ``_repr_markdown_``,
``_repr_svg_`` and ``_repr_pretty_``; ``print`` and ``repr`` never call them, so the same
object prints as plain text in a terminal, a doctest or a log.

``Code`` is what ``autodiffx.source`` returns: a ``str`` (so ``print``, ``in``,
``==`` and ``ast.parse`` work as on any string) that a notebook shows as highlighted
Python. Highlighting uses Pygments when it is installed (IPython installs it) and a plain
``<pre>`` block otherwise: autodiffx does not depend on it.
"""

from __future__ import annotations

import html
import re

_STYLE = "default"


class Code(str):
    """Python source that prints as itself and shows highlighted in a notebook.

    What [`source`][autodiffx.source] returns: a ``str`` (so ``print``, ``in``, ``==`` and
    ``ast.parse`` work as on any string) with ``_repr_html_`` and ``_repr_markdown_`` for
    Jupyter.

    Examples:
        >>> from autodiffx.display import Code
        >>> code = Code("def f(x):\\n    return x < 1\\n")
        >>> print(code, end="")
        def f(x):
            return x < 1
        >>> code == "def f(x):\\n    return x < 1\\n", isinstance(code, str)
        (True, True)
        >>> "&lt;" in code._repr_html_()  # escaped, highlighted or not
        True
    """

    __slots__ = ()

    def _repr_html_(self) -> str:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:
            return f"<pre>{html.escape(str(self))}</pre>"
        formatter = HtmlFormatter(noclasses=True, style=_STYLE, nobackground=True)
        return highlight(str(self), PythonLexer(), formatter)

    def _repr_markdown_(self) -> str:
        # a fence longer than any run of backticks in the code, so none closes it early
        longest = max((len(run) for run in re.findall(r"`+", self)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"{fence}python\n{self.rstrip()}\n{fence}\n"

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        # IPython's terminal: the code as it prints, not a quoted string with \n in it
        printer.text(str(self).rstrip("\n"))


__all__ = ["Code"]
