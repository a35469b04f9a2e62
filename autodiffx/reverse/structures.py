"""Structured parameters in reverse mode: a function whose parameter is a dict, list or tuple
of arrays (``params["W"]``), rewritten into one whose parameters are the leaves.

:func:`flat_function` rewrites constant-key reads of a structured parameter
(``params["W"]``, ``params[0]``, ``W, b = params``) into leaf parameters of a new function,
whose source is registered with :mod:`linecache`, so the generated gradient code says
``dW`` for ``params["W"]``. Flattening the values themselves is :mod:`autodiffx.tree`'s.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import keyword
import linecache
import threading
import types
import weakref
from typing import Any

from ..errors import ArgumentError, UnsupportedSyntaxError
from ..tree import Spec
from .source import parse_function

_flat_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""f -> {specs -> f's leaf version}: dropped with f."""
_lock = threading.Lock()
_counter = itertools.count(1)


def flat_function(f, specs: dict[int, Spec]):
    """``f`` rewritten so that each structured parameter ``i`` in ``specs`` becomes one
    parameter per leaf, in place (the leaves of parameter ``i`` in flattening order)."""
    key = tuple(sorted(specs.items()))
    with _lock:
        known = _flat_cache.get(f, {})
        if key in known:
            return known[key]
    flat = _rewrite(f, specs)
    with _lock:
        _flat_cache.setdefault(f, {})[key] = flat
    return flat


def _rewrite(f, specs):
    source = parse_function(f)
    node = source.node
    params = [a.arg for a in node.args.args]
    if node.args.posonlyargs or node.args.vararg or node.args.kwonlyargs or node.args.kwarg:
        raise UnsupportedSyntaxError(
            "reverse mode differentiates structured arguments only of functions with plain "
            "positional parameters",
            location=source.location(node),
            hint='use mode="forward"',
        )
    taken = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | set(params)
    leaf_names: dict[str, dict[tuple, str]] = {}
    new_params: list[str] = []
    for position, name in enumerate(params):
        spec = specs.get(position)
        if spec is None:
            new_params.append(name)
            continue
        names = {}
        for path in spec.paths():
            candidate = _leaf_name(name, path, taken)
            taken.add(candidate)
            names[path] = candidate
        leaf_names[name] = names
        new_params.extend(names.values())
    extras: dict[str, Any] = {}  # the leaf versions of called helpers, g_leaves
    rewriter = _Rewriter(leaf_names, {params[i]: specs[i] for i in specs}, source,
                         {**source.namespace, **extras}, taken, extras)
    body = [rewriter.visit(statement) for statement in node.body]
    definition = ast.FunctionDef(
        name=node.name,
        args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in new_params],
                           vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                           defaults=[]),
        body=body, decorator_list=[], returns=None, type_comment=None,
    )
    # The rewritten function is defined inside a factory whose locals are f's free names and
    # the extras, so that they stay free names of the rewritten code: it is then given f's
    # own globals and closure cells, and reads them at call time as f does (a global or a
    # cell rebound between calls is seen, and guarded, as for any function).
    free = [*f.__code__.co_freevars, *extras]
    factory = ast.FunctionDef(
        name="_structured", args=ast.arguments(posonlyargs=[], args=[], vararg=None,
                                               kwonlyargs=[], kw_defaults=[], kwarg=None,
                                               defaults=[]),
        body=[*(ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())],
                           value=ast.Constant(None)) for n in free),
              definition, ast.Return(value=ast.Name(id=node.name, ctx=ast.Load()))],
        decorator_list=[], returns=None, type_comment=None)
    module = ast.fix_missing_locations(ast.Module(body=[factory], type_ignores=[]))
    text = ast.unparse(module) + "\n"
    filename = f"<autodiffx-structured-{next(_counter)} {node.name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    weakref.finalize(f, linecache.cache.pop, filename, None)
    code = compile(text, filename, "exec")  # printed from the parsed user code
    factory_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in factory_code.co_consts if isinstance(c, types.CodeType))
    cells = dict(zip(f.__code__.co_freevars, f.__closure__ or (), strict=True))
    closure = tuple(cells[n] if n in cells else types.CellType(extras[n])
                    for n in inner.co_freevars)
    flat = types.FunctionType(inner, f.__globals__, node.name, None, closure or None)
    flat.__qualname__ = getattr(f, "__qualname__", node.name)
    return flat


def _leaf_name(param: str, path: tuple, taken: set) -> str:
    """``params["W"]`` -> ``W`` when free, else ``params_W``; ``params[0]`` -> ``params_0``."""
    last = path[-1] if path else None
    if isinstance(last, str) and last.isidentifier() and not keyword.iskeyword(last):
        if last not in taken:
            return last
    parts = [param, *(str(p) for p in path)]
    candidate = "_".join("".join(c if c.isalnum() or c == "_" else "_" for c in p)
                         for p in parts)
    base, n = candidate, 2
    while candidate in taken or keyword.iskeyword(candidate):
        candidate = f"{base}_{n}"
        n += 1
    return candidate


