"""The harness side of the shim: which autodiffx mode to use, the gradient checker, the
functions that stand in for the peer's differential operators, and the pytest plugin that
records every case.

The mode comes from the environment variable ``AUTODIFFX_PEER_MODE`` (``forward`` or
``reverse``), set by ``benchmarks/peer_suite/run.py``.
"""

import os

MODE = os.environ.get("AUTODIFFX_PEER_MODE", "reverse")


class PeerOnlyAPI(Exception):
    """A peer API with no autodiffx counterpart was called; the case is out of scope."""
