"""Every registered rule, tested from the registry itself (see ``domains.py``).

For each way of calling each rule:

1. its tangent rules, run through forward mode, against central differences of the plain
   NumPy function;
2. its adjoint rules, compiled with ``rule.adjoint_function(i)``, against the tangent rules
   by the dot-product test <g, J t> == <J^T g, t>;
3. a chunk of three directions pushed at once against three single pushes.

Then the conventions at kinks, each exactly, and the coverage the library promises.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.forward import Dual, apply, new_level
from autodiffx.rules import all_rules, lookup, rule_named
from autodiffx.rules.helpers import prod_partials
from autodiffx.rules.registry import ADJOINT_NAMESPACE

from .domains import DOMAINS, Arg, Booleans, Case, Integers

EXAMPLES = 20
SEEDS = st.integers(0, 2**32 - 1)
STEP = 1e-5  # central-difference step
TANGENT_TOLERANCE = 1e-6  # relative to the size of the values involved
ADJOINT_TOLERANCE = 1e-9  # the dot-product test is exact up to rounding
# Python's max and min do not dispatch to Dual (they compare, then return one argument),
# and NumPy's np.full and np.full_like do not dispatch on their fill value, so their rules,
# which reverse mode uses, are called directly.
DIRECT = (builtins.max, builtins.min, builtins.abs, np.full, np.full_like)
# the scipy extra: an original that a dispatching version replaced does not dispatch on
# Duals; forward mode reaches its rule through the dispatching version
DISPATCHING: dict = {}
try:
    from autodiffx.rules import scipy_rules
except ImportError:
    pass
else:
    DISPATCHING = {f.original: f for f in vars(scipy_rules).values() if hasattr(f, "original")}


# --------------------------------------------------------------------------- drawing cases


def is_sequence(arg) -> bool:
    """A list of arrays, as ``np.concatenate`` takes (not a list used as an index)."""
    return isinstance(arg, list) and any(isinstance(a, Arg) for a in arg)


def case_id(name: str, case: Case) -> str:
    def describe(arg):
        if isinstance(arg, Arg):
            return "x".join(map(str, arg.shape)) or "scalar"
        if is_sequence(arg):
            return "[" + ",".join(describe(a) for a in arg) + "]"
        if isinstance(arg, np.ndarray):
            return f"{arg.dtype.kind}{list(arg.shape)}"
        return repr(arg).replace(" ", "")

    function = getattr(case.function, "__name__", "")
    keywords = ",".join(f"{k}={v!r}".replace(" ", "") for k, v in case.kwargs.items())
    parts = [function, ",".join(describe(a) for a in case.args), keywords]
    return f"{name}({'|'.join(p for p in parts if p)})"


ALL_CASES = [(name, case) for name, cases in DOMAINS.items() for case in cases]
DIFFERENTIABLE = [
    pytest.param(name, case, id=case_id(name, case))
    for name, case in ALL_CASES
    if name in {rule.name for rule in all_rules() if rule.differentiable}
]
CONSTANT = [
    pytest.param(name, case, id=case_id(name, case))
    for name, case in ALL_CASES
    if name in {rule.name for rule in all_rules() if not rule.differentiable}
]


def sample(arg, rng):
    if isinstance(arg, Arg):
        value = arg.domain.sample(rng, arg.shape)
        return value.item() if arg.shape == () and value.dtype.kind == "f" else value
    if is_sequence(arg):
        return [sample(a, rng) for a in arg]
    return arg


def draw(case: Case, rng: np.random.Generator) -> list:
    """Values for ``case``'s arguments; re-drawn while ``case.valid`` rejects them."""
    for _ in range(200):
        args = [sample(a, rng) for a in case.args]
        if case.valid is None or case.valid(*args):
            return args
    raise AssertionError(f"could not draw valid arguments for {case}")


def wrt_paths(case: Case) -> list[tuple[int, ...]]:
    """Where the differentiated arguments sit: ``(i,)``, or ``(i, j)`` inside a list."""
    paths = []
    for i, arg in enumerate(case.args):
        if isinstance(arg, Arg) and arg.wrt:
            paths.append((i,))
        elif is_sequence(arg):
            paths.extend((i, j) for j, a in enumerate(arg) if a.wrt)
    return paths


def get(args, path):
    value = args[path[0]]
    return value if len(path) == 1 else value[path[1]]


def put(args, path, value):
    args = list(args)
    if len(path) == 1:
        args[path[0]] = value
    else:
        items = list(args[path[0]])
        items[path[1]] = value
        args[path[0]] = items
    return args


def function_of(rule, case: Case):
    return case.function or rule.primitives[0]


