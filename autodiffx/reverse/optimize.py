"""Optimisations of generated code: constant folding and dead-code elimination.

Folding runs on each adjoint expression once the rule's names are substituted: ``np.ndim``
of a name whose rank is known becomes a number, and then comparisons, ``and``/``or``/
``not``, ``in`` on tuples, ``is None``, conditional expressions and arithmetic on constants
fold away, with ``a * 1``, ``1 * a``, ``a ** 1`` and ``a + 0`` simplified. Dead-code
elimination drops assignments whose value is never read.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from . import ir
from .ir import name_nodes

_BINARY: dict[type, Callable] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
COMPARISONS: dict[type, Callable] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def constant(node) -> tuple[bool, object]:
    """``(True, value)`` for a constant or a tuple of constants, else ``(False, None)``."""
    if isinstance(node, ast.Constant):
        return True, node.value
    if isinstance(node, ast.Tuple):
        values = [constant(e) for e in node.elts]
        if all(ok for ok, _ in values):
            return True, tuple(v for _, v in values)
    return False, None


def _is_number(node, value) -> bool:
    ok, number = constant(node)
    return ok and type(number) in (int, float) and number == value


_LEAVES = (ast.Name, ast.Constant, ast.expr_context, ast.operator, ast.boolop, ast.cmpop,
           ast.unaryop)


class Folder(ast.NodeTransformer):
    """Fold constants in an expression; ``rank(name)`` gives a name's known rank or None,
    ``shape(name)`` its known shape or None (code specialised to its arguments' shapes)."""

    def __init__(self, rank: Callable[[str], int | None],
                 shape: Callable[[str], tuple | None] | None = None):
        self.rank = rank
        self.shape = shape

    def visit(self, node):
        if isinstance(node, _LEAVES):
            return node  # nothing below to fold
        kind = node.__class__
        method = _FOLDER_METHODS.get(kind)
        if method is None:  # looked up once per node class, not by name at every node
            method = _FOLDER_METHODS[kind] = getattr(
                Folder, "visit_" + kind.__name__, Folder.generic_visit)
        return method(self, node)

    def generic_visit(self, node):
        """``NodeTransformer.generic_visit`` over ``_fields`` directly, setting a field
        only where the visit changed it: this runs on every adjoint expression."""
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                new = self.visit(value)
                if new is None:
                    delattr(node, name)
                elif new is not value:
                    setattr(node, name, new)
            elif isinstance(value, list):
                items = []
                for item in value:
                    if isinstance(item, ast.AST):
                        item = self.visit(item)
                        if item is None:
                            continue
                        if not isinstance(item, ast.AST):
                            items.extend(item)
                            continue
                    items.append(item)
                value[:] = items
        return node

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        name = _numpy_name(node)  # np.<name>(...) without keywords, or None
        args = node.args
        if name == "ndim" and len(args) == 1:
            if isinstance(args[0], ast.Name):
                rank = self.rank(args[0].id)
                if rank is not None:
                    return ast.Constant(rank)
            ok, value = constant(args[0])
            if ok and type(value) in (int, float, bool):
                return ast.Constant(0)
        shape = self.shape(args[0].id) if (
            self.shape is not None and args and isinstance(args[0], ast.Name)) else None
        if name in ("size", "shape") and len(args) == 1 and shape is not None:
            if name == "size":
                return ast.Constant(math.prod(shape))
            return ast.Tuple(elts=[ast.Constant(n) for n in shape], ctx=ast.Load())
        if name == "outer" and len(args) == 2 and shape is not None and len(shape) == 1:
            # a vector of known shape: broadcasting does np.outer's job without its ravels
            column = ast.Subscript(
                value=args[0], slice=ast.Tuple(elts=[ast.Slice(), ast.Constant(None)],
                                               ctx=ast.Load()), ctx=ast.Load())
            return ast.BinOp(left=column, op=ast.Mult(), right=args[1])
        if name in ("maximum", "minimum") and len(args) == 2:
            values = [constant(a) for a in args]
            if all(ok and type(v) is int for ok, v in values):
                pick = max if name == "maximum" else min
                return ast.Constant(pick(v for _, v in values))
        if name in ("any", "all") and len(args) == 1:
            ok, value = constant(args[0])
            if ok and type(value) is bool:
                return ast.Constant(value)
        return node

    def visit_Compare(self, node: ast.Compare):
        self.generic_visit(node)
        parts = [node.left, *node.comparators]
        values = [constant(p) for p in parts]
        if all(ok for ok, _ in values):
            result = True
            for op, (_, left), (_, right) in zip(node.ops, values, values[1:], strict=False):
                result = result and COMPARISONS[type(op)](left, right)
            return ast.Constant(bool(result))
        return node

    def visit_BoolOp(self, node: ast.BoolOp):
        """``a or b`` is a if a is true, else b; ``a and b`` is a if a is false, else b: the
        value of an operand, not a bool. A constant before every other operand decides
        (true in an ``or``, false in an ``and``) or is skipped; after an operand that is
        not known, it can only end the expression (``x or 1`` is not 1)."""
        self.generic_visit(node)
        is_and = isinstance(node.op, ast.And)
        kept = []
        last = len(node.values) - 1
        for index, value in enumerate(node.values):
            ok, known = constant(value)
            decides = ok and bool(known) != is_and
            if ok and not kept and (decides or index == last):
                return ast.Constant(known)
            if ok and not kept:
                continue  # false in an or, true in an and, first: the next operand decides
            kept.append(value)
            if decides:
                break  # the operands after it are never evaluated
        if len(kept) == 1:
            return kept[0]
        node.values = kept
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp):
        self.generic_visit(node)
        ok, value = constant(node.operand)
        if ok and isinstance(node.op, ast.Not):
            return ast.Constant(not value)
        if ok and isinstance(node.op, ast.USub) and type(value) in (int, float):
            return ast.Constant(-value)
        if (
            isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.UnaryOp)
            and isinstance(node.operand.op, ast.USub)
        ):
            return node.operand.operand
        return node

    def visit_IfExp(self, node: ast.IfExp):
        self.generic_visit(node)
        ok, value = constant(node.test)
        if ok:
            return node.body if value else node.orelse
        return node

    def visit_BinOp(self, node: ast.BinOp):
        self.generic_visit(node)
        left, right = node.left, node.right
        (left_ok, a), (right_ok, b) = constant(left), constant(right)
        operation = _BINARY.get(type(node.op))
        numbers = (int, float)
        if left_ok and right_ok and operation and type(a) in numbers and type(b) in numbers:
            if isinstance(node.op, ast.Div) and type(a) is int and type(b) is int and (
                    b == 0 or a % b):
                return node  # 4 / 12 says where it comes from; 0.3333333333333333 does not
            try:
                return ast.Constant(operation(a, b))
            except (ArithmeticError, ValueError):
                return node
        if isinstance(node.op, ast.Mult):
            if _is_number(right, 1):
                return left
            if _is_number(left, 1):
                return right
        if isinstance(node.op, ast.Pow) and _is_number(right, 1):
            return left
        if isinstance(node.op, ast.Add):
            if _is_number(right, 0):
                return left
            if _is_number(left, 0):
                return right
        if isinstance(node.op, (ast.Sub,)) and _is_number(right, 0):
            return left
        if isinstance(node.op, ast.Div) and _is_number(right, 1):
            return left
        return node


