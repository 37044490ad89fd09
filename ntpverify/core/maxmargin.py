"""W^mm, the NTP-SVM solution (Definition 3), computed two independent ways and then certified.

``W^mm = argmin ‖W‖ s.t. (a) W ∈ F⊥, (b) (e_{a_j} − e_v)ᵀ W h_j ≥ 1 for v ∉ S_j``. In reduced
coordinates restricted to F⊥ this is the least-distance problem ``min ½‖c‖² s.t. M c ≥ 𝟙`` with
``M = A_in P_{F⊥}`` (``Geometry.M_perp``), whose KKT conditions are ``c = Mᵀα, α ≥ 0, M c ≥ 𝟙,
α ⊙ (M c − 𝟙) = 0`` (any solution of ``c = Mᵀα`` lies in F⊥, so (a) holds).

* ``method="nnls"`` (default): Lawson–Hanson's LDP reduction. With ``E = [Mᵀ; 𝟙ᵀ]`` and
  ``f = e_{n+1}``, solve ``u = argmin_{u≥0} ‖E u − f‖``. Its residual satisfies
  ``‖Eu − f‖² = 1 − 𝟙ᵀu =: δ``; if δ > 0, ``c = Mᵀu / δ``, ``α = u / δ`` and ``‖c‖² = 1/δ − 1``;
  if δ = 0, ``Mᵀu = 0`` with ``𝟙ᵀu = 1``: u is a Farkas certificate of non-separability. The
  same solve therefore decides separability; whichever outcome verifies (KKT or Farkas) stands,
  and the HiGHS LP of separability.py is the independent cross-check (claim D6).
* ``method="clarabel"``: cvxpy + Clarabel on the original equality-constrained QP in reduced
  coordinates, at tolerances 1e-12 (theory.md §7: default tolerances pick a wrong active set).

Either way the candidate is then *polished*: the active set ``A = {α_i > 0}`` is fixed and the
equality-constrained minimum-norm problem ``min ‖c‖ s.t. M_A c = 𝟙`` is re-solved exactly, and
multipliers ``α_A ≥ 0`` with ``c = M_Aᵀ α_A`` are recovered. The result is accepted only if its KKT
residuals, recomputed in the original coordinates from H, are all ≤ ``KKT_RTOL``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.linalg import lstsq
from scipy.optimize import nnls

from ntpverify.core.geometry import Geometry, combine
from ntpverify.core.instance import Instance
from ntpverify.core.scaling import normalized, representable, scaled_back
from ntpverify.core.separability import Separability, definition2_violation, not_separable, separability_of
from ntpverify.core.status import Inconclusive, State, Status

#: Acceptance bound on every relative KKT residual (issue 2: ``ok`` means ≤ 1e-9). Polished
#: solutions of well-separated instances measure ~1e-15; nearly non-separable ones (LP margin
#: ≲ 1e-3) lose digits (theory.md §7) and are reported inconclusive instead of loosening this.
KKT_RTOL = 1e-9
#: A multiplier below this fraction of the largest one, with a slack above ``ACTIVE_SLACK``, is
#: treated as inactive when reading a conic solver's duals (Clarabel at 1e-12 leaves ~1e-12 there).
ACTIVE_DUAL_RTOL = 1e-7
ACTIVE_SLACK = 1e-9
#: Relative singular-value cutoff of the polish's least-squares solves. Active sets are often
#: rank-deficient (more active margins than dimensions); with LAPACK's default cutoff (~eps) a
#: spurious 1e-15 singular value was kept and blew a component of c out of F⊥ (measured: 0.09).
POLISH_RCOND = 1e-10
#: Clarabel settings: tight tolerances as theory.md §7 measured (relative error ~5e-13).
CLARABEL_SETTINGS = dict(tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, tol_infeas_abs=1e-12,
                         tol_infeas_rel=1e-12, tol_ktratio=1e-10, max_iter=400)

METHODS = ("nnls", "clarabel")

#: Below this LDP residual δ = 1/(1 + ‖W^mm‖²) no primal candidate is formed (‖W^mm‖ > 3e6,
#: far past the margins where KKT verification holds at 1e-9, theory.md §7).
LDP_MIN_RESIDUAL = 1e-13


@dataclass(frozen=True)
class MaxMargin:
    """Result for W^mm: ``W_mm`` (V×d) and its norm when ``status`` is ok, the KKT residuals that
    certify it, the multipliers ``alpha`` over ``constraints`` (margin triples ``(j, a_j, v)``), and
    the method used."""

    status: Status
    W_mm: np.ndarray | None = None
    norm: float | None = None
    kkt: dict[str, float] = field(default_factory=dict)
    alpha: np.ndarray | None = None
    constraints: np.ndarray | None = None
    method: str = "nnls"
    raw_error: float | None = None

    @property
    def margin(self) -> float | None:
        """``γ* = 1/‖W^mm‖``."""
        return None if self.norm is None else 1.0 / self.norm

    def rescaled(self, k: int) -> MaxMargin:
        """The result for ``H`` from the one for ``2^k H`` (scaling.py): ``W^mm`` and its norm scale
        by ``2^k``, the multipliers by ``4^k``; the (relative) KKT residuals do not change."""
        if k == 0 or self.W_mm is None:
            return self
        W, alpha = scaled_back(self.W_mm, k), scaled_back(self.alpha, 2 * k)
        norm = None if self.norm is None else float(np.ldexp(self.norm, k))
        if not representable(W, norm):
            return replace(self, status=Status("inconclusive", "W^mm is not representable in float64 at "
                                               "this scale of H"), W_mm=None, norm=None, alpha=None)
        # the multipliers scale twice as fast: beyond float64's range they are dropped, W^mm stays
        return replace(self, W_mm=W, norm=norm, alpha=alpha if representable(alpha) else None)

    def to_dict(self) -> dict:
        out: dict = {"status": self.status.to_dict(), "method": self.method, "kkt": dict(self.kkt)}
        if self.alpha is not None:
            out["active_constraints"] = int(np.count_nonzero(self.alpha))
        if self.raw_error is not None:
            out["polish_change"] = self.raw_error
        return out


def ldp(M: np.ndarray) -> tuple[np.ndarray, float]:
    """``(u, δ)``: Lawson–Hanson NNLS for the LDP of ``min ½‖c‖² s.t. M c ≥ 𝟙``, δ = 1 − 𝟙ᵀu."""
    n_in, n = M.shape
    E = np.vstack([M.T, np.ones((1, n_in))])
    f = np.zeros(n + 1)
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * max(n_in, 10))
    return u, 1.0 - float(u.sum())


def clarabel_candidate(geo: Geometry) -> tuple[np.ndarray, np.ndarray] | None:
    """``(vec B, α)`` from cvxpy + Clarabel on ``min ½‖B‖² s.t. A_eq b = 0, A_in b ≥ 1``."""
    import cvxpy as cp

    x = cp.Variable(geo.V * geo.r)
    margins = geo.A_in @ x >= 1
    cons = [margins] + ([geo.A_eq @ x == 0] if geo.A_eq.shape[0] else [])
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(x)), cons)
    try:
        prob.solve(solver=cp.CLARABEL, ignore_dpp=True, **CLARABEL_SETTINGS)
    except cp.error.SolverError:
        return None
    if prob.status != cp.OPTIMAL:
        return None
    return np.asarray(x.value), np.asarray(margins.dual_value).reshape(-1)


def active_set(M: np.ndarray, c: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Indices taken as active: a multiplier above ``ACTIVE_DUAL_RTOL·max α``, or zero slack."""
    slack = M @ c - 1.0
    return np.flatnonzero((alpha > ACTIVE_DUAL_RTOL * alpha.max()) | (np.abs(slack) <= ACTIVE_SLACK))


