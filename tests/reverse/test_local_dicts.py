"""Local dicts with constant keys (``cache["h"] = h``) in reverse mode: read as one name per
key (autodiffx/reverse/normalize/dicts.py), against central differences and forward mode;
and the dicts that stay dicts, refused with a reason when a derivative passes through them
(before, ``cache[key] = h`` was differentiated as a write into an array and raised NumPy's
IndexError from the adjoint sweep)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx

from .defined import define
from .test_gradients import central

X = np.array([0.5, -1.2, 2.0])
W = np.array([[0.3, -0.1, 0.2], [0.05, 0.4, -0.3]])


def _agrees(f, args, wrt=(0,)):
    """Reverse mode's gradients equal central differences and forward mode's.

    Central differences of a value of size |f| with a step h lose about ulp(|f|) / h to
    rounding (x ** 16 at x = 2 is 6.6e4, and the random programs below reach 3e8: an error
    of 0.03 in every entry), so their tolerance grows with |f|; forward mode's is exact."""
    got = autodiffx.grad(f, wrt=wrt)(*[np.copy(a) for a in args])
    want = autodiffx.grad(f, wrt=wrt, mode="forward")(*[np.copy(a) for a in args])
    rounding = 8 * np.finfo(float).eps * abs(float(f(*[np.copy(a) for a in args]))) / 2e-6
    for index, mine, theirs in zip(wrt, got, want, strict=True):
        np.testing.assert_allclose(mine, central(f, args, index), rtol=1e-5,
                                   atol=1e-6 + rounding)
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)


def test_a_cache_of_the_forward_pass():
    f = define(
        "def f(W, x):\n"
        "    cache = {}\n"
        "    z = W @ x\n"
        "    cache['z'] = z\n"
        "    cache['h'] = np.tanh(cache['z'])\n"
        "    return np.sum(cache['h'] ** 2)\n")
    _agrees(f, (W, X), wrt=(0, 1))
    g = autodiffx.grad(f, wrt=(0, 1))
    g(W, X)
    code = autodiffx.source(g)
    assert "dcache_h = " in code
    assert not [line for line in code.splitlines()
                if "cache[" in line and not line.strip().startswith("#")]


@pytest.mark.parametrize("body", [
    # a display with values, an entry updated with += (a number: rebinds)
    "p = {'W': W, 'scale': 2.0}\n    p['scale'] *= 1.5\n"
    "    return np.sum(np.tanh(p['W'] @ x)) * p['scale']",
    # dict(...) with keywords, an int key added later
    "p = dict(a=W @ x, b=3.0)\n    p[0] = np.sin(x)\n"
    "    return np.sum(p['a'] * p['b']) + np.sum(p[0])",
    # an entry replaced in a loop, read back after it
    "c = {'h': W @ x}\n    for t in range(3):\n        c['h'] = np.tanh(c['h']) * 1.5\n"
    "    return np.sum(c['h'])",
    # an entry replaced in a branch, on the value
    "c = {'z': W @ x}\n    if np.sum(x) > 0:\n        c['z'] = c['z'] ** 2\n"
    "    else:\n        c['z'] = -c['z']\n    return np.sum(c['z'])",
    # an annotated binding
    "c: dict = {}\n    c['z'] = W @ x\n    return np.sum(np.tanh(c['z']))",
    # the same key stored twice in a display: the last value wins
    "c = {'a': x, 'a': x * x}\n    return np.sum(W @ c['a'])",
    # an entry passed to a helper (the entry, not the dict)
    "c = {'a': W @ x}\n    return np.sum(helper(c['a']))",
    # entries read in a comprehension and in a lambda called in the function
    "c = {'h': W @ x}\n    ys = [c['h'] * i for i in range(3)]\n    return np.sum(np.stack(ys))",
    "c = {'h': W @ x}\n    k = lambda s: c['h'] * s\n    return np.sum(k(2.0) ** 2)",
    # keys that look alike, and a name the first choice of entry name would take
    "c = {}\n    c_h = x * 3\n    c['h'] = np.sin(W @ x)\n    c[1] = x\n    c['1'] = x * x\n"
    "    return np.sum(c_h) * np.sum(c['h']) + np.sum(c[1] * c['1'])",
])
def test_dicts_of_constant_keys(body):
    namespace = {}
    define("def helper(v):\n    return v * np.exp(v)\n", namespace, "helper")
    f = define("def f(W, x):\n    " + body + "\n", namespace)
    for point in (X, -X):
        _agrees(f, (W, point), wrt=(0, 1))