_FOLDER_METHODS: dict[type, Callable] = {}
""":class:`Folder`'s method for each node class met so far."""


def _numpy_name(node: ast.Call) -> str | None:
    """``name`` for a call ``np.<name>(...)`` without keywords, else ``None``."""
    function = node.func
    if (isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name)
            and function.value.id == "np" and not node.keywords):
        return function.attr
    return None


def fold(expression: ast.expr, rank: Callable[[str], int | None],
         shape: Callable[[str], tuple | None] | None = None) -> ast.expr:
    """``expression`` with constants folded (see :class:`Folder`)."""
    return Folder(rank, shape).visit(expression)


# --------------------------------------------------------------------------- dead code


def _loads(node) -> set[str]:
    return {n.id for n in name_nodes(node) if isinstance(n.ctx, ast.Load)}


def _removable(statement) -> str | None:
    """The name a pure assignment defines, or ``None`` if it must stay."""
    if not getattr(statement, "pure", False):
        return None
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        if isinstance(target, ast.Name):
            return target.id
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            return target.value.id
    return None


def eliminate_dead_code(body: list[ast.stmt], live_at_end: set[str],
                        keep: Callable[[ast.stmt], bool] | None = None) -> None:
    """Remove, in place, pure assignments (marked ``pure``) whose names are never read,
    except those ``keep`` accepts (outside nested functions): a statement that may raise
    where the function, as it runs, raises.

    A name counts as read if it is read anywhere later in program order, anywhere in an
    enclosing loop (the next iteration may read it), or inside a nested function.
    """
    # each statement's reads, by id: the sweeps make no statement, so no id is reused
    loads: dict[int, set[str]] = {}
    while _sweep(body, live_at_end, [], loads, keep):
        pass
    _tidy(body, [])


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Nonlocal,
           ast.Global, ast.Yield, ast.YieldFrom, ast.Await)


