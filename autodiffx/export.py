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
import enum
import inspect
import keyword
import sys
import textwrap
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import errors
from .errors import ArgumentError, AutodiffError
from .reverse.emit import comment_text
from .reverse.source import check_current
from .rules import helpers as helpers_module
from .rules import registry

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
    from . import arguments
    from .reverse import build

    indices, many = arguments.resolve_wrt(f, wrt, len(args) if args is not None else None)
    if args is not None:
        ranks = arguments.ranks_of(args)
    else:
        count = f.__code__.co_argcount if hasattr(f, "__code__") else max(indices) + 1
        ranks = (-1,) * count
    generated = build(f, indices, ranks)
    name = name or getattr(f, "__name__", "f").replace("<lambda>", "lambda_")
    _check_identifier(name, "the exported name")
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
    needs = "NumPy, SciPy" if any("scipy" in ast.unparse(n) for n in writer.import_nodes
                                  ) else "NumPy"
    docstring = ast.Expr(value=ast.Constant(_DOCSTRING.format(
        name=name, where=Path(filename).name, wrt=wrt_text, ranks=ranks,
        version=_version(), needs=needs)))
    standard = sorted(writer.import_nodes, key=ast.unparse)
    standard = [n for n in standard if not _third_party(n)]
    numpy_nodes = [ast.Import(names=[ast.alias(name="numpy", asname="np")]),
                   *sorted((n for n in writer.import_nodes if _third_party(n)),
                           key=ast.unparse),
                   *writer.alias_nodes]
    entry = _entry_points(name, vjp_name, tuple(indices), tuple(ranks), wrt_text, many)
    generated_nodes = ast.parse(body).body
    # (comment, nodes, text): the text is printed from the nodes, except the generated code,
    # whose text comes with its comments (checked below to parse to the same nodes)
    head = _unparse(ast.Module(body=[docstring], type_ignores=[]))  # as a docstring
    imports = "\n".join(_unparse(node) for node in standard)
    imports += "\n\n" * bool(standard) + "\n".join(_unparse(node) for node in numpy_nodes)
    sections = [(None, [docstring, *standard, *numpy_nodes], head + "\n\n" + imports)]
    if writer.constant_nodes:
        sections.append((f"The globals {name} reads, copied from its module.",
                         writer.constant_nodes, None))
    if writer.function_nodes:
        sections.append(("Copied from autodiffx.rules.helpers and the user's module.",
                         writer.function_nodes, None))
    sections.append(("The generated reverse-mode code (autodiffx.source).", generated_nodes,
                     body.strip()))
    sections.append(("The entry points, shaped like autodiffx.grad's results.", entry, None))
    texts = []
    for comment, nodes, text in sections:
        if text is None:
            functions = any(isinstance(node, ast.FunctionDef) for node in nodes)
            text = ("\n\n\n" if functions else "\n").join(_unparse(node) for node in nodes)
        texts.append((f"# {comment_text(comment)}\n" if comment else "") + text)
    module_text = "\n\n\n".join(texts) + "\n"
    _verify(module_text, [node for _, nodes, _ in sections for node in nodes])
    return module_text


