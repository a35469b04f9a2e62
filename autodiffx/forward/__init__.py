"""Forward mode: dual numbers pushed through the user's unchanged NumPy code."""

from .dual import Dual, apply, new_level

__all__ = ["Dual", "apply", "new_level"]
