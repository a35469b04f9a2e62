"""What forward mode's generated code reads from the registry, checked rule by rule.

The generated JVP (:mod:`autodiffx.reverse.tangent`) writes an elementwise rule's tangent
as the expression in ``Rule.tangent_texts`` and a linear argument's as the primitive applied
to the tangent (``Rule.linear``), where dual numbers call the rule's tangent function. Both
must give what the tangent function gives, on every way of calling the rule
(``domains.py``), which ``test_rules.py`` checks against central differences. Then the
generated JVP of a function calling the primitive, end to end, against dual numbers.
"""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest
from hypothesis import given, settings

import autodiffx
from autodiffx.reverse import jvp as generated
from autodiffx.rules import all_rules, rule_named
from autodiffx.rules.registry import ADJOINT_NAMESPACE

from .test_rules import ALL_CASES, DIRECT, DISPATCHING, SEEDS, case_id, draw, function_of, wrt_paths

EXAMPLES = 10


def _one_direction(rule, index, t, ans, args, kwargs):
    """The rule's tangent function through argument ``index`` for the one direction ``t``,
    broadcast to the value's shape (as dual numbers fit it)."""
    pushed = np.asarray(t)[np.newaxis]
    if rule.elementwise and pushed.ndim <= np.ndim(ans):
        pushed = pushed.reshape((1,) * (np.ndim(ans) + 1 - np.ndim(t)) + np.shape(t))
    return np.broadcast_to(rule.tangents[index](pushed, ans, *args, **kwargs)[0],
                           np.shape(ans))


def _cases(selected):
    return [pytest.param(name, case, id=case_id(name, case)) for name, case in ALL_CASES
            if selected(rule_named(name)) and not any(isinstance(a, list) for a in case.args)]


WITH_TEXTS = _cases(lambda rule: any(t is not None for t in rule.tangent_texts))
LINEAR = _cases(lambda rule: bool(rule.linear))


def test_texts_and_linear_positions_are_given_where_expected():
    texts = {rule.name for rule in all_rules() if rule.tangent_texts}
    linear = {rule.name for rule in all_rules() if rule.linear}
    assert {"tanh", "add", "multiply", "maximum", "exp"} <= texts
    assert {"matmul", "sum", "mean", "expand_dims", "getitem", "transpose"} <= linear
    for rule in all_rules():
        assert all(0 <= i < len(rule.params) for i in rule.linear), rule.name
        assert not rule.tangent_texts or len(rule.tangent_texts) == len(rule.params)


@pytest.mark.parametrize(("name", "case"), WITH_TEXTS)
@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=SEEDS)
def test_an_inlined_tangent_is_the_tangent_rule(name, case, seed):
    rule = rule_named(name)
    if case.kwargs or function_of(rule, case) in DIRECT:
        return  # the generated code inlines a text only for a call without keywords
    rng = np.random.default_rng(seed)
    args = draw(case, rng)
    ans = function_of(rule, case)(*args)
    for (index,) in wrt_paths(case):
        text = rule.tangent_texts[index]
        if text is None:
            continue
        t = rng.standard_normal(np.shape(args[index]))
        names = dict(ADJOINT_NAMESPACE, t=t, ans=ans)
        names.update(zip(rule.params, args, strict=False))
        inlined = np.broadcast_to(eval(text, names), np.shape(ans))
        expected = _one_direction(rule, index, t, ans, args, {})
        np.testing.assert_allclose(inlined, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "case"), LINEAR)
@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=SEEDS)
def test_a_linear_argument_s_tangent_is_the_primitive_of_the_tangent(name, case, seed):
    rule = rule_named(name)
    rng = np.random.default_rng(seed)
    args = draw(case, rng)
    function = function_of(rule, case)
    ans = function(*args, **case.kwargs)
    for (index,) in wrt_paths(case):
        if index not in rule.linear:
            continue
        t = rng.standard_normal(np.shape(args[index]))
        replaced = list(args)
        replaced[index] = t if np.ndim(args[index]) else float(t)
        expected = _one_direction(rule, index, t, ans, args, case.kwargs)
        np.testing.assert_allclose(function(*replaced, **case.kwargs), expected,
                                   rtol=1e-12, atol=1e-12)


