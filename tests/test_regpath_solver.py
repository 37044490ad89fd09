"""Unit tests of the regularization-path solver (ntpverify/core/regpath.py) and of P4's certificates."""

from __future__ import annotations


import cvxpy as cp
import numpy as np
import pytest
from scipy.special import logsumexp

import ntpverify as nv
from ntpverify.suite.checks.regpath import F_ball, _smallest_singular_value_on_F, direction_balls, sin_angle
from ntpverify.core.model import gradient
from ntpverify.core.regpath import (PATH_KKT_RTOL, KKTSystem, _softmax_jacobians, certify, regularization_path,
                               split_softmax)
from ntpverify import data

CASES = data.DIR  # the shipped copies of the shared cases
SEPARABLE = ("example-A", "example-B", "example-C-two-dims-three-contexts", "example-D-full-support-context",
             "example-H-orthonormal", "example-I-one-hot-separable")
DOUBLINGS = [2.0 ** k for k in range(11)]  # B = 1 … 1024


def _solved(name: str) -> tuple[nv.Instance, nv.Solution]:
    inst = nv.Instance.load(CASES / f"{name}.json")
    return inst, nv.solve(inst)


def test_split_softmax_is_exact_and_resolves_tiny_masses():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(5, 4)) * 3.0
    support = np.array([[1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1], [0, 1, 0, 1]], dtype=bool)
    sp = split_softmax(Z, support)
    s = np.exp(Z - Z.max(axis=0)) / np.exp(Z - Z.max(axis=0)).sum(axis=0)
    eps = sp.eps
    assert np.allclose(np.where(support, (1.0 - eps) * sp.q, eps * sp.r), s, rtol=1e-14, atol=1e-16)
    assert np.all(sp.log_eps[3] == -np.inf) and not np.any(sp.r[:, 3])  # full support
    far = Z.copy()
    far[~support] -= 2000.0  # off-support probabilities ~e^{-2000}: far below the smallest double
    expected = logsumexp(np.where(support, -np.inf, Z), axis=0) - logsumexp(np.where(support, Z, -np.inf), axis=0)
    assert np.allclose(split_softmax(far, support).log_eps[:3], expected[:3] - 2000.0, rtol=0, atol=1e-12)


def test_the_softmax_jacobian_splits_into_an_in_support_part_and_an_eps_part():
    """diag s − s sᵀ = (1−ε)(diag q − q qᵀ) + ε(diag r − r rᵀ + (1−ε)(q − r)(q − r)ᵀ) (regpath docstring)."""
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(6, 3))
    support = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=bool)
    sp = split_softmax(Z, support)
    s = np.where(support, (1.0 - sp.eps) * sp.q, sp.eps * sp.r)
    d = sp.q - sp.r
    split = ((1.0 - sp.eps)[:, None, None] * _softmax_jacobians(sp.q)
             + sp.eps[:, None, None] * (_softmax_jacobians(sp.r)
                                        + (1.0 - sp.eps)[:, None, None] * np.einsum("aj,bj->jab", d, d)))
    assert np.allclose(split, _softmax_jacobians(s), rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", ["example-C-two-dims-three-contexts", "example-D-full-support-context"])
@pytest.mark.parametrize("B", [4.0, 64.0])
def test_jacobian_matches_finite_differences(name, B):
    inst, sol = _solved(name)
    point = regularization_path(inst, [B], solution=sol)[0]
    system = KKTSystem(sol.geometry)
    z = system.pack(sol.geometry.reduce(point.W).reshape(-1), point.log_lam, B)
    J = system.jacobian(system.evaluate(z, B), B)
    step = 1e-6
    for i in range(z.size):
        dz = np.zeros_like(z)
        dz[i] = step
        plus, minus = (system.residual(system.evaluate(z + sign * dz, B), B) for sign in (1.0, -1.0))
        column = (plus - minus) / (2 * step)
        assert np.allclose(J[:, i], column, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(J).max())), i


@pytest.mark.parametrize("name", SEPARABLE)
def test_shared_cases_are_certified_up_to_B_1024(name):
    """Measured (report): KKT residuals ≤ 5e-12 (Newton stops at its rounding floor, regpath.NEWTON_TOL),
    1 − cos(Ŵ_1024, W^mm) ≤ 4e-6, P_F Ŵ_1024 = W⋆ to ≤ 2.5e-13."""
    inst, sol = _solved(name)
    points = regularization_path(inst, DOUBLINGS, solution=sol)
    assert [p.B for p in points] == DOUBLINGS
    for p in points:
        assert p.status.ok, p.status.reason
        assert p.kkt_max <= 1e-11
        assert abs(np.linalg.norm(p.W) - p.B) <= 1e-12 * p.B
    last = points[-1]
    assert sin_angle(last.W, sol.W_mm) ** 2 / 2 <= 1e-5
    assert np.linalg.norm(sol.project_F(last.W) - sol.W_star) <= 1e-11
    log_lams = [p.log_lam for p in points]
    assert all(b < a for a, b in zip(log_lams, log_lams[1:]))  # λ decreases along the path


