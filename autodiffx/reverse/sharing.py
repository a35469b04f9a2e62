"""Call-time refusal of arrays a function writes into that share memory with what it reads.

Reverse mode makes the arrays a function writes into its own first (``y_2 = np.copy(y)``):
the caller's arrays are never changed, and the adjoint reads the values each line saw. The
price is that a write into ``y`` no longer reaches any other way the function reads the same
memory: another argument (``f(w, w)``), a default, a global or closure array, or an array
reached from one at call time (``holder.w``, ``G['w']``, ``L[0]``, an item of a list
argument). NumPy's function sees the write there; the generated code would not. Such a call
is refused, naming the argument and what shares its memory (:func:`refusing_shared`).

What the generated code may read besides its arguments is found once, from the generated
module's own text (:func:`reads_of`): each name of its namespace the code loads, with the
attribute names and constant subscripts that follow it (``holder.w``, ``G['w']``). At each
call these are followed from the current values, and whatever a chain ends on (``L`` of
``L[i]``, an object passed whole to a function) is searched for arrays through containers
and instance attributes (:func:`~autodiffx.forward.reach.arrays_in`), within a budget; past the
budget the call is refused, since what it reads cannot be checked. None of this runs for a
function that writes into no argument.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import types
import weakref
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import ArgumentError
from ..forward.dual import Dual
from ..forward.reach import BUDGET, FIXED_PACKAGES, TooMuch, arrays_in, fixed, shares
from ..forward.sharing import guarded
from . import ir, mutation

_MISSING = object()


def reads_of(text: str, namespace: dict) -> tuple[tuple[str, str, tuple], ...]:
    """``(shown, key, steps)`` for each way the module ``text`` reads a value of its
    ``namespace`` that may hold arrays: the namespace name ``key``, then the attribute
    names (``("attribute", name)``) and constant subscripts (``("item", value)``) that
    follow it in the code, as far as they go; ``shown`` is the chain as written."""
    tree = ast.parse(text)
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: dict[tuple, str] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                and node.id in namespace and _may_hold_arrays(namespace[node.id])):
            continue
        steps: list[tuple] = []
        chain: ast.expr = node
        parent = parents.get(id(chain))
        while True:
            if isinstance(parent, ast.Attribute) and parent.value is chain:
                steps.append(("attribute", parent.attr))
            elif (isinstance(parent, ast.Subscript) and parent.value is chain
                  and isinstance(parent.slice, ast.Constant)):
                steps.append(("item", parent.slice.value))
            else:
                break
            chain = parent
            parent = parents.get(id(chain))
        found.setdefault((node.id, tuple(steps)), ast.unparse(chain))
    return tuple((shown, key, steps) for (key, steps), shown in found.items())


def _may_hold_arrays(value) -> bool:
    """Whether a namespace value is data the code may read arrays from: not NumPy, a
    helper, a generated function or a module of the standard library."""
    if isinstance(value, types.ModuleType):
        return value.__name__.split(".")[0] not in FIXED_PACKAGES
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, np.ufunc)):
        return False
    return not isinstance(value, (int, float, complex, str, bytes, bool, type(None)))


def refusing_shared(function: Callable, name: str, params: tuple, written: tuple,
                    defaults: dict, harmless: dict, namespace: dict, reads: tuple = ()
                    ) -> Callable:
    """``function``, refusing a call where an array the function writes into (as it runs:
    directly, through a view or a function it calls) cannot be written (read-only, or not
    an array: the function raises there) or shares memory with another argument, a default,
    or an array the code reads through its namespace (``reads``, see :func:`reads_of`):
    the generated code writes into a copy (the caller's arrays are never changed), so the
    write would not reach the other name as it does when the function runs. Arguments
    the function reads only before it writes (``harmless``, by written argument; see
    :func:`.aliasing.check`) may share it: no read there can see the write."""

    def refusing_shared(*args, **kwargs):
        values = dict(defaults)
        values.update(zip(params, args, strict=False))
        values.update((key, value) for key, value in kwargs.items() if key in params)
        for key, value in values.items():
            # forward over reverse (hessian, jacfwd(grad(f))): the arrays in the duals
            while isinstance(value, Dual):
                value = values[key] = value.primal
        targets = []
        for target in written:
            array = values.get(target)
            if isinstance(array, np.ndarray) and not array.flags.writeable and (
                    text := guarded(array)) is not None:
                # forward mode over this gradient passed it read-only (forward/driver.py)
                raise ArgumentError(text[0], hint=text[1])
            if isinstance(array, np.ndarray) and not array.flags.writeable or isinstance(
                    array, (tuple, str, bytes)):
                what = ("a read-only array" if isinstance(array, np.ndarray)
                        else type(array).__name__)
                raise ArgumentError(
                    f"{name} writes into its argument {target}, but the {target} given "
                    f"cannot be written ({what}): {name} itself raises there",
                    hint=f"pass a writable array for {target} (np.array(...) makes one)")
            if isinstance(array, np.ndarray):
                targets.append((target, array))
        if targets:
            _refuse_shared(name, targets, values, namespace, reads, harmless)
        return function(*args, **kwargs)

    refusing_shared.__wrapped__ = function
    return refusing_shared


def _refuse_shared(name: str, targets: list, values: dict, namespace: dict,
                   reads: tuple, harmless: dict) -> None:
    """Raise where an array in ``targets`` shares memory with another argument or what
    the code reads."""
    try:
        others = list(_others(values, namespace, reads))
    except TooMuch:
        raise ArgumentError(
            f"{name} writes into its argument {targets[0][0]}, and reads more than "
            f"{BUDGET} objects through {', '.join(sorted({k for _, k, _ in reads}))} and its "
            f"arguments: reverse mode cannot check that none of them shares memory with "
            f"{targets[0][0]}, which it writes into a copy of",
            hint=f"return the new value of {targets[0][0]} instead of writing into "
            "it") from None
    for target, array in targets:
        for other, value in others:
            if other == ("argument", target) or other[0] == "argument" and (
                    other[1] in harmless.get(target, ())):
                continue
            if shares(array, value):
                kind, shown = other
                what = f"its argument {shown}" if kind == "argument" else (
                    f"an array in its argument {shown}" if kind == "in argument" else
                    f"the value of {shown}")
                raise ArgumentError(
                    f"{name} writes into its argument {target}, which shares memory with "
                    f"{what}: reverse mode writes into a copy of {target}, so the write "
                    f"would not reach it as it does when {name} runs",
                    hint=f"pass {target} as a separate array (np.copy)")


def _others(values: dict, namespace: dict, reads: tuple) -> Iterator[tuple]:
    """``((kind, shown), array)`` for every array a call may read: its arguments (an
    argument itself, or an array inside a list, dict or object passed), and the arrays
    the code reaches through its namespace."""
    budget = [BUDGET]
    for key, value in values.items():
        if isinstance(value, np.ndarray):
            yield ("argument", key), value
        else:
            for array in arrays_in(value, budget):
                yield ("in argument", key), array
    for key, value in namespace.items():  # what the transformation read, used or not
        if type(value) is np.ndarray:
            yield ("read", key), value
    for shown, key, steps in reads:
        value = namespace.get(key, _MISSING)
        for kind, step in steps:
            if isinstance(value, np.ndarray):
                break  # a view of it shares its memory: the array is what counts
            value = _step(value, kind, step)
            if value is _MISSING:
                value = namespace.get(key, _MISSING)  # not there now: the whole value
                break
        for array in arrays_in(value, budget):
            yield ("read", shown), array


def _step(value, kind: str, step):
    """``value.step`` or ``value[step]`` as the code evaluates it, or ``_MISSING`` where
    that raises (the code raises there too, or binds it later: the value is searched)."""
    try:
        if kind == "item":
            return value[step]
        try:
            found = inspect.getattr_static(value, step)
        except AttributeError:
            found = _MISSING
        if found is not _MISSING and not hasattr(type(found), "__get__"):
            return found  # a plain value in a __dict__: no code runs
        return getattr(value, step)  # a property or a slot, as the code evaluates it
    except Exception:  # the code's own access raises too: the whole value is searched
        return _MISSING


# ------------------------------------------------------ user code the generated code runs

def runs_user_code(statements: list, transformed, known: dict) -> bool:
    """Whether the normalised ``statements`` (:mod:`.ir`) call code of the user's as it
    is, without transforming it: a function of the user's (``reset()``, which takes no
    differentiated value; a call that does is transformed or refused), or a callable not
    known when the code is made (a function passed as an argument, ``model.step()``).
    Such code may write into memory a differentiated argument shares (``G[0] = 10.0``
    where ``G`` is the argument), where the generated code would go on with the written
    values but no derivative for them: :func:`watching_memory` checks those calls. A call
    of a function in ``transformed`` runs code the transformation checked (its own calls
    of the user's code as it is are found when it is transformed); ``known`` holds the
    values of the global names the statements read."""
    for statement in ir.walk(statements):
        if isinstance(statement, ir.Effect):  # k(), model.reset(), print(x)
            if any(_runs_user_code(node, transformed, known) or _calls_back(
                    node, _static_callee(node, known), transformed, known)
                   for node in ast.walk(statement.statement) if isinstance(node, ast.Call)):
                return True
            continue
        call = getattr(statement, "expr", None)
        if not isinstance(call, ast.Call):
            continue
        function = statement.function
        if statement.kind == "call" and _among(function, transformed):
            continue
        if statement.kind == "call" or (
                function is not None and statement.rule is None and _users_code(function)):
            return True
        if function is None and statement.rule is None and not _a_method_of_data(call.func):
            return True  # not known: a function passed in, a method of an object
        if _calls_back(call, function, transformed, known):
            return True
    return False


def _calls_back(call: ast.Call, function, transformed, known: dict) -> bool:
    """Whether a call hands the user's code to a function that calls it: a function of
    the user's among its arguments (``np.apply_along_axis(step, 0, a)``), or any name not
    known to be data given to a function that calls what it is given (``map(fn, xs)``)."""
    for argument in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(argument, ast.Starred):
            argument = argument.value
        if not isinstance(argument, ast.Name):
            continue
        if argument.id in known:
            value = known[argument.id]
            if callable(value) and not _among(value, transformed) and _users_code(value):
                return True
        elif _is_caller(function):
            return True  # a local name, maybe a function passed in
    return False


def _among(value, functions) -> bool:
    """Whether ``value`` is one of ``functions`` (by identity: values may be arrays)."""
    return any(value is function for function in functions)


def _is_caller(function) -> bool:
    try:
        return function in _CALLERS
    except TypeError:  # unhashable
        return False


_CALLERS = frozenset({np.apply_along_axis, np.apply_over_axes, np.vectorize,
                      np.frompyfunc, np.piecewise, np.fromfunction, map, filter, sorted,
                      min, max, functools.reduce, functools.partial})
"""Functions that call a function they are given."""


def _runs_user_code(call: ast.Call, transformed, known: dict) -> bool:
    """Whether a call in a statement run for its effect may run the user's code."""
    callee = call.func
    if _a_method_of_data(callee):
        return False
    root = callee
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return True
    if root.id in known:  # f(...), np.copyto(...), module.function(...)
        value = _static_callee(call, known)
        return value is None or (not _among(value, transformed) and _users_code(value))
    return not (callee is root and hasattr(builtins, root.id))  # print(x): not the user's


def _static_callee(call: ast.Call, known: dict):
    """The function a call names through ``known`` globals (``np.apply_along_axis``),
    or ``None``."""
    value = mutation.chain_value(call.func, lambda name: known.get(name, mutation.MISSING))
    return None if value is mutation.MISSING else value


def _a_method_of_data(callee: ast.expr) -> bool:
    """``x.sum()``, ``rows.append(v)``, ``d.get(k)``: a method NumPy arrays, lists or dicts
    have (it runs none of the user's code on them)."""
    return isinstance(callee, ast.Attribute) and any(
        hasattr(kind, callee.attr) for kind in (np.ndarray, list, dict))


def _users_code(value) -> bool:
    """Whether calling ``value`` may run the user's code: not NumPy's, a helper's or the
    standard library's."""
    if isinstance(value, (types.BuiltinFunctionType, np.ufunc, type)):
        return False
    module = getattr(value, "__module__", None)
    if isinstance(value, (types.FunctionType, types.MethodType)) or isinstance(module, str):
        return not fixed(module)
    return _may_hold_arrays(value) and not isinstance(value, (int, float, complex))


def watching_memory(function: Callable, user_function: Callable, params: tuple,
                    wrt: tuple) -> Callable:
    """``function`` (a vjp or a gradient of ``user_function``, whose code calls the user's
    code as it is: :func:`runs_user_code`), refusing a call in which the memory of an
    argument changed (an array argument, or one in a list, tuple or dict argument). Only a
    write through another name can change it (the generated code writes into copies), such
    as a function it calls writing into a global that is the argument: the lines after the
    call would read other values than the code assumed (a value computed once and used
    twice, or kept for the gradient), and for a differentiated argument the derivative
    would miss the write. The memory is copied before the call only where it may have
    another name: another argument, or what the user's function and the functions it calls
    and is given read by name (:func:`autodiffx.forward.sharing.reachable`)."""
    reference = weakref.ref(user_function)

    def watching_memory(*args, **kwargs):
        user = reference()
        name = getattr(user, "__name__", "the function")
        taken = _taken(user, name, params, args, kwargs) if user is not None else ()
        result = function(*args, **kwargs)
        for copy, array, key in taken:
            if copy.tobytes() != array.tobytes():
                label = params[key] if isinstance(key, int) and key < len(params) else key
                which = ", which is being differentiated," if key in wrt else ""
                raise ArgumentError(
                    f"the memory of argument {label}{which} changed while {name} ran: code "
                    "it calls as it is (not differentiated) wrote into it through another "
                    "name (a global, a closure's array, another argument), so the values "
                    "its lines read are not the ones reverse mode's code assumed, and a "
                    "derivative would miss the write",
                    hint=f"pass a separate array for {label} (np.copy), or keep the code it "
                    "calls from writing into it")
        return result

    watching_memory.__wrapped__ = function
    return watching_memory


def _taken(user: Callable, name: str, params: tuple, args: tuple, kwargs: dict) -> list:
    """``(copy, array, key)`` for each array argument (or array in a list, tuple or dict
    argument, keyed as that argument) whose memory may have another name at this call."""
    from ..forward.sharing import reachable

    arrays = []
    budget = [BUDGET]
    try:
        for key, value in [*enumerate(args), *kwargs.items()]:
            while isinstance(value, Dual):
                value = value.primal
            if isinstance(value, np.ndarray):
                arrays.append((key, value))
            elif isinstance(value, (list, tuple, dict)):
                arrays += [(key, array) for array in arrays_in(value, budget)]
    except TooMuch:
        raise ArgumentError(
            f"{name} calls code of the user's as it is, and its arguments hold more than "
            f"{BUDGET} objects: reverse mode cannot check that this code writes into none of "
            "their arrays", hint="pass fewer, larger arrays") from None
    if not arrays:
        return []
    others = reachable(user, args, kwargs)
    taken = []
    for position, (key, array) in enumerate(arrays):
        shared = any(other is not array and shares(array, other)
                     for index, (_, other) in enumerate(arrays) if index != position)
        if shared or others.shares(array):
            taken.append((np.array(array, copy=True, order="K"), array, key))
    return taken