def polish(M: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact re-solve on a fixed active set: ``c = M_A⁺ 𝟙`` (minimum norm with ``M_A c = 𝟙``) and
    ``α_A ≥ 0`` with ``c = M_Aᵀ α_A`` (least squares; NNLS if that has negative entries, which a
    degenerate active set allows)."""
    MA = M[active]
    c = lstsq(MA, np.ones(active.size), cond=POLISH_RCOND, lapack_driver="gelsy", check_finite=False)[0]
    aA = lstsq(MA.T, c, cond=POLISH_RCOND, lapack_driver="gelsy", check_finite=False)[0]
    if aA.min() < 0.0:
        aA = nnls(MA.T, c)[0]
    alpha = np.zeros(M.shape[0])
    alpha[active] = aA
    return c, alpha


def kkt_residuals(geo: Geometry, W: np.ndarray, alpha: np.ndarray) -> dict[str, float]:
    """Relative KKT residuals of Definition 3 at ``(W, α)``, recomputed from H:

    ``primal_eq``: in-support spread of ``W h_j`` (constraint a); ``primal_ineq``:
    ``max(0, 1 − min margin)`` (constraint b); ``dual_sign``: ``max(0, −min α)/max α``;
    ``stationarity``: ``‖W − Σα(e_a − e_v)h_jᵀ − Σβ(e_z − e_a)h_jᵀ‖/‖W‖`` with β by least squares;
    ``complementarity``: ``Σ α_i |margin_i − 1| / Σ α_i``; ``duality_gap``: ``|‖W‖² − 𝟙ᵀα|/‖W‖²``.
    """
    spread, min_margin = definition2_violation(geo, W)
    Z = W @ geo.inst.embeddings.T
    j, a, v = geo.in_triples.T
    margins = Z[a, j] - Z[v, j]
    beta = geo.eq_multipliers(geo.reduce(W).reshape(-1) - geo.A_in.T @ alpha)
    C = combine(geo.in_triples, alpha, geo.m, geo.V) + combine(geo.eq_triples, beta, geo.m, geo.V)
    normW2 = float(np.sum(W * W))
    total = alpha.sum()
    return {
        "primal_eq": spread,
        "primal_ineq": max(0.0, 1.0 - min_margin),
        "dual_sign": max(0.0, -float(alpha.min())) / float(alpha.max()),
        "stationarity": float(np.linalg.norm(W - C @ geo.inst.embeddings) / np.sqrt(normW2)),
        "complementarity": float(alpha @ np.abs(margins - 1.0) / total),
        "duality_gap": abs(normW2 - total) / normW2,
    }


def certify(geo: Geometry, c_raw: np.ndarray, alpha_raw: np.ndarray, method: str) -> MaxMargin:
    """Polish a candidate ``(c, α)`` (reduced coordinates) and accept it only if KKT verifies."""
    M = geo.M_perp
    c, alpha = polish(M, active_set(M, c_raw, alpha_raw))
    W = geo.lift(c)
    kkt = kkt_residuals(geo, W, alpha)
    change = float(np.linalg.norm(c - c_raw) / np.linalg.norm(c))
    worst = max(kkt, key=kkt.__getitem__)
    if kkt[worst] > KKT_RTOL:
        return MaxMargin(Status("inconclusive", f"KKT residual {worst} = {kkt[worst]:.3g} exceeds "
                                f"{KKT_RTOL:g}"), kkt=kkt, method=method, raw_error=change)
    return MaxMargin(Status("ok", "KKT verified after active-set polish"), W,
                     float(np.linalg.norm(W)), kkt, alpha, geo.in_triples, method, change)


def _undefined(method: str) -> MaxMargin:
    return MaxMargin(Status("undefined", "every context has full support: no margin constraint, "
                            "W^mm does not exist (theory.md §5)"), method=method)


def _follow(sep: Separability, method: str) -> MaxMargin:
    """W^mm's status when separability did not come out ``ok``."""
    state: State = "infeasible" if sep.separable is False else "inconclusive"
    return MaxMargin(Status(state, f"separability: {sep.status.reason}"), method=method)


def _by_ldp(geo: Geometry) -> tuple[Separability, MaxMargin]:
    """One NNLS decides both (see module docstring); the LP decides if neither outcome verifies."""
    u, delta = ldp(geo.M_perp)
    if delta > LDP_MIN_RESIDUAL:
        mm = certify(geo, geo.M_perp.T @ u / delta, u / delta, "nnls")
        if mm.status.ok:
            assert mm.W_mm is not None  # certify sets W_mm whenever its status is ok
            spread, min_margin = definition2_violation(geo, mm.W_mm)
            return Separability(Status("ok", "W^mm is a KKT-verified witness"), True, method="ldp",
                                witness=mm.W_mm, witness_check=min_margin), mm
    sep = not_separable(geo, u, None, "ldp")
    if sep.separable is False:
        return sep, _follow(sep, "nnls")
    sep = separability_of(geo)
    if sep.separable is True:
        return sep, MaxMargin(Status("inconclusive", "the LP finds the instance separable but the LDP "
                                     "solution failed KKT verification"), method="nnls")
    return sep, _follow(sep, "nnls")


def _by_clarabel(geo: Geometry) -> tuple[Separability, MaxMargin]:
    sep = separability_of(geo)
    if sep.separable is not True:
        return sep, _follow(sep, "clarabel")
    raw = clarabel_candidate(geo)
    if raw is None:
        return sep, MaxMargin(Status("inconclusive", "Clarabel did not report an optimal solution "
                                     "although the LP found the instance separable"), method="clarabel")
    return sep, certify(geo, raw[0], raw[1], "clarabel")


def decide(geo: Geometry, method: str = "nnls") -> tuple[Separability, MaxMargin]:
    """Separability (Definition 2) and W^mm (Definition 3) of the instance behind ``geo``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if geo.in_triples.shape[0] == 0:
        return (Separability(Status("ok", "no margin inequalities: every context has full support"), True),
                _undefined(method))
    if not geo.rank_F.clear:
        reason = f"rank of the equation system is ambiguous (margin {geo.rank_F.margin:.2f} decades)"
        return Separability(Status("inconclusive", reason), None), MaxMargin(Status("inconclusive", reason),
                                                                               method=method)
    return _by_ldp(geo) if method == "nnls" else _by_clarabel(geo)


def max_margin(inst: Instance, method: str = "nnls") -> MaxMargin:
    """W^mm of ``inst`` (Definition 3), certified by its KKT conditions; computed on the normalized
    ``2^k H`` (scaling.py), so invariant under ``H → cH``."""
    scaled, k = normalized(inst)
    return decide(Geometry(scaled), method)[1].rescaled(k)


def w_mm(inst: Instance, method: str = "nnls") -> np.ndarray | None:
    """``W^mm`` (V×d), or ``None`` if it does not exist (not separable, or every context has full
    support); raises :class:`Inconclusive` if it could not be certified."""
    res = max_margin(inst, method)
    if res.status.state == "inconclusive":
        raise Inconclusive("W_mm", res.status.reason)
    return res.W_mm
