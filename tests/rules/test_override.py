"""A shorthand given a function that already has a rule refuses to replace it unless told
``override=True``: a silent replacement hides a typo or a rule registered twice."""

from __future__ import annotations

import numpy as np
import pytest

import autodiffx
from autodiffx import ArgumentError
from autodiffx.rules import defrule, elementwise, lookup, nondifferentiable, register, unregister


def tripled(x):
    return 3.0 * x


def uses_tripled(x):
    return np.sum(tripled(x))


@pytest.fixture
def tripled_rule():
    rule = defrule(tripled, "x", tangents=(lambda t, ans, x: 3.0 * t,), adjoints=("3.0 * g",))
    yield rule
    current = lookup(tripled)
    if current is not None:
        unregister(current)


@pytest.mark.parametrize("register_again", [
    lambda **options: defrule(tripled, "x", tangents=(lambda t, ans, x: 4.0 * t,),
                              adjoints=("4.0 * g",), **options),
    lambda **options: elementwise(tripled, "4.0", **options),
    lambda **options: nondifferentiable(tripled, **options),
], ids=["defrule", "elementwise", "nondifferentiable"])
def test_a_second_rule_needs_override(tripled_rule, register_again):
    with pytest.raises(ArgumentError) as refused:
        register_again()
    message = str(refused.value)
    assert "tripled already has a derivative rule ('tripled')" in message
    assert "pass override=True" in message
    assert lookup(tripled) is tripled_rule  # the first rule stays
    x = np.array([1.0, 2.0])
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(autodiffx.grad(uses_tripled, mode=mode)(x), [3.0, 3.0])
    replaced = register_again(override=True)
    assert lookup(tripled) is replaced


def test_a_built_in_rule_is_protected_too():
    original = lookup(np.tanh)
    with pytest.raises(ArgumentError, match="tanh already has a derivative rule"):
        elementwise(np.tanh, "2 * (1 - ans ** 2)")
    assert lookup(np.tanh) is original
    try:
        elementwise(np.tanh, "2 * (1 - ans ** 2)", override=True)
        assert autodiffx.grad(np.tanh, mode="forward")(0.0) == 2.0
    finally:
        register(original)
    assert autodiffx.grad(np.tanh, mode="forward")(0.0) == 1.0


def test_a_new_function_needs_no_override():
    def halved(x):
        return x / 2

    rule = elementwise(halved, "0.5")
    try:
        assert lookup(halved) is rule
    finally:
        unregister(rule)


def test_a_rule_named_like_a_builtin_rule_hides_it_only_until_it_is_removed():
    """A user's function called ``square`` gets a rule named "square", like np.square's;
    removing it must leave np.square's rule listed and named as before."""
    from autodiffx.rules import all_rules, rule_named

    builtin = lookup(np.square)
    assert rule_named("square") is builtin

    def square(x):
        return x * x

    mine = defrule(square, "x", tangents=(lambda t, ans, x: 2 * x * t,), adjoints=("2 * x * g",))
    assert mine.name == "square"
    assert rule_named("square") is mine
    assert builtin in all_rules() and mine in all_rules()
    unregister(mine)
    assert rule_named("square") is builtin
    assert builtin in all_rules() and mine not in all_rules()
    assert lookup(np.square) is builtin
    assert autodiffx.grad(lambda x: np.sum(np.square(x)), mode="forward")(np.ones(2)).tolist() \
        == [2.0, 2.0]


def test_a_rule_replaced_for_its_primitives_is_no_longer_listed(tripled_rule):
    replacement = elementwise(tripled, "3.0", name="tripled_again", override=True)
    from autodiffx.rules import all_rules

    assert replacement in all_rules() and tripled_rule not in all_rules()


def squared_by_operator(x):
    return x * x


def squared_by_function(x):
    return np.multiply(x, x)


def test_a_replaced_rule_reaches_the_operators_of_forward_mode_too():
    """``x * y`` on dual numbers uses ``np.multiply``'s rule as ``np.multiply(x, y)`` does,
    after a replacement too (the operators keep the rules they use bound to names)."""
    original = lookup(np.multiply)
    tripled = defrule(np.multiply, "x y",
                      tangents=(lambda t, ans, x, y: 3.0 * t * y, lambda t, ans, x, y: 3.0 * t * x),
                      adjoints=("unbroadcast(3.0 * g * y, x)", "unbroadcast(3.0 * g * x, y)"),
                      override=True)
    try:
        for f in (squared_by_operator, squared_by_function):
            assert autodiffx.grad(f, mode="forward")(2.0) == 12.0  # the replaced rule
            assert autodiffx.grad(f)(2.0) == 12.0
    finally:
        unregister(tripled)
        register(original)
    for f in (squared_by_operator, squared_by_function):
        assert autodiffx.grad(f, mode="forward")(2.0) == 4.0  # the rule back in place
        assert autodiffx.grad(f)(2.0) == 4.0


def tanh_summed(x):
    return np.sum(np.tanh(x))


def test_a_gradient_made_before_a_replacement_follows_it():
    """A gradient function reuses its last call's code while the call is laid out the same
    (the vjp, or the gradient without the value where the value is proved real, as for
    ``tanh_summed``): a rule replaced between two calls reaches the next call all the same,
    and so does the rule put back."""
    x = np.array([0.0, 0.5])
    by_tripled = autodiffx.grad(uses_tripled)
    by_tanh = autodiffx.grad(tanh_summed)
    slope = 1 - np.tanh(x) ** 2
    for _ in range(2):  # the second call takes the repeated-call path
        np.testing.assert_allclose(by_tanh(x), slope)
    original = lookup(np.tanh)
    try:
        elementwise(np.tanh, "2 * (1 - ans ** 2)", override=True)
        for _ in range(2):
            np.testing.assert_allclose(by_tanh(x), 2 * slope)
    finally:
        register(original)
    np.testing.assert_allclose(by_tanh(x), slope)
    rule = defrule(tripled, "x", tangents=(lambda t, ans, x: 3.0 * t,), adjoints=("3.0 * g",))
    try:
        for _ in range(2):
            np.testing.assert_allclose(by_tripled(x), [3.0, 3.0])
        defrule(tripled, "x", tangents=(lambda t, ans, x: 4.0 * t,), adjoints=("4.0 * g",),
                override=True)
        for _ in range(2):
            np.testing.assert_allclose(by_tripled(x), [4.0, 4.0])
    finally:
        current = lookup(tripled)
        if current is not None:
            unregister(current)
    del rule
