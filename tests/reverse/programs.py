"""Small functions covering the Python that reverse mode must differentiate."""

import numpy as np

SCALE = np.array([1.0, -2.0, 0.5])


def branch(x, y):
    if x > 0:
        z = x * y
    elif x > -0.5:
        z = np.sin(x) * y
    else:
        z = y - x
    return z * 2.0


def early_return(x):
    if x > 1.0:
        return x**2
    y = np.exp(x)
    return y * 3.0


def conditional_expression(x):
    y = x * 2.0 if x > 0 else -x
    return y * y


def overwrite_in_loop(x, n):
    y = x
    for _ in range(n):
        y = np.sin(y) * 1.5
    return np.sum(y)


def recurrent(W, h0):
    h = h0
    for _ in range(3):
        h = np.tanh(W @ h)
    return np.sum(h**2)


def accumulate(x):
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] ** 2
    return s


def while_loop(x):
    y = x
    while y < 10.0:
        y = y * 2.0
    return y


def break_loop(x):
    s = 0.0
    for i in range(10):
        s = s + x * i
        if s > 5.0:
            break
    return s


def continue_loop(x):
    s = 0.0
    for i in range(6):
        if i % 2 == 0:
            continue
        s = s + np.sin(x * i)
    return s


def over_rows(X):
    t = 0.0
    for row in X:
        t = t + np.sum(row**2)
    return t


def over_enumerate(X, w):
    t = 0.0
    for i, row in enumerate(X):
        t = t + w[i] * np.sum(np.tanh(row))
    return t


def over_zip(a, b, strict=True):
    t = 0.0
    for p, q in zip(a, b, strict=True):
        t = t + p * q
    return t


def nested_loops(x):
    s = 0.0
    for i in range(3):
        for j in range(i, 3):
            s = s + x[i] * x[j] * (i + j + 1)
    return s


def write_into_local(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] * x[(i + 1) % 3]
    return np.sum(y * x)


def write_into_argument(x):
    x[0] = 2.0 * x[1]
    return np.sum(x**2)


def augmented(x):
    y = x + 0.0  # a fresh array: x += ... on an alias would write into the caller's x
    y *= 2.0
    y += x
    y /= 3.0
    y -= 1.0
    return np.sum(y**2)


def unpacking(x, y):
    a, b = x * 2, y * 3
    a, b = b, a
    return a - b * 2


def keywords(X):
    return np.sum(np.sum(X, axis=1, keepdims=True) * X)


def joined(a, b):
    c = np.concatenate([a, b])
    d = np.stack([a, b])
    return np.sum(c**2) + np.sum(d[0] * d[1])


def methods(X):
    return X.sum(axis=0).dot(X.T.mean(axis=1)) + X.reshape(-1).max()


def uses_global(x):
    return np.sum(SCALE * x**2)


def make_closure(c):
    def closure(x):
        return np.sum(c * np.cos(x))

    return closure


def _helper(a, b):
    return a * np.sin(b)


def calls_helper(x, y):
    z = _helper(x, y)
    return np.sum(z) + _helper(y, x).sum()


def random_is_constant(x):
    noise = np.random.default_rng(0).normal(size=3)
    other = np.random.normal(size=3)
    return np.sum(x * noise) + np.sum(other * 0.0)


def subscripts(X):
    return np.sum(X[1:, 0] * X[:-1, 1]) + X[0, 2] + np.sum(X[:, None, 1])


def attributes(X):
    n = X.shape[0]
    return np.sum(X.T @ X) / n + X.ndim


def loop_over_literal(a, b):
    t = 0.0
    for v in [a, b, a]:
        t = t + v * v
    return t


def python_scalars(x, y):
    return abs(x - y) + min(x, y) * max(x, 2.0) - (-x) ** 3


def loop_with_branch(x):
    s = 0.0
    for i in range(4):
        if np.sum(x) * i > 1.0:
            s = s + np.sum(x**2)
        else:
            s = s - np.sum(x)
    return s


def long_loop(x, n):
    s = 0.0
    for _ in range(n):
        s = s + x * 1e-5
    return s


def long_while(x, n):
    s = x
    i = 0
    while i < n:
        s = s * 1.0000001
        i = i + 1
    return s


# --------------------------------------------------------------------------- tuple returns


def _stats(v):
    return np.sum(v), v * 2.0


def _swap_scaled(a, b):
    if np.sum(a) > 0:
        return b * 2.0, a
    return a * b, b


def _pair_of_same(v):
    w = np.sin(v)
    return w, w


def _with_constant(v):
    return np.sum(v**2), 3.0


def tuple_return(x):
    total, doubled = _stats(x)
    return total * np.sum(doubled**2)


def tuple_return_one_used(x):
    total, doubled = _stats(x)
    return total * 2.0


def tuple_return_in_branch(x, y):
    p, q = _swap_scaled(x, y)
    return np.sum(p * q) + np.sum(p)


def tuple_return_same_name(x):
    a, b = _pair_of_same(x)
    return np.sum(a * b)


def tuple_return_constant(x):
    s, c = _with_constant(x)
    return s * c


def tuple_return_in_loop(x):
    t = 0.0
    for i in range(3):
        total, x = _stats(x * 0.5)
        t = t + total * i
    return t + np.sum(x)


