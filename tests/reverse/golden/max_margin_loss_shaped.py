import numpy as np
from autodiffx.reverse.runtime import row_sums


def max_margin_loss_vjp(W, b, u, X, X_c):
    # reverse mode of max_margin_loss (model.py:37)
    # z = W @ X + np.expand_dims(b, 1)
    expand_dims_b_1 = b[:, None]
    z = W @ X + expand_dims_b_1
    # h = np.tanh(z)
    h = np.tanh(z)
    del z
    # s = u @ h
    s = u @ h
    # z_c = W @ X_c + np.expand_dims(b, 1)
    z_c = W @ X_c + expand_dims_b_1
    # h_c = np.tanh(z_c)
    h_c = np.tanh(z_c)
    del z_c
    # s_c = u @ h_c
    s_c = u @ h_c
    # return np.mean(np.maximum(0.0, 1.0 - s + s_c))
    tmp = 1.0 - s + s_c
    out = np.mean(np.maximum(0.0, tmp))

    def pullback(dout):
        # grad of: return np.mean(np.maximum(0.0, 1.0 - s + s_c))
        dmaximum = dout / 256
        dtmp = dmaximum * np.heaviside(tmp, 0.5)
        ds = -dtmp
        # grad of: s_c = u @ h_c
        du = h_c @ dtmp
        dh_c = u[:, None] * dtmp
        # grad of: h_c = np.tanh(z_c)
        dz_c = dh_c * (1 - h_c ** 2)
        del dh_c
        # grad of: z_c = W @ X_c + np.expand_dims(b, 1)
        dexpand_dims_b_1 = row_sums(dz_c)
        dW = np.dot(dz_c, X_c.T)
        dX_c = np.dot(W.T, dz_c)
        del dz_c
        # grad of: s = u @ h
        du += h @ ds
        dh = u[:, None] * ds
        # grad of: h = np.tanh(z)
        dz = dh * (1 - h ** 2)
        del dh
        # grad of: z = W @ X + np.expand_dims(b, 1)
        dexpand_dims_b_1 += row_sums(dz)
        db = dexpand_dims_b_1.reshape((100,))
        dW += np.dot(dz, X.T)
        dX = np.dot(W.T, dz)
        return dW, db, du, dX, dX_c
    return out, pullback


def max_margin_loss_grad(W, b, u, X, X_c):
    # gradient of max_margin_loss (model.py:37), without its value
    # z = W @ X + np.expand_dims(b, 1)
    expand_dims_b_1 = b[:, None]
    z = W @ X + expand_dims_b_1
    # h = np.tanh(z)
    h = np.tanh(z)
    del z
    # s = u @ h
    s = u @ h
    # z_c = W @ X_c + np.expand_dims(b, 1)
    z_c = W @ X_c + expand_dims_b_1
    # h_c = np.tanh(z_c)
    h_c = np.tanh(z_c)
    del z_c
    # s_c = u @ h_c
    s_c = u @ h_c
    # return np.mean(np.maximum(0.0, 1.0 - s + s_c))
    tmp = 1.0 - s + s_c
    # the adjoint sweep, from a cotangent of 1.0 for the value
    dout = 1.0
    # grad of: return np.mean(np.maximum(0.0, 1.0 - s + s_c))
    dmaximum = dout / 256
    dtmp = dmaximum * np.heaviside(tmp, 0.5)
    ds = -dtmp
    # grad of: s_c = u @ h_c
    du = h_c @ dtmp
    dh_c = u[:, None] * dtmp
    # grad of: h_c = np.tanh(z_c)
    dz_c = dh_c * (1 - h_c ** 2)
    del h_c, dh_c
    # grad of: z_c = W @ X_c + np.expand_dims(b, 1)
    dexpand_dims_b_1 = row_sums(dz_c)
    dW = np.dot(dz_c, X_c.T)
    dX_c = np.dot(W.T, dz_c)
    del dz_c
    # grad of: s = u @ h
    du += h @ ds
    dh = u[:, None] * ds
    # grad of: h = np.tanh(z)
    dz = dh * (1 - h ** 2)
    del h, dh
    # grad of: z = W @ X + np.expand_dims(b, 1)
    dexpand_dims_b_1 += row_sums(dz)
    db = dexpand_dims_b_1.reshape((100,))
    dW += np.dot(dz, X.T)
    dX = np.dot(W.T, dz)
    return dW, db, du, dX, dX_c
