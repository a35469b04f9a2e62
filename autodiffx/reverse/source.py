"""Getting a function's source, parsing it, and resolving the names it uses.

Reverse mode reads the user's code, so this is where it can fail first: builtins, ufuncs,
functions typed at the plain ``python`` prompt (before 3.13) and code made by
``eval``/``exec`` have no source to read. Cells of IPython and Jupyter and the prompt of
Python 3.13 keep theirs in :mod:`linecache`, and it is read from there. A lambda has
source when its line does (``inspect`` returns the whole line); it is accepted when it is
the only lambda on that line.

Globals and closure cells are read when the function is transformed, and each read is
recorded in the function's :class:`Bindings`: :mod:`.guards` checks on every call that they
are still bound to the same values, and rebinds or regenerates when not. The source must be
the code that runs: a definition that no longer compiles to ``f.__code__`` (the file was
edited after import) is refused (:func:`check_current`).
"""

from __future__ import annotations
import __future__

import ast
import builtins
import copy
import dis
import inspect
import itertools
import linecache
import textwrap
import threading
import types
import weakref
from dataclasses import dataclass, field
from typing import Any

from ..errors import Location, NoSourceError
from . import ir

_MISSING = object()
EMPTY = object()
"""The recorded value of a closure cell that was empty (or a global that was absent)."""


class Bindings:
    """Where a function's free names live (its globals dict, its closure cells) and what
    reverse mode read from them while transforming it: ``reads`` maps a name to
    ``("global", value)``, ``("cell", value)`` or ``("builtin", value)`` (the name was
    absent from the globals and came from :mod:`builtins`)."""

    __slots__ = ("globals", "cells", "reads", "node", "function", "code", "__weakref__")

    def __init__(self, function: Any):
        self.function = weakref.ref(function)
        """The function, weakly: a cache entry must not keep it alive."""
        keywords = function.__kwdefaults__
        self.code = (function.__code__, function.__defaults__,
                     None if keywords is None else tuple(keywords.items()))
        """What the transformation read the function as: its code and its defaults (the
        ``__code__`` that autoreload swaps in place when the file changes)."""
        self.globals: dict = function.__globals__
        self.cells: dict[str, types.CellType] = dict(
            zip(function.__code__.co_freevars, function.__closure__ or (), strict=True))
        self.reads: dict[str, tuple[str, Any]] = {}
        self.node: ast.FunctionDef | None = None

    def note(self, name: str, value: Any) -> None:
        if name in self.reads:
            return
        if name in self.cells:
            try:
                self.reads[name] = ("cell", self.cells[name].cell_contents)
            except ValueError:
                self.reads[name] = ("cell", EMPTY)
        elif name in self.globals:
            self.reads[name] = ("global", self.globals[name])
        elif value is not _MISSING and getattr(builtins, name, _MISSING) is value:
            self.reads[name] = ("builtin", value)
        # else a name reverse mode made itself (``grad_f`` for a static grad(f) call)


_recording = threading.local()


class recording:
    """Collect the :class:`Bindings` of every function parsed in this thread while the
    ``with`` block runs (nested blocks each collect them all)."""

    def __enter__(self) -> list[Bindings]:
        self.found: list[Bindings] = []
        stack = getattr(_recording, "stack", None)
        if stack is None:
            stack = _recording.stack = []
        stack.append(self.found)
        return self.found

    def __exit__(self, *exc) -> None:
        _recording.stack.remove(self.found)


def note_bindings(found) -> None:
    """Add ``found`` (Bindings read by a build whose result is reused) to every recording."""
    for collected in getattr(_recording, "stack", ()):
        collected.extend(found)


def _register(bindings: Bindings) -> None:
    for collected in getattr(_recording, "stack", ()):
        collected.append(bindings)


