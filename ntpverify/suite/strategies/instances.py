"""The public entry point :func:`instances`: a whole validated :class:`~ntpverify.core.instance.Instance`."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ntpverify.core.instance import Instance
from ntpverify.suite.strategies.arguments import check_range, choice_names
from ntpverify.suite.strategies.described import described
from ntpverify.suite.strategies.embeddings import REGIMES, build_embeddings, d_range
from ntpverify.suite.strategies.grids import MAX_PROB_RATIO, MAX_WEIGHT_RATIO, WEIGHT_GRID_STEPS
from ntpverify.suite.strategies.probabilities import log_grid_vector, prob_rows
from ntpverify.suite.strategies.supports import SUPPORT_KINDS, build_supports, kind_min_m, kind_min_V


@st.composite
def _instances(draw, regimes, kinds, table, v_bounds, d_bounds, allow_all_full, full_context=False):
    r = draw(st.sampled_from(regimes), label="regime")
    ok_kinds = tuple(k for k in kinds if k in table[r])
    k = draw(st.sampled_from(ok_kinds), label="support_kind")
    ms = table[r][k]
    m = draw(st.sampled_from(ms), label="m") if len(ms) > 1 else ms[0]
    v_lo, v_hi = v_bounds[k, m]
    V = draw(st.integers(v_lo, v_hi), label="V")
    d_lo, d_hi = d_range(r, m, *d_bounds)
    d = draw(st.integers(d_lo, d_hi), label="d")
    sets = build_supports(draw, m, V, k, allow_all_full, full_context)
    H = build_embeddings(draw, m, d, r)
    P = prob_rows(draw, sets, V, MAX_PROB_RATIO)
    pi = log_grid_vector(draw, m, MAX_WEIGHT_RATIO, WEIGHT_GRID_STEPS, "pi")
    event(f"regime={r}")
    event(f"supports={k}")
    return Instance(H, pi, P, name=f"hyp-{r}", extras={"x-regime": r, "x-supports": k})


@described
def instances(regime: str | Sequence[str] | None = None, min_V: int = 2, max_V: int = 6, min_m: int = 1,
              max_m: int = 5, max_d: int = 6, supports: str | Sequence[str] | None = None,
              allow_all_full: bool = False, *, min_d: int = 1,
              full_support_context: bool = False) -> st.SearchStrategy[Instance]:
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
    regimes = choice_names(regime, REGIMES, "regime")
    kinds = choice_names(supports, SUPPORT_KINDS, "support kind")
    min_V, max_V = check_range("min_V", min_V, "max_V", max_V, 2)
    min_m, max_m = check_range("min_m", min_m, "max_m", max_m, 1)
    min_d, max_d = check_range("min_d", min_d, "max_d", max_d, 1)
    allow_all_full = bool(allow_all_full)
    full_context = bool(full_support_context)

    def v_range(kind: str, m: int) -> tuple[int, int]:
        return max(min_V, kind_min_V(kind, m, allow_all_full, full_context)), max_V

    # table[regime][kind] = admissible m values (nonempty lists only)
    table: dict[str, dict[str, list[int]]] = {}
    for r in regimes:
        for k in kinds:
            ms = [
                m for m in range(min_m, max_m + 1)
                if m >= kind_min_m(k, allow_all_full, full_context)
                and d_range(r, m, min_d, max_d)[0] <= d_range(r, m, min_d, max_d)[1]
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


#: The ``large`` size (issue 10, part 5): m up to LARGE_MAX_M contexts, with V and d bounded so a
#: draw stays well under a second of certified ``solve()`` (measured: m ≈ 456, V = 2: 0.1 s) and
#: m·d ≤ 4000 drawn entries (Hypothesis refuses lists beyond ~8k elements: m = 450, d = 19 failed).
LARGE_MAX_M = 500
LARGE_MAX_V = 8
LARGE_MAX_D = 8
#: The search's default strategy reaches this many contexts (with the default small shapes first).
SEARCH_MAX_M = 100


def large_instances(regime: str | Sequence[str] | None = None,
                    supports: str | Sequence[str] | None = None) -> st.SearchStrategy[Instance]:
    """:func:`instances` of the ``large`` size: m in ``[6, LARGE_MAX_M]``, V ≤ LARGE_MAX_V,
    d ≤ LARGE_MAX_D (draws shrink toward m = 6)."""
    return instances(regime, max_V=LARGE_MAX_V, min_m=6, max_m=LARGE_MAX_M, max_d=LARGE_MAX_D,
                     supports=supports)


def search_instances() -> st.SearchStrategy[Instance]:
    """The default strategy of ``ntpverify search``: :func:`instances` at its default sizes or, as the
    second branch (so shrinking prefers the small ones), up to SEARCH_MAX_M contexts."""
    return st.one_of(instances(), instances(max_V=LARGE_MAX_V, min_m=6, max_m=SEARCH_MAX_M, max_d=3 * LARGE_MAX_D))
