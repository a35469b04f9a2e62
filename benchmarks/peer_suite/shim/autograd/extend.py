"""The peer's extension API (primitives and their rules) has no counterpart here."""

from ._peer_only import unavailable

primitive = unavailable("extend.primitive")
defvjp = unavailable("extend.defvjp")
defjvp = unavailable("extend.defjvp")
defvjp_argnum = unavailable("extend.defvjp_argnum")
vspace = unavailable("extend.vspace")
