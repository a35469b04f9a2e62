"""The gradient checker that stands in for the peer's ``check_grads``, and the record of
every case it sees.

A case is one call ``check_grads(fun, argnum, modes, order)(*args, **kwargs)``. The checker
draws a random real projection P of ``fun``'s output, asks autodiffx (in the selected mode)
for the gradient of P with respect to the ``argnum`` arguments, and compares its inner
product with a random direction v against the central difference
(P(x + h v) − P(x − h v)) / 2h. A complex input gets a complex v, and the gradient is read
in autodiffx's convention (∂P/∂x + i ∂P/∂y), so the inner product is Re(conj(g) · v). With
``order >= 2`` it also checks the derivative of that gradient along another direction
(forward mode over the selected mode) against central differences of the gradient.

The peer's ``modes`` argument names the peer's own modes and is ignored: the harness checks
the mode it runs in. Each case is appended to :data:`CASES` as a dict; the pytest plugin
collects them per test.
"""

import traceback

import numpy as np

import autodiffx

from . import MODE, PeerOnlyAPI
from .generated import leaves, make_projection, weight_shapes

CASES = []
STEPS = (1e-6, 1e-5, 1e-4, 1e-3)


def _random_like(rng, value):
    shape = np.shape(value)
    if np.iscomplexobj(value):
        draw = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    else:
        draw = rng.standard_normal(shape)
    return draw if shape else draw.item()


def _map_leaves(value, function):
    if isinstance(value, (tuple, list)):
        return type(value)(_map_leaves(item, function) for item in value)
    if isinstance(value, dict):
        return {key: _map_leaves(item, function) for key, item in value.items()}
    return function(value)


def _zip_leaves(value, other, function):
    if isinstance(value, (tuple, list)):
        return type(value)(_zip_leaves(a, b, function) for a, b in zip(value, other, strict=True))
    if isinstance(value, dict):
        return {key: _zip_leaves(value[key], other[key], function) for key in value}
    return function(value, other)


def _inner(gradient, direction):
    """Re⟨gradient, direction⟩ over matching leaves, conj on the gradient."""
    total = 0.0
    for (_, g), (_, v) in zip(leaves(gradient), leaves(direction), strict=True):
        total += float(np.sum(np.real(np.conj(np.asarray(g)) * np.asarray(v))))
    return total


def _shifted(args, argnums, directions, step):
    moved = list(args)
    for index, direction in zip(argnums, directions, strict=True):
        moved[index] = _zip_leaves(args[index], direction, lambda x, v: x + step * v)
    return moved


def _close(numeric, analytic, scale):
    return abs(numeric - analytic) <= 1e-5 * (1.0 + abs(numeric) + abs(analytic)) + 1e-9 * scale


def _agree(evaluate, args, argnums, directions, analytic):
    """Whether a central difference of ``evaluate`` along ``directions`` matches ``analytic``
    for any of a few steps (a wrong derivative disagrees at every step; a right one may lose
    to rounding or curvature at one)."""
    scale = abs(evaluate(*args))
    numerics = []
    for step in STEPS:
        up = evaluate(*_shifted(args, argnums, directions, step))
        down = evaluate(*_shifted(args, argnums, directions, -step))
        numeric = (up - down) / (2 * step)
        numerics.append(numeric)
        if _close(numeric, analytic, scale / step):
            return True, numeric
    return False, numerics[0]


def describe(value):
    """A short description of an input: its type, shape and dtype, or its value if small."""
    if isinstance(value, (tuple, list)):
        inner = ", ".join(describe(item) for item in value)
        return f"{type(value).__name__}({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            text = np.array2string(value, precision=3, separator=",").replace("\n", "")
            return f"{text} {value.dtype}"
        return f"array{value.shape} {value.dtype}"
    if isinstance(value, (float, complex, int, np.number)):
        return f"{value:.4g}" if not isinstance(value, (int, np.integer)) else repr(value)
    return type(value).__name__


def function_name(fun):
    name = getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None)
    if name is None and hasattr(fun, "func"):
        name = f"partial({function_name(fun.func)})"
    if name is None:
        name = type(fun).__name__
    module = getattr(fun, "__module__", None)
    if module and module not in ("__main__",) and not module.startswith("test_"):
        return f"{module}.{name}"
    return name


def _autodiffx_at_fault(error):
    """Whether autodiffx ran any code on the way to ``error``, other than the wrapper that
    hands a call without derivatives straight to SciPy's own function."""
    frames = traceback.extract_tb(error.__traceback__)
    return any("/autodiffx/" in frame.filename and frame.name != "dispatching"
               for frame in frames)


