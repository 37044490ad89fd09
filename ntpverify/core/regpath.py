"""The regularization path ``Ŵ_B = argmin_{‖W‖≤B} CE(W)`` (theory.md §3 P4, §6), accurate for large B.

**Why a dedicated solver.** For a separable instance the path's KKT conditions are
``∇CE(W) + λW = 0``, ``‖W‖ = B``, ``λ > 0``. Along the path ``P_F(Ŵ_B) → W⋆`` and the F⊥ part grows
like ``B·W^mm/‖W^mm‖``, so the off-support probabilities, the F⊥ part of the gradient and ``λ`` all
shrink like ``e^{−B/‖W^mm‖}``. A general conic solver stops once they fall under its tolerance
(theory.md §6: right only up to B ≈ 10). Here every exponentially small quantity is carried by its
logarithm and the equations are scaled so that they stay O(1).

**Unknowns** (reduced coordinates of geometry.py, ``W = lift(b)``, ``b ∈ R^{V·r}``, ``‖W‖ = ‖b‖``):
``b = Qᵀx + B·N u`` with ``Q = Geometry.F_basis`` (orthonormal rows spanning F), ``N =
Geometry.Fperp_basis`` (orthonormal columns spanning F⊥), and ``λ = e^μ``.

**The exact split of softmax.** Per context, with ``S = S_j`` and ``O`` its complement, write
``s = softmax(ℓ) = [(1−ε) q ; ε r]`` where ``q = softmax(ℓ_S)``, ``r = softmax(ℓ_O)`` and ``ε`` is the
off-support mass (``log ε`` from log-sum-exps, never ``1 − Σ_S s``). Then exactly

* ``s − p = [q − p ; 0] + ε [−q ; r]``: the first term, ``⊗ g_j``, lies in F (it lives on ``S`` and
  sums to zero), so ``P_{F⊥}∇CE`` is carried by the ε-term alone;
* ``diag s − s sᵀ = (1−ε)(diag q − q qᵀ) ⊕ 0 + ε (diag r − r rᵀ + (1−ε)(q − r)(q − r)ᵀ)``
  (``q`` on S, ``r`` on O), again an in-F part plus an ε-part.

**The system** ``E(x, u, μ; B) = 0`` solved by Newton with the exact Jacobian:

* ``E_F = Q ∇CE(b) + λx`` (the F block, left in absolute units: it fixes ``x`` to ``W⋆``'s
  coordinates up to rounding, and its λ- and ε-terms may underflow harmlessly);
* ``E_⊥ = Nᵀ ∇CE(b)/(λB) + u``, evaluated as ``Σ_j π_j e^{log ε_j − μ} Nᵀ((r_j − q_j) ⊗ g_j)/B + u``:
  both terms are O(1) however small ``λ`` and ``ε`` are;
* ``E_n = ‖b‖/B − 1``.

**Continuation.** Start at a small ``B₀`` from the first-order solution ``b ≈ −B₀ ∇CE(0)/‖∇CE(0)‖``
(``∇CE(0) ≠ 0`` under separability, theory.md I5), then follow the path through the requested
``Bs`` in increasing order with ratios ``≤ MAX_RATIO``: a secant predictor for ``b`` in B (exact for
the asymptotic form ``b ≈ b_∞ + B·u_∞``), ``μ`` re-fitted to the predicted ``b``, and the ratio
square-rooted (the log-step halved) whenever Newton fails. Cost: 3–5 Newton steps per doubling,
~25 ms of CPU for B = 1 … 1024 on the shared cases; solved up to B = 2¹⁶ (``λ = e^{−40000}``).

**Certification.** Every returned point is re-checked from ``W`` (V×d) and ``H`` by
:func:`kkt_residuals` (stable log-softmax, original coordinates) and is ``ok`` only if every relative
residual is ``≤ PATH_KKT_RTOL``: with ``λ = e^μ > 0`` a KKT point of this convex problem is its
unique minimizer, and ``‖Ŵ_B‖ = B``.

**The ridge path.** ``argmin CE(W) + λ‖W‖²/2`` has the same stationarity condition, so the point
returned for ``B`` is also the ridge solution for its multiplier ``λ = e^{log_lam}``: the two paths are
one curve with two parameterizations, and this one function serves both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ntpverify.core.geometry import Geometry
from ntpverify.core.instance import Instance
from ntpverify.core.solution import Solution
from ntpverify.core.status import Status

#: Acceptance bound on every relative KKT residual of a path point (issue: a point is certified at
#: ≤ 1e-9, the same level as maxmargin.KKT_RTOL). Measured on 688 drawn instances up to B = 4096:
#: median 8e-14, worst 1.8e-11 (Newton stops at its rounding floor, NEWTON_TOL).
PATH_KKT_RTOL = 1e-9
#: Newton stops once ``‖E‖₂ ≤ NEWTON_TOL·max(1, B·max_j‖h_j‖)``: the terms of E are O(1), but the
#: logits (size up to ``B·max‖h_j‖``) carry absolute rounding ~1e-16 times that, which moves
#: ``ε_j/λ`` by as much relatively. Measured floor of ‖E‖ (Newton run to its stall) on the shared
#: cases for B = 1 … 4096: ≤ 3.4e-16·max(1, B·max‖h_j‖); ~1e-15 on nearly non-separable draws.
NEWTON_TOL = 1e-14
#: ...and accepts a point whose residual stalls (the line search cannot decrease it) at or below
#: this, for the certificate to decide: ``E_⊥`` is the relative F⊥ stationarity residual up to a
#: factor ~2, so anything above PATH_KKT_RTOL could not be certified anyway.
NEWTON_ACCEPT = 1e-9
NEWTON_MAX_ITER = 60
#: Armijo constant and smallest step of the backtracking line search on ``‖E‖``.
ARMIJO = 1e-4
MIN_STEP = 2.0 ** -20
#: Largest and smallest ratio ``B_{k+1}/B_k`` of the continuation. A doubling takes 3–5 Newton steps
#: on the shared cases (at most 10, where the path turns from W⋆ towards W^mm); below ``1 + 1e-6``
#: the continuation gives up (inconclusive).
MAX_RATIO = 2.0
MIN_RATIO = 1.0 + 1e-6
#: ``B₀ = START_FRACTION·‖∇CE(0)‖/‖∇²CE(0)‖₂`` (capped by the first requested B): there the
#: first-order start is off by ≲ 1% of ``B₀`` and Newton converges at once.
START_FRACTION = 0.1


# --- the stable softmax split --------------------------------------------------------------------

@dataclass(frozen=True)
class SoftmaxSplit:
    """``softmax(ℓ_j) = [(1−ε_j) q_j ; ε_j r_j]`` for every context (columns, V×m arrays).

    ``q`` is the softmax restricted to ``S_j`` (zero off it), ``r`` the softmax restricted to the
    complement (zero on ``S_j``, and zero for full-support contexts), ``log_eps`` = ``log ε_j``
    (``−inf`` for full support) and ``eps`` = ``ε_j`` (may underflow to 0, which is then exact to
    double precision wherever it is used unscaled).
    """

    q: np.ndarray
    r: np.ndarray
    log_eps: np.ndarray

    @property
    def eps(self) -> np.ndarray:
        return np.exp(self.log_eps)


def _column_lse(Z: np.ndarray) -> np.ndarray:
    """``log Σ_v e^{Z_{v,j}}`` per column, ``−inf`` for an all-``−inf`` column (scipy's logsumexp
    computes the same but costs ~1 ms a call, which dominated the path's run time)."""
    top = Z.max(axis=0)
    shift = np.where(np.isfinite(top), top, 0.0)
    total = np.exp(Z - shift).sum(axis=0)
    return shift + np.log(total, out=np.full_like(total, -np.inf), where=total > 0.0)


def split_softmax(Z: np.ndarray, support: np.ndarray) -> SoftmaxSplit:
    """The split of ``softmax`` of each column of the logits ``Z`` (V×m) at the supports
    ``support`` (V×m boolean), every piece from log-sum-exps so nothing is lost to underflow:
    ``log ε = lse_O − logaddexp(lse_S, lse_O)``."""
    Zs = np.where(support, Z, -np.inf)
    Zo = np.where(support, -np.inf, Z)
    lse_s = _column_lse(Zs)
    lse_o = _column_lse(Zo)
    q = np.exp(Zs - lse_s)
    r = np.exp(Zo - np.where(np.isfinite(lse_o), lse_o, 0.0))  # all zero for a full support
    return SoftmaxSplit(q, r, lse_o - np.logaddexp(lse_s, lse_o))


# --- the KKT system in reduced coordinates -------------------------------------------------------

def _outer_sum(weights: np.ndarray, U: np.ndarray, G: np.ndarray) -> np.ndarray:
    """``vec Σ_j w_j u_j g_jᵀ`` (row-major V×r) for columns ``u_j`` of ``U`` (V×m)."""
    return ((U * weights) @ G).reshape(-1)


def _kron_sum(weights: np.ndarray, mats: np.ndarray, G: np.ndarray) -> np.ndarray:
    """``Σ_j w_j M_j ⊗ g_j g_jᵀ`` (n×n, n = V·r): the Hessian of ``b ↦ Σ_j w_j φ_j(B g_j)`` when
    ``M_j`` is the Hessian of ``φ_j`` (row-major ``vec``, so ``(M ⊗ g gᵀ) vec δB = vec(M δB g gᵀ)``)."""
    V, r = mats.shape[1], G.shape[1]
    outer = G[:, :, None] * G[:, None, :]
    prod = np.tensordot(weights[:, None, None] * mats, outer, axes=(0, 0))  # [a, b, i, k]
    return prod.transpose(0, 2, 1, 3).reshape(V * r, V * r)


def _softmax_jacobians(P: np.ndarray) -> np.ndarray:
    """``diag p_j − p_j p_jᵀ`` for each column ``p_j`` of ``P`` (V×m), stacked (m×V×V)."""
    cols = P.T
    out = -cols[:, :, None] * cols[:, None, :]
    idx = np.arange(P.shape[0])
    out[:, idx, idx] += cols
    return out


@dataclass(frozen=True)
class _Evaluation:
    """Everything the residual and the Jacobian share at one ``z``: ``(x, u, μ)``, ``b``, the
    softmax split, ``λ``, ``π_j ε_j/λ`` (``scaled``) and ``vec Σ_j π_j (ε_j/λ)(r_j − q_j) g_jᵀ``
    (``eps_part``: the gradient minus its in-F part, divided by λ)."""

    x: np.ndarray
    u: np.ndarray
    mu: float
    b: np.ndarray
    split: SoftmaxSplit
    lam: float
    scaled: np.ndarray
    eps_part: np.ndarray


class KKTSystem:
    """The scaled KKT system ``E(z; B) = 0`` of the module docstring, ``z = (x, u, μ)``."""

    def __init__(self, geo: Geometry) -> None:
        self.geo = geo
        self.Q = geo.F_basis
        self.N = geo.Fperp_basis
        self.k, self.n_perp = self.Q.shape[0], self.N.shape[1]
        self.G = geo.G
        self.pi = np.asarray(geo.inst.weights, dtype=float)
        self.P = geo.inst.next_token_probs.T
        self.support = geo.inst.support_mask.T
        self.h_max = float(np.linalg.norm(geo.inst.embeddings, axis=1).max())

    def b_of(self, z: np.ndarray, B: float) -> np.ndarray:
        """``b = Qᵀx + B N u``."""
        return self.Q.T @ z[: self.k] + B * (self.N @ z[self.k: self.k + self.n_perp])

    def pack(self, b: np.ndarray, mu: float, B: float) -> np.ndarray:
        """``z`` for the point ``b`` (any vector) and ``μ``."""
        return np.concatenate([self.Q @ b, (self.N.T @ b) / B, [mu]])

    def split(self, b: np.ndarray) -> SoftmaxSplit:
        return split_softmax(b.reshape(self.geo.V, self.geo.r) @ self.G.T, self.support)

    def evaluate(self, z: np.ndarray, B: float) -> _Evaluation:
        b = self.b_of(z, B)
        sp = self.split(b)
        mu = float(z[-1])
        scaled = self.pi * np.exp(sp.log_eps - mu)  # π_j ε_j/λ: O(B) on the path, inf far off it
        return _Evaluation(z[: self.k], z[self.k: self.k + self.n_perp], mu, b, sp, float(np.exp(mu)),
                           scaled, _outer_sum(scaled, sp.r - sp.q, self.G))

    def best_log_multiplier(self, b: np.ndarray) -> float | None:
        """``log λ`` minimizing ``‖P_{F⊥}∇CE(b) + λ P_{F⊥}b‖`` for fixed ``b``, i.e. ``λ = −⟨P_{F⊥}∇CE,
        b⟩/‖P_{F⊥}b‖²`` with ``P_{F⊥}∇CE = Σ_j π_j ε_j (r_j − q_j) ⊗ g_j`` summed in log space;
        ``None`` if that λ is not positive."""
        sp = self.split(b)
        Y = (self.N @ (self.N.T @ b)).reshape(self.geo.V, self.geo.r)
        a = np.einsum("vj,vj->j", sp.r - sp.q, Y @ self.G.T)
        top = sp.log_eps.max()
        total = float(self.pi @ (np.exp(sp.log_eps - top) * a)) if np.isfinite(top) else 0.0
        if not total < 0.0:
            return None
        return float(top + np.log(-total) - 2.0 * np.log(np.linalg.norm(self.N.T @ b)))

    def residual(self, ev: _Evaluation, B: float) -> np.ndarray:
        """``E(z; B) = (E_F, E_⊥, E_n)``."""
        grad_in = _outer_sum(self.pi, ev.split.q - self.P, self.G)
        E_F = self.Q @ (grad_in + ev.lam * ev.eps_part) + ev.lam * ev.x
        E_perp = (self.N.T @ ev.eps_part) / B + ev.u
        return np.concatenate([E_F, E_perp, [np.linalg.norm(ev.b) / B - 1.0]])

    def jacobian(self, ev: _Evaluation, B: float) -> np.ndarray:
        """``∂E/∂(x, u, μ)``, from the split Hessian ``∇²CE = H_in + λ H̃_ε`` (module docstring)."""
        sp = ev.split
        eps = sp.eps
        H_in = _kron_sum(self.pi * (1.0 - eps), _softmax_jacobians(sp.q), self.G)
        d = sp.q - sp.r
        M_eps = _softmax_jacobians(sp.r) + (1.0 - eps)[:, None, None] * (d.T[:, :, None] * d.T[:, None, :])
        H_eps = _kron_sum(ev.scaled, M_eps, self.G)  # ε-part of ∇²CE, divided by λ
        hess_Q = (H_in + ev.lam * H_eps) @ self.Q.T
        k, p = self.k, self.n_perp
        norm_b = np.linalg.norm(ev.b)
        J = np.zeros((k + p + 1, k + p + 1))
        J[:k, :k] = self.Q @ hess_Q + ev.lam * np.eye(k)
        J[:k, k:k + p] = B * (hess_Q.T @ self.N)  # ∇²CE is symmetric
        J[:k, -1] = ev.lam * ev.x
        J[k:k + p, :k] = (self.N.T @ H_eps @ self.Q.T) / B
        J[k:k + p, k:k + p] = self.N.T @ H_eps @ self.N + np.eye(p)
        J[k:k + p, -1] = -(self.N.T @ ev.eps_part) / B
        J[-1, :k] = ev.x / (B * norm_b)
        J[-1, k:k + p] = B * ev.u / norm_b
        return J


def _norm(E: np.ndarray) -> float:
    """``‖E‖₂``, ``inf`` for a non-finite residual (an overflowed trial point is rejected)."""
    value = float(np.linalg.norm(E))
    return value if np.isfinite(value) else np.inf


def newton(system: KKTSystem, z: np.ndarray, B: float) -> tuple[np.ndarray, bool]:
    """Damped Newton on ``E(·; B)`` from ``z``: the full step, halved until ``‖E‖`` decreases by the
    Armijo factor, until ``‖E‖`` reaches its rounding floor (NEWTON_TOL) or stalls. Returns the last
    iterate and whether ``‖E‖ ≤ NEWTON_ACCEPT`` there."""
    # a trial far off the path may overflow ε/λ (then 0·inf = nan): its residual is non-finite, rejected
    with np.errstate(over="ignore", invalid="ignore"):
        ev = system.evaluate(z, B)
        E = system.residual(ev, B)
        norm = _norm(E)
        tol = NEWTON_TOL * max(1.0, B * system.h_max)
        for _ in range(NEWTON_MAX_ITER):
            if norm <= tol:
                break
            try:
                step = np.linalg.solve(system.jacobian(ev, B), -E)
            except np.linalg.LinAlgError:
                break
            alpha = 1.0
            while alpha >= MIN_STEP:
                trial = z + alpha * step
                ev_trial = system.evaluate(trial, B)
                E_trial = system.residual(ev_trial, B)
                if _norm(E_trial) <= (1.0 - ARMIJO * alpha) * norm:
                    break
                alpha /= 2.0
            else:
                break
            z, ev, E, norm = trial, ev_trial, E_trial, _norm(E_trial)
    return z, norm <= NEWTON_ACCEPT


# --- certification -------------------------------------------------------------------------------

def kkt_residuals(geo: Geometry, W: np.ndarray, B: float, log_lam: float) -> dict[str, float]:
    """Relative KKT residuals of ``∇CE(W) + λW = 0, ‖W‖ = B`` at ``(W, λ = e^{log_lam})``, from ``W``
    (V×d) and ``H`` with the stable split of :func:`split_softmax`:

    ``norm``: ``|‖W‖ − B|/B``. ``stationarity_F``: ``‖P_F(∇CE + λW)‖`` over the sum of the sizes of
    its terms ``Σ_j π_j (‖q_j‖ + ‖p_j‖)‖h_j‖ + λ‖P_F W‖`` (a backward error: the F block balances
    O(1) terms that cancel). ``stationarity_Fperp``: ``‖P_{F⊥}(∇CE/λ + W)‖ / (‖P_{F⊥}∇CE/λ‖ + ‖W‖)``
    (normwise: ``‖W‖``, not ``‖P_{F⊥}W‖``, which is 0 up to rounding when no context has an
    off-support token), where ``P_{F⊥}∇CE/λ = P_{F⊥} Σ_j π_j e^{log ε_j − log λ}(r_j − q_j)h_jᵀ`` exactly
    (the in-F part of the gradient has no F⊥ component), so it is resolved at any B.
    """
    inst = geo.inst
    H = inst.embeddings
    sp = split_softmax(W @ H.T, inst.support_mask.T)
    lam = np.exp(log_lam)
    with np.errstate(over="ignore"):  # only far off the path; the residuals are then inf or nan: rejected
        scaled = inst.weights * np.exp(sp.log_eps - log_lam)
    grad_in = ((sp.q - inst.next_token_probs.T) * inst.weights) @ H
    eps_part = ((sp.r - sp.q) * scaled) @ H
    W_F = geo.project_F(W)
    r_F = geo.project_F(grad_in + lam * eps_part) + lam * W_F
    size_F = float(inst.weights @ ((np.linalg.norm(sp.q, axis=0) + np.linalg.norm(inst.next_token_probs, axis=1))
                                   * np.linalg.norm(H, axis=1))) + lam * float(np.linalg.norm(W_F))
    perp_grad = eps_part - geo.project_F(eps_part)
    W_perp = W - W_F
    norm_W = float(np.linalg.norm(W))
    return {
        "norm": abs(norm_W - B) / B,
        "stationarity_F": float(np.linalg.norm(r_F)) / size_F,
        "stationarity_Fperp": float(np.linalg.norm(perp_grad + W_perp) / (np.linalg.norm(perp_grad) + norm_W)),
    }


@dataclass(frozen=True)
class PathPoint:
    """One point of the path: ``W`` (V×d) = ``Ŵ_B``, its multiplier ``λ = e^{log_lam}`` (also the
    ridge parameter whose solution it is), the relative KKT residuals, and the status: ``ok`` iff
    every residual is ``≤ PATH_KKT_RTOL``; ``inconclusive`` otherwise or if the continuation did not
    reach ``B`` (then ``W`` and ``log_lam`` are ``None``)."""

    B: float
    W: np.ndarray | None
    log_lam: float | None
    kkt: dict[str, float] = field(default_factory=dict)
    status: Status = Status("ok")

    @property
    def lam(self) -> float | None:
        """``λ`` (underflows to 0.0 beyond B ≈ 700‖W^mm‖; use ``log_lam`` there)."""
        return None if self.log_lam is None else float(np.exp(self.log_lam))

    @property
    def kkt_max(self) -> float:
        return max(self.kkt.values()) if self.kkt else np.inf


def certify(geo: Geometry, B: float, W: np.ndarray, log_lam: float) -> PathPoint:
    """The :class:`PathPoint` at ``(W, log_lam)`` with its residuals and status."""
    kkt = kkt_residuals(geo, W, B, log_lam)
    worst = max(kkt, key=kkt.__getitem__)
    if not kkt[worst] <= PATH_KKT_RTOL:
        return PathPoint(B, W, log_lam, kkt, Status(
            "inconclusive", f"KKT residual {worst} = {kkt[worst]:.3g} exceeds {PATH_KKT_RTOL:g}"))
    return PathPoint(B, W, log_lam, kkt, Status("ok", "KKT verified"))


# --- continuation --------------------------------------------------------------------------------

def _start(system: KKTSystem, B_first: float) -> tuple[float, np.ndarray] | None:
    """``(B₀, z₀)``: Newton at ``B₀`` (START_FRACTION) from ``b = −B₀ g/‖g‖``, ``λ = ‖g‖/B₀``, with
    ``g = ∇CE(0)``; ``None`` if ``g = 0`` (not separable) or Newton fails."""
    S = np.full((system.geo.V, system.geo.m), 1.0 / system.geo.V)  # softmax at W = 0
    g = _outer_sum(system.pi, S - system.P, system.G)
    g_norm = float(np.linalg.norm(g))
    if g_norm == 0.0:
        return None
    curvature = np.linalg.eigvalsh(_kron_sum(system.pi, _softmax_jacobians(S), system.G))[-1]
    B0 = min(B_first, START_FRACTION * g_norm / curvature)
    z, ok = newton(system, system.pack(-B0 * g / g_norm, np.log(g_norm / B0), B0), B0)
    return (B0, z) if ok else None


def _predict(system: KKTSystem, history: list[tuple[float, np.ndarray]], B: float) -> np.ndarray:
    """Predicted ``z`` at ``B``: ``b`` by the secant in B through the last two accepted points (exact
    for the asymptotic form ``b ≈ b_∞ + B·u_∞``, and for ``b ≈ −B g/‖g‖`` at small B), then ``μ`` by
    :meth:`KKTSystem.best_log_multiplier` for that ``b`` (a secant on ``μ`` would be off by O(1), i.e.
    ``λ`` by a constant factor, which costs Newton one iteration per unit of ``log λ``)."""
    B_last, z_last = history[-1]
    b = system.b_of(z_last, B_last)
    mu = float(z_last[-1])
    if len(history) >= 2:
        B_prev, z_prev = history[-2]
        b_prev = system.b_of(z_prev, B_prev)
        b = b + (b - b_prev) * ((B - B_last) / (B_last - B_prev))
    else:  # from the start point, which is on the first-order ray b ∝ −∇CE(0)
        b = b * (B / B_last)
    best = system.best_log_multiplier(b)
    return system.pack(b, mu if best is None else best, B)


def _advance(system: KKTSystem, history: list[tuple[float, np.ndarray]], target: float) -> bool:
    """Continue from ``history[-1]`` to ``target``, appending accepted points; ``False`` if the
    step ratio fell below ``MIN_RATIO``."""
    ratio = MAX_RATIO
    while history[-1][0] < target:
        B_cur = history[-1][0]
        B_next = min(target, B_cur * ratio)
        z, ok = newton(system, _predict(system, history, B_next), B_next)
        if ok:
            history.append((B_next, z))
            ratio = min(MAX_RATIO, ratio * ratio)
        else:
            ratio = np.sqrt(ratio)
            if ratio < MIN_RATIO:
                return False
    return True


def regularization_path(inst: Instance, Bs: Iterable[float], solution: Solution | None = None) -> list[PathPoint]:
    """``Ŵ_B = argmin_{‖W‖≤B} CE(W)`` for each ``B`` in ``Bs`` (returned in increasing order of B),
    each certified by its KKT residuals (module docstring). ``solution`` only lends its geometry.

    The solver assumes the constraint is active (``λ > 0``), which holds for every ``B`` when the
    instance is separable (``∇CE`` never vanishes, theory.md I5). Points it cannot reach or certify
    are returned ``inconclusive``; so is every point when ``∇CE(0) = 0``.
    """
    targets = sorted({float(B) for B in Bs})
    if not targets or targets[0] <= 0.0 or not np.isfinite(targets[-1]):
        raise ValueError(f"Bs must be positive and finite, got {targets}")
    geo = solution.geometry if solution is not None else Geometry(inst)
    system = KKTSystem(geo)
    start = _start(system, targets[0])
    history = [] if start is None else [start]
    points: list[PathPoint] = []
    for B in targets:
        if not history or not _advance(system, history, B):
            reason = "continuation failed" if history else "no starting point (∇CE(0) = 0 or Newton failed)"
            points.extend(PathPoint(b, None, None, status=Status("inconclusive", f"{reason} before B = {b:g}"))
                          for b in targets[len(points):])
            break
        z = history[-1][1]
        points.append(certify(geo, B, geo.lift(system.b_of(z, B)), float(z[-1])))
    return points
