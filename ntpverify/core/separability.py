"""NTP-separability (Definition 2), decided by an LP with a verified witness or Farkas certificate.

In reduced coordinates (geometry.py) the LP ``max t s.t. A_in b ≥ t𝟙, A_eq b = 0, ‖b‖_∞ ≤ 1``
(sparse, 2r nonzeros a row) has value ``t* > 0`` iff the instance is separable (then ``b/t*`` is a
witness); its dual is ``min ‖A_inᵀy + A_eqᵀy_eq‖₁ s.t. y ≥ 0, 𝟙ᵀy = 1``, so at ``t* = 0`` the
dual solution y is a Farkas certificate: a nonnegative combination of the margin
constraints, plus a free combination ``y_eq`` of the equalities, that sums to the zero matrix while
its right-hand sides sum to ``𝟙ᵀy = 1 > 0``. Both are re-checked in numpy against H itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import OptimizeResult, linprog

from ntpverify.core.compatibility import certificate_defect
from ntpverify.core.geometry import SCALE_CAP, Geometry, combination_bound
from ntpverify.core.instance import Instance
from ntpverify.core.scaling import normalized, scaled_back
from ntpverify.core.status import Status

#: Normalized LP margin ``τ = t*/max_i ‖M_i‖₁`` above which the instance is declared separable.
#: HiGHS solves to ~1e-9 primal/dual feasibility; a non-separable instance gives |τ| ≲ 1e-15.
SEPARABLE_MIN_MARGIN = 1e-9
#: Witness check: every margin of the scaled witness must be ≥ 1 − this (and spreads on supports
#: ≤ this, relative), recomputed from H.
WITNESS_RTOL = 1e-7
#: "Not separable" is declared only when a Farkas certificate proves that every separating W has
#: ``‖W‖·max_j‖h_j‖`` above geometry.SCALE_CAP (issue 13); below it the verdict is inconclusive
#: and states the bound, which is invariant under H → cH.


@dataclass(frozen=True)
class Separability:
    """Result of the separability test: ``separable`` is ``None`` when inconclusive.

    ``lp_margin`` is the normalized LP value τ; ``witness`` a V×d matrix meeting Definition 2 when
    separable; ``farkas_y`` (over ``farkas_rows``: margin triples then equality triples, each
    ``(j, plus, minus)``) the certificate when not.
    """

    status: Status
    separable: bool | None
    lp_margin: float | None = None
    method: str = "lp"
    witness: np.ndarray | None = None
    witness_check: float | None = None
    farkas_y: np.ndarray | None = None
    farkas_rows: np.ndarray | None = None
    farkas_defect: float | None = None
    #: What the Farkas combination proves: every separating W has ‖W‖·max‖h_j‖ ≥ this.
    separator_bound: float | None = None

    def rescaled(self, k: int) -> Separability:
        """The result for ``H`` from the one for ``2^k H`` (scaling.py): the witness scales by
        ``2^k``; the flag, LP margin, Farkas multipliers and the scale-free bound do not."""
        if k == 0 or self.witness is None:
            return self
        return replace(self, witness=scaled_back(self.witness, k))

    def to_dict(self) -> dict:
        out: dict = {"status": self.status.to_dict(), "method": self.method, "lp_margin": self.lp_margin}
        if self.witness_check is not None:
            out["witness_min_margin"] = self.witness_check
        if self.farkas_y is not None:
            assert self.farkas_rows is not None  # not_separable sets farkas_y and farkas_rows together
            out["farkas_y"] = self.farkas_y.tolist()
            out["farkas_rows"] = self.farkas_rows.tolist()
            out["farkas_defect"] = self.farkas_defect
        if self.separator_bound is not None:
            out["separator_norm_lower_bound"] = self.separator_bound
        return out


def definition2_violation(geo: Geometry, W: np.ndarray) -> tuple[float, float]:
    """``(spread, min_margin)`` of W against Definition 2, computed from H: the largest in-support
    logit difference ``|(W h_j)_z − (W h_j)_{a_j}|`` relative to ``‖W‖ max‖h_j‖`` (zero on F⊥), and
    the smallest margin ``(W h_j)_{a_j} − (W h_j)_v`` over ``v ∉ S_j`` (≥ 1 when feasible)."""
    Z = W @ geo.inst.embeddings.T
    scale = max(np.linalg.norm(W) * np.linalg.norm(geo.inst.embeddings, axis=1).max(), 1e-300)
    spread = 0.0
    if geo.eq_triples.size:
        j, z, a = geo.eq_triples.T
        spread = float(np.abs(Z[z, j] - Z[a, j]).max() / scale)
    j, a, v = geo.in_triples.T
    return spread, float((Z[a, j] - Z[v, j]).min())


def farkas_certificate(geo: Geometry, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Complete margin multipliers ``y ≥ 0`` (𝟙ᵀy = 1) with equality multipliers ``y_eq`` (least
    squares, so that ``Σ y (e_a−e_v)h_jᵀ + Σ y_eq (e_z−e_a)h_jᵀ ≈ 0``) and measure the defect."""
    target = -(geo.A_in.T @ y)
    if geo.A_eq.shape[0]:
        y_eq = np.linalg.lstsq(geo.A_eq.T, target, rcond=None)[0]
    else:
        y_eq = np.zeros(0)
    rows = np.concatenate([geo.in_triples, geo.eq_triples])
    coeffs = np.concatenate([y, y_eq])
    return coeffs, rows, certificate_defect(geo, rows, coeffs)


