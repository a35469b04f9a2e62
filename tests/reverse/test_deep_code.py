"""Deep and long expressions: reverse mode's passes recurse once per level of nesting."""

import importlib.util

import numpy as np
import pytest

import autodiffx


def _load(tmp_path, text: str):
    path = tmp_path / "deep_module.py"
    path.write_text("import numpy as np\n\n" + text)
    spec = importlib.util.spec_from_file_location("deep_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("terms", [600])
def test_a_long_sum(tmp_path, terms):
    module = _load(tmp_path, "def chain(x):\n    return " +
                   " + ".join(["x * x"] + ["1.0"] * terms) + "\n")
    assert autodiffx.grad(module.chain)(0.3) == pytest.approx(0.6)


@pytest.mark.parametrize("depth", [190])
def test_nested_calls(tmp_path, depth):
    module = _load(tmp_path, "def nested(x):\n    return " + "np.sin(" * depth + "x" +
                   ")" * depth + "\n")
    forward = autodiffx.grad(module.nested, mode="forward")(0.3)
    reverse = autodiffx.grad(module.nested)(0.3)
    assert np.isfinite(reverse)
    assert reverse == pytest.approx(forward, rel=1e-12)
