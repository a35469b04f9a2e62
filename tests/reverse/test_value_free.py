"""grad's gradient without the value (ModuleBuilder.add_gradient, optimize.without_value).

``grad`` throws the value away, so where the code is made for the arguments' shapes and the
value is proved a real scalar (shapes.real_scalar), a repeated call runs a function that
skips it. The proof is checked against what NumPy returns on random programs; the gradient
against central differences, the vjp and a closed form; and every output ``grad`` refuses
is still refused on the repeated-call path.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.errors import (
    AutodiffError,
    ComplexOutputError,
    NonScalarOutputError,
    OutputTypeError,
)
from autodiffx.ner.model import max_margin_loss
from autodiffx.reverse import adjoint, emit, ir, shapes
from autodiffx.reverse.normalize import Normalizer
from autodiffx.reverse.source import parse_function

from .defined import define
from .test_gradients import check

_function = define


@pytest.fixture(scope="module")
def monkeypatch_module():
    """A monkeypatch that hypothesis examples may share (undone after the module)."""
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _generated(f, args, wrt):
    """The code grad made for ``args`` (as the API asks for it)."""
    layouts = tuple(np.shape(a) if isinstance(a, np.ndarray) else () for a in args)
    ranks = tuple(len(s) for s in layouts)
    return emit.build(f, tuple(wrt), ranks, argument_shapes=layouts)


def _proved(f, args) -> bool:
    source = parse_function(f)
    normalizer = Normalizer(source, ir.Namer(set()))
    try:
        statements = normalizer.run()
    except AutodiffError:
        return False  # refused by reverse mode: no code, nothing to prove
    argument_shapes = [np.shape(a) for a in args]
    found = shapes.infer(statements, normalizer.params, argument_shapes)
    return shapes.real_scalar(statements, normalizer.params, argument_shapes,
                              statements[-1].value, found) is not None


def test_grad_of_the_ner_loss_skips_the_value_and_agrees_with_the_vjp():
    rng = np.random.default_rng(0)
    args = (rng.normal(size=(6, 10)) * 0.3, rng.normal(size=6), rng.normal(size=6),
            rng.normal(size=(10, 4)), rng.normal(size=(10, 4)))
    wrt = (0, 1, 2, 3, 4)
    g = autodiffx.grad(max_margin_loss, wrt=wrt)
    first = g(*args)  # the vjp runs, and its value is checked
    generated = _generated(max_margin_loss, args, wrt)
    assert generated.gradient is not None
    text = autodiffx.source(g, shapes=True)
    gradient_code = text.split("def max_margin_loss_grad(")[1]
    code_lines = [line for line in gradient_code.splitlines() if "#" not in line]
    assert not [line for line in code_lines if "np.maximum" in line]  # the value's only
    assert "dout = 1.0" in gradient_code

    def vjp_must_not_run(*args, **kwargs):
        raise AssertionError("grad ran the vjp on a call like the last one")

    original = generated.function
    object.__setattr__(generated, "function", vjp_must_not_run)
    try:
        again = g(*args)
    finally:
        object.__setattr__(generated, "function", original)
    _, pullback = generated.function(*args)
    for ours, theirs, before in zip(again, pullback(1.0), first, strict=True):
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(ours, before)
    check(max_margin_loss, list(args), wrt=wrt, forward=False)


def test_the_value_only_arrays_and_their_release_are_left_out():
    """``a`` is large (so the vjp lets it go with ``del a``) and only the value reads it:
    the gradient without the value neither computes nor deletes it. Closed form: the
    gradient of sum|x| + mean|x| is sign(x) (1 + 1/n)."""
    f = _function(
        "def f(x):\n"
        "    a = np.abs(x)\n"
        "    b = np.sum(a)\n"
        "    c = np.mean(a)\n"
        "    return b + c\n")
    x = np.random.default_rng(1).normal(size=(200, 100))
    g = autodiffx.grad(f)
    g(x)
    text = autodiffx.source(g, shapes=True)
    vjp_code, gradient_code = text.split("def f_grad(")
    assert "del a" in vjp_code
    assert "\n    a = " not in gradient_code and "del a" not in gradient_code
    for _ in range(2):
        np.testing.assert_allclose(g(x), np.sign(x) * (1 + 1 / x.size))


REFUSED = [
    ("def f(x, c=1j):\n    return np.sum(x) * c\n", None, np.ones(3), ComplexOutputError),
    ("def f(x):\n    return np.sum(x) > 0\n", None, np.ones(3), OutputTypeError),
    ("def f(x):\n    return np.tanh(x)\n", None, np.ones(3), NonScalarOutputError),
    ("def f(x):\n    return x ** 0.5\n", 4.0, -4.0, ComplexOutputError),
    ("def f(x):\n    y = x * 2.0\n    return (y + 1.0) ** 0.5\n", 4.0, -4.0,
     ComplexOutputError),
]


@pytest.mark.parametrize(("source", "good", "bad", "error"), REFUSED)
def test_values_grad_refuses_are_refused_on_every_call(source, good, bad, error):
    """None of these values is proved a real scalar, so grad keeps running the vjp and
    checking the value on the repeated-call path too. ``x ** 0.5`` of a negative Python
    float is complex, so a call with a positive one proves nothing about the next."""
    f = _function(source)
    g = autodiffx.grad(f)
    assert not _proved(f, [bad])
    if good is not None:
        g(good)
        g(good)
        assert _generated(f, [good], (0,)).gradient is None
    for _ in range(2):
        with pytest.raises(error):
            g(bad)


def test_an_error_only_the_value_raises_is_raised_on_every_call():
    """``y.T`` of a Python float raises, though only the value reads it: grad raises it at
    every call, never a gradient from code that left the value out."""
    f = _function("def f(x, y):\n    a = y.T\n    return np.sum(x * x) + a\n")
    g = autodiffx.grad(f)
    assert not _proved(f, [np.ones(3), 2.0])
    for _ in range(2):
        with pytest.raises(AttributeError):
            g(np.ones(3), 2.0)


GLOBAL_SCALE = 1j


def through_a_global(x):
    return np.sum(x) * GLOBAL_SCALE


def test_a_global_value_is_not_taken_as_real():
    g = autodiffx.grad(through_a_global)
    for _ in range(2):
        with pytest.raises(ComplexOutputError):
            g(np.ones(3))


@dataclasses.dataclass(frozen=True)
class _Program:
    lines: list[str]
    result: str


_UNARY = ["np.tanh({})", "np.exp({} * 0.1)", "np.log({})", "np.sqrt({})", "np.abs({})",
          "-{}", "np.square({})", "{} ** 2", "{} ** 0.5", "np.max({})", "({} > 0)",
          "np.sum({}, dtype=complex)", "{}.T", "{}[0]", "np.real({})", "np.sign({})",
          "np.floor({})", "np.sum({}, axis=0)", "np.mean({})", "np.sum({})"]
_BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / {}", "np.maximum({}, {})",
           "np.minimum({}, {})", "np.dot({}, {})", "{} @ {}", "np.logaddexp({}, {})",
           "np.where({} > 0, {}, 1)", "{} ** {}", "max({}, {})", "({} == {}) * 1.0",
           "np.add({}, {}, dtype=complex)", "{} + 1j * {}"]


@st.composite
def programs(draw):
    """A straight-line function of x (a vector), W (a matrix) and y (a Python float), of
    operations that keep a real float and some that do not, returning one of its names."""
    names = ["x", "W", "y"]
    lines = []
    for position in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            text = draw(st.sampled_from(_UNARY)).format(draw(st.sampled_from(names)))
        else:
            text = draw(st.sampled_from(_BINARY)).format(draw(st.sampled_from(names)),
                                                         draw(st.sampled_from(names)))
        name = f"v{position}"
        lines.append(f"    {name} = {text}")
        names.append(name)
    result = draw(st.sampled_from(names[3:]))
    if draw(st.booleans()):
        lines.append(f"    r = np.sum({result})")
        result = "r"
    return _Program(lines, result)


@settings(max_examples=300, deadline=None)
@given(program=programs(), seed=st.integers(0, 2**16))
def test_a_value_proved_a_real_scalar_is_one(program, seed):
    """Soundness of shapes.real_scalar: whenever it says the value is a real scalar for
    float arguments of these shapes, the vjp's forward sweep on such arguments (negative
    ones and zeros included) raises nothing and gives a real float of shape ()."""
    f = _function("def f(x, W, y):\n" + "\n".join(program.lines)
                  + f"\n    return {program.result}\n")
    rng = np.random.default_rng(seed)
    args = [rng.normal(size=3), rng.normal(size=(3, 3)), float(rng.normal())]
    if seed % 3 == 0:
        args = [np.zeros(3), np.zeros((3, 3)), 0.0]
    if not _proved(f, args):
        return
    try:
        generated = _generated(f, args, (0, 1, 2))
    except autodiffx.AutodiffError:
        # refused (np.maximum of a value that may be complex, which the result does not
        # read): no code, nothing the proof promised about it
        return
    with np.errstate(all="ignore"):
        try:
            value, _ = generated.function(*args)
        except Exception:
            # a statement the value does not read may raise (y.T of a float), and is kept
            # for that: the function itself raises there too
            with pytest.raises(Exception):  # noqa: B017
                f(*args)
            return
    assert np.shape(value) == ()
    assert isinstance(value, (float, np.floating, np.ndarray))
    assert np.asarray(value).dtype.kind == "f"


@settings(max_examples=150, deadline=None)
@given(program=programs(), seed=st.integers(0, 2**16), everything_large=st.booleans())
def test_the_gradient_without_the_value_is_the_vjps_gradient(program, seed, everything_large,
                                                               monkeypatch_module):
    """grad's second call (the gradient without the value, where one was made) gives what
    its first call (the vjp and its pullback) gave, with every array counted as large (so
    let go after its last use) or none."""
    f = _function("def f(x, W, y):\n" + "\n".join(program.lines)
                  + f"\n    return {program.result}\n")
    rng = np.random.default_rng(seed)
    args = [rng.normal(size=3), rng.normal(size=(3, 3)), float(rng.normal())]
    monkeypatch_module.setattr(adjoint, "LARGE_BYTES", 8 if everything_large else 1 << 17)
    g = autodiffx.grad(f, wrt=(0, 1, 2))
    with np.errstate(all="ignore"):
        try:
            f(*args)
        except Exception:
            for _ in range(2):  # the function itself raises (y.T of a float): so does grad
                with pytest.raises(Exception):  # noqa: B017
                    g(*args)
            return
        try:
            first = g(*args)
        except AutodiffError:
            return  # refused, or a value grad refuses: nothing runs without the value
        second = g(*args)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_real_scalar_proves_the_common_losses():
    """The proof is not vacuous: it holds for the losses users write."""
    x, W = np.ones(3), np.ones((3, 3))
    for text in ["np.sum((W @ x - 1.0) ** 2)", "np.mean(np.tanh(W @ x))",
                 "np.sum(np.logaddexp(0.0, -(W @ x)))", "np.sum(np.maximum(0.0, x) * x) / 3"]:
        assert _proved(_function(f"def f(x, W):\n    return {text}\n"), [x, W]), text
