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

# --------------------------------------------------------------------------- broadcasting


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


def normalize_axis(axis, ndim):
    """Return ``axis`` as a sorted tuple of non-negative ints (all axes for ``None``)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(a % ndim for a in axis))
    return (axis % ndim,)


def unreduce(g, x, axis=None, keepdims=False):
    """Broadcast the cotangent ``g`` of a reduction of ``x`` back to ``x``'s shape."""
    shape = np.shape(x)
    if not keepdims and axis is not None:
        g = np.expand_dims(g, normalize_axis(axis, len(shape)))
    return np.broadcast_to(g, shape)


def extremum_weights(x, ans, axis=None, keepdims=False):
    """Where ``x`` attains its reduced max (or min) ``ans``, with ties sharing the weight.

    A reduction whose maximum is attained at m places sends 1/m of the cotangent to each.
    """
    hits = np.asarray(x) == unreduce(ans, x, axis, keepdims)
    count = np.sum(hits, axis=axis, keepdims=True)
    return hits / count


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


def safe_divide(a, b):
    """``a / b``, with 0 wherever ``b`` is 0 (the convention at the kink of a norm)."""
    b = np.asarray(b)
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


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


def through_cast(g, target):
    """The cotangent of a value stored into ``target``: ``g`` when ``target`` holds real
    floats, zeros when it holds integers or booleans (the store truncates the value, a step
    function, so no derivative passes)."""
    if np.issubdtype(np.asarray(target).dtype, np.inexact):
        return g
    return np.zeros_like(g)


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


def undiff(g, n=1, axis=-1):
    """The adjoint of ``np.diff(x, n, axis)`` for ``n = 1``: entry k of ``x`` gets
    ``g[k - 1] - g[k]``, with ``g`` taken as 0 beyond its ends.

    >>> undiff(np.array([1.0, 10.0])).tolist()
    [-1.0, -9.0, 10.0]
    """
    check_diff_order(n)
    return -np.diff(g, axis=axis, prepend=0.0, append=0.0)


# --------------------------------------------------------------------------- joining


def unconcatenate(g, arrays, axis=0):
    """Split ``g`` into pieces shaped like the ``arrays`` that were concatenated."""
    if axis is None:
        sizes = [np.size(a) for a in arrays]
        pieces = np.split(np.ravel(g), np.cumsum(sizes)[:-1])
        return [np.reshape(p, np.shape(a)) for p, a in zip(pieces, arrays, strict=True)]
    sizes = [np.shape(a)[axis] for a in arrays]
    return np.split(g, np.cumsum(sizes)[:-1], axis=axis)


def unstack(g, axis=0):
    """Split ``g`` along ``axis`` into the pieces that ``np.stack`` joined."""
    return list(np.moveaxis(g, axis, 0))


# --------------------------------------------------------------------------- products


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
    x_rank, y_rank = np.ndim(x), np.ndim(y)
    # The common ranks first: the direction axis of t then acts as a batch axis of matmul.
    if x_rank <= 2 and y_rank <= 2:
        if side == 0:
            return t @ y  # (k, [p,] n) @ (n[, m])
        if y_rank == 1:
            return t @ x.T if x_rank == 2 else t @ x  # (k, n) @ (n, p), or (k, n) @ (n,)
        return x @ t  # ([p,] n) @ (k, n, m)
    if side == 0:
        left = t[..., np.newaxis, :] if x_rank == 1 else t
        right = np.asarray(y)[:, np.newaxis] if y_rank == 1 else y
        batch = max(x_rank, 2) - 2, max(y_rank, 2) - 2
        left = _pad_batch(left, max(batch), batch[0])
    else:
        left = np.asarray(x)[np.newaxis, :] if x_rank == 1 else x
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


# --------------------------------------------------------------------------- norms


def check_norm_order(x, ord, axis):
    """Refuse the orders of ``np.linalg.norm`` that have no rule: only Euclidean/Frobenius."""
    vector = len(normalize_axis(axis, np.ndim(x))) == 1
    if ord is None or ord == "fro" or (ord == 2 and vector):
        return
    raise MissingRuleError(
        f"np.linalg.norm with ord={ord!r} has no derivative rule; only the Euclidean "
        "(Frobenius) norm has one",
        hint="leave ord out, or write the norm with np.sum, np.abs and np.max",
    )


def norm_adjoint(g, ans, x, ord=None, axis=None, keepdims=False):
    """The adjoint of the Euclidean (Frobenius) norm; 0 at the origin, by convention."""
    check_norm_order(x, ord, axis)
    scale = safe_divide(unreduce(g, x, axis, keepdims), unreduce(ans, x, axis, keepdims))
    return scale * x


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


HELPERS = {
    name: globals()[name]
    for name in (
        "unbroadcast",
        "unreduce",
        "extremum_weights",
        "prod_partials",
        "prod_partials_adjoint",
        "safe_divide",
        "strong_zero",
        "unfill",
        "unindex",
        "through_cast",
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
        "norm_adjoint",
    )
}
"""The helpers an adjoint expression may name; reverse-mode generated code imports these."""
