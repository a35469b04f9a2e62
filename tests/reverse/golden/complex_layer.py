import numpy as np
from autodiffx.rules.helpers import unbroadcast


def complex_layer_vjp(W, z, u):
    # reverse mode of complex_layer (golden_functions.py:95)
    # h = np.tanh(W @ z)
    Wz = W @ z
    h = np.tanh(Wz)
    # return np.real(np.sum(np.conj(u) * h)) + np.sum(np.abs(h) ** 2)
    conj_u = np.conj(u)
    tmp = conj_u * h
    sum_2 = np.sum(tmp)
    real = np.real(sum_2)
    abs_h = np.abs(h)
    tmp_2 = abs_h ** 2
    sum_3 = np.sum(tmp_2)
    out = real + sum_3

    def pullback(dout):
        # grad of: return np.real(np.sum(np.conj(u) * h)) + np.sum(np.abs(h) ** 2)
        dreal = dout
        dsum_3 = dout
        dtmp_2 = dsum_3
        dabs_h = dtmp_2 * (2 * abs_h)
        dh = dabs_h * np.sign(h)
        dsum_2 = dreal
        dtmp = np.broadcast_to(dsum_2, np.shape(tmp))
        dh = dh + unbroadcast(dtmp * conj_u, h)
        # grad of: h = np.tanh(W @ z)
        dWz = dh * (1 - np.conj(h) ** 2)
        dW = np.outer(dWz, np.conj(z))
        dz = np.conj(W).T @ dWz
        return dW, dz
    return out, pullback
