"""The linear next-token model: loss, entropy, the KL gap, the gradient and the default step.

Notation of theory.md §1: logits ``Z = W Hᵀ`` (V×m, column j is ``W h_j``), ``s_j = softmax(W h_j)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ntpverify.core.errors import InputError
from ntpverify.core.instance import Instance


def logits(inst: Instance, W: np.ndarray) -> np.ndarray:
    """``Z = W Hᵀ`` (V×m)."""
    return np.asarray(W, dtype=float) @ inst.embeddings.T


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """Column-wise ``log softmax(z) = z − logsumexp(z)``, stable for any logit size."""
    return Z - logsumexp(Z, axis=0, keepdims=True)


def _support_sums(inst: Instance, terms: np.ndarray) -> np.ndarray:
    """``Σ_{z∈S_j} t_{j,z}`` per context, from one term per stored support entry (CSR order)."""
    return np.add.reduceat(terms, inst.support_indptr[:-1])


def entropy(inst: Instance) -> float:
    """``ℋ = −Σ_j π_j Σ_{z∈S_j} p_{j,z} log p_{j,z}``, the lower bound of CE; O(nnz), from the
    support alone."""
    p = inst.support_probs
    return float(-(inst.weights @ _support_sums(inst, p * np.log(p))))


def loss(inst: Instance, W: np.ndarray) -> float:
    """``CE(W) = −Σ_j π_j Σ_{z∈S_j} p_{j,z} log softmax(W h_j)_z``, summed over the support in
    the same order as :func:`entropy` (so ``CE(W) − ℋ`` computed naively is 0 where the two
    agree entry by entry)."""
    logS = log_softmax(logits(inst, W))
    on_support = logS[inst.support_tokens, inst.support_contexts]
    return float(-(inst.weights @ _support_sums(inst, inst.support_probs * on_support)))


def _phi(delta: np.ndarray) -> np.ndarray:
    """``φ(δ) = e^δ − 1 − δ ≥ 0``; a series below |δ| < 1e-3 avoids the cancellation in
    ``expm1(δ) − δ`` (truncation error ≤ δ⁵/120 < 1e-15·φ there)."""
    small = np.abs(delta) < 1e-3
    d = np.where(small, delta, 0.0)
    series = d * d * (0.5 + d * (1.0 / 6.0 + d * (1.0 / 24.0)))
    return np.where(small, series, np.expm1(np.where(small, 0.0, delta)) - np.where(small, 0.0, delta))


def _segment_lse(x: np.ndarray, starts: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """``log Σ e^x`` over each CSR segment (``starts`` its first entries, ``seg`` the segment of
    every entry; no segment is empty), as scipy's logsumexp forms it: the first maximum ``x*`` is
    taken out of the sum, ``x* + log1p(Σ_{others} e^{x − x*})``, so a dominant term costs no
    rounding of ``1 + small``."""
    top = np.maximum.reduceat(x, starts)
    shifted = np.exp(x - top[seg])
    # the first entry of each segment equal to its maximum contributes exactly e^0 = 1: remove it
    first = np.flatnonzero(x == top[seg])
    first = first[np.unique(seg[first], return_index=True)[1]]
    shifted[first] = 0.0
    return top + np.log1p(np.add.reduceat(shifted, starts))


def _off_support_lse(inst: Instance, Z: np.ndarray) -> np.ndarray:
    """``log Σ_{v∉S_j} e^{z_{j,v}}`` per context (``−inf`` for a full support), from Z with its
    support entries set to −inf: one V×m scratch copy, no m×V mask."""
    out = np.array(Z, dtype=float, copy=True)
    out[inst.support_tokens, inst.support_contexts] = -np.inf
    top = out.max(axis=0)
    finite = np.isfinite(top)
    shift = np.where(finite, top, 0.0)
    np.subtract(out, shift, out=out)
    with np.errstate(under="ignore"):
        np.exp(out, out=out)
    with np.errstate(divide="ignore"):
        # the maximum contributes e^0 = 1, so the sum is ≥ 1 wherever one off-support token exists
        return np.where(finite, np.log(out.sum(axis=0)) + shift, -np.inf)


def kl_terms(inst: Instance, Z: np.ndarray) -> np.ndarray:
    """``KL(p_j ‖ softmax(z_j))`` per context, from logits Z (V×m), without subtracting O(1) numbers.

    Write ``s_j = (1 − ε_j) q_j`` with ``q_j`` the softmax restricted to ``S_j`` and ``ε_j`` the mass
    off ``S_j``. Then ``KL = Σ_{z∈S_j} p_z φ(log q_z − log p_z) − log(1 − ε_j)`` with
    ``φ(δ) = e^δ − 1 − δ`` (which uses ``Σ q = Σ p = 1``): every term is nonnegative, and
    ``−log(1−ε) = log(1 + e^{lse_out − lse_in})`` comes from the off- and in-support log-sum-exps
    directly, never from ``1 − ε``. The in-support part is O(nnz), read from the CSR support; the
    off-support log-sum-exp is one pass over Z.
    """
    starts = inst.support_indptr[:-1]
    seg = inst.support_contexts
    z_in = Z[inst.support_tokens, seg]
    lse_in = _segment_lse(z_in, starts, seg)
    logq = z_in - lse_in[seg]
    p = inst.support_probs
    delta = logq - np.log(p)
    # p·φ(δ) = q − p(1 + δ) exactly (p·e^δ = q); for δ ≥ 1 that form cannot overflow where e^δ
    # would (p = 5e-324 gives δ ≈ 744), and q ≥ e·p keeps its cancellation under two bits
    large = delta >= 1.0
    with np.errstate(under="ignore"):
        direct = np.exp(np.where(large, logq, 0.0)) - p * (1.0 + delta)
    in_part = np.add.reduceat(np.where(large, direct, p * _phi(np.minimum(delta, 1.0))), starts)
    # −log(1 − ε) = log(1 + e^{lse_out − lse_in}): a softplus, accurate for ε ≪ 1 and finite for
    # ε → 1 (where 1 − ε rounds to 0 and −log1p(−ε) would be inf; found by claim I4).
    out_part = np.logaddexp(0.0, _off_support_lse(inst, Z) - lse_in)
    return in_part + out_part


def loss_gap(inst: Instance, W: np.ndarray) -> float:
    """``CE(W) − ℋ = Σ_j π_j KL(p_j ‖ softmax(W h_j))`` in the stable form of :func:`kl_terms`."""
    return float(inst.weights @ kl_terms(inst, logits(inst, W)))


def gradient(inst: Instance, W: np.ndarray) -> np.ndarray:
    """``∇CE(W) = Σ_j π_j (softmax(W h_j) − p_j) h_jᵀ = E H`` with ``E = (S − Pᵀ) diag(π)``."""
    E = np.exp(log_softmax(logits(inst, W)))
    # S − Pᵀ where P is nonzero; elsewhere S − 0 = S exactly, so no m×V copy of P is needed
    E[inst.support_tokens, inst.support_contexts] -= inst.support_probs
    return (E * inst.weights) @ inst.embeddings


def smoothness_bound(inst: Instance) -> float:
    """``λ_max(Σ_j π_j h_j h_jᵀ)``, computed on whichever of the m×m or d×d forms is smaller."""
    X = np.sqrt(inst.weights)[:, None] * inst.embeddings
    C = X @ X.T if inst.m <= inst.d else X.T @ X
    return float(np.linalg.eigvalsh(C)[-1])


def default_step(inst: Instance) -> float:
    """``η = 1/λ_max(Σ_j π_j h_j h_jᵀ)``: the softmax Jacobian has norm ≤ ½, so this is ``≤ 1/(2L)``
    as the paper requires (theory.md §1)."""
    lam = smoothness_bound(inst)
    if not lam > 0.0:
        raise InputError("embeddings", "every embedding is zero: the default step 1/λ_max is undefined")
    return 1.0 / lam
