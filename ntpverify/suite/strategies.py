"""Hypothesis strategies for NTP instances (Thrampoulidis, arXiv 2402.18551).

Everything here is *valid by construction*: no strategy calls ``assume`` or
``.filter``, every ``draw`` carries a label, and every draw shrinks toward a
simple value (small ``V``, ``m``, ``d``; uniform probabilities and weights;
identity rotations; zero perturbations; one-hot subsets; identity
permutations).

Public entry point: :func:`instances`. Its default covers every embedding
regime in :data:`REGIMES` and every support kind in :data:`SUPPORT_KINDS`;
keyword options narrow it. Each drawn :class:`~ntpverify.core.instance.Instance`
carries ``name=f"hyp-{regime}"`` and
``extras={"x-regime": regime, "x-supports": kind}``, and the draw records
``event(f"regime={regime}")`` and ``event(f"supports={kind}")`` (see
``--hypothesis-show-statistics``).

Building blocks (all public, all documented):

* :func:`vocab_sizes` -- ``V``;
* :func:`support_patterns` -- one support set per context, by kind;
* :func:`probability_vectors` -- one next-token distribution for a support;
* :func:`context_weights` -- the context weights ``pi``;
* :func:`dimensions` -- ``(m, d)`` pairs compatible with a regime;
* :func:`embeddings` -- an ``m x d`` matrix ``H`` in a named regime.

Embedding regimes (what each one *guarantees*, checked by
``tests/test_strategies.py``); no regime ever produces a zero row:

``generic_wide``
    ``d >= m`` and ``rank H = m``. ``H = P [S 0] Q + E``: ``S`` diagonal with
    signed entries of magnitude in ``[1/2, 2]``, ``P`` (``m x m``) and ``Q``
    (``d x d``) Householder reflections from drawn grid vectors (the identity
    when the vector is 0, the shrink target), ``E`` a grid perturbation with
    ``||E||_F <= 1/4``. Hence every singular value lies in ``[1/4, 9/4]`` and
    ``cond(H) <= 9``; shrinks to ``[I 0]``.
``generic_narrow``
    ``d < m`` and ``rank H = d``. A ``d x d`` ``generic_wide`` block stacked
    with ``m - d`` further rows (each with an anchor entry of magnitude in
    ``[1/2, 2]`` and row norm at most ``sqrt 5``), rows then permuted.
    ``cond(H) <= 4 sqrt((9/4)^2 + 5 (m - d))`` (``< 21`` for ``m - d <= 4``).
    No general-position promise: the extra rows shrink to anchor-only rows,
    i.e. toward duplicates of the block's rows.
``orthogonal``
    ``d >= m``; rows mutually orthogonal and nonzero, norms in ``[1/2, 2]``
    (distinct norms allowed). Signed scaled standard-basis rows in a drawn
    column order, optionally reflected by a Householder matrix whose vector
    has ``k in {2, 4, 8, ...}`` entries ``+-1``: its entries are dyadic, so the
    reflection is exactly orthogonal in floating point and ``H H^T`` is
    exactly diagonal.
``rank_deficient``
    ``rank H = r < min(m, d)`` (``r >= 1``, so ``min(m, d) >= 2``).
    ``H = C B`` with ``C`` (``m x r``, ``generic_narrow``) and ``B``
    (``r x d``, ``generic_wide``); the nonzero singular values have ratio at
    most ``cond(C) cond(B)``.
``duplicated``
    ``m >= 2``; some two rows are bitwise identical. ``m - k`` distinct
    generic rows plus ``k >= 1`` copies of them, rows then permuted.
``collinear``
    ``m >= 2``; some two rows are parallel but not identical: as
    ``duplicated`` but each copy is ``c h`` with ``c`` in
    :data:`COLLINEAR_FACTORS` (never 0 or 1, possibly negative).
``integer_grid``
    integer entries in ``[-2, 2]``, each row has an anchor entry in
    ``{+-1, +-2}``; no rank promise.

Support kinds (``S_j`` is the support of context ``j``; unless
``allow_all_full=True`` at least one context has ``|S_j| < V``):

``one_hot``      every ``|S_j| = 1``.
``full``         every ``|S_j| = V`` if ``allow_all_full=True``; otherwise
                 (needs ``m >= 2``) exactly one context is not full and all
                 the others are.
``nested``       the supports form a chain under inclusion (prefixes of one
                 token order).
``disjoint``     pairwise disjoint supports (needs ``V >= m``).
``overlapping``  some two supports properly overlap: they intersect and
                 neither contains the other (needs ``m >= 2``, ``V >= 3``).
``shared``       two distinct tokens have identical membership in every
                 support and both lie in at least one support (needs
                 ``V >= 3`` unless ``allow_all_full=True``).
``mixed``        arbitrary nonempty supports.

``full_support_context=True`` (an option of :func:`instances`,
:func:`support_patterns` and :func:`feasible_support_kinds`) guarantees at
least one context with ``S_j = [V]``, by construction: ``full`` already has
one; ``nested``, ``overlapping``, ``shared`` and ``mixed`` build ``m - 1``
contexts of their kind and insert a full-support context at a drawn position
(label ``full_context.position``; a full support keeps each kind's property,
so they need one context more than without the option); ``one_hot`` and
``disjoint`` cannot have one and are never drawn with it. The default
(``False``) draws exactly what it drew before the option existed.

Probability vectors are positive exactly on their support, zero (exactly)
off it, sum to 1 within 1e-12, and have in-support ratio
``max/min <= skew`` (default 1e4): log-probabilities are drawn on a bounded
integer grid (see :func:`probability_vectors`), from exactly uniform to the
full ratio. Weights are drawn the same way with ratio at most
:data:`MAX_WEIGHT_RATIO`. Real embedding entries are drawn on the dyadic grid
``k / GRID`` (bounded range and precision; exact in float64).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ntpverify.core.instance import Instance

__all__ = [
    "REGIMES",
    "SUPPORT_KINDS",
    "COLLINEAR_FACTORS",
    "MAX_PROB_RATIO",
    "MAX_WEIGHT_RATIO",
    "GRID",
    "PROB_GRID_STEPS",
    "WEIGHT_GRID_STEPS",
    "vocab_sizes",
    "feasible_support_kinds",
    "support_patterns",
    "probability_vectors",
    "context_weights",
    "dimensions",
    "embeddings",
    "instances",
]

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

SUPPORT_KINDS: tuple[str, ...] = (
    "one_hot",
    "full",
    "nested",
    "disjoint",
    "overlapping",
    "shared",
    "mixed",
)
"""Support-pattern kinds, in shrinking order (earlier is simpler)."""

COLLINEAR_FACTORS: tuple[float, ...] = (2.0, -1.0, 0.5, -2.0, -0.5, 3.0, -3.0, 4.0)
"""Factors ``c`` for the ``collinear`` regime (never 0 or 1)."""

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
_MAGNITUDE = st.integers(int(GRID * (_SCALE_MIN - 1)), int(GRID * (_SCALE_MAX - 1)))


def _bits(draw, n: int, label: str) -> list[bool]:
    """``n`` booleans drawn as one bit mask (one choice up to 32 bits; shrinks to all False)."""
    if n == 0:
        return []
    if n <= 32:
        mask = draw(st.integers(0, 2**n - 1), label=label)
        return [bool(mask >> i & 1) for i in range(n)]
    size = (n + 31) // 32
    words = draw(st.lists(st.integers(0, 2**32 - 1), min_size=size, max_size=size), label=label)
    return [bool(words[i // 32] >> (i % 32) & 1) for i in range(n)]


def _grid(draw, n: int, label: str) -> np.ndarray:
    """``n`` grid values in ``[-1, 1]`` (shrink to 0)."""
    ks = draw(st.lists(_UNIT, min_size=n, max_size=n), label=label)
    return np.asarray(ks, dtype=float) / GRID


# --------------------------------------------------------------------------
# validation helpers


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be >= {minimum}")
    return int(value)


def _check_range(lo_name: str, lo, hi_name: str, hi, minimum: int) -> tuple[int, int]:
    lo = _check_int(lo_name, lo, minimum)
    hi = _check_int(hi_name, hi, minimum)
    if lo > hi:
        raise InvalidArgument(f"{lo_name}={lo} must be <= {hi_name}={hi}")
    return lo, hi


def _names(value, universe: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Normalise ``None`` / a name / a sequence of names to a tuple of names."""
    if value is None:
        return universe
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence) or not value:
        raise InvalidArgument(f"{what} must be a name or a nonempty sequence of names")
    for name in value:
        if name not in universe:
            raise InvalidArgument(f"unknown {what} {name!r}; expected one of {universe}")
    # keep the canonical (shrinking) order, drop repeats
    return tuple(n for n in universe if n in value)


