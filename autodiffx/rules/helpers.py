"""The few helper functions that derivative rules call.

Adjoint rules are Python expressions (see :mod:`autodiffx.rules.registry`). Most are plain
NumPy; the handful of operations NumPy has no one-call spelling for live here. Reverse-mode
generated code imports exactly these names, so a gradient exported as a file needs only this
module's logic (the exporter copies the helpers it uses).

Forward-mode tangents carry a leading axis of directions (see :mod:`autodiffx.forward.dual`);
:func:`shift_axis` maps a NumPy ``axis`` argument onto such a tangent.
"""

from __future__ import annotations

import operator
import string

import numpy as np

from ..errors import ArgumentError, MissingRuleError
from . import lifting

# Each helper below that generated code calls declares its derivative with a decorator from
# lifting, for forward mode running generated code (forward over reverse).
_THIRD_THROUGH_PROD = "a third derivative through np.prod"

# --------------------------------------------------------------------------- broadcasting


@lifting.linear(0, shapes=(1,))
def unbroadcast(g, x):
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``x``'s shape.

    This is the adjoint of NumPy's implicit broadcasting, and the only place it is undone.
    """
    shape = np.shape(x)
    if np.shape(g) == shape:
        return g
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    if not shape:
        return g[()] if isinstance(g, np.ndarray) else g
    return g.reshape(shape)


def broadcast_like(t, ans):
    """The tangent ``t`` of a value ``ans`` it may have fewer entries than, given the
    value's shape: the tangent of a broadcast is the same broadcast of the tangent
    (``z = x + b`` with only ``b`` differentiated). Read-only where it is a broadcast view;
    forward mode's generated code never writes into a tangent."""
    shape = np.shape(ans)
    if np.shape(t) == shape:
        return t
    return np.broadcast_to(t, shape)


def normalize_axis(axis, ndim):
    """Return ``axis`` as a sorted tuple of non-negative ints (all axes for ``None``). A 0-d
    array has none: ``np.sum(1.5, axis=0)`` is a reduction NumPy accepts over no axis."""
    if axis is None or ndim == 0:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(a % ndim for a in axis))
    return (axis % ndim,)


@lifting.linear(0, shapes=(1,))
def unreduce(g, x, axis=None, keepdims=False):
    """Broadcast the cotangent ``g`` of a reduction of ``x`` back to ``x``'s shape."""
    shape = np.shape(x)
    if not keepdims and axis is not None:
        g = np.expand_dims(g, normalize_axis(axis, len(shape)))
    return np.broadcast_to(g, shape)


@lifting.constant
def extremum_weights(x, ans, axis=None, keepdims=False):
    """Where ``x`` attains its reduced max (or min) ``ans``, with ties sharing the weight.

    A reduction whose maximum is attained at m places sends 1/m of the cotangent to each.
    """
    hits = np.asarray(x) == unreduce(ans, x, axis, keepdims)
    count = np.sum(hits, axis=axis, keepdims=True)
    return hits / count


def prod_partials_tangent(t, x, axis=None, keepdims=False):
    """The tangent of ``prod_partials(x, axis)`` along ``t`` (directions on ``t``'s first axis).

    Within each reduced group it is the Hessian of the product applied to ``t``:
    ``out[k] = sum over i != k of t[i] * (product of x[j] for j not in {i, k})``, exact
    where ``x`` holds zeros. Cost per group of n entries: O(n log n) multiplications and
    O(n) memory (see :func:`_dual_cumprod`), for each direction.

    >>> prod_partials_tangent(np.array([[1.0, 0.0, 0.0]]), np.array([2.0, 0.0, 5.0])).tolist()
    [[0.0, 5.0, 0.0]]
    """
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    reduced = normalize_axis(axis, x.ndim)
    if not reduced or x.size == 0:
        return np.zeros(np.broadcast_shapes(t.shape, (1, *x.shape)))
    shifted = tuple(a + 1 for a in reduced)
    t = np.broadcast_to(t, np.broadcast_shapes(t.shape, (1, *x.shape)))
    t_groups, ungroup = _groups(t, shifted)
    x_groups, _ = _groups(x[np.newaxis], shifted)
    return ungroup(_pair_products(t_groups, x_groups))


@lifting.unary(prod_partials_tangent, refusal=_THIRD_THROUGH_PROD)
def prod_partials(x, axis=None, keepdims=False):
    """The partial derivatives of ``np.prod(x, axis)``: the product of all other entries.

    Computed with exclusive cumulative products, so zeros in ``x`` give exact results.
    ``keepdims`` does not change the partials (they have ``x``'s shape); it is accepted so
    that the helper takes the reduction's own arguments.
    """
    x = np.asarray(x, dtype=float)
    reduced = normalize_axis(axis, x.ndim)
    if not reduced or x.size == 0:
        return np.ones_like(x)
    groups, ungroup = _groups(x, reduced)
    return ungroup(_exclusive_products(groups, -1))


@lifting.linear(0, refused=(1,), refusal=_THIRD_THROUGH_PROD)
def prod_partials_adjoint(g, x, axis=None, keepdims=False):
    """The vector-Jacobian product of ``prod_partials(x, axis)`` with the cotangent ``g``.

    ``dx[k] = sum over i != k of g[i] * (product of x[j] for j not in {i, k})`` within each
    reduced group, exact where ``x`` holds zeros. The Jacobian of the partials is the
    Hessian of the product, which is symmetric, so this is :func:`prod_partials_tangent`
    with ``g`` as the one direction; the same cost, O(n log n) per group of n entries.

    >>> prod_partials_adjoint(np.ones(3), np.array([2.0, 0.0, 5.0])).tolist()
    [5.0, 7.0, 2.0]
    """
    g = np.broadcast_to(np.asarray(g, dtype=float), np.shape(x))
    return prod_partials_tangent(g[np.newaxis], x, axis, keepdims)[0]


def _groups(x, reduced):
    """``x`` with the ``reduced`` axes moved last and flattened into one, and the function
    that puts an array of that layout back into ``x``'s."""
    order = [a for a in range(x.ndim) if a not in reduced] + list(reduced)
    moved = np.transpose(x, order)
    flat = moved.reshape(moved.shape[: x.ndim - len(reduced)] + (-1,))

    def ungroup(groups):
        return np.transpose(np.reshape(groups, moved.shape), np.argsort(order))

    return flat, ungroup


def _exclusive_products(x, axis):
    ones = np.ones_like(np.take(x, [0], axis=axis))
    left = np.cumprod(np.concatenate([ones, x], axis=axis), axis=axis)
    right = np.flip(
        np.cumprod(np.concatenate([ones, np.flip(x, axis=axis)], axis=axis), axis=axis),
        axis=axis,
    )
    n = x.shape[axis]
    return np.take(left, range(n), axis=axis) * np.take(right, range(1, n + 1), axis=axis)


def _pair_products(v, x):
    """Along the last axis: ``out[k] = sum over i != k of v[i] * prod(x[j], j not in {i, k})``.

    The product rule on ``partial[k] = before[k] * after[k]`` (the products of the entries
    before and after k): ``out[k] = d before[k] * after[k] + before[k] * d after[k]``, where
    ``d`` is the derivative along ``v``, carried exactly by dual-number cumulative products.
    """
    before, d_before = _exclusive_dual_cumprod(x, v)
    after, d_after = _exclusive_dual_cumprod(x[..., ::-1], v[..., ::-1])
    return d_before * after[..., ::-1] + before * d_after[..., ::-1]


def _exclusive_dual_cumprod(x, v):
    """The products of the entries strictly before each one, and their derivatives along v."""
    ones = np.ones_like(x[..., :1])
    zeros = np.zeros_like(v[..., :1])
    return _dual_cumprod(np.concatenate([ones, x[..., :-1]], axis=-1),
                         np.concatenate([zeros, v[..., :-1]], axis=-1))


def _dual_cumprod(x, v):
    """The cumulative products of the dual numbers ``x + v ε`` along the last axis.

    Returns the products and their derivatives along ``v``. A doubling scan: after the step
    with offset s, entry k holds the product of entries k - 2s + 1 .. k, so log2(n) steps of
    whole-array work give O(n log n) multiplications, and only multiplications and
    additions: no division, so zeros are exact.
    """
    product = np.array(np.broadcast_to(x, np.broadcast_shapes(x.shape, v.shape)))
    derivative = np.array(np.broadcast_to(v, product.shape))
    offset = 1
    while offset < product.shape[-1]:
        earlier = product[..., :-offset]
        d_earlier = derivative[..., :-offset]
        later = product[..., offset:]
        d_later = derivative[..., offset:]
        # both right-hand sides are computed before either slice is overwritten
        product[..., offset:], derivative[..., offset:] = (
            earlier * later, d_earlier * later + earlier * d_later)
        offset *= 2
    return product, derivative


def _safe_divide_tangent(divide, a, b, ta, tb):
    # d(a / b) = da / b − a db / b², each quotient as safe as the helper itself
    part = 0.0 if ta is None else divide(ta, b)
    return part if tb is None else part - divide(a * tb, b * b)


@lifting.binary(_safe_divide_tangent)
def safe_divide(a, b):
    """``a / b``, with 0 wherever ``b`` is 0 (the convention at the kink of a norm)."""
    b = np.asarray(b)
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def _strong_zero_tangent(product, g, d, tg, td):
    # the product rule, each product keeping the helper's "zero times anything is zero"
    part = 0.0 if tg is None else product(tg, d)
    return part if td is None else part + product(g, td)


