"""``unary_to_nary``: make an operator on unary functions take ``argnum``."""

import functools

from peer_harness.generated import bound


def unary_to_nary(unary_operator):
    @functools.wraps(unary_operator)
    def nary_operator(fun, argnum=0, *operator_args, **operator_kwargs):
        def nary_f(*args, **kwargs):
            unary = bound(fun, args, argnum, kwargs)
            return unary_operator(unary, args[argnum], *operator_args, **operator_kwargs)

        return nary_f

    return nary_operator


def get_name(fun):
    return getattr(fun, "__name__", "[unknown name]")
