"""The call a command makes: ``--args`` checked against ``FUNC``'s signature, and echoed.

A command calls ``FUNC(*args)`` with the values ``--args`` describes. Too few or too many
would fail inside autodiffx with a raw ``TypeError`` (``check``, ``graph``), or worse, be
accepted and specialise the code to the wrong ranks (``show``, ``export``), so the count is
checked first, against the signature, and refused with a message that names the
parameters. ``--args`` can be long (a literal pasted from a data file), so messages quote
an excerpt of it.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import replace
from typing import Any

from ..check import GradCheckReport
from ..errors import ArgumentError
from .target import Target
from .values import excerpt


def check_call(target: Target, example: tuple[Any, ...], text: str) -> None:
    """Refuse ``example`` (from the ``--args`` ``text``) when ``target`` cannot be called
    with it as its positional arguments."""
    try:
        signature = inspect.signature(target.function)
    except (TypeError, ValueError):
        return  # a builtin without a signature: the call itself will tell
    try:
        signature.bind(*example)
    except TypeError:
        parameters = list(signature.parameters.values())
        positional = [p for p in parameters
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        required = [p.name for p in positional if p.default is p.empty]
        keyword_only = [p.name for p in parameters
                        if p.kind == p.KEYWORD_ONLY and p.default is p.empty]
        if keyword_only and len(example) >= len(required):
            raise ArgumentError(
                f"{target} has required keyword-only argument(s) "
                f"{', '.join(keyword_only)}, which --args cannot give",
                hint="give them defaults, or differentiate a small wrapper that passes "
                "them",
            ) from None
        names = ", ".join(p.name for p in positional)
        takes = _count(required, positional, parameters)
        raise ArgumentError(
            f"{target} takes {takes} ({names}), but --args gave {len(example)}: "
            f"{excerpt(text)}",
            hint="give a tuple with one value per argument, in order, e.g. --args "
            f"\"{_sample(len(required))}\", or shapes of random inputs, e.g. --args "
            f"\"shape:{','.join(['(3,)'] * max(len(required), 1))}\"",
        ) from None


def _count(required: list[str], positional: list, parameters: list) -> str:
    def arguments(n: int) -> str:
        return f"{n} argument" + ("" if n == 1 else "s")

    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return f"at least {arguments(len(required))}"
    if len(required) == len(positional):
        return arguments(len(required))
    return f"{len(required)} to {arguments(len(positional))}"


def _sample(count: int) -> str:
    if count == 1:
        return "1.0"
    return "(" + ", ".join(["1.0"] * count) + ")"


def name_rows(report: GradCheckReport, target: Target) -> GradCheckReport:
    """``report`` with each ``argument i`` in it replaced by the parameter's name, for a
    ``--wrt`` that named the arguments."""
    try:
        parameters = list(inspect.signature(target.function).parameters)
    except (TypeError, ValueError):
        return report
    position = re.compile(r"^argument (\d+)")

    def named(where: str) -> str:
        found = position.match(where)
        if found is None or int(found.group(1)) >= len(parameters):
            return where
        return parameters[int(found.group(1))] + where[found.end():]

    rows = [(named(where), *rest) for where, *rest in report.rows]
    return replace(report, rows=rows, worst=named(report.worst))
