"""Drawing the computation graph of one evaluation, with values and gradients on its edges.

``trace`` runs a function on *traced* values: each NumPy primitive (and Python's
``max``/``min``) applied to them becomes one node, found through the same rule registry
the two modes read. A backward pass then visits the nodes in reverse order and applies
each rule's compiled adjoint (``rule.adjoint_function(i)``), so every edge carries its
forward value and the gradient of the output flowing back along it, as in the lecture's
diagrams: ``+`` passes the gradient on, ``max`` routes it, ``*`` switches it.

``Graph.to_dot`` writes Graphviz DOT; ``render`` turns it into SVG or PNG with the
``dot`` program when it is installed.

>>> from autodiffx.computation_graph import trace
>>> def f(x, y, z):
...     return (x + y) * max(y, z)
>>> graph = trace(f, 1.0, 2.0, 0.0)
>>> graph.value, graph.gradients
(6.0, (2.0, 5.0, 0.0))
"""

from __future__ import annotations

import builtins
import html
import operator
import shutil
import subprocess
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ArgumentError, DerivativeConversionError, MissingRuleError
from .forward.dual import _bind, _without_left_out
from .rules import registry

# --------------------------------------------------------------------------- the graph


@dataclass
class Node:
    """An input, a constant, or one primitive operation of the traced evaluation."""

    index: int
    kind: str
    """``"input"``, ``"constant"`` or ``"operation"``."""
    label: str
    """The argument's name, the constant's value, or the operation (``+``, ``np.tanh``)."""
    value: Any
    name: str = ""
    """The variable of the user's function that held the value, when there was one."""
    grad: Any = None
    """The gradient of the output with respect to this value (``None``: none flows)."""


@dataclass
class Edge:
    """A value flowing from ``source`` into argument ``position`` of ``target``."""

    source: int
    target: int
    position: int
    grad: Any = None
    """This edge's share of the source's gradient."""


@dataclass
class Graph:
    """The nodes and edges of one evaluation, after the backward pass."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    output: int = -1
    title: str = ""
    name: str = ""
    """The function's name, which labels the output edge."""

    @property
    def value(self):
        """The output's value."""
        return _plain(self.nodes[self.output].value)

    @property
    def gradients(self) -> tuple:
        """The gradient with respect to each input (each ``wrt`` argument), in order."""
        return tuple(_plain(n.grad if n.grad is not None else np.zeros_like(n.value))
                     for n in self.nodes if n.kind == "input")

    def to_dot(self) -> str:
        """Graphviz DOT: forward values in green above each edge, gradients in red below."""
        lines = [
            "digraph computation {",
            "  rankdir=LR;",
            '  graph [fontname="Helvetica"]; node [fontname="Helvetica"];',
            '  edge [fontname="Helvetica"];',
            f"  label=<{_escape(self.title)}<br/><font color=\"darkgreen\">green: forward "
            "value</font>   <font color=\"red\">red: gradient of the output</font>>;",
            "  labelloc=t;",
        ]
        for node in self.nodes:
            lines.append(f"  n{node.index} {_node_attributes(node)};")
        for edge in self.edges:
            source = self.nodes[edge.source]
            label = _value_text(source)
            colour = "black" if source.kind != "constant" else "gray50"
            text = f'<font color="darkgreen">{_escape(label)}</font>'
            if edge.grad is not None:
                text += f'<br/><font color="red">{_escape(format_value(edge.grad))}</font>'
            lines.append(f"  n{edge.source} -> n{edge.target} [label=<{text}>, "
                         f"color={colour}];")
        output = self.nodes[self.output]
        seed = output.grad if output.grad is not None else 1.0
        lines.append('  output [shape=plaintext, label="output"];')
        named = f"{self.name} = " if self.name else ""
        lines.append(
            f'  n{self.output} -> output [label=<<font color="darkgreen">'
            f"{_escape(named + format_value(output.value))}</font><br/><font color=\"red\">"
            f"{_escape(format_value(seed))}</font>>];"
        )
        lines.append("}")
        return "\n".join(lines) + "\n"


def _node_attributes(node: Node) -> str:
    if node.kind == "operation":
        shape = "circle" if len(node.label) <= 3 else "box, style=rounded"
        return f"[shape={shape}, label=<{_escape(node.label)}>]"
    if node.kind == "constant":
        return f'[shape=plaintext, fontcolor=gray40, label=<{_escape(node.label)}>]'
    grad = format_value(node.grad if node.grad is not None else np.zeros_like(node.value))
    return (f'[shape=plaintext, label=<<b>{_escape(node.label)}</b><br/>'
            f'<font color="red">{_escape(grad)}</font>>]')


