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
def block_epoch(H: np.ndarray, hsq: np.ndarray, sup_ptr: np.ndarray, sup_tok: np.ndarray,
                free_ptr: np.ndarray, free_tok: np.ndarray, G: np.ndarray, W: np.ndarray,
                order: np.ndarray, active: np.ndarray, n_active: np.ndarray, shrink: bool) -> float:
    """One sweep of exact block steps ``g_j ← Π_{C_j}(g_j + (c_j − ℓ_j)/‖h_j‖²)``, ``c_j = −𝟙_{v∉S_j}``,
    ``ℓ_j = W h_j``, then ``W += Δg_j h_jᵀ``, over the contexts in ``order`` (contexts with
    ``h_j = 0`` are skipped: the caller has dealt with them), restricted to each context's active
    tokens ``active[j, :n_active[j]]``; the others stay at ``g_{j,v} = 0``.

    Supports ``S_j`` (which set ``c_j``) and the sign-free tokens (where ``g_{j,v}`` has no sign
    constraint: ``S_j`` except in the negative controls, which drop one cone constraint) come in
    CSR form, ``tok[ptr[j]:ptr[j+1]]``. With ``shrink``, after its step a signed token ``v`` with
    ``g_{j,v} = 0`` before and after it whose dual gradient ``c_v − ℓ_v`` is above that of every
    interior entry (sign-free or ``g < 0``) leaves the active set: liblinear's ``be_shrunk`` rule
    for Crammer–Singer (Keerthi et al. 2008; its ``G < minG`` in the minimization form), i.e. the
    margin ``ℓ_z − ℓ_v`` exceeds 1 against every interior ``z``: at the bound with a gradient
    above the block's multiplier, so the full block step would keep ``g_{j,v} = 0`` as well. The block step is then
    ``|active|·d`` instead of ``V·d``. Shrinking is a heuristic; exactness is restored by the
    caller, which re-activates every token and runs a full sweep before trusting the step.

    Returns the sweep's largest ``max_v |Δg_{j,v}| ‖h_j‖²`` over the active tokens: the size of
    the block step in logit units (margins are 1), zero exactly at a block-wise (hence global)
    maximizer when every token was active.
    """
    V, d = W.shape
    is_sup = np.zeros(V, np.bool_)
    is_free = np.zeros(V, np.bool_)
    y = np.empty(V)
    new = np.empty(V)
    buf = np.empty(V)
    logits = np.empty(V)
    grad = np.empty(V)
    free_c = np.empty(V, np.bool_)
    worst = 0.0
    for j in order:
        n = n_active[j]
        if hsq[j] == 0.0 or n <= 1:
            continue  # a lone active token is a support token, pinned to 0 by 𝟙ᵀg = 0
        h = H[j]
        act = active[j]
        for t in range(sup_ptr[j], sup_ptr[j + 1]):
            is_sup[sup_tok[t]] = True
        for t in range(free_ptr[j], free_ptr[j + 1]):
            is_free[free_tok[t]] = True
        if n == V:
            full = W @ h
            for t in range(n):
                logits[t] = full[act[t]]
        else:
            for t in range(n):
                logits[t] = np.dot(W[act[t]], h)
        max_grad = -np.inf
        for t in range(n):
            v = act[t]
            grad[t] = (0.0 if is_sup[v] else -1.0) - logits[t]  # ∂D/∂g_{j,v}
            y[t] = G[j, v] + grad[t] / hsq[j]
            free_c[t] = is_free[v]
            if free_c[t] or G[j, v] < 0.0:
                max_grad = max(max_grad, grad[t])
        project_cone(y[:n], free_c[:n], new[:n], buf)
        kept = 0
        for t in range(n):
            v = act[t]
            old = G[j, v]
            delta = new[t] - old
            if delta != 0.0:
                worst = max(worst, abs(delta) * hsq[j])
                G[j, v] = new[t]
                for k in range(d):
                    W[v, k] += delta * h[k]
            if not (shrink and not free_c[t] and old == 0.0 and new[t] == 0.0 and grad[t] > max_grad):
                act[kept] = v
                kept += 1
        n_active[j] = kept
        for t in range(sup_ptr[j], sup_ptr[j + 1]):
            is_sup[sup_tok[t]] = False
        for t in range(free_ptr[j], free_ptr[j + 1]):
            is_free[free_tok[t]] = False
    return worst


