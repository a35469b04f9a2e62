"""Every refusal is raised at transform time, of the right class, naming file and line."""

import inspect
import traceback

import numpy as np
import pytest

import autodiffx
from autodiffx import reverse
from autodiffx.errors import (
    MissingRuleError,
    NoSourceError,
    UnsupportedSyntaxError,
    UserCodeError,
)

from . import unsupported as u


def line_of(function, text):
    lines, start = inspect.getsourcelines(function)
    for offset, line in enumerate(lines):
        if text in line:
            return start + offset
    raise AssertionError(text)


@pytest.mark.parametrize(
    "function, marker, construct",
    [
        (u.uses_try, "try:", "try"),
        (u.uses_with, "with open", "with"),
        (u.uses_global_statement, "global COUNTER", "global"),
        (u.uses_lambda, "lambda v", "lambda"),
        (u.uses_del, "del y", "del"),
        (u.generator, "yield x", "yield"),
        (u.class_inside, "class Box", "class"),
    ],
)
def test_unsupported_syntax_names_construct_file_and_line(function, marker, construct):
    with pytest.raises(UnsupportedSyntaxError) as error:
        autodiffx.grad(function)(1.0)
    message = str(error.value)
    assert construct in message
    assert f"unsupported.py:{line_of(function, marker)}" in message
    assert marker in message
    assert "hint" in message


def test_terminating_recursion_is_differentiated():
    # the recursive call has the same ranks, so it reuses the vjp being generated
    assert autodiffx.grad(u.recursive)(1.5, 3) == pytest.approx(8.0)


def test_missing_rule_names_the_function_and_how_to_register():
    with pytest.raises(MissingRuleError) as error:
        autodiffx.grad(u.no_rule)(np.ones(3))
    message = str(error.value)
    assert "unwrap" in message and "defrule" in message
    assert f"unsupported.py:{line_of(u.no_rule, 'np.unwrap')}" in message


def test_arguments_a_rule_does_not_understand_are_refused_not_dropped():
    # dropping where= would give the gradient of the unmasked sum
    with pytest.raises(MissingRuleError, match=r"np.sum\(\.\.\., where=\.\.\.\)") as error:
        autodiffx.grad(u.masked_sum)(np.array([1.0, -2.0]))
    assert f"unsupported.py:{line_of(u.masked_sum, 'where=')}" in str(error.value)
    with pytest.raises(MissingRuleError, match="with 4 positional arguments"):
        autodiffx.grad(u.three_operand_einsum)(np.ones((2, 3)), np.ones((3, 2)), np.ones(2))
    # by position, NumPy's own signature names the argument: dtype, not the rule's keepdims
    for mode in ("reverse", "forward"):
        with pytest.raises(MissingRuleError, match="'dtype', given by position"):
            autodiffx.grad(u.mean_with_dtype_by_position, mode=mode)(np.ones((2, 3)))


def test_list_of_differentiated_values_passed_to_np_sum_is_its_stack():
    # NumPy takes the list as np.asarray of it; reverse mode follows it as np.stack (this
    # was refused before lists passed to NumPy functions were followed)
    x = np.array([0.3, -0.5, 0.9])
    step = 1e-6
    numeric = np.array([(u.appends(x + step * e) - u.appends(x - step * e)) / (2 * step)
                        for e in np.eye(3)])
    np.testing.assert_allclose(autodiffx.grad(u.appends)(x), numeric, rtol=1e-6, atol=1e-9)
    # forward mode cannot see inside a list NumPy converts, and says so
    with pytest.raises(autodiffx.AutodiffError, match="plain NumPy array"):
        autodiffx.grad(u.appends, mode="forward")(x)


def test_extend_of_differentiated_values_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="extend") as error:
        autodiffx.grad(u.extends)(1.0)
    assert f"unsupported.py:{line_of(u.extends, 'values.extend')}" in str(error.value)


def test_star_args_are_spread_into_parameters():
    assert autodiffx.grad(u.star_args)(1.5) == pytest.approx(2.0)
    assert autodiffx.grad(u.forwards_star_args, wrt=(0, 1))(1.5, 2.0) == (
        pytest.approx(4.0), pytest.approx(3.0))


def test_differentiating_star_args_used_otherwise_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match=r"\*xs") as error:
        reverse.build(u.loops_over_star_args, (0,), (0,))
    assert "unsupported.py" in str(error.value)


@pytest.mark.parametrize("function", [np.sin, np.sum, max])
def test_no_source_for_builtins_and_ufuncs(function):
    with pytest.raises(NoSourceError, match='mode="forward"'):
        reverse.build(function, (0,), (0,))


def test_no_source_for_exec_code():
    namespace = {"np": np}
    exec("def f(x):\n    return x * 2\n", namespace)
    with pytest.raises(NoSourceError, match="exec"):
        autodiffx.grad(namespace["f"])(1.0)


