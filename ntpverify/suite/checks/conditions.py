"""Checks of what the two conditions buy: P1 and its converse D1, P2 (overparameterization) and P3
(the one-hot case), theory.md §2–§3.

* P1: ``CE(W) > ℋ`` at finite probes, certified by the exact lower bound ``CE(W) − ℋ ≥ Σ_j π_j ε_j(W)``
  (``ε_j`` the softmax mass off ``S_j``: KL ≥ the KL of the partition {S_j, S_jᶜ} = −log(1−ε_j) ≥
  ε_j), and ``inf CE = ℋ`` along ``W_t = W⋆ + t·W^mm`` under an explicit envelope ``E(t) → 0``.
* D1: if a condition fails, ``inf CE − ℋ ≥ L > 0`` by the maximum-entropy dual: for ``q_j ∈ Δ``,
  Gibbs' inequality ``lse(z) ≥ qᵀz + H(q)`` gives ``CE(W) ≥ Σ_j π_j H(q_j) + ⟨W, r⟩`` with the
  moment residual ``r = Σ_j π_j (q_j − p_j) h_jᵀ``, so ``CE(W) − ℋ ≥ L − ‖W‖·‖r‖``.
* P2: ``rank H = m`` ⇒ both conditions, with Lemma 1's constructive witnesses ``W = Z (HHᵀ)⁻¹ H``.
* P3: one-hot supports: ``F = {0}``, ``W⋆ = 0``, ``ℋ = 0`` and ``W^mm`` equals a multiclass
  hard-margin SVM without bias built here independently (cvxpy on ``W ∈ R^{V×d}``).

Every check takes the object under test as an overridable keyword (``W_mm=None``, ``gap=...``,
``certificate=None``, ``overparameterized=...``, ``svm=...``) so negative controls can feed a wrong one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ntpverify.core.compatibility import COMPATIBLE_RTOL, equation_residual
from ntpverify.core.gap import MIN_CERTIFIED_GAP, MIN_CERTIFIED_RADIUS, moment_residual
from ntpverify.core.gap import certificate as gap_certificate
from ntpverify.core.geometry import Geometry
from ntpverify.core.instance import Instance
from ntpverify.core.maxmargin import CLARABEL_SETTINGS, KKT_RTOL
from ntpverify.core.model import entropy, logits, loss_gap
from ntpverify.core.separability import WITNESS_RTOL, definition2_violation
from ntpverify.core.solution import Solution, solve
from ntpverify.core.status import Inconclusive
from ntpverify.suite.applicability import applies
from ntpverify.suite.verdict import Verdict, first_failure, holds, inconclusive, vacuous, within

# --- P1 ------------------------------------------------------------------------------------------

#: Rounding allowance of ``CE − ℋ ≥ Σπ_j ε_j``: both sides are sums of ≤ m nonnegative terms, each
#: computed to a few ulps (model.kl_terms: log1p/logsumexp forms); 1e-12 leaves ~3 decades.
GAP_ROUNDING_RTOL = 1e-12
#: Norms of the finite probes, in units of ``1/max‖h_j‖`` (so logits stay within ±10).
PROBE_NORMS = (1.0, 10.0)
#: Random probe directions per example (standard normal, from the drawn seed).
RANDOM_PROBES = 1
#: A probe enters the positivity check only if ``‖W‖·max‖h_j‖`` is at most this: then every
#: logit spread is ≤ 600, so ``ε_j ≥ e^{−600}/V`` is far above float64 underflow (1e-308) and the
#: sign of the gap is decided exactly, not by underflow.
PROBE_MAX_LOGIT = 300.0
#: Path parameters ``t − t_0`` at which the envelope is checked (``t_0`` makes every x_j ≤ 1).
PATH_TIMES = (10.0, 20.0, 40.0)


def _lse(Z: np.ndarray) -> np.ndarray:
    """Column-wise ``log Σ_v e^{z_v}`` with the max shift (``−inf`` for an all-``−inf`` column);
    plain numpy, ~10× faster than scipy's array-API ``logsumexp`` on these small arrays."""
    top = Z.max(axis=0)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return shift + np.log(np.exp(Z - shift).sum(axis=0))


def _log_off_support_mass(inst: Instance, Z: np.ndarray) -> np.ndarray:
    """``log ε_j = lse_{v∉S_j} z_v − lse_v z_v`` per context (``−inf`` for a full support)."""
    return _lse(np.where(inst.support_mask.T, -np.inf, Z)) - _lse(Z)


