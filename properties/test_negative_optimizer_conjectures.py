"""Negative controls for C3–: each check is fed a wrong limit or a method that does not have the
conjectured behaviour on a shared case where the conjecture's hypotheses hold, and must reject it;
the same check accepts the true objects on the same case."""

from __future__ import annotations

import pytest

from ntpverify.optim.optimizers import NGD
from ntpverify.suite.checks.optim_conjectures import check_C3
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
