'''Exporting a reverse-mode gradient as a stand-alone Python module.

The module :func:`export_source` writes needs NumPy and the standard library only. It holds

* the generated vjp function(s), as :func:`autodiffx.source` prints them;
* a copy of each helper from :mod:`autodiffx.rules.helpers` the generated code calls, with
  what those helpers call in turn; where a helper raises an autodiffx error, the copy
  raises the built-in exception that error derives from (``ValueError``, ...);
* the user's globals the code reads: numbers, strings and tuples of them are written out
  with ``repr``, NumPy functions and standard-library modules are imported, plain
  functions from the user's file are copied. An array or any other object is refused:
  pass it as an argument instead, so the exported code does not hide a snapshot of it;
* ``<name>_grad(*args)`` and ``<name>_value_and_grad(*args)``, which return what
  ``autodiffx.grad(f, wrt)`` and ``autodiffx.value_and_grad(f, wrt)`` would.

>>> import numpy as np
>>> def cube(x):
...     return np.sum(x ** 3)
>>> text = export_source(cube, args=(np.ones(2),))  # doctest: +SKIP
>>> namespace = {}
>>> exec(text, namespace)  # doctest: +SKIP
>>> namespace["cube_grad"](np.array([1.0, 2.0]))  # doctest: +SKIP
array([ 3., 12.])

(The example is skipped as a doctest because reverse mode needs ``cube``'s source in a file.)
'''

from __future__ import annotations

import ast
import builtins
import inspect
import sys
import textwrap
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import errors
from .errors import ArgumentError, AutodiffError
from .rules import helpers as helpers_module

# The functions a user's global may be imported from, besides NumPy itself.
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))


def export_source(f: Callable, wrt: Any = 0, args: Sequence | None = None,
                  name: str | None = None) -> str:
    """The text of a stand-alone module holding the reverse-mode gradient of ``f``.

    With example ``args`` the code is specialised to their ranks (as
    ``autodiffx.source(grad(f, wrt), *args)``); without, it is rank-generic. The entry
    points are ``<name>_grad`` and ``<name>_value_and_grad``, ``name`` defaulting to
    ``f.__name__``.
    """
    from .api import _ranks, _resolve_wrt
    from .reverse import build

    indices, many = _resolve_wrt(f, wrt, len(args) if args is not None else None)
    if args is not None:
        ranks = _ranks(args)
    else:
        count = f.__code__.co_argcount if hasattr(f, "__code__") else max(indices) + 1
        ranks = (-1,) * count
    generated = build(f, indices, ranks)
    name = name or getattr(f, "__name__", "f").replace("<lambda>", "lambda_")
    vjp_name = _entry_name(generated)
    body, helper_names = _without_autodiffx_imports(generated.source)
    defined = _module_level_names(body)
    writer = _Writer(taken=defined)
    for helper in sorted(helper_names):
        writer.helper(helper)
    namespace = inspect.unwrap(generated.function).__globals__
    for global_name in sorted(_free_names(body) - defined - writer.names - {"np"}):
        if global_name in namespace:
            writer.user_global(global_name, namespace[global_name], f)
    filename = getattr(getattr(f, "__code__", None), "co_filename", "?")
    wrt_text = ", ".join(map(str, indices))
    header = _HEADER.format(
        name=name,
        where=Path(filename).name,
        wrt=wrt_text,
        ranks=ranks,
        version=_version(),
    )
    standard = sorted(line for line in writer.imports if "numpy" not in line)
    numpy_lines = ["import numpy as np",
                   *sorted(line for line in writer.imports if "numpy" in line),
                   *writer.aliases]
    sections = [header + "\n" + "\n".join(standard + [""] * bool(standard) + numpy_lines)]
    if writer.constants:
        sections.append(f"# The globals {name} reads, copied from its module.\n"
                        + "\n".join(writer.constants))
    if writer.functions:
        sections.append("# Copied from autodiffx.rules.helpers and the user's module.\n"
                        + "\n\n".join(f.strip() + "\n" for f in writer.functions))
    sections.append("# The generated reverse-mode code (autodiffx.source).\n" + body.strip())
    sections.append(_ENTRY_POINTS.format(
        name=name, vjp=vjp_name, wrt=tuple(indices), ranks=tuple(ranks), wrt_text=wrt_text,
        result="gradients" if many else "gradients[0]",
    ).strip())
    return "\n\n\n".join(section.strip() for section in sections) + "\n"


