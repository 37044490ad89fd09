"""Negative controls for the exact-fact checks (I1–I7) and the special GD cases (S3, S4).

Each check must reject a false variant: a broken GD implementation, a step beyond the descent
regime, a wrong W^mm, a duplicate that does not merge, a gap bound above the true limit; and the
machinery must refute two plausible but false statements of theory.md §8 (monotone ‖W_k‖ and a
finite k with CE(W_k) = ℋ). Every broken variant is first shown to run through the same harness
as a correct one that passes, so a rejection is about the variant, not the harness.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest
from scipy.optimize import nnls

from ntpverify.suite.checks.exact import (check_I1, check_I2, check_I3, check_I4, check_I5, check_I6, check_I7,
                                    decompose)
from ntpverify.suite.checks.special_gd import check_S3, check_S4
from ntpverify.optim.gd import Trajectory, default_checkpoints, gd
from ntpverify.core.instance import Instance
from ntpverify.core.model import default_step, entropy, loss, loss_gap
from ntpverify.core.solution import solve
from ntpverify.suite.verdict import Verdict, holds
from ntpverify.suite.controls import assert_accepts, assert_rejects, case

#: Broken implementations show within the first steps; short runs keep the numpy loops quick.
STEPS = 200

Direction = Callable[[Instance, np.ndarray], np.ndarray]




def softmax(Z: np.ndarray) -> np.ndarray:
    S = np.exp(Z - Z.max(axis=0))
    return S / S.sum(axis=0)


def true_gradient(inst: Instance, W: np.ndarray) -> np.ndarray:
    """``Σ_j π_j (softmax(W h_j) − p_j) h_jᵀ``, written out here."""
    H = inst.embeddings
    return ((softmax(W @ H.T) - inst.next_token_probs.T) * inst.weights) @ H


def unnormalized(inst: Instance, W: np.ndarray) -> np.ndarray:
    """The softmax without its normalization (``exp(z − max z)``)."""
    Z = W @ inst.embeddings.T
    return ((np.exp(Z - Z.max(axis=0)) - inst.next_token_probs.T) * inst.weights) @ inst.embeddings


def wrong_sign(inst: Instance, W: np.ndarray) -> np.ndarray:
    return -true_gradient(inst, W)


def missing_pi(inst: Instance, W: np.ndarray) -> np.ndarray:
    """Every context weighted 1 instead of π_j."""
    H = inst.embeddings
    return (softmax(W @ H.T) - inst.next_token_probs.T) @ H


def weight_decay(inst: Instance, W: np.ndarray) -> np.ndarray:
    """GD on CE + 0.05‖W‖²: not GD on CE (moves directions the data never see)."""
    return true_gradient(inst, W) + 0.1 * W


def token_biased(inst: Instance, W: np.ndarray) -> np.ndarray:
    """A softmax with a fixed bias towards low token ids: not equivariant under relabelling."""
    H = inst.embeddings
    bias = -0.5 * np.arange(inst.V)[:, None]
    return ((softmax(W @ H.T + bias) - inst.next_token_probs.T) * inst.weights) @ H


def runner(direction: Direction) -> Callable[..., Trajectory]:
    """A GD implementation with gd()'s signature: ``W ← W − η direction(W)``, a plain loop."""
    def run(inst: Instance, steps: int, eta: float | None = None, W0: np.ndarray | None = None,
            checkpoints=None, **_: object) -> Trajectory:
        eta = default_step(inst) if eta is None else float(eta)
        W = np.zeros((inst.V, inst.d)) if W0 is None else np.array(W0, dtype=float)
        wanted = set(default_checkpoints(steps) if checkpoints is None else checkpoints) | {steps}
        iterates = {}
        for k in range(steps + 1):
            if k in wanted:
                iterates[k] = W.copy()
            if k < steps:
                W = W - eta * direction(inst, W)
        return Trajectory(inst, eta, steps, iterates, "direct")
    return run


