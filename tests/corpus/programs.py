"""A corpus of plain NumPy programs for checking both modes of autodiffx.

Every function here is ordinary ``import numpy as np`` code with no autodiffx import: a
scalar-valued function of float arguments (Python floats or float arrays), written the way
a student would write it. Together they exercise the Python that reverse mode must read
(branches, loops, subscripts, methods, calls, closures, globals) and many registry
primitives. How to draw each function's inputs, and where its kinks are, is listed in
:mod:`tests.corpus.cases`.

The module must stay a real file: reverse mode reads these functions with ``inspect``.
"""

import numpy as np

# Module-level constants that functions below read as globals.
MIX = np.array([[0.5, -1.0, 0.25], [1.5, 0.3, -0.7]])
WEIGHTS = np.array([0.3, -1.2, 0.8, 2.0])
OFFSET = 0.75


# =========================================================================== straight-line


def lecture(x, y, z):
    """The lecture's worked example: (x + y) * max(y, z)."""
    a = x + y
    b = max(y, z)
    return a * b


def cube(x):
    """The warm-up: f(x) = x**3."""
    return x**3


def polynomial(x):
    """A quartic in a Python float."""
    return 3.0 * x**4 - 2.0 * x**3 + x - 5.0


def rational(x, y):
    """A ratio of polynomials; y stays away from 0."""
    top = x * x + 1.0
    bottom = y * y + 2.0
    return top / bottom + x / y


def trig_mix(x):
    """sin, cos and tan together."""
    return np.sum(np.sin(x) * np.cos(2.0 * x) + np.tan(x / 4.0))


def softplus(x):
    """log(1 + e^x), summed."""
    return np.sum(np.log(1.0 + np.exp(x)))


def logistic_sum(x):
    """The logistic function, summed."""
    return np.sum(1.0 / (1.0 + np.exp(-x)))


def roots(x):
    """Square and cube roots of positive entries."""
    return np.sum(np.sqrt(x) + np.cbrt(x) * x)


def hyperbolic(x):
    """sinh, cosh, arctan and arcsinh."""
    return np.sum(np.sinh(x) * np.cosh(x) - np.arctan(x) + np.arcsinh(x))


def inverse_trig(x):
    """arcsin and arccos inside (-1, 1)."""
    return np.sum(np.arcsin(x / 2.0) * np.arccos(x / 3.0))


def logarithms(x):
    """log2, log10 and log1p of positive entries."""
    return np.sum(np.log2(x) + np.log10(x) * x + np.log1p(x))


def exponentials(x):
    """exp2 and expm1."""
    return np.sum(np.exp2(x) - np.expm1(x) * 0.5)


def powers(x, p):
    """x ** p with both the base (positive) and the exponent varying."""
    return np.sum(x**p)


def polar(x, y):
    """np.hypot and np.arctan2, with x kept positive."""
    return np.sum(np.hypot(x, y) + np.arctan2(y, x))


def log_add_exp(x, y):
    """np.logaddexp, a smooth maximum."""
    return np.sum(np.logaddexp(x, y) * y)


def square_and_reciprocal(x):
    """np.square and np.reciprocal of positive entries."""
    return np.sum(np.square(x) + np.reciprocal(x))


def degrees(x):
    """deg2rad and rad2deg."""
    return np.sum(np.sin(np.deg2rad(x * 30.0)) * np.rad2deg(x) / 100.0)


def signs(x):
    """np.negative and np.positive."""
    return np.sum(np.negative(x) * np.positive(x) + (-x) * 3.0)


def arccosh_arctanh(x):
    """arccosh for x > 1 and arctanh of a value inside (-1, 1)."""
    return np.sum(np.arccosh(x) + np.arctanh(1.0 / x))


def l1_norm(x):
    """sum |x|, with a kink wherever an entry is 0."""
    return np.sum(np.abs(x))


def builtin_abs(a, b):
    """Python's abs on floats."""
    return abs(a - b) * a


def fabs_shift(x):
    """np.fabs of shifted entries."""
    return np.sum(np.fabs(x - 0.5) ** 3 + np.fabs(x + 0.5))


