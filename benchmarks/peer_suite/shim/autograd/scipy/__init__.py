"""The peer's SciPy namespaces are SciPy's own (``misc.logsumexp`` is ``special``'s)."""

import sys

import scipy.integrate
import scipy.linalg
import scipy.signal
import scipy.special
import scipy.stats

_ALIASES = {
    "integrate": scipy.integrate,
    "linalg": scipy.linalg,
    "signal": scipy.signal,
    "special": scipy.special,
    "stats": scipy.stats,
}
for _name, _module in _ALIASES.items():
    sys.modules[f"{__name__}.{_name}"] = _module
    globals()[_name] = _module
for _name in ("multivariate_normal", "dirichlet", "norm", "t", "gamma", "beta", "chi2",
              "poisson"):
    sys.modules[f"{__name__}.stats.{_name}"] = getattr(scipy.stats, _name)
