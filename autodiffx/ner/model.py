"""The lecture's window scorer and its losses, as plain NumPy functions.

The model (CS224N lecture 3): z = W x + b, h = tanh(z), s = u·h, with x in R^{5d} the
concatenation of a window's 5 word vectors, W in R^{n×5d}, b and u in R^n. Batched, X has
shape (5d, B), one window per column, and s has shape (B,). X is always 2-D: one window is
X of shape (5d, 1) (a 1-D x would broadcast against the column of b into an n × n matrix).

The loss functions below contain no autodiffx calls on purpose: they are what autodiffx
differentiates, in both modes, and what :mod:`autodiffx.ner.hand` differentiates by hand.

>>> import numpy as np
>>> parameters = initial_parameters(vocabulary_size=10, d=4, n=8, seed=0)
>>> parameters["W"].shape, parameters["E"].shape
((8, 20), (10, 4))
>>> X = np.zeros((20, 3))
>>> score(parameters["W"], parameters["b"], parameters["u"], X).tolist()
[0.0, 0.0, 0.0]
"""

from __future__ import annotations

import numpy as np

from .windows import WIDTH

Parameters = dict[str, np.ndarray]
"""``{"E": word vectors (V, d), "W": (n, 5d), "b": (n,), "u": (n,)}``."""


def score(W, b, u, X):
    """The scores s = uᵀ tanh(W X + b) of a batch of windows, shape (B,)."""
    z = W @ X + np.expand_dims(b, 1)
    h = np.tanh(z)
    return u @ h


def max_margin_loss(W, b, u, X, X_c):
    """The mean of J = max(0, 1 − s + s_c) over a batch of true and corrupted windows.

    Column i of ``X_c`` is column i of ``X`` with the centre word replaced at random. The
    loss is zero once every true window outscores its corrupted twin by a margin of 1.
    """
    z = W @ X + np.expand_dims(b, 1)
    h = np.tanh(z)
    s = u @ h
    z_c = W @ X_c + np.expand_dims(b, 1)
    h_c = np.tanh(z_c)
    s_c = u @ h_c
    return np.mean(np.maximum(0.0, 1.0 - s + s_c))


def logistic_loss(W, b, u, X, y):
    """The mean cross-entropy of P(LOC) = σ(s), for labels ``y`` in {0, 1}.

    −log σ(s) = log(1 + e^s) − s and −log(1 − σ(s)) = log(1 + e^s), so J = log(1 + e^s) − y s,
    written with ``np.logaddexp`` so that large scores do not overflow.
    """
    z = W @ X + np.expand_dims(b, 1)
    h = np.tanh(z)
    s = u @ h
    return np.mean(np.logaddexp(0.0, s) - y * s)


def xavier(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """Xavier (Glorot) uniform initialisation on ±√(6 / (n_in + n_out))."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_out, n_in))


def initial_parameters(
    vocabulary_size: int, d: int = 50, n: int = 100, seed: int = 0, scale: float = 0.1
) -> Parameters:
    """Seeded starting values: word vectors ~ N(0, scale²), W Xavier, b zero, u Xavier.

    >>> p = initial_parameters(5, d=2, n=3, seed=1)
    >>> sorted(p), p["b"].tolist()
    (['E', 'W', 'b', 'u'], [0.0, 0.0, 0.0])
    """
    rng = np.random.default_rng(seed)
    return {
        "E": rng.normal(0.0, scale, size=(vocabulary_size, d)),
        "W": xavier(rng, n, WIDTH * d),
        "b": np.zeros(n),
        "u": xavier(rng, 1, n)[0],
    }
