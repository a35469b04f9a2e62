import numpy as np
from autodiffx.rules.helpers import unbroadcast


def score_vjp(W, x, b, u):
    # reverse mode of score (golden_functions.py:8)
    # z = W @ x + b
    Wx = W @ x
    z = Wx + b
    # h = np.tanh(z)
    h = np.tanh(z)
    # return u @ h
    score = u @ h

    def pullback(dscore):
        # grad of: return u @ h
        du = dscore * h
        dh = dscore * u
        # grad of: h = np.tanh(z)
        dz = dh * (1 - h ** 2)
        # grad of: z = W @ x + b
        dWx = unbroadcast(dz, Wx)
        db = unbroadcast(dz, b)
        dW = np.outer(dWx, x)
        dx = W.T @ dWx
        return dW, dx, db, du
    return score, pullback