def _leaf_nodes(node):
    if isinstance(node, ast.Dict):
        return [leaf for value in node.values for leaf in _leaf_nodes(value)]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [leaf for value in node.elts for leaf in _leaf_nodes(value)]
    return [node]


class _Rewriter(ast.NodeTransformer):
    """Constant-key reads of structured parameters become leaf names."""

    def __init__(self, leaf_names, specs, source, namespace, taken, extras):
        self.leaf_names = leaf_names
        self.specs = specs
        self.source = source
        self.namespace = namespace
        self.taken = taken
        self.extras = extras

    def visit_Call(self, node):
        """``g(params, x)`` with ``g`` a user function: call ``g``'s leaf version instead,
        ``g_leaves(W, b, u, x)``, so that no dict of differentiated values is built."""
        callee = self.source.resolve(node.func.id) if isinstance(node.func, ast.Name) else None
        specs, arguments = {}, []
        if inspect.isfunction(callee) and not node.keywords:
            for position, argument in enumerate(node.args):
                found = self._whole(argument)
                if found is None:
                    arguments.append(self.visit(argument))
                    continue
                spec = self._spec_at(*found)
                specs[position] = spec
                leaves = self._expression(*found, argument)
                arguments.extend(_leaf_nodes(leaves))
        if not specs:
            return self.generic_visit(node)
        flat = flat_function(callee, specs)
        name = f"{node.func.id}_leaves"
        while name in self.taken and self.namespace.get(name) is not flat:
            name += "_"
        self.taken.add(name)
        self.namespace[name] = self.extras[name] = flat
        return ast.copy_location(
            ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=arguments, keywords=[]),
            node)

    def _whole(self, node):
        """(param, path) when ``node`` names a whole sub-structure (not a leaf)."""
        if isinstance(node, ast.Name) and node.id in self.leaf_names:
            found = node.id, ()
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            found = self._resolve(node)
        else:
            return None
        if found is None:
            return None
        spec = self._spec_at(*found)
        return found if spec is not None and spec.kind != "leaf" else None

    def _resolve(self, node):
        """(param, path) if ``node`` is ``param[k1][k2]...`` with constant keys, else None."""
        path = []
        while isinstance(node, ast.Subscript):
            if not isinstance(node.slice, ast.Constant):
                return None
            path.append(node.slice.value)
            node = node.value
        if not (isinstance(node, ast.Name) and node.id in self.leaf_names):
            return None
        path.reverse()
        spec = self.specs[node.id]
        for key in path:
            if spec.kind == "leaf":
                return None  # params["b"][0]: the rest indexes the array leaf params["b"]
            if key not in spec.keys:
                break  # refused by _expression, naming the read
            spec = spec.children[spec.keys.index(key)]
        return node.id, tuple(path)

    def _spec_at(self, param, path):
        spec = self.specs[param]
        for key in path:
            if spec.kind == "leaf" or key not in spec.keys:
                return None
            spec = spec.children[spec.keys.index(key)]
        return spec

    def _expression(self, param, path, node):
        """The leaf name, or a literal rebuilding the sub-structure at ``path``."""
        spec = self._spec_at(param, path)
        if spec is None:
            raise ArgumentError(
                f"{param}{''.join(f'[{k!r}]' for k in path)} is not in the structure "
                "passed for this argument",
                hint="the keys and lengths of a structured argument must match its reads",
            )
        if spec.kind == "leaf":
            return ast.copy_location(ast.Name(id=self.leaf_names[param][path], ctx=ast.Load()),
                                     node)
        children = [self._expression(param, (*path, key), node) for key in spec.keys]
        if spec.kind == "dict":
            built = ast.Dict(keys=[ast.Constant(k) for k in spec.keys], values=children)
        elif spec.kind == "list":
            built = ast.List(elts=children, ctx=ast.Load())
        else:
            built = ast.Tuple(elts=children, ctx=ast.Load())
        return ast.copy_location(built, node)

    def visit_Subscript(self, node):
        found = self._resolve(node)
        if found is not None and isinstance(node.ctx, ast.Load):
            return self._expression(*found, node)
        return self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in self.leaf_names and isinstance(node.ctx, ast.Load):
            # params used whole (W, b = params, or passed on): rebuilt as a literal
            return self._expression(node.id, (), node)
        if node.id in self.leaf_names:
            raise UnsupportedSyntaxError(
                f"reverse mode cannot differentiate with respect to {node.id!r}, which is "
                "assigned to inside the function",
                location=self.source.location(node),
                hint='use mode="forward"',
            )
        return node
