"""Unit tests of ntpverify.suite.checks.rivals: each rival is what its definition says, and the two
examples of theory.md §8 come out with their stated cosines.

A rival that is computed wrongly would make a negative control meaningless (a wrong object refuted
for the wrong reason), so each is checked against its defining property, and the relaxed SVM
against an independent solver.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cvxpy as cp
import numpy as np
import pytest

from ntpverify.suite.checks import rivals
from ntpverify.core.compatibility import equation_residual
from ntpverify.optim.gd import cosine
from ntpverify.core.instance import Instance
from ntpverify.core.solution import Solution, solve
from ntpverify import data

CASES_DIR = data.DIR  # the shipped copies of the shared cases
#: Compatible and separable shared cases.
CASES = ("example-A", "example-B", "example-C-two-dims-three-contexts", "example-D-full-support-context",
         "example-H-orthonormal", "example-I-one-hot-separable")
#: Feasibility and equation tolerances: the polished solutions measure ~1e-15 on these cases.
TOL = 1e-9


@lru_cache(maxsize=None)
def case(name: str) -> tuple[Instance, Solution]:
    inst = Instance.load(CASES_DIR / f"{name}.json")
    return inst, solve(inst)


def all_pair_margins(inst: Instance, W: np.ndarray) -> np.ndarray:
    """``(W h_j)_z − (W h_j)_v`` for every ``j``, ``z ∈ S_j``, ``v ∉ S_j``."""
    Z = W @ inst.embeddings.T
    return np.array([Z[z, j] - Z[v, j] for j in range(inst.m) for z in inst.supports[j]
                     for v in range(inst.V) if v not in inst.supports[j]])


def test_relaxed_svm_example_A_has_cosine_0_49_with_W_mm():
    """theory.md §8: "the relaxed solution has cosine 0.49 with it" (two digits stated)."""
    _, sol = case("example-A")
    assert cosine(rivals.relaxed_svm(sol.geometry), sol.W_mm) == pytest.approx(0.49, abs=5e-3)


@pytest.mark.parametrize("name", CASES)
def test_relaxed_svm_is_feasible_and_no_longer_than_W_mm(name):
    """Every (j, z ∈ S_j, v ∉ S_j) margin ≥ 1, and ‖relaxed‖ ≤ ‖W^mm‖ since W^mm is feasible for
    the relaxed problem (its in-support logits are equal, so every z has the anchor's margin)."""
    inst, sol = case(name)
    W = rivals.relaxed_svm(sol.geometry)
    assert all_pair_margins(inst, W).min() >= 1 - TOL
    assert np.linalg.norm(W) <= sol.W_mm_norm * (1 + TOL)


@pytest.mark.parametrize("name", CASES)
def test_relaxed_svm_agrees_with_an_independent_qp_solve(name):
    """The same QP on W itself (V·d unknowns, no reduced coordinates) with cvxpy + Clarabel."""
    inst, sol = case(name)
    W = cp.Variable((inst.V, inst.d))
    Z = W @ inst.embeddings.T
    cons = [Z[z, j] - Z[v, j] >= 1 for j in range(inst.m) for z in inst.supports[j]
            for v in range(inst.V) if v not in inst.supports[j]]
    cp.Problem(cp.Minimize(cp.sum_squares(W)), cons).solve(solver=cp.CLARABEL, tol_gap_abs=1e-12,
                                                           tol_gap_rel=1e-12, tol_feas=1e-12)
    np.testing.assert_allclose(rivals.relaxed_svm(sol.geometry), W.value, atol=1e-6)


def test_dropped_full_support_example_D_has_cosine_one_over_root_2():
    """theory.md §8: dropping the full-support context gives cosine 1/√2."""
    inst, sol = case("example-D-full-support-context")
    assert cosine(rivals.dropped_full_support(inst), sol.W_mm) == pytest.approx(1 / math.sqrt(2), abs=1e-9)


def test_dropped_full_support_is_absent_without_full_support_contexts():
    inst, _ = case("example-A")
    assert rivals.dropped_full_support(inst) is None


@pytest.mark.parametrize("name", CASES[:5])
def test_min_norm_interpolator_interpolates_with_rows_in_the_data_span(name):
    """On these cases ``(W h_j)_z = log p_{j,z}`` is solvable; the minimum-norm solution has rows
    in span{h_j} (any component outside would add norm and change no logit)."""
    inst, sol = case(name)
    W = rivals.min_norm_interpolator(sol.geometry)
    Z = W @ inst.embeddings.T
    for j, S in enumerate(inst.supports):
        np.testing.assert_allclose(Z[list(S), j], np.log(inst.next_token_probs[j, list(S)]), atol=TOL)
    R = sol.geometry.R
    np.testing.assert_allclose(W, W @ R @ R.T, atol=TOL)


@pytest.mark.parametrize("name", CASES[:5])
def test_least_squares_equals_the_interpolator_when_consistent(name):
    _, sol = case(name)
    np.testing.assert_allclose(rivals.least_squares(sol.geometry), rivals.min_norm_interpolator(sol.geometry),
                               atol=TOL)


def test_least_squares_depends_on_pi_when_inconsistent():
    """Example F: two contexts share an embedding with different in-support ratios, so the fit is
    a π-weighted compromise (which is why it is a rival for P6c's π-independence)."""
    inst = Instance.load(CASES_DIR / "example-F-separable-not-compatible.json")
    other = Instance(inst.embeddings, [0.9, 0.1], inst.next_token_probs)
    a, b = (rivals.least_squares(solve(i).geometry) for i in (inst, other))
    assert np.linalg.norm(a - b) > 1e-3


def test_fits_are_absent_when_all_log_probabilities_vanish():
    """Example I is one-hot: log p = 0, the fit is W = 0 and has no direction."""
    _, sol = case("example-I-one-hot-separable")
    assert rivals.min_norm_interpolator(sol.geometry) is None
    assert set(rivals.direction_rivals(sol)) == {"relaxed_svm"}


@pytest.mark.parametrize("name", CASES)
def test_off_F_solution_solves_the_equations_but_lies_off_F(name):
    _, sol = case(name)
    W = rivals.off_F_solution(sol)
    assert equation_residual(sol.geometry, W) <= TOL
    np.testing.assert_allclose(sol.project_F(W), sol.W_star, atol=TOL)
    off = np.linalg.norm(W - sol.project_F(W))
    assert off == pytest.approx(max(float(np.linalg.norm(sol.W_star)), 1.0), rel=TOL)


@pytest.mark.parametrize("name", CASES)
def test_mm_without_constraint_keeps_the_rest_and_differs(name):
    """In F⊥, margins ≥ 1 on every constraint but the dropped one, shorter than W^mm, different."""
    inst, sol = case(name)
    W = rivals.mm_without_constraint(sol)
    dropped = int(np.argmax(sol.mm.alpha))
    Z = W @ inst.embeddings.T
    j, a, v = sol.geometry.in_triples.T
    margins = Z[a, j] - Z[v, j]
    assert np.delete(margins, dropped).min() >= 1 - TOL
    assert np.linalg.norm(sol.project_F(W)) <= TOL
    assert np.linalg.norm(W) <= sol.W_mm_norm * (1 + TOL)
    assert cosine(W, sol.W_mm) < 1 - 1e-6


@pytest.mark.parametrize("name", CASES[:5])
def test_star_without_equation_misses_exactly_the_dropped_equation(name):
    _, sol = case(name)
    geo = sol.geometry
    W = rivals.star_without_equation(sol)
    Z = W @ geo.inst.embeddings.T
    j, z, a = geo.eq_triples.T
    residual = Z[z, j] - Z[a, j] - geo.eq_rhs
    dropped = int(np.argmax(np.abs(geo.eq_rhs)))
    assert np.abs(np.delete(residual, dropped)).max() <= TOL
    if geo.eq_rhs[dropped] != 0.0:
        assert abs(residual[dropped]) > 1e-6
    else:  # example A: every right-hand side is 0 and so is W⋆; dropping changes nothing
        np.testing.assert_allclose(W, sol.W_star, atol=TOL)
