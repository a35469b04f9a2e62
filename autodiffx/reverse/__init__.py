"""Reverse mode by source transformation: readable adjoint code generated from the rules.

The pipeline, one module per pass:

``source`` (read and parse) -> ``fence`` (refuse what is unsupported) -> ``normalize``
(one operation per statement) -> ``ranks`` and ``activity`` (what is known, what needs an
adjoint) -> ``adjoint`` (forward and adjoint sweeps from the rules, with ``optimize``
folding and removing dead code) -> ``emit`` (print, compile, cache).

>>> import numpy as np
>>> def f(x):
...     return np.sum(np.sin(x))
>>> value, pullback = build(f, (0,), (1,)).function(np.zeros(2))
>>> pullback(1.0)[0]
array([1., 1.])
"""

from __future__ import annotations

from collections.abc import Callable

from .. import transforms
from ..arguments import flattened, layouts, ranks_of, resolve_wrt
from ..tree import is_structure
from . import kinds
from .emit import Generated, aux_version, build, last_call, note_call
from .structures import flat_function


def source_of(g: Callable, *example_args, shapes: bool = False) -> str:
    """The generated source for ``g`` (made by ``autodiffx.grad``) or a plain function.

    With example arguments the code is specialised to their ranks; without, it is the code
    of the last call, or rank-generic code if there was none. ``shapes=True`` shows the
    code made for the exact shapes of the example arguments (or of the last call's), which
    is what a call with arrays of those shapes runs.
    """
    f = getattr(g, "__wrapped__", g)
    wrt = getattr(g, "wrt", 0) if f is not g else 0
    indices, _ = resolve_wrt(f, wrt)
    made = transforms.made_by(g)
    if made is not None and made.has_aux and made.mode == "reverse" and callable(f):
        f = aux_version(f)
    if example_args and any(is_structure(example_args[i]) for i in indices
                            if i < len(example_args)):
        f, example_args, indices, _ = flattened(f, list(example_args), indices, flat_function)
    if example_args:
        found = layouts(example_args)
        return build(f, indices, ranks_of(example_args),
                     argument_kinds=kinds.of_arguments(example_args),
                     argument_shapes=_shapes(found) if shapes else None).source
    last = last_call(f)
    if last is not None:
        f, wrt, ranks, argument_kinds, argument_shapes = last
        return build(f, wrt, ranks, argument_kinds=argument_kinds,
                     argument_shapes=argument_shapes if shapes else None).source
    count = f.__code__.co_argcount if hasattr(f, "__code__") else max(indices) + 1
    return build(f, indices, (-1,) * count).source


def _shapes(found: tuple) -> tuple:
    """The shapes code is made for, from :func:`autodiffx.arguments.layouts`."""
    return tuple(item if type(item) is tuple else None for item in found)


check_real = kinds.check_real
argument_kinds = kinds.of_arguments

__all__ = ["Generated", "argument_kinds", "aux_version", "build", "check_real", "flat_function",
           "note_call", "source_of"]
