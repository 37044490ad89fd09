"""The structured route (structured.py, structured_svm.py) against the dense one, the closed forms
of theory.md §2, and a negative control with one cone constraint dropped."""

from __future__ import annotations

import numpy as np
import pytest

import ntpverify as nv
from ntpverify import data
from ntpverify.core.sampling import KINDS, random_instance
from ntpverify.core.solution import AUTO_DENSE_MAX_CONSTRAINTS
from ntpverify.core.structured import StructuredGeometry, Triples
from ntpverify.core import structured_svm
from ntpverify.core.structured_kernels import all_active, block_epoch, mask_rows
from ntpverify.core.structured_svm import dual_ascent, kkt_residuals

CASE_FILES = sorted(data.DIR.glob("*.json"))
#: Agreement bound between the routes (issue 10: objects to 1e-9 relative).
AGREE_RTOL = 1e-9


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def recheck_farkas(inst: nv.Instance, rows: np.ndarray, y: np.ndarray) -> float:
    """Independent term-by-term check of a separability Farkas certificate (as test_solve.py):
    margin multipliers ≥ 0 summing to 1; returns max |Σ y_t (e_plus − e_minus) h_jᵀ|."""
    total = np.zeros((inst.V, inst.d))
    margin = np.array([not inst.support_mask[j, minus] for j, _, minus in rows])
    for (j, plus, minus), coeff in zip(rows, y):
        total[plus] += coeff * inst.embeddings[j]
        total[minus] -= coeff * inst.embeddings[j]
    assert np.all(y[margin] >= 0) and abs(y[margin].sum() - 1) < 1e-12
    return float(np.abs(total).max())


def assert_agree(inst: nv.Instance) -> None:
    """Flags exactly equal, dim F equal, W^mm and W⋆ to AGREE_RTOL, P_F equal, certificates valid."""
    dense = nv.solve(inst, method="nnls")
    ours = nv.solve(inst, method="structured")
    assert ours.structure is not None and ours.mm.method == "structured"
    assert ours.compatible is dense.compatible
    assert ours.separable is dense.separable
    assert ours.F_dim == dense.F_dim
    for a, b in ((ours.W_star, dense.W_star), (ours.W_mm, dense.W_mm)):
        assert (a is None) == (b is None)
        if b is not None:
            assert rel(a, b) <= AGREE_RTOL
    if ours.mm.status.ok:
        assert max(ours.mm.kkt.values()) <= 1e-9
    if ours.separable is False:
        assert recheck_farkas(inst, ours.sep.farkas_rows, ours.sep.farkas_y) <= 1e-12
    W = np.random.default_rng(0).standard_normal((inst.V, inst.d))
    assert np.abs(ours.project_F(W) - dense.project_F(W)).max() <= AGREE_RTOL * np.linalg.norm(W)


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_example_cases_agree_with_dense(path):
    assert_agree(nv.Instance.load(path))


def _twin_contexts(rng: np.random.Generator, V: int, pairs: int, d: int) -> nv.Instance:
    """Separable but not compatible: pairs of contexts with one embedding and one support (``|S| < V``)
    but different in-support probabilities (the regime sampling.py's kinds rarely draw)."""
    H = np.repeat(rng.standard_normal((pairs, d)), 2, axis=0)
    P = np.zeros((2 * pairs, V))
    for i in range(pairs):
        S = rng.choice(V, size=int(rng.integers(2, V)), replace=False)
        P[2 * i: 2 * i + 2, S] = rng.dirichlet(np.ones(S.size), size=2)
    return nv.Instance(H, np.full(2 * pairs, 1 / (2 * pairs)), P, name=f"twins-{V}x{2 * pairs}x{d}")


def _regime_instances() -> list[nv.Instance]:
    """Seeded small instances of every sampling kind, in shapes that cover separable (d ≥ m),
    non-separable (d < m) and incompatible (duplicated, collinear, twin) regimes."""
    rng = np.random.default_rng(20261204)
    shapes = [(3, 2, 2), (5, 4, 6), (6, 6, 3), (8, 5, 8), (3, 4, 8)]
    return ([random_instance(rng, V, m, d, kind) for kind in KINDS for V, m, d in shapes]
            + [_twin_contexts(rng, V, pairs, d) for V, pairs, d in [(3, 1, 2), (5, 2, 3), (6, 3, 4)]])


REGIMES = _regime_instances()


@pytest.mark.parametrize("inst", REGIMES, ids=lambda i: i.name)
def test_random_instances_agree_with_dense(inst):
    dense = nv.solve(inst, method="nnls")
    if not dense.conclusive:
        pytest.skip("the dense reference is inconclusive on this draw")
    assert_agree(inst)


