"""Every registered rule through both modes end to end, against central differences.

``test_rules.py`` checks the tangent rules against central differences and the adjoint
expressions against the tangent rules, calling them directly. This file writes, for each
way of calling each rule in ``domains.py``, a small program that calls the primitive the
way a user would (``np.einsum(x, [0, 1], [1, 0])``, ``max(x)``, ``np.linspace(a, b, 5)``)
and differentiates it with ``autodiffx.grad`` in reverse mode (generated code: the
normaliser, the inlined and folded adjoints, the rank specialisation) and in forward mode.
Each gradient must match central differences, and the two modes each other, or the mode
must refuse with an AutodiffError where a refusal is expected (``EXPECTED_REFUSALS``).
"""

from __future__ import annotations

import builtins
import copy
import importlib.util
import itertools
import operator
import sys

import numpy as np
import pytest
from hypothesis import given, settings

import autodiffx
from autodiffx.rules import all_rules
from autodiffx.rules.helpers import scatter_add
from autodiffx.rules.registry import DISPLAY_NAMES

from .domains import DOMAINS, Arg, Case
from .test_rules import SEEDS, draw, function_of, is_sequence

EXAMPLES = 4
STEP = 1e-6
TOLERANCE = 1e-5

# Forward mode cannot reach these rules: NumPy does not hand the call to a Dual (np.full
# converts its fill value with np.asarray; np.full_like dispatches on ``a`` only), and
# forward mode refuses the conversion instead.
FORWARD_REFUSES = {np.full, np.full_like}
try:  # the scipy extra: the originals of the dispatching versions convert Duals to arrays
    from autodiffx.rules import scipy_rules
except ImportError:
    pass
else:
    FORWARD_REFUSES |= {f.original for f in vars(scipy_rules).values()
                        if hasattr(f, "original")}


def _spelling(function) -> str:
    """How the generated program names ``function``."""
    if function in (builtins.max, builtins.min, builtins.abs, builtins.pow):
        return function.__name__
    if function in (copy.copy, copy.deepcopy):
        return "copy." + function.__name__
    if getattr(operator, getattr(function, "__name__", ""), None) is function:
        return "operator." + function.__name__  # operator.getitem, operator.add, ...
    if id(function) in DISPLAY_NAMES:  # the scipy extra: scipy.special.erf
        if hasattr(function, "__module__") and not isinstance(function, np.ufunc) and (
                function.__module__ not in ("scipy.special", "scipy.linalg", "scipy.stats")):
            # the original a dispatching version replaced (scipy.linalg._matfuncs.expm)
            return f"{function.__module__}.{function.__name__}"
        return DISPLAY_NAMES[id(function)]
    if getattr(function, "__module__", "") == "numpy.linalg":
        return "np.linalg." + function.__name__
    if function is scatter_add:
        return "scatter_add"  # np.add.at(y, index, v) as a value; imported by the program
    if getattr(np.fft, function.__name__, None) is function:
        return "np.fft." + function.__name__
    return "np." + function.__name__


def _literal(value) -> str:
    """A keyword's value as source: its repr, but np.inf for infinity (ord=np.inf)."""
    if isinstance(value, float) and np.isinf(value):
        return "np.inf" if value > 0 else "-np.inf"
    return repr(value)


_counter = itertools.count()