CORRECT = runner(true_gradient)


def relaxed_svm(inst: Instance) -> np.ndarray:
    """min ‖W‖ s.t. (e_z − e_v)ᵀ W h_j ≥ 1 for z ∈ S_j, v ∉ S_j: Definition 3 without the equalities
    (a), by Lawson–Hanson's least-distance programming: u = argmin_{u≥0} ‖E u − f‖ with
    E = [Mᵀ; 𝟙ᵀ], f = e_{n+1}, then w = −r_{1:n}/r_{n+1} for r = E u − f."""
    rows = []
    for j, S in enumerate(inst.supports):
        for z in S:
            for v in sorted(set(range(inst.V)) - set(S)):
                R = np.zeros((inst.V, inst.d))
                R[z] += inst.embeddings[j]
                R[v] -= inst.embeddings[j]
                rows.append(R.ravel())
    M = np.array(rows)
    n = M.shape[1]
    E = np.vstack([M.T, np.ones((1, M.shape[0]))])
    f = np.zeros(n + 1)
    f[-1] = 1.0
    r = E @ nnls(E, f)[0] - f
    return (-r[:n] / r[n]).reshape(inst.V, inst.d)


def tiny_binary() -> Instance:
    """V = 2, two orthonormal contexts, π = (½, ½): at W = 0 the softmax Jacobian attains its norm ½
    along the gradient, so the smoothness bound L = λ_max(Σπ_j h_j h_jᵀ)/2 = ¼ is tight there."""
    return Instance([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], name="tiny-binary")


def full_support() -> Instance:
    """Every context full-support, rank H = m: compatible, W^mm undefined (S3)."""
    return Instance([[1.0, 0.0], [0.5, 1.0]], [0.4, 0.6], [[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]], name="all-full")




# --- broken GD implementations -----------------------------------------------------------------

@pytest.mark.claim("I1", "I2", "I3", "I4", "I6", "I7")
@pytest.mark.parametrize("name", ["example-B", "example-C-two-dims-three-contexts", "example-H-orthonormal"])
def test_the_harness_passes_a_correct_gd(name: str) -> None:
    inst = case(name)
    W0 = np.random.default_rng(1).standard_normal((inst.V, inst.d))
    assert_accepts(check_I1(inst, W0=W0, steps=STEPS, run=CORRECT))
    assert_accepts(check_I3(inst, W0=W0, steps=STEPS, run=CORRECT))
    assert_accepts(check_I4(inst, W0=W0, steps=STEPS, run=CORRECT))
    assert_accepts(check_I7(inst, W0=W0, steps=STEPS, run=CORRECT))
    assert_accepts(check_I6(inst, W0=W0, perm=list(range(inst.V))[::-1], scale=3.0, steps=STEPS, run=CORRECT))
    if name == "example-H-orthonormal":  # d = 5 > m = 3
        assert_accepts(check_I2(inst, W0=W0, steps=STEPS, run=CORRECT))


@pytest.mark.claim("I1")
def test_I1_rejects_a_softmax_without_normalization() -> None:
    assert_rejects(check_I1(case("example-B"), steps=STEPS, run=runner(unnormalized)))


@pytest.mark.claim("I3", "I4")
@pytest.mark.parametrize("check", [check_I3, check_I4])
def test_I3_I4_reject_ascent(check: Callable[..., Verdict]) -> None:
    """The wrong sign climbs CE (I4) and decreases ⟨W_k, W^mm⟩ (I3's naive side flips sign)."""
    assert_rejects(check(case("example-B"), steps=STEPS, run=runner(wrong_sign)))


@pytest.mark.claim("I4")
def test_I4_rejects_a_gradient_missing_pi() -> None:
    """With η = 1/L (allowed), dropping π = (½, ½) doubles the step to 2/L: no descent left."""
    inst = tiny_binary()
    eta = 2.0 * default_step(inst)
    assert_accepts(check_I4(inst, eta=eta, steps=STEPS, run=CORRECT))
    assert_rejects(check_I4(inst, eta=eta, steps=STEPS, run=runner(missing_pi)))


