"""The ℓ∞ NTP-SVM (issue 12): ``γ∞* = max γ`` s.t. ``‖W‖_max ≤ 1``, ``W ∈ F⊥`` (Definition 2 (a))
and every margin ``(e_{a_j} − e_v)ᵀ W h_j ≥ γ`` (v ∉ S_j): the margin that normalized steepest
descent w.r.t. the entrywise max-norm (sign descent) maximizes on separable data (Gunasekar et al.
2018; multiclass: Fan, Schmidt & Thrampoulidis 2025). Its value is unique even where W is not.

An LP (HiGHS, the dense small-instance route: one row per constraint, V·d + 1 columns), with a
two-sided certificate, both recomputed from H:

* lower bound ``L``: the LP's W, clipped to the box, its equalities' spread held to
  separability.WITNESS_RTOL, and its smallest margin;
* upper bound ``U``: for margin multipliers ``y ≥ 0``, ``𝟙ᵀy = 1`` and any equality multipliers,
  every feasible W has ``γ ≤ Σ y_t margin_t = ⟨W, C⟩ ≤ ‖W‖_max ‖C‖_1 ≤ ‖C‖_1`` with
  ``C = Σ y (e_a − e_v)h_jᵀ + Σ y_eq (e_z − e_a)h_jᵀ`` (entrywise ℓ1, the dual norm).

``ok`` when ``U − L ≤ GAP_RTOL·U``; the reported ``γ∞*`` is L and the certified interval is
``[L, U]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from ntpverify.core.geometry import Geometry, combine, triples_sparse
from ntpverify.core.instance import Instance
from ntpverify.core.separability import WITNESS_RTOL, definition2_violation
from ntpverify.core.status import Status

#: Certified relative gap ``(U − L)/U``: HiGHS solves to 1e-10 feasibility, and both bounds are
#: recomputed from H (first-order rounding ~1e-15 relative), so 1e-8 leaves two decades.
GAP_RTOL = 1e-8


@dataclass(frozen=True)
class LinfMargin:
    """``gamma`` (γ∞*, the certified lower end) with its interval ``[lower, upper]`` and a maximizer ``W``."""

    status: Status
    gamma: float | None = None
    lower: float | None = None
    upper: float | None = None
    W: np.ndarray | None = None


def linf_max_margin(inst: Instance) -> LinfMargin:
    """γ∞* of ``inst`` with its certificate (module docstring)."""
    geo = Geometry(inst)
    V, d = inst.V, inst.d
    if geo.in_triples.shape[0] == 0:
        return LinfMargin(Status("undefined", "every context has full support: no margin constraint"))
    H = inst.embeddings
    # rows vec((e_plus − e_minus) h_jᵀ) in the original coordinates: W itself is the variable
    A_in, A_eq = triples_sparse(geo.in_triples, H, V), triples_sparse(geo.eq_triples, H, V)
    n_in = A_in.shape[0]
    cost = np.zeros(V * d + 1)
    cost[-1] = -1.0  # max γ
    A_ub = sp.hstack([-A_in, sp.csr_matrix(np.ones((n_in, 1)))], format="csr")  # γ − margin ≤ 0
    eq = {}
    if A_eq.shape[0]:
        eq = {"A_eq": sp.hstack([A_eq, sp.csr_matrix((A_eq.shape[0], 1))], format="csr"),
              "b_eq": np.zeros(A_eq.shape[0])}
    res = linprog(cost, A_ub=A_ub, b_ub=np.zeros(n_in), bounds=[(-1.0, 1.0)] * (V * d) + [(None, None)],
                  method="highs", options={"primal_feasibility_tolerance": 1e-10,
                                           "dual_feasibility_tolerance": 1e-10}, **eq)
    if res.status != 0:
        return LinfMargin(Status("inconclusive", f"HiGHS did not reach optimality: {res.message}"))
    W = np.clip(res.x[:-1].reshape(V, d), -1.0, 1.0)
    spread, lower = definition2_violation(geo, W)
    if spread > WITNESS_RTOL:
        return LinfMargin(Status("inconclusive", f"the LP's W leaves F⊥ by {spread:.3g}"))
    y = np.clip(-res.ineqlin.marginals, 0.0, None)
    if not y.sum() > 0:
        return LinfMargin(Status("inconclusive", "no margin multipliers to bound γ with"))
    y = y / y.sum()
    rows = np.concatenate([geo.in_triples, geo.eq_triples])
    eq_marginals = res.eqlin.marginals if A_eq.shape[0] else np.zeros(0)
    # any equality multipliers give a valid bound; HiGHS's sign convention is not part of the
    # proof, so both signs are tried and the smaller bound kept
    upper = min(float(np.abs(combine(rows, np.concatenate([y, sign * eq_marginals]), inst.m, V) @ H).sum())
                for sign in (1.0, -1.0))
    scale = float(np.sum(y * np.abs(H[geo.in_triples[:, 0]]).sum(axis=1))) * 2.0  # ‖C‖_1 without cancellation
    if lower <= 0 or upper <= GAP_RTOL * scale:
        if upper <= GAP_RTOL * scale:
            return LinfMargin(Status("infeasible", f"not separable: γ∞* ≤ {upper:.3g}, below {GAP_RTOL:g} of the "
                                     "combination's scale"), lower=lower, upper=upper)
        return LinfMargin(Status("inconclusive", f"γ∞* in [{lower:.3g}, {upper:.3g}]"), lower=lower, upper=upper)
    if not upper - lower <= GAP_RTOL * upper:
        return LinfMargin(Status("inconclusive", f"certified interval [{lower:.17g}, {upper:.17g}] wider than "
                                 f"{GAP_RTOL:g} relative"), lower=lower, upper=upper)
    return LinfMargin(Status("ok", f"γ∞* certified in [{lower:.17g}, {upper:.17g}]"), lower, lower, upper, W)