# --------------------------------------------------------------------------
# vocabularies and supports


def vocab_sizes(min_V: int = 2, max_V: int = 6) -> st.SearchStrategy[int]:
    """Vocabulary sizes ``V`` in ``[min_V, max_V]`` (``min_V >= 2``); shrinks to ``min_V``."""
    min_V, max_V = _check_range("min_V", min_V, "max_V", max_V, 2)
    return st.integers(min_V, max_V)


def _kind_min_m(kind: str, allow_all_full: bool, full_context: bool = False) -> float:
    """The smallest ``m`` for which ``kind`` can be built (``math.inf``: none)."""
    if full_context and kind != "full":
        if kind in ("one_hot", "disjoint"):
            return math.inf  # a full support is not a singleton, nor disjoint from another support
        return 1 + _kind_min_m(kind, allow_all_full)  # m - 1 contexts of the kind, one full context
    if kind == "overlapping":
        return 2
    if kind == "full" and not allow_all_full:
        return 2
    return 1


def _kind_min_V(kind: str, m: int, allow_all_full: bool, full_context: bool = False) -> int:
    if full_context and kind != "full":
        return _kind_min_V(kind, m - 1, allow_all_full)
    if kind == "disjoint":
        return max(2, m)
    if kind == "overlapping" or (kind == "shared" and not allow_all_full):
        return 3
    return 2


