"""Shared fixtures: the example instances A–I, read from the copies shipped in ``ntpverify.data``
(so a bare clone runs every test; tests/test_data.py checks the copies against ../shared when present)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ntpverify import data


@pytest.fixture
def shared_cases_dir() -> Path:
    """The directory of the shipped example instances (copies of the shared cases)."""
    return data.DIR


@pytest.fixture
def case_files(shared_cases_dir: Path) -> list[Path]:
    """Every example instance file, sorted by name."""
    return sorted(shared_cases_dir.glob("*.json"))