def test_the_path_stays_accurate_far_beyond_B_1000():
    """Example A at B = 2¹⁶: λ = e^{−40000} (no double can hold it), still certified; 1 − cos ≈ C/B²."""
    inst, sol = _solved("example-A")
    points = regularization_path(inst, [1024.0, 65536.0], solution=sol)
    assert all(p.status.ok for p in points)
    assert points[-1].log_lam < -40000.0 and points[-1].lam == 0.0
    C = [p.B ** 2 * sin_angle(p.W, sol.W_mm) ** 2 / 2 for p in points]
    assert C[1] == pytest.approx(C[0], rel=0.05)


def _conic_solution(inst: nv.Instance, geo, B: float) -> np.ndarray:
    """``argmin CE s.t. ‖W‖ ≤ B`` by cvxpy + Clarabel at tight tolerances (right for small B only)."""
    X = cp.Variable((geo.V, geo.r))
    L = X @ geo.G.T
    P = inst.next_token_probs.T
    ce = sum(inst.weights[j] * (cp.log_sum_exp(L[:, j]) - P[:, j] @ L[:, j]) for j in range(geo.m))
    cp.Problem(cp.Minimize(ce), [cp.norm(X, "fro") <= B]).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11, tol_ktratio=1e-9)
    return geo.lift(X.value)


@pytest.mark.parametrize("name", ["example-A", "example-C-two-dims-three-contexts", "example-H-orthonormal"])
def test_small_B_agrees_with_an_independent_conic_solver(name):
    """Measured disagreement ≤ 9e-7·B (Clarabel's own accuracy), below B ≈ 10 where it is right."""
    inst, sol = _solved(name)
    Bs = [0.5, 2.0, 8.0]
    for p in regularization_path(inst, Bs, solution=sol):
        assert np.linalg.norm(p.W - _conic_solution(inst, sol.geometry, p.B)) <= 1e-5 * p.B


@pytest.mark.parametrize("name", SEPARABLE)
def test_each_point_is_the_ridge_solution_for_its_multiplier(name):
    """∇CE(Ŵ) + λŴ = 0 with the plain model.gradient, where nothing underflows yet (B ≤ 8)."""
    inst, sol = _solved(name)
    for p in regularization_path(inst, [0.5, 2.0, 8.0], solution=sol):
        g = gradient(inst, p.W)
        assert np.linalg.norm(g + p.lam * p.W) <= 1e-10 * np.linalg.norm(g)


def test_an_interior_minimizer_is_never_certified():
    """Every context full-support and compatible: CE attains its minimum at W⋆ (theory.md §5), so for
    B > ‖W⋆‖ the constraint is inactive (λ = 0), which no point with λ = e^μ > 0 can certify."""
    inst = nv.Instance([[1.0, 0.0], [1.0, 1.0]], [0.5, 0.5], [[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    sol = nv.solve(inst)
    radius = float(np.linalg.norm(sol.W_star))
    inside, outside = regularization_path(inst, [0.5 * radius, 2.0 * radius], solution=sol)
    assert inside.status.ok
    assert outside.status.state == "inconclusive" and outside.W is None


def test_certify_rejects_a_perturbed_point():
    inst, sol = _solved("example-B")
    p = regularization_path(inst, [64.0], solution=sol)[0]
    assert certify(sol.geometry, p.B, p.W, p.log_lam).status.ok
    assert not certify(sol.geometry, p.B, p.W * (1.0 + 1e-6), p.log_lam).status.ok
    assert not certify(sol.geometry, p.B, p.W, p.log_lam + 1e-6).status.ok
    assert PATH_KKT_RTOL == 1e-9


def test_bs_must_be_positive_and_come_back_sorted():
    inst, sol = _solved("example-A")
    with pytest.raises(ValueError):
        regularization_path(inst, [0.0, 1.0])
    assert [p.B for p in regularization_path(inst, [4.0, 1.0, 4.0], solution=sol)] == [1.0, 4.0]


@pytest.mark.parametrize("name", SEPARABLE)
def test_the_true_limits_lie_in_every_certified_ball_and_the_balls_shrink(name):
    """The balls of checks/regpath.py on the shared cases: exact inequalities, so the true W⋆ and W^mm
    are inside (to rounding); the direction radius falls like 1/B on the tail."""
    inst, sol = _solved(name)
    geo = sol.geometry
    sigma = _smallest_singular_value_on_F(geo)
    points = regularization_path(inst, DOUBLINGS, solution=sol)
    radii = []
    for before, p in zip([None] + points[:-1], points):
        ball = F_ball(geo, p.W, sigma)
        assert np.linalg.norm(ball.center - sol.W_star) <= ball.radius * (1 + 1e-9) + 1e-12
        balls = direction_balls(geo, p.W, None if before is None else before.W)
        for ball in balls:
            assert np.linalg.norm(ball.center - sol.W_mm) <= ball.radius + 1e-7 * sol.W_mm_norm
        radii.append(min(ball.radius for ball in balls))
    assert radii[-1] <= 0.6 * radii[-2] and radii[-1] <= 0.01 * sol.W_mm_norm
