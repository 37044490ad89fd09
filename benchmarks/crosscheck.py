"""``python -m benchmarks crosscheck [--quick]``: ``solve()`` against answers computed without it,
from a few hundred to 10⁵ constraints (issue 10: "flags exactly, W^mm and W⋆ to 1e-8 relative").

The reference answers use none of the solver modules' code, only the definitions (theory.md §2)
assembled as explicit sparse matrices in the ``V·d`` coordinates of W (row-major ``vec W``):

* **compatibility and W⋆**: the equations ``(e_z − e_{a_j})ᵀ W h_j = log(p_z/p_{a_j})`` (anchor
  ``a_j`` the first support token), solved for the least-norm W by scipy's LSQR at tolerance 1e-15
  with two rounds of iterative refinement (the least-norm solution lies in the row space, which
  LSQR started at 0 never leaves). Compatible when the relative residual is below 1e-9 (the solver
  bars then sit at ~1e-15); W⋆ is then that solution.
* **separability**: HiGHS (interior point with crossover; dual simplex took > 120 s where it takes
  17 s, V=64, m=128, d=160) on the LP ``max t`` subject to ``(e_{a_j} − e_v)ᵀ W h_j ≥ t`` for
  ``v ∉ S_j``, W constant on each support (``(e_z − e_{a_j})ᵀ W h_j = 0``), ``|W_{v,i}| ≤ 1``,
  ``t ≤ 1``: separable iff ``t* > 0`` (W = 0 is feasible, so ``t* = 0`` exactly when not
  separable): "not separable" at ``t* ≤ LP_ZERO``, "separable" at ``t* ≥ LP_CLEAR``, otherwise
  "unclear" (None, not counted). Rows beyond LP_MAX_NNZ nonzeros are not assembled; with ``rank H = m``
  (d ≥ m, Gaussian H) Lemma 1 answers "separable and compatible" instead (marked "Lemma 1").
* **W^mm**: the dense ``method="clarabel"`` route (cvxpy + Clarabel in reduced coordinates, its own
  active set) up to CLARABEL_MAX_CONSTRAINTS: it is an independent solver, though in this package.

``solve()`` runs with ``method="auto"`` (the structured route beyond 1000 constraints). Columns: the
flags of each, the largest relative difference of W⋆ and W^mm, and the times.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.linalg import lsqr

import ntpverify as nv

from .scale import constraints, quick, random_supported

#: (V, m, d, largest support): separable (d ≥ m), not separable (d ≪ m), between, and
#: incompatible (many equations on few tokens: V=8, m=200, d=4; V=20, m=1000, d=8).
SHAPES = [(16, 20, 32, 4), (20, 60, 8, 4), (8, 200, 4, 8), (32, 64, 96, 6), (40, 120, 24, 6),
          (64, 128, 160, 8), (32, 300, 8, 8), (20, 1000, 8, 8), (64, 400, 48, 8), (100, 500, 600, 8),
          (50, 2000, 16, 8), (100, 1000, 1024, 8)]
QUICK_MAX_CONSTRAINTS = 20_000
#: The LP is assembled only up to this many nonzeros (≈ 12 bytes each in HiGHS's copy).
LP_MAX_NNZ = 40_000_000
CLARABEL_MAX_CONSTRAINTS = 2_000  # measured: 50 s at 1984 constraints
#: Compatible when ‖A w − b‖ ≤ this·(‖b‖ + ‖A‖‖w‖) (far above LSQR's 1e-15, far below any
#: incompatibility the drawn instances have: their residuals are O(1)).
COMPATIBLE_RTOL = 1e-9
#: HiGHS's default feasibility tolerance is 1e-7: a separable optimum is read only above 10× it, a
#: zero optimum (W = 0) at or below 1e-9.
LP_CLEAR = 1e-6
LP_ZERO = 1e-9


def _rows(inst: nv.Instance, triples: np.ndarray) -> sp.csr_matrix:
    """The rows ``(e_p − e_q)ᵀ W h_j`` for triples ``(j, p, q)``, on row-major ``vec W``."""
    d = inst.d
    j, p, q = triples.T
    n = triples.shape[0]
    cols = np.concatenate([p[:, None] * d + np.arange(d), q[:, None] * d + np.arange(d)], axis=1)
    vals = np.concatenate([inst.embeddings[j], -inst.embeddings[j]], axis=1)
    return sp.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, 2 * d * n + 1, 2 * d)),
                         shape=(n, inst.V * d))


def _triples(inst: nv.Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equality triples ``(j, z, a_j)`` with their right-hand sides, and margin triples
    ``(j, a_j, v)``, from the CSR support (anchor: the first stored token)."""
    ptr, tok, prob = inst.support_indptr, inst.support_tokens, inst.support_probs
    eq, rhs, ineq = [], [], []
    for j in range(inst.m):
        S, p = tok[ptr[j]:ptr[j + 1]], prob[ptr[j]:ptr[j + 1]]
        eq += [(j, z, S[0]) for z in S[1:]]
        rhs += list(np.log(p[1:] / p[0]))
        ineq += [(j, S[0], v) for v in np.setdiff1d(np.arange(inst.V), S)]
    as_array = lambda t: np.array(t, dtype=np.int64).reshape(-1, 3)  # noqa: E731
    return as_array(eq), np.array(rhs), as_array(ineq)


