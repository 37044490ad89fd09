"""Checks of the solver-only special cases of theory.md §5: one-token supports (S1) and full-support
contexts (S2). The GD special cases S3/S4 are in special_gd.py.

* S1: a context with ``|S_j| = 1`` adds no equation (it has no pair ``z ≠ z'``) and ``V − 1``
  margin inequalities; so removing such contexts leaves F, compatibility and W⋆ unchanged.
* S2: a context with ``S_j = [V]`` adds ``V − 1`` equations and no inequality: it forces
  ``W^mm h_j ∈ span(𝟙)``. Dropping it relaxes Definition 3, so ``‖W'‖ ≤ ‖W^mm‖`` for the W^mm
  ``W'`` without it, and ``W' = W^mm`` iff ``W' h_j`` is already constant (then W' is feasible for
  the full problem and optimal for a relaxation; otherwise ``‖W' − W^mm‖ ≥ spread(W'h_j)/(√2‖h_j‖)``
  since ``W^mm h_j`` is constant).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ntpverify.core.compatibility import compatibility_of
from ntpverify.core.geometry import Geometry
from ntpverify.core.instance import Instance, drop_contexts
from ntpverify.core.maxmargin import KKT_RTOL
from ntpverify.core.solution import solve
from ntpverify.core.status import Inconclusive
from ntpverify.core.subspace import F_basis
from ntpverify.suite.applicability import applies
from ntpverify.suite.checks.measures import RELATIVE, relative_distance
from ntpverify.suite.checks.rivals import dropped_full_support
from ntpverify.suite.checks.structure import D3_RTOL, MM_RTOL
from ntpverify.suite.verdict import Verdict, first_failure, holds, inconclusive, vacuous, within

#: Projectors onto F compared entrywise: SVD rounding (~1e-15) far below the rank cutoff 1e-9.
PROJECTOR_ATOL = 1e-10


def singleton_contexts(inst: Instance) -> np.ndarray:
    """Indices of the contexts with ``|S_j| = 1``."""
    return np.flatnonzero(inst.support_mask.sum(axis=1) == 1)


def constraint_counts(claim: str, geo: Geometry, contexts: np.ndarray, what: str, *, equations: int,
                      inequalities: int) -> Verdict:
    """Whether each context in ``contexts`` has ``equations`` equalities (a) and ``inequalities``
    margin inequalities (b) in ``geo`` (a context has ``|S_j| − 1`` of the first, ``V − |S_j|`` of
    the second: S1 and S2 are the two extremes)."""
    n_eq = np.bincount(geo.eq_triples[:, 0], minlength=geo.m)[contexts]
    n_in = np.bincount(geo.in_triples[:, 0], minlength=geo.m)[contexts]

    def expected(n: int) -> str:
        return f"V − 1 = {n}" if n == geo.V - 1 else str(n)

    return holds(claim, bool(np.all(n_eq == equations) and np.all(n_in == inequalities)),
                 f"{what} {contexts.tolist()}: equations {n_eq.tolist()} (expected {expected(equations)}), "
                 f"inequalities {n_in.tolist()} (expected {expected(inequalities)})")


def _projector(inst: Instance) -> np.ndarray:
    """The orthogonal projector onto F as a (V·d)×(V·d) matrix."""
    Q = F_basis(inst).basis.reshape(-1, inst.V * inst.d)
    return Q.T @ Q


def check_S1(inst: Instance, *,
             no_equation: Callable[[Instance], np.ndarray] = singleton_contexts) -> Verdict:
    """S1: each context in ``no_equation(inst)`` (default: ``|S_j| = 1``; override to test another
    claim) has no equality and ``V − 1`` margin inequalities in Geometry, and removing all of them
    leaves the projector onto F, the compatibility decision and W⋆ unchanged (if every context is
    removed: ``F = {0}`` and ``W⋆ = 0``)."""
    if no_equation is singleton_contexts and (gated := applies("S1", inst)) is not None:
        return gated
    chosen = no_equation(inst)
    if chosen.size == 0:
        return vacuous("S1", "the overriding selection chose no context")
    geo = Geometry(inst)
    counts = constraint_counts("S1", geo, chosen, "contexts", equations=0, inequalities=inst.V - 1)
    compat = compatibility_of(geo)
    if compat.compatible is None:
        return first_failure([counts, inconclusive("S1", f"compatibility: {compat.status.reason}")])
    if chosen.size == inst.m:
        empty = geo.F_dim == 0 and compat.compatible and not np.any(compat.W_star)
        return first_failure([counts, holds("S1", empty, f"every context removed: dim F = {geo.F_dim} and "
                                            "W⋆ must be 0")])
    sub = drop_contexts(inst, chosen, name="dropped")
    sub_compat = compatibility_of(Geometry(sub))
    if sub_compat.compatible is None:
        return first_failure([counts, inconclusive("S1", f"reduced instance: {sub_compat.status.reason}")])
    verdicts = [counts,
                within("S1", float(np.abs(_projector(inst) - _projector(sub)).max()), PROJECTOR_ATOL,
                       "SVD rounding", f"projector onto F with and without contexts {chosen.tolist()}"),
                holds("S1", compat.compatible == sub_compat.compatible,
                      f"compatible: {compat.compatible} with, {sub_compat.compatible} without them")]
    if compat.compatible and sub_compat.compatible:
        assert compat.W_star is not None and sub_compat.W_star is not None  # compatible ⇒ W⋆ is set
        scale = max(1.0, float(np.linalg.norm(compat.W_star)))
        verdicts.append(within("S1", float(np.linalg.norm(sub_compat.W_star - compat.W_star)) / scale, D3_RTOL,
                               "SVD solve residuals", "W⋆ with and without them (relative to max(1, ‖W⋆‖))"))
    return first_failure(verdicts)


def full_support_contexts(inst: Instance) -> np.ndarray:
    """Indices of the contexts with ``S_j = [V]``."""
    return np.flatnonzero(inst.support_mask.all(axis=1))


def _logit_spread(inst: Instance, contexts: np.ndarray, W: np.ndarray) -> float:
    """``max_{j ∈ contexts} (max − min)(W h_j)``: zero iff every such ``W h_j ∈ span(𝟙)``."""
    Z = W @ inst.embeddings[contexts].T
    return float((Z.max(axis=0) - Z.min(axis=0)).max())


def check_S2(inst: Instance, *, W_mm: np.ndarray | None = None) -> Verdict:
    """S2: every full-support context has ``V − 1`` equations and no inequality; W^mm (solve()'s, or
    the override under test) is constant on ``W^mm h_j`` for each (relative spread ≤ KKT_RTOL);
    W' = W^mm without them (rivals.dropped_full_support) has ``‖W'‖ ≤ ‖W^mm‖``, and equals W^mm
    (to ``MM_RTOL``) iff its own ``W'h_j`` are constant — otherwise it differs by at least
    ``spread/(√2 ‖h_j‖)``."""
    if (gated := applies("S2", inst)) is not None:
        return gated
    full = full_support_contexts(inst)
    geo = Geometry(inst)
    counts = constraint_counts("S2", geo, full, "full-support contexts", equations=inst.V - 1, inequalities=0)
    sol = solve(inst)
    if sol.separable is None or sol.mm.status.state == "inconclusive":
        return first_failure([counts, inconclusive("S2", f"W^mm: {sol.mm.status.reason}")])
    if not sol.separable:  # the counts' verdict unless it failed, so the statistics show the vacuity
        return counts if counts.outcome == "fail" else holds("S2", True, "only the counts "
                                                                        "apply: not separable")
    W = sol.W_mm if W_mm is None else W_mm
    try:
        W_drop = dropped_full_support(inst)
    except Inconclusive as e:
        return first_failure([counts, inconclusive("S2", e.reason)])
    # some context has full support (gated), so W' exists; it exists only if some other context has
    # not, and then separable and decided ⇒ W^mm is set
    assert W_drop is not None and W is not None
    h = np.linalg.norm(inst.embeddings, axis=1)
    spread_drop = _logit_spread(inst, full, W_drop)
    verdicts = [counts,
                within("S2", _logit_spread(inst, full, W) / float(np.linalg.norm(W) * h.max()), KKT_RTOL,
                       "maxmargin.KKT_RTOL",
                       "W^mm h_j ∈ span(𝟙) on the full-support contexts (relative spread)"),
                within("S2", float(np.linalg.norm(W_drop)) / float(np.linalg.norm(W)) - 1.0, MM_RTOL,
                       "two KKT-certified W^mm", "‖W'‖/‖W^mm‖ − 1 (dropping constraints cannot raise the norm)")]
    change = relative_distance(W_drop, W, RELATIVE)
    if spread_drop <= KKT_RTOL * float(np.linalg.norm(W_drop) * h.max()):
        verdicts.append(within("S2", change, MM_RTOL, "two KKT-certified W^mm",
                               "W' h_j already constant: W' must equal W^mm"))
    else:
        lower = spread_drop / (np.sqrt(2.0) * h[full].max() * float(np.linalg.norm(W)))
        verdicts.append(within("S2", lower * (1.0 - MM_RTOL) - change, 0.0,
                               "W^mm h_j constant ⇒ ‖W' − W^mm‖‖h_j‖ ≥ spread/√2",
                               f"W' h_j not constant: dropping must change W^mm by ≥ {lower:.3g} (relative)"))
    return first_failure(verdicts)
