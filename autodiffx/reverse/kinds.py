"""Kind analysis: which local names hold real values and which may hold complex ones.

The adjoint expressions of the registry are written for real values. On complex values the
rules of :data:`~autodiffx.rules.complex_rules.CONJUGATED_PRIMALS` need the conjugates of
their primal values, and a real value's cotangent must stay real (the real part of what
complex code sends it): see ``docs/complex.md``. So the adjoint pass needs to know, for
each name, whether its value is real.

A name is :data:`REAL`, :data:`COMPLEX`, or ``None`` (either, decided by data: the
eigenvalues of ``np.linalg.eig``, ``x.astype(t)`` of a ``t`` computed at run time).
Argument kinds come from the call (the cache key holds them); globals have their value's
kind (the call-time guard watches them); literals have theirs. A rule's result is complex
when an operand is, real when all are, unless the rule says otherwise
(:data:`~autodiffx.rules.complex_rules.RESULT_KINDS`: ``np.abs`` is real, ``np.fft.fft``
complex) or a literal ``dtype`` decides. A name bound to several kinds (in a loop, in two
branches) has the widest.

Where nothing can be known (a call of a function without a rule, an attribute of an
object, ``a ** b`` of Python numbers: see :func:`_powers_of_python_numbers`), the value
is taken as real when its inputs are, and the name goes into
``assumed``: the generated code is then checked at call time (every value the adjoint
sweep reads that this analysis calls real must be real), so a wrong assumption is refused,
never differentiated silently.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ComplexNotSupportedError
from ..rules import registry
from ..rules.complex_rules import REAL_ADJOINTS, RESULT_KINDS
from . import ir

REAL = "real"
COMPLEX = "complex"
OBJECT = "object"
"""The kind of an argument that is not a number or an array (a model object, a string):
taken as real, but what is read out of it (an item, an attribute) is checked at call
time."""
_ORDER = {REAL: 0, None: 1, COMPLEX: 2}

Kinds = dict[str, "str | None"]

CallKinds = Callable[[Any, tuple, int], "list | None"]
"""``call_kinds(function, argument_kinds, count)``: the kinds of the ``count`` values a
user function returns (``count`` > 1 when the call unpacks a tuple), or ``None`` when they
cannot be known."""

_COMPLEX_MAKERS = frozenset({complex, np.complex128, np.complex64, np.clongdouble})
"""Constructors whose result is complex whatever they are given (``complex(x, 0.5)``)."""

_TRUSTED_MODULES = ("numpy.random",)
"""Modules whose functions without rules return real values from real inputs."""


class Analysis:
    """The kind of every local name, and the names whose kind was assumed.

    A name bound by several statements has the widest of their kinds; ``results`` keeps
    each statement's own (by ``id``): a name may hold a real value at one statement and a
    complex one at another, and the real one's cotangent must still be real."""

    def __init__(self, kinds: Kinds, assumed: set[str], results: dict[int, list] | None = None,
                 objects: set[str] = frozenset()):
        self.kinds = kinds
        self.assumed = assumed
        self.results = results or {}
        self.objects = objects
        """Parameters bound to objects (see :data:`OBJECT`)."""

    def result_of(self, statement, name: str) -> str | None:
        """The kind of ``name`` as ``statement`` binds it."""
        found = self.results.get(id(statement))
        if found is None:
            return self.of(name)
        return found[ir.bound(statement).index(name)]

    def of(self, name: str) -> str | None:
        return self.kinds.get(name, REAL)

    def is_real(self, name: str) -> bool:
        return self.kinds.get(name, REAL) == REAL

    @property
    def all_real(self) -> bool:
        """No value of the function can be complex: its code is the real code."""
        return all(kind == REAL for kind in self.kinds.values())


def widest(*kinds: str | None) -> str | None:
    return max(kinds, key=_ORDER.__getitem__) if kinds else REAL


def of_value(value) -> str | None:
    """The kind of a value the function reads (an argument, a global)."""
    if isinstance(value, (complex, np.complexfloating)):
        return COMPLEX
    if isinstance(value, np.ndarray):
        return COMPLEX if value.dtype.kind == "c" else (REAL if value.dtype.kind != "O"
                                                        else None)
    if isinstance(value, (float, int, np.generic)):
        return REAL
    return OBJECT