def _kind_feasible(kind: str, m: int, V: int, allow_all_full: bool, full_context: bool = False) -> bool:
    return (m >= _kind_min_m(kind, allow_all_full, full_context)
            and V >= _kind_min_V(kind, m, allow_all_full, full_context))


def feasible_support_kinds(m: int, V: int, allow_all_full: bool = False,
                           full_support_context: bool = False) -> tuple[str, ...]:
    """The kinds in :data:`SUPPORT_KINDS` that :func:`support_patterns` can build for ``(m, V)``.

    ``disjoint`` needs ``V >= m``; ``overlapping`` needs ``m >= 2`` and ``V >= 3``;
    ``shared`` needs ``V >= 3`` unless ``allow_all_full``; ``full`` needs ``m >= 2``
    unless ``allow_all_full`` (so that at least one context is full and one is not).
    With ``full_support_context``: ``one_hot`` and ``disjoint`` never; ``full`` as
    above; the others as above for ``m - 1`` contexts (so ``m >= 2``).
    """
    m = _check_int("m", m, 1)
    V = _check_int("V", V, 2)
    full_context = bool(full_support_context)
    return tuple(k for k in SUPPORT_KINDS if _kind_feasible(k, m, V, allow_all_full, full_context))


def _subset(draw, n: int, label: str, *, proper: bool = False, anchor: int | None = None) -> list[int]:
    """A nonempty subset of ``range(n)`` (proper if asked, needs ``n >= 2``).

    Shrinks to the singleton ``{anchor}`` (``{0}`` when the anchor is drawn).
    """
    if anchor is None:
        anchor = draw(st.integers(0, n - 1), label=f"{label}.anchor") if n > 1 else 0
    excluded = None
    if proper:
        e = draw(st.integers(0, n - 2), label=f"{label}.excluded") if n > 2 else 0
        excluded = e if e < anchor else e + 1
    members = {anchor}
    if n > 1:
        flags = _bits(draw, n, f"{label}.members")
        members.update(i for i, f in enumerate(flags) if f)
    members.discard(excluded)
    return sorted(members)