def without_value(vjp: ast.FunctionDef, name: str, heading: ast.stmt, seeding: ast.stmt,
                  large: Callable[[str], bool], keep: Callable[[ast.stmt], bool]
                  ) -> ast.FunctionDef | None:
    """The gradient of a vjp's function without its value: one function ``name`` with the
    vjp's parameters, its forward sweep, ``dout = 1.0`` for the pullback's parameter (after
    the comment ``seeding``), and the pullback's body, which returns the gradients.
    Statements only the value needed are dropped (dead code, with the ``del`` of what they
    bound), except those ``keep`` accepts (they may raise). The pullback's body reads the
    forward sweep's names as it did from its closure, and runs as a call ``pullback(1.0)``
    would; the forward sweep's ``large`` arrays, which the closure kept to the end, are let
    go after their last use.

    ``None`` when the vjp is not ``forward...; def pullback(dout): ...; return out,
    pullback`` with nothing in either part that scopes names (a nested function, a lambda,
    ``nonlocal``), or when the pullback binds a name of the forward sweep: then moving its
    body into the same scope could change what a name means."""
    body = list(vjp.body)
    result = body[-1] if body else None
    pullbacks = [s for s in body if isinstance(s, ast.FunctionDef)]
    if not (isinstance(result, ast.Return) and isinstance(result.value, ast.Tuple)
            and len(result.value.elts) == 2 and len(pullbacks) == 1):
        return None
    pullback = pullbacks[0]
    returned = result.value.elts[1]
    parameters = pullback.args
    if not (isinstance(returned, ast.Name) and returned.id == pullback.name
            and len(parameters.args) == 1 and not parameters.posonlyargs
            and not parameters.kwonlyargs and parameters.vararg is None
            and parameters.kwarg is None and not parameters.defaults
            and pullback.decorator_list == []):
        return None
    if not is_comment(body[0]):
        return None
    forward = [s for s in body[1:-1] if s is not pullback]  # body[0]: the heading
    adjoint = list(pullback.body)
    seed = parameters.args[0].arg
    if any(isinstance(node, _SCOPES) for s in forward + adjoint for node in ir.nodes(s)):
        return None
    # the names of each statement, read by the tests and counts below (forward and adjoint
    # keep the statements, so no id is reused meanwhile)
    names = {id(s): name_nodes(s) for s in forward + adjoint}
    outer = {a.arg for a in ir.nodes(vjp.args) if isinstance(a, ast.arg)}
    outer |= {n.id for s in forward for n in names[id(s)]}
    inner = {n.id for s in adjoint for n in names[id(s)] if not isinstance(n.ctx, ast.Load)}
    if inner & outer or seed in outer or not isinstance(adjoint[-1], ast.Return):
        return None
    seeded = ast.Assign(targets=[ast.Name(id=seed, ctx=ast.Store())], value=ast.Constant(1.0),
                        lineno=0)
    body = [*forward, seeding, seeded, *adjoint]
    bound_before = _bindings(body, names)
    eliminate_dead_code(body, set(), keep)
    bound_after = _bindings(body, names)
    gone = {n for n in bound_before if n not in bound_after}
    if any(bound_after[n] != bound_before[n] and n in _deleted(body) for n in bound_after):
        return None  # one of two bindings of a deleted name was dropped
    _drop_deletes(body, gone)
    eliminate_dead_code(body, set(), keep)  # tidies blocks a dropped ``del`` left empty
    release_after_last_use(body, large)
    for position in range(len(body) - 1, 0, -1):  # del h_c, dh_c: one line
        if isinstance(body[position], ast.Delete) and isinstance(body[position - 1], ast.Delete):
            body[position - 1].targets += body.pop(position).targets
    return ast.FunctionDef(name=name, args=vjp.args, body=[heading, *body],
                           decorator_list=[], returns=None, type_comment=None, lineno=0)