def gap_lower_bound(inst: Instance, W: np.ndarray) -> float:
    """``Σ_j π_j ε_j(W) ≤ CE(W) − ℋ`` (data processing: merging the tokens of ``S_j`` and of its
    complement gives ``KL ≥ −log(1 − ε_j) ≥ ε_j``); ``> 0`` whenever some ``|S_j| < V``."""
    return float(inst.weights @ np.exp(_log_off_support_mass(inst, logits(inst, W))))


def _unit_probes(inst: Instance, sol: Solution, seed: int) -> dict[str, np.ndarray]:
    """``W = 0``, W⋆ itself, and W⋆, W^mm and random directions rescaled to ``PROBE_NORMS``."""
    rng = np.random.default_rng(seed)
    unit = 1.0 / np.linalg.norm(inst.embeddings, axis=1).max()
    directions = {"W_star": sol.W_star, "W_mm": sol.W_mm}
    directions.update({f"random{i}": rng.standard_normal((inst.V, inst.d)) for i in range(RANDOM_PROBES)})
    probes = {"zero": np.zeros((inst.V, inst.d))}
    if sol.W_star is not None:
        probes["W_star"] = sol.W_star
    for name, D in directions.items():
        norm = 0.0 if D is None else float(np.linalg.norm(D))
        if norm > 0.0:
            probes.update({f"{name}@{rho:g}": D * (rho * unit / norm) for rho in PROBE_NORMS})
    return probes


@dataclass(frozen=True)
class Path:
    """``W_t = W⋆ + t·W^mm`` and its envelope ``E(t) ≥ CE(W_t) − ℋ`` (see :func:`path_envelope`)."""

    W_star: np.ndarray
    W_mm: np.ndarray
    log_rho: np.ndarray
    mu: float
    eta0: float
    sigma: float
    t0: float

    def at(self, t: float) -> np.ndarray:
        return self.W_star + t * self.W_mm

    def envelope(self, inst: Instance, t: float) -> float:
        """``E(t) = Σ_j π_j x_j/(1 − x_j) + 2η²e^{2η}``, ``x_j = ρ_j e^{−tμ}``, ``η = η₀ + tσ``."""
        x = np.exp(self.log_rho - t * self.mu)
        if x.max() >= 1.0:
            return np.inf
        eta = self.eta0 + t * self.sigma
        return float(inst.weights @ (x / (1.0 - x)) + 2.0 * eta**2 * np.exp(2.0 * eta))

    def times(self) -> list[float]:
        return [self.t0 + s for s in PATH_TIMES]


def path_envelope(inst: Instance, geo: Geometry, W_star: np.ndarray, W_mm: np.ndarray) -> Path:
    """The envelope of ``CE(W⋆ + tW^mm) − ℋ``, derived from what solve() certifies.

    Premises: W⋆ solves Definition 1 to ``η₀ = COMPATIBLE_RTOL·max(1, ‖b‖)`` (absolute, in every
    logit difference); W^mm meets Definition 2 to ``KKT_RTOL``: in-support spread
    ``≤ σ = KKT_RTOL·‖W^mm‖·max‖h_j‖`` and every margin ``(W^mm h_j)_z − (W^mm h_j)_v ≥ μ =
    1 − KKT_RTOL − σ`` for ``z ∈ S_j, v ∉ S_j``. Write ``KL_j = in_j − log(1 − ε_j)``
    (model.kl_terms). Off-support: ``ε_j ≤ Σ_{v∉S} e^{ℓ_v}/Σ_{z∈S} e^{ℓ_z} ≤ ρ_j e^{−tμ} =: x_j``
    with ``ρ_j = Σ_{v∉S_j} e^{(W⋆h_j)_v} / Σ_{z∈S_j} e^{(W⋆h_j)_z}``, and ``−log(1−ε) ≤ x/(1−x)``.
    In-support: the logits deviate from ``log p_j + c`` by ``≤ η = η₀ + tσ``, so
    ``|log q_z − log p_z| ≤ 2η`` and ``in_j ≤ φ(2η) ≤ 2η²e^{2η}``. Hence
    ``E(t) = Σ_j π_j x_j/(1−x_j) + 2η²e^{2η} = C e^{−t}(1 + o(1)) + O(η²)``, ``C = Σ_j π_j ρ_j``.
    The path is checked from ``t_0 = max(0, max_j log ρ_j)/μ`` on, where every ``x_j ≤ e^{−(t−t_0)μ}``.
    """
    Z = logits(inst, W_star)
    mask = inst.support_mask.T
    log_rho = _lse(np.where(mask, -np.inf, Z)) - _lse(np.where(mask, Z, -np.inf))
    b = geo.eq_rhs
    eta0 = COMPATIBLE_RTOL * max(1.0, float(np.linalg.norm(b)))
    sigma = KKT_RTOL * float(np.linalg.norm(W_mm)) * float(np.linalg.norm(inst.embeddings, axis=1).max())
    mu = 1.0 - KKT_RTOL - sigma
    t0 = max(0.0, float(log_rho.max())) / mu
    return Path(W_star, W_mm, log_rho, mu, eta0, sigma, t0)


