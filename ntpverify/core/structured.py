"""The structured route (theory.md §9): F, compatibility and W⋆ without a dense constraint matrix.

Every constraint of Definitions 1–3 is a *selected logit difference* ``(e_p − e_q)ᵀ W h_j`` of one
context's logits ``ℓ_j = W h_j``. A list of triples ``(j, p, q)`` therefore defines an operator
``A : R^{V×d} → R^n``, ``W ↦ ((e_p − e_q)ᵀ W h_j)_t`` with adjoint ``y ↦ Σ_t y_t (e_p − e_q) h_jᵀ``,
each applied in O(n·d) by the compiled kernels of structured_kernels.py. Least-norm and
least-squares problems over it are solved by LSQR on a ``LinearOperator`` with iterative
refinement, so memory is O(n + V·d + m·d) and no (constraints × unknowns) matrix is ever formed.

* **W⋆** is the least-norm solution of ``A_eq W = b`` (anchor rows ``(j, z, a_j)``,
  ``b = log(p_z/p_{a_j})``): LSQR started at 0 stays in ``range(A_eqᵀ) = F``, so it returns the
  unique solution inside F without any rank decision. Incompatibility: ``y = r/‖r‖²`` with
  ``A_eqᵀ y = 0`` and ``bᵀy = 1``, checked with the adjoint.
* **P_F(W)** = ``A_eqᵀ y`` with ``y = argmin ‖A_eqᵀ y − W‖`` (LSQR on the adjoint).
* **dim F** is a rank decision (geometry.decide_rank, same tolerance) on the singular values of
  the equality rows, computed per connected component of the graph "contexts sharing a support
  token" (the rows of different components act on disjoint tokens, so the stacked matrix is block
  diagonal and its singular values are the union of the blocks'), each block in the reduced
  coordinates of its own contexts' span. When a block is too large for that, and H has full row
  rank, ``dim F = Σ_j (|S_j| − 1)`` exactly (theory.md §2) with a decision margin from the bound
  ``σ_min(A_eq) ≥ σ_min(H)``. Otherwise (m > d, every real corpus) it is counted token by token
  (StructuredGeometry.token_rank_F): with ``T_u = {j : u ∈ S_j}``,
  ``dim F = Σ_u rank H_{T_u} − m + dim Σ_u N_u``, ``N_u = null(H_{T_u}ᵀ)`` embedded in R^m, one
  rank decision per token and one for the sum, which lives on the contexts J* touched by tokens
  with ``|T_u| > rank H_{T_u}``. When even that is too large (TOKEN_GRAM_ENTRIES) dim F is
  reported inconclusive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property, partial

import numpy as np
from scipy.linalg import eigh, qr
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import LinearOperator, cg, lsqr

from ntpverify.core.compatibility import (
    COMPATIBLE_RTOL,
    INCOMPATIBLE_RTOL,
    Compatibility,
)
from ntpverify.core.geometry import RANK_RTOL, SCALE_CAP, RankDecision, decide_rank, norm_bound
from ntpverify.core.instance import Instance, restrict_vocabulary
from ntpverify.core.status import Status
from ntpverify.core.structured_kernels import (
    selected_differences,
    selected_differences_adjoint,
)

#: LSQR stopping tolerances (``atol``/``btol``: relative residual and relative normal-equation
#: residual): four decades below the 1e-9 acceptance of every certified answer (KKT_RTOL,
#: COMPATIBLE_RTOL), so the solver's own stopping error never decides a verdict.
LSQR_TOL = 1e-13
#: LSQR gives up beyond this condition estimate; 1e13 keeps every system with cond ≤ 1e3 (the
#: embeddings this suite draws, geometry.RANK_RTOL's comment) far inside it.
LSQR_CONLIM = 1e13
#: LSQR iteration cap per solve. Measured well-posed solves (polish on the right active set, W⋆,
#: P_F) take 30–300 iterations; ones far beyond belong to a wrong active set or a nearly singular
#: system, whose answer the verification then rejects anyway.
LSQR_ITER_LIM = 3000
#: Conjugate-gradient iterations per solve (structured_svm's polish, cancel_adjoint); as
#: LSQR_ITER_LIM, a well-posed warm-started solve takes far fewer (measured: a few dozen, and
#: 22–30 per Farkas round with token blocks), and a polish that needs more falls back to LSQR.
CG_ITER_LIM = 3000
#: cancel_adjoint's attainable relative residual: CG's recursion drifts from the true residual
#: by a few eps·‖b‖·(iterations), so a target below this fraction of ‖b‖ is not pursued (the
#: verification that follows then states the bound actually proved).
CG_FLOOR = 1e-14
#: Iterative refinement (solve for the residual, add) stops after this many rounds, once the
#: residual ‖b − A x‖ is below REFINE_TARGET·‖b‖ (three decades under the 1e-9 acceptance), or as
#: soon as a round fails to halve it (it is then at LSQR's floor, ~eps·cond).
REFINE_ROUNDS = 4
REFINE_TARGET = 1e-12
#: Measured speed ratio per flop of BLAS ``H Wᵀ`` over the selected-differences kernels (which load
#: three operands per two flops): ~4 at V = 20, m = 2000, d = 2048 (22 ms against 8 ms for 12.8k
#: triples). Triples.apply/adjoint use the dense-logit form when it does less than that many
#: times their work.
BLAS_ADVANTAGE = 4
#: Largest block (rows × columns) of the equality system whose singular values are computed
#: densely for dim F: 4e6 entries is 32 MB and a few seconds of SVD on 2 cores.
LOCAL_RANK_CAP = 4_000_000
#: The token route to dim F (StructuredGeometry.token_rank_F) forms the |J*_c|×|J*_c| matrix
#: ``G = Σ_u P_u`` of each connected component of the contexts J* and eigendecomposes it (G and its
#: eigenvectors in place, plus LAPACK's 2·|J*_c|² workspace). Above this many entries (|J*_c| = 4096) it is
#: not attempted. Measured at the cap (random supports, |J*| = m = 4096, V = 300, d = 64, 612k
#: support entries, 1 BLAS thread, the other core busy): 55–60 s (eigh ~25 s, forming G ~25 s,
#: the token SVDs the rest), traced peak 564 MB, RSS +610 MB; at |J*| = 2048, 14 s and 148 MB; on
#: pydoc-topics, words, vocab 200, window 2, d = 128 (|J*| = 3960): 23 s (eigh 16 s), 505 MB.
TOKEN_GRAM_ENTRIES = 1 << 24
#: Eigenvalues of G below this fraction of the largest are not trusted as ``σ² = λ`` (their square
#: roots carry eigh's noise, ~√(eps·‖G‖) ≈ 1e-8·σ_max, right at RANK_RTOL) and are recomputed as
#: singular values of the stacked ``P_u U_small`` instead (StructuredGeometry._null_sum_values).
#: Why 1e-4: eigh returns an exact invariant split of ``G + E``, ``‖E‖ ≤ c·eps·‖G‖``; the
#: neglected coupling ``Û_bigᵀ G Û_small`` (≤ ‖E‖) moves a small σ by at most
#: ``‖E‖/√(SPLIT·λ_max) = c·eps·σ_max/√SPLIT ≈ c·2e-14·σ_max`` (Schur complement, gap ≥ SPLIT·λ_max),
#: and a kept ``√λ ≥ 1e-2·σ_max`` has error ``‖E‖/(2σ)``, smaller still: both stay ≥ 3 decades
#: under the 1e-9 cutoff for c ≤ 40, and the kept values are 7 decades above it. A larger split
#: only costs refinement work (2·rows·s² for s eigenvalues below it). Measured on pydoc-topics
#: (words/200/window 1/d 128; chars/window 1 and 2/d 16) and Gaussian draws with m up to 800:
#: the exact zeros come out of eigh at |λ| ≤ 2.5e-15·λ_max, i.e. √λ ≤ 5e-8·σ_max (one decade
#: from the cutoff: deciding on √λ would be ambiguous), and refined at ≤ 3.6e-15·σ_max (margin
#: ≥ 5.4 decades); the smallest nonzero λ was 6.7e-4·λ_max, and s was exactly rank H_{J*}.
GRAM_SPLIT = 1e-4
#: token_block_inverse keeps V inverse blocks of d×d; above this many entries (2 GB) it is not
#: built and the solve it serves runs unpreconditioned (the one place memory would exceed
#: O(nnz + V·d + m·d): V·d² is 131 MB at V = 1000, d = 128).
TOKEN_BLOCK_ENTRIES = 1 << 28
#: A token block's eigenvalues below this fraction of its largest count as zero: the blocks are
#: pseudo-inverted. Every residual the preconditioner sees has row u in the span of the h_j on
#: token u's rows, which is the block's range, so nothing is lost; an inverse with a tiny ridge
#: instead amplified rounding in the null directions of rank-deficient blocks (a token on fewer
#: than d distinct contexts) by 1/ridge and made CG diverge (measured on duplicated contexts).
TOKEN_BLOCK_RCOND = 1e-10
#: Logit chunks ``W H_Jᵀ`` (V × |J|) are kept below this many entries (8 MB): margins and spreads
#: are computed context-chunk by context-chunk so memory stays O(V·d + m·d).
CHUNK_ENTRIES = 1 << 20
#: Certificates that the instance is not separable or not compatible are first sought on the
#: sub-instances of its k tokens in the most supports (frequent_vocabularies), k = VOCAB_SUBSET_FIRST,
#: doubling while ``k ≤ V/VOCAB_SUBSET_SHARE`` (each try costs at most a quarter of the instance).
#: Measured on a 10⁵-token Zipf text (m = 4494, V = 4555, d = 64): k = 2, 4, 8, 16, 32, 64 each
#: gave a verified separability certificate, in 1.9, 4.9, 0.97, 1.6, 2.7, 6.3 s, where the whole
#: instance's ascent (2·m·V·d = 2.6e9 flops per epoch) had none at 400 s.
VOCAB_SUBSET_FIRST = 8
VOCAB_SUBSET_SHARE = 4


@dataclass(frozen=True)
class Triples:
    """Constraint rows ``(ctx_t, plus_t, minus_t)`` meaning ``(e_plus − e_minus)ᵀ W h_ctx``."""

    ctx: np.ndarray
    plus: np.ndarray
    minus: np.ndarray

    @property
    def n(self) -> int:
        return self.ctx.shape[0]

    def array(self) -> np.ndarray:
        """The n×3 array of triples, as the dense route stores them."""
        return np.stack([self.ctx, self.plus, self.minus], axis=1).astype(np.intp)

    def concat(self, other: Triples) -> Triples:
        return Triples(np.concatenate([self.ctx, other.ctx]), np.concatenate([self.plus, other.plus]),
                       np.concatenate([self.minus, other.minus]))

    def apply(self, H: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``A W`` (n,)."""
        if self._dense_logits(H, W.shape[0]):
            Z = H @ W.T  # m × V logits, by BLAS
            return Z[self.ctx, self.plus] - Z[self.ctx, self.minus]
        return selected_differences(W, H, self.ctx, self.plus, self.minus)

    def adjoint(self, H: np.ndarray, y: np.ndarray, V: int) -> np.ndarray:
        """``Aᵀ y = Σ_t y_t (e_plus − e_minus) h_ctxᵀ`` (V×d)."""
        if self._dense_logits(H, V):
            # Coefficients C (m×V) with Aᵀy = Cᵀ H by BLAS; bincount scatters ~10× faster than add.at.
            size = H.shape[0] * V
            C = (np.bincount(self.ctx * V + self.plus, y, size)
                 - np.bincount(self.ctx * V + self.minus, y, size)).reshape(H.shape[0], V)
            return C.T @ H
        return selected_differences_adjoint(np.ascontiguousarray(y, dtype=float), H, self.ctx,
                                            self.plus, self.minus, V)

    def _dense_logits(self, H: np.ndarray, V: int) -> bool:
        """Whether to go through all m×V logits with BLAS instead of the O(n·d) kernels: when
        ``m·V ≤ BLAS_ADVANTAGE·n`` (the m×V block is then no larger than a few copies of the
        constraint list, and BLAS is that much faster per flop)."""
        return H.shape[0] * V <= BLAS_ADVANTAGE * self.n


