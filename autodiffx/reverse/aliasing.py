"""Names that share memory, and writes that other names would see.

In NumPy ``y = x``, ``v = x[:2]`` and ``r = x.reshape(-1)`` make names for the same memory:
a write through one (``y += 1``, ``v[0] = 0``, ``np.copyto(r, z)``) changes what the others
read. Generated code follows values by name, so it cannot follow such a write. This pass
finds every write into memory another live name shares and refuses it, unless NumPy's
meaning and the generated code's agree:

* the other name is never read after the write (a view made only to write through, or a
  name that is dead);
* the write is ``s += v`` on a number (rank 0), which rebinds ``s`` in Python too. (A 0-d
  array argument updated in place through another name is taken as a number too.)

The same goes for a user function that writes into an argument: reverse mode differentiates
each function on its own, with its arguments copied before it writes into them, so the
caller would read the argument unchanged where NumPy changes it.

Sharing is over-approximated: any view, ``np.asarray``, a user function's result and an
unknown call's result may share its arguments' memory. The cost of that is a refusal with a
hint (copy first), never a wrong gradient.
"""

from __future__ import annotations

import ast
import copy
import operator

import numpy as np

from ..errors import AutodiffError, UnsupportedSyntaxError
from . import ir, mutation
from .source import FunctionSource, parse_function


def _memory(edges, name_of_write: str, eligible) -> dict[str, set[str]]:
    """The memory each name may point into, as a set of names that allocated it: its own,
    and that of every name it was made to share memory with (``v = x[:2]`` points into
    ``x``'s, ``r = helper(a, b)`` into ``a``'s and ``b``'s, but ``a`` and ``b`` not into
    each other's). Only the sharing ``eligible(where, targets, sources)`` counts."""
    incoming: dict[str, set[str]] = {}
    for where, targets, sources in edges:
        if eligible(where, targets, sources):
            for target in targets:
                incoming.setdefault(target, set()).update(s for s in sources if s != target)
    memory = {name: {name} for name in {name_of_write, *incoming,
                                        *(s for v in incoming.values() for s in v)}}
    changed = True
    while changed:
        changed = False
        for target, sources in incoming.items():
            for source in sources:
                if not memory[source] <= memory[target]:
                    memory[target] |= memory[source]
                    changed = True
    return memory


def _shared_operands(statement: ir.Assign, rank_of: dict, numbers_: set[str],
                     lists: set[str] = frozenset()) -> list[str]:
    """The names whose memory ``statement``'s result may share. An item of a list
    (``v = xs[0]``) is the object the list holds, never a copy, whatever its index."""
    names = [o.id for o in statement.operands if isinstance(o, ast.Name)]
    if statement.shares:
        return list(statement.shares)
    if statement.kind == "copy":
        # a number shares nothing (y = x of a rank-0 x: y += v rebinds y, as for x)
        return [n for n in names if n not in numbers_]
    if statement.kind == "list":
        return names
    if statement.kind == "primitive":
        if statement.function is copy.copy:
            # a shallow copy: new memory for an array, the same items for a list or tuple
            return [n for n in names if rank_of.get(n) is None]
        if statement.function is operator.getitem:
            base = names[:1]
            if base and base[0] in lists:
                return base
            # x[i] of rank 0 from an array is a NumPy scalar: a copy
            if base and rank_of.get(statement.target) == 0 and rank_of.get(base[0]) not in (
                    0, None):
                return []
            whole = _whole_numbers(statement.operands[1:2], rank_of)
            if base and whole is not None and whole == rank_of.get(base[0]):
                return []  # one whole number per axis: a NumPy scalar, a copy
            return base
        return names[:1] if statement.function in mutation.VIEWS else []
    if statement.kind == "call" and _returns_new_values(statement.function):
        return []
    if statement.kind in ("call", "unsupported"):
        return names + _receiver(statement)
    if statement.kind == "opaque" and statement.rule is None and statement.function is not None:
        # np.zeros(shape), len(x): a NumPy or builtin function makes new values, unless it
        # is one that returns a view
        if mutation.is_known_pure(statement.function) and (
                statement.function not in mutation.VIEWS):
            return []
        return names
    return []


def _receiver(statement: ir.Assign) -> list[str]:
    """The object of a method called without a rule (``a`` of ``a.view()``), whose memory
    its result may share; not among the operands, which are the call's arguments."""
    expression = statement.expr
    if isinstance(expression, ast.Call) and isinstance(expression.func, ast.Attribute) and (
            isinstance(expression.func.value, ast.Name)):
        return [expression.func.value.id]
    return []


