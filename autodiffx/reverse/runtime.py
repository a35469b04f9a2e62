"""The helpers generated code may call besides :mod:`autodiffx.rules.helpers`.

>>> import numpy as np
>>> unbroadcast_to(np.ones((2, 3)), (1, 3)).tolist()
[[2.0, 2.0, 2.0]]
"""

from __future__ import annotations

import numpy as np

from ..rules import lifting
from ..rules.helpers import unbroadcast


@lifting.linear(0)
def unbroadcast_to(g, shape: tuple[int, ...]):
    """:func:`~autodiffx.rules.helpers.unbroadcast` to a shape rather than to an array.

    The forward sweep keeps only ``np.shape(t)`` of a temporary ``t`` whose value the
    adjoint sweep never reads, so that ``t`` itself is freed early.
    """
    if np.shape(g) == shape:
        return g
    return unbroadcast(g, np.broadcast_to(0.0, shape))


RUNTIME = {"unbroadcast_to": unbroadcast_to}
"""The names generated code may import from this module."""
