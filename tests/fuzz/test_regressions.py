"""The fuzzer's shrunk failures, checked in every listed mode against closed forms and
central differences (same tolerance as ``test_fuzz.py``); for a complex argument the
differences are taken in the real and the imaginary direction and packed as d/dx + i d/dy
(docs/complex.md), and a real argument's gradient must be real. In the second-order modes
("reverse over reverse", "forward over reverse", "forward over forward") the Hessian blocks
``outer(grad(f, wrt=i, mode=inner), wrt=j)`` are checked against central differences of
that inner gradient."""

from __future__ import annotations

import numpy as np
import pytest

import autodiffx
from autodiffx.check import relative_error

from .harness import copies
from .regressions import REGRESSIONS, RIGHT_OR_REFUSED, Regression
from .test_fuzz import TOLERANCE

H = 1e-5
SECOND_ORDER = {"reverse over reverse": (autodiffx.jacrev, "reverse"),
                "forward over reverse": (autodiffx.jacfwd, "reverse"),
                "forward over forward": (autodiffx.jacfwd, "forward")}
"""Second-order mode -> (the outer transform, the inner gradient's mode)."""

CASES = [
    pytest.param(
        regression,
        mode,
        id=f"{regression.name}-{index}-{mode}",
        marks=[pytest.mark.xfail(strict=True, reason=regression.reason)]
        if mode in regression.broken
        else [],
    )
    for index, regression in enumerate(REGRESSIONS)
    for mode in regression.modes
]


def central(function, args, position):
    """d function / d args[position], shaped output shape + argument shape: for a complex
    argument d/dx + i d/dy (docs/complex.md), for a real one d/dx (never moved off the real
    line)."""
    complex_argument = np.iscomplexobj(args[position])
    kind = complex if complex_argument else float
    array = np.array(args[position], dtype=kind)
    columns = {}
    for entry in np.ndindex(array.shape):
        columns[entry] = 0.0
        for direction in (1.0, 1j) if complex_argument else (1.0,):
            values = []
            for sign in (1.0, -1.0):
                shifted = array.copy()
                shifted[entry] += sign * H * direction
                moved = list(args)
                moved[position] = kind(shifted) if np.ndim(args[position]) == 0 else shifted
                values.append(np.asarray(function(*copies(moved))))
            columns[entry] = columns[entry] + direction * (values[0] - values[1]) / (2 * H)
    first = np.asarray(columns[next(iter(columns))])
    result = np.zeros(first.shape + array.shape, dtype=first.dtype if complex_argument or (
        first.dtype.kind == "c") else float)
    for entry, column in columns.items():
        result[(Ellipsis, *entry)] = column
    return result


def check_hessian(regression: Regression, outer, inner: str = "reverse") -> None:
    size = len(regression.wrt)
    expected = regression.expected or ((None,) * size,) * size
    for i, row in zip(regression.wrt, expected, strict=True):
        gradient = autodiffx.grad(regression.function, wrt=i, mode=inner)
        blocks = outer(gradient, wrt=regression.wrt)(*copies(regression.args))
        for j, got, closed in zip(regression.wrt, blocks, row, strict=True):
            numeric = central(gradient, regression.args, j)
            assert np.shape(got) == np.shape(numeric)
            if closed is not None:
                np.testing.assert_allclose(got, closed, rtol=1e-12, atol=1e-12)
            assert np.max(relative_error(numeric, got)) <= TOLERANCE


def central_tree(function, args, position):
    """``central`` for an argument that may be a dict: a dict of blocks then."""
    arg = args[position]
    if not isinstance(arg, dict):
        return central(function, args, position)
    blocks = {}
    for key in arg:
        def of_leaf(leaf, key=key):
            moved = list(args)
            moved[position] = {**arg, key: leaf}
            return function(*moved)
        blocks[key] = central(lambda leaf, f=of_leaf: f(leaf), [arg[key]], 0)
    return blocks


def compare_tree(got, numeric):
    if isinstance(numeric, dict):
        assert isinstance(got, dict) and set(got) == set(numeric), got
        for key in numeric:
            compare_tree(got[key], numeric[key])
        return
    assert np.shape(got) == np.shape(numeric)
    assert errors(numeric, got) <= TOLERANCE


def errors(numeric, got) -> float:
    """The largest relative error; a complex ``got`` where ``numeric`` is real is wrong
    (docs/complex.md: the gradient of a real argument is real)."""
    numeric, got = np.asarray(numeric), np.asarray(got)
    if not np.iscomplexobj(numeric):
        assert not np.iscomplexobj(got), f"a complex result for a real argument: {got!r}"
        return float(np.max(relative_error(numeric, got), initial=0.0))
    scale = np.maximum(1.0, np.maximum(np.abs(numeric), np.abs(got)))
    return float(np.max(np.abs(numeric - got) / scale, initial=0.0))


def check_right_or_refused(regression: Regression, mode: str) -> None:
    """The widened fuzzer's open bugs: right against central differences, or refused."""
    undo = None
    try:
        if mode in ("jacrev", "jacfwd"):
            transform = getattr(autodiffx, mode)(regression.function, wrt=regression.wrt)
            got = transform(*copies(regression.args))
            for position, block in zip(regression.wrt, got, strict=True):
                compare_tree(block, central_tree(regression.function, regression.args, position))
            return
        plain = mode.removesuffix(" after rebind")
        gradient = autodiffx.grad(regression.function, wrt=regression.wrt, mode=plain)
        transforms = [gradient]
        if mode.endswith("after rebind"):
            gradient(*copies(regression.args))
            undo = regression.rebind()
            transforms.append(autodiffx.grad(regression.function, wrt=regression.wrt,
                                             mode=plain))
        for transform in transforms:
            result = transform(*copies(regression.args))
            for position, got in zip(regression.wrt, result, strict=True):
                compare_tree(got, central_tree(regression.function, regression.args, position))
    except autodiffx.AutodiffError as error:
        assert "hint:" in str(error), str(error)
    finally:
        if undo is not None:
            undo()


@pytest.mark.parametrize(("regression", "mode"), CASES)
def test_regression(regression: Regression, mode: str):
    if regression.expected is RIGHT_OR_REFUSED:
        check_right_or_refused(regression, mode)
        return
    if mode in SECOND_ORDER:
        check_hessian(regression, *SECOND_ORDER[mode])
        return
    gradient = autodiffx.grad(regression.function, wrt=regression.wrt, mode=mode)
    if isinstance(regression.expected, type):
        with pytest.raises(regression.expected) as caught:
            gradient(*copies(regression.args))
        assert "hint:" in str(caught.value)
        return
    result = gradient(*copies(regression.args))
    expected = regression.expected or (None,) * len(regression.wrt)
    for position, got, closed in zip(regression.wrt, result, expected, strict=True):
        numeric = central(regression.function, regression.args, position)
        assert np.shape(got) == np.shape(numeric)
        if closed is not None:
            np.testing.assert_allclose(got, closed, rtol=1e-12, atol=1e-12)
        assert errors(numeric, got) <= TOLERANCE