def _returns_new_values(function) -> bool:
    """Whether every ``return`` of a function of yours gives a value computed there, which
    shares no memory with its arguments: a constant, arithmetic (``a * b``, ``-a``), a
    comparison, or a tuple of those. A name, an index or a call may hand back an argument
    or a view of one."""
    try:
        definition = parse_function(function).node
    except AutodiffError:
        return False
    returns = [n for n in ast.walk(definition) if isinstance(n, ast.Return)]

    def new(value) -> bool:
        if isinstance(value, ast.Tuple):
            return all(new(e) for e in value.elts)
        return isinstance(value, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare))

    return bool(returns) and all(r.value is not None and new(r.value) for r in returns)


def _whole_numbers(index: list, rank_of: dict) -> int | None:
    """How many axes an index picks with whole numbers (``x[0]``, ``x[i, 2]``, where ``i``
    is a number), or None if it does anything else (a slice, an array, a mask)."""
    if not index:
        return None
    parts = index[0].elts if isinstance(index[0], ast.Tuple) else index
    for part in parts:
        if isinstance(part, ast.Constant) and type(part.value) is int:
            continue
        if isinstance(part, ast.Name) and rank_of.get(part.id) == 0:
            continue  # a rank-0 name used as an index can only be a whole number
        return None
    return len(parts)


def numbers(statements: list, params: list[str], wrt_names, rank_of: dict) -> set[str]:
    """The names of rank 0 that surely hold a number (a Python or NumPy scalar), never a 0-d
    array: ``s += v`` on them rebinds ``s``, as in Python, and ``t = s`` shares nothing. A
    differentiated argument (autodiffx passes it as a number), a constant, or the result of
    arithmetic or a reduction. ``np.zeros(())``, ``np.array(2.0)`` or a view may be a 0-d
    array, which NumPy updates in place. (``wrt_names``: the differentiated arguments.)"""
    candidates = {n for n, r in rank_of.items() if r == 0}
    bindings: dict[str, list] = {}
    for statement in ir.walk(statements):
        if isinstance(statement, ir.Assign):
            for name in ir.bound(statement):
                bindings.setdefault(name, []).append(statement)
        elif isinstance(statement, (ir.For,)):
            bindings.setdefault(statement.target, []).append(statement)
    # an argument of rank 0 is a number: autodiffx gives a 0-d array no rank (arguments.rank)
    sure = {n for n in params if n in candidates}
    changed = True
    while changed:
        changed = False
        for name in candidates - sure - set(params):
            found = bindings.get(name, [])
            if found and all(_makes_a_number(s, sure, rank_of) for s in found):
                sure.add(name)
                changed = True
    return sure


_ARRAY_MAKERS = frozenset({np.array, np.asarray, np.asanyarray, np.copy, np.zeros, np.ones,
                           np.empty, np.full, np.zeros_like, np.ones_like, np.empty_like,
                           np.full_like, np.ascontiguousarray})


def _makes_a_number(statement, sure: set[str], rank_of: dict) -> bool:
    if isinstance(statement, ir.For):
        return True  # for i in range(n): a number (loops over arrays bind rows)
    if statement.targets:
        return False
    names = [o.id for o in statement.operands if isinstance(o, ast.Name)]
    if statement.kind == "copy":
        return bool(names) and names[0] in sure or isinstance(
            statement.operands[0], ast.Constant)
    if statement.kind == "opaque" and isinstance(statement.expr, ast.Constant):
        return True
    if statement.kind != "primitive" or statement.function in mutation.VIEWS or (
            statement.function in _ARRAY_MAKERS):
        return False
    if statement.function is operator.getitem:
        # x[i] of an array is a NumPy scalar; c[...] of a 0-d array is a view
        return bool(names) and rank_of.get(names[0]) not in (0, None)
    return True  # arithmetic, ufuncs and reductions give NumPy scalars at rank 0


