"""The pytest plugin: one JSON line per test, with the cases its check_grads calls made and
the test's own outcome, written to ``AUTODIFFX_PEER_RESULTS``."""

import json
import os

import pytest

from . import MODE
from .checker import CASES, classify_error

_RESULTS = os.environ.get("AUTODIFFX_PEER_RESULTS", "peer-results.jsonl")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    start = len(CASES)
    outcome = yield
    error = outcome.excinfo[1] if outcome.excinfo else None
    entry = {
        "mode": MODE,
        "file": item.path.name,
        "test": item.name,
        "cases": CASES[start:],
        "test_outcome": "PASS",
    }
    if error is not None and _expected_refusal(error, entry["cases"]):
        entry["note"] = str(error)
    elif error is not None:
        kind, name, message = classify_error(error)
        if kind == "CRASH" and (
            isinstance(error, AssertionError) or type(error).__name__ == "Failed"
        ):
            kind = "WRONG"
        entry.update(test_outcome=kind, error=name, message=str(message)[:600])
    with open(_RESULTS, "a") as handle:
        handle.write(json.dumps(entry, default=str) + "\n")


def _expected_refusal(error, cases):
    """A test that wraps check_grads in ``pytest.raises`` expects the peer to refuse. The
    checker records instead of raising, so the test itself always fails; the cases decide:
    a refusal of the expected type passes, and so does a gradient the checker confirmed."""
    text = str(error)
    if type(error).__name__ != "Failed" or not text.startswith("DID NOT RAISE") or not cases:
        return False
    expected = text.split()[-1].strip("<>'").rsplit(".", 1)[-1].replace("class '", "")
    for case in cases:
        if case["outcome"] in ("REFUSED", "CRASH") and expected in case.get("bases", ()):
            case["outcome"] = "PASS"
            case["note"] = f"refused with {case['error']}, a {expected}, as the peer expects"
        elif case["outcome"] == "PASS":
            case["note"] = f"the peer refuses this ({expected}); autodiffx's gradient agrees " \
                "with central differences"
    return True


def pytest_collectreport(report):
    if report.failed:
        with open(_RESULTS, "a") as handle:
            handle.write(json.dumps({
                "mode": MODE, "file": os.path.basename(report.nodeid), "test": "<collection>",
                "cases": [], "test_outcome": "COLLECTION_ERROR",
                "message": str(report.longrepr)[-600:],
            }) + "\n")
