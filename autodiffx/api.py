"""The user-facing transforms: ``grad``, ``value_and_grad``, ``jvp``, ``vjp``, ``jacfwd``,
``jacrev`` and ``source``.

This module checks arguments (``wrt``, ``mode``, the inputs' types), dispatches to a mode,
and shapes results: a gradient has its argument's shape, and ``wrt`` given as a tuple gives
a tuple of gradients, as in JAX and autograd.
"""

from __future__ import annotations

import functools
import sys
import types
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import arguments, transforms, tree
from .arguments import Wrt
from .errors import (
    ArgumentError,
    AutodiffError,
    ComplexNotSupportedError,
    ComplexOutputError,
    NonScalarOutputError,
    OutputTypeError,
)
from .forward import Dual, driver

MODES = ("reverse", "forward")


# --------------------------------------------------------------------------- arguments


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ArgumentError(
            f"unknown mode {mode!r}",
            hint="use mode='reverse' (one pass per output, the default) or mode='forward' "
            "(one pass per input direction, no source code needed)",
        )
    return mode


def _shaped(gradient, like):
    """A gradient shaped like its argument: a Python float for a Python number."""
    if type(like) is float and type(gradient) in (float, np.float64):
        return float(gradient)  # the common scalar case
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
    if isinstance(like, complex):
        return complex(np.asarray(gradient).reshape(()))
    if isinstance(like, (float, int)):
        return float(np.real(np.asarray(gradient)).reshape(()))  # a real argument's part
    gradient = np.asarray(gradient)
    if gradient.shape != np.shape(like):
        gradient = gradient.reshape(np.shape(like))
    dtype = np.result_type(like)
    if dtype.kind == "f" and gradient.dtype.kind == "c":
        gradient = gradient.real  # a real argument's gradient: the real part (complex.md)
    if dtype.kind == "f" and gradient.dtype != dtype:
        gradient = gradient.astype(dtype)
    return gradient


def _owned(gradients, args, indices, seed=None):
    """The gradients shaped like their arguments, each a writable array of its own.

    Generated code may hand back a read-only broadcast view, a view of another array, the
    same array for two arguments (``x + y``), or the caller's own cotangent; the caller
    must be free to update each result in place without touching anything else.
    """
    if len(indices) == 1 and seed is None and type(args[indices[0]]) is float:
        return (_shaped(gradients[0], args[indices[0]]),)  # a float: nothing to copy
    results = []
    seen = set() if seed is None else {id(seed)}
    for gradient, index in zip(gradients, indices, strict=True):
        like = args[index]
        if (type(gradient) is np.ndarray and type(like) is np.ndarray
                and gradient.shape == like.shape and gradient.dtype == like.dtype):
            shaped = gradient  # the common case: _shaped would return it as it is
        else:
            shaped = _shaped(gradient, like)
        if isinstance(shaped, np.ndarray) and (
                (shaped.base is not None and not _sole_view(shaped)) or id(shaped) in seen
                or not shaped.flags.writeable):
            shaped = shaped.copy()
        seen.add(id(shaped))
        results.append(shaped)
    return tuple(results)


def _sole_view(array: np.ndarray) -> bool:
    """Whether ``array`` is a view of all of an array that nothing else refers to (the
    gradient of ``b`` in ``np.expand_dims(b, 1)``, a reshape of a sum the pullback made
    and let go): then it is as much the caller's own as an array that owns its memory.
    Another view of the same memory would hold a reference to the same base."""
    base = array.base
    # the references: this view's, the name base's and getrefcount's argument; a view of
    # part of the memory would keep the rest alive, so only one of all of it qualifies
    return (type(base) is np.ndarray and base.base is None and array.size == base.size
            and sys.getrefcount(base) == 3)


def _require_scalar(value, f, what="grad", holomorphic=False):
    kind = type(value)
    if not holomorphic and (kind is float or ((kind is np.float64 or kind is np.ndarray)
                                              and value.ndim == 0 and value.dtype.kind == "f")):
        return  # the common cases, checked without NumPy's dispatch
    _require_numeric(value, f, holomorphic)
    if np.ndim(value) != 0 and np.size(_primal(value)) != 1:  # shape (1,) or (1, 1) is one
        raise NonScalarOutputError(
            f"{what} needs a function with a scalar output, but "
            f"{getattr(f, '__name__', 'the function')} returned shape {np.shape(value)}",
            hint="use jacrev or jacfwd for the full Jacobian, or vjp with a cotangent "
            "for one weighted sum of the outputs",
        )


