"""Shape analysis: the exact shape of each local name, for code specialised to its arguments.

When a gradient is called with arrays, their shapes are part of the cache key (see
:func:`autodiffx.reverse.emit.build`), so code generated for those shapes may rely on them.
The shapes follow from the arguments through the operations whose result shape NumPy
defines from the operand shapes alone: elementwise operations (broadcasting), products,
reductions over literal axes, and views (``x.T``, ``x[:, None]``, ``np.expand_dims``,
``np.reshape`` to a literal shape). Anything else (a call of a user function, boolean
indexing, ``np.unique``, a name bound to two shapes, a value of a global) has no known
shape, and the code at that point stays as general as the rank-generic code.

The adjoint pass uses the shapes to decide broadcasting when it writes the code: where an
operand has its result's shape, ``unbroadcast(g, x)`` is ``g``; where it was stretched, a
``np.sum`` over the stretched axes; ``np.size(x)`` is a number. Operands kept only to read
their shapes are then no longer kept alive by the pullback.
"""

from __future__ import annotations

import ast
import math
import operator

import numpy as np

from . import ir

Shape = tuple[int, ...]
Shapes = dict[str, "Shape | None"]

_CONFLICT = object()

_REDUCTIONS = frozenset({np.sum, np.mean, np.max, np.min, np.amax, np.amin, np.prod,
                         np.std, np.var, np.all, np.any, np.nansum, np.nanmean})
_PRODUCTS = frozenset({np.matmul, operator.matmul})
_VIEWS = frozenset({np.expand_dims, np.transpose, np.swapaxes, np.moveaxis, np.squeeze,
                    np.atleast_1d, np.atleast_2d})
NOT_BROADCASTING = frozenset({max, min})
"""Elementwise rules whose result is not the broadcast of the operands: Python's ``max(a,
b)`` returns one operand as it is, of its own shape, chosen by the values."""


def infer(statements: list, params: list[str], argument_shapes) -> Shapes:
    """Map each local name whose shape is certain to that shape.

    ``argument_shapes`` holds each parameter's shape, or ``None`` where it is not known.
    A name bound to different shapes (in a loop, or in two branches) is left out, as is
    every name the analysis cannot follow.
    """
    known: dict[str, object] = {}
    for position, name in enumerate(params):
        shape = argument_shapes[position] if position < len(argument_shapes) else None
        known[name] = shape if shape is not None else _CONFLICT
    for _ in range(4):
        before = dict(known)
        for statement in ir.walk(statements):
            if isinstance(statement, ir.Assign):
                names = ir.bound(statement)
                shape = _shape_of(statement, known) if not statement.targets else None
                for name in names:
                    _bind(known, name, shape)
            elif isinstance(statement, ir.For):
                _bind(known, statement.target, None)
            elif isinstance(statement, ir.Effect):
                for name in statement.writes:
                    _bind(known, name, None)
            elif isinstance(statement, ir.Append):
                _bind(known, statement.target, None)
        if known == before:
            break
    return {name: shape for name, shape in known.items() if isinstance(shape, tuple)}


_REAL_UNARY = frozenset({operator.neg, operator.pos, np.negative, np.positive, np.tanh,
                         np.sinh, np.cosh, np.exp, np.expm1, np.log, np.log1p, np.sin, np.cos,
                         np.sqrt, np.square, np.abs, np.absolute, np.fabs})
_REAL_BINARY = frozenset({operator.add, operator.sub, operator.mul, operator.matmul, np.add,
                          np.subtract, np.multiply, np.matmul, np.dot, np.outer, np.maximum,
                          np.minimum, np.logaddexp})
_REAL_OF_FIRST = frozenset({operator.getitem, np.expand_dims, np.reshape, np.transpose,
                            np.ravel, np.sum, np.mean})
"""Operations whose result is real and floating when their operands are: each of them gives
floats for floats, never a complex number or a bool, and raises for no values of operands of
these shapes (``np.sqrt(-1.0)`` is ``nan``, where Python's ``(-1.0) ** 0.5`` is complex, so
``**`` counts only with a literal integer exponent; ``np.max`` of an empty array raises, so
it is left out). For the last group only the first operand is an array of values; the rest
are indices, axes or shapes. Division and powers count too, where an operand (the base, for
a power) is a NumPy value: on Python numbers they raise (``1.0 / 0.0``, ``1e200 ** 2``),
where NumPy gives ``inf``."""