def _constant_kind(value):
    """The kind of a global's value: of a number or array, or the widest of a tuple's or
    list's items (``WEIGHTS[k]`` of a tuple of arrays); ``False`` for anything else."""
    if isinstance(value, (np.ndarray, np.generic, float, int, complex)):
        return of_value(value)
    if isinstance(value, (tuple, list)) and len(value) < 1000:
        kinds = [_constant_kind(item) for item in value]
        if kinds and all(kind is not False for kind in kinds):
            return widest(*kinds)
    return False


def of_arguments(args) -> tuple[str, ...] | None:
    """The kind of each argument, or ``None`` when all are real (the common case, which
    generated code of real programs is made for)."""
    kinds = tuple(of_value(a) for a in args)
    return None if all(k == REAL for k in kinds) else kinds


def infer(statements: list, params: list[str], argument_kinds: tuple | None,
          call_kinds: CallKinds | None = None, constants: dict | None = None,
          rank_of: dict | None = None, powers: bool = True) -> Analysis:
    """Map each local name to its kind (see the module's docstring). ``rank_of`` (the
    ranks of :mod:`.ranks`, when known) tells arrays, which never hold Python numbers;
    ``powers=False`` takes ``a ** b`` of Python numbers as real without a check (for the
    kinds a callee returns: its own code, made for its arguments, checks them)."""
    known: Kinds = {}
    assumed: set[str] = set()
    results: dict[int, list] = {}
    for name, value in (constants or {}).items():
        kind = _constant_kind(value)
        if kind is not False:
            known[name] = kind
    objects = set()
    for position, name in enumerate(params):
        given = argument_kinds[position] if argument_kinds and position < len(
            argument_kinds) else REAL
        if given == OBJECT:
            objects.add(name)
            given = REAL
        known[name] = given
    params_set = set(params)
    for _ in range(8):
        before = dict(known)
        for statement in ir.walk(statements):
            if isinstance(statement, ir.Assign):
                found = _kinds_of(statement, known, call_kinds, assumed, objects)
                results[id(statement)] = found
                for name, kind in zip(ir.bound(statement), found, strict=True):
                    if name not in params_set or kind != known.get(name):
                        _bind(known, name, kind)
            elif isinstance(statement, ir.Append):
                _bind(known, statement.target, atom_kind(statement.value, known))
            elif isinstance(statement, ir.For):
                _bind(known, statement.target, widest(
                    *[known.get(n, REAL) for n in ir.names_in(statement.iter)]))
        if known == before:
            break
    for statement in _powers_of_python_numbers(statements, params, constants or {},
                                               rank_of or {}) if powers else ():
        if results.get(id(statement)) == [REAL]:
            assumed.update(ir.bound(statement))
    return Analysis(known, assumed, results, objects)


_PYTHON_NUMBER_MAKERS = (float, int, abs, round, len, max, min, sum)


