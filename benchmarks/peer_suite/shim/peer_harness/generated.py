"""Small wrapper functions written to real files, so that reverse mode can read their source.

Reverse mode transforms source text, so a wrapper built with ``lambda`` or ``**kwargs`` in
this harness would be refused for reasons of the harness, not of the code under test. Each
wrapper is generated once per shape of call (how many positional arguments, which keywords,
the structure of the output) as a plain function with named parameters, written under
``AUTODIFFX_PEER_WORKDIR`` and imported from there.
"""

import hashlib
import importlib.util
import os
import tempfile

import numpy as np

_DIRECTORY = os.path.join(
    os.environ.get("AUTODIFFX_PEER_WORKDIR") or tempfile.mkdtemp(prefix="peer-"), "generated"
)
_MODULES = {}


def _load(text):
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    if digest not in _MODULES:
        os.makedirs(_DIRECTORY, exist_ok=True)
        path = os.path.join(_DIRECTORY, f"wrapper_{digest}.py")
        with open(path, "w") as handle:
            handle.write(text)
        spec = importlib.util.spec_from_file_location(f"peer_wrapper_{digest}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[digest] = module
    return _MODULES[digest]


def leaves(value, path=""):
    """(path, leaf) for every number or array in nested tuples, lists and dicts."""
    if isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}[{key!r}]")
    else:
        yield path, value


def is_complex(value):
    return np.iscomplexobj(getattr(value, "primal", value))


def _projection_module(nargs, keywords, output):
    names = [f"x{i}" for i in range(nargs)]
    call_args = names + [f"{key}=kw_{key}" for key in keywords]
    terms, parameters = [], []
    for path, leaf in leaves(output):
        if not isinstance(leaf, (int, float, complex, np.ndarray, np.number, np.bool_)):
            continue
        parts = ["np.real", "np.imag"] if is_complex(leaf) else [""]
        for part in parts:
            weight = f"u{len(parameters)}"
            parameters.append((weight, np.shape(leaf)))
            terms.append(f"np.sum({part}(out{path}) * {weight})")
    factory = ["fun"] + [name for name, _ in parameters] + [f"kw_{key}" for key in keywords]
    body = " + ".join(terms) if terms else "0.0 * np.sum(out)"
    text = (
        "import numpy as np\n\n\n"
        f"def make({', '.join(factory)}):\n"
        f"    def projected({', '.join(names)}):\n"
        f"        out = fun({', '.join(call_args)})\n"
        f"        return {body}\n"
        "    return projected\n"
    )
    return _load(text)


def make_projection(fun, nargs, keywords, output, weights):
    """A function of ``fun``'s ``nargs`` positional arguments: the real inner product of
    ``fun``'s output with ``weights``, one array per real or imaginary part of each output
    leaf, in the order and shapes :func:`weight_shapes` gives."""
    module = _projection_module(nargs, keywords, output)
    return module.make(fun, *weights, *keywords.values())


def weight_shapes(output):
    """The shapes of the weights :func:`make_projection` needs for this output."""
    shapes = []
    for _, leaf in leaves(output):
        if not isinstance(leaf, (int, float, complex, np.ndarray, np.number, np.bool_)):
            continue
        shapes += [np.shape(leaf)] * (2 if is_complex(leaf) else 1)
    return shapes


def bound(fun, args, argnum, keywords):
    """``fun`` as a function of its ``argnum``-th positional argument alone; the others and
    the keywords are fixed."""
    names = [f"a{i}" for i in range(len(args))]
    inner = [("x" if i == argnum else name) for i, name in enumerate(names)]
    inner += [f"{key}=kw_{key}" for key in keywords]
    fixed = [name for i, name in enumerate(names) if i != argnum]
    factory = ["fun"] + fixed + [f"kw_{key}" for key in keywords]
    text = (
        f"def make({', '.join(factory)}):\n"
        "    def unary(x):\n"
        f"        return fun({', '.join(inner)})\n"
        "    return unary\n"
    )
    module = _load(text)
    others = [arg for i, arg in enumerate(args) if i != argnum]
    return module.make(fun, *others, *keywords.values())
