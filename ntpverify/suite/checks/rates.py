"""Conjectures about GD's rates (theory.md §6, measured, not in the paper): C1 and C2.

Everything here is a **conjecture**: the paper proves no rates; the catalogue files C1 and C2 as
``conjecture`` and the properties live apart, in properties/test_rates.py. The checks reuse the
doubling runs of evidence.py (budget raised to ``20 T``, T of evidence.transient_steps;
inconclusive while still inside it) and look at the last ``WINDOW`` doublings (a factor 8 in k):

* C1: the log-log slopes of ``CE(W_k) − ℋ`` and of ``‖P_F W_k − W⋆‖`` against k (least squares
  over the ``WINDOW + 1`` checkpoints), which theory.md §6 measured at ``−1``.
* C2: ``W_k = W⋆ + W^mm log(ηk) + ρ_k`` with ``ρ_k`` bounded and convergent. Per doubling
  ``k_{i+1} → k_i`` with ``λ_i = log(k_i/k_{i+1})``: the remainder's increment
  ``δ_i = ‖D_i/λ_i − W^mm‖/‖W^mm‖`` (``D_i = W_{k_i} − W_{k_{i+1}}``) tends to 0, and with it the
  increment ratio ``(‖P_{F⊥}W_{k_i}‖ − ‖P_{F⊥}W_{k_{i+1}}‖)/(‖W^mm‖ λ_i)`` to 1.

A conjecture may be false, so a fail must be decisive: it is declared only from
``FAIL_TRANSIENT_MULT`` = 100 transients on with the F-part settled (evidence.Run.settled), where
the measured values leave a margin; before that an out-of-band value is inconclusive.

Measurements (the 730 compatible, separable draws of evidence.py's docstring, doubling runs to
2^21 steps, every window from ``K = 2^9``; T = max(1/(η μ_F), 1/(η min π_j ‖h_j‖²))):

* Slopes over the 6572 settled windows with ``K ≥ 100 T``: gap ≤ −0.73, F-distance ≤ −0.75 (both
  ≤ −0.5 = SLOPE_MAX). At ``K ≥ 20 T`` they reach −0.39 and −0.29 (inconclusive, not fail). Before
  the second time scale was added (T = 1/(η μ_F) alone) a one-hot draw with ``π_min = 0.0046`` had a
  gap slope of −0.46 at 4096 steps "past 100 T": the loss gap's transient is also set by the
  slowest context's clock ``1/(η π_j ‖h_j‖²)``, not only by the curvature on F.
* Slopes far below −1 are genuine and not an error: the F-distance reached −12.5 (draws of
  orthogonal embeddings whose multi-token contexts all have full support: nothing couples F to a
  margin, so ``P_F W_k → W⋆`` exponentially), and the gap −1.72 at ``K ≥ 100 T`` (an exponentially
  decaying full-support part still dominating). theory.md §6's "decays like 1/(ηk)" is false as a
  two-sided statement for the F-distance; C1 holds both quantities to "at least like 1/(ηk)".
* The envelope (derived here, not in theory.md): along W^mm, ``⟨∇CE(W), W^mm⟩ = −Σ_j π_j Σ_{v∉S_j}
  s_jv (w^mm_{a_j} − w^mm_v)ᵀh_j`` once the F-part fits W⋆, which is ``−(CE − ℋ)`` to leading order
  (only margins equal to 1 survive at order ``1/(ηk)``). With ``⟨W_k, W^mm⟩ = ‖W^mm‖² log(ηk) + O(1)``
  (theory.md §6) the GD step gives ``ηk (CE(W_k) − ℋ) → ‖W^mm‖²``. Measured at 2^17–2^20 steps: 0.9986–
  1.0034 on cases A, B, D, H, I and 0.875–0.889 on C (still approaching).
* Plateaus: in thorough runs (seed 101) Hypothesis found an integer-grid instance (V = 3, one
  context with support {0, 1}, three full-support contexts, T = 8.3·10³) whose gap sits at 2.86e-8
  from k = 6.6·10⁴ to 10⁸ (``ηk (CE − ℋ)/‖W^mm‖²`` = 0.004 at 10⁶), and ``‖P_F W_k − W⋆‖`` at 3.8e-5,
  while ``‖P_{F⊥} W_k‖`` grows by 0.6 over those three decades instead of ``‖W^mm‖ log 1500 = 10``:
  the early transient drove the off-support mass far *below* the envelope, and the log-growth (and
  with it the 1/(ηk) decay) waits until ``ηk`` catches up with ``‖W^mm‖²/(CE − ℋ)``; it resumes at
  1.3·10⁸. Such a run is below the envelope, so it contradicts nothing C1 states, but its slope
  decides nothing either: a slope above SLOPE_MAX fails only with ``ηK (CE − ℋ)/‖W^mm‖² ≥
  ENVELOPE_MIN``, and is inconclusive below it, with the step at which the envelope is reached.
* Dips of the F-distance: in the thorough run with seed 12 a generic_wide draw (V = 3, m = 5,
  T = 1.9·10³) had ``‖P_F W_k − W⋆‖`` = 5.8e-5, 9.0e-5, 7.3e-5, 4.9e-5 at k = 2^17 … 2^20 (window
  slope −0.05), then halving per doubling to 7.3e-7 at 2^27, while its gap decayed like 1/(ηk)
  throughout; its shrunk neighbours had window slopes near −0.4 with the last doubling as slow. Past
  the transient the F-error is driven by the off-support mass: writing ``∇CE = Σ_j π_j (s_j − p_j)
  h_jᵀ``, the part not due to the in-support error is at most ``2 q_j`` per context in norm, and
  ``Σ_j π_j q_j ≤ CE − ℋ`` (``KL ≥ −log(1 − q) ≥ q``), so quasi-statically ``‖P_F W_k − W⋆‖ ≤
  D_k = 2 max_j‖h_j‖ (CE(W_k) − ℋ)/μ_F`` to leading order: the F-distance decays at least like the
  gap wherever it is below D_k, whatever its local slope (vectors from several contexts cancel and
  un-cancel). Measured ``‖P_F W_k − W⋆‖/D_k`` at 2^13–2^22 steps: 0.28–0.39 on cases A–D, 0.009 on
  H, 0.001–0.013 on the dip above. The distance's slope therefore fails only above
  ``FORCING_MAX · D_K``, and is inconclusive below it.
* C2 at ``K/T ≥ 100`` (first 367 draws): increment ratio 1%–99% 0.975–1.026, extremes 0.895 and
  1.408; δ ≤ 0.41 (median 0.002). The ratio is not tested against a fixed 10%: on the slow draw
  of evidence.py it creeps up (0.879, 0.886, 0.895 at 2^18, 2^19, 2^20), as ``ρ_k → ρ_∞`` like
  ``k^{−c}`` with small c predicts; ``|ratio − 1| ≤ δ`` holds by the triangle inequality, so the
  remainder contest covers it. Largest ``min_window δ(W^mm)/δ(rival)`` over all draws and budgets:
  2.5 (FAIL_RATIO is 10).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.optim.gd import gd
from ntpverify.suite.checks.evidence import (
    DEFAULT_STEPS,
    ROUNDING_FLOOR,
    WINDOW,
    Descent,
    Evidence,
    Run,
    claimed,
    competitors_of,
    contest,
    curvature_F,
    distance_floor,
    evidence,
    loss_gaps,
    run,
    solved,
    solved_with_rivals,
)
from ntpverify.suite.checks.measures import relative_distance
from ntpverify.suite.verdict import Verdict, first_failure, inconclusive, within

#: C1's bound on the log-log slopes: the measured −1 with the catalogue's tolerance 0.5, one-sided:
#: faster decay (exponentially decaying parts) is allowed, see the module docstring.
SLOPE_MAX = -0.5
#: Fails of a conjecture need ``K ≥`` this × T: the measured slopes sit below SLOPE_MAX from 100 T on
#: (gap ≤ −0.97, distance ≤ −0.75), while at 20–50 T a distance slope of −0.39 was seen.
FAIL_TRANSIENT_MULT = 100.0
#: A slope above SLOPE_MAX fails only if ``ηK (CE(W_K) − ℋ) ≥ ENVELOPE_MIN ‖W^mm‖²``: derived limit 1,
#: measured ≥ 0.87 on the shared cases at 2^17–2^20 steps, 0.004 on the plateau (module docstring).
ENVELOPE_MIN = 0.5
#: The F-distance's slope fails only with ``‖P_F W_K − W⋆‖ > FORCING_MAX · D_K``: the derived
#: leading-order bound is D_K itself (module docstring), measured ratios ≤ 0.39.
FORCING_MAX = 1.0


def decisive(r: Run) -> bool:
    """A conjecture's fail may be declared only this far past the transient, with the F-part
    settled (:attr:`Run.settled`)."""
    return r.ks[0] >= FAIL_TRANSIENT_MULT * r.transient and r.settled


def loglog_slope(ks: tuple[int, ...], values: np.ndarray) -> float:
    """Least-squares slope of ``log values`` against ``log k`` over the window's checkpoints."""
    x = np.log(np.asarray(ks[: WINDOW + 1], dtype=float))
    y = np.log(np.asarray(values[: WINDOW + 1], dtype=float))
    return float(np.polyfit(x, y, 1)[0])