def real_scalar(statements: list, params: list[str], argument_shapes, result,
                shapes: Shapes) -> frozenset | None:
    """Whether the function returns a real floating-point scalar (shape ``()``) whenever
    every argument is a float or an array of floats of the shape given: the names the
    proof covers (each computed without raising), or ``None``.

    Then ``grad``, which needs a real scalar and throws its value away, may skip computing
    it. The proof follows the result back to the arguments through :data:`_REAL_UNARY`,
    :data:`_REAL_BINARY` and :data:`_REAL_OF_FIRST` only, with no ``out=``, ``dtype=`` or
    ``where=``; a value of a global, a closure or a default, a name bound twice, a call of
    a user function, a comparison or anything else leaves it unproved. What it proves
    includes that computing the value raises nothing, so leaving it out changes nothing.
    """
    if not (isinstance(result, ast.Name) and shapes.get(result.id) == ()):
        return None
    bindings: dict[str, list] = {}
    for statement in ir.walk(statements):
        if isinstance(statement, ir.Assign):
            for name in ir.bound(statement):
                bindings.setdefault(name, []).append(statement)
        elif isinstance(statement, (ir.Store, ir.Append, ir.For)):
            bindings.setdefault(statement.target, []).append(None)
        elif isinstance(statement, ir.Effect):
            for name in statement.writes:
                bindings.setdefault(name, []).append(None)
    given = {name for position, name in enumerate(params)
             if position < len(argument_shapes) and argument_shapes[position] is not None}
    # a name bound in a branch or a loop may be unbound when it is read
    unconditional = {name for statement in statements if isinstance(statement, ir.Assign)
                     for name in ir.bound(statement)}
    proof = _RealProof(bindings, given, shapes, unconditional)
    if not proof.real(result.id):
        return None
    return frozenset(name for name, proved in proof.proved.items() if proved)


class _RealProof:
    """The proof of :func:`real_scalar`, name by name, each proved once."""

    def __init__(self, bindings: dict[str, list], given: set[str], shapes: Shapes,
                 unconditional: set[str]):
        self.bindings = bindings
        self.given = given
        self.shapes = shapes
        self.unconditional = unconditional
        self.proved: dict[str, bool] = {}
        self.numpy: dict[str, bool] = {}

    def _single(self, name: str):
        """The one statement binding ``name``, or ``None`` (an argument, a global, a name
        rebound, written into, or bound in a branch or a loop)."""
        found = self.bindings.get(name)
        if found is None or name in self.given or len(found) != 1 or (
                name not in self.unconditional):
            return None
        return found[0]

    def real(self, name: str) -> bool:
        """Whether ``name`` always holds a real float (or an array of them)."""
        if name not in self.proved:
            statement = self._single(name)
            if statement is None:
                self.proved[name] = name in self.given and name not in self.bindings
            else:
                self.proved[name] = False  # until proved: a name read in its own binding
                self.proved[name] = self._statement(statement)
        return self.proved[name]

    def operand(self, node) -> bool:
        if isinstance(node, ast.Name):
            return self.real(node.id)
        return isinstance(node, ast.Constant) and type(node.value) in (int, float)

    def from_numpy(self, node) -> bool:
        """Whether an operand is a NumPy array or scalar, never a Python number: an array
        of rank one or more, the result of a call of a NumPy function, or of indexing one
        (arithmetic with one such operand gives one too)."""
        if not isinstance(node, ast.Name):
            return False
        name = node.id
        if name not in self.numpy:
            self.numpy[name] = bool(self.shapes.get(name))
            statement = self._single(name)
            if not self.numpy[name] and statement is not None and statement.operands:
                expression = statement.expr
                if isinstance(expression, ast.Call):  # np.sum(x), not operator.mul(x, y)
                    self.numpy[name] = _from_numpy_module(statement.function)
                elif isinstance(expression, ast.Subscript):
                    self.numpy[name] = self.from_numpy(statement.operands[0])
                elif isinstance(expression, (ast.BinOp, ast.UnaryOp)):
                    self.numpy[name] = any(self.from_numpy(o) for o in statement.operands)
        return self.numpy[name]

    def _statement(self, statement: ir.Assign) -> bool:
        if statement.targets:
            return False
        operands = statement.operands
        if statement.kind == "copy":
            return len(operands) == 1 and self.operand(operands[0])
        if statement.kind != "primitive" or statement.rule is None:
            return False
        function = statement.function
        keywords = set(statement.keywords)
        if (_on_operand(statement) or function is operator.getitem) and not (
                self.from_numpy(operands[0])):
            return False  # y.T, y.sum() or y[()] of a Python float raises
        if function in _REAL_OF_FIRST:
            return (keywords <= {"axis", "keepdims"} and 1 <= len(operands) <= 2
                    and self.operand(operands[0]))
        if keywords or not all(self.operand(o) for o in operands):
            return False
        if function in _REAL_UNARY:
            return len(operands) == 1
        if function in _REAL_BINARY:
            return len(operands) == 2
        if function in (operator.truediv, np.divide) and len(operands) == 2:
            return any(self.from_numpy(o) for o in operands)
        if function in (operator.pow, np.power) and len(operands) == 2:
            exponent = operands[1]
            return (self.from_numpy(operands[0]) and isinstance(exponent, ast.Constant)
                    and type(exponent.value) is int)
        return False


