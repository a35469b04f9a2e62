"""Functions reverse mode refuses, each with its construct on a known line."""

import numpy as np


def uses_try(x):
    try:
        y = x * 2
    except ValueError:
        y = x
    return y


def uses_with(x):
    with open("/dev/null"):
        y = x * 2
    return y


def uses_global_statement(x):
    global COUNTER
    return x


def uses_lambda(x):
    f = lambda v: v * 2  # noqa: E731 (the construct under test; passed on, not called)
    return np.sum(np.apply_along_axis(f, 0, x))


def uses_del(x):
    y = x * 2
    del y
    return x


def generator(x):
    yield x


def recursive(x, n):
    if n == 0:
        return x
    return recursive(x * 2.0, n - 1)


def no_rule(x):
    return np.sum(np.unwrap(x))


def appends(x):
    values = []
    for v in x:
        values.append(v * 2)
    return np.sum(values)


def extends(x):
    values = []
    values.extend([x * 2])
    return np.sum(np.stack(values))


def list_comprehension_over_list(x):
    total = 0.0
    values = [x, x * 2]
    values = values + [x]
    for v in values:
        total = total + v
    return total


def star_args(*xs):
    return xs[0] * 2


def _product(a, b):
    return a * b


def forwards_star_args(*xs):
    return 2.0 * _product(*xs) * len(xs) / 2


def loops_over_star_args(*xs):
    total = 0.0
    for x in xs:
        total = total + x
    return total


def class_inside(x):
    class Box:
        pass

    return x


two_lambdas = (lambda x: x * 2, lambda x: x * 3)
one_lambda = lambda x: np.sin(x) * 2  # noqa: E731 (a lambda in a file has source)


def masked_sum(x):
    return np.sum(x**2, where=x > 0)


def three_operand_einsum(A, B, c):
    return np.einsum("ij,jk,k->", A, B, c)


def mean_with_dtype_by_position(x):
    return np.mean(x**2, 0, float)
