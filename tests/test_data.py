"""The shipped cases (``ntpverify.data``) are byte-identical copies of ../shared/cases, so tests
that read them check what the shared specification states; skipped where ../shared is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from ntpverify import data

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "cases"


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/cases next to this clone")
def test_shipped_cases_are_the_shared_cases() -> None:
    shared = sorted(SHARED.glob("*.json"))
    assert shared
    for path in shared:
        assert (data.DIR / path.name).read_bytes() == path.read_bytes(), path.name


def test_every_case_loads_by_name() -> None:
    assert len(data.names()) >= 9
    for name in data.names():
        assert data.load(name).m >= 1