def _token_order(draw, V: int, label: str) -> list[int]:
    return list(draw(st.permutations(range(V)), label=label))


def _permute_contexts(draw, sets: list, label: str) -> list:
    if len(sets) < 2:
        return sets
    order = draw(st.permutations(range(len(sets))), label=label)
    return [sets[i] for i in order]


def _build_supports(draw, m: int, V: int, kind: str, allow_all_full: bool,
                    full_context: bool = False) -> tuple[tuple[int, ...], ...]:
    if full_context and kind != "full":  # ("full" has full-support contexts already)
        sets = list(_build_supports(draw, m - 1, V, kind, allow_all_full))
        at = draw(st.integers(0, m - 1), label="full_context.position")  # m >= 2 (_kind_min_m)
        sets.insert(at, tuple(range(V)))
        return tuple(sets)
    full = list(range(V))
    if kind == "one_hot":
        tokens = draw(st.lists(st.integers(0, V - 1), min_size=m, max_size=m), label="one_hot.tokens")
        sets = [[t] for t in tokens]
    elif kind == "full":
        if allow_all_full:
            sets = [full] * m
        else:  # m >= 2: one non-full context, the others full
            sets = [_subset(draw, V, "full.exception", proper=True)] + [full] * (m - 1)
            sets = _permute_contexts(draw, sets, "full.context_order")
    elif kind == "nested":
        order = _token_order(draw, V, "nested.token_order")
        first_max = V if allow_all_full else V - 1
        first = draw(st.integers(1, first_max), label="nested.size[0]")
        rest = draw(st.lists(st.integers(1, V), min_size=m - 1, max_size=m - 1), label="nested.sizes")
        sets = [sorted(order[:k]) for k in [first, *rest]]
        sets = _permute_contexts(draw, sets, "nested.context_order")
    elif kind == "disjoint":
        order = _token_order(draw, V, "disjoint.token_order")
        budget = V - m  # extra tokens beyond one per context
        if m == 1 and not allow_all_full:
            budget = V - 2  # the single support must not be full
        sizes = []
        for j in range(m):
            extra = draw(st.integers(0, budget), label=f"disjoint.extra[{j}]") if budget > 0 else 0
            budget -= extra
            sizes.append(1 + extra)
        sets, start = [], 0
        for k in sizes:
            sets.append(sorted(order[start:start + k]))
            start += k
        sets = _permute_contexts(draw, sets, "disjoint.context_order")
    elif kind == "overlapping":
        order = _token_order(draw, V, "overlapping.token_order")
        budget = V - 3
        a = 1 + (draw(st.integers(0, budget), label="overlapping.extra_only_first") if budget else 0)
        budget -= a - 1
        c = 1 + (draw(st.integers(0, budget), label="overlapping.extra_common") if budget else 0)
        budget -= c - 1
        b = 1 + (draw(st.integers(0, budget), label="overlapping.extra_only_second") if budget else 0)
        first = sorted(order[: a + c])
        second = sorted(order[a: a + c + b])
        others = [_subset(draw, V, f"overlapping.other[{j}]") for j in range(m - 2)]
        sets = _permute_contexts(draw, [first, second, *others], "overlapping.context_order")
    elif kind == "shared":
        order = _token_order(draw, V, "shared.token_order")
        # class 0 = the twin tokens order[0], order[1]; class i >= 1 = {order[i + 1]}
        classes = [[order[0], order[1]]] + [[t] for t in order[2:]]
        n = len(classes)
        proper = not allow_all_full
        first = _subset(draw, n, "shared.first", proper=proper, anchor=0)
        others = [_subset(draw, n, f"shared.other[{j}]") for j in range(m - 1)]
        sets = [sorted(t for c in cs for t in classes[c]) for cs in [first, *others]]
        sets = _permute_contexts(draw, sets, "shared.context_order")
    elif kind == "mixed":
        first = _subset(draw, V, "mixed.first", proper=not allow_all_full)
        others = [_subset(draw, V, f"mixed.other[{j}]") for j in range(m - 1)]
        sets = _permute_contexts(draw, [first, *others], "mixed.context_order")
    else:  # pragma: no cover - guarded by the callers
        raise InvalidArgument(f"unknown support kind {kind!r}")
    return tuple(tuple(int(t) for t in s) for s in sets)


