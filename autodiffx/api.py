"""The user-facing transforms: ``grad``, ``value_and_grad``, ``jvp``, ``vjp``, ``jacfwd``,
``jacrev`` and ``source``.

This module checks arguments (``wrt``, ``mode``, the inputs' types), dispatches to a mode,
and shapes results: a gradient has its argument's shape, and ``wrt`` given as a tuple gives
a tuple of gradients, as in JAX and autograd.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import tree
from .errors import ArgumentError, InputTypeError, NonScalarOutputError, OutputTypeError
from .forward import Dual, driver

MODES = ("reverse", "forward")
Wrt = int | str | Sequence[int | str]


# --------------------------------------------------------------------------- arguments


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ArgumentError(
            f"unknown mode {mode!r}",
            hint="use mode='reverse' (one pass per output, the default) or mode='forward' "
            "(one pass per input direction, no source code needed)",
        )
    return mode


def _resolve_wrt(f: Callable, wrt: Wrt, nargs: int | None = None) -> tuple[tuple[int, ...], bool]:
    """Turn ``wrt`` into positional indices; also say whether a tuple was asked for."""
    many = isinstance(wrt, (tuple, list))
    items = list(wrt) if many else [wrt]
    if many and not items:
        raise ArgumentError("wrt is empty", hint="name at least one argument, e.g. wrt=0")
    names = _positional_names(f)
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


def _has_negative(wrt: Wrt) -> bool:
    if isinstance(wrt, (int, np.integer)):
        return wrt < 0
    return any(i < 0 for i in _raw_indices(wrt))


def _raw_indices(wrt: Wrt) -> list:
    items = wrt if isinstance(wrt, (tuple, list)) else [wrt]
    return [i for i in items if isinstance(i, (int, np.integer))]


def _positional_names(f: Callable) -> list[str] | None:
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
    Complex numbers, strings, ``None`` and other objects are refused.
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
    if isinstance(value, float):
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
        if kind == "c":
            raise InputTypeError(
                f"argument {position} is complex ({value.dtype}); autodiffx differentiates "
                "real functions only",
                hint="split it into real and imaginary parts, two real arguments",
            )
    if isinstance(value, Dual):  # nested differentiation
        return value
    raise InputTypeError(
        f"argument {position} is a {type(value).__name__}, which cannot be differentiated",
        hint="pass a float or a NumPy array of floats (np.asarray(...) converts a list)",
    )


def _prepare(f, args, wrt: Wrt, resolved: tuple[tuple[int, ...], bool] | None = None):
    """Check the call's arguments against ``wrt`` and convert the differentiated ones.

    ``resolved`` is ``_resolve_wrt(f, wrt)`` computed once when the transform was made;
    negative indices still need the call's argument count.
    """
    if resolved is None or max(resolved[0]) >= len(args) or _has_negative(wrt):
        resolved = _resolve_wrt(f, wrt, len(args))
    indices, many = resolved
    args = list(args)
    for index in indices:
        if index >= len(args):
            raise ArgumentError(
                f"wrt asks for argument {index}, but only {len(args)} were passed",
                hint="pass the argument positionally",
            )
        kind = type(args[index])
        if kind is np.ndarray or kind is float:
            args[index] = as_differentiable(args[index], index)
        elif tree.is_structure(args[index]):
            args[index] = tree.map_leaves(
                lambda leaf, index=index: as_differentiable(leaf, index), args[index]
            )
        else:
            args[index] = as_differentiable(args[index], index)
    return args, indices, many


def _flattened(f, args, indices, mode):
    """The call with every structured argument spread into its leaves.

    Returns ``(function, flat_args, flat_indices, regroup)``; ``regroup`` turns the leaf
    gradients (which come back in argument order) into one gradient per entry of
    ``indices``, each with its argument's structure.
    """
    if not any(type(args[i]) in (dict, list, tuple) for i in indices):
        return f, args, indices, None
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
    if mode == "forward":

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
        function = tree.flat_function(f, specs)

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


def _shaped(gradient, like):
    """A gradient shaped like its argument: a Python float for a Python number."""
    if (
        type(gradient) is np.ndarray
        and type(like) is np.ndarray
        and gradient.shape == like.shape
        and gradient.dtype == like.dtype
    ):
        return gradient  # the common case, already right
    if isinstance(gradient, Dual):
        # A gradient taken inside another forward-mode evaluation depends on its inputs.
        return np.reshape(gradient, np.shape(like))
    if isinstance(like, (float, int)):
        return float(np.asarray(gradient).reshape(()))
    gradient = np.asarray(gradient)
    if gradient.shape != np.shape(like):
        gradient = gradient.reshape(np.shape(like))
    dtype = np.result_type(like)
    if dtype.kind == "f" and gradient.dtype != dtype:
        gradient = gradient.astype(dtype)
    return gradient


def _owned(gradients, args, indices, seed=None):
    """The gradients shaped like their arguments, each a writable array of its own.

    Generated code may hand back a read-only broadcast view, a view of another array, the
    same array for two arguments (``x + y``), or the caller's own cotangent; the caller
    must be free to update each result in place without touching anything else.
    """
    results = []
    seen = set() if seed is None else {id(seed)}
    for gradient, index in zip(gradients, indices, strict=True):
        shaped = _shaped(gradient, args[index])
        if isinstance(shaped, np.ndarray) and (
            not shaped.flags.owndata or not shaped.flags.writeable or id(shaped) in seen
        ):
            shaped = shaped.copy()
        seen.add(id(shaped))
        results.append(shaped)
    return tuple(results)


def _require_scalar(value, f, what="grad"):
    _require_numeric(value, f)
    if np.ndim(value) != 0:
        raise NonScalarOutputError(
            f"{what} needs a function with a scalar output, but "
            f"{getattr(f, '__name__', 'the function')} returned shape {np.shape(value)}",
            hint="use jacrev or jacfwd for the full Jacobian, or vjp with a cotangent "
            "for one weighted sum of the outputs",
        )


def _require_numeric(value, f) -> None:
    """Refuse an output that is not a real number or array: ``None``, a string, a bool
    (``np.allclose(...)``), a complex number. Both modes call this on the value."""
    while isinstance(value, Dual):
        value = value.primal
    kind = None
    if isinstance(value, (float, int, np.ndarray, np.generic)) and not isinstance(value, bool):
        kind = np.asarray(value).dtype.kind
    if kind not in ("f", "i", "u"):
        what = f"{type(value).__name__} {value!r}"[:60]
        if kind in ("b", "c"):
            what = "booleans" if kind == "b" else "complex numbers"
        raise OutputTypeError(
            f"{getattr(f, '__name__', 'the function')} returned {what}, not a real number or "
            "array, so there is nothing to differentiate",
            hint="return the real value to differentiate (a float or a NumPy array of "
            "floats)",
        )


def _scalar_value(value):
    """A scalar output as a Python float, so that results print plainly."""
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return value.item()
    return value


# --------------------------------------------------------------------------- transforms


def value_and_grad(
    f: Callable | None = None,
    wrt: Wrt = 0,
    *,
    mode: str = "reverse",
    chunk: int | None = None,
    verbose: bool = False,
    has_aux: bool = False,
) -> Callable:
    """Like :func:`grad`, but the new function returns ``(value, gradient)``.

    With ``has_aux=True``, ``f`` returns ``(value, aux)`` and the new function returns
    ``((value, aux), gradient)``, as in JAX.

    >>> import numpy as np
    >>> value_and_grad(lambda x: np.sum(x ** 2), mode="forward")(np.array([1.0, 2.0]))
    (5.0, array([2., 4.]))
    """
    if f is None:
        return functools.partial(
            value_and_grad, wrt=wrt, mode=mode, chunk=chunk, verbose=verbose, has_aux=has_aux
        )
    _check_mode(mode)
    resolved = _resolve_wrt(f, wrt)

    @functools.wraps(f)
    def value_and_gradient(*args, **kwargs):
        args, indices, many = _prepare(f, args, wrt, resolved)
        function, args, flat_indices, regroup = _flattened(f, args, indices, mode)
        if mode == "forward":
            value, gradients, aux = _forward_gradient(
                function, args, kwargs, flat_indices, chunk, has_aux
            )
        else:
            value, gradients, aux = _reverse_gradient(
                function, args, kwargs, flat_indices, verbose, has_aux
            )
        shaped = _owned(gradients, args, flat_indices)
        if regroup is not None:
            shaped = regroup(shaped)
        gradient = shaped if many else shaped[0]
        return ((value, aux), gradient) if has_aux else (value, gradient)

    value_and_gradient.wrt = wrt
    value_and_gradient.mode = mode
    value_and_gradient.has_aux = has_aux
    return value_and_gradient


def grad(
    f: Callable | None = None,
    wrt: Wrt = 0,
    *,
    mode: str = "reverse",
    chunk: int | None = None,
    verbose: bool = False,
    has_aux: bool = False,
) -> Callable:
    """Return a function that computes the gradient of the scalar function ``f``.

    ``wrt`` picks the arguments: an index, an argument name, or a tuple of them (then the
    result is a tuple of gradients, each with its argument's shape). ``mode="reverse"``
    (the default) generates adjoint code from ``f``'s source; ``mode="forward"`` pushes
    dual numbers through ``f`` as it is, ``chunk`` directions per evaluation.

    An argument may be a dict, list or tuple of arrays, nested (a ``params`` dict): its
    gradient has the same structure. With ``has_aux=True``, ``f`` returns
    ``(value, aux)`` and the gradient function returns ``(gradient, aux)``; ``aux`` is
    passed through undifferentiated.

    >>> import numpy as np
    >>> @grad(wrt=(0, 1, 2), mode="forward")
    ... def f(x, y, z):
    ...     return (x + y) * max(y, z)
    >>> f(1.0, 2.0, 0.0)
    (2.0, 5.0, 0.0)
    """
    if f is None:
        return functools.partial(
            grad, wrt=wrt, mode=mode, chunk=chunk, verbose=verbose, has_aux=has_aux
        )
    both = value_and_grad(f, wrt, mode=mode, chunk=chunk, verbose=verbose, has_aux=has_aux)

    @functools.wraps(f)
    def gradient(*args, **kwargs):
        value, gradient_ = both(*args, **kwargs)
        return (gradient_, value[1]) if has_aux else gradient_

    gradient.wrt = wrt
    gradient.mode = mode
    gradient.has_aux = has_aux
    gradient.value_and_grad = both
    return gradient


def _split_aux(out, f):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise ArgumentError(
            f"has_aux=True needs {getattr(f, '__name__', 'the function')} to return a pair "
            f"(value, aux), but it returned {type(out).__name__}",
            hint="return value, aux; or leave has_aux out",
        )
    return out[0], out[1]


def _plain(value):
    """``value`` with every Dual replaced by its innermost primal (aux is not differentiated)."""
    while isinstance(value, Dual):
        value = value.primal
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _forward_gradient(f, args, kwargs, indices, chunk, has_aux=False):
    aux = []
    if has_aux:
        original = f

        def f(*a, **k):
            value, extra = _split_aux(original(*a, **k), original)
            aux.append(extra)
            return value

        f.__name__ = getattr(original, "__name__", "f")
    value, columns = driver.jacobian_columns(f, args, kwargs, indices, chunk)
    _require_scalar(value, f)
    flat = np.reshape(columns, -1)
    gradients = []
    offset = 0
    for index in indices:
        size = int(np.size(args[index]))
        gradients.append(flat[offset : offset + size])
        offset += size
    return _scalar_value(value), gradients, (_plain(aux[-1]) if aux else None)


def _reverse_module():
    """``autodiffx.reverse``, imported on first use (it needs the rule registry loaded)."""
    global _reverse
    if _reverse is None:
        from . import reverse

        _reverse = reverse
    return _reverse


_reverse = None


def _reverse_gradient(f, args, kwargs, indices, verbose, has_aux=False):
    reverse = _reverse_module()

    if inspect.ismethod(f):
        # A bound method: transform the function, with the instance as a constant argument.
        shifted = tuple(i + 1 for i in indices)
        return _reverse_gradient(
            f.__func__, [f.__self__, *args], kwargs, shifted, verbose, has_aux
        )
    generated = reverse.build(f, indices, _ranks(args), verbose=verbose)
    value, pullback = generated.function(*args, **kwargs)
    if not has_aux:
        _require_scalar(value, f)
        return _scalar_value(value), pullback(1.0), None
    value, aux = _split_aux(value, f)
    _require_scalar(value, f)
    return _scalar_value(value), pullback((1.0, _zero_cotangent(aux))), aux


def _zero_cotangent(value):
    """A zero cotangent shaped like ``value`` (the aux output, which is not differentiated)."""
    if isinstance(value, dict):
        return {k: _zero_cotangent(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_zero_cotangent(v) for v in value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return np.zeros_like(value)
    return 0.0


def _ranks(args) -> tuple[int, ...]:
    return tuple(_rank(a) for a in args)


def _rank(value) -> int:
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
    return int(np.ndim(value)) if _is_numeric(value) else -1


def _is_numeric(value) -> bool:
    return isinstance(value, (float, int, np.ndarray, np.generic))


def jvp(f: Callable, primals: Sequence, tangents: Sequence) -> tuple[Any, Any]:
    """Forward mode: the value of ``f(*primals)`` and its derivative along ``tangents``.

    ``tangents`` has one entry per primal, of the same shape. Returns
    ``(value, tangent_out)``, as in JAX.

    >>> import numpy as np
    >>> jvp(np.sin, (0.0,), (2.0,))
    (0.0, 2.0)
    """
    primals = tuple(primals)
    tangents = tuple(tangents)
    if len(primals) != len(tangents):
        raise ArgumentError(
            f"jvp got {len(primals)} primals but {len(tangents)} tangents",
            hint="give one tangent per primal, of the same shape",
        )
    args = [as_differentiable(p, i) for i, p in enumerate(primals)]
    seeds = []
    for i, (primal, tangent) in enumerate(zip(args, tangents, strict=True)):
        tangent = as_differentiable(tangent, i)
        if type(tangent) is not np.ndarray or tangent.dtype != np.float64:
            tangent = np.asarray(tangent, dtype=float)
        if tangent.shape != np.shape(primal):
            raise ArgumentError(
                f"tangent {i} has shape {tangent.shape} but its primal has shape "
                f"{np.shape(primal)}"
            )
        seeds.append(tangent.reshape((1, *tangent.shape)))
    value, out = driver.push(f, args, {}, range(len(args)), seeds)
    tangent_out = out[0]
    if np.ndim(value) == 0:
        return _scalar_value(value), float(tangent_out)
    return value, tangent_out


def vjp(f: Callable, *primals) -> tuple[Any, Callable]:
    """Reverse mode: ``(value, pullback)``; ``pullback(cotangent)`` gives one entry per argument.

    >>> import numpy as np
    >>> value, pullback = vjp(lambda x, y: x * y, 2.0, 3.0)
    >>> value, pullback(1.0)
    (6.0, (3.0, 2.0))
    """
    from . import reverse

    indices = tuple(range(len(primals)))
    args = [as_differentiable(p, i) for i, p in enumerate(primals)]
    generated = reverse.build(f, indices, _ranks(args))
    value, pullback = generated.function(*args)

    def shaped_pullback(cotangent):
        if np.shape(cotangent) != np.shape(value):
            raise ArgumentError(
                f"the cotangent has shape {np.shape(cotangent)} but the output has shape "
                f"{np.shape(value)}"
            )
        return _owned(pullback(cotangent), args, indices, seed=cotangent)

    return value, shaped_pullback


def jacfwd(f: Callable, wrt: Wrt = 0, *, chunk: int | None = None) -> Callable:
    """The Jacobian by forward mode: shape ``output.shape + input.shape`` per ``wrt`` input.

    >>> import numpy as np
    >>> jacfwd(lambda x: x ** 2)(np.array([1.0, 3.0]))
    array([[2., 0.],
           [0., 6.]])
    """

    @functools.wraps(f)
    def jacobian(*args, **kwargs):
        args, indices, many = _prepare(f, args, wrt)
        function, args, flat_indices, regroup = _flattened(f, args, indices, "forward")
        value, columns = driver.jacobian_columns(function, args, kwargs, flat_indices, chunk)
        results = []
        offset = 0
        out_shape = np.shape(value)
        for index in flat_indices:
            size = int(np.size(args[index]))
            block = columns[offset : offset + size]
            offset += size
            block = np.moveaxis(block.reshape((size, -1)), 0, -1)
            results.append(block.reshape(out_shape + np.shape(args[index])))
        return _jacobians(results, regroup, many)

    return jacobian


def jacrev(f: Callable, wrt: Wrt = 0) -> Callable:
    """The Jacobian by reverse mode: one pullback per output entry.

    >>> import numpy as np
    >>> def square(x):
    ...     return x ** 2
    >>> jacrev(square)(np.array([1.0, 3.0]))
    array([[2., 0.],
           [0., 6.]])
    """
    from . import reverse

    @functools.wraps(f)
    def jacobian(*args, **kwargs):
        args, indices, many = _prepare(f, args, wrt)
        function, args, indices, regroup = _flattened(f, args, indices, "reverse")
        generated = reverse.build(function, indices, _ranks(args))
        value, pullback = generated.function(*args, **kwargs)
        _require_numeric(value, f)
        out_shape = np.shape(value)
        m = int(np.prod(out_shape, dtype=int))
        rows = [[] for _ in indices]
        for j in range(m):
            seed = np.zeros(m)
            seed[j] = 1.0
            cotangent = seed.reshape(out_shape) if out_shape else 1.0
            for row, g, index in zip(rows, pullback(cotangent), indices, strict=True):
                row.append(np.broadcast_to(g, np.shape(args[index])))
        results = [
            np.stack(row).reshape(out_shape + np.shape(args[index])) if row
            else np.zeros(out_shape + np.shape(args[index]))
            for row, index in zip(rows, indices, strict=True)
        ]
        return _jacobians(results, regroup, many)

    return jacobian


def _jacobians(blocks, regroup, many):
    """One Jacobian block per ``wrt`` entry; for a dict, list or tuple argument, the blocks
    of its leaves in its structure (as JAX does: ``{"w": dout/dw, "b": dout/db}``)."""
    blocks = tuple(blocks) if regroup is None else regroup(blocks)
    return blocks if many else blocks[0]


def source(g: Callable, *example_args) -> str:
    """The generated source of a reverse-mode gradient made by :func:`grad` (or of ``f``).

    Generated code is specialised for the ranks (``ndim``) of the arguments, which is what
    lets it say ``np.outer(dz, x)`` where the rank is known. ``source(g, *args)`` shows the
    code for those arguments; ``source(g)`` shows the code of the last call, or the
    rank-generic code when ``g`` has not been called yet.

    >>> import numpy as np
    >>> from autodiffx.ner.model import score
    >>> text = source(grad(score, wrt="b"), np.ones((2, 3)), np.zeros(2), np.ones(2),
    ...               np.ones((3, 1)))
    >>> "def score_vjp(W, b, u, X):" in text and "dz = dh * (1 - h ** 2)" in text
    True
    """
    from . import reverse

    return reverse.source_of(g, *example_args)


# --------------------------------------------------------------------------- second order


def hessian(f: Callable, wrt: int | str = 0, *, mode: str = "reverse") -> Callable:
    """The Hessian of the scalar function ``f`` with respect to one argument.

    The result has shape ``x.shape + x.shape``. It is the forward-mode Jacobian of the
    gradient; ``mode`` picks how that gradient is taken: ``"reverse"`` (the default,
    forward-over-reverse: Duals flow through the generated adjoint code) or ``"forward"``
    (forward-over-forward, which needs no source).

    >>> import numpy as np
    >>> hessian(lambda x: np.sum(x ** 3), mode="forward")(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    _check_mode(mode)
    if isinstance(wrt, (tuple, list)):
        raise ArgumentError(
            "hessian takes one argument to differentiate, not a tuple",
            hint="take jacfwd(grad(f, wrt=(0, 1)), wrt=i) for the blocks of a joint Hessian",
        )
    gradient = grad(f, wrt, mode=mode)
    jacobian = jacfwd(gradient, wrt)

    @functools.wraps(f)
    def hessian_of(*args, **kwargs):
        return jacobian(*args, **kwargs)

    hessian_of.wrt = wrt
    hessian_of.mode = mode
    return hessian_of


def hvp(f: Callable, primals: Sequence, tangents: Sequence, *, mode: str = "reverse"):
    """A Hessian-vector product without forming the Hessian: ``jvp`` of ``grad(f)``.

    ``primals`` are all of ``f``'s arguments and ``tangents`` one direction per argument, of
    the same shapes. The result is H·v with one entry per argument (the array itself when
    ``f`` takes one argument), where H is the Hessian of ``f`` with respect to all its
    arguments and v the stacked tangents. ``mode`` picks the inner gradient's mode
    (``"reverse"``, the default, is forward-over-reverse).

    >>> import numpy as np
    >>> hvp(lambda x: np.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    array([6., 0.])
    """
    _check_mode(mode)
    primals = tuple(primals)
    tangents = tuple(tangents)
    if len(primals) != len(tangents):
        raise ArgumentError(
            f"hvp got {len(primals)} primals but {len(tangents)} tangents",
            hint="give one tangent per primal, of the same shape",
        )
    indices = tuple(range(len(primals)))
    gradient = grad(f, wrt=indices, mode=mode)
    args = [as_differentiable(p, i) for i, p in enumerate(primals)]
    seeds = []
    for i, (primal, tangent) in enumerate(zip(args, tangents, strict=True)):
        tangent = np.asarray(as_differentiable(tangent, i), dtype=float)
        if tangent.shape != np.shape(primal):
            raise ArgumentError(
                f"tangent {i} has shape {tangent.shape} but its primal has shape "
                f"{np.shape(primal)}"
            )
        seeds.append(tangent.reshape((1, *tangent.shape)))
    level = driver.new_level()
    duals = [Dual(a, s, level) for a, s in zip(args, seeds, strict=True)]
    outs = gradient(*duals)
    results = []
    for out, arg in zip(outs, args, strict=True):
        _, tangent = driver.split(out, level, 1)
        results.append(_shaped(tangent[0], arg))
    return results[0] if len(results) == 1 else tuple(results)
