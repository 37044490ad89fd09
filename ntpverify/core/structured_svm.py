"""Separability (Definition 2) and W^mm (Definition 3) by dual block coordinate ascent (theory.md §9).

**Dual.** ``max_{g_j ∈ C_j} D(G) = −Σ_j Σ_{v∉S_j} g_{j,v} − ½‖G H‖²`` with
``C_j = {g : 𝟙ᵀg = 0, g_v ≤ 0 for v ∉ S_j}`` and ``W = G H``; ``max D = ½‖W^mm‖²``, the
off-support entries ``α_{j,v} = −g_{j,v}`` are the margin multipliers and the support entries
``β_{j,z} = g_{j,z}`` (``z ≠ a_j``) those of the equalities, in the anchor form
``W = Σ α_{j,v}(e_{a_j} − e_v)h_jᵀ + Σ β_{j,z}(e_z − e_{a_j})h_jᵀ`` of theory.md §2's KKT.

**Ascent.** Exact block steps (structured_kernels.block_epoch), contexts in a seeded random order
per epoch: the NTP form of the Crammer–Singer sequential dual method (Keerthi et al. 2008,
liblinear ``-s 4``; like liblinear we stop on the largest block step, a KKT violation in logit
units, and shrink: tokens whose margin is clearly met leave their context's active set, and
every token is re-activated before a step is trusted as the stopping test, so it stays exact).

**Certification, separable.** When the steps are small (POLISH_STEPS; a slow ascent also at
rationed epoch doublings, and once when its epoch budget runs out) the active set ``A`` is read
off as the dense route does (maxmargin.active_set's rule and constants), the equality-constrained least-norm
problem ``min ‖W‖ s.t. (e_{a_j} − e_v)ᵀ W h_j = 1 on A, (e_z − e_{a_j})ᵀ W h_j = 0`` is solved
by LSQR on the selected-differences operator (structured.py), the multipliers are the ascent's
``(α, β)`` corrected by a least-squares step so that ``W = Aᵀλ``, and every KKT residual of
maxmargin.kkt_residuals is recomputed from H and held to ``KKT_RTOL``. A polish that fails is
corrected a few rounds as a primal–dual active-set method, and its dual point restarts the ascent
when that raises ``D``.

**Certification, not separable.** The dual is then unbounded and ``G_k`` grows linearly along a
recession direction: a ``G`` with columns in ``C_j``, ``G H = 0`` and ``−Σ_{v∉S_j} g_{j,v} = 1``
(theory.md §9). Its estimate is the difference quotient ``(G_{2k} − G_k)/(s_{2k} − s_k)``
(``s = Σα``), in which the bounded part of the iterates cancels; on its pattern of clearly positive
multipliers the least-norm correction that makes ``G H = 0`` is found by conjugate gradients on
``AᵀA`` in W-space, preconditioned by its token blocks (``G H = 0`` is one condition
``Σ_j g_{j,u} h_j = 0`` per token u, coupled only through the anchors), negative multipliers
are dropped, the solve repeated, and the result scaled to ``𝟙ᵀα = 1``. The certificate is
accepted, as on the dense route, when the bound it proves exceeds geometry.SCALE_CAP.
A defect ``ε = ‖G H‖`` at ``𝟙ᵀα = 1`` proves that every ``W``
meeting Definition 2 has ``‖W‖ ≥ 1/ε``, since ``1 ≤ Σ α_{j,v}(ℓ_{j,a_j} − ℓ_{j,v}) = ⟨W, G H⟩``:
that bound is stated in the verdict.

**Sub-instances.** A certificate of a sub-instance whose constraints are some of the instance's is
one of the instance: where m > d, one is sought before the ascent on the sub-instance of the
tokens in the most supports (farkas_from_frequent_tokens; instance.restrict_vocabulary keeps
exactly the constraints among those tokens), and during it on the contexts that carry the
recession direction (farkas_from_subset). Mapped back, it is checked to consist of the
instance's constraints and verified on the instance's H (_lifted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.sparse.linalg import LinearOperator, cg

from ntpverify.core.geometry import SCALE_CAP, norm_bound, rounding_ceiling
from ntpverify.core.instance import Instance, drop_contexts
from ntpverify.core.maxmargin import ACTIVE_DUAL_RTOL, ACTIVE_SLACK, KKT_RTOL, MaxMargin
from ntpverify.core.separability import Separability, farkas_verdict
from ntpverify.core.status import State, Status
from ntpverify.core.structured import (
    CG_ITER_LIM,
    REFINE_ROUNDS,
    REFINE_TARGET,
    StructuredGeometry,
    Triples,
    Work,
    cancel_adjoint,
    combination_defect,
    frequent_vocabularies,
    least_norm_decoder,
    least_squares_multipliers,
    support_positions,
    token_block_inverse,
)
from ntpverify.core.structured_kernels import all_active, block_epoch, mask_rows

METHOD = "structured"
#: Seed of the per-epoch context permutations: results are deterministic.
SEED = 0
#: Relative block-step sizes (step / (1 + ‖W‖ max‖h_j‖), logit units) at which the polish is
#: tried. The polish is exact on the right active set, but one try costs ~300–600 LSQR
#: iterations, each ≈ 4·(active constraints)·d flops, against ≈ 2·V·m·d for an epoch: measured
#: (benchmarks/scale.py's predecessor) a try is worth ~1000 epochs at V=64, m=128, where an epoch
#: takes 0.6 ms, so the first try waits for a well converged ascent; the last is near float64
#: resolution of the logits, where the ascent cannot improve.
POLISH_STEPS = (1e-6, 1e-9, 1e-12)
#: Solves of the active-set correction in one polish (certify_max_margin); a right active set
#: needs one, a nearly right one a few; far from the optimum the rounds only cost (measured: 8
#: rounds took 8–20 s on a nearly non-separable V=64, m=128, d=32 instance without certifying).
ACTIVE_SET_ROUNDS = 4
#: Epoch budget of the ascent: at most MAX_EPOCHS and at most ASCENT_FLOPS of epochs (≈ 2·m·V·d
#: flops each), but never fewer than MIN_EPOCHS. theory.md §9 measured 56–82 epochs on separable
#: instances up to 500k constraints; a nearly non-separable V=64, m=128, d=32 draw (‖W^mm‖ = 68)
#: needed 20k epochs (5 s); ones beyond the budget end inconclusive.
MAX_EPOCHS = 50_000
MIN_EPOCHS = 1000
ASCENT_FLOPS = 2e11
#: First epoch doubling at which a not yet converged ascent is polished anyway, provided its
#: relative block step is below STALL_POLISH_STEP (farther out the active set is wrong and the
#: polish only costs: measured 5 s for nothing at epoch 64 of the draw above).
POLISH_FIRST_DOUBLING = 64
STALL_POLISH_STEP = 1e-3
#: First epoch at which a Farkas certificate is attempted; then at every doubling of the epoch.
FARKAS_FIRST_CHECK = 16
#: The certificate is attempted only when ``s = Σα`` grew by this factor since the previous check
#: (an epoch count half as large): on a separable instance s converges (to ‖W^mm‖²), on a
#: non-separable one it grows linearly, ``s_k ≈ a k + b``, so its ratio tends to 2 from below
#: (measured 1.9–2.0 from epoch 16 on random non-separable instances).
FARKAS_GROWTH = 1.5
#: Off-support entries of the recession-direction estimate whose multiplier is below this fraction
#: of the largest are left out of the certificate's pattern (bounded entries decay like 1/k there).
FARKAS_PATTERN_RTOL = 1e-6
#: Solves of "solve on the pattern, drop negative multipliers" (warm-started, farkas_from_direction):
#: measured 4–6 dropping rounds on random non-separable draws up to V=200, m=1000, and 8 on a
#: 500-word corpus, each followed by at most one solve to the final target; the rest is headroom.
FARKAS_ROUNDS = 24
#: A round that may still drop multipliers is solved only to this fraction of its starting defect
#: (the pattern it decides is what matters); a round whose pattern held is then solved again to
#: the final target (FARKAS_SLACK). CG's iterations grow with the decades solved, and the rounds
#: start at ‖G H‖ ~ 1e-2…1e-5 against a final target ~1e-14.
FARKAS_LOOSE = 1e-6
#: Each round's correction stops at ``‖G H‖ ≤ FARKAS_SLACK·max‖h_j‖/SCALE_CAP`` (absolute, not
#: relative to the round's own residual): a hundredth of what a bound above SCALE_CAP needs. Solving
#: every round to LSQR's relative floor cost 2–3× the iterations (measured V=400, m=2000, d=64:
#: rounds from ‖b‖ = 4e-9 to 6e-19, the certificate then at ε = 1.6e-17 where 1e-14 proves the cap).
FARKAS_SLACK = 1e-2
#: A certificate is first sought on the ``SUBSET_FACTOR·d`` contexts that carry most of the
#: recession direction (farkas_from_subset), doubling while that is at most half the contexts: a
#: sub-instance's ascent and LSQR cost in proportion to its context count.
SUBSET_FACTOR = 4
#: A sub-instance is only asked for a certificate: its ascent stops at the first Farkas check
#: (FARKAS_FIRST_CHECK doublings) where Σα does not grow, or after this many epochs, unpolished
#: (a separable subset's W^mm is of no use; polishing one cost 80 s of 115 on V=400, m=2000, d=64).
SUBSET_EPOCHS = 64
#: Shrinking (liblinear's Crammer–Singer rule, structured_kernels.block_epoch): a sweep over the
#: shrunk active sets whose step (logit units, unscaled like liblinear's gradient spread) is below
#: ``eps_shrink``, or whose relative step reaches the next polish step, re-activates every token;
#: ``eps_shrink`` starts at SHRINK_FIRST_STEP (liblinear: max(10·eps, 1), margins being 1) and is
#: divided by SHRINK_DECAY at each re-activation (liblinear halves it).
SHRINK_FIRST_STEP = 1.0
SHRINK_DECAY = 10.0


@dataclass(frozen=True)
class AscentResult:
    """Separability and W^mm from the structured route, with the number of epochs run."""

    sep: Separability
    mm: MaxMargin
    epochs: int


def kkt_residuals(sg: StructuredGeometry, W: np.ndarray, rows: Triples, n_margin: int,
                  lam: np.ndarray) -> dict[str, float]:
    """The relative KKT residuals of maxmargin.kkt_residuals (same names and definitions), at
    ``(W, λ)`` with ``λ`` over ``rows`` (its first ``n_margin`` are margin triples ``(j, a_j, v)``
    with multipliers α, the rest equality triples with multipliers β), computed from H chunk by
    chunk. Margin multipliers not in ``rows`` are zero."""
    spread, min_margin = sg.spread_and_margin(W)
    alpha = lam[:n_margin]
    margin_rows = Triples(rows.ctx[:n_margin], rows.plus[:n_margin], rows.minus[:n_margin])
    margins = margin_rows.apply(sg.H, W)
    normW2 = float(np.sum(W * W))
    scale = max(np.sqrt(normW2) * np.sqrt(sg.hsq.max()), 1e-300)
    total = float(alpha.sum())
    return {
        "primal_eq": spread / scale,
        "primal_ineq": max(0.0, 1.0 - min_margin),
        "dual_sign": max(0.0, -float(alpha.min())) / float(alpha.max()) if alpha.max() > 0 else np.inf,
        "stationarity": float(np.linalg.norm(W - rows.adjoint(sg.H, lam, sg.V)) / np.sqrt(normW2)),
        "complementarity": float(alpha @ np.abs(margins - 1.0) / total),
        "duality_gap": abs(normW2 - total) / normW2,
    }


def _margin_triples(sg: StructuredGeometry, W: np.ndarray, pick) -> Triples:
    """The margin triples ``(j, a_j, v)``, ``v ∉ S_j``, where ``pick(J, D)`` is true, with ``D`` the
    chunk's anchor differences ``(W h_j)_{a_j} − (W h_j)_v`` (|J| × V)."""
    ctx, tok = [], []
    for J, diff in sg.anchor_differences(W):
        i, v = np.nonzero(~sg.support_rows(J) & pick(J, diff))
        ctx.append(i + J.start)
        tok.append(v)
    j, v = np.concatenate(ctx).astype(np.intp), np.concatenate(tok).astype(np.intp)
    return Triples(j, sg.anchors[j].astype(np.intp), v)