def _solve_lp(geo: Geometry) -> OptimizeResult:
    """``max t s.t. −A_in b + t𝟙 ≤ 0, A_eq b = 0, −1 ≤ b ≤ 1`` with HiGHS (sparse)."""
    n_in, n = geo.A_in_sparse.shape
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    A_ub = sp.hstack([-geo.A_in_sparse, sp.csr_matrix(np.ones((n_in, 1)))], format="csr")
    eq = {}
    if geo.A_eq_sparse.shape[0]:
        eq = {"A_eq": sp.hstack([geo.A_eq_sparse, sp.csr_matrix((geo.A_eq_sparse.shape[0], 1))], format="csr"),
              "b_eq": np.zeros(geo.A_eq_sparse.shape[0])}
    bounds = [(-1.0, 1.0)] * n + [(None, None)]
    return linprog(cost, A_ub=A_ub, b_ub=np.zeros(n_in), bounds=bounds, method="highs",
                   options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
                   **eq)


def not_separable(geo: Geometry, y: np.ndarray, margin: float | None, method: str) -> Separability:
    """The verdict "not separable" if ``y`` (margin multipliers, clipped to ≥ 0 and normalized to
    𝟙ᵀy = 1) completes to a Farkas certificate that passes its check; inconclusive otherwise."""
    y = np.clip(y, 0.0, None)
    if not y.sum() > 0:
        return Separability(Status("inconclusive", "no nonnegative multipliers to certify with"), None,
                            margin, method)
    coeffs, rows, defect = farkas_certificate(geo, y / y.sum())
    return farkas_verdict(combination_bound(geo, rows, coeffs), "Farkas certificate", f"defect {defect:.3g}",
                          margin, method, farkas_y=coeffs, farkas_rows=rows, farkas_defect=defect)


def farkas_verdict(bound: float, what: str, detail: str, margin: float | None, method: str,
                   **certificate: Any) -> Separability:
    """"Not separable" with the bound ``what`` proves (every separating W has ``‖W‖·max‖h_j‖ ≥
    bound``) when it exceeds SCALE_CAP; otherwise inconclusive, stating the bound. The
    ``certificate`` fields (multipliers, rows, defect) are kept only with a verdict they prove."""
    if not bound > SCALE_CAP:
        return Separability(Status("inconclusive", f"the {what} proves only that every separating W has "
                                   f"‖W‖·max‖h_j‖ ≥ {bound:.3g} (≤ the cap {SCALE_CAP:g}; {detail})"),
                            None, margin, method, separator_bound=bound)
    return Separability(Status("infeasible", f"no W satisfies Definition 2 with ‖W‖·max‖h_j‖ < {bound:.3g}; "
                               f"{what} verified ({detail})"), False, margin, method, separator_bound=bound,
                        **certificate)


def separability_of(geo: Geometry) -> Separability:
    """Decide Definition 2 from the shared geometry (see module docstring)."""
    if geo.in_triples.shape[0] == 0:
        return Separability(Status("ok", "no margin inequalities: every context has full support"),
                            True, None)
    if not geo.rank_F.clear:
        return Separability(Status("inconclusive", f"rank of the equation system is ambiguous "
                                   f"(margin {geo.rank_F.margin:.2f} decades)"), None)
    res = _solve_lp(geo)
    if res.status != 0:
        return Separability(Status("inconclusive", f"HiGHS did not reach optimality: {res.message}"), None)
    t = -res.fun
    tau = float(t / abs(geo.A_in_sparse).sum(axis=1).max())
    if tau > SEPARABLE_MIN_MARGIN:
        W = geo.lift(res.x[:-1] / t)
        spread, min_margin = definition2_violation(geo, W)
        if spread > WITNESS_RTOL or min_margin < 1.0 - WITNESS_RTOL:
            return Separability(Status("inconclusive", f"LP witness failed its check (spread "
                                       f"{spread:.3g}, min margin {min_margin:.17g})"), None, tau)
        return Separability(Status("ok", "witness verified"), True, tau, witness=W, witness_check=min_margin)
    return not_separable(geo, -res.ineqlin.marginals, tau, "lp")


def separability(inst: Instance) -> Separability:
    """NTP-separability (Definition 2) of ``inst``, with a verified witness or Farkas certificate;
    decided on the normalized ``2^k H`` (scaling.py), so invariant under ``H → cH``."""
    scaled, k = normalized(inst)
    return separability_of(Geometry(scaled)).rescaled(k)
