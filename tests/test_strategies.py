"""Meta-tests of ``ntpverify.suite.strategies``: each strategy yields what it declares.

Modelled on the strategy meta-tests of data-apis/array-api-tests: every
regime and support kind is drawn on its own and its declared property is
checked on every draw; a default run of :func:`instances` must hit every
regime and every support kind; nothing relies on filtering.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
import itertools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ntpverify.suite import strategies as ns
from ntpverify.core.instance import Instance

META = settings(max_examples=100, derandomize=True, deadline=None, database=None)
RANK_RTOL = 1e-9


# documented condition-number bounds (strategies module docstring)
WIDE_COND = 9.0  # singular values in [1/4, 9/4]


def narrow_cond(m: int, d: int) -> float:
    return 4.0 * np.sqrt((9 / 4) ** 2 + 5 * (m - d))


def numeric_rank(H: np.ndarray) -> int:
    s = np.linalg.svd(H, compute_uv=False)
    if s.size == 0 or s[0] == 0.0:
        return 0
    return int(np.sum(s > RANK_RTOL * s[0]))


def cond_on_range(H: np.ndarray) -> float:
    """Ratio of the largest to the smallest *nonzero* singular value."""
    s = np.linalg.svd(H, compute_uv=False)
    s = s[s > RANK_RTOL * s[0]]
    return float(s[0] / s[-1])


def parallel(a: np.ndarray, b: np.ndarray) -> bool:
    return numeric_rank(np.vstack([a, b])) == 1


def identical_pairs(H):
    return [(i, j) for i, j in itertools.combinations(range(H.shape[0]), 2) if np.array_equal(H[i], H[j])]


def check_common(inst: Instance, *, allow_all_full: bool = False) -> None:
    """Properties every drawn instance has, whatever the regime and kind."""
    assert isinstance(inst, Instance)
    H, pi, P = inst.embeddings, inst.weights, inst.next_token_probs
    assert H.dtype == np.float64 and np.all(np.isfinite(H))
    assert np.all(np.linalg.norm(H, axis=1) > 0), "no regime produces a zero embedding"
    # weights
    assert np.all(pi > 0)
    assert abs(pi.sum() - 1.0) <= 1e-12
    assert pi.max() / pi.min() <= ns.MAX_WEIGHT_RATIO * (1 + 1e-12)
    # probabilities
    check_probability_rows(P, inst.supports)
    if not allow_all_full:
        assert any(len(s) < inst.V for s in inst.supports)
    regime, kind = inst.extras["x-regime"], inst.extras["x-supports"]
    assert inst.name == f"hyp-{regime}"
    assert regime in ns.REGIMES and kind in ns.SUPPORT_KINDS


def check_probability_rows(P: np.ndarray, supports) -> None:
    for p, s in zip(P, supports):
        s = list(s)
        off = np.setdiff1d(np.arange(p.size), s)
        assert np.all(p[off] == 0.0), "exact zeros off the support"
        assert np.all(p[s] > 0.0), "positive on the support"
        assert abs(p.sum() - 1.0) <= 1e-12
        assert p[s].max() / p[s].min() <= ns.MAX_PROB_RATIO * (1 + 1e-12)


# --------------------------------------------------------------------------
# regimes


def check_regime(regime: str, H: np.ndarray) -> None:
    m, d = H.shape
    rank = numeric_rank(H)
    assert np.all(np.linalg.norm(H, axis=1) > 0)
    if regime == "generic_wide":
        assert d >= m and rank == m
        assert cond_on_range(H) <= WIDE_COND * (1 + 1e-9)
    elif regime == "generic_narrow":
        assert d < m and rank == d
        assert cond_on_range(H) <= narrow_cond(m, d) * (1 + 1e-9) <= 1e3
    elif regime == "orthogonal":
        assert d >= m and rank == m
        G = H @ H.T
        off = G - np.diag(np.diag(G))
        assert np.max(np.abs(off)) <= 1e-12 * np.max(np.diag(G))
        assert np.all(off == 0.0), "dyadic construction: H H^T is exactly diagonal"
    elif regime == "rank_deficient":
        assert 1 <= rank < min(m, d)
        # H = C B with C (m x r) generic_narrow and B (r x d) generic_wide
        assert cond_on_range(H) <= narrow_cond(m, rank) * WIDE_COND * (1 + 1e-9) <= 1e3
    elif regime == "duplicated":
        assert identical_pairs(H)
    elif regime == "collinear":
        assert any(
            parallel(H[i], H[j]) and not np.array_equal(H[i], H[j])
            for i, j in itertools.combinations(range(m), 2)
        )
    elif regime == "integer_grid":
        assert np.all(H == np.round(H)) and np.all(np.abs(H) <= 2)
    else:  # pragma: no cover
        raise AssertionError(regime)


@pytest.mark.parametrize("regime", ns.REGIMES)
@META
@given(data=st.data())
def test_regime_embeddings_yield_what_they_declare(regime, data):
    m, d = data.draw(ns.dimensions(regime), label="dims")
    H = data.draw(ns.embeddings(m, d, regime), label="H")
    assert H.shape == (m, d)
    check_regime(regime, H)


@pytest.mark.parametrize("regime", ns.REGIMES)
@META
@given(data=st.data())
def test_instances_in_each_regime(regime, data):
    inst = data.draw(ns.instances(regime=regime), label="instance")
    assert inst.extras["x-regime"] == regime
    check_regime(regime, inst.embeddings)
    check_common(inst)


# --------------------------------------------------------------------------
# support kinds


def is_chain(sets) -> bool:
    ordered = sorted(map(set, sets), key=len)
    return all(a <= b for a, b in zip(ordered, ordered[1:]))


def check_kind(kind: str, sets, V: int, allow_all_full: bool) -> None:
    m = len(sets)
    assert all(len(s) >= 1 and list(s) == sorted(set(s)) for s in sets)
    assert all(0 <= z < V for s in sets for z in s)
    if not allow_all_full:
        assert any(len(s) < V for s in sets)
    if kind == "one_hot":
        assert all(len(s) == 1 for s in sets)
    elif kind == "full":
        if allow_all_full:
            assert all(len(s) == V for s in sets)
        else:
            assert m >= 2 and sum(len(s) < V for s in sets) == 1
    elif kind == "nested":
        assert is_chain(sets)
    elif kind == "disjoint":
        assert all(not set(a) & set(b) for a, b in itertools.combinations(sets, 2))
    elif kind == "overlapping":
        assert any(
            set(a) & set(b) and not set(a) <= set(b) and not set(b) <= set(a)
            for a, b in itertools.combinations(sets, 2)
        )
    elif kind == "shared":
        assert any(
            all((z in s) == (w in s) for s in sets) and any(z in s for s in sets)
            for z, w in itertools.combinations(range(V), 2)
        )
    elif kind == "mixed":
        pass
    else:  # pragma: no cover
        raise AssertionError(kind)


def feasible_sizes(kind: str, allow_all_full: bool):
    """All (m, V) with m <= 5, V <= 6 for which ``kind`` can be built (smallest first)."""
    pairs = [
        (m, V) for m in range(1, 6) for V in range(2, 7)
        if kind in ns.feasible_support_kinds(m, V, allow_all_full)
    ]
    return sorted(pairs, key=lambda mv: (mv[0] + mv[1], mv))


def check_support_patterns(kind, allow_all_full, data):
    m, V = data.draw(st.sampled_from(feasible_sizes(kind, allow_all_full)), label="(m, V)")
    sets = data.draw(ns.support_patterns(m, V, kind=kind, allow_all_full=allow_all_full), label="S")
    assert len(sets) == m
    check_kind(kind, sets, V, allow_all_full)


@pytest.mark.parametrize("kind", ns.SUPPORT_KINDS)
@META
@given(data=st.data())
def test_support_patterns_yield_what_they_declare(kind, data):
    check_support_patterns(kind, False, data)


@pytest.mark.parametrize("kind", ns.SUPPORT_KINDS)
@settings(META, max_examples=30)
@given(data=st.data())
def test_support_patterns_with_all_full_allowed(kind, data):
    check_support_patterns(kind, True, data)


def test_infeasible_support_kinds_raise_instead_of_filtering():
    for m, V in itertools.product(range(1, 6), range(2, 7)):
        for allow in (False, True):
            ok = ns.feasible_support_kinds(m, V, allow)
            assert {"one_hot", "nested", "mixed"} <= set(ok)
            assert ("disjoint" in ok) == (V >= m)
            assert ("overlapping" in ok) == (m >= 2 and V >= 3)
            assert ("shared" in ok) == (V >= 3 or allow)
            assert ("full" in ok) == (m >= 2 or allow)
            for kind in set(ns.SUPPORT_KINDS) - set(ok):
                with pytest.raises(InvalidArgument):
                    ns.support_patterns(m, V, kind=kind, allow_all_full=allow)


@pytest.mark.parametrize("kind", ns.SUPPORT_KINDS)
@META
@given(data=st.data())
def test_instances_with_each_support_kind(kind, data):
    inst = data.draw(ns.instances(supports=kind), label="instance")
    assert inst.extras["x-supports"] == kind
    assert inst.supports == tuple(tuple(int(z) for z in np.flatnonzero(p > 0)) for p in inst.next_token_probs)
    check_kind(kind, inst.supports, inst.V, allow_all_full=False)
    check_common(inst)


@META
@given(data=st.data())
def test_all_full_instances_when_allowed(data):
    inst = data.draw(ns.instances(supports="full", allow_all_full=True), label="instance")
    assert all(len(s) == inst.V for s in inst.supports)
    check_common(inst, allow_all_full=True)


#: The kinds that can have a full-support context (a full support is neither one-hot nor disjoint
#: from another support).
FULL_CONTEXT_KINDS = tuple(k for k in ns.SUPPORT_KINDS if k not in ("one_hot", "disjoint"))


def has_full_support_context(supports, V: int) -> bool:
    return any(len(s) == V for s in supports)


@pytest.mark.parametrize("kind", FULL_CONTEXT_KINDS)
@META
@given(data=st.data())
def test_full_support_context_option_in_each_kind(kind, data):
    """With ``full_support_context=True`` every draw has a context with ``S_j = [V]`` and still has
    its kind's property (and, without ``allow_all_full``, a context with ``|S_j| < V``)."""
    inst = data.draw(ns.instances(supports=kind, full_support_context=True), label="instance")
    assert inst.extras["x-supports"] == kind
    assert has_full_support_context(inst.supports, inst.V)
    check_kind(kind, inst.supports, inst.V, allow_all_full=False)
    check_common(inst)