def _value_text(node: Node) -> str:
    text = format_value(node.value)
    if node.kind == "operation" and node.name:
        return f"{node.name} = {text}"
    return text


def format_value(value: Any) -> str:
    """A short text for a value on an edge: a number, a few entries, or a shape.

    >>> import numpy as np
    >>> from autodiffx.computation_graph import format_value
    >>> format_value(3.0), format_value(np.array([1.0, 0.5])), format_value(np.ones((3, 4)))
    ('3', '[1, 0.5]', 'array (3, 4)')
    """
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{float(array):.4g}" if array.dtype.kind in "biuf" else str(value)
    if array.size <= 4 and array.ndim == 1 and array.dtype.kind in "biuf":
        return "[" + ", ".join(f"{float(v):.4g}" for v in array) + "]"
    return f"array {array.shape}"


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _plain(value):
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return float(value)
    return value


# --------------------------------------------------------------------------- tracing


class Traced:
    """A value whose operations are recorded as nodes of a ``Graph``."""

    __array_priority__ = 1000

    def __init__(self, tape: _Tape, value: Any, node: int):
        self.tape = tape
        self.value = value
        self.node = node

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or "out" in kwargs:
            raise MissingRuleError(
                f"np.{ufunc.__name__}.{method} (or out=) cannot be drawn",
                hint="use the plain function form, e.g. np.sum instead of np.add.reduce",
            )
        return self.tape.record(ufunc, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return self.tape.record(func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        raise DerivativeConversionError(
            "a traced value was turned into a plain NumPy array (np.asarray, or a store "
            "into an array), so the graph would lose track of it",
            hint="build arrays with np.stack or np.concatenate",
        )

    def __float__(self):
        raise DerivativeConversionError(
            "float() or a math-module function was applied to a traced value, so the "
            "graph would lose track of it",
            hint="use the NumPy function instead (np.exp rather than math.exp)",
        )

    def __bool__(self):
        return bool(self.value)

    def __int__(self):
        return int(self.value)

    def __len__(self):
        return len(self.value)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index):
        return self.tape.record(operator.getitem, (self, index), {})

    @property
    def shape(self):
        return np.shape(self.value)

    @property
    def ndim(self):
        return np.ndim(self.value)

    @property
    def size(self):
        return np.size(self.value)

    @property
    def dtype(self):
        return np.result_type(self.value)

    @property
    def T(self):
        return np.transpose(self)

    def reshape(self, *shape):
        return np.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        return np.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def __getattr__(self, name):
        # ndarray methods spelled like a NumPy function (x.sum(), x.dot(y)) go through it.
        function = getattr(np, name, None)
        if name.startswith("_") or function is None or not callable(function):
            raise AttributeError(f"a traced value has no attribute {name!r}")
        return lambda *args, **kwargs: function(self, *args, **kwargs)

    def __lt__(self, other):
        return self.value < _value(other)

    def __le__(self, other):
        return self.value <= _value(other)

    def __gt__(self, other):
        return self.value > _value(other)

    def __ge__(self, other):
        return self.value >= _value(other)

    def __eq__(self, other):
        return self.value == _value(other)

    def __ne__(self, other):
        return self.value != _value(other)

    __hash__ = None

    def __neg__(self):
        return np.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return np.absolute(self)


def _binary(function: Callable, reflected: bool = False):
    if reflected:
        return lambda self, other: self.tape.record(function, (other, self), {})
    return lambda self, other: self.tape.record(function, (self, other), {})


for _name, _function in (
    ("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.divide),
    ("pow", np.power), ("matmul", np.matmul), ("mod", np.remainder),
    ("floordiv", np.floor_divide),
):
    setattr(Traced, f"__{_name}__", _binary(_function))
    setattr(Traced, f"__r{_name}__", _binary(_function, reflected=True))


def _value(item):
    return item.value if isinstance(item, Traced) else item


_SYMBOLS = {
    np.add: "+", np.subtract: "-", np.multiply: "*", np.divide: "/", np.power: "**",
    np.matmul: "@", np.negative: "-", builtins.max: "max", builtins.min: "min",
}


class _Tape:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.steps: list[tuple] = []  # (node, rule, function, args, keywords)

    def add(self, kind: str, label: str, value: Any) -> int:
        node = Node(len(self.graph.nodes), kind, label, value)
        self.graph.nodes.append(node)
        return node.index

    def record(self, function, args, kwargs):
        rule = registry.require(function)
        if not rule.differentiable:
            return function(*_unwrap(args), **_unwrap(kwargs))
        args, keywords = _bind(rule, function, tuple(args), dict(kwargs))
        keywords = {k: _value(v) for k, v in keywords.items()}
        if rule.sequence:
            items = list(args[0])
            primals = [[_value(a) for a in items], *[_value(a) for a in args[1:]]]
            sources = [(0, k, a) for k, a in enumerate(items)]
        else:
            primals = [_value(a) for a in args]
            sources = [(i, None, a) for i, a in enumerate(args)]
        ans = function(*_without_left_out(primals, rule.optional), **keywords)
        node = self.add("operation", _label(function, args, keywords), ans)
        edges = []
        for position, item, arg in sources:
            if isinstance(arg, Traced):
                source = arg.node
            elif arg is None or position >= len(rule.params) or (
                    item is None and not _is_number(arg)):
                continue
            else:
                source = self.add("constant", format_value(arg), arg)
            edge = Edge(source, node, position)
            self.graph.edges.append(edge)
            if isinstance(arg, Traced):
                edges.append((edge, item))
        self.steps.append((node, rule, primals, keywords, edges))
        return Traced(self, ans, node)

    def backward(self, output: int) -> None:
        nodes = self.graph.nodes
        nodes[output].grad = np.ones_like(np.asarray(nodes[output].value, dtype=float))[()]
        for node, rule, primals, keywords, edges in reversed(self.steps):
            g = nodes[node].grad
            if g is None:
                continue
            ans = nodes[node].value
            cache: dict[int, Any] = {}
            for edge, item in edges:
                if edge.position not in cache:
                    adjoint = rule.adjoint_function(edge.position)
                    cache[edge.position] = (
                        None if adjoint is None else adjoint(g, ans, *primals, **keywords)
                    )
                contribution = cache[edge.position]
                if contribution is None:
                    continue
                if item is not None:
                    contribution = contribution[item]
                contribution = np.broadcast_to(
                    contribution, np.shape(nodes[edge.source].value))[()]
                edge.grad = contribution
                source = nodes[edge.source]
                source.grad = contribution if source.grad is None else source.grad + contribution


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.ndarray, np.generic)) and not isinstance(
        value, bool)