def evaluate(rule, case: Case, args, joined=True):
    """The primal function on plain values; for several results, all of them raveled and
    joined into one vector (``joined``) or as the function returns them."""
    out = function_of(rule, case)(*args, **case.kwargs)
    if rule.outputs is not None and joined:
        return np.concatenate([np.ravel(np.asarray(o) + 0.0) for o in out])
    return out


def push(rule, case: Case, args, tangents: dict) -> tuple:
    """Forward mode with ``tangents[path]`` (directions first) on the argument at ``path``.

    Returns the output and its tangent, of shape ``(k, *output.shape)``.
    """
    level = new_level()
    for path, t in tangents.items():
        args = put(args, path, Dual(get(args, path), t, level))
    function = function_of(rule, case)
    function = DISPATCHING.get(function, function)
    if rule.sequence and not is_sequence(case.args[0]):
        # cho_solve's (c, lower): forward mode applies the rule for b, the tuple a constant
        rule = dataclasses.replace(rule, sequence=False)
    if function in DIRECT or lookup(function) is not rule:
        out = apply(rule, function, tuple(args), dict(case.kwargs))
    else:
        out = function(*args, **case.kwargs)
    k = len(next(iter(tangents.values())))
    if rule.outputs is not None:  # several results: joined into one vector, as evaluate()
        primals = [o.primal if isinstance(o, Dual) else o for o in out]
        parts = [np.reshape(o.tangent, (k, -1)) if isinstance(o, Dual)
                 else np.zeros((k, np.size(o))) for o in out]
        return (np.concatenate([np.ravel(np.asarray(p) + 0.0) for p in primals]),
                np.concatenate(parts, axis=1))
    if isinstance(out, Dual):
        assert out.level == level
        assert np.shape(out.tangent) == (k, *np.shape(out.primal))
        return out.primal, np.asarray(out.tangent)
    return out, np.zeros((k, *np.shape(out)))


def shifted(value, step):
    moved = np.asarray(value) + step
    return moved.item() if isinstance(value, float) else moved


def central_difference(rule, case: Case, args, path, t):
    forward = put(args, path, shifted(get(args, path), STEP * t))
    backward = put(args, path, shifted(get(args, path), -STEP * t))
    align = SIGN_CHOICES.get(rule.name)
    if align is None:
        high = np.asarray(evaluate(rule, case, forward))
        low = np.asarray(evaluate(rule, case, backward))
    else:  # each result with the signs of the unshifted one, so the difference is smooth
        base = evaluate(rule, case, args, joined=False)
        high, low = (np.concatenate([np.ravel(r) for r in align(
            base, evaluate(rule, case, shifted_args, joined=False))])
            for shifted_args in (forward, backward))
    return (high - low) / (2 * STEP)


def _svd_signs(base, result):
    """Singular vectors are defined up to a sign per pair (u_k, v_k), and LAPACK may pick
    the other sign after a small change of the matrix: flip each pair to agree with
    ``base`` (the sign the rule's tangent differentiates)."""
    if len(result) != 3:
        return result
    u, s, vh = result
    signs = np.sign(np.sum(base[0] * u, axis=-2))  # one per column of u
    return u * signs[..., None, :], s, vh * signs[..., :, None]


def _eigh_signs(base, result):
    """Eigenvectors are defined up to a sign each: flip them to agree with ``base``."""
    w, v = result
    return w, v * np.sign(np.sum(base[1] * v, axis=-2))[..., None, :]


SIGN_CHOICES = {"svd": _svd_signs, "eigh": _eigh_signs}
"""Rules whose results LAPACK defines only up to signs, with how to align them."""


def params_and_keywords(rule, case: Case, args):
    """The adjoint function's positional parameters (trailing optional ones as None)."""
    params = list(args) + [None] * (len(rule.params) - len(args))
    return params, dict(case.kwargs)


def tangent_error(rule, case: Case, args, path, rng) -> float:
    """How far forward mode is from central differences, relative to the values' size."""
    t = rng.standard_normal(np.shape(get(args, path)))
    if np.iscomplexobj(get(args, path)):  # a complex direction: both parts move
        t = t + 1j * rng.standard_normal(np.shape(t))
    _, jt = push(rule, case, args, {path: t[np.newaxis]})
    numeric = central_difference(rule, case, args, path, t)
    assert jt[0].shape == numeric.shape
    scale = max(
        1.0,
        float(np.max(np.abs(numeric), initial=0.0)),
        float(np.max(np.abs(evaluate(rule, case, args)), initial=0.0)),
    )
    return float(np.max(np.abs(jt[0] - numeric), initial=0.0)) / scale