def program_for(rule, case: Case, args, tmp_path):
    """A module with ``program(w0, w1, ...)``: the case's call with each differentiated
    argument a parameter and every other value a literal or a module global, summed
    against fixed weights. Returns the function and the differentiated values."""
    function = function_of(rule, case)
    constants = {}
    parameters = []
    values = []

    def spell(arg, value):
        if isinstance(arg, Arg) and arg.wrt:
            name = f"w{len(parameters)}"
            parameters.append(name)
            values.append(value)
            return name
        if is_sequence(arg):
            return "[" + ", ".join(spell(a, v) for a, v in zip(arg, value, strict=True)) + "]"
        if isinstance(value, tuple):  # an index: (slice(1, None), np.array([0, 2]))
            return "(" + "".join(spell(None, v) + ", " for v in value) + ")"
        if isinstance(value, np.ndarray) or isinstance(arg, Arg):
            name = f"C{len(constants)}"
            constants[name] = value
            return name
        return repr(value)

    spelled = [spell(a, v) for a, v in zip(case.args, args, strict=True)]
    spelled += [f"{k}={_literal(v)}" for k, v in case.kwargs.items()]
    call = f"{_spelling(function)}({', '.join(spelled)})"
    body = f"    return np.sum({call} * WEIGHTS)\n"
    complex_valued = rule.outputs is None and np.iscomplexobj(function(*args, **case.kwargs))
    if complex_valued:  # a real loss of a complex value: both parts weighted
        body = f"    return np.sum(np.real({call} * WEIGHTS))\n"
    if rule.outputs is not None:
        # several results: unpacked, each summed against its own weights (a complex one
        # against complex weights, its real part: a real loss)
        results = function(*args, **case.kwargs)
        names = [f"r{k}" for k in range(len(results))]
        body = (f"    {', '.join(names)}, = {call}\n    return "
                + " + ".join(f"np.sum(np.real({n} * WEIGHTS[{k}]))" if np.iscomplexobj(r)
                             else f"np.sum({n} * WEIGHTS[{k}])"
                             for k, (n, r) in enumerate(zip(names, results, strict=True)))
                + "\n")
    imports = ("import scipy.linalg\nimport scipy.signal\nimport scipy.special\n"
               "import scipy.stats\n" if call.startswith("scipy.") else "")
    if function is scatter_add:
        imports = "\nfrom autodiffx.rules.helpers import scatter_add\n"
    source = (
        "import copy\nimport operator\n\nimport numpy as np\n" + imports + "\n\n"
        f"def program({', '.join(parameters)}):\n" + body
    )
    name = f"both_modes_{next(_counter)}"
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    vars(module).update(constants)
    out = function(*args, **case.kwargs)
    weights = np.random.default_rng(len(source))
    module.WEIGHTS = (tuple(weights.standard_normal(np.shape(o)) + (
        1j * weights.standard_normal(np.shape(o)) if np.iscomplexobj(o) else 0) for o in out)
                      if rule.outputs is not None else weights.standard_normal(np.shape(out)))
    if complex_valued:
        module.WEIGHTS = module.WEIGHTS + 1j * weights.standard_normal(np.shape(out))
    return module.program, values, source


def central_differences(program, values, index):
    """The gradient by central differences; of a complex argument, d/dx + i d/dy (the
    convention of docs/complex.md)."""
    x = np.asarray(values[index])
    x = x.astype(np.result_type(x, float))
    gradient = np.zeros(np.shape(x), dtype=x.dtype)
    for unit in (1, 1j) if np.iscomplexobj(x) else (1,):
        for i in np.ndindex(*np.shape(x)):
            step = np.zeros(np.shape(x), dtype=x.dtype)
            step[i] = STEP * unit
            high = list(values)
            low = list(values)
            high[index] = x + step if np.ndim(x) else (x + step)[()].item()
            low[index] = x - step if np.ndim(x) else (x - step)[()].item()
            gradient[i] += unit * (program(*high) - program(*low)) / (2 * STEP)
    return gradient


CASES = [
    pytest.param(rule.name, index, id=f"{rule.name}-{index}")
    for rule in all_rules()
    if rule.differentiable
    for index, case in enumerate(DOMAINS[rule.name])
    if any(isinstance(a, Arg) and a.wrt for a in case.args)
    or any(is_sequence(a) for a in case.args)
]


@pytest.mark.parametrize(("name", "index"), CASES)
@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=SEEDS)
def test_both_modes_match_central_differences(name, index, seed, tmp_path_factory):
    rule = next(r for r in all_rules() if r.name == name)
    case = DOMAINS[name][index]
    args = draw(case, np.random.default_rng(seed))
    program, values, source = program_for(rule, case, args, tmp_path_factory.mktemp(name))
    for i in range(len(values)):
        numeric = central_differences(program, values, i)
        gradients = {}
        for mode in ("reverse", "forward"):
            if mode == "forward" and function_of(rule, case) in FORWARD_REFUSES:
                with pytest.raises(autodiffx.AutodiffError):
                    autodiffx.grad(program, wrt=i, mode=mode)(*values)
                continue
            gradient = autodiffx.grad(program, wrt=i, mode=mode)(*values)
            assert np.shape(gradient) == np.shape(values[i]), (mode, source)
            scale = max(1.0, float(np.max(np.abs(numeric), initial=0.0)))
            error = float(np.max(np.abs(gradient - numeric), initial=0.0)) / scale
            assert error < TOLERANCE, f"{mode} mode, argument {i}: {error:.2e}\n{source}"
            gradients[mode] = gradient
        if len(gradients) == 2:
            np.testing.assert_allclose(gradients["reverse"], gradients["forward"],
                                       rtol=1e-9, atol=1e-12)
