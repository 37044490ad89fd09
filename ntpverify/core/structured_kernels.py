"""Compiled inner loops of the structured route (theory.md §9): one epoch of dual block coordinate
ascent on the NTP-SVM dual, and the "selected logit differences" operator with its adjoint.

Layout: ``H`` is m×d (rows ``h_j``), ``W`` is V×d, the dual ``G`` is stored transposed as m×V
(row j is the column ``g_j`` of theory.md's ``G ∈ R^{V×m}``), so that each block step touches one
contiguous row. ``W = Gᵀ H`` is kept up to date incrementally.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def project_cone(y: np.ndarray, sign_free: np.ndarray, out: np.ndarray, buf: np.ndarray) -> None:
    """``out = Π_C(y)`` for ``C = {g : 𝟙ᵀg = 0, g_v ≤ 0 where not sign_free}`` (theory.md §9).

    ``g = y − τ𝟙`` on the free entries and ``min(y_v − τ, 0)`` on the signed ones, with τ the root
    of the decreasing piecewise-linear ``φ(τ) = Σ_free (y − τ) + Σ_signed min(y_v − τ, 0)``. The
    signed entries below τ are a prefix of them sorted ascending; including one more lowers τ, so
    τ is found exactly by one sort and a scan (no bisection tolerance). ``buf`` is scratch (V,).
    """
    V = y.shape[0]
    total = 0.0
    n_free = 0
    n_signed = 0
    for v in range(V):
        if sign_free[v]:
            total += y[v]
            n_free += 1
        else:
            buf[n_signed] = y[v]
            n_signed += 1
    signed = np.sort(buf[:n_signed])
    tau = total / n_free
    count = n_free
    for k in range(n_signed):
        if signed[k] >= tau:
            break
        total += signed[k]
        count += 1
        tau = total / count
    for v in range(V):
        if sign_free[v]:
            out[v] = y[v] - tau
        else:
            out[v] = min(y[v] - tau, 0.0)


@njit(cache=True)
def dual_epoch(H: np.ndarray, hsq: np.ndarray, support: np.ndarray, sign_free: np.ndarray,
               G: np.ndarray, W: np.ndarray, order: np.ndarray) -> float:
    """One sweep of exact block steps ``g_j ← Π_{C_j}(g_j + (c_j − ℓ_j)/‖h_j‖²)``, ``c_j = −𝟙_{v∉S_j}``,
    ``ℓ_j = W h_j``, then ``W += Δg_j h_jᵀ``, over the contexts in ``order`` (contexts with
    ``h_j = 0`` are skipped: the caller has dealt with them). ``support`` sets ``c_j``; ``sign_free``
    marks where ``g_{j,v}`` has no sign constraint (equal to ``support`` except in the negative
    control of tests/test_structured.py, which drops one cone constraint).

    Returns the epoch's largest ``max_v |Δg_{j,v}| ‖h_j‖²``: the size of the block step in logit
    units (margins are 1), zero exactly at a block-wise (hence global) maximizer.
    """
    V, d = W.shape
    y = np.empty(V)
    new = np.empty(V)
    buf = np.empty(V)
    worst = 0.0
    for j in order:
        if hsq[j] == 0.0:
            continue
        h = H[j]
        logits = W @ h
        for v in range(V):
            cost = 0.0 if support[j, v] else -1.0
            y[v] = G[j, v] + (cost - logits[v]) / hsq[j]
        project_cone(y, sign_free[j], new, buf)
        for v in range(V):
            delta = new[v] - G[j, v]
            if delta != 0.0:
                worst = max(worst, abs(delta) * hsq[j])
                G[j, v] = new[v]
                for k in range(d):
                    W[v, k] += delta * h[k]
    return worst


@njit(cache=True)
def selected_differences(W: np.ndarray, H: np.ndarray, ctx: np.ndarray, plus: np.ndarray,
                         minus: np.ndarray) -> np.ndarray:
    """``out_t = (e_{plus_t} − e_{minus_t})ᵀ W h_{ctx_t}``: selected entries of ``W Hᵀ`` differenced,
    O(n·d) for n triples."""
    n = ctx.shape[0]
    d = H.shape[1]
    out = np.empty(n)
    for t in range(n):
        j, p, q = ctx[t], plus[t], minus[t]
        s = 0.0
        for k in range(d):
            s += (W[p, k] - W[q, k]) * H[j, k]
        out[t] = s
    return out


@njit(cache=True)
def selected_differences_adjoint(y: np.ndarray, H: np.ndarray, ctx: np.ndarray, plus: np.ndarray,
                                 minus: np.ndarray, V: int) -> np.ndarray:
    """The adjoint: ``Σ_t y_t (e_{plus_t} − e_{minus_t}) h_{ctx_t}ᵀ`` (V×d), O(n·d)."""
    d = H.shape[1]
    W = np.zeros((V, d))
    for t in range(ctx.shape[0]):
        j, p, q = ctx[t], plus[t], minus[t]
        c = y[t]
        if c == 0.0:
            continue
        for k in range(d):
            W[p, k] += c * H[j, k]
            W[q, k] -= c * H[j, k]
    return W