def bound_names(statement: ast.stmt) -> set[str]:
    """The names an assignment binds."""
    return {n.id for target in getattr(statement, "targets", ())
            for n in name_nodes(target) if isinstance(n.ctx, ast.Store)}


def _bindings(body: list[ast.stmt], names: dict[int, list] | None = None) -> dict[str, int]:
    """How many times each name is bound in ``body`` (blocks included); ``names`` may hold
    the name nodes of statements by id, taken for those without blocks (dead-code
    elimination leaves them as they are)."""
    counts: dict[str, int] = {}
    for statement in body:
        known = names.get(id(statement)) if names is not None and not isinstance(
            getattr(statement, "body", None), list) else None
        for node in known if known is not None else name_nodes(statement):
            if isinstance(node.ctx, ast.Store):
                counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def _deleted(body: list[ast.stmt]) -> set[str]:
    return {n.id for s in body for n in name_nodes(s) if isinstance(n.ctx, ast.Del)}


def _drop_deletes(body: list[ast.stmt], gone: set[str]) -> None:
    """Drop the names in ``gone`` from ``del`` statements in ``body`` (and its blocks)."""
    position = 0
    while position < len(body):
        statement = body[position]
        if isinstance(statement, ast.Delete):
            statement.targets = [t for t in statement.targets
                                 if not (isinstance(t, ast.Name) and t.id in gone)]
            if not statement.targets:
                del body[position]
                continue
        for field in ("body", "orelse"):
            block = getattr(statement, field, None)
            if isinstance(block, list):
                _drop_deletes(block, gone)
        position += 1


def is_comment(statement) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Name)
            and statement.value.id.startswith("__autodiffx_comment_"))


def _tidy(body: list[ast.stmt], later: list[list[ast.stmt]]) -> None:
    """Drop comments left with nothing to describe, and compound statements left with
    nothing to do (a loop whose body was all dead code); put ``pass`` in a block that
    must not be empty."""
    position = 0
    while position < len(body):
        statement = body[position]
        for field in ("body", "orelse"):
            block = getattr(statement, field, None)
            if isinstance(block, list) and not isinstance(statement, ast.FunctionDef):
                _tidy(block, [body[position + 1 :], *later])
        if isinstance(statement, (ast.If, ast.For, ast.While)) and _empty(statement.body) \
                and _empty(statement.orelse) and not _test_has_effects(statement) and not (
                    isinstance(statement, ast.For) and _names(statement.target) & set().union(
                        *(_loads(s) for block in [body[position + 1 :], *later]
                          for s in block))):
            del body[position]
            continue
        if isinstance(statement, ast.If) and _empty(statement.body) and not _empty(
                statement.orelse):  # `if c: pass else: ...` reads better as `if not c: ...`
            statement.test = _negated(statement.test)
            statement.body, statement.orelse = statement.orelse, []
        if isinstance(statement, (ast.If, ast.For, ast.While)) and _empty(statement.body):
            statement.body.append(ast.Pass())
        position += 1
    position = 0
    while position < len(body):
        following = body[position + 1] if position + 1 < len(body) else None
        if is_comment(body[position]) and (following is None or is_comment(following)):
            del body[position]
            continue
        position += 1


def _negated(test: ast.expr) -> ast.expr:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    return ast.UnaryOp(op=ast.Not(), operand=test)


def _names(node) -> set[str]:
    return {n.id for n in name_nodes(node)}


def _empty(block: list) -> bool:
    return all(is_comment(s) or isinstance(s, ast.Pass) for s in block)


def _test_has_effects(statement) -> bool:
    """Whether dropping the statement could drop a call (only range/len/reversed are
    known to be free of effects)."""
    header = statement.iter if isinstance(statement, ast.For) else statement.test
    for node in ir.nodes(header):
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name)
                                                and node.func.id in ("range", "len",
                                                                     "reversed")):
            return True
    return isinstance(statement, ast.While)


class _ReadAfter:
    """The names read after one position of a block, as a view of the block's sweep: a name
    counts if the sweep (going backwards) first met a read of it at a later position. The
    sweep only adds names at earlier positions afterwards, so the view never changes and
    nothing is copied per position."""

    __slots__ = ("first_seen", "position")

    def __init__(self, first_seen: dict[str, int], position: int):
        self.first_seen = first_seen
        self.position = position

    def __contains__(self, name: str) -> bool:
        return self.first_seen.get(name, -1) > self.position


