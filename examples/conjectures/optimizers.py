"""Does my optimizer share the bias? Conjectures about optimizers other than GD, written by a user
against ``nv.optimize`` and ``ntpverify.optim`` (issue 12), exactly as GD ones are.

``ntpverify search examples/conjectures/optimizers.py --jobs 2`` reports the first two as
``survived`` and refutes the last two, each with a shrunk counterexample archived under
``reports/counterexamples/<name>/`` that ``ntpverify replay`` fails again.

Limit statements are stated in finite-step form (k steps, a tolerance), as a search can only check
those. Directions are compared through the part of W the logits see, ``C W P_H`` (``C`` removes
each column's mean, ``P_H`` projects the rows onto ``span{h_j}``): W and ``C W P_H`` give the same
softmax on every context, and Adam, which keeps neither 𝟙ᵀW nor the null directions (it acts
entrywise), would otherwise be "refuted" by parts of W no prediction depends on.
"""

import numpy as np
from hypothesis import assume

import ntpverify as nv
from ntpverify.optim.optimizers import NGD, Adam, HeavyBall
from ntpverify.suite.strategies import instances

#: One-hot supports (P3's setting, where the literature claims L1–L3 live), small shapes.
ONE_HOT = instances(supports="one_hot", max_V=5, max_m=5, max_d=5)
#: The direction tolerance: claim L3's (heavy ball), twice the largest limit error measured for it.
DIRECTION_TOL = 0.2


def seen_by_logits(inst, W):
    """``C W P_H``: W with column means removed and rows projected onto span{h_j}."""
    H = inst.embeddings
    W = W @ (np.linalg.pinv(H) @ H)
    return W - W.mean(axis=0)


def cosine(A, B):
    return float(np.sum(A * B) / (np.linalg.norm(A) * np.linalg.norm(B)))


def unit_step(inst, scale):
    """``scale / max_j ‖h_j‖``: a normalized method's step, free of the embeddings' scale."""
    return scale / float(np.linalg.norm(inst.embeddings, axis=1).max())


@nv.conjecture(strategy=ONE_HOT)
def heavy_ball_direction_approaches_w_mm(inst):
    """Heavy ball (η = 1/λ_max, β = 0.9) from 0 on one-hot data is within 1 − cos ≤ 0.2 of the
    W^mm direction after 4000 steps (claim L3, in finite-step form: GD's slow 1/log k rate is
    why the tolerance is L3's and not smaller)."""
    W_mm = nv.w_mm(inst)
    assume(W_mm is not None)  # one-hot but not separable: no W^mm
    W = nv.optimize(inst, 4000, HeavyBall(nv.default_step(inst), 0.9), checkpoints=[4000]).W
    error = 1.0 - cosine(seen_by_logits(inst, W), W_mm)
    nv.target(error, label="1 - cos(W_k, W_mm)")
    assert error <= DIRECTION_TOL, f"1 - cos(W_4000, W^mm) = {error:.4f}"


@nv.conjecture
def ngd_keeps_zero_column_sums(inst):
    """NGD from W_0 = 0 keeps 𝟙ᵀW_k = 0 on every instance, as it declares (NGD.keeps_column_sums:
    its steps are multiples of gradients, whose columns sum to 0)."""
    assert NGD.keeps_column_sums
    W = nv.optimize(inst, 500, NGD(unit_step(inst, 0.1)), checkpoints=[500]).W
    drift = float(np.abs(W.sum(axis=0)).max())
    nv.target(drift / (1.0 + np.linalg.norm(W)), label="relative column-sum drift")
    # a few ulps of ‖W‖ per step, summed over the steps, as gd_conserves_column_sums allows GD
    assert drift <= 1e-12 * (1.0 + np.linalg.norm(W)) * 500, f"max |𝟙ᵀW_500| = {drift:.3e}"


@nv.conjecture(strategy=ONE_HOT)
def adam_tiny_eps_heads_for_the_w_mm_direction(inst):
    """False: Adam with ε = 1e-16 (lr = 0.01/max‖h_j‖₁, β = (0.9, 0.999)) from 0 on one-hot data
    heads for the W^mm direction (the paper's figure-5 remark): 1 − cos(W_k, W^mm) does not grow
    from k = 2000 to k = 8000. With ε negligible Adam is close to sign descent, whose limit is the
    ℓ∞ max-margin face (Zhang, Zou & Cao 2024), not the ℓ2 one."""
    W_mm = nv.w_mm(inst)
    assume(W_mm is not None)
    lr = 0.01 / float(np.abs(inst.embeddings).sum(axis=1).max())
    traj = nv.optimize(inst, 8000, Adam(lr, eps=1e-16), checkpoints=[2000, 8000])
    early, late = (1.0 - cosine(seen_by_logits(inst, traj.iterates[k]), W_mm) for k in (2000, 8000))
    nv.target(late - early, label="growth of 1 - cos(W_k, W_mm)")
    # 1e-9: far above the rounding of a cosine of O(1)-conditioned iterates (~1e-15)
    assert late <= early + 1e-9, f"1 - cos(W_k, W^mm): {early:.4f} at k = 2000, {late:.4f} at k = 8000"


@nv.conjecture
def ngd_drives_the_F_part_to_w_star(inst):
    """False: NGD with a constant step (η = 0.1/max‖h_j‖) drives P_F W_k to W⋆ as GD does: the
    distance ‖P_F W_k − W⋆‖ at k = 4000 is at most half of that at k = 1000 (GD's 1/k rate gives
    a quarter). Once the F⊥ part of the gradient has decayed, every normalized step of length η
    lies in F, so P_F W_k circles W⋆ at a distance ∝ η instead of converging."""
    W_mm, W_star = nv.w_mm(inst), nv.w_star(inst)
    assume(W_mm is not None and W_star is not None)  # separable and compatible: both limits exist
    traj = nv.optimize(inst, 4000, NGD(unit_step(inst, 0.1)), checkpoints=[1000, 4000])
    early, late = (float(np.linalg.norm(nv.project_F(inst, traj.iterates[k]) - W_star)) for k in (1000, 4000))
    # distances below 1e-9·‖W⋆‖ are rounding: W⋆ is reached (and F = {0} gives 0 = 0)
    assume(early > 1e-9 * max(1.0, float(np.linalg.norm(W_star))))
    nv.target(late / early, label="late / early F-distance")
    assert late <= 0.5 * early, f"‖P_F W_k − W⋆‖: {early:.3e} at k = 1000, {late:.3e} at k = 4000"