@st.composite
def _support_patterns(draw, m, V, kind, kinds, allow_all_full, full_context=False):
    k = kind if kind is not None else draw(st.sampled_from(kinds), label="support_kind")
    return _build_supports(draw, m, V, k, allow_all_full, full_context)


def support_patterns(m: int, V: int, kind: str | None = None, allow_all_full: bool = False,
                     full_support_context: bool = False):
    """Supports ``S_0, ..., S_{m-1}`` (a tuple of sorted token tuples) of one kind.

    ``kind`` is one of :data:`SUPPORT_KINDS` or ``None`` (a kind is drawn among
    :func:`feasible_support_kinds`, label ``"support_kind"``). Every support is
    nonempty; unless ``allow_all_full`` at least one has ``|S_j| < V``; with
    ``full_support_context`` at least one has ``S_j = [V]`` (module docs). A kind
    that cannot be built for ``(m, V)`` raises ``InvalidArgument`` (no filtering).
    """
    m = _check_int("m", m, 1)
    V = _check_int("V", V, 2)
    allow_all_full = bool(allow_all_full)
    full_context = bool(full_support_context)
    kinds = feasible_support_kinds(m, V, allow_all_full, full_context)
    if not kinds:
        raise InvalidArgument(f"no support kind can be built for m={m}, V={V}, allow_all_full={allow_all_full}, "
                              f"full_support_context={full_context}")
    if kind is not None:
        if kind not in SUPPORT_KINDS:
            raise InvalidArgument(f"unknown support kind {kind!r}; expected one of {SUPPORT_KINDS}")
        if kind not in kinds:
            raise InvalidArgument(
                f"support kind {kind!r} is impossible for m={m}, V={V}, "
                f"allow_all_full={allow_all_full}, full_support_context={full_context}"
            )

    return _support_patterns(m, V, kind, kinds, allow_all_full, full_context)


# --------------------------------------------------------------------------
# probabilities and weights


def _log_grid_vector(draw, n: int, max_ratio: float, steps: int, label: str) -> np.ndarray:
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


def _prob_rows(draw, sets, V: int, skew: float, label: str = "p") -> np.ndarray:
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
    for j, spread in zip(multi, spreads):
        s = list(sets[j])
        lv = np.asarray(levels[pos:pos + len(s)], dtype=float)
        pos += len(s)
        logits = -lv * (spread * math.log(skew) / steps**2)
        q = np.exp(logits - logits.max())
        P[j, s] = q / q.sum()
    return P


@st.composite
def _probability_vectors(draw, support, V, skew):
    return _prob_rows(draw, [support], V, skew)[0]


def probability_vectors(support, V: int, skew: float = MAX_PROB_RATIO):
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
    V = _check_int("V", V, 2)
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
    return _log_grid_vector(draw, m, MAX_WEIGHT_RATIO, WEIGHT_GRID_STEPS, "pi")


def context_weights(m: int):
    """Context weights ``pi`` (float64 array of length ``m``): positive, ``|sum - 1| <= 1e-12``.

    ``max/min <= MAX_WEIGHT_RATIO`` (log-grid of :data:`WEIGHT_GRID_STEPS`
    steps); shrinks to uniform weights.
    """
    m = _check_int("m", m, 1)

    return _context_weights(m)


# --------------------------------------------------------------------------
# embeddings


def _d_range(regime: str, m: int, min_d: int, max_d: int) -> tuple[int, int]:
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
    lo, hi = _d_range(regime, m, min_d, max_d)
    d = draw(st.integers(lo, hi), label="d")
    return m, d


