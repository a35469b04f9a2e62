"""Central differences shared by the higher-order tests."""

from __future__ import annotations

import numpy as np

H = 1e-6


def numeric_gradient(f, x):
    """The gradient of ``f`` at ``x`` by central differences, entry by entry."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = H
        out[i] = (f(x + e) - f(x - e)) / (2 * H)
    return out
