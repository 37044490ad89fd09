"""C3–C7: the paper's figure-5 remark for optimizers beyond GD, and GD's large steps, on general NTP
instances (conjectures).

The paper (Thrampoulidis, arXiv 2402.18551, figure 5) remarks that normalized GD and Adam "exhibit
the same implicit bias [as GD]", and its footnote 8 anticipates the same for SGD: in theory.md
notation, ``P_F W_k → W⋆`` and ``W_k/‖W_k‖ → W^mm/‖W^mm‖``. Nothing is proved; these are
conjectures, and the measurements below refute some readings of them.

* C3 — NGD ``W − η g/‖g‖`` with a constant step: the F-part does **not** converge to W⋆. Once
  the off-support mass is small the gradient is dominated by its F-component (the in-support
  error, linear in ``P_F W_k − W⋆`` near the limit), and a step of fixed length η keeps crossing
  W⋆: ``‖P_F W_k − W⋆‖`` settles at a floor ``c·η`` (c > 0, instance-dependent). The check runs NGD
  at η and at η/2 over the same clock ηk and holds the floors' ratio to 2 (:func:`check_C3`).
* C4 — NGD's direction → W^mm (survives). With the F-part oscillating at its floor, most of each
  normalized step is spent in F, and ‖W_k‖ grows like GD's log k, not like ηk as on one-hot data
  (L2): the remark's "converge faster than GD" does not carry over to general NTP. The direction
  error is read at doublings and its limit bracketed between the 1/k and 1/log k fits
  (optim_limits.judge with ``Rate.fast``). Measured (400 draws, seed 4, factors 1, ½, ¼): 349 pass,
  1 inconclusive, 0 fail, 50 vacuous; largest observed 0.221 (e(2^18) on a slow draw, still falling
  8% per doubling).
* C6 — Adam's direction → W^mm with ε large (survives), the remark for Adam read with ε ≥ lr·λ_max
  (λ_max = model.smoothness_bound = 1/default_step). Once ``|g| ≪ ε``, Adam's update is
  ``(lr/ε)·m``, m an exponential average of gradients: heavy ball at the effective step
  ``lr/ε ≤ 1/λ_max``, stable, so its direction takes L3's rate (1 − cos ≈ a + C/log² k).
  Which reading: measured on 74 draws (seed 5 of GD_REGIMES, compatible and separable), lr =
  sign_step × 1, ½, ¼, β = (0.9, 0.99), 2^18 steps, every run resolved: with ε = κ·lr·λ_max, κ = 1
  and 4 (444 runs), e(2^18) ≤ 0.259, never growing at κ = 1, and the a + C/log² k fits through
  2^16, 2^17, 2^18 miss e(2^16) by ≤ 10.2% and extrapolate |a| ≤ 0.088 (C6_MEASURED; most a < 0:
  faster than 1/log² k). With ε = 1e-12 (Adam sign-like throughout, Zhang, Zou & Cao 2024's regime
  on one-hot data) the direction error grows over the last doubling in 31–32 of 74 draws per lr
  factor, its 1/log² k fits extrapolate up to 0.82, and the ℓ∞ gap ``1 − γ∞(W_k)/γ∞*`` is 0.35–0.38
  (median; max 0.77) at 2^18: neither W^mm nor the ℓ∞ face at this budget, so only the ε-large
  reading is claimed. Search (``python -m ntpverify.suite.checks.optim_conjectures C6 1 400``, κ = 1,
  lr factor 1): no refutation in 400 draws (340 pass, 60 rejected by the gate).
  Thorough property run (1000 examples, κ ∈ {1, 4}, lr factors 1, ½, ¼): 995 pass, 5 inconclusive
  (fits not yet following a + C/log k at lr factor ¼), 0 fail.
* C7 — GD with ``η = c/L``, c ≫ 1 (L = λ_max/2: default_step = 1/(2L)), does **not** reach the
  entropy once ``ηλ_F⁺ > 2``, λ_F⁺ the largest curvature of CE on F at the limit
  (:func:`top_curvature_F`, ≤ L): W⋆ is then an unstable fixed point of the F-part, which settles
  on a period-2 or chaotic orbit with ``CE − ℋ`` of order 0.01–50 nats. The large-step result for
  separable logistic regression (Wu, Bartlett, Telgarsky & Yu 2024: any constant step converges,
  F = {0}) does not carry over. Measured (150 draws each of seeds 5 and 6, F ≠ {0}, c = 1, 4, 16,
  64, K = 2^14 and 2^16): the ratio r of the gap's maxima over ``[K/2, K]`` and ``[K/4, K/2)`` is
  ≥ 0.604 on all 302 runs with ηλ_F⁺ ≥ 2.5 whose F-part is not pinned at W⋆ (C7_MEASURED; a
  ``1/(ηk)`` decay has r = ½); no run overflowed; 12 kept ``P_F W_k = W⋆`` to rounding (the
  unstable mode never excited: vacuous). Below the edge GD can fail too: of 147 runs with
  ηλ_F⁺ ≤ 1.5, 145 have r ≤ 0.68 at 2^14 (≤ 0.53 at 2^16) but two have r = 0.90–0.94, and one
  instance at ηλ_F⁺ = 1.67 has r = 0.98–0.99 (a coexisting attracting orbit): the edge is
  sufficient, not necessary; between 2 and 2.5 the
  orbit's amplitude ∝ √(ηλ_F⁺ − 2) is small and its transient long, not judged. Search (``… C7 1``,
  c = 16): shrunk to V = 3, m = d = 1, h = 1, p = (½, ½, 0): η = 32, ηλ_F⁺ = 16, the gap's window
  maxima 6.23 and 6.58 nats (reports/counterexamples/C7).
  Thorough property run (1000 examples, c ∈ {4, 16, 64}): 626 pass, 374 vacuous, 0 inconclusive, 0 fail.

C3 measured (600 random draws of ``strategies.instances(regime=GD_REGIMES)``, η factors 1, ½, ¼,
seed 2; 369 pass, 229 vacuous (F = {0} or a condition fails), 2 inconclusive: a slow transient
not settled by 2^19): ``|log₂(f(η)/f(η/2)) − 1|`` ≤ 0.213 (99% ≤ 0.129); the shared cases give
f/η = 0.22 (A, B), 0.50 (C), 0.35 (D), 0.25 (H) at factors 1, ½, ¼ alike. At factor 2 one draw
(m = 1, V = 6) had ratio 2.55: the floor is c·η + O(η²), so the property draws factors ≤ 1.
Where the F-part is decoupled from the margins (orthogonal embeddings, every multi-token context
full-support) NGD reaches W⋆ to rounding (c = 0, a pass); one draw kept W⋆ exactly at η/2 and left
it at η (the kept point unstable at the larger step): inconclusive, there is no ratio to read.

The remark's counterexamples are the conjecture's witnesses: :func:`search` (``python -m
ntpverify.suite.checks.optim_conjectures C3 SEED``; C7 likewise; for C6 a witness would be a fail)
shrinks a drawn instance on which the check passes with c > 0 and archives it; ``ntpverify
replay`` re-runs the check on it and reports "now holds" — the refutation still holds — so the archive regression set
(properties/test_archive_regression.py) keeps it: a replay that fails would mean NGD's F-part
now converges there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.core.model import loss_gap, smoothness_bound
from ntpverify.core.solution import Solution
from ntpverify.optim.optimizers import GD, NGD, Adam, Optimizer, OptimizerDivergence, optimize
from ntpverify.suite.checks.evidence import DISTANCE_FLOOR, curvature_spectrum_F, misalignment, solved
from ntpverify.suite.checks.optim_limits import RATES, Rate, ngd_step, run_and_judge, sign_step
from ntpverify.suite.verdict import Verdict, holds, inconclusive, vacuous, within

#: Steps of the first run at η (the run at η/2 takes twice as many: the same clock ηk); doubled
#: until both floors are settled, up to MAX_STEPS.
STEPS = 1 << 15
MAX_STEPS = 1 << 19
#: A floor is settled when ``‖P_F W_k − W⋆‖`` at K/2 and K differ by at most this fraction of the
#: value at K (measured: once settled the floors move by < 1% per doubling; the transient of
#: example C at η/4 still moves 10% at 2^15).
SETTLE = 0.05
#: C3's tolerance on ``|log₂(f(η)/f(η/2)) − 1|`` (f the settled floor): a floor ∝ η has 0.
#: Measured max over the drawn cases: see C3_MEASURED.
C3_MEASURED = 0.213
C3_TOL = 2 * C3_MEASURED


def solved_on_F(inst: Instance, claim: str, why: str) -> Solution | Verdict:
    """evidence.solved, and ``vacuous`` (``why``) where F = {0}: the F-part claims' gate."""
    sol = solved(inst, claim)
    if isinstance(sol, Solution) and sol.F_dim == 0:
        return vacuous(claim, f"F = {{0}}: {why}")
    return sol