@lifting.binary(_strong_zero_tangent)
def strong_zero(g, d):
    """``g * d``, except that a zero ``g`` gives zero even where ``d`` is infinite or NaN.

    Rules whose local derivative can blow up (``sqrt`` at 0, ``log`` at 0, division by 0)
    use it, so that a branch that ``np.where`` did not select cannot leak NaN.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        product = g * d
    return np.where(g == 0, 0.0, product)


def unfill(g, fill_value, ans):
    """The adjoint of ``np.full_like(a, fill_value)`` for ``fill_value``: ``g`` summed to its
    shape; 0 when the result is not floating point (``a`` of integers truncates the value,
    a step function).

    >>> unfill(np.ones((2, 3)), 0.5, np.zeros((2, 3))).item()
    6.0
    >>> float(unfill(np.ones(3), 0.5, np.zeros(3, dtype=int)))
    0.0
    """
    if np.result_type(ans).kind not in "fc":
        return np.zeros(np.shape(fill_value))[()]
    return unbroadcast(g, fill_value)


# --------------------------------------------------------------------------- indexing


def scatter_add(y, index, v):
    """``y`` with ``v`` added at ``index``, repeated indices adding up: what
    ``np.add.at(y, index, v)`` writes into ``y``, as a new array (reverse mode stores it
    back into ``y``).

    >>> scatter_add(np.zeros(3), [0, 0, 2], 1.0)
    array([2., 0., 1.])
    """
    if isinstance(y, np.ndarray) and not np.issubdtype(y.dtype, np.inexact) and (
            isinstance(v, (np.ndarray, np.generic, float, int, complex, list, tuple))):
        # integers or booleans: each addition is cast back to y's type, as NumPy does
        # (no derivative passes: see through_cast)
        out = y.copy()
        np.add.at(out, index, v)
        return out
    # a copy of y that carries a derivative when y or v does (zeros_like of a dual number
    # is a dual number): forward mode then adds v's tangent in place too
    out = y + np.zeros_like(v, shape=np.shape(y))
    np.add.at(out, index, v)
    return out


def at_tangent(index):
    """``index`` for an array with a leading axis of directions (a tangent)."""
    return (slice(None), *(index if isinstance(index, tuple) else (index,)))


def through_cast(g, target):
    """The cotangent of a value stored into ``target``: ``g`` when ``target`` holds real
    floats, zeros when it holds integers or booleans (the store truncates the value, a step
    function, so no derivative passes)."""
    dtype = getattr(target, "dtype", None)  # an array, or a dual number (forward over reverse)
    if dtype is None or np.issubdtype(dtype, np.inexact):
        return g  # a Python float
    return np.zeros_like(g)


@lifting.linear(0, shapes=(1,))
def unindex(g, x, index):
    """The adjoint of ``x[index]``: ``g`` scattered into zeros of ``x``'s shape.

    Repeated integer indices accumulate (``np.add.at``), as the chain rule requires.
    """
    out = np.zeros(np.shape(x), dtype=np.result_type(g, float))
    if _is_basic_index(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


def _is_basic_index(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(
        item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice))
        for item in items
    )


@lifting.linear(0, shapes=(1,))
def untake(g, x, indices, axis=None):
    """The adjoint of ``np.take(x, indices, axis)``: ``g`` scattered into zeros of ``x``'s
    shape. Repeated indices accumulate (``np.add.at``), as the chain rule requires.

    >>> untake(np.array([1.0, 2.0, 3.0]), np.zeros(4), [3, 0, 3]).tolist()
    [2.0, 0.0, 0.0, 4.0]
    """
    out = np.zeros(np.shape(x), dtype=np.result_type(g, float))
    if axis is None:  # np.take reads the flattened array
        np.add.at(out.reshape(-1), indices, g)  # a view: out is new and contiguous
    else:
        np.add.at(out, (slice(None),) * (axis % out.ndim) + (indices,), g)
    return out


@lifting.linear(0, shapes=(1,))
def untake_along_axis(g, x, indices, axis=-1):
    """The adjoint of ``np.take_along_axis(x, indices, axis)``: ``g`` scattered into zeros of
    ``x``'s shape along ``axis``. Repeated indices accumulate, and so do the entries an axis
    of length 1 in ``x`` was broadcast to.

    >>> untake_along_axis(np.array([[1.0, 2.0]]), np.zeros((1, 3)), np.array([[2, 2]])).tolist()
    [[0.0, 0.0, 3.0]]
    """
    out = np.zeros(np.shape(x), dtype=np.result_type(g, float))
    if axis is None:  # np.take_along_axis reads the flattened array
        np.add.at(out.reshape(-1), indices, g)
        return out
    g = np.asarray(g)
    axis = axis % out.ndim
    grid = list(np.indices(g.shape, sparse=True))
    for position, size in enumerate(out.shape):
        if size == 1 and g.shape[position] != 1:
            grid[position] = np.zeros_like(grid[position])  # broadcast from one entry
    grid[axis] = indices
    np.add.at(out, tuple(grid), g)
    return out


# --------------------------------------------------------------------------- differences


def check_diff_order(n):
    """Refuse ``np.diff`` with ``n`` other than 1: only first differences have a rule."""
    if n == 1:
        return
    raise MissingRuleError(
        f"np.diff with n={n!r} has no derivative rule; only first differences (n=1) have one",
        hint="apply np.diff n times instead, for example np.diff(np.diff(x)) for n=2",
    )


@lifting.linear(0)
def undiff(g, n=1, axis=-1):
    """The adjoint of ``np.diff(x, n, axis)`` for ``n = 1``: entry k of ``x`` gets
    ``g[k - 1] - g[k]``, with ``g`` taken as 0 beyond its ends.

    >>> undiff(np.array([1.0, 10.0])).tolist()
    [-1.0, -9.0, 10.0]
    """
    check_diff_order(n)
    return -np.diff(g, axis=axis, prepend=0.0, append=0.0)


# --------------------------------------------------------------------------- joining


@lifting.linear(0, shapes=(1,))
def unconcatenate(g, arrays, axis=0):
    """Split ``g`` into pieces shaped like the ``arrays`` that were concatenated."""
    if axis is None:
        sizes = [np.size(a) for a in arrays]
        pieces = np.split(np.ravel(g), np.cumsum(sizes)[:-1])
        return [np.reshape(p, np.shape(a)) for p, a in zip(pieces, arrays, strict=True)]
    sizes = [np.shape(a)[axis] for a in arrays]
    return np.split(g, np.cumsum(sizes)[:-1], axis=axis)


@lifting.linear(0)
def unstack(g, axis=0):
    """Split ``g`` along ``axis`` into the pieces that ``np.stack`` joined."""
    return list(np.moveaxis(g, axis, 0))


# --------------------------------------------------------------------------- products


@lifting.product
def matmul_adjoint(g, x, y, side):
    """The adjoint of ``x @ y`` for operand ``side`` (0 or 1), for any ranks."""
    x = np.asarray(x)
    y = np.asarray(y)
    x2 = x[np.newaxis, :] if x.ndim == 1 else x
    y2 = y[:, np.newaxis] if y.ndim == 1 else y
    g2 = np.asarray(g)
    if x.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    if y.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    if side == 0:
        d = g2 @ np.swapaxes(y2, -1, -2)
        d = d[..., 0, :] if x.ndim == 1 else d
        return unbroadcast(d, x)
    d = np.swapaxes(x2, -1, -2) @ g2
    d = d[..., :, 0] if y.ndim == 1 else d
    return unbroadcast(d, y)


def matmul_tangent(t, x, y, side):
    """The tangent of ``x @ y`` through operand ``side``, with the directions leading."""
    # x.ndim of a plain array skips np.ndim's dispatch (half a microsecond, twice a product)
    x_rank = x.ndim if type(x) is np.ndarray else np.ndim(x)
    y_rank = y.ndim if type(y) is np.ndarray else np.ndim(y)
    # The common ranks first: the direction axis of t then acts as a batch axis of matmul.
    if x_rank <= 2 and y_rank <= 2:
        if side == 0:
            return t @ y  # (k, [p,] n) @ (n[, m])
        if y_rank == 1:
            return t @ x.T if x_rank == 2 else t @ x  # (k, n) @ (n, p), or (k, n) @ (n,)
        return x @ t  # ([p,] n) @ (k, n, m)
    if side == 0:
        left = t[..., np.newaxis, :] if x_rank == 1 else t
        # (np.expand_dims, not np.asarray(y)[:, None]: a Dual of an outer level goes through)
        right = np.expand_dims(y, -1) if y_rank == 1 else y
        batch = max(x_rank, 2) - 2, max(y_rank, 2) - 2
        left = _pad_batch(left, max(batch), batch[0])
    else:
        left = np.expand_dims(x, 0) if x_rank == 1 else x
        right = t[..., :, np.newaxis] if y_rank == 1 else t
        batch = max(x_rank, 2) - 2, max(y_rank, 2) - 2
        right = _pad_batch(right, max(batch), batch[1])
    out = left @ right
    if x_rank == 1:
        out = out[..., 0, :]
    if y_rank == 1:
        out = out[..., 0]
    return out


def _pad_batch(t, batch_rank, own_batch_rank):
    """Insert length-1 batch axes after the direction axis of a matmul tangent."""
    missing = batch_rank - own_batch_rank
    if missing <= 0:
        return t
    return t.reshape(t.shape[:1] + (1,) * missing + t.shape[1:])


@lifting.product
def inner_adjoint(g, x, y, side):
    """The adjoint of ``np.inner(x, y)`` (which contracts the last axes) for ``side``."""
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return _scalar_product_adjoint(g, x, y, side)
    x_lead = np.ndim(x) - 1
    y_lead = np.ndim(y) - 1
    if side == 0:
        return np.tensordot(g, y, axes=(list(range(x_lead, x_lead + y_lead)), list(range(y_lead))))
    moved = np.tensordot(g, x, axes=(list(range(x_lead)), list(range(x_lead))))
    return moved


def _scalar_product_adjoint(g, x, y, side):
    """The adjoint of ``np.dot`` or ``np.inner`` when an operand is a scalar: a product."""
    return unbroadcast(g * (y if side == 0 else x), x if side == 0 else y)


@lifting.product
def dot_adjoint(g, x, y, side):
    """The adjoint of ``np.dot(x, y)`` for operand ``side``, for any ranks."""
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return _scalar_product_adjoint(g, x, y, side)
    if np.ndim(y) <= 2:
        return matmul_adjoint(g, x, y, side)
    # np.dot with y of rank 3 or more contracts x's last axis with y's second-to-last.
    x = np.asarray(x)
    y = np.asarray(y)
    x_axes = list(range(x.ndim - 1))
    y_axes = [i for i in range(y.ndim) if i != y.ndim - 2]
    if side == 0:
        return np.tensordot(g, y, axes=(list(range(x.ndim - 1, g.ndim)), y_axes))
    moved = np.tensordot(x, g, axes=(x_axes, list(range(len(x_axes)))))
    return np.moveaxis(moved, 0, y.ndim - 2)


@lifting.einsum
def einsum_adjoint(subscripts, side, g, *operands):
    """The adjoint of ``np.einsum(subscripts, *operands)`` for operand ``side``.

    The cotangent is contracted with the other operands onto the target's distinct letters,
    then spread over the target's shape: a letter found nowhere else was summed out, so it
    is broadcast back; a letter repeated inside the target (``"ii->"``) puts the result on
    a diagonal. NumPy's einsum broadcasts an axis of length 1 against a longer one with the
    same letter (and ``...`` axes), so such an axis of the target gets the sum over it.

    >>> einsum_adjoint("i,i->", 0, 2.0, np.ones(3), np.array([5.0])).tolist()
    [10.0, 10.0, 10.0]
    >>> einsum_adjoint("i,i->i", 1, np.ones(3), np.arange(3.0), np.array([5.0])).tolist()
    [3.0]
    """
    operands = _present(operands)
    inputs, output = _parse_einsum(subscripts, operands)
    target = inputs[side]
    others = [s for i, s in enumerate(inputs) if i != side]
    other_ops = [op for i, op in enumerate(operands) if i != side]
    available = set(output).union(*others)
    kept = "".join(dict.fromkeys(c for c in target if c in available))
    partial = np.einsum(",".join([output, *others]) + "->" + kept, g, *other_ops)
    sizes = dict(zip(target, np.shape(operands[side]), strict=True))
    shape = tuple(sizes[c] for c in kept)
    if np.shape(partial) != shape:  # broadcasting between operands: undo it
        stretched = tuple(i for i, c in enumerate(kept)
                          if sizes[c] == 1 and np.shape(partial)[i] != 1)
        if stretched:
            partial = np.sum(partial, axis=stretched, keepdims=True)
        partial = np.broadcast_to(partial, shape)
    used = set("".join(inputs) + output)
    fresh = (c for c in string.ascii_letters if c not in used)
    specs, factors, spread = [kept], [partial], ""
    for c in target:
        if c not in spread:
            spread += c
            if c not in kept:  # summed out: every entry had the same weight
                specs.append(c)
                factors.append(np.ones(sizes[c]))
        else:  # a repeat: a fresh letter, tied to c by the identity
            d = next(fresh)
            spread += d
            specs.append(c + d)
            factors.append(np.eye(sizes[c]))
    if spread == kept:
        return partial
    return np.einsum(",".join(specs) + "->" + spread, *factors)


def _present(operands):
    """The operands actually given: a one-operand call leaves the rule's ``y`` as None."""
    return [op for op in operands if op is not None]