def _powers_of_python_numbers(statements: list, params: list[str], constants: dict,
                              rank_of: dict) -> list:
    """The statements ``a ** b`` whose result may be complex although ``a`` and ``b`` are
    real: Python's float and int give a complex number for a negative ``a`` and a ``b`` not
    integral (``(-2.0) ** 1.5``), where NumPy's power gives nan. That needs ``a`` to be a
    Python number (a scalar argument, a Python number global or literal, ``float(t)``,
    ``t.item()``, a ``math`` function, or arithmetic of those; never a NumPy result such as
    ``np.sum(v) ** 0.5``) and ``b`` not an integral literal. Such results are taken as
    real and checked at call time (:func:`check_real`), as the values of calls without a
    rule are."""
    maybe: set[str] = {p for p in params if rank_of.get(p) in (0, None)}
    maybe |= {name for name, value in constants.items()
              if isinstance(value, (int, float)) and not isinstance(value, bool)}

    def python_number(atom) -> bool:
        if isinstance(atom, ast.Constant):
            return isinstance(atom.value, (int, float)) and not isinstance(atom.value, bool)
        return isinstance(atom, ast.Name) and atom.id in maybe

    for _ in range(8):
        size = len(maybe)
        for statement in ir.walk(statements):
            if isinstance(statement, ir.For):
                counted = statement.iter
                if isinstance(counted, ast.Call) and isinstance(counted.func, ast.Name) and (
                        counted.func.id == "reversed" and counted.args):  # reversed(range(n))
                    counted = counted.args[0]
                if isinstance(counted, ast.Call) and isinstance(
                        counted.func, ast.Name) and counted.func.id == "range":
                    maybe.add(statement.target)
                continue
            if not isinstance(statement, ir.Assign) or statement.targets:
                continue
            expression = statement.expr
            function = statement.function
            if isinstance(expression, (ast.BinOp, ast.UnaryOp)) or statement.kind == "copy":
                made = bool(statement.operands) and all(
                    python_number(o) for o in statement.operands)
            else:
                made = function in _PYTHON_NUMBER_MAKERS or getattr(
                    function, "__module__", None) == "math" or (
                    isinstance(expression, ast.Call) and isinstance(
                        expression.func, ast.Attribute) and expression.func.attr == "item")
            if made:
                maybe.add(statement.target)
        if len(maybe) == size:
            break
    found = []
    for statement in ir.walk(statements):
        if not (isinstance(statement, ir.Assign) and isinstance(statement.expr, ast.BinOp)
                and isinstance(statement.expr.op, ast.Pow) and len(statement.operands) == 2):
            continue
        base, exponent = statement.operands
        if isinstance(exponent, ast.Constant) and isinstance(
                exponent.value, (int, float)) and float(exponent.value).is_integer():
            continue
        if isinstance(base, ast.Constant):
            if isinstance(base.value, (int, float)) and base.value < 0:
                found.append(statement)
        elif python_number(base) and (not isinstance(exponent, ast.Name)
                                      or rank_of.get(exponent.id) in (0, None)):
            found.append(statement)
    return found


def _bind(known: Kinds, name: str, kind: str | None) -> None:
    known[name] = widest(known[name], kind) if name in known else kind


def atom_kind(atom: ast.expr, known: Kinds) -> str | None:
    if isinstance(atom, ast.Name):
        return known.get(atom.id, REAL)
    if isinstance(atom, ast.Constant):
        return COMPLEX if isinstance(atom.value, complex) else REAL
    if isinstance(atom, (ast.List, ast.Tuple)):
        return widest(*[atom_kind(e, known) for e in atom.elts])
    return widest(*[known.get(n, REAL) for n in ir.names_in(atom)],
                  *[COMPLEX for n in ast.walk(atom)
                    if isinstance(n, ast.Constant) and isinstance(n.value, complex)])


def _kinds_of(statement: ir.Assign, known: Kinds, call_kinds, assumed, objects=()) -> list:
    count = len(ir.bound(statement))
    operands = widest(*[atom_kind(o, known) for o in statement.operands])
    if any(isinstance(o, ast.Name) and o.id in objects for o in statement.operands):
        # read out of an object argument (table[0], np.sum(table)): known only at run time
        if statement.kind == "copy":
            objects.update(ir.bound(statement))
        assumed.update(ir.bound(statement))
        return [operands] * count
    if statement.kind == "call":
        result = call_kinds(statement.function, tuple(
            atom_kind(o, known) for o in statement.operands), count) if call_kinds else None
        if result is not None:
            return list(result)
        assumed.update(ir.bound(statement))
        return [operands] * count
    if statement.kind == "primitive":
        return _rule_kinds(statement, known, operands, count)
    if statement.kind in ("copy", "list"):
        return [operands] * count
    # opaque or unsupported (computed, but no derivative passes): a literal, a comparison,
    # np.zeros(n), a call without a rule, an attribute, an item of a global tuple
    expression = statement.expr
    operands = widest(operands, *[known.get(n, REAL) for n in ir.names_in(expression)])
    dtype = _literal_dtype(expression)
    if dtype is not None:
        return [dtype] * count
    literal = atom_kind(expression, known) if isinstance(
        expression, (ast.Constant, ast.List, ast.Tuple)) else None
    if literal is not None:
        return [literal] * count
    if statement.function in _COMPLEX_MAKERS:
        return [COMPLEX] * count
    if _trusted(statement, objects):
        return [operands] * count
    assumed.update(ir.bound(statement))
    return [operands] * count


