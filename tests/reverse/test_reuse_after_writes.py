"""A value read twice, with a write into the first read's memory in between.

``v = y[0:2]; v *= 2.0; ... y[0:2] ...``: the second ``y[0:2]`` reads the doubled values,
since ``v`` is a view of ``y``. Common-subexpression elimination used to replace the second
read by ``v``, and in the generated code ``v *= 2.0`` binds a new version of ``v``, so the
old ``v`` still held the values from before the write: the gradient was silently wrong
(``[1.4, 2.6, 0]`` where central differences give ``[2.8, 5.2, 0]``). With the read left
in place, the aliasing check sees a write that ``y`` shares and refuses it, naming both;
forward mode, which runs the program as it is, differentiates it. The same held for an
item of a tuple or list (``v = t[1]; v *= 3.0; ... t[1] ...``), which is the object the
tuple holds, not a copy.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiffx
from autodiffx.errors import UnsupportedSyntaxError
from tests.higher.numeric import numeric_gradient

# How v is made from y (each shares y's memory), and how the program reads y again.
VIEWS = {
    "slice": ("y = x * 1.0", "v = y[0:2]", "y[0:2]", "x[:2]"),
    "expand_dims": ("y = x * 1.0", "v = np.expand_dims(y, 0)", "np.expand_dims(y, 0)", "x"),
    "reshape": ("y = x * 1.0", "v = y.reshape(1, 3)", "y.reshape(1, 3)", "x"),
    "tuple item": ("y = (x * 1.0, x * 2.0)", "v = y[1]", "y[1]", "x"),
    "list item": ("y = [x * 1.0, x * 2.0]", "v = y[0]", "y[0]", "x"),
}
WRITES = ["v *= 2.0", "v += 1.5", "v -= x[0]", "v[..., 0] = 5.0"]


def program(view: str, write: str, folder):
    """The program as a module-level function in a file of its own (reverse mode reads
    source)."""
    make, bind, again, other = VIEWS[view]
    text = (
        "import numpy as np\n\n\n"
        "def f(x):\n"
        f"    {make}\n"
        f"    {bind}\n"
        f"    {write}\n"
        f"    return np.sum({again} * {other})\n"
    )
    path = folder / f"reuse_{abs(hash((view, write)))}.py"
    path.write_text(text)
    namespace: dict = {}
    exec(compile(text, str(path), "exec"), namespace)  # noqa: S102 - a generated test program
    return namespace["f"]


@settings(max_examples=40, deadline=None)
@given(view=st.sampled_from(sorted(VIEWS)), write=st.sampled_from(WRITES),
       x=st.lists(st.floats(0.2, 2.0), min_size=3, max_size=3).map(np.array))
def test_refused_or_right_never_wrong(tmp_path_factory, view, write, x):
    f = program(view, write, tmp_path_factory.mktemp("programs"))
    expected = numeric_gradient(f, x)
    np.testing.assert_allclose(autodiffx.grad(f, mode="forward")(x), expected, rtol=1e-6,
                               atol=1e-8)
    try:
        got = autodiffx.grad(f)(x)
    except UnsupportedSyntaxError as error:
        assert "v" in str(error)  # the message names the name written through
        return
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def doubled_view(x):
    y = x * 1.0
    v = y[0:2]
    v *= 2.0
    return np.sum(y[0:2] * x[:2])


def doubled_tuple_item(x):
    t = (x * 1.0, x * 2.0)
    v = t[1]
    v *= 3.0
    return np.sum(t[1] * x)


@pytest.mark.parametrize("f", [doubled_view, doubled_tuple_item])
def test_the_second_read_is_not_taken_from_the_first(f):
    with pytest.raises(UnsupportedSyntaxError, match="write into v that"):
        autodiffx.grad(f)(np.array([0.7, 1.3, 0.4]))


def two_reads_without_a_write(x):
    y = x * 1.0
    a = np.expand_dims(y, 0)
    b = np.expand_dims(y, 0)
    return np.sum(a * b)


def test_a_repeated_read_with_no_write_between_is_still_shared():
    text = autodiffx.source(two_reads_without_a_write, np.ones(3))
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert sum("np.expand_dims(y, 0)" in line for line in code) == 1, text
