import numpy as np


def relu_or_square_vjp(x):
    # reverse mode of relu_or_square (golden_functions.py:25)
    # if x > 0.0:
    if x > 0.0:
        # y = x * x
        y = x * x
    else:
        # y = 0.1 * x
        y = 0.1 * x
    # return y + 1.0
    out = y + 1.0

    def pullback(dout):
        # grad of: return y + 1.0
        dy = dout
        # grad of: if x > 0.0:
        dx = 0.0
        if x > 0.0:
            # grad of: y = x * x
            dx = dx + dy * x
            dx = dx + dy * x
        else:
            # grad of: y = 0.1 * x
            dx = dx + dy * 0.1
        return dx,
    return out, pullback