@dataclass
class FunctionSource:
    """One parsed user function, with where it came from and what its names mean."""

    function: Any
    node: ast.FunctionDef
    filename: str
    lines: dict[int, str] = field(default_factory=dict)
    """Source text per line number in the file, for messages and comments."""
    namespace: dict[str, Any] = field(default_factory=dict)
    """Globals and closure cells of the function (closure cells win)."""
    bindings: Bindings | None = None
    """Records which of them the transformation read (for the call-time guards)."""

    @property
    def name(self) -> str:
        return self.node.name

    def location(self, node: ast.AST) -> Location:
        line = getattr(node, "lineno", self.node.lineno)
        column = getattr(node, "col_offset", -1) + 1
        return Location(self.filename, line, column, self.lines.get(line, ""))

    def resolve(self, name: str) -> Any:
        """The value ``name`` has in the function's scope (globals, closure, builtins)."""
        if name in self.namespace:
            value = self.namespace[name]
        else:
            value = getattr(builtins, name, _MISSING)
        if self.bindings is not None:
            self.bindings.note(name, value)
        return value

    def statement_text(self, node: ast.stmt) -> str:
        """The source of one statement, on one line (the header only for compound ones)."""
        if isinstance(node, (ast.If, ast.For, ast.While)):
            return self.lines.get(node.lineno, "").strip()
        end = getattr(node, "end_lineno", node.lineno) or node.lineno
        text = " ".join(self.lines.get(n, "").strip() for n in range(node.lineno, end + 1))
        return text.strip()


def is_missing(value: Any) -> bool:
    return value is _MISSING


def _no_source(function: Any, why: str, *, in_a_file: bool = False) -> NoSourceError:
    name = getattr(function, "__qualname__", None) or repr(function)
    hint = 'use mode="forward", which runs the function as it is and needs no source'
    if in_a_file:
        hint += ", or put the function in a file and import it"
    return NoSourceError(f"reverse mode needs the source code of {name}, but {why}",
                         hint=hint)


def _unrecorded(filename: str) -> str:
    """Why a function compiled under ``filename`` (``<stdin>``, ``<string>``, ...) has no
    source: the name says where it was typed or made, and :mod:`linecache` holds no lines
    for it (IPython, Jupyter and Python 3.13's prompt put theirs there; these do not)."""
    if filename == "<stdin>":
        return ("it was typed at the plain Python prompt (or read from standard input), "
                "which keeps no source (IPython, Jupyter and the prompt of Python 3.13 or "
                "newer do)")
    if filename == "<string>":
        return ("it was made by exec or eval of a string (or python -c), which keeps no "
                "source")
    return (f"it was compiled from {filename}, whose lines are not in linecache (a prompt, "
            "exec or eval that keeps no source)")


def parse_function(function: Any) -> FunctionSource:
    """Parse ``function``'s source into a :class:`FunctionSource`."""
    code = getattr(function, "__code__", None)
    if code is None or not inspect.isfunction(function):
        raise _no_source(function, "it is not a Python function (a builtin, ufunc or C function)")
    filename = code.co_filename
    # IPython and Jupyter cells (<ipython-input-...>) and Python 3.13's prompt
    # (<python-input-N>) register their source in linecache, where inspect finds it
    if filename.startswith("<") and filename.endswith(">") and "autodiffx" not in filename \
            and not linecache.getlines(filename):
        raise _no_source(function, _unrecorded(filename), in_a_file=True)
    try:
        # the code object, not the function: functools.wraps points inspect at the wrapped
        # function, whose source is not the code that runs
        lines, first = inspect.getsourcelines(code)
    except (OSError, TypeError) as error:
        raise _no_source(function, f"its source could not be read ({error})") from None
    text = textwrap.dedent("".join(lines))
    try:
        module = ast.parse(text)
    except SyntaxError:
        module = None
    if code.co_name == "<lambda>":
        node = _lambda_node(function, module, filename, first, lines)
    else:
        node = _function_node(function, module)
    check_current(function, node, filename, first)
    if first > 1:
        _move_down(node, first - 1)
    numbered = {first + i: line.rstrip("\n") for i, line in enumerate(lines)}
    bindings = Bindings(function)
    bindings.node = node
    _register(bindings)
    return FunctionSource(function, node, filename, numbered, _namespace(function), bindings)