def _require_numeric(value, f, holomorphic=False) -> None:
    """Refuse an output that is not a real number or array: ``None``, a string, a bool
    (``np.allclose(...)``), a complex number (unless ``holomorphic``, which needs one).
    Both modes call this on the value."""
    while isinstance(value, Dual):
        value = value.primal
    kind = None
    if isinstance(value, (float, int, complex, np.ndarray, np.generic)) and not isinstance(
            value, bool):
        kind = np.asarray(value).dtype.kind
    if kind == "c" and not holomorphic:
        raise ComplexOutputError(
            f"{getattr(f, '__name__', 'the function')} returned complex numbers, which have "
            "no gradient: a gradient belongs to a real-valued function",
            hint="differentiate a real loss (np.abs(z) ** 2, np.real(z)); use jvp (or vjp) "
            "for the derivative of a complex value along a direction; or, for a "
            "holomorphic function, grad(f, holomorphic=True)",
        )
    if holomorphic and kind != "c":
        raise ArgumentError(
            f"holomorphic=True needs a complex-valued function, but "
            f"{getattr(f, '__name__', 'the function')} returned a real value",
            hint="leave holomorphic out: the gradient of a real function of complex inputs "
            "is df/dx + i df/dy (see docs/complex.md)",
        )
    if kind == "c":
        return
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
    kind = type(value)
    if kind is float:
        return value
    if kind is np.float64:
        return float(value)
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
    holomorphic: bool = False,
) -> Callable:
    """Like [`grad`][autodiffx.grad], but the new function returns ``(value, gradient)``.

    The arguments are [`grad`][autodiffx.grad]'s. With ``has_aux=True``, ``f`` returns
    ``(value, aux)`` and the new function returns ``((value, aux), gradient)``, as in JAX.

    Examples:
        >>> import numpy as np
        >>> from autodiffx import value_and_grad
        >>> value_and_grad(lambda x: np.sum(x ** 2), mode="forward")(np.array([1.0, 2.0]))
        (5.0, array([2., 4.]))
    """
    if f is None:
        return functools.partial(
            value_and_grad, wrt=wrt, mode=mode, chunk=chunk, verbose=verbose, has_aux=has_aux,
            holomorphic=holomorphic,
        )
    _check_mode(mode)
    resolved = arguments.resolve_wrt(f, wrt)  # refuses a bad wrt now, not at the first call
    if arguments.has_negative(wrt):
        resolved = None  # counted from the end of each call's arguments
    last = [None]  # reverse mode: the code of the last call, while its guard holds

    fast = mode == "reverse" and not has_aux and not holomorphic and resolved is not None

    @functools.wraps(f)
    def value_and_gradient(*args, **kwargs):
        previous = last[0]
        if fast and previous is not None and previous[0] is f and previous[4] is None and (
                _plain_layouts(args) == previous[2] and previous[1] == resolved[0]
                and previous[3].guard.holds()):
            # the common case: a call like the last, every argument a float or an array of
            # floats, none structured: what prepare, _flattened and the kinds would find
            value, gradients = _reverse_again(f, args, kwargs, resolved[0], previous)
            shaped = _plain_results(gradients, args, resolved[0]) or _owned(
                _real_gradients(gradients, args, resolved[0], True), args, resolved[0])
            return value, shaped if resolved[1] else shaped[0]
        args, indices, many = arguments.prepare(f, args, wrt, resolved)
        function, args, flat_indices, regroup = _flattened(f, args, indices, mode, kwargs)
        if mode == "forward":
            value, gradients, aux = _forward_gradient(
                function, args, kwargs, flat_indices, chunk, has_aux, holomorphic
            )
        else:
            value, gradients, aux = _reverse_gradient(
                function, args, kwargs, flat_indices, verbose, has_aux, last, holomorphic
            )
        shaped = _owned(gradients, args, flat_indices)
        if regroup is not None:
            shaped = regroup(shaped)
        gradient = shaped if many else shaped[0]
        return ((value, aux), gradient) if has_aux else (value, gradient)

    @functools.wraps(f)
    def gradient_only(*args, **kwargs):
        # grad's call: a call like the last one, whose code has a gradient without the value
        # (proved a real scalar for arguments that are floats or arrays of floats), runs it
        previous = last[0]
        if fast and not kwargs and previous is not None and previous[0] is f and (
                previous[4] is None and previous[3].gradient is not None
                and _plain_layouts(args) == previous[2] and previous[1] == resolved[0]
                and previous[3].guard.holds() and _nothing_to_raise()):
            reverse = _reverse or _reverse_module()
            reverse.note_call(f, previous[1], previous[5], None, previous[6])
            gradients = previous[3].gradient(*args)
            shaped = _plain_results(gradients, args, resolved[0]) or _owned(
                _real_gradients(gradients, args, resolved[0], True), args, resolved[0])
            return shaped if resolved[1] else shaped[0]
        return value_and_gradient(*args, **kwargs)[1]

    value_and_gradient.gradient_only = gradient_only
    value_and_gradient.wrt = wrt
    value_and_gradient.mode = mode
    value_and_gradient.has_aux = has_aux
    return transforms.record(value_and_gradient, transforms.Made(
        "value_and_grad", f, wrt, mode, has_aux,
        again=lambda other: value_and_grad(f, other, mode=mode, chunk=chunk, has_aux=has_aux),
    ))