def token_block_inverse(H: np.ndarray, rows: Triples, V: int) -> LinearOperator | None:
    """The block-Jacobi preconditioner of ``AᵀA`` on ``R^{V×d}``, one d×d block per token:
    ``(AᵀA)_{uu} = Σ_{t: u ∈ {p_t, q_t}} h_{j_t} h_{j_t}ᵀ``, pseudo-inverted (TOKEN_BLOCK_RCOND), or
    None when V·d² exceeds TOKEN_BLOCK_ENTRIES.

    Why blocks by token: ``Aᵀy = Cᵀ H`` with C the m×V coefficients of y, so row u of ``Aᵀy``
    is ``Σ_j C_{ju} h_j``, which involves only token u's column of C; rows of different tokens
    are coupled only through the contexts' anchors. Each block alone is the normal operator of
    "column u of C lies in ``null(H_{J_u}ᵀ)``". Measured on a Farkas correction (512 contexts,
    V = 400, d = 64, 67k rows, structured_svm.farkas_from_direction): 136 CG iterations with these
    blocks, 2207 without and 2945 with a scalar per token, against 3037 LSQR iterations."""
    m, d = H.shape
    if V * d * d > TOKEN_BLOCK_ENTRIES:
        return None
    keys, counts = np.unique(np.concatenate([rows.plus * m + rows.ctx, rows.minus * m + rows.ctx]),
                             return_counts=True)
    tok, ctx = np.divmod(keys, m)
    bounds = np.searchsorted(tok, np.arange(V + 1))
    blocks = np.empty((V, d, d))
    for u in range(V):
        lo, hi = bounds[u], bounds[u + 1]
        Hu = H[ctx[lo:hi]] * np.sqrt(counts[lo:hi])[:, None]
        blocks[u] = Hu.T @ Hu
    inverse = np.linalg.pinv(blocks, rcond=TOKEN_BLOCK_RCOND, hermitian=True)

    def apply(r: np.ndarray) -> np.ndarray:
        # einsum streams the V·d² blocks once; stacked matmul took 2× as long (measured)
        z = np.einsum("uij,uj->ui", inverse, r.reshape(V, d))
        # 𝟙 xᵀ is in null(A) for every x (each row differs two tokens' logits); the blocks alone
        # do not know it, and CG broke down (pᵀAᵀAp = 0) when a preconditioned residual fell there
        z -= z.mean(axis=0)
        return z.ravel()

    return LinearOperator((V * d, V * d), dtype=float, matvec=apply)