def test_regimes_cover_every_outcome():
    """The draws above include every combination of the two conditions (else the test is weak)."""
    seen = {(s.compatible, s.separable) for s in map(nv.solve, REGIMES)}
    assert seen >= {(True, True), (True, False), (False, True), (False, False)}


def test_orthogonal_embeddings_match_closed_forms():
    """theory.md §2: ``W^mm = Σ u_j h_jᵀ/‖h_j‖²``, ``u_j = 𝟙_{S_j} − (|S_j|/V)𝟙``, and
    ``W⋆ = Σ u⋆_j h_jᵀ/‖h_j‖²`` with centered in-support log-probabilities, on a size the structured
    route handles alone (m(V−1) = 540 · auto → dense below AUTO_DENSE_MAX_CONSTRAINTS)."""
    rng = np.random.default_rng(7)
    V, m, d = 10, 60, 64
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    H = rng.uniform(0.5, 2.0, (m, 1)) * Q[:m]
    inst = random_instance(rng, V, m, d)
    inst = nv.Instance(H, inst.weights, inst.next_token_probs)
    sol = nv.solve(inst, method="structured")
    hsq = np.sum(H * H, axis=1)[:, None]
    mask = inst.support_mask
    U = mask - mask.sum(axis=1, keepdims=True) / V
    logp = np.where(mask, np.log(np.where(mask, inst.next_token_probs, 1.0)), 0.0)
    U_star = np.where(mask, logp - logp.sum(axis=1, keepdims=True) / mask.sum(axis=1, keepdims=True), 0.0)
    assert rel(sol.W_mm, (U / hsq).T @ H) <= AGREE_RTOL
    assert rel(sol.W_star, (U_star / hsq).T @ H) <= AGREE_RTOL
    assert sol.F_dim == int((mask.sum(axis=1) - 1).sum())


def test_one_hot_matches_closed_form():
    """One-hot supports and orthogonal embeddings: ``u_j = e_{y_j} − 𝟙/V`` (theory.md §2, P3)."""
    V, m = 7, 40
    H = np.diag(np.linspace(1.0, 3.0, m))
    labels = np.arange(m) % V
    P = np.zeros((m, V))
    P[np.arange(m), labels] = 1.0
    sol = nv.solve(nv.Instance(H, np.full(m, 1 / m), P), method="structured")
    expected = ((P - 1.0 / V) / np.diag(H)[:, None] ** 2).T @ H
    assert rel(sol.W_mm, expected) <= AGREE_RTOL
    assert sol.F_dim == 0 and not np.any(sol.W_star)


def test_negative_control_dropped_cone_constraint_is_rejected():
    """Dropping ``g_{j,v} ≤ 0`` for one inactive margin constraint makes the ascent solve another cone
    program (that margin is forced to 1). Its converged answer must fail KKT certification
    (negative multiplier) and disagree with the dense W^mm; the full structured route run on the
    broken cones must never return a *different* certified W^mm (the polish re-derives the active
    set and checks KKT against the true cones)."""
    inst = random_instance(np.random.default_rng(3), 6, 4, 6)
    dense = nv.solve(inst, method="nnls")
    assert dense.mm.status.ok
    sg = StructuredGeometry(inst)
    Z = dense.W_mm @ inst.embeddings.T
    margins = np.where(inst.support_mask, -np.inf, Z[sg.anchors, np.arange(inst.m)][:, None] - Z.T)
    j, v = np.unravel_index(np.argmax(margins), margins.shape)
    assert margins[j, v] > 1.1  # clearly inactive at the true optimum
    sign_free = inst.support_mask.copy()
    sign_free[j, v] = True
    G, W = np.zeros((inst.m, inst.V)), np.zeros((inst.V, inst.d))
    free_ptr, free_tok = mask_rows(sign_free)
    active, n_active = all_active(inst.m, inst.V)  # no shrinking: every token stays active
    for _ in range(20000):
        if block_epoch(sg.H, sg.hsq, sg.sup_ptr, sg.sup_tok, free_ptr, free_tok, G, W, np.arange(inst.m),
                       active, n_active, False) < 1e-14:
            break
    jj, vv = np.nonzero(~inst.support_mask)
    rows = Triples(jj, sg.anchors[jj], vv).concat(sg.eq)
    lam = np.concatenate([-G[jj, vv], G[sg.eq.ctx, sg.eq.plus]])
    kkt = kkt_residuals(sg, W, rows, jj.size, lam)
    assert kkt["dual_sign"] > 1e-9 and kkt["stationarity"] <= 1e-9
    assert rel(W, dense.W_mm) > 1e-3
    broken = dual_ascent(sg, sign_free)
    assert not broken.mm.status.ok or rel(broken.mm.W_mm, dense.W_mm) <= AGREE_RTOL
    assert dual_ascent(sg).mm.status.ok