def dot_product_gap(rule, case: Case, args, path, rng) -> float:
    """| <g, J t> - <J^T g, t> | relative to the sizes of the terms summed, in the real
    inner product <a, b> = Re(sum(conj(a) * b)) (the plain one for real values)."""
    shape = np.shape(get(args, path))
    t = rng.standard_normal(shape)
    if np.iscomplexobj(get(args, path)):
        t = t + 1j * rng.standard_normal(shape)
    ans, jt = push(rule, case, args, {path: t[np.newaxis]})
    g = rng.standard_normal(np.shape(ans))
    if np.iscomplexobj(ans):
        g = g + 1j * rng.standard_normal(np.shape(ans))
    g = g.item() if g.ndim == 0 else g
    params, keywords = params_and_keywords(rule, case, args)
    adjoint = rule.adjoint_function(path[0])
    if rule.outputs is not None:  # g split back into one cotangent per result
        results = evaluate(rule, case, args, joined=False)
        cuts = np.cumsum([np.size(r) for r in results])[:-1]
        cotangent = adjoint(tuple(np.reshape(part, np.shape(r)) for part, r in zip(
            np.split(np.ravel(g), cuts), results, strict=True)), results, *params, **keywords)
    else:
        cotangent = adjoint(g, ans, *params, **keywords)
    if len(path) == 2:
        cotangent = cotangent[path[1]]
    assert np.shape(cotangent) == shape, (
        f"{rule.name}: the adjoint has shape {np.shape(cotangent)}, the argument {shape}"
    )
    forward = np.real(np.sum(np.conj(g) * jt[0]))
    backward = np.real(np.sum(np.conj(cotangent) * t))
    scale = np.sum(np.abs(g * jt[0])) + np.sum(np.abs(cotangent * t)) + 1e-300
    return float(abs(forward - backward) / scale)


# --------------------------------------------------------------------------- the registry


def test_every_rule_has_domains_and_every_domain_a_rule():
    names = {rule.name for rule in all_rules()}
    assert sorted(names - set(DOMAINS)) == [], "rules without test domains"
    assert sorted(set(DOMAINS) - names) == [], "test domains naming no rule"
    assert all(DOMAINS[name] for name in names), "a rule with an empty list of cases"


def test_every_primitive_of_every_rule_is_called():
    for rule in all_rules():
        called = {id(function_of(rule, case)) for case in DOMAINS[rule.name]}
        missing = [p for p in rule.primitives if id(p) not in called]
        assert not missing, f"rule {rule.name!r}: no case calls {missing}"


# Parameters whose rules only refuse: np.einsum's third and fourth operands (a call with
# more than two is refused in both modes; see test_einsum_with_three_operands_is_refused),
# np.interp's points (its rule differentiates the values fp only).
REFUSING = {("einsum", "z"), ("einsum", "w"), ("interp", "x"), ("interp", "xp"),
            ("scipy.linalg.cho_solve", "c_and_lower"),  # refused: see test_scipy_rules.py
            # refused: see test_peer_findings.py
            ("scipy.special.gammainc", "a"), ("scipy.special.gammaincc", "a"),
            ("scipy.special.betainc", "a"), ("scipy.special.betainc", "b"),
            *((f"scipy.special.{name}", "v") for name in ("jv", "yv", "iv", "ive")),
            # the shapes of scipy.stats' distribution functions (cdf, sf, their logs)
            *((f"scipy.stats.{family}.{method}", shape)
              for family, shapes in (("t", ("df",)), ("gamma", ("a",)), ("beta", ("a", "b")),
                                     ("chi2", ("df",)))
              for method in ("cdf", "logcdf", "sf", "logsf") for shape in shapes)}


def test_every_differentiable_argument_is_differentiated_somewhere():
    for rule in all_rules():
        if not rule.differentiable:
            continue
        covered = {path[0] for case in DOMAINS[rule.name] for path in wrt_paths(case)}
        for i, (tangent, adjoint) in enumerate(zip(rule.tangents, rule.adjoints, strict=True)):
            assert (tangent is None) == (adjoint is None), (
                f"rule {rule.name!r}: parameter {rule.params[i]!r} has only one of its rules"
            )
            if tangent is not None and (rule.name, rule.params[i]) not in REFUSING:
                assert i in covered, f"rule {rule.name!r}: {rule.params[i]!r} is never tested"


def test_every_keyword_of_every_rule_is_tried():
    for rule in all_rules():
        tried = {k for case in DOMAINS[rule.name] for k in case.kwargs}
        assert set(rule.keywords) <= tried, f"rule {rule.name!r}: {set(rule.keywords) - tried}"


def test_adjoint_expressions_name_only_their_parameters_and_helpers():
    """Reverse mode inlines the expressions, renaming g, ans and the parameters: a stray
    name would be resolved in the user's module instead."""
    for rule in all_rules():
        allowed = {"g", "ans", *rule.params, *rule.keywords, *ADJOINT_NAMESPACE}
        for expression in rule.adjoints:
            if expression is None:
                continue
            tree = ast.parse(expression, mode="eval")
            names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
            assert names <= allowed, f"rule {rule.name!r}: {sorted(names - allowed)}"


