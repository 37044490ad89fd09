"""Compatibility (Definition 1) and W⋆, the unique solution of its equations inside F.

The equations ``(e_z − e_{a_j})ᵀ W h_j = log(p_{j,z}/p_{j,a_j})`` form ``A w = b`` in reduced
coordinates (geometry.py). With the SVD ``A = U S Vᵀ`` of rank k: ``W⋆ = V_k S_k⁻¹ U_kᵀ b`` is the
minimum-norm solution, which lies in ``row(A) = F`` (theory.md §2), and the system is solvable iff
the residual ``r = b − U_k U_kᵀ b`` vanishes. When it does not, ``y = r/‖r‖²`` is a certificate of
incompatibility: ``Aᵀy = 0`` (r ⊥ range A) and ``bᵀy = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ntpverify.core.geometry import Geometry, combine
from ntpverify.core.instance import Instance
from ntpverify.core.status import Inconclusive, Status

#: Relative residual ``‖r‖ / max(1, ‖b‖)`` at or below which the system is declared solvable.
#: b carries rounding of ~1e-16 relative from the logs, and the SVD projection adds ~1e-16·cond;
#: measured residuals on compatible shared cases and random instances are ≤ 1e-14.
COMPATIBLE_RTOL = 1e-9
#: At or above this relative residual the system is declared unsolvable (certificate required);
#: in between nothing is decided (inconclusive).
INCOMPATIBLE_RTOL = 1e-6
#: Bound on the certificate's relative defect ``‖Σ_t y_t (e_z − e_a) h_jᵀ‖ / (Σ|y_t| ‖h_j‖)``.
CERTIFICATE_RTOL = 1e-9


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

    def to_dict(self) -> dict:
        out = {"status": self.status.to_dict(), "residual": self.residual}
        if self.equation_residual is not None:
            out["equation_residual"] = self.equation_residual
        if self.certificate is not None:
            out["farkas_y"] = self.certificate.tolist()
            out["farkas_equations"] = self.equations.tolist()
            out["certificate_defect"] = self.certificate_defect
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
    if rel <= COMPATIBLE_RTOL:
        W = geo.lift(w)
        eq = equation_residual(geo, W)
        if eq > COMPATIBLE_RTOL:
            return Compatibility(Status("inconclusive", f"W⋆ misses its equations by {eq:.3g} when "
                                        "recomputed from H"), None, None, rel, eq)
        return Compatibility(Status("ok"), True, W, rel, eq)
    if rel < INCOMPATIBLE_RTOL:
        return Compatibility(Status("inconclusive", f"equation residual {rel:.3g} lies between "
                                    f"{COMPATIBLE_RTOL:g} and {INCOMPATIBLE_RTOL:g}"), None, None, rel)
    y = r / (r @ r)
    defect = certificate_defect(geo, geo.eq_triples, y)
    if defect > CERTIFICATE_RTOL or abs(b @ y - 1.0) > 1e-9:
        return Compatibility(Status("inconclusive", f"incompatibility certificate failed its check "
                                    f"(defect {defect:.3g})"), None, None, rel)
    return Compatibility(Status("infeasible", "no W satisfies Definition 1; certificate y with "
                                "Aᵀy = 0, bᵀy = 1 verified"), False, None, rel,
                         certificate=y, certificate_defect=defect, equations=geo.eq_triples)


def compatibility(inst: Instance) -> Compatibility:
    """NTP_ℋ-compatibility (Definition 1) of ``inst``, with W⋆ or a verified certificate."""
    return compatibility_of(Geometry(inst))


def w_star(inst: Instance) -> np.ndarray | None:
    """``W⋆`` (V×d), or ``None`` if the instance is incompatible; raises :class:`Inconclusive` if
    that cannot be decided."""
    res = compatibility(inst)
    if res.status.state == "inconclusive":
        raise Inconclusive("W_star", res.status.reason)
    return res.W_star
