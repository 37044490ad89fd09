"""Checks of the structure of the limit objects, theory.md §2: F (D2), W⋆ (D3), W^mm's structure and
invariances (D4), the closed forms for orthogonal embeddings (D5), and the agreement of the two
W^mm solvers and of the LP and LDP separability decisions (D6).

Each check recomputes what it compares from an independent construction where one exists (all
support pairs instead of anchor pairs for F, a differently weighted solution for W⋆, transformed
instances for W^mm) and takes the object under test as an overridable keyword.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import numpy as np

from ntpverify.core.compatibility import compatibility_of, equation_residual
from ntpverify.core.geometry import Geometry, decide_rank
from ntpverify.core.instance import Instance
from ntpverify.core.maxmargin import KKT_RTOL, MaxMargin, decide, kkt_residuals, max_margin
from ntpverify.core.separability import Separability
from ntpverify.core.solution import solve
from ntpverify.core.status import Inconclusive
from ntpverify.core.subspace import F_basis
from ntpverify.suite.applicability import applies
from ntpverify.suite.checks.measures import RELATIVE, relative_distance
from ntpverify.suite.verdict import Verdict, first_failure, holds, inconclusive, within


def support_spread(inst: Instance, W: np.ndarray) -> float:
    """``max_j (max_{z∈S_j} − min_{z∈S_j}) (W h_j)_z``: zero iff every logit vector is constant on
    its support (all pairs, not only anchor pairs)."""
    Z = W @ inst.embeddings.T
    mask = inst.support_mask.T
    return float((np.where(mask, Z, -np.inf).max(axis=0) - np.where(mask, Z, np.inf).min(axis=0)).max())


# --- D2 ------------------------------------------------------------------------------------------

#: Orthonormality of the F basis: rows of an SVD are orthonormal to ~ε·√(V·d) (measured ≤ 4e-15).
D2_ORTHO_ATOL = 1e-12
#: Column sums of the basis, spreads (relative to ‖W‖·max‖h_j‖) and projections (relative to ‖X‖),
#: per unit of the condition number κ = σ₁/σ_k of the all-pairs generators: an SVD subspace is
#: accurate to ~ε·κ (Wedin). Measured ≤ 70·ε·κ over 3100 draws; 1e-13 ≈ 450·ε·κ.
D2_COND_RTOL = 1e-13


def all_pairs_rows(inst: Instance) -> np.ndarray:
    """Rows ``vec((e_z − e_{z'}) h_jᵀ)`` (V·d columns, original coordinates) for every context and
    every pair ``z < z'`` in ``S_j``: the generating set of F in its definition (theory.md §2)."""
    rows = []
    for j, S in enumerate(inst.supports):
        for a in range(len(S)):
            for b in range(a + 1, len(S)):
                X = np.zeros((inst.V, inst.d))
                X[S[a]] = inst.embeddings[j]
                X[S[b]] = -inst.embeddings[j]
                rows.append(X.reshape(-1))
    return np.asarray(rows).reshape(-1, inst.V * inst.d)


def check_D2(inst: Instance, seed: int = 0, *, basis: np.ndarray | None = None) -> Verdict:
    """D2: F (``basis``, k×V×d, default subspace.F_basis) is orthonormal with zero column sums, and
    ``W ∈ F⊥ ⇔ W h_j constant on S_j``: a random W projected off F has constant logits (⇒), a random
    element of the null space of the all-pairs rows has no F component (⇐), and ``dim F`` equals
    their rank. ``dim F ≤ Σ_j(|S_j| − 1)``, with equality when ``rank H = m``."""
    geo = Geometry(inst)
    basis = F_basis(inst).basis if basis is None else basis
    k = basis.shape[0]
    Q = basis.reshape(k, inst.V * inst.d)
    rows = all_pairs_rows(inst)
    if rows.size:
        _, s, Vt = np.linalg.svd(rows, full_matrices=True)
    else:  # every |S_j| = 1: no generator, F = {0}
        s, Vt = np.zeros(0), np.eye(inst.V * inst.d)
    rank = decide_rank(s)
    if not (rank.clear and geo.rank_H.clear):
        return inconclusive("D2", f"rank decision ambiguous (margins {rank.margin:.2f}, "
                            f"{geo.rank_H.margin:.2f} decades)")
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((inst.V, inst.d))
    W_perp = W - np.tensordot(Q @ W.reshape(-1), basis, axes=1)
    scale = float(np.linalg.norm(W) * np.linalg.norm(inst.embeddings, axis=1).max())
    # constant logits on supports; the null space is never {0}: F has zero column sums, so rank ≤ (V−1)d
    X = rng.standard_normal(Vt.shape[0] - rank.rank) @ Vt[rank.rank:]
    bound = sum(len(S) - 1 for S in inst.supports)
    independent = geo.rank_H.rank == inst.m
    tol = D2_COND_RTOL * (float(s[0] / s[rank.rank - 1]) if rank.rank else 1.0)
    source = f"SVD subspace accuracy, {D2_COND_RTOL:g}·κ"
    return first_failure([
        within("D2", float(np.abs(Q @ Q.T - np.eye(k)).max()) if k else 0.0, D2_ORTHO_ATOL, "SVD rounding",
               "orthonormality of the F basis"),
        within("D2", float(np.abs(basis.sum(axis=1)).max()) if k else 0.0, tol, source,
               "column sums 𝟙ᵀF_i of the F basis"),
        holds("D2", k == rank.rank, f"dim F = {k} vs rank of the all-pairs generators = {rank.rank}"),
        within("D2", support_spread(inst, W_perp) / scale, tol, source,
               "⇒: W − P_F W has constant logits on every support (relative spread)"),
        within("D2", float(np.linalg.norm(Q @ X) / np.linalg.norm(X)), tol, source,
               "⇐: constant logits on supports (all-pairs null space) ⇒ no F component (relative)"),
        holds("D2", k <= bound and (k == bound or not independent),
              f"dim F = {k}, Σ_j(|S_j| − 1) = {bound}, rank H = {geo.rank_H.rank}, m = {inst.m}: "
              "≤ always, = when the h_j are independent"),
    ])


# --- D3 ------------------------------------------------------------------------------------------

#: W⋆ comparisons relative to max(1, ‖W⋆‖): residuals of SVD/least-squares solves, ~cond·1e-16
#: with cond(A_eq) ≲ 1e4 on the drawn instances; the compatibility acceptance itself is 1e-9.
D3_RTOL = 1e-9


def another_solution(geo: Geometry, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random solution of Definition 1, generally not in F: the point nearest a random ``w₀`` in
    the metric ``‖D(w − w₀)‖`` (D a random positive diagonal) subject to ``A_eq w = b``, in reduced
    coordinates (least squares on ``A_eq D⁻¹``, not the SVD of geometry.py), plus a random matrix
    acting only outside ``span{h_j}`` (it changes no logit)."""
    w0 = rng.standard_normal(geo.V * geo.r)
    D = rng.uniform(0.5, 2.0, geo.V * geo.r)
    w = w0 + np.linalg.lstsq(geo.A_eq / D, b - geo.A_eq @ w0, rcond=None)[0] / D if b.size else w0
    outside = rng.standard_normal((geo.V, geo.d))
    return geo.lift(w) + outside - (outside @ geo.R) @ geo.R.T


def _reweighted(inst: Instance, rng: np.random.Generator) -> Instance:
    """``inst`` with new random context weights π' (same H and p)."""
    pi = rng.uniform(0.1, 1.0, inst.m)
    return Instance(inst.embeddings, pi / pi.sum(), inst.next_token_probs, name="reweighted")


def check_D3(inst: Instance, seed: int = 0, *, W_star: np.ndarray | None = None) -> Verdict:
    """D3: for W⋆ (default: compatibility.py's; override to test another), ``W⋆`` solves Definition 1,
    ``P_F(W) = W⋆`` and ``‖W⋆‖ ≤ ‖W‖`` for another solution W (:func:`another_solution`),
    ``𝟙ᵀW⋆ = 0``, rows vanish for tokens in no support of size ≥ 2, and W⋆ is unchanged by new π."""
    sol = solve(inst)
    if (gated := applies("D3", inst, sol)) is not None:
        return gated
    geo, compat = sol.geometry, sol.compat
    W_star = compat.W_star if W_star is None else W_star
    assert W_star is not None  # compatible (gated above) ⇒ W⋆ is set
    rng = np.random.default_rng(seed)
    W_other = another_solution(geo, geo.eq_rhs, rng)
    if equation_residual(geo, W_other) > D3_RTOL:
        return inconclusive("D3", "the weighted least-squares solve gave no second solution")
    scale = max(1.0, float(np.linalg.norm(W_star)))
    in_big_support = (inst.support_mask & (inst.support_mask.sum(axis=1) >= 2)[:, None]).any(axis=0)
    other_pi = compatibility_of(Geometry(_reweighted(inst, rng)))
    if other_pi.compatible is not True:
        return inconclusive("D3", f"re-weighted instance: {other_pi.status.reason}")
    assert other_pi.W_star is not None  # compatible ⇒ W⋆ is set
    return first_failure([
        within("D3", equation_residual(geo, W_star), D3_RTOL, "SVD solve residuals",
               "W⋆ solves Definition 1 (relative residual)"),
        within("D3", float(np.linalg.norm(geo.project_F(W_other) - W_star)) / scale, D3_RTOL,
               "SVD solve residuals", f"P_F(W) = W⋆ for another solution W (‖W − W⋆‖ = "
               f"{np.linalg.norm(W_other - W_star):.3g})"),
        within("D3", (float(np.linalg.norm(W_star)) - float(np.linalg.norm(W_other))) / scale, D3_RTOL,
               "SVD solve residuals", "‖W⋆‖ − ‖W‖ for another solution W (minimum norm)"),
        within("D3", float(np.linalg.norm(W_star.sum(axis=0))) / scale, D3_RTOL, "SVD solve residuals",
               "‖𝟙ᵀW⋆‖ (zero column sums)"),
        within("D3", float(np.linalg.norm(W_star[~in_big_support])) / scale, D3_RTOL, "SVD solve residuals",
               f"rows of W⋆ for the {int((~in_big_support).sum())} tokens in no support of size ≥ 2"),
        within("D3", float(np.linalg.norm(other_pi.W_star - W_star)) / scale, D3_RTOL, "SVD solve residuals",
               "W⋆ of the instance with new weights π'"),
    ])


# --- D4 ------------------------------------------------------------------------------------------

#: Agreement of two certified W^mm (each polished on its active set and KKT ≤ 1e-9), relative
#: to ‖W^mm‖: polished solutions are exact up to conditioning (measured ≤ 9e-14 over the 3000
#: transformed pairs of a thorough run, ≤ 5e-12 between the two solvers of D6).
MM_RTOL = 1e-8

MaxMarginSolver = Callable[[Instance], MaxMargin]


def _mm_or_none(solver: MaxMarginSolver, inst: Instance) -> np.ndarray | None:
    """W^mm (None if infeasible or undefined); raises Inconclusive if the solver could not tell."""
    res = solver(inst)
    if res.status.state == "inconclusive":
        raise Inconclusive("W_mm", res.status.reason)
    return res.W_mm


def dyadic_householder(d: int, rng: np.random.Generator) -> np.ndarray:
    """``Q = I − 2vvᵀ/vᵀv`` with ``v`` holding ``k = 2^⌊log₂ d⌋`` random entries ±1 at random
    positions (zeros elsewhere): ``vᵀv = k`` is a power of two, so every entry of Q is dyadic and Q
    is orthogonal *exactly* in floating point (``Q = −1`` when ``d = 1``)."""
    k = 2 ** int(np.log2(d))
    v = np.zeros(d)
    v[rng.choice(d, size=k, replace=False)] = rng.choice([-1.0, 1.0], size=k)
    return np.eye(d) - (2.0 / k) * np.outer(v, v)


def _transformed(inst: Instance, W: np.ndarray | None, rng: np.random.Generator
                 ) -> dict[str, tuple[Instance, np.ndarray | None]]:
    """Transformed instances with the W^mm each must have according to theory.md §2: rotation
    ``H → HQᵀ`` (``W Qᵀ``), token permutation (rows permuted), ``H → cH`` (``W/c``), new in-support
    probabilities and new weights (W unchanged)."""
    H, pi, P = inst.embeddings, inst.weights, inst.next_token_probs
    Q = dyadic_householder(inst.d, rng)
    perm = rng.permutation(inst.V)
    c = float(rng.uniform(0.25, 4.0))
    P_new = np.where(inst.support_mask, rng.uniform(0.1, 1.0, P.shape), 0.0)
    pi_new = rng.uniform(0.1, 1.0, inst.m)
    return {
        "rotation": (Instance(H @ Q.T, pi, P), None if W is None else W @ Q.T),
        "token permutation": (Instance(H, pi, P[:, perm]), None if W is None else W[perm]),
        f"scaling c = {c:.4g}": (Instance(c * H, pi, P), None if W is None else W / c),
        "new probabilities": (Instance(H, pi, P_new / P_new.sum(axis=1, keepdims=True)), W),
        "new weights": (Instance(H, pi_new / pi_new.sum(), P), W),
    }


def check_D4(inst: Instance, seed: int = 0, *, solver: MaxMarginSolver = max_margin) -> Verdict:
    """D4: W^mm (from ``solver``, default maxmargin.max_margin) has ``𝟙ᵀW^mm = 0``, rows in
    ``span{h_j}``, equal rows for tokens with equal support patterns, and transforms as theory.md §2
    says under a Householder rotation, a token permutation, a scaling and new p (same supports) or π
    (drawn from ``seed``); a non-separable instance stays non-separable under all of them."""
    geo = Geometry(inst)
    try:
        W = _mm_or_none(solver, inst)
        cases = {name: (_mm_or_none(solver, t), expected)
                 for name, (t, expected) in _transformed(inst, W, np.random.default_rng(seed)).items()}
    except Inconclusive as e:
        return inconclusive("D4", e.reason)
    if W is None:
        return holds("D4", all(got is None for got, _ in cases.values()),
                     "no W^mm: every transformed instance must have none either "
                     f"({[name for name, (got, _) in cases.items() if got is not None]} have one)")
    norm = float(np.linalg.norm(W))
    _, pattern = np.unique(inst.support_mask.T, axis=0, return_inverse=True)
    twins = max(float(np.linalg.norm(W[pattern == g] - W[pattern == g][0], axis=1).max())
                for g in np.unique(pattern))
    verdicts = [
        within("D4", float(np.linalg.norm(W.sum(axis=0))) / norm, MM_RTOL, "KKT-certified W^mm",
               "‖𝟙ᵀW^mm‖ (zero column sums)"),
        within("D4", float(np.linalg.norm(W - (W @ geo.R) @ geo.R.T)) / norm, MM_RTOL, "KKT-certified W^mm",
               "part of W^mm outside span{h_j} (rows in span{h_j})"),
        within("D4", twins / norm, MM_RTOL, "KKT-certified W^mm", "rows of tokens with equal support patterns"),
    ]
    for name, (got, expected) in cases.items():
        if got is None:
            verdicts.append(holds("D4", False, f"{name}: the transformed instance has no W^mm"))
        else:
            assert expected is not None  # W is not None here, so every transformed W^mm is set
            verdicts.append(within("D4", relative_distance(got, expected, RELATIVE), MM_RTOL, "two KKT-certified W^mm",
                                   f"{name}: W^mm of the transformed instance vs the transformed W^mm"))
    return first_failure(verdicts)


# --- D5 ------------------------------------------------------------------------------------------

#: Closed forms vs solved objects, relative: both exact up to rounding (~1e-15).
D5_RTOL = 1e-9


def closed_form_w_mm(inst: Instance) -> np.ndarray:
    """``W^mm = Σ_j u_j h_jᵀ/‖h_j‖²``, ``u_j = 𝟙_{S_j} − (|S_j|/V)𝟙`` (mutually orthogonal h_j)."""
    H = inst.embeddings
    U = inst.support_mask - inst.support_mask.sum(axis=1, keepdims=True) / inst.V
    return U.T @ (H / (H * H).sum(axis=1, keepdims=True))


def closed_form_w_mm_norm2(inst: Instance) -> float:
    """``‖W^mm‖² = Σ_j |S_j|(V − |S_j|)/(V‖h_j‖²)`` (mutually orthogonal h_j)."""
    k = inst.support_mask.sum(axis=1)
    return float(np.sum(k * (inst.V - k) / (inst.V * (inst.embeddings**2).sum(axis=1))))


def closed_form_w_star(inst: Instance) -> np.ndarray:
    """``W⋆ = Σ_j u⋆_j h_jᵀ/‖h_j‖²``, ``u⋆_{j,z} = log p_{j,z} − mean_{z'∈S_j} log p_{j,z'}`` on S_j,
    0 off it (mutually orthogonal h_j)."""
    H, mask = inst.embeddings, inst.support_mask
    with np.errstate(divide="ignore"):
        logp = np.where(mask, np.log(inst.next_token_probs), 0.0)
    U = np.where(mask, logp - logp.sum(axis=1, keepdims=True) / mask.sum(axis=1, keepdims=True), 0.0)
    return U.T @ (H / (H * H).sum(axis=1, keepdims=True))


def check_D5(inst: Instance, *, W_mm: np.ndarray | None = None, W_star: np.ndarray | None = None) -> Verdict:
    """D5: for mutually orthogonal embeddings the solved W^mm, ‖W^mm‖² and W⋆ (or the overrides)
    equal their closed forms (theory.md §2)."""
    sol = solve(inst)
    if (gated := applies("D5", inst, sol)) is not None:
        return gated
    if not (sol.mm.status.ok and sol.compat.status.ok):
        return inconclusive("D5", f"W^mm: {sol.mm.status.reason}; compatibility: {sol.compat.status.reason}")
    W_mm = sol.W_mm if W_mm is None else W_mm
    W_star = sol.W_star if W_star is None else W_star
    # status ok ⇒ W^mm is set; orthogonal h_j ⇒ the system is solvable, so compatible and W⋆ is set
    assert W_mm is not None and W_star is not None
    star = closed_form_w_star(inst)
    return first_failure([
        within("D5", relative_distance(W_mm, closed_form_w_mm(inst), RELATIVE), D5_RTOL, "rounding",
               "W^mm vs its closed form"),
        within("D5", abs(float(np.sum(W_mm**2)) / closed_form_w_mm_norm2(inst) - 1.0), D5_RTOL, "rounding",
               "‖W^mm‖² vs Σ_j |S_j|(V−|S_j|)/(V‖h_j‖²)"),
        within("D5", float(np.linalg.norm(W_star - star)) / max(1.0, float(np.linalg.norm(star))), D5_RTOL,
               "rounding", "W⋆ vs its closed form (relative to max(1, ‖W⋆‖))"),
    ])


# --- D6 ------------------------------------------------------------------------------------------

GeometrySolver = Callable[[Geometry], tuple[Separability, MaxMargin]]

#: The two independent pipelines: LDP-NNLS (which also decides separability) and the HiGHS LP +
#: cvxpy/Clarabel QP; each polishes its own active set and is KKT-certified.
SOLVERS: Mapping[str, GeometrySolver] = {"nnls": partial(decide, method="nnls"),
                                         "clarabel": partial(decide, method="clarabel")}


def _W_mm(mm: MaxMargin) -> np.ndarray:
    """``mm.W_mm`` of a result whose status is ok (then it is set)."""
    assert mm.W_mm is not None
    return mm.W_mm


def check_D6(inst: Instance, *, solvers: Mapping[str, GeometrySolver] = SOLVERS) -> Verdict:
    """D6: the two pipelines (``solvers``; override one to test another) agree on separability (the
    LDP's feasibility and the LP's decision), each returned W^mm meets Definition 3's KKT conditions
    when re-checked here from H (``KKT_RTOL``), and the two W^mm coincide to ``MM_RTOL``."""
    geo = Geometry(inst)
    results = {name: solve_geo(geo) for name, solve_geo in solvers.items()}
    seps = {name: sep for name, (sep, _) in results.items()}
    mms = {name: mm for name, (_, mm) in results.items()}
    undecided = [f"{n}: {s.status.reason}" for n, s in seps.items() if s.separable is None]
    undecided += [f"{n}: {m.status.reason}" for n, m in mms.items() if m.status.state == "inconclusive"]
    if undecided:
        return inconclusive("D6", "; ".join(undecided))
    decisions = {f"{name} ({sep.method})": sep.separable for name, sep in seps.items()}
    states = {name: mm.status.state for name, mm in mms.items()}
    verdicts = [holds("D6", len(set(decisions.values())) == 1, f"separability decisions {decisions}"),
                holds("D6", len(set(states.values())) == 1, f"W^mm states {states}")]
    solved = {name: mm for name, mm in mms.items() if mm.status.ok}
    for name, mm in solved.items():
        assert mm.alpha is not None  # status ok ⇒ the multipliers are set
        kkt = kkt_residuals(geo, _W_mm(mm), mm.alpha)
        worst = max(kkt, key=kkt.__getitem__)
        verdicts.append(within("D6", kkt[worst], KKT_RTOL, "maxmargin.KKT_RTOL",
                               f"{name}: KKT residual {worst} of its W^mm, re-checked from H"))
    if len(solved) == len(mms) >= 2:
        (a, mm_a), *others = solved.items()
        verdicts += [within("D6", relative_distance(_W_mm(mm_b), _W_mm(mm_a), RELATIVE), MM_RTOL,
                            "two KKT-certified W^mm", f"W^mm by {b} vs by {a}") for b, mm_b in others]
    return first_failure(verdicts)