JOINS = [pytest.param(name, case, id=case_id(name, case)) for name, case in ALL_CASES
         if rule_named(name).sequence and rule_named(name).linear]


def test_the_joins_are_marked_linear():
    assert {"concatenate", "stack", "vstack", "hstack"} <= {name for name, _ in ALL_CASES
                                                           if rule_named(name).linear
                                                           and rule_named(name).sequence}


@pytest.mark.parametrize(("name", "case"), JOINS)
@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=SEEDS)
def test_a_join_s_tangent_is_the_join_of_the_tangents(name, case, seed):
    """A sequence rule in ``Rule.linear`` (position 0, the arrays together): the generated
    code joins the items' tangents, zeros for the items without one."""
    rule = rule_named(name)
    rng = np.random.default_rng(seed)
    args = draw(case, rng)
    function = function_of(rule, case)
    ans = function(*args, **case.kwargs)
    items = args[0]
    tangents = [rng.standard_normal(np.shape(item)) if j % 2 == 0 else np.zeros(
        np.shape(item)) for j, item in enumerate(items)]
    expected = rule.tangents[0]([t[np.newaxis] for t in tangents], ans, items, *args[1:],
                                **case.kwargs)[0]
    np.testing.assert_allclose(function(tangents, *args[1:], **case.kwargs), expected,
                               rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- end to end

_counter = itertools.count()


def _calling(function, case, args, tmp_path):
    """A module function calling ``function`` as ``case`` does, its differentiated
    arguments as parameters and the rest as literals or module constants."""
    params, call, constants = [], [], {}
    for i in range(len(case.args)):
        if (i,) in wrt_paths(case):
            params.append(f"x{i}")
            call.append(f"x{i}")
        else:
            constants[f"C{i}"] = args[i]
            call.append(f"C{i}")
    keywords = "".join(f", {k}=K_{k}" for k in case.kwargs)
    text = (f"def f({', '.join(params)}):\n"
            f"    y = F({', '.join(call)}{keywords})\n"
            f"    return y\n")
    path = tmp_path / f"calling_{next(_counter)}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    module.F = function
    module.np = np
    for name, value in constants.items():
        setattr(module, name, value)
    for key, value in case.kwargs.items():
        setattr(module, f"K_{key}", value)
    spec.loader.exec_module(module)
    return module.f


END_TO_END = _cases(lambda rule: rule.differentiable and rule.outputs is None
                    and not rule.sequence)


@pytest.mark.parametrize(("name", "case"), END_TO_END)
def test_the_generated_jvp_of_a_call_agrees_with_dual_numbers(name, case, tmp_path):
    rule = rule_named(name)
    function = function_of(rule, case)
    if function in DIRECT:
        return
    function = DISPATCHING.get(function, function)  # (as test_rules.py's push does)
    rng = np.random.default_rng(7)
    args = draw(case, rng)
    positions = [i for (i,) in wrt_paths(case)]
    f = _calling(function, case, args, tmp_path)
    primals = tuple(args[i] if np.ndim(args[i]) else float(args[i]) for i in positions)
    tangents = tuple(rng.standard_normal(np.shape(p)) if np.ndim(p) else float(
        rng.standard_normal()) for p in primals)
    generated.code_for(f, primals, tangents)  # (jvp makes the code at a second call)
    written = generated.jvp(f, primals, tangents)
    previous = generated.enable(False)
    try:
        value, tangent = autodiffx.jvp(f, primals, tangents)
    finally:
        generated.enable(previous)
    if written is None:
        return  # declined: dual numbers alone, which test_rules.py checks
    np.testing.assert_allclose(written[0], value, rtol=1e-13, atol=0)
    np.testing.assert_allclose(np.asarray(written[1]), np.asarray(tangent),
                               rtol=1e-10, atol=1e-12)
    assert np.shape(written[1]) == np.shape(tangent)
