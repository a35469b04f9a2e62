"""Functions in a file, for the display tests (reverse mode reads their source)."""

import numpy as np


def f(x, y, z):
    a = x + y
    b = max(y, z)
    return a * b


def ticks(x):
    """Its generated code holds a string with backticks, which a Markdown fence must hold."""
    label = "```"
    return np.sum(x * x) if label else x