def _third_party(node: ast.stmt) -> bool:
    """An import of NumPy or SciPy (printed after the standard library's)."""
    text = ast.unparse(node)
    return "numpy" in text or text.split()[1].split(".")[0] == "scipy"


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
    """Collects the imports, constants and functions the exported module needs, as AST
    nodes (``imports`` and ``functions`` give them printed)."""

    def __init__(self, taken: set[str]):
        self.taken = set(taken)
        self.names: set[str] = set()
        self.import_nodes: list[ast.stmt] = []
        self.alias_nodes: list[ast.stmt] = []
        self.constant_nodes: list[ast.stmt] = []
        self.function_nodes: list[ast.stmt] = []
        self.sources: dict[str, object] = {}

    @property
    def imports(self) -> list[str]:
        return [_unparse(node) for node in self.import_nodes]

    @property
    def functions(self) -> list[str]:
        return [_unparse(node) + "\n" for node in self.function_nodes]

    def _claim(self, name: str, value: object) -> bool:
        """Reserve ``name`` for ``value``; False when it is already there."""
        _check_identifier(name, "a global name")
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
        if id(value) in registry.DISPLAY_NAMES:  # a SciPy function (the scipy extra)
            self.import_nodes.append(_scipy_import(name, value))
            return
        if isinstance(value, types.ModuleType):
            self.import_nodes.append(_import_node(name, value))
            return
        definition = _with_plain_raises(_parsed_definition(value))
        definition.decorator_list = []  # its derivative declaration, for forward mode only
        deferred = []
        for needed in sorted(_free_names(_unparse(definition))):
            if needed == "np":
                continue
            if hasattr(helpers_module, needed):
                deferred.append(needed)
            else:
                raise AutodiffError(
                    f"the helper {name} uses {needed!r}, which the exporter cannot copy",
                    hint="report this as a bug in autodiffx",
                )
        self.function_nodes.append(definition)
        for needed in deferred:
            self.helper(needed)

    # ------------------------------------------------------------------ the user's globals

    def user_global(self, name: str, value: object, f: Callable) -> None:
        if id(value) in registry.DISPLAY_NAMES:  # a SciPy function with a rule
            if self._claim(name, value):
                self.import_nodes.append(_scipy_import(name, value))
            return
        if isinstance(value, types.ModuleType):
            if self._claim(name, value):
                self.import_nodes.append(_import_node(name, value, user=True))
            return
        literal = _literal_node(value)
        if literal is not None:
            if self._claim(name, value):
                self.constant_nodes.append(_assign(name, literal))
            return
        numpy_name = _numpy_name(value)
        if numpy_name is not None:
            if self._claim(name, value):
                self.alias_nodes.append(_assign(name, _dotted(numpy_name)))
            return
        if inspect.isfunction(value) and _copyable_function(value):
            if not self._claim(name, value):
                return
            definition = _parsed_definition(value, user=True)
            self.function_nodes.append(definition)
            if value.__name__ != name:
                self.function_nodes.append(_assign(name, ast.Name(id=value.__name__,
                                                                  ctx=ast.Load())))
                self.names.add(value.__name__)
            for needed in sorted(_free_names(_unparse(definition)) - {value.__name__}):
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


_EXACT = (int, float, complex, bool, str, bytes, type(None))
_OPERATORS = frozenset(
    f"__{op}__" for base in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod",
                             "pow", "divmod", "and", "or", "xor", "lshift", "rshift")
    for op in (base, "r" + base)
) | {"__neg__", "__pos__", "__abs__", "__invert__", "__float__", "__int__", "__index__",
     "__complex__", "__round__", "__trunc__", "__floor__", "__ceil__", "__eq__", "__ne__",
     "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__hash__", "__array__",
     "__array_ufunc__", "__array_function__", "__getattr__", "__getattribute__"}


def _literal_node(value: object) -> ast.expr | None:
    """An expression that evaluates to exactly ``value``, built from ``ast.Constant`` of the
    exact builtin types (never from ``repr``), or ``None`` when there is none.

    Tuples of them, NumPy scalars (``np.float32(0.5)``) and the members of enumerations
    over ``int``, ``float`` or ``str`` (``IntEnum``: their plain value, when the class
    changes no operator) are written too; any other subclass is refused, since its
    operators may differ from its base class's.
    """
    kind = type(value)
    if kind in (float, complex) and not np.isfinite(value):
        return ast.Call(func=ast.Name(id=kind.__name__, ctx=ast.Load()),
                        args=[ast.Constant(str(value))], keywords=[])
    if kind in _EXACT:
        return ast.Constant(value)
    if kind is tuple:
        items = [_literal_node(item) for item in value]
        if any(item is None for item in items):
            return None
        return ast.Tuple(elts=items, ctx=ast.Load())
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        scalar_type = getattr(np, value.dtype.name, None)
        plain = value.item()
        if scalar_type is not kind or type(plain) not in _EXACT:
            return None
        inner = _literal_node(plain)
        return ast.Call(func=_dotted(f"np.{value.dtype.name}"), args=[inner], keywords=[])
    if isinstance(value, enum.Enum):
        for base in (bool, int, float, complex, str):
            if isinstance(value, base):
                break
        else:
            return None
        for cls in kind.__mro__:
            if cls.__module__ in ("enum", "builtins"):
                continue
            if _OPERATORS & set(vars(cls)):
                return None
        plain = {int: int.__int__, float: float.__float__, complex: complex.__complex__,
                 str: str.__str__, bool: int.__int__}[base](value)
        return _literal_node(base(plain) if base is bool else plain)
    return None


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value,
                      lineno=0)