def _move_down(node: ast.AST, lines: int) -> None:
    """``ast.increment_lineno(node, lines)`` for a function's tree (which holds no
    ``TypeIgnore``), over :func:`.ir.nodes` instead of ``ast.walk``: this runs on every
    function read, and ``ast.walk`` took most of its time."""
    for child in ir.nodes(node):
        if "lineno" in child._attributes:
            child.lineno = getattr(child, "lineno", 0) + lines
        if "end_lineno" in child._attributes:
            end = getattr(child, "end_lineno", 0)
            if end is not None:
                child.end_lineno = end + lines


def _function_node(function: Any, module: ast.Module | None) -> ast.FunctionDef:
    if module is not None:
        for node in module.body:
            if isinstance(node, ast.FunctionDef) and node.name == function.__code__.co_name:
                return node
            if isinstance(node, ast.AsyncFunctionDef):
                raise _no_source(function, "it is an async function (a coroutine), which "
                                 "returns before it runs")
    raise _no_source(function, "its source is not a plain 'def' statement")


def _lambda_node(function, module, filename, first, lines) -> ast.FunctionDef:
    lambdas = [] if module is None else [n for n in ast.walk(module) if isinstance(n, ast.Lambda)]
    if len(lambdas) != 1:
        count = "no parsable lambda" if not lambdas else f"{len(lambdas)} lambdas"
        raise NoSourceError(
            f"reverse mode cannot tell which lambda to differentiate: its line holds {count}",
            location=Location(filename, first, 0, lines[0] if lines else ""),
            hint="give the lambda a line of its own, write it as a 'def', or use "
            'mode="forward"',
        )
    (node,) = lambdas
    body = ast.Return(value=node.body)
    ast.copy_location(body, node.body)
    definition = ast.FunctionDef(
        name="lambda_",
        args=node.args,
        body=[body],
        decorator_list=[],
        returns=None,
        type_comment=None,
    )
    ast.copy_location(definition, node)
    ast.fix_missing_locations(definition)
    return definition


def _namespace(function: Any) -> dict[str, Any]:
    namespace = dict(function.__globals__)
    code = function.__code__
    for name, cell in zip(code.co_freevars, function.__closure__ or (), strict=True):
        try:
            namespace[name] = cell.cell_contents
        except ValueError:  # an empty cell: the name is assigned later in the outer scope
            continue
    return namespace


