import numpy as np
from autodiffx.rules.helpers import unstack


def stacked_rows_vjp(x):
    # reverse mode of stacked_rows (golden_functions.py:60)
    tape = []
    # rows = []
    rows = []
    # for i in range(3):
    for i in range(3):
        # rows.append(np.sin(x * i))
        xi = x * i
        tape.append(xi)
        sin = np.sin(xi)
        rows.append(sin)
    # return np.sum(np.stack(rows) ** 2)
    stack_rows = np.stack(rows)
    tmp = stack_rows ** 2
    stacked_rows = np.sum(tmp)

    def pullback(dstacked_rows):
        replay = reversed(tape)
        # grad of: return np.sum(np.stack(rows) ** 2)
        dtmp = np.broadcast_to(dstacked_rows, np.shape(tmp))
        dstack_rows = dtmp * (2 * stack_rows)
        drows = unstack(dstack_rows, 0)
        # grad of: for i in range(3):
        dx = np.zeros_like(x)
        for i in reversed(range(3)):
            # grad of: rows.append(np.sin(x * i))
            dsin = drows.pop()
            xi = next(replay)
            dxi = dsin * np.cos(xi)
            dx = dx + dxi * i
        return dx,
    return stacked_rows, pullback