def test_zero_embedding_is_a_certificate():
    H = np.array([[1.0, 0.0], [0.0, 0.0]])
    P = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    inst = nv.Instance(H, [0.5, 0.5], P)
    sol = nv.solve(inst, method="structured")
    assert sol.separable is False and sol.sep.farkas_defect == 0.0
    assert recheck_farkas(inst, sol.sep.farkas_rows, sol.sep.farkas_y) == 0.0
    assert nv.solve(inst, method="nnls").separable is False


def test_farkas_verdict_states_the_norm_bound():
    sol = nv.solve(nv.Instance.load(data.DIR / "example-E-compatible-not-separable.json"),
                   method="structured")
    assert sol.separable is False and "‖W‖·max‖h_j‖ <" in sol.sep.status.reason
    assert sol.sep.separator_bound is not None and sol.sep.separator_bound > 1e12


def test_auto_is_dense_when_small_and_structured_when_large():
    rng = np.random.default_rng(11)
    small = random_instance(rng, 8, 4, 8)
    assert nv.solve(small).structure is None
    assert nv.solve(small).to_dict() == nv.solve(small, method="nnls").to_dict()
    V = 40
    m = AUTO_DENSE_MAX_CONSTRAINTS // (V - 1) + 1
    large = random_instance(rng, V, m, m + 4)
    sol = nv.solve(large)
    assert sol.structure is not None and sol.conclusive
    assert sol.to_dict()["F_dim"] == sol.F_dim and "rank H" not in sol.summary()


def test_structured_is_deterministic():
    inst = random_instance(np.random.default_rng(5), 12, 10, 6)
    a, b = (nv.solve(inst, method="structured") for _ in range(2))
    assert a.to_dict() == b.to_dict()


def test_unknown_method_is_refused():
    with pytest.raises(ValueError):
        nv.solve(random_instance(np.random.default_rng(0), 3, 2, 2), method="dense")


def test_dim_F_without_block_svds(monkeypatch):
    """When every block is over the cap, dim F = Σ(|S_j| − 1) needs H of full row rank (theory.md
    §2); otherwise the token route decides it, and beyond that route's cap it is reported
    inconclusive, never guessed."""
    from ntpverify.core import structured

    monkeypatch.setattr(structured, "LOCAL_RANK_CAP", 0)
    rng = np.random.default_rng(2)
    wide = random_instance(rng, 6, 4, 7)
    sg = StructuredGeometry(wide)
    assert sg.F_dim == nv.solve(wide, method="nnls").F_dim and sg.F_status.ok
    narrow = random_instance(rng, 6, 5, 3)
    assert int((narrow.support_mask.sum(axis=1) > 1).sum()) > 0
    sg = StructuredGeometry(narrow)
    assert sg.F_dim == nv.solve(narrow, method="nnls").F_dim and sg.F_status.ok  # token route
    monkeypatch.setattr(structured, "TOKEN_GRAM_ENTRIES", 0)
    sg = StructuredGeometry(narrow)
    assert sg.F_dim is None and sg.F_status.state == "inconclusive"


def _supported(seed: int, V: int, m: int, d: int, max_support: int) -> nv.Instance:
    """Gaussian H and random supports of size 1..max_support (benchmarks/scale.py's generator)."""
    rng = np.random.default_rng(seed)
    H = rng.standard_normal((m, d))
    P = np.zeros((m, V))
    for j in range(m):
        S = rng.choice(V, size=int(rng.integers(1, max_support + 1)), replace=False)
        P[j, S] = rng.dirichlet(np.ones(S.size))
    return nv.Instance(H, np.full(m, 1 / m), P)


def test_warm_started_farkas_rounds_certify_and_agree_with_dense():
    """A non-separable draw whose certificate needs several "drop negative multipliers" rounds: the
    warm-started rounds end on a certificate that the independent term-by-term check accepts, and
    the dense route agrees that the instance is not separable."""
    inst = _supported(1, 10, 64, 4, 3)
    sol = nv.solve(inst, method="structured")
    assert sol.separable is False and sol.sep.separator_bound > 1e12
    assert recheck_farkas(inst, sol.sep.farkas_rows, sol.sep.farkas_y) <= 1e-12
    assert nv.solve(inst, method="nnls").separable is False


