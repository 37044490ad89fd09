"""The GD evidence engine of the limit claims (P5, P6a–c here in gd_limits.py, C1 and C2 in rates.py).

A claimed limit is never thresholded against a raw cosine (``1 − cos ≍ C/log² k``, theory.md §6):
a :class:`Run` of GD at doubling checkpoints ``K, K/2, K/4, …`` feeds a *contest* in which the
claimed limit must beat every rival candidate of rivals.py.

Decisions (:func:`contest`). Errors are listed latest first over the window; a competitor is any
rival (and, when the claim is overridden, the solver's certified object) that does not coincide
with the claimed limit (separation ``1 − cos > COINCIDE`` for directions, relative distance for
F-parts; a coinciding rival cannot be separated on that instance and is skipped, not passed):

* ``pass``: past the transient, the claim's latest error is ≤ ``PASS_RATIO`` × every competitor's
  (in the whole error or in its F-component, :func:`F_component`), and the claim's error did not
  rise over the window (or sits at the rounding floor);
* ``fail``: past the transient with the F-part settled (:attr:`Run.settled`), some competitor's error
  is ≤ the claim's / ``FAIL_RATIO`` at *every* window checkpoint while the claim's error did not
  even halve (``PLATEAU``) over the window; for P6a the corrected direction must agree;
* otherwise ``inconclusive``, with the reason (transient, a rival within the resolution of this
  budget, error not yet decreasing, F-part not settled), counted and shown in the statistics.

Budgets come from measured rates: ``T = max(1/(η μ_F), 1/(η min_j π_j ‖h_j‖²))``
(:func:`transient_steps`); a run gets ``max(steps, TRANSIENT_MULT·T)`` steps, and
``EXTENSION_FACTOR`` times more while its F-part is observed not to have settled, capped at
``max(steps, MAX_BUDGET_STEPS)``; a run that still ends inside its transient is inconclusive.

Measurements behind the constants (float64, ``W_0 = 0``, default step ``1/λ_max(Σ π_j h_j h_jᵀ)``)
on the compatible and separable shared cases A–D, H, I and on 730 Hypothesis draws of
``instances(regime=("generic_wide", "orthogonal", "integer_grid"))`` (seeds 1 and 2, kept when
compatible and separable), each run to 2^21 steps and decided at every doubling budget
``K = 2^12 … 2^21``:

* ``e_D = 1 − cos(W_2k − W_k, W^mm)`` at the last doubling, quantiles 0.5 / 0.9 / 0.95 / 0.99
  (first 367 draws): 3.4e-5 / 2.5e-2 / 0.16 / 0.32 at K = 10⁴; 5.2e-7 / 1.7e-3 / 2.6e-2 / 0.26 at
  10⁵; 2.4e-8 / 4.6e-4 / 3.9e-3 / 7.1e-2 at 10⁶. Every draw with ``e_D > 1e-2`` at 10⁵ had
  ``T ≥ 6·10³`` and a large F-share ``‖P_F D‖/‖D‖`` (0.25–0.43); 20 T steps brought each within
  reach. The corrected ``1 − cos(W_k − W⋆, W^mm)`` decays like ``1/log k`` (median 2.5e-3 at 10⁵).
* Shared cases at 10⁵: ``e_D`` = 8.8e-4 (A), 3.2e-4 (B), 9.0e-5 (C), 1.5e-6 (D), 5.2e-8 (H),
  8.4e-5 (I); rival separations 0.29 (D: relaxed and dropped), 0.48–0.52 (relaxed, A–C), ≥ 0.5
  (interpolators), 1 (``W⋆ ⊥ W^mm`` always); the dropped-constraint solver 0.0103 (C), 0.085 (H),
  0.13 (D), 0.29 (I), 0.38 (A, B). Every wrong claim fails there at 10⁵ (properties/test_negative_gd_limits.py).
* Rival separations on the draws: the relaxed SVM coincides with W^mm (``< 1e-30``) in 73% of draws
  and lies in ``[1e-9, 1e-2)`` in 4% (down to 5.6e-8): those are resolved by the F-component
  (the relaxed SVM violates (a), GD's direction does not), except where it is itself tiny.
* Soundness: over all 730 draws and every budget ``2^12 … 2^21``, no true claim failed; the largest
  ``min_window e_D(W^mm)/e_D(rival)`` was 1.0 (a rival at separation 1e-5), so FAIL_RATIO = 10
  has a margin of 10; for C2's remainder increments the largest ratio was 2.5.
* Inconclusive at the ci budget (2^17, budgets raised to 20 T): P6a 1.8%, P6b 1.6%, C1 1.9%,
  C2 1.2%, P5 0 — half of them 7 draws of one orthogonal family with ``T = 1.6·10⁵`` beyond the
  measurement's 2^21 steps (the suite's cap of 4·10⁶ covers them), the rest integer-grid draws with
  ``‖W^mm‖ ≈ 15`` whose F-part is still drifting at 2^21 steps, and near-coincident rivals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.core.model import default_step, kl_terms, logits
from ntpverify.core.solution import Solution, solve
from ntpverify.core.status import Inconclusive
from ntpverify.optim.gd import Trajectory, gd
from ntpverify.suite.applicability import applies
from ntpverify.suite.checks import rivals
from ntpverify.suite.checks.measures import relative_distance
from ntpverify.suite.verdict import Verdict, first_failure, inconclusive, within

#: GD steps when a caller gives none: the ci budget (profiles.BUDGETS["ci"].gd_steps, issue 5).
DEFAULT_STEPS = 100_000
#: Checkpoints in the decision window: the last 3 doublings span a factor 8, about the "last
#: decade" of the rates in theory.md §6.
WINDOW = 3
#: Two candidates closer than this (``1 − cos``) coincide: W^mm is KKT-certified to 1e-9
#: (maxmargin.KKT_RTOL), so nothing finer is meaningful (the brief's "cos > 1 − 1e-9").
COINCIDE = 1e-9
#: Errors below this are rounding: ``1 − cos`` of two float64 matrices agreeing to ~1e-14
#: relative is ~1e-28, and measured converged errors (orthogonal draws, V = 2) sit at 1e-31–1e-26.
ROUNDING_FLOOR = 1e-20
#: A pass needs the claim's latest error ≤ this × every competitor's (a strict win by a factor 2).
#: Measured at K = 10⁵ without the F-component: the true W^mm met it in 355 of 367 draws; of the
#: rest, 7 were in their transient (pass at 20 T) and 4 had a rival at separation ≤ 1.8e-3.
PASS_RATIO = 0.5
#: A fail needs some competitor ≥ this many times better at every window checkpoint. Measured
#: worst for the true W^mm: 1.0 (see the module docstring), so 10 leaves a factor 10 of margin;
#: a wrong claim on the shared cases is ≥ 85× worse than W^mm at 10⁵ (separation 0.0103 vs
#: e_D = 9.0e-5 on C, the closest pair).
FAIL_RATIO = 10.0
#: ... while the claim's own error has not fallen below this fraction of its value at the start
#: of the window (a wrong limit's error tends to its nonzero separation; measured on the shared
#: cases the ratio stays in [0.95, 1.05]).
PLATEAU = 0.5
#: A run is past its transient after this many T (:func:`transient_steps`). Measured: the draws
#: inconclusive at 10⁵ with ``K/T ≈ 4`` (T = 2.2–2.7·10⁴) decided at ``K/T ≈ 40``; the F-distance
#: enters its ``1/(ηk)`` regime at ``K/T ≈ 10`` (shared case C: T = 39, 1/k from k ≈ 500).
TRANSIENT_MULT = 20.0
#: :attr:`Run.settled` needs the F-part's movement per doubling to have fallen to this fraction over
#: the window. Measured over 3265 windows past 20 T: median 0.24 (the 1/k regime's 1/4), 95% 0.26;
#: above 0.5 in 23 windows, all at 20–45 T, and in the one instance whose F-part was still far
#: from W⋆ at 2^21 steps (‖W^mm‖ = 15, ratio 4–5: the F-part drifting, not settling).
SETTLED_RATIO = 0.5
#: An example's budget grows to cover its transient up to this many steps (never below the
#: profile's): 20 T for T ≤ 2·10⁵, at ≤ 2 s a run. Measured on 1381 random draws: T > 5·10³ in
#: 7.7%, T > 5·10⁴ in 0.9%, T > 2·10⁵ in 0.36% (up to 3·10⁶: orthogonal embeddings whose
#: full-support context has tiny in-support probabilities, so tiny curvature on F), which stay
#: inconclusive: 20 T steps would take minutes.
MAX_BUDGET_STEPS = 4_000_000
#: A run whose F-part has not settled is rerun this many times longer (two doublings), up to
#: MAX_BUDGET_STEPS. Measured: an integer-grid family (V = 3, three full-support contexts of four)
#: had T ≈ 2·10³ yet a loss-gap slope still steepening through −0.2 … −0.67 per doubling at 10⁶
#: steps, unsettled: T from the curvature alone underestimates its transient by ≥ 100×.
EXTENSION_FACTOR = 4
#: A competitor at separation below this × a channel's resolution cannot lose by PASS_RATIO: two
#: directions at angles θ_c (claim) and θ_R from the observed one with θ_R ≥ θ_sep − θ_c give
#: ``e_R/e_c ≥ (√(sep/e_c) − 1)²``, which is ≥ 1/PASS_RATIO = 2 only for sep ≥ (1 + √2)² e_c.
RESOLVE = (1.0 + math.sqrt(1.0 / PASS_RATIO)) ** 2
#: ``‖P_F W_k − X‖`` below this × max(1, ‖W_k‖) is rounding (the projection of a W of norm ~10
#: leaves ~1e-14 relative; measured exact-limit runs sit at 4e-16–1e-13 absolute).
DISTANCE_FLOOR = 1e-12

Descent = Callable[..., Trajectory]


# --- measures ------------------------------------------------------------------------------------

def misalignment(A: np.ndarray, B: np.ndarray) -> float | None:
    """``1 − cos(A, B)`` as ``½‖A/‖A‖ − B/‖B‖‖²`` (equal in exact arithmetic; this form keeps its
    relative accuracy below 1e-16, where ``1 − gd.cosine`` rounds to 0). ``None`` if either is 0."""
    na, nb = float(np.linalg.norm(A)), float(np.linalg.norm(B))
    if na == 0.0 or nb == 0.0:
        return None
    return 0.5 * float(np.sum((A / na - B / nb) ** 2))


def curvature_spectrum_F(sol: Solution) -> np.ndarray:
    """The eigenvalues (ascending) of the Hessian of CE on F at the limit, where
    ``softmax(W h_j) = p_j``: ``Σ_j π_j (diag p_j − p_j p_jᵀ) ⊗ g_j g_jᵀ`` in reduced coordinates
    (``W = BRᵀ``, ``g_j = Rᵀh_j``, B row-major), restricted to F (empty when F = {0}). F is PD for
    it: ``DᵀHD = Σ_j π_j Var_{p_j}(D h_j)`` vanishes only on F⊥. With W⋆ compatible the Hessian
    at the minimizer does not depend on W⋆."""
    geo = sol.geometry
    if geo.F_dim == 0:
        return np.zeros(0)
    inst = sol.instance
    hess = sum(pi * np.kron(np.diag(p) - np.outer(p, p), np.outer(g, g))
               for pi, p, g in zip(inst.weights, inst.next_token_probs, geo.G, strict=False))
    Q = geo.F_basis
    return np.linalg.eigvalsh(Q @ hess @ Q.T)


def curvature_F(sol: Solution) -> float | None:
    """``μ_F = λ_min`` of :func:`curvature_spectrum_F` (``None`` when F = {0})."""
    spectrum = curvature_spectrum_F(sol)
    return float(spectrum[0]) if spectrum.size else None


def transient_steps(sol: Solution, eta: float) -> float:
    """``T = max(1/(η μ_F), 1/(η min_j π_j ‖h_j‖²))``: GD leaves its transient after a few T.

    The first is theory.md §6's F-part transient (0 if F = {0}). The second is the clock of the
    slowest context that has off-support tokens (its logits move by ``η π_j ‖h_j‖²`` per unit
    residual): measured, it is what delays the ``1/(ηk)`` regime of the loss gap when a weight is
    small (a one-hot draw with ``π_min = 0.0046``, ``F = {0}``, had a gap slope of −0.46 at 4096
    steps, ``K/T_π = 15``, and −0.96 from 32768 on)."""
    inst = sol.instance
    partial = ~inst.support_mask.all(axis=1)
    pace = (inst.weights * np.sum(inst.embeddings ** 2, axis=1))[partial].min()
    mu = curvature_F(sol)
    return max(0.0 if mu is None else 1.0 / (eta * mu), 1.0 / (eta * pace))


def budget_for(sol: Solution, eta: float, steps: int) -> int:
    """``steps`` raised to ``TRANSIENT_MULT·T`` if needed, at most ``max(steps, MAX_BUDGET_STEPS)``."""
    need = math.ceil(TRANSIENT_MULT * transient_steps(sol, eta))
    return int(min(max(steps, need), max(steps, MAX_BUDGET_STEPS)))


def doubling_checkpoints(steps: int) -> list[int]:
    """``K, round(K/2), round(K/4), …, 1`` (descending, distinct) for ``K = steps``."""
    ks: list[int]
    ks, k = [], float(steps)
    while k >= 1.0:
        if not ks or round(k) != ks[-1]:
            ks.append(int(round(k)))
        k /= 2.0
    return ks

def loss_gaps(inst: Instance, Ws: Sequence[np.ndarray]) -> np.ndarray:
    """``CE(W) − ℋ`` for each W, in model.loss_gap's stable KL form, in one call: the logits of
    all W side by side are the logits of ``inst`` tiled ``len(Ws)`` times (kl_terms is per column)."""
    n = len(Ws)
    tiled = Instance(np.tile(inst.embeddings, (n, 1)), np.tile(inst.weights, n) / n,
                     np.tile(inst.next_token_probs, (n, 1)))
    Z = np.concatenate([logits(inst, W) for W in Ws], axis=1)
    return kl_terms(tiled, Z).reshape(n, inst.m) @ inst.weights



# --- a GD run at doubling checkpoints ---------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """GD on ``sol.instance`` from ``W0`` with step ``eta``; ``ks`` descending doubling checkpoints
    (``ks[0] = K``), ``W[i]`` the iterate at ``ks[i]``; ``transient`` is T of :func:`transient_steps`."""

    sol: Solution
    eta: float
    W0: np.ndarray
    ks: tuple[int, ...]
    W: tuple[np.ndarray, ...]
    transient: float

    @property
    def past_transient(self) -> bool:
        return self.ks[0] >= TRANSIENT_MULT * self.transient

    @property
    def settled(self) -> bool:
        """Observed, claim-free: the F-part's movement per doubling fell by ``SETTLED_RATIO`` over
        the window (``1/k`` decay gives 1/4; exponential less), or is at the rounding floor."""
        first = float(np.linalg.norm(self.sol.project_F(self.quotient(WINDOW - 1))))
        last = float(np.linalg.norm(self.sol.project_F(self.quotient(0))))
        return last <= distance_floor(self) or last <= SETTLED_RATIO * first

    def quotient(self, i: int) -> np.ndarray:
        """``D_i = W_{k_i} − W_{k_{i+1}}`` (``k_i/k_{i+1} ≈ 2``)."""
        return self.W[i] - self.W[i + 1]

    def F_part(self, i: int) -> np.ndarray:
        return self.sol.project_F(self.W[i])

    def transient_reason(self) -> str:
        return (f"transient: K = {self.ks[0]} < {TRANSIENT_MULT:g}·T with T = max(1/(η μ_F), 1/(η min π_j"
                f"‖h_j‖²)) = {self.transient:.3g} (budget capped at {MAX_BUDGET_STEPS:.0e} steps)")


def run(sol: Solution, steps: int, eta: float | None = None, W0: np.ndarray | None = None,
        descent: Descent = gd, extend: bool = True) -> Run:
    """Run ``descent`` at doubling checkpoints for ``steps`` steps, or, if ``extend``, for
    :func:`budget_for` steps and then ``EXTENSION_FACTOR`` times longer while the run is still in
    its transient or its F-part has not settled (observed: :attr:`Run.settled`), up to
    ``max(steps, MAX_BUDGET_STEPS)``. Only the iterates of the trajectory are used: every metric is
    recomputed here from ``sol``, so a wrong ``descent`` cannot vouch for itself."""
    inst = sol.instance
    eta = default_step(inst) if eta is None else float(eta)
    W0 = np.zeros((inst.V, inst.d)) if W0 is None else np.asarray(W0, dtype=float)
    T = transient_steps(sol, eta)
    K, cap = (budget_for(sol, eta, steps), max(steps, MAX_BUDGET_STEPS)) if extend else (steps, steps)
    while True:
        ks = doubling_checkpoints(K)
        traj = descent(inst, K, eta=eta, W0=W0, checkpoints=ks, solution=sol)
        r = Run(sol, eta, W0, tuple(ks), tuple(traj.iterates[k] for k in ks), T)
        if (r.past_transient and r.settled) or K >= cap:
            return r
        K = min(EXTENSION_FACTOR * K, cap)


def solved(inst: Instance, claim: str) -> Solution | Verdict:
    """``solve(inst)``, or the claim's verdict if its hypotheses (the applicability gate) fail or
    W^mm is not certified."""
    sol = solve(inst)
    if (gated := applies(claim, inst, sol)) is not None:
        return gated
    if sol.W_mm is None:
        return inconclusive(claim, f"W^mm: {sol.mm.status.state}: {sol.mm.status.reason}")
    return sol


# --- the contest --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """One channel of evidence over the window (latest first): the claim's errors, each
    competitor's, each competitor's separation from the claim, and the rounding floor below which
    an error means "converged to rounding"."""

    channel: str
    claim: np.ndarray
    competitors: dict[str, np.ndarray]
    separation: dict[str, float]
    floor: float

    @property
    def resolution(self) -> float:
        """The smallest latest error of any candidate: how sharply this budget pins the limit."""
        return float(min([self.claim[0], *(c[0] for c in self.competitors.values())]))


def evidence(channel: str, observed: Sequence[np.ndarray], claimed: np.ndarray,
             pool: Mapping[str, np.ndarray], error: Callable[[np.ndarray, np.ndarray], float],
             separation: Callable[[np.ndarray, np.ndarray], float | None], floor: float) -> Evidence:
    """``error(X_i, C)`` for the claim and each competitor C over the window's observations X_i."""
    errs = {name: np.array([error(X, C) for X in observed]) for name, C in pool.items()}
    return Evidence(channel, np.array([error(X, claimed) for X in observed]), errs,
                    {name: _separated(separation(C, claimed)) for name, C in pool.items()}, floor)


