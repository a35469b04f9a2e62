"""Reverse mode by source transformation (placeholder until the transformer lands)."""

from ..errors import AutodiffError


class ReverseModeUnavailable(AutodiffError, NotImplementedError):
    """Reverse mode is not built yet."""


def build(f, wrt, ranks, verbose=False):
    raise ReverseModeUnavailable(
        "reverse mode is not available in this version",
        hint="use mode='forward'",
    )


def source_of(g, *example_args):
    build(g, (), ())