def dimensions(regime: str, m: int | None = None, *, min_m: int = 1, max_m: int = 5,
               min_d: int = 1, max_d: int = 6):
    """Pairs ``(m, d)`` admissible for ``regime`` (labels ``"m"``, ``"d"``).

    ``m`` fixed if given, otherwise drawn in ``[min_m, max_m]`` among values
    for which some ``d`` in ``[min_d, max_d]`` fits the regime: ``d >= m``
    (``generic_wide``, ``orthogonal``), ``d < m`` (``generic_narrow``),
    ``min(m, d) >= 2`` (``rank_deficient``), ``m >= 2`` (``duplicated``,
    ``collinear``), anything (``integer_grid``). Shrinks toward small m, d.
    """
    regime = _check_regime(regime)
    min_d, max_d = _check_range("min_d", min_d, "max_d", max_d, 1)
    if m is not None:
        ms = [_check_int("m", m, 1)]
    else:
        min_m, max_m = _check_range("min_m", min_m, "max_m", max_m, 1)
        ms = list(range(min_m, max_m + 1))
    ms = [mm for mm in ms if _d_range(regime, mm, min_d, max_d)[0] <= _d_range(regime, mm, min_d, max_d)[1]]
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
    v = _grid(draw, n, label)
    return _reflect(A, v, side) if np.any(v) else A


def _signed_scales(draw, n: int, label: str) -> np.ndarray:
    """``n`` numbers of magnitude in ``[1/2, 2]`` (grid ``1/GRID``), signed; shrink to 1."""
    ks = draw(st.lists(_MAGNITUDE, min_size=n, max_size=n), label=f"{label}.magnitudes")
    neg = _bits(draw, n, f"{label}.negative")
    return (1.0 + np.asarray(ks, dtype=float) / GRID) * np.where(neg, -1.0, 1.0)


def _wide(draw, m: int, d: int, label: str) -> np.ndarray:
    """``m x d`` (``m <= d``), singular values in ``[1/4, 9/4]``, rank m, no zero row."""
    core = np.zeros((m, d))
    core[np.arange(m), np.arange(m)] = _signed_scales(draw, m, f"{label}.scales")
    core = _mix(draw, core, "left", f"{label}.left_reflection")
    core = _mix(draw, core, "right", f"{label}.right_reflection")
    # ||E||_F <= delta * sqrt(m d) <= 1/4 with a dyadic delta (exact scaling)
    delta = 2.0 ** -math.ceil(math.log2(4.0 * math.sqrt(m * d)))
    E = _grid(draw, m * d, f"{label}.perturbation").reshape(m, d)
    return core + delta * E


def _anchored_rows(draw, n: int, d: int, label: str) -> np.ndarray:
    """``n`` rows, each with an anchor entry of magnitude in [1/2, 2] and norm <= sqrt 5."""
    anchors = draw(st.lists(st.integers(0, d - 1), min_size=n, max_size=n), label=f"{label}.anchor_columns")
    values = _signed_scales(draw, n, f"{label}.anchor_values")
    X = np.zeros((n, d))
    if d > 1:
        scale = 2.0 ** -math.ceil(math.log2(math.sqrt(d - 1)))  # off-anchor norm <= 1
        X = scale * _grid(draw, n * d, f"{label}.entries").reshape(n, d)
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
        neg = _bits(draw, k, "orthogonal.reflection_signs")
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


def _build_embeddings(draw, m: int, d: int, regime: str) -> np.ndarray:
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
    return _build_embeddings(draw, m, d, regime)


def embeddings(m: int, d: int, regime: str):
    """An ``m x d`` float64 embedding matrix ``H`` in the named regime (see module docs).

    Raises ``InvalidArgument`` when ``(m, d)`` cannot satisfy the regime
    (use :func:`dimensions` to draw admissible pairs).
    """
    m = _check_int("m", m, 1)
    d = _check_int("d", d, 1)
    regime = _check_regime(regime)
    lo, hi = _d_range(regime, m, 1, d)
    if not lo <= d <= hi:
        raise InvalidArgument(f"(m, d) = ({m}, {d}) does not fit regime {regime!r}")

    return _embeddings(m, d, regime)


# --------------------------------------------------------------------------
# instances