def _least_norm(A: sp.csr_matrix, b: np.ndarray) -> np.ndarray:
    x = lsqr(A, b, atol=1e-15, btol=1e-15, iter_lim=20 * A.shape[1])[0]
    for _ in range(2):
        x = x + lsqr(A, b - A @ x, atol=1e-15, btol=1e-15, iter_lim=20 * A.shape[1])[0]
    return x


def reference(inst: nv.Instance) -> dict:
    """The answers of the module docstring."""
    eq, rhs, ineq = _triples(inst)
    out: dict = {}
    if eq.shape[0]:
        A = _rows(inst, eq)
        w = _least_norm(A, rhs)
        res = float(np.linalg.norm(A @ w - rhs))
        scale = float(np.linalg.norm(rhs) + sp.linalg.norm(A) * np.linalg.norm(w))
        out["compatible"] = res <= COMPATIBLE_RTOL * scale
        out["W_star"] = w.reshape(inst.V, inst.d) if out["compatible"] else None
    else:
        out["compatible"], out["W_star"] = True, np.zeros((inst.V, inst.d))
    nnz = 2 * inst.d * (eq.shape[0] + ineq.shape[0])
    if ineq.shape[0] == 0:
        out["separable"] = True
    elif nnz <= LP_MAX_NNZ:
        n = inst.V * inst.d
        Ain = sp.hstack([-_rows(inst, ineq), sp.csr_matrix(np.ones((ineq.shape[0], 1)))]).tocsr()
        Aeq = sp.hstack([_rows(inst, eq), sp.csr_matrix((eq.shape[0], 1))]).tocsr() if eq.shape[0] else None
        c = np.zeros(n + 1)
        c[-1] = -1.0
        res = linprog(c, A_ub=Ain, b_ub=np.zeros(ineq.shape[0]), A_eq=Aeq,
                      b_eq=None if Aeq is None else np.zeros(eq.shape[0]),
                      bounds=[(-1, 1)] * n + [(None, 1)], method="highs-ipm")
        t = -res.fun if res.status == 0 else None
        out["separable"] = None if t is None else True if t >= LP_CLEAR else False if t <= LP_ZERO else None
        out["lp_t"] = t
    elif inst.d >= inst.m and np.linalg.matrix_rank(inst.embeddings) == inst.m:
        out["separable"], out["by_lemma1"] = True, True
    else:
        out["separable"] = None
    if constraints(inst) <= CLARABEL_MAX_CONSTRAINTS and out["separable"]:
        out["W_mm"] = nv.solve(inst, method="clarabel").W_mm
    return out


def _rel(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    if a is None or b is None:
        return None
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def main() -> None:
    print(f"{'V':>5} {'m':>6} {'d':>5} {'constraints':>11}  {'compatible':>17} {'separable':>17} "
          f"{'W⋆ rel':>8} {'W^mm rel':>8} {'solve s':>8} {'ref s':>7}")
    worst = 0.0
    mismatches = 0
    for V, m, d, S in SHAPES:
        inst = random_supported(np.random.default_rng(100 + V + m + d), V, m, d, max_support=S)
        if quick() and constraints(inst) > QUICK_MAX_CONSTRAINTS:
            continue
        t0 = time.perf_counter()
        sol = nv.solve(inst)
        t1 = time.perf_counter()
        ref = reference(inst)
        t2 = time.perf_counter()
        flags = []
        for name in ("compatible", "separable"):
            mine, theirs = getattr(sol, name), ref[name]
            tag = " (Lemma 1)" if name == "separable" and ref.get("by_lemma1") else ""
            mismatches += mine is not None and theirs is not None and mine != theirs
            flags.append(f"{mine}/{theirs}{tag}")
        ws, wm = _rel(sol.W_star, ref["W_star"]), _rel(sol.W_mm, ref.get("W_mm"))
        worst = max([worst] + [x for x in (ws, wm) if x is not None])
        fmt = lambda x: "—" if x is None else f"{x:.1e}"  # noqa: E731
        print(f"{V:>5} {m:>6} {d:>5} {constraints(inst):>11}  {flags[0]:>17} {flags[1]:>17} "
              f"{fmt(ws):>8} {fmt(wm):>8} {t1 - t0:>8.2f} {t2 - t1:>7.2f}", flush=True)
    print(f"flag mismatches: {mismatches}; largest relative difference of W⋆/W^mm: {worst:.1e} (bar 1e-8)")


if __name__ == "__main__":
    main()