def cancel_adjoint(H: np.ndarray, rows: Triples, y: np.ndarray, V: int, blocks: LinearOperator | None,
                   target: float, keep_sum: int = 0) -> tuple[np.ndarray, bool]:
    """The least-norm ``δ`` with ``Aᵀ(y + δ) = 0`` and, with ``keep_sum = k``, ``Σ_{t<k} δ_t = 0``:
    ``δ = A z + t·e_k`` (``e_k`` the indicator of the first k rows) with ``(z, t)`` solving the
    normal equations ``[AᵀA, c; cᵀ, k] (z, t) = (−Aᵀy, 0)``, ``c = Aᵀe_k``, by CG in
    ``R^{V×d} × R`` preconditioned by ``blocks`` (token_block_inverse) and ``1/k``, stopped at a
    residual ≤ ``target`` (absolute; its V×d part is exactly the defect ``‖Aᵀ(y + δ)‖``).
    Returns δ and whether CG reached the target (it does not when no such δ exists: the system is
    then inconsistent, and CG_ITER_LIM iterations were spent finding that out).

    It turns a near-certificate (a Farkas combination, or a least-squares residual) into one whose
    defect is at the target, changing it no more than it must. A Farkas combination keeps its
    margin multipliers' sum (the first k rows): without that constraint the least-norm correction
    is free to shrink them towards the trivial ``y = 0`` (measured on the Zen of Python at d = 8:
    Σα fell from 1 to 0.012 in one round, and every round after dropped what was left)."""
    d = H.shape[1]
    n = V * d
    lead = np.zeros(rows.n)
    lead[:keep_sum] = 1.0
    c = rows.adjoint(H, lead, V).ravel() if keep_sum else np.zeros(n)

    def normal(x: np.ndarray) -> np.ndarray:
        z, t = x[:n], x[n]
        out = np.empty(n + 1)
        out[:n] = rows.adjoint(H, rows.apply(H, z.reshape(V, d)), V).ravel() + t * c
        out[n] = c @ z + keep_sum * t
        return out

    gram = LinearOperator((n + 1, n + 1), dtype=float, matvec=normal)
    M = None
    if blocks is not None:
        scale = 1.0 / keep_sum if keep_sum else 0.0
        M = LinearOperator((n + 1, n + 1), dtype=float,
                           matvec=lambda r: np.append(blocks.matvec(r[:n]), scale * r[n]))
    b = np.append(-rows.adjoint(H, y, V).ravel(), 0.0)
    # below ~eps·‖b‖ CG only iterates on rounding, and broke down there (pᵀAᵀAp = 0) on a
    # sub-instance whose direction estimate was far from a certificate (‖b‖ = 80 against 1e-14)
    atol = max(target, CG_FLOOR * float(np.linalg.norm(b)))
    # A breakdown shows as a non-finite x: the preconditioned residual left range(AᵀA)
    # (pᵀAᵀAp = 0, measured on rank-deficient draws of D7's regimes). Unpreconditioned CG from b
    # stays in that range in exact arithmetic; where rounding breaks it down too there is no
    # correction to offer.
    for precondition in (M, None) if M is not None else (None,):
        with np.errstate(divide="ignore", invalid="ignore"):
            x, info = cg(gram, b, rtol=0.0, atol=atol, maxiter=CG_ITER_LIM, M=precondition)
        if np.isfinite(x).all():
            return rows.apply(H, x[:n].reshape(V, d)) + x[n] * lead, info == 0
    return np.zeros(rows.n), False


@dataclass
class Work:
    """A tally of LSQR work: Σ iterations × min(operator shape). For the triple operators one
    iteration applies A and Aᵀ, ≈ 4·n·d flops with n the number of triples."""

    units: int = 0


