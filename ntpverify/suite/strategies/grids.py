"""The dyadic grids that drawn numbers live on: exact in float64, bounded, shrinking to simple values."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

MAX_PROB_RATIO = 1e4
"""Default bound on ``max/min`` of the in-support probabilities of a context."""
MAX_WEIGHT_RATIO = 1e3
"""Bound on ``max/min`` of the context weights."""
PROB_GRID_STEPS = 40
"""Drawn ``spread`` and ``level`` integers lie in ``[0, PROB_GRID_STEPS]`` (see :func:`probability_vectors`)."""
WEIGHT_GRID_STEPS = 30
"""Number of grid steps spanning ``log(MAX_WEIGHT_RATIO)`` for weights."""

# Magnitudes of the "diagonal" scales (singular values before perturbation).
_SCALE_MIN, _SCALE_MAX = 0.5, 2.0

# Real entries live on the dyadic grid ``k / GRID`` (bounded range and
# precision, exact in float64, shrink toward 0). Integer draws are about three
# times cheaper than float draws in Hypothesis, which keeps 200 instances well
# under the time budget.
GRID = 64
"""Resolution of the dyadic grid of drawn real entries (``k / GRID``)."""
_UNIT = st.integers(-GRID, GRID)  # k / GRID in [-1, 1], shrinks to 0
# magnitudes 1 + k / GRID in [1/2, 2], shrinks to 1
MAGNITUDE = st.integers(int(GRID * (_SCALE_MIN - 1)), int(GRID * (_SCALE_MAX - 1)))


def bit_mask(draw, n: int, label: str) -> list[bool]:
    """``n`` booleans drawn as one bit mask (one choice up to 32 bits; shrinks to all False)."""
    if n == 0:
        return []
    if n <= 32:
        mask = draw(st.integers(0, 2**n - 1), label=label)
        return [bool(mask >> i & 1) for i in range(n)]
    size = (n + 31) // 32
    words = draw(st.lists(st.integers(0, 2**32 - 1), min_size=size, max_size=size), label=label)
    return [bool(words[i // 32] >> (i % 32) & 1) for i in range(n)]


def grid_values(draw, n: int, label: str) -> np.ndarray:
    """``n`` grid values in ``[-1, 1]`` (shrink to 0)."""
    ks = draw(st.lists(_UNIT, min_size=n, max_size=n), label=label)
    return np.asarray(ks, dtype=float) / GRID
