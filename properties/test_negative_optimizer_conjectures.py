"""Negative controls for C3–: each check is fed a wrong limit or a method that does not have the
conjectured behaviour on a shared case where the conjecture's hypotheses hold, and must reject it;
the same check accepts the true objects on the same case."""

from __future__ import annotations

import pytest

from ntpverify.optim.optimizers import NGD
from ntpverify.suite.checks.optim_conjectures import check_C3, check_C4
from ntpverify.suite.checks.optim_limits import ngd_step
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


@pytest.mark.claim("C4")
def test_C4_rejects_a_row_permuted_W_mm() -> None:
    inst, sol = solved("example-B")
    assert sol.W_mm is not None
    # W^mm of the instance with two tokens swapped (D4): a max-margin direction, of the wrong instance
    wrong = sol.W_mm[[1, 0, *range(2, inst.V)]]
    assert_rejects(check_C4(inst, limit=wrong), "NGD's direction tends to W^mm with tokens 0, 1 swapped")