PROMISED = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply,
    "true_divide": np.true_divide, "negative": np.negative, "positive": np.positive,
    "power": np.power, "square": np.square, "sqrt": np.sqrt, "exp": np.exp, "log": np.log,
    "log1p": np.log1p, "expm1": np.expm1, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan, "sinh": np.sinh,
    "cosh": np.cosh, "tanh": np.tanh, "abs": np.abs, "sign": np.sign,
    "maximum": np.maximum, "minimum": np.minimum, "reciprocal": np.reciprocal,
    "logaddexp": np.logaddexp, "dot": np.dot, "matmul": np.matmul, "outer": np.outer,
    "inner": np.inner, "einsum": np.einsum, "sum": np.sum, "mean": np.mean,
    "prod": np.prod, "max": np.max, "amax": np.amax, "min": np.min, "amin": np.amin,
    "trace": np.trace, "transpose": np.transpose, "reshape": np.reshape,
    "squeeze": np.squeeze, "expand_dims": np.expand_dims,
    "concatenate": np.concatenate, "stack": np.stack, "where": np.where, "clip": np.clip,
    "broadcast_to": np.broadcast_to, "linalg.norm": np.linalg.norm,
    "getitem": operator.getitem, "builtins.max": builtins.max,
    "builtins.min": builtins.min, "builtins.abs": builtins.abs,
}  # fmt: skip


@pytest.mark.parametrize("label", sorted(PROMISED))
def test_promised_primitive_is_registered_and_tested(label):
    function = PROMISED[label]
    rule = lookup(function)
    assert rule is not None, f"{label} has no rule"
    assert any(id(function_of(rule, case)) == id(function) for case in DOMAINS[rule.name])


def test_getitem_cases_cover_slices_repeated_integers_and_masks():
    indices = [case.args[1] for case in DOMAINS["getitem"]]
    flat = [i for index in indices for i in (index if isinstance(index, tuple) else (index,))]
    assert any(isinstance(i, slice) for i in flat)
    assert any(
        isinstance(i, np.ndarray) and i.dtype.kind == "i" and len(np.unique(i)) < i.size
        for i in flat
    )
    assert any(isinstance(i, np.ndarray) and i.dtype == bool for i in flat)


@pytest.mark.parametrize("name", ["matmul", "dot", "inner"])
def test_products_cover_every_rank_combination(name):
    pairs = {(len(c.args[0].shape), len(c.args[1].shape)) for c in DOMAINS[name]}
    assert {(a, b) for a in (1, 2, 3) for b in (1, 2, 3)} <= pairs


# --------------------------------------------------------------------------- the sweeps


@pytest.mark.parametrize(("name", "case"), DIFFERENTIABLE)
@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=SEEDS)
def test_tangent_rule_matches_central_differences(name, case, seed):
    rule = rule_named(name)
    rng = np.random.default_rng(seed)
    args = draw(case, rng)
    for path in wrt_paths(case):
        error = tangent_error(rule, case, args, path, rng)
        assert error < TANGENT_TOLERANCE, f"argument {path}: relative error {error:.2e}"


@pytest.mark.parametrize(("name", "case"), DIFFERENTIABLE)
@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=SEEDS)
def test_adjoint_rule_passes_dot_product_test(name, case, seed):
    rule = rule_named(name)
    rng = np.random.default_rng(seed)
    args = draw(case, rng)
    for path in wrt_paths(case):
        gap = dot_product_gap(rule, case, args, path, rng)
        assert gap < ADJOINT_TOLERANCE, f"argument {path}: relative gap {gap:.2e}"


