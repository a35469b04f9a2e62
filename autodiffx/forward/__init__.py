"""Forward mode: dual numbers pushed through the user's unchanged NumPy code."""

from . import lifted
from .dual import Dual, apply, new_level

lifted.install()

__all__ = ["Dual", "apply", "new_level"]