def check(statements: list, params: list[str], rank_of: dict, source: FunctionSource,
          lists: set[str] = frozenset(), numbers_: set[str] | None = None,
          relevant: set[str] = frozenset()) -> dict[str, frozenset[str]]:
    """Refuse a write into memory that a name read later shares (see the module doc), and
    return the parameters whose memory (the caller's arrays) the function, as it runs,
    may write into: directly, through a view, or through a function it calls.

    Each comes with the other parameters that may share its memory harmlessly: every read
    of theirs comes before the first write (outside any loop around it), and the write is
    made into reverse mode's copy (a store, not a call statement, which writes in place):
    NumPy's function reads the values the generated code reads.

    A call run for its effect only (``k(v)``, an :class:`~.ir.Effect`) writes in place in
    the generated code too, so the names that see its write read the written values in the
    forward sweep as they do in NumPy. What goes wrong is the adjoint: it is refused when
    a name sharing the written memory carries a derivative (``relevant``; the write cuts
    its derivative, which the adjoint would still pass on), or is read before the write by
    a line with an adjoint (which reads it again, written, in the adjoint sweep).

    ``xs[i] = v`` into a local list (one of ``lists``) replaces an item: no array memory is
    written, and the list machinery differentiates it. ``numbers_`` are the names that
    surely hold numbers (:func:`numbers`); without it, every name of rank 0 is taken as one.
    The copies reverse mode makes first of the parameters it writes into
    (``y_2 = np.copy(y)``) stand for the parameters themselves here."""
    copy_of = {}
    for statement in statements:  # the normaliser's copies come first
        if not (isinstance(statement, ir.Assign) and statement.function is np.copy
                and len(statement.operands) == 1 and isinstance(statement.operands[0], ast.Name)
                and statement.operands[0].id in params):
            break
        copy_of[statement.target] = statement.operands[0].id
    if numbers_ is None:
        numbers_ = {n for n, r in rank_of.items() if r == 0}
    order: dict[int, int] = {}
    end: dict[int, int] = {}
    loops: dict[int, list] = {}
    blocks: dict[int, tuple] = {-1: ()}
    branches: dict[int, tuple[int, int]] = {}
    _number(statements, [], order, end, loops, blocks, branches)

    def apart(a: int, b: int) -> bool:
        """Whether positions a and b lie in different branches of one ``if``: one pass
        never runs both."""
        arms = {branches[block] for block in blocks[a] if block in branches}
        return any((where, 1 - arm) in arms
                   for where, arm in (branches[block] for block in blocks[b]
                                      if block in branches))

    # (where, names bound there, names whose memory they may share)
    edges: list[tuple[int, list[str], list[str]]] = []
    binds: dict[str, list[int]] = {name: [-1] for name in params}
    reads: dict[str, list[int]] = {}
    writes: list[tuple[str, object, bool]] = []  # (name, statement, the name itself too)
    effects: list[tuple[str, ir.Effect, None]] = []  # (name, call statement, None)
    adjoint_reads: dict[str, list[int]] = {}  # reads by lines that get an adjoint
    for statement in ir.walk(statements):
        position = order[id(statement)]
        for name in ir.writes(statement) + _bound_by_both_branches(statement):
            binds.setdefault(name, []).append(position)
        for name in ir.reads(statement):
            reads.setdefault(name, []).append(position)
        if isinstance(statement, ir.Assign):
            shared = _shared_operands(statement, rank_of, numbers_, lists)
            if shared:
                edges.append((position, ir.bound(statement), shared))
            if statement.inplace:
                before = [o.id for o in statement.operands[:1] if isinstance(o, ast.Name)]
                if before and before[0] not in numbers_:
                    # NumPy's y += v on an array: the new y is the old one, written into
                    edges.append((position, [statement.target], [before[0]]))
                    writes.append((before[0], statement, False))
            if statement.kind == "call":
                writes += _argument_writes(statement, rank_of, source)
        elif isinstance(statement, ir.Store) and statement.target not in lists:
            writes.append((statement.target, statement, False))
        elif isinstance(statement, ir.Append):
            edges.append((position, [statement.target], ir.names_in(statement.value)))
        elif isinstance(statement, ir.Effect):
            effects += [(name, statement, None) for name in statement.writes]
        if isinstance(statement, ir.Assign) and set(ir.bound(statement)) & relevant:
            for name in ir.reads(statement):
                adjoint_reads.setdefault(name, []).append(position)
    reached: set[str] = set()
    first_write: dict[str, int] = {}  # parameter -> where writes into it may begin
    in_place: set[str] = set()  # parameters a call statement writes into: no copy first
    for name, statement, itself in writes + effects:
        position = order[id(statement)]
        spans = [(order[id(loop)], end[id(loop)]) for loop in loops[id(statement)]]
        # sharing made before the write, or anywhere in a loop around it (an earlier
        # iteration): t = v later in the function does not make an earlier write visible
        def eligible(where, targets, sources, name=name, position=position, spans=spans):
            if not ((where < position and not apart(where, position))
                    or _inside(where, spans)):
                return False
            # the written name bound to other memory since: that sharing is over
            return not ((name in targets or name in sources) and _rebound(
                name, where, position, spans, binds, blocks))

        memory = _memory(edges, name, eligible)
        written = memory[name]
        for written_name in written:
            param = copy_of.get(written_name, written_name)
            if param in params and not (written_name == name and _rebound(
                    name, 0 if name in copy_of else -1, position, spans, binds, blocks)):
                reached.add(param)  # not bound again (y = y.copy()) before the write
                start = spans[0][0] if spans else position  # the outermost loop's top
                first_write[param] = min(first_write.get(param, start), start)
                if itself is None:
                    in_place.add(param)
        sharing = sorted(n for n, places in memory.items() if places & written)
        if itself is None:
            _check_effect(name, statement, sharing, relevant, [
                other for other in sharing if any(
                    r < position or _inside(r, spans) for r in adjoint_reads.get(other, []))],
                source)
            continue
        for other in sharing:
            if other == name and not itself:
                continue
            if getattr(statement, "inplace", False) and other in numbers_:
                continue  # s += v where s may hold the number other: a rebinding
            bound_before = any(b < position or _inside(b, spans) for b in binds.get(other, []))
            read_after = any(_sees(r, position, spans, binds.get(other, []), blocks)
                             and (_inside(r, spans) or not apart(r, position))
                             for r in reads.get(other, []))
            if bound_before and read_after:
                raise _refusal(name, other, statement, itself, source)
    last_read = _last_reads(statements, params, copy_of, edges, reads, order, end, loops)
    return {param: frozenset(
        other for other in params if other != param and param not in in_place
        and last_read.get(other, -1) < first_write[param]) for param in reached}