@pytest.mark.parametrize(("name", "case"), DIFFERENTIABLE)
@settings(max_examples=EXAMPLES // 2, deadline=None)
@given(seed=SEEDS)
def test_chunk_of_three_directions_equals_three_single_pushes(name, case, seed):
    rule = rule_named(name)
    rng = np.random.default_rng(seed)
    args = draw(case, rng)
    tangents = {
        path: rng.standard_normal((3, *np.shape(get(args, path))))
        * (1 + 1j if np.iscomplexobj(get(args, path)) else 1) for path in wrt_paths(case)
    }
    ans, chunk = push(rule, case, args, tangents)
    assert chunk.shape == (3, *np.shape(ans))
    for j in range(3):
        _, single = push(rule, case, args, {p: t[j : j + 1] for p, t in tangents.items()})
        np.testing.assert_allclose(chunk[j], single[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "case"), DIFFERENTIABLE)
def test_rank_rule_predicts_output_rank(name, case):
    rule = rule_named(name)
    if rule.rank is None:
        return
    args = draw(case, np.random.default_rng(0))
    params, keywords = params_and_keywords(rule, case, args)
    predicted = rule.rank(*(np.ndim(p) for p in params), **keywords)
    if predicted is not None and rule.outputs is not None:
        results = evaluate(rule, case, args, joined=False)
        if isinstance(predicted, int):  # one rank for every result
            predicted = (predicted,) * len(results)
        assert predicted == tuple(np.ndim(r) for r in results)
    elif predicted is not None:
        assert predicted == np.ndim(evaluate(rule, case, args))


@pytest.mark.parametrize(("name", "case"), CONSTANT)
def test_nondifferentiable_function_returns_its_plain_result(name, case):
    rule = rule_named(name)
    args = draw(case, np.random.default_rng(0))
    tangents = {path: np.ones((1, *np.shape(get(args, path)))) for path in wrt_paths(case)}
    level = new_level()
    dual_args = args
    for path, t in tangents.items():
        dual_args = put(dual_args, path, Dual(get(args, path), t, level))
    out = function_of(rule, case)(*dual_args, **case.kwargs)
    expected = evaluate(rule, case, args)
    if isinstance(out, Dual):  # np.zeros_like gives a Dual that can be written into
        assert out.level == level and not np.any(out.tangent)
        out = out.primal
    if isinstance(expected, tuple):
        assert all(np.array_equal(a, b) for a, b in zip(out, expected, strict=True))
    elif function_of(rule, case) is not np.empty_like:
        assert np.array_equal(out, expected)


# --------------------------------------------------------------------------- the checker


def test_the_checks_reject_a_wrong_rule():
    """A sin whose tangent says -cos must fail the central-difference check, and a tanh
    whose adjoint forgets the square must fail the dot-product test."""
    rng = np.random.default_rng(1)
    case = Case((Arg((4,)),))
    sin = rule_named("sin")
    wrong_sin = dataclasses.replace(sin, tangents=(lambda t, ans, x: -t * np.cos(x),))
    args = draw(case, rng)
    assert tangent_error(sin, case, args, (0,), rng) < TANGENT_TOLERANCE
    assert tangent_error(wrong_sin, case, args, (0,), rng) > 0.1
    tanh = rule_named("tanh")
    wrong_tanh = dataclasses.replace(tanh, adjoints=("g * (1 - ans)",))
    assert dot_product_gap(tanh, case, args, (0,), rng) < ADJOINT_TOLERANCE
    assert dot_product_gap(wrong_tanh, case, args, (0,), rng) > 1e-3


# --------------------------------------------------------------------------- kinks, exactly


def forward_derivative(function, *args, wrt=0):
    """The derivative of ``function`` along a unit tangent on argument ``wrt`` (others fixed)."""
    level = new_level()
    args = list(args)
    args[wrt] = Dual(args[wrt], np.ones((1, *np.shape(args[wrt]))), level)
    out = function(*args)
    return out.tangent[0] if isinstance(out, Dual) else np.zeros(np.shape(out))


def adjoint(name, index, g, *args, **keywords):
    rule = rule_named(name)
    function = rule.primitives[0]
    ans = function(*args, **keywords)
    return rule.adjoint_function(index)(g, ans, *args, **keywords)


def test_abs_has_derivative_zero_at_zero():
    x = np.array([-2.0, 0.0, 3.0])
    expected = np.array([-1.0, 0.0, 1.0])
    assert np.array_equal(forward_derivative(np.abs, x), expected)
    assert np.array_equal(forward_derivative(abs, x), expected)
    assert np.array_equal(forward_derivative(np.fabs, x), expected)
    assert forward_derivative(abs, 0.0) == 0.0
    for name in ("absolute", "abs", "fabs"):
        assert np.array_equal(adjoint(name, 0, np.ones(3), x), expected)
        assert "abs'(0) = 0" in rule_named(name).doc or "fabs'(0) = 0" in rule_named(name).doc


@pytest.mark.parametrize("function", [np.maximum, np.minimum])
def test_elementwise_extremum_splits_a_tie_in_half(function):
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([2.0, 2.0, 2.0])
    wins = (x > y) if function is np.maximum else (x < y)
    expected_x = np.where(x == y, 0.5, wins.astype(float))
    expected_y = np.where(x == y, 0.5, 1.0 - wins)
    assert np.array_equal(forward_derivative(function, x, y, wrt=0), expected_x)
    assert np.array_equal(forward_derivative(function, x, y, wrt=1), expected_y)
    name = function.__name__
    assert np.array_equal(adjoint(name, 0, np.ones(3), x, y), expected_x)
    assert np.array_equal(adjoint(name, 1, np.ones(3), x, y), expected_y)
    assert "half" in rule_named(name).doc


@pytest.mark.parametrize(("function", "name"), [(max, "max_builtin"), (min, "min_builtin")])
def test_python_extremum_gives_a_tie_to_its_first_argument(function, name):
    rule = rule_named(name)
    for wrt, expected in ((0, 1.0), (1, 0.0)):
        level = new_level()
        args = [2.0, 2.0]
        args[wrt] = Dual(2.0, np.ones(1), level)
        assert apply(rule, function, tuple(args), {}).tangent[0] == expected
        # Python's own max on Duals picks the first argument too, so both modes agree.
        picked = function(*args)
        assert (isinstance(picked, Dual) and picked.tangent[0] == 1.0) == (wrt == 0)
        assert rule.adjoint_function(wrt)(1.0, 2.0, 2.0, 2.0) == expected
    assert "first argument" in rule.doc


@pytest.mark.parametrize("function", [np.max, np.amax, np.min, np.amin])
def test_reduction_extremum_shares_ties_equally(function):
    x = np.array([[3.0, -1.0, 3.0], [0.0, 3.0, 3.0]])
    x = x if function in (np.max, np.amax) else -x
    rule = lookup(function)
    g = 1.0
    expected = np.array([[1, 0, 1], [0, 1, 1]]) / 4
    assert np.array_equal(rule.adjoint_function(0)(g, function(x), x), expected)
    tangent = forward_derivative(lambda v: function(v * np.ones_like(x)), x)
    assert tangent == pytest.approx(np.sum(expected))
    # Along axis 1, the first row splits between two entries, the second too.
    by_row = rule.adjoint_function(0)(np.ones(2), function(x, axis=1), x, axis=1)
    assert np.array_equal(by_row, np.array([[1, 0, 1], [0, 1, 1]]) / 2)
    level = new_level()
    seed = np.eye(6).reshape(6, 2, 3)
    jacobian = function(Dual(x, seed, level), axis=1).tangent
    assert np.array_equal(jacobian.reshape(2, 3, 2)[..., 0], np.array([[1, 0, 1], [0, 0, 0]]) / 2)
    assert "equally" in rule.doc


def guarded_sqrt(x):
    return np.where(x > 0, np.sqrt(x), 0.0)


@pytest.mark.parametrize("x", [0.0, -1.0])
def test_where_keeps_the_unselected_branch_out_of_the_tangent(x):
    with np.errstate(invalid="ignore", divide="ignore"):
        derivative = autodiffx.grad(guarded_sqrt, mode="forward")(x)
        value, tangent = autodiffx.jvp(guarded_sqrt, (x,), (1.0,))
    assert derivative == 0.0 and tangent == 0.0 and value == 0.0


def test_where_keeps_the_unselected_branch_out_of_the_adjoint():
    x = np.array([0.0, -1.0, 4.0])
    c = x > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(x)
        ans = np.where(c, s, 0.0)
        ds = rule_named("where").adjoint_function(1)(np.ones(3), ans, c, s, 0.0)
        dx = rule_named("sqrt").adjoint_function(0)(ds, s, x)
        forward = forward_derivative(guarded_sqrt, x)
    assert np.array_equal(dx, [0.0, 0.0, 0.25])
    assert np.array_equal(forward, [0.0, 0.0, 0.25])
    # The other branch: where(c, 0, sqrt(x)) sends nothing to x where c holds.
    dy = rule_named("where").adjoint_function(2)(np.ones(3), ans, ~c, 0.0, s)
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = rule_named("sqrt").adjoint_function(0)(dy, s, x)
    assert np.array_equal(dx, [0.0, 0.0, 0.25])
    assert "never NaN" in rule_named("where").doc


def test_sqrt_derivative_at_zero_is_inf_but_a_zero_tangent_stays_zero():
    level = new_level()
    with np.errstate(divide="ignore"):
        out = np.sqrt(Dual(np.array([0.0, 0.0, 4.0]), np.array([[1.0, 0.0, 1.0]]), level))
    assert np.array_equal(out.tangent, [[np.inf, 0.0, 0.25]])
    sqrt = rule_named("sqrt").adjoint_function(0)
    with np.errstate(divide="ignore"):
        assert np.array_equal(sqrt(np.array([1.0, 0.0]), np.zeros(2), np.zeros(2)), [np.inf, 0])
    assert "0 times it is 0" in rule_named("sqrt").doc


def test_norm_has_gradient_zero_at_the_origin():
    norm = rule_named("norm")
    x = np.zeros(3)
    assert np.array_equal(forward_derivative(np.linalg.norm, x), 0.0)
    assert np.array_equal(norm.adjoint_function(0)(1.0, 0.0, x), np.zeros(3))
    rows = np.array([[0.0, 0.0], [3.0, 4.0]])
    by_row = norm.adjoint_function(0)(np.ones(2), np.linalg.norm(rows, axis=1), rows, axis=1)
    assert np.array_equal(by_row[0], [0.0, 0.0])
    np.testing.assert_allclose(by_row[1], [0.6, 0.8], rtol=1e-15)
    level = new_level()
    tangent = np.linalg.norm(Dual(rows, np.ones((1, 2, 2)), level), axis=1).tangent
    assert tangent[0, 0] == 0.0
    assert tangent[0, 1] == pytest.approx(1.4, rel=1e-15)
    assert "origin is taken as 0" in norm.doc


def test_clip_sends_the_derivative_to_x_at_its_bounds():
    x = np.array([-1.0, 0.0, 1.0, 2.0, -3.0])
    lo, hi = -1.0, 1.0
    expected = np.array([1.0, 1.0, 1.0, 0.0, 0.0])
    assert np.array_equal(forward_derivative(np.clip, x, lo, hi), expected)
    assert np.array_equal(forward_derivative(np.clip, x, lo, hi, wrt=1), [0, 0, 0, 0, 1])
    assert np.array_equal(forward_derivative(np.clip, x, lo, hi, wrt=2), [0, 0, 0, 1, 0])
    clip = rule_named("clip")
    ans = np.clip(x, lo, hi)
    assert np.array_equal(clip.adjoint_function(0)(np.ones(5), ans, x, lo, hi), expected)
    assert clip.adjoint_function(1)(np.ones(5), ans, x, lo, hi) == 1.0
    assert clip.adjoint_function(2)(np.ones(5), ans, x, lo, hi) == 1.0
    assert "boundaries included" in clip.doc


def test_prod_with_zeros_is_exact():
    prod = rule_named("prod")
    for x, expected in (
        ([2.0, 0.0, 3.0], [0.0, 6.0, 0.0]),
        ([0.0, 0.0, 3.0], [0.0, 0.0, 0.0]),
        ([2.0, 5.0, 3.0], [15.0, 6.0, 10.0]),
    ):
        x = np.array(x)
        assert np.array_equal(prod.adjoint_function(0)(1.0, np.prod(x), x), expected)
        level = new_level()
        assert np.array_equal(np.prod(Dual(x, np.eye(3), level)).tangent, expected)
    x = np.array([[0.0, 2.0], [3.0, 0.0], [4.0, 5.0]])
    by_row = prod.adjoint_function(0)(np.ones(3), np.prod(x, axis=1), x, axis=1)
    assert np.array_equal(by_row, [[2.0, 0.0], [0.0, 3.0], [5.0, 4.0]])
    assert "Exact" in prod.doc


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("position", [1, 2, 3])
def test_einsum_with_three_operands_is_refused(position):
    """Each operand's rules refuse, so that no operand's derivative is silently dropped."""
    operands = [np.ones((2, 3)), np.ones((3, 4)), np.ones(4)]
    args = ["ij,jk,k->i", *operands]
    ans = np.einsum(*args)
    rule = rule_named("einsum")
    with pytest.raises(autodiffx.MissingRuleError, match="3 operands"):
        rule.adjoint_function(position)(np.ones(2), ans, *args)
    level = new_level()
    args[position] = Dual(args[position], np.ones((1, *np.shape(args[position]))), level)
    with pytest.raises(autodiffx.MissingRuleError, match="one or two operands"):
        np.einsum(*args)


def test_einsum_sublists_read_as_numpy_reads_them():
    """0-25 are 'A'-'Z' and 26-51 'a'-'z', which decides the implicit output's order."""
    x = np.arange(6.0).reshape(2, 3)
    y = np.arange(6.0).reshape(3, 2)
    for labels in ([27, 1], [1, 27], [0, 26], [26, 0]):
        level = new_level()
        out = np.einsum(Dual(x, np.ones((1, 2, 3)), level), labels)
        assert np.array_equal(out.primal, np.einsum(x, labels))
        assert np.shape(out.tangent) == (1, *np.shape(out.primal))
    spec = np.einsum(x, [0, 1], y, [1, 0])
    assert spec == np.einsum("AB,BA", x, y)


def test_a_malformed_rule_is_refused_when_registered():
    def scale(x):
        return 2 * x

    with pytest.raises(autodiffx.AutodiffError, match="one tangent and one adjoint"):
        autodiffx.defrule(scale, "x", tangents=(None,), adjoints=())
    with pytest.raises(autodiffx.AutodiffError, match="scale.*'x'"):
        autodiffx.defrule(scale, "x", tangents=(lambda t, ans, x: 2 * t,), adjoints=("2 * (g",))
    assert lookup(scale) is None


def test_compiled_adjoints_belong_to_their_rule():
    """A rule made after another was freed often reuses its id(); it must not reuse its
    compiled adjoints."""
    sin = rule_named("sin")
    for factor in (1.0, 2.0, 3.0):
        rule = dataclasses.replace(sin, adjoints=(f"g * {factor}",))
        assert rule.adjoint_function(0)(1.0, 0.0, 0.0) == factor
        del rule


def test_einsum_adjoint_can_leave_out_the_second_operand():
    x = np.arange(9.0).reshape(3, 3)
    adjoint = rule_named("einsum").adjoint_function(1)
    assert np.array_equal(adjoint(2.0, np.trace(x), "ii->", x), 2.0 * np.eye(3))


def scaled(rule, part):
    """``rule`` with its tangent rules or its adjoint rules off by 10 percent."""
    if part == "tangents":
        def off(f):
            if rule.outputs is not None:  # one tangent per result
                return lambda *a, **k: [None if t is None else 1.1 * t for t in f(*a, **k)]
            return lambda *a, **k: 1.1 * f(*a, **k)

        wrong = tuple(None if f is None else off(f) for f in rule.tangents)
        return dataclasses.replace(rule, tangents=wrong)
    template = "[1.1 * a for a in ({})]" if rule.sequence else "1.1 * ({})"
    wrong = tuple(None if e is None else template.format(e) for e in rule.adjoints)
    return dataclasses.replace(rule, adjoints=wrong)


@pytest.mark.parametrize("name", sorted(r.name for r in all_rules() if r.differentiable))
def test_the_checks_catch_every_rule_when_it_is_off(name):
    """Mutation test: each rule, scaled by 1.1, fails its checks on at least one case."""
    rule = rule_named(name)
    caught = {"tangents": False, "adjoints": False}
    for case in DOMAINS[name]:
        rng = np.random.default_rng(7)
        args = draw(case, rng)
        for path in wrt_paths(case):
            if tangent_error(scaled(rule, "tangents"), case, args, path, rng) > 1e-3:
                caught["tangents"] = True
            if dot_product_gap(scaled(rule, "adjoints"), case, args, path, rng) > 1e-3:
                caught["adjoints"] = True
    assert caught == {"tangents": True, "adjoints": True}


# --------------------------------------------------------------------------- both modes at kinks

TIES = Integers(-1, 1)  # whole numbers: ties, zeros and bounds hit all the time
KINKED = ("absolute", "fabs", "abs", "maximum", "minimum", "max_builtin", "min_builtin",
          "clip", "max", "min", "norm", "prod", "where")  # fmt: skip


def on_kinks(case: Case) -> Case:
    """``case`` with its real-valued arguments drawn from whole numbers in [-1, 1]."""

    def move(arg):
        if isinstance(arg, list):
            return [move(a) for a in arg]
        if isinstance(arg, Arg) and not isinstance(arg.domain, Booleans):
            return dataclasses.replace(arg, domain=TIES)
        return arg

    return dataclasses.replace(case, args=tuple(move(a) for a in case.args), valid=None)


KINK_CASES = [
    pytest.param(name, on_kinks(case), id=case_id(name, case))
    for name in KINKED
    for case in DOMAINS[name]
]


@pytest.mark.parametrize(("name", "case"), KINK_CASES)
@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=SEEDS)
def test_tangent_and_adjoint_agree_at_kinks(name, case, seed):
    """Central differences say nothing at a kink, but the two modes must still agree:
    the tangent and adjoint rules follow one convention."""
    rule = rule_named(name)
    rng = np.random.default_rng(seed)
    args = draw(case, rng)
    if name == "clip" and args[1] is not None and args[2] is not None:
        # np.clip with lo > hi has no sensible derivative: keep the bounds in order.
        args[1], args[2] = np.minimum(args[1], args[2]), np.maximum(args[1], args[2])
    for path in wrt_paths(case):
        gap = dot_product_gap(rule, case, args, path, rng)
        assert gap < ADJOINT_TOLERANCE, f"argument {path}: relative gap {gap:.2e}"


@settings(max_examples=40, deadline=None)
@given(
    seed=SEEDS,
    shape_and_axis=st.sampled_from(
        [((4,), None), ((2, 3), 0), ((2, 3), -1), ((2, 3, 2), (0, 2)), ((2, 3, 2), None),
         ((3, 1, 2), 1), ((), None)]
    ),
)  # fmt: skip
def test_prod_partials_are_the_products_of_the_other_entries(seed, shape_and_axis):
    shape, axis = shape_and_axis
    x = np.random.default_rng(seed).integers(-2, 3, size=shape).astype(float)  # many zeros
    expected = np.empty(shape)
    for i in np.ndindex(*shape):
        others = x.copy()
        others[i] = 1.0
        expected[i] = np.broadcast_to(np.prod(others, axis=axis, keepdims=True), shape)[i]
    assert np.array_equal(prod_partials(x, axis), expected)
