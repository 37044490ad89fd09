"""D1's library object: a certified lower bound on ``inf_W CE(W) − ℋ`` when a condition fails.

The Lagrangian dual of ``min_W CE(W) − ℋ`` is the maximum-entropy problem
``max Σ_j π_j H(q_j)`` s.t. ``q_j ∈ Δ``, ``Σ_j π_j (q_j − p_j) h_jᵀ = 0`` (minus ℋ). Any q in the simplex
with moment residual r gives ``CE(W) − ℋ ≥ Σ_j π_j H(q_j) − ℋ − ‖W‖·‖r‖`` for every W (Gibbs'
inequality), so a q solved by Clarabel and polished to a tiny residual certifies a gap on a ball
of radius ``B_cert = L/(2‖r‖)``. Used by claim D1 (suite/checks/conditions.py), S4 and the corpus
command.
"""

from __future__ import annotations

import warnings

import numpy as np

from ntpverify.core.geometry import Geometry
from ntpverify.core.instance import Instance
from ntpverify.core.maxmargin import CLARABEL_SETTINGS
from ntpverify.core.model import entropy
from ntpverify.core.status import Inconclusive

#: Candidate thresholds below which entries of the dual solution are set to 0 before the moment
#: equations are re-solved exactly: the dual's true zeros (e.g. tokens the moment equations
#: forbid) come out of an interior-point solver at ~1e-11..1e-8, depending on the instance.
Q_POLISH_FLOORS = (1e-10, 1e-9, 1e-8, 1e-7, 1e-6)
#: Rounding floor of ‖r‖, relative to max‖h_j‖: r sums m·V products of size ≤ ‖h_j‖, each to an ulp.
MOMENT_ROUNDING = 1e-14
#: Rounding of ``Σπ_j H(q_j) − ℋ`` (sums of ≤ m·V terms |q log q| ≤ 0.37 each, to a few ulps),
#: subtracted from L so the bound stays valid in floating point.
ENTROPY_ROUNDING = 1e-12
#: A certificate is accepted only if it holds on the ball of this radius: GD's ‖W_k‖ grows like
#: ‖W^mm‖ log k (theory.md §6), i.e. ≲ 1e3 for any feasible number of steps.
MIN_CERTIFIED_RADIUS = 1e6
#: Smallest certified gap taken as positive: 100× the rounding of L itself.
MIN_CERTIFIED_GAP = 100 * ENTROPY_ROUNDING

