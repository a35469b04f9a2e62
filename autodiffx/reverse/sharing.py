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
import inspect
import types
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import ArgumentError
from ..forward.dual import Dual
from ..forward.reach import BUDGET, FIXED_PACKAGES, TooMuch, arrays_in, shares
from ..forward.sharing import guarded

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
