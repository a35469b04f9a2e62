"""``autodiffx export``: the module runs where autodiffx cannot be imported.

Each exported module is imported by a separate Python started with ``-I -S`` (no
site-packages, no environment variables, no current folder), whose ``sys.path`` holds only
the standard library, the export folder and the folder NumPy lives in. The script first
checks that ``import autodiffx`` fails there, then computes the gradients, which are
compared with ``autodiffx.grad`` in this process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import autodiffx
from autodiffx.cli import main
from autodiffx.export import _free_names, _Writer
from autodiffx.rules.helpers import HELPERS

PROGRAMS = Path(__file__).parent / "programs"
LECTURE = f"{PROGRAMS / 'cli_lecture.py'}"
sys.path.insert(0, str(PROGRAMS))
import cli_lecture  # noqa: E402 - importable only once its folder is on sys.path

NUMPY_FOLDER = Path(np.__file__).resolve().parent.parent


def numpy_only(tmp_path: Path) -> str:
    """A folder holding only NumPy (links to it and its bundled libraries).

    NumPy's own site-packages folder will not do: where autodiffx is installed normally
    (not in editable mode, as in CI) it sits in the same folder.
    """
    folder = tmp_path / "numpy_only"
    folder.mkdir(exist_ok=True)
    for entry in NUMPY_FOLDER.iterdir():
        if entry.name == "numpy" or entry.name.startswith(("numpy.libs", "numpy-")):
            link = folder / entry.name
            if not link.exists():
                link.symlink_to(entry)
    return str(folder)

ISOLATED = """
import sys
sys.path[:0] = [{folder!r}, {numpy!r}]
try:
    import autodiffx
except ImportError:
    pass
else:
    raise SystemExit("autodiffx is importable in the isolated interpreter")