@META
@given(data=st.data())
def test_full_support_context_option_by_default_and_in_support_patterns(data):
    inst = data.draw(ns.instances(full_support_context=True), label="instance")
    assert inst.extras["x-supports"] in FULL_CONTEXT_KINDS and inst.m >= 2
    assert has_full_support_context(inst.supports, inst.V)
    check_common(inst)
    allow = data.draw(st.booleans(), label="allow_all_full")
    m, V = data.draw(st.sampled_from([(m, V) for m in range(2, 6) for V in range(2, 7)]), label="(m, V)")
    kind = data.draw(st.sampled_from(ns.feasible_support_kinds(m, V, allow, full_support_context=True)),
                     label="kind")
    sets = data.draw(ns.support_patterns(m, V, kind=kind, allow_all_full=allow, full_support_context=True),
                     label="S")
    assert len(sets) == m and has_full_support_context(sets, V)
    check_kind(kind, sets, V, allow)


def test_full_support_context_option_is_off_by_default():
    """The default (False) draws what it drew before the option: the same instances as an explicit
    False, seed for seed, with contexts lacking full support and the kinds one_hot and disjoint."""
    def draws(**option):
        found = []

        @settings(META, max_examples=60)
        @given(ns.instances(**option))
        def run(inst):
            found.append(inst)

        run()
        return found

    default = draws()
    assert default == draws(full_support_context=False)
    assert any(not has_full_support_context(i.supports, i.V) for i in default)
    assert {"one_hot", "disjoint"} <= {i.extras["x-supports"] for i in default}
    for m, V in itertools.product(range(1, 6), range(2, 7)):
        assert ns.feasible_support_kinds(m, V) == ns.feasible_support_kinds(m, V, full_support_context=False)
        assert set(ns.feasible_support_kinds(m, V, full_support_context=True)) <= set(ns.feasible_support_kinds(m, V))
    with pytest.raises(InvalidArgument):
        ns.instances(supports=("one_hot", "disjoint"), full_support_context=True)
    with pytest.raises(InvalidArgument):
        ns.instances(max_m=1, full_support_context=True)
    with pytest.raises(InvalidArgument):
        ns.support_patterns(3, 4, kind="one_hot", full_support_context=True)