def _sweep(body, live_at_end, after: list, loads: dict[int, set[str]], keep=None) -> bool:
    """One backward pass over ``body``; ``after`` holds what is read after the block (the
    rest of enclosing blocks, and whole enclosing loops, whose next iteration may read)."""
    changed = False
    always = [live_at_end, *after]
    first_seen: dict[str, int] = {}  # name -> the latest position that reads it
    for position in range(len(body) - 1, -1, -1):
        statement = body[position]
        name = _removable(statement)
        if name is not None and name not in first_seen and not any(
                name in reads for reads in always) and not (keep and keep(statement)):
            del body[position]
            changed = True
            continue
        later = _ReadAfter(first_seen, position)
        nested = [*always, later]
        if isinstance(statement, (ast.For, ast.While)):
            nested.append(_cached_loads(statement, loads))
        for field in ("body", "orelse"):
            block = getattr(statement, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                if isinstance(statement, ast.FunctionDef):
                    changed |= _sweep(block, set(), [], loads)
                else:
                    changed |= _sweep(block, set(), nested, loads, keep)
        for read in _cached_loads(statement, loads):
            first_seen.setdefault(read, position)
    return changed


def _cached_loads(statement, loads: dict[int, set[str]]) -> set[str]:
    """``_loads(statement)``, computed once per simple statement in one elimination (a
    compound statement's reads change as its blocks lose dead code)."""
    if isinstance(statement, (ast.For, ast.While, ast.If, ast.FunctionDef)):
        reads = set()
        for field, value in ast.iter_fields(statement):
            if field in ("body", "orelse"):
                for inner in value:
                    reads |= _cached_loads(inner, loads)
            elif isinstance(value, ast.AST):
                reads |= _loads(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        reads |= _loads(item)
        return reads
    key = id(statement)
    if key not in loads:
        loads[key] = _loads(statement)
    return loads[key]


# --------------------------------------------------------------------------- common subexpressions

_FRESH = {"copy", "array", "asarray"}
"""Primitives whose point is a new array: two calls must stay two arrays."""


def eliminate_common_subexpressions(statements: list, stored: set[str]) -> list:
    """Drop a pure primitive call that repeats an earlier one in the same block on operands
    that have not changed since (``np.expand_dims(b, 1)`` written twice); later reads use
    the first result. Works on the normalised program (:mod:`~autodiffx.reverse.ir`)."""
    from . import ir

    binds: dict[str, int] = {}
    for statement in ir.walk(statements):
        for name in ir.writes(statement):
            binds[name] = binds.get(name, 0) + 1
    renames: dict[str, str] = {}
    _cse_block(statements, stored, binds, renames, ir)
    return statements


def _cse_block(block: list, stored, binds, renames, ir) -> None:
    # earlier candidates in this block: key -> (statement, the names it reads), and for
    # each name the candidates that read it, so that a write forgets only those
    seen: dict[str, tuple] = {}
    made: dict[str, str] = {}  # the name each candidate binds -> its key
    readers: dict[str, list[tuple[str, tuple]]] = {}
    position = 0
    while position < len(block):
        statement = block[position]
        _rename(statement, renames, ir)
        for inner in ir.children(statement):
            _cse_block(inner, stored, binds, renames, ir)
        mutated = _mutated(statement, ir)
        if any(ir.children(statement)):
            mutated |= {n for s in ir.walk([statement]) for n in _mutated(s, ir)}
        changed = set(ir.writes(statement)) | mutated
        if any(ir.children(statement)):
            changed |= {n for s in ir.walk([statement]) for n in ir.writes(s)}
        for name in mutated:
            # v = xs[0]; v *= 2: a later xs[0] reads the written values, which the name v
            # does not hold in the generated code (v *= 2 binds a new version of v)
            key = made.pop(name, None)
            if key is not None and key in seen and seen[key][0].target == name:
                del seen[key]
        for name in changed:
            for key, entry in readers.pop(name, ()):
                if seen.get(key) is entry and name != entry[0].target:
                    del seen[key]
                elif seen.get(key) is entry:
                    readers.setdefault(name, []).append((key, entry))
        key = _cse_key(statement, stored, binds)
        if key is not None:
            match = seen.get(key)
            if match is not None:
                renames[statement.target] = match[0].target
                del block[position]
                continue
            entry = (statement, set(ir.reads(statement)))
            seen[key] = entry
            made[statement.target] = key
            for name in entry[1]:
                readers.setdefault(name, []).append((key, entry))
        position += 1


def _cse_key(statement, stored, binds):
    from . import ir

    if not (isinstance(statement, ir.Assign) and statement.kind == "primitive"
            and statement.rule is not None and not statement.targets):
        return None
    if getattr(statement.function, "__name__", "") in _FRESH or statement.target in stored:
        return None
    if binds.get(statement.target) != 1 or statement.target in ir.names_in(statement.expr):
        return None
    return _structure(statement.expr)


def _structure(node):
    """A key equal for two trees exactly when their ``ast.dump`` is (node classes, and the
    ``repr`` of every other field value: ``1`` is not ``1.0``), as nested tuples, made
    several times faster than the dump's text."""
    if isinstance(node, ast.AST):
        return (node.__class__, *[_structure(getattr(node, name, None))
                                  for name in node._fields])
    if isinstance(node, list):
        return (list, *[_structure(item) for item in node])
    return repr(node)


def _mutated(statement, ir) -> set[str]:
    if isinstance(statement, (ir.Store, ir.Append)):
        return {statement.target}
    if isinstance(statement, ir.Assign) and statement.inplace:  # v *= 2 writes into v
        return {o.id for o in statement.operands[:1] if isinstance(o, ast.Name)}
    if isinstance(statement, ir.Effect):
        return set(ir.reads(statement))  # a method call may change what it is called on
    return set()


def _rename(statement, renames: dict[str, str], ir) -> None:
    if not renames:
        return
    nodes = ir.read_nodes(statement)
    for node in nodes:
        for sub in ir.nodes(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                sub.id = renames.get(sub.id, sub.id)


# --------------------------------------------------------------------------- lifetimes


def _top_level_uses(body: list[ast.stmt]):
    """For each name: the positions of the top-level statements that bind it and of those
    that read it, and whether a nested function or lambda reads it."""
    binds: dict[str, list[int]] = {}
    reads: dict[str, list[int]] = {}
    nested: set[str] = set()
    for position, statement in enumerate(body):
        queue = [statement]
        for node in queue:  # breadth first, without ast.walk's generator per node
            if isinstance(node, ast.Name):
                uses = reads if isinstance(node.ctx, ast.Load) else binds
                uses.setdefault(node.id, []).append(position)
                continue
            if isinstance(node, (ast.FunctionDef, ast.Lambda)):
                # its names count here too: taken from the one walk of it
                names = name_nodes(node)
                nested.update(n.id for n in names)
                for name in names:
                    uses = reads if isinstance(name.ctx, ast.Load) else binds
                    uses.setdefault(name.id, []).append(position)
                continue
            for field in node._fields:
                value = getattr(node, field, None)
                if isinstance(value, ast.AST):
                    queue.append(value)
                elif isinstance(value, list):
                    queue += [item for item in value if isinstance(item, ast.AST)]
    return binds, reads, nested


def _single_name(statement) -> str | None:
    """The name a pure ``name = value`` binds, or ``None`` for any other statement."""
    if (isinstance(statement, ast.Assign) and getattr(statement, "pure", False)
            and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
        return statement.targets[0].id
    return None


def propagate_copies(body: list[ast.stmt], eligible: Callable[[str], bool]) -> None:
    """Remove, in place, ``m = n`` between two names each bound once (``dWX = dz``),
    reading ``n`` where ``m`` was read; for the names ``m`` that ``eligible`` accepts."""
    binds, _, nested = _top_level_uses(body)
    renames: dict[str, str] = {}
    kept = []
    for statement in body:
        name = _single_name(statement)
        value = statement.value if name is not None else None
        if (isinstance(value, ast.Name) and eligible(name) and name not in nested
                and len(binds.get(name, [])) == 1 and len(binds.get(value.id, [])) <= 1):
            renames[name] = renames.get(value.id, value.id)
            continue
        kept.append(statement)
    if not renames:
        return
    for statement in kept:
        for node in ir.nodes(statement):
            if isinstance(node, ast.Name) and node.id in renames:
                node.id = renames[node.id]
    body[:] = kept


def inline_within_a_line(body: list[ast.stmt], eligible: Callable[[str], bool]) -> None:
    """Move, in place, ``n = e`` into the statement after it that is the only one reading
    ``n`` (nested functions included), when both come from the same line of the user's
    code (no comment between them) and nothing between binds a name ``e`` reads:
    ``WX = W @ X`` then ``z = WX + expand_dims_b_1`` is ``z = W @ X + expand_dims_b_1``, as
    the user wrote it. NumPy then reuses the memory of ``W @ X`` for the sum, and nothing
    keeps it alive. One pass, the uses counted once."""
    binds, reads, nested = _top_level_uses(body)
    moved: set[int] = set()
    for position, statement in enumerate(body):
        name = _single_name(statement)
        if name is None or not eligible(name) or name in nested or len(
                binds.get(name, [])) != 1 or len(reads.get(name, [])) != 1:
            continue
        reader = reads[name][0]
        if not (isinstance(body[reader], ast.Assign) and _movable(body, position, reader)
                and _replace_load(body[reader].value, name, statement.value)):
            continue
        moved.add(position)
        for read in _loads(statement.value):  # its reads happen at the reader now
            reads[read] = [reader if p == position else p for p in reads.get(read, [])]
    if moved:
        body[:] = [s for p, s in enumerate(body) if p not in moved]


_REACH = 8
"""How many statements apart a value and its reader may be for the value to move: the
temporaries of one line of the user's code are close together."""


def _movable(body: list[ast.stmt], position: int, reader: int) -> bool:
    """Whether the value of ``body[position]`` may be computed at ``body[reader]``
    instead: no comment (another line of the user's) and no binding of a name it reads
    in between."""
    if not position < reader <= position + _REACH:
        return False
    needed = _loads(body[position].value)
    for statement in body[position + 1:reader]:
        if is_comment(statement) or not isinstance(statement, ast.Assign):
            return False
        if any(isinstance(n, ast.Name) and n.id in needed for t in statement.targets
               for n in ir.nodes(t)):
            return False
    return True


def _replace_load(tree: ast.expr, name: str, value: ast.expr) -> bool:
    """Replace the one load of ``name`` in ``tree`` by ``value``; whether it was found."""
    for node in ast.walk(tree):
        for field, child in ast.iter_fields(node):
            if isinstance(child, ast.Name) and child.id == name:
                setattr(node, field, value)
                return True
            if isinstance(child, list):
                for index, item in enumerate(child):
                    if isinstance(item, ast.Name) and item.id == name:
                        child[index] = value
                        return True
    return False


def release_after_last_use(body: list[ast.stmt], eligible: Callable[[str], bool]) -> None:
    """Insert, in place, ``del n`` after the last statement that reads ``n``, for each name
    ``eligible`` accepts that is bound once in the straight-line top of ``body``, read only
    there and not returned: Python frees a name's value only when the function returns,
    and for a large array that is memory the next operations take fresh from the system."""
    binds, reads, nested = _top_level_uses(body)
    after: dict[int, list[str]] = {}
    for name, positions in binds.items():
        read = reads.get(name)
        if (not eligible(name) or len(positions) != 1 or name in nested or not read
                or _single_name(body[positions[0]]) != name):
            continue
        last = max(read)
        rest = [s for s in body[last + 1:] if not is_comment(s)]
        if rest and not isinstance(rest[0], ast.Return) and not any(
                isinstance(body[p], (ast.For, ast.While)) for p in read):
            after.setdefault(last, []).append(name)
    for position in sorted(after, reverse=True):
        names = sorted(after[position])
        body.insert(position + 1, ast.Delete(
            targets=[ast.Name(id=n, ctx=ast.Del()) for n in names], lineno=0))


# --------------------------------------------------------------------------- accumulation

_FRESH_CALLS = frozenset({"dot", "outer", "sum"})
"""``np.<name>`` calls whose result is a new array of their operands' making (``np.sum``
only with an ``axis``; without one it may be a NumPy scalar, where ``+=`` rebinds anyway)."""


def accumulate_in_place(body: list[ast.stmt]) -> None:
    """Rewrite, in place, ``n = n + e`` as ``n += e`` where ``n`` holds an array this code
    made and nothing else refers to: its last binding before, in the straight-line top of
    ``body``, is a product (``@``, ``np.dot``, ``np.outer``) or a sum over an axis
    (``row_sums`` too), and no
    statement in between reads ``n``. The sum then goes into that array instead of a new
    one. For real values only: ``+=`` keeps the array's dtype, where ``+`` may widen it.
    """
    made: dict[str, bool] = {}
    for position, statement in enumerate(body):
        name = _single_name(statement)
        if name is not None and _accumulates(statement, name) and made.get(name):
            augmented = ast.AugAssign(target=ast.Name(id=name, ctx=ast.Store()),
                                      op=ast.Add(), value=statement.value.right, lineno=0)
            body[position] = augmented
            continue
        for read in _loads(statement):
            made[read] = False
        if name is not None:
            made[name] = _is_fresh(statement.value)
        else:
            for node in ir.nodes(statement):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    made[node.id] = False


def _accumulates(statement: ast.Assign, name: str) -> bool:
    value = statement.value
    return (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add)
            and isinstance(value.left, ast.Name) and value.left.id == name
            and name not in _loads(value.right))


def _is_fresh(value: ast.expr) -> bool:
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.MatMult):
        return True
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and (
            value.func.id == "row_sums"):
        return True  # (runtime.py: a column of a new array)
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Name) and value.func.value.id == "np"
            and value.func.attr in _FRESH_CALLS):
        return False
    return value.func.attr != "sum" or any(k.arg == "axis" for k in value.keywords)