def _polish(sg: StructuredGeometry, margin_rows: Triples, lam0: np.ndarray, work: Work
            ) -> tuple[np.ndarray, Triples, np.ndarray]:
    """Least-norm ``W`` with the margins of ``margin_rows`` equal to 1 and the equalities, and its
    multipliers ``λ`` with ``W = Aᵀλ``.

    The least-norm solution of a consistent ``A W = b`` is ``W = Aᵀλ`` with ``A Aᵀ λ = b``, so one
    solve gives both: conjugate gradients on ``A Aᵀ`` (Craig's method), warm-started at the
    ascent's multipliers ``λ0``, so it only has to gain the decades between the ascent's accuracy
    and REFINE_TARGET, and refined on the residual. The preconditioner is the exact inverse of the
    block diagonal of ``A Aᵀ`` by context: every row of context j is ``s_t (e_{a_j} − e_{x_t})ᵀ W h_j``
    with distinct ``x_t`` (``s = +1`` for margins, −1 for equalities), so the block is
    ``‖h_j‖² S(I + 𝟙𝟙ᵀ)S`` with inverse ``S(I − 𝟙𝟙ᵀ/(k_j + 1))S/‖h_j‖²`` (k_j rows); what remains is
    the coupling ``h_jᵀh_{j'}`` between contexts (measured: a few dozen iterations on random H).
    When the solve does not converge (an inconsistent system: a wrong active set) it falls back
    to :func:`_polish_lsqr`, whose least-squares answer the active-set rounds need."""
    rows = margin_rows.concat(sg.eq)
    rhs = np.concatenate([np.ones(margin_rows.n), np.zeros(sg.eq.n)])
    V = sg.V

    def normal(y: np.ndarray) -> np.ndarray:
        work.units += rows.n  # one CG iteration: A and Aᵀ, as one LSQR iteration
        return rows.apply(sg.H, rows.adjoint(sg.H, y, V))

    op = LinearOperator((rows.n, rows.n), dtype=float, matvec=normal)
    sign = np.concatenate([np.ones(margin_rows.n), -np.ones(sg.eq.n)])
    shrink_by = 1.0 / (np.bincount(rows.ctx, minlength=sg.m) + 1.0)
    inv_hsq = 1.0 / sg.hsq[rows.ctx]

    def block_inverse(y: np.ndarray) -> np.ndarray:
        return inv_hsq * (y - sign * (shrink_by * np.bincount(rows.ctx, sign * y, sg.m))[rows.ctx])

    blocks = LinearOperator((rows.n, rows.n), dtype=float, matvec=block_inverse)
    target = REFINE_TARGET * float(np.linalg.norm(rhs))
    lam = lam0.astype(float, copy=True)
    W = rows.adjoint(sg.H, lam, V)
    size = float(np.linalg.norm(rhs - rows.apply(sg.H, W)))
    for _ in range(REFINE_ROUNDS):
        if not size > target:
            return W, rows, lam
        mu, _ = cg(op, rhs - rows.apply(sg.H, W), rtol=0.0, atol=0.1 * target, maxiter=CG_ITER_LIM,
                   M=blocks)
        lam += mu
        W = rows.adjoint(sg.H, lam, V)
        before, size = size, float(np.linalg.norm(rhs - rows.apply(sg.H, W)))
        if not size < 0.5 * before:
            break
    if size <= target:
        return W, rows, lam
    return _polish_lsqr(sg, margin_rows, lam0, work)


