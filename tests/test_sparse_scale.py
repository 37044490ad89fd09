"""Instances beyond the dense views (issue 10): where ``m·V`` exceeds instance.MAX_ENTRIES the m×V
``next_token_probs`` and ``support_mask`` are refused, and GD, the optimizers and solve() run from
the CSR supports. Each test here replaces both views by properties that fail when read, so passing
proves the route never touched them (not merely that the sizes were small enough)."""

from __future__ import annotations

import numpy as np
import pytest

import ntpverify as nv
from ntpverify.core.instance import MAX_ENTRIES, Instance, with_embeddings
from ntpverify.core.model import default_step
from ntpverify.core.sampling import random_instance
from ntpverify.core.scaling import normalized, scale_exponent
from ntpverify.optim import kernels
from ntpverify.optim.optimizers import GD, NGD, linf_margin, optimize


def _refused(self: Instance) -> np.ndarray:
    raise AssertionError("a dense m×V view of the instance was read")


@pytest.fixture
def no_dense_views(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Instance, "next_token_probs", property(_refused))
    monkeypatch.setattr(Instance, "support_mask", property(_refused))


def sparse_instance(m: int, V: int, d: int, max_support: int, zero: int | None = None) -> Instance:
    """Gaussian H with ``max_j ‖h_j‖ = 1.5`` and ``h_zero = 0`` if given, supports of 1..max_support
    random tokens, built in the sparse form (no m×V array)."""
    rng = np.random.default_rng(0)
    H = rng.standard_normal((m, d))
    H *= 1.5 / np.linalg.norm(H, axis=1).max()
    if zero is not None:
        H[zero] = 0.0
    tokens, probs = [], []
    for k in rng.integers(1, max_support + 1, m):
        tokens.append(np.sort(rng.choice(V, k, replace=False)).tolist())
        p = rng.random(k) + 0.1
        probs.append((p / p.sum()).tolist())
    return Instance(H, np.full(m, 1.0 / m), {"V": V, "tokens": tokens, "probs": probs})


@pytest.fixture(scope="module")
def corpus() -> Instance:
    """m·V = 1.2·10⁷ (above the cap), d = 8: GD's direct form on its sparse BLAS plan."""
    inst = sparse_instance(12_000, 1000, 8, 5)
    assert inst.m * inst.V > MAX_ENTRIES
    return inst


def test_dense_views_are_refused(corpus: Instance) -> None:
    with pytest.raises(nv.InputError):
        corpus.support_mask  # noqa: B018 - the read is the test


def test_gd_steps_beyond_the_dense_cap(corpus: Instance, no_dense_views: None) -> None:
    trajectory = nv.gd(corpus, 3, checkpoints=[1])
    assert trajectory.form == "direct"
    assert kernels.plan("direct", corpus.V, corpus.m, corpus.d) in ("blas + numba softmax", "numpy")
    # GD from 0 decreases CE strictly at the default step (theory.md §1: η ≤ 1/(2L))
    assert 0.0 < trajectory.gaps[3] < trajectory.gaps[1]


def test_optimizers_step_beyond_the_dense_cap(corpus: Instance, no_dense_views: None) -> None:
    gd = optimize(corpus, 2, GD(default_step(corpus)), checkpoints=[])
    ngd = optimize(corpus, 2, NGD(0.1), checkpoints=[])
    assert np.isfinite(gd.gaps[2]) and np.isfinite(ngd.gaps[2])
    assert linf_margin(corpus, ngd.W) is not None


