"""The peer's container types are Python's own here."""

import builtins

dict = builtins.dict
list = builtins.list
tuple = builtins.tuple
isinstance = builtins.isinstance
type = builtins.type