def _separated(s: float | None) -> float:
    """A pool member's separation: pools come from :func:`competitors_of`, which keeps only the
    candidates whose separation is not ``None``."""
    assert s is not None
    return s


def latest_ratio(e: np.ndarray, c: np.ndarray, floor: float) -> float:
    """``e[0]/c[0]``: the claim's latest error over a competitor's, with errors at the rounding
    floor counted as ties when both are there (1) and as a win when only the claim's is (0)."""
    if e[0] <= floor:
        return 1.0 if c[0] <= floor else 0.0
    return float(e[0] / max(float(c[0]), floor))


def contest(claim: str, ev: Evidence, r: Run, decisive: bool | None = None, trend: bool = True,
            sharper: Evidence | None = None) -> Verdict:
    """Decide a claimed limit from one channel of evidence, as the module docstring says.

    ``decisive`` (default: past the transient and :attr:`Run.settled`) says whether a fail may be
    declared; ``trend`` whether a pass needs the claim's error not to have risen over the window.
    ``sharper`` is an optional second measure of the same candidates (the F-component of the
    error): a competitor that it beats by ``PASS_RATIO`` counts as beaten; it never causes a fail."""
    e, floor = ev.claim, ev.floor
    decisive = (r.past_transient and r.settled) if decisive is None else decisive
    for name, c in ev.competitors.items():
        if decisive and e[0] > floor and np.all(FAIL_RATIO * c <= e) and e[0] >= PLATEAU * e[-1]:
            return Verdict(claim, "fail", float(e[0] / max(float(c[0]), floor)), FAIL_RATIO,
                           "FAIL_RATIO (measured worst for the true limit: 1.0)",
                           f"{ev.channel}: rival {name} is ≥ {FAIL_RATIO:g}× closer at every checkpoint "
                           f"k = {list(r.ks[:len(e)])} (claim {np.array2string(e, precision=3)}, {name} "
                           f"{np.array2string(c, precision=3)}) and the claim's error does not decrease")
    if not r.past_transient:
        return inconclusive(claim, r.transient_reason())
    if trend and e[0] > floor and e[0] > e[-1]:
        return inconclusive(claim, f"not decreasing: {ev.channel} of the claim rose over the window "
                                   f"({e[-1]:.3g} → {e[0]:.3g})")
    ratios = {name: latest_ratio(e, c, floor) for name, c in ev.competitors.items()}
    if sharper is not None:
        ratios = {name: min(x, latest_ratio(sharper.claim, sharper.competitors[name], sharper.floor))
                  for name, x in ratios.items()}
    worst = max(ratios, key=ratios.__getitem__, default=None)
    if worst is not None and ratios[worst] > PASS_RATIO:
        sep = ev.separation[worst]
        kind = ("unsettled F-part, unresolved rival" if not r.settled else
                "rival within resolution" if sep < RESOLVE * e[0] else "unresolved rival")
        return inconclusive(claim, f"{kind} {worst}: {ev.channel} {e[0]:.3g} vs "
                                   f"{ev.competitors[worst][0]:.3g} (a pass needs ≤ {PASS_RATIO:g}×; "
                                   f"separation from the claim {sep:.3g})")
    return within(claim, 0.0 if worst is None else ratios[worst], PASS_RATIO,
                  "PASS_RATIO: a strict win by a factor 2",
                  f"{ev.channel}: claim error {e[0]:.3g}, not increasing over the window; largest ratio "
                  f"to a rival's error ({worst or 'no rival exists on this instance'})")


