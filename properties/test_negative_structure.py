"""Negative controls of checks/structure.py (D2–D6) and checks/special.py (S1, S2): each check, fed a
plausible but false object (F basis, W⋆, W^mm solver) or claim, must return ``fail`` on a shared case.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property

import numpy as np
import pytest

from ntpverify.suite.checks import rivals
from ntpverify.suite.checks.special import check_S1, check_S2
from ntpverify.suite.checks.structure import SOLVERS, check_D2, check_D3, check_D4, check_D5, check_D6
from ntpverify.core.geometry import Geometry
from ntpverify.core.instance import Instance
from ntpverify.core.maxmargin import MaxMargin, decide, max_margin
from ntpverify.core.solution import solve
from ntpverify.core.status import Status
from ntpverify.suite.controls import case



class WithoutEqualities(Geometry):
    """Definition 3 without (a): no equality constraints, margins in the anchor form only."""

    @cached_property
    def eq_triples(self) -> np.ndarray:
        return np.zeros((0, 3), dtype=np.intp)


class WithoutInequality(Geometry):
    """Definition 3 with the margin constraint ``dropped`` (an index into the true list) removed."""

    def __init__(self, inst: Instance, dropped: int) -> None:
        super().__init__(inst)
        self.dropped = dropped

    @cached_property
    def in_triples(self) -> np.ndarray:
        return np.delete(Geometry(self.inst).in_triples, self.dropped, axis=0)


def relaxed_solver(geo: Geometry) -> tuple:
    """A pipeline that solves Definition 3 without the equalities (a) (same anchors, so its
    multipliers index the true margin constraints)."""
    return decide(WithoutEqualities(geo.inst), "nnls")


def dropping_solver(dropped: int):
    """A pipeline that ignores margin constraint ``dropped`` and reports multipliers over the true
    constraint list (0 for the dropped one)."""
    def solver(geo: Geometry) -> tuple:
        sep, mm = decide(WithoutInequality(geo.inst, dropped), "nnls")
        if mm.alpha is not None:
            mm = replace(mm, alpha=np.insert(mm.alpha, dropped, 0.0), constraints=geo.in_triples)
        return sep, mm
    return solver


# --- D2 ------------------------------------------------------------------------------------------


def orthonormal_rows(rows: np.ndarray, V: int, d: int) -> np.ndarray:
    """An orthonormal basis (k×V×d) of the row space of ``rows`` (n × V·d), by SVD."""
    _, s, Vt = np.linalg.svd(rows, full_matrices=False)
    return Vt[s > 1e-9 * s[0]].reshape(-1, V, d)


@pytest.mark.claim("D2")
def test_D2_rejects_the_span_of_absolute_in_support_logits():
    """False: F is spanned by ``e_z h_jᵀ``, z ∈ S_j (the in-support logits themselves rather than their
    differences): its elements do not have zero column sums, and its dimension is too large."""
    inst = case("example-A")
    rows = [np.outer(np.eye(inst.V)[z], inst.embeddings[j]).reshape(-1)
            for j, S in enumerate(inst.supports) for z in S]
    assert check_D2(inst, basis=orthonormal_rows(np.asarray(rows), inst.V, inst.d)).outcome == "fail"
    assert check_D2(inst).outcome == "pass"


@pytest.mark.claim("D2")
def test_D2_rejects_a_basis_that_assumes_independent_constraints():
    """False: dim F = Σ_j(|S_j| − 1) always. Example F's two contexts share one embedding and one
    support: a QR basis of the stacked anchor rows, taken as independent, has a spurious vector."""
    inst = case("example-F")
    geo = Geometry(inst)
    rows = np.asarray([np.outer(np.eye(inst.V)[z] - np.eye(inst.V)[a], inst.embeddings[j]).reshape(-1)
                       for j, z, a in geo.eq_triples])
    basis = np.linalg.qr(rows.T)[0].T.reshape(-1, inst.V, inst.d)  # Gram–Schmidt, no rank test
    assert basis.shape[0] == 2 and geo.F_dim == 1
    assert check_D2(inst, basis=basis).outcome == "fail"


# --- D3 ------------------------------------------------------------------------------------------


@pytest.mark.claim("D3")
@pytest.mark.parametrize("rival", ["off_F_solution", "least_squares"])
def test_D3_rejects_a_solution_outside_F_as_W_star(rival):
    """False (theory.md §8): P_F(W_k) tends to another solution of Definition 1 that is not in F
    (W⋆ + X, X ∈ F⊥∖{0}), or to the least-squares fit of the absolute log-probabilities."""
    inst = case("example-B")
    sol = solve(inst)
    wrong = rivals.off_F_solution(sol) if rival == "off_F_solution" else rivals.least_squares(sol.geometry)
    assert check_D3(inst, W_star=wrong).outcome == "fail"
    assert check_D3(inst).outcome == "pass"


# --- D4 ------------------------------------------------------------------------------------------


def w_star_direction(inst: Instance) -> MaxMargin:
    """False (theory.md §8): the max-margin direction is W⋆/‖W⋆‖ (scaled to ‖W^mm‖)."""
    sol = solve(inst)
    W = sol.W_star * (sol.W_mm_norm / np.linalg.norm(sol.W_star))
    return MaxMargin(Status("ok"), W, float(np.linalg.norm(W)))


def anchor_relaxed(inst: Instance) -> MaxMargin:
    """False: W^mm is the max-margin solution of (b) in the anchor form, without (a)."""
    return decide(WithoutEqualities(inst), "nnls")[1]


@pytest.mark.claim("D4")
def test_D4_rejects_the_W_star_direction():
    """W⋆ depends on p; W^mm must not (example B: new probabilities on the same supports)."""
    assert check_D4(case("example-B"), solver=w_star_direction).outcome == "fail"


@pytest.mark.claim("D4")
def test_D4_rejects_the_anchor_relaxed_svm():
    """Without (a) the anchor form is not equivalent to (b): it depends on which token of S_j is the
    anchor, so tokens with equal support patterns (example C: tokens 0 and 4) get different rows."""
    inst = case("example-C")
    assert check_D4(inst, solver=anchor_relaxed).outcome == "fail"
    assert all(check_D4(inst, seed).outcome == "pass" for seed in range(4))


# --- D5 ------------------------------------------------------------------------------------------


@pytest.mark.claim("D5")
def test_D5_rejects_wrong_objects_on_orthogonal_embeddings():
    """Example H: the anchor-relaxed SVM is not the closed form u_j = 𝟙_S − |S|/V 𝟙, and the
    least-squares fit of the absolute log-probabilities is not the centred closed form of W⋆."""
    inst = case("example-H")
    assert check_D5(inst, W_mm=anchor_relaxed(inst).W_mm).outcome == "fail"
    assert check_D5(inst, W_star=rivals.least_squares(Geometry(inst))).outcome == "fail"
    assert check_D5(inst).outcome == "pass"


# --- D6 ------------------------------------------------------------------------------------------


@pytest.mark.claim("D6")
def test_D6_rejects_a_solver_without_the_equalities():
    """False (theory.md §8, example A): the relaxed SVM without (a) is W^mm. Its KKT re-check fails."""
    inst = case("example-A")
    assert check_D6(inst, solvers={"nnls": SOLVERS["nnls"], "relaxed": relaxed_solver}).outcome == "fail"


@pytest.mark.claim("D6")
def test_D6_rejects_a_solver_that_drops_an_active_constraint():
    """A solver ignoring the margin constraint with the largest multiplier (example A, C)."""
    for name in ("example-A", "example-C"):
        inst = case(name)
        dropped = int(np.argmax(max_margin(inst).alpha))
        solvers = {"nnls": SOLVERS["nnls"], "dropping": dropping_solver(dropped)}
        assert check_D6(inst, solvers=solvers).outcome == "fail"


@pytest.mark.claim("D6")
def test_D6_rejects_a_separability_decision_that_drops_a_constraint():
    """Example G (one-hot, not separable through the origin) becomes separable once any one margin
    constraint is dropped: the decisions disagree."""
    inst = case("example-G")
    solvers = {"lp": SOLVERS["clarabel"], "dropping": dropping_solver(0)}
    assert check_D6(inst, solvers=solvers).outcome == "fail"
    assert check_D6(inst).outcome == "pass"


# --- S1, S2 --------------------------------------------------------------------------------------


@pytest.mark.claim("S1")
def test_S1_rejects_two_token_contexts_adding_no_equation():
    """False: small supports add nothing. A context with |S_j| = 2 adds an equation (example A)."""
    inst = case("example-A")
    assert check_S1(inst, no_equation=lambda i: np.array([0])).outcome == "fail"
    assert check_S1(case("example-D")).outcome == "pass"


@pytest.mark.claim("S2")
def test_S2_rejects_dropping_full_support_contexts():
    """False (theory.md §8, example D): full-support contexts can be dropped from the NTP-SVM; the
    W^mm without context B is not constant on h_B (cosine 1/√2 with the true one)."""
    inst = case("example-D")
    dropped = rivals.dropped_full_support(inst)
    W = solve(inst).W_mm
    assert abs(np.sum(dropped * W) / np.linalg.norm(dropped) / np.linalg.norm(W) - 2**-0.5) < 1e-12
    assert check_S2(inst, W_mm=dropped).outcome == "fail"
    assert check_S2(inst).outcome == "pass"