def _polish_lsqr(sg: StructuredGeometry, margin_rows: Triples, lam0: np.ndarray, work: Work
                 ) -> tuple[np.ndarray, Triples, np.ndarray]:
    """:func:`_polish` by LSQR: the least-norm least-squares ``W`` of the system (also when it is
    inconsistent), then ``λ`` as the least-squares correction of the estimate ``λ0``."""
    rows = margin_rows.concat(sg.eq)
    rhs = np.concatenate([np.ones(margin_rows.n), np.zeros(sg.eq.n)])
    W_mm = least_norm_decoder(sg.H, rows, rhs, sg.V, work)
    lam = lam0 + least_squares_multipliers(sg.H, rows, W_mm - rows.adjoint(sg.H, lam0, sg.V),
                                            float(np.linalg.norm(W_mm)), work)
    return W_mm, rows, lam


def dual_point(sg: StructuredGeometry, rows: Triples, n_margin: int, lam: np.ndarray) -> np.ndarray:
    """The dual ``G`` (m×V, columns in C_j) of multipliers ``λ`` over ``rows`` (margin triples first),
    with negative margin multipliers clipped to 0: ``g_j = Σ α (e_{a_j} − e_v) + Σ β (e_z − e_{a_j})``."""
    coeff = lam.copy()
    coeff[:n_margin] = np.maximum(coeff[:n_margin], 0.0)
    size = sg.m * sg.V
    return (np.bincount(rows.ctx * sg.V + rows.plus, coeff, size)
            - np.bincount(rows.ctx * sg.V + rows.minus, coeff, size)).reshape(sg.m, sg.V)