def check_P1(inst: Instance, seed: int = 0, *, W_star: np.ndarray | None = None,
             W_mm: np.ndarray | None = None,
             gap: Callable[[Instance, np.ndarray], float] = loss_gap) -> Verdict:
    """P1: ``CE(W) − ℋ ≥ Σπ_jε_j(W) > 0`` on finite probes; if compatible and separable,
    ``CE(W_t) − ℋ ≤ E(t)`` at ``t = t_0 + (10, 20, 40)`` (:func:`path_envelope`), so ``inf CE = ℋ``.

    ``W_star``/``W_mm`` override the path's objects (the claim that they drive the gap to 0 at
    rate e^{−t}); ``gap`` the gap under test. ``seed`` draws the random probes.
    """
    sol = solve(inst)
    if (gated := applies("P1", inst, sol)) is not None:
        return gated
    if sol.compatible is None or sol.separable is None:
        return inconclusive("P1", f"conditions undecided: {sol.compat.status.reason or sol.sep.status.reason}")
    W_star = sol.W_star if W_star is None else W_star
    W_mm = sol.W_mm if W_mm is None else W_mm
    probes = _unit_probes(inst, sol, seed)
    path = None
    if W_star is not None and W_mm is not None:
        path = path_envelope(inst, sol.geometry, W_star, W_mm)
        probes.update({f"path t={t:.4g}": path.at(t) for t in path.times()})
    elif sol.compatible and sol.separable:
        return inconclusive("P1", f"W^mm: {sol.mm.status.reason}")
    h_max = float(np.linalg.norm(inst.embeddings, axis=1).max())
    ratios = {}  # gap / lower bound at every probe where the sign is decidable
    for name, W in probes.items():
        if float(np.linalg.norm(W)) * h_max <= PROBE_MAX_LOGIT:
            lower = gap_lower_bound(inst, W) * (1.0 - GAP_ROUNDING_RTOL)
            ratios[name] = gap(inst, W) / lower
    closest = min(ratios, key=ratios.__getitem__)
    verdicts = [holds("P1", ratios[closest] >= 1.0,
                      f"CE − ℋ ≥ Σπ_j ε_j(W) > 0 at {len(ratios)} finite probes; closest '{closest}': "
                      f"gap / lower bound = {ratios[closest]:.12g}",
                      "data processing: KL ≥ −log(1 − ε_j) ≥ ε_j (rounding 1e-12 relative)")]
    for t in path.times() if path is not None else ():
        assert path is not None  # the loop runs only when it is set
        g = gap(inst, path.at(t))
        env = path.envelope(inst, t)
        verdicts.append(within("P1", g / env, 1.0,
                               "E(t) = Σπ_j x_j/(1−x_j) + 2η²e^{2η} (path_envelope; C e^{−t} → 0)",
                               f"gap {g:.3g} along W⋆ + t·W^mm at t = {t:.4g} (t_0 = {path.t0:.3g}) over "
                               f"its envelope {env:.3g}"))
    return first_failure(verdicts)


# --- D1 ------------------------------------------------------------------------------------------

#: Allowance when a certificate is tested against a probe's gap (rounding of both sides).
PROBE_ROUNDING = 1e-12


