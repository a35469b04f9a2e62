"""Peer utilities with no counterpart here."""

from ._peer_only import unavailable

const_graph = unavailable("misc.const_graph")
flatten = unavailable("misc.flatten")