# --------------------------------------------------------------------------- lists


def append_stack(x):
    rows = []
    for i in range(3):
        rows.append(np.sin(x * (i + 1)))
    return np.sum(np.stack(rows, axis=1) ** 2)


def append_array(x):
    values = []
    for v in x:
        values.append(v * v - v)
    return np.sum(np.array(values) * SCALE)


def array_of_literal(x, y):
    return np.sum(np.array([x * y, y, 2.0]) ** 2)


def append_sum(x):
    terms = []
    for i in range(4):
        terms.append(np.cos(x) * i)
    return np.sum(sum(terms))


def append_index(x):
    h = []
    h.append(x)
    for i in range(3):
        h.append(np.tanh(h[i] * 1.5 + h[0]))
    return np.sum(h[-1] ** 2) + np.sum(h[1])


def append_in_branch(x):
    kept = [x * 0.0]
    for i in range(4):
        if i % 2 == 0:
            kept.append(x * i)
        else:
            kept.append(np.exp(x) * 0.1)
    return np.sum(np.concatenate(kept) ** 2)


def append_unused_values(x):
    rows = []
    for i in range(3):
        rows.append(x * i)
    rows.append(np.ones(3))
    return np.sum(rows[1] * 3.0) + np.sum(rows[3])


def list_inside_loop(x):
    total = 0.0
    for i in range(3):
        parts = []
        for j in range(2):
            parts.append(x * (i + j))
        total = total + np.sum(np.stack(parts) ** 2)
    return total


def comprehension_range(x):
    rows = [np.sin(x * k) for k in range(1, 4)]
    return np.sum(np.stack(rows) ** 2)


def comprehension_over_array(X):
    return sum([np.sum(row**2) for row in X if True]) + np.sum(
        np.array([np.tanh(r) for r in X]))


def comprehension_nested(x):
    k = 5.0
    grid = [x[i] * x[k] for i in range(3) for k in range(i, 3)]
    return np.sum(np.array(grid)) * k


def stack_then_append(x):
    rows = [x, x * 2.0]
    first = np.stack(rows)
    rows.append(x * x)
    second = np.stack(rows)
    return np.sum(first * 2.0) + np.sum(second**2)


def list_used_twice(x):
    rows = []
    for i in range(2):
        rows.append(x + i)
    return np.sum(np.stack(rows) * 2.0) + np.sum(sum(rows) ** 2)


# --------------------------------------------------------------------------- the tape


def reads_twice(x):
    y = x
    for _ in range(3):
        a = np.sin(y) * y
        b = np.cos(y) * a
        y = a + b * 0.1
    return np.sum(y)


def three_versions(x):
    y = x
    for _ in range(2):
        y = np.sin(y) * 2.0
        y = y * y
        y = np.tanh(y)
    return np.sum(y)


def carried_in_while(x):
    y = x
    n = 0
    while n < 3:
        y = np.tanh(y * 1.5)
        n = n + 1
    return np.sum(y)


def carried_with_break(x):
    y = x
    for i in range(5):
        y = np.sin(y) + 0.5
        if np.sum(y) > 100.0 * i:
            break
    return np.sum(y)


def rnn_like(W, h):
    for _ in range(4):
        h = np.tanh(W @ h)
    return np.sum(h)


# --------------------------------------------------------------------------- found by fuzzing


def concatenate_after_branches(x, v):
    if x > 0.5:
        t2 = v + v
    else:
        t2 = np.concatenate([v[:2] * x, v[2:]])
    if x > 10.0:
        t2 = v * 3.0
    t2 *= 1.0 + 0.5 * np.sin(x)
    return np.sum(t2)


def rebound_in_loop_then_read(x, v):
    t0 = np.sin(v)
    for i in range(2):
        t0 = np.tanh(v * x)
        t0 = t0 + 0.25 * np.sin(v[i])
    for _ in range(1):
        t0 = np.tanh(t0 + x)
    return np.sum(t0)


def power_of_negative_constant(x):
    return np.sum(np.sin(x / (1.0 + (-0.7) ** 2)))


def branch_reads_carried_value(x, v, m):
    t0 = v + v
    for _ in m:
        t0 = 0.5 * t0 + 0.5 * np.tanh(0.5 if x > 10.0 else np.dot(v, t0))
    return np.sum(t0) + np.sum(x)


def inactive_elif_in_loop(x, v):
    # the elif's condition is pushed in the forward sweep; the adjoint of the whole branch
    # has no work (t0 is overwritten below), so it must not be pushed (fuzzer, seed 5)
    t1 = 0.0
    for i in range(3):
        if x > 0:
            t0 = v
        elif 0.5 > 1.0:
            t0 = np.cos(v)
        else:
            t0 = v
        t0 = np.tanh(v)
        t1 += 0.25 * np.sin(t0[i])
    return t1 + x


def read_right_after_rebinding(v):
    # t0[i] reads the value pushed after t0 = np.tanh(v), which is popped only after the
    # adjoint of t0[i]: the read needs a push of its own (fuzzer, seed 5)
    t0 = np.zeros(3)
    t0[0] = 1.0
    t1 = 0.0
    for i in range(3):
        t0 = np.tanh(v)
        t1 += 0.25 * np.sin(t0[i])
    return t1
