"""Applicability as data: the hypotheses a claim needs (``Claim.requires``) and the one gate that
evaluates them.

A requirement is a named predicate on an instance, decided ``True``/``False`` or left undecided
(``None``, e.g. a condition whose solver was inconclusive). :func:`gate` turns a claim's
requirements into the claim's outcome before its check runs: ``None`` when every requirement
holds (the check goes on), a ``vacuous`` verdict when one is decided false (nothing was tested, and
it is not a pass), an ``inconclusive`` one when one is undecided. Checks call the gate instead of
re-deciding their hypotheses; properties draw from regimes and let the gate sort the draws.

Adding a requirement: one entry in :data:`REQUIREMENTS`; using it: one name in the claim's
``requires`` (claims.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.core.solution import Solution, solve
from ntpverify.suite import claims
from ntpverify.suite.verdict import Verdict, inconclusive, vacuous


@dataclass(frozen=True)
class Requirement:
    """A hypothesis of some claims: ``decide(inst, solution)`` is True, False or None (undecided);
    ``solution()`` computes (once) ``solve(inst)`` for the requirements that need it."""

    name: str
    text: str
    decide: Callable[[Instance, Callable[[], Solution]], bool | None]


def _support_sizes(inst: Instance) -> np.ndarray:
    return inst.support_mask.sum(axis=1)


def _rank_H_is_m(inst: Instance, solution: Callable[[], Solution]) -> bool | None:
    rank = solution().geometry.rank_H
    return bool(rank.rank == inst.m) if rank.clear else None


def _exactly_one(inst: Instance, solution: Callable[[], Solution]) -> bool | None:
    sol = solution()
    if sol.compatible is None or sol.separable is None:
        return None
    return sol.compatible != sol.separable


#: Off-diagonal entries of ``H Hᵀ`` at most this times ``max ‖h_j‖²`` count as zero: the shipped
#: orthogonal cases and the ``orthogonal`` regime are exact to rounding (1e-15 relative); a
#: generic draw has off-diagonal entries of order 1.
ORTHOGONAL_RTOL = 1e-12


def mutually_orthogonal(inst: Instance) -> bool:
    """Every off-diagonal entry of ``H Hᵀ`` is ≤ ORTHOGONAL_RTOL·max‖h_j‖²."""
    gram = inst.embeddings @ inst.embeddings.T
    return bool(np.abs(gram - np.diag(np.diag(gram))).max() <= ORTHOGONAL_RTOL * np.diag(gram).max())


REQUIREMENTS: dict[str, Requirement] = {r.name: r for r in (
    Requirement("partial_support", "some context has |S_j| < V",
                lambda inst, _: bool((_support_sizes(inst) < inst.V).any())),
    Requirement("all_full_support", "every context has S_j = [V]",
                lambda inst, _: bool(inst.support_mask.all())),
    Requirement("some_full_support", "some context has S_j = [V]",
                lambda inst, _: bool(inst.support_mask.all(axis=1).any())),
    Requirement("some_one_token", "some context has |S_j| = 1",
                lambda inst, _: bool((_support_sizes(inst) == 1).any())),
    Requirement("one_hot", "every context has |S_j| = 1",
                lambda inst, _: bool((_support_sizes(inst) == 1).all())),
    Requirement("orthogonal", "the embeddings are mutually orthogonal",
                lambda inst, _: mutually_orthogonal(inst)),
    Requirement("rank_H_is_m", "rank H = m (Lemma 1)", _rank_H_is_m),
    Requirement("compatible", "the instance is compatible (Definition 1)",
                lambda inst, solution: solution().compatible),
    Requirement("separable", "the instance is separable (Definition 2)",
                lambda inst, solution: solution().separable),
    Requirement("exactly_one_condition", "exactly one of compatibility and separability holds",
                _exactly_one),
)}


def gate(claim: str, requires: tuple[str, ...], inst: Instance, sol: Solution | None = None) -> Verdict | None:
    """``None`` if every requirement holds on ``inst``; else the claim's ``vacuous`` verdict (the
    first requirement decided false) or ``inconclusive`` one (the first undecided, when none is
    false). ``sol`` is ``solve(inst)`` if the caller has it; otherwise it is computed only when a
    requirement needs it."""
    cache: list[Solution] = [] if sol is None else [sol]

    def solution() -> Solution:
        if not cache:
            cache.append(solve(inst))
        return cache[0]

    undecided: list[str] = []
    for name in requires:
        req = REQUIREMENTS[name]
        decided = req.decide(inst, solution)
        if decided is False:
            return vacuous(claim, f"hypothesis not met: {req.text} does not hold")
        if decided is None:
            undecided.append(req.text)
    if undecided:
        reasons = "; ".join(f"{k}: {s.reason}" for k, s in solution().status.items() if s.state == "inconclusive")
        return inconclusive(claim, f"hypothesis undecided: {', '.join(undecided)} ({reasons or 'rank ambiguous'})")
    return None


def applies(claim_id: str, inst: Instance, sol: Solution | None = None) -> Verdict | None:
    """:func:`gate` with the catalogue's ``requires`` of ``claim_id``."""
    return gate(claim_id, claims.get(claim_id).requires, inst, sol)
