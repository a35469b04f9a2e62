import numpy as np
from autodiffx.rules.helpers import strong_zero


def moments_vjp(v):
    # reverse mode of moments (golden_functions.py:51)
    # return np.sum(v), np.sum(v**2)
    sum_v = np.sum(v)
    v_pow_2 = v ** 2
    sum_2 = np.sum(v_pow_2)

    def pullback(dout):
        dsum_v, dsum_2 = dout
        # grad of: return np.sum(v), np.sum(v**2)
        dv_pow_2 = dsum_2
        dv = dv_pow_2 * (2 * v)
        dv = dv + np.broadcast_to(dsum_v, np.shape(v))
        return dv,
    return (sum_v, sum_2), pullback


def variance_vjp(x):
    # reverse mode of variance (golden_functions.py:55)
    # total, squares = moments(x)
    (total, squares), moments_pullback = moments_vjp(x)
    # return squares / len(x) - (total / len(x)) ** 2
    len_x = len(x)
    tmp = squares / len_x
    len_x_2 = len(x)
    tmp_3 = total / len_x_2
    tmp_2 = tmp_3 ** 2
    variance = tmp - tmp_2

    def pullback(dvariance):
        # grad of: return squares / len(x) - (total / len(x)) ** 2
        dtmp = dvariance
        dtmp_2 = -dvariance
        dtmp_3 = dtmp_2 * (2 * tmp_3)
        dtotal = strong_zero(dtmp_3, np.divide(1, len_x_2))
        dsquares = strong_zero(dtmp, np.divide(1, len_x))
        # grad of: total, squares = moments(x)
        dx, = moments_pullback((dtotal, dsquares))
        return dx,
    return variance, pullback