def _parse_einsum(subscripts, operands):
    """The subscripts of each operand and of the output, with every letter written out:
    the output of the implicit form (no ``->``) made explicit, and ``...`` replaced by
    letters that appear nowhere else (right-aligned, as NumPy broadcasts them)."""
    spec = subscripts.replace(" ", "")
    lhs, arrow, output = spec.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise ArgumentError(
            f"np.einsum({subscripts!r}, ...) got {len(operands)} operand(s), but its "
            f"subscripts name {len(inputs)}"
        )
    letters = lhs.replace(",", "").replace(".", "")
    if not arrow:  # NumPy's implicit output: the letters seen once, in order
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        if "..." in lhs:
            output = "..." + output
    if "..." not in spec:
        return inputs, output
    widths = [np.ndim(op) - (len(s) - 3) for s, op in zip(inputs, operands, strict=True)
              if "..." in s]
    width = max(widths)
    fresh = [c for c in string.ascii_letters if c not in set(spec)]
    if width > len(fresh) - 1 or min(widths) < 0:  # one letter is left for a tangent
        raise MissingRuleError(
            f"np.einsum({subscripts!r}, ...): its '...' stands for more axes than there are "
            "letters left to write them with",
            hint="write the axes out with letters",
        )
    block = "".join(fresh[:width])
    expanded = [
        s.replace("...", block[width - (np.ndim(op) - (len(s) - 3)):]) if "..." in s else s
        for s, op in zip(inputs, operands, strict=True)
    ]
    return expanded, output.replace("...", block)


def einsum_tangent(subscripts, side, t, *operands):
    """The tangent of ``np.einsum`` through operand ``side``, with directions leading."""
    operands = _present(operands)
    inputs, output = _parse_einsum(subscripts, operands)
    used = set("".join(inputs) + output)
    letter = next(c for c in string.ascii_letters if c not in used)
    inputs[side] = letter + inputs[side]
    spec = ",".join(inputs) + "->" + letter + output
    args = list(operands)
    args[side] = t
    return np.einsum(spec, *args)


def _sublist_letters(sublist):
    """An einsum sublist (``[0, 1]``, ``[Ellipsis, 1]``) as subscript letters, the way NumPy
    reads it: 0-25 are 'A'-'Z', 26-51 are 'a'-'z'."""
    letters = ""
    for label in sublist:
        if label is Ellipsis:
            letters += "..."
            continue
        index = operator.index(label)
        if not 0 <= index < 52:
            raise ArgumentError(f"np.einsum: the sublist label {label!r} is not in 0..51")
        letters += chr(ord("A") + index) if index < 26 else chr(ord("a") + index - 26)
    return letters


def einsum_call(*args):
    """An ``np.einsum`` call's positional arguments, in either form, as the subscripts
    string, the operands, and the positions of the operands among the arguments.

    The sublist form ``np.einsum(a, [0, 1], b, [1, 2], [0, 2])`` becomes ``"AB,BC->AC"``
    with operands ``[a, b]`` at positions ``[0, 2]``. Trailing ``None`` are arguments a
    call left out. More than two operands are refused (reverse over reverse has rules for
    two at most).

    >>> einsum_call(np.ones((2, 3)), (0, 1), np.ones(3), [1], [0])[::2]
    ('AB,B->A', [0, 2])
    """
    args = list(args)
    while args and args[-1] is None:
        args.pop()
    if args and isinstance(args[0], str):
        spec, operands, positions = args[0], args[1:], list(range(1, len(args)))
    else:
        pairs = range(0, len(args) - 1, 2)
        operands = [args[i] for i in pairs]
        positions = list(pairs)
        spec = ",".join(_sublist_letters(args[i + 1]) for i in pairs)
        if len(args) % 2:
            spec += "->" + _sublist_letters(args[-1])
    if len(operands) > 2:
        raise MissingRuleError(
            f"np.einsum with {len(args)} positional arguments ({len(operands)} operands) is "
            "not covered by its derivative rule, which takes one or two operands",
            hint="split it into einsums of two operands each, for example "
            "np.einsum('ik,k->i', np.einsum('ij,jk->ik', a, b), c)",
        )
    return spec, operands, positions


def _operand_side(position, positions):
    if position not in positions:
        raise ArgumentError(
            f"np.einsum: argument {position} is a subscript list, not an operand; it has no "
            "derivative"
        )
    return positions.index(position)


def einsum_call_tangent(position, t, *args):
    """The tangent of ``np.einsum(*args)`` (either form) through the argument at
    ``position``, with directions leading."""
    spec, operands, positions = einsum_call(*args)
    return einsum_tangent(spec, _operand_side(position, positions), t, *operands)