def direction_error(X: np.ndarray, C: np.ndarray) -> float:
    """:func:`misalignment`, and 1 ("no alignment") when either is zero: no direction to match."""
    m = misalignment(X, C)
    return 1.0 if m is None else m


def F_component(sol: Solution) -> Callable[[np.ndarray, np.ndarray], float]:
    """The F-part of :func:`direction_error`: ``½‖P_F(X/‖X‖ − C/‖C‖)‖²`` (1 if either is 0).

    ``1 − cos = ½‖P_F(X̂ − Ĉ)‖² + ½‖P_{F⊥}(X̂ − Ĉ)‖²``. GD's direction has a vanishing F-part
    (its limit W^mm lies in F⊥), so a rival with an F-part (the relaxed SVM, which drops (a); the
    dropped-context W^mm; W⋆; the interpolators) is told apart here long before the whole
    misalignment resolves it: measured ``‖P_F D‖/‖D‖`` ≈ 7e-5 median at 10⁵ steps (3e-4 on A)."""
    def err(X: np.ndarray, C: np.ndarray) -> float:
        nx, nc = float(np.linalg.norm(X)), float(np.linalg.norm(C))
        if nx == 0.0 or nc == 0.0:
            return 1.0
        return 0.5 * float(np.sum(sol.project_F(X / nx - C / nc) ** 2))
    return err


