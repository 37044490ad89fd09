"""Negative controls for C3–C7: each check is fed a wrong limit or a method that does not have the
conjectured behaviour on a shared case where the conjecture's hypotheses hold, and must reject it;
the same check accepts the true objects on the same case."""

from __future__ import annotations

import pytest

from ntpverify.core.model import default_step
from ntpverify.core.solution import solve
from ntpverify.optim.optimizers import GD, NGD, Adam
from ntpverify.suite.checks.optim_conjectures import (
    ADAM_BETAS,
    check_C3,
    check_C4,
    check_C6,
    check_C7,
    top_curvature_F,
)
from ntpverify.suite.checks.optim_limits import ngd_step, sign_step
from ntpverify.suite.controls import assert_accepts, assert_rejects, solved


@pytest.mark.claim("C3")
def test_C3_rejects_a_wrong_W_star() -> None:
    inst, sol = solved("example-B")
    assert sol.W_star is not None
    # a point of F at distance ‖W⋆‖ from W⋆: both floors are then ≈ ‖W⋆‖, ratio ≈ 1, not 2
    wrong = 2.0 * sol.W_star
    assert_rejects(check_C3(inst, W_star=wrong), "NGD's F-part settles at a floor ∝ η around 2W⋆")
    assert_accepts(check_C3(inst))


@pytest.mark.claim("C3")
def test_C3_rejects_a_floor_that_does_not_scale_with_eta() -> None:
    inst, _ = solved("example-A")
    fixed = ngd_step(inst)
    # the "η/2" run takes the step η: its floor is the same, so the ratio is 1
    assert_rejects(check_C3(inst, optimizer=lambda eta: NGD(fixed)), "a floor independent of η is ∝ η")
    assert_accepts(check_C3(inst))


@pytest.mark.claim("C4")
def test_C4_rejects_W_star_as_the_direction() -> None:
    inst, sol = solved("example-C-two-dims-three-contexts")
    assert sol.W_star is not None
    # P6a's rival "W⋆": the F-part stays bounded, so W_k/‖W_k‖ leaves it
    assert_rejects(check_C4(inst, limit=sol.W_star), "NGD's direction tends to W⋆")
    assert_accepts(check_C4(inst))


@pytest.mark.parametrize("claim", [pytest.param(c, marks=pytest.mark.claim(c)) for c in ("C4", "C6")])
def test_direction_conjectures_reject_a_row_permuted_W_mm(claim: str) -> None:
    inst, sol = solved("example-B")
    assert sol.W_mm is not None
    # W^mm of the instance with two tokens swapped (D4): a max-margin direction, of the wrong instance
    wrong = sol.W_mm[[1, 0, *range(2, inst.V)]]
    check = {"C4": check_C4, "C6": check_C6}[claim]
    assert_rejects(check(inst, limit=wrong), f"{claim}'s direction tends to W^mm with tokens 0, 1 swapped")
    assert_accepts(check(inst))


@pytest.mark.claim("C6")
def test_C6_rejects_adam_with_a_negligible_eps() -> None:
    inst, _ = solved("example-H")
    # ε = 1e-12: Adam stays sign-like, and its direction leaves W^mm (1 − cos extrapolates to ≈ 0.25)
    tiny = Adam(sign_step(inst), *ADAM_BETAS, eps=1e-12)
    assert_rejects(check_C6(inst, optimizer=tiny), "Adam with ε = 1e-12 converges in direction to W^mm")
    assert_accepts(check_C6(inst))


@pytest.mark.claim("C7")
def test_C7_rejects_a_step_below_the_edge() -> None:
    inst, _ = solved("example-A")
    # GD at the default step 1/(2L) converges (P5): its gap's window maximum halves per doubling
    assert_rejects(check_C7(inst, c=16.0, optimizer=GD(default_step(inst))), "GD at 1/(2L) keeps the gap open")
    assert_accepts(check_C7(inst, c=16.0))


@pytest.mark.claim("C7")
def test_C7_rejects_a_misplaced_edge() -> None:
    inst, _ = solved("example-B")
    # η = 1/L is below B's edge (ηλ_F⁺ ≈ 0.54); a λ_F⁺ 100× too large claims it is past it
    lam = top_curvature_F(solve(inst))
    assert_rejects(check_C7(inst, c=1.0, curvature=100 * lam), "GD at 1/L is past example B's edge of stability")
