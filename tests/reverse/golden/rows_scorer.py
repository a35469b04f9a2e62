import numpy as np
from autodiffx.rules.helpers import unbroadcast


def rows_scorer_vjp(W, b, u, X):
    # reverse mode of rows_scorer (golden_functions.py:78)
    # Z = X @ W.T + b
    WT = W.T
    XT = X @ WT
    Z = XT + b
    # H = np.tanh(Z)
    H = np.tanh(Z)
    # return np.sum(H @ u)
    Hu = H @ u
    rows_scorer = np.sum(Hu)

    def pullback(drows_scorer):
        # grad of: return np.sum(H @ u)
        dHu = np.broadcast_to(drows_scorer, np.shape(Hu))
        dH = np.outer(dHu, u)
        du = H.T @ dHu
        # grad of: H = np.tanh(Z)
        dZ = dH * (1 - H ** 2)
        # grad of: Z = X @ W.T + b
        dXT = unbroadcast(dZ, XT)
        db = unbroadcast(dZ, b)
        dX = np.dot(dXT, W)
        dW = np.dot(dXT.T, X)
        return dW, db, du, dX
    return rows_scorer, pullback
