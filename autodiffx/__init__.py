"""autodiffx: differentiate plain NumPy code two ways, and show the work.

Forward mode pushes dual numbers through your unchanged code; reverse mode reads its source
and generates a readable adjoint function. Both read one registry of derivative rules.

>>> import numpy as np
>>> from autodiffx import grad
>>> grad(lambda x: np.sum(np.tanh(x)), mode="forward")(np.zeros(2))
array([1., 1.])
"""

from .api import (
    grad,
    hessian,
    hvp,
    jacfwd,
    jacrev,
    jvp,
    jvp_source,
    source,
    value_and_grad,
    vjp,
)
from .check import GradCheckReport, check_grad
from .computation_graph import graph
from .custom import primitive, stop_gradient
from .errors import (
    ArgumentError,
    AutodiffError,
    ComplexNotSupportedError,
    ComplexOutputError,
    ComplexTangentError,
    DerivativeConversionError,
    GradientCheckError,
    InputTypeError,
    MissingRuleError,
    NonScalarOutputError,
    NoSourceError,
    OutputTypeError,
    UnsupportedSyntaxError,
    UserCodeError,
)
from .forward import Dual
from .rules import Rule, defrule, elementwise, nondifferentiable
from .version import __version__ as __version__

__all__ = [
    "ArgumentError",
    "AutodiffError",
    "ComplexNotSupportedError",
    "ComplexOutputError",
    "ComplexTangentError",
    "DerivativeConversionError",
    "Dual",
    "GradCheckReport",
    "GradientCheckError",
    "InputTypeError",
    "MissingRuleError",
    "NoSourceError",
    "NonScalarOutputError",
    "OutputTypeError",
    "Rule",
    "UnsupportedSyntaxError",
    "UserCodeError",
    "check_grad",
    "defrule",
    "elementwise",
    "grad",
    "graph",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "nondifferentiable",
    "primitive",
    "source",
    "jvp_source",
    "stop_gradient",
    "value_and_grad",
    "vjp",
]