def _from_numpy_module(function) -> bool:
    """Whether ``function`` is NumPy's (a ufunc, or defined in a ``numpy`` module): its
    result is a NumPy array or scalar, never a Python number."""
    if isinstance(function, np.ufunc):
        return True
    module = getattr(function, "__module__", None) or ""
    return module == "numpy" or module.startswith("numpy.")


def _on_operand(statement: ir.Assign) -> bool:
    """Whether the statement reads an attribute or calls a method of its first operand
    (``x.T``, ``x.sum()``), which a Python number may not have."""
    expression = statement.expr
    if isinstance(expression, ast.Call):
        expression = expression.func
    return (isinstance(expression, ast.Attribute) and isinstance(expression.value, ast.Name)
            and bool(statement.operands) and isinstance(statement.operands[0], ast.Name)
            and statement.operands[0].id == expression.value.id)


def _bind(known, name, shape) -> None:
    if shape is None:
        known[name] = _CONFLICT
    elif name not in known:
        known[name] = shape
    elif known[name] != shape:
        known[name] = _CONFLICT


def atom_shape(atom: ast.expr, known) -> Shape | None:
    """The shape of an operand: a name's known shape, ``()`` for a number literal."""
    if isinstance(atom, ast.Name):
        shape = known.get(atom.id)
        return shape if isinstance(shape, tuple) else None
    if isinstance(atom, ast.Constant) and type(atom.value) in (int, float, bool):
        return ()
    return None


def _shape_of(statement: ir.Assign, known) -> Shape | None:
    if statement.kind == "copy":
        return atom_shape(statement.operands[0], known) if statement.operands else None
    if statement.kind == "opaque":
        expression = statement.expr
        if isinstance(expression, ast.Constant) and type(expression.value) in (int, float):
            return ()
        return None
    if statement.kind != "primitive" or statement.rule is None:
        return None
    shapes = [atom_shape(o, known) for o in statement.operands]
    function = statement.function
    if function is operator.getitem:
        return _indexed(shapes[0], statement.operands[1]) if len(shapes) == 2 else None
    arguments = _literal_arguments(statement)
    if arguments is None:
        return None
    try:
        if statement.rule.elementwise:
            if None in shapes or function in NOT_BROADCASTING or (
                    "out" in statement.keywords or "where" in statement.keywords):
                return None
            return tuple(np.broadcast_shapes(*shapes))
        if function in _PRODUCTS and len(shapes) == 2 and None not in shapes:
            return _matmul(*shapes)
        if function is np.dot and len(shapes) == 2 and None not in shapes and all(
                1 <= len(s) <= 2 for s in shapes):
            return _matmul(*shapes)
        if function is np.outer and len(shapes) == 2 and None not in shapes:
            return (int(np.prod(shapes[0])), int(np.prod(shapes[1])))
        if function in _REDUCTIONS and shapes and shapes[0] is not None:
            return _reduced(shapes[0], arguments.get("axis"), arguments.get("keepdims", False))
        if function is np.ravel and shapes and shapes[0] is not None and len(arguments) == 0:
            return (math.prod(shapes[0]),)
        if function is np.reshape and shapes and shapes[0] is not None:
            return _reshaped(shapes[0], arguments.get("newshape", arguments.get("shape")))
        if function in _VIEWS and shapes and shapes[0] is not None:
            return _viewed(function, shapes[0], statement, arguments)
    except (ValueError, TypeError, IndexError, np.exceptions.AxisError):
        return None  # NumPy would raise here too: the code stays general
    return None


