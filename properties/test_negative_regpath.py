"""Negative controls for P4: the checking code, fed a deliberately wrong object, must not pass.

Wrong limits (rivals.py, theory.md §8) must **fail** on the shared cases A, B, C, D and H: rival
directions passed as ``W_mm`` (relaxed SVM, minimum-norm interpolator, least-squares fit, W^mm with
full-support contexts dropped, W⋆'s direction, the NTP-SVM with a constraint dropped) and rival
F-limits passed as ``W_star`` (an off-F solution of Definition 1, the interpolator, the fit).
A wrong path solver, a general conic solver (right only up to B ≈ 10, theory.md §6), must never
give a pass: its points are not certified, so the check is inconclusive.
"""

from __future__ import annotations


import cvxpy as cp
import numpy as np
import pytest

import ntpverify as nv
from ntpverify.suite.checks import rivals
from ntpverify.suite.checks.regpath import COINCIDE_RTOL, check_P4, sin_angle
from ntpverify.core.regpath import PathPoint, certify
from ntpverify.suite.controls import solved

pytestmark = pytest.mark.claim("P4")

NAMES = ("example-A", "example-B", "example-C-two-dims-three-contexts", "example-D-full-support-context",
         "example-H-orthonormal")
#: Rivals that coincide with W^mm on a case (so they are not wrong there): on example H the
#: embeddings are orthogonal, so the equalities (a) hold at the relaxed optimum and the full-support
#: context's rows are untouched by the others.
COINCIDING = {("example-H-orthonormal", "relaxed_svm"), ("example-H-orthonormal", "dropped_full_support")}




def _direction_rivals(sol: nv.Solution) -> dict[str, np.ndarray]:
    return {**rivals.direction_rivals(sol), "mm_without_constraint": rivals.mm_without_constraint(sol)}


@pytest.mark.parametrize("name", NAMES)
def test_rival_directions_fail(name):
    inst, sol = solved(name)
    for rival, R in _direction_rivals(sol).items():
        if (name, rival) in COINCIDING:
            assert sin_angle(R, sol.W_mm) <= COINCIDE_RTOL, (name, rival)
            continue
        verdict = check_P4(inst, W_mm=R, solution=sol)
        assert verdict.outcome == "fail", (name, rival, verdict.describe())
        assert "direction (W^mm)" in verdict.detail


@pytest.mark.parametrize("name", NAMES)
def test_rival_F_limits_fail(name):
    inst, sol = solved(name)
    found = rivals.F_rivals(sol)
    assert "off_F_solution" in found
    for rival, R in found.items():
        verdict = check_P4(inst, W_star=R, solution=sol)
        assert verdict.outcome == "fail", (name, rival, verdict.describe())
        assert "F-part (W⋆)" in verdict.detail


def _turned(sol: nv.Solution, sine: float) -> np.ndarray:
    """W^mm turned by the angle ``arcsin(sine)`` inside F⊥ ∩ span{h_j} (so it still solves (a))."""
    geo = sol.geometry
    c = geo.Fperp_basis.T @ geo.reduce(sol.W_mm).reshape(-1)
    e = np.linalg.svd(np.eye(c.size) - np.outer(c, c) / (c @ c))[0][:, 0]  # a unit vector ⊥ c
    turned = np.sqrt(1.0 - sine**2) * c / np.linalg.norm(c) + sine * e
    return geo.lift(geo.Fperp_basis @ turned) * sol.W_mm_norm


@pytest.mark.parametrize("name", NAMES)
def test_wrong_directions_fail_and_the_scale_of_W_mm_is_free(name):
    """P4 is about the direction only: 1.01·W^mm passes; −W^mm and W^mm turned by sin∠ = 0.2 fail."""
    inst, sol = solved(name)
    assert check_P4(inst, W_mm=1.01 * sol.W_mm, solution=sol).outcome == "pass"
    for wrong in (-sol.W_mm, _turned(sol, 0.2)):
        assert check_P4(inst, W_mm=wrong, solution=sol).outcome == "fail"


def conic_path(inst: nv.Instance, Bs, solution: nv.Solution | None = None) -> list[PathPoint]:
    """The path by cvxpy + Clarabel on ``min CE s.t. ‖W‖ ≤ B`` (reduced coordinates), with
    ``λ = dual/‖W‖``: a general conic solver, as theory.md §6 describes it."""
    geo = (solution or nv.solve(inst)).geometry
    P = inst.next_token_probs.T
    points = []
    for B in sorted(Bs):
        X = cp.Variable((geo.V, geo.r))
        L = X @ geo.G.T
        ce = sum(inst.weights[j] * (cp.log_sum_exp(L[:, j]) - P[:, j] @ L[:, j]) for j in range(geo.m))
        ball = cp.norm(X, "fro") <= B
        cp.Problem(cp.Minimize(ce), [ball]).solve(solver=cp.CLARABEL)
        W = geo.lift(X.value)
        points.append(certify(geo, B, W, float(np.log(max(float(ball.dual_value), 1e-300) / np.linalg.norm(W)))))
    return points


@pytest.mark.parametrize("name", NAMES)
def test_a_conic_solver_path_is_never_accepted(name):
    inst, sol = solved(name)
    verdict = check_P4(inst, solution=sol, path=conic_path)
    assert verdict.outcome == "inconclusive", verdict.describe()
    assert "path point" in verdict.detail
