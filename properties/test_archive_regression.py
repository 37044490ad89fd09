"""The archive as a regression set: every archived counterexample of a catalogue claim is re-checked.

Each ``ntpverify.counterexample/1`` file under the archive root (``$NTPVERIFY_ARCHIVE_DIR`` or
``reports/counterexamples``) whose replay kind is ``claim`` becomes one test, id
``<claim>-<hash>``, marked with its claim (so ``-k P6a`` selects a claim's cases too), that runs the catalogue check on
the exact archived instance and params, as ``ntpverify replay`` does: a case that still fails fails
here, with the same message as the property that found it. A case that now passes (a fixed bug) or
is inconclusive (a false alarm of a check, now recognized, e.g. C1's plateau and dips) is not
recorded as an example of its claim: archived cases are not draws, and would skew the claim's
statistics in the report.
Conjecture cases are for ``ntpverify search``/``replay``; they are not the theory's regression.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ntpverify.suite import archive, claims
from ntpverify.core.errors import InputError
from ntpverify.tools.replay import claim_verdict
from ntpverify.suite.enforcement import enforce


def _is_claim_case(path: Path) -> bool:
    """True for a claim's counterexample; a damaged file is kept, to fail loudly below."""
    try:
        return archive.load(path).get("replay", {}).get("kind", "claim") == "claim"
    except InputError:
        return True


CASES = [p for p in sorted(archive.root().glob("*/*.json")) if _is_claim_case(p)]


KNOWN = {c.id for c in claims.CATALOGUE}


@pytest.mark.parametrize("path", [
    pytest.param(p, id=f"{p.parent.name}-{p.stem}",
                 marks=[pytest.mark.claim(p.parent.name)] if p.parent.name in KNOWN else [])
    for p in CASES])
def test_archived_counterexample_now_holds(path: Path) -> None:
    doc = archive.load(path)
    verdict = claim_verdict(doc)
    if verdict.outcome == "fail":
        enforce(verdict, doc["instance"], doc["params"])