def _trusted(statement: ir.Assign, objects=()) -> bool:
    """An opaque value whose kind follows from its operands': a comparison, a shape, a
    literal, an item of a number, array, tuple or list (not of an object argument), a
    function with a rule (no derivative) or from ``np.random``."""
    expression = statement.expr
    if isinstance(expression, (ast.Compare, ast.BoolOp, ast.Constant, ast.Name)):
        return True
    if isinstance(expression, ast.Subscript):
        return isinstance(expression.value, ast.Name) and expression.value.id not in objects
    if isinstance(expression, ast.UnaryOp) and isinstance(expression.op, ast.Not):
        return True
    if isinstance(expression, ast.Attribute):
        return expression.attr in ("shape", "ndim", "size", "dtype", "T", "real", "imag")
    function = statement.function
    if function is None:
        return False
    if statement.rule is not None or function in (len, int, float, range, abs, bool,
                                                  np.shape, np.ndim, np.size):
        return True
    if function in (np.zeros, np.ones, np.empty, np.eye, np.identity, np.arange,
                    np.zeros_like, np.ones_like, np.empty_like):
        return True  # a dtype keyword was read by _literal_dtype; an operand's kind rules
    module = getattr(function, "__module__", "") or ""
    return module.startswith(_TRUSTED_MODULES)


def _rule_kinds(statement: ir.Assign, known: Kinds, operands: str | None, count: int):
    dtype = _dtype_argument(statement)
    if dtype is not False:
        return [dtype] * count
    spec = RESULT_KINDS.get(statement.rule.name, "like")
    first = atom_kind(statement.operands[0], known) if statement.operands else REAL
    meaning = {"like": operands, "first": first, "either": None, "dtype": None,
               "complex_or_either": COMPLEX if operands == COMPLEX else None}
    if isinstance(spec, tuple):
        items = [meaning.get(s, s) for s in spec]
        return items if len(items) == count else [widest(*items)] * count
    return [meaning.get(spec, spec)] * count


def _dtype_argument(statement: ir.Assign):
    """The kind a ``dtype`` fixes (``x.astype(complex)``, ``np.full(n, v, dtype=d)``):
    ``REAL``, ``COMPLEX``, ``None`` for a dtype known only at run time, or ``False`` when
    the statement has no dtype argument."""
    node = statement.keywords.get("dtype")
    if node is None and statement.rule.name == "astype" and len(statement.operands) > 1:
        node = statement.operands[1]
    if node is None or isinstance(node, ast.Constant) and node.value is None:
        return False
    return _dtype_kind(node)


def _literal_dtype(expression: ast.expr) -> str | None:
    if not isinstance(expression, ast.Call):
        return None
    for keyword in expression.keywords:
        if keyword.arg == "dtype":
            return _dtype_kind(keyword.value) or None
    return None


def _dtype_kind(node: ast.expr) -> str | None:
    """``REAL`` or ``COMPLEX`` for a dtype written as a literal (``complex``,
    ``np.complex128``, ``"c16"``, ``float``), else ``None``."""
    value: Any = None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        value = node.value
    elif isinstance(node, ast.Name) and node.id in ("complex", "float", "int", "bool"):
        value = getattr(builtins, node.id)
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
            node.value.id in ("np", "numpy")):
        value = getattr(np, node.attr, None)
    if value is None:
        return None
    try:
        return COMPLEX if np.dtype(value).kind == "c" else REAL
    except TypeError:
        return None


def of_operands(operands: list, found: Analysis) -> tuple | None:
    """The kinds of a call's arguments, ``None`` when all are real."""
    items = tuple(OBJECT if isinstance(o, ast.Name) and o.id in found.objects
                  else atom_kind(o, found.kinds) for o in operands)
    return None if all(k == REAL for k in items) else items


EVERY_VALUE = "*"
"""In the names :func:`check_real` checks: every value, for a function with no complex
value at all."""