def einsum_call_adjoint(position, g, *args):
    """The adjoint of ``np.einsum(*args)`` (either form) for the argument at ``position``.

    >>> einsum_call_adjoint(0, np.ones((2, 2)), np.zeros((2, 2)), [0, 1], [1, 0]).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    spec, operands, positions = einsum_call(*args)
    return einsum_adjoint(spec, _operand_side(position, positions), g, *operands)


# --------------------------------------------------------------------------- linear algebra
# Written with NumPy functions that have rules of their own (np.linalg.solve, np.tril,
# np.swapaxes, matmul, np.tensordot, np.cross), so forward mode pushes Duals through them
# (forward over reverse) without a lifted version of each.


def conjugate_transpose(x):
    """Aᴴ for a matrix, each matrix of a stack: transposed, and conjugated when complex (so
    Aᵀ, the same array view, for a real one). Complex values need it wherever real formulas
    transpose (docs/complex.md); real ones pay one dtype check."""
    swapped = np.swapaxes(x, -1, -2)
    return np.conj(swapped) if np.iscomplexobj(swapped) else swapped


def _phi(x):
    """Φ(X): the lower triangle of X (of each matrix in a stack) with its diagonal halved."""
    return np.tril(x) - np.eye(np.shape(x)[-1]) * x / 2


def cholesky_adjoint(g, ans, upper=False):
    """The adjoint of ``np.linalg.cholesky(a, upper=upper)`` for ``a``.

    Murray (2016), "Differentiation of the Cholesky decomposition", arXiv:1602.07527, eq. 10:
    with L the factor, L̄ its cotangent and Φ as in :func:`_phi`, the gradient for a
    symmetric ``a`` is the symmetric part of P = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹. NumPy reads only the
    lower triangle of ``a`` (the upper one with ``upper=True``), so an entry off the
    diagonal stands for itself and its mirror image: it gets P_ij + P_ji, a diagonal entry
    P_ii, and the triangle NumPy ignores 0. That is Φ(P + Pᵀ), transposed for ``upper``.
    For a complex (Hermitian) ``a`` every transpose is the conjugate transpose: P = L⁻ᴴ
    Φ(Lᴴ L̄) L⁻¹ and Φ(P + Pᴴ), whose diagonal is real, since NumPy reads only the real part
    of the diagonal.

    The gradient of tr(L), which central differences confirm; NumPy never reads a[0, 1]:

    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> cholesky_adjoint(np.eye(2), np.linalg.cholesky(a)).round(4).tolist()
    [[0.3384, 0.0], [-0.3536, 0.3536]]
    """
    factor = conjugate_transpose(ans) if upper else ans
    cotangent = conjugate_transpose(g) if upper else g
    factor_t = conjugate_transpose(factor)
    left = np.linalg.solve(factor_t, _phi(factor_t @ cotangent))  # L⁻ᵀ Φ(Lᵀ L̄)
    p = conjugate_transpose(np.linalg.solve(factor_t, conjugate_transpose(left)))  # left L⁻¹
    da = _phi(p + conjugate_transpose(p))
    return conjugate_transpose(da) if upper else da


def invertible(a, det):
    """Whether each matrix of ``a`` is far enough from singular for det(A) A⁻¹: |det A| at
    least sqrt(eps) (1.5e-8 in float64, 3.5e-4 in float32) times the product of its row
    norms (Hadamard's bound on |det A|). Below it, det(A) A⁻¹ multiplies a tiny determinant
    by a huge inverse, and its derivative cancels catastrophically; the adjugate is used
    instead."""
    tolerance = np.sqrt(np.finfo(np.result_type(a, np.float32)).eps)
    return np.abs(det) > tolerance * np.prod(np.linalg.norm(a, axis=-1), axis=-1)


def adjugate(a):
    """The adjugate of ``a`` (of each matrix of a stack): det(A) A⁻¹ where A is invertible,
    and the continuous extension where it is not. The derivative of det(A) is its transpose.

    From the SVD A = U S Vᵀ: adj(A) = adj(Vᵀ) adj(S) adj(U) = det(U) det(V) V adj(S) Uᵀ,
    where adj(S) is diagonal with the products of the other singular values
    (:func:`prod_partials`, exact where some are 0); for a complex A, A = U S Vᴴ and
    adj(A) = det(U) det(Vᴴ) V adj(S) Uᴴ.

    >>> adjugate(np.array([[1.0, 2.0], [2.0, 4.0]])).round(12).tolist()
    [[4.0, -2.0], [-2.0, 1.0]]
    """
    u, s, vh = np.linalg.svd(a)
    sign = np.linalg.det(u) * np.linalg.det(vh)
    spread = (conjugate_transpose(vh) * np.expand_dims(prod_partials(s, -1), -2)
              ) @ conjugate_transpose(u)
    return np.expand_dims(sign, (-2, -1)) * spread


def slogdet_adjoint(g, ans, a):
    """The adjoint of ``sign, logabsdet = np.linalg.slogdet(a)`` for ``a``, where both
    results have a cotangent.

    With s = tr(A⁻¹ dA), d logabsdet = Re s; a real matrix's sign is ±1, constant, while a
    complex matrix's, det / |det|, turns: d sign = sign · i Im s. So Ā = (ḡ + i Im(s̄ ·
    conj(sign))) A⁻ᴴ, where ḡ and s̄ are the cotangents of logabsdet and of the sign; for a
    real matrix, ḡ A⁻ᵀ. Like slogdet's adjoint expression (and det's), this is written for
    the conjugates of the primal values (``complex_rules.CONJUGATED_PRIMALS``): it computes
    (ḡ + i Im(s̄ · sign)) A⁻ᵀ, which is the above when given conj(sign) and conj(a).

    >>> slogdet_adjoint((None, 1.0), (1.0, np.log(6.0)), np.diag([2.0, 3.0])).round(4).tolist()
    [[0.5, 0.0], [0.0, 0.3333]]
    """
    g_sign, g_log = g
    sign = ans[0]
    scale = np.zeros(np.shape(sign)) if g_log is None else np.real(g_log)  # a real result's
    if g_sign is not None and np.iscomplexobj(sign):
        scale = scale + 1j * np.imag(g_sign * sign)
    return np.expand_dims(scale, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)


def pinv_adjoint(g, ans, a):
    """The adjoint of ``np.linalg.pinv(a)``, the transpose of Golub and Pereyra's tangent
    (see the rule), with A⁺ = ``ans``:

    Ā = -A⁺ᴴ G A⁺ᴴ + (I - A A⁺) Gᴴ A⁺ A⁺ᴴ + A⁺ᴴ A⁺ Gᴴ (I - A⁺ A),

    conjugate transposes for complex values (the last two terms come from dAᴴ, which no
    substitution of conjugated values into a real formula gives), plain ones for real.

    >>> pinv_adjoint(np.eye(2), np.diag([0.5, 0.25]), np.diag([2.0, 4.0])).tolist()
    [[-0.25, 0.0], [0.0, -0.0625]]
    """
    ans_h = conjugate_transpose(ans)
    g_h = conjugate_transpose(g)
    rows, columns = np.shape(a)[-2:]
    return (-(ans_h @ g @ ans_h) + (np.eye(rows) - a @ ans) @ g_h @ ans @ ans_h
            + ans_h @ ans @ g_h @ (np.eye(columns) - ans @ a))


def _matrix_powers(base, count):
    """I, B, B², ..., B^(count - 1) for a matrix (or a stack of them) B."""
    powers = [np.eye(np.shape(base)[-1]) + np.zeros(np.shape(base))]
    for _ in range(count - 1):
        powers.append(powers[-1] @ base)
    return powers


def matrix_power_adjoint(g, a, n):
    """The adjoint of ``np.linalg.matrix_power(a, n)`` for ``a``.

    For n ≥ 1, d(Aⁿ) = Σ Aⁱ dA Aⁿ⁻¹⁻ⁱ (i = 0 .. n - 1), so Ā = Σ (Aⁱ)ᵀ G (Aⁿ⁻¹⁻ⁱ)ᵀ. A⁰ = I
    is constant. For n < 0 NumPy takes B = A⁻¹ to the power |n|: the same sum gives B̄, and
    dB = -B dA B gives Ā = -Bᵀ B̄ Bᵀ.

    >>> matrix_power_adjoint(np.ones((2, 2)), np.diag([2.0, 3.0]), 2).tolist()
    [[4.0, 5.0], [5.0, 6.0]]
    """
    if n == 0:
        return np.zeros(np.shape(a))
    base = a if n > 0 else np.linalg.inv(a)
    powers = [np.swapaxes(p, -1, -2) for p in _matrix_powers(base, abs(n))]
    total = powers[0] @ g @ powers[-1]
    for i in range(1, abs(n)):
        total = total + powers[i] @ g @ powers[abs(n) - 1 - i]
    if n > 0:
        return total
    base_t = np.swapaxes(base, -1, -2)
    return -(base_t @ total @ base_t)


def _as_matrices(arrays):
    """The arrays of ``np.linalg.multi_dot`` as matrices: a 1-d first one as a row, a 1-d
    last one as a column."""
    matrices = list(arrays)
    if np.ndim(matrices[0]) == 1:
        matrices[0] = np.reshape(matrices[0], (1, -1))
    if np.ndim(matrices[-1]) == 1:
        matrices[-1] = np.reshape(matrices[-1], (-1, 1))
    return matrices


def multi_dot_adjoint(g, arrays):
    """The adjoint of ``np.linalg.multi_dot(arrays)`` for each array: with the product
    written L Aᵢ R (L and R the products of the arrays before and after Aᵢ), Āᵢ = Lᵀ G Rᵀ.

    >>> [d.tolist() for d in multi_dot_adjoint(1.0, [np.array([1.0, 2.0]), np.eye(2),
    ...                                              np.array([3.0, 4.0])])]
    [[3.0, 4.0], [[3.0, 4.0], [6.0, 8.0]], [1.0, 2.0]]
    """
    matrices = _as_matrices(arrays)
    g = np.reshape(g, (np.shape(matrices[0])[0], np.shape(matrices[-1])[-1]))
    lefts = [None]
    for matrix in matrices[:-1]:
        lefts.append(matrix if lefts[-1] is None else lefts[-1] @ matrix)
    rights = [None]
    for matrix in reversed(matrices[1:]):
        rights.append(matrix if rights[-1] is None else matrix @ rights[-1])
    rights.reverse()
    cotangents = []
    for array, left, right in zip(arrays, lefts, rights, strict=True):
        d = g if left is None else left.T @ g
        d = d if right is None else d @ right.T
        cotangents.append(np.reshape(d, np.shape(array)))
    return cotangents


def undiagonal(g, x, offset=0, axis1=0, axis2=1):
    """The adjoint of ``np.diagonal(x, offset, axis1, axis2)``: ``g``, whose last axis runs
    along the diagonal, put back on that diagonal of zeros shaped like ``x``.

    >>> undiagonal(np.array([1.0, 2.0]), np.zeros((2, 3)), 1).tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]
    """
    shape = np.shape(x)
    length = np.shape(g)[-1]
    # rows[p, i] = 1 where entry i of the diagonal sits in row p, columns likewise
    rows = np.eye(shape[axis1], length, k=-max(-offset, 0))
    columns = np.eye(shape[axis2], length, k=-max(offset, 0))
    spread = (rows * np.expand_dims(g, -2)) @ columns.T
    return np.moveaxis(spread, (-2, -1), (axis1, axis2))


def _kron_shapes(g, a, b):
    """The shapes of ``a`` and ``b`` padded with leading 1s to the rank of ``np.kron(a, b)``,
    and that result's shape with each axis split in two (an a part, then a b part)."""
    rank = np.ndim(g)
    a_shape = (1,) * (rank - np.ndim(a)) + tuple(np.shape(a))
    b_shape = (1,) * (rank - np.ndim(b)) + tuple(np.shape(b))
    split = tuple(n for pair in zip(a_shape, b_shape, strict=True) for n in pair)
    return a_shape, b_shape, split


def unkron(g, a, b, side):
    """The adjoint of ``np.kron(a, b)`` for ``a`` (``side`` 0) or ``b`` (``side`` 1).

    Entry (i, j) of an axis of the result split into an a part i and a b part j is
    a[i] b[j], so Ā[i] = Σⱼ G[i, j] b[j] and B̄[j] = Σᵢ G[i, j] a[i], per axis.

    >>> unkron(np.ones((2, 4)), np.ones(2), np.array([[1.0, 2.0], [3.0, 4.0]]), 0).tolist()
    [10.0, 10.0]
    """
    a_shape, b_shape, split = _kron_shapes(g, a, b)
    g = np.reshape(g, split)
    rank = len(a_shape)
    if side == 0:
        spread = np.reshape(b, tuple(n for m in b_shape for n in (1, m)))
        return np.reshape(np.sum(g * spread, axis=tuple(range(1, 2 * rank, 2))), np.shape(a))
    spread = np.reshape(a, tuple(n for m in a_shape for n in (m, 1)))
    return np.reshape(np.sum(g * spread, axis=tuple(range(0, 2 * rank, 2))), np.shape(b))


