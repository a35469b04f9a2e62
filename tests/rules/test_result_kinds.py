"""Whether each rule's result is real or complex, as reverse mode's kind analysis reads it
(``complex_rules.RESULT_KINDS``; ``autodiffx/reverse/kinds.py``), checked against NumPy.

The analysis decides where generated code conjugates primal values and keeps the real
part of a real value's cotangent; a rule whose result is complex where the analysis says
real would make reverse mode silently wrong. So every case of ``domains.py`` is run on real
values and again with complex ones (where NumPy accepts them), and each result's dtype must
be the kind the registry says: ``"like"`` is complex exactly when an argument is.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from autodiffx.rules import all_rules
from autodiffx.rules.complex_rules import RESULT_KINDS

from .domains import DOMAINS
from .test_complex_rules import accepts_complex, complexified
from .test_rules import draw, function_of

CASES = [(rule, index, case) for rule in all_rules() if rule.differentiable
         for index, case in enumerate(DOMAINS.get(rule.name, []))]


def kinds_of(value) -> list[str]:
    values = value if isinstance(value, (tuple, list)) else (value,)
    return ["complex" if np.iscomplexobj(v) else "real" for v in values]


def is_complex(value) -> bool:
    if isinstance(value, (tuple, list)):
        return any(map(is_complex, value))
    return np.iscomplexobj(value)


def expected(rule, count: int, args) -> list[str | None]:
    spec = RESULT_KINDS.get(rule.name, "like")
    items = spec if isinstance(spec, tuple) else (spec,) * count
    def meaning(s):
        if s == "like":
            return "complex" if is_complex(args) else "real"
        if s == "first":
            return "complex" if is_complex(args[0]) else "real"
        if s == "complex_or_either":
            return "complex" if is_complex(args) else None
        if s == "dtype":
            return "complex" if np.dtype(args[-1]).kind == "c" else "real"
        return None if s == "either" else s

    return [meaning(s) for s in items]


@pytest.mark.parametrize("rule, index, case", CASES,
                         ids=[f"{r.name}-{i}" for r, i, _ in CASES])
def test_the_kind_of_each_result(rule, index, case):
    rng = np.random.default_rng(index)
    args = draw(case, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for values in (args, complexified(case, args, rng)):
            if values is not args and not accepts_complex(rule, case, values):
                return
            found = kinds_of(function_of(rule, case)(*values, **case.kwargs))
            wants = expected(rule, len(found), values)
            for want, got in zip(wants, found, strict=True):
                assert want in (None, got), f"a {got} result; the registry says {want}"
