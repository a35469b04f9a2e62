import numpy as np


def relu_or_square_jvp(x, dx):
    # forward mode of relu_or_square (golden_functions.py:25)
    # if x > 0.0:
    if x > 0.0:
        # y = x * x
        y = x * x
        dy = dx * x + dx * x
    else:
        # y = 0.1 * x
        y = 0.1 * x
        dy = dx * 0.1
    # return y + 1.0
    out = y + 1.0
    dout = dy
    return out, dout