def tensordot_axes(a_rank, b_rank, axes=2):
    """The axes ``np.tensordot(a, b, axes)`` contracts, read as NumPy reads ``axes`` (a
    count, a pair of axes or a pair of sequences), as two lists of non-negative axes.

    >>> tensordot_axes(3, 2, 1), tensordot_axes(2, 2, (1, 0))
    (([2], [0]), ([1], [0]))
    >>> tensordot_axes(2, 2, ([0, -1], [1, 0]))
    ([0, 1], [1, 0])
    """
    if np.ndim(axes) == 0:
        count = operator.index(axes)
        return list(range(a_rank - count, a_rank)), list(range(count))
    a_axes, b_axes = axes
    a_axes = [a_axes] if np.ndim(a_axes) == 0 else list(a_axes)
    b_axes = [b_axes] if np.ndim(b_axes) == 0 else list(b_axes)
    return [int(i) % a_rank for i in a_axes], [int(i) % b_rank for i in b_axes]


def tensordot_adjoint(g, a, b, axes, side):
    """The adjoint of ``np.tensordot(a, b, axes)`` for ``a`` (``side`` 0) or ``b`` (1):
    ``g`` contracted with the other operand over that operand's free axes, then the axes
    put back in the operand's order.

    >>> tensordot_adjoint(np.ones(2), np.ones((2, 3)), np.arange(3.0), 1, 0).tolist()
    [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]
    """
    a_axes, b_axes = tensordot_axes(np.ndim(a), np.ndim(b), axes)
    a_free = [i for i in range(np.ndim(a)) if i not in a_axes]
    b_free = [i for i in range(np.ndim(b)) if i not in b_axes]
    if side == 0:
        out = np.tensordot(g, b, axes=(list(range(len(a_free), np.ndim(g))), b_free))
        labels = a_free + [a_axes[b_axes.index(i)] for i in sorted(b_axes)]
    else:
        out = np.tensordot(a, g, axes=(a_free, list(range(len(a_free)))))
        labels = [b_axes[a_axes.index(i)] for i in sorted(a_axes)] + b_free
    return np.transpose(out, np.argsort(labels))


def cross_axes(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The vector axes of ``np.cross(a, b, axisa, axisb, axisc, axis)`` (``axis`` sets all
    three); refuses 2-vectors, which only the 3-vector rule does not cover."""
    if axis is not None:
        axisa = axisb = axisc = axis
    if np.shape(a)[axisa] != 3 or np.shape(b)[axisb] != 3:
        raise MissingRuleError(
            "np.cross of 2-vectors has no derivative rule; only 3-vectors have one",
            hint="append a zero third component, np.cross(np.append(a, 0.0), ...), which "
            "NumPy 2 recommends anyway",
        )
    return axisa, axisb, axisc


def cross_adjoint(g, a, b, side, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The adjoint of ``np.cross(a, b, ...)`` for ``a`` (``side`` 0) or ``b`` (1): from
    g · (a × b) = a · (b × g) = b · (g × a), Ā = b × G and B̄ = G × a, summed back over
    broadcasting.

    >>> cross_adjoint(np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]),
    ...               np.array([0.0, 1.0, 0.0]), 0).tolist()
    [1.0, 0.0, 0.0]
    """
    axisa, axisb, axisc = cross_axes(a, b, axisa, axisb, axisc, axis)
    a_last = np.moveaxis(a, axisa, -1)
    b_last = np.moveaxis(b, axisb, -1)
    g_last = np.moveaxis(g, axisc, -1)
    if side == 0:
        return np.moveaxis(unbroadcast(np.cross(b_last, g_last), a_last), -1, axisa)
    return np.moveaxis(unbroadcast(np.cross(g_last, a_last), b_last), -1, axisb)


def norm_axes(x, ord=None, axis=None):
    """The axes ``np.linalg.norm(x, ord, axis)`` reduces, as non-negative axes in the order
    given: one for a vector norm, two (rows, columns) for a matrix norm; every axis when
    ``ord`` and ``axis`` are both None (the Euclidean norm of the flattened array)."""
    rank = np.ndim(x)
    if axis is None:
        return tuple(range(rank))
    if isinstance(axis, (tuple, list)):
        return tuple(int(a) % rank for a in axis)
    return (int(axis) % rank,)


def norm_partials(x, ans, ord=None, axis=None, keepdims=False):
    """The partial derivatives of ``ans = np.linalg.norm(x, ord, axis, keepdims)``, in
    ``x``'s shape, for every order NumPy accepts on real input.

    Conventions where the norm has a kink: the gradient at the origin is 0 (every order);
    |x_i| contributes sign(x_i), 0 at x_i = 0; entries (vector inf/-inf), columns (matrix
    1/-1), rows (matrix inf/-inf) or singular values (matrix 2/-2) tied for the extreme
    share the derivative equally; singular values exactly 0 contribute nothing; ord=0
    counts non-zero entries and has derivative 0.

    >>> norm_partials(np.array([3.0, -4.0]), 7.0, 1).tolist()
    [1.0, -1.0]
    """
    axes = norm_axes(x, ord, axis)
    if ord is None or (isinstance(ord, str) and ord == "fro") or (
            not isinstance(ord, str) and ord == 2 and len(axes) == 1):
        return safe_divide(x, unreduce(ans, x, axis, keepdims))
    if len(axes) == 1:
        return _vector_norm_partials(x, ans, ord, axis, keepdims)
    row, column = axes
    kind = ord if isinstance(ord, str) else float(ord)
    if kind in (1.0, -1.0, np.inf, -np.inf):
        # 1, -1: the extreme column sum of |x|; inf, -inf: the extreme row sum
        summed, across = (row, column) if kind in (1.0, -1.0) else (column, row)
        sums = np.sum(np.abs(x), axis=summed, keepdims=True)
        if kind > 0:
            best = np.max(sums, axis=across, keepdims=True)
        else:
            best = np.min(sums, axis=across, keepdims=True)
        return np.sign(x) * extremum_weights(sums, best, across, True)
    if kind in (2.0, -2.0, "nuc"):
        # d sigma_i = u_i^T dx v_i: the singular vectors, weighted as the norm weighs sigma_i
        u, s, vh = np.linalg.svd(np.moveaxis(x, (row, column), (-2, -1)), full_matrices=False)
        if kind == "nuc":
            weights = 1.0 * (s > 0)
        else:
            best = np.max(s, axis=-1, keepdims=True) if kind > 0 else np.min(
                s, axis=-1, keepdims=True)
            weights = extremum_weights(s, best, -1, True)
            weights = weights * (s > 0)
        spread = (u * np.expand_dims(weights, -2)) @ vh
        return np.moveaxis(spread, (-2, -1), (row, column))
    raise MissingRuleError(f"np.linalg.norm with ord={ord!r} over two axes has no derivative "
                           "rule", hint="NumPy's matrix orders are 'fro', 'nuc', 1, -1, 2, -2, "
                           "inf and -inf")


def _vector_norm_partials(x, ans, ord, axis, keepdims):
    if ord == 0:  # a count of the non-zero entries: piecewise constant
        return np.zeros(np.shape(x))
    if ord == 1:
        return np.sign(x)
    if ord in (np.inf, -np.inf):
        return np.sign(x) * extremum_weights(np.abs(x), ans, axis, keepdims)
    if isinstance(ord, str):
        raise MissingRuleError(f"np.linalg.norm with ord={ord!r} over one axis has no "
                               "derivative rule", hint="NumPy's vector orders are numbers")
    # d/dx_i (Σ |x_j|^p)^(1/p) = sign(x_i) (|x_i| / ‖x‖)^(p - 1)
    norm = unreduce(ans, x, axis, keepdims)
    with np.errstate(divide="ignore"):
        ratio = safe_divide(np.abs(x), norm) ** (ord - 1)
    return np.where(norm == 0, 0.0, strong_zero(np.sign(x), ratio))


# --------------------------------------------------------------------------- norms


def check_norm_order(x, ord, axis):
    """Refuse the orders :func:`norm_adjoint` does not handle: it is the Euclidean
    (Frobenius) norm's adjoint, with a rule of its own for reverse over reverse. The norm's
    rule sends every other order to :func:`norm_partials`; this guards a direct call."""
    vector = len(normalize_axis(axis, np.ndim(x))) == 1
    if ord is None or ord == "fro" or (ord == 2 and vector):
        return
    raise MissingRuleError(
        f"norm_adjoint with ord={ord!r}: it is the adjoint of the Euclidean (Frobenius) "
        "norm only",
        hint="leave ord out, or call unreduce(g, x, axis, keepdims) * norm_partials(x, ans, "
        "ord, axis, keepdims), as the rule of np.linalg.norm does",
    )


def norm_adjoint(g, ans, x, ord=None, axis=None, keepdims=False):
    """The adjoint of the Euclidean (Frobenius) norm; 0 at the origin, by convention."""
    check_norm_order(x, ord, axis)
    scale = safe_divide(unreduce(g, x, axis, keepdims), unreduce(ans, x, axis, keepdims))
    return scale * x


# --------------------------------------------------------------------------- shapes and statistics
# These are written with NumPy functions that have rules of their own (indexing, reshape,
# sum, take_along_axis, matmul) and with the lifted helpers (untake), so forward mode can push
# Duals through them (forward over reverse) without a lifted version of each.

def check_pad_mode(mode):
    """Refuse the modes of ``np.pad`` without a rule (statistics, ramps, ``'empty'``): the
    modes with one copy entries of the array (or zeros), a gather."""
    copying = ("constant", "edge", "reflect", "symmetric", "wrap")
    if isinstance(mode, str) and mode in copying:
        return
    raise MissingRuleError(
        f"np.pad with mode={mode!r} has no derivative rule; only the modes that copy "
        f"entries have one: {', '.join(copying)}",
        hint="pad with one of those modes, or build the padding with np.concatenate",
    )


def positions(x):
    """The flat position of each entry of ``x``, in ``x``'s shape: a gather's index map.

    >>> positions(np.zeros((2, 2))).tolist()
    [[0, 1], [2, 3]]
    """
    return np.reshape(np.arange(np.size(x)), np.shape(x))


def unpad(g, x, pad_width, mode="constant"):
    """The adjoint of ``np.pad(x, pad_width, mode)``: the middle of ``g`` for constant
    padding; otherwise every copy of an entry sends its cotangent back to it.

    >>> unpad(np.arange(5.0), np.zeros(3), 1, "edge").tolist()
    [1.0, 2.0, 7.0]
    """
    check_pad_mode(mode)
    if mode != "constant":
        return untake(g, x, np.pad(positions(x), pad_width, mode=mode))
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (np.ndim(x), 2))
    return g[tuple(slice(before, before + n)
                   for (before, _), n in zip(widths, np.shape(x), strict=True))]


