"""Functions defined from source text in a test, with their lines in linecache so that
reverse mode can read them as it reads a file."""

import itertools
import linecache
import operator

import numpy as np

_numbers = itertools.count()


def define(source: str, namespace: dict | None = None, name: str = "f"):
    """``name`` as ``source`` defines it, with ``np`` and ``operator`` in scope (and what
    ``namespace`` holds)."""
    filename = f"<defined-in-a-test-{next(_numbers)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {} if namespace is None else namespace
    namespace.setdefault("np", np)
    namespace.setdefault("operator", operator)
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]