@pytest.mark.claim("I4")
def test_I4_rejects_a_step_above_2_over_L() -> None:
    """η = 2.5/L on the tiny binary instance (L tight at W = 0): CE oscillates upwards. The claim's
    hypothesis is η ≤ 1/L; gd() itself is used here, only the step is wrong."""
    inst = tiny_binary()
    L = 0.5 / default_step(inst)
    assert_accepts(check_I4(inst, eta=1.0 / L, steps=STEPS))
    assert_rejects(check_I4(inst, W0=[[0.1, -0.1], [-0.1, 0.1]], eta=2.5 / L, steps=STEPS))


@pytest.mark.claim("I1", "I2", "S3")
def test_I1_I2_S3_reject_weight_decay() -> None:
    """Weight decay shrinks the column sums (I1), the directions orthogonal to the data (I2), and the
    F⊥ part of the start, so the limit is not W⋆ + P_F⊥(W_0) (S3)."""
    inst = case("example-H-orthonormal")
    W0 = np.random.default_rng(2).standard_normal((inst.V, inst.d))
    decay = runner(weight_decay)
    assert_rejects(check_I1(inst, W0=W0, steps=STEPS, run=decay))
    assert_rejects(check_I2(inst, W0=W0, steps=STEPS, run=decay))
    full = full_support()
    W0 = np.random.default_rng(3).standard_normal((full.V, full.d))
    assert_accepts(check_S3(full, W0=W0, steps=2000, run=CORRECT))
    assert_rejects(check_S3(full, W0=W0, steps=2000, run=decay))


@pytest.mark.claim("S3")
def test_S3_rejects_ascent() -> None:
    full = full_support()
    assert_rejects(check_S3(full, steps=STEPS, run=runner(wrong_sign)))


@pytest.mark.claim("I6")
def test_I6_rejects_a_token_biased_softmax() -> None:
    inst = case("example-C-two-dims-three-contexts")
    perm = [4, 0, 1, 2, 3]
    assert_accepts(check_I6(inst, perm=perm, reflector=[1.0, 1.0], scale=0.3, steps=STEPS, run=CORRECT))
    assert_rejects(check_I6(inst, perm=perm, reflector=[1.0, 1.0], scale=0.3, steps=STEPS, run=runner(token_biased)))


# --- wrong limits and wrong data -----------------------------------------------------------------

@pytest.mark.claim("I3", "I5")
def test_I3_I5_reject_the_relaxed_svm_as_Wmm() -> None:
    """theory.md §8: the max-margin solution of (b) alone has cosine 0.49 with W^mm on example A. It
    is not constant on the supports, so some in-support term (p_z − s_z)(ℓ_z − c_j) is negative:
    the exact-sign certificate fails, at a GD step (I3) and at a fixed W (I5)."""
    inst = case("example-A")
    relaxed = relaxed_svm(inst)
    W_mm = solve(inst).W_mm
    cos = np.sum(relaxed * W_mm) / (np.linalg.norm(relaxed) * np.linalg.norm(W_mm))
    assert abs(cos - 0.49) < 0.01
    assert decompose(inst, np.zeros((inst.V, inst.d)), relaxed).inner.min() < -1e-3
    assert_accepts(check_I3(inst, steps=STEPS))
    assert_rejects(check_I3(inst, steps=STEPS, W_mm=relaxed))
    assert_accepts(check_I5(inst))
    assert_rejects(check_I5(inst, W_mm=relaxed))


@pytest.mark.claim("I7")
def test_I7_rejects_a_duplicate_with_another_distribution() -> None:
    inst = case("example-B")
    assert_accepts(check_I7(inst, context=1, fraction=0.25))
    assert_rejects(check_I7(inst, context=1, fraction=0.25, p_copy=[0.0, 0.3, 0.7]))


