"""Functions the command-line tests differentiate (``autodiffx show/export/check/graph``).

``f`` is the lecture's worked example: at (1, 2, 0) it has a = 3, b = 2, f = 6 and the
gradients 2, 5, 0. The lecture picture in ``docs/images`` was drawn from it with
``autodiffx graph tests/cli/programs/cli_lecture.py:f --args "(1.0, 2.0, 0.0)"
-o docs/images/lecture-graph.svg``.
"""

import math

import numpy as np

SCALE = 2.0
OFFSETS = (0.5, -1.0)
TABLE = np.arange(3.0)


def f(x, y, z):
    a = x + y
    b = max(y, z)
    return a * b


def scorer(W, b, u, x):
    z = W @ x + b
    h = np.tanh(z)
    return u @ h


def scaled(x, w):
    """Reads number and tuple globals and calls a helper function of this module."""
    shifted = x * SCALE + OFFSETS[0]
    return np.sum(softplus(shifted) * w) + math.pi * np.linalg.norm(x)


def softplus(v):
    return np.log1p(np.exp(v))


def reads_array(x):
    return np.sum(x * TABLE)


def kink(x):
    """max(x, 0) at 0: reverse mode gives 1, central differences 0.5, so a check fails."""
    return max(x, 0.0)


def broken(x):
    """Indexes past the end of a short x: an error inside the user's own code."""
    return np.sum(x[5])


def constant(x):
    return 2.0


def power(x, n):
    """x ** n by recursion on the count n."""
    if n == 0:
        return 1.0
    inner = power(x, n - 1)
    return x * inner
