import numpy as np
from autodiffx.rules.helpers import unbroadcast


def max_margin_loss_vjp(W, b, u, X, X_c):
    # reverse mode of max_margin_loss (model.py:37)
    # z = W @ X + np.expand_dims(b, 1)
    WX = W @ X
    expand_dims_b_1 = np.expand_dims(b, 1)
    z = WX + expand_dims_b_1
    # h = np.tanh(z)
    h = np.tanh(z)
    # s = u @ h
    s = u @ h
    # z_c = W @ X_c + np.expand_dims(b, 1)
    W_times_X_c = W @ X_c
    z_c = W_times_X_c + expand_dims_b_1
    # h_c = np.tanh(z_c)
    h_c = np.tanh(z_c)
    # s_c = u @ h_c
    s_c = u @ h_c
    # return np.mean(np.maximum(0.0, 1.0 - s + s_c))
    tmp_2 = 1.0 - s
    tmp = tmp_2 + s_c
    maximum = np.maximum(0.0, tmp)
    out = np.mean(maximum)

    def pullback(dout):
        # grad of: return np.mean(np.maximum(0.0, 1.0 - s + s_c))
        dmaximum = dout / np.maximum(np.size(maximum), 1)
        dtmp = dmaximum * np.heaviside(tmp, 0.5)
        dtmp_2 = unbroadcast(dtmp, tmp_2)
        ds_c = unbroadcast(dtmp, s_c)
        ds = -dtmp_2
        # grad of: s_c = u @ h_c
        du = h_c @ ds_c
        dh_c = np.outer(u, ds_c)
        # grad of: h_c = np.tanh(z_c)
        dz_c = dh_c * (1 - h_c ** 2)
        # grad of: z_c = W @ X_c + np.expand_dims(b, 1)
        dW_times_X_c = unbroadcast(dz_c, W_times_X_c)
        dexpand_dims_b_1 = unbroadcast(dz_c, expand_dims_b_1)
        dW = np.dot(dW_times_X_c, X_c.T)
        dX_c = np.dot(W.T, dW_times_X_c)
        # grad of: s = u @ h
        du = du + h @ ds
        dh = np.outer(u, ds)
        # grad of: h = np.tanh(z)
        dz = dh * (1 - h ** 2)
        # grad of: z = W @ X + np.expand_dims(b, 1)
        dWX = unbroadcast(dz, WX)
        dexpand_dims_b_1 = dexpand_dims_b_1 + unbroadcast(dz, expand_dims_b_1)
        db = np.reshape(dexpand_dims_b_1, np.shape(b))
        dW = dW + np.dot(dWX, X.T)
        dX = np.dot(W.T, dWX)
        return dW, db, du, dX, dX_c
    return out, pullback
