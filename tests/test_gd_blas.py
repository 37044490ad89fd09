"""The direct form's BLAS plan at corpus shapes (issue 10): kernels.DirectGD and its sparse
residual, gd's cheap finiteness check, and GD through nv.optimize on that plan.

The plan runs above ``kernels.LOOPS_MAX_FLOPS`` flops per step; the tests force it on small
shapes by setting that limit to 0, so they stay fast.
"""

from __future__ import annotations

import numpy as np
import pytest

from ntpverify.core.instance import Instance
from ntpverify.optim import gd as gd_module
from ntpverify.optim import kernels
from ntpverify.optim.gd import gd, nonfinite
from ntpverify.optim.optimizers import GD, optimize

needs_numba = pytest.mark.skipif(not kernels.numba_available(), reason="numba unavailable or disabled")
BLAS = "blas + numba softmax"
#: The fused kernel against the plain loop below: they differ only in the exponential (≤ 1 ulp,
#: kernels._exp_nonpositive) and the order of the final divide (π_j / Σ then a product, against a
#: divide then a product): a few ulps per entry, far under the brief's bar of 1e-12 relative.
FUSED_RTOL = 1e-12


def random_problem(V: int, m: int, d: int, seed: int, max_support: int = 4) -> Instance:
    """Gaussian H, weights in [0.2, 1.2) normalised, per context a random support of 1..max_support
    tokens; token V − 1 is in no support (a row of P without a nonzero)."""
    rng = np.random.default_rng(seed)
    P = np.zeros((m, V))
    for j in range(m):
        S = rng.choice(V - 1, size=int(rng.integers(1, min(max_support, V - 1) + 1)), replace=False)
        P[j, S] = rng.dirichlet(np.ones(S.size))
    pi = rng.random(m) + 0.2
    return Instance(rng.standard_normal((m, d)), pi / pi.sum(), P)


