import numpy as np


def lecture_vjp(x, y, z):
    # reverse mode of lecture (golden_functions.py:14)
    # return (x + y) * max(y, z)
    x_plus_y = x + y
    max_y_z = max(y, z)
    lecture = x_plus_y * max_y_z

    def pullback(dlecture):
        # grad of: return (x + y) * max(y, z)
        dx_plus_y = dlecture * max_y_z
        dmax_y_z = dlecture * x_plus_y
        dy = dmax_y_z * (y >= z)
        dz = dmax_y_z * (z > y)
        dx = dx_plus_y
        dy = dy + dx_plus_y
        return dx, dy, dz
    return lecture, pullback