# --------------------------------------------------------------------------- known arrays


def _np_call(node, name: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == name and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "np")


def methods_of_arrays(body: list[ast.stmt], arrays: Callable[[str], bool]) -> None:
    """Rewrite, in place, ``np.sum(a, axis=...)`` as ``a.sum(axis=...)`` and
    ``np.reshape(a, shape)`` as ``a.reshape(shape)`` where ``a`` names an array (``arrays``):
    the method skips the function's dispatch, half a microsecond to a microsecond a call."""
    for node in ir.nodes(ast.Module(body=body, type_ignores=[])):
        for field in node._fields:
            value = getattr(node, field, None)
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                if not (isinstance(item, ast.Call) and item.args
                        and isinstance(item.args[0], ast.Name) and arrays(item.args[0].id)):
                    continue
                if _np_call(item, "sum") and len(item.args) == 1 and any(
                        k.arg == "axis" for k in item.keywords):
                    method = ast.Call(func=ast.Attribute(value=item.args[0], attr="sum",
                                                         ctx=ast.Load()),
                                      args=[], keywords=item.keywords)
                elif _np_call(item, "reshape") and len(item.args) == 2 and not item.keywords:
                    method = ast.Call(func=ast.Attribute(value=item.args[0], attr="reshape",
                                                         ctx=ast.Load()),
                                      args=[item.args[1]], keywords=[])
                else:
                    continue
                if isinstance(value, list):
                    value[index] = method
                else:
                    setattr(node, field, method)


