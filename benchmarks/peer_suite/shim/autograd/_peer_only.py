"""Peer APIs with no autodiffx counterpart: calling one marks the case out of scope."""

from peer_harness import PeerOnlyAPI


def unavailable(name):
    def stand_in(*args, **kwargs):
        raise PeerOnlyAPI(f"{name} is part of the peer's own machinery, with no autodiffx "
                          "counterpart")

    stand_in.__name__ = name.rsplit(".", 1)[-1]
    return stand_in
