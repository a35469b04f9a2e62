"""The benchmark problem: the NER max-margin loss and its hand-derived gradient.

J = mean over B windows of max(0, 1 − s + s_c), with s = u·tanh(W x + b) for the true
window and s_c for a corrupted one (d = 50, window 5, n = 100, as in the issue). The loss is
the package's own (:mod:`autodiffx.ner.model`); the hand gradient here is the lecture's
derivation written for speed, computing each quantity once: δ = u ∘ (1 − h²),
∂s/∂W = δ xᵀ, ∂s/∂b = δ, ∂s/∂x = Wᵀ δ, ∂s/∂u = h, with ∂J/∂s = −1 and ∂J/∂s_c = +1 on
windows where J > 0.
"""

from __future__ import annotations

import numpy as np

from autodiffx.ner.model import max_margin_loss as loss

__all__ = ["WRT", "hand_gradient", "loss", "problem"]

WRT = (0, 1, 2, 3, 4)
"""Gradients with respect to all of (W, b, u, X, Xc)."""


def hand_gradient(W, b, u, X, Xc):
    """The lecture's backprop for the batched max-margin loss, written out in NumPy."""
    batch = X.shape[1]
    h = np.tanh(W @ X + b[:, None])
    hc = np.tanh(W @ Xc + b[:, None])
    active = ((1.0 - u @ h + u @ hc) > 0) / batch
    ds = -active  # ∂J/∂s for each window
    dsc = active  # ∂J/∂s_c
    delta = u[:, None] * (1 - h**2) * ds  # δ for the true windows, one column each
    delta_c = u[:, None] * (1 - hc**2) * dsc
    dW = delta @ X.T + delta_c @ Xc.T
    db = delta.sum(axis=1) + delta_c.sum(axis=1)
    du = h @ ds + hc @ dsc
    dX = W.T @ delta
    dXc = W.T @ delta_c
    return dW, db, du, dX, dXc


def problem(batch: int, d: int = 50, window: int = 5, n: int = 100, seed: int = 0):
    """Xavier-initialised parameters and random windows, as a tuple (W, b, u, X, Xc)."""
    rng = np.random.default_rng(seed)
    bound = np.sqrt(6 / (n + window * d))
    return (
        rng.uniform(-bound, bound, (n, window * d)),
        rng.uniform(-0.1, 0.1, n),
        rng.uniform(-bound, bound, n),
        rng.standard_normal((window * d, batch)),
        rng.standard_normal((window * d, batch)),
    )