@META
@given(data=st.data())
def test_undrawn_kind_is_still_valid(data):
    V = data.draw(ns.vocab_sizes(), label="V")
    m = data.draw(st.integers(1, 5), label="m")
    sets = data.draw(ns.support_patterns(m, V), label="S")
    check_kind("mixed", sets, V, allow_all_full=False)


# --------------------------------------------------------------------------
# probabilities and weights


@META
@given(data=st.data())
def test_probability_vectors(data):
    V = data.draw(ns.vocab_sizes(2, 8), label="V")
    support = data.draw(st.sets(st.integers(0, V - 1), min_size=1), label="support")
    skew = data.draw(st.sampled_from([1.0, 10.0, ns.MAX_PROB_RATIO]), label="skew")
    p = data.draw(ns.probability_vectors(support, V, skew=skew), label="p")
    assert p.shape == (V,)
    check_probability_rows(p[None, :], [sorted(support)])
    s = sorted(support)
    assert p[s].max() / p[s].min() <= skew * (1 + 1e-12)


def test_probability_vectors_reach_both_ends():
    """Near-uniform and strongly skewed (ratio >= 1e3) rows both occur."""
    ratios = []

    @META
    @given(ns.probability_vectors(range(4), 4))
    def run(p):
        ratios.append(p.max() / p.min())

    run()
    assert min(ratios) < 1.5 and max(ratios) >= 1e3