def dual_objective(sg: StructuredGeometry, G: np.ndarray, W: np.ndarray) -> float:
    """``D(G) = −Σ_{v∉S_j} g_{j,v} − ½‖W‖²`` with ``W = G H`` (columns of G sum to zero)."""
    return float(G[sg.sup_ctx, sg.sup_tok].sum()) - 0.5 * float(np.sum(W * W))


def certify_max_margin(sg: StructuredGeometry, G: np.ndarray, W: np.ndarray, epochs: int,
                       work: Work | None = None) -> MaxMargin:
    """:func:`polish_and_certify` without the restart point."""
    return polish_and_certify(sg, G, W, epochs, work)[0]


def polish_and_certify(sg: StructuredGeometry, G: np.ndarray, W: np.ndarray, epochs: int,
                       work: Work | None = None) -> tuple[MaxMargin, np.ndarray | None]:
    """Polish the ascent's ``(G, W = G H)`` on its active set and accept it only if KKT verifies
    (module docstring). The active set starts from maxmargin.active_set's rule (multiplier
    ``α = −g`` above ``ACTIVE_DUAL_RTOL·max α``, or slack ``|margin − 1| ≤ ACTIVE_SLACK``); while KKT
    fails, constraints with negative multipliers are dropped and violated margins added, as in a
    primal–dual active-set method, for at most ACTIVE_SET_ROUNDS solves. ``work`` is charged for
    the LSQR iterations. Also returns the dual point (dual_point) of the last polish when KKT
    failed: the ascent restarts from it if it has a larger dual objective (an active-set Newton
    step on the face the ascent is approaching)."""
    work = Work() if work is None else work
    alpha = -G
    alpha[sg.sup_ctx, sg.sup_tok] = 0.0  # the max is over v ∉ S_j, where α = −g ≥ 0
    alpha_max = float(alpha.max(initial=0.0))
    margin_rows = _margin_triples(sg, W, lambda J, D: (-G[J] > ACTIVE_DUAL_RTOL * alpha_max)
                                  | (np.abs(D - 1.0) <= ACTIVE_SLACK))
    alpha0 = -G[margin_rows.ctx, margin_rows.minus]
    for _ in range(ACTIVE_SET_ROUNDS):
        if margin_rows.n == 0:
            return MaxMargin(Status("inconclusive", "the dual ascent left no active margin constraint"),
                             method=METHOD), None
        W_mm, rows, lam = _polish(sg, margin_rows, np.concatenate([alpha0, G[sg.eq.ctx, sg.eq.plus]]),
                                  work)
        kkt = kkt_residuals(sg, W_mm, rows, margin_rows.n, lam)
        worst = max(kkt, key=lambda k: np.inf if np.isnan(kkt[k]) else kkt[k])  # NaN never passes
        if kkt[worst] <= KKT_RTOL:
            return MaxMargin(Status("ok", f"KKT verified after active-set polish ({epochs} epochs of "
                                    "dual ascent)"), W_mm, float(np.linalg.norm(W_mm)), kkt,
                             lam[: margin_rows.n], margin_rows.array(), METHOD,
                             float(np.linalg.norm(W_mm - W) / np.linalg.norm(W_mm))), None
        restart = dual_point(sg, rows, margin_rows.n, lam)
        alpha = lam[: margin_rows.n]
        keep = alpha >= 0.0
        added = _margin_triples(sg, W_mm, lambda J, D: D < 1.0 - ACTIVE_SLACK)
        if keep.all() and added.n == 0:
            break
        kept = Triples(margin_rows.ctx[keep], margin_rows.plus[keep], margin_rows.minus[keep])
        margin_rows = kept.concat(added)
        alpha0 = np.concatenate([alpha[keep], np.zeros(added.n)])
    return MaxMargin(Status("inconclusive", f"KKT residual {worst} = {kkt[worst]:.3g} exceeds "
                            f"{KKT_RTOL:g} after {epochs} epochs of dual ascent"),
                     kkt=kkt, method=METHOD, raw_error=float(np.linalg.norm(W_mm - W) / np.linalg.norm(W_mm))
                     ), restart


