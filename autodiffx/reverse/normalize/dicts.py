"""Local dicts with constant keys: ``cache = {}``, ``cache["h"] = h``, ``cache["h"]``.

Code written for the lecture's style of backprop keeps intermediate values in a dict
(``cache["z"] = z``), and a small model may keep its layers in one (``p = {"W": W}``).
Reverse mode differentiates names, not the entries of a dict, so a dict that is only ever
read and written through constant keys is read as one local name per key: ``cache["h"]``
becomes ``cache_h``. The generated code then says ``dcache_h``, and every derivative flows
as it would through a name.

That reading is exact only when nothing can tell the dict from its entries, so a name is
taken apart only when:

* it is bound once, at the top level of the function, to a dict display with constant keys
  (``{"a": x}``, ``{}``) or to ``dict(a=x)``;
* every other use of it is a subscript with a constant key (a ``str`` or an ``int``), read,
  assigned or updated (``cache["h"] += ...``), and every key read is in the display or
  assigned somewhere;
* no nested ``def`` or ``class`` sees it (a lambda or a comprehension may read it), and it
  is not a parameter.

A dict that falls outside these (a key computed at run time, ``len(cache)``, ``cache`` passed
to a function or returned) stays a dict; reverse mode refuses it, with the reason, when a
derivative has to pass through it (:func:`autodiffx.reverse.activity.check_dicts`).

Examples:
    >>> import numpy as np
    >>> from autodiffx import grad
    >>> def layer(W, x):
    ...     cache = {}
    ...     cache["h"] = np.tanh(W @ x)
    ...     return np.sum(cache["h"] ** 2)
    >>> W, x = np.array([[0.5, -1.0]]), np.array([1.0, 2.0])
    >>> h = np.tanh(W @ x)
    >>> bool(np.allclose(grad(layer)(W, x), np.outer(2 * h * (1 - h ** 2), x)))
    True
"""

from __future__ import annotations

import ast
import builtins
import copy
import dataclasses
import keyword

from .. import ir
from ..source import FunctionSource

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
"""Nested scopes that may not see a dict read as names: a nested ``def`` could assign an
entry, which would bind a name of its own. A lambda or a comprehension can only read one,
and reads an entry when it runs, as it would read the name."""


def scalarise(source: FunctionSource) -> tuple[FunctionSource, set[str]]:
    """``source`` with its local dicts of constant keys read as one name per key (on a copy
    of its tree; ``source`` itself when there are none), and the local names that stay
    bound to a dict (the ones reverse mode refuses to pass a derivative through)."""
    node = source.node
    bound = _dict_bindings(node, source)
    if not bound:
        return source, set()
    taken = {n.id for n in ir.nodes(node) if isinstance(n, ast.Name)} | {
        a.arg for a in ir.nodes(node.args) if isinstance(a, ast.arg)}
    split: dict[str, dict[object, str]] = {}
    for name, bindings in bound.items():
        keys = _constant_keys(node, name, bindings)
        if keys is not None:
            split[name] = {key: _entry_name(name, key, taken) for key in keys}
    if not split:
        return source, set(bound)
    node = copy.deepcopy(node)
    node.body = _Scalarised(split).body(node.body)
    return dataclasses.replace(source, node=node), set(bound) - set(split)


def _dict_bindings(node: ast.FunctionDef, source: FunctionSource) -> dict[str, list]:
    """Each local name bound (anywhere) to a dict display, a dict comprehension or a call
    of the builtin ``dict``, with the assignments that bind it so."""
    found: dict[str, list] = {}
    for statement in ir.nodes(node):
        target = _target(statement)
        if target is not None and _makes_dict(statement.value, source):
            found.setdefault(target.id, []).append(statement)
    return found


