"""Rival candidates for the GD limits of P6: plausible but wrong limits (theory.md §8).

The GD checks (gd_limits.py, with evidence.py) decide P6 by a contest: the claimed limit must beat every rival built
here, and a negative control passes a rival *as* the claimed limit and requires a failure. Every
rival is built from the instance alone (plus the certified ``Solution``), in the reduced
coordinates of geometry.py (``W = B Rᵀ``), and is ``None`` where it does not exist or coincides
with the true object by construction (nothing dropped, nothing to fit).

Direction rivals (for ``W^mm``, P6a):

* ``relaxed_svm``: ``argmin ‖W‖ s.t. (e_z − e_v)ᵀ W h_j ≥ 1`` for all ``j, z ∈ S_j, v ∉ S_j``:
  Definition 3 without the equalities (a) (and so with every in-support ``z``, not only the
  anchor: without (a) the anchor form is not equivalent). Example A: cosine 0.49 with ``W^mm``.
* ``min_norm_interpolator``: the minimum-norm ``W`` with ``(W h_j)_z = log p_{j,z}`` for
  ``z ∈ S_j`` (least squares if that system is inconsistent).
* ``least_squares``: the π-weighted least-squares fit ``argmin Σ_j π_j Σ_{z∈S_j}
  ((W h_j)_z − log p_{j,z})²`` of the absolute log-probabilities (minimum norm among minimizers).
  It equals the interpolator when the system is consistent, and depends on π when it is not.
* ``dropped_full_support``: ``W^mm`` of the sub-instance without the full-support contexts
  (weights renormalized). Example D: cosine ``1/√2``.
* ``W_star``: ``W⋆`` itself (the direction ``W⋆/‖W⋆‖``).

F-part rivals (for ``W⋆``, P6b): ``min_norm_interpolator``, ``least_squares`` and
``off_F_solution = W⋆ + X`` with ``X ∈ F⊥∖{0}`` (it solves the equations of Definition 1 but is
not in F).

For the negative controls there are also two solvers that drop a constraint:
``mm_without_constraint`` (the NTP-SVM without its largest-multiplier margin constraint) and
``star_without_equation`` (W⋆ without its equation of largest right-hand side).
"""

from __future__ import annotations

import numpy as np

from ntpverify.core.geometry import Geometry, _triples_rows
from ntpverify.core.instance import Instance, drop_contexts
from ntpverify.core.maxmargin import CLARABEL_SETTINGS, LDP_MIN_RESIDUAL, active_set, ldp, polish
from ntpverify.core.solution import Solution, solve
from ntpverify.core.status import Inconclusive

#: A solved rival must meet its own constraints to this (absolute margin defect, margins are ≥ 1
#: by definition). Polished LDP solutions of the shared cases meet them to ~1e-15; this is the
#: KKT acceptance level of maxmargin.KKT_RTOL.
RIVAL_FEASIBILITY_TOL = 1e-9


def _feasibility_defect(A: np.ndarray, b: np.ndarray) -> float:
    """``1 − min(A b)``: how far ``b`` misses its margins (≤ 0 when feasible)."""
    return 1.0 - float((A @ b).min())


def _clarabel_ldp(A: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(b, α)`` for ``min ½‖b‖² s.t. A b ≥ 𝟙`` from cvxpy + Clarabel at maxmargin's tolerances."""
    import cvxpy as cp

    b = cp.Variable(A.shape[1])
    margins = A @ b >= 1
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(b)), [margins])
    try:
        problem.solve(solver=cp.CLARABEL, **CLARABEL_SETTINGS)
    except cp.error.SolverError:
        return None
    if problem.status != cp.OPTIMAL:
        return None
    return np.asarray(b.value), np.asarray(margins.dual_value).reshape(-1)


def _min_norm_ldp(A: np.ndarray) -> np.ndarray:
    """``argmin ‖b‖ s.t. A b ≥ 𝟙``: Lawson–Hanson's LDP (maxmargin.ldp), else Clarabel, each
    followed by an exact re-solve on its active set (maxmargin.polish) and accepted only if
    feasible. The fallback is needed: scipy's NNLS stops at a wrong point on degenerate rows
    (measured: orthogonal draws with overlapping supports, margin defect 0.75)."""
    u, delta = ldp(A)
    candidates = [] if delta <= LDP_MIN_RESIDUAL else [(A.T @ u / delta, u / delta)]
    for c, alpha in candidates + [cand for cand in [_clarabel_ldp(A)] if cand is not None]:
        b, _ = polish(A, active_set(A, c, alpha))
        if _feasibility_defect(A, b) <= RIVAL_FEASIBILITY_TOL:
            return b
    raise Inconclusive("rival", "neither the LDP nor Clarabel gave a verified minimum-norm solution")


def relaxed_svm(geo: Geometry) -> np.ndarray:
    """``argmin ‖W‖ s.t. (e_z − e_v)ᵀ W h_j ≥ 1`` for every ``j``, ``z ∈ S_j``, ``v ∉ S_j``:
    Definition 3 without (a). Solved as an LDP on all (j, z, v) rows in reduced coordinates."""
    mask = geo.inst.support_mask
    triples = [(j, z, v) for j in range(geo.m) for z in np.flatnonzero(mask[j])
               for v in np.flatnonzero(~mask[j])]
    A = _triples_rows(np.asarray(triples, dtype=np.intp).reshape(-1, 3), geo.G, geo.V)
    return geo.lift(_min_norm_ldp(A))