import numpy as np
import {module} as exported
data = np.load({inputs!r})
args = [data[f"a{{i}}"][()] for i in range(len(data.files))]
args = [float(a) if np.ndim(a) == 0 else a for a in args]
value, gradients = exported.{name}_value_and_grad(*args)
gradients = gradients if isinstance(gradients, tuple) else (gradients,)
np.savez({outputs!r}, value=value, *gradients)
{extra}
print("ok")
"""


def export_and_run(tmp_path, name, args, wrt, extra=""):
    """Export ``name`` with the CLI, run it isolated at ``args``; return value, gradients."""
    module = f"{name}_exported"
    output = tmp_path / f"{module}.py"
    literal = "shape:" + ",".join(repr(np.shape(a)) for a in args)
    status = subprocess.run(
        [sys.executable, "-m", "autodiffx.cli", "export", f"{LECTURE}:{name}", "--wrt", wrt,
         "--args", literal, "-o", str(output)],
        capture_output=True, text=True, timeout=60,
    )
    assert status.returncode == 0, status.stderr
    text = output.read_text()
    assert "autodiffx" not in "".join(
        line for line in text.splitlines() if line.startswith(("import", "from"))
    )
    np.savez(tmp_path / "inputs.npz", **{f"a{i}": np.asarray(a) for i, a in enumerate(args)})
    script = ISOLATED.format(folder=str(tmp_path), numpy=numpy_only(tmp_path), module=module,
                             inputs=str(tmp_path / "inputs.npz"), name=name,
                             outputs=str(tmp_path / "outputs.npz"), extra=extra)
    result = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr
    saved = np.load(tmp_path / "outputs.npz")
    gradients = [saved[f"arr_{i}"] for i in range(len(saved.files) - 1)]
    return float(saved["value"]), gradients


def test_the_lecture_example(tmp_path):
    value, gradients = export_and_run(
        tmp_path, "f", (1.0, 2.0, 0.0), "0,1,2",
        extra="assert exported.f_grad(1.0, 2.0, 0.0) == (2.0, 5.0, 0.0)",
    )
    assert value == 6.0
    assert [float(g) for g in gradients] == [2.0, 5.0, 0.0]


def test_the_scorer_matches_autodiffx_grad(tmp_path):
    rng = np.random.default_rng(7)
    args = (rng.standard_normal((3, 4)), rng.standard_normal(3), rng.standard_normal(3),
            rng.standard_normal(4))
    rank_check = textwrap.dedent("""
        try:
            exported.scorer_grad(np.ones((3, 4)), np.ones(3), np.ones(3), np.ones((4, 1)))
        except ValueError as error:
            assert "rank" in str(error)
        else:
            raise SystemExit("a rank the code was not exported for was accepted")
    """)
    value, gradients = export_and_run(tmp_path, "scorer", args, "W,b,u,x", extra=rank_check)
    expected = autodiffx.grad(cli_lecture.scorer, wrt=(0, 1, 2, 3))(*args)
    assert value == pytest.approx(cli_lecture.scorer(*args), rel=1e-12)
    for got, want in zip(gradients, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_globals_helpers_and_a_called_function_are_copied(tmp_path):
    # scaled reads SCALE (a float), OFFSETS (a tuple) and math.pi, calls softplus, and
    # takes np.linalg.norm, whose adjoint needs helpers that raise autodiffx errors.
    rng = np.random.default_rng(8)
    args = (rng.standard_normal(5), rng.standard_normal(5))
    refuses = textwrap.dedent("""
        try:
            exported.check_norm_order(np.ones(2), 1, None)
        except NotImplementedError as error:
            assert "hint" not in str(error) and "leave ord out" in str(error)
        else:
            raise SystemExit("the copied check_norm_order accepted ord=1")
    """)
    value, gradients = export_and_run(tmp_path, "scaled", args, "0,1", extra=refuses)
    expected = autodiffx.grad(cli_lecture.scaled, wrt=(0, 1))(*args)
    for got, want in zip(gradients, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # and against central differences, independently of autodiffx
    x, w = args
    step = 1e-6
    numeric = [(cli_lecture.scaled(x + step * e, w) - cli_lecture.scaled(x - step * e, w))
               / (2 * step) for e in np.eye(5)]
    np.testing.assert_allclose(gradients[0], numeric, rtol=1e-6, atol=1e-8)


def test_every_helper_can_be_copied_without_autodiffx():
    writer = _Writer(taken=set())
    for name in sorted(HELPERS):
        writer.helper(name)
    text = "\n\n".join(writer.imports + writer.functions)
    assert "Error(" not in text.replace("NotImplementedError(", "").replace(
        "ValueError(", "")
    namespace: dict = {"np": np}
    exec(compile(text, "<copied helpers>", "exec"), namespace)
    assert set(HELPERS) <= set(namespace)
    assert _free_names(text) - set(namespace) == set()


def test_an_array_global_is_refused_with_its_name(capsys, tmp_path):
    output = tmp_path / "never_written.py"
    status = main(["export", f"{LECTURE}:reads_array", "--args", "shape:(3,)",
                   "-o", str(output)])
    err = capsys.readouterr().err
    assert status == 1
    assert "reads the global 'TABLE', an array of shape (3,)" in err
    assert "pass TABLE to the function as an argument" in err
    assert not output.exists()


def test_an_unwritable_output_is_a_clear_error(tmp_path):
    target = tmp_path / "no" / "such" / "folder" / "out.py"
    result = subprocess.run(
        [sys.executable, "-m", "autodiffx.cli", "export", f"{LECTURE}:f", "-o", str(target)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"autodiffx: error: cannot write {target}")
    assert "Traceback" not in result.stderr


def test_the_output_must_be_a_python_file(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["export", f"{LECTURE}:f", "-o", "out.txt"])
    assert exit.value.code == 2
    assert "is not a .py file name" in capsys.readouterr().err


# --------------------------------------------------------------------------- hostile input

HOSTILE_NAMES = [
    'triple"""quote.py',
    "new\nline.py",
    "x\n__import__('os')\nINJECTED = 1\n#.py",
    "carriage\rINJECTED = 1\r.py",
    "form\x0cfeed\u2028separator.py",
]