def test_per_row_rounding_allowance_certifies_where_the_total_term_one_could_not():
    """~1.2e4 terms: the former allowance ∝ total terms capped the bound below SCALE_CAP; the
    per-row one (geometry.norm_bound) leaves a verified certificate beyond it."""
    sg = StructuredGeometry(_supported(1, 64, 256, 8, 8))
    res = dual_ascent(sg)
    assert res.sep.separable is False and res.sep.separator_bound > 1e12
    assert res.epochs < 1000


def test_structured_route_never_allocates_a_dense_constraint_matrix():
    """9.9k constraints × V·d = 12.8k unknowns would be 1 GB dense; the route's traced numpy
    allocations stay far below (memory O(nnz + V·d + m·d))."""
    import tracemalloc

    inst = _supported(2, 100, 100, 128, 4)
    nv.solve(inst, method="structured")  # compile first: numba's own allocations are not ours
    tracemalloc.start()
    sol = nv.solve(inst, method="structured")
    _ = sol.F_dim, sol.status
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sol.mm.status.ok
    assert peak < 40e6


def test_a_certificate_found_on_a_subset_of_contexts_certifies_the_instance():
    """m = 200 ≫ d = 4: the certificate comes from the SUBSET_FACTOR·d contexts carrying most of the
    recession direction; mapped back to the instance's contexts it passes the independent
    term-by-term check on the instance's H, and the dense route agrees."""
    inst = _supported(3, 8, 200, 4, 3)
    sol = nv.solve(inst, method="structured")
    assert sol.separable is False and "contexts that carry most" in sol.sep.status.reason
    rows = sol.sep.farkas_rows
    assert np.unique(rows[:, 0]).size <= 4 * structured_svm.SUBSET_FACTOR * inst.d
    assert recheck_farkas(inst, rows, sol.sep.farkas_y) <= 1e-12
    assert nv.solve(inst, method="nnls").separable is False


def test_a_subset_certificate_mapped_to_the_wrong_contexts_is_not_accepted(monkeypatch):
    """The negative control: a sub-instance whose contexts are not the ones it claims (its H rows
    reversed) yields a combination that is no certificate on the instance; the verification on the
    instance's H rejects it and the whole-instance route decides instead."""
    real = structured_svm.drop_contexts

    def shuffled(inst, drop, name=None):
        sub = real(inst, drop, name)
        return nv.Instance(sub.embeddings[::-1].copy(), sub.weights, sub.next_token_probs)

    monkeypatch.setattr(structured_svm, "drop_contexts", shuffled)
    inst = _supported(3, 8, 200, 4, 3)
    sol = nv.solve(inst, method="structured")
    assert "contexts that carry most" not in sol.sep.status.reason
    assert sol.separable is False
    assert recheck_farkas(inst, sol.sep.farkas_rows, sol.sep.farkas_y) <= 1e-12


def _dense_operator(H: np.ndarray, rows: Triples, V: int) -> np.ndarray:
    """A as a dense n × V·d matrix, row t = vec((e_plus − e_minus) h_ctxᵀ), built term by term."""
    d = H.shape[1]
    A = np.zeros((rows.n, V * d))
    for t, (j, p, q) in enumerate(rows.array()):
        A[t, p * d:(p + 1) * d] += H[j]
        A[t, q * d:(q + 1) * d] -= H[j]
    return A


def test_token_blocks_invert_the_diagonal_blocks_of_the_gram_operator():
    """token_block_inverse against the d×d diagonal blocks of the dense AᵀA: their Moore–Penrose
    inverses (a full-rank block's inverse; a token on no row gets 0), followed by the centring
    over tokens that removes null(A)'s ``𝟙 xᵀ`` directions, and nothing else."""
    from ntpverify.core.structured import token_block_inverse

    sg = StructuredGeometry(_supported(4, 7, 30, 3, 3))
    j = np.random.default_rng(0).integers(0, sg.m, 90)
    v = np.array([sg.first_off_support(int(c)) for c in j])
    rows = Triples(j.astype(np.intp), sg.anchors[j].astype(np.intp), v.astype(np.intp)).concat(sg.eq)
    V, d = sg.V, sg.d
    A = _dense_operator(sg.H, rows, V)
    K = A.T @ A
    blocks = np.zeros_like(K)
    full_rank = 0
    for u in range(V):
        at = slice(u * d, (u + 1) * d)
        full_rank += np.linalg.matrix_rank(K[at, at]) == d
        blocks[at, at] = np.linalg.pinv(K[at, at], hermitian=True)
    centre = np.kron(np.eye(V) - np.full((V, V), 1.0 / V), np.eye(d))
    M = token_block_inverse(sg.H, rows, V)
    applied = np.column_stack([M.matvec(e) for e in np.eye(V * d)])
    assert rel(applied, centre @ blocks) < 1e-9
    assert full_rank >= V - 2  # the draw exercises real inverses, not only pseudo-inverses