def pooled_gap_example_E() -> float:
    """inf CE − ℋ for example E, by hand: both contexts share h, so CE = −0.65 log s_0 − 0.35 log s_1
    is minimized at s = (0.65, 0.35, 0) (pooled frequencies) and ℋ = ½·H(0.3, 0.7)."""
    pooled = np.array([0.65, 0.35])
    second = np.array([0.3, 0.7])
    return float(-(pooled * np.log(pooled)).sum() + 0.5 * (second * np.log(second)).sum())


@pytest.mark.claim("S4")
def test_S4_accepts_the_true_limit_and_rejects_a_larger_bound() -> None:
    inst = case("example-E-compatible-not-separable")
    limit = pooled_gap_example_E()
    assert abs(limit - 0.342) < 1e-3
    assert_accepts(check_S4(inst, steps=10_000, gap_bound=lambda _: (limit * (1 - 1e-12), np.inf, None)))
    assert_rejects(check_S4(inst, steps=10_000, gap_bound=lambda _: (limit + 0.005, np.inf, None)))


# --- plausible but false statements (theory.md §8) ----------------------------------------------

def check_norm_is_monotone(inst: Instance, W0: np.ndarray, steps: int) -> Verdict:
    """The false statement "‖W_k‖ is non-decreasing in k", over log-spaced checkpoints."""
    norms = [float(np.linalg.norm(W)) for _, W in sorted(gd(inst, steps, W0=W0).iterates.items())]
    return holds("norm-monotone", all(b >= a for a, b in zip(norms, norms[1:])), f"‖W_k‖ at checkpoints: {norms}")


@pytest.mark.claim("I3")
def test_norm_monotone_is_refuted_from_an_adversarial_start() -> None:
    """From W_0 = −4·W^mm GD first shrinks the norm (it must cross towards +W^mm), while what the
    theory says is monotone, ⟨W_k, W^mm⟩, increases at every step (I3)."""
    inst = case("example-A")
    W_mm = solve(inst).W_mm
    assert_accepts(check_norm_is_monotone(inst, np.zeros((inst.V, inst.d)), 10_000))
    assert_rejects(check_norm_is_monotone(inst, -4.0 * W_mm, 10_000))
    inner = [float(np.sum(W * W_mm)) for _, W in sorted(gd(inst, 10_000, W0=-4.0 * W_mm).iterates.items())]
    assert all(b > a for a, b in zip(inner, inner[1:]))
    assert_accepts(check_I3(inst, W0=-4.0 * W_mm))


def check_gap_reaches_zero(inst: Instance, W0: np.ndarray, steps: int) -> Verdict:
    """The false statement "CE(W_k) = ℋ at some finite k", decided with the stable KL gap."""
    gaps = [loss_gap(inst, W) for W in gd(inst, steps, W0=W0).iterates.values()]
    return holds("gap-zero", min(gaps) <= 0.0, f"smallest CE(W_k) − ℋ over the checkpoints: {min(gaps)!r}")


@pytest.mark.claim("P1")
def test_finite_k_with_zero_gap_is_refuted() -> None:
    """From W_0 = 50·W^mm on example A (W⋆ = 0) the gap is ~1e-22: CE − ℋ computed naively rounds to
    0 and would "confirm" the statement; the stable KL gap stays positive at every checkpoint."""
    inst = case("example-A")
    W0 = 50.0 * solve(inst).W_mm
    assert loss(inst, W0) - entropy(inst) <= 0.0
    assert 0.0 < loss_gap(inst, W0) < 1e-20
    assert_rejects(check_gap_reaches_zero(inst, W0, 100_000))
    assert_rejects(check_gap_reaches_zero(inst, np.zeros((inst.V, inst.d)), 1_000_000))
