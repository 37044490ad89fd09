"""Exact facts about gradient descent (theory.md §4, claims I1–I7), checked on ``gd()`` runs.

Each fact holds in exact arithmetic at every step, so each check compares a float run with a
*rounding model* (rounding.py): a bound, first order in the unit roundoff, on how far rounding can
move the computed quantity.

Steps per claim (none needs the profile's long GD budget, see the constants): a broken
implementation shows at the first steps, while every allowance below grows with k.

Every check takes the GD implementation ``run`` (default :func:`ntpverify.optim.gd.gd`) and, where it
needs one, the limit ``W_mm`` as overridable arguments: the negative controls feed wrong ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ntpverify.core.geometry import decide_rank
from ntpverify.core.instance import Instance
from ntpverify.core.maxmargin import KKT_RTOL
from ntpverify.core.model import default_step, gradient, log_softmax, logits, loss_gap
from ntpverify.core.solution import solve
from ntpverify.optim.gd import Trajectory, default_checkpoints, gd
from ntpverify.suite.applicability import applies
from ntpverify.suite.checks.rounding import (
    U,
    accumulated_rounding,
    gap_rounding,
    gradient_eval_noise,
    step_deviation,
    step_norm_bound,
    trajectory_deviation,
)
from ntpverify.suite.verdict import Verdict, first_failure, holds, inconclusive, vacuous, within

#: A GD implementation with the signature of :func:`ntpverify.optim.gd.gd`.
Runner = Callable[..., Trajectory]

#: Steps for I1 and I2. A conservation leak of a broken step is O(η) at k = 1, where the allowance
#: is ~1e-16; the allowance grows like k², so longer runs only lose power. Logits grow like log k
#: (theory.md §6), so 10⁴ steps already reach ~80% of the logits a 10⁵-step run reaches; large
#: logits come from the drawn starts instead (up to ~10³, beyond exp's overflow at 709).
CONSERVATION_STEPS = 10_000
#: Steps for I3 and I4, identities of one step: read at (k, k+1) for log-spaced k ≤ 10⁴. By then
#: the off-support mass is ~1e-3 and the loss decrement ~1e-7 (theory.md §6); the regime where a
#: naive evaluation is pure rounding is reached by starts along W^mm (``start_along_mm``).
STEP_IDENTITY_STEPS = 10_000
#: Steps for I6 and I7: the compared runs differ by rounding that adds up over the run (GD's map
#: is non-expansive for η ≤ 2/L, so it is not amplified; trajectory_deviation); a wrong
#: transformation shows at k = 1, where the allowance is a few ulps.
COMPARISON_STEPS = 10_000

#: I3/I5: the identity is compared with the naive ``⟨W_{k+1} − W_k, W^mm⟩`` to this relative
#: accuracy (claim catalogue) wherever the rounding model of the naive value is below a tenth of it.
IDENTITY_RTOL = 1e-9
#: I3/I5: W^mm is certified by its KKT residuals to ``KKT_RTOL`` (maxmargin.py): anchor margins
#: ``≥ 1 − KKT_RTOL`` and in-support spread ``|ℓ_z − ℓ_{a_j}| ≤ KKT_RTOL·‖W^mm‖ max‖h_j‖``. Hence
#: ``c_j − ℓ_v ≥ 1 − KKT_RTOL(1 + ‖W^mm‖ max‖h_j‖)`` for the p-weighted mean ``c_j`` (a convex
#: combination of the in-support logits), and ``|ℓ_z − c_j| ≤ 2·KKT_RTOL·‖W^mm‖ max‖h_j‖``. The
#: exact W^mm has spread 0 and margins ≥ 1; the float one is allowed its certified error, no more.
CANDIDATE_RTOL = KKT_RTOL


def bounded(claim: str, observed: float, bound: float, source: str, detail: str) -> Verdict:
    """``within``, except that a non-finite ``observed`` (a run or an evaluation that blew up) fails
    as a yes/no verdict: the archive stores exact JSON, which has no NaN or infinity."""
    if not math.isfinite(observed):
        return holds(claim, False, f"{detail}: not finite ({observed!r})", source)
    return within(claim, observed, bound, source, detail)


# --- parameters ----------------------------------------------------------------------------------

def as_matrix(inst: Instance, W: np.ndarray | Sequence | None) -> np.ndarray:
    """``W`` (a V×d array or nested list, as archived) as floats; ``None`` is the zero matrix."""
    if W is None:
        return np.zeros((inst.V, inst.d))
    W = np.array(W, dtype=float)
    if W.shape != (inst.V, inst.d):
        raise ValueError(f"expected a {inst.V}×{inst.d} matrix, not {W.shape}")
    return W


def step_size(inst: Instance, eta: float | None) -> float:
    """``eta``, or the default ``1/λ_max(Σ π_j h_j h_jᵀ)`` (model.default_step)."""
    return default_step(inst) if eta is None else float(eta)


def pair_checkpoints(steps: int) -> list[int]:
    """``k`` and ``k + 1`` for every log-spaced ``k < steps`` (gd.default_checkpoints)."""
    ks = [k for k in default_checkpoints(steps) if k < steps]
    return sorted(set(ks) | {k + 1 for k in ks})


# --- the exact-sign decomposition (I3, I5) -------------------------------------------------------

@dataclass(frozen=True)
class Decomposition:
    """``⟨−∇CE(W), C⟩ = Σ_j π_j [Σ_{z∈S_j} (p_z − s_z)(ℓ_z − c_j) + Σ_{v∉S_j} s_v (c_j − ℓ_v)]``.

    ``ℓ_j = C h_j``, ``c_j = Σ_{z∈S_j} p_z ℓ_z``, ``s_j = softmax(W h_j)``: an identity for every C
    (expand and use ``Σ_{S_j} p = 1``, ``Σ s = 1``). For ``C = W^mm`` the in-support terms vanish
    (``ℓ`` is constant on ``S_j``) and every off-support term is positive (``c_j − ℓ_v ≥ 1``), which is
    theory.md I3/I5. ``inner`` holds the in-support terms (m×V, 0 off support); ``margins`` the
    ``c_j − ℓ_v`` (m×V, NaN on support); ``log_outer`` ``log(π_j s_v (c_j − ℓ_v))`` where the margin is
    positive (−inf elsewhere), from the log-softmax so that no off-support probability underflows;
    ``spread`` the ``|ℓ_z − c_j|`` relative to ``scale = ‖C‖ max_j‖h_j‖`` (m×V, 0 off support).
    """

    inner: np.ndarray
    margins: np.ndarray
    log_outer: np.ndarray
    spread: np.ndarray
    scale: float
    value: float

    @property
    def log_positive_part(self) -> float:
        """``log Σ π_j s_v (c_j − ℓ_v)`` over off-support terms with a positive margin (−inf if none)."""
        return float(logsumexp(self.log_outer)) if self.log_outer.size else -math.inf


def decompose(inst: Instance, W: np.ndarray, C: np.ndarray) -> Decomposition:
    """The exact decomposition of ``⟨−∇CE(W), C⟩`` (see :class:`Decomposition`)."""
    mask = inst.support_mask
    P = inst.next_token_probs
    pi = inst.weights[:, None]
    logS = log_softmax(logits(inst, W)).T
    S = np.exp(logS)
    L = (C @ inst.embeddings.T).T
    c = (P * np.where(mask, L, 0.0)).sum(axis=1, keepdims=True)
    inner = np.where(mask, pi * (P - S) * (L - c), 0.0)
    margins = np.where(mask, np.nan, c - L)
    off = ~mask
    with np.errstate(divide="ignore", invalid="ignore"):
        log_outer = np.where(off & (margins > 0), np.log(pi) + logS + np.log(np.where(off, margins, 1.0)),
                             -np.inf)[off]
    outer = np.where(off, pi * S * np.where(off, margins, 0.0), 0.0)
    scale = max(float(np.linalg.norm(C)) * float(np.linalg.norm(inst.embeddings, axis=1).max()), 1e-300)
    spread = np.where(mask, np.abs(L - c), 0.0) / scale
    return Decomposition(inner, margins, log_outer, spread, scale, float(inner.sum() + outer.sum()))


def sign_certificate(claim: str, inst: Instance, W: np.ndarray, C: np.ndarray, what: str) -> Verdict:
    """The exact-sign argument for ``⟨−∇CE(W), C⟩ > 0`` term by term.

    Fails if an off-support term is not positive beyond C's certified error (margin
    ``c_j − ℓ_v < 1 − CANDIDATE_RTOL(1 + ‖C‖max‖h‖)``), or an in-support term is negative beyond it
    (``(p_z − s_z)(ℓ_z − c_j) < 0`` with spread ``|ℓ_z − c_j| > 2·CANDIDATE_RTOL‖C‖max‖h‖``). Passes
    with the log of the off-support sum, finite however small the probabilities are."""
    dec = decompose(inst, W, C)
    off = ~inst.support_mask
    if not off.any():
        return inconclusive(claim, "no off-support token: every context has full support")
    worst_margin = float(np.nanmin(dec.margins[off]))
    negative = dec.inner < 0.0
    worst_spread = float(dec.spread[negative].max()) if negative.any() else 0.0
    log_pos = dec.log_positive_part
    return first_failure([
        bounded(claim, 1.0 - worst_margin, CANDIDATE_RTOL * (1.0 + dec.scale),
                "W^mm's KKT certification (maxmargin.KKT_RTOL): anchor margin and spread",
                f"{what}: off-support terms π_j s_v (c_j − ℓ_v) need c_j − ℓ_v ≥ 1; smallest is {worst_margin!r}"),
        bounded(claim, worst_spread, 2.0 * CANDIDATE_RTOL, "W^mm's KKT certification (maxmargin.KKT_RTOL)",
                f"{what}: negative in-support term (p_z − s_z)(ℓ_z − c_j) with relative spread {worst_spread:.3g} "
                f"(zero for a candidate in F⊥); log of the positive part {log_pos:.6g}"),
    ])


def identity_verdict(claim: str, naive: float, formula: float, noise: float, what: str) -> Verdict | None:
    """Compare ``naive`` with the ``formula`` where the rounding model ``noise`` of the naive value is
    at most a tenth of ``IDENTITY_RTOL·|formula|``; ``None`` when the naive value is too noisy."""
    if not noise <= 0.1 * IDENTITY_RTOL * abs(formula):
        return None
    return bounded(claim, abs(naive - formula) / abs(formula), IDENTITY_RTOL,
                   "claim catalogue (compared where the rounding model is ≤ 1e-10 relative)",
                   f"{what}: naive {naive!r} vs exact-sign formula {formula!r}")


def certified_w_mm(claim: str, inst: Instance, W_mm: np.ndarray | Sequence | None) -> np.ndarray | Verdict:
    """The given candidate, or W^mm computed and KKT-certified (maxmargin.py); the claim's verdict
    if its hypothesis (separable: the applicability gate) fails or W^mm is not certified."""
    sol = solve(inst)
    if (gated := applies(claim, inst, sol)) is not None:
        return gated
    if W_mm is not None:
        return as_matrix(inst, W_mm)
    if sol.mm.status.state == "inconclusive":
        return inconclusive(claim, f"W^mm: {sol.mm.status.reason}")
    if sol.mm.W_mm is None:
        return vacuous(claim, f"W^mm {sol.mm.status.state}: {sol.mm.status.reason}")
    return sol.mm.W_mm


# --- I1, I2: conservation ------------------------------------------------------------------------

def check_I1(inst: Instance, W0: np.ndarray | Sequence | None = None, eta: float | None = None,
             steps: int = CONSERVATION_STEPS, form: str = "auto", run: Runner = gd) -> Verdict:
    """I1: ``𝟙ᵀW_k = 𝟙ᵀW_0`` at every log-spaced checkpoint, for any η and W_0.

    Exact because ``𝟙ᵀE*_i = Σ_j π_j(Σ_v s_{j,v} − 1) = 0``; computed, ``𝟙ᵀ(W_k − W_0) = 𝟙ᵀR_k`` and
    ``‖𝟙ᵀR_k‖₂ ≤ √V·T_k`` (:func:`accumulated_rounding`)."""
    W0 = as_matrix(inst, W0)
    eta = step_size(inst, eta)
    tr = run(inst, steps, eta=eta, W0=W0, form=form)
    w0 = float(np.linalg.norm(W0))
    verdicts = []
    for k, Wk in sorted(tr.iterates.items()):
        drift = float(np.linalg.norm((Wk - W0).sum(axis=0)))
        bound = math.sqrt(inst.V) * accumulated_rounding(inst, eta, k, w0, float(np.linalg.norm(Wk)))
        verdicts.append(bounded("I1", drift, bound, "first-order rounding model √V·T_k "
                                "(exact.accumulated_rounding)", f"‖𝟙ᵀ(W_k − W_0)‖ at k = {k} (η = {eta!r}, "
                                f"{tr.form} form)"))
    return first_failure(verdicts)


def null_basis(inst: Instance) -> np.ndarray | None:
    """An orthonormal basis N (d×(d−r)) of ``span{h_j}⊥`` from the SVD of H, with the rank decided
    as in geometry.py; ``None`` if the rank decision is ambiguous."""
    _, s, Vt = np.linalg.svd(inst.embeddings, full_matrices=True)
    rank = decide_rank(s)
    return Vt[rank.rank:].T if rank.clear else None


def null_directions(claim: str, inst: Instance) -> np.ndarray | Verdict:
    """:func:`null_basis`, or the outcome when there is none to check: ``inconclusive`` if the
    rank of H is ambiguous, ``vacuous`` if ``span{h_j} = R^d`` (the claim's hypothesis fails:
    nothing is tested, which is not a pass)."""
    N = null_basis(inst)
    if N is None:
        return inconclusive(claim, "rank of H is ambiguous (geometry.RANK_MARGIN_DECADES)")
    if N.shape[1] == 0:
        return vacuous(claim, "span{h_j} is all of R^d: no direction to check")
    return N


def check_I2(inst: Instance, W0: np.ndarray | Sequence | None = None, eta: float | None = None,
             steps: int = CONSERVATION_STEPS, form: str = "auto", run: Runner = gd) -> Verdict:
    """I2: ``W_k x = W_0 x`` for ``x ⊥ span{h_j}``, at every log-spaced checkpoint.

    With N an orthonormal basis of ``span{h_j}⊥``: ``(W_k − W_0)N = −ηΣE*_i(HN) + R_k N``, so
    ``‖(W_k − W_0)N‖_F ≤ kG‖HN‖₂ + T_k`` (``‖HN‖₂`` is the SVD's own residual, ~1e-16‖H‖)."""
    N = null_directions("I2", inst)
    if isinstance(N, Verdict):
        return N
    W0 = as_matrix(inst, W0)
    eta = step_size(inst, eta)
    tr = run(inst, steps, eta=eta, W0=W0, form=form)
    w0 = float(np.linalg.norm(W0))
    hn = float(np.linalg.norm(inst.embeddings @ N, 2))
    G = step_norm_bound(inst, eta)
    verdicts = []
    for k, Wk in sorted(tr.iterates.items()):
        moved = float(np.linalg.norm((Wk - W0) @ N))
        bound = k * G * hn + accumulated_rounding(inst, eta, k, w0, float(np.linalg.norm(Wk)))
        verdicts.append(bounded("I2", moved, bound, "first-order rounding model kG‖HN‖ + T_k "
                                "(exact.accumulated_rounding)",
                                f"‖(W_k − W_0)N‖ over span{{h_j}}⊥ (dim {N.shape[1]}) at k = {k} "
                                f"(η = {eta!r}, {tr.form} form)"))
    return first_failure(verdicts)


# --- I3, I5: the exact-sign formula ------------------------------------------------------------

def check_I3(inst: Instance, W0: np.ndarray | Sequence | None = None, eta: float | None = None,
             start_along_mm: float = 0.0, steps: int = STEP_IDENTITY_STEPS, W_mm: np.ndarray | None = None,
             run: Runner = gd) -> Verdict:
    """I3: ``⟨W_{k+1} − W_k, W^mm⟩ = η Σ_j π_j Σ_{v∉S_j} s_{j,v}(c_j − ℓ^mm_{j,v}) > 0`` for every k.

    The run starts at ``W0 + start_along_mm·W^mm`` (large values push every off-support probability
    below 1e-16, where the naive difference is pure rounding). At each pair (k, k+1): the sign
    certificate of :func:`sign_certificate` at ``W_k``, and the formula against the naive
    difference where the latter's rounding model (``η·gradient_eval_noise + ‖W^mm‖Δ_k`` + the
    difference's own ``(Vd+2)u‖W_{k+1} − W_k‖‖W^mm‖``) is below a tenth of ``IDENTITY_RTOL``."""
    C = certified_w_mm("I3", inst, W_mm)
    if isinstance(C, Verdict):
        return C
    eta = step_size(inst, eta)
    start = as_matrix(inst, W0) + start_along_mm * C
    tr = run(inst, steps, eta=eta, W0=start, checkpoints=pair_checkpoints(steps))
    w0, cn = float(np.linalg.norm(start)), float(np.linalg.norm(C))
    verdicts = []
    for k in sorted(tr.iterates):
        if k + 1 not in tr.iterates:
            continue
        Wk, Wn = tr.iterates[k], tr.iterates[k + 1]
        verdicts.append(sign_certificate("I3", inst, Wk, C, f"k = {k}"))
        naive = float(np.sum((Wn - Wk) * C))
        formula = eta * decompose(inst, Wk, C).value
        nk, nn = float(np.linalg.norm(Wk)), float(np.linalg.norm(Wn))
        noise = (eta * gradient_eval_noise(inst, Wk, C) + cn * step_deviation(inst, eta, k, w0, nk, nn)
                 + (inst.V * inst.d + 2) * U * float(np.linalg.norm(Wn - Wk)) * cn)
        v = identity_verdict("I3", naive, formula, noise, f"⟨W_{{k+1}} − W_k, W^mm⟩ at k = {k}")
        if v is not None:
            verdicts.append(v)
    return first_failure(verdicts)


def check_I5(inst: Instance, W: np.ndarray | Sequence | None = None, along_mm: float = 0.0,
             W_mm: np.ndarray | None = None) -> Verdict:
    """I5: under separability ``∇CE(W) ≠ 0``, certified by ``⟨−∇CE(W), W^mm⟩ > 0`` at
    ``W + along_mm·W^mm`` with the exact-sign formula; the formula is also compared with the naive
    ``⟨−∇CE(W), W^mm⟩`` (model.gradient) where that is above rounding (gradient_eval_noise)."""
    C = certified_w_mm("I5", inst, W_mm)
    if isinstance(C, Verdict):
        return C
    point = as_matrix(inst, W) + along_mm * C
    verdicts = [sign_certificate("I5", inst, point, C, f"at W + {along_mm!r}·W^mm")]
    naive = float(np.sum(-gradient(inst, point) * C))
    v = identity_verdict("I5", naive, decompose(inst, point, C).value, gradient_eval_noise(inst, point, C),
                         "⟨−∇CE(W), W^mm⟩")
    return first_failure(verdicts + ([] if v is None else [v]))


# --- I4: descent lemma -------------------------------------------------------------------------

def check_I4(inst: Instance, W0: np.ndarray | Sequence | None = None, eta: float | None = None,
             steps: int = STEP_IDENTITY_STEPS, run: Runner = gd) -> Verdict:
    """I4: ``CE(W_{k+1}) ≤ CE(W_k) − (η/2)‖∇CE(W_k)‖²`` at every pair (k, k+1), for the given η.

    The hypothesis ``η ≤ 1/L`` is the caller's: ``L ≤ λ_max(Σπ_j h_j h_jᵀ)/2`` (the softmax Jacobian
    has norm ≤ ½), so ``η ≤ 2·default_step`` satisfies it. CE differences are taken as differences
    of the stable gap ``CE − ℋ`` (no O(1) cancellation). Allowance: ``gap_rounding`` at both
    iterates, the one-step deviation ``Δ_k`` times ``max ‖∇CE‖`` at the two iterates, and
    ``(m+V+d)u`` relative on ``(η/2)‖∇CE‖²``."""
    W0 = as_matrix(inst, W0)
    eta = step_size(inst, eta)
    tr = run(inst, steps, eta=eta, W0=W0, checkpoints=pair_checkpoints(steps))
    w0 = float(np.linalg.norm(W0))
    verdicts = []
    for k in sorted(tr.iterates):
        if k + 1 not in tr.iterates:
            continue
        Wk, Wn = tr.iterates[k], tr.iterates[k + 1]
        gk, gn = gradient(inst, Wk), gradient(inst, Wn)
        decrement = 0.5 * eta * float(np.sum(gk * gk))
        gaps = loss_gap(inst, Wk), loss_gap(inst, Wn)
        violation = gaps[1] - gaps[0] + decrement
        allowance = (gap_rounding(inst, Wk) + gap_rounding(inst, Wn)
                     + max(float(np.linalg.norm(gk)), float(np.linalg.norm(gn)))
                     * step_deviation(inst, eta, k, w0, float(np.linalg.norm(Wk)), float(np.linalg.norm(Wn)))
                     + (inst.m + inst.V + inst.d) * U * decrement)
        verdicts.append(bounded("I4", violation, allowance, "first-order rounding model (exact.gap_rounding, "
                                "exact.step_deviation)", f"CE(W_{{k+1}}) − CE(W_k) + (η/2)‖∇CE(W_k)‖² at k = {k} "
                                f"(η = {eta!r}, decrement {decrement:.3g})"))
    return first_failure(verdicts)


# --- I6: equivariance --------------------------------------------------------------------------

def householder(v: Sequence[float] | np.ndarray) -> np.ndarray:
    """``Q = I − 2vvᵀ/vᵀv`` (orthogonal and symmetric; exact when the entries of v are ±1 on a number
    of positions that is a power of two, as drawn by the property)."""
    v = np.asarray(v, dtype=float)
    return np.eye(v.size) - (2.0 / float(v @ v)) * np.outer(v, v)


def transformed(inst: Instance, perm: Sequence[int] | None = None, Q: np.ndarray | None = None,
                scale: float = 1.0) -> Instance:
    """``inst`` with tokens relabelled (new token ``perm[v]`` is old ``v``), ``H → c·H Qᵀ``."""
    P = inst.next_token_probs
    if perm is not None:
        P = P[:, np.argsort(perm)]
    H = inst.embeddings if Q is None else inst.embeddings @ Q.T
    return Instance(scale * H, inst.weights, P, name=inst.name)


def trajectories_agree(claim: str, expected: dict[int, np.ndarray], got: dict[int, np.ndarray],
              bound: Callable[[int], float], what: str) -> Verdict:
    """``‖got_k − expected_k‖ ≤ bound(k)`` at every checkpoint k of ``expected``."""
    return first_failure([
        bounded(claim, float(np.linalg.norm(got[k] - W)), bound(k), "non-expansive GD: rounding adds up "
                "(exact.trajectory_deviation of both runs)", f"{what} at k = {k}")
        for k, W in sorted(expected.items())])


def check_I6(inst: Instance, W0: np.ndarray | Sequence | None = None, eta: float | None = None,
             perm: Sequence[int] | None = None, reflector: Sequence[float] | None = None, scale: float = 1.0,
             steps: int = COMPARISON_STEPS, run: Runner = gd) -> Verdict:
    """I6: GD commutes with token permutations (rows of W_k permute), with ``H → HQᵀ, W_0 → W_0Qᵀ``
    (``W_k → W_kQᵀ``) for the Householder Q of ``reflector``, and with ``H → cH, W_0 → W_0/c,
    η → η/c²`` (``W_k → W_k/c``); η ≤ 2/L is the caller's hypothesis.

    The exact trajectories correspond exactly; each computed one is within ``D_k``
    (:func:`trajectory_deviation`) of its own, and the transformed instance is itself rounded (its
    H by ≤ (d+1)u relative, like the logits, so its D_k counts twice). Allowance at checkpoint k:
    ``2·D_k(transformed) + Lip(T)·D_k(original)`` with ``Lip = 1`` for the isometries, ``1/c`` for
    the scaling."""
    W0 = as_matrix(inst, W0)
    eta = step_size(inst, eta)
    base = run(inst, steps, eta=eta, W0=W0).iterates
    perm = list(range(inst.V)) if perm is None else [int(v) for v in perm]
    Q = householder(np.ones(inst.d) if reflector is None else reflector)
    order = np.argsort(perm)
    cases = {
        "token permutation": (transformed(inst, perm=perm), W0[order], eta, lambda W: W[order], 1.0),
        "orthogonal H → HQᵀ": (transformed(inst, Q=Q), W0 @ Q.T, eta, lambda W: W @ Q.T, 1.0),
        f"scaling H → {scale!r}·H": (transformed(inst, scale=scale), W0 / scale, eta / scale**2,
                                      lambda W: W / scale, 1.0 / abs(scale)),
    }
    w0 = float(np.linalg.norm(W0))
    verdicts = []
    for what, (other, start, step, image, lip) in cases.items():
        got = run(other, steps, eta=step, W0=start).iterates
        s0 = float(np.linalg.norm(start))

        def bound(k: int) -> float:  # called by trajectories_agree() in this iteration only
            return (2.0 * trajectory_deviation(other, step, k, s0, float(np.linalg.norm(got[k])))  # noqa: B023
                    + lip * trajectory_deviation(inst, eta, k, w0, float(np.linalg.norm(base[k]))))  # noqa: B023
        verdicts.append(trajectories_agree("I6", {k: image(W) for k, W in base.items()}, got, bound, what))
    return first_failure(verdicts)


# --- I7: duplicated contexts merge ---------------------------------------------------------------

def split_context(inst: Instance, j: int, fraction: float, p_copy: Sequence[float] | None = None) -> Instance:
    """``inst`` with context j split in two: weight ``fraction·π_j`` stays, ``(1 − fraction)·π_j``
    goes to a copy appended last with the same embedding and next-token distribution ``p_copy``
    (default ``p_j``: the claim's duplicate)."""
    p = inst.next_token_probs[j] if p_copy is None else np.asarray(p_copy, dtype=float)
    pi = inst.weights.copy()
    pi[j] = fraction * inst.weights[j]
    return Instance(np.vstack([inst.embeddings, inst.embeddings[j]]),
                    np.append(pi, (1.0 - fraction) * inst.weights[j]),
                    np.vstack([inst.next_token_probs, p]), name=inst.name)


def check_I7(inst: Instance, context: int = 0, fraction: float = 0.5, W0: np.ndarray | Sequence | None = None,
             eta: float | None = None, p_copy: Sequence[float] | None = None, steps: int = COMPARISON_STEPS,
             run: Runner = gd) -> Verdict:
    """I7: splitting context ``context`` into two with identical ``(h_j, p_j)`` and weights summing
    to ``π_j`` leaves every iterate unchanged (the two gradient terms add up to the merged one).
    ``p_copy`` overrides the copy's distribution. The split weights are rounded (≤ u relative, like
    the residual), so the split run's D_k counts twice: allowance ``2·D_k(split) + D_k(merged)``
    (:func:`trajectory_deviation`; η ≤ 2/L is the caller's hypothesis)."""
    W0 = as_matrix(inst, W0)
    eta = step_size(inst, eta)
    other = split_context(inst, context, fraction, p_copy)
    merged = run(inst, steps, eta=eta, W0=W0).iterates
    split = run(other, steps, eta=eta, W0=W0).iterates
    w0 = float(np.linalg.norm(W0))

    def bound(k: int) -> float:
        return (2.0 * trajectory_deviation(other, eta, k, w0, float(np.linalg.norm(split[k])))
                + trajectory_deviation(inst, eta, k, w0, float(np.linalg.norm(merged[k]))))
    return trajectories_agree("I7", merged, split, bound, f"context {context} split {fraction!r} : {1 - fraction!r}")
