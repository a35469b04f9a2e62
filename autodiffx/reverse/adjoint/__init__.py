"""The forward sweep and the adjoint sweep, written from the rules.

For each normalised statement ``t = op(a, b)`` the adjoint sweep gets, in reverse order,
``da = da + <rule's adjoint for a>`` with the rule's ``g`` renamed to ``dt``, ``ans`` to
``t`` and its parameters to ``a`` and ``b``. The first contribution to an adjoint assigns
it; later ones add. The adjoint sweep is a nested ``def pullback`` that reads the forward
values through its closure.

A forward value can only be read that way if it still holds the value the statement saw
(it is *stable*). Values overwritten later, in loops or after a branch, are saved on a
tape in the forward sweep (``tape.append(y)``) and read back in reverse order in the
adjoint sweep (``y = next(replay)``); loop trip counts and branch decisions are recorded
the same way. Loops ``for i in range(n)`` whose bounds do not change run backwards with
``reversed(range(n))`` instead of a counter.

``Sweeps`` is the driver: it holds the state of one function's sweeps, walks the statements
(forwards for the forward sweep, backwards for the adjoint sweep) and hands each to the
handler of its construct. One mixin per construct, each in the module named for it:
``calls`` (assignments and calls), ``stores`` (subscript stores), ``sequences`` (lists),
``branches`` and ``loops``. What they share: ``blocks`` (the nested blocks of branches and
loops), ``tape`` (reading forward values, from the closure or the tape), ``points`` (the
numbering of program points) and ``nodes`` (constructors of generated AST nodes).
"""

from __future__ import annotations

import ast
import builtins
import copy
import math

from ...errors import Location, UnsupportedSyntaxError
from ...rules.helpers import HELPERS
from .. import ir, kinds, optimize
from ..runtime import RUNTIME
from ..source import FunctionSource
from .blocks import Blocks
from .branches import Branches
from .calls import Calls
from .loops import Loops
from .nodes import Comments, Origin, _assign, _call, _load, _np, _parsed, _store
from .points import ProgramPoints
from .sequences import Sequences
from .stores import Stores
from .tape import Tape, _Saved

_NOT_VALUES = frozenset({"np", *dir(builtins), *HELPERS, *RUNTIME})
"""Names in adjoint code that are functions, not values that may be complex."""

LARGE_BYTES = 1 << 17
"""An array of float64 this large or larger is let go after its last use in code made for
the arguments' shapes (``del dh``): glibc serves blocks this size from fresh pages, which
it returns to the system once they are freed (its default ``mmap`` threshold)."""



def _complex_constant_in(expression: ast.expr) -> bool:
    """Whether ``expression`` holds a complex literal (``1j * g``)."""
    return any(isinstance(node, ast.Constant) and isinstance(node.value, complex)
               for node in ir.nodes(expression))


def large(shape: tuple | None) -> bool:
    """Whether an array of float64 of this shape is let go after its last use."""
    return shape is not None and math.prod(shape) * 8 >= LARGE_BYTES


KEEP_SHAPES_ONLY = False
"""Whether ``unbroadcast(g, t)`` of a temporary read for nothing else becomes
``unbroadcast_to(g, t_shape)`` so the array is freed after the forward sweep. Off: it saves
little memory (the sweep keeps the operands that made ``t``) and costs the reader two lines
(``t_shape = np.shape(t)``) in the code they came to read, the NER scorer's among them."""