@META
@given(data=st.data())
def test_context_weights(data):
    m = data.draw(st.integers(1, 8), label="m")
    pi = data.draw(ns.context_weights(m), label="pi")
    assert pi.shape == (m,) and np.all(pi > 0)
    assert abs(pi.sum() - 1.0) <= 1e-12
    assert pi.max() / pi.min() <= ns.MAX_WEIGHT_RATIO * (1 + 1e-12)


# --------------------------------------------------------------------------
# options narrow the default


@META
@given(data=st.data())
def test_size_bounds_are_respected(data):
    lo_V = data.draw(st.integers(2, 4), label="lo_V")
    hi_V = data.draw(st.integers(lo_V, 5), label="hi_V")
    hi_m = data.draw(st.integers(1, 4), label="hi_m")
    hi_d = data.draw(st.integers(1, 4), label="hi_d")
    # integer_grid with one_hot supports fits any bounds, so this never raises
    inst = data.draw(ns.instances(min_V=lo_V, max_V=hi_V, max_m=hi_m, max_d=hi_d), label="instance")
    assert lo_V <= inst.V <= hi_V and inst.m <= hi_m and inst.d <= hi_d
    check_common(inst)


def test_regime_sequence_and_invalid_options():
    sub = ("orthogonal", "collinear")
    seen = set()

    @settings(META, max_examples=40)
    @given(ns.instances(regime=list(sub)))
    def run(inst):
        seen.add(inst.extras["x-regime"])

    run()
    assert seen == set(sub)
    with pytest.raises(InvalidArgument):
        ns.instances(regime="nope")
    with pytest.raises(InvalidArgument):
        ns.instances(supports="nope")
    with pytest.raises(InvalidArgument):
        ns.instances(regime="generic_narrow", max_m=1)
    with pytest.raises(InvalidArgument):
        ns.instances(supports="overlapping", max_V=2)
    with pytest.raises(InvalidArgument):
        ns.embeddings(3, 2, "generic_wide")
    with pytest.raises(InvalidArgument):
        ns.support_patterns(4, 3, kind="disjoint")
    with pytest.raises(InvalidArgument):
        ns.vocab_sizes(1, 3)


# --------------------------------------------------------------------------
# shrinking


SHRINK = settings(database=None, derandomize=True, max_examples=200, phases=[Phase.generate, Phase.shrink])


@pytest.mark.parametrize("regime", ns.REGIMES)
def test_each_regime_shrinks_to_the_smallest_simple_instance(regime):
    inst = find(ns.instances(regime=regime), lambda i: True, settings=SHRINK)
    min_m = {"generic_narrow": 2, "rank_deficient": 2, "duplicated": 2, "collinear": 2}.get(regime, 1)
    min_d = {"rank_deficient": 2}.get(regime, 1)
    assert (inst.V, inst.m, inst.d) == (2, min_m, min_d)
    assert np.all(inst.weights == 1.0 / inst.m)
    assert all(len(s) == 1 for s in inst.supports)  # one-hot (the first kind)
    assert set(np.unique(np.abs(inst.embeddings))) <= {0.0, 1.0, 2.0}  # unit scales (c = 2 if collinear)


