"""Plausible but false statements (theory.md §8), written as conjectures.

``ntpverify search examples/conjectures/false_statements.py`` refutes each of them, shrinks the
counterexample, and archives it under ``reports/counterexamples/<name>/``; ``ntpverify replay`` on
that file fails again. Each docstring says why the statement is false.
"""

import cvxpy as cp
import numpy as np
from hypothesis import assume

import ntpverify as nv


def cosine(A, B):
    return float(np.sum(A * B) / (np.linalg.norm(A) * np.linalg.norm(B)))


def relaxed_max_margin(inst):
    """argmin ‖W‖ subject to the margin inequalities (b) alone, without the equalities (a)."""
    W = cp.Variable((inst.V, inst.d))
    margins = [(W[z] - W[v]) @ h >= 1
               for h, S in zip(inst.embeddings, inst.supports)
               for z in S for v in range(inst.V) if v not in S]
    problem = cp.Problem(cp.Minimize(cp.sum_squares(W)), margins)
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    if problem.status != cp.OPTIMAL:
        raise RuntimeError(f"relaxed SVM: solver status {problem.status}")  # inconclusive
    return W.value


@nv.conjecture
def gd_direction_is_the_relaxed_max_margin(inst):
    """False: the GD direction W^mm/‖W^mm‖ is the max-margin solution of the inequalities (b)
    alone. Dropping the equalities (a), i.e. W ∈ F⊥, changes the solution once two supports
    overlap (V=3, h=(1,1),(−2,−1), S={0,1},{1,2}: cosine 0.49)."""
    W = nv.w_mm(inst)
    assume(W is not None)
    c = cosine(W, relaxed_max_margin(inst))
    nv.target(1.0 - c, label="1 - cos(W_mm, relaxed)")
    # 1e-3 is far above both solvers' accuracy (~1e-9), so a counterexample is a clear one
    assert c >= 1.0 - 1e-3, f"cos(W^mm, relaxed max-margin) = {c}"


@nv.conjecture
def gd_direction_is_w_star(inst):
    """False: GD's direction is W⋆/‖W⋆‖. W⋆ fits the in-support log-ratios (it lives in F); the
    direction W^mm lives in F⊥, so the two are orthogonal, not parallel."""
    W_mm, W_star = nv.w_mm(inst), nv.w_star(inst)
    assume(W_mm is not None and W_star is not None and np.linalg.norm(W_star) > 0)
    assert cosine(W_mm, W_star) >= 1.0 - 1e-6


@nv.conjecture
def F_limit_is_the_least_squares_fit(inst):
    """False: P_F(W_k) tends to the (minimum-norm) least-squares fit of the absolute
    log-probabilities, e_zᵀ W h_j ≈ log p_{j,z} for z ∈ S_j. The limit W⋆ only fits log-ratios."""
    W_star = nv.w_star(inst)
    assume(W_star is not None)
    rows, rhs = [], []
    for j, S in enumerate(inst.supports):
        for z in S:
            row = np.zeros((inst.V, inst.d))
            row[z] = inst.embeddings[j]
            rows.append(row.ravel())
            rhs.append(np.log(inst.next_token_probs[j, z]))
    W_ls = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0].reshape(inst.V, inst.d)
    error = np.linalg.norm(W_ls - W_star)
    nv.target(error, label="||W_ls - W_star||")
    assert error <= 1e-6 * max(1.0, np.linalg.norm(W_star))


@nv.conjecture
def compatibility_alone_gives_the_entropy(inst):
    """False: compatibility alone gives inf CE = ℋ. By Prop. 1 and its converse, inf CE = ℋ needs
    separability too, so this says "compatible ⇒ separable"; two contexts sharing an embedding
    with supports {0} and {0, 1} are compatible but not separable (CE − ℋ → 0.342)."""
    sol = nv.solve(inst)
    assume(sol.compatible is True)
    assert sol.separable is True, "compatible but not separable: inf CE > entropy"


@nv.conjecture
def separability_alone_gives_the_entropy(inst):
    """False: separability alone gives inf CE = ℋ, i.e. "separable ⇒ compatible"; two contexts
    sharing an embedding with different in-support ratios are separable but not compatible."""
    sol = nv.solve(inst)
    assume(sol.separable is True)
    assert sol.compatible is True, "separable but not compatible: inf CE > entropy"


@nv.conjecture
def full_support_contexts_can_be_dropped(inst):
    """False: contexts with full support (S_j = all V tokens) can be left out of the NTP-SVM, as
    they add no margin inequality. They still force W^mm h_j to be constant (W ∈ F⊥), so dropping
    them changes W^mm (V=3, h_A=(1,0), p_A=e_0, h_B=(1,1) full: cosine 1/√2)."""
    full = inst.support_mask.all(axis=1)
    assume(full.any() and not full.all())
    W = nv.w_mm(inst)
    assume(W is not None)
    keep = ~full
    dropped = nv.Instance(inst.embeddings[keep], inst.weights[keep] / inst.weights[keep].sum(),
                          inst.next_token_probs[keep])
    W_dropped = nv.w_mm(dropped)
    assert np.linalg.norm(W - W_dropped) <= 1e-7 * max(1.0, np.linalg.norm(W))


@nv.conjecture
def gd_norm_is_monotone(inst):
    """False: ‖W_k‖ never decreases along GD, from any start. From W_0 = −2 W^mm/‖W^mm‖ every
    step increases ⟨W_k, W^mm⟩ (invariant I3), which first brings W_k toward the origin."""
    W = nv.w_mm(inst)
    assume(W is not None)
    traj = nv.gd(inst, 20, W0=-2.0 * W / np.linalg.norm(W), checkpoints=range(21))
    norms = traj.column("norm")
    assert np.all(np.diff(norms) >= -1e-12 * norms[1:]), "the norm decreased"


@nv.conjecture
def gd_reaches_the_entropy(inst):
    """False: CE(W_k) = ℋ at some finite k (here within 1000 steps). CE(W) > ℋ for every finite W
    (Prop. 1): the gap only tends to 0."""
    assert nv.loss_gap(inst, nv.gd(inst, 1000, checkpoints=[1000]).W) == 0.0