def max_entropy_dual(inst: Instance, geo: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """``(q, W)``: the maximizer of ``Σ_j π_j H(q_j)`` s.t. ``q_j ∈ Δ``, ``Σ_j π_j (q_j − p_j) g_jᵀ = 0``
    (cvxpy + Clarabel, exponential cones, tight tolerances), and the multiplier of the moment
    constraint lifted to ``W = −Λ Rᵀ``, a near-minimizer of CE (the Lagrangian dual of this problem
    is ``min_W CE(W) − ℋ``, with the sign measured on the shared cases). Raises Inconclusive."""
    import cvxpy as cp

    P, pi = inst.next_token_probs, inst.weights
    Q = cp.Variable((inst.m, inst.V), nonneg=True)
    moment = (Q - P).T @ (pi[:, None] * geo.G) == 0
    objective = cp.Maximize(cp.sum(cp.multiply(pi, cp.sum(cp.entr(Q), axis=1))))
    prob = cp.Problem(objective, [cp.sum(Q, axis=1) == 1, moment])
    try:
        with warnings.catch_warnings():
            # zeros of q sit on the boundary of the exponential cone, so 1e-12 tolerances often end
            # "optimal_inaccurate": harmless here, the certificate is re-checked from q itself
            warnings.simplefilter("ignore", UserWarning)
            prob.solve(solver=cp.CLARABEL, **CLARABEL_SETTINGS)
    except cp.error.SolverError as e:
        raise Inconclusive("max-entropy dual", f"Clarabel failed: {e}") from None
    if Q.value is None or prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise Inconclusive("max-entropy dual", f"Clarabel status {prob.status}")
    return np.asarray(Q.value), -geo.lift(np.asarray(moment.dual_value))


def polish_q(inst: Instance, geo: Geometry, q: np.ndarray) -> np.ndarray:
    """The q in the simplex with the smallest moment residual among the solver's and, for each
    floor in ``Q_POLISH_FLOORS``, the one with the entries ≤ floor set to 0 and the others moved by
    the least-norm correction that solves ``Σ_z q_{j,z} = 1`` and ``Σ_j π_j q_j g_jᵀ = Σ_j π_j p_j g_jᵀ``
    exactly (to rounding)."""
    q = np.clip(q, 0.0, None)
    weighted = inst.weights[:, None] * geo.G  # rows π_j g_j
    target = np.concatenate([np.ones(inst.m), (inst.next_token_probs.T @ weighted).reshape(-1)])
    best, best_r = q, moment_residual(inst, q)
    for floor in Q_POLISH_FLOORS:
        j, z = np.nonzero(q > floor)
        cols = np.arange(j.size)
        A = np.zeros((inst.m + inst.V * geo.r, j.size))
        A[j, cols] = 1.0
        A[inst.m + z[:, None] * geo.r + np.arange(geo.r), cols[:, None]] = weighted[j]
        polished = np.zeros_like(q)
        polished[j, z] = q[j, z] + np.linalg.lstsq(A, target - A @ q[j, z], rcond=None)[0]
        r = moment_residual(inst, polished)
        if polished.min() >= 0.0 and r < best_r:
            best, best_r = polished, r
    return best


def moment_residual(inst: Instance, q: np.ndarray) -> float:
    """``‖Σ_j π_j (q_j − p_j) h_jᵀ‖`` from H itself, plus its rounding floor (MOMENT_ROUNDING)."""
    r = ((q - inst.next_token_probs) * inst.weights[:, None]).T @ inst.embeddings
    floor = MOMENT_ROUNDING * float(np.linalg.norm(inst.embeddings, axis=1).max())
    return float(np.linalg.norm(r)) + floor


def entropies(q: np.ndarray) -> np.ndarray:
    """``H(q_j)`` per row (``0 log 0 = 0``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(q > 0, q * np.log(q), 0.0).sum(axis=1)


def certified_gap_lower_bound(inst: Instance) -> tuple[float, float, np.ndarray]:
    """``(L, B_cert, q)``: for every W with ``‖W‖ ≤ B_cert``,
    ``CE(W) − ℋ ≥ L − ‖W‖·‖r‖ ≥ L/2`` where ``B_cert = L/(2‖r‖)`` and ``r`` is the moment residual
    of ``q`` (:func:`moment_residual`; so ``‖r‖ = L/(2B_cert)``).

    ``q`` (m×V, rows in the simplex) maximizes the entropy dual (this module's docstring), polished so its
    moment equations hold to rounding; ``L = Σ_j π_j H(q_j) − ℋ − ENTROPY_ROUNDING``. The dual is
    tight (``max = inf CE − ℋ``), so L is the limit of GD's gap up to the solver's accuracy. Accept
    the certificate only if ``L ≥ MIN_CERTIFIED_GAP`` and ``B_cert ≥ MIN_CERTIFIED_RADIUS``.
    Raises :class:`Inconclusive` if the dual solver fails.
    """
    return certificate(inst, Geometry(inst))[0]


def certificate(inst: Instance, geo: Geometry) -> tuple[tuple[float, float, np.ndarray], np.ndarray]:
    """The certificate of :func:`certified_gap_lower_bound` and the dual's primal point W."""
    q_raw, W_dual = max_entropy_dual(inst, geo)
    q = polish_q(inst, geo, q_raw)
    q = q / q.sum(axis=1, keepdims=True)
    L = float(inst.weights @ entropies(q)) - entropy(inst) - ENTROPY_ROUNDING
    return (L, L / (2.0 * moment_residual(inst, q)), q), W_dual