def remainder(x):
    """np.remainder, piecewise linear with jumps."""
    return np.sum(np.remainder(x, 1.5) ** 2)


def clipped(x):
    """np.clip to [-1, 1], squared."""
    return np.sum(np.clip(x, -1.0, 1.0) ** 2 + x)


def where_branches(x):
    """np.where choosing between two smooth functions."""
    return np.sum(np.where(x > 0, x**2, np.sin(x)))


def minimum_maximum(x, y):
    """np.minimum and np.maximum, elementwise."""
    return np.sum(np.minimum(x, y) * np.maximum(x, 0.2))


# =========================================================================== branches


def piecewise(x):
    """if / elif / else on a Python float, each branch returning early."""
    if x > 1.0:
        return x**2
    elif x > -1.0:
        return 2.0 * x - 1.0 + x**3
    else:
        return -x


def early_return(x):
    """An early return in a branch on an array's sum."""
    total = np.sum(x)
    if total > 0:
        return np.sum(x**2)
    return -total * 2.0


def conditional_expression(a, b):
    """A conditional expression (a if c else b)."""
    return a * b if a > b else a + b * b


def branch_on_norm(x):
    """Normalise when the norm exceeds 1, a branch that reassigns the input's name."""
    n = np.linalg.norm(x)
    if n > 1.0:
        x = x / n
    return np.sum(x * np.array([1.0, -2.0, 3.0]))


def nested_if(x, y):
    """Branches inside branches."""
    if x > 0:
        if y > 0:
            out = x * y
        else:
            out = x - y * y
    else:
        out = np.sin(x) * y
    return out


def elif_chain(x):
    """An elif chain on a reduction, each branch a different computation."""
    m = np.mean(x)
    if m > 0.5:
        y = np.exp(x)
    elif m > -0.5:
        y = x**3
    else:
        y = np.cos(x)
    return np.sum(y)


# =========================================================================== loops


def loop_range(x):
    """for over range with reads x[i] and x[i - 1]."""
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] * x[i - 1]
    return s


def loop_rows(W):
    """for over the rows of a 2-D array."""
    total = 0.0
    for row in W:
        total = total + np.sum(np.tanh(row)) ** 2
    return total


def loop_list(a, b, c):
    """for over a list literal of Python floats."""
    s = 1.0
    for v in [a, b, c]:
        s = s * (1.0 + v * v)
    return s


def loop_enumerate(x):
    """for over enumerate, the index used as a weight."""
    s = 0.0
    for i, v in enumerate(x):
        s = s + (i + 1) * np.sin(v)
    return s


def loop_zip(x, y):
    """for over zip of two arrays."""
    s = 0.0
    for a, b in zip(x, y):  # noqa: B905 (the plain zip a student writes; equal lengths)
        s = s + a * b + np.exp(a - b)
    return s


def while_counter(x, n):
    """A while loop with a counter; n is a fixed int."""
    i = 0
    while i < n:
        x = np.cos(x) + 0.5 * x
        i = i + 1
    return np.sum(x)


def while_threshold(a):
    """A while loop whose trip count depends on the data."""
    steps = 0
    while a < 5.0:
        a = a * 1.5 + 0.2
        steps = steps + 1
    return a * (steps + 1)


def loop_break(x):
    """break out of a loop when an entry is large."""
    s = 0.0
    for v in x:
        if v > 1.5:
            break
        s = s + v**2
    return s


def loop_continue(x):
    """continue past negative entries."""
    s = 0.0
    for v in x:
        if v < 0:
            continue
        s = s + np.log1p(v) * v
    return s


def nested_loops(W):
    """Two nested loops reading W[i, j]."""
    s = 0.0
    for i in range(2):
        for j in range(3):
            s = s + W[i, j] * W[1 - i, (j + 1) % 3]
    return s


def overwrite_in_loop(x):
    """A variable overwritten on every trip: h = tanh(1.5 h + 0.1)."""
    h = x
    for _ in range(3):
        h = np.tanh(1.5 * h + 0.1)
    return np.sum(h)


def augmented_scalar(x):
    """Every augmented assignment on a scalar."""
    s = 0.0
    for v in x:
        s += v
        s *= 1.1
        s -= 0.5 * v * v
        s /= 1.05
    s **= 2
    return s