@st.composite
def _instances(draw, regimes, kinds, table, v_bounds, d_bounds, allow_all_full, full_context=False):
    r = draw(st.sampled_from(regimes), label="regime")
    ok_kinds = tuple(k for k in kinds if k in table[r])
    k = draw(st.sampled_from(ok_kinds), label="support_kind")
    ms = table[r][k]
    m = draw(st.sampled_from(ms), label="m") if len(ms) > 1 else ms[0]
    v_lo, v_hi = v_bounds[k, m]
    V = draw(st.integers(v_lo, v_hi), label="V")
    d_lo, d_hi = _d_range(r, m, *d_bounds)
    d = draw(st.integers(d_lo, d_hi), label="d")
    sets = _build_supports(draw, m, V, k, allow_all_full, full_context)
    H = _build_embeddings(draw, m, d, r)
    P = _prob_rows(draw, sets, V, MAX_PROB_RATIO)
    pi = _log_grid_vector(draw, m, MAX_WEIGHT_RATIO, WEIGHT_GRID_STEPS, "pi")
    event(f"regime={r}")
    event(f"supports={k}")
    return Instance(H, pi, P, name=f"hyp-{r}", extras={"x-regime": r, "x-supports": k})


def instances(regime=None, min_V: int = 2, max_V: int = 6, min_m: int = 1, max_m: int = 5,
              max_d: int = 6, supports=None, allow_all_full: bool = False, *, min_d: int = 1,
              full_support_context: bool = False):
    """NTP instances (:class:`~ntpverify.core.instance.Instance`), valid by construction.

    ``regime``: a name in :data:`REGIMES`, a sequence of names, or ``None``
    (all). ``supports``: likewise for :data:`SUPPORT_KINDS`. Size bounds:
    ``V`` in ``[min_V, max_V]``, ``m`` in ``[min_m, max_m]``, ``d`` in
    ``[min_d, max_d]``. Only (regime, kind, m, V, d) combinations that can be
    built are drawn; if none can, ``InvalidArgument`` is raised at once.
    ``full_support_context=True``: every instance has a context with
    ``S_j = [V]``, by construction (module docs: the kinds ``one_hot`` and
    ``disjoint`` are then not drawn, the others need ``m >= 2``).

    Draw order (so shrinking goes there first): regime, support kind, m, V,
    d, supports, embeddings, probabilities, weights. Each instance has
    ``name=f"hyp-{regime}"``, ``extras={"x-regime": regime, "x-supports": kind}``
    and records ``event("regime=...")`` and ``event("supports=...")``.
    """
    regimes = _names(regime, REGIMES, "regime")
    kinds = _names(supports, SUPPORT_KINDS, "support kind")
    min_V, max_V = _check_range("min_V", min_V, "max_V", max_V, 2)
    min_m, max_m = _check_range("min_m", min_m, "max_m", max_m, 1)
    min_d, max_d = _check_range("min_d", min_d, "max_d", max_d, 1)
    allow_all_full = bool(allow_all_full)
    full_context = bool(full_support_context)

    def v_range(kind: str, m: int) -> tuple[int, int]:
        return max(min_V, _kind_min_V(kind, m, allow_all_full, full_context)), max_V

    # table[regime][kind] = admissible m values (nonempty lists only)
    table: dict[str, dict[str, list[int]]] = {}
    for r in regimes:
        for k in kinds:
            ms = [
                m for m in range(min_m, max_m + 1)
                if m >= _kind_min_m(k, allow_all_full, full_context)
                and _d_range(r, m, min_d, max_d)[0] <= _d_range(r, m, min_d, max_d)[1]
                and v_range(k, m)[0] <= v_range(k, m)[1]
            ]
            if ms:
                table.setdefault(r, {})[k] = ms
    if not table:
        raise InvalidArgument(
            f"no instance fits regime={regimes}, supports={kinds} with V in [{min_V}, {max_V}], "
            f"m in [{min_m}, {max_m}], d in [{min_d}, {max_d}], allow_all_full={allow_all_full}, "
            f"full_support_context={full_context}"
        )
    ok_regimes = tuple(r for r in regimes if r in table)
    v_bounds = {(k, m): v_range(k, m) for k in kinds for m in range(min_m, max_m + 1)}

    return _instances(ok_regimes, kinds, table, v_bounds, (min_d, max_d), allow_all_full, full_context)