def _target(statement: ast.AST) -> ast.Name | None:
    """The one name ``statement`` assigns a value to (``p = ...``, ``p: dict = ...``)."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(
            statement.targets[0], ast.Name):
        return statement.targets[0]
    if isinstance(statement, ast.AnnAssign) and statement.value is not None and isinstance(
            statement.target, ast.Name):
        return statement.target
    return None


def _makes_dict(value: ast.expr, source: FunctionSource) -> bool:
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return True
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id == "dict" and source.resolve("dict") is builtins.dict)


def _constant_keys(node: ast.FunctionDef, name: str, bindings: list) -> list | None:
    """The keys of the dict bound to ``name``, in order of first appearance, when it can be
    read as one name per key (see the module's docstring); else None."""
    params = {a.arg for a in ir.nodes(node.args) if isinstance(a, ast.arg)}
    if name in params or len(bindings) != 1 or bindings[0] not in node.body:
        return None
    binding = bindings[0]
    keys = _display_keys(binding.value)
    if keys is None:
        return None
    stored: set = set()
    read: set = set()
    uses = _uses(node, name)
    if uses is None:
        return None
    for use, context in uses:
        if use is _target(binding):
            continue
        if context is None:  # the name itself, not a subscript of it
            return None
        key = _key(use.slice)
        if key is _NOT_A_KEY or isinstance(context, ast.Del):
            return None
        (read if isinstance(context, ast.Load) else stored).add((type(key), key))
        if key not in keys:
            keys.append(key)
    given = {(type(k), k) for k in _display_keys(binding.value)}
    if not read <= given | stored:
        return None  # a key read that nothing puts there: Python raises KeyError
    return keys


def _uses(node: ast.FunctionDef, name: str) -> list | None:
    """Every occurrence of ``name`` in the function, as ``(node, context)``: for a
    subscript ``name[key]`` the subscript and its context (an augmented assignment's
    target is a store), for the bare name the name and None. None when a nested scope
    sees the name or a ``global``/``nonlocal`` statement names it."""
    found = []
    parents: dict[int, ast.AST] = {}
    for parent in ast.walk(node):
        for child in ast.iter_child_nodes(parent):
            parents[id(child)] = parent
            if isinstance(child, (ast.Global, ast.Nonlocal)) and name in child.names:
                return None
    for sub in ast.walk(node):
        if not (isinstance(sub, ast.Name) and sub.id == name):
            continue
        scope = parents.get(id(sub))
        while scope is not None and scope is not node:
            if isinstance(scope, _SCOPES):
                return None
            scope = parents.get(id(scope))
        parent = parents.get(id(sub))
        if isinstance(parent, ast.Subscript) and parent.value is sub:
            found.append((parent, parent.ctx))
        else:
            found.append((sub, None))
    return found


_NOT_A_KEY = object()


def _key(node: ast.expr):
    """The constant a key is (a str or an int, never a bool, which equals an int), or
    ``_NOT_A_KEY``."""
    if isinstance(node, ast.Constant) and type(node.value) in (str, int):
        return node.value
    return _NOT_A_KEY


def _display_keys(value: ast.expr) -> list | None:
    """The constant keys of a dict display or of ``dict(a=...)``, in order, or None."""
    if isinstance(value, ast.Dict):
        keys = []
        for key in value.keys:
            constant = _key(key) if key is not None else _NOT_A_KEY  # None: **other
            if constant is _NOT_A_KEY:
                return None
            if constant not in keys:
                keys.append(constant)
        return keys
    if isinstance(value, ast.Call) and not value.args and all(
            k.arg is not None for k in value.keywords):
        return list(dict.fromkeys(k.arg for k in value.keywords))
    return None


def _entry_name(name: str, key, taken: set) -> str:
    """``cache["h"]`` -> ``cache_h``, ``p[0]`` -> ``p_0`` (numbered when taken)."""
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in str(key))
    base = f"{name}_{text}"
    candidate, n = base, 2
    while candidate in taken or keyword.iskeyword(candidate) or not candidate.isidentifier():
        candidate = f"{base}_{n}"
        n += 1
    taken.add(candidate)
    return candidate


class _Scalarised(ast.NodeTransformer):
    """The rewrite: the binding becomes one assignment per entry, in the display's order
    (Python evaluates the values in that order too), and ``name[key]`` the entry's name."""

    def __init__(self, split: dict[str, dict[object, str]]):
        self.split = split

    def body(self, statements: list) -> list:
        out = []
        for statement in statements:
            target = _target(statement)
            if target is not None and target.id in self.split:
                out += self._entries(statement, target.id)
            else:
                out.append(self.visit(statement))
        return out

    def _entries(self, statement: ast.Assign | ast.AnnAssign, name: str) -> list:
        names = self.split[name]
        value = statement.value
        if isinstance(value, ast.Dict):
            pairs = [(_key(k), v) for k, v in zip(value.keys, value.values, strict=True)]
        else:
            pairs = [(k.arg, k.value) for k in value.keywords]
        return [ast.copy_location(ast.Assign(
            targets=[ast.Name(id=names[key], ctx=ast.Store())], value=self.visit(entry)),
            statement) for key, entry in pairs]

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id in self.split:
            entry = self.split[node.value.id][_key(node.slice)]
            return ast.copy_location(ast.Name(id=entry, ctx=node.ctx), node)
        return self.generic_visit(node)

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field_name, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                setattr(node, field_name, self.body(value))
            elif isinstance(value, list):
                setattr(node, field_name, [self.visit(v) if isinstance(v, ast.AST) else v
                                           for v in value])
            elif isinstance(value, ast.AST):
                setattr(node, field_name, self.visit(value))
        return node