def slope_verdict(claim: str, what: str, values: np.ndarray, r: Run, undecided: str | None) -> Verdict:
    """``pass`` iff the window's log-log slope of ``values`` is ≤ ``SLOPE_MAX`` past the transient; a
    slower decay fails, unless ``undecided`` says why this run cannot decide (then inconclusive)."""
    slope = loglog_slope(r.ks, values)
    where = f"log-log slope of {what} over k ∈ [{r.ks[WINDOW]}, {r.ks[0]}] is {slope:.4g}"
    if not r.past_transient:
        return inconclusive(claim, r.transient_reason())
    if slope > SLOPE_MAX and undecided:
        return inconclusive(claim, f"{undecided}: {where}")
    return within(claim, slope + 1.0, SLOPE_MAX + 1.0, "conjecture (theory.md §6): slope −1 with "
                  "tolerance 0.5, faster allowed (observed: slope + 1)", where)


def check_C1(inst: Instance, steps: int = DEFAULT_STEPS, W_star: np.ndarray | None = None,
             descent: Descent = gd) -> Verdict:
    """C1 (conjecture): after the transient, ``CE(W_k) − ℋ`` and ``‖P_F W_k − W⋆‖`` decay at least
    like ``1/(ηk)``: log-log slopes ≤ ``SLOPE_MAX`` (the distance is not measured when it sits at
    the rounding floor throughout the window, as on symmetric instances)."""
    sol = solved(inst, "C1")
    if isinstance(sol, Verdict):
        return sol
    _, W_star = claimed(sol, None, W_star)
    return decide_C1(run(sol, steps, descent=descent), W_star)


