"""A long straight-line function transforms (issue 15: 2,000 statements did not finish in
four minutes while the passes were quadratic). Only completion is checked here; the time
is measured in benchmarks/bench_transform.py."""

import gc
import importlib.util

import numpy as np
import pytest

import autodiffx
from autodiffx import reverse
from autodiffx.errors import AutodiffError


def _long_function(tmp_path, statements: int):
    kinds = ["np.tanh({h})", "{h} * 1.5 + x", "W @ {h}", "np.sin({h}) * {h}"]
    lines = ["import numpy as np", "", "", "def f(x, W):", "    h_0 = x"]
    for i in range(1, statements + 1):
        lines.append(f"    h_{i} = " + kinds[(i - 1) % 4].format(h=f"h_{i - 1}"))
    lines.append(f"    return np.sum(h_{statements})")
    path = tmp_path / "long_function.py"
    path.write_text("\n".join(lines) + "\n")
    spec = importlib.util.spec_from_file_location("long_function", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def test_two_thousand_statements_transform(tmp_path):
    f = _long_function(tmp_path, 2000)
    generated = reverse.build(f, (0, 1), (1, 2))
    assert generated.source.count("\n") > 4000
    x = np.array([0.3, -0.2])
    W = np.array([[0.5, 0.1], [-0.2, 0.4]])
    value, pullback = generated.function(x, W)
    assert value == f(x, W)
    dx, dW = pullback(1.0)
    forward = autodiffx.grad(f, wrt=(0, 1), mode="forward")(x, W)
    np.testing.assert_allclose(dx, forward[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dW, forward[1], rtol=1e-9, atol=1e-12)
    # the code grad makes for arrays of these shapes, with the shape analysis's rewrites
    # (one of which was quadratic: 50 s for these 2,000 statements)
    shaped = reverse.build(f, (0, 1), (1, 2), argument_shapes=((2,), (2, 2)))
    value, pullback = shaped.function(x, W)
    assert value == f(x, W)
    for mine, theirs in zip(pullback(1.0), forward, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)


def test_the_collector_is_paused_only_while_a_transform_runs(tmp_path):
    # generate pauses the cyclic garbage collector (it made transform time superlinear)
    assert gc.isenabled()
    reverse.build(_long_function(tmp_path, 8), (0,), (1, 2))
    assert gc.isenabled()
    with pytest.raises(AutodiffError):
        reverse.build(np.sin, (0,), (1,))  # refused inside the transformation
    assert gc.isenabled()
    (tmp_path / "again").mkdir()
    gc.disable()
    try:
        reverse.build(_long_function(tmp_path / "again", 9), (0,), (1, 2))
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