def _infeasible(rows: Triples, y: np.ndarray, defect: float, eps: float, how: str,
                bound: float = math.inf) -> Separability:
    """"Not separable" with the bound the certificate proves (``‖W‖·max‖h_j‖ ≥ bound`` for every
    separating W), or inconclusive when the bound is not above SCALE_CAP (geometry.py)."""
    return farkas_verdict(bound, f"structured Farkas certificate ({how})", f"ε = ‖G H‖ = {eps:.3g}", None,
                          METHOD, farkas_y=y, farkas_rows=rows.array(), farkas_defect=defect)


def zero_embedding_certificate(sg: StructuredGeometry) -> Separability | None:
    """A context with ``h_j = 0`` and ``|S_j| < V`` alone is a certificate: ``g_j = e_{a_j} − e_v``
    for one ``v ∉ S_j`` has ``g_j h_jᵀ = 0`` and ``α_{j,v} = 1`` (theory.md §9)."""
    bad = np.flatnonzero((sg.hsq == 0.0) & (sg.support_size < sg.V))
    if bad.size == 0:
        return None
    j = int(bad[0])
    v = sg.first_off_support(j)
    rows = Triples(np.array([j], np.intp), np.array([sg.anchors[j]], np.intp), np.array([v], np.intp))
    return _infeasible(rows, np.ones(1), 0.0, 0.0, f"context {j} has h_j = 0")


def _lifted(sg: StructuredGeometry, rows: Triples, y: np.ndarray, how: str) -> Separability:
    """A sub-instance's certificate, its rows already mapped to the instance's contexts and tokens,
    verified on the instance's H as any other (farkas_from_direction's bound), after checking that
    its rows are constraints of the instance: every plus in ``S_ctx``, and the rows whose minus is
    not (Definition 2's margins) with multipliers ≥ 0 of positive sum, rescaled to 1."""
    plus_in = support_positions(sg, rows.ctx, rows.plus) >= 0
    margin = support_positions(sg, rows.ctx, rows.minus) < 0
    if not plus_in.all() or (y[margin] < 0.0).any() or not y[margin].sum() > 0.0:
        return Separability(Status("inconclusive", f"the certificate {how} does not map to constraints "
                                   "of the instance"), None, method=METHOD)
    y = y / y[margin].sum()
    eps = float(np.linalg.norm(rows.adjoint(sg.H, y, sg.V)))
    bound = norm_bound(sg.H, rows.array(), y, partial(rows.adjoint, y=y, V=sg.V), sg.V, needed=SCALE_CAP)
    return _infeasible(rows, y, combination_defect(sg.H, rows, y, sg.V), eps, how, bound)


