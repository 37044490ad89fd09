"""Special cases of GD (theory.md §5): every context full-support (S3), and exactly one of the two
conditions (S4). Rounding models are those of :mod:`ntpverify.suite.checks.exact`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.core.model import loss_gap
from ntpverify.core.solution import solve
from ntpverify.core.status import Inconclusive
from ntpverify.optim.gd import gd
from ntpverify.suite.applicability import applies
from ntpverify.suite.checks.evidence import curvature_spectrum_F
from ntpverify.suite.checks.exact import Runner, as_matrix, bounded, step_size
from ntpverify.suite.checks.rounding import U, direct_step_rounding, gap_rounding
from ntpverify.suite.verdict import Verdict, first_failure, holds, inconclusive

#: D1's certificate ``(L, B_cert, q)`` as returned by ``core.gap.certified_gap_lower_bound``;
#: L and B_cert are used here (see :func:`certified_bound`).
GapBound = Callable[[Instance], tuple]


def contraction_bound(mu_F: float, eta: float, radius: float, h_max: float, n: int) -> float:
    """Factor by which n exact GD steps (η ≤ 1/L) shrink the distance to the minimizer set from
    within ``radius`` of it: ``(1 − ημ)^{n/2}`` with ``μ = μ_F e^{−√2·radius·h_max}``.

    Why: on the slice ``W⋆ + P_{F⊥}W_0 + F`` (GD never moves ``P_{F⊥}W``: the gradient lies in F) the
    ball of that radius is convex and GD stays in it (non-expansive). Logits there differ from
    ``W⋆h_j`` by Δ with ``max Δ − min Δ ≤ √2‖Δ‖ ≤ √2·radius·h_max``, so ``s_v ≥ e^{−√2·radius·h_max}
    p_v`` and ``Var_s ≥ e^{−…}Var_p``: CE is μ-strongly convex there. With L-smoothness and η ≤ 1/L,
    ``‖W⁺ − W*‖² ≤ (1 − ημ)‖W − W*‖²`` (the standard proof needs strong convexity on the segment
    to W* only)."""
    mu = mu_F * math.exp(-math.sqrt(2.0) * radius * h_max)
    return max(0.0, 1.0 - eta * mu) ** (0.5 * n)  # ημ ≤ ηL ≤ 1; rounding may cross 1 by an ulp


def check_S3(inst: Instance, W0: np.ndarray | Sequence | None = None, eta: float | None = None,
             steps: int = 100_000, run: Runner = gd) -> Verdict:
    """S3: with every ``|S_j| = V`` (and compatible): W^mm is undefined, ``CE(W⋆) = ℋ`` (the gap at
    W⋆ is zero to rounding), and GD converges in norm to ``W⋆ + P_{F⊥}(W_0)`` at a linear rate.

    The run uses the direct form, whose state is W itself: after checkpoint a every iterate has norm
    ``≤ ‖target‖ + dist_a`` (non-expansive), so each step deviates from the exact one by at most
    ``rounding.direct_step_rounding`` of that, and deviations are not amplified. Between consecutive
    checkpoints a < b: ``dist_b ≤ contraction_bound(dist_a)·dist_a + (b − a)·(that) + 2·target_error``,
    with ``target_error = (Vd + m)u·cond(F)·(‖W⋆‖ + ‖W_0‖)``, the first-order error of the SVD
    solve and the projection that build the target."""
    sol = solve(inst)
    if (gated := applies("S3", inst, sol)) is not None:
        return gated
    W0 = as_matrix(inst, W0)
    eta = step_size(inst, eta)
    Wstar = sol.W_star
    assert Wstar is not None  # compatible (gated above) ⇒ W⋆ is set
    gap_star = loss_gap(inst, Wstar)
    rhs = float(np.abs(sol.geometry.eq_rhs).max(initial=0.0))
    residual = (sol.compat.equation_residual or 0.0) * max(1.0, rhs)
    verdicts = [
        holds("S3", sol.mm.status.state == "undefined",
              f"W^mm status is {sol.mm.status.state!r}, expected undefined"),
        bounded("S3", gap_star, gap_rounding(inst, Wstar) + 2.0 * residual**2,
                "gap rounding (rounding.gap_rounding) + 2·(equation residual of W⋆)²", "CE(W⋆) − ℋ"),
    ]
    target = Wstar + W0 - sol.project_F(W0)
    s = np.linalg.svd(sol.geometry.A_eq, compute_uv=False)
    cond = float(s[0] / s[sol.F_dim - 1]) if sol.F_dim else 1.0
    size = inst.V * inst.d + inst.m
    target_error = size * U * cond * (float(np.linalg.norm(Wstar)) + float(np.linalg.norm(W0)))
    tr = run(inst, steps, eta=eta, W0=W0, solution=sol, form="direct")
    h_max = float(np.linalg.norm(inst.embeddings, axis=1).max())
    mu_F = float(curvature_spectrum_F(sol)[0])  # S3 draws full-support contexts: F ≠ {0}
    ks = sorted(tr.iterates)
    dist = {k: float(np.linalg.norm(tr.iterates[k] - target)) for k in ks}
    tnorm = float(np.linalg.norm(target))
    for a, b in zip(ks, ks[1:], strict=False):
        radius = dist[a] + target_error
        rounding = (b - a) * direct_step_rounding(inst, eta, tnorm + radius) + 2.0 * target_error
        bound = contraction_bound(mu_F, eta, radius, h_max, b - a) * dist[a] + rounding
        verdicts.append(bounded("S3", dist[b], bound, "strong convexity on F near W⋆ (μ_F = "
                                f"{mu_F:.3g}) and η ≤ 1/L; direct-form rounding",
                                f"‖W_k − W⋆ − P_F⊥(W_0)‖ at k = {b} from {dist[a]:.3g} at k = {a}"))
    return first_failure(verdicts)


def certified_bound(inst: Instance, gap_bound: GapBound | None) -> tuple[float, float]:
    """``(L, B_cert)`` from ``gap_bound`` (default ``core.gap.certified_gap_lower_bound``, D1):
    ``CE(W) − ℋ ≥ L − ‖W‖·L/(2B_cert)`` for every W (Gibbs' inequality with the moment residual
    ``‖r‖ = L/(2B_cert)``), hence ``≥ L/2`` on the ball ``‖W‖ ≤ B_cert``."""
    if gap_bound is None:
        from ntpverify.core.gap import certified_gap_lower_bound as gap_bound
    assert gap_bound is not None  # bound by the import above (mypy does not narrow on an import)
    L, B_cert = gap_bound(inst)[:2]
    return float(L), float(B_cert)


def check_S4(inst: Instance, W0: np.ndarray | Sequence | None = None, eta: float | None = None,
             steps: int = 100_000, gap_bound: GapBound | None = None, run: Runner = gd) -> Verdict:
    """S4: if exactly one of compatibility and separability holds, GD's gap stays above D1's
    certified bound at every checkpoint, ``CE(W_k) − ℋ ≥ L − ‖W_k‖·L/(2B_cert)``, and that bound is
    still ≥ L/2 > 0 at the last one (``‖W_k‖ ≤ B_cert``), so the gap does not tend to 0.

    The gap is the stable KL form; allowance ``gap_rounding(W_k)`` (rounding.gap_rounding)."""
    sol = solve(inst)
    if (gated := applies("S4", inst, sol)) is not None:
        return gated
    try:
        L, B_cert = certified_bound(inst, gap_bound)
    except Inconclusive as exc:
        return inconclusive("S4", f"certified gap bound: {exc.reason}")
    if not (L > 0.0 and B_cert > 0.0):
        return inconclusive("S4", f"the certified bound (L = {L!r}, B_cert = {B_cert!r}) certifies nothing")
    W0 = as_matrix(inst, W0)
    eta = step_size(inst, eta)
    tr = run(inst, steps, eta=eta, W0=W0, solution=sol)
    verdicts = []
    for k, Wk in sorted(tr.iterates.items()):
        gap = loss_gap(inst, Wk)
        floor = L * (1.0 - float(np.linalg.norm(Wk)) / (2.0 * B_cert))
        verdicts.append(bounded("S4", floor - gap, gap_rounding(inst, Wk), "gap rounding (rounding.gap_rounding)",
                                f"certified bound {floor!r} (L = {L!r}) minus CE(W_k) − ℋ = {gap!r} at k = {k}"))
    if float(np.linalg.norm(tr.W)) > B_cert:
        verdicts.append(inconclusive("S4", f"‖W_k‖ = {np.linalg.norm(tr.W):.3g} left the certified ball "
                                     f"B_cert = {B_cert:.3g}: the bound no longer keeps the gap open"))
    return first_failure(verdicts)
