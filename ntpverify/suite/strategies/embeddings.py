"""Embedding dimensions and matrices ``H`` by regime (:data:`REGIMES`)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ntpverify.suite.strategies.arguments import check_int, check_range
from ntpverify.suite.strategies.described import described
from ntpverify.suite.strategies.grids import GRID, MAGNITUDE, bit_mask, grid_values

REGIMES: tuple[str, ...] = (
    "generic_wide",
    "generic_narrow",
    "orthogonal",
    "rank_deficient",
    "duplicated",
    "collinear",
    "integer_grid",
)
"""Embedding regimes, in shrinking order (earlier is simpler)."""


COLLINEAR_FACTORS: tuple[float, ...] = (2.0, -1.0, 0.5, -2.0, -0.5, 3.0, -3.0, 4.0)
"""Factors ``c`` for the ``collinear`` regime (never 0 or 1)."""


def d_range(regime: str, m: int, min_d: int, max_d: int) -> tuple[int, int]:
    """Admissible ``d`` for ``regime`` and ``m`` (may be empty: lo > hi)."""
    lo, hi = min_d, max_d
    if regime in ("generic_wide", "orthogonal"):
        lo = max(lo, m)
    elif regime == "generic_narrow":
        hi = min(hi, m - 1)
    elif regime == "rank_deficient":
        lo = max(lo, 2)
        if m < 2:
            hi = 0
    elif regime in ("duplicated", "collinear"):
        if m < 2:
            hi = 0
    return lo, hi


def _check_regime(regime) -> str:
    if regime not in REGIMES:
        raise InvalidArgument(f"unknown regime {regime!r}; expected one of {REGIMES}")
    return regime


@st.composite
def _dimensions(draw, regime, ms, min_d, max_d):
    m = ms[0] if len(ms) == 1 else draw(st.sampled_from(ms), label="m")
    lo, hi = d_range(regime, m, min_d, max_d)
    d = draw(st.integers(lo, hi), label="d")
    return m, d


@described
def dimensions(regime: str, m: int | None = None, *, min_m: int = 1, max_m: int = 5,
               min_d: int = 1, max_d: int = 6) -> st.SearchStrategy[tuple[int, int]]:
    """Pairs ``(m, d)`` admissible for ``regime`` (labels ``"m"``, ``"d"``).

    ``m`` fixed if given, otherwise drawn in ``[min_m, max_m]`` among values
    for which some ``d`` in ``[min_d, max_d]`` fits the regime: ``d >= m``
    (``generic_wide``, ``orthogonal``), ``d < m`` (``generic_narrow``),
    ``min(m, d) >= 2`` (``rank_deficient``), ``m >= 2`` (``duplicated``,
    ``collinear``), anything (``integer_grid``). Shrinks toward small m, d.
    """
    regime = _check_regime(regime)
    min_d, max_d = check_range("min_d", min_d, "max_d", max_d, 1)
    if m is not None:
        ms = [check_int("m", m, 1)]
    else:
        min_m, max_m = check_range("min_m", min_m, "max_m", max_m, 1)
        ms = list(range(min_m, max_m + 1))
    ms = [mm for mm in ms if d_range(regime, mm, min_d, max_d)[0] <= d_range(regime, mm, min_d, max_d)[1]]
    if not ms:
        raise InvalidArgument(f"no (m, d) fits regime {regime!r} with these bounds")

    return _dimensions(regime, tuple(ms), min_d, max_d)


def _reflect(A: np.ndarray, v: np.ndarray, side: str) -> np.ndarray:
    """``A R`` (side="right") or ``R A`` (side="left") with ``R = I - 2 v v^T / v^T v``."""
    vv = float(v @ v)
    if side == "right":
        return A - np.outer(A @ v, v) * (2.0 / vv)
    return A - np.outer(v, v @ A) * (2.0 / vv)


def _mix(draw, A: np.ndarray, side: str, label: str) -> np.ndarray:
    """Apply one drawn Householder reflection (none if the drawn vector is 0, the shrink target)."""
    n = A.shape[1] if side == "right" else A.shape[0]
    if n < 2:
        return A
    v = grid_values(draw, n, label)
    return _reflect(A, v, side) if np.any(v) else A


def _signed_scales(draw, n: int, label: str) -> np.ndarray:
    """``n`` numbers of magnitude in ``[1/2, 2]`` (grid ``1/GRID``), signed; shrink to 1."""
    ks = draw(st.lists(MAGNITUDE, min_size=n, max_size=n), label=f"{label}.magnitudes")
    neg = bit_mask(draw, n, f"{label}.negative")
    return (1.0 + np.asarray(ks, dtype=float) / GRID) * np.where(neg, -1.0, 1.0)


def _wide(draw, m: int, d: int, label: str) -> np.ndarray:
    """``m x d`` (``m <= d``), singular values in ``[1/4, 9/4]``, rank m, no zero row."""
    core = np.zeros((m, d))
    core[np.arange(m), np.arange(m)] = _signed_scales(draw, m, f"{label}.scales")
    core = _mix(draw, core, "left", f"{label}.left_reflection")
    core = _mix(draw, core, "right", f"{label}.right_reflection")
    # ||E||_F <= delta * sqrt(m d) <= 1/4 with a dyadic delta (exact scaling)
    delta = 2.0 ** -math.ceil(math.log2(4.0 * math.sqrt(m * d)))
    E = grid_values(draw, m * d, f"{label}.perturbation").reshape(m, d)
    return core + delta * E


def _anchored_rows(draw, n: int, d: int, label: str) -> np.ndarray:
    """``n`` rows, each with an anchor entry of magnitude in [1/2, 2] and norm <= sqrt 5."""
    anchors = draw(st.lists(st.integers(0, d - 1), min_size=n, max_size=n), label=f"{label}.anchor_columns")
    values = _signed_scales(draw, n, f"{label}.anchor_values")
    X = np.zeros((n, d))
    if d > 1:
        scale = 2.0 ** -math.ceil(math.log2(math.sqrt(d - 1)))  # off-anchor norm <= 1
        X = scale * grid_values(draw, n * d, f"{label}.entries").reshape(n, d)
    X[np.arange(n), anchors] = values
    return X


def _permute_rows(draw, H: np.ndarray, label: str) -> np.ndarray:
    if H.shape[0] < 2:
        return H
    order = draw(st.permutations(range(H.shape[0])), label=label)
    return H[list(order)]


def _full_rank(draw, m: int, d: int, label: str) -> np.ndarray:
    """``m x d`` of rank ``min(m, d)``, well conditioned, no zero row."""
    if m <= d:
        return _wide(draw, m, d, label)
    block = _wide(draw, d, d, f"{label}.block")
    extra = _anchored_rows(draw, m - d, d, f"{label}.extra")
    return _permute_rows(draw, np.vstack([block, extra]), f"{label}.row_order")


def _orthogonal(draw, m: int, d: int) -> np.ndarray:
    scales = _signed_scales(draw, m, "orthogonal.scales")
    cols = draw(st.permutations(range(d)), label="orthogonal.columns") if d > 1 else [0]
    H = np.zeros((m, d))
    H[np.arange(m), list(cols)[:m]] = scales
    sizes = [0] + [2 ** i for i in range(1, int(math.log2(d)) + 1)] if d >= 2 else [0]
    k = draw(st.sampled_from(sizes), label="orthogonal.reflection_size") if len(sizes) > 1 else 0
    if k:
        where = draw(st.permutations(range(d)), label="orthogonal.reflection_support")
        neg = bit_mask(draw, k, "orthogonal.reflection_signs")
        v = np.zeros(d)
        v[list(where)[:k]] = np.where(neg, -1.0, 1.0)
        # v^T v = k is a power of two: R = I - (2/k) v v^T has dyadic entries, exactly orthogonal
        H = _reflect(H, v, "right")
    return H


def _copies(draw, m: int, d: int, regime: str) -> np.ndarray:
    n_copies = draw(st.integers(1, m - 1), label=f"{regime}.n_copies")
    n_base = m - n_copies
    base = _full_rank(draw, n_base, d, f"{regime}.base")
    src = draw(st.lists(st.integers(0, n_base - 1), min_size=n_copies, max_size=n_copies),
               label=f"{regime}.sources")
    copies = base[src]
    if regime == "collinear":
        c = draw(st.lists(st.sampled_from(COLLINEAR_FACTORS), min_size=n_copies, max_size=n_copies),
                 label="collinear.factors")
        copies = np.asarray(c)[:, None] * copies
    return _permute_rows(draw, np.vstack([base, copies]), f"{regime}.row_order")


def _integer_grid(draw, m: int, d: int) -> np.ndarray:
    """Integers in [-2, 2]; each row's anchor entry is in {+-1, +-2} (no zero row). Shrinks to ``[1 0 ...]`` rows."""
    entries = draw(st.lists(st.integers(-2, 2), min_size=m * d, max_size=m * d),
                   label="integer_grid.entries")
    anchors = draw(st.lists(st.integers(0, d - 1), min_size=m, max_size=m),
                   label="integer_grid.anchor_columns")
    values = draw(st.lists(st.sampled_from((1, -1, 2, -2)), min_size=m, max_size=m),
                  label="integer_grid.anchor_values")
    H = np.asarray(entries, dtype=float).reshape(m, d)
    H[np.arange(m), anchors] = values
    return H


