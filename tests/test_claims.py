"""Meta-tests of the claim catalogue: every entry has a check, a property, a negative control,
known requirements and its README line, generated from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from ntpverify.suite import applicability, claims

ROOT = Path(__file__).resolve().parents[1]

#: Collects properties/ in a fresh interpreter (its own profile and module namespace) and prints,
#: per test, its claim markers and whether it is a property (a Hypothesis test) or a control.
_COLLECT = """
import json, sys, pytest
from ntpverify.suite.markers import claim_ids
class Recorder:
    def pytest_collection_finish(self, session):
        self.rows = [[item.nodeid, list(claim_ids(item)),
                      bool(getattr(getattr(item, "obj", None), "is_hypothesis_test", False))]
                     for item in session.items]
r = Recorder()
code = pytest.main(["--collect-only", "-q", "-p", "no:xdist", "properties"], plugins=[r])
print("ROWS" + json.dumps(r.rows))
sys.exit(0 if code == 0 else 1)
"""


@lru_cache(maxsize=None)
def collected() -> list[tuple[str, list[str], bool]]:
    """``(nodeid, claim ids, is a property)`` for every test pytest collects under properties/."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    out = subprocess.run([sys.executable, "-c", _COLLECT], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    line = next(l for l in out.stdout.splitlines() if l.startswith("ROWS"))
    return [tuple(row) for row in json.loads(line[4:])]


@pytest.mark.parametrize("claim", claims.CATALOGUE, ids=lambda c: c.id)
def test_every_claim_has_a_check(claim):
    assert callable(claim.checker())


@pytest.mark.parametrize("claim", claims.CATALOGUE, ids=lambda c: c.id)
def test_every_claim_has_a_property_and_a_negative_control(claim):
    marked = [(node, prop) for node, ids, prop in collected() if claim.id in ids]
    assert any(prop for _, prop in marked), f"{claim.id}: no property marked @pytest.mark.claim({claim.id!r})"
    assert any(not prop for _, prop in marked), f"{claim.id}: no negative control marked for it"


def test_every_property_checks_exactly_one_claim_and_every_test_is_attributed():
    for node, ids, prop in collected():
        if "test_archive_regression" in node:
            continue  # archived cases carry their claim when there are any
        assert ids, f"{node}: no claim marker"
        assert not prop or len(ids) == 1, f"{node}: a property checks one claim, marked {ids}"


@pytest.mark.parametrize("claim", claims.CATALOGUE, ids=lambda c: c.id)
def test_every_requirement_is_known(claim):
    assert set(claim.requires) <= set(applicability.REQUIREMENTS), claim.requires


def test_the_readme_claims_table_is_the_catalogue():
    """README.md's table is generated (``python -m ntpverify.suite.claims README.md``): no drift."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert claims.with_readme_table(text) == text, "README claims table is stale: run python -m ntpverify.suite.claims README.md"


def test_ids_are_unique_and_kinds_are_known():
    ids = [c.id for c in claims.CATALOGUE]
    assert len(ids) == len(set(ids))
    assert {c.kind for c in claims.CATALOGUE} <= {"paper", "derived", "literature", "conjecture"}


def test_rate_based_claims_are_conjectures():
    """Every claim whose tolerance rests on a measured rate is catalogued as a conjecture, or says
    that the rate only sets an inconclusive budget (theory.md §6)."""
    for c in claims.CATALOGUE:
        if c.id.startswith("C"):
            assert c.kind == "conjecture"
        else:
            assert c.kind != "conjecture"


def test_a_stale_readme_table_is_detected():
    """Negative control of the drift test: a README whose table lost a row is not the catalogue."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    stale = text.replace(f"| `{claims.CATALOGUE[-1].id}` |", "| `X9` |", 1)
    assert claims.with_readme_table(stale) != stale
    with pytest.raises(ValueError):
        claims.with_readme_table("no markers here")
