"""``logsumexp`` lives in ``scipy.special``."""

from scipy.special import logsumexp

__all__ = ["logsumexp"]
