"""The list of supported functions, written from the registry (``docs/functions.md``).

``python -m autodiffx.rules.catalog docs/functions.md`` rewrites the page; a test fails when
the page and the registry disagree, so the list cannot go stale.
"""

from __future__ import annotations

import operator
import sys

import numpy as np

from . import helpers
from .registry import DISPLAY_NAMES, Rule, all_rules, describe

HEADER = """# Supported functions

Every function below has one rule in the registry, read by both modes. The list is written
from the registry by `python -m autodiffx.rules.catalog docs/functions.md`, and a test
checks that it is current. A call of a function that is not listed, with a value being
differentiated, is refused with a message; it is never taken as a constant.

{count} functions have a derivative rule; {constant} more are known to have derivative 0
wherever they have one (comparisons, rounding, index queries), so a derivative may pass
around them. The last column gives the convention where a rule has a choice to make (a
kink, a tie, a singular point) or a limit. The ndarray methods (`x.sum()`, `x.T`,
`x.reshape(...)`, `x.repeat(...)`, ...) follow the function of the same name, and six
methods of ufuncs the function they equal: `np.add.reduce` and `np.add.accumulate` are
`np.sum` and `np.cumsum`, `np.multiply.reduce` and `np.multiply.accumulate` are `np.prod`
and `np.cumprod`, `np.maximum.reduce` and `np.minimum.reduce` are `np.max` and `np.min`
(over `axis`, 0 when left out; with `dtype=`, `out=`, `initial=` or `where=` they are
refused, as are the other methods of ufuncs).
"""


SCIPY_SECTION = """## SciPy (the `scipy` extra)

With SciPy installed (`pip install "autodiffx[scipy]"`), these functions have rules too, in
both modes (autodiffx/rules/scipy_rules.py); without it they are not registered. The page
lists them by hand, so that it does not depend on whether SciPy is installed; a test run
with SciPy checks that the list is exactly the registered SciPy rules.

| function | derivative with respect to | convention |
| --- | --- | --- |
| `scipy.special.logsumexp` | `a`, `b` | Differentiable in a and in the weights b; return_sign=True is refused. |
| `scipy.special.softmax`, `scipy.special.log_softmax` | `x` | |
| `scipy.special.expit`, `scipy.special.logit` | `x` | logit's slope is infinite at 0 and 1. |
| `scipy.special.erf`, `scipy.special.erfc` | `x` | |
| `scipy.special.gammaln`, `scipy.special.digamma` | `x` | d gammaln = digamma (also for negative x), d digamma = polygamma(1, x). |
| `scipy.special.polygamma` | `x` | d polygamma(n, x) = polygamma(n + 1, x); the order n is an integer. |
| `scipy.special.xlogy`, `scipy.special.xlog1py` | `x`, `y` | xlogy(0, y) = 0; d/dx = log(y), d/dy = x / y, taken as 0 where x = 0 (xlog1py likewise with 1 + y). |
| `scipy.special.erfinv`, `scipy.special.erfcinv` | `x` | Infinite slope at ±1 (erfinv) and at 0 and 2 (erfcinv). |
| `scipy.special.gamma`, `scipy.special.rgamma` | `x` | Γ' = Γ ψ; infinite at the poles 0, -1, -2, ... |
| `scipy.special.multigammaln` | `a` | The dimension d is an integer. |
| `scipy.special.beta`, `scipy.special.betaln` | `a`, `b` | betaln as gammaln: the derivative of the logarithm of the absolute value. |
| `scipy.special.betainc` | `x` | Not in the shape parameters a and b. |
| `scipy.special.gammainc`, `scipy.special.gammaincc` | `x` | Not in the shape a. |
| `scipy.special.j0`, `scipy.special.j1`, `scipy.special.y0`, `scipy.special.y1`, `scipy.special.i0`, `scipy.special.i1` | `x` | From the Bessel recurrences. |
| `scipy.special.jv`, `scipy.special.yv`, `scipy.special.yn`, `scipy.special.iv`, `scipy.special.ive` | `x` | From the recurrences; not in the order v. |
| `scipy.special.gammasgn` | (derivative 0) | The sign of Γ. |
| `scipy.linalg.solve_triangular` | `a`, `b` | a of one matrix (trans 0, 1, 2, 'N', 'T', 'C'); only the triangle it reads has a derivative (not the diagonal with unit_diagonal=True). |
| `scipy.linalg.cho_solve` | `b` | The Cholesky factor c in (c, lower) is refused. |
| `scipy.linalg.expm` | `a` | From the block matrix expm([[a, e], [0, a]]). |
| `scipy.stats.norm.pdf`, `scipy.stats.norm.logpdf`, `scipy.stats.norm.cdf`, `scipy.stats.norm.logcdf`, `scipy.stats.norm.sf`, `scipy.stats.norm.logsf` | `x`, `loc`, `scale` | Registered when scipy.stats is imported; the other distributions have none but the four below. |
| `scipy.stats.t.pdf`, `scipy.stats.t.logpdf` | `x`, `df`, `loc`, `scale` | From z = (x - loc) / scale and the standard log-density. |
| `scipy.stats.t.cdf`, `scipy.stats.t.logcdf`, `scipy.stats.t.sf`, `scipy.stats.t.logsf` | `x`, `loc`, `scale` | Not in the shape `df` (no closed form): refused. |
| `scipy.stats.gamma.pdf`, `scipy.stats.gamma.logpdf` | `x`, `a`, `loc`, `scale` | From z = (x - loc) / scale and the standard log-density. |
| `scipy.stats.gamma.cdf`, `scipy.stats.gamma.logcdf`, `scipy.stats.gamma.sf`, `scipy.stats.gamma.logsf` | `x`, `loc`, `scale` | Not in the shape `a` (no closed form): refused. |
| `scipy.stats.beta.pdf`, `scipy.stats.beta.logpdf` | `x`, `a`, `b`, `loc`, `scale` | From z = (x - loc) / scale and the standard log-density. |
| `scipy.stats.beta.cdf`, `scipy.stats.beta.logcdf`, `scipy.stats.beta.sf`, `scipy.stats.beta.logsf` | `x`, `loc`, `scale` | Not in the shapes `a`, `b` (no closed form): refused. |
| `scipy.stats.chi2.pdf`, `scipy.stats.chi2.logpdf` | `x`, `df`, `loc`, `scale` | From z = (x - loc) / scale and the standard log-density. |
| `scipy.stats.chi2.cdf`, `scipy.stats.chi2.logcdf`, `scipy.stats.chi2.sf`, `scipy.stats.chi2.logsf` | `x`, `loc`, `scale` | Not in the shape `df` (no closed form): refused. |
| `scipy.signal.convolve` | `in1`, `in2` | Operands of the same rank; modes 'full', 'valid', 'same'. Registered when scipy.signal is imported (before or after autodiffx). |

Forward mode reaches the functions that are not ufuncs (logsumexp, softmax, log_softmax,
polygamma, multigammaln, solve_triangular, cho_solve, expm, convolve) through the names in `scipy.special` and
`scipy.linalg`, which importing autodiffx rebinds to versions that dispatch on values being
differentiated (and otherwise call SciPy's own at once); a name imported from SciPy before
autodiffx was imported keeps SciPy's function, which forward mode refuses (reverse mode
differentiates either). An exported gradient that needs them imports them from SciPy.
"""  # noqa: E501 (table rows)


