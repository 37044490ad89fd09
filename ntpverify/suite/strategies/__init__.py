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

from ntpverify.suite.strategies.degenerate import near_degenerate_instances
from ntpverify.suite.strategies.embeddings import COLLINEAR_FACTORS, REGIMES, dimensions, embeddings
from ntpverify.suite.strategies.grids import GRID, MAX_PROB_RATIO, MAX_WEIGHT_RATIO, PROB_GRID_STEPS, WEIGHT_GRID_STEPS
from ntpverify.suite.strategies.instances import LARGE_MAX_M, SEARCH_MAX_M, instances, large_instances, search_instances
from ntpverify.suite.strategies.probabilities import context_weights, probability_vectors
from ntpverify.suite.strategies.supports import SUPPORT_KINDS, feasible_support_kinds, support_patterns, vocab_sizes

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
    "large_instances",
    "search_instances",
    "LARGE_MAX_M",
    "SEARCH_MAX_M",
    "near_degenerate_instances",
]
