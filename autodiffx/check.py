"""Numeric gradient checks: compare a gradient with central differences.

The test is the one the CS224N notes teach: the central difference
(f(x + h) − f(x − h)) / 2h with h ≈ 1e-4, compared entry by entry through the relative
error |num − grad| / max(1, |num|, |grad|), which fails above 1e-5. A large input makes the
entry-by-entry check slow (two evaluations per entry), so above ``max_entries`` entries the
check compares directional derivatives along a few random directions instead: for a unit
vector v, (f(x + h·v) − f(x − h·v)) / 2h against ⟨grad, v⟩.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .api import grad
from .arguments import prepare
from .errors import ArgumentError, GradientCheckError


@dataclass
class GradCheckReport:
    """What [`check_grad`][autodiffx.check_grad] compared, and how far apart the numbers were.

    It prints as one line (two with a warning); ``rows`` holds every comparison.
    """

    passed: bool
    max_error: float
    """The largest relative error seen: |num − grad| / max(1, |num|, |grad|)."""
    method: str
    """``"entrywise"`` or ``"directional"``."""
    checks: int
    """How many entries or directions were compared."""
    worst: str
    """Where the largest error was, as readable text."""
    trivial: bool = False
    """True when the value and the gradient were all zero, so the check proves little."""
    rows: list[tuple[str, float, float, float]] = field(default_factory=list)
    """(where, numeric, analytic, relative error) for each comparison."""

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        text = (
            f"gradient check {verdict}: {self.checks} {self.method} comparisons, "
            f"largest relative error {self.max_error:.2e} at {self.worst}"
        )
        if self.trivial:
            text += (
                "\n  warning: the function and its gradient are zero here, so the check "
                "passes trivially; try another point"
            )
        return text


def relative_error(numeric, analytic):
    """|num − grad| / max(1, |num|, |grad|), entry by entry (the lecture's reldiff)."""
    numeric = np.asarray(numeric, dtype=float)
    analytic = np.asarray(analytic, dtype=float)
    scale = np.maximum(1.0, np.maximum(np.abs(numeric), np.abs(analytic)))
    return np.abs(numeric - analytic) / scale


def check_grad(
    f: Callable,
    *args,
    wrt=0,
    grad_fn: Callable | None = None,
    eps: float = 1e-4,
    rtol: float = 1e-5,
    mode: str = "reverse",
    max_entries: int = 200,
    directions: int = 4,
    seed: int = 0,
    raise_on_failure: bool = True,
) -> GradCheckReport:
    """Compare a gradient of the scalar function ``f`` at ``args`` with central differences.

    Each entry of each ``wrt`` argument is moved by ±``eps`` in turn, and the central
    difference (f(x + eps) − f(x − eps)) / 2 eps is compared with the gradient's entry
    through the relative error |num − grad| / max(1, |num|, |grad|). An entry of a complex
    argument is moved in its real part and in its imaginary part, compared with the real
    and the imaginary part of the gradient (d/dx + i d/dy, see ``docs/complex.md``). That costs two
    evaluations of ``f`` per entry, so above ``max_entries`` entries the check compares
    directional derivatives along ``directions`` random unit vectors v instead:
    (f(x + eps v) − f(x − eps v)) / 2 eps against ⟨grad, v⟩.

    Args:
        f: The function, with a scalar output.
        *args: The point to check at: all of ``f``'s arguments.
        wrt: The arguments whose gradient is checked, as in [`grad`][autodiffx.grad]: an
            index, a name, or a tuple of them.
        grad_fn: The gradient to check: a function with ``f``'s signature returning what
            ``grad(f, wrt)`` would, for example a gradient derived by hand. Left out,
            autodiffx's own ``grad(f, wrt, mode=mode)``.
        eps: The step h of the central differences. 1e-4, the course notes' choice,
            balances the truncation error (about h²) against rounding (about 1e-16 / h).
        rtol: The largest relative error that passes. Central differences in float64 are
            good to about 1e-8 for a smooth function, so 1e-5 leaves room; a wrong rule
            usually gives 1e-2 or more.
        mode: The mode of autodiffx's gradient when ``grad_fn`` is not given.
        max_entries: Above this many entries in all the ``wrt`` arguments together, check
            directional derivatives instead of entries (the report's ``method`` says which).
        directions: How many random directions the directional check uses.
        seed: The seed of the random directions.
        raise_on_failure: Raise when the check fails; with ``False``, return the failing
            report instead.

    Returns:
        A [`GradCheckReport`][autodiffx.GradCheckReport] (``passed``, ``max_error``, the
        ``worst`` place, every comparison in ``rows``).

    Raises:
        GradientCheckError: A relative error exceeds ``rtol`` (and ``raise_on_failure``).
        ArgumentError: ``grad_fn`` returned a different number of gradients than ``wrt``
            names.

    Examples:
        A gradient derived by hand, checked entry by entry:

        >>> import numpy as np
        >>> from autodiffx import check_grad
        >>> report = check_grad(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), mode="forward",
        ...                     grad_fn=lambda x: 3 * x ** 2)
        >>> report.passed, report.method, report.checks
        (True, 'entrywise', 2)

        A 30 × 20 matrix has 600 entries, more than ``max_entries``: three random
        directions are checked instead, and a wrong gradient is reported, not raised.

        >>> A = np.random.default_rng(0).normal(size=(30, 20))
        >>> report = check_grad(lambda A: np.sum(np.tanh(A)), A, mode="forward",
        ...                     grad_fn=lambda A: 1 - np.tanh(A),
        ...                     directions=3, raise_on_failure=False)
        >>> report.method, report.checks, report.passed
        ('directional', 3, False)
    """
    prepared, indices, many = prepare(f, args, wrt)
    gradient_function = grad_fn or grad(f, wrt, mode=mode)
    analytic = gradient_function(*prepared)
    analytic = list(analytic) if many else [analytic]
    if len(analytic) != len(indices):
        raise ArgumentError(
            f"the gradient function returned {len(analytic)} gradient(s) for "
            f"{len(indices)} argument(s) in wrt"
        )
    total = sum(int(np.size(prepared[i])) for i in indices)
    evaluate = _evaluator(f, prepared)
    if total <= max_entries:
        rows = _entrywise(evaluate, prepared, indices, analytic, eps)
        method = "entrywise"
    else:
        rows = _directional(evaluate, prepared, indices, analytic, eps, directions, seed)
        method = "directional"
    errors = [row[3] for row in rows]
    worst = int(np.argmax(errors))
    value = evaluate({})
    trivial = float(np.abs(value)) == 0.0 and all(
        not np.any(np.asarray(a)) for a in analytic
    )
    report = GradCheckReport(
        passed=max(errors) <= rtol,
        max_error=float(max(errors)),
        method=method,
        checks=len(rows),
        worst=rows[worst][0],
        trivial=trivial,
        rows=rows,
    )
    if not report.passed and raise_on_failure:
        where, numeric, claimed, error = rows[worst]
        raise GradientCheckError(
            f"the gradient disagrees with central differences at {where}: numeric "
            f"{numeric:.8g}, gradient {claimed:.8g}, relative error {error:.2e} > {rtol:g}",
            hint="check the derivative of the operations feeding that entry; a point at a "
            "kink (abs, max, ReLU at 0) can also fail, so try another point",
        )
    return report


def _evaluator(f, args):
    def evaluate(changes: dict[int, np.ndarray]):
        call = [changes.get(i, a) for i, a in enumerate(args)]
        return float(np.asarray(f(*call)).reshape(()))

    return evaluate


def _perturbed(value, flat_index, step):
    kind = complex if np.iscomplexobj(value) else float
    array = np.array(value, dtype=kind, copy=True)
    array.reshape(-1)[flat_index] += step
    return array if np.ndim(value) else kind(array)


def _parts(value) -> list[tuple[complex, str, Callable]]:
    """The directions an entry moves in: its real part, and for a complex value its
    imaginary part too, with the part of the gradient that belongs to each (the gradient
    of a real function of z = x + iy is d/dx + i d/dy, see docs/complex.md)."""
    if not np.iscomplexobj(value):
        return [(1.0, "", np.real)]
    return [(1.0, " (real part)", np.real), (1j, " (imaginary part)", np.imag)]


def _entrywise(evaluate, args, indices, analytic, eps):
    rows = []
    for index, gradient in zip(indices, analytic, strict=True):
        gradient = np.asarray(gradient).reshape(-1)
        shape = np.shape(args[index])
        for flat in range(int(np.size(args[index]))):
            for unit, part, take in _parts(args[index]):
                plus = evaluate({index: _perturbed(args[index], flat, unit * eps)})
                minus = evaluate({index: _perturbed(args[index], flat, -unit * eps)})
                numeric = (plus - minus) / (2 * eps)
                claimed = float(take(gradient[flat]))
                where = f"argument {index}" + (
                    f"[{', '.join(map(str, np.unravel_index(flat, shape)))}]" if shape else ""
                ) + part
                rows.append((where, numeric, claimed, float(relative_error(numeric, claimed))))
    return rows


def _directional(evaluate, args, indices, analytic, eps, directions, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(directions):
        vectors = {i: sum(unit * rng.standard_normal(np.shape(args[i]))
                          for unit, _, _ in _parts(args[i])) for i in indices}
        norm = np.sqrt(sum(float(np.sum(np.abs(v) ** 2)) for v in vectors.values()))
        vectors = {i: v / norm for i, v in vectors.items()}
        plus = evaluate({i: np.asarray(args[i]) + eps * v for i, v in vectors.items()})
        minus = evaluate({i: np.asarray(args[i]) - eps * v for i, v in vectors.items()})
        numeric = (plus - minus) / (2 * eps)
        # the derivative along v: Re(sum(conj(g) v)), the real inner product of pairs
        claimed = sum(
            float(np.real(np.sum(np.conj(np.asarray(g)) * vectors[i])))
            for i, g in zip(indices, analytic, strict=True)
        )
        rows.append(
            (f"random direction {d}", numeric, claimed, float(relative_error(numeric, claimed)))
        )
    return rows
