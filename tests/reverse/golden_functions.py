"""The functions whose generated reverse-mode code is checked against tests/reverse/golden."""

import numpy as np

from autodiffx.ner.model import max_margin_loss


def score(W, x, b, u):
    z = W @ x + b
    h = np.tanh(z)
    return u @ h


def lecture(x, y, z):
    return (x + y) * max(y, z)


def rnn(W, h0, steps):
    h = h0
    for _ in range(steps):
        h = np.tanh(W @ h)
    return np.sum(h**2)


def relu_or_square(x):
    if x > 0.0:
        y = x * x
    else:
        y = 0.1 * x
    return y + 1.0


def layer(W, x):
    return np.tanh(W @ x)


def two_layers(W1, W2, x):
    h = layer(W1, x)
    return np.sum(layer(W2, h))


GOLDEN = {
    "score": (score, (0, 1, 2, 3), (2, 1, 1, 1)),
    "lecture": (lecture, (0, 1, 2), (0, 0, 0)),
    "rnn": (rnn, (0, 1), (2, 1, 0)),
    "relu_or_square": (relu_or_square, (0,), (0,)),
    "two_layers": (two_layers, (0, 1, 2), (2, 2, 1)),
}


def moments(v):
    return np.sum(v), np.sum(v**2)


def variance(x):
    total, squares = moments(x)
    return squares / len(x) - (total / len(x)) ** 2


def stacked_rows(x):
    rows = []
    for i in range(3):
        rows.append(np.sin(x * i))
    return np.sum(np.stack(rows) ** 2)


GOLDEN["variance"] = (variance, (0,), (1,))
GOLDEN["stacked_rows"] = (stacked_rows, (0,), (1,))


FLAT_GOLDEN = {
    # reverse over reverse: the flat gradient code the second transform reads
    "rnn_flat": (rnn, (0,), (2, 1, 0)),
    "two_layers_flat": (two_layers, (0, 1), (2, 2, 1)),
}


def rows_scorer(W, b, u, X):
    """The window scorer with one window per row of X, so the product is X @ W.T."""
    Z = X @ W.T + b
    H = np.tanh(Z)
    return np.sum(H @ u)


# the lecture's batched loss (autodiffx/ner/model.py), one window per column of X and X_c
GOLDEN["max_margin_loss"] = (max_margin_loss, (0, 1, 2, 3, 4), (2, 1, 1, 2, 2))
GOLDEN["rows_scorer"] = (rows_scorer, (0, 1, 2, 3), (2, 1, 1, 2))


def magnitude_misfit(z, target):
    """Fitting the magnitudes of a spectrum (docs/complex.md), z complex, target real."""
    return np.sum((np.abs(np.fft.fft(z)) - target) ** 2)


def complex_layer(W, z, u):
    """A layer with complex weights: the adjoints of the product and of tanh conjugate."""
    h = np.tanh(W @ z)
    return np.real(np.sum(np.conj(u) * h)) + np.sum(np.abs(h) ** 2)


def cached_layers(W1, W2, x):
    """Two layers whose forward pass keeps its values in a dict, as hand-written backprop
    does: each entry is read as a name of its own (cache_z1, and dcache_z1 in the adjoint)."""
    cache = {}
    cache["z1"] = W1 @ x
    cache["h1"] = np.tanh(cache["z1"])
    cache["z2"] = W2 @ cache["h1"]
    return np.sum(np.tanh(cache["z2"]) ** 2)


GOLDEN["cached_layers"] = (cached_layers, (0, 1, 2), (2, 2, 1))


def scaled_or_default(x, scale=None):
    """``scale or default``: Python's ``or`` gives one of its operands, here maybe the
    value being differentiated; the forward sweep makes the choice as Python does, and the
    adjoint sweep follows the branch taken."""
    w = scale or np.tanh(x)
    return np.sum(w * x)


GOLDEN["scaled_or_default"] = (scaled_or_default, (0,), (1, 0))


# complex programs: the kind of each argument as a fourth entry (None: all real)
GOLDEN["magnitude_misfit"] = (magnitude_misfit, (0,), (1, 1), ("complex", "real"))
GOLDEN["complex_layer"] = (complex_layer, (0, 1), (2, 1, 1), ("complex", "complex", "real"))

# Code made for the arguments' shapes: the NER loss for a batch of 256 windows (d = 50,
# window 5, n = 100), where broadcasting is decided when the code is written and the
# arrays are large enough to be let go after their last use.
SHAPED_GOLDEN = {
    "max_margin_loss_shaped": (max_margin_loss, (0, 1, 2, 3, 4),
                               ((100, 250), (100,), (100,), (250, 256), (250, 256))),
}

# forward mode's generated JVP (jvp_source): function, and the shape of each argument
# (() for a Python float)
JVP_GOLDEN = {
    "max_margin_loss_jvp": (max_margin_loss, ((4, 10), (4,), (4,), (10, 3), (10, 3))),
    "lecture_jvp": (lecture, ((), (), ())),
    "relu_or_square_jvp": (relu_or_square, ((),)),
}