def augmented_array(x):
    """Augmented assignment on arrays."""
    y = x * 2.0
    y += x**2
    y *= np.sin(x)
    y -= 1.0
    y /= 2.0
    return np.sum(y)


def tuple_unpacking(p):
    """Tuple unpacking and a swap."""
    a, b = p[0], p[1]
    a, b = b, a * b
    return a + b * b


def loop_product(x):
    """A product accumulated in a loop, then a log."""
    p = 1.0
    for v in x:
        p = p * (1.0 + v * v)
    return np.log(p)


def nested_loop_break(W):
    """break in an inner loop; the outer loop carries on."""
    s = 0.0
    for row in W:
        for v in row:
            if v < -1.0:
                break
            s = s + np.exp(v * 0.5)
    return s


def fixed_point(c):
    """A fixed number of Newton steps for sqrt(c)."""
    y = c
    for _ in range(5):
        y = 0.5 * (y + c / y)
    return y


# =========================================================================== subscripts


def index_reads(x):
    """x[i], x[-1], slices and strides."""
    return x[0] * x[2] + x[-1] ** 2 + np.sum(x[1:3]) + np.sum(x[::2] ** 3)


def matrix_index(W):
    """x[i, j], rows and columns."""
    return W[0, 1] * W[1, 0] + np.sum(W[1, :] ** 2) + np.sum(W[:, 0]) * W[-1, -1]


def write_zeros(x):
    """Writes into a local np.zeros array."""
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] * x[(i + 1) % 3]
    return np.sum(y**2)


def write_zeros_rows(W):
    """Row writes into a local 2-D np.zeros array."""
    M = np.zeros((2, 3))
    M[0, :] = W[0] ** 2
    M[1] = np.sin(W[1])
    return np.sum(M * MIX)


def store_moving_index(x):
    """Stores at an index that is rebound later in the same iteration."""
    y = np.zeros(4)
    i = 0
    while i < 3:
        j = i
        y[j] = x[j] * 2.0
        j = i + 1
        y[j] = y[j] + x[j]
        i = j
    return np.sum(y * y)


def write_zeros_like(x):
    """Writes into np.zeros_like(x), an element and a slice."""
    y = np.zeros_like(x)
    y[0] = x[1] ** 2
    y[1:] = x[:-1] * x[1:]
    return np.sum(y * x)


def accumulate_into_zeros(W, x):
    """h = np.zeros(3); h += ... in a loop, an accumulator started from a plain array."""
    h = np.zeros(3)
    for i in range(2):
        h += W[i] * x[i]
    return np.sum(np.tanh(h))


def accumulate_into_zeros_like(x):
    """The same accumulator, started from np.zeros_like(x)."""
    h = np.zeros_like(x)
    for i in range(3):
        h += np.sin(x * (i + 1))
    return np.sum(h**2)