def unjoin(g, arrays, axis):
    """Split ``g`` along ``axis`` into pieces holding as many entries as each of ``arrays``,
    shaped like them: the adjoint of ``np.vstack``, ``np.hstack``, ``np.dstack`` and
    ``np.column_stack``, which join reshaped arrays along ``axis``.

    >>> pieces = unjoin(np.arange(6.0).reshape(3, 2), [np.zeros(2), np.zeros((2, 2))], 0)
    >>> [p.tolist() for p in pieces]
    [[0.0, 1.0], [[2.0, 3.0], [4.0, 5.0]]]
    """
    across = int(np.prod(np.delete(np.shape(g), axis)))  # entries per slice along axis
    pieces, start = [], 0
    for a in arrays:
        stop = start + (np.size(a) // across if across else 0)
        piece = g[(slice(None),) * axis + (slice(start, stop),)]
        pieces.append(np.reshape(piece, np.shape(a)))
        start = stop
    return pieces


def rollaxis_destination(ndim, axis, start=0):
    """Where ``np.rollaxis(x, axis, start)`` puts ``axis``: it is ``np.moveaxis(x, axis,
    rollaxis_destination(...))``.

    >>> rollaxis_destination(3, 2, 0), rollaxis_destination(3, 0, 3)
    (0, 2)
    """
    axis %= ndim
    start = start + ndim if start < 0 else start
    return start - 1 if axis < start else start


def sinc_derivative(x):
    """d/dx of ``np.sinc(x) = sin(pi x) / (pi x)``: ``(cos(pi x) - sinc(x)) / x``, and its
    Taylor series near 0 (where that quotient cancels), which is 0 at 0.

    >>> bool(sinc_derivative(0.0) == 0), round(float(sinc_derivative(0.5)), 12)
    (True, -1.273239544735)
    """
    small = np.abs(x) < 0.01
    series = np.pi ** 2 * x * (-1 / 3 + np.pi ** 2 * x ** 2 / 30 - np.pi ** 4 * x ** 4 / 840)
    away = np.where(small, 1.0, x)  # the branch not taken stays finite (second derivatives)
    return np.where(small, series, (np.cos(np.pi * away) - np.sinc(away)) / away)


def linear_scan(a, b):
    """``y[k] = a[k] * y[k - 1] + b[k]`` along the last axis, with ``y[-1] = 0``.

    A doubling scan: log2(n) steps of whole-array multiplications and additions (no
    division, so zeros in ``a`` are exact), each building new arrays, so Duals pass.

    >>> linear_scan(np.array([5.0, 2.0, 0.0, 3.0]), np.ones(4)).tolist()
    [1.0, 3.0, 1.0, 4.0]
    """
    a, b = a * np.ones_like(b), b * np.ones_like(a)  # one shape for both
    offset = 1
    while offset < np.shape(b)[-1]:
        b = np.concatenate([b[..., :offset], a[..., offset:] * b[..., :-offset] + b[..., offset:]],
                           axis=-1)
        a = np.concatenate([a[..., :offset], a[..., offset:] * a[..., :-offset]], axis=-1)
        offset *= 2
    return b


def exclusive_cumprod(x):
    """The products of the entries strictly before each one, along the last axis."""
    return linear_scan(np.concatenate([np.zeros_like(x[..., :1]), x[..., :-1]], axis=-1),
                       np.concatenate([np.ones_like(x[..., :1]), np.zeros_like(x[..., 1:])],
                                      axis=-1))


def uncumprod(g, x, axis=None):
    """The adjoint of ``np.cumprod(x, axis)``, exact where ``x`` holds zeros.

    Entry i of ``x`` gets ``E[i] * S[i]``, where ``E[i]`` is the product of the entries
    before it and ``S[i] = g[i] + x[i + 1] * S[i + 1]``, a scan run backwards.

    >>> uncumprod(np.ones(3), np.array([2.0, 0.0, 5.0])).tolist()  # 1, x0 + x0 x2, x0 x1
    [1.0, 12.0, 0.0]
    """
    if axis is None:  # np.cumprod flattens
        return np.reshape(uncumprod(g, np.ravel(x), 0), np.shape(x))
    x_last = np.moveaxis(x, axis, -1)
    after = np.concatenate([x_last[..., 1:], np.zeros_like(x_last[..., :1])], axis=-1)
    backwards = np.flip(linear_scan(np.flip(after, -1), np.flip(np.moveaxis(g, axis, -1), -1)),
                        -1)
    return np.moveaxis(exclusive_cumprod(x_last) * backwards, -1, axis)


def quantile_weights(x, q, axis=None):
    """How much each entry of ``x`` weighs in ``np.quantile(x, q, axis)`` (the 'linear'
    method), with one leading axis per axis of ``q``: 1 - f on the entry of rank
    floor((n - 1) q) and f on the next, f the fractional part. Ranks come from a stable
    argsort, so tied entries are told apart by their order in ``x``.

    >>> quantile_weights(np.array([3.0, 1.0, 2.0, 0.0]), 0.5).tolist()
    [0.0, 0.5, 0.5, 0.0]
    """
    x_shape = np.shape(x)
    reduced = normalize_axis(axis, len(x_shape))
    q = np.asarray(q, dtype=float)
    if not reduced:
        return np.ones(q.shape + x_shape)
    order = [a for a in range(len(x_shape)) if a not in reduced] + list(reduced)
    kept_shape = tuple(x_shape[a] for a in order[: len(x_shape) - len(reduced)])
    n = int(np.prod([x_shape[a] for a in reduced]))
    ranked = np.argsort(np.reshape(np.transpose(x, order), (*kept_shape, n)), axis=-1,
                        kind="stable")
    position = (n - 1) * q
    low = np.clip(np.floor(position), 0, max(n - 1, 0)).astype(np.intp)
    high = np.minimum(low + 1, n - 1)
    fraction = position - low
    weights = np.zeros(q.shape + kept_shape + (n,))
    for index in np.ndindex(*q.shape):
        for rank, weight in ((low[index], 1 - fraction[index]), (high[index], fraction[index])):
            entries = ranked[..., rank:rank + 1]
            spot = weights[index]
            np.put_along_axis(spot, entries,
                              np.take_along_axis(spot, entries, axis=-1) + weight, axis=-1)
    moved = np.reshape(weights, q.shape + tuple(x_shape[a] for a in order))
    inverse = np.argsort(order)
    return np.transpose(moved, (*range(q.ndim), *(q.ndim + i for i in inverse)))


def check_quantile_method(method):
    """Refuse the methods of ``np.quantile`` and ``np.percentile`` other than 'linear'."""
    if method == "linear":
        return
    raise MissingRuleError(
        f"np.quantile / np.percentile with method={method!r} has no derivative rule; only "
        "method='linear' (the default) has one",
        hint="leave method out",
    )


def unquantile(g, x, q, axis=None, keepdims=False, method="linear"):
    """The adjoint of ``np.quantile(x, q, axis, keepdims=keepdims)`` for ``x``: ``g`` spread
    with :func:`quantile_weights`, summed over the quantiles."""
    check_quantile_method(method)
    lead = np.ndim(q)
    weights = quantile_weights(x, q, axis)
    reduced = normalize_axis(axis, np.ndim(x))
    if not keepdims:
        g = np.expand_dims(g, tuple(lead + a for a in reduced))
    return np.sum(g * weights, axis=tuple(range(lead)))


def quantile_slope(x, q, axis=None, keepdims=False, method="linear"):
    """d/dq of ``np.quantile(x, q, axis, keepdims=keepdims)``: (n - 1) times the gap between
    the two entries it interpolates, in the output's shape. At a whole rank (n - 1) q the
    slope towards the next entry is taken (the derivative from the right; at q = 1, from
    the left)."""
    check_quantile_method(method)
    reduced = normalize_axis(axis, np.ndim(x))
    n = int(np.prod([np.shape(x)[a] for a in reduced]))
    if n < 2:
        return np.zeros(np.shape(np.quantile(x, q, axis=axis, keepdims=keepdims)))
    rank = np.clip(np.floor((n - 1) * q), 0, n - 2)  # np.floor has no derivative: plain
    below = np.quantile(x, rank / (n - 1), axis=axis, keepdims=keepdims)
    above = np.quantile(x, (rank + 1) / (n - 1), axis=axis, keepdims=keepdims)
    return (above - below) * (n - 1)


def weights_like(a, weights=None, axis=None):
    """The weights of ``np.average(a, axis, weights)`` in ``a``'s shape: ones when there
    are none, a 1-d array laid along ``axis``."""
    if weights is None:
        return np.ones_like(a, dtype=float)
    if np.ndim(weights) == 1 and np.ndim(a) > 1:
        shape = [1] * np.ndim(a)
        shape[axis] = -1
        weights = np.reshape(weights, shape)
    return weights * np.ones_like(a, dtype=float)


def unweigh(g, a, weights, axis=None):
    """Sum ``g`` (in ``a``'s shape) back to the shape of ``np.average``'s ``weights``."""
    if np.ndim(weights) == 1 and np.ndim(a) > 1:
        others = tuple(i for i in range(np.ndim(a)) if i != axis % np.ndim(a))
        return np.sum(g, axis=others)
    return g


def to_full(g, n, m, mode, function="convolve"):
    """``g``, the cotangent of ``np.convolve`` (or ``np.correlate``) of lengths ``n`` and
    ``m`` in ``mode``, zero-padded to the length of the 'full' result it was cut from."""
    low = min(n, m)
    if mode == "full":
        offset = 0
    elif mode == "valid":
        offset = low - 1
    elif mode == "same":
        offset = (low - 1) // 2 if function == "convolve" or n >= m else low // 2
    else:
        raise ArgumentError(f"np.{function}: mode must be 'full', 'same' or 'valid', not {mode!r}")
    return np.pad(g, (offset, n + m - 1 - np.shape(g)[0] - offset))


def no_rule(message, hint=""):
    """Refuse a derivative that no rule gives (an argument the rule does not differentiate,
    rather than one it silently passes no derivative through)."""
    raise MissingRuleError(message, hint=hint or None)


def _cov_rows(a, rowvar, first):
    """One argument of ``np.cov`` as variables in rows, the way NumPy reads it."""
    rows = np.atleast_2d(a)
    if not rowvar and (np.ndim(a) != 1 if first else np.shape(rows)[0] != 1):
        rows = rows.T
    return rows


def cov_variables(m, y=None, rowvar=True):
    """The variables of ``np.cov(m, y, rowvar)`` as the rows of one matrix."""
    rows = _cov_rows(m, rowvar, True)
    if y is None:
        return rows
    return np.concatenate([rows, _cov_rows(y, rowvar, False)], axis=0)


def cov_divisor(observations, bias=False, ddof=None):
    """What ``np.cov`` divides the summed products by: observations less ddof."""
    return observations - ((0 if bias else 1) if ddof is None else ddof)


def uncov(g, m, y=None, rowvar=True, bias=False, ddof=None, side=0):
    """The adjoint of ``np.cov(m, y, rowvar, bias, ddof)`` for ``m`` (side 0) or ``y``:
    with X the variables in rows and Xc X less its row means, C = Xc Xc^T / d, so
    dX = (G + G^T) Xc / d, split back into ``m``'s rows and ``y``'s."""
    X = cov_variables(m, y, rowvar)
    centred = X - np.mean(X, axis=1, keepdims=True)
    variables = np.shape(X)[0]
    G = np.reshape(g, (variables, variables))
    dX = (G + G.T) @ centred / cov_divisor(np.shape(X)[1], bias, ddof)
    own = np.shape(_cov_rows(m, rowvar, True))[0]
    rows, given = (dX[:own], m) if side == 0 else (dX[own:], y)
    if not rowvar and (np.ndim(given) != 1 if side == 0 else np.shape(rows)[0] != 1):
        rows = rows.T
    return np.reshape(rows, np.shape(given))


def uncorrcoef(g, ans, x, y=None, rowvar=True, side=0):
    """The adjoint of ``np.corrcoef(x, y, rowvar)``: R = C / (s s^T) with s the square roots
    of C's diagonal, so the cotangent of C is G / (s s^T) less, on the diagonal,
    (row sums + column sums of G R) / (2 C_ii); then :func:`uncov` of that."""
    C = np.cov(x, y, rowvar=rowvar)
    variables = int(round(np.size(C) ** 0.5))
    C = np.reshape(C, (variables, variables))
    G = np.reshape(g, (variables, variables))
    R = np.reshape(ans, (variables, variables))
    identity = np.eye(variables)
    variances = np.sum(C * identity, axis=1)  # the diagonal, by rules both modes have
    s = np.sqrt(variances)
    GR = G * R
    dC = G / np.outer(s, s) - identity * ((np.sum(GR, axis=1) + np.sum(GR, axis=0))
                                          / (2 * variances))
    return uncov(dC, x, y, rowvar, False, None, side)


def interp_weights(x, xp, left=None, right=None, period=None):
    """How much each of ``fp``'s entries weighs in ``np.interp(x, xp, fp, ...)``: the result
    has ``x``'s shape and one more axis, along ``fp``. A ``left`` or ``right`` given as a
    number is a constant and weighs nothing.

    >>> interp_weights(0.25, np.array([0.0, 1.0])).tolist()
    [0.75, 0.25]
    """
    edges = {"left": None if left is None else 0.0, "right": None if right is None else 0.0}
    basis = np.eye(np.shape(xp)[0])
    return np.stack([np.interp(x, xp, e, period=period, **edges) for e in basis], axis=-1)


# --------------------------------------------------------------------------- forward mode


def shift_axis(axis, ndim=None):
    """Map a NumPy ``axis`` argument onto a tangent that has a leading direction axis.

    Non-negative axes move up by one; negative axes count from the end and stay put.
    ``None`` (all axes) becomes every axis but the first, which needs ``ndim``.
    """
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, (tuple, list)):
        return tuple(shift_axis(a) for a in axis)
    return axis + 1 if axis >= 0 else axis


