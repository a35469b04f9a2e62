import numpy as np
from autodiffx.rules.helpers import unbroadcast, unfft


def magnitude_misfit_vjp(z, target):
    # reverse mode of magnitude_misfit (golden_functions.py:90)
    # return np.sum((np.abs(np.fft.fft(z)) - target) ** 2)
    fft_z = np.fft.fft(z)
    abs_2 = np.abs(fft_z)
    tmp_2 = abs_2 - target
    tmp = tmp_2 ** 2
    out = np.sum(tmp)

    def pullback(dout):
        # grad of: return np.sum((np.abs(np.fft.fft(z)) - target) ** 2)
        dtmp = dout
        dtmp_2 = dtmp * (2 * tmp_2)
        dabs_2 = unbroadcast(dtmp_2, abs_2)
        dfft_z = dabs_2 * np.sign(fft_z)
        dz = unfft(dfft_z, z, None, -1, None)
        return dz,
    return out, pullback
