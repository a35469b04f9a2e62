import numpy as np
from autodiffx.rules.helpers import unbroadcast


def scaled_or_default_vjp(x, scale=None):
    # reverse mode of scaled_or_default (golden_functions.py:114)
    # w = scale or np.tanh(x)
    if scale:
        w = scale
    else:
        w = np.tanh(x)
    # return np.sum(w * x)
    wx = w * x
    out = np.sum(wx)

    def pullback(dout):
        # grad of: return np.sum(w * x)
        dwx = np.broadcast_to(dout, np.shape(wx))
        dw = unbroadcast(dwx * x, w)
        dx = unbroadcast(dwx * w, x)
        # grad of: w = scale or np.tanh(x)
        if not scale:
            dx = dx + dw * (1 - w ** 2)
        return dx,
    return out, pullback
