"""A stand-in for the peer package's import name, so that its test files run unchanged
against autodiffx.

Its NumPy and SciPy namespaces are the plain ``numpy`` and ``scipy`` modules (registered in
``sys.modules`` under the peer's names); its differential operators are the autodiffx-backed
functions of ``peer_harness.operators``.
"""

import builtins as _builtins
import sys as _sys

import numpy as _numpy
import numpy.fft as _fft
import numpy.linalg as _linalg
import numpy.random as _random

_sys.modules[__name__ + ".numpy"] = _numpy
_sys.modules[__name__ + ".numpy.linalg"] = _linalg
_sys.modules[__name__ + ".numpy.fft"] = _fft
_sys.modules[__name__ + ".numpy.random"] = _random
numpy = _numpy

from peer_harness.operators import (  # noqa: E402 (the aliases above come first)
    checkpoint,
    deriv,
    elementwise_grad,
    grad,
    grad_and_aux,
    hessian,
    hessian_tensor_product,
    hessian_vector_product,
    holomorphic_grad,
    jacobian,
    make_ggnvp,
    make_hvp,
    make_jvp,
    make_vjp,
    multigrad_dict,
    tensor_jacobian_product,
    value_and_grad,
    vector_jacobian_product,
)

dict = _builtins.dict
list = _builtins.list
tuple = _builtins.tuple
isinstance = _builtins.isinstance
type = _builtins.type

__all__ = [
    "checkpoint", "deriv", "dict", "elementwise_grad", "grad", "grad_and_aux", "hessian",
    "hessian_tensor_product", "hessian_vector_product", "holomorphic_grad", "isinstance",
    "jacobian", "list", "make_ggnvp", "make_hvp", "make_jvp", "make_vjp", "multigrad_dict",
    "tensor_jacobian_product", "tuple", "type", "value_and_grad", "vector_jacobian_product",
]
