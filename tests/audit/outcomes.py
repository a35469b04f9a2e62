"""What each mode does with one audit program, and the report of all of them.

An outcome is one of

* ``right``: a gradient that agrees with central differences (float64, h = 1e-5, at the
  maker's generic point) to :data:`TOLERANCE` in :func:`autodiffx.check.relative_error`
  (relative, with an absolute floor of 1: ``|num - grad| / max(1, |num|, |grad|)``);
* ``refused``: an :class:`autodiffx.AutodiffError` (the error's class is kept in the detail);
* ``WRONG``: a gradient of the wrong shape or value, or a value (from
  :func:`autodiffx.value_and_grad`) that is not what the plain program returns;
* ``CRASH``: any other exception (a ``TypeError``, ``KeyError`` from our internals, ...);
* ``MUTATED``: the caller's input arrays changed;
* ``no maker``: the audit could not build a program NumPy itself accepts.

The first two are what the project's rule allows; the rest are failures.
"""

from __future__ import annotations

import collections
import warnings
from dataclasses import dataclass

import numpy as np

import autodiffx
from autodiffx.check import relative_error
from autodiffx.errors import AutodiffError, UserCodeError
from tests.catalogue.test_catalogue import central

from .makers import NoMaker, Program

MODES = ("forward", "reverse")
TOLERANCE = 1e-5
ALLOWED = ("right", "refused")


@dataclass
class Outcome:
    status: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}" if self.detail else self.status


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(
            a, b, equal_nan=True)
    return a == b


def expected_gradient(program: Program) -> list:
    """Central differences of the program in each differentiated argument."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return [central(program.function, program.args, position)
                for position in range(len(program.params))]


def check(program: Program, mode: str) -> Outcome:
    """Differentiate ``program`` in ``mode`` and say how it went."""
    args = tuple(_copy(a) for a in program.args)
    wrt = tuple(range(len(args)))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            value, got = autodiffx.value_and_grad(program.function, wrt=wrt, mode=mode)(*args)
    except AutodiffError as error:
        if not all(_same(a, b) for a, b in zip(args, program.args, strict=True)):
            return Outcome("MUTATED", "the caller's input changed (then refused)")
        kind = type(error).__name__
        first = str(error).splitlines()[0][:120]
        if isinstance(error, UserCodeError):
            kind += " (NumPy failed on a value the plain program handles)"
        if error.location is None:  # allowed, but the message should say file:line
            first += " [no file:line]"
        return Outcome("refused", f"{kind}: {first}")
    except Exception as error:  # anything else is a crash: what the audit is for
        first = str(error).splitlines()[0][:160] if str(error) else ""
        return Outcome("CRASH", f"{type(error).__name__}: {first}")
    if not all(_same(a, b) for a, b in zip(args, program.args, strict=True)):
        return Outcome("MUTATED", "the caller's input changed")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        plain = program.function(*program.args)
    if relative_error(plain, value) > TOLERANCE:
        return Outcome("WRONG", f"the value is {value!r}, the plain program gives {plain!r}")
    expected = expected_gradient(program)
    if not isinstance(got, tuple) or len(got) != len(expected):
        return Outcome("WRONG", f"returned {type(got).__name__}, not a tuple of {len(wrt)}")
    for name, g, e in zip(program.params, got, expected, strict=True):
        if np.shape(g) != np.shape(e):
            return Outcome("WRONG", f"d/d{name} has shape {np.shape(g)}, not {np.shape(e)}")
        try:
            g = np.asarray(g, dtype=float)
        except (TypeError, ValueError) as error:
            return Outcome("WRONG", f"d/d{name} is not numbers: {error}")
        if not np.all(np.isfinite(g)) or np.max(relative_error(e, g), initial=0.0) > TOLERANCE:
            worst = np.unravel_index(np.argmax(relative_error(e, g)), np.shape(e)) if np.ndim(
                e) else ()
            return Outcome("WRONG", f"d/d{name}{list(worst)}: got {np.ravel(g)[:4]}..., "
                                    f"central differences {np.ravel(e)[:4]}...")
    return Outcome("right")


# --------------------------------------------------------------------------- the report


def run_all(programs: list[Program]) -> dict[tuple[str, str], Outcome]:
    return {(p.entry.key, mode): check(p, mode) for p in programs for mode in MODES}


def table(programs: list[Program], missing: list[NoMaker], outcomes) -> str:
    """A markdown table: one row per callable, family, forward and reverse outcomes."""
    rows = ["| callable | family | forward | reverse |", "| --- | --- | --- | --- |"]
    everything = sorted([*programs, *missing], key=lambda p: p.entry.key)
    for item in everything:
        name = item.entry.key
        if isinstance(item, NoMaker):
            rows.append(f"| `{name}` | no maker | no maker ({item.reason}) | no maker |")
            continue
        cells = [str(outcomes[name, mode]).replace("|", "/") for mode in MODES]
        rows.append(f"| `{name}` | {item.family} | {cells[0]} | {cells[1]} |")
    return "\n".join(rows) + "\n"


def counts(missing: list[NoMaker], outcomes) -> dict[str, collections.Counter]:
    result = {}
    for mode in MODES:
        counter = collections.Counter(o.status for (_, m), o in outcomes.items() if m == mode)
        counter["no maker"] = len(missing)
        result[mode] = counter
    return result
