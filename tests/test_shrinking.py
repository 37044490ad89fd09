"""Shrinking in the structured ascent (structured_kernels.block_epoch, structured_svm._ascend) and
the CG polish change nothing: same flags and W^mm as the unshrunk ascent and the dense route, and a
shrink rule that never re-activates its tokens is caught by the certificate."""

from __future__ import annotations

import numpy as np
import pytest

import ntpverify as nv
from ntpverify.core.maxmargin import KKT_RTOL
from ntpverify.core.sampling import KINDS, random_instance
from ntpverify.core.structured import StructuredGeometry, Triples, Work
from ntpverify.core.structured_kernels import all_active, block_epoch
from ntpverify.core.structured_svm import _margin_triples, _polish, _polish_lsqr, dual_ascent, kkt_residuals

#: Agreement of the routes (issue 10: objects to 1e-9 relative), as tests/test_structured.py.
AGREE_RTOL = 1e-9


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def csr(inst: nv.Instance) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(inst.support_indptr, np.int64), np.asarray(inst.support_tokens, np.int64)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(4))
def test_shrunk_ascent_agrees_with_unshrunk_and_dense(kind: str, seed: int) -> None:
    inst = random_instance(np.random.default_rng(100 + seed), 12, 10, 12, kind)
    shrunk = dual_ascent(StructuredGeometry(inst), shrink=True)
    full = dual_ascent(StructuredGeometry(inst), shrink=False)
    dense = nv.solve(inst, method="nnls")
    assert shrunk.sep.separable is full.sep.separable
    assert shrunk.mm.status.state == full.mm.status.state
    if dense.sep.separable is not None and shrunk.sep.separable is not None:
        assert shrunk.sep.separable is dense.sep.separable
    if shrunk.mm.status.ok:
        assert full.mm.W_mm is not None and shrunk.mm.W_mm is not None
        assert rel(shrunk.mm.W_mm, full.mm.W_mm) <= AGREE_RTOL
        if dense.mm.status.ok:
            assert rel(shrunk.mm.W_mm, dense.W_mm) <= AGREE_RTOL


def test_shrunk_tokens_stay_at_zero_and_support_tokens_stay_active() -> None:
    inst = random_instance(np.random.default_rng(5), 30, 8, 16)
    sg = StructuredGeometry(inst)
    ptr, tok = csr(inst)
    G, W = np.zeros((inst.m, inst.V)), np.zeros((inst.V, inst.d))
    active, n_active = all_active(inst.m, inst.V)
    for _ in range(5):
        block_epoch(sg.H, sg.hsq, ptr, tok, ptr, tok, G, W, np.arange(inst.m), active, n_active, True)
    assert n_active.sum() < inst.m * inst.V  # something was shrunk: the checks below are not vacuous
    for j in range(inst.m):
        on = np.zeros(inst.V, bool)
        on[active[j, : n_active[j]]] = True
        assert np.all(G[j, ~on] == 0.0)
        assert np.all(on[inst.support_mask[j]])
    np.testing.assert_allclose(W, G.T @ sg.H, atol=1e-12)


def test_cg_polish_equals_lsqr_polish() -> None:
    """_polish (CG on A Aᵀ) and _polish_lsqr solve the same least-norm problem."""
    inst = random_instance(np.random.default_rng(7), 20, 15, 20)
    sg = StructuredGeometry(inst)
    W_mm = dual_ascent(sg).mm.W_mm
    assert W_mm is not None
    rows = _margin_triples(sg, W_mm, lambda J, D: np.abs(D - 1.0) <= 1e-6)
    lam0 = np.zeros(rows.n + sg.eq.n)
    W_cg, _, lam_cg = _polish(sg, rows, lam0, Work())
    W_ls, all_rows, _ = _polish_lsqr(sg, rows, lam0, Work())
    assert rel(W_cg, W_ls) <= AGREE_RTOL and rel(W_cg, W_mm) <= AGREE_RTOL
    assert rel(all_rows.adjoint(sg.H, lam_cg, sg.V), W_cg) <= 1e-12


def test_negative_control_shrinking_without_reactivation_is_caught() -> None:
    """On this draw a token shrunk early (margin clearly above 1) carries a positive multiplier at
    the optimum. An ascent that never re-activates it converges to the optimum of the restricted
    problem: its W violates that margin, the KKT residuals computed from H over every token reject
    it, and it is far from W^mm; the ascent with liblinear's re-activation certifies W^mm."""
    inst = random_instance(np.random.default_rng(32), 6, 4, 6)
    dense = nv.solve(inst, method="nnls")
    assert dense.mm.status.ok
    sg = StructuredGeometry(inst)
    ptr, tok = csr(inst)
    G, W = np.zeros((inst.m, inst.V)), np.zeros((inst.V, inst.d))
    active, n_active = all_active(inst.m, inst.V)
    for _ in range(20000):
        if block_epoch(sg.H, sg.hsq, ptr, tok, ptr, tok, G, W, np.arange(inst.m), active, n_active,
                       True) < 1e-14:
            break
    assert n_active.sum() < inst.m * inst.V
    jj, vv = np.nonzero(~inst.support_mask)
    rows = Triples(jj, sg.anchors[jj], vv).concat(sg.eq)
    lam = np.concatenate([-G[jj, vv], G[sg.eq.ctx, sg.eq.plus]])
    kkt = kkt_residuals(sg, W, rows, jj.size, lam)
    assert kkt["primal_ineq"] > KKT_RTOL
    assert rel(W, dense.W_mm) > 1e-3
    good = dual_ascent(sg)
    assert good.mm.status.ok and good.mm.W_mm is not None
    assert rel(good.mm.W_mm, dense.W_mm) <= AGREE_RTOL
