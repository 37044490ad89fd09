"""Meta-tests of the claim catalogue: every entry has a check, a property and a README line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ntpverify.suite import claims

ROOT = Path(__file__).resolve().parents[1]
PROPERTY_SOURCES = "\n".join(p.read_text() for p in sorted((ROOT / "properties").glob("test_*.py")))


@pytest.mark.parametrize("claim", claims.CATALOGUE, ids=lambda c: c.id)
def test_every_claim_has_a_check(claim):
    assert callable(claim.checker())


@pytest.mark.parametrize("claim", claims.CATALOGUE, ids=lambda c: c.id)
def test_every_claim_has_a_property(claim):
    assert re.search(rf"def test_{claim.id}_\w+\(", PROPERTY_SOURCES), f"no property test_{claim.id}_..."


@pytest.mark.parametrize("claim", claims.CATALOGUE, ids=lambda c: c.id)
def test_every_claim_is_listed_in_the_readme(claim):
    assert f"`{claim.id}`" in (ROOT / "README.md").read_text()


def test_ids_are_unique_and_kinds_are_known():
    ids = [c.id for c in claims.CATALOGUE]
    assert len(ids) == len(set(ids))
    assert {c.kind for c in claims.CATALOGUE} <= {"paper", "derived", "conjecture"}


def test_rate_based_claims_are_conjectures():
    """Every claim whose tolerance rests on a measured rate is catalogued as a conjecture, or says
    that the rate only sets an inconclusive budget (theory.md §6)."""
    for c in claims.CATALOGUE:
        if c.id.startswith("C"):
            assert c.kind == "conjecture"
        else:
            assert c.kind != "conjecture"
