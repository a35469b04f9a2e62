import numpy as np


def cached_layers_vjp(W1, W2, x):
    # reverse mode of cached_layers (golden_functions.py:101)
    # cache["z1"] = W1 @ x
    cache_z1 = W1 @ x
    # cache["h1"] = np.tanh(cache["z1"])
    cache_h1 = np.tanh(cache_z1)
    # cache["z2"] = W2 @ cache["h1"]
    cache_z2 = W2 @ cache_h1
    # return np.sum(np.tanh(cache["z2"]) ** 2)
    tanh_cache_z2 = np.tanh(cache_z2)
    tmp = tanh_cache_z2 ** 2
    out = np.sum(tmp)

    def pullback(dout):
        # grad of: return np.sum(np.tanh(cache["z2"]) ** 2)
        dtmp = dout
        dtanh_cache_z2 = dtmp * (2 * tanh_cache_z2)
        dcache_z2 = dtanh_cache_z2 * (1 - tanh_cache_z2 ** 2)
        # grad of: cache["z2"] = W2 @ cache["h1"]
        dW2 = np.outer(dcache_z2, cache_h1)
        dcache_h1 = W2.T @ dcache_z2
        # grad of: cache["h1"] = np.tanh(cache["z1"])
        dcache_z1 = dcache_h1 * (1 - cache_h1 ** 2)
        # grad of: cache["z1"] = W1 @ x
        dW1 = np.outer(dcache_z1, x)
        dx = W1.T @ dcache_z1
        return dW1, dW2, dx
    return out, pullback
