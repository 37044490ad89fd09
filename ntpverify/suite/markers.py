"""The ``claim`` marker: ``@pytest.mark.claim("P4")`` on a property or a negative control names the
catalogue claims it checks (registered in pyproject.toml; the root conftest.py makes the ids
keywords, so ``-k P4`` selects them)."""

from __future__ import annotations

import pytest

from ntpverify.suite import claims


def claim_ids(item: pytest.Item) -> tuple[str, ...]:
    """The claim ids of ``item``'s ``claim`` markers, in order, without repeats."""
    ids: list[str] = []
    for mark in item.iter_markers("claim"):
        ids.extend(i for i in mark.args if i not in ids)
    return tuple(ids)


def attribute(item: pytest.Item) -> None:
    """Make ``item``'s claim ids keywords of it; an id outside the catalogue is a usage error."""
    for claim_id in claim_ids(item):
        if claim_id not in claims.BY_ID:
            raise pytest.UsageError(f"{item.nodeid}: claim marker {claim_id!r} is not in the catalogue")
        item.extra_keyword_matches.add(claim_id)
