"""The methods of ufuncs that are functions with rules: ``np.add.reduce(x, axis)`` is
``np.sum(x, axis)``, ``np.multiply.accumulate(x)`` is ``np.cumprod(x, axis=0)``.

Both modes take such a call as the function it equals: forward mode when NumPy hands the
method to ``Dual.__array_ufunc__``, reverse mode when it reads the call. Only the arguments
the function takes the same way are accepted (the array, ``axis``, and ``keepdims`` for a
reduction); ``dtype``, ``out``, ``initial`` and ``where`` leave the call refused, as every
other method of a ufunc is.
"""

from __future__ import annotations

import numpy as np

FUNCTION_FORMS = {
    (np.add, "reduce"): np.sum,
    (np.add, "accumulate"): np.cumsum,
    (np.multiply, "reduce"): np.prod,
    (np.multiply, "accumulate"): np.cumprod,
    (np.maximum, "reduce"): np.max,
    (np.minimum, "reduce"): np.min,
}
"""Per ufunc and method, the function with a rule that computes the same."""

KEYWORDS = {"reduce": ("axis", "keepdims"), "accumulate": ("axis",)}
"""The arguments after the array each method passes on, in NumPy's order."""


def function_form(ufunc, method: str):
    """The function ``ufunc.method`` equals, or ``None``.

    Examples:
        >>> import numpy as np
        >>> function_form(np.multiply, "accumulate").__name__
        'cumprod'
        >>> function_form(np.add, "reduceat") is None
        True
    """
    return FUNCTION_FORMS.get((ufunc, method))


def arguments(method: str, args: tuple, kwargs: dict) -> dict | None:
    """The keywords for the function form of ``ufunc.method(*args, **kwargs)`` after its
    array (``axis`` given, 0 when left out, as the method's default is), or ``None`` when
    the call passes something the function would take otherwise. ``args`` are the
    arguments after the array.

    Examples:
        >>> arguments("reduce", (), {})
        {'axis': 0}
        >>> arguments("reduce", (1,), {"keepdims": True})
        {'axis': 1, 'keepdims': True}
        >>> arguments("reduce", (), {"dtype": float}) is None
        True
    """
    names = KEYWORDS[method]
    if len(args) > len(names):
        return None
    given = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name not in names or name in given:
            return None
        given[name] = value
    given.setdefault("axis", 0)
    return given
