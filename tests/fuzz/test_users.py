"""The widened fuzzer: programs the way users write them (see ``constructs.py`` and
``harness.py``), every check in every mode.

Each program gives, per check, right, refused (an AutodiffError), wrong or crash. Right and
refused pass. A wrong result or a crash fails the run unless the program shrinks to a class
listed in ``regressions.KNOWN_OPEN`` (an open bug, with an xfail(strict=True) regression).
The refusal table per construct is printed on every run, so a refusal that hides a whole
class of programs shows.

The CI run checks ``CI_COUNT`` programs of seed ``AUTODIFFX_FUZZ_SEED`` (default 0); the slow
run (``-m slow``) checks 20,000; ``tests/fuzz/run_many.py`` runs any number from the command
line.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import autodiffx
from autodiffx.rules import registry

from . import constructs, harness
from .regressions import KNOWN_OPEN, REGRESSIONS

CI_COUNT = 500
SEED = int(os.environ.get("AUTODIFFX_FUZZ_SEED", "0"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-users")


def _run(count: int, seed: int, folder, capsys) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = harness.run_and_report(seed, count, folder, KNOWN_OPEN, shrink_known=False)
        report = harness.failure_report(run, show_known=False)
    with capsys.disabled():
        print(f"\nwidened fuzzer, seed {seed}, {count} programs")
        print(harness.summary(run))
        print(harness.refusal_table(run))
    checked = len(run.checked())
    assert checked >= 0.9 * count, f"only {checked} of {count} programs could be checked"
    new = [f for f in run.failures if not f.known]
    assert not new, (
        f"{len(new)} failing checks of classes not in KNOWN_OPEN (seed {seed}):\n{report}"
    )


def test_programs_users_write(folder, capsys):
    _run(CI_COUNT, SEED, folder, capsys)


@pytest.mark.slow
def test_many_programs_users_write(folder, capsys):
    _run(20_000, SEED + 1, folder, capsys)


# --------------------------------------------------------------------------- the fuzzer itself


def test_every_rule_is_fuzzed():
    """Every differentiable primitive of the registry is called by some construct: from its
    family, or from ``constructs.SPECIAL``. A new rule that fits neither fails here."""
    assert constructs.RULES_WITHOUT_TEMPLATE == []
    covered = set()
    for rule in registry.all_rules():
        if rule.differentiable:
            covered |= {rule.name}
    names = {n.split(" (")[0].removeprefix("rule: ") for n in constructs.CONSTRUCTS}
    names |= {rule for rule, construct in constructs.THROUGH_CONSTRUCTS.items()
              if construct in constructs.CONSTRUCTS}
    assert covered <= names, sorted(covered - names)


def test_known_open_have_regressions():
    """Each open class names an xfail(strict=True) regression that is broken in its modes."""
    broken = {r.name: set(r.broken) for r in REGRESSIONS}
    for klass, (families, regressions) in KNOWN_OPEN.items():
        for regression in (regressions,) if isinstance(regressions, str) else regressions:
            assert regression in broken, f"{klass}: no regression named {regression}"
            assert broken[regression], f"{klass}: {regression} is not marked broken"
        assert set(families) <= set(harness.FAMILY.values()) | set(harness.CHECKS), klass


def test_every_construct_renders_and_runs(folder):
    """Each construct alone, on every input profile, makes a program that runs (the
    holomorphic ones on complex inputs, the only ones they are drawn with)."""
    for index, name in enumerate(constructs.CONSTRUCTS):
        output = "real"
        profiles = (constructs.Inputs(), constructs.Inputs("0-d", "float32", "float32", True,
                                                           True))
        if constructs.CONSTRUCTS[name][0] == constructs.HOLOMORPHIC_GROUP:
            output, profiles = "holomorphic", (constructs.Inputs("complex", "complex128",
                                                                 "complex128"),)
        for inputs in profiles:
            program = constructs.render(constructs.Program(0, index, inputs, [(name, index)],
                                                           (0,), output=output))
            module = constructs.load(program.source, folder, f"each_{index}_{inputs.rank3}")
            args = constructs.as_float64(inputs.draw(np.random.default_rng(index)))
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value = module.g(*args)
            assert np.shape(value) == (1,), (name, program.source)


def _program(body: str):
    return constructs.Program(0, 0, constructs.Inputs(), [("plain", 0)], (0, 1, 2))


@pytest.mark.parametrize(
    ("sabotage", "expected"),
    [
        (None, "right"),
        ("double", "wrong"),
        ("refuse", "refused"),
        ("keyerror", "crash"),
        ("mutate", "crash"),
    ],
)
def test_outcomes_are_told_apart(sabotage, expected, folder, monkeypatch):
    """The harness calls a doubled gradient wrong, a KeyError or a mutated input a crash,
    and an AutodiffError a refusal."""
    real = autodiffx.value_and_grad

    def transform(f, wrt=0, **keywords):
        inner = real(f, wrt=wrt, **keywords)

        def run(*args):
            if sabotage == "refuse":
                raise autodiffx.MissingRuleError("refused on purpose")
            if sabotage == "keyerror":
                raise KeyError("internal")
            value, gradients = inner(*args)
            if sabotage == "mutate":  # right results, but the caller's array changed
                args[1][0] += 1.0
            if sabotage == "double":
                gradients = tuple(2 * g for g in gradients)
            return value, gradients

        return run

    monkeypatch.setattr(autodiffx, "value_and_grad", transform)
    program = constructs.render(_program(""))
    result = harness.check_program(program, folder, only="grad reverse")
    assert not result.skipped
    assert result.outcomes["grad reverse"].kind == expected


def test_shrinking_finds_the_construct(folder, monkeypatch):
    """A failure caused by one construct shrinks to that construct alone."""
    program = constructs.render(constructs.Program(
        0, 0, constructs.Inputs(), [("plain", 1), ("y.fill(v)", 2), ("rule: sin", 3)],
        (0, 1, 2)))
    real = autodiffx.value_and_grad

    def transform(f, wrt=0, **keywords):
        inner = real(f, wrt=wrt, **keywords)

        def run(*args):
            if ".fill(" in harness_source[0]:
                raise KeyError("internal")
            return inner(*args)

        return run

    harness_source = [""]
    real_check = harness.check_program

    def check(candidate, folder, only=None):
        harness_source[0] = candidate.source
        return real_check(candidate, folder, only)

    monkeypatch.setattr(autodiffx, "value_and_grad", transform)
    monkeypatch.setattr(harness, "check_program", check)
    minimal = harness.shrink(program, "grad reverse", "crash", folder)
    assert harness.failure_class(minimal) == "y.fill(v)"


@pytest.mark.parametrize(("sabotage", "expected"), [(None, "right"), ("double", "wrong"),
                                                    ("keyerror", "crash")])
def test_the_jvp_check_tells_a_wrong_generated_jvp(sabotage, expected, folder, monkeypatch):
    """The check "jvp" calls a wrong tangent of the generated JVP wrong (where the dual
    numbers are right) and a KeyError from it a crash, and records whether it was written
    and ran."""
    from autodiffx.reverse import jvp as generated

    real = generated.jvp

    def written(f, primals, tangents):
        found = real(f, primals, tangents)
        if found is None or sabotage is None:
            return found
        if sabotage == "keyerror":
            raise KeyError("internal")
        return found[0], 2 * found[1]

    monkeypatch.setattr(generated, "jvp", written)
    program = constructs.render(_program(""))
    result = harness.check_program(program, folder, only="jvp")
    assert not result.skipped
    assert result.generated == ("raised" if sabotage == "keyerror" else "written")
    assert result.outcomes["jvp"].kind == expected
