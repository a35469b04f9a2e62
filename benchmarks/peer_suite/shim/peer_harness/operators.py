"""autodiffx in place of the peer's differential operators, in the mode the harness runs.

The peer's gradient of a real function of a complex input is the conjugate of autodiffx's
(see docs/complex.md); the stand-ins conjugate it, so that a test comparing against the
peer's values compares like with like. Everything built from a vector-Jacobian product goes
through the gradient of a generated projection (see :mod:`.generated`), so reverse mode
reads only the test's code and a plain wrapper.
"""

import numpy as np

import autodiffx
from autodiffx import transforms

from . import MODE, PeerOnlyAPI
from .generated import bound, is_complex, leaves, make_projection, weight_shapes


def _conjugated(value):
    if isinstance(value, (tuple, list)):
        return type(value)(_conjugated(item) for item in value)
    if isinstance(value, dict):
        return {key: _conjugated(item) for key, item in value.items()}
    return np.conj(value) if is_complex(value) else value


def _any_complex(args, argnums):
    return any(is_complex(leaf) for i in argnums for _, leaf in leaves(args[i]))


def _wrt(argnum):
    return tuple(argnum) if isinstance(argnum, list) else argnum


def grad(fun, argnum=0):
    """The peer's ``grad``; like autodiffx's, it refuses a complex-valued ``fun`` (a
    TypeError in both)."""
    inner = autodiffx.grad(fun, wrt=_wrt(argnum), mode=MODE)
    argnums = argnum if isinstance(argnum, (tuple, list)) else (argnum,)

    def gradient(*args, **kwargs):
        result = inner(*args, **kwargs)
        return _conjugated(result) if _any_complex(args, argnums) else result

    gradient.__name__ = f"grad_of_{getattr(fun, '__name__', 'function')}"
    return transforms.record(gradient, transforms.made_by(inner))


# Reverse mode recognises a call of autodiffx.grad inside code it transforms (grad(f)(x) in
# a lambda) by this mark; the stand-in carries it too, as it stands for that function.
transforms.mark_transform(grad, "grad")
deriv = grad


def holomorphic_grad(fun, argnum=0):
    return autodiffx.grad(fun, wrt=_wrt(argnum), mode=MODE, holomorphic=True)


def value_and_grad(fun, argnum=0):
    inner = autodiffx.value_and_grad(fun, wrt=_wrt(argnum), mode=MODE)
    argnums = argnum if isinstance(argnum, (tuple, list)) else (argnum,)

    def both(*args, **kwargs):
        value, result = inner(*args, **kwargs)
        return value, (_conjugated(result) if _any_complex(args, argnums) else result)

    return transforms.record(both, transforms.made_by(inner))


def grad_and_aux(fun, argnum=0):
    return autodiffx.grad(fun, wrt=_wrt(argnum), mode=MODE, has_aux=True)


def _vjp_at(fun, argnum, args, kwargs, cotangent):
    """The vector-Jacobian product of ``fun`` with respect to argument ``argnum``."""
    output = fun(*args, **kwargs)
    weights = []
    for (_, leaf), (_, g) in zip(leaves(output), leaves(cotangent), strict=True):
        if is_complex(leaf):
            weights += [np.real(g), np.imag(g)]
        else:
            weights.append(np.real(g) if not is_complex(g) else g)
    assert len(weights) == len(weight_shapes(output)), "cotangent does not match the output"
    projected = make_projection(fun, len(args), kwargs, output, weights)
    result = autodiffx.grad(projected, wrt=argnum, mode=MODE)(*args)
    return _conjugated(result) if _any_complex(args, (argnum,)) else result


def elementwise_grad(fun, argnum=0):
    def gradient(*args, **kwargs):
        output = fun(*args, **kwargs)
        return _vjp_at(fun, argnum, args, kwargs, np.ones_like(output))

    return gradient


def make_vjp(fun, argnum=0):
    def maker(*args, **kwargs):
        output = fun(*args, **kwargs)
        return (lambda g: _vjp_at(fun, argnum, args, kwargs, g)), output

    return maker


def tensor_jacobian_product(fun, argnum=0):
    """The peer's product of a tensor with the Jacobian, contracting the tensor's axes with
    the output's leading axes: a vector-Jacobian product when the shapes match."""
    def product(*args, **kwargs):
        *inputs, cotangent = args
        if np.ndim(cotangent) == np.ndim(fun(*inputs, **kwargs)):
            return _vjp_at(fun, argnum, inputs, kwargs, cotangent)
        full = jacobian(bound(fun, inputs, argnum, kwargs))(inputs[argnum])
        return np.tensordot(cotangent, full, axes=np.ndim(cotangent))

    return product


vector_jacobian_product = tensor_jacobian_product


def jacobian(fun, argnum=0):
    if MODE == "forward":
        return autodiffx.jacfwd(fun, wrt=argnum)
    return autodiffx.jacrev(fun, wrt=argnum)


def hessian(fun, argnum=0):
    return autodiffx.hessian(fun, wrt=argnum, mode=MODE)


def make_jvp(fun, argnum=0):
    def maker(*args, **kwargs):
        unary = bound(fun, args, argnum, kwargs)

        def push(v):
            if MODE == "forward":
                return autodiffx.jvp(unary, (args[argnum],), (v,))
            value = unary(args[argnum])
            matrix = autodiffx.jacrev(unary)(args[argnum])
            axes = np.ndim(v)
            return value, np.tensordot(matrix, v, axes=axes)

        return push

    return maker


def hessian_tensor_product(fun, argnum=0):
    def product(*args, **kwargs):
        *inputs, v = args
        unary = bound(fun, inputs, argnum, kwargs)
        return autodiffx.hvp(unary, (inputs[argnum],), (v,), mode=MODE)

    return product


hessian_vector_product = hessian_tensor_product


def make_hvp(fun, argnum=0):
    def maker(*args, **kwargs):
        unary = bound(fun, args, argnum, kwargs)
        gradient = autodiffx.grad(unary, mode=MODE)(args[argnum])
        return (lambda v: autodiffx.hvp(unary, (args[argnum],), (v,), mode=MODE)), gradient

    return maker


def make_ggnvp(fun, g=None, f_argnum=0):
    """J^T H_g J v, built from the stand-ins for make_jvp, hessian and make_vjp."""
    def maker(*args, **kwargs):
        output = fun(*args, **kwargs)
        loss = g if g is not None else _half_square

        def product(v):
            _, jv = make_jvp(fun, f_argnum)(*args, **kwargs)(v)
            h_jv = hessian_tensor_product(loss)(output, jv)
            return make_vjp(fun, f_argnum)(*args, **kwargs)[0](h_jv)

        return product

    return maker


def _half_square(x):
    return 0.5 * np.dot(x, x)


def checkpoint(fun):
    """Checkpointing trades memory for time and leaves the derivative unchanged."""
    return fun


def multigrad_dict(fun):
    raise PeerOnlyAPI("multigrad_dict has no autodiffx counterpart")