def grad(
    f: Callable | None = None,
    wrt: Wrt = 0,
    *,
    mode: str = "reverse",
    chunk: int | None = None,
    verbose: bool = False,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable:
    """Return a function that computes the gradient of the scalar function ``f``.

    ``mode="reverse"`` (the default) generates adjoint code from ``f``'s source;
    ``mode="forward"`` pushes dual numbers through ``f`` as it is. An argument may be a
    dict, list or tuple of arrays, nested (a ``params`` dict): its gradient has the same
    structure.

    Args:
        f: The function, with a scalar output (a float or a 0-d float array). Left out,
            ``grad(wrt=..., mode=...)`` is a decorator.
        wrt: The arguments to differentiate with respect to: an index, an argument name, or
            a tuple of them (then the result is a tuple of gradients, each with its
            argument's shape).
        mode: ``"reverse"`` or ``"forward"``.
        chunk: Forward mode: how many directions one evaluation pushes (vector mode). Left
            out, as many as fit in a 32 MiB block of seeds.
        verbose: Reverse mode: print the generated code when it is generated.
        has_aux: ``f`` returns ``(value, aux)`` and the gradient function returns
            ``(gradient, aux)``; ``aux`` is passed through undifferentiated.
        holomorphic: Complex inputs, either mode: ``f`` is holomorphic and complex-valued,
            and the result is its complex derivative f'(z), as in JAX. Without it, a real
            ``f`` of a complex z = x + iy has the gradient df/dx + i df/dy, the direction of
            steepest ascent (the conjugate of what JAX and autograd return), and a
            complex-valued ``f`` is refused (see ``docs/complex.md``).

    Returns:
        A function with ``f``'s signature that returns the gradient.

    Examples:
        The lecture's worked example, f(x, y, z) = (x + y) · max(y, z) at (1, 2, 0):

        >>> import numpy as np
        >>> from autodiffx import grad
        >>> @grad(wrt=(0, 1, 2), mode="forward")
        ... def f(x, y, z):
        ...     return (x + y) * max(y, z)
        >>> f(1.0, 2.0, 0.0)
        (2.0, 5.0, 0.0)

        A real loss of a complex input: the gradient is df/dx + i df/dy (2z for |z|²); a
        holomorphic function's derivative with ``holomorphic=True`` (3z² for z³):

        >>> grad(lambda z: np.abs(z) ** 2, mode="forward")(3 + 4j)
        (6+8j)
        >>> grad(lambda z: z ** 3, holomorphic=True, mode="forward")(1 + 1j)
        6j
    """
    if f is None:
        return functools.partial(
            grad, wrt=wrt, mode=mode, chunk=chunk, verbose=verbose, has_aux=has_aux,
            holomorphic=holomorphic,
        )
    both = value_and_grad(f, wrt, mode=mode, chunk=chunk, verbose=verbose, has_aux=has_aux,
                          holomorphic=holomorphic)
    if has_aux:
        @functools.wraps(f)
        def gradient(*args, **kwargs):
            value, gradient_ = both(*args, **kwargs)
            return gradient_, value[1]
    else:
        gradient = both.gradient_only  # the value is not needed, and may not be computed

    gradient.wrt = wrt
    gradient.mode = mode
    gradient.has_aux = has_aux
    gradient.value_and_grad = both
    return transforms.record(gradient, transforms.Made(
        "grad", f, wrt, mode, has_aux,
        again=lambda other: grad(f, other, mode=mode, chunk=chunk, has_aux=has_aux),
    ))



transforms.mark_transform(grad, "grad")


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


def _forward_gradient(f, args, kwargs, indices, chunk, has_aux=False, holomorphic=False):
    aux = []
    if has_aux:
        original = f

        def f(*a, **k):
            value, extra = _split_aux(original(*a, **k), original)
            aux.append(extra)
            return value

        f.__name__ = getattr(original, "__name__", "f")
    if holomorphic:
        _require_complex_inputs(args, indices)
    value, columns = driver.gradient_columns(f, args, kwargs, indices, chunk, holomorphic)
    _require_scalar(value, f, holomorphic=holomorphic)
    flat = np.reshape(columns, -1)
    gradients = []
    offset = 0
    for index in indices:
        size = int(np.size(args[index]))
        gradients.append(flat[offset : offset + size])
        offset += size
    return _scalar_value(value), gradients, (_plain(aux[-1]) if aux else None)


def _flattened(f, args, indices, mode, kwargs=None):
    """:func:`autodiffx.arguments.flattened`, with reverse mode's rewriting of ``f``."""
    if mode == "forward":
        return arguments.flattened(f, args, indices)
    return arguments.flattened(f, args, indices, (_reverse or _reverse_module()).flat_function,
                               keywords=kwargs or ())


def _reverse_module():
    """``autodiffx.reverse``, imported on first use (it needs the rule registry loaded)."""
    global _reverse
    if _reverse is None:
        from . import reverse

        _reverse = reverse
    return _reverse


_reverse = None


def _generated_module():
    """``autodiffx.reverse.jvp``, the generated JVP, imported on first use as reverse mode
    is."""
    global _generated
    if _generated is None:
        from .reverse import jvp as generated

        _generated = generated
    return _generated


_generated = None


def _argument_kinds(args, reverse) -> tuple | None:
    """Reverse mode: the kind of each argument (real or complex) the generated code is made
    for, ``None`` when all are real (the common case, checked without NumPy's dispatch)."""
    for arg in args:
        kind = type(arg)
        if not (kind is float or kind is np.ndarray and arg.dtype.kind == "f"):
            break
    else:
        return None
    leaves = []
    for arg in args:
        items = tree.flatten(arg)[0] if tree.is_structure(arg) else [arg]
        items = [_primal(leaf) for leaf in items]
        leaves.append(next((leaf for leaf in items if np.iscomplexobj(leaf)), items[0])
                      if items else arg)
    return reverse.argument_kinds(leaves)


def _primal(value):
    while isinstance(value, Dual):
        value = value.primal
    return value


def _real_gradients(gradients, args, indices, all_real=False):
    """A real argument's gradient is the real part of its cotangent, and a complex
    argument's gradient is complex even where no imaginary part reached it (see
    docs/complex.md). ``all_real``: every argument is known to be real."""
    for g in gradients:  # the common case, checked without NumPy's dispatch
        kind = type(g)
        if not (kind is float or kind is np.ndarray and g.dtype.kind == "f"):
            break
    else:
        if all_real or all(_is_real(args[i]) for i in indices):
            return gradients
    return [_of_kind(g, args[i]) for g, i in zip(gradients, indices, strict=True)]


def _is_real(value) -> bool:
    kind = type(value)
    return kind is float or kind is np.ndarray and value.dtype.kind == "f" or (
        not np.iscomplexobj(_primal(value)))


def _of_kind(gradient, arg):
    if np.iscomplexobj(_primal(arg)):
        return gradient if np.iscomplexobj(_primal(gradient)) else gradient * (1 + 0j)
    return np.real(gradient) if np.iscomplexobj(_primal(gradient)) else gradient


def _require_complex_inputs(args, indices) -> None:
    if not all(np.iscomplexobj(args[i]) for i in indices):
        raise ArgumentError(
            "holomorphic=True needs complex inputs: a holomorphic function is a function "
            "of a complex variable",
            hint="pass z + 0j, or leave holomorphic out for a real input",
        )


def _reverse_gradient(f, args, kwargs, indices, verbose, has_aux=False, last=None,
                      holomorphic=False):
    """Reverse mode's value, gradients and aux. ``last`` (a one-item list, per gradient
    function) keeps ``(f, indices, ranks, generated)`` of the previous call: the same
    function, indices and ranks with its guard still holding need no cache lookup."""
    reverse = _reverse or _reverse_module()
    kinds = _argument_kinds(args, reverse)

    if type(f) is types.MethodType:
        # A bound method: transform the function, with the instance as a constant argument.
        shifted = tuple(i + 1 for i in indices)
        return _reverse_gradient(
            f.__func__, [f.__self__, *args], kwargs, shifted, verbose, has_aux, last
        )
    if has_aux and transforms.made_by(f) is None:
        f = reverse.aux_version(f)  # only value of (value, aux) is differentiated
    # the code is made for the arguments' shapes (for arrays and floats; ranks otherwise)
    layouts = arguments.layouts(args)
    previous = last[0] if last is not None else None
    remember = None
    if (previous is not None and previous[0] is f and previous[1] == indices
            and previous[2] == layouts and previous[4] == kinds and previous[3].guard.holds()):
        generated = previous[3]
        reverse.note_call(f, previous[1], previous[5], kinds, previous[6])
    else:
        ranks = tuple([len(x) if type(x) is tuple else x for x in layouts])
        shapes = tuple([x if type(x) is tuple else None for x in layouts])
        generated = reverse.build(f, indices, ranks, verbose=verbose, argument_kinds=kinds,
                                  argument_shapes=shapes)
        if last is not None and transforms.made_by(f) is None:  # not reverse over reverse
            remember = (f, tuple(indices), layouts, generated, kinds, ranks, shapes)
    value, pullback = generated.function(*args, **kwargs)
    if generated.real_names is not None:
        reverse.check_real(pullback, generated.real_names, f)
    aux = None
    if has_aux:
        value, aux = _split_aux(value, f)
    _require_scalar(value, f, holomorphic=holomorphic)
    # the seed: 1, of the value's shape when it is an array of one entry
    seed = np.ones(value.shape) if type(value) is np.ndarray and value.ndim else 1.0
    if holomorphic:
        # the cotangent 1 pulls back the real part u: u_x + i u_y, which is conj(f'(z))
        # for a holomorphic f (Cauchy-Riemann)
        _require_complex_inputs(args, indices)
        gradients = [np.conj(g) for g in pullback(seed)]
    else:
        gradients = _real_gradients(pullback(seed), args, indices, kinds is None)
    if remember is not None:
        # only a call that ran and gave a value grad accepts primes the repeated-call path
        # (which may run the gradient without the value)
        last[0] = remember
    return _scalar_value(value), gradients, aux


def _nothing_to_raise() -> bool:
    """Whether leaving a value uncomputed changes nothing: the proof that computing it
    raises nothing (:func:`autodiffx.reverse.shapes.real_scalar`) holds for NumPy's
    default error handling, not under ``np.errstate(over="raise")`` (or ``"call"``,
    ``"print"``, ``"log"``) or with floating-point warnings turned into errors. The answer
    is kept while NumPy's error state object and the warning filters stay the same."""
    state = _error_state()
    filters = warnings.filters
    seen = _last_verdict[0]  # one tuple: threads read a consistent one
    if (state is not None and state is seen[0] and filters is seen[1]
            and len(filters) == seen[2] and (not filters or filters[0] is seen[3])):
        return seen[4]
    verdict = all(handling in ("ignore", "warn") for handling in np.geterr().values()) and (
        not any(action == "error" and issubclass(RuntimeWarning, category)
                for action, _, category, _, _ in filters))
    _last_verdict[0] = (state, filters, len(filters), filters[0] if filters else None, verdict)
    return verdict


try:  # NumPy's error state, one object per np.errstate (NumPy 2): to skip np.geterr()
    from numpy._core._ufunc_config import _extobj_contextvar as _error_states

    _error_state = _error_states.get
except ImportError:  # another NumPy: np.geterr() at every call
    def _error_state():
        return None
_last_verdict: list = [(None, None, -1, None, False)]


def _plain_layouts(args) -> tuple | None:
    """:func:`autodiffx.arguments.layouts` when every argument is a float or an array of
    floats of rank one or more (the arguments reverse mode takes as they are, all real),
    else ``None``."""
    found = []
    for arg in args:
        kind = type(arg)
        if kind is np.ndarray and arg.ndim and arg.dtype.kind == "f":
            found.append(arg.shape)
        elif kind is float:
            found.append(())
        else:
            return None
    return tuple(found)


def _reverse_again(f, args, kwargs, indices, previous):
    """:func:`_reverse_gradient` for plain arguments laid out as in the ``previous`` call,
    whose code's guard holds: that code runs again."""
    generated = previous[3]
    reverse = _reverse or _reverse_module()
    reverse.note_call(f, previous[1], previous[5], None, previous[6])
    value, pullback = generated.function(*args, **kwargs)
    if generated.real_names is not None:
        reverse.check_real(pullback, generated.real_names, f)
    _require_scalar(value, f)
    seed = np.ones(value.shape) if type(value) is np.ndarray and value.ndim else 1.0
    return _scalar_value(value), pullback(seed)


def _plain_results(gradients, args, indices) -> tuple | None:
    """The gradients as they are when each is an array of its own, of its argument's shape
    and dtype (so real), and writable, or a float for a float; ``None`` when one is not
    (then :func:`_real_gradients` and :func:`_owned` make them so)."""
    arrays = 0
    for gradient, index in zip(gradients, indices, strict=False):  # (one each, from the code)
        like = args[index]
        kind = type(gradient)
        if kind is np.ndarray:
            if not (type(like) is np.ndarray
                    and gradient.dtype is like.dtype and gradient.shape == like.shape
                    and (gradient.base is None or _sole_view(gradient))
                    and gradient.flags.writeable):
                return None
            arrays += 1
        elif not (kind is float and type(like) is float):
            return None
    if arrays > 1 and len({id(g) for g in gradients if type(g) is np.ndarray}) < arrays:
        return None  # one array for two arguments: _owned copies it
    return tuple(gradients)


def jvp(f: Callable, primals: Sequence, tangents: Sequence) -> tuple[Any, Any]:
    """Forward mode: the value of ``f(*primals)`` and its derivative along ``tangents``.

    ``tangents`` has one entry per primal, of the same shape. Returns
    ``(value, tangent_out)``, as in JAX. A primal may be a dict, list or tuple of arrays and
    numbers (nested), with a tangent of the same structure; a result of such a structure
    gives its value and its tangent in that structure.

    From the second call of a function with float64 arrays and Python floats of the same
    shapes, ``jvp`` runs code it generates from the function's source (the value's
    statements, each followed by its tangent's; [`jvp_source`][autodiffx.jvp_source] shows
    it) instead of dual numbers, where the function is made of what that code covers. The
    result is the same.

    Examples:
        >>> import numpy as np
        >>> from autodiffx import jvp
        >>> jvp(np.sin, (0.0,), (2.0,))
        (0.0, 2.0)
        >>> jvp(lambda p: (p["w"] * p["b"], p["b"]), ({"w": 3.0, "b": 2.0},),
        ...     ({"w": 1.0, "b": 0.5},))
        ((6.0, 2.0), (3.5, 0.5))
    """
    primals = tuple(primals)
    tangents = tuple(tangents)
    if len(primals) != len(tangents):
        raise ArgumentError(
            f"jvp got {len(primals)} primals but {len(tangents)} tangents",
            hint="give one tangent per primal, of the same shape",
        )
    for primal in primals:
        if type(primal) in _CONTAINERS and tree.is_structure(primal):  # of arrays: leaves
            f, primals, tangents = _jvp_leaves(f, primals, tangents)
            break
    written = (_generated or _generated_module()).jvp(f, primals, tangents)
    if written is not None:  # the value's and the tangent's code, generated and cached
        if type(written[0]) is tuple:  # return a, b
            pairs = [_jvp_result(v, t) for v, t in zip(*written, strict=True)]
            return tuple(v for v, _ in pairs), tuple(t for _, t in pairs)
        return _jvp_result(*written)
    plain = driver.plain_duals(f, primals, tangents)
    if plain is not None:  # float64 arrays and Python floats: nothing to check or convert
        try:
            value, out = driver.run(f, plain[0], {}, plain[1], 1, structured=True)
        except AutodiffError as error:
            # what the dual numbers refuse (np.asarray of x), the generated code never
            # runs for these shapes: a later call is refused as this one
            (_generated or _generated_module()).refused(f, primals, tangents, error)
            raise
    else:
        args = [arguments.as_differentiable(p, i) for i, p in enumerate(primals)]
        seeds = [driver.seed(primal, arguments.as_differentiable(tangent, i), i)
                 for i, (primal, tangent) in enumerate(zip(args, tangents, strict=True))]
        value, out = driver.push(f, args, {}, range(len(args)), seeds, structured=True)
    if type(value) in _CONTAINERS:  # an output of that structure: one per leaf
        tangents, spec = tree.flatten(out)  # (its leaves are arrays: a structure)
        pairs = [_jvp_result(_item(value, path), tangent[0])
                 for path, tangent in zip(spec.paths(), tangents, strict=True)]
        return (tree.unflatten(spec, [v for v, _ in pairs]),
                tree.unflatten(spec, [t for _, t in pairs]))
    return _jvp_result(value, out[0])


_CONTAINERS = (dict, list, tuple)


def _item(value, path: tuple):
    for key in path:
        value = value[key]
    return value


def _jvp_leaves(f, primals: tuple, tangents: tuple):
    """``jvp``'s call with each dict, list or tuple primal spread into its leaves, its
    tangent into the leaves of the same structure, and ``f`` taking the leaves."""
    function, flat, _, _ = arguments.flattened(f, list(primals), range(len(primals)))
    leaves = []
    for i, (primal, tangent) in enumerate(zip(primals, tangents, strict=True)):
        if not tree.is_structure(primal):
            leaves.append(tangent)
            continue
        spec = tree.flatten(primal)[1]
        if not tree.is_structure(tangent) or tree.flatten(tangent)[1] != spec:
            raise ArgumentError(
                f"jvp's tangent {i} is not of the structure of primal {i} (a "
                f"{type(primal).__name__} with the same keys and items)",
                hint="give each primal's tangent the same dicts, lists and tuples, with an "
                "array of the same shape in place of each array")
        leaves += tree.flatten(tangent)[0]
    return function, tuple(flat), tuple(leaves)


def _jvp_result(value, tangent):
    """``jvp``'s result: a scalar value and its tangent as Python numbers (the tangent stays
    a Dual when it carries the derivative of an outer evaluation)."""
    if type(value) is np.float64 and type(tangent) is np.float64:  # the common scalar
        return float(value), float(tangent)
    if np.ndim(value) == 0:
        if not isinstance(tangent, Dual):
            tangent = np.asarray(tangent)[()]
        return _scalar_value(value), _scalar_value(tangent)
    return value, tangent


def vjp(f: Callable, *primals) -> tuple[Any, Callable]:
    """Reverse mode: ``(value, pullback)``; ``pullback(cotangent)`` gives one entry per argument.

    Examples:
        The multiply gate: each input gets the upstream gradient times the other input.

        >>> from autodiffx import vjp
        >>> value, pullback = vjp(lambda x, y: x * y, 2.0, 3.0)
        >>> value, pullback(1.0)
        (6.0, (3.0, 2.0))
    """
    from . import reverse

    indices = tuple(range(len(primals)))
    args = [arguments.as_differentiable(p, i) for i, p in enumerate(primals)]
    generated = reverse.build(f, indices, arguments.ranks_of(args),
                              argument_kinds=_argument_kinds(args, reverse))
    value, pullback = generated.function(*args)
    if generated.real_names is not None:
        reverse.check_real(pullback, generated.real_names, f)

    def shaped_pullback(cotangent):
        if np.shape(cotangent) != np.shape(value):
            raise ArgumentError(
                f"the cotangent has shape {np.shape(cotangent)} but the output has shape "
                f"{np.shape(value)}"
            )
        if np.iscomplexobj(cotangent) and not np.iscomplexobj(value):
            raise ArgumentError(
                "the cotangent is complex, but the output is real: the cotangent of a real "
                "value is real",
                hint="pass a real cotangent (see docs/complex.md)")
        gradients = _real_gradients(pullback(cotangent), args, indices)
        return _owned(gradients, args, indices, seed=cotangent)

    return value, shaped_pullback


def jacfwd(f: Callable, wrt: Wrt = 0, *, chunk: int | None = None) -> Callable:
    """The Jacobian by forward mode: shape ``output.shape + input.shape`` per ``wrt`` input.

    Examples:
        >>> import numpy as np
        >>> from autodiffx import jacfwd
        >>> jacfwd(lambda x: x ** 2)(np.array([1.0, 3.0]))
        array([[2., 0.],
               [0., 6.]])
    """

    @functools.wraps(f)
    def jacobian(*args, **kwargs):
        args, indices, many = arguments.prepare(f, args, wrt)
        function, args, flat_indices, regroup = arguments.flattened(f, args, indices)
        if any(np.iscomplexobj(args[i]) for i in flat_indices):
            # each row the gradient of one real output: d/dx + i d/dy (docs/complex.md)
            value, columns = driver.gradient_columns(function, args, kwargs, flat_indices,
                                                     chunk)
            if np.iscomplexobj(_primal(value)):
                raise ComplexNotSupportedError(
                    "jacfwd (or hessian) of a complex-valued function of complex inputs: "
                    "its real Jacobian has twice the size in each direction, which jacfwd "
                    "does not build",
                    hint="use jvp along 1 and along 1j, or jacfwd of np.real(f) and of "
                    "np.imag(f) (see docs/complex.md)",
                )
        else:
            value, columns = driver.jacobian_columns(function, args, kwargs, flat_indices,
                                                     chunk)
        results = []
        offset = 0
        out_shape = np.shape(value)
        for index in flat_indices:
            size = int(np.size(args[index]))
            block = columns[offset : offset + size]
            offset += size
            block = np.moveaxis(block.reshape((size, -1)), 0, -1)
            block = block.reshape(out_shape + np.shape(args[index]))
            if np.iscomplexobj(block) and not np.iscomplexobj(args[index]):
                block = np.real(block)  # a real argument's block: its real part is its own
            results.append(block)
        return _jacobians(results, regroup, many)

    return jacobian


def jacrev(f: Callable, wrt: Wrt = 0) -> Callable:
    """The Jacobian by reverse mode: one pullback per output entry.

    Examples:
        Reverse mode reads ``square``'s source (a file, IPython, Jupyter or Python 3.13's
        prompt; the plain prompt of older Pythons keeps none).

        >>> import numpy as np
        >>> from autodiffx import jacrev
        >>> def square(x):
        ...     return x ** 2
        >>> jacrev(square)(np.array([1.0, 3.0]))
        array([[2., 0.],
               [0., 6.]])
    """
    from . import reverse

    @functools.wraps(f)
    def jacobian(*args, **kwargs):
        args, indices, many = arguments.prepare(f, args, wrt)
        function, args, indices, regroup = _flattened(f, args, indices, "reverse")
        generated = reverse.build(function, indices, arguments.ranks_of(args),
                                  argument_kinds=_argument_kinds(args, reverse))
        value, pullback = generated.function(*args, **kwargs)
        if generated.real_names is not None:
            reverse.check_real(pullback, generated.real_names, f)
        _require_numeric(value, f)
        out_shape = np.shape(value)
        m = int(np.prod(out_shape, dtype=int))
        rows = [[] for _ in indices]
        for j in range(m):
            seed = np.zeros(m)
            seed[j] = 1.0
            cotangent = seed.reshape(out_shape) if out_shape else 1.0
            gradients = _real_gradients(pullback(cotangent), args, indices)
            for row, g, index in zip(rows, gradients, indices, strict=True):
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


def source(g: Callable, *example_args, shapes: bool = False) -> str:
    """The generated source of a reverse-mode gradient made by [`grad`][autodiffx.grad] (or of
    ``f``).

    Generated code is specialised for the ranks (``ndim``) of the arguments, which is what
    lets it say ``np.outer(dz, x)`` where the rank is known. ``source(g, *args)`` shows the
    code for those arguments; ``source(g)`` shows the code of the last call, or the
    rank-generic code when ``g`` has not been called yet. The result is a ``str`` that a
    notebook shows as highlighted Python.

    A call with arrays runs code made for their exact shapes as well, where broadcasting is
    decided in advance: ``unbroadcast(g, x)`` becomes ``g`` or a ``np.sum`` over the
    stretched axes, and ``np.size(x)`` a number. ``shapes=True`` shows that code (for the
    example arguments, or the last call's). After eight sets of shapes for one gradient,
    calls with new shapes run the rank-generic code. Where the value is proved a real
    scalar, that code also holds ``f_grad``, the gradient without the value: the forward
    sweep, then the pullback's body seeded with 1.0, which ``grad`` runs when a call is laid
    out like the last one (it throws the value away).

    Examples:
        >>> import numpy as np
        >>> from autodiffx import grad, source
        >>> from autodiffx.ner.model import score
        >>> text = source(grad(score, wrt="b"), np.ones((2, 3)), np.zeros(2), np.ones(2),
        ...               np.ones((3, 1)))
        >>> "def score_vjp(W, b, u, X):" in text and "dz = dh * (1 - h ** 2)" in text
        True

        The code for these shapes: ``b``'s gradient is a sum over the batch axis, and
        ``W @ X + b[:, None]`` is one line, as in the source.

        >>> shaped = source(grad(score, wrt="b"), np.ones((2, 3)), np.zeros(2), np.ones(2),
        ...                 np.ones((3, 4)), shapes=True)
        >>> "z = W @ X + b[:, None]" in shaped and "row_sums(dz)" in shaped
        True
        >>> "unbroadcast" in shaped
        False
    """
    from . import reverse

    return reverse.source_of(g, *example_args, shapes=shapes)


def jvp_source(f: Callable, primals: Sequence, tangents: Sequence) -> str:
    """The code [`jvp`][autodiffx.jvp] generates and runs for these arguments: the value's
    statements, each followed by its tangent's, written from the same rules as the dual
    numbers apply.

    ``jvp`` of float64 arrays and Python floats runs such code when the function is made of
    what it covers (NumPy calls with a rule, branches and loops on values without a
    derivative): the same arithmetic as the dual numbers, without the dispatch of operator
    overloading. For anything else (a write into an array, a call of another of your
    functions, a tuple result) it evaluates ``f`` on dual numbers, and this raises an
    [`AutodiffError`][autodiffx.errors.AutodiffError] saying what and where.

    Examples:
        >>> import numpy as np
        >>> from autodiffx import jvp_source
        >>> from autodiffx.ner.model import score
        >>> W, X = np.ones((2, 3)), np.ones((3, 4))
        >>> b, u = np.zeros(2), np.ones(2)
        >>> text = jvp_source(score, (W, b, u, X), (W, b, u, X))
        >>> print(text[text.index("    h = "):text.index("    return")], end="")
            h = np.tanh(z)
            dh = dz * (1 - h ** 2)
            # return u @ h
            score = u @ h
            dscore = du @ h + u @ dh
    """
    from .display import Code

    return Code(_generated_module().source(f, tuple(primals), tuple(tangents)))


# --------------------------------------------------------------------------- second order


def hessian(f: Callable, wrt: int | str = 0, *, mode: str = "reverse") -> Callable:
    """The Hessian of the scalar function ``f`` with respect to one argument.

    The result has shape ``x.shape + x.shape``. It is the forward-mode Jacobian of the
    gradient; ``mode`` picks how that gradient is taken: ``"reverse"`` (the default,
    forward-over-reverse: Duals flow through the generated adjoint code) or ``"forward"``
    (forward-over-forward, which needs no source).

    Examples:
        >>> import numpy as np
        >>> from autodiffx import hessian
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

    Examples:
        >>> import numpy as np
        >>> from autodiffx import hvp
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
    args = [arguments.as_differentiable(p, i) for i, p in enumerate(primals)]
    seeds = []
    for i, (primal, tangent) in enumerate(zip(args, tangents, strict=True)):
        tangent = np.asarray(arguments.as_differentiable(tangent, i))
        # a complex direction for a complex primal (a complex one for a real primal is
        # refused by the Dual)
        tangent = tangent.astype(complex if np.iscomplexobj(tangent) or np.iscomplexobj(
            primal) else float)
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
