"""Both test trees: claim markers become keywords (``-k P4`` selects P4's property and every control
marked for it, whatever they are named; ntpverify/suite/markers.py)."""

from __future__ import annotations

import pytest

from ntpverify.suite import markers


def pytest_itemcollected(item: pytest.Item) -> None:
    markers.attribute(item)