def floor_steps(x):
    """Floor division: a staircase times a line."""
    return np.sum((x // 0.7) * x + np.floor(x * 2.0) * 0.5)


def copy_then_write(x):
    """Copy the input, then overwrite entries of the copy."""
    y = x.copy()
    y[0] = 0.0
    y[1] = y[1] * 3.0
    return np.sum(y * x)


def fancy_index(x):
    """Integer-array and boolean-mask indexing."""
    picked = x[np.array([0, 2, 2, 3])]
    return np.sum(picked**2) + np.sum(x[x > 0.0] ** 2)


def newaxis_broadcast(x, y):
    """x[:, None] * y[None, :], an outer product by broadcasting."""
    return np.sum(np.tanh(x[:, None] * y[None, :]))


# =========================================================================== methods


def method_sum_mean(W):
    """W.sum(axis=0) and W.mean()."""
    return np.sum(W.sum(axis=0) ** 2) + W.mean()


def method_dot(x, y):
    """x.dot(y)."""
    return x.dot(y) + x.dot(x) * 0.5


def method_reshape(x):
    """x.reshape(2, 3), then a row-wise reduction."""
    M = np.tanh(x.reshape(2, 3))
    return np.sum(M.sum(axis=1) ** 2)


def method_max_min(x):
    """x.max() and x.min()."""
    return x.max() + 0.5 * x.min() + np.sum(x) * 0.1


def method_transpose(A):
    """A.T @ A."""
    G = A.T @ A
    return np.sum(G**2)


def method_mean_axis(W):
    """W.mean(axis=1), W.max(axis=0)."""
    return np.sum(W.mean(axis=1) ** 3) + np.sum(W.max(axis=0))


def method_chain(x):
    """A chain of methods: reshape, T, ravel, prod."""
    M = x.reshape(3, 2).T
    return np.sum(M.ravel() * np.arange(6.0)) + (1.0 + x * x).prod()


# =========================================================================== keywords


def row_softmax(W):
    """A row-wise softmax with keepdims, weighted by a global constant."""
    E = np.exp(W)
    P = E / np.sum(E, axis=1, keepdims=True)
    return np.sum(P * MIX)


def mean_axis_keyword(W):
    """np.mean with axis= and keepdims= keywords."""
    centred = W - np.mean(W, axis=0, keepdims=True)
    return np.sum(centred**2) + np.sum(np.mean(W, axis=1) * np.array([1.0, -1.0]))


def max_trick_rows(W):
    """Row-wise log-sum-exp with np.max(W, axis=1, keepdims=True) subtracted and added back.

    Smooth even where a row's maximum is tied: the max's derivative cancels exactly.
    """
    m = np.max(W, axis=1, keepdims=True)
    shifted = W - m
    return np.sum(np.log(np.sum(np.exp(shifted), axis=1)) + m[:, 0])


def norm_axis_keyword(W):
    """np.linalg.norm along an axis."""
    return np.sum(np.linalg.norm(W, axis=1) * np.array([2.0, -1.0]))


# =========================================================================== calls


def _square_sum(v):
    return np.sum(v * v)


def _wave(v, scale=1.0):
    return np.sin(scale * v) + v


def _inner_step(v):
    return np.tanh(v) * 2.0


def _outer_step(v):
    return _inner_step(v) + _inner_step(v * 0.5)


def calls_helpers(x):
    """Calls to helper functions in the same module."""
    return _square_sum(x) + np.sum(_wave(x))


def calls_nested(x):
    """A helper that calls another helper."""
    return np.sum(_outer_step(_outer_step(x)))


def calls_keyword(x):
    """A helper called with a keyword argument."""
    return np.sum(_wave(x, scale=2.0) * _wave(x))


def calls_tuple_return(x):
    """A helper returning a tuple, unpacked by the caller."""
    total, squares = _moments(x)
    return squares / len(x) - (total / len(x)) ** 2


def _moments(v):
    return np.sum(v), np.sum(v**2)


def make_polynomial(c0, c1, c2):
    """A factory: the returned function closes over three coefficients."""

    def polynomial_closure(x):
        return np.sum(c0 + c1 * x + c2 * x * x)

    return polynomial_closure


closure_polynomial = make_polynomial(1.0, -2.0, 0.5)


def make_projection(matrix):
    """A factory closing over an array."""

    def projected_energy(x):
        return np.sum(np.tanh(matrix @ x) ** 2)

    return projected_energy


closure_projection = make_projection(np.array([[1.0, 0.5, -0.5], [0.2, -1.0, 0.3]]))


def uses_globals(x):
    """Reads the module-level constants MIX and OFFSET."""
    return np.sum(np.tanh(MIX @ x + OFFSET))


def uses_global_vector(x):
    """Reads the module-level constant WEIGHTS."""
    return np.dot(WEIGHTS, x**2) + OFFSET * np.sum(x)


# =========================================================================== lists


def concatenate_list(x, a):
    """np.concatenate of a list literal mixing arrays and a scalar."""
    v = np.concatenate([x, x**2, np.stack([a, a * a])])
    return np.sum(v * np.arange(1.0, 9.0))


def stack_list(x, y):
    """np.stack of a list literal, then a matrix-vector product."""
    M = np.stack([x, y, x * y])
    return np.sum(np.tanh(M @ np.array([1.0, -0.5, 0.25])))


def append_then_stack(x):
    """list.append in a loop, then np.stack."""
    rows = []
    for i in range(3):
        rows.append(np.sin(x * (i + 1)))
    M = np.stack(rows)
    return np.sum(M**2 * np.arange(3.0)[:, None])


def append_scalars(x):
    """Scalars appended to a list, stacked into a vector."""
    values = []
    for v in x:
        values.append(v * v - v)
    return np.dot(np.stack(values), WEIGHTS)


def list_read_moving_index(x):
    """Reads list items at an index that is rebound later in the same iteration."""
    rows = []
    for i in range(4):
        rows.append(x * (i + 1))
    total = np.ones_like(x)
    j = 3
    while j > 0:
        k = j
        total = total + np.sin(rows[k])
        k = k - 1
        total = total * rows[k]
        j = k
    return np.sum(total)


def list_item_writes(x):
    """Items of a list replaced, at a constant index and at indices that move in a loop."""
    xs = [x, 0.5 * x, np.tanh(x)]
    xs[1] = np.sin(xs[0]) + xs[1]
    for k in range(3):
        j = (k + 1) % 3
        xs[j] = xs[j] * xs[k]
        j = k
    return np.sum(np.stack(xs) ** 2)


def stack_axis(x, y):
    """np.stack along axis=1, np.concatenate along axis=0."""
    M = np.stack([x, y], axis=1)
    N = np.concatenate([M, M**2], axis=0)
    return np.sum(N * np.cos(N))


# =========================================================================== models


def sigmoid(z):
    """The logistic function (a helper the models below call)."""
    return 1.0 / (1.0 + np.exp(-z))


def ner_score(W, b, u, x):
    """The lecture's window scorer s = u . tanh(W x + b)."""
    return u @ np.tanh(W @ x + b)


def ner_score_logistic(W, b, u, x):
    """The window scorer with the logistic nonlinearity, then sigma(s)."""
    h = sigmoid(W @ x + b)
    s = u @ h
    return sigmoid(s)


def ner_score_relu(W, b, u, x):
    """The window scorer with ReLU (np.maximum(z, 0))."""
    z = W @ x + b
    h = np.maximum(z, 0)
    return u @ h


def ner_max_margin(W, b, u, x, x_c):
    """The max-margin loss J = max(0, 1 - s + s_c) against a corrupted window."""
    s = u @ np.tanh(W @ x + b)
    s_c = u @ np.tanh(W @ x_c + b)
    return max(0.0, 1.0 - s + s_c)


def ner_batched_loss(W, b, u, X, X_c):
    """The max-margin loss averaged over B windows, X and X_c of shape (5d, B)."""
    S = u @ np.tanh(W @ X + b[:, None])
    S_c = u @ np.tanh(W @ X_c + b.reshape(-1, 1))
    return np.mean(np.maximum(0.0, 1.0 - S + S_c))


def logistic_regression(w, X, y):
    """Binary cross-entropy of a logistic regression; y holds fixed 0/1 labels."""
    p = sigmoid(X @ w)
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def softmax_cross_entropy(z, label):
    """Softmax cross-entropy with the max-subtraction trick; label is a fixed int."""
    shifted = z - np.max(z)
    log_probabilities = shifted - np.log(np.sum(np.exp(shifted)))
    return -log_probabilities[label]


def softmax_cross_entropy_batch(W, X, labels):
    """A batched softmax classifier: logits = X W, one label per row."""
    logits = X @ W
    logits = logits - np.max(logits, axis=1, keepdims=True)
    log_norm = np.log(np.sum(np.exp(logits), axis=1))
    picked = logits[np.arange(len(labels)), labels]
    return np.mean(log_norm - picked)


def log_sum_exp(x):
    """log sum exp, stabilised by the maximum."""
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def word2vec_naive_softmax(v_c, U, o):
    """word2vec's naive-softmax loss -log softmax(U v_c)[o]; o is a fixed word index."""
    scores = U @ v_c
    scores = scores - np.max(scores)
    y_hat = np.exp(scores) / np.sum(np.exp(scores))
    return -np.log(y_hat[o])


def word2vec_negative_sampling(v_c, U, o, negatives):
    """J = -log sigma(u_o . v_c) - sum_k log sigma(-u_k . v_c), negatives fixed indices."""
    loss = -np.log(sigmoid(U[o] @ v_c))
    for k in negatives:
        loss = loss - np.log(sigmoid(-U[k] @ v_c))
    return loss


def rnn(W, U, xs):
    """An RNN-style loop h = tanh(W h + U x[t]) over the rows of xs."""
    h = np.zeros(W.shape[0])
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h * np.array([1.0, -1.0, 0.5]))


def rosenbrock(x):
    """The Rosenbrock function in n dimensions, vectorised with slices."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_2d(a, b):
    """The classic two-variable Rosenbrock function on Python floats."""
    return (1.0 - a) ** 2 + 100.0 * (b - a * a) ** 2


def euclidean_norm(x):
    """np.linalg.norm of a vector."""
    return np.linalg.norm(x)


def frobenius_norm(W):
    """The Frobenius norm of a matrix, squared and not."""
    return np.linalg.norm(W) + np.sum(W**2)


def squared_norm_matmul(x):
    """x @ x, the squared norm through matmul."""
    return x @ x


def mlp(W1, W2, x):
    """A two-layer perceptron: ReLU hidden layer, tanh output summed."""
    h = np.maximum(W1 @ x, 0.0)
    return np.sum(np.tanh(W2 @ h))


def swish_gelu(x):
    """swish x sigma(x) and GELU's approximation x sigma(1.702 x)."""
    return np.sum(x * sigmoid(x) + x * sigmoid(1.702 * x))


def leaky_relu(x):
    """Leaky ReLU with slope 0.01, through np.where."""
    return np.sum(np.where(x > 0, x, 0.01 * x) * np.arange(1.0, len(x) + 1.0))


def hard_tanh(x):
    """Hard tanh: np.clip(x, -1, 1)."""
    return np.sum(np.clip(x, -1.0, 1.0) * x)


def starred_shapes(A):
    """Shapes passed with *: np.eye(*shape), x.reshape(*shape), no derivative through them."""
    shape = np.shape(A)
    flat = np.ravel(A)
    return np.sum((A @ A + np.eye(*shape)) ** 2) + np.sum(np.sin(flat.reshape(*shape)))


def band_mask(x):
    """Masks combined with &, | and ~ select which formula each entry uses."""
    inside = (x > -1.0) & (x < 1.0) | (x > 1.5)
    return np.sum(np.where(inside, x**2, 0.0) + np.where(~inside, np.sin(x), 0.0))


def tanh_identity(x):
    """tanh z = 2 sigma(2 z) - 1, written the long way."""
    return np.sum((2.0 * sigmoid(2.0 * x) - 1.0) * x)


def trace_product(A):
    """np.trace(A @ A.T) plus np.trace of a square block."""
    return np.trace(A @ A.T) + np.trace(A[:2, :2]) ** 2


def einsum_bilinear(A, x):
    """A bilinear form and a matrix product through np.einsum."""
    return np.einsum("ij,j->i", A, x) @ x + np.einsum("ij,ij->", A, A)


def outer_inner(x, y):
    """np.outer and np.inner."""
    return np.sum(np.outer(x, y) ** 2) + np.inner(x, y)


def product_reduction(x):
    """np.prod of positive factors."""
    return np.prod(1.0 + x**2)


def attention(q, K, V):
    """One query attending over three keys: softmax(K q) weights the rows of V."""
    scores = K @ q
    scores = scores - np.max(scores)
    weights = np.exp(scores) / np.sum(np.exp(scores))
    return np.sum(weights @ V)


def shape_functions(x):
    """expand_dims, squeeze, transpose with axes, broadcast_to."""
    col = np.expand_dims(x, 1)
    sq = np.squeeze(col)
    M = np.broadcast_to(sq, (2, 3))
    T = np.transpose(M[:, :, None] * M[:, None, :], (2, 0, 1))
    return np.sum(T * np.sin(T))


def batched_matmul(A, B):
    """A stack of matrix products, 3-D @ 3-D."""
    return np.sum(np.tanh(A @ B))


def variance(x):
    """The population variance, written out."""
    mu = np.mean(x)
    return np.mean((x - mu) ** 2)


def cosine_similarity(x, y):
    """The cosine of the angle between two vectors."""
    return np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y))


