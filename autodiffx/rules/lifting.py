"""How each adjoint helper is differentiated when forward mode runs generated reverse code.

Generated reverse-mode code calls the helpers of :mod:`autodiffx.rules.helpers`
(``unindex``, ``unbroadcast``, ``matmul_adjoint``, ...). Forward over reverse (``hvp``,
``jacfwd(grad(f))``) runs that code on dual numbers, and a helper then meets values that carry
tangents. Most helpers build arrays in ways a dual number cannot go through (``np.zeros`` and
item assignment, ``np.asarray``), so each one says, where it is defined, what its derivative
is:

* :func:`linear`: linear in the arguments at the given positions (the cotangent ``g``), and
  reading the arguments at ``shapes`` only for their shapes;
* :func:`product`: a ``(g, x, y, side)`` product adjoint, bilinear in ``g`` and the operand
  that is not ``side``;
* :func:`einsum`: the ``(subscripts, side, g, *operands)`` einsum adjoint, multilinear
  likewise;
* :func:`binary`: a two-argument helper with a tangent formula
  ``tangent(helper, a, b, ta, tb)``, per direction;
* :func:`unary`: a helper whose tangent, for all directions at once, is
  ``tangent(t, x, *rest)``;
* :func:`constant`: piecewise constant, so its tangent is zero.

The declaration wraps the helper in a dispatcher: with no traced argument (the reverse-mode
case) it calls the helper at once, at the cost of one type check per argument. A traced
value is an instance of :class:`Traced`; forward mode's ``Dual`` is one, and its class
implements the differentiation (``__autodiffx_helper__``). This module needs nothing from
forward mode, and a helper is the same object whichever modules have been imported.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class Traced:
    """A value that carries derivatives through NumPy code (forward mode's ``Dual``).

    The rules call two class methods of a subclass, so that they need nothing from the mode
    that traces:

    * ``__autodiffx_helper__(helper, args, kwargs)``: a call of a helper declared here with
      a traced positional argument (or list item);
    * ``__autodiffx_rule__(rule, function, args, kwargs)``: a call of a Python function
      that has a rule but is not a NumPy function (the SciPy functions of
      :mod:`autodiffx.rules.scipy_rules`), with a traced argument.
    """

    __slots__ = ()


@dataclass(frozen=True)
class HelperDerivative:
    """What a helper's derivative is: ``kind`` names one of the declarations above."""

    kind: str
    linear: tuple[int, ...] = ()
    shapes: tuple[int, ...] = ()
    tangent: Callable | None = None
    refused: tuple[int, ...] = ()  # positions whose tangent would need a rule there is not
    refusal: str = ""  # what a refused derivative is, for the message


def _declare(derivative: HelperDerivative):
    def declare(helper: Callable) -> Callable:
        @functools.wraps(helper)
        def dispatch(*args, **kwargs):
            traced = traced_in(args)
            if traced is None:
                return helper(*args, **kwargs)
            return type(traced).__autodiffx_helper__(dispatch, args, kwargs)

        dispatch.derivative = derivative
        return dispatch

    return declare


def traced_in(args) -> Traced | None:
    """The first traced value among ``args`` (or inside a list argument), else None."""
    for arg in args:
        kind = type(arg)
        if kind is np.ndarray or kind is float:
            continue
        if isinstance(arg, Traced):
            return arg
        if kind is list:
            for item in arg:
                if isinstance(item, Traced):
                    return item
    return None


def linear(*positions: int, shapes: tuple[int, ...] = (), refused: tuple[int, ...] = (),
           refusal: str = ""):
    """Linear in the arguments at ``positions``; those at ``shapes`` give only a shape, and
    a traced argument at ``refused`` is refused: its derivative (``refusal``, e.g. "a third
    derivative through np.prod") has no rule."""
    return _declare(HelperDerivative("linear", positions, shapes, refused=refused,
                                     refusal=refusal))


def unary(tangent: Callable, refusal: str = ""):
    """The tangent of ``helper(x, *rest)`` is ``tangent(t, x, *rest)``, where ``t`` holds the
    tangent directions of ``x`` along a leading axis; ``tangent`` itself is not
    differentiated again (``refusal`` names what is then refused)."""
    return _declare(HelperDerivative("unary", (0,), tangent=tangent, refusal=refusal))


def binary(tangent: Callable):
    """The tangent of ``helper(a, b)``, per direction, is ``tangent(helper, a, b, ta, tb)``
    (``ta`` or ``tb`` is None for an argument without a tangent)."""
    return _declare(HelperDerivative("binary", (0, 1), tangent=tangent))


product = _declare(HelperDerivative("product"))
einsum = _declare(HelperDerivative("einsum"))
constant = _declare(HelperDerivative("constant"))