def test_a_dict_entry_that_is_an_argument_is_not_written_into():
    f = define("def f(x):\n    c = {'a': x}\n    c['a'] = c['a'] * 2.0\n"
               "    return np.sum(c['a'] ** 2)\n")
    x = X.copy()
    _agrees(f, (x,))
    np.testing.assert_array_equal(x, X)


@pytest.mark.parametrize("body", [
    # an entry updated in place while the array it holds is read under another name
    "h = np.tanh(x)\n    c = {}\n    c['h'] = h\n    c['h'] += 1.0\n    return np.sum(h * h)",
    # a write through an entry into the argument it holds
    "c = {'a': x}\n    c['a'][0] = 5.0\n    return np.sum(c['a'] * x)",
])
def test_writes_through_entries_are_refused_or_right(body):
    f = define("def f(x):\n    " + body + "\n")
    want = autodiffx.grad(f, mode="forward")(X.copy())
    try:
        got = autodiffx.grad(f)(X.copy())
    except autodiffx.AutodiffError as error:
        assert "share memory" in str(error)
        return
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize(("body", "message"), [
    # a key computed at run time
    ("c = {}\n    key = 'h'\n    c[key] = x * 2.0\n    return np.sum(c[key])", "the dict c"),
    # the dict passed on to a function
    ("c = {'a': x * 3.0}\n    return np.sum(helper(c))", "dict of differentiated values"),
    # bound twice
    ("c = {}\n    c['a'] = x * 2.0\n    c = {}\n    c['a'] = x * 3.0\n    return np.sum(c['a'])",
     "the dict c"),
    # an entry assigned in a nested function
    ("c = {'a': x * 3.0}\n    def put(v):\n        c['a'] = v\n    put(x * x)\n"
     "    return np.sum(c['a'])", "dict|def|function"),
    # looped over
    ("c = {'a': x * 3.0, 'b': x}\n    s = 0.0\n    for k in c:\n        s = s + np.sum(c[k])\n"
     "    return s", "dict"),
])
def test_dicts_reverse_mode_cannot_follow_are_refused(body, message):
    namespace = {}
    define("def helper(d):\n    return d['a'] * 2.0\n", namespace, "helper")
    f = define("def f(x):\n    " + body + "\n", namespace)
    autodiffx.grad(f, mode="forward")(X.copy())  # the function itself is fine
    with pytest.raises(autodiffx.AutodiffError, match=message) as caught:
        autodiffx.grad(f)(X.copy())
    assert caught.value.location is not None


@pytest.mark.parametrize("body", [
    "c = {}\n    for i in range(3):\n        c[i] = i * 2.0\n    return np.sum(x * c[1])",
    "c = {'a': 1.0, 'b': 2.0}\n    return np.sum(x * len(c))",
    "c = {}\n    key = 'n'\n    c[key] = 4.0\n    return np.sum(x * c[key])",
])
def test_dicts_of_constants_still_work(body):
    f = define("def f(x):\n    " + body + "\n")
    _agrees(f, (X,))


_STEPS = st.lists(st.tuples(st.sampled_from(["a", "b", 0]),
                            st.sampled_from(["np.tanh({})", "{} * x", "{} + 1.0", "np.sin({})",
                                             "{} ** 2"])),
                  min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(_STEPS, st.sampled_from(["{}", "{'a': x}", "dict(a=x * 1.0, b=2.0)"]))
def test_random_programs_over_a_dict(steps, start):
    """Programs that store into and read from a dict through constant keys: reverse mode
    agrees with forward mode and central differences."""
    lines = [f"c = {start}", "c['b'] = x * 0.5",
             "c['a'] = x + 0.0" if start == "{}" else "c['a'] = c['a'] * 1.0"]
    lines.append("c[0] = x * 2.0")
    for key, operation in steps:
        other = {"a": "'b'", "b": "0", 0: "'a'"}[key]
        lines.append(f"c[{key!r}] = " + operation.format(f"c[{other}]"))
    lines.append("return np.sum(c['a']) + np.sum(c['b'] * c[0])")
    f = define("def f(x):\n    " + "\n    ".join(lines) + "\n")
    _agrees(f, (X,))