def gaussian_log_likelihood(x, mu, log_sigma):
    """The log-likelihood of x under N(mu, exp(log_sigma)^2)."""
    sigma = np.exp(log_sigma)
    z = (x - mu) / sigma
    return np.sum(-0.5 * z**2 - log_sigma - 0.5 * np.log(2.0 * np.pi))


def huber(x):
    """The Huber loss with delta = 1 (C1, with a branch per entry)."""
    small = np.abs(x) <= 1.0
    return np.sum(np.where(small, 0.5 * x**2, np.abs(x) - 0.5))


def layer_norm(x):
    """Layer normalisation of a vector, then a weighted sum."""
    mu = np.mean(x)
    var = np.mean((x - mu) ** 2)
    return np.sum((x - mu) / np.sqrt(var + 0.01) * WEIGHTS)


def gru_like_gate(x, h):
    """A gated update h' = z * h + (1 - z) * tanh(x + h)."""
    z = sigmoid(x - h)
    return np.sum(z * h + (1.0 - z) * np.tanh(x + h))


def exponential_moving_average(x):
    """An exponential moving average over entries, in a loop."""
    avg = x[0]
    for v in x[1:]:
        avg = 0.8 * avg + 0.2 * v
    return avg * avg


def pairwise_distances(X):
    """The sum of pairwise squared distances between the rows of X."""
    s = 0.0
    n = X.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            d = X[i] - X[j]
            s = s + np.sqrt(d @ d + 1.0)
    return s


