import numpy as np


def max_margin_loss_jvp(W, b, u, X, X_c, dW, db, du, dX, dX_c):
    # forward mode of max_margin_loss (model.py:37)
    # z = W @ X + np.expand_dims(b, 1)
    expand_dims_b_1 = b[:, None]
    dexpand_dims_b_1 = db[:, None]
    z = W @ X + expand_dims_b_1
    dz = dW @ X + W @ dX + dexpand_dims_b_1
    # h = np.tanh(z)
    h = np.tanh(z)
    dh = dz * (1 - h ** 2)
    # s = u @ h
    s = u @ h
    ds = du @ h + u @ dh
    # z_c = W @ X_c + np.expand_dims(b, 1)
    z_c = W @ X_c + expand_dims_b_1
    dz_c = dW @ X_c + W @ dX_c + dexpand_dims_b_1
    # h_c = np.tanh(z_c)
    h_c = np.tanh(z_c)
    dh_c = dz_c * (1 - h_c ** 2)
    # s_c = u @ h_c
    s_c = u @ h_c
    ds_c = du @ h_c + u @ dh_c
    # return np.mean(np.maximum(0.0, 1.0 - s + s_c))
    tmp = 1.0 - s + s_c
    out = np.mean(np.maximum(0.0, tmp))
    dout = np.mean((-ds + ds_c) * np.heaviside(tmp, 0.5))
    return out, dout