def _origin(error):
    """The innermost file of the traceback that belongs to autodiffx, or the last frame."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if "/autodiffx/" in frame.filename]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return ""
    return f"{frame.filename.split('/autodiffx/')[-1]}:{frame.lineno}"


def classify_error(error):
    """(outcome, error type, message) for an exception raised while differentiating."""
    message = str(error).strip()
    peer_only = message.startswith(("module 'numpy", "module 'scipy"))
    if isinstance(error, AttributeError) and peer_only:
        return "OUT_OF_SCOPE", "PeerOnlyAPI", f"a NumPy/SciPy name only the peer has: {message}"
    if isinstance(error, autodiffx.AutodiffError):
        return "REFUSED", type(error).__name__, message
    if isinstance(error, PeerOnlyAPI):
        return "OUT_OF_SCOPE", type(error).__name__, message
    return "CRASH", f"{type(error).__name__} at {_origin(error)}", message


def _error_detail(order, error):
    outcome, kind, message = classify_error(error)
    bases = [cls.__name__ for cls in type(error).__mro__]
    return outcome, {"order": order, "error": kind, "message": message, "bases": bases}


def check_case(fun, args, kwargs, argnums, order, rng):
    """Check one case; returns (outcome, detail dict)."""
    args = list(args)
    try:
        output = fun(*args, **kwargs)
    except Exception as error:
        if isinstance(error, autodiffx.AutodiffError) or _autodiffx_at_fault(error):
            return _error_detail(0, error)  # fun itself calls autodiffx, which failed
        return "OUT_OF_SCOPE", {  # a peer-only API, or the test's own input, is at fault
            "error": type(error).__name__,
            "message": "the function does not run on plain NumPy/SciPy: " + str(error)[:300],
        }
    shapes_like = weight_shapes(output)
    weights = [rng.standard_normal(shape) for shape in shapes_like]
    weights = [w if np.shape(w) else float(w) for w in weights]
    projected = make_projection(fun, len(args), kwargs, output, weights)
    directions = [_map_leaves(args[i], lambda leaf: _random_like(rng, leaf)) for i in argnums]
    gradient_function = autodiffx.grad(projected, wrt=tuple(argnums), mode=MODE)
    try:
        gradients = gradient_function(*args)
    except Exception as error:
        return _error_detail(1, error)
    analytic = sum(_inner(g, v) for g, v in zip(gradients, directions, strict=True))
    ok, numeric = _agree(projected, args, argnums, directions, analytic)
    if not ok:
        return "WRONG", {"order": 1, "analytic": analytic, "numeric": numeric}
    if order < 2:
        return "PASS", {}
    return _check_second_order(gradient_function, gradients, args, argnums, rng)


def _check_second_order(gradient_function, gradients, args, argnums, rng):
    """The derivative of ⟨gradient, w⟩ along d: forward mode over the selected mode."""
    w = [_map_leaves(g, lambda leaf: _random_like(rng, leaf)) for g in gradients]
    d = [_map_leaves(args[i], lambda leaf: _random_like(rng, leaf)) for i in argnums]

    def along_w(*free):
        full = list(args)
        for index, value in zip(argnums, free, strict=True):
            full[index] = value
        total = 0.0
        for g, weight in zip(gradient_function(*full), w, strict=True):
            for (_, gl), (_, wl) in zip(leaves(g), leaves(weight), strict=True):
                total = total + np.sum(np.real(np.conj(wl) * gl))
        return total

    primals = tuple(args[i] for i in argnums)
    try:
        _, analytic = autodiffx.jvp(along_w, primals, tuple(d))
        analytic = float(np.real(analytic))
    except Exception as error:
        return _error_detail(2, error)
    ok, numeric = _agree(along_w, list(primals), list(range(len(primals))), d, analytic)
    if not ok:
        return "WRONG", {"order": 2, "analytic": analytic, "numeric": numeric}
    return "PASS", {}


def record(fun, args, kwargs, argnums, outcome, detail):
    CASES.append({
        "function": function_name(fun),
        "inputs": ", ".join(describe(a) for a in args)
        + "".join(f", {k}={v!r}" for k, v in kwargs.items()),
        "argnum": list(argnums),
        "outcome": outcome,
        **detail,
    })


def check_grads(fun, argnum=0, modes=None, order=2):
    """Stand-in for the peer's ``check_grads(fun, argnum, modes, order)(*args, **kwargs)``."""
    argnums = tuple(argnum) if isinstance(argnum, (tuple, list)) else (argnum,)

    def checker(*args, **kwargs):
        rng = np.random.default_rng(len(CASES))
        outcome, detail = check_case(fun, args, kwargs, argnums, min(order, 2), rng)
        record(fun, args, kwargs, argnums, outcome, detail)

    return checker
