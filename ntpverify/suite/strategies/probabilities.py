"""Next-token distributions on a support and context weights ``π``, on log-spaced grids."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ntpverify.suite.strategies.arguments import check_int
from ntpverify.suite.strategies.described import described
from ntpverify.suite.strategies.grids import MAX_PROB_RATIO, MAX_WEIGHT_RATIO, PROB_GRID_STEPS, WEIGHT_GRID_STEPS


def log_grid_vector(draw, n: int, max_ratio: float, steps: int, label: str) -> np.ndarray:
    """``n`` positive numbers summing to 1, ``max/min <= max_ratio``; shrinks to uniform."""
    if n == 1 or max_ratio == 1.0:
        return np.full(n, 1.0 / n)
    spread = draw(st.integers(0, steps), label=f"{label}.spread")
    if spread == 0:
        return np.full(n, 1.0 / n)
    levels = draw(st.lists(st.integers(0, spread), min_size=n, max_size=n), label=f"{label}.levels")
    logits = -np.asarray(levels, dtype=float) * (math.log(max_ratio) / steps)
    q = np.exp(logits - logits.max())
    return q / q.sum()


def prob_rows(draw, sets, V: int, skew: float, label: str = "p") -> np.ndarray:
    """One distribution per support in ``sets`` (rows of an ``len(sets) x V`` array), two draws in all.

    Row ``j``: ``p_z ∝ exp(-spread_j * level_z * log(skew) / STEPS^2)`` on ``S_j`` (``STEPS =
    PROB_GRID_STEPS``; ``spread_j``, ``level_z`` in ``[0, STEPS]``), zero off it; so
    ``max/min <= skew``. Both draws shrink to 0, i.e. to uniform rows.
    """
    P = np.zeros((len(sets), V))
    multi = []
    for j, s in enumerate(sets):
        if len(s) == 1:
            P[j, s[0]] = 1.0
        elif skew == 1.0:
            P[j, list(s)] = 1.0 / len(s)
        else:
            multi.append(j)
    if not multi:
        return P
    steps = PROB_GRID_STEPS
    spreads = draw(st.lists(st.integers(0, steps), min_size=len(multi), max_size=len(multi)),
                   label=f"{label}.spread")
    total = sum(len(sets[j]) for j in multi)
    levels = draw(st.lists(st.integers(0, steps), min_size=total, max_size=total), label=f"{label}.levels")
    pos = 0
    for j, spread in zip(multi, spreads, strict=False):
        s = list(sets[j])
        lv = np.asarray(levels[pos:pos + len(s)], dtype=float)
        pos += len(s)
        logits = -lv * (spread * math.log(skew) / steps**2)
        q = np.exp(logits - logits.max())
        P[j, s] = q / q.sum()
    return P


@st.composite
def _probability_vectors(draw, support, V, skew):
    return prob_rows(draw, [support], V, skew)[0]


@described
def probability_vectors(support: Sequence[int], V: int, skew: float = MAX_PROB_RATIO) -> st.SearchStrategy[np.ndarray]:
    """A next-token distribution ``p`` in ``R^V`` (float64 array) for the given support.

    ``p_z > 0`` exactly for ``z`` in ``support``, ``p_z == 0.0`` elsewhere,
    ``|sum p - 1| <= 1e-12``, and ``max/min`` over the support is at most
    ``skew`` (``skew >= 1``; ``skew = 1`` gives the uniform distribution).
    ``log p_z = -spread * level_z * log(skew) / STEPS**2 + const`` with
    ``STEPS = PROB_GRID_STEPS`` and drawn integers ``spread`` (label
    ``p.spread``) and ``level_z`` (label ``p.levels``) in ``[0, STEPS]``:
    draws range from uniform and near-uniform (ratio ``skew**(1/STEPS**2)``)
    to the full ratio ``skew``. Shrinks to the uniform distribution.
    """
    V = check_int("V", V, 2)
    support = tuple(sorted({int(z) for z in support}))
    if not support:
        raise InvalidArgument("support must be nonempty")
    if support[0] < 0 or support[-1] >= V:
        raise InvalidArgument(f"support {support} must lie in range({V})")
    skew = float(skew)
    if not (math.isfinite(skew) and skew >= 1.0):
        raise InvalidArgument(f"skew={skew!r} must be a finite number >= 1")

    return _probability_vectors(support, V, skew)


@st.composite
def _context_weights(draw, m):
    return log_grid_vector(draw, m, MAX_WEIGHT_RATIO, WEIGHT_GRID_STEPS, "pi")


@described
def context_weights(m: int) -> st.SearchStrategy[np.ndarray]:
    """Context weights ``pi`` (float64 array of length ``m``): positive, ``|sum - 1| <= 1e-12``.

    ``max/min <= MAX_WEIGHT_RATIO`` (log-grid of :data:`WEIGHT_GRID_STEPS`
    steps); shrinks to uniform weights.
    """
    m = check_int("m", m, 1)

    return _context_weights(m)
