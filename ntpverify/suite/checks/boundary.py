"""D10: near the boundary of separability, a certificate never contradicts an explicit object
(issue 13). Where an explicit witness of Definition 2 exists, checked against H itself, with
``‖W‖·max‖h_j‖ ≤ SCALE_CAP`` (geometry.py: "not separable" means no separator within that scale,
the bound stated in the reason), solve() must not say "not separable"; where an exact obstruction
exists (two contexts with bitwise-equal embeddings and disjoint supports, neither full: their
logit vectors coincide, and each support would have to beat the other), it must not say
"separable". Between, inconclusive is an answer.

The witness is Lemma 1's: logits ``ℓ_j = 𝟙_{S_j}`` (margins 1, constant on supports) solved for
``W`` through ``H``'s pseudo-inverse, kept only if its margins, recomputed from H, are ≥ 1 − 1e-7
and its spreads ≤ 1e-7 (separability.WITNESS_RTOL, the check the solver's own witnesses pass).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ntpverify.core.geometry import SCALE_CAP, Geometry
from ntpverify.core.instance import Instance
from ntpverify.core.separability import WITNESS_RTOL, definition2_violation
from ntpverify.core.solution import Solution, solve
from ntpverify.suite.verdict import Verdict, holds, vacuous

Solver = Callable[[Instance], Solution]


def lemma1_witness(inst: Instance) -> np.ndarray | None:
    """Lemma 1's witness (logits 𝟙_{S_j}), if it meets Definition 2 when checked from H and lies
    within the scale cap."""
    L = inst.support_mask.astype(float)  # m×V, ℓ_j = 𝟙_{S_j}
    W = np.linalg.lstsq(inst.embeddings, L, rcond=None)[0].T  # W Hᵀ = Lᵀ, least squares
    if not np.all(np.isfinite(W)):
        return None
    spread, min_margin = definition2_violation(Geometry(inst), W)
    within_scale = np.linalg.norm(W) * np.linalg.norm(inst.embeddings, axis=1).max() <= SCALE_CAP
    return W if within_scale and spread <= WITNESS_RTOL and min_margin >= 1.0 - WITNESS_RTOL else None


def exact_obstruction(inst: Instance) -> tuple[int, int] | None:
    """Two contexts with bitwise-equal embeddings and disjoint, non-full supports, if any."""
    full: np.ndarray = np.asarray(inst.support_mask.all(axis=1))
    for i in range(inst.m):
        for j in range(i + 1, inst.m):
            if (not full[i] and not full[j] and inst.embeddings[i].tobytes() == inst.embeddings[j].tobytes()
                    and not np.any(inst.support_mask[i] & inst.support_mask[j])):
                return i, j
    return None


def check_D10(inst: Instance, *, solver: Solver = solve) -> Verdict:
    """D10: ``solver(inst).separable`` is not False where Lemma 1's witness verifies, and not True
    where an exact obstruction exists (module docstring); vacuous where neither is at hand."""
    decided = solver(inst).separable
    if (pair := exact_obstruction(inst)) is not None:
        return holds("D10", decided is not True, f"contexts {pair} share h_j with disjoint supports; "
                     f"solve() says separable = {decided}")
    if lemma1_witness(inst) is not None:
        return holds("D10", decided is not False, f"Lemma 1's witness verifies from H; solve() says "
                     f"separable = {decided}")
    return vacuous("D10", "neither an explicit witness nor an exact obstruction at hand")
