"""Run every Python code block in the docs and the README as a test (with Sybil).

A block written as a doctest (lines starting with ``>>>``) has its printed output checked;
any other ``python`` block is executed, and the blocks of one page share a namespace, top
to bottom, like a reader's session.
"""

import importlib.util
from doctest import ELLIPSIS, NORMALIZE_WHITESPACE

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

_parsers = [
    PythonCodeBlockParser(doctest_optionflags=ELLIPSIS | NORMALIZE_WHITESPACE),
    SkipParser(),
]

pytest_collect_file = (
    Sybil(parsers=_parsers, path="docs", patterns=["*.md"], name="docs")
    + Sybil(parsers=_parsers, path=".", filenames=["README.md"], name="readme")
).pytest()

# The SciPy rules import SciPy (an optional extra): without it, --doctest-modules must not
# import their module (autodiffx itself registers them only when SciPy is installed).
collect_ignore = [] if importlib.util.find_spec("scipy") else ["autodiffx/rules/scipy_rules.py"]