def _unwrap(value):
    if isinstance(value, Traced):
        return value.value
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _label(function, args, keywords) -> str:
    if function is operator.getitem:
        return "[" + _index_text(args[1]) + "]"
    label = _SYMBOLS.get(function)
    if label is None:
        label = registry.describe(function)
    if function is np.subtract or function is np.negative:
        label = "-" if len(args) == 2 else "neg"
    shown = [f"{k}={v!r}" for k, v in keywords.items() if v is not None and v is not False]
    return label + (" (" + ", ".join(shown) + ")" if shown else "")


def _index_text(index) -> str:
    items = index if isinstance(index, tuple) else (index,)
    texts = []
    for item in items:
        if isinstance(item, slice):
            text = ":".join("" if v is None else str(v) for v in (item.start, item.stop))
            texts.append(text + ("" if item.step is None else f":{item.step}"))
        elif item is None:
            texts.append("None")
        elif item is Ellipsis:
            texts.append("...")
        elif isinstance(item, (int, np.integer)):
            texts.append(str(item))
        else:
            texts.append(f"array {np.shape(item)}")
    return ", ".join(texts)


def trace(f: Callable, *args, wrt: tuple[int, ...] | None = None) -> Graph:
    """Evaluate ``f(*args)`` recording each operation, then run the backward pass.

    The arguments at the positions ``wrt`` are the inputs of the graph; by default those
    that are floats or float arrays (or, when there are none, all the numeric ones). The
    others are passed as they are. A non-scalar output is seeded with ones, so the
    gradients are those of its sum.
    """
    graph = Graph()
    tape = _Tape(graph)
    traced = []
    names = _parameter_names(f, len(args))
    if wrt is None:
        floats = [i for i, a in enumerate(args) if _is_number(a) and np.result_type(a).kind == "f"]
        wrt = tuple(floats) or tuple(i for i, a in enumerate(args) if _is_number(a))
    for position, arg in enumerate(args):
        if position in wrt:
            if not _is_number(arg):
                raise ArgumentError(
                    f"argument {position} ({arg!r}) is not a number or an array of numbers, "
                    "so it cannot be an input of the graph",
                    hint="leave it out of --wrt",
                )
            value = np.asarray(arg, dtype=float) if np.ndim(arg) else float(arg)
            traced.append(Traced(tape, value, tape.add("input", names[position], value)))
        else:
            traced.append(arg)
    function = _with_traced_builtins(f, tape)
    captured: dict[str, Any] = {}
    result = _call_capturing_locals(function, traced, captured)
    if not isinstance(result, Traced):
        raise ArgumentError(
            f"{getattr(f, '__name__', 'the function')} returned a value that does not "
            "depend on its numeric arguments, so there is no graph to draw",
            hint="check --args: the arguments the output depends on must be numbers or arrays",
        )
    for name, value in captured.items():
        if isinstance(value, Traced) and graph.nodes[value.node].kind == "operation":
            graph.nodes[value.node].name = name
    graph.output = result.node
    tape.backward(result.node)
    shape = np.shape(result.value)
    what = "" if not shape else f" (output of shape {shape}: gradients of its sum)"
    graph.name = getattr(f, "__name__", "f").replace("<lambda>", "f")
    graph.title = f"{graph.name}{what}"
    return graph