def _log_prob_fit(geo: Geometry, row_weights: np.ndarray) -> np.ndarray | None:
    """Minimum-norm minimizer of ``Σ_j w_j Σ_{z∈S_j} ((W h_j)_z − log p_{j,z})²`` (``None`` if the
    fit is ``W = 0``, as when every ``|S_j| = 1``: there is no direction to compare)."""
    j, z = np.nonzero(geo.inst.support_mask)
    rows = np.zeros((j.size, geo.V, geo.r))
    rows[np.arange(j.size), z] = geo.G[j]
    sqrt_w = np.sqrt(row_weights[j])
    target = np.log(geo.inst.next_token_probs[j, z])
    b = np.linalg.lstsq(rows.reshape(j.size, -1) * sqrt_w[:, None], target * sqrt_w, rcond=None)[0]
    return None if not np.any(b) else geo.lift(b)


def min_norm_interpolator(geo: Geometry) -> np.ndarray | None:
    """Minimum-norm ``W`` with ``(W h_j)_z = log p_{j,z}``, ``z ∈ S_j`` (least squares, unweighted,
    when inconsistent)."""
    return _log_prob_fit(geo, np.ones(geo.m))


def least_squares(geo: Geometry) -> np.ndarray | None:
    """The π-weighted least-squares fit of the absolute log-probabilities (minimum norm)."""
    return _log_prob_fit(geo, np.asarray(geo.inst.weights))


def dropped_full_support(inst: Instance) -> np.ndarray | None:
    """``W^mm`` of ``inst`` without its full-support contexts (the sub-instance of
    instance.drop_contexts; ``None`` if no context has full support: nothing is dropped)."""
    full = np.flatnonzero(inst.support_mask.all(axis=1))
    if full.size == 0:
        return None
    sub = drop_contexts(inst, full, name=f"{inst.name or 'instance'}-dropped-full-support")
    W = solve(sub).W_mm
    if W is None:
        raise Inconclusive("dropped_full_support", "W^mm of the sub-instance not certified")
    return W


def off_F_solution(sol: Solution) -> np.ndarray:
    """``W⋆ + X`` with ``X = (W^mm/‖W^mm‖)·max(‖W⋆‖, 1)`` ∈ F⊥∖{0}: a solution of Definition 1's
    equations (X adds nothing on any support) that is not in F, at distance ``max(‖W⋆‖, 1)`` from
    W⋆. W^mm is used for X because it lies in F⊥ ∩ span{h_j}, so X moves the logits."""
    # rivals are built for claims that require compatibility and separability, with W^mm certified
    assert sol.W_star is not None and sol.W_mm is not None and sol.W_mm_norm is not None
    return sol.W_star + sol.W_mm * (max(float(np.linalg.norm(sol.W_star)), 1.0) / sol.W_mm_norm)


def mm_without_constraint(sol: Solution) -> np.ndarray:
    """The NTP-SVM with its largest-multiplier margin constraint dropped: the LDP
    ``min ‖b‖ s.t. M b ≥ 𝟙`` of maxmargin.py (``M = Geometry.M_perp``, so b stays in F⊥) on every
    row but that one: a solver that drops a constraint."""
    geo = sol.geometry
    keep = np.ones(geo.M_perp.shape[0], dtype=bool)
    assert sol.mm.alpha is not None  # W^mm certified (as for every rival), so its multipliers are set
    keep[int(np.argmax(sol.mm.alpha))] = False
    return geo.lift(_min_norm_ldp(geo.M_perp[keep]))


def star_without_equation(sol: Solution) -> np.ndarray:
    """The minimum-norm solution of Definition 1's equations with the one of largest
    ``|log(p_{j,z}/p_{j,a_j})|`` dropped (pseudo-inverse on the remaining rows): a W⋆ solver
    that drops a constraint."""
    geo = sol.geometry
    keep = np.ones(geo.eq_rhs.size, dtype=bool)
    keep[int(np.argmax(np.abs(geo.eq_rhs)))] = False
    return geo.lift(np.linalg.lstsq(geo.A_eq[keep], geo.eq_rhs[keep], rcond=None)[0])


def direction_rivals(sol: Solution) -> dict[str, np.ndarray]:
    """The rivals of ``W^mm`` (P6a) that exist on this instance, by name."""
    geo = sol.geometry
    found = {"relaxed_svm": relaxed_svm(geo), "min_norm_interpolator": min_norm_interpolator(geo),
             "least_squares": least_squares(geo), "dropped_full_support": dropped_full_support(sol.instance),
             "W_star": sol.W_star}
    return {name: W for name, W in found.items() if W is not None and np.any(W)}


def F_rivals(sol: Solution) -> dict[str, np.ndarray]:
    """The rivals of ``W⋆`` (P6b) that exist on this instance, by name."""
    geo = sol.geometry
    found = {"min_norm_interpolator": min_norm_interpolator(geo), "least_squares": least_squares(geo),
             "off_F_solution": off_F_solution(sol)}
    return {name: W for name, W in found.items() if W is not None}