class Sweeps(Calls, Stores, Sequences, Branches, Loops, Blocks, Tape, ProgramPoints):
    """Builds the forward and adjoint sweeps of one function."""

    def __init__(self, source: FunctionSource, statements: list, params: list[str],
                 wrt: tuple[int, ...], rank_of: dict, relevant: set[str], namer: ir.Namer,
                 comments: Comments, lines: dict[int, str], request_vjp, stored: set[str],
                 lists: set[str] = frozenset(), classes: dict[str, str] | None = None,
                 request_callee=None, kind_of: kinds.Analysis | None = None,
                 shape_of: dict | None = None):
        self.source = source
        self.statements = statements
        self.params = params
        self.wrt = wrt
        self.rank_of = rank_of
        self.relevant = relevant
        self.namer = namer
        self.comments = comments
        self.lines = lines
        self.request_vjp = request_vjp
        # flat code (reverse over reverse): a call's forward sweep calls the function itself
        # (named by request_callee), its adjoint calls the callee's flat vjp with the seed
        # and the arguments, so that no pullback closure is made or kept
        self.request_callee = request_callee
        # the names stored into after renaming too (``t += v; t[0] = 0.5`` stores into
        # ``t_2``): their adjoints get stored into, so they must never be read-only views
        self.stored = set(stored) | {s.target for s in ir.walk(statements)
                                     if isinstance(s, ir.Store)}
        self.lists = lists
        self.classes = classes or {}
        # the exact shape of each name, where the code is made for its arguments' shapes
        # and the name's shape follows from them (see :mod:`..shapes`)
        self.shape_of = shape_of or {}
        # whether every value the code sees is a plain array or number (not a dual number
        # of forward mode around it), asked once the code of the functions it calls is made
        self.plain_values = lambda: False
        # which values may be complex (None: a real program, whose code is the real code)
        self.kinds = kind_of if kind_of is not None and not kind_of.all_real else None
        self.adjoint_names: dict[str, str] = {}
        self.index: dict[int, int] = {}
        self.end: dict[int, int] = {}
        self.loops_of: dict[int, list] = {}
        self.binds: dict[str, list[int]] = {}
        self.mutations: dict[str, list[int]] = {}
        self.references: dict[str, list[int]] = {}
        self.pushes: dict[int, dict[str, list]] = {}
        self.saved: list[_Saved] = []
        self.entries: dict[tuple[int, str], _Saved] = {}
        self.shape_candidates: list[tuple[ast.Call, ast.Name]] = []
        self.shape_names: dict[str, str] = {}
        self.read_counts: dict[str, int] = {}
        self.deferred: list[tuple] = []
        self.carried_in: dict[tuple[int, str], tuple[_Saved, ast.Name]] = {}
        self.block_of: dict[int, list] = {}
        self.closure_reads: set[str] = set()
        self.counters: dict[int, str] = {}
        self.conditions: dict[int, str] = {}
        self.vjp_calls: dict[int, tuple[str, str]] = {}
        self.helpers_used: set[str] = set()
        self.origins: dict[tuple[str, int], Origin] = {}
        """The origin of each generated statement, by sweep and user's line: one each."""
        self.transpose_targets: set[str] | None = None
        """The names bound to ``np.transpose`` of something (see ``_transpose_targets``)."""
        self.realness_flags: dict[int, str] = {}
        """``w_is_real = np.isrealobj(w)`` after a statement whose results NumPy makes real
        or complex by the data (see :meth:`_real_part`): the flag's name, by statement."""
        self._number(statements, [])
        self._alias_mutations(statements)
        self.local_names = set(params) | set(self.binds)
        self.range_loops: set[int] = set()
        self.range_loops = self._range_loops()
        self.range_loops = self._range_loops()  # again: inner loops may use outer indices
        self.tape = None
        self.replay = None

    # ------------------------------------------------------------------ names

    def adjoint(self, name: str) -> str:
        if name not in self.adjoint_names:
            self.adjoint_names[name] = self.namer.fresh("d" + name, adjoint_too=False)
        return self.adjoint_names[name]

    def rank(self, name: str) -> int | None:
        return self.rank_of.get(name)


    def shape(self, name: str) -> tuple | None:
        return self.shape_of.get(name)

    # ------------------------------------------------------------------ entry point

    def build(self, result: ast.expr, pullback_name: str, differentiated: ast.expr = None):
        """The forward statements (ending in ``return value, pullback``). The pullback's
        cotangent is that of ``differentiated``, the part of ``result`` being
        differentiated (``value`` of ``return value, aux``), by default all of it."""
        defined: set[str] = set()
        unpack = None
        returned, result = result, result if differentiated is None else differentiated
        if isinstance(result, ast.Tuple):
            seed = self.namer.fresh("dout", adjoint_too=False)
            unpack = self._unpack_seed(result, seed, defined)
        elif isinstance(result, ast.Name) and result.id in self.relevant:
            seed = self.adjoint(result.id)
            defined.add(seed)
        else:
            seed = self.namer.fresh("dout", adjoint_too=False)
        body = self._reverse_block(self.statements, defined)
        if unpack:
            body[0:0] = unpack
        gradients = []
        for position in self.wrt:
            name = self.params[position]
            adjoint = self.adjoint_names.get(name)
            if name in self.relevant and adjoint in defined:
                gradients.append(_load(adjoint))
            else:
                gradients.append(_call(_np("zeros_like"), _load(name)))
                self.closure_reads.add(name)
        self._resolve_deferred()
        self._drop_unpopped(body)
        if KEEP_SHAPES_ONLY:
            self._keep_shapes_only()
        self._name_saved_values()
        if self.saved:
            self.tape = self.namer.fresh("tape")
            self.replay = self.namer.fresh("replay")
            body.insert(0, _assign(self.replay, _call(_load("reversed"), _load(self.tape)),
                                   pure=False))
        self._fill_pops(body)
        body.append(ast.Return(value=ast.Tuple(elts=gradients, ctx=ast.Load())))
        pullback = ast.FunctionDef(
            name=pullback_name,
            args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=seed)], vararg=None,
                               kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
            body=body, decorator_list=[], returns=None, type_comment=None, lineno=0)
        forward = self._forward_block(self.statements)
        if self.saved:
            forward.insert(0, _assign(self.tape, ast.List(elts=[], ctx=ast.Load()), pure=False))
        forward.append(pullback)
        forward.append(ast.Return(value=ast.Tuple(elts=[copy.deepcopy(returned),
                                                        _load(pullback_name)], ctx=ast.Load())))
        optimize.eliminate_dead_code(pullback.body, set())
        # the forward sweep keeps what nothing reads: the function, as it runs, computes it,
        # and it may raise there (a name bound in a branch not taken, a mask negated,
        # np.log(0) under np.errstate(divide="raise")), where a gradient would be wrong
        if self.shape_of:
            self._lifetimes(pullback.body)
            arrays = {name for name, shape in self.shape_of.items() if shape}
            optimize.indexed_expand_dims(forward, lambda name: len(self.shape_of[name])
                                         if name in arrays else None)
            optimize.inline_within_a_line(forward, arrays.__contains__)
            optimize.release_after_last_use(forward, lambda name: large(
                self.shape_of.get(name)) and name not in self.params)
        return forward

    def _lifetimes(self, body: list[ast.stmt]) -> None:
        """In code made for these shapes: a cotangent that only renames another is read as
        that one; a sum of contributions goes into the array the first one made (real
        values, all plain: ``+=`` cannot put a dual number into an array); a large cotangent
        array is let go after its last use, so that the next
        operations reuse its memory instead of taking fresh pages from the system."""
        cotangents = {self.adjoint_names[name]: shape for name, shape in self.shape_of.items()
                      if name in self.adjoint_names}
        optimize.propagate_copies(body, cotangents.__contains__)
        if self.kinds is None and self.plain_values():
            optimize.accumulate_in_place(body)
            optimize.methods_of_arrays(body, lambda name: bool(cotangents.get(name)))

        optimize.release_after_last_use(body, lambda name: large(cotangents.get(name)))

    def _unpack_seed(self, result: ast.Tuple, seed: str, defined: set[str]) -> list:
        """``da, db = dout`` for ``return a, b`` (a name returned twice adds up)."""
        targets = []
        additions = []
        for item in result.elts:
            if not (isinstance(item, ast.Name) and item.id in self.relevant):
                targets.append(_store("_"))
                continue
            adjoint = self.adjoint(item.id)
            if adjoint in defined:
                part = self.namer.fresh(adjoint + "_part", adjoint_too=False)
                targets.append(_store(part))
                additions.append(_assign(adjoint, ast.BinOp(left=_load(adjoint), op=ast.Add(),
                                                            right=_load(part))))
            else:
                targets.append(_store(adjoint))
                defined.add(adjoint)
        if not defined:
            return []
        return [_assign(ast.Tuple(elts=targets, ctx=ast.Store()), _load(seed), pure=False),
                *additions]

    # ------------------------------------------------------------------ adjoint sweep

    def _reverse_block(self, statements, defined: set[str], line: int | None = None) -> list:
        out = []
        current_line = line  # the enclosing statement's comment covers its own line
        for statement in reversed(statements):
            code = self._reverse(statement, defined)
            marker = ast.Pass()
            marker.pops_for = statement  # values read later in this block may pop here
            after_code = []
            if ir.children(statement):
                # values pushed before a compound statement come off the tape after the
                # values pushed inside it
                closing = ast.Pass()
                closing.pops_for = statement
                closing.timing = "before"
                marker.timing = "after"
                after_code.append(closing)
            if not code:
                out += [marker, *after_code]
                continue
            if statement.line != current_line and statement.line > 0:
                text = self.lines.get(statement.line) or self.source.lines.get(
                    statement.line, "").strip()
                out.append(self.comments.marker("grad of: " + text))
                current_line = statement.line
            out.append(marker)
            out += self._tag(code, statement, "adjoint")
            out += after_code
        return out

    def _reverse(self, statement, defined: set[str]) -> list:
        if isinstance(statement, ir.Assign):
            return self._reverse_assign(statement, defined)
        if isinstance(statement, ir.Store):
            return self._reverse_store(statement, defined)
        if isinstance(statement, ir.Append):
            return self._reverse_append(statement, defined)
        if isinstance(statement, ir.If):
            return self._reverse_if(statement, defined)
        if isinstance(statement, (ir.For, ir.While)):
            return self._reverse_loop(statement, defined)
        return []

    def _contribute(self, name: str, expression: ast.expr, defined: set[str], out: list,
                    pure: bool = True):
        adjoint = self.adjoint(name)
        if isinstance(expression, ast.Name) and expression.id == adjoint:
            defined.add(adjoint)
            return
        if self.kinds is not None:
            expression = self._real_part(name, expression)
        elif _complex_constant_in(expression):
            # a real program: every value is real, and so is its cotangent. The adjoints of
            # np.imag and np.angle (1j * g, ...) are complex; the real part is the
            # cotangent of their real argument (0). Kept complex, the imaginary part would
            # turn real in another such adjoint (np.imag(np.imag(v))) and could not be
            # added into a real array
            expression = _call(_np("real"), expression)
        if adjoint in defined and name in self.lists:
            value = copy.deepcopy(_parsed("[old + new for old, new in zip(OLD, NEW)]"))
            value.generators[0].iter.args = [_load(adjoint), expression]
        elif adjoint in defined:
            value = ast.BinOp(left=_load(adjoint), op=ast.Add(), right=expression)
        else:
            value = expression
            if name in self.stored:  # written into below: a copy, never a view or alias
                value = _call(_load("list") if name in self.lists else _np("copy"), value)
            defined.add(adjoint)
        out.append(_assign(adjoint, value, pure=pure))

    def _real_part(self, name: str, expression: ast.expr) -> ast.expr:
        """A real value's cotangent is real: ``np.real(...)`` of a part that complex
        values may have made complex (see ``docs/complex.md``).

        A value whose kind only the data decides (the eigenvalues of a real matrix) needs
        no real part when the part could be complex only through values of that kind: when
        they all come from one statement outside loops (one ``np.linalg.eig``), they are all
        real or all complex together, and so is the part."""
        kind = self.kinds.of(name)
        if kind == kinds.COMPLEX or not self._may_be_complex(expression):
            return expression
        if kind is None:
            source = self._one_source_of_either()
            if source is not None:
                if not self._may_be_complex(expression, either_real=True):
                    return expression
                # real or complex as the source's results are: a flag the forward sweep sets
                flag = self.realness_flags.get(id(source))
                if flag is None:
                    flag = self.namer.fresh(ir.bound(source)[0] + "_is_real", adjoint_too=False)
                    self.realness_flags[id(source)] = flag
                return ast.IfExp(test=_load(flag), body=_call(_np("real"), expression),
                                 orelse=expression)
            node = self.statement_node(name)
            raise UnsupportedSyntaxError(
                f"reverse mode cannot tell whether {name} is real or complex (NumPy decides "
                "from the data), and a derivative from complex values reaches it",
                location=self.source.location(node) if node is not None else None,
                hint='use mode="forward", or make the value complex where it is made '
                "(np.linalg.eig(a + 0j))")
        return _call(_np("real"), expression)

    def _one_source_of_either(self) -> ir.Assign | None:
        """The statement all values of data-decided kind come from, when there is one and
        it is outside loops: ``w, v = np.linalg.eig(a)``, and what is computed from them."""
        known = self.kinds.kinds
        sources = [s for s in ir.walk(self.statements) if isinstance(s, ir.Assign)
                   and any(known.get(n, kinds.REAL) is None for n in ir.bound(s))
                   and not any(isinstance(o, ast.Name) and known.get(o.id, kinds.REAL) is None
                               for o in s.operands)]
        if len(sources) == 1 and not self.loops_of[id(sources[0])]:
            return sources[0]
        return None

    def _may_be_complex(self, expression: ast.expr, either_real: bool = False) -> bool:
        """Whether ``expression`` may compute a complex value (a value of data-decided kind
        counts as real with ``either_real``)."""
        primal_of = {adjoint: name for name, adjoint in self.adjoint_names.items()}
        for node in ir.nodes(expression):
            if isinstance(node, ast.Constant) and isinstance(node.value, complex):
                return True
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
                name = primal_of.get(node.id, node.id)
                if name in self.kinds.kinds:
                    kind = self.kinds.of(name)
                    if kind == kinds.COMPLEX or kind is None and not either_real:
                        return True
                elif node.id not in _NOT_VALUES:
                    return True  # a part of an adjoint (dx_part): not known
        return False

    def statement_node(self, name: str):
        """The user's expression that binds ``name``, for error messages."""
        for statement in ir.walk(self.statements):
            if isinstance(statement, ir.Assign) and name in ir.bound(statement):
                return statement.node
        return None

    # ------------------------------------------------------------------ forward sweep

    def _forward_block(self, statements, line: int | None = None) -> list:
        out = []
        current_line = line
        for statement in statements:
            if isinstance(statement, ir.Return):
                continue
            if statement.line != current_line and statement.line > 0:
                out.append(self.comments.marker(self.lines.get(statement.line, "")))
                current_line = statement.line
            pushes = self.pushes.get(id(statement), {"before": [], "after": []})
            code = [self._push(s) for s in pushes["before"]]
            code += self._forward(statement)
            if id(statement) in self.realness_flags:
                code.append(_assign(self.realness_flags[id(statement)], _call(
                    _np("isrealobj"), _load(ir.bound(statement)[0])), pure=False))
            for name in ir.writes(statement):
                if name in self.shape_names:
                    code.append(_assign(self.shape_names[name],
                                        _call(_np("shape"), _load(name)), pure=False))
            code += [self._push(s) for s in pushes["after"]]
            out += self._tag(code, statement, "forward")
        return out

    def _tag(self, code: list, statement, sweep: str) -> list:
        """Record on each generated statement the user's line it comes from, for errors."""
        if statement.line == 0:
            return code
        line = abs(statement.line)
        origin = self.origins.get((sweep, line))
        if origin is None:
            origin = self.origins[sweep, line] = Origin(sweep, Location(
                self.source.filename, line, 0,
                self.lines.get(line) or self.source.lines.get(line, "")), self.source.name)
        for node in code:
            if isinstance(node, ast.stmt) and not hasattr(node, "origin"):
                node.origin = origin
        return code

    def _forward(self, statement) -> list:
        if isinstance(statement, ir.Assign):
            return self._forward_assign(statement)
        if isinstance(statement, ir.Store):
            return self._forward_store(statement)
        if isinstance(statement, ir.Append):
            return self._forward_append(statement)
        if isinstance(statement, ir.Effect):
            return [copy.deepcopy(statement.statement)]
        if isinstance(statement, ir.Break):
            return [ast.Break()]
        if isinstance(statement, ir.Continue):
            return [ast.Continue()]
        if isinstance(statement, ir.If):
            return self._forward_if(statement)
        if isinstance(statement, (ir.For, ir.While)):
            return self._forward_loop(statement)
        return []


__all__ = ["KEEP_SHAPES_ONLY", "Comments", "Origin", "Sweeps"]