def check_D1(inst: Instance, *, certificate: tuple[float, float, np.ndarray] | None = None) -> Verdict:
    """D1: if the instance is not compatible or not separable, ``inf CE − ℋ ≥ L > 0`` (certified).

    Two parts. Validity: the certificate ``(L, B_cert, q)`` (default: computed; override to test a
    claimed bound; r and ``B_cert = L/(2‖r‖)`` are recomputed from q) must not be contradicted by
    any probe with ``‖W‖ ≤ B_cert``: ``CE(W) − ℋ ≥ L − ‖W‖·‖r‖``, probing ``W = 0``, the dual's
    primal point (within rounding of inf CE) and, when both conditions hold, P1's path.
    Positivity: when a condition fails, ``L ≥ MIN_CERTIFIED_GAP`` on a ball of radius
    ``≥ MIN_CERTIFIED_RADIUS`` (else inconclusive: the bound is too weak to certify anything).
    """
    sol = solve(inst)
    if (gated := applies("D1", inst, sol)) is not None:
        return gated
    if sol.compatible is None or sol.separable is None:
        return inconclusive("D1", f"conditions undecided: {sol.compat.status.reason or sol.sep.status.reason}")
    try:
        own, W_dual = gap_certificate(inst, sol.geometry)
    except Inconclusive as e:
        return inconclusive("D1", e.reason)
    L, _, q = own if certificate is None else certificate
    r = moment_residual(inst, q)
    B_cert = L / (2.0 * r)  # recomputed: a certificate's claimed radius is not trusted
    probes = {"zero": np.zeros((inst.V, inst.d)), "dual point": W_dual}
    both = sol.compatible and sol.separable
    if both and sol.W_star is not None and sol.W_mm is not None:  # compatible ⇒ W⋆ is set
        path = path_envelope(inst, sol.geometry, sol.W_star, sol.W_mm)
        probes.update({f"path t={t:.4g}": path.at(t) for t in path.times()})
    excess = {name: (L - np.linalg.norm(W) * r) - loss_gap(inst, W)
              for name, W in probes.items() if np.linalg.norm(W) <= B_cert}
    if excess:
        worst = max(excess, key=excess.__getitem__)
        validity = within("D1", float(excess[worst]), PROBE_ROUNDING,
                          "Gibbs: CE(W) − ℋ ≥ L − ‖W‖‖r‖ for ‖W‖ ≤ B_cert",
                          f"certificate L = {L:.6g} (B_cert = {B_cert:.3g}) minus the gap at probe '{worst}'")
    else:  # L ≤ 0: the bound holds for every W since CE − ℋ ≥ 0
        validity = (vacuous("D1", f"both conditions hold; dual bound L = {L:.3g} ≤ 0 (trivially valid)")
                    if both else holds("D1", True, f"dual bound L = {L:.3g} ≤ 0 (trivially valid)"))
    if both or validity.outcome == "fail":
        return validity
    if L < MIN_CERTIFIED_GAP or B_cert < MIN_CERTIFIED_RADIUS:
        return inconclusive("D1", f"dual certificate too weak: L = {L:.3g}, B_cert = {B_cert:.3g} "
                            f"(need ≥ {MIN_CERTIFIED_GAP:g} on a ball of ≥ {MIN_CERTIFIED_RADIUS:g})")
    failing = " and ".join(n for n, ok in (("compatible", sol.compatible), ("separable", sol.separable))
                           if not ok)
    # a yes/no verdict, no score: Hypothesis' targeting would chase L → 0, below the resolution of
    # any float certificate (gaps ≲ 1e-7 of nearly compatible instances), i.e. into inconclusives
    return holds("D1", True, f"not {failing}: inf CE − ℋ ≥ L = {L:.6g} on ‖W‖ ≤ {B_cert:.3g} (L ≥ "
                 f"{MIN_CERTIFIED_GAP:g}, radius ≥ {MIN_CERTIFIED_RADIUS:g})",
                 "max-entropy dual, Gibbs' inequality")


# --- P2 ------------------------------------------------------------------------------------------


def lemma1_witness(inst: Instance, targets: np.ndarray) -> np.ndarray:
    """``W = Z (HHᵀ)⁻¹ H`` with ``W h_j = Z e_j`` for every j when ``rank H = m`` (Lemma 1's proof):
    any logits whatsoever can be realized."""
    H = inst.embeddings
    return np.linalg.solve(H @ H.T, targets.T).T @ H