def _nested_statements(body: list[ast.stmt], found: list | None = None) -> list[ast.stmt]:
    """Every statement in ``body`` and in the blocks of its statements, without the
    expressions (the only place an assignment can be)."""
    if found is None:
        found = []
    for statement in body:
        found.append(statement)
        for field in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(statement, field, None)
            if isinstance(block, list):
                _nested_statements(block, found)
    return found


def indexed_expand_dims(body: list[ast.stmt], rank: Callable[[str], int | None]) -> None:
    """Rewrite, in place, ``np.expand_dims(x, k)`` of an array ``x`` of known rank and a
    literal ``k`` as the same view by indexing, ``x[:, None]``, without the call's
    argument handling."""
    for node in _nested_statements(body):
        if not isinstance(node, ast.Assign) or not _np_call(node.value, "expand_dims"):
            continue
        call = node.value
        if len(call.args) != 2 or call.keywords or not isinstance(call.args[0], ast.Name):
            continue
        known = rank(call.args[0].id)
        ok, axis = constant(call.args[1])
        if known is None or not ok or type(axis) is not int or not (
                -known - 1 <= axis <= known):
            continue
        axis %= known + 1
        items = [ast.Slice() for _ in range(axis)] + [ast.Constant(None)]
        index = items[0] if len(items) == 1 else ast.Tuple(elts=items, ctx=ast.Load())
        node.value = ast.Subscript(value=call.args[0], slice=index, ctx=ast.Load())
