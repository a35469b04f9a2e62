"""Every docstring example of the API reference page's modules runs pasted into a fresh
interpreter.

``pytest --doctest-modules`` runs the same examples with their module's globals, which
hides a missing import (``unregister`` used without importing it passed there). Here each
docstring runs in an empty namespace, as a reader who copies it into a new session would
run it. Doctest, like IPython, Jupyter and Python 3.13's prompt, keeps the source of what
was typed, so reverse mode can read a function an example defines.
"""

from __future__ import annotations

import doctest
import inspect

import pytest

from autodiffx.rules.registry import all_rules

from .reference import reference_names, resolve

FLAGS = doctest.ELLIPSIS


def _examples() -> list[doctest.DocTest]:
    """The examples of the objects on the reference page, and of every public docstring
    of the modules they come from (``autodiffx.api`` for ``autodiffx.grad``)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    found: dict[str, doctest.DocTest] = {}
    modules = {}
    for name in reference_names():
        target = resolve(name)
        # module=False: follow a class's members and a module's objects wherever they were
        # defined; globs={}: each example starts from an empty namespace
        for test in finder.find(target, name, module=False, globs={}):
            found.setdefault(test.name, test)
        module = inspect.getmodule(target)
        modules[module.__name__] = module
    for module_name, module in modules.items():
        for test in finder.find(module, module_name, globs={}):
            found.setdefault(test.name, test)
    once: dict[tuple, doctest.DocTest] = {}  # autodiffx.grad is autodiffx.api.grad
    for test in found.values():
        if test.examples and not _private(test.name):
            once.setdefault(test.docstring, test)
    return sorted(once.values(), key=lambda test: test.name)


def _private(name: str) -> bool:
    return any(part.startswith("_") for part in name.split(".")[1:])


EXAMPLES = _examples()


def test_the_reference_page_has_examples():
    # a broken lookup must not leave nothing to test
    assert len(reference_names()) >= 20
    assert len(EXAMPLES) >= 20, [test.name for test in EXAMPLES]


@pytest.mark.parametrize("test", EXAMPLES, ids=[test.name for test in EXAMPLES])
def test_example_runs_in_a_fresh_namespace(test):
    # doctest itself adds __name__ to the namespace it is given
    assert set(test.globs) <= {"__builtins__", "__name__"}, sorted(test.globs)
    rules_before = _rules()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    output: list[str] = []
    runner.run(test, out=output.append, clear_globs=True)
    assert runner.failures == 0, "".join(output)
    # an example that registers a rule removes it again, and must not take a built-in
    # rule's name (unregistering it would then drop the built-in rule from the names)
    assert _rules() == rules_before


def _rules() -> dict[str, int]:
    return {rule.name: id(rule) for rule in all_rules()}


def test_an_example_that_forgets_an_import_fails_here():
    def uses_unregister():
        """
        >>> unregister  # imported nowhere in this docstring
        <function ...>
        """

    (test,) = doctest.DocTestFinder().find(uses_unregister, "x", module=False, globs={})
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, out=lambda text: None)
    assert runner.failures == 1
    assert inspect.isfunction(uses_unregister)