def _parameter_names(f, count: int) -> list[str]:
    code = getattr(f, "__code__", None)
    names = list(code.co_varnames[: code.co_argcount]) if code is not None else []
    return [names[i] if i < len(names) else f"arg{i}" for i in range(count)]


def _with_traced_builtins(f: Callable, tape: _Tape) -> Callable:
    """``f`` with Python's ``max`` and ``min`` recording a node when given traced values."""
    if not isinstance(f, types.FunctionType):
        return f
    namespace = dict(f.__globals__)
    for builtin in (builtins.max, builtins.min):
        if builtin.__name__ in namespace:
            continue  # the user's module defines its own

        def recording(*args, _builtin=builtin, **kwargs):
            if len(args) == 2 and not kwargs and any(isinstance(a, Traced) for a in args):
                return tape.record(_builtin, args, {})
            return _builtin(*args, **kwargs)

        namespace[builtin.__name__] = recording
    copy = types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__, f.__closure__)
    copy.__kwdefaults__ = f.__kwdefaults__
    return copy


def _call_capturing_locals(function: Callable, args: list, captured: dict) -> Any:
    """Call ``function``; keep its local variables as they are when it returns."""
    code = getattr(function, "__code__", None)
    previous = sys.getprofile()
    outermost = []  # the frame of this call, not of a recursive one

    def profile(frame, event, arg):
        if frame.f_code is not code:
            return
        if event == "call" and not outermost:
            outermost.append(frame)
        elif event == "return" and outermost and frame is outermost[0]:
            captured.update(frame.f_locals)

    sys.setprofile(profile)
    try:
        return function(*args)
    finally:
        sys.setprofile(previous)


# --------------------------------------------------------------------------- output


FORMATS = (".svg", ".png", ".dot")


GRAPHVIZ = ("Install Graphviz (apt-get install graphviz, brew install graphviz or conda "
            "install graphviz) so that its dot program is on PATH")


def render(graph: Graph, path: str | Path) -> tuple[Path, str]:
    """Write ``graph`` to ``path`` (.svg, .png or .dot); return the path written and a note.

    SVG and PNG need Graphviz's ``dot`` program; without it the DOT text is written next
    to ``path`` (with the suffix .dot) and the note says how to install Graphviz.
    """
    path = Path(path)
    if path.suffix not in FORMATS:
        raise ArgumentError(f"cannot draw to {path}: the suffix must be one of "
                            f"{', '.join(FORMATS)}")
    text = graph.to_dot()
    if path.suffix == ".dot":
        _write(path, text)
        return path, ""
    program = shutil.which("dot")
    if program is None:
        dot_path = path.with_suffix(".dot")
        _write(dot_path, text)
        return dot_path, (
            f"Graphviz's dot program is not on PATH, so {path.name} was not drawn; wrote the "
            f"graph as DOT to {dot_path} instead. {GRAPHVIZ}, then run: dot -T"
            f"{path.suffix[1:]} {dot_path} -o {path}"
        )
    if not path.parent.is_dir():
        raise ArgumentError(f"cannot write {path}: the folder {path.parent} does not exist")
    try:
        subprocess.run([program, f"-T{path.suffix[1:]}", "-o", str(path)], input=text,
                       text=True, check=True, capture_output=True, timeout=120)
    except subprocess.CalledProcessError as error:
        raise ArgumentError(f"Graphviz's dot failed to draw {path}: "
                            f"{error.stderr.strip() or error.returncode}") from None
    except subprocess.TimeoutExpired:
        raise ArgumentError(f"Graphviz's dot took too long to draw {path}",
                            hint="draw a smaller function, or write .dot") from None
    return path, ""


def _write(path: Path, text: str) -> None:
    from .export import write_text

    write_text(path, text)


# --------------------------------------------------------------------------- in a notebook