def check_P2(inst: Instance, *,
             overparameterized: Callable[[Geometry], bool] | None = None) -> Verdict:
    """P2 (Lemma 1): if ``overparameterized(geo)`` (default: the catalogue's hypothesis
    ``rank H = m``, through the applicability gate; override to test another), solve() finds the
    instance compatible and separable, and Lemma 1's witnesses meet both definitions: logits
    ``log p_j`` on ``S_j`` (Definition 1) and the indicator ``𝟙_{S_j}`` (Definition 2, margins 1)."""
    sol = solve(inst)
    geo = sol.geometry
    if overparameterized is None:
        if (gated := applies("P2", inst, sol)) is not None:
            return gated
    elif not overparameterized(geo):
        return vacuous("P2", "the overriding hypothesis does not hold")
    if sol.compatible is None or sol.separable is None:
        return inconclusive("P2", f"conditions undecided: {sol.compat.status.reason or sol.sep.status.reason}")
    decided = holds("P2", bool(sol.compatible and sol.separable),
                    f"solve(): compatible = {sol.compatible}, separable = {sol.separable}")
    if geo.rank_H.rank < geo.m:  # the witnesses need HHᵀ invertible
        return decided
    P = inst.next_token_probs
    with np.errstate(divide="ignore"):
        log_p = np.where(inst.support_mask, np.log(P), 0.0)
    W_compat = lemma1_witness(inst, log_p.T)
    W_sep = lemma1_witness(inst, inst.support_mask.T.astype(float))
    spread, margin = definition2_violation(geo, W_sep)
    return first_failure([
        decided,
        within("P2", equation_residual(geo, W_compat), COMPATIBLE_RTOL, "compatibility.COMPATIBLE_RTOL",
               "Lemma 1 witness Z = log p solves Definition 1 (relative residual)"),
        within("P2", max(spread, 1.0 - margin), WITNESS_RTOL, "separability.WITNESS_RTOL",
               "Lemma 1 witness Z = 𝟙_S meets Definition 2 (spread, 1 − min margin)"),
    ])


# --- P3 ------------------------------------------------------------------------------------------

#: Rounding allowance of :func:`qp_distance_bound` relative to the sizes of its terms (a few ulps
#: per product, summed): it keeps the computed bound ≥ the exact one.
QP_BOUND_ROUNDING = 8 * np.finfo(float).eps


@dataclass(frozen=True)
class SvmResult:
    """A multiclass SVM as the P3 check consumes it: ``status`` is ``"optimal"``, ``"infeasible"``
    (certified by the solver) or anything else (inconclusive); ``W`` (V×d) when optimal, with
    ``error_bound`` ≥ its distance to the exact optimum of the solver's own problem."""

    status: str
    W: np.ndarray | None = None
    error_bound: float = np.inf