def _dotted(path: str) -> ast.expr:
    """``np.linalg.norm`` as a chain of attribute nodes (each part an identifier)."""
    parts = path.split(".")
    for part in parts:
        _check_identifier(part, "a dotted name")
    node: ast.expr = ast.Name(id=parts[0], ctx=ast.Load())
    for part in parts[1:]:
        node = ast.Attribute(value=node, attr=part, ctx=ast.Load())
    return node


def _check_identifier(name: str, what: str) -> None:
    if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)):
        raise ArgumentError(
            f"{what} {name!r} is not a Python identifier, so it cannot be written into "
            "the exported module",
            hint="pass name= a plain identifier (letters, digits, underscores)",
        )


def _unparse(node: ast.AST) -> str:
    return ast.unparse(ast.fix_missing_locations(node))


def _verify(text: str, nodes: list[ast.stmt]) -> None:
    """Check that ``text`` parses to exactly ``nodes``: its comments hold no code."""
    expected = ast.parse(_unparse(ast.Module(body=nodes, type_ignores=[])))
    if ast.dump(ast.parse(text)) != ast.dump(expected):
        raise AutodiffError("the exported module does not print the code it was built from",
                            hint="report this as a bug in autodiffx")


def _parsed_definition(value: types.FunctionType, user: bool = False) -> ast.FunctionDef:
    """The ``def`` of ``value`` as an AST; for a user's function, refused when its file
    changed after import (the text would not be the code that runs)."""
    lines, first = inspect.getsourcelines(value)
    definition = ast.parse(textwrap.dedent("".join(lines))).body[0]
    if user:
        check_current(value, definition, value.__code__.co_filename, first)
    return definition


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


def _scipy_import(name: str, value: object) -> ast.stmt:
    """``from scipy.special import erf`` (as ``name``) for a SciPy function with a rule."""
    parent, _, leaf = registry.DISPLAY_NAMES[id(value)].rpartition(".")
    _dotted(parent)
    _check_identifier(name, "a global name")
    return ast.ImportFrom(module=parent, names=[
        ast.alias(name=leaf, asname=name if leaf != name else None)], level=0)


def _import_node(name: str, module: types.ModuleType, user: bool = False) -> ast.stmt:
    full = module.__name__
    top = full.split(".")[0]
    scipy_rules = sys.modules.get("autodiffx.rules.scipy_rules")  # the scipy extra
    if top != "numpy" and top not in _STDLIB and not (top == "scipy" and scipy_rules):
        raise ArgumentError(
            f"the exported code would need the module {full!r} (as {name!r}), which is "
            "neither NumPy nor in the standard library" + ("" if user else " (a bug)"),
            hint="the exported module may import only NumPy, the standard library and "
            "(for the functions that have rules) SciPy",
        )
    _dotted(full)  # each part an identifier
    _check_identifier(name, "a module's global name")
    if "." in full:
        parent, _, leaf = full.rpartition(".")
        return ast.ImportFrom(module=parent, names=[
            ast.alias(name=leaf, asname=name if leaf != name else None)], level=0)
    return ast.Import(names=[ast.alias(name=full, asname=name if full != name else None)])


_ERRORS = {
    name: value
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, AutodiffError)
}


def _with_plain_raises(definition: ast.FunctionDef) -> ast.FunctionDef:
    """``definition`` with each ``raise SomeAutodiffError(message, hint=...)`` made built-in.

    The exception becomes the built-in class the autodiffx error derives from (a
    ``MissingRuleError`` is a ``NotImplementedError``), with the hint appended to the
    message.
    """

    class Plain(ast.NodeTransformer):
        def visit_Raise(self, node: ast.Raise) -> ast.Raise:
            call = node.exc
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id in _ERRORS):
                return node
            builtin = next(
                base.__name__ for base in _ERRORS[call.func.id].__mro__
                if base.__module__ == "builtins" and base is not Exception
            )
            message = call.args[0] if call.args else ast.Constant("error")
            for keyword_argument in call.keywords:
                if keyword_argument.arg == "hint":
                    message = ast.BinOp(
                        left=ast.BinOp(left=message, op=ast.Add(), right=ast.Constant("; ")),
                        op=ast.Add(), right=keyword_argument.value,
                    )
            return ast.copy_location(ast.Raise(
                exc=ast.Call(func=ast.Name(builtin, ast.Load()), args=[message], keywords=[]),
                cause=node.cause,
            ), node)

    return Plain().visit(definition)


