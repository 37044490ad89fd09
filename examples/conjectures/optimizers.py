"""Does my optimizer share the bias? Conjectures about optimizers other than GD, written by a user
against ``nv.optimize`` and ``ntpverify.optim`` (issue 12), exactly as GD ones are.

``ntpverify search examples/conjectures/optimizers.py --jobs 2`` reports the first two as
``survived`` and refutes the last two, each with a shrunk counterexample archived under
``reports/counterexamples/<name>/`` that ``ntpverify replay`` fails again.

Limit statements are stated in finite-step form (k steps, a tolerance), as a search can only check
those; "started on W^mm, stays on it" is the form that needs no rate constant. Directions are
compared through the part of W the logits see, ``C W P_H`` (``C`` removes each column's mean,
``P_H`` projects the rows onto ``span{h_j}``): W and ``C W P_H`` give the same softmax on every
context, and Adam, which keeps neither 𝟙ᵀW nor the null directions (it acts entrywise), would
otherwise be "refuted" by parts of W no prediction depends on.
"""

import numpy as np
from hypothesis import assume

import ntpverify as nv
from ntpverify.optim.optimizers import NGD, Adam, HeavyBall
from ntpverify.suite.strategies import instances

#: One-hot supports (P3's setting, where the literature claims L1–L3 live), small shapes.
ONE_HOT = instances(supports="one_hot", max_V=5, max_m=5, max_d=5)
#: The start: W^mm scaled to logit margins ≥ 20, where every off-support softmax mass is ≤ e^{-20}.
SCALE = 20.0
#: How far the direction may drift in STEPS steps: heavy ball's total displacement is at most
#: STEPS·η/(1 − β)·‖∇CE‖ with ‖∇CE‖ ≤ 2(V − 1)e^{-20}·max‖h_j‖ there, and 1 − cos is quadratic
#: in it (measured: ≤ 3.5e-11 over 209 drawn instances); Adam moves every entry by about lr per
#: step whatever the gradient's size (measured: up to 1.6e-2, above 1e-3 on 27% of them).
DRIFT_TOL = 1e-3
STEPS = 4000


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


def drift_from_w_mm(inst, optimizer):
    """``1 − cos(C W_k P_H, W^mm)`` after STEPS steps of ``optimizer`` from ``W_0 = SCALE·W^mm``."""
    W_mm = nv.w_mm(inst)
    assume(W_mm is not None)  # one-hot but not separable: no W^mm
    W = nv.optimize(inst, STEPS, optimizer, W0=SCALE * W_mm, checkpoints=[STEPS]).W
    drift = 1.0 - cosine(seen_by_logits(inst, W), W_mm)
    nv.target(drift, label="1 - cos(W_k, W_mm)")
    return drift


@nv.conjecture(strategy=ONE_HOT)
def heavy_ball_stays_on_w_mm(inst):
    """Heavy ball (η = 1/λ_max, β = 0.9) started on the W^mm direction (W_0 = 20·W^mm) stays on
    it: 1 − cos(W_k, W^mm) ≤ 1e-3 after 4000 steps on one-hot data. A finite-step consequence
    of claim L3 (W^mm is heavy ball's limit direction, like GD's) that needs no rate constant."""
    drift = drift_from_w_mm(inst, HeavyBall(nv.default_step(inst), 0.9))
    assert drift <= DRIFT_TOL, f"1 - cos(W_4000, W^mm) = {drift:.3e}"


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
def adam_tiny_eps_stays_on_w_mm(inst):
    """False: Adam with ε = 1e-16 (lr = 0.01/max‖h_j‖₁, β = (0.9, 0.999)) started on the W^mm
    direction stays on it, the statement heavy ball satisfies above (the paper's figure-5 remark
    says Adam shares GD's bias). Adam's step has size about lr in every entry however small the
    gradient: it moves W like sign descent, toward the ℓ∞ max-margin face (Zhang, Zou & Cao 2024)."""
    lr = 0.01 / float(np.abs(inst.embeddings).sum(axis=1).max())
    drift = drift_from_w_mm(inst, Adam(lr, eps=1e-16))
    assert drift <= DRIFT_TOL, f"1 - cos(W_4000, W^mm) = {drift:.3e}"


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
