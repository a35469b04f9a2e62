"""Structured parameters ("pytrees"): dicts, lists and tuples of arrays, nested.

``grad`` differentiates with respect to a structured argument by flattening it into its
leaves, differentiating with respect to each leaf, and rebuilding the gradients into the
same structure.

* forward mode calls ``f`` with the structure rebuilt around Duals (:func:`unflatten`);
* reverse mode generates code specialised to the structure:
  :func:`autodiffx.reverse.structures.flat_function` rewrites constant-key reads of the
  structured parameter (``params["W"]``, ``params[0]``, ``W, b = params``) into leaf
  parameters of a new function, so the generated gradient code says ``dW`` for
  ``params["W"]``.

A list or tuple whose leaves are all plain Python numbers is *not* a structure: it is
refused as before (``np.asarray`` makes it an array), since that is almost always what was
meant.

>>> import numpy as np
>>> leaves, spec = flatten({"W": 1.0, "b": [np.zeros(2), 3.0], "c": [2.0, 3.0]})
>>> leaves
[1.0, array([0., 0.]), 3.0, [2.0, 3.0]]
>>> unflatten(spec, [4.0, np.ones(2), 5.0, [6.0, 7.0]])
{'W': 4.0, 'b': [array([1., 1.]), 5.0], 'c': [6.0, 7.0]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# --------------------------------------------------------------------------- structures


@dataclass(frozen=True)
class Spec:
    """The shape of a structure: ``kind`` is "leaf", "dict", "list" or "tuple"."""

    kind: str
    keys: tuple = ()
    children: tuple[Spec, ...] = ()

    def paths(self, prefix=()):
        """The key path of every leaf, in flattening order."""
        if self.kind == "leaf":
            return [prefix]
        return [p for key, child in zip(self.keys, self.children, strict=True)
                for p in child.paths((*prefix, key))]


LEAF = Spec("leaf")


def is_structure(value: Any) -> bool:
    """Whether ``value`` is a dict, or a list/tuple holding at least one non-number."""
    if isinstance(value, dict):
        return True
    if isinstance(value, (list, tuple)):
        return any(is_structure(v) or not _is_number(v) for v in value)
    return False


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.generic)) and not isinstance(value, bool)


def flatten(value: Any) -> tuple[list, Spec]:
    """The leaves of ``value`` (dict values in insertion order) and its :class:`Spec`."""
    if isinstance(value, dict):
        keys = tuple(value)
        parts = [flatten(value[k]) for k in keys]
        return [leaf for p in parts for leaf in p[0]], Spec("dict", keys,
                                                             tuple(p[1] for p in parts))
    if isinstance(value, (list, tuple)) and is_structure(value):
        parts = [flatten(v) for v in value]
        kind = "list" if isinstance(value, list) else "tuple"
        return [leaf for p in parts for leaf in p[0]], Spec(kind, tuple(range(len(value))),
                                                             tuple(p[1] for p in parts))
    return [value], LEAF


def unflatten(spec: Spec, leaves) -> Any:
    """Rebuild a structure of shape ``spec`` from its leaves."""
    iterator = iter(leaves)
    return _build(spec, iterator)


def _build(spec: Spec, leaves):
    if spec.kind == "leaf":
        return next(leaves)
    children = [_build(child, leaves) for child in spec.children]
    if spec.kind == "dict":
        return dict(zip(spec.keys, children, strict=True))
    return children if spec.kind == "list" else tuple(children)


def map_leaves(function, value):
    leaves, spec = flatten(value)
    return unflatten(spec, [function(leaf) for leaf in leaves])
