"""A module whose globals share names with test_namespaces.py, bound to other values."""

import numpy as np

C = 10.0
OFFSET = np.array([1.0, -1.0])


def scaled(x):
    return x * C + OFFSET
