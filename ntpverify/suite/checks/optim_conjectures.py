"""C3–: the paper's figure-5 remark for optimizers beyond GD, on general NTP instances (conjectures).

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
  (optim_limits.judge with ``Rate.fast``). Measured (400 draws, seed 4, factors 1, ½, ¼): 349 pass, 1 inconclusive,
  0 fail, 50 vacuous; largest observed 0.221 (e(2^18) on a slow draw, still falling 8% per doubling).

C3 measured (600 random draws of ``strategies.instances(regime=GD_REGIMES)``, η factors 1, ½, ¼,
seed 2; 369 pass, 229 vacuous (F = {0} or a condition fails), 2 inconclusive: a slow transient
not settled by 2^19): ``|log₂(f(η)/f(η/2)) − 1|`` ≤ 0.213 (99% ≤ 0.129); the shared cases give
f/η = 0.22 (A, B), 0.50 (C), 0.35 (D), 0.25 (H) at factors 1, ½, ¼ alike. At factor 2 one draw
(m = 1, V = 6) had ratio 2.55: the floor is c·η + O(η²), so the property draws factors ≤ 1.
Where the F-part is decoupled from the margins (orthogonal embeddings, every multi-token context
full-support) NGD reaches W⋆ to rounding (c = 0, a pass); one draw kept W⋆ exactly at η/2 and left
it at η (the kept point unstable at the larger step): inconclusive, there is no ratio to read.

The remark's counterexamples are the conjecture's witnesses: :func:`search` (``python -m
ntpverify.suite.checks.optim_conjectures C3 SEED``) shrinks a drawn instance on which the check
passes with c > 0 and archives it; ``ntpverify replay`` re-runs the check on it and reports
"now holds" — the refutation still holds — so the archive regression set
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
from ntpverify.core.solution import Solution
from ntpverify.optim.optimizers import NGD, Optimizer, OptimizerDivergence, optimize
from ntpverify.suite.checks.evidence import DISTANCE_FLOOR, misalignment, solved
from ntpverify.suite.checks.optim_limits import Rate, ngd_step, run_and_judge
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
    sol = solved(inst, "C3")
    if isinstance(sol, Verdict):
        return sol
    if sol.F_dim == 0:
        return vacuous("C3", "F = {0}: P_F W_k = 0 = W⋆ for every W_k")
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


# --- the search for shrunk counterexamples to the remark ---------------------------------------------

#: A C3 pass with a ratio (not the c = 0 branch) is a counterexample to the remark's reading
#: ``P_F W_k → W⋆`` for NGD at a constant step.
C0_SOURCE = "c = 0"


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
}


def search(claim_id: str, seed: int, examples: int) -> Path:
    """Find the minimal (shrunk) drawn instance on which ``claim_id``'s check refutes the remark
    (:data:`REFUTATIONS`) with Hypothesis under the ``search`` profile, seeded, and archive it
    (archive.write; ``ntpverify replay`` re-runs the check, which passes: the refutation holds)."""
    import random

    from hypothesis import find, settings

    from ntpverify.suite import archive, claims, profiles
    from ntpverify.suite import strategies as nst
    from ntpverify.suite.applicability import applies

    how = REFUTATIONS[claim_id]
    claim = claims.get(claim_id)
    check = claim.checker()
    tried = [0]

    def counterexample(inst: Instance) -> bool:
        tried[0] += 1
        return applies(claim_id, inst) is None and how.refutes(check(inst, **how.params))

    profiles.register()
    found = find(nst.instances(regime=("generic_wide", "orthogonal", "integer_grid")), counterexample,
                 settings=settings(settings.get_profile("search"), max_examples=examples, database=None),
                 random=random.Random(seed))
    verdict = check(found, **how.params)
    return archive.write({**claim.to_dict(), "tolerance": claim.tolerance}, verdict, found, how.params,
                         hypothesis={"profile": "search", "seed": str(seed), "examples": tried[0],
                                     "refutes": how.remark,
                                     "command": f"python -m {__name__} {claim_id} {seed} {examples}"})


if __name__ == "__main__":
    import sys

    print(search(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 200))