def _sub_certificate(sub: Instance, contexts: np.ndarray,
                     tokens: np.ndarray | None = None) -> tuple[Triples, np.ndarray, int] | None:
    """The sub-instance's certificate-only ascent, when it ends in a Farkas certificate: its rows
    mapped back to the instance (sub-instance context j is ``contexts[j]``, token t is
    ``tokens[t]``, the same id without ``tokens``), multipliers and epochs."""
    sg = StructuredGeometry(sub)
    if sg.n_in == 0:  # every kept support is the kept vocabulary: no margin constraint to violate
        return None
    res = _ascend(sg, None, True, False, certificate_only=True)
    r, y = res.sep.farkas_rows, res.sep.farkas_y
    if res.sep.separable is not False or r is None or y is None:
        return None
    plus, minus = (r[:, i].astype(np.intp) if tokens is None else tokens[r[:, i]] for i in (1, 2))
    return Triples(contexts[r[:, 0]].astype(np.intp), plus, minus), y, res.epochs


def farkas_from_subset(sg: StructuredGeometry, D: np.ndarray) -> Separability | None:
    """A Farkas certificate found on a sub-instance, or None. If the contexts J alone are not
    separable, neither is the instance (a W meeting Definition 2 for every context meets it on J),
    and the sub-instance's certificate, its contexts mapped back, is one of the instance (_lifted).
    J is the ``SUBSET_FACTOR·d`` contexts with the largest mass ``Σ_v |D_jv|`` of the
    recession-direction estimate ``D``, doubled while ``|J| ≤ m/2`` as long as the sub-instance
    yields no certificate (its ascent runs in _ascend's ``certificate_only`` mode); then the
    caller goes on with the whole instance."""
    order = np.argsort(-np.abs(D).sum(axis=1), kind="stable")
    size = SUBSET_FACTOR * sg.d
    while 0 < size <= sg.m // 2:
        found = _sub_certificate(drop_contexts(sg.inst, order[size:]), np.sort(order[:size]))
        if found is not None:
            rows, y, epochs = found
            return _lifted(sg, rows, y, f"found on the {size} of {sg.m} contexts that carry most of the "
                           f"recession direction, {epochs} epochs of dual ascent there")
        size *= 2
    return None


def farkas_from_frequent_tokens(sg: StructuredGeometry) -> Separability | None:
    """A verified Farkas certificate found on the sub-instances of the tokens in the most supports
    (structured.frequent_vocabularies), before any ascent on the instance, or None. Such a
    sub-instance holds exactly the instance's constraints among its tokens, so its certificate,
    mapped back, is one of the instance (_lifted)."""
    for T, inst, K in frequent_vocabularies(sg):
        found = _sub_certificate(inst, K, T)
        if found is not None:
            rows, y, epochs = found
            cert = _lifted(sg, rows, y, f"found on the {T.size} of {sg.V} tokens in the most supports and "
                           f"the {K.size} contexts they meet, {epochs} epochs of dual ascent there")
            if cert.separable is False:
                return cert
    return None


