"""dim F token by token (StructuredGeometry.token_rank_F) against the dense SVD of the equality
rows (geometry.Geometry), with negative controls (wrong variants of the count disagree), the
route rank_F takes beyond the block cap, and a near-ambiguous construction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

import ntpverify as nv
from ntpverify.core import structured
from ntpverify.core.geometry import RANK_MARGIN_DECADES, Geometry
from ntpverify.core.sampling import KINDS, random_instance
from ntpverify.core.structured import StructuredGeometry
from ntpverify.suite import strategies as nst


def with_supports(rng: np.random.Generator, H: np.ndarray, supports: list[list[int]], V: int,
                  name: str) -> nv.Instance:
    """The instance with embeddings H and the given supports (random in-support probabilities)."""
    P = np.zeros((H.shape[0], V))
    for j, S in enumerate(supports):
        P[j, S] = rng.dirichlet(np.ones(len(S)))
    return nv.Instance(H, np.full(H.shape[0], 1 / H.shape[0]), P, name=name)


def random_supports(rng: np.random.Generator, m: int, V: int, shared: int | None = None) -> list[list[int]]:
    out = []
    for _ in range(m):
        S = set(rng.choice(V, size=int(rng.integers(1, V + 1)), replace=False).tolist())
        if shared is not None:
            S.add(shared)
        out.append(sorted(S))
    return out


def _cases() -> list[nv.Instance]:
    """Seeded small instances: every sampling kind, m > d and m ≤ d, duplicated contexts (rank
    deficient H_{T_u} with |T_u| ≤ d), one-hot and full supports, a token in every support,
    disconnected components, and tokens no context uses."""
    rng = np.random.default_rng(20261207)
    cases = [random_instance(rng, V, m, d, kind) for kind in KINDS
             for V, m, d in [(4, 7, 2), (5, 9, 3), (3, 6, 5), (6, 5, 3), (4, 3, 6), (7, 12, 4)]]
    for m, d, V in [(6, 4, 4), (8, 6, 5), (9, 3, 3)]:  # each context twice: |T_u| ≤ d, rank < |T_u|
        H = np.repeat(rng.standard_normal((m // 2 + m % 2, d)), 2, axis=0)[:m]
        cases.append(with_supports(rng, H, random_supports(rng, m, V), V, f"dup-{V}x{m}x{d}"))
    for m, d, V in [(7, 3, 4), (5, 5, 3)]:
        H = rng.standard_normal((m, d))
        cases.append(with_supports(rng, H, [[int(rng.integers(V))] for _ in range(m)], V, "one-hot"))
        cases.append(with_supports(rng, H, [list(range(V))] * m, V, "full"))
        cases.append(with_supports(rng, H, random_supports(rng, m, V, shared=0), V, "shared"))
    # two components on disjoint tokens {0..3} and {4..7}, token 8 never used, a one-hot context
    H = rng.standard_normal((11, 3))
    supports = [sorted(rng.choice(4, 3, replace=False).tolist()) for _ in range(5)]
    supports += [sorted((4 + rng.choice(4, 2, replace=False)).tolist()) for _ in range(5)] + [[2]]
    cases.append(with_supports(rng, H, supports, 9, "components"))
    # a duplicated context row inside each component: rank H_{T_u} < |T_u| on both sides
    H = H.copy()
    H[1], H[6] = H[0], H[5]
    cases.append(with_supports(rng, H, supports, 9, "components-dup"))
    # zero embeddings: H_{T_u} = 0 gives N_u = R^{T_u}, and G has no zero eigenvalue on J*
    for H in (np.zeros((4, 2)), np.vstack([np.zeros((2, 3)), rng.standard_normal((4, 3))])):
        cases.append(with_supports(rng, H, random_supports(rng, H.shape[0], 3), 3, "zero-rows"))
    return cases


CASES = _cases()


@pytest.mark.parametrize("inst", CASES, ids=lambda i: i.name)
def test_token_route_equals_dense(inst):
    dense = Geometry(inst).rank_F
    ours = StructuredGeometry(inst).token_rank_F.decision
    assert dense.clear and ours is not None and ours.clear
    assert ours.rank == dense.rank


@given(nst.instances(max_m=8, max_V=5, max_d=4))
def test_token_route_equals_dense_drawn(inst):
    dense = Geometry(inst).rank_F
    ours = StructuredGeometry(inst).token_rank_F.decision
    assert ours is not None
    if dense.clear and ours.clear:
        assert ours.rank == dense.rank


def test_cases_cover_the_regimes():
    """The cases include m > d, N_u ≠ 0 on more than one component, and |T_u| ≤ d rank-deficient
    tokens (else the comparison above would be weak)."""
    routes = [StructuredGeometry(i) for i in CASES]
    assert sum(i.m > i.d for i in CASES) >= 10
    assert any(sg.token_rank_F.null_sum.rank > 0 for sg in routes)
    comps = StructuredGeometry(next(i for i in CASES if i.name == "components"))
    assert comps.token_rank_F.largest_component < comps.token_rank_F.contexts
    ptr, _ = comps.token_contexts
    assert np.diff(ptr).min() == 0  # a token no context uses

    def small_deficient(sg: StructuredGeometry) -> bool:
        ptr, ctx = sg.token_contexts
        blocks = (sg.H[ctx[ptr[u]:ptr[u + 1]]] for u in range(sg.V))
        return any(0 < B.shape[0] <= sg.d and np.linalg.matrix_rank(B) < B.shape[0] for B in blocks)

    assert sum(map(small_deficient, routes)) >= 5


def test_wrong_counts_disagree():
    """Negative controls: without the dim Σ N_u term, or with |T_u| for rank H_{T_u}, the count
    disagrees with the dense route on some case, so the comparison above can fail."""
    no_null, counts = [], []
    for inst in CASES:
        tr = StructuredGeometry(inst).token_rank_F
        dense = Geometry(inst).F_dim
        no_null.append(tr.token_ranks - inst.m == dense)
        counts.append(inst.nnz - inst.m + tr.null_sum.rank == dense)
    assert not all(no_null) and not all(counts)


def test_rank_F_takes_the_token_route(monkeypatch):
    """Beyond LOCAL_RANK_CAP with m > d (H not of full row rank), rank_F is the token count and
    F_status is ok; beyond TOKEN_GRAM_ENTRIES too it is None and says why."""
    monkeypatch.setattr(structured, "LOCAL_RANK_CAP", 50)
    inst = random_instance(np.random.default_rng(11), 8, 30, 5)
    sg = StructuredGeometry(inst)
    assert sg._block_singular_values() is None and sg.rank_H.rank < inst.m
    assert sg.rank_F == sg.token_rank_F.decision and sg.F_status.ok
    assert sg.F_dim == Geometry(inst).F_dim
    monkeypatch.setattr(structured, "TOKEN_GRAM_ENTRIES", 1)
    sg = StructuredGeometry(inst)
    assert sg.F_dim is None and sg.F_status.state == "inconclusive"
    assert "token route" in sg.F_status.reason


def _near_ambiguous(delta: float) -> nv.Instance:
    """V = 2, d = 2, S = {0}, {0,1}, {0,1}, {1}: T_0 = {0,1,2}, T_1 = {1,2,3}, each H_{T_u} of rank 2,
    so N_0, N_1 are lines. With ``h_2 = 2 h_1 + δ e_2`` both are within O(δ) of the null vector of
    H on contexts {1, 2}: dim(N_0 + N_1) = 2, but its smaller singular value is O(δ)."""
    h1 = np.array([1.0, 0.3])
    H = np.array([[0.2, 1.0], h1, 2 * h1 + delta * np.array([0.0, 1.0]), [-0.7, 1.1]])
    P = np.array([[1.0, 0.0], [0.4, 0.6], [0.7, 0.3], [0.0, 1.0]])
    return nv.Instance(H, np.full(4, 0.25), P, name=f"near-ambiguous-{delta:g}")


def test_near_ambiguous_is_inconclusive(monkeypatch):
    """The final decision (dim Σ N_u) placed near the cutoff is reported unclear, and F_status is
    inconclusive, instead of guessed; away from it both sides are decided clearly, as dense."""
    monkeypatch.setattr(structured, "LOCAL_RANK_CAP", 0)
    near = StructuredGeometry(_near_ambiguous(3e-9))
    tr = near.token_rank_F
    assert tr.token_margin >= RANK_MARGIN_DECADES  # the per-token decisions are clear
    assert tr.decision is not None and not tr.decision.clear
    assert near.rank_F == tr.decision and near.F_status.state == "inconclusive"
    for delta, rank in ((0.0, 1), (1e-3, 2)):
        inst = _near_ambiguous(delta)
        dec = StructuredGeometry(inst).token_rank_F.decision
        assert dec is not None and dec.clear and dec.rank == rank == Geometry(inst).F_dim


def test_refinement_is_squaring_free(monkeypatch):
    """The exact zeros of G = Σ P_u come out of eigh at ~eps·λ_max, so √λ would sit about a decade
    from the 1e-9 cutoff; the refined singular values put them ≥ 4 decades below it."""
    seen: list[np.ndarray] = []
    eigh = structured.eigh

    def recording(G, **kw):
        lam, vec = eigh(G, **kw)
        seen.append(lam)
        return lam, vec

    monkeypatch.setattr(structured, "eigh", recording)
    inst = random_instance(np.random.default_rng(5), 20, 120, 8)
    tr = StructuredGeometry(inst).token_rank_F
    assert tr.null_sum is not None and tr.null_sum.margin >= 4
    lam = np.sort(seen[0])
    zeros = lam[: lam.size - tr.null_sum.rank]
    squared = np.log10(tr.null_sum.cutoff / np.sqrt(np.abs(zeros).max()))
    assert squared < tr.null_sum.margin - 2
