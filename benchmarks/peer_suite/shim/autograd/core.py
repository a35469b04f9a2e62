"""The peer's core: ``make_vjp`` of a unary function is mapped; the rest is peer-only."""

from peer_harness.operators import make_vjp as _make_vjp

from ._peer_only import unavailable

primitive = unavailable("core.primitive")
vspace = unavailable("core.vspace")
primitive_vjps = {}


def make_vjp(fun, x):
    """(vjp, value) of the unary ``fun`` at ``x``."""
    return _make_vjp(fun, 0)(x)