def graph(f: Callable, *args, wrt: int | str | tuple[int | str, ...] | None = None
          ) -> Picture:
    """The computation graph of ``f(*args)``, with values and gradients on its edges.

    The Python side of ``autodiffx graph``: each NumPy operation is a node, each edge
    carries its forward value (green) and the gradient of the output flowing back along it
    (red). ``wrt`` (positions or names) picks the arguments that are inputs of the graph;
    by default the float ones. In Jupyter the result is drawn inline as SVG when Graphviz's
    ``dot`` program is installed; its ``repr`` says how to get it when not. ``to_dot()``
    gives the Graphviz text and ``save("f.svg")`` writes a file, as the command does.

    Returns:
        A [`Picture`][autodiffx.computation_graph.Picture].

    Examples:
        The lecture's worked example, f(x, y, z) = (x + y) · max(y, z) at (1, 2, 0):

        >>> from autodiffx import graph
        >>> def f(x, y, z):
        ...     return (x + y) * max(y, z)
        >>> picture = graph(f, 1.0, 2.0, 0.0)
        >>> picture.value, picture.gradients
        (6.0, (2.0, 5.0, 0.0))
        >>> print(picture.summary())
        computation graph of f: 3 operations, f = 6
          df/dx = 2
          df/dy = 5
          df/dz = 0
    """
    if wrt is not None:
        names = _parameter_names(f, len(args))
        wanted = wrt if isinstance(wrt, tuple) else (wrt,)
        positions = []
        for item in wanted:
            if isinstance(item, str):
                if item not in names:
                    raise ArgumentError(
                        f"wrt names {item!r}, which is not an argument of "
                        f"{getattr(f, '__name__', 'the function')} ({', '.join(names)})",
                        hint="give positions (0, 1, ...) or the names of its parameters")
                positions.append(names.index(item))
            elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item < len(args):
                positions.append(item)
            else:
                raise ArgumentError(f"wrt={item!r} is not one of the {len(args)} arguments",
                                    hint="give positions from 0, or parameter names")
        wrt = tuple(positions)
    return Picture(trace(f, *args, wrt=wrt))


class Picture:
    """What [`graph`][autodiffx.graph] returns: a traced ``Graph`` that draws itself in a
    notebook (``_repr_svg_``, which IPython calls) and describes itself in a terminal."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self._svg: str | None = None

    @property
    def value(self):
        """The output's value."""
        return self.graph.value

    @property
    def gradients(self) -> tuple:
        """The gradient with respect to each input of the graph, in order."""
        return self.graph.gradients

    def to_dot(self) -> str:
        """The graph as Graphviz DOT text."""
        return self.graph.to_dot()

    def save(self, path: str | Path) -> Path:
        """Write the picture to ``path`` (.svg, .png or .dot); return the path written
        (a .dot next to it, with a warning, when SVG or PNG is asked for without Graphviz)."""
        written, note = render(self.graph, path)
        if note:
            import warnings

            warnings.warn(note, stacklevel=2)
        return written

    def svg(self) -> str | None:
        """The picture as SVG text, drawn by Graphviz's ``dot``; ``None`` without it."""
        if self._svg is None:
            program = shutil.which("dot")
            if program is None:
                return None
            try:
                drawn = subprocess.run([program, "-Tsvg"], input=self.to_dot(), text=True,
                                       check=True, capture_output=True, timeout=120)
            except subprocess.CalledProcessError as error:
                raise ArgumentError("Graphviz's dot failed to draw the graph: "
                                    f"{error.stderr.strip() or error.returncode}") from None
            except subprocess.TimeoutExpired:
                raise ArgumentError("Graphviz's dot took too long to draw the graph",
                                    hint="draw a smaller function") from None
            self._svg = drawn.stdout
        return self._svg

    def _repr_svg_(self) -> str | None:
        return self.svg()

    def summary(self) -> str:
        """The output and the gradient of each input, one per line."""
        operations = sum(1 for n in self.graph.nodes if n.kind == "operation")
        name = self.graph.name or "f"
        lines = [f"computation graph of {self.graph.title or name}: {operations} "
                 f"operation{'' if operations == 1 else 's'}, {name} = "
                 f"{format_value(self.value)}"]
        inputs = [n for n in self.graph.nodes if n.kind == "input"]
        for node, gradient in zip(inputs, self.gradients, strict=True):
            lines.append(f"  d{name}/d{node.label} = {format_value(gradient)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        text = self.summary()
        if shutil.which("dot") is None:
            text += ("\n(no picture: Graphviz's dot program is not on PATH. "
                     f"{GRAPHVIZ}, then restart the kernel; .to_dot() gives the DOT text)")
        return text
