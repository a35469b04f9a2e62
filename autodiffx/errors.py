"""The one exception hierarchy of autodiffx.

Every error the library raises derives from [`AutodiffError`][autodiffx.errors.AutodiffError]
and also from the built-in class a Python programmer would expect (``TypeError``,
``ValueError``, ...), so ``except ValueError`` keeps working in code that does not know
about autodiffx.

A message has three parts: what failed, where (``file:line`` and the source text, when the
error is about user code), and what to do instead.

Examples:
    An unknown mode is an ``ArgumentError``, which is also a ``ValueError``:

    >>> import numpy as np
    >>> from autodiffx import ArgumentError, grad
    >>> try:
    ...     grad(np.sin, mode="sideways")
    ... except ValueError as error:
    ...     print(isinstance(error, ArgumentError), error.message)
    ...     print(error.hint[:40])
    True unknown mode 'sideways'
    use mode='reverse' (one pass per output,
"""

from __future__ import annotations

import linecache
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A place in the user's source code."""

    filename: str
    line: int
    column: int = 0
    text: str = ""

    def __str__(self) -> str:
        where = f"{self.filename}:{self.line}"
        if self.column:
            where += f":{self.column}"
        if self.text:
            where += f"\n    {self.text.strip()}"
        return where


_LIBRARY_FOLDERS = (os.path.dirname(os.path.abspath(__file__)),)


def user_location(traceback, library_folders=_LIBRARY_FOLDERS) -> Location | None:
    """The innermost frame of ``traceback`` in the user's code, as a
    [`Location`][autodiffx.errors.Location].

    Frames inside autodiffx, NumPy or the standard library are skipped, so the location is
    the user's line that called the operation which failed.
    """
    import numpy

    skip = (*library_folders, os.path.dirname(os.path.abspath(numpy.__file__)),
            os.path.dirname(os.__file__))
    found = None
    while traceback is not None:
        code = traceback.tb_frame.f_code
        filename = os.path.abspath(code.co_filename)
        if not filename.startswith(skip) and _has_source(code.co_filename):
            line = traceback.tb_lineno
            found = Location(code.co_filename, line, 0, linecache.getline(code.co_filename, line))
        traceback = traceback.tb_next
    return found


def _has_source(filename: str) -> bool:
    """A file, or a pseudo-file such as an IPython cell (``<ipython-input-...>``) or a line
    of Python 3.13's prompt (``<python-input-N>``) whose lines are in ``linecache``; not
    code autodiffx generated itself."""
    if not filename.startswith("<"):
        return True
    return "autodiffx" not in filename and bool(linecache.getlines(filename))


class AutodiffError(Exception):
    """Base class of every error raised by autodiffx.

    ``message`` says what failed, ``location`` where (optional), and ``hint`` what to do.
    """

    def __init__(self, message: str, *, location: Location | None = None, hint: str = ""):
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        text = self.message
        if self.location is not None:
            text += f"\n  at {self.location}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self._render()


class ArgumentError(AutodiffError, ValueError):
    """A bad argument to an autodiffx function: ``wrt`` out of range, an unknown mode, ..."""


class InputTypeError(AutodiffError, TypeError):
    """An input that cannot be differentiated: a string, ``None``, a complex array, ..."""


class ComplexTangentError(InputTypeError):
    """A complex tangent met a real value (a mode mismatch): the derivative of a real
    value is real."""


class ComplexNotSupportedError(AutodiffError, NotImplementedError):
    """Complex values where autodiffx does not differentiate them: through a rule that
    holds for real values only (both modes), or, in reverse mode, a value its kind
    analysis took as real that turned out complex."""


class NonScalarOutputError(AutodiffError, TypeError):
    """``grad`` was asked for the gradient of a function whose output is not a scalar."""


class OutputTypeError(AutodiffError, TypeError):
    """The function returned something that is not a number or an array (``None``, a
    generator, a coroutine, a string)."""


class ComplexOutputError(OutputTypeError):
    """``grad`` of a function with a complex value, which has no gradient (use ``jvp`` or
    ``vjp``, or ``holomorphic=True`` for a holomorphic function)."""


class MissingRuleError(AutodiffError, NotImplementedError):
    """A function was called that has no derivative rule (and, in reverse mode, no source)."""


class MissingAttributeError(AutodiffError, AttributeError):
    """A value being differentiated lacks an attribute an ndarray has (``hasattr`` still
    works: this is an ``AttributeError``)."""


class NoSourceError(AutodiffError, TypeError):
    """Reverse mode needs a function's source code and could not get it."""


class UnsupportedSyntaxError(AutodiffError, NotImplementedError):
    """Reverse mode met a Python construct it does not differentiate."""


class DerivativeConversionError(AutodiffError, TypeError):
    """A value carrying a derivative was turned into a plain number, losing the derivative."""


class GradientCheckError(AutodiffError, AssertionError):
    """``check_grad`` found a gradient that disagrees with central differences."""


class UserCodeError(AutodiffError, ValueError):
    """NumPy raised an error inside the user's function; the message shows the user's line."""


__all__ = [
    "AutodiffError",
    "ArgumentError",
    "ComplexNotSupportedError",
    "ComplexOutputError",
    "ComplexTangentError",
    "DerivativeConversionError",
    "GradientCheckError",
    "InputTypeError",
    "Location",
    "MissingAttributeError",
    "MissingRuleError",
    "NoSourceError",
    "NonScalarOutputError",
    "OutputTypeError",
    "UnsupportedSyntaxError",
    "UserCodeError",
]