def lsqr_refined(op: LinearOperator, b: np.ndarray, scale: float | None = None,
                 work: Work | None = None) -> np.ndarray:
    """Least-squares solution of least norm of ``op x ≈ b``: LSQR from 0 plus refinement on the
    residual, until ``‖b − op x‖ ≤ REFINE_TARGET·scale`` (``scale`` defaults to ``‖b‖``; a caller
    correcting a good estimate passes the size of the full answer, so that a small right-hand
    side is not over-solved). Every correction lies in ``range(opᵀ)``, so minimality of the norm
    is preserved. ``work``, if given, is charged for the iterations."""
    x = np.zeros(op.shape[1])
    r = b.astype(float, copy=True)
    size = float(np.linalg.norm(r))
    target = REFINE_TARGET * (size if scale is None else scale)
    iter_lim = min(LSQR_ITER_LIM, 10 * max(op.shape) + 100)
    for _ in range(REFINE_ROUNDS):
        if not size > target:
            break
        btol = min(1e-3, max(LSQR_TOL, 0.1 * target / size))
        out = lsqr(op, r, atol=LSQR_TOL, btol=btol, conlim=LSQR_CONLIM, iter_lim=iter_lim)
        x += out[0]
        if work is not None:
            work.units += out[2] * min(op.shape)
        r = b - op.matvec(x)
        before, size = size, float(np.linalg.norm(r))
        if not size < 0.5 * before:
            break
    return x


def least_norm_decoder(H: np.ndarray, rows: Triples, rhs: np.ndarray, V: int,
                       work: Work | None = None) -> np.ndarray:
    """``argmin ‖W‖`` among the least-squares solutions of ``A W = rhs`` (V×d), by LSQR."""
    d = H.shape[1]
    op = LinearOperator((rows.n, V * d), dtype=float,
                        matvec=lambda w: rows.apply(H, w.reshape(V, d)),
                        rmatvec=lambda y: rows.adjoint(H, y, V).ravel())
    return lsqr_refined(op, rhs, work=work).reshape(V, d)


def least_squares_multipliers(H: np.ndarray, rows: Triples, W: np.ndarray,
                              scale: float | None = None, work: Work | None = None) -> np.ndarray:
    """``y = argmin ‖Aᵀ y − W‖`` of least norm (so ``Aᵀy`` is the projection of W onto
    ``range(Aᵀ)``); ``scale`` as in lsqr_refined."""
    V, d = W.shape
    op = LinearOperator((V * d, rows.n), dtype=float,
                        matvec=lambda y: rows.adjoint(H, y, V).ravel(),
                        rmatvec=lambda w: rows.apply(H, w.reshape(V, d)))
    return lsqr_refined(op, W.ravel(), scale, work)


def combination_defect(H: np.ndarray, rows: Triples, y: np.ndarray, V: int) -> float:
    """``‖Σ_t y_t (e_plus − e_minus) h_jᵀ‖ / (√2 Σ_t |y_t| ‖h_{j_t}‖)``, the relative defect of a
    certificate, exactly as compatibility.certificate_defect computes it, but structurally."""
    scale = np.sqrt(2.0) * float(np.sum(np.abs(y) * np.linalg.norm(H, axis=1)[rows.ctx]))  # no n×d gather
    return float(np.linalg.norm(rows.adjoint(H, y, V)) / scale) if scale > 0 else 0.0