def pad_tangent(t, ndim):
    """Give the tangent ``t`` (directions first) the rank ``ndim`` of a broadcast result.

    Inserts length-1 axes after the direction axis, so that NumPy's right-aligned
    broadcasting lines the tangent's entries up with the primal's.
    """
    missing = ndim + 1 - t.ndim
    if missing <= 0:
        return t
    return t.reshape(t.shape[:1] + (1,) * missing + t.shape[1:])


# --------------------------------------------------------------------------- several results


def unsplit(g, ans, axis):
    """The adjoint of ``np.split`` and its family: the parts' cotangents joined back along
    ``axis``, zeros for a part no cotangent reached (``None``)."""
    parts = [np.zeros_like(part) if cotangent is None else cotangent
             for cotangent, part in zip(g, ans, strict=True)]
    return np.concatenate(parts, axis=axis)


def eigh_adjoint(g, ans, a, UPLO="L"):  # noqa: N803 - NumPy's keyword
    """The adjoint of ``w, V = np.linalg.eigh(a)``.

    With F[i, j] = 1 / (w[j] - w[i]) off the diagonal and 0 on it, the symmetric matrix S
    that eigh reads has the adjoint X = V (diag(gw) + F * (V^T gV)) V^T (Giles, "An extended
    collection of matrix derivative results", 2008). eigh reads only the triangle UPLO of
    ``a``, mirrored, so the adjoint of ``a`` is X's triangle plus X^T's strictly inside it:
    an entry outside the triangle has no derivative, as in central differences.

    For a complex (Hermitian) ``a`` the transposes are conjugate transposes, and the
    diagonal gets the real part of X's, since eigh reads only the real part of a's
    diagonal. It is the adjoint of the tangent whose eigenvectors move orthogonally to
    themselves (Im v_i^H dv_i = 0): a loss that depends on the eigenvectors' phases has no
    gradient, and gets this one.
    """
    gw, gV = g
    w, V = ans
    VT = conjugate_transpose(V)
    inner = 0.0
    if gw is not None:
        inner = np.expand_dims(gw, -1) * np.eye(np.shape(w)[-1])
    if gV is not None:
        eye = np.eye(np.shape(w)[-1])
        F = 1 / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye) - eye
        inner = inner + F * (VT @ gV)
    X = V @ inner @ VT
    XT = conjugate_transpose(X)
    if np.iscomplexobj(X):  # a real diagonal: X's real part, as (X + X^H) / 2 has
        X = np.tril(X, -1) + np.triu(X, 1) + np.eye(np.shape(w)[-1]) * (X + XT) / 2
    if UPLO.upper() == "L":
        return np.tril(X) + np.tril(XT, -1)
    return np.triu(X) + np.triu(XT, 1)



def eigenvectors_of(a, w):
    """``np.linalg.eig(a)`` with its eigenvalues in the order of ``w``, which
    ``np.linalg.eigvals(a)`` returned (LAPACK computes them on another path without the
    vectors, so the order may differ): each of ``w`` is matched to the nearest of eig's."""
    values, vectors = np.linalg.eig(a)
    order = np.argmin(np.abs(np.expand_dims(w, -1) - np.expand_dims(values, -2)), axis=-1)
    return (np.take_along_axis(values, order, axis=-1),
            np.take_along_axis(vectors, np.expand_dims(order, -2), axis=-1))


def eig_adjoint(g, ans, a):
    """The adjoint of ``w, V = np.linalg.eig(a)``, for distinct eigenvalues.

    The tangent (see the rule) is dw = diag(W) and dV = V (F * W) with W = V⁻¹ dA V and
    F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it, then each column moved along
    itself to keep NumPy's normalisation: unit norm, and the entry of largest modulus real
    (LAPACK's). Its transpose in the real inner product: with c_i = v_iᴴ V̄_i, the
    normalisation sends V̄ to V̄₀ = V̄ - V diag(Re c) + i Im(c_i) / v_ki at each column's
    largest entry k; then W̄ = diag(w̄) + conj(F) * (Vᴴ V̄₀) and Ā = V⁻ᴴ W̄ Vᴴ (the real part
    for a real ``a``). The eigenvectors' phases are a convention, so only a loss that does
    not depend on them has a gradient that means anything.
    """
    gw, gV = g
    w, V = ans
    n = np.shape(w)[-1]
    eye = np.eye(n)
    inner = 0.0
    if gw is not None:
        inner = np.expand_dims(gw, -1) * eye
    if gV is not None:
        c = np.sum(np.conj(gV) * V, axis=-2)
        moved = gV - V * np.expand_dims(np.real(c), -2)
        if np.iscomplexobj(V):
            largest = np.argmax(np.real(V * np.conj(V)), axis=-2)
            at = np.expand_dims(largest, -2)
            entry = np.real(np.take_along_axis(V, at, axis=-2))
            mask = np.expand_dims(np.arange(n), -1) == at
            moved = moved + mask * (1j * np.expand_dims(np.imag(c), -2) / entry)
        F = 1 / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye) - eye
        inner = inner + np.conj(F) * (conjugate_transpose(V) @ moved)
    V_h = conjugate_transpose(V)
    out = np.linalg.solve(V_h, inner @ V_h)
    return out if np.iscomplexobj(a) else np.real(out)


