"""Shared fixtures: the example instances of /work/shared/cases."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def shared_cases_dir() -> Path:
    """The directory of shared example instances, next to the repository."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "cases"


@pytest.fixture
def case_files(shared_cases_dir: Path) -> list[Path]:
    """Every example instance file, sorted by name."""
    return sorted(shared_cases_dir.glob("*.json"))
