"""Small instances shipped with the package: copies of the shared example cases A–I, the theory's
edge cases (theory.md §2–§8: overlapping supports, a full-support context, compatible but not
separable, separable but not compatible, one-hot, orthonormal, d < m). Each file is an
``ntpverify.instance/1`` instance whose ``x-note`` says what it shows and ``x-expected`` holds
independently computed answers. figures.py draws some of them; the conjecture search starts with
all of them (search.py)."""

from __future__ import annotations

from pathlib import Path

from ntpverify.core.instance import Instance

DIR = Path(__file__).parent


def names() -> list[str]:
    """The shipped instances' names, sorted."""
    return sorted(p.stem for p in DIR.glob("*.json"))


def load(name: str) -> Instance:
    """The shipped instance ``name`` (e.g. ``"example-A"``)."""
    return Instance.load(DIR / f"{name}.json")
