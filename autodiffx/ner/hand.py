"""The lecture's hand derivation of the scorer's gradients, batched.

For one window, with z = W x + b, h = tanh(z), s = u·h:

* the error signal δ = ∂s/∂z = u ∘ tanh′(z) = u ∘ (1 − h²), computed once and reused;
* ∂s/∂W = δ xᵀ, ∂s/∂b = δ, ∂s/∂x = Wᵀ δ, ∂s/∂u = h.

A batch of B windows is B columns. If the loss sends the upstream gradient g_i = ∂J/∂s_i
to window i, then δ becomes the (n, B) matrix with columns g_i u ∘ (1 − h_i²), and the
sums over windows come out of matrix products: ∂J/∂W = δ Xᵀ, ∂J/∂b = δ·1,
∂J/∂u = H g, ∂J/∂X = Wᵀ δ.

These functions are the reference the automatic gradients are tested against.

>>> import numpy as np
>>> from autodiffx.ner.model import initial_parameters
>>> p = initial_parameters(10, d=4, n=8, seed=0)
>>> rng = np.random.default_rng(0)
>>> X, X_c = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
>>> [g.shape for g in hand_gradient(p["W"], p["b"], p["u"], X, X_c)]
[(8, 20), (8,), (8,), (20, 3), (20, 3)]
"""

from __future__ import annotations

import numpy as np


def score_backward(W, b, u, X, g):
    """Pull the upstream gradients ``g`` (shape (B,)) of the scores back to W, b, u and X."""
    z = W @ X + b[:, np.newaxis]
    h = np.tanh(z)
    delta = u[:, np.newaxis] * (1.0 - h**2) * g  # the lecture's δ, one column per window
    dW = delta @ X.T
    db = delta.sum(axis=1)
    du = h @ g
    dX = W.T @ delta
    return dW, db, du, dX


def margin_weights(W, b, u, X, X_c):
    """∂J/∂(1 − s + s_c) for each window of the mean max-margin loss.

    It is 1/B where the margin is violated and 0 where it is met. At an exact tie,
    max(0, m) with m = 0, it is half of 1/B, the same convention as autodiffx's rule for
    ``np.maximum``, so the hand and automatic gradients agree even there.
    """
    margin = 1.0 - _scores(W, b, u, X) + _scores(W, b, u, X_c)
    return ((margin > 0) + 0.5 * (margin == 0)) / X.shape[1]


def hand_gradient(W, b, u, X, X_c):
    """Gradients of the mean max-margin loss: (dW, db, du, dX, dX_c), each in its shape.

    Where J > 0, ∂J/∂s = −1 and ∂J/∂s_c = +1 (per window, divided by B for the mean).
    """
    weights = margin_weights(W, b, u, X, X_c)
    dW, db, du, dX = score_backward(W, b, u, X, -weights)
    dW_c, db_c, du_c, dX_c = score_backward(W, b, u, X_c, weights)
    return dW + dW_c, db + db_c, du + du_c, dX, dX_c


def hand_gradient_logistic(W, b, u, X, y):
    """Gradients of the mean logistic loss: (dW, db, du, dX); ∂J/∂s_i = (σ(s_i) − y_i) / B."""
    s = _scores(W, b, u, X)
    probability = 0.5 * (1.0 + np.tanh(0.5 * s))  # σ(s), without overflow for large |s|
    return score_backward(W, b, u, X, (probability - y) / X.shape[1])


def _scores(W, b, u, X):
    return u @ np.tanh(W @ X + b[:, np.newaxis])