def export(f: Callable, path: str | Path, wrt: Any = 0, args: Sequence | None = None,
           name: str | None = None) -> Path:
    """Write :func:`export_source` of ``f`` to ``path``; return the path."""
    path = Path(path)
    write_text(path, export_source(f, wrt, args, name))
    return path


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, or say plainly why it cannot be written."""
    try:
        path.write_text(text)
    except OSError as error:
        raise ArgumentError(
            f"cannot write {path}: {error.strerror or error}",
            hint="choose a file in a folder that exists and that you can write to",
        ) from None


# --------------------------------------------------------------------------- generated text


def _entry_name(generated) -> str:
    """The vjp of the differentiated function: the module's last ``def`` (callees come first)."""
    definitions = [node.name for node in ast.parse(generated.source).body
                   if isinstance(node, ast.FunctionDef)]
    return definitions[-1]


def _without_autodiffx_imports(text: str) -> tuple[str, set[str]]:
    """The generated module without its imports, and the helper names it imported."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    drop: set[int] = set()
    helper_names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom):
                if node.module != helpers_module.__name__:
                    raise AutodiffError(
                        f"the generated code imports from {node.module}, which the exporter "
                        "does not know how to copy",
                        hint="report this as a bug in autodiffx",
                    )
                helper_names |= {alias.name for alias in node.names}
            elif any(alias.name != "numpy" or alias.asname != "np" for alias in node.names):
                raise AutodiffError("the generated code has an unexpected import",
                                    hint="report this as a bug in autodiffx")
            drop |= set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    kept = [line for number, line in enumerate(lines, 1) if number not in drop]
    return "".join(kept), helper_names


def _module_level_names(text: str) -> set[str]:
    names = set()
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _free_names(text: str) -> set[str]:
    """Names a piece of code reads that none of its functions assigns or binds."""
    tree = ast.parse(text)
    loaded: set[str] = set()
    local: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else local).add(node.id)
        elif isinstance(node, ast.arg):
            local.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            local.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            local |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return {n for n in loaded - local if not hasattr(builtins, n)}


# --------------------------------------------------------------------------- copying names


class _Writer:
    """Collects the imports, constants and functions the exported module needs."""

    def __init__(self, taken: set[str]):
        self.taken = set(taken)
        self.names: set[str] = set()
        self.imports: list[str] = []
        self.aliases: list[str] = []
        self.constants: list[str] = []
        self.functions: list[str] = []
        self.sources: dict[str, object] = {}

    def _claim(self, name: str, value: object) -> bool:
        """Reserve ``name`` for ``value``; False when it is already there."""
        if name in self.sources:
            if self.sources[name] is value:
                return False
            raise ArgumentError(
                f"the exported module needs two different things named {name!r}",
                hint=f"rename your global {name!r}, which clashes with an autodiffx helper",
            )
        if name in self.taken:
            raise ArgumentError(
                f"the global {name!r} has the name of a generated function",
                hint=f"rename your global {name!r}",
            )
        self.sources[name] = value
        self.names.add(name)
        return True

    # ------------------------------------------------------------------ autodiffx helpers

    def helper(self, name: str) -> None:
        value = getattr(helpers_module, name)
        if not self._claim(name, value):
            return
        if isinstance(value, types.ModuleType):
            self.imports.append(_import_line(name, value))
            return
        text = _with_plain_raises(textwrap.dedent(inspect.getsource(value)))
        deferred = []
        for needed in sorted(_free_names(text)):
            if needed == "np":
                continue
            if hasattr(helpers_module, needed):
                deferred.append(needed)
            else:
                raise AutodiffError(
                    f"the helper {name} uses {needed!r}, which the exporter cannot copy",
                    hint="report this as a bug in autodiffx",
                )
        self.functions.append(textwrap.dedent(text).strip() + "\n")
        for needed in deferred:
            self.helper(needed)

    # ------------------------------------------------------------------ the user's globals

    def user_global(self, name: str, value: object, f: Callable) -> None:
        if isinstance(value, types.ModuleType):
            if self._claim(name, value):
                self.imports.append(_import_line(name, value, user=True))
            return
        if _is_literal(value):
            if self._claim(name, value):
                self.constants.append(f"{name} = {_literal_text(value)}")
            return
        numpy_name = _numpy_name(value)
        if numpy_name is not None:
            if self._claim(name, value):
                self.aliases.append(f"{name} = {numpy_name}")
            return
        if inspect.isfunction(value) and _copyable_function(value):
            if not self._claim(name, value):
                return
            text = textwrap.dedent(inspect.getsource(value)).strip()
            if value.__name__ != name:
                text += f"\n\n\n{name} = {value.__name__}"
                self.names.add(value.__name__)
            self.functions.append(text + "\n")
            for needed in sorted(_free_names(text) - {value.__name__}):
                if needed in value.__globals__:
                    self.user_global(needed, value.__globals__[needed], f)
            return
        kind = type(value).__name__
        what = f"an array of shape {np.shape(value)}" if isinstance(value, np.ndarray) else \
            f"a {kind}"
        raise ArgumentError(
            f"cannot export {getattr(f, '__name__', 'the function')}: it reads the global "
            f"{name!r}, {what}, which has no faithful literal form",
            hint=f"pass {name} to the function as an argument (numbers, strings and tuples "
            "of them are copied; so are plain functions and standard-library modules)",
        )


def _is_literal(value: object) -> bool:
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return True
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return True
    if isinstance(value, tuple):
        return all(_is_literal(v) for v in value)
    return False


def _literal_text(value: object) -> str:
    """Python source that evaluates to ``value`` (one that passed :func:`_is_literal`)."""
    if isinstance(value, np.generic):
        return f"np.{value.dtype.name}({_literal_text(value.item())})"
    if isinstance(value, float) and not np.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, complex) and not np.isfinite(value):
        return f"complex({str(value)!r})"
    if isinstance(value, tuple):
        items = ", ".join(_literal_text(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    return repr(value)


def _numpy_name(value: object) -> str | None:
    """``np.tanh`` for ``numpy.tanh`` (imported under another name), else None."""
    name = getattr(value, "__name__", None)
    if name is None:
        return None
    for prefix, namespace in (("np", np), ("np.linalg", np.linalg), ("np.random", np.random)):
        if getattr(namespace, name, None) is value and callable(value):
            return f"{prefix}.{name}"
    return None


def _copyable_function(value: types.FunctionType) -> bool:
    if value.__closure__ or value.__name__ == "<lambda>":
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(value)))
    except (OSError, TypeError, SyntaxError):
        return False
    node = tree.body[0] if tree.body else None
    return isinstance(node, ast.FunctionDef) and not node.decorator_list


def _import_line(name: str, module: types.ModuleType, user: bool = False) -> str:
    full = module.__name__
    top = full.split(".")[0]
    if top != "numpy" and top not in _STDLIB:
        raise ArgumentError(
            f"the exported code would need the module {full!r} (as {name!r}), which is "
            "neither NumPy nor in the standard library" + ("" if user else " (a bug)"),
            hint="the exported module may import only NumPy and the standard library",
        )
    if "." in full:
        parent, _, leaf = full.rpartition(".")
        return f"from {parent} import {leaf} as {name}" if leaf != name else \
            f"from {parent} import {leaf}"
    return f"import {full} as {name}" if full != name else f"import {full}"


_ERRORS = {
    name: value
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, AutodiffError)
}


def _with_plain_raises(text: str) -> str:
    """``text`` with each ``raise SomeAutodiffError(message, hint=...)`` made built-in.

    The exception becomes the built-in class the autodiffx error derives from (a
    ``MissingRuleError`` is a ``NotImplementedError``), with the hint appended to the
    message. Only the lines of those statements change.
    """
    lines = text.splitlines(keepends=True)
    raises = [
        node for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
        and isinstance(node.exc.func, ast.Name) and node.exc.func.id in _ERRORS
    ]
    for node in sorted(raises, key=lambda n: n.lineno, reverse=True):
        call = node.exc
        builtin = next(
            base.__name__ for base in _ERRORS[call.func.id].__mro__
            if base.__module__ == "builtins" and base is not Exception
        )
        message = call.args[0] if call.args else ast.Constant("error")
        for keyword in call.keywords:
            if keyword.arg == "hint":
                message = ast.BinOp(
                    left=ast.BinOp(left=message, op=ast.Add(), right=ast.Constant("; ")),
                    op=ast.Add(), right=keyword.value,
                )
        replacement = ast.Raise(
            exc=ast.Call(func=ast.Name(builtin, ast.Load()), args=[message], keywords=[]),
            cause=node.cause,
        )
        indent = " " * node.col_offset
        new = indent + ast.unparse(replacement) + "\n"
        lines[node.lineno - 1 : node.end_lineno] = [new]
    return "".join(lines)


def _version() -> str:
    from . import __version__

    return __version__


# --------------------------------------------------------------------------- templates

_HEADER = '''"""The reverse-mode gradient of {name} ({where}), exported by autodiffx {version}.