def farkas_from_direction(sg: StructuredGeometry, D: np.ndarray, epochs: int) -> Separability | None:
    """An exact certificate near the recession-direction estimate ``D`` (m×V, columns ≈ in C_j,
    ``𝟙ᵀα = 1``), or None when none verifies (module docstring).

    Each round solves for the least-norm correction that cancels ``G H`` on the current pattern;
    margin multipliers that come out negative leave the pattern and the next round starts from
    the corrected point with them set to 0 (a warm start: its residual ``G H`` is only what the
    dropped entries carried, so the correction is small and drops few further entries; measured
    on a V=200, m=1000, d=32 draw: 8347, 1537, 102, 6, 1, 0 entries dropped per round). Where the
    rounds stop does not matter for soundness: the accepted point is verified from H as before.
    """
    alpha = -D
    alpha[sg.sup_ctx, sg.sup_tok] = 0.0
    j, v = np.nonzero(alpha > FARKAS_PATTERN_RTOL * alpha.max(initial=0.0))
    y = np.concatenate([alpha[j, v], D[sg.eq.ctx, sg.eq.plus]])
    V = sg.V
    hmax = float(np.linalg.norm(sg.H, axis=1).max())
    final = FARKAS_SLACK * hmax / SCALE_CAP
    blocks: LinearOperator | None = None
    tight = False
    for round_ in range(FARKAS_ROUNDS):
        n_a = j.size
        if n_a == 0 or not y[:n_a].sum() > 0.0:
            return None
        margin_rows = Triples(j.astype(np.intp), sg.anchors[j].astype(np.intp), v.astype(np.intp))
        rows = margin_rows.concat(sg.eq)
        if round_ == 0:
            # built once: later rounds only lose the dropped rows, and a slightly stale
            # preconditioner costs a few iterations where rebuilding costs ~2·n·d² flops
            blocks = token_block_inverse(sg.H, rows, V)
        y = y / y[:n_a].sum()  # Aᵀy = 0 is homogeneous: the whole of y is scaled
        target = final if tight else max(final, FARKAS_LOOSE * float(np.linalg.norm(rows.adjoint(sg.H, y, V))))
        delta, solved = cancel_adjoint(sg.H, rows, y, V, blocks, target, keep_sum=n_a)
        if not solved:  # no combination on this pattern cancels G H at Σα = 1: keep ascending
            return None
        y += delta
        negative = y[:n_a] < 0.0
        if negative.any():
            keep = np.concatenate([~negative, np.ones(sg.eq.n, dtype=bool)])
            j, v, y = j[~negative], v[~negative], y[keep]
            tight = False
            continue
        if target > final:
            tight = True  # the pattern held at the loose target: now solve it to the final one
            continue
        if not y[:n_a].sum() > 0.0:  # the correction cancelled every margin multiplier
            return None
        y /= y[:n_a].sum()
        defect = combination_defect(sg.H, rows, y, V)
        eps = float(np.linalg.norm(rows.adjoint(sg.H, y, V)))
        bound = norm_bound(sg.H, rows.array(), y, partial(rows.adjoint, y=y, V=V), V, needed=SCALE_CAP)
        how = f"recession direction of {epochs} epochs of dual ascent"
        if bound > SCALE_CAP:
            return _infeasible(rows, y, defect, eps, how, bound)
        # norm_bound adds a rounding allowance to the computed ‖G H‖; with ‖G H‖ = 0 it is the
        # ceiling any certificate on this pattern can prove. When the computed defect is already
        # below the allowance (bound ≥ ceiling/2) more ascent or refinement cannot lift the bound
        # above SCALE_CAP: stop with the inconclusive verdict that states it, instead of
        # ascending to the epoch budget.
        ceiling = rounding_ceiling(sg.H, rows.array(), y, V)
        if bound >= 0.5 * ceiling:
            return _infeasible(rows, y, defect, eps, f"{how}; with {rows.n} terms its rounding allowance "
                               f"caps the provable bound at {ceiling:.3g}", bound)
        return None  # proves too little yet: keep ascending (the caller decides later)
    return None


def _follow(sep: Separability) -> MaxMargin:
    state: State = "infeasible" if sep.separable is False else "inconclusive"
    return MaxMargin(Status(state, f"separability: {sep.status.reason}"), method=METHOD)


def _separable(sg: StructuredGeometry, mm: MaxMargin, epochs: int) -> AscentResult:
    assert mm.W_mm is not None  # called only with a certified W^mm
    _, min_margin = sg.spread_and_margin(mm.W_mm)
    sep = Separability(Status("ok", "W^mm is a KKT-verified witness (structured dual ascent)"), True,
                       method=METHOD, witness=mm.W_mm, witness_check=min_margin)
    return AscentResult(sep, mm, epochs)


def dual_ascent(sg: StructuredGeometry, sign_free: np.ndarray | None = None,
                shrink: bool = True) -> AscentResult:
    """Separability and W^mm of the instance behind ``sg`` (module docstring).

    ``sign_free`` (m×V) marks the entries of G without a sign constraint; it defaults to the
    supports, which is Definition 3's dual. Anything else solves a different cone program, which
    certification must then reject (the negative control of tests/test_structured.py).
    ``shrink=False`` visits every token in every sweep (the unshrunk reference of
    tests/test_shrinking.py and of the benchmark's before/after ratio). Only for Definition 3's own
    cone are certificates sought on sub-instances: of the most frequent tokens before the ascent
    (farkas_from_frequent_tokens), of the contexts carrying the recession direction during it
    (farkas_from_subset).
    """
    if sg.n_in == 0:
        return AscentResult(Separability(Status("ok", "no margin inequalities: every context has full "
                                                "support"), True, method=METHOD),
                            MaxMargin(Status("undefined", "every context has full support: no margin "
                                             "constraint, W^mm does not exist (theory.md §5)"),
                                      method=METHOD), 0)
    cert = zero_embedding_certificate(sg)
    if cert is None and sign_free is None:
        cert = farkas_from_frequent_tokens(sg)
    if cert is not None:  # both return only verified "not separable" verdicts
        return AscentResult(cert, _follow(cert), 0)
    return _ascend(sg, sign_free, shrink, sign_free is None)