def test_solve_beyond_the_dense_cap(no_dense_views: None) -> None:
    """m·V just above the cap (the structured dual G is itself m×V, so the ascent's cost grows
    with m·V; a context with h_j = 0 keeps this test to a second: it is a Farkas certificate on
    its own, theory.md §9). Every object is certified or honestly inconclusive."""
    inst = sparse_instance(10_000, 1001, 4, 3, zero=7)
    assert inst.m * inst.V > MAX_ENTRIES
    sol = nv.solve(inst)
    assert sol.structure is not None and sol.separable is False
    assert sol.compatible is not None  # decided either way, with its certificate verified
    states = {name: s.state for name, s in sol.status.items()}
    assert states["separability"] == "infeasible" and states["W_mm"] == "infeasible"
    assert states["F"] in ("ok", "inconclusive")


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("shape", [(12, 30, 6), (10, 8, 12)])  # (V, m, d): not separable; separable
def test_structured_route_reads_no_dense_view(shape: tuple[int, int, int], seed: int,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The full structured route (ascent, Farkas certificate or polish with KKT, W⋆, F) on small
    draws, with the views refused, gives the verdicts and objects it gives with them."""
    inst = random_instance(np.random.default_rng(200 + seed), *shape)
    # H already normalized: scaling.normalized rebuilds any other instance from its dense view
    H = np.ldexp(inst.embeddings, scale_exponent(inst.embeddings))
    inst = Instance(H, inst.weights, inst.to_dict(form="sparse")["next_token_probs"])
    reference = nv.solve(inst, method="structured")
    monkeypatch.setattr(Instance, "next_token_probs", property(_refused))
    monkeypatch.setattr(Instance, "support_mask", property(_refused))
    sol = nv.solve(inst, method="structured")
    assert sol.separable is (shape[1] < shape[2])  # the draws of both kinds (not vacuous)
    assert {k: s.state for k, s in sol.status.items()} == {k: s.state for k, s in reference.status.items()}
    for a, b in ((sol.W_mm, reference.W_mm), (sol.W_star, reference.W_star)):
        assert (a is None) == (b is None) and (a is None or np.array_equal(a, b))


@pytest.mark.parametrize(("shape", "backend"), [((8, 6, 4), "auto"), ((256, 512, 40), "auto"),
                                                 ((8, 6, 4), "numpy")])
def test_direct_gd_from_instance_is_bit_for_bit(shape: tuple[int, int, int], backend: str) -> None:
    """DirectGD.from_instance (CSR) and DirectGD on the dense P prepare the same operands: the
    iterates agree bit for bit on every plan (loops, sparse BLAS, numpy)."""
    V, m, d = shape
    inst = random_instance(np.random.default_rng(1), V, m, d)
    dense = kernels.DirectGD(inst.embeddings, inst.next_token_probs.T, inst.weights, backend)
    sparse = kernels.DirectGD.from_instance(inst, backend)
    assert sparse.how == dense.how
    W1, W2 = np.zeros((V, d)), np.zeros((V, d))
    dense.advance(W1, 0.5, 20)
    sparse.advance(W2, 0.5, 20)
    assert np.array_equal(W1, W2) and np.any(W1)


def test_linf_margin_matches_the_dense_formula() -> None:
    inst = random_instance(np.random.default_rng(4), 7, 9, 3)
    W = np.random.default_rng(5).standard_normal((inst.V, inst.d))
    mask = inst.support_mask
    Z = (W @ inst.embeddings.T).T
    gaps = np.where(mask, np.inf, Z[np.arange(inst.m), np.argmax(mask, axis=1)][:, None] - Z)
    assert linf_margin(inst, W) == float(gaps.min() / np.abs(W).max())



def test_normalizing_h_beyond_the_dense_cap_reads_no_dense_view(no_dense_views: None) -> None:
    """scaling.normalized (H → 2^k H with k ≠ 0) rebuilds the instance from its CSR rows: the
    supports are shared, H is scaled exactly, and no m×V view is read."""
    inst = sparse_instance(12_000, 1000, 2, 3)
    big = with_embeddings(inst, 40.0 * inst.embeddings)
    out, k = normalized(big)
    assert k == -5 and np.array_equal(np.ldexp(out.embeddings, -k), big.embeddings)
    assert out.support_tokens is inst.support_tokens and out.weights is inst.weights


def test_the_issues_corpus_size_fits():
    """Issue 10's size, m = 10⁵ contexts and V = 10⁴ tokens, at d = 128 (m·d = 1.28·10⁷, above the
    former 10⁷ array cap): the instance is built from its sparse supports without a dense view."""
    rng = np.random.default_rng(0)
    m, V, d = 100_000, 10_000, 128
    sizes = rng.integers(1, 6, m)
    tokens = [np.sort(rng.choice(V, s, replace=False)).tolist() for s in sizes]
    inst = Instance(rng.standard_normal((m, d)), np.full(m, 1 / m),
                    {"V": V, "tokens": tokens, "probs": [[1.0 / s] * s for s in sizes]})
    assert (inst.m, inst.V, inst.d, inst.nnz) == (m, V, d, int(sizes.sum()))
    assert inst.m * inst.V > MAX_ENTRIES