def _last_reads(statements: list, params: list[str], copy_of: dict, edges: list,
                reads: dict, order: dict, end: dict, loops: dict) -> dict[str, int]:
    """For each parameter, the last place the function may read its memory: through
    itself, the copy reverse mode makes of it, or any name that may share its memory; a
    read in a loop counts at the loop's end (the next pass reads it again)."""
    last_of = {}
    for statement in ir.walk(statements):
        around = loops[id(statement)]
        last_of[order[id(statement)]] = end[id(around[0])] if around else order[id(
            statement)]
    found = {}
    for param in params:
        own = {param} | {copy for copy, of in copy_of.items() if of == param}
        memory = _memory(edges, param, lambda *_: True)
        names = own | {n for n, places in memory.items() if places & own}
        found[param] = max((last_of[r] for n in names for r in reads.get(n, ())),
                           default=-1)
    return found


def _number(statements, enclosing: list, order: dict, end: dict, loops: dict,
            blocks: dict, branches: dict, chain: tuple = ()) -> None:
    """Program order of every statement, where each ends, the loops around it, the
    statement lists it sits in (its own first), and for each branch of an ``if`` (by its
    list's id) the ``if``'s position and which branch (0 the body, 1 the else)."""
    chain = (id(statements), *chain)
    for statement in statements:
        order[id(statement)] = len(order)
        loops[id(statement)] = enclosing
        blocks[order[id(statement)]] = chain
        inner = [*enclosing, statement] if isinstance(statement, (ir.For, ir.While)) \
            else enclosing
        if isinstance(statement, ir.If):
            branches[id(statement.body)] = (order[id(statement)], 0)
            branches[id(statement.orelse)] = (order[id(statement)], 1)
        for block in ir.children(statement):
            _number(block, inner, order, end, loops, blocks, branches, chain)
        end[id(statement)] = len(order) - 1


def _sees(read: int, write: int, spans, binds: list[int], blocks: dict) -> bool:
    """Whether a read of a name sees the binding it had at a write: the read comes after
    the write (or earlier in the body of a loop around it, in the next iteration) and no
    binding of the name that surely runs in between (one in a block around the read) comes
    before it."""
    if read > write:
        low = write
    else:
        around = [span for span in spans if _inside(read, [span])]
        if not around:
            return False
        low = around[-1][0]  # from the top of the innermost loop around both, next time
    return not any(low < bind < read and blocks[bind][0] in blocks[read] for bind in binds)