def _names(rule: Rule) -> list[str]:
    return ["x[index]" if primitive is operator.getitem
            else "np.add.at(y, index, v)" if primitive is helpers.scatter_add
            else describe(primitive) for primitive in rule.primitives]


def _arguments(rule: Rule) -> str:
    """The parameters a derivative flows through."""
    names = [p for p, t, a in zip(rule.params, rule.tangents, rule.adjoints, strict=False)
             if t is not None or a is not None]
    return ", ".join(f"`{n}`" for n in names)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _ours(rule: Rule) -> bool:
    """A rule for NumPy's or Python's functions or autodiffx's own (``autodiffx.stop_gradient``;
    not one a user registered for their own, nor one of the optional SciPy rules, which
    docs/functions.md lists by hand: the page must not depend on whether SciPy is
    installed)."""
    return all(p is helpers.scatter_add or id(p) not in DISPLAY_NAMES and (
        (getattr(p, "__module__", None) or "numpy").split(".")[0] in (
            "numpy", "builtins", "_operator", "operator", "copy") or isinstance(p, np.ufunc)
        or getattr(p, "__module__", None) == "autodiffx")
               for p in rule.primitives)


def markdown() -> str:
    """The page: one row per function with a rule, then the constant ones.

    >>> text = markdown()
    >>> "| `np.linalg.eigh` (2 results) | `a` |" in text, "`np.argmax`" in text
    (True, True)
    """
    rules = [rule for rule in all_rules() if _ours(rule)]
    differentiable = sorted(((name, rule) for rule in rules if rule.differentiable
                             for name in _names(rule)), key=lambda item: item[0].lower())
    constant = sorted({name for rule in rules if not rule.differentiable
                       for name in _names(rule)}, key=str.lower)
    lines = [HEADER.format(count=len(differentiable), constant=len(constant))]
    lines.append("| function | derivative with respect to | convention |")
    lines.append("| --- | --- | --- |")
    for name, rule in differentiable:
        results = f" ({rule.outputs} results)" if isinstance(rule.outputs, int) else (
            " (a list of parts)" if rule.outputs else "")
        lines.append(f"| `{name}`{results} | {_arguments(rule)} | {_cell(rule.doc)} |")
    lines.append("")
    lines.append("## Derivative 0 wherever it exists")
    lines.append("")
    lines.append(", ".join(f"`{name}`" for name in constant))
    lines.append("")
    lines.append(SCIPY_SECTION)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = markdown()
    if argv:
        with open(argv[0], "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
