"""Results bound whole and read by index: ``out = pair(x)`` then ``out[0]`` and ``out[1]``.

Reverse mode follows a tuple of differentiated values when it is unpacked
(``a, b = pair(x)``, ``w, V = np.linalg.eigh(A)``), not as a value of its own. So a name
bound once, at the top level of the function, to a call with a known number n of results
(a function of yours whose every ``return`` is a tuple display of length n, or a NumPy
function with several results, ``np.linalg.eigh``), and read nowhere but as ``name[k]``
with a constant ``0 <= k < n``, is rewritten before normalisation into the unpacking it
stands for:
``out_0, out_1 = pair(x)``, with ``out[k]`` read as ``out_k``.
"""

from __future__ import annotations

import ast
import copy

from ...errors import AutodiffError
from ...rules import registry
from .. import ir
from ..source import is_missing, parse_function


def unpack_indexed_results(body: list, normalizer) -> list:
    """``body`` with each such name unpacked (see the module's docstring)."""
    stores: dict[str, int] = {}
    loads: dict[str, list[ast.Name]] = {}
    indexed: dict[str, list[ast.Subscript]] = {}
    for statement in body:
        for node in ir.nodes(statement):
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Store):
                    stores[node.id] = stores.get(node.id, 0) + 1
                else:
                    loads.setdefault(node.id, []).append(node)
            elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and (
                    isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Constant)
                    and type(node.slice.value) is int and node.slice.value >= 0):
                indexed.setdefault(node.value.id, []).append(node)
    for arg in normalizer.source.node.args.args:
        stores[arg.arg] = stores.get(arg.arg, 0) + 1
    taken = set(stores) | set(loads)
    rewrites: dict[str, tuple[int, list[str]]] = {}
    for position, statement in enumerate(body):
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and isinstance(statement.value, ast.Call)):
            continue
        name = statement.targets[0].id
        reads = indexed.get(name, [])
        if stores.get(name) != 1 or not reads or len(reads) != len(loads.get(name, [])):
            continue
        count = _returned_length(statement.value, normalizer)
        if count is None or max(r.slice.value for r in reads) >= count:
            continue
        names = []
        for k in range(count):
            fresh, n = f"{name}_{k}", 2
            while fresh in taken:
                fresh, n = f"{name}_{k}_{n}", n + 1
            taken.add(fresh)
            names.append(fresh)
        rewrites[name] = (position, names)
    if not rewrites:
        return body
    for _, names in rewrites.values():
        normalizer.locals.update(names)
    body = [copy.deepcopy(s) for s in body]
    for position, names in rewrites.values():
        statement = body[position]
        statement.targets = [ast.copy_location(ast.Tuple(
            elts=[ast.Name(id=n, ctx=ast.Store()) for n in names], ctx=ast.Store()),
            statement.targets[0])]
    replaced = _Reads({name: names for name, (_, names) in rewrites.items()})
    return [replaced.visit(s) for s in body]


class _Reads(ast.NodeTransformer):
    def __init__(self, names: dict[str, list[str]]):
        self.names = names

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id in self.names and isinstance(
                node.slice, ast.Constant):
            return ast.copy_location(ast.Name(id=self.names[node.value.id][node.slice.value],
                                              ctx=ast.Load()), node)
        self.generic_visit(node)
        return node


def _returned_length(call: ast.Call, normalizer) -> int | None:
    """How many results the call returns: for a NumPy function with several results, its
    rule's count (``np.linalg.eigh`` 2, ``np.linalg.svd`` 3) when no keyword changes it;
    for a function of yours, the length of every ``return`` (a tuple display, or
    ``tuple((...))``); else ``None``."""
    callee = normalizer._static(call.func)
    if is_missing(callee) or not callable(callee):
        return None
    rule = registry.lookup(callee)
    if rule is not None:
        return rule.outputs if type(rule.outputs) is int and not call.keywords else None
    try:
        source = parse_function(callee)
    except (AutodiffError, OSError, TypeError):  # no source: refused later, with its reason
        return None
    lengths = set()
    for node in ir.nodes(source.node):
        if isinstance(node, (ast.FunctionDef, ast.Lambda)) and node is not source.node:
            return None  # a nested function's returns would be mixed in
        if isinstance(node, ast.Return):
            value = node.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and (
                    value.func.id in ("tuple", "list") and len(value.args) == 1):
                value = value.args[0]
            if not isinstance(value, ast.Tuple) or any(
                    isinstance(e, ast.Starred) for e in value.elts):
                return None
            lengths.add(len(value.elts))
    return lengths.pop() if len(lengths) == 1 else None