def spread_varargs(source: FunctionSource, count: int) -> FunctionSource:
    """``def f(*args)`` called with ``count`` extra positional arguments, as a function of
    that many named parameters (``args_0``, ``args_1``, ...).

    Done only when ``args`` is used as ``g(*args)``, ``args[i]`` with a literal ``i`` or
    ``len(args)``, as in a decorator's wrapper; otherwise ``source`` is returned unchanged
    (and differentiating ``*args`` is refused).
    """
    arguments = source.node.args
    if arguments.vararg is None or count < 0:
        return source
    name = arguments.vararg.arg
    taken = {n.id for n in ast.walk(source.node) if isinstance(n, ast.Name)}
    taken |= {a.arg for a in ast.walk(arguments) if isinstance(a, ast.arg)}
    spread = []
    for position in range(count):
        candidate = f"{name}_{position}"
        while candidate in taken:
            candidate += "_"
        taken.add(candidate)
        spread.append(candidate)
    node = copy.deepcopy(source.node)

    class Spread(ast.NodeTransformer):
        failed = False

        def visit_Call(self, call):
            if (isinstance(call.func, ast.Name) and call.func.id == "len"
                    and source.resolve("len") is builtins.len and len(call.args) == 1
                    and isinstance(call.args[0], ast.Name) and call.args[0].id == name):
                return ast.copy_location(ast.Constant(count), call)
            args = []
            for argument in call.args:
                if isinstance(argument, ast.Starred) and isinstance(argument.value, ast.Name) \
                        and argument.value.id == name:
                    args += [ast.copy_location(ast.Name(id=n, ctx=ast.Load()), argument)
                             for n in spread]
                else:
                    args.append(argument)
            call.args = args
            return self.generic_visit(call)

        def visit_Subscript(self, subscript):
            if isinstance(subscript.value, ast.Name) and subscript.value.id == name and \
                    isinstance(subscript.slice, ast.Constant) and \
                    type(subscript.slice.value) is int and -count <= subscript.slice.value < count:
                return ast.copy_location(
                    ast.Name(id=spread[subscript.slice.value], ctx=ast.Load()), subscript)
            return self.generic_visit(subscript)

        def visit_Name(self, found):
            if found.id == name:
                Spread.failed = True
            return found

    body = [Spread().visit(statement) for statement in node.body]
    if Spread.failed:
        return source
    node.body = body
    node.args.args = [*node.args.args, *(ast.arg(arg=n) for n in spread)]
    node.args.vararg = None
    ast.fix_missing_locations(node)
    return FunctionSource(source.function, node, source.filename, source.lines,
                          source.namespace, source.bindings)


# --------------------------------------------------------------------------- stale source

_FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag
_OUTER = "__autodiffx_outer__"
_CHECKED = "__autodiffx_checked__"


def check_current(function: Any, node: ast.FunctionDef, filename: str, first: int) -> None:
    """Refuse a definition that does not compile to the code ``function`` runs.

    ``inspect`` reads the file as it is now; if it was edited after the module was
    imported, the parsed ``def`` is not the running code, and reverse mode would
    differentiate one function while the value comes from another. The parsed definition
    (or lambda) is compiled alone, inside a function that makes its free variables
    closure cells and inside its class when it is a method (for name mangling), and its code
    object is compared with ``function.__code__``: bytecode, constants (nested code objects
    recursively), names, variables and argument counts. Line numbers are not compared, so
    edits elsewhere in the file (which move the function) are harmless.
    """
    code = function.__code__
    compiled = _compile_alone(function, node)
    if compiled is None or _same_code(compiled, code):
        return
    if "@py_builtins" in function.__globals__ and any(
            isinstance(sub, ast.Assert) for sub in ast.walk(node)):
        return  # pytest rewrote this module's assert statements: the code differs by design
    name = getattr(function, "__qualname__", code.co_name)
    raise NoSourceError(
        f"the source of {name} in {filename} is not the code that runs: the file was "
        "changed after the module was imported, so reverse mode would differentiate the new "
        "text while the function runs the old code",
        location=Location(filename, first, 0, ""),
        hint="reload the module (importlib.reload(module)) and take the function from it "
        "again, or restart Python",
    )