def _version() -> str:
    from .version import __version__

    return __version__


# --------------------------------------------------------------------------- templates

_DOCSTRING = """The reverse-mode gradient of {name} ({where}), exported by autodiffx {version}.

Stand-alone: it needs {needs} and the standard library only. {name}_grad(*args) returns
the gradient with respect to argument(s) {wrt}, like autodiffx.grad; {name}_value_and_grad
also returns the value. The code is specialised to arguments of ranks {ranks}
(-1: any).
"""
# A str.format of text into a docstring *constant*: printed by ast.unparse, whatever the
# file name holds ('"""', a newline) it stays inside the string.

_ENTRY_TEMPLATE = '''
WRT = __WRT__
RANKS = __RANKS__


def _shaped(gradient, like):
    """A gradient shaped like its argument, an array of its own (a float for a float)."""
    if isinstance(like, (float, int)):
        return float(np.asarray(gradient).reshape(()))
    gradient = np.array(gradient, copy=True).reshape(np.shape(like))
    dtype = np.result_type(like)
    return gradient.astype(dtype) if dtype.kind == "f" else gradient


def _inputs(args):
    if len(args) != len(RANKS):
        raise TypeError(f"__NAME__ takes {len(RANKS)} arguments, got {len(args)}")
    args = list(args)
    for index in WRT:
        value = args[index]
        if isinstance(value, (bool, str, bytes)) or value is None:
            raise TypeError(f"argument {index} ({value!r}) cannot be differentiated")
        if isinstance(value, int) or np.asarray(value).dtype.kind in "iub":
            args[index] = np.asarray(value, dtype=np.float64) if np.ndim(value) else \\
                float(value)
    for index, (value, rank) in enumerate(zip(args, RANKS)):
        if rank >= 0 and np.ndim(value) != rank:
            raise ValueError(
                f"argument {index} has rank {np.ndim(value)}, but this code was "
                f"exported for rank {rank}; export it again with example arguments of "
                "these ranks"
            )
    return args


def __NAME___value_and_grad(*args):
    """The value of __NAME__(*args) and its gradient with respect to argument(s) __WRT_TEXT__."""
    args = _inputs(args)
    value, pullback = __VJP__(*args)
    if np.ndim(value) != 0:
        raise TypeError(f"__NAME__ returned shape {np.shape(value)}; a gradient needs a scalar")
    gradients = tuple(_shaped(g, args[i]) for g, i in zip(pullback(1.0), WRT))
    if isinstance(value, np.ndarray):
        value = value.item()
    return value, __RESULT__


def __NAME___grad(*args):
    """The gradient of __NAME__ with respect to argument(s) __WRT_TEXT__, like autodiffx.grad."""
    return __NAME___value_and_grad(*args)[1]
'''


def _entry_points(name: str, vjp: str, wrt: tuple, ranks: tuple, wrt_text: str,
                  many: bool) -> list[ast.stmt]:
    """The entry points, from the template parsed once, with the placeholders replaced by
    nodes: names (identifiers, checked), constants and the result expression."""
    _check_identifier(name, "the exported name")
    _check_identifier(vjp, "the generated function")
    values = {"__WRT__": _literal_node(wrt), "__RANKS__": _literal_node(ranks),
              "__VJP__": ast.Name(id=vjp, ctx=ast.Load()),
              "__RESULT__": ast.Name(id="gradients", ctx=ast.Load()) if many else
              ast.Subscript(value=ast.Name(id="gradients", ctx=ast.Load()),
                            slice=ast.Constant(0), ctx=ast.Load())}

    class Fill(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in values:
                return values[node.id]
            node.id = node.id.replace("__NAME__", name)
            return node

        def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
            node.name = node.name.replace("__NAME__", name)
            return self.generic_visit(node)

        def visit_Constant(self, node: ast.Constant) -> ast.AST:
            if isinstance(node.value, str):
                node.value = node.value.replace("__NAME__", name).replace("__WRT_TEXT__",
                                                                          wrt_text)
            return node

    return Fill().visit(ast.parse(_ENTRY_TEMPLATE)).body