def _two_margin_rows_per_context() -> tuple[StructuredGeometry, Triples, np.ndarray, int]:
    """Two margin rows per context, then the equalities, with random multipliers y; k margin rows."""
    sg = StructuredGeometry(_supported(5, 6, 40, 4, 3))
    j = np.repeat(np.arange(sg.m), 2)
    v = np.array([sg.first_off_support(int(c)) for c in j])
    rows = Triples(j.astype(np.intp), sg.anchors[j].astype(np.intp), v.astype(np.intp)).concat(sg.eq)
    return sg, rows, np.random.default_rng(1).random(rows.n), j.size


def test_cancel_adjoint_is_the_least_norm_correction():
    """cancel_adjoint's δ cancels Aᵀy to its target and lies in range(A), so it is the least-norm
    correction: it matches the dense pseudo-inverse answer ``−A (AᵀA)⁺ Aᵀ y``. With a preconditioner
    of wrong blocks (all identity) CG still converges to the same δ, only slower: the preconditioner
    shapes the path, never the answer."""
    from scipy.sparse.linalg import aslinearoperator

    from ntpverify.core.structured import cancel_adjoint, token_block_inverse

    sg, rows, y, k = _two_margin_rows_per_context()
    A = _dense_operator(sg.H, rows, sg.V)
    expected = -A @ (np.linalg.pinv(A.T @ A) @ (A.T @ y))
    for M in (token_block_inverse(sg.H, rows, sg.V), aslinearoperator(np.eye(sg.V * sg.d))):
        delta, solved = cancel_adjoint(sg.H, rows, y, sg.V, M, 1e-13)
        assert solved
        assert np.linalg.norm(A.T @ (y + delta)) <= 1e-12
        assert rel(delta, expected) < 1e-9


def test_cancel_adjoint_keeps_the_margin_multipliers_sum():
    """With ``keep_sum = k`` the correction is the least-norm one under both constraints (the dense
    pseudo-inverse of ``[Aᵀ; e_kᵀ]``), and the first k entries keep their sum; without it the
    least-norm correction changes that sum (the collapse towards y = 0 the constraint prevents)."""
    from ntpverify.core.structured import cancel_adjoint, token_block_inverse

    sg, rows, y, k = _two_margin_rows_per_context()
    A = _dense_operator(sg.H, rows, sg.V)
    lead = np.zeros(rows.n)
    lead[:k] = 1.0
    C = np.vstack([A.T, lead])
    expected = -np.linalg.pinv(C) @ np.append(A.T @ y, 0.0)
    delta, solved = cancel_adjoint(sg.H, rows, y, sg.V, token_block_inverse(sg.H, rows, sg.V), 1e-13,
                                   keep_sum=k)
    assert solved and abs(delta[:k].sum()) < 1e-12 and rel(delta, expected) < 1e-8
    free, _ = cancel_adjoint(sg.H, rows, y, sg.V, None, 1e-13)
    assert abs(free[:k].sum()) > 1e-3


def test_incompatibility_certificate_of_a_corpus_is_conclusive():
    """The 100-word pydoc corpus at window 1, d = 64 (m = 101 > d: incompatible). LSQR's own
    residual proved only 1.2e12 there, below the cap; made orthogonal to range(A_eq) by
    cancel_adjoint it proves > 1e15. The certificate is re-checked term by term: bᵀy = 1 and
    ‖A_eqᵀ y‖ small enough for the stated bound."""
    from ntpverify.core.structured import compatibility_structured
    from ntpverify.tools.corpus import CorpusOptions, builtin_text, corpus_instance

    inst, _ = corpus_instance(builtin_text("pydoc-topics"), CorpusOptions(tokenize="words", window=1,
                                                                          vocab=100, d=64))
    sg = StructuredGeometry(inst)
    comp = compatibility_structured(sg)
    assert comp.compatible is False and comp.certificate_bound > 1e14
    y = comp.certificate
    assert abs(float(y @ sg.eq_rhs) - 1.0) < 1e-12
    A = _dense_operator(sg.H, sg.eq, sg.V)
    hmax = float(np.sqrt(sg.hsq.max()))
    assert np.linalg.norm(A.T @ y) <= 2 * hmax / comp.certificate_bound