def _spectral_gaps(s):
    """F[..., i, j] = 1 / (s[j]**2 - s[i]**2) off the diagonal, 0 on it (SVD)."""
    eye = np.eye(np.shape(s)[-1])
    squares = s * s
    return 1 / (np.expand_dims(squares, -2) - np.expand_dims(squares, -1) + eye) - eye


def svd_adjoint(g, ans, a, full_matrices=True):
    """The adjoint of ``U, s, Vh = np.linalg.svd(a)``, for distinct nonzero singular
    values (Townsend, "Differentiating the singular value decomposition", 2016):

    A_bar = U [(F * (U^T U_bar - U_bar^T U)) S + diag(s_bar) + S (F * (V^T V_bar - V_bar^T V))] V^T
            + (I - U U^T) U_bar S^-1 V^T + U S^-1 V_bar^T (I - V V^T),

    with V = Vh^T and F as in :func:`_spectral_gaps`. With full_matrices on a matrix that is
    not square, U or Vh has columns that are not unique: only s then has a derivative.

    For a complex ``a`` (A = U S V^H, Vh = V^H) the transposes are conjugate transposes and
    the inner matrix gains diag(i Im(U^H U_bar)_kk / s_k): the adjoint of the tangent that
    moves each v_k orthogonally to itself (Im v_k^H dv_k = 0) and turns u_k's phase with
    the phase of u_k^H dA v_k, as JAX's. Like eigh's, it is the gradient of a loss that does
    not depend on the singular vectors' phases (a pair u_k, v_k turned together).
    """
    gU, gs, gVh = g
    U, s, Vh = ans
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    if (gU is not None or gVh is not None) and full_matrices and m != n:
        raise MissingRuleError(
            "np.linalg.svd(a) of a matrix that is not square, with full_matrices=True, "
            "gives singular vectors that are not unique: they have no derivative",
            hint="pass full_matrices=False (only the first min(m, n) vectors are unique)")
    U, Vh = U[..., :, :k], Vh[..., :k, :]
    V = conjugate_transpose(Vh)
    UT = conjugate_transpose(U)
    inner = 0.0
    if gs is not None:  # s is real: an imaginary part of its cotangent means nothing
        inner = np.expand_dims(np.real(gs), -1) * np.eye(k)
    if gU is None and gVh is None:
        return U @ inner @ Vh
    F = _spectral_gaps(s)
    S = np.expand_dims(s, -1) * np.eye(k)
    inverse = np.expand_dims(1 / s, -2)  # multiplying by it scales columns by 1 / s
    out = 0.0
    if gU is not None:
        gU = gU[..., :, :k]
        inner = inner + (F * (UT @ gU - conjugate_transpose(gU) @ U)) @ S
        if np.iscomplexobj(U):  # the phases of u_k
            turn = np.imag(np.diagonal(UT @ gU, axis1=-2, axis2=-1)) / s
            inner = inner + 1j * np.expand_dims(turn, -1) * np.eye(k)
        if m > k:
            out = out + ((gU - U @ (UT @ gU)) * inverse) @ Vh
    if gVh is not None:
        gV = conjugate_transpose(gVh[..., :k, :])
        inner = inner + S @ (F * (Vh @ gV - conjugate_transpose(gV) @ V))
        if n > k:
            out = out + (U * inverse) @ (conjugate_transpose(gV)
                                         - (conjugate_transpose(gV) @ V) @ Vh)
    return U @ inner @ Vh + out


def qr_adjoint(g, ans, a):
    """The adjoint of ``Q, R = np.linalg.qr(a)`` (reduced, m >= n, R of full rank).

    With M = R R_bar^T - Q_bar^T Q and copyltu(M) the symmetric matrix with M's lower
    triangle: A_bar = (Q_bar + Q copyltu(M)) R^-T (Walter and Lehmann, "Algorithmic
    differentiation of linear algebra functions with application in optimum experimental
    design", 2018; m > n needs no extra term because the Q_bar term carries it).

    For a complex ``a`` the transposes are conjugate transposes and copyltu(M) takes the
    real part of M's diagonal: NumPy's R has a real diagonal, so Q^H dQ has an imaginary
    one, which the tangent (see several_results) carries.
    """
    gQ, gR = g
    Q, R = ans
    if np.shape(a)[-2] < np.shape(a)[-1]:
        raise MissingRuleError(
            "np.linalg.qr(a) of a wide matrix (fewer rows than columns) has no derivative rule",
            hint="factor a.T instead, or a square or tall matrix")
    if gQ is None:
        gQ = np.zeros_like(Q)
    if gR is None:
        gR = np.zeros_like(R)
    M = R @ conjugate_transpose(gR) - conjugate_transpose(gQ) @ Q
    if np.iscomplexobj(M):
        M = np.tril(M, -1) + np.eye(np.shape(M)[-1]) * np.real(M)
    symmetric = np.tril(M) + conjugate_transpose(np.tril(M, -1))
    b = gQ + Q @ symmetric
    return conjugate_transpose(np.linalg.solve(R, conjugate_transpose(b)))


def ungradient(g, f, spacing=None, axis=None, edge_order=1):
    """The adjoint of ``np.gradient(f, spacing, axis=axis)`` along its one axis: the
    transpose of the differencing matrix D (D = np.gradient of the identity) applied to g.
    """
    if (axis is None and np.ndim(f) != 1) or not (axis is None or isinstance(axis, int)):
        raise MissingRuleError(
            "np.gradient over several axes returns a list of arrays, which has no "
            "derivative rule", hint="take one axis at a time: np.gradient(f, axis=0)")
    axis = 0 if axis is None else axis % np.ndim(f)
    n = np.shape(f)[axis]
    spacing = () if spacing is None else tuple(spacing) if isinstance(spacing, tuple) else (
        spacing,)  # np.gradient(f, dx), however bound
    D = np.gradient(np.eye(n), *spacing, axis=0, edge_order=edge_order)
    return np.moveaxis(np.tensordot(D.T, np.moveaxis(g, axis, 0), axes=1), 0, axis)


def check_lstsq(a, rank):
    """Refuse ``np.linalg.lstsq`` where its rule does not hold: a wide matrix, or one of
    less than full column rank (there x is the minimum-norm solution)."""
    m, n = np.shape(a)
    if m < n or rank < n:
        raise MissingRuleError(
            "np.linalg.lstsq has a derivative rule for a matrix of full column rank with at "
            "least as many rows as columns",
            hint="for a wide or rank-deficient matrix use np.linalg.pinv(a) @ b")


def lstsq_adjoint(g, ans, a, b, side):
    """The adjoint of ``x, residuals, rank, s = np.linalg.lstsq(a, b)`` for ``a`` (side 0)
    or ``b`` (side 1), at full column rank: with r = b - A x and z = (AᵀA)⁻¹ x̄,
    Ā = r zᵀ - A z xᵀ - 2 r ρ̄ xᵀ + U diag(s̄) Vᵀ and b̄ = A z + 2 r ρ̄, where ρ̄ is the
    residuals' cotangent. For complex values every transpose is the conjugate transpose
    (zᵀ becomes zᴴ), and the residuals, sums of |r|², stay real."""
    gx, gres, _, gs = g
    x, residuals, rank, _ = ans
    check_lstsq(a, rank)
    r = b - a @ x
    column = np.ndim(b) == 1
    if np.iscomplexobj(a) or np.iscomplexobj(b) or np.iscomplexobj(gx):
        outer = (lambda u, v: np.outer(u, np.conj(v))) if column else (
            lambda u, v: u @ conjugate_transpose(v))
    else:
        outer = np.outer if column else (lambda u, v: u @ v.T)
    out_a = np.zeros(np.shape(a))
    out_b = np.zeros(np.shape(b))
    if gx is not None:
        z = np.linalg.solve(conjugate_transpose(a) @ a, gx)
        out_a = out_a + outer(r, z) - outer(a @ z, x)
        out_b = out_b + a @ z
    if gres is not None and np.size(residuals):
        weighted = 2 * r * np.real(gres)  # each column's residual by its cotangent
        out_a = out_a - outer(weighted, x)
        out_b = out_b + weighted
    if side == 1:
        return out_b
    if gs is not None:
        U, _, Vh = np.linalg.svd(a, full_matrices=False)
        out_a = out_a + (U * np.real(gs)) @ Vh
    return out_a

HELPERS = {
    name: globals()[name]
    for name in (
        "unbroadcast",
        "broadcast_like",
        "unreduce",
        "extremum_weights",
        "prod_partials",
        "prod_partials_adjoint",
        "safe_divide",
        "strong_zero",
        "unfill",
        "unindex",
        "through_cast",
        "scatter_add",
        "untake",
        "untake_along_axis",
        "undiff",
        "unconcatenate",
        "unstack",
        "matmul_adjoint",
        "dot_adjoint",
        "inner_adjoint",
        "einsum_adjoint",
        "einsum_call_adjoint",
        "adjugate",
        "cholesky_adjoint",
        "matrix_power_adjoint",
        "multi_dot_adjoint",
        "undiagonal",
        "unkron",
        "tensordot_adjoint",
        "cross_adjoint",
        "norm_partials",
        "norm_adjoint",
        "positions",
        "unpad",
        "unjoin",
        "rollaxis_destination",
        "sinc_derivative",
        "uncumprod",
        "quantile_weights",
        "unquantile",
        "quantile_slope",
        "weights_like",
        "unweigh",
        "to_full",
        "interp_weights",
        "no_rule",
        "cov_variables",
        "cov_divisor",
        "uncov",
        "uncorrcoef",
        "invertible",
        "unsplit",
        "eigh_adjoint",
        "eig_adjoint",
        "eigenvectors_of",
        "slogdet_adjoint",
        "pinv_adjoint",
        "svd_adjoint",
        "qr_adjoint",
        "lstsq_adjoint",
        "ungradient",
    )
}
"""The helpers an adjoint expression may name; reverse-mode generated code imports these."""
