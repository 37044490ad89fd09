"""True statements about NTP instances (theory.md §2, §3, §4), written as conjectures.

``ntpverify search examples/conjectures/true_statements.py`` should report every one of them as
``survived``: a ``refuted`` here would be a bug in ntpverify (or in the theory).

Each conjecture is a plain function of one instance: it raises ``AssertionError`` when the
statement fails, uses ``hypothesis.assume`` for its preconditions, and may let ``w_mm``/``w_star``
raise ``Inconclusive`` (counted as inconclusive, never as a counterexample).
"""

import numpy as np
from hypothesis import assume

import ntpverify as nv

#: W^mm is certified by KKT residuals ≤ 1e-9 relative; two independent solves agree to ~1e-8.
REL = 1e-7


def close(A, B, rel=REL):
    """``‖A − B‖ ≤ rel · max(1, ‖A‖, ‖B‖)``."""
    scale = max(1.0, np.linalg.norm(A), np.linalg.norm(B))
    return np.linalg.norm(A - B) <= rel * scale


def with_rows(inst, weights=None, probs=None):
    """``inst`` with other weights or next-token probabilities (same embeddings)."""
    return nv.Instance(inst.embeddings, inst.weights if weights is None else weights,
                       inst.next_token_probs if probs is None else probs)


@nv.conjecture
def w_mm_ignores_the_weights(inst):
    """W^mm depends on (H, supports) only: uniform weights π give the same W^mm (theory.md §2)."""
    W = nv.w_mm(inst)
    assume(W is not None)
    uniform = np.full(inst.m, 1.0 / inst.m)
    assert close(W, nv.w_mm(with_rows(inst, weights=uniform))), "W^mm changed with the weights"


@nv.conjecture
def w_mm_ignores_the_probability_values(inst):
    """W^mm depends on the supports, not on the probabilities: uniform in-support p gives the same."""
    W = nv.w_mm(inst)
    assume(W is not None)
    mask = inst.support_mask
    uniform = mask / mask.sum(axis=1, keepdims=True)
    assert close(W, nv.w_mm(with_rows(inst, probs=uniform))), "W^mm changed with the probabilities"


@nv.conjecture
def limits_have_zero_column_sums(inst):
    """𝟙ᵀW^mm = 0 and 𝟙ᵀW⋆ = 0 (theory.md §2)."""
    for W in (nv.w_mm(inst), nv.w_star(inst)):
        if W is not None:
            assert np.abs(W.sum(axis=0)).max() <= REL * max(1.0, np.linalg.norm(W))


@nv.conjecture
def w_star_lies_in_F(inst):
    """W⋆ is the solution of Definition 1 inside F: P_F(W⋆) = W⋆."""
    W = nv.w_star(inst)
    assume(W is not None)
    assert close(nv.project_F(inst, W), W, 1e-9)


@nv.conjecture
def gd_conserves_column_sums(inst):
    """GD from W_0 = 0 keeps 𝟙ᵀW_k = 0 (invariant I1), whatever the instance."""
    traj = nv.gd(inst, 200, checkpoints=[200])
    assert np.abs(traj.W.sum(axis=0)).max() <= 1e-12 * (1.0 + np.linalg.norm(traj.W)) * 200


@nv.conjecture
def loss_stays_above_the_entropy(inst):
    """CE(W) ≥ ℋ for every W (Prop. 1), here along the ray t·W^mm + W⋆, t = 5, as KL ≥ 0."""
    W_mm, W_star = nv.w_mm(inst), nv.w_star(inst)
    assume(W_mm is not None and W_star is not None)
    gap = nv.loss_gap(inst, W_star + 5.0 * W_mm)
    nv.target(-gap, label="closeness of CE to the entropy")
    assert gap >= 0.0