def _bound_by_both_branches(statement) -> list[str]:
    """For an ``if``: the names both branches surely bind (a conditional expression's
    target), which the ``if`` as a whole binds."""
    if not isinstance(statement, ir.If):
        return []
    return sorted(_surely_bound(statement.body) & _surely_bound(statement.orelse))


def _surely_bound(block: list) -> set[str]:
    bound: set[str] = set()
    for statement in block:
        bound |= set(ir.writes(statement)) if not isinstance(statement, ir.For) else set()
        bound |= set(_bound_by_both_branches(statement))
    return bound


def _rebound(name: str, where: int, write: int, spans, binds: dict, blocks: dict) -> bool:
    """Whether ``name``, made to share memory at ``where``, is surely bound again before
    the write (later in the same pass, or from the top of the loop for sharing made later
    in its body)."""
    low = where if where < write else [span for span in spans if _inside(where, [span])][-1][0]
    return any(low < bind < write and blocks[bind][0] in blocks[write]
               for bind in binds.get(name, []))


def _inside(position: int, spans) -> bool:
    return any(low <= position <= high for low, high in spans)


def _argument_writes(statement: ir.Assign, rank_of: dict, source: FunctionSource):
    """``helper(y, ...)`` where ``helper`` writes into its parameter for ``y``."""
    try:
        written = mutation.written_parameters(parse_function(statement.function))
    except (AutodiffError, AttributeError, TypeError):
        return []
    code = statement.function.__code__
    parameters = code.co_varnames[:code.co_argcount]
    found = []
    passed = [*zip(parameters, statement.operands, strict=False),
              *(statement.keywords or {}).items()]  # helper(a=y) as helper(y)
    for parameter, argument in passed:
        kind = written.get(parameter)
        if kind is None or not isinstance(argument, ast.Name):
            continue
        if kind == "inplace" and rank_of.get(argument.id) == 0:
            continue  # s += v on a number rebinds the callee's name only
        found.append((argument.id, statement, True))
    return found


def _check_effect(name: str, statement: ir.Effect, sharing: list[str], relevant: set[str],
                  read_before: list[str], source: FunctionSource) -> None:
    """Refuse a call run for its effect that writes into ``name``, when a name sharing its
    memory (``sharing``, ``name`` too) carries a derivative, or was read before by a line
    whose adjoint reads it again (``read_before``)."""
    carrying = [other for other in sharing if other in relevant]
    if not carrying and not read_before:
        return
    call = statement.statement
    text = ast.unparse(call.value if isinstance(call, ast.Expr) else call)
    other = (carrying or read_before)[0]
    through = "" if other == name else f", which shares memory with {other}"
    why = (f"{other} carries a derivative, which the write cuts" if carrying else
           f"{other} is read before it by a line whose gradient reads {other} again, "
           "after the write")
    raise UnsupportedSyntaxError(
        f"reverse mode cannot follow derivatives through {text}, which may write into "
        f"{name}{through}: {why} (in {source.name})",
        location=source.location(statement.node),
        hint=f"pass it a copy ({name}.copy()) and use what it returns, or compute the new "
        f"value and assign it (a store {other}[i] = value), or use mode=\"forward\"",
    )


def _refusal(name: str, other: str, statement, itself: bool, source: FunctionSource):
    node = getattr(statement, "node", None)
    if node is None and getattr(statement, "line", 0) > 0:  # a store: its line
        node = ast.Pass(lineno=statement.line, col_offset=0)
    location = source.location(node) if node is not None else source.location(source.node)
    if itself:
        callee = getattr(statement.function, "__name__", "the function")
        through = "" if other == name else f", which shares memory with {other},"
        return UnsupportedSyntaxError(
            f"reverse mode does not follow {callee}(...) writing into its argument {name}"
            f"{through or ','} which {source.name} reads afterwards",
            location=location,
            hint=f"return the new value from {callee} and assign it "
            f"({name} = {callee}(...)), or use mode=\"forward\"",
        )
    return UnsupportedSyntaxError(
        f"reverse mode does not follow a write into {name} that {other} sees, because the "
        f"two share memory (a view or the same array), and {other} is read afterwards "
        f"(in {source.name})",
        location=location,
        hint=f"make {name} its own array first ({name} = {other}.copy(), or "
        f"{name} = {name} + ... instead of an in-place update), or use mode=\"forward\"",
    )