def _compile_alone(function: Any, node: ast.FunctionDef):
    code = function.__code__
    # the parsed tree is shared, not copied: compile only reads it, and the nodes made here
    # get their locations before the user's nodes go into them (one walk of the small
    # wrapper, not of the whole function)
    definition = copy.copy(node)
    if code.co_name == "<lambda>":
        returned = definition.body[0]
        statement: ast.stmt = ast.copy_location(ast.Expr(value=ast.copy_location(
            ast.Lambda(args=definition.args, body=returned.value), returned)), returned)
    else:
        definition.decorator_list = []
        statement = definition
    target = code.co_name
    parts = getattr(function, "__qualname__", "").split(".")
    owner = parts[-2] if len(parts) >= 2 and parts[-2] != "<locals>" else None
    inner = [statement]
    if owner is not None and owner.isidentifier():
        inner = [ast.fix_missing_locations(ast.ClassDef(name=owner, bases=[], keywords=[],
                                                        body=[], decorator_list=[]))]
        inner[0].body = [statement]
    else:
        owner = None
    if owner is None and code.co_name not in code.co_freevars and statement is definition:
        # inside the wrapper a def binds a local of it: a self-reference would become a
        # closure cell where the running code reads a global
        target = definition.name = _CHECKED
    assigned = [ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                           value=ast.Constant(None))
                for name in code.co_freevars if not (owner and name == "__class__")]
    outer = ast.FunctionDef(
        name=_OUTER,
        args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                           kw_defaults=[], kwarg=None, defaults=[]),
        body=[*assigned, ast.Return(value=ast.Constant(None))],
        decorator_list=[], returns=None, type_comment=None)
    # Python 3.11 calls ``m.f()`` differently when ``m`` is bound by a module-level import:
    # import the same names as the running code shows it imported
    imports = [ast.Import(names=[ast.alias(name=name, asname=None)])
               for name in sorted(_imported_names(code))]
    module = ast.fix_missing_locations(ast.Module(body=[*imports, outer], type_ignores=[]))
    outer.body[len(assigned):len(assigned)] = inner
    try:
        top = compile(module, "<autodiffx-check>", "exec",
                      flags=code.co_flags & _FUTURE_FLAGS, dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        return None  # cannot tell: the transformation reports what it cannot read
    pending = [top]
    while pending:
        current = pending.pop(0)
        for constant in current.co_consts:
            if isinstance(constant, types.CodeType):
                if constant.co_name == target and constant.co_name != _OUTER:
                    return constant
                pending.append(constant)
    return None


def _imported_names(code: types.CodeType) -> set[str]:
    """Globals whose method-style calls compile as ``LOAD_GLOBAL (NULL + m); LOAD_ATTR``,
    which Python 3.11 emits only for a name bound by an import at module level."""
    found = set()
    pending = [code]
    while pending:
        current = pending.pop()
        pending += [c for c in current.co_consts if isinstance(c, types.CodeType)]
        instructions = [i for i in dis.get_instructions(current) if i.opname != "CACHE"]
        for this, following in itertools.pairwise(instructions):
            if this.opname == "LOAD_GLOBAL" and this.arg is not None and this.arg & 1 \
                    and following.opname == "LOAD_ATTR" and str(this.argval).isidentifier():
                found.add(this.argval)
    return found


def _same_code(a: types.CodeType, b: types.CodeType, prefix: tuple[str, str] | None = None
               ) -> bool:
    """Whether ``a`` (compiled here) and ``b`` (running) are the same code; ``prefix``
    maps ``a``'s qualified name to ``b``'s in string constants (a class body's
    ``__qualname__``)."""
    if prefix is None:
        prefix = (a.co_qualname + ".", b.co_qualname + ".")
    if (a.co_code != b.co_code or a.co_names != b.co_names
            or a.co_varnames != b.co_varnames or a.co_freevars != b.co_freevars
            or a.co_cellvars != b.co_cellvars or a.co_argcount != b.co_argcount
            or a.co_posonlyargcount != b.co_posonlyargcount
            or a.co_kwonlyargcount != b.co_kwonlyargcount
            or len(a.co_consts) != len(b.co_consts)):
        return False
    return all(_same_constant(x, y, prefix)
               for x, y in zip(a.co_consts, b.co_consts, strict=True))


def _same_constant(x: Any, y: Any, prefix: tuple[str, str]) -> bool:
    if type(x) is not type(y):
        return False
    if isinstance(x, types.CodeType):
        return _same_code(x, y, prefix)
    if type(x) is str and x.startswith(prefix[0]):
        return prefix[1] + x[len(prefix[0]):] == y
    if isinstance(x, (tuple, frozenset)):
        if len(x) != len(y):
            return False
        if isinstance(x, frozenset):
            return x == y
        return all(_same_constant(p, q, prefix) for p, q in zip(x, y, strict=True))
    if isinstance(x, (float, complex)):
        return repr(x) == repr(y)
    return x == y
