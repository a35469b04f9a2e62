"""The argument model every transform shares: which arguments ``wrt`` names, how a
differentiated argument is checked and converted, how structured arguments (dicts, lists,
tuples) are spread into leaves, and the rank reverse mode specialises each argument to.

It sits below both :mod:`autodiffx.api` and :mod:`autodiffx.reverse`, so that neither reaches
into the other for these: it may import :mod:`autodiffx.tree`, :mod:`autodiffx.errors` and
the forward mode's ``Dual`` type, and nothing above them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import tree
from .errors import ArgumentError, InputTypeError
from .forward.dual import Dual

Wrt = int | str | Sequence[int | str]


def resolve_wrt(f: Callable, wrt: Wrt, nargs: int | None = None) -> tuple[tuple[int, ...], bool]:
    """Turn ``wrt`` into positional indices; also say whether a tuple was asked for."""
    many = isinstance(wrt, (tuple, list))
    items = list(wrt) if many else [wrt]
    if many and not items:
        raise ArgumentError("wrt is empty", hint="name at least one argument, e.g. wrt=0")
    names = positional_names(f)
    indices = []
    for item in items:
        if isinstance(item, str):
            if names is None or item not in names:
                known = ", ".join(names or []) or "none that can be named"
                raise ArgumentError(
                    f"wrt names {item!r}, which is not a positional argument of "
                    f"{getattr(f, '__name__', f)!r}",
                    hint=f"its positional arguments are: {known}",
                )
            indices.append(names.index(item))
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            index = int(item)
            limit = nargs
            if limit is None and names is not None and not _takes_varargs(f):
                limit = len(names)
            if index < 0 and limit is not None:
                index += limit
            if index < 0 or (limit is not None and index >= limit):
                raise ArgumentError(
                    f"wrt={item} is out of range for a function of {limit} positional "
                    "argument(s)",
                    hint="wrt counts positional arguments from 0",
                )
            indices.append(index)
        else:
            raise ArgumentError(
                f"wrt must be an int, an argument name, or a tuple of them, not {item!r}"
            )
    if len(set(indices)) != len(indices):
        raise ArgumentError(f"wrt={wrt!r} names an argument twice")
    return tuple(indices), many


def _takes_varargs(f: Callable) -> bool:
    try:
        parameters = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)


def has_negative(wrt: Wrt) -> bool:
    """Whether ``wrt`` counts an argument from the end (then it depends on the call)."""
    if isinstance(wrt, (int, np.integer)):
        return wrt < 0
    return any(i < 0 for i in _raw_indices(wrt))


def _raw_indices(wrt: Wrt) -> list:
    items = wrt if isinstance(wrt, (tuple, list)) else [wrt]
    return [i for i in items if isinstance(i, (int, np.integer))]


def positional_names(f: Callable) -> list[str] | None:
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in signature.parameters.values() if p.kind in kinds]


def as_differentiable(value: Any, position: int) -> Any:
    """Check an input being differentiated and promote integers to float64.

    Python floats stay floats; float32 arrays stay float32; integer and boolean inputs
    become float64 (a derivative with respect to an integer is taken at that real value).
    Complex numbers stay complex (forward mode differentiates them; reverse mode refuses
    them for now). Strings, ``None`` and other objects are refused.
    """
    kind = type(value)
    if kind is float or (kind is np.ndarray and value.dtype.kind == "f"):
        return value
    if isinstance(value, (np.ma.MaskedArray, np.matrix)):
        raise InputTypeError(
            f"argument {position} is a {kind.__name__}, whose operations mean something "
            "other than a plain array's (masked entries are skipped, * multiplies matrices)",
            hint="pass a plain array: x.filled(0.0) or np.asarray(x); for a mask, multiply "
            "by a 0/1 weight array inside the function",
        )
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        raise InputTypeError(
            f"argument {position} is {type(value).__name__} {value!r}, which cannot be "
            "differentiated",
            hint="pass a float or a NumPy array of floats, or leave this argument out of wrt",
        )
    if isinstance(value, (float, complex)):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, (np.ndarray, np.generic)):
        kind = value.dtype.kind
        if kind == "f":
            return value
        if kind in "iub":
            return np.asarray(value, dtype=np.float64)[()] if value.ndim == 0 else value.astype(
                np.float64
            )
        if kind == "c":  # forward mode only, for now (see docs/complex.md)
            return value
    if isinstance(value, Dual):  # nested differentiation
        return value
    raise InputTypeError(
        f"argument {position} is a {type(value).__name__}, which cannot be differentiated",
        hint="pass a float or a NumPy array of floats (np.asarray(...) converts a list)",
    )


def prepare(f, args, wrt: Wrt, resolved: tuple[tuple[int, ...], bool] | None = None):
    """Check the call's arguments against ``wrt`` and convert the differentiated ones.

    ``resolved`` is ``resolve_wrt(f, wrt)`` computed once when the transform was made, or
    None; negative indices need the call's argument count (:func:`has_negative`), so they
    are resolved here.
    """
    if resolved is None or max(resolved[0]) >= len(args):
        resolved = resolve_wrt(f, wrt, len(args))
    indices, many = resolved
    args = list(args)
    for index in indices:
        if index >= len(args):
            raise ArgumentError(
                f"wrt asks for argument {index}, but only {len(args)} were passed",
                hint="pass the argument positionally",
            )
        kind = type(args[index])
        if kind is float or (kind is np.ndarray and args[index].dtype.kind == "f"):
            continue  # the common cases, already differentiable as they are
        if kind is np.ndarray:
            args[index] = as_differentiable(args[index], index)
        elif tree.is_structure(args[index]):
            args[index] = tree.map_leaves(
                lambda leaf, index=index: as_differentiable(leaf, index), args[index]
            )
        else:
            args[index] = as_differentiable(args[index], index)
    return args, indices, many


def _with_defaults(f, args, keywords) -> list:
    """``args`` with the defaults of the positional parameters after them, up to the first
    one a keyword gives."""
    code = getattr(f, "__code__", None)
    defaults = tuple(getattr(f, "__defaults__", None) or ())
    if code is None or not defaults:
        return list(args)
    names = code.co_varnames[:code.co_argcount]
    first_default = len(names) - len(defaults)
    extended = list(args)
    for position in range(len(args), len(names)):
        if position < first_default or names[position] in keywords:
            break
        extended.append(defaults[position - first_default])
    return extended


def flattened(f, args, indices, rewrite=None, keywords=()):
    """The call with every structured argument spread into its leaves.

    Returns ``(function, flat_args, flat_indices, regroup)``; ``regroup`` turns the leaf
    gradients (which come back in argument order) into one gradient per entry of
    ``indices``, each with its argument's structure. ``function`` takes the leaves: made by
    ``rewrite(f, specs)`` where given (reverse mode rewrites ``f``'s source:
    :func:`autodiffx.reverse.structures.flat_function`), else a wrapper that rebuilds the
    structures and calls ``f`` (forward mode). The rewritten function has no defaults, so
    the defaults of the parameters the call leaves out (not given by ``keywords``) become
    arguments.
    """
    for i in indices:
        if type(args[i]) in (dict, list, tuple):
            break
    else:
        return f, args, indices, None
    if rewrite is not None:
        args = _with_defaults(f, args, keywords)
    specs = {}
    flat_args, flat_indices = [], []
    for position, arg in enumerate(args):
        if position in indices and tree.is_structure(arg):
            leaves, spec = tree.flatten(arg)
            specs[position] = spec
            start = len(flat_args)
            flat_args.extend(leaves)
            flat_indices.extend(range(start, start + len(leaves)))
        else:
            if position in indices:
                flat_indices.append(len(flat_args))
            flat_args.append(arg)
    if not specs:
        return f, args, indices, None
    if rewrite is None:

        def function(*flat, **kwargs):
            rebuilt, offset = [], 0
            for position in range(len(args)):
                if position in specs:
                    count = len(specs[position].paths())
                    rebuilt.append(tree.unflatten(specs[position], flat[offset:offset + count]))
                    offset += count
                else:
                    rebuilt.append(flat[offset])
                    offset += 1
            return f(*rebuilt, **kwargs)

        function.__name__ = getattr(f, "__name__", "f")
    else:
        function = rewrite(f, specs)

    def regroup(gradients):
        by_position, cursor = {}, 0
        for position in sorted(indices):
            count = len(specs[position].paths()) if position in specs else 1
            chunk = gradients[cursor:cursor + count]
            cursor += count
            by_position[position] = (
                tree.unflatten(specs[position], chunk) if position in specs else chunk[0]
            )
        return tuple(by_position[i] for i in indices)

    return function, flat_args, tuple(flat_indices), regroup


def ranks_of(args) -> tuple[int, ...]:
    """The rank of each argument (:func:`rank`)."""
    return tuple([rank(a) for a in args])


def layouts(args) -> tuple:
    """Per argument, what reverse-mode code is made for: the shape of an array (of rank one
    or more) or of a float, as a tuple, or else the rank (:func:`rank`), as an int."""
    found = []
    for value in args:
        kind = type(value)
        if kind is np.ndarray and value.ndim:
            found.append(value.shape)
        elif kind is float:
            found.append(())
        else:
            found.append(rank(value))
    return tuple(found)


def rank(value) -> int:
    """The rank generated code is specialised to; -1 (unknown) for other objects.

    A Dual (a gradient taken inside a forward-mode evaluation) has its primal's rank. A 0-d
    array is not a number: NumPy updates it in place (``c += 1``) where every other name for
    it sees the change, so its rank is left unknown and reverse mode treats it as an array.
    """
    kind = type(value)
    if kind is np.ndarray:
        return value.ndim if value.ndim else -1
    if kind is float:
        return 0
    while isinstance(value, Dual):
        value = value.primal
    return int(np.ndim(value)) if is_numeric(value) else -1


def is_numeric(value) -> bool:
    return isinstance(value, (float, int, np.ndarray, np.generic))