def F_distance(sol: Solution, W: np.ndarray, W_star: np.ndarray) -> float:
    """``‖P_F W − W⋆‖`` (Frobenius)."""
    return float(np.linalg.norm(sol.project_F(W) - W_star))


def floors(inst: Instance, sol: Solution, optimizer: Optimizer, steps: int,
           W_star: np.ndarray) -> tuple[float, float]:
    """``(‖P_F W_{K/2} − W⋆‖, ‖P_F W_K − W⋆‖)`` of a run of ``steps = K`` steps from 0."""
    tr = optimize(inst, steps, optimizer, checkpoints=[steps // 2, steps])
    return F_distance(sol, tr.iterates[steps // 2], W_star), F_distance(sol, tr.iterates[steps], W_star)


def check_C3(inst: Instance, steps: int = STEPS, eta_factor: float = 1.0, max_steps: int = MAX_STEPS, *,
             W_star: np.ndarray | None = None, optimizer: Callable[[float], Optimizer] | None = None) -> Verdict:
    """C3: NGD with a constant step η keeps its F-part at a floor ∝ η: the floors
    ``f(η) = ‖P_F W_K − W⋆‖`` of the runs at η (K steps) and η/2 (2K steps, the same clock ηK), K =
    ``steps`` doubled up to ``max_steps`` until both are settled, are
    settled (:data:`SETTLE`), above rounding, and ``|log₂(f(η)/f(η/2)) − 1| ≤`` :data:`C3_TOL`.
    ``W_star`` overrides the limit and ``optimizer`` (a function of the step) the method: negative
    controls. Vacuous where F = {0} (one-hot: P_F W = 0 = W⋆)."""
    sol = solved_on_F(inst, "C3", "P_F W_k = 0 = W⋆ for every W_k")
    if isinstance(sol, Verdict):
        return sol
    assert sol.W_star is not None  # compatible, by the gate
    target = sol.W_star if W_star is None else np.asarray(W_star, dtype=float)
    make = NGD if optimizer is None else optimizer
    eta = ngd_step(inst, eta_factor)
    K = steps
    while True:
        try:
            runs = {"η": floors(inst, sol, make(eta), K, target),
                    "η/2": floors(inst, sol, make(eta / 2), 2 * K, target)}
        except OptimizerDivergence as exc:
            return holds("C3", False, f"the run diverged: {exc}")
        detail = ", ".join(f"f({name}) at K/2, K = {a:.4g}, {b:.4g}" for name, (a, b) in runs.items())
        detail = f"NGD floors of ‖P_F W_k − W⋆‖ (η = {eta!r}, K = {K}): {detail}"
        moving = [name for name, (half, last) in runs.items() if abs(half - last) > SETTLE * last]
        if not moving or 2 * K > max_steps:
            break
        K *= 2
    rounding = DISTANCE_FLOOR * max(1.0, float(np.linalg.norm(target)))
    at_rounding = [name for name, (_, last) in runs.items() if last <= rounding]
    if len(at_rounding) == 2:
        return within("C3", 0.0, C3_TOL, f"{C0_SOURCE}: both floors at rounding (1e-12·max(1, ‖W⋆‖))",
                      f"{detail}: the F-part reaches W⋆ at both steps (c = 0, the remark holds here)")
    if at_rounding:
        return inconclusive("C3", f"{detail}: only f({at_rounding[0]}) is at rounding (P_F W_k = W⋆ is kept "
                                  "at one step and left at the other): no ratio")
    if moving:
        return inconclusive("C3", f"{detail}: f({moving[0]}) not settled (moves > {SETTLE:g} per doubling) "
                                  f"by K = {K}: budget too short")
    ratio = runs["η"][1] / max(runs["η/2"][1], rounding)
    return within("C3", abs(math.log2(ratio) - 1.0), C3_TOL,
                  f"floor ∝ η: |log₂ ratio − 1| ≤ {C3_TOL:g} (measured max {C3_MEASURED:.3g})",
                  f"{detail}; ratio {ratio:.4g}")



# --- C4: NGD's direction --------------------------------------------------------------------------

#: Steps of C4's run (float64 resolves every measured run to here: partial-support contexts keep an
#: off-support mass ≥ 1e-7 at 2^20, because NGD's ‖W_k‖ grows like log k on general NTP).
DIRECTION_STEPS = 1 << 18
#: C4's slowest rate: ‖W_k‖ grows like GD's log k once the F-part oscillates at its floor (measured
#: on the shared cases: +1.1 per doubling from 2^10 to 2^20), so 1 − cos(W_k, W^mm) may decay like
#: 1/log k. Measured (400 draws, seed 3, 359 with 3 resolved doublings): e(2^18) ≤ 0.37 (95% ≤ 0.16),
#: the 1/log k fit's limit ≤ 0.115 (most negative: faster than 1/log k at the end).
C4_MEASURED = 0.115
C4_SHAPE = ("a + C/log k", lambda k: 1.0 / math.log(k))  # toward W^mm and toward another limit alike
#: The fastest decay the pass side allows for: 1/k (a normalized method's margin rate, L1/L2).
FAST = ("a + C/k", lambda k: 1.0 / k)
C4_RATE = Rate(C4_SHAPE, C4_SHAPE, 2 * C4_MEASURED,
               f"NGD on general NTP: limit of 1 − cos(W_k, W^mm) ≤ 2 × the measured max ({C4_MEASURED:.3g}) "
               "of its 1/log k fits, bracketed by the 1/k and 1/log k fits", fast=FAST)

#: ``1 − cos`` below this is rounding (misalignment keeps relative accuracy; directions computed
#: from iterates of norm ~10 agree to ~1e-15, squared in 1 − cos).
ROUNDING = 1e-12


def _misalignment(W: np.ndarray, target: np.ndarray) -> float:
    """``1 − cos(W, target)``, 1 at ``W = 0`` (no direction yet)."""
    value = misalignment(W, target)
    return 1.0 if value is None else value


def check_C4(inst: Instance, steps: int = DIRECTION_STEPS, eta_factor: float = 1.0, *,
             limit: np.ndarray | None = None, optimizer: Optimizer | None = None) -> Verdict:
    """C4: NGD's direction from 0 tends to W^mm on general NTP: the limit of ``1 − cos(W_k, W^mm)``
    along ``a + C/log k`` is within :data:`C4_RATE`'s tolerance (``limit`` and ``optimizer``
    override the claimed limit and the method: negative controls)."""
    sol = solved(inst, "C4")
    if isinstance(sol, Verdict):
        return sol
    target = sol.W_mm if limit is None else np.asarray(limit, dtype=float)
    assert target is not None  # certified by solved()
    opt = NGD(ngd_step(inst, eta_factor)) if optimizer is None else optimizer
    return run_and_judge("C4", C4_RATE, inst, opt, steps, lambda W: _misalignment(W, target), "1 − cos(W_k, W^mm)",
                         0.0, ROUNDING)


# --- C6: Adam's direction, ε large ----------------------------------------------------------------

#: Adam's moment parameters: the paper's App. A.2 (β₁, β₂) = (0.9, 0.99).
ADAM_BETAS = (0.9, 0.99)
#: Steps of C6's run (every measured run is resolved to here: off-support mass ≥ 1e-8 at 2^18).
ADAM_STEPS = 1 << 18
#: C6's largest extrapolated |a| along a + C/log² k: 0.088 over the 414 runs with e(K) > 0 of 74 draws
#: (seed 5 of the GD regimes) × lr factors 1, ½, ¼ × ε factors 1, 4 (module docstring); twice that.
C6_MEASURED = 0.088
C6_RATE = Rate(RATES["L3"].near, RATES["L3"].far, 2 * C6_MEASURED,
               "Adam with ε ≥ lr·λ_max is heavy ball at step lr/ε ≤ 1/λ_max once |∇CE| ≪ ε, so 1 − cos takes "
               f"L3's a + C/log² k; tolerance 2 × the measured max |a| ({C6_MEASURED:.3g})")


def adam(inst: Instance, eta_factor: float = 1.0, eps_factor: float = 1.0) -> Adam:
    """Adam at ``lr = optim_limits.sign_step(inst, eta_factor)`` (its steps are sign-like while
    ``|g| ≫ ε``) with ``ε = eps_factor·lr·λ_max`` (λ_max = model.smoothness_bound = 1/default_step):
    once ``|g| ≪ ε`` it is heavy ball at the effective step ``lr/ε = default_step/eps_factor``."""
    lr = sign_step(inst, eta_factor)
    return Adam(lr, *ADAM_BETAS, eps=eps_factor * lr * smoothness_bound(inst))


def check_C6(inst: Instance, steps: int = ADAM_STEPS, eta_factor: float = 1.0, eps_factor: float = 1.0, *,
             limit: np.ndarray | None = None, optimizer: Optimizer | None = None) -> Verdict:
    """C6: Adam with ``ε = eps_factor·lr·λ_max``, ``eps_factor ≥ 1`` (:func:`adam`), from 0, has
    ``W_k/‖W_k‖ → W^mm/‖W^mm‖`` on general NTP: the limit of ``1 − cos(W_k, W^mm)`` along
    ``a + C/log² k`` (else ``a + C/log k``), optim_limits.judge, is within :data:`C6_RATE`'s
    tolerance. ``limit`` and ``optimizer`` override the limit and the method (negative controls);
    ``eps_factor < 1`` is outside the hypothesis (vacuous)."""
    if eps_factor < 1.0:
        return vacuous("C6", f"eps_factor = {eps_factor!r} < 1: ε < lr·λ_max, outside C6's hypothesis")
    sol = solved(inst, "C6")
    if isinstance(sol, Verdict):
        return sol
    target = sol.W_mm if limit is None else np.asarray(limit, dtype=float)
    assert target is not None  # certified by solved()
    opt = adam(inst, eta_factor, eps_factor) if optimizer is None else optimizer
    return run_and_judge("C6", C6_RATE, inst, opt, steps, lambda W: _misalignment(W, target), "1 − cos(W_k, W^mm)",
                         0.0, ROUNDING)


# --- C7: GD past the F-part's edge of stability -----------------------------------------------------

#: Steps of C7's run: every measured orbit past the edge is settled by 2^14 (the window ratios at 2^14
#: and 2^16 agree, module docstring).
LARGE_STEP_STEPS = 1 << 16
#: C7's hypothesis: ``ηλ_F⁺ ≥ EDGE`` (linear instability needs > 2; the margin keeps the draws whose
#: period-2 orbit has a visible amplitude, ∝ √(ηλ_F⁺ − 2), and a transient shorter than the run).
EDGE = 2.5
#: Checkpoints per window: the gap's maximum over ``[K/4, K/2)`` and ``[K/2, K]`` at this many points.
WINDOW = 32
#: The smallest window-maximum ratio ``r = M(K/2, K)/M(K/4, K/2)`` measured past the edge: 0.604 (302
#: non-kept draws with ηλ_F⁺ ≥ 2.5, seeds 5 and 6, c = 1, 4, 16, 64, at 2^14 and 2^16). A gap decaying
#: like 1/(ηk), as below the edge, has r = ½; the tolerance is 0.9 × the measured min, above ½.
C7_MEASURED = 0.604
C7_RATIO = 0.9 * C7_MEASURED
C7_SOURCE = (f"the gap's window maximum does not decay: r ≥ {C7_RATIO:.3g} = 0.9 × the measured min "
             f"{C7_MEASURED:.3g} (1/(ηk) decay: r = ½); observed 1 − r")


def top_curvature_F(sol: Solution) -> float:
    """``λ_F⁺ = λ_max`` of ``∇²CE`` restricted to F at the limit (evidence.curvature_spectrum_F).
    GD's F-part has W⋆ as a linearly unstable fixed point when ``ηλ_F⁺ > 2``."""
    return float(curvature_spectrum_F(sol)[-1])


def window_maxima(inst: Instance, sol: Solution, optimizer: Optimizer, K: int,
                  W_star: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """``(M₁, M₂)`` of ``CE − ℋ`` and of ``‖P_F W_k − W⋆‖``: their maxima over :data:`WINDOW` points of
    ``[K/4, K/2)`` and of ``[K/2, K]`` (a window, not a checkpoint: a chaotic orbit's samples dip)."""
    first = [K // 4 + i * (K // 4) // WINDOW for i in range(WINDOW)]
    second = [K // 2 + i * (K // 2) // WINDOW for i in range(WINDOW + 1)]
    tr = optimize(inst, K, optimizer, checkpoints=first + second)
    gap = [loss_gap(inst, tr.iterates[k]) for k in first + second]
    dist = [F_distance(sol, tr.iterates[k], W_star) for k in first + second]
    return (max(gap[:WINDOW]), max(gap[WINDOW:])), (max(dist[:WINDOW]), max(dist[WINDOW:]))


def check_C7(inst: Instance, steps: int = LARGE_STEP_STEPS, c: float = 16.0, *,
             optimizer: Optimizer | None = None, curvature: float | None = None) -> Verdict:
    """C7: GD with the constant step ``η = c/L`` (L = smoothness_bound/2, the bound behind
    default_step = 1/(2L)) and ``ηλ_F⁺ ≥`` :data:`EDGE` (:func:`top_curvature_F`) does not reach
    the entropy: the maximum of ``CE(W_k) − ℋ`` over ``[K/2, K]`` is at least :data:`C7_RATIO` × its
    maximum over ``[K/4, K/2)``. ``fail`` if it is not and the F-part's window maximum fell too (the
    run converges); inconclusive if only the gap's fell. Vacuous for F = {0} (one-hot: the large-step
    literature's setting), below the edge, or where ``P_F W_k = W⋆`` to rounding over the window (the
    unstable mode is not excited). ``optimizer`` overrides the run and ``curvature`` λ_F⁺ (negative
    controls)."""
    sol = solved_on_F(inst, "C7", "no F-part to destabilize (one-hot: Wu et al. 2024's setting)")
    if isinstance(sol, Verdict):
        return sol
    assert sol.W_star is not None  # compatible, by the gate
    L = 0.5 * smoothness_bound(inst)
    lam = top_curvature_F(sol) if curvature is None else float(curvature)
    eta = c / L
    opt = GD(eta) if optimizer is None else optimizer
    edge = f"ηλ_F⁺ = {eta * lam:.4g} (η = {c!r}/L = {eta!r}, λ_F⁺ = {lam:.4g})"
    if eta * lam < EDGE:
        return vacuous("C7", f"{edge} < {EDGE}: below C7's edge of stability")
    try:
        (g1, g2), (d1, d2) = window_maxima(inst, sol, opt, steps, sol.W_star)
    except OptimizerDivergence as exc:
        return inconclusive("C7", f"{edge}: {opt!r} left float64's range ({exc}): the F-part does not converge, "
                                  "but the gap cannot be read")
    rounding = DISTANCE_FLOOR * max(1.0, float(np.linalg.norm(sol.W_star)))
    detail = (f"{edge}; {opt!r}, K = {steps}: max CE − ℋ over [K/4, K/2), [K/2, K] = {g1:.4g}, {g2:.4g}; "
              f"max ‖P_F W_k − W⋆‖ = {d1:.4g}, {d2:.4g}")
    if max(d1, d2) <= rounding:
        return vacuous("C7", f"{detail}: P_F W_k = W⋆ to rounding over the window, the unstable mode is not excited")
    r = g2 / g1 if g1 > 0.0 else 1.0
    if r < C7_RATIO and d2 >= C7_RATIO * d1:
        return inconclusive("C7", f"{detail}: the gap's window maximum fell (r = {r:.3g}) but the F-part's did not: "
                                  "an excursion of the orbit, budget too short")
    return within("C7", 1.0 - r, 1.0 - C7_RATIO, C7_SOURCE, f"{detail}; r = {r:.4g}")


# --- the search for shrunk counterexamples to the remark ---------------------------------------------

#: A C3 pass with a ratio (not the c = 0 branch) is a counterexample to the remark's reading
#: ``P_F W_k → W⋆`` for NGD at a constant step.
C0_SOURCE = "c = 0"


#: The search's module, by name (``__name__`` is ``__main__`` when it runs as a script).
MODULE = "ntpverify.suite.checks.optim_conjectures"


@dataclass(frozen=True)
class Refutation:
    """How the search for a counterexample to the remark runs for one conjecture: the check's
    params, which verdicts are counterexamples to the remark, and the remark's reading refuted."""

    params: dict[str, Any]
    refutes: Callable[[Verdict], bool]
    remark: str


REFUTATIONS: dict[str, Refutation] = {
    "C3": Refutation({"eta_factor": 1.0}, lambda v: v.outcome == "pass" and not v.source.startswith(C0_SOURCE),
                     "figure 5: NGD 'exhibits the same implicit bias' as GD, read as P_F W_k → W⋆ at a constant step"),
    # a C6 fail: Adam with ε large leaves W^mm
    "C6": Refutation({"eta_factor": 1.0, "eps_factor": 1.0}, lambda v: v.outcome == "fail",
                     "figure 5: Adam 'exhibits the same implicit bias' as GD, read as W_k/‖W_k‖ → W^mm "
                     "with ε ≥ lr·λ_max"),
    # a C7 pass: GD past the edge keeps the gap open
    "C7": Refutation({"c": 16.0}, lambda v: v.outcome == "pass",
                     "large steps still reach the entropy (Wu, Bartlett, Telgarsky & Yu 2024, one-hot), read for "
                     "general NTP at η = 16/L"),
}


def search(claim_id: str, seed: int, examples: int, refutations: dict[str, Refutation] | None = None,
           module: str = MODULE) -> Path | str:
    """Find the minimal (shrunk) drawn instance on which ``claim_id``'s check refutes the remark
    (``refutations``, default :data:`REFUTATIONS`; sgd_conjectures passes its own, with its
    ``module`` for the archived command) with Hypothesis under the ``search`` profile, seeded, and
    archive it (archive.write; ``ntpverify replay`` re-runs the check: a pass, the refutation holds,
    for C3, C5 and C7; a fail for C6). Where no draw refutes it, the outcome counts of the draws
    tried, as text."""
    import random
    from collections import Counter

    from hypothesis import find, settings
    from hypothesis.errors import NoSuchExample

    from ntpverify.suite import archive, claims, profiles
    from ntpverify.suite import strategies as nst
    from ntpverify.suite.applicability import applies

    how = (REFUTATIONS if refutations is None else refutations)[claim_id]
    claim = claims.get(claim_id)
    check = claim.checker()
    tried = [0]
    outcomes: Counter[str] = Counter()

    def counterexample(inst: Instance) -> bool:
        tried[0] += 1
        if applies(claim_id, inst) is not None:
            outcomes["rejected by the gate"] += 1
            return False
        verdict = check(inst, **how.params)
        outcomes[verdict.outcome] += 1
        return how.refutes(verdict)

    profiles.register()
    try:
        found = find(nst.instances(regime=("generic_wide", "orthogonal", "integer_grid")), counterexample,
                     settings=settings(settings.get_profile("search"), max_examples=examples, database=None),
                     random=random.Random(seed))
    except NoSuchExample:
        counts = ", ".join(f"{n} {name}" for name, n in sorted(outcomes.items()))
        return (f"{claim_id} survives ({how.remark}): no refutation in {tried[0]} draws (seed {seed}, "
                f"{examples} examples): {counts}")
    verdict = check(found, **how.params)
    return archive.write({**claim.to_dict(), "tolerance": claim.tolerance}, verdict, found, how.params,
                         hypothesis={"profile": "search", "seed": str(seed), "examples": tried[0],
                                     "refutes": how.remark,
                                     "command": f"python -m {module} {claim_id} {seed} {examples}"})


if __name__ == "__main__":
    import sys

    print(search(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 200))