def _ascend(sg: StructuredGeometry, sign_free: np.ndarray | None, shrink: bool,
            subsets: bool, certificate_only: bool = False) -> AscentResult:
    """The ascent loop of :func:`dual_ascent`. Shrinking follows liblinear's Crammer–Singer outer
    loop: a sweep over the shrunk active sets whose step falls below ``eps_shrink`` (or below the
    next polish step) re-activates every token and divides ``eps_shrink`` by SHRINK_DECAY; only a
    sweep that started with every token active may trigger the convergence polish, so the
    stopping test is the unshrunk one. ``certificate_only`` (farkas_from_subset) never polishes and
    gives up, inconclusive, at the first Farkas check without growth or after SUBSET_EPOCHS."""
    sup_ptr, sup_tok = sg.sup_ptr, sg.sup_tok  # CSR supports (no dense m×V mask for the kernel)
    free_ptr, free_tok = ((sup_ptr, sup_tok) if sign_free is None
                          else mask_rows(np.ascontiguousarray(sign_free, dtype=bool)))
    G = np.zeros((sg.m, sg.V))
    W = np.zeros((sg.V, sg.d))
    active, n_active = all_active(sg.m, sg.V)
    full, eps_shrink = True, SHRINK_FIRST_STEP
    rng = np.random.default_rng(SEED)
    contexts = np.flatnonzero(sg.hsq > 0.0)
    h_max = float(np.sqrt(sg.hsq.max()))
    polish_at = list(POLISH_STEPS)
    check_at, G_prev, s_prev = FARKAS_FIRST_CHECK, None, 0.0
    mm, last_polish, work, visited = None, 0, Work(), 0
    budget = int(min(MAX_EPOCHS, max(MIN_EPOCHS, ASCENT_FLOPS / (2.0 * sg.m * sg.V * sg.d))))
    if certificate_only:
        budget, polish_at = SUBSET_EPOCHS, []
    for epoch in range(1, budget + 1):
        visited += int(n_active[contexts].sum())
        step = block_epoch(sg.H, sg.hsq, sup_ptr, sup_tok, free_ptr, free_tok, G, W,
                           rng.permutation(contexts), active, n_active, shrink)
        rel = step / (1.0 + float(np.linalg.norm(W)) * h_max)
        next_polish = polish_at[0] if polish_at else 0.0
        crossed = full and bool(polish_at) and rel <= next_polish
        # A slowly converging ascent is also polished at epoch doublings (from 64), but only once
        # the tokens visited since the last try have cost as much as that try (in LSQR iterations
        # × rows, ≈ 4·n·d flops each, against ≈ 2·d per visited token): polishing is at most half
        # the work.
        stalled = (epoch == check_at and epoch >= POLISH_FIRST_DOUBLING and rel <= STALL_POLISH_STEP
                   and visited >= 2 * work.units and not certificate_only)
        full = not shrink
        if shrink and (step <= eps_shrink or rel <= next_polish):
            active, n_active = all_active(sg.m, sg.V)
            full, eps_shrink = True, eps_shrink / SHRINK_DECAY
        if crossed or stalled:
            while polish_at and rel <= polish_at[0]:
                polish_at.pop(0)
            last_polish, work, visited = epoch, Work(), 0
            mm, restart = polish_and_certify(sg, G, W, epoch, work)
            if mm.status.ok:
                return _separable(sg, mm, epoch)
            if restart is not None:
                W_restart = restart.T @ sg.H
                if dual_objective(sg, restart, W_restart) > dual_objective(sg, G, W):
                    G, W = restart, W_restart
                    # the restart point may be nonzero on shrunk tokens: re-activate them all
                    active, n_active = all_active(sg.m, sg.V)
                    full = True
            if not polish_at and crossed:
                break
        if epoch == check_at:
            s = float(G[sg.sup_ctx, sg.sup_tok].sum())  # Σα, since every column of G sums to zero
            if G_prev is not None and s > FARKAS_GROWTH * s_prev:
                D = (G - G_prev) / (s - s_prev)
                sep = farkas_from_subset(sg, D) if subsets else None
                if sep is None or sep.separable is not False:
                    sep = farkas_from_direction(sg, D, epoch)
                if sep is not None:
                    return AscentResult(sep, _follow(sep), epoch)
            elif G_prev is not None and certificate_only:
                break
            G_prev, s_prev, check_at = G.copy(), s, 2 * check_at
    if last_polish < epoch and not certificate_only:
        # The budget ran out between tries: the ascent's last point gets one.
        mm = certify_max_margin(sg, G, W, epoch)
        if mm.status.ok:
            return _separable(sg, mm, epoch)
    reason = (mm.status.reason if mm is not None else
              f"dual ascent neither converged nor yielded a verified Farkas certificate in {epoch} epochs")
    sep = Separability(Status("inconclusive", reason), None, method=METHOD)
    return AscentResult(sep, MaxMargin(Status("inconclusive", reason), kkt=mm.kkt if mm else {},
                                       method=METHOD), epoch)


def decide_structured(sg: StructuredGeometry) -> tuple[Separability, MaxMargin]:
    """Separability (Definition 2) and W^mm (Definition 3) by the structured route."""
    res = dual_ascent(sg)
    return res.sep, res.mm