def build_embeddings(draw, m: int, d: int, regime: str) -> np.ndarray:
    if regime in ("generic_wide", "generic_narrow"):
        H = _full_rank(draw, m, d, regime)
    elif regime == "orthogonal":
        H = _orthogonal(draw, m, d)
    elif regime == "rank_deficient":
        r = draw(st.integers(1, min(m, d) - 1), label="rank_deficient.rank")
        C = _full_rank(draw, m, r, "rank_deficient.left")
        B = _full_rank(draw, r, d, "rank_deficient.right")
        H = C @ B
    elif regime in ("duplicated", "collinear"):
        H = _copies(draw, m, d, regime)
    elif regime == "integer_grid":
        H = _integer_grid(draw, m, d)
    else:  # pragma: no cover - guarded by the callers
        raise InvalidArgument(f"unknown regime {regime!r}")
    return np.ascontiguousarray(H, dtype=float)


@st.composite
def _embeddings(draw, m, d, regime):
    return build_embeddings(draw, m, d, regime)


@described
def embeddings(m: int, d: int, regime: str) -> st.SearchStrategy[np.ndarray]:
    """An ``m x d`` float64 embedding matrix ``H`` in the named regime (see module docs).

    Raises ``InvalidArgument`` when ``(m, d)`` cannot satisfy the regime
    (use :func:`dimensions` to draw admissible pairs).
    """
    m = check_int("m", m, 1)
    d = check_int("d", d, 1)
    regime = _check_regime(regime)
    lo, hi = d_range(regime, m, 1, d)
    if not lo <= d <= hi:
        raise InvalidArgument(f"(m, d) = ({m}, {d}) does not fit regime {regime!r}")

    return _embeddings(m, d, regime)