def context_chunks(m: int, V: int):
    """Consecutive context ranges whose logit block ``V × |J|`` has at most CHUNK_ENTRIES entries."""
    step = max(1, CHUNK_ENTRIES // V)
    for start in range(0, m, step):
        yield slice(start, min(m, start + step))


@dataclass(frozen=True)
class TokenRankF:
    """The token route's count ``dim F = Σ_u rank H_{T_u} − m + dim Σ_u N_u``
    (StructuredGeometry.token_rank_F), with what it decided on."""

    #: ``Σ_u rank H_{T_u}`` over the tokens with ``T_u ≠ ∅``
    token_ranks: int
    #: the smallest margin (decades) among the per-token rank decisions
    token_margin: float
    #: the contexts J* (those in some T_u with ``N_u ≠ 0``) and the largest component's share
    contexts: int
    largest_component: int
    m: int
    #: ``dim Σ_u N_u`` as a rank decision on the singular values of the stacked projectors onto
    #: the N_u (Gram G), or None when a component's G would exceed TOKEN_GRAM_ENTRIES
    null_sum: RankDecision | None

    @property
    def decision(self) -> RankDecision | None:
        """``dim F`` as a RankDecision whose margin is the smallest of every decision made."""
        if self.null_sum is None:
            return None
        return RankDecision(self.token_ranks - self.m + self.null_sum.rank, self.null_sum.cutoff,
                            min(self.token_margin, self.null_sum.margin))


def stacked_singular_values(blocks: Iterable[np.ndarray], width: int) -> np.ndarray:
    """Singular values (descending) of the vertical stack of ``blocks`` (each ``· × width``) by
    chunked QR (``R`` of ``[R; next blocks]``, TSQR): backward stable, so no squaring, and memory
    ``width² + CHUNK_ENTRIES`` however many rows there are."""
    if width == 0:
        return np.zeros(0)
    R = np.zeros((0, width))
    pending: list[np.ndarray] = []
    rows, chunk = 0, max(width, CHUNK_ENTRIES // max(width, 1))
    for B in blocks:
        pending.append(B)
        rows += B.shape[0]
        if rows >= chunk:
            R = qr(np.vstack([R, *pending]), mode="r", check_finite=False)[0][:width]
            pending, rows = [], 0
    if pending:
        R = qr(np.vstack([R, *pending]), mode="r", check_finite=False)[0][:width]
    return np.linalg.svd(R, compute_uv=False)


class StructuredGeometry:
    """Supports, anchors and the equality operator of one instance, without dense constraint
    matrices; the structured counterpart of geometry.Geometry (same anchors ``a_j = min S_j`` and
    the same order of equality triples)."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.V, self.m, self.d = inst.V, inst.m, inst.d
        self.H = np.ascontiguousarray(inst.embeddings)
        # the supports in the CSR form of the instance (and of structured_kernels.block_epoch):
        # S_j = sup_tok[sup_ptr[j]:sup_ptr[j+1]], ascending; sup_ctx is the j of each entry
        self.sup_ptr = np.asarray(inst.support_indptr, np.int64)
        self.sup_tok = np.asarray(inst.support_tokens, np.int64)
        self.sup_ctx = np.asarray(inst.support_contexts, np.intp)
        self.support_size = np.diff(self.sup_ptr)
        self.anchors = self.sup_tok[self.sup_ptr[:-1]].astype(np.intp)  # min S_j: the rows are sorted
        self.hsq = np.einsum("ij,ij->i", self.H, self.H)
        self.n_in = int(self.m * self.V - self.sup_tok.size)

    def support_rows(self, J: slice) -> np.ndarray:
        """The support mask of the contexts ``J`` (|J|×V booleans, ``True`` on ``S_j``): one chunk
        at a time (context_chunks), never the m×V mask."""
        lo, hi = self.sup_ptr[J.start], self.sup_ptr[J.stop]
        mask = np.zeros((J.stop - J.start, self.V), dtype=bool)
        mask[self.sup_ctx[lo:hi] - J.start, self.sup_tok[lo:hi]] = True
        return mask

    def first_off_support(self, j: int) -> int:
        """``min {v : v ∉ S_j}`` (``S_j ≠ [V]``): the first gap in the sorted support."""
        S = self.sup_tok[self.sup_ptr[j]:self.sup_ptr[j + 1]]
        return int(np.argmin(S == np.arange(S.size))) if S[-1] >= S.size else S.size

    @cached_property
    def support_keys(self) -> np.ndarray:
        """``j·V + z`` for each support entry, ascending (contexts, then tokens): searched by
        support_positions."""
        return self.sup_ctx.astype(np.int64) * self.V + self.sup_tok

    @cached_property
    def _off_anchor(self) -> np.ndarray:
        """The support entries (CSR positions) other than each row's first, the anchor ``a_j``."""
        first = np.zeros(self.sup_tok.size, dtype=bool)
        first[self.sup_ptr[:-1]] = True
        return np.flatnonzero(~first)

    @cached_property
    def eq(self) -> Triples:
        """``(j, z, a_j)`` for ``z ∈ S_j ∖ {a_j}``: the equalities of Definitions 1 and 2(a), by
        context, then token, ascending."""
        t = self._off_anchor
        j = self.sup_ctx[t]
        return Triples(j, self.sup_tok[t].astype(np.intp), self.anchors[j])

    @cached_property
    def eq_rhs(self) -> np.ndarray:
        """``b_{j,z} = log p_{j,z} − log p_{j,a_j}`` (Definition 1)."""
        p = self.inst.support_probs
        return np.log(p[self._off_anchor]) - np.log(p[self.sup_ptr[self.eq.ctx]])

    # --- F ---------------------------------------------------------------------------------
    def project_F(self, W: np.ndarray) -> np.ndarray:
        """``P_F(W) = A_eqᵀ y`` with ``y = argmin ‖A_eqᵀ y − W‖`` (F = range(A_eqᵀ), theory.md §2)."""
        W = np.asarray(W, dtype=float)
        if self.eq.n == 0:
            return np.zeros_like(W)
        return self.eq.adjoint(self.H, least_squares_multipliers(self.H, self.eq, W), self.V)

    @cached_property
    def singular_values_H(self) -> np.ndarray:
        return np.linalg.svd(self.H, compute_uv=False)

    @cached_property
    def rank_H(self) -> RankDecision:
        """Rank of H from its singular values (as geometry.Geometry.rank_H)."""
        return decide_rank(self.singular_values_H)

    def _block_singular_values(self) -> np.ndarray | None:
        """Singular values of the equality rows, block by connected component (module docstring);
        None when some block exceeds LOCAL_RANK_CAP."""
        e = self.eq
        ctx = np.unique(e.ctx)
        # Bipartite graph: contexts 0..m-1, tokens m..m+V-1; an edge for each token of S_j, |S_j| ≥ 2.
        rows = np.concatenate([e.ctx, e.ctx])
        cols = self.m + np.concatenate([e.plus, e.minus])
        graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(self.m + self.V,) * 2)
        _, label = connected_components(graph, directed=False)
        values = []
        for comp in np.unique(label[ctx]):
            in_comp = label[e.ctx] == comp
            J = np.unique(e.ctx[in_comp])
            tokens = np.unique(np.concatenate([e.plus[in_comp], e.minus[in_comp]]))
            HJ = self.H[J]
            _, s, Vt = np.linalg.svd(HJ, full_matrices=False)
            R = Vt[: decide_rank(s).rank].T
            n_rows, width = int(in_comp.sum()), tokens.size * R.shape[1]
            if n_rows * width > LOCAL_RANK_CAP:
                return None
            local = np.searchsorted(J, e.ctx[in_comp])
            GJ = HJ @ R
            block = np.zeros((n_rows, tokens.size, R.shape[1]))
            idx = np.arange(n_rows)
            block[idx, np.searchsorted(tokens, e.plus[in_comp])] = GJ[local]
            block[idx, np.searchsorted(tokens, e.minus[in_comp])] = -GJ[local]
            values.append(np.linalg.svd(block.reshape(n_rows, width), compute_uv=False))
        return np.sort(np.concatenate(values))[::-1]

    @cached_property
    def rank_F(self) -> RankDecision | None:
        """``dim F`` as a rank decision (module docstring), or None when it could not be made. In
        order: no equalities; the per-component blocks when they fit (exact singular values, the
        cross-check of the other routes on small instances); H of full row rank; the token route."""
        if self.eq.n == 0:
            return RankDecision(0, 0.0, np.inf)
        s = self._block_singular_values()
        if s is not None:
            return decide_rank(s)
        sH = self.singular_values_H
        if self.rank_H.rank == self.m:
            # With H of full row rank: σ_min(A_eq) ≥ σ_min(H), since ‖U H‖ ≥ σ_min(H)‖U‖ and the
            # column u_j = Σ_z β_z (e_z − e_{a_j}) has ‖u_j‖ ≥ ‖β_j‖; and σ_max(A_eq) ≤
            # σ_max(H)·max_j √|S_j|, since ‖u_j‖² = ‖β_j‖² + (Σβ_j)² ≤ |S_j|‖β_j‖². So every
            # singular value clears the cutoff placed at RANK_RTOL times that upper bound, by at
            # least the margin returned.
            cut = RANK_RTOL * sH[0] * np.sqrt(self.support_size.max())
            margin = float(np.log10(sH[-1] / cut))
            if margin > 0:
                return RankDecision(self.eq.n, float(cut), margin)
        return self.token_rank_F.decision

    # --- F token by token ------------------------------------------------------------------
    @cached_property
    def token_contexts(self) -> tuple[np.ndarray, np.ndarray]:
        """``T_u = {j : u ∈ S_j}`` in CSR form by token: ``T_u = ctx[ptr[u]:ptr[u+1]]``, ascending."""
        order = np.argsort(self.sup_tok, kind="stable")  # stable: contexts stay ascending
        ptr = np.searchsorted(self.sup_tok[order], np.arange(self.V + 1))
        return ptr, self.sup_ctx[order]

    def _token_rank(self, T: np.ndarray) -> RankDecision:
        """``rank H_{T_u}`` as a rank decision (RANK_RTOL relative to σ_max(H_{T_u}), as rank H)."""
        if T.size == 1 and self.hsq[T[0]] > 0:  # one nonzero row: rank 1, nothing to decide
            return RankDecision(1, 0.0, np.inf)
        return decide_rank(np.linalg.svd(self.H[T], compute_uv=False))

    def _token_range(self, T: np.ndarray, rank: int) -> np.ndarray:
        """An orthonormal basis ``Q_u`` (|T_u| × rank) of ``range H_{T_u}``, of the rank already
        decided (so the two SVDs of a token can never disagree on it)."""
        return np.linalg.svd(self.H[T], full_matrices=False)[0][:, :rank]

    @cached_property
    def token_rank_F(self) -> TokenRankF:
        """``dim F`` counted token by token; valid for every instance, the route rank_F takes
        when neither the blocks nor the full-row-rank formula apply.

        ``F⊥ = {W : (W h_j)_u equal for all u ∈ S_j, every j}`` (theory.md §2: F is spanned by the
        ``(e_z − e_{a_j}) h_jᵀ``). With ``w_u`` row u of W, W ∈ F⊥ iff some ``x ∈ R^m`` (x_j the
        common logit of S_j, determined by W) has ``H_{T_u} w_u = x_{T_u}`` for every u. For fixed x
        each ``w_u`` ranges over an affine space of dimension ``d − rank H_{T_u}``, nonempty iff
        ``x_{T_u} ∈ range H_{T_u}``, i.e. ``x ⊥ N_u = {c supported on T_u : Hᵀc = 0}``. Hence
        the x that occur form ``X' = (Σ_u N_u)^⊥``, ``dim F⊥ = Σ_u (d − rank H_{T_u}) + dim X'
        = Σ_u (d − rank H_{T_u}) + m − dim Σ_u N_u`` and
        ``dim F = Σ_u rank H_{T_u} − m + dim Σ_u N_u`` (tokens with ``T_u = ∅`` give 0).

        Only tokens with ``|T_u| > rank H_{T_u}`` have ``N_u ≠ 0``; their contexts J* split into
        connected components (tokens sharing a context), whose sums are direct. On each,
        ``dim Σ N_u = rank G``, ``G = Σ_u E_u (I − Q_u Q_uᵀ) E_uᵀ`` (a sum of the orthogonal
        projectors onto the N_u, Q_u an orthonormal basis of range H_{T_u}), decided on the
        singular values of the stack of the ``P_u = I − Q_u Q_uᵀ`` (Gram G, so σ = √λ) without
        squaring: the eigenvalues of G above GRAM_SPLIT·λ_max give σ = √λ, the rest are
        recomputed as the singular values of the stacked ``P_u Û_{T_u}`` (Û their eigenvectors).
        """
        ptr, ctx = self.token_contexts
        total, margin = 0, np.inf
        rank = np.zeros(self.V, dtype=np.intp)
        for u in range(self.V):
            T = ctx[ptr[u]:ptr[u + 1]]
            if T.size == 0:
                continue
            dec = self._token_rank(T)  # singular values only: U can be |T_u| × d, |T_u| ≤ m
            rank[u] = dec.rank
            total += dec.rank
            margin = min(margin, dec.margin)
        count = np.diff(ptr)
        star = np.flatnonzero(count > rank)  # the tokens with N_u ≠ 0
        if star.size == 0:
            return TokenRankF(total, margin, 0, 0, self.m, RankDecision(0, 0.0, np.inf))
        # components of J*: contexts 0..m-1, the tokens of `star` m..m+V-1, an edge per j ∈ T_u
        tok = np.repeat(np.arange(self.V), count)
        keep = (count > rank)[tok]
        cj, tok = ctx[keep], tok[keep]
        graph = coo_matrix((np.ones(cj.size), (cj, self.m + tok)), shape=(self.m + self.V,) * 2)
        _, label = connected_components(graph, directed=False)
        J_star = np.unique(cj)
        by_ctx = np.argsort(label[J_star], kind="stable")
        by_tok = np.argsort(label[self.m + star], kind="stable")
        cut_ctx = np.flatnonzero(np.diff(label[J_star][by_ctx])) + 1
        cut_tok = np.flatnonzero(np.diff(label[self.m + star][by_tok])) + 1
        # both split at the same labels: every component has contexts and tokens of `star`
        comps = list(zip(np.split(J_star[by_ctx], cut_ctx), np.split(star[by_tok], cut_tok), strict=True))
        largest = max(J.size for J, _ in comps)
        if largest * largest > TOKEN_GRAM_ENTRIES:
            return TokenRankF(total, margin, J_star.size, largest, self.m, None)
        values = [self._null_sum_values(J, toks, rank) for J, toks in comps]
        null_sum = decide_rank(np.sort(np.concatenate(values))[::-1])
        return TokenRankF(total, margin, J_star.size, largest, self.m, null_sum)

    def _null_sum_values(self, J: np.ndarray, tokens: np.ndarray, rank: np.ndarray) -> np.ndarray:
        """Singular values of the stack of ``P_u E_uᵀ`` (rows per token u of ``tokens``, columns
        the sorted contexts J of one component; ``rank`` the decided rank H_{T_u} by token), whose
        Gram matrix is ``G = Σ_u E_u P_u E_uᵀ``: from the eigenvalues of G above
        GRAM_SPLIT·λ_max, and squaring-free below it (token_rank_F)."""
        ptr, ctx = self.token_contexts
        blocks = [(np.searchsorted(J, ctx[ptr[u]:ptr[u + 1]]), ctx[ptr[u]:ptr[u + 1]], rank[u])
                  for u in tokens]
        G = np.zeros((J.size, J.size))
        for t, T, r in blocks:
            Q = self._token_range(T, r)
            G[np.ix_(t, t)] -= Q @ Q.T
            G[t, t] += 1.0
        lam, vec = eigh(G, overwrite_a=True, check_finite=False, driver="evd")
        small = lam < GRAM_SPLIT * lam[-1]
        U = vec[:, small]
        del vec, G

        def projected() -> Iterator[np.ndarray]:
            # Q_u recomputed rather than kept: keeping them all costs Σ_u |T_u|·rank H_{T_u}
            # entries (315 MB at the cap, measured), recomputing one more pass of token SVDs
            for t, T, r in blocks:
                Q = self._token_range(T, r)
                Ut = U[t]
                yield Ut - Q @ (Q.T @ Ut)

        big = np.sqrt(lam[~small])
        return np.concatenate([big, stacked_singular_values(projected(), U.shape[1])])

    @property
    def F_dim(self) -> int | None:
        return None if self.rank_F is None else self.rank_F.rank

    @property
    def F_status(self) -> Status:
        if self.rank_F is None:
            tr = self.token_rank_F
            return Status("inconclusive", "dim F not decided: an equality block exceeds "
                          f"{LOCAL_RANK_CAP} entries, H does not have a clearly full row rank, and "
                          f"the token route's Gram matrix on {tr.largest_component} contexts "
                          f"exceeds {TOKEN_GRAM_ENTRIES} entries")
        if not self.rank_F.clear:
            return Status("inconclusive", f"rank decision margin {self.rank_F.margin:.2f} decades")
        return Status("ok")

    # --- logits, chunked ---------------------------------------------------------------------
    def spread_and_margin(self, W: np.ndarray) -> tuple[float, float]:
        """``(max |(W h_j)_z − (W h_j)_{a_j}|, min (W h_j)_{a_j} − (W h_j)_v)`` over ``z ∈ S_j``,
        ``v ∉ S_j`` (the spread unscaled), from the logits chunk by chunk (never the whole V×m
        block at once)."""
        spread, low = 0.0, np.inf
        for J, diff in self.anchor_differences(W):
            mask = self.support_rows(J)
            spread = max(spread, float(np.abs(diff[mask]).max()))
            if not mask.all():
                low = min(low, float(diff[~mask].min()))
        return spread, low

    def anchor_differences(self, W: np.ndarray):
        """Yield ``(J, D)`` with ``D[i, v] = (W h_j)_{a_j} − (W h_j)_v`` for the contexts ``j ∈ J``
        of each chunk (|J| × V)."""
        for J in context_chunks(self.m, self.V):
            Z = self.H[J] @ W.T
            yield J, Z[np.arange(Z.shape[0]), self.anchors[J]][:, None] - Z


def frequent_vocabularies(sg: StructuredGeometry) -> Iterator[tuple[np.ndarray, Instance, np.ndarray]]:
    """``(T, sub, K)`` for the k tokens in the most supports (ties to the lower id), k from
    VOCAB_SUBSET_FIRST doubling while ``k ≤ V/VOCAB_SUBSET_SHARE``: ``sub, K =
    instance.restrict_vocabulary(inst, T)``, whose constraints are the instance's among T. Nothing
    when ``m ≤ d``: ``rank H = m`` makes both conditions hold (Lemma 1), and a sub-instance's
    certificate is only sought where the instance may have one."""
    if sg.m <= sg.d:
        return
    order = np.argsort(-np.bincount(sg.sup_tok, minlength=sg.V), kind="stable")
    k = VOCAB_SUBSET_FIRST
    while k <= sg.V // VOCAB_SUBSET_SHARE:
        T = np.sort(order[:k]).astype(np.intp)
        sub, K = restrict_vocabulary(sg.inst, T)
        yield T, sub, K
        k *= 2


def support_positions(sg: StructuredGeometry, ctx: np.ndarray, tok: np.ndarray) -> np.ndarray:
    """The CSR position of each ``(ctx, tok)`` in the supports, ``-1`` where ``tok ∉ S_ctx``."""
    key = sg.support_keys
    want = np.asarray(ctx, np.int64) * sg.V + np.asarray(tok, np.int64)
    at = np.minimum(np.searchsorted(key, want), key.size - 1)
    return np.where(key[at] == want, at, -1)


def anchored_equations(sg: StructuredGeometry, ctx: np.ndarray, plus: np.ndarray, minus: np.ndarray,
                       y: np.ndarray) -> np.ndarray | None:
    """A combination ``Σ_t y_t (e_plus − e_minus) h_ctxᵀ`` of equalities rewritten over the
    instance's own rows ``sg.eq`` (``e_z − e_{a_j}``): ``e_p − e_q = (e_p − e_a) − (e_q − e_a)``, a
    term on the anchor itself being zero; the right-hand sides agree, ``b_{p,q} = b_{p,a} − b_{q,a}``.
    None when some plus or minus is not in ``S_ctx``: the terms are then not equalities of the
    instance."""
    row = np.full(sg.sup_tok.size, -1, dtype=np.intp)
    row[sg._off_anchor] = np.arange(sg.eq.n)
    out = np.zeros(sg.eq.n)
    for tok, sign in ((plus, 1.0), (minus, -1.0)):
        pos = support_positions(sg, ctx, tok)
        if (pos < 0).any():
            return None
        at = row[pos]
        np.add.at(out, at[at >= 0], sign * y[at >= 0])
    return out


def equation_residual(sg: StructuredGeometry, W: np.ndarray) -> float:
    """``max_{j,z} |(W h_j)_z − (W h_j)_{a_j} − b_{j,z}| / max(1, ‖b‖_∞)``, as the dense route's
    compatibility.equation_residual, from H."""
    if sg.eq.n == 0:
        return 0.0
    err = np.abs(sg.eq.apply(sg.H, W) - sg.eq_rhs)
    return float(err.max() / max(1.0, np.abs(sg.eq_rhs).max()))


def compatibility_structured(sg: StructuredGeometry) -> Compatibility:
    """Definition 1 and W⋆ by LSQR (module docstring), held to compatibility.py's tolerances; an
    incompatibility certificate is first sought on the sub-instances of frequent_vocabularies."""
    b = sg.eq_rhs
    if b.size == 0:
        zero = np.zeros((sg.V, sg.d))
        return Compatibility(Status("ok", "no equations (every |S_j| = 1)"), True, zero, 0.0, 0.0)
    for T, sub, K in frequent_vocabularies(sg):
        found = _incompatible_on(sg, T, sub, K)
        if found is not None and found.compatible is False:
            return found  # a bound not above the cap proves nothing: try the next, then the whole
    return _compatibility_whole(sg)


def _incompatible_on(sg: StructuredGeometry, T: np.ndarray, sub: Instance, K: np.ndarray) -> Compatibility | None:
    """The instance's verified incompatibility from that of the sub-instance ``sub`` on the tokens
    T and contexts K (frequent_vocabularies): its equations are some of the instance's, so its
    certificate, rewritten over the instance's rows (anchored_equations) and verified on the
    instance's H against the instance's cap, is one of the instance. None otherwise."""
    ssg = StructuredGeometry(sub)
    if ssg.eq.n == 0:
        return None
    found = _compatibility_whole(ssg)
    if found.compatible is not False or found.certificate is None:
        return None
    e = ssg.eq
    y = anchored_equations(sg, K[e.ctx], T[e.plus], T[e.minus], found.certificate)
    bty = float(sg.eq_rhs @ y) if y is not None else 0.0
    if y is None or not bty > 0.0:
        return None
    # the residual reported is the sub-instance's, relative to the instance's b: the least-squares
    # residual of the whole system is at least that of any of its subsystems
    rel = found.residual * max(1.0, float(np.linalg.norm(ssg.eq_rhs))) / max(1.0, float(np.linalg.norm(sg.eq_rhs)))
    return _incompatibility_verdict(sg, y / bty, rel, f"found on the {T.size} of {sg.V} tokens in the "
                                    f"most supports and the {K.size} contexts they meet")


def _compatibility_whole(sg: StructuredGeometry) -> Compatibility:
    """compatibility_structured on the whole instance."""
    b = sg.eq_rhs
    W = least_norm_decoder(sg.H, sg.eq, b, sg.V)
    r = b - sg.eq.apply(sg.H, W)
    rel = float(np.linalg.norm(r)) / max(1.0, float(np.linalg.norm(b)))
    if rel <= COMPATIBLE_RTOL:
        eq = equation_residual(sg, W)
        if eq > COMPATIBLE_RTOL:
            return Compatibility(Status("inconclusive", f"W⋆ misses its equations by {eq:.3g} when "
                                        "recomputed from H"), None, None, rel, eq)
        return Compatibility(Status("ok", "least-norm solution by LSQR (structured)"), True, W, rel, eq)
    if rel < INCOMPATIBLE_RTOL:
        return Compatibility(Status("inconclusive", f"equation residual {rel:.3g} lies between "
                                    f"{COMPATIBLE_RTOL:g} and {INCOMPATIBLE_RTOL:g}"), None, None, rel)
    # as compatibility.compatibility_of: every solution has ‖W‖·max‖h_j‖ ≥ bound; decide only
    # beyond the cap relative to the log-ratios' size
    cap = SCALE_CAP * max(1.0, float(np.abs(b).max()))
    # LSQR leaves Aᵀr at its relative floor, which can prove less than the cap (measured 1.1e12
    # of 7e12 on a 200-word corpus): r is made orthogonal to range(A) to a hundredth of what the
    # cap needs (‖Aᵀy‖ ≤ hmax/cap at bᵀy = 1), as the Farkas certificates are.
    hmax = float(np.sqrt(sg.hsq.max()))
    r = r + cancel_adjoint(sg.H, sg.eq, r, sg.V, token_block_inverse(sg.H, sg.eq, sg.V),
                           1e-2 * hmax * abs(float(r @ b)) / cap)[0]  # the bound below judges it
    y = r / (r @ b) if r @ b > 0 else r / (r @ r)  # bᵀy = 1 (r ⊥ range A makes r·b = r·r)
    return _incompatibility_verdict(sg, y, rel, "")


def _incompatibility_verdict(sg: StructuredGeometry, y: np.ndarray, rel: float, how: str) -> Compatibility:
    """"Not compatible" when the certificate ``y`` (over sg.eq, ``bᵀy = 1``) proves, from H, that
    every solution has ``‖W‖·max‖h_j‖`` above the cap; inconclusive with the bound otherwise."""
    b = sg.eq_rhs
    cap = SCALE_CAP * max(1.0, float(np.abs(b).max()))
    defect = combination_defect(sg.H, sg.eq, y, sg.V)
    bound = norm_bound(sg.H, sg.eq.array(), y, partial(sg.eq.adjoint, y=y, V=sg.V), sg.V, needed=cap)
    if not bound > cap:
        return Compatibility(Status("inconclusive", f"the incompatibility certificate proves only that "
                                    f"every solution has ‖W‖·max‖h_j‖ ≥ {bound:.3g} (not above {cap:.3g})"),
                             None, None, rel, certificate_bound=bound)
    where = f", {how}" if how else ""
    return Compatibility(Status("infeasible", f"no W satisfies Definition 1 with ‖W‖·max‖h_j‖ < {bound:.3g}; "
                                f"certificate y with Aᵀy = 0, bᵀy = 1 verified (structured{where})"), False,
                         None, rel, certificate=y, certificate_defect=defect, equations=sg.eq.array(),
                         certificate_bound=bound)