def _literal_arguments(statement: ir.Assign) -> dict | None:
    """The call's arguments other than the first, by the rule's parameter names, where
    they are literals; ``None`` when one is not."""
    values: dict = {}
    params = statement.rule.params
    for name, operand in zip(params[1:], statement.operands[1:], strict=False):
        values[name] = operand
    values.update(statement.keywords)
    literal = {}
    for name, node in values.items():
        if isinstance(node, ast.Name) and statement.rule.elementwise:
            continue  # an operand of an elementwise operation, not an option
        try:
            literal[name] = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            if name in ("axis", "keepdims", "newshape", "shape", "axes", "axis1", "axis2",
                        "source", "destination"):
                return None
    return literal


def _matmul(a: Shape, b: Shape) -> Shape | None:
    if not a or not b:
        return None
    left = (1, *a) if len(a) == 1 else a
    right = (*b, 1) if len(b) == 1 else b
    if left[-1] != right[-2]:
        return None
    batch = tuple(np.broadcast_shapes(left[:-2], right[:-2]))
    shape = (*batch, left[-2], right[-1])
    if len(b) == 1:
        shape = shape[:-1]
    if len(a) == 1:
        shape = shape[:-2] + shape[-1:] if len(b) > 1 else shape[:-1]
    return shape


def _reduced(shape: Shape, axis, keepdims) -> Shape | None:
    if type(keepdims) is not bool:
        return None
    if axis is None:
        return (1,) * len(shape) if keepdims else ()
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not all(type(a) is int for a in axes):
        return None
    chosen = {_axis(a, len(shape)) for a in axes}
    if keepdims:
        return tuple(1 if i in chosen else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in chosen)


def _axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def _reshaped(shape: Shape, new) -> Shape | None:
    if isinstance(new, int):
        new = (new,)
    if not isinstance(new, tuple) or not all(type(n) is int for n in new):
        return None
    size = int(np.prod(shape))
    if new.count(-1) == 1:
        rest = int(np.prod([n for n in new if n != -1]))
        if rest == 0 or size % rest:
            return None
        new = tuple(size // rest if n == -1 else n for n in new)
    if any(n < 0 for n in new) or int(np.prod(new)) != size:
        return None
    return new


def _stand_in(shape: Shape) -> np.ndarray:
    """An array of ``shape`` that takes no memory: every stride 0. Views of it have the
    shapes views of a real array of that shape would have."""
    return np.lib.stride_tricks.as_strided(np.zeros(1), shape=shape,
                                           strides=(0,) * len(shape))


def _viewed(function, shape: Shape, statement: ir.Assign, arguments: dict) -> Shape | None:
    names = statement.rule.params[1:]
    positional = [arguments[n] for n in names[:len(statement.operands) - 1]
                  if n in arguments]
    if len(positional) != len(statement.operands) - 1:
        return None
    keywords = {n: v for n, v in arguments.items() if n not in names[:len(positional)]}
    return tuple(function(_stand_in(shape), *positional, **keywords).shape)


def _indexed(shape: Shape | None, index: ast.expr) -> Shape | None:
    """The shape of ``x[index]`` for a basic index of literals (ints, slices, None)."""
    if shape is None:
        return None
    item = _literal_index(index)
    if item is _NOT_LITERAL:
        return None
    try:
        return tuple(_stand_in(shape)[item].shape)
    except (IndexError, TypeError, ValueError):
        return None


def _literal_index(node: ast.expr):
    """The index as a Python value, or ``_NOT_LITERAL``."""
    if isinstance(node, ast.Tuple):
        items = [_literal_index(e) for e in node.elts]
        return _NOT_LITERAL if any(i is _NOT_LITERAL for i in items) else tuple(items)
    if isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis):
        return node.value
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Slice):
        parts = []
        for part in (node.lower, node.upper, node.step):
            if part is None:
                parts.append(None)
            elif isinstance(part, ast.Constant) and type(part.value) is int:
                parts.append(part.value)
            elif (isinstance(part, ast.UnaryOp) and isinstance(part.op, ast.USub)
                  and isinstance(part.operand, ast.Constant)
                  and type(part.operand.value) is int):
                parts.append(-part.operand.value)
            else:
                return _NOT_LITERAL
        return slice(*parts)
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int):
        return -node.operand.value
    return _NOT_LITERAL


_NOT_LITERAL = object()