def envelope_ratio(r: Run, gap: float) -> float:
    """``ηK (CE(W_K) − ℋ)/‖W^mm‖²``, which tends to 1 in the log-growth regime (module docstring)."""
    assert r.sol.W_mm_norm is not None  # runs are of solved() solutions: W^mm certified
    return r.eta * r.ks[0] * gap / r.sol.W_mm_norm ** 2


def forcing_envelope(r: Run, gap: float) -> float:
    """``D_K = 2 max_j‖h_j‖ (CE(W_K) − ℋ)/μ_F``: what the off-support mass can hold the F-part
    away from W⋆ by (module docstring; μ_F of evidence.curvature_F)."""
    h_max = float(np.linalg.norm(r.sol.instance.embeddings, axis=1).max())
    mu_F = curvature_F(r.sol)
    # None only if F = {0}: then P_F W_k = 0 = W⋆, so decide_C1 gets here only for a W⋆ override
    # off F, which raised before too (a float divided by None)
    assert mu_F is not None
    return 2.0 * h_max * gap / mu_F


def decide_C1(r: Run, W_star: np.ndarray) -> Verdict:
    """C1's decision on a run (see :func:`check_C1`). A run far below the envelope
    ``‖W^mm‖²/(ηk)`` (a plateau) cannot fail, nor can an F-distance below its forcing envelope:
    neither has entered the regime its slope would be about."""
    gap = loss_gaps(r.sol.instance, r.W[: WINDOW + 1])
    gap_slope = loglog_slope(r.ks, gap)
    undecided = None if decisive(r) else (f"slower than 1/(ηk), not decisive (K < {FAIL_TRANSIENT_MULT:g} T "
                                          f"or the F-part not settled)")
    # a gap that does not decrease at all contradicts the descent lemma (I4) for any run of GD with
    # η ≤ 1/L, settled or not: decisive from 100 T on
    late = r.ks[0] >= FAIL_TRANSIENT_MULT * r.transient
    verdicts = [slope_verdict("C1", "CE − ℋ", gap, r, None if late and gap_slope >= 0.0 else undecided)]
    dist = np.array([float(np.linalg.norm(r.F_part(i) - W_star)) for i in range(WINDOW + 1)])
    if np.any(dist > distance_floor(r)):
        bound = FORCING_MAX * forcing_envelope(r, float(gap[0]))
        below = (f"below its forcing envelope (‖P_F W_K − W⋆‖ = {dist[0]:.3g} ≤ 2 max‖h_j‖ (CE − ℋ)/μ_F "
                 f"= {bound:.3g})") if dist[0] <= bound else None
        verdicts.append(slope_verdict("C1", "‖P_F W_k − W⋆‖", dist, r, undecided or below))
    verdict = first_failure(verdicts)
    envelope = envelope_ratio(r, float(gap[0]))
    if verdict.outcome == "fail" and envelope < ENVELOPE_MIN:
        assert r.sol.W_mm_norm is not None  # runs are of solved() solutions: W^mm certified
        reach = r.sol.W_mm_norm ** 2 / (r.eta * float(gap[0]))
        return inconclusive("C1", f"plateau: ηK (CE − ℋ)/‖W^mm‖² = {envelope:.3g} < {ENVELOPE_MIN:g} at "
                                  f"K = {r.ks[0]}, the 1/(ηk) regime starts near k = {reach:.2g} "
                                  f"({verdict.detail})")
    return verdict


