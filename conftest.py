"""Run every Python code block in the docs and the README as a test (with Sybil).

A block written as a doctest (lines starting with ``>>>``) has its printed output checked;
any other ``python`` block is executed, and the blocks of one page share a namespace, top
to bottom, like a reader's session.
"""

import importlib.util
from doctest import ELLIPSIS, NORMALIZE_WHITESPACE

from hypothesis import settings
from hypothesis.database import InMemoryExampleDatabase
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

# On CI, Hypothesis loads its "ci" profile, which has database=None. Its pytest plugin wraps a
# parametrized test's settings in one more layer for every case, and a settings object whose
# database is None does not cache it, so reading it walks every layer: a test with about 1,000
# cases overflowed the stack (hypothesis 6.170, the CI run of 6aa85d5). The same settings with
# an in-memory database (kept for the run, never written to disk) cache at every layer.
if settings.default.database is None:
    settings.register_profile(
        "no-database", settings.default, database=InMemoryExampleDatabase()
    )
    settings.load_profile("no-database")