def _load_file(path: Path, name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _exported_gradient(f, args, wrt=0):
    from autodiffx.export import export_source

    text = export_source(f, wrt=wrt, args=args)
    namespace: dict = {}
    exec(compile(text, "<exported>", "exec"), namespace)
    assert "INJECTED" not in namespace
    return text, namespace[f"{f.__name__}_grad"](*args)


def _central(f, x, step=1e-6):
    return np.array([(f(x + step * e) - f(x - step * e)) / (2 * step)
                     for e in np.eye(len(x))])


@pytest.mark.parametrize("filename", HOSTILE_NAMES)
def test_a_hostile_file_name_stays_in_comments_and_strings(tmp_path, filename):
    path = tmp_path / filename
    try:
        path.write_text("import numpy as np\n\nSCALE = 1.5\n\n\n"
                        "def hostile(x):\n    return np.sum(SCALE * np.sin(x) * x)\n")
    except (OSError, ValueError):
        pytest.skip("the file system refuses this name")
    module = _load_file(path, f"hostile_{abs(hash(filename))}")
    x = np.array([0.3, -1.2, 2.0])
    # reverse mode's own generated module, and the exported one
    source = autodiffx.source(autodiffx.grad(module.hostile), x)
    namespace: dict = {}
    exec(compile(source, "<generated>", "exec"), namespace)
    assert "INJECTED" not in namespace
    text, gradient = _exported_gradient(module.hostile, (x,))
    assert ast_docstring(text).startswith("The reverse-mode gradient of hostile")
    np.testing.assert_allclose(gradient, autodiffx.grad(module.hostile)(x), rtol=1e-12)
    np.testing.assert_allclose(gradient, _central(module.hostile, x), rtol=1e-6)


def ast_docstring(text: str) -> str:
    import ast

    return ast.get_docstring(ast.parse(text))


def test_globals_that_are_not_literals_are_refused_or_converted(tmp_path):
    from autodiffx.errors import ArgumentError

    path = tmp_path / "odd_globals.py"
    path.write_text(textwrap.dedent("""
        import enum

        import numpy as np


        class Mode(enum.IntEnum):
            A = 2
            B = 3


        class Evil(float):
            def __repr__(self):
                return "__import__('os').getcwd() and 2.0"


        class Loud(enum.IntEnum):
            A = 2

            def __mul__(self, other):
                return 10 * int(self) * other


        SCALE = Mode.B
        PAIR = (Mode.A, 0.5, np.float32(0.25), float("inf"))
        EVIL = Evil(2.0)
        LOUD = Loud.A


        def with_enum(x):
            return np.sum(SCALE * x * x + PAIR[0] * x * PAIR[1] + PAIR[2] * x
                          + np.minimum(x, PAIR[3]))


        def with_evil(x):
            return np.sum(EVIL * x * x)


        def with_loud(x):
            return np.sum(LOUD * x)
    """))
    module = _load_file(path, "odd_globals")
    x = np.array([0.5, -2.0])
    text, gradient = _exported_gradient(module.with_enum, (x,))
    assert "SCALE = 3" in text and "Mode" not in text
    np.testing.assert_allclose(gradient, autodiffx.grad(module.with_enum)(x), rtol=1e-12)
    np.testing.assert_allclose(gradient, _central(module.with_enum, x), rtol=1e-6)
    from autodiffx.export import export_source

    for function, name in ((module.with_evil, "EVIL"), (module.with_loud, "LOUD")):
        with pytest.raises(ArgumentError, match=f"reads the global '{name}'.*no faithful"):
            export_source(function, args=(x,))


def test_an_exported_name_must_be_an_identifier():
    from autodiffx.errors import ArgumentError
    from autodiffx.export import export_source

    with pytest.raises(ArgumentError, match="not a Python identifier"):
        export_source(cli_lecture.scorer, args=(np.eye(2), np.ones(2), np.ones(2),
                                               np.ones(2)), name="f():\n    pass\nimport os")