def competitors_of(claimed: np.ndarray, truth: np.ndarray, rival_set: Mapping[str, np.ndarray],
                   separation: Callable[[np.ndarray, np.ndarray], float | None]) -> dict[str, np.ndarray]:
    """Every candidate but the claim itself: the rivals and the ``certified`` object of solve (a
    rival of an overridden claim), without those that coincide with the claim (they cannot be
    separated on this instance: skipped, not a pass of anything)."""
    pool = {"certified": truth, **rival_set}
    return {name: C for name, C in pool.items()
            if (s := separation(C, claimed)) is not None and s > COINCIDE}


def direction_contest(claim: str, r: Run, W_mm: np.ndarray, W_star: np.ndarray,
                      rival_set: Mapping[str, np.ndarray], label: str = "") -> Verdict:
    """P6a's evidence on one run, two channels against the same competitors: the difference
    quotients ``D_i`` (all competitors) and the corrected directions ``W_{k_i} − W⋆`` (only the
    competitors it can resolve: separation ≥ ``RESOLVE`` × its resolution; it decays like 1/log k).
    Both must pass for a pass; a fail needs the difference quotient to fail *and* the corrected
    direction to favour some competitor over the claim; anything else is inconclusive. ``label``
    prefixes the channel names (which run)."""
    assert r.sol.W_mm is not None  # runs are of solved() solutions: W^mm certified
    pool = competitors_of(W_mm, r.sol.W_mm, rival_set, misalignment)
    quotients = [r.quotient(i) for i in range(WINDOW)]
    shifted = [r.W[i] - W_star for i in range(WINDOW)]
    sharp = F_component(r.sol)
    quotient = evidence(f"{label}1 − cos(W_2k − W_k, W_mm)", quotients, W_mm, pool, direction_error,
                        misalignment, ROUNDING_FLOOR)
    corrected = evidence(f"{label}1 − cos(W_k − W⋆, W_mm)", shifted, W_mm, pool, direction_error,
                         misalignment, ROUNDING_FLOOR)
    quotient_F = evidence(quotient.channel, quotients, W_mm, pool, sharp, misalignment, ROUNDING_FLOOR)
    by_quotient = contest(claim, quotient, r, sharper=quotient_F)
    if by_quotient.outcome == "fail":
        if any(c[0] < corrected.claim[0] for c in corrected.competitors.values()):
            return by_quotient
        return inconclusive(claim, "channels disagree: the difference quotient prefers a rival, the "
                                   "corrected direction does not")
    corrected_F = evidence(corrected.channel, shifted, W_mm, pool, sharp, misalignment, ROUNDING_FLOOR)
    # the corrected direction competes only against what it can resolve: a rival beaten on its
    # F-component, or one farther from the claim than RESOLVE × this channel's resolution
    visible = [n for n in pool if corrected.separation[n] >= RESOLVE * corrected.resolution
               or latest_ratio(corrected_F.claim, corrected_F.competitors[n], ROUNDING_FLOOR) <= PASS_RATIO]
    def only(ev: Evidence) -> Evidence:
        return Evidence(ev.channel, ev.claim, {n: ev.competitors[n] for n in visible}, ev.separation,
                        ev.floor)
    by_corrected = contest(claim, only(corrected), r, decisive=False, sharper=only(corrected_F))
    return first_failure([by_quotient, by_corrected])


