"""The one distance the checks compare objects with."""

from __future__ import annotations

import numpy as np

#: ``floor`` for a purely relative distance (the reference is a certified, nonzero object).
RELATIVE = 1e-300


def relative_distance(A: np.ndarray, B: np.ndarray, floor: float = 1.0) -> float:
    """``‖A − B‖ / max(‖B‖, floor)`` (Frobenius): relative to the reference ``B``, absolute below
    ``floor`` (default 1: F-part candidates near 0, where relative errors mean nothing;
    :data:`RELATIVE` for two certified nonzero objects)."""
    return float(np.linalg.norm(A - B) / max(float(np.linalg.norm(B)), floor))