def increment_ratios(r: Run, W_mm: np.ndarray) -> np.ndarray:
    """``(‖P_{F⊥}W_{k_i}‖ − ‖P_{F⊥}W_{k_{i+1}}‖)/(‖W_mm‖ λ_i)`` over the window."""
    perp = np.array([float(np.linalg.norm(r.W[i] - r.F_part(i))) for i in range(WINDOW + 1)])
    lam = np.log(np.asarray(r.ks[:WINDOW], dtype=float) / np.asarray(r.ks[1: WINDOW + 1], dtype=float))
    return (perp[:-1] - perp[1:]) / (float(np.linalg.norm(W_mm)) * lam)


def normalized_quotients(r: Run) -> list[np.ndarray]:
    """``D_i/λ_i``: the growth of W_k per unit of ``log k`` over each doubling of the window."""
    return [r.quotient(i) / np.log(r.ks[i] / r.ks[i + 1]) for i in range(WINDOW)]


def check_C2(inst: Instance, steps: int = DEFAULT_STEPS, W_mm: np.ndarray | None = None,
             descent: Descent = gd) -> Verdict:
    """C2 (conjecture): ``W_k − W⋆ − W^mm log(ηk)`` stays bounded, so W_k grows by ``W^mm log 2``
    per doubling of k, direction and size. Evidence: the remainder increments
    ``δ_i = ‖D_i/λ_i − W_mm‖/‖W_mm‖`` of the claimed ``W_mm`` in a contest (no trend required: ρ_k
    converges like ``k^{−c}`` with c as small as 0.001, theory.md §6) against the rivals' — a rival
    R in place of W^mm has ``δ → ‖W^mm − R‖/‖R‖ > 0`` — failing only once :func:`decisive`. Since
    ``|increment ratio − 1| ≤ δ_i`` (triangle inequality), the ratio is reported, not tested."""
    ready = solved_with_rivals(inst, "C2")
    if isinstance(ready, Verdict):
        return ready
    sol, direction_rivals, _ = ready
    W_mm, _ = claimed(sol, W_mm, None)
    return decide_C2(run(sol, steps, descent=descent), W_mm, direction_rivals)


def decide_C2(r: Run, W_mm: np.ndarray, rival_set: dict[str, np.ndarray]) -> Verdict:
    """C2's decision on a run (see :func:`check_C2`)."""
    assert r.sol.W_mm is not None  # runs are of solved() solutions: W^mm certified
    pool = competitors_of(W_mm, r.sol.W_mm, rival_set, relative_distance)
    ratio = increment_ratios(r, W_mm)
    channel = f"δ = ‖(W_2k − W_k)/log 2 − W_mm‖/‖W_mm‖ (increment ratio of ‖P_F⊥ W_k‖ {ratio[0]:.4g})"
    def remainder(project: Callable[[np.ndarray], np.ndarray]) -> Evidence:
        return evidence(channel, normalized_quotients(r), W_mm, pool,
                        lambda X, C: float(np.linalg.norm(project(X - C)) / np.linalg.norm(C)),
                        relative_distance, ROUNDING_FLOOR)
    # the F-component of δ is the sharper measure against rivals off F⊥ (evidence.F_component)
    ev = remainder(lambda X: X)
    return contest("C2", ev, r, decisive=decisive(r), trend=False, sharper=remainder(r.sol.project_F))
