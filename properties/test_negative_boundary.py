"""Negative controls for D10: a separability decision by the LP value alone (separable iff the
normalized LP margin exceeds 1e-9, otherwise "not separable", no certificate asked) contradicts
the explicit witness of a barely separable instance; a decision that ignores the equalities (a)
calls the exact obstruction separable."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ntpverify.core.instance import Instance
from ntpverify.core.solution import Solution, solve
from ntpverify.core.status import Status
from ntpverify.suite.checks.boundary import check_D10, exact_obstruction, lemma1_witness
from ntpverify.suite.controls import assert_accepts, assert_rejects

pytestmark = pytest.mark.claim("D10")


def barely_separable(e: int) -> Instance:
    """Two contexts on h and h + 2^-e·e₂ with disjoint supports (rank H = 2 = m < d = 3)."""
    H = np.array([[1.0, 0.0, 0.0], [1.0, 2.0 ** -e, 0.0]])
    return Instance(H, [0.5, 0.5], [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])


def lp_margin_only(inst: Instance) -> Solution:
    sol = solve(inst)
    tau = sol.sep.lp_margin
    decided = tau is None or tau > 1e-9
    return replace(sol, sep=replace(sol.sep, separable=decided, status=Status("ok" if decided else "infeasible")))


def without_equalities(inst: Instance) -> Solution:
    """Separable iff each context alone can be separated (ignores that shared h_j share logits)."""
    sol = solve(inst)
    return replace(sol, sep=replace(sol.sep, separable=True, status=Status("ok")))


def test_D10_rejects_a_decision_by_the_lp_value_alone() -> None:
    inst = barely_separable(36)
    assert lemma1_witness(inst) is not None
    assert_rejects(check_D10(inst, solver=lp_margin_only), "a tiny LP margin means not separable")
    assert_accepts(check_D10(inst))


def test_D10_rejects_a_decision_that_ignores_shared_embeddings() -> None:
    inst = Instance([[1.0, 0.0], [1.0, 0.0]], [0.5, 0.5], [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    assert exact_obstruction(inst) == (0, 1)
    assert_rejects(check_D10(inst, solver=without_equalities), "two contexts on one h_j can be separated")
    assert_accepts(check_D10(inst))