@njit(cache=True)
def all_active(m: int, V: int) -> tuple[np.ndarray, np.ndarray]:
    """Every token of every context active: ``active[j] = 0..V−1``, ``n_active[j] = V``."""
    active = np.empty((m, V), np.int32)
    for j in range(m):
        for v in range(V):
            active[j, v] = v
    return active, np.full(m, V, np.int32)


@njit(cache=True)
def mask_rows(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CSR form ``(ptr, tok)`` of the rows of a boolean m×V mask."""
    m, V = mask.shape
    ptr = np.zeros(m + 1, np.int64)
    for j in range(m):
        ptr[j + 1] = ptr[j] + mask[j].sum()
    tok = np.empty(ptr[m], np.int64)
    for j in range(m):
        t = ptr[j]
        for v in range(V):
            if mask[j, v]:
                tok[t] = v
                t += 1
    return ptr, tok


@njit(cache=True)
def selected_differences(W: np.ndarray, H: np.ndarray, ctx: np.ndarray, plus: np.ndarray,
                         minus: np.ndarray) -> np.ndarray:
    """``out_t = (e_{plus_t} − e_{minus_t})ᵀ W h_{ctx_t}``: selected entries of ``W Hᵀ`` differenced,
    O(n·d) for n triples. Each logit ``(W h_j)_v`` is a dot product; the last two computed are
    reused, since the route's triples come grouped by context with the anchor ``a_j`` on one side
    (about half the dot products, and ``h_j`` stays in cache)."""
    n = ctx.shape[0]
    out = np.empty(n)
    cache_tok = np.full(2, -1)  # the last two tokens whose logit was computed, most recent first
    cache_val = np.zeros(2)
    last_j = -1
    for t in range(n):
        j = ctx[t]
        if j != last_j:
            last_j = j
            cache_tok[:] = -1
        out[t] = (_cached_logit(W, H[j], plus[t], cache_tok, cache_val)
                  - _cached_logit(W, H[j], minus[t], cache_tok, cache_val))
    return out


@njit(cache=True)
def _cached_logit(W: np.ndarray, h: np.ndarray, v: int, cache_tok: np.ndarray, cache_val: np.ndarray
                  ) -> float:
    """``(W h)_v``, from the two-entry cache of selected_differences when it holds v."""
    for i in range(2):
        if cache_tok[i] == v:
            return cache_val[i]
    s = np.dot(W[v], h)  # BLAS: a strict-order loop would not vectorize
    cache_tok[1], cache_val[1] = cache_tok[0], cache_val[0]
    cache_tok[0], cache_val[0] = v, s
    return s


@njit(cache=True)
def selected_differences_adjoint(y: np.ndarray, H: np.ndarray, ctx: np.ndarray, plus: np.ndarray,
                                 minus: np.ndarray, V: int) -> np.ndarray:
    """The adjoint: ``Σ_t y_t (e_{plus_t} − e_{minus_t}) h_{ctx_t}ᵀ`` (V×d), O(n·d). A token that
    recurs on the same side of consecutive triples of one context (the anchor ``a_j`` of the
    route's grouped triples) has its coefficients summed and gets one update ``W_v += c h_j``."""
    W = np.zeros((V, H.shape[1]))
    acc_tok, acc_c = -1, 0.0
    cur_j, last_p, last_q = -1, -1, -1
    for t in range(ctx.shape[0]):
        j, p, q, c = ctx[t], plus[t], minus[t], y[t]
        if j != cur_j:
            if acc_tok >= 0:
                _axpy(W[acc_tok], acc_c, H[cur_j])
            acc_tok, cur_j, last_p, last_q = -1, j, -1, -1
        h = H[j]
        if p == acc_tok:
            acc_c += c
            _axpy(W[q], -c, h)
        elif q == acc_tok:
            acc_c -= c
            _axpy(W[p], c, h)
        else:
            if acc_tok >= 0:
                _axpy(W[acc_tok], acc_c, h)
                acc_tok = -1
            if p == last_p:
                acc_tok, acc_c = p, c
                _axpy(W[q], -c, h)
            elif q == last_q:
                acc_tok, acc_c = q, -c
                _axpy(W[p], c, h)
            else:
                _axpy(W[p], c, h)
                _axpy(W[q], -c, h)
        last_p, last_q = p, q
    if acc_tok >= 0:
        _axpy(W[acc_tok], acc_c, H[cur_j])
    return W


@njit(cache=True)
def _axpy(w: np.ndarray, c: float, h: np.ndarray) -> None:
    """``w += c h`` (skipped for c = 0)."""
    if c != 0.0:
        for k in range(h.shape[0]):
            w[k] += c * h[k]