Stand-alone: it needs NumPy and the standard library only. {name}_grad(*args) returns
the gradient with respect to argument(s) {wrt}, like autodiffx.grad; {name}_value_and_grad
also returns the value. The code is specialised to arguments of ranks {ranks}
(-1: any).
"""
'''

_ENTRY_POINTS = '''
# The entry points, shaped like autodiffx.grad's results.
WRT = {wrt!r}
RANKS = {ranks!r}


def _shaped(gradient, like):
    """A gradient shaped like its argument, an array of its own (a float for a float)."""
    if isinstance(like, (float, int)):
        return float(np.asarray(gradient).reshape(()))
    gradient = np.array(gradient, copy=True).reshape(np.shape(like))
    dtype = np.result_type(like)
    return gradient.astype(dtype) if dtype.kind == "f" else gradient


def _inputs(args):
    if len(args) != len(RANKS):
        raise TypeError(f"{name} takes {{len(RANKS)}} arguments, got {{len(args)}}")
    args = list(args)
    for index in WRT:
        value = args[index]
        if isinstance(value, (bool, str, bytes)) or value is None:
            raise TypeError(f"argument {{index}} ({{value!r}}) cannot be differentiated")
        if isinstance(value, int) or np.asarray(value).dtype.kind in "iub":
            args[index] = np.asarray(value, dtype=np.float64) if np.ndim(value) else \\
                float(value)
    for index, (value, rank) in enumerate(zip(args, RANKS)):
        if rank >= 0 and np.ndim(value) != rank:
            raise ValueError(
                f"argument {{index}} has rank {{np.ndim(value)}}, but this code was "
                f"exported for rank {{rank}}; export it again with example arguments of "
                "these ranks"
            )
    return args


def {name}_value_and_grad(*args):
    """The value of {name}(*args) and its gradient with respect to argument(s) {wrt_text}."""
    args = _inputs(args)
    value, pullback = {vjp}(*args)
    if np.ndim(value) != 0:
        raise TypeError(f"{name} returned shape {{np.shape(value)}}; a gradient needs a scalar")
    gradients = tuple(_shaped(g, args[i]) for g, i in zip(pullback(1.0), WRT))
    if isinstance(value, np.ndarray):
        value = value.item()
    return value, {result}


def {name}_grad(*args):
    """The gradient of {name} with respect to argument(s) {wrt_text}, like autodiffx.grad."""
    return {name}_value_and_grad(*args)[1]
'''