def check_real(pullback, real_names: frozenset, f) -> None:
    """Refuse a forward sweep whose values broke the kind analysis's assumption: a value
    the adjoint sweep reads (a closure cell of the pullback, or of a callee's pullback it
    holds, or an item of the tape) that the analysis took as real holds complex numbers."""
    every = EVERY_VALUE in real_names
    seen: set[int] = set()
    pending: list[tuple[str | None, Any]] = [(None, pullback)]
    while pending:
        name, value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if (every or name in real_names) and (
                isinstance(value, (complex, np.complexfloating))
                or isinstance(value, np.ndarray) and value.dtype.kind == "c"):
            what = f"{name}, which" if name and name != EVERY_VALUE else "a value that"
            raise ComplexNotSupportedError(
                f"{getattr(f, '__name__', 'the function')}: {what} reverse mode took as "
                "real (it comes from a call without a derivative rule, or from a ** b of "
                "Python numbers, complex for a negative a), holds complex numbers",
                hint="make the value complex where it is made (x + 0j, np.roots(p + 0j)), "
                'or use mode="forward", which follows complex values of calls without a '
                "rule",
            )
        if isinstance(value, (list, tuple)):
            pending.extend((name, item) for item in value)
        elif callable(value) and getattr(value, "__closure__", None):
            for cell_name, cell in zip(value.__code__.co_freevars, value.__closure__,
                                       strict=True):
                try:
                    pending.append((cell_name, cell.cell_contents))
                except ValueError:  # an empty cell
                    pass


def check_rules(statements: list, found: Analysis, relevant: set[str], source) -> None:
    """Refuse a derivative through a rule that holds for real values only, where an operand
    may be complex: ``np.sign`` or ``np.maximum`` (forward mode refuses them too), and
    ``np.nan_to_num`` or ``np.correlate``, whose adjoints are written for real values
    (:data:`~autodiffx.rules.complex_rules.REAL_ADJOINTS`)."""
    if found.all_real:
        return
    for statement in ir.walk(statements):
        rule = getattr(statement, "rule", None)
        if rule is None or not (rule.real_only or rule.name in REAL_ADJOINTS):
            continue
        names = [o.id for o in statement.operands if isinstance(o, ast.Name)]
        if not any(n in relevant for n in names):
            continue  # no derivative passes through this call
        # Any operand, differentiated or not: the adjoints read them all (a complex loc of
        # scipy.stats.norm.logsf, which SciPy casts to real, would send complex values
        # into the partial in x); forward mode refuses the same calls.
        complex_operands = [o.id if isinstance(o, ast.Name) else ast.unparse(o)
                            for o in statement.operands
                            if isinstance(o, ast.Name) and found.of(o.id) != REAL
                            or isinstance(o, ast.Constant) and isinstance(o.value, complex)]
        if complex_operands:
            name = (registry.describe(statement.function) if statement.function is not None
                    else f"np.{rule.name}")
            raise ComplexNotSupportedError(
                f"{name} of {complex_operands[0]}, which may be complex: its "
                "derivative rule holds for real values only",
                location=source.location(statement.node) if statement.node else None,
                hint="differentiate a real value (np.real(z), np.abs(z)) through it",
            )


def check_assumptions(statements: list, found: Analysis, source) -> None:
    """Refuse a value taken as real without proof inside a loop of a function that
    computes with complex values: each trip's value goes to the tape, where the call-time
    check (:func:`check_real`) cannot tell it from the complex ones."""
    if found.all_real or not found.assumed:
        return

    def visit(block, in_loop):
        for statement in block:
            looping = in_loop or isinstance(statement, (ir.For, ir.While))
            if in_loop and isinstance(statement, ir.Assign) and (
                    set(ir.bound(statement)) & found.assumed):
                name = next(n for n in ir.bound(statement) if n in found.assumed)
                raise ComplexNotSupportedError(
                    f"reverse mode cannot tell whether {name}, made in a loop by a call it "
                    "has no rule for, is real or complex, in a function that computes with "
                    "complex values",
                    location=source.location(statement.node) if statement.node else None,
                    hint='use mode="forward", or compute the value before the loop')
            for child in ir.children(statement):
                visit(child, looping)

    visit(statements, False)
