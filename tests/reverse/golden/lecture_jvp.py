import numpy as np
from autodiffx.rules.helpers import broadcast_like


def lecture_jvp(x, y, z, dx, dy, dz):
    # forward mode of lecture (golden_functions.py:14)
    # return (x + y) * max(y, z)
    x_plus_y = x + y
    dx_plus_y = dx + dy
    max_y_z = max(y, z)
    dmax_y_z = broadcast_like(max_builtin_tangent_x(dy, max_y_z, y, z) +
        max_builtin_tangent_y(dz, max_y_z, y, z), max_y_z)
    lecture = x_plus_y * max_y_z
    dlecture = broadcast_like(dx_plus_y * max_y_z + dmax_y_z * x_plus_y,
        lecture)
    return lecture, dlecture