def test_shrinking_reaches_the_size_boundary():
    """A condition on sizes shrinks to exactly the boundary, with uniform probabilities."""

    def big_enough(inst):
        return inst.m >= 3 and inst.V >= 4 and min(len(s) for s in inst.supports) >= 2

    inst = find(ns.instances(regime="integer_grid"), big_enough, settings=SHRINK)
    assert (inst.m, inst.V) == (3, 4)
    for p, s in zip(inst.next_token_probs, inst.supports):
        assert np.allclose(p[list(s)], 1.0 / len(s), rtol=0, atol=1e-15)


# --------------------------------------------------------------------------
# coverage, filtering and cost of the default strategy


def test_default_run_of_200_hits_every_regime_and_kind():
    """200 draws of the default ``instances()`` hit every regime and every support kind.

    Drawn as 20 examples x 10 draws through ``st.data()``: Hypothesis derives up
    to five mutated copies from each fresh example (same regime), so 10 draws per
    example make the coverage robust (checked over 60 seeds), not a lucky seed.
    """
    regimes, kinds, n_draws = set(), set(), [0]
    start = time.process_time()  # CPU time: robust to other jobs on the machine

    @settings(max_examples=20, derandomize=True, deadline=None, database=None)
    @given(st.data())
    def run(data):
        for i in range(10):
            inst = data.draw(ns.instances(), label=f"instance {i}")
            check_common(inst)
            regimes.add(inst.extras["x-regime"])
            kinds.add(inst.extras["x-supports"])
            n_draws[0] += 1

    run()
    elapsed = time.process_time() - start
    assert n_draws[0] >= 200
    assert regimes == set(ns.REGIMES), set(ns.REGIMES) - regimes
    assert kinds == set(ns.SUPPORT_KINDS), set(ns.SUPPORT_KINDS) - kinds
    assert elapsed < 10.0, f"200 default draws took {elapsed:.2f}s of CPU"


def test_no_filtering_health_check_on():
    """Default health checks on (filter_too_much included), randomized run."""
    assert HealthCheck.filter_too_much not in settings().suppress_health_check

    @settings(max_examples=50, deadline=None, database=None)
    @given(ns.instances())
    def run(inst):
        check_common(inst)

    run()  # raises FailedHealthCheck if the strategies filtered too much


def test_strategies_source_does_not_filter():
    src = inspect.getsource(ns)
    assert "assume(" not in src
    assert ".filter(" not in src


def test_every_draw_is_labelled():
    """Every ``draw(...)`` call in the strategies package passes ``label=``."""
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in sorted(Path(ns.__file__).parent.glob("*.py"))]
    calls = [
        node for tree in trees for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "draw"
    ]
    unlabelled = [node.lineno for node in calls if not any(k.arg == "label" for k in node.keywords)]
    assert len(calls) > 20
    assert unlabelled == [], f"unlabelled draws at lines {unlabelled}"


def test_public_strategies_repr_as_their_call():
    """Readable reprs (strategies/described.py), as Hypothesis's own strategies have."""
    assert repr(ns.instances(regime="orthogonal", max_m=3)) == "instances(regime='orthogonal', max_m=3)"
    assert repr(ns.support_patterns(3, 4, kind="nested")) == "support_patterns(3, 4, kind='nested')"
    assert repr(ns.embeddings(2, 3, "generic_wide")) == "embeddings(2, 3, 'generic_wide')"


def _drawn_m(strategy, top: int) -> list[int]:
    """The m of 40 derandomized draws of ``strategy``, each checked valid and within ``top``."""
    from hypothesis import HealthCheck, given, settings

    seen: list[int] = []

    @settings(max_examples=40, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(inst):
        assert 1 <= inst.m <= top and inst.support_mask.any(axis=1).all()
        seen.append(inst.m)

    draw()
    return seen


def test_large_and_search_sizes_reach_their_m():
    """The ``large`` size reaches m > LARGE_MAX_M/2 and the search's default strategy
    m > SEARCH_MAX_M/2 (issue 10, part 5); every draw is a valid instance within the bounds."""
    from ntpverify.suite import strategies as nst

    assert max(_drawn_m(nst.large_instances(), nst.LARGE_MAX_M)) > nst.LARGE_MAX_M // 2
    assert max(_drawn_m(nst.search_instances(), nst.SEARCH_MAX_M)) > nst.SEARCH_MAX_M // 2