def plain_residual(Z: np.ndarray, P: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """``(softmax(Z) − P) diag(π)`` one context (column) at a time, as written in theory.md §1."""
    E = np.empty_like(Z)
    for j in range(Z.shape[1]):
        s = np.exp(Z[:, j] - Z[:, j].max())
        E[:, j] = (s / s.sum() - P[:, j]) * pi[j]
    return E


def operands(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return inst.embeddings, np.ascontiguousarray(inst.next_token_probs.T), inst.weights


@pytest.fixture
def blas_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "LOOPS_MAX_FLOPS", 0)


@needs_numba
@pytest.mark.parametrize("shape", [(3, 1, 1), (7, 5, 3), (40, 23, 9), (129, 64, 16)])
@pytest.mark.parametrize("scale", [1.0, 50.0, 1e3])
def test_sparse_residual_is_the_plain_loop_and_the_dense_kernel(shape: tuple[int, int, int],
                                                                scale: float, blas_plan: None) -> None:
    """_residual_sparse equals the plain loop to FUSED_RTOL and the dense compiled kernel
    (_residual, the one the loops plan uses) bit for bit, at logits from O(1) to ±1e3."""
    V, m, d = shape
    inst = random_problem(V, m, d, seed=V + m)
    H, P, pi = operands(inst)
    Z = scale * np.random.default_rng(1).standard_normal((V, m))
    direct = kernels.DirectGD(H, P, pi, "numba")
    sparse, dense = Z.copy(), Z.copy()
    kernels._residual_sparse(sparse, direct.indptr, direct.cols, direct.q, pi)
    kernels._residual(dense, P * pi, pi, np.empty(m), np.empty(m))
    assert np.array_equal(sparse, dense)
    ref = plain_residual(Z, P, pi)
    assert np.linalg.norm(sparse - ref) <= FUSED_RTOL * np.linalg.norm(ref)


@needs_numba
def test_sparse_form_of_q_lists_every_nonzero_once(blas_plan: None) -> None:
    inst = random_problem(30, 12, 4, seed=2)
    H, P, pi = operands(inst)
    direct = kernels.DirectGD(H, P, pi)
    assert direct.how == BLAS
    Q = np.zeros_like(P)
    rows = np.repeat(np.arange(P.shape[0]), np.diff(direct.indptr))
    Q[rows, direct.cols] = direct.q
    assert np.array_equal(Q, P * pi)
    assert direct.q.size == sum(len(S) for S in inst.supports)
    assert direct.indptr[-1] == direct.indptr[-2]  # token V − 1 is in no support


@needs_numba
def test_blas_plan_matches_numpy_and_splits_freely(blas_plan: None) -> None:
    """The BLAS plan with the sparse residual stays within 1e-12 of the numpy plan (dense Q,
    np.exp) after 500 steps, and one DirectGD advanced in uneven calls lands bit for bit where
    one advance_direct call does."""
    inst = random_problem(50, 20, 8, seed=3)
    H, P, pi = operands(inst)
    eta = 1.0 / np.linalg.eigvalsh((H.T * pi) @ H)[-1]
    W0 = np.random.default_rng(4).standard_normal((50, 8))
    whole, numpy = W0.copy(), W0.copy()
    kernels.advance_direct(whole, H, P, pi, eta, 500)
    kernels.advance_direct(numpy, H, P, pi, eta, 500, backend="numpy")
    assert np.linalg.norm(whole - numpy) <= 1e-12 * np.linalg.norm(numpy)
    direct, split = kernels.DirectGD(H, P, pi), W0.copy()
    for n in (1, 2, 97, 0, 400):
        direct.advance(split, eta, n)
    assert np.array_equal(split, whole)
    with pytest.raises(ValueError, match="W must have shape"):
        direct.advance(np.zeros((50, 9)), eta, 1)


@needs_numba
def test_gd_through_optimize_equals_gd_on_the_blas_plan(blas_plan: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """As test_optimizers' test on the loops plan: both run DirectGD, bit for bit, here with one
    step per chunk (as at corpus shapes) against gd's default chunks."""
    inst = random_problem(40, 16, 6, seed=5)
    ref = gd(inst, 60, form="direct")
    monkeypatch.setattr(gd_module, "CHUNK_FLOPS", 1)
    ours = optimize(inst, 60, GD(ref.eta))
    assert ours.iterates.keys() == ref.iterates.keys() and ours.gaps == ref.gaps
    assert all(np.array_equal(ours.iterates[k], ref.iterates[k]) for k in ref.iterates)


def test_disabled_numba_runs_numpy_without_compiled_code(monkeypatch: pytest.MonkeyPatch) -> None:
    def compiled_code_ran(*args: object) -> None:
        raise AssertionError("compiled kernel called although numba is disabled")

    monkeypatch.setenv(kernels.DISABLE_ENV, "1")
    monkeypatch.setattr(kernels, "LOOPS_MAX_FLOPS", 0)
    for kernel in ("_direct_numba", "_residual_sparse"):
        monkeypatch.setattr(kernels, kernel, compiled_code_ran, raising=False)
    inst = random_problem(10, 4, 3, seed=6)
    direct = kernels.DirectGD(*operands(inst))
    assert direct.how == "numpy"
    direct.advance(np.zeros((10, 3)), 0.1, 3)


def test_nonfinite_skips_the_logits_only_where_they_are_bounded() -> None:
    """Below LOGITS_SAFE the answer comes from ‖W‖‖H‖; above it the logits are formed: finite
    ones (orthogonal huge rows) pass, overflowing ones are named."""
    H = np.array([[0.0, 1e160]])  # ‖H‖ overflows (its square does), ‖W‖ below does not
    assert nonfinite(np.array([[1e150, 0.0]]), H) is None  # the logit is 0
    assert nonfinite(np.array([[0.0, 1e150]]), H) == "the logits W_k h_j"
    assert nonfinite(np.array([[0.0, 1e152]]), np.array([[0.0, 1e152]])) is None  # 1e304 > LOGITS_SAFE
    assert nonfinite(np.array([[np.inf, 0.0]]), H) == "W_k (an entry or its norm)"
    rng = np.random.default_rng(7)
    W, H = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    assert np.linalg.norm(W) * np.linalg.norm(H) <= gd_module.LOGITS_SAFE and nonfinite(W, H) is None
