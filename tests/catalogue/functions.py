"""User functions for the catalogue, in a real file so that reverse mode can read them.

Several are deliberately odd (two lambdas on a line, a generator, a global write); each is
used by one case of ``test_catalogue.py``.
"""

import functools

import numpy as np

square = lambda x: x * x  # noqa: E731 (a lambda on its own line is a catalogue case)
two_on_a_line = (lambda x: x * 2.0, lambda x: x * 3.0)

from_eval = eval("lambda x: x * x")
_namespace: dict = {"np": np}
exec("def from_exec(x):\n    return np.sin(x) * x\n", _namespace)
from_exec = _namespace["from_exec"]


class Model:
    def __init__(self, w):
        self.w = w

    def energy(self, x):
        return np.sum(self.w * x**2)


def scaled(x, scale=1.0):
    return scale * np.sum(x**2)


def doubled(f):
    @functools.wraps(f)
    def wrapper(*args):
        return 2.0 * f(*args)

    return wrapper


def doubled_plain(f):
    def wrapper(*args):
        return 2.0 * f(*args)

    return wrapper


@doubled
def wrapped(x):
    return np.sum(x**2)


@doubled_plain
def wrapped_plain(x):
    return np.sum(x**2)


def generator(x):
    yield x * 2.0


async def coroutine(x):
    return x * 2.0


def uses_try(x):
    try:
        y = np.sin(x)
    except ValueError:
        y = x
    return y * x


def uses_with(x):
    with np.errstate(divide="ignore"):
        y = np.sin(x)
    return y * x


COUNTER = 0.0


def writes_global(x):
    global COUNTER
    COUNTER = COUNTER + 1.0
    return x * x


def power_by_recursion(x, n):
    if n == 0:
        return 1.0
    return x * power_by_recursion(x, n - 1)


def keyword_only(x, *, scale):
    return scale * x**2


def star_args(*xs):
    return xs[0] * xs[1]


def two_args(x, y):
    return x * np.sin(y)


def sum_of_squares(x):
    return np.sum(x**2)


def arctan_sum(x):
    return np.sum(np.arctan(x))


def mismatch(x, y):
    return np.sum(x + y)


def elementwise_square(x):
    return x**2


def returns_none(x):
    y = x * 2.0  # noqa: F841 (the missing return is the catalogue case)


def writes_into_input(x):
    x[0] = 0.0
    return np.sum(x**2)


def adds_into_input(x):
    x += 1.0
    return np.sum(x**2)


def uses_random(x):
    noise = np.random.default_rng(0).normal(size=3)
    return np.sum(noise * x)


def long_loop(x, n):
    s = 0.0
    for _ in range(n):
        s = s + x * 1e-5
    return s


def sqrt_of_negative_unselected(x):
    return np.sum(np.where(x > 0, np.sqrt(x), 0.0))


def sqrt_sum(x):
    return np.sum(np.sqrt(x))


def abs_sum(x):
    return np.sum(np.abs(x))


def relu_sum(x):
    return np.sum(np.maximum(x, 0.0))


def builtin_max(a, b):
    return max(a, b)


def numpy_maximum(a, b):
    return np.maximum(a, b)


def reduction_max(x):
    return np.max(x)


def norm(x):
    return np.linalg.norm(x)


def log_sum_exp(x):
    c = np.max(x)
    return c + np.log(np.sum(np.exp(x - c)))


def code_like(import_os, exec_):
    __import__ = "'); import os; ('"
    eval_ = import_os * exec_
    if __import__ == "'); import os; ('":
        eval_ = eval_ + np.sin(import_os)
    return eval_


def make_scaled_sine(c):
    def scaled_sine(x):
        return c * np.sum(np.sin(x))

    return scaled_sine
