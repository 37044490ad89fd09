"""Compatibility (Definition 1) and W⋆, the unique solution of its equations inside F.

The equations ``(e_z − e_{a_j})ᵀ W h_j = log(p_{j,z}/p_{j,a_j})`` form ``A w = b`` in reduced
coordinates (geometry.py). With the SVD ``A = U S Vᵀ`` of rank k: ``W⋆ = V_k S_k⁻¹ U_kᵀ b`` is the
minimum-norm solution, which lies in ``row(A) = F`` (theory.md §2), and the system is solvable iff
the residual ``r = b − U_k U_kᵀ b`` vanishes. When it does not, ``y = r/‖r‖²`` is a certificate of
incompatibility: ``Aᵀy = 0`` (r ⊥ range A) and ``bᵀy = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ntpverify.core.geometry import SCALE_CAP, UNIT_ROUNDOFF, Geometry, combination_bound, combine
from ntpverify.core.instance import Instance
from ntpverify.core.scaling import normalized, representable, scaled_back
from ntpverify.core.status import Inconclusive, Status

#: Relative residual ``‖r‖ / max(1, ‖b‖)`` at or below which the system is declared solvable.
#: b carries rounding of ~1e-16 relative from the logs, and the SVD projection adds ~1e-16·cond;
#: measured residuals on compatible shared cases and random instances are ≤ 1e-14.
COMPATIBLE_RTOL = 1e-9
#: At or above this relative residual the system is declared unsolvable (certificate required);
#: in between nothing is decided (inconclusive).
INCOMPATIBLE_RTOL = 1e-6


@dataclass(frozen=True)
class Compatibility:
    """Result of the compatibility test.

    ``compatible`` is ``None`` when inconclusive. ``W_star`` (V×d) is set when compatible.
    ``residual`` is ``‖r‖/max(1,‖b‖)``; ``equation_residual`` is the largest
    ``|(W⋆h_j)_z − (W⋆h_j)_a − b_{j,z}| / max(1, ‖b‖_∞)`` recomputed from H; ``certificate`` is
    ``y`` over the equations (rows ``equations``) when incompatible.
    """

    status: Status
    compatible: bool | None
    W_star: np.ndarray | None
    residual: float
    equation_residual: float | None = None
    certificate: np.ndarray | None = None
    certificate_defect: float | None = None
    equations: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.intp))
    #: What the incompatibility certificate proves: every solution has ‖W‖·max‖h_j‖ ≥ this.
    certificate_bound: float | None = None

    def rescaled(self, k: int) -> Compatibility:
        """The result for ``H`` from the one for ``2^k H`` (scaling.py): ``W⋆ → 2^k W⋆``; the flag,
        residuals (relative) and the certificate y (over scale-free right-hand sides) are unchanged."""
        if k == 0 or self.W_star is None:
            return self
        W = scaled_back(self.W_star, k)
        if not representable(W):
            return replace(self, status=Status("inconclusive", "W⋆ is not representable in float64 at "
                                               "this scale of H"), compatible=None, W_star=None)
        return replace(self, W_star=W)

    def to_dict(self) -> dict:
        out = {"status": self.status.to_dict(), "residual": self.residual}
        if self.equation_residual is not None:
            out["equation_residual"] = self.equation_residual
        if self.certificate is not None:
            out["farkas_y"] = self.certificate.tolist()
            out["farkas_equations"] = self.equations.tolist()
            out["certificate_defect"] = self.certificate_defect
        if self.certificate_bound is not None:
            out["solution_norm_lower_bound"] = self.certificate_bound
        return out


def equation_residual(geo: Geometry, W: np.ndarray) -> float:
    """``max_{j,z} |(W h_j)_z − (W h_j)_{a_j} − b_{j,z}| / max(1, ‖b‖_∞)`` in original coordinates."""
    if geo.eq_triples.shape[0] == 0:
        return 0.0
    Z = W @ geo.inst.embeddings.T
    j, z, a = geo.eq_triples.T
    err = np.abs(Z[z, j] - Z[a, j] - geo.eq_rhs)
    return float(err.max() / max(1.0, np.abs(geo.eq_rhs).max()))


def certificate_defect(geo: Geometry, triples: np.ndarray, y: np.ndarray) -> float:
    """Relative size of ``Σ_t y_t (e_plus − e_minus) h_jᵀ`` (zero for an exact certificate),
    computed from H itself: ``‖C H‖ / (Σ_t |y_t| ‖h_{j_t}‖ √2)``."""
    H = geo.inst.embeddings
    combo = combine(triples, y, geo.m, geo.V) @ H
    scale = np.sqrt(2.0) * np.sum(np.abs(y) * np.linalg.norm(H[triples[:, 0]], axis=1))
    return float(np.linalg.norm(combo) / scale) if scale > 0 else 0.0


def compatibility_of(geo: Geometry) -> Compatibility:
    """Decide Definition 1 and compute W⋆ from the shared geometry (see module docstring)."""
    b = geo.eq_rhs
    if b.size == 0:
        zero = np.zeros((geo.V, geo.d))
        return Compatibility(Status("ok", "no equations (every |S_j| = 1)"), True, zero, 0.0, 0.0)
    U, s, Vt = geo._svd_eq
    k = geo.F_dim
    coeffs = U[:, :k].T @ b
    w = Vt[:k].T @ (coeffs / s[:k])
    r = b - U[:, :k] @ coeffs
    rel = float(np.linalg.norm(r) / max(1.0, float(np.linalg.norm(b))))
    if not geo.rank_F.clear:
        return Compatibility(Status("inconclusive", f"rank of the equation system is ambiguous "
                                    f"(margin {geo.rank_F.margin:.2f} decades)"), None, None, rel)
    # a residual is a backward error: W⋆ solves the equations with b − r exactly. Only a residual
    # at the rounding level of the least-squares solve (first order: (n + d)·u·(1 + cond)·max(1,‖b‖),
    # with a factor 64 of headroom) says "solvable"; a small one above it decides nothing
    cond = float(s[0] / s[k - 1]) if k else 1.0
    rounding = 64.0 * (b.size + geo.d) * UNIT_ROUNDOFF * (1.0 + cond)
    if rel <= min(COMPATIBLE_RTOL, rounding):
        W = geo.lift(w)
        eq = equation_residual(geo, W)
        if eq > COMPATIBLE_RTOL:
            return Compatibility(Status("inconclusive", f"W⋆ misses its equations by {eq:.3g} when "
                                        "recomputed from H"), None, None, rel, eq)
        return Compatibility(Status("ok"), True, W, rel, eq)
    y = r / (r @ b) if r @ b > 0 else r / (r @ r)  # bᵀy = 1 (r ⊥ range A makes r·b = r·r)
    defect = certificate_defect(geo, geo.eq_triples, y)
    # ⟨W, C H⟩ = bᵀy = 1 for every solution W: all have ‖W‖·max‖h_j‖ ≥ bound; beyond the cap
    # (relative to the log-ratios' size) no float64 W could be told from a non-solution
    bound = combination_bound(geo, geo.eq_triples, y)
    cap = SCALE_CAP * max(1.0, float(np.abs(b).max()))
    if rel < INCOMPATIBLE_RTOL or not bound > cap:
        return Compatibility(Status("inconclusive", f"equation residual {rel:.3g} (solvable needs ≤ "
                                    f"{min(COMPATIBLE_RTOL, rounding):.3g}); the certificate proves only "
                                    f"that every solution has ‖W‖·max‖h_j‖ ≥ {bound:.3g} (not above "
                                    f"{cap:.3g})"), None, None, rel, certificate_bound=bound)
    return Compatibility(Status("infeasible", f"no W satisfies Definition 1 with ‖W‖·max‖h_j‖ < {bound:.3g}; "
                                "certificate y with Aᵀy = 0, bᵀy = 1 verified"), False, None, rel,
                         certificate=y, certificate_defect=defect, equations=geo.eq_triples,
                         certificate_bound=bound)


def compatibility(inst: Instance) -> Compatibility:
    """NTP_ℋ-compatibility (Definition 1) of ``inst``, with W⋆ or a verified certificate; decided
    on the normalized ``2^k H`` (scaling.py), so invariant under ``H → cH``."""
    scaled, k = normalized(inst)
    return compatibility_of(Geometry(scaled)).rescaled(k)


def w_star(inst: Instance) -> np.ndarray | None:
    """``W⋆`` (V×d), or ``None`` if the instance is incompatible; raises :class:`Inconclusive` if
    that cannot be decided."""
    res = compatibility(inst)
    if res.status.state == "inconclusive":
        raise Inconclusive("W_star", res.status.reason)
    return res.W_star
