"""Loading ``FILE.py:FUNC`` for the commands: the user's file, imported as a module.

The file is imported from its path (not through ``sys.path``), under a module name of its
own, so that its functions have readable source for reverse mode. Its folder goes first on
``sys.path``, as when Python runs a script, so that it can import its neighbours.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..errors import ArgumentError, Location, UserCodeError


@dataclass(frozen=True)
class Target:
    """A function named on the command line, with the module it came from."""

    function: Callable
    module: ModuleType
    path: Path
    name: str

    def __str__(self) -> str:
        return f"{self.path.name}:{self.name}"


def split_spec(spec: str) -> tuple[Path, str]:
    """Split ``"path/to/file.py:func"`` into the path and the function name.

    >>> split_spec("models/loss.py:loss")
    (PosixPath('models/loss.py'), 'loss')
    """
    path, colon, name = spec.rpartition(":")
    if not colon or not path or not name:
        raise ArgumentError(
            f"expected FILE.py:FUNC, got {spec!r}",
            hint="name the file and the function in it, e.g. model.py:loss",
        )
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", name):
        raise ArgumentError(
            f"{name!r} (after the ':' in {spec!r}) is not a Python name",
            hint="give the function's name, e.g. model.py:loss",
        )
    special = [part for part in name.split(".") if part.startswith("__") and part.endswith("__")]
    if special:
        # loss.__class__ is the type 'function', loss.__call__ a method wrapper: callable,
        # but not code of the file's that autodiffx can differentiate
        raise ArgumentError(
            f"{name!r} (after the ':' in {spec!r}) names the special attribute "
            f"{special[0]}, not a function defined in the file",
            hint="give the function's name, e.g. model.py:loss, or a method's, e.g. "
            "model.py:Model.loss",
        )
    return Path(path), name


def load(spec: str) -> Target:
    """Import the file of ``spec`` (``FILE.py:FUNC``) and return the named function."""
    path, name = split_spec(spec)
    module = load_module(path)
    value: object = module
    for part in name.split("."):
        if not hasattr(value, part):
            available = sorted(
                key for key, item in vars(module).items()
                if callable(item) and getattr(item, "__module__", None) == module.__name__
            )
            raise ArgumentError(
                f"{path} has no function {name!r}",
                hint="functions defined there: " + (", ".join(available) or "none"),
            )
        value = getattr(value, part)
    if not callable(value):
        raise ArgumentError(
            f"{path}:{name} is a {type(value).__name__}, not a function",
            hint="name a function defined in the file",
        )
    return Target(value, module, path, name)


def load_module(path: Path) -> ModuleType:
    """Import the Python file at ``path`` as a module of its own."""
    if not path.exists():
        raise ArgumentError(f"no such file: {path}", hint="check the path before the ':'")
    if not path.is_file():
        raise ArgumentError(f"{path} is not a file", hint="name a .py file")
    resolved = path.resolve()
    stem = re.sub(r"\W", "_", resolved.stem)
    module_name = f"autodiffx_user_{stem}_{zlib.crc32(str(resolved).encode()):08x}"
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise ArgumentError(f"cannot import {path}", hint="name a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    folder = str(resolved.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        del sys.modules[module_name]
        raise UserCodeError(
            f"{path} has a syntax error: {error.msg}",
            location=Location(str(path), error.lineno or 0, error.offset or 0,
                              error.text or ""),
            hint="fix the file, then run the command again",
        ) from None
    except Exception as error:
        del sys.modules[module_name]
        raise UserCodeError(
            f"importing {path} raised {type(error).__name__}: {error}",
            hint="the file is run when it is loaded; make it importable without errors",
        ) from None
    return module