def _svm_rows(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(j, v, A)``: the margin constraints ``⟨(e_{y_j} − e_v) h_jᵀ, W⟩ ≥ 1`` for ``v ≠ y_j`` as rows
    of A (n × V·d, row-major W), in original coordinates, labels ``y_j = argmax p_j``."""
    V, m, d = inst.V, inst.m, inst.d
    y = inst.next_token_probs.argmax(axis=1)
    off = np.ones((m, V), dtype=bool)
    off[np.arange(m), y] = False
    j, v = np.nonzero(off)
    A = np.zeros((j.size, V, d))
    A[np.arange(j.size), y[j]] += inst.embeddings[j]
    A[np.arange(j.size), v] -= inst.embeddings[j]
    return j, v, A.reshape(j.size, V * d)


def qp_distance_bound(A: np.ndarray, x: np.ndarray, alpha: np.ndarray) -> float:
    """Certified ``‖x − x*‖`` for ``x* = argmin ½‖x‖² s.t. A x ≥ 𝟙`` from any ``α``.

    With ``x̃ = x / min(1, min A x)`` feasible and ``α ≥ 0`` (clipped), weak duality
    ``½‖x*‖² ≥ D(α) = 𝟙ᵀα − ½‖Aᵀα‖²`` and strong convexity (``‖x̃ − x*‖² ≤ ‖x̃‖² − ‖x*‖²`` for feasible
    x̃) give ``‖x̃ − x*‖² ≤ ‖x̃ − Aᵀα‖² + 2Σα_i((Ax̃)_i − 1)``: small terms, no cancellation.
    ``inf`` if no positive scaling of x is feasible.
    """
    margins = A @ x
    low = float(margins.min())
    if low <= 0.0:
        return np.inf
    scale = min(1.0, low)
    xt, mt = x / scale, margins / scale
    alpha = np.clip(alpha, 0.0, None)
    y = A.T @ alpha
    slack = mt - 1.0
    sq = float(np.sum((xt - y) ** 2) + 2.0 * alpha @ slack)
    sq += QP_BOUND_ROUNDING * float(xt @ xt + y @ y + 2.0 * alpha @ (np.abs(mt) + 1.0))
    return float(np.linalg.norm(x - xt)) + np.sqrt(max(sq, 0.0))


def multiclass_svm(inst: Instance) -> SvmResult:
    """The homogeneous multiclass hard-margin SVM ``min ‖W‖² s.t. (w_{y_j} − w_v)ᵀ h_j ≥ 1`` for
    ``v ≠ y_j``, built directly on ``W ∈ R^{V×d}`` with cvxpy + Clarabel (no code shared with
    maxmargin.py), with its certified error bound (:func:`qp_distance_bound`, Clarabel's duals)."""
    import cvxpy as cp

    _, _, A = _svm_rows(inst)
    x = cp.Variable(A.shape[1])
    margins = A @ x >= 1
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(x)), [margins])
    try:
        prob.solve(solver=cp.CLARABEL, **CLARABEL_SETTINGS)
    except cp.error.SolverError as e:
        return SvmResult(f"solver error: {e}")
    if prob.status != cp.OPTIMAL:
        return SvmResult(prob.status)
    xv = np.asarray(x.value)
    return SvmResult("optimal", xv.reshape(inst.V, inst.d),
                     qp_distance_bound(A, xv, np.asarray(margins.dual_value).reshape(-1)))


def check_P3(inst: Instance, *, svm: Callable[[Instance], SvmResult] = multiclass_svm) -> Verdict:
    """P3 (Remark 1), one-hot supports: ``dim F = 0``, ``W⋆ = 0`` and ``ℋ = 0`` exactly; the SVM
    ``svm(inst)`` is feasible iff the instance is NTP-separable; and
    ``‖W^mm − W_svm‖ ≤ e_mm + e_svm`` (each certified distance to the common optimum: the problems
    coincide when every ``|S_j| = 1``; W^mm's from its own multipliers by :func:`qp_distance_bound`)."""
    sol = solve(inst)
    if (gated := applies("P3", inst, sol)) is not None:
        return gated
    assert sol.W_star is not None  # one-hot supports give no equations: compatible, W⋆ set
    exact = holds("P3", sol.F_dim == 0 and not np.any(sol.W_star) and entropy(inst) == 0.0,
                  f"dim F = {sol.F_dim}, ‖W⋆‖ = {np.linalg.norm(sol.W_star):.3g}, ℋ = {entropy(inst):.3g}")
    if exact.outcome == "fail" or sol.separable is None:
        return exact if exact.outcome == "fail" else inconclusive("P3", f"separability: {sol.sep.status.reason}")
    res = svm(inst)
    if res.status not in ("optimal", "infeasible"):
        return inconclusive("P3", f"SVM solver status {res.status}")
    agree = holds("P3", (res.status == "optimal") == sol.separable,
                  f"NTP-separable = {sol.separable} but the SVM is {res.status}")
    if agree.outcome == "fail" or not sol.separable:
        return agree
    if not sol.mm.status.ok:
        return inconclusive("P3", f"W^mm: {sol.mm.status.reason}")
    # status ok ⇒ W^mm and its multipliers are set; separable and agreeing ⇒ the SVM is optimal, so W is set
    assert sol.W_mm is not None and sol.mm.constraints is not None and sol.mm.alpha is not None
    assert res.W is not None
    j, v, A = _svm_rows(inst)
    alpha = np.zeros((inst.m, inst.V))
    tj, _, tv = sol.mm.constraints.T
    alpha[tj, tv] = sol.mm.alpha
    e_mm = qp_distance_bound(A, sol.W_mm.reshape(-1), alpha[j, v])
    diff = float(np.linalg.norm(sol.W_mm - res.W))
    return within("P3", diff, e_mm + res.error_bound,
                  "certified distances to the QP optimum (weak duality + strong convexity)",
                  f"‖W^mm − W_svm‖ (‖W_svm‖ = {np.linalg.norm(res.W):.6g})")
