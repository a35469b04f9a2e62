"""An audit of NumPy's namespace: every public name, in both modes.

For every public callable of ``np``, ``np.linalg`` and ``np.fft``, every public ndarray
method and attribute, and NumPy's indexing helpers (walked from the namespaces, so a new
NumPy function or a new rule is covered without editing this file), plus variants (other
ways of calling, each rule's keywords, other points), ``makers.py`` builds a small program
that uses it on a differentiated argument. Each mode must give the right gradient (central
differences) or refuse with an :class:`autodiffx.AutodiffError`. A wrong gradient or value,
any other exception, or a mutated input fails. See ``README.md`` in this folder, and
``report.py`` for the table.

Open bugs are in :data:`KNOWN_OPEN`, marked ``xfail(strict=True)``: fixing one makes its
test fail until its entry is removed here.
"""

from __future__ import annotations

import numpy as np
import pytest

from autodiffx.rules import all_rules, lookup

from . import makers
from .outcomes import ALLOWED, MODES, check

PROGRAMS, MISSING = makers.make_all()
ENTRIES = [*(p.entry for p in PROGRAMS), *(m.entry for m in MISSING)]

# (row, mode, why it fails today). Keep it as small as the truth allows: fixing one makes
# its test XPASS, which fails (strict) until the line is removed.
_OPEN: list[tuple[str, str, str]] = [
    # (np.frombuffer and np.nditer in forward mode, a TypeError from NumPy meeting a Dual
    # where it needs a real buffer, are refused since ed6df41 and this commit)
]
KNOWN_OPEN: dict[str, dict[str, str]] = {}
for _name, _mode, _reason in _OPEN:
    KNOWN_OPEN.setdefault(_name, {})[_mode] = _reason


def _param(program: makers.Program, mode: str):
    reason = KNOWN_OPEN.get(program.entry.key, {}).get(mode)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(program, mode, id=f"{program.entry.key}-{mode}", marks=marks)


@pytest.fixture(scope="session")
def loaded(tmp_path_factory):
    """The programs, written to one module file (reverse mode reads the source) and imported."""
    return makers.load(tmp_path_factory.mktemp("audit"), PROGRAMS)


@pytest.mark.parametrize(
    ("program", "mode"), [_param(p, mode) for p in PROGRAMS for mode in MODES])
def test_each_mode_is_right_or_refuses(loaded, program, mode):
    outcome = check(program, mode)
    assert outcome.status in ALLOWED, (
        f"{program.entry.key} ({program.family}) in {mode} mode: {outcome}\n"
        f"program:\n    " + "\n    ".join(program.lines)
    )


def test_every_callable_with_a_rule_has_a_maker():
    """A rule for a NumPy callable is audited as soon as it is registered: its callable is in
    the namespace walk, and it must have a maker that NumPy accepts."""
    audited = {id(p.entry.obj) for p in PROGRAMS}
    walked = {id(e.obj) for e in ENTRIES}
    without = [m.entry.name for m in MISSING if lookup(m.entry.obj) is not None]
    assert not without, f"callables with a rule but no maker: {without}"
    outside = [
        f"{rule.name}: {primitive!r}"
        for rule in all_rules()
        for primitive in rule.primitives
        if id(primitive) not in walked
        and (getattr(primitive, "__module__", None) or "").startswith("numpy")
    ]
    assert not outside, f"rules for NumPy callables the namespace walk does not reach: {outside}"
    ruled = [p for p in PROGRAMS if lookup(p.entry.obj) is not None]
    assert ruled and all(id(p.entry.obj) in audited for p in ruled)


def test_the_walk_reaches_every_namespace():
    names = {e.name for e in ENTRIES}
    assert {"np.sin", "np.sum", "np.linalg.inv", "np.fft.fft", "ndarray.sum"} <= names
    assert len(ENTRIES) > 500
    for prefix, module in makers.NAMESPACES:
        public = [n for n in (getattr(module, "__all__", None) or dir(module))
                  if not n.startswith("_") and callable(getattr(module, n, None))
                  and not isinstance(getattr(module, n), type(np))]
        assert {f"{prefix}.{n}" for n in public} <= names


def test_known_open_entries_name_audited_programs():
    """A stale entry (a renamed callable, a mode typo, a maker that moved it to "no maker")
    would xfail nothing; it must be removed instead."""
    audited = {p.entry.key for p in PROGRAMS}
    for name, modes in KNOWN_OPEN.items():
        assert name in audited, f"KNOWN_OPEN names {name}, which the audit does not run"
        assert set(modes) <= set(MODES), (name, modes)


def test_no_maker_list_is_reported_and_small():
    """Callables without a maker are counted, never silently dropped: each has a reason."""
    assert all(m.reason for m in MISSING)
    assert len(MISSING) < 0.15 * len(ENTRIES), [m.entry.key for m in MISSING]


if __name__ == "__main__":
    from .report import main

    main()


@pytest.fixture
def swapped_rules():
    """Swap in deliberately broken rules for np.sin and np.cos; restore the originals."""
    from autodiffx.rules import elementwise, register

    originals = [lookup(np.sin), lookup(np.cos)]
    try:
        elementwise(np.sin, "2 * np.cos(x)", override=True)  # wrong by a factor of 2
        elementwise(np.cos, "{}['oops'] * x", override=True)  # raises KeyError in both modes
        yield
    finally:
        for rule in originals:
            register(rule)


def _program(key):
    return next(p for p in PROGRAMS if p.entry.key == key)


def test_the_audit_can_fail(loaded, swapped_rules):
    """A wrong rule is WRONG and a rule that raises is a CRASH, in both modes."""
    for mode in MODES:
        assert check(_program("np.sin"), mode).status == "WRONG", mode
        assert check(_program("np.cos"), mode).status == "CRASH", mode


def test_the_rules_are_restored(loaded):
    for mode in MODES:
        assert check(_program("np.sin"), mode).status == "right"
        assert check(_program("np.cos"), mode).status == "right"