def distance_floor(r: Run) -> float:
    """Rounding level of ``‖P_F W_k − X‖``: ``DISTANCE_FLOOR·max(1, ‖W_K‖)``."""
    return DISTANCE_FLOOR * max(1.0, float(np.linalg.norm(r.W[0])))


def F_contest(claim: str, r: Run, W_star: np.ndarray, rival_set: Mapping[str, np.ndarray],
              label: str = "") -> Verdict:
    """P6b's evidence on one run: ``‖P_F W_{k_i} − W_star‖`` over the window against the F-part
    rivals' distances (``label`` prefixes the channel name)."""
    assert r.sol.W_star is not None  # every claim with an F-contest requires compatibility: W⋆ is set
    pool = competitors_of(W_star, r.sol.W_star, rival_set, relative_distance)
    ev = evidence(f"{label}‖P_F W_k − W⋆‖", [r.F_part(i) for i in range(WINDOW)], W_star, pool,
                  lambda X, C: float(np.linalg.norm(X - C)), relative_distance, distance_floor(r))
    return contest(claim, ev, r)


def rival_sets(sol: Solution, claim: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | Verdict:
    """``(direction rivals, F-part rivals)`` of rivals.py, or an inconclusive verdict if one of
    them could not be solved and verified."""
    try:
        return rivals.direction_rivals(sol), rivals.F_rivals(sol)
    except Inconclusive as exc:
        return inconclusive(claim, f"rival: {exc}")


def solved_with_rivals(inst: Instance, claim: str) -> tuple[Solution, dict[str, np.ndarray],
                                                          dict[str, np.ndarray]] | Verdict:
    """``(solution, direction rivals, F-part rivals)``: :func:`solved`, then :func:`rival_sets`;
    or the first inconclusive verdict of the two."""
    sol = solved(inst, claim)
    if isinstance(sol, Verdict):
        return sol
    sets = rival_sets(sol, claim)
    return sets if isinstance(sets, Verdict) else (sol, *sets)


def claimed(sol: Solution, W_mm: np.ndarray | None,
            W_star: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The claimed limits: the overrides, else the solver's."""
    # sol is from solved() (W^mm certified) for a claim that requires compatibility (W⋆ set)
    assert sol.W_mm is not None and sol.W_star is not None
    return (sol.W_mm if W_mm is None else np.asarray(W_mm, dtype=float),
            sol.W_star if W_star is None else np.asarray(W_star, dtype=float))
