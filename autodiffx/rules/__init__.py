"""The one registry of derivative rules, shared by forward and reverse mode."""

from . import numpy_rules  # noqa: F401, I001  (registers the NumPy rules on import)
from . import linalg_rules  # noqa: F401  (and those for linear algebra)
from . import elementwise_rules, shape_rules, statistics_rules  # noqa: F401  (likewise)
from . import several_results  # noqa: F401  (splits and tuple-valued decompositions)
from . import complex_rules, fft_rules  # noqa: F401  (parts of complex numbers; np.fft)

try:  # the scipy extra: rules for scipy.special and scipy.linalg, when SciPy is installed
    import scipy  # noqa: F401
except ImportError:
    pass
else:
    from . import scipy_rules  # noqa: F401
from .registry import (
    Rule,
    all_rules,
    defrule,
    elementwise,
    lookup,
    nondifferentiable,
    on_change,
    register,
    require,
    rule_named,
    unregister,
)

__all__ = [
    "Rule",
    "all_rules",
    "defrule",
    "elementwise",
    "lookup",
    "nondifferentiable",
    "on_change",
    "register",
    "require",
    "rule_named",
    "unregister",
]