def test_lambda_alone_on_its_line_is_supported():
    assert autodiffx.grad(u.one_lambda)(0.0) == pytest.approx(2.0)


def test_two_lambdas_on_one_line_are_refused():
    with pytest.raises(NoSourceError, match="2 lambdas") as error:
        autodiffx.grad(u.two_lambdas[0])(1.0)
    assert "unsupported.py" in str(error.value)


def mismatch(W, x):
    z = np.tanh(x)
    return np.sum(W @ z)


def test_numpy_errors_in_the_forward_sweep_name_the_users_line():
    with pytest.raises(UserCodeError) as error:
        autodiffx.grad(mismatch)(np.ones((2, 3)), np.ones(4))
    message = str(error.value)
    original = error.value.__cause__
    assert isinstance(original, ValueError) and not isinstance(original, UserCodeError)
    assert str(original) in message, "NumPy's own message is kept"
    assert f"test_errors.py:{line_of(mismatch, 'W @ z')}" in message
    assert "return np.sum(W @ z)" in message
    assert isinstance(error.value, ValueError)
    frames = traceback.extract_tb(original.__traceback__)
    generated = [f for f in frames if "autodiffx-generated" in f.filename]
    assert generated and "W @ z" in generated[-1].line, "pdb can still see the generated line"


def _doubled(x):
    return x * 2.0


@pytest.fixture
def broken_rule():
    """A rule for _doubled whose adjoint has the wrong shape, registered for one test only
    (left registered, it would show up in the rule-coverage tests of tests/rules)."""
    rule = autodiffx.defrule(_doubled, "x", tangents=(lambda t, ans, x: 2.0 * t,),
                             adjoints=("g * np.ones(7)",))
    yield rule
    autodiffx.rules.unregister(rule)


def broken_adjoint(x):
    y = np.sin(x)
    z = _doubled(y)
    return np.sum(z)


def test_numpy_errors_in_the_adjoint_sweep_name_the_users_line(broken_rule):
    with pytest.raises(UserCodeError) as error:
        autodiffx.grad(broken_adjoint)(np.ones(3))
    message = str(error.value)
    assert "gradient" in message and "broadcast" in message
    assert f"test_errors.py:{line_of(broken_adjoint, 'z = _doubled(y)')}" in message
    assert "z = _doubled(y)" in message
    assert isinstance(error.value.__cause__, ValueError)


def test_errors_of_user_code_called_from_generated_code_name_the_callee():
    def outer(W, x):
        return mismatch(W, x) * 2.0

    with pytest.raises(UserCodeError) as error:
        autodiffx.grad(outer)(np.ones((2, 3)), np.ones(4))
    assert f"test_errors.py:{line_of(mismatch, 'W @ z')}" in str(error.value)


def test_autodiffx_errors_raised_inside_generated_code_pass_unchanged():
    def f(x):
        return np.sum(np.pad(x, 1, mode="mean"))  # unpad refuses mode='mean' when it runs

    with pytest.raises(autodiffx.AutodiffError) as error:
        autodiffx.grad(f)(np.ones(4))
    assert not isinstance(error.value, UserCodeError)


def test_list_bound_to_something_else_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="list of differentiated values") as error:
        autodiffx.grad(u.list_comprehension_over_list)(1.0)
    marker = "values = [x, x * 2]"
    assert f"unsupported.py:{line_of(u.list_comprehension_over_list, marker)}" in str(
        error.value)


def test_list_passed_to_a_user_function_is_refused():
    def total(values):
        return values[0] + values[1]

    def f(x):
        values = [x, x * 2.0]
        return total(values)

    with pytest.raises(UnsupportedSyntaxError, match="list values"):
        autodiffx.grad(f)(1.0)


def test_errors_outside_user_lines_are_not_rewrapped():
    def f(x):
        return np.sum(x**2)

    generated = reverse.build(f, (0,), (1,))
    value, pullback = generated.function(np.ones(3))
    with pytest.raises(ValueError) as error:
        pullback(np.ones(5))  # a wrong cotangent: no user line to blame, or its line
    assert error.value.__cause__ is not error.value


def _one_entry_column(x):
    return np.sum(x ** 2, axis=0, keepdims=True)[None, :]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_an_output_of_one_entry_has_a_gradient(mode):
    """Shape (1,) or (1, 1, 1) is one number (as autograd and PyTorch take it); two entries
    are refused."""
    x = np.array([[1.0], [2.0]])
    value, gradient = autodiffx.value_and_grad(_one_entry_column, mode=mode)(x)
    assert np.shape(value) == (1, 1, 1) and float(value.item()) == 5.0
    np.testing.assert_allclose(gradient, 2 * x)
    with pytest.raises(autodiffx.NonScalarOutputError, match=r"shape \(1, 1, 2\)"):
        autodiffx.grad(_one_entry_column, mode=mode)(np.ones((2, 2)))