def polynomial_horner(coefficients, x):
    """Horner's rule over an array of coefficients and a Python float."""
    acc = 0.0
    for c in coefficients:
        acc = acc * x + c
    return acc


def scalar_and_array(a, x):
    """A Python float scaling an array."""
    return np.sum(np.exp(a * x)) / (1.0 + a * a)


def max_of_python_floats(a, b, c):
    """Python's max and min on floats, nested."""
    return max(max(a, b), c) * min(a, b) + a


def kinked_sum(x, y):
    """sum of np.maximum between two arrays, plus a smooth part."""
    return np.sum(np.maximum(x, y) * 2.0 + x * y)


# =========================================================================== statistics, sorting


def standardize(x):
    """A vector standardised by its mean and standard deviation, then a weighted sum of
    tanh; plus the sample variance (ddof=1)."""
    z = (x - np.mean(x)) / np.std(x)
    return np.sum(np.tanh(z) * WEIGHTS) + np.var(x, ddof=1)


def row_standardize(X):
    """Each row of a matrix standardised along its axis, then weighted by MIX."""
    mu = np.mean(X, axis=1, keepdims=True)
    sigma = np.std(X, axis=1, keepdims=True)
    return np.sum(np.sin((X - mu) / sigma) * MIX)


def running_energy(X):
    """Cumulative sums of squares down the columns, the steps between their square roots,
    and the running total of all entries."""
    energy = np.cumsum(X**2, axis=0)
    steps = np.diff(np.sqrt(energy + 1.0), axis=0)
    total = np.cumsum(X)
    return np.sum(steps * np.sin(X[1:])) + np.sum(total * np.flip(total)) / 10.0


def top_k_weighting(x):
    """The three largest entries, weighted by their rank."""
    ranked = np.sort(x)
    return np.sum(ranked[-3:] ** 2 * np.array([1.0, 2.0, 3.0])) + ranked[0]


def axes_and_gathers(X):
    """Axes moved and swapped, entries gathered with repeats along an axis and from the
    flattened array."""
    Y = np.moveaxis(X, 0, -1)
    Z = np.swapaxes(Y, 0, 1)
    picked = np.take(Z, [2, 0, 2], axis=1)
    corners = np.take(X, [1, 1, -1])
    return np.sum(np.tanh(picked) * Z**2) + np.sum(corners**3)


def method_statistics(W):
    """The array methods x.var(), x.std(), x.cumsum(), x.swapaxes() and x.take()."""
    spread = W.var(axis=1) + W.std()
    return np.sum(W.cumsum(axis=0).swapaxes(0, 1).take([0, 2, 2], axis=0)) + np.sum(spread)
