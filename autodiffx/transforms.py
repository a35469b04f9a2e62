"""What reverse mode may know about the transforms of :mod:`autodiffx.api`.

Reverse mode meets functions made by ``grad`` and ``value_and_grad`` in three places: reverse
over reverse (``grad(grad(f))``), reverse over forward (a function calling
``grad(f, mode="forward")``), and a call ``grad(f, wrt=1)`` inside a function being
transformed. It does not import :mod:`autodiffx.api` for them (the API sits above reverse
mode); it reads what the API records on what it makes, through this module:

* every function ``grad`` or ``value_and_grad`` makes carries a :class:`Made` record, read
  with :func:`made_by`;
* the transforms themselves are marked, so that a call of ``grad`` is recognised
  (:func:`is_grad`) and made again with its own arguments.

>>> import autodiffx
>>> made = made_by(autodiffx.grad(lambda x, y: x * y, wrt="y"))
>>> made.kind, made.wrt, made.mode
('grad', 'y', 'reverse')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_MADE = "__autodiffx_made__"
_TRANSFORM = "__autodiffx_transform__"


@dataclass(frozen=True)
class Made:
    """How a gradient function was made: ``kind`` (``"grad"`` or ``"value_and_grad"``) of
    ``function`` with respect to ``wrt``, in ``mode``; ``again(wrt)`` makes the same
    transform of the same function with respect to other arguments."""

    kind: str
    function: Callable
    wrt: Any
    mode: str
    has_aux: bool
    again: Callable[[Any], Callable]


def record(made_function: Callable, made: Made) -> Callable:
    """Mark ``made_function`` as made by a transform (the API calls this)."""
    setattr(made_function, _MADE, made)
    return made_function


def made_by(function: Any) -> Made | None:
    """The record of how ``function`` was made by ``grad`` or ``value_and_grad``, or None."""
    made = getattr(function, _MADE, None)
    return made if isinstance(made, Made) else None


def mark_transform(transform: Callable, name: str) -> Callable:
    """Mark ``transform`` (``grad``) so that reverse mode recognises calls of it."""
    setattr(transform, _TRANSFORM, name)
    return transform


def is_grad(callee: Any) -> bool:
    """Whether ``callee`` is ``autodiffx.grad`` itself."""
    return getattr(callee, _TRANSFORM, None) == "grad"
