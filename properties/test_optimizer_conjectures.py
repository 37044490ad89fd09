"""C3–: the paper's figure-5 remark for NGD, Adam and SGD on drawn general NTP instances (conjectures).

Draws: the GD regimes (harness.GD_REGIMES), kept when compatible and separable (the applicability
gate); the checks are ntpverify.suite.checks.optim_conjectures, at their own step counts (the
floors and fits are settled there; the profile's GD budget is for the GD limits)."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from ntpverify.suite.checks.optim_conjectures import check_C3, check_C4
from ntpverify.suite.enforcement import enforce
from ntpverify.suite.harness import applicable_instance, gd_property

#: Step factors on the checks' scale-free defaults (optim_limits.ngd_step).
FACTORS = (1.0, 0.5, 0.25)


@pytest.mark.claim("C3")
@gd_property
def test_C3_conjecture_ngd_F_part_floor_is_proportional_to_eta(data: st.DataObject) -> None:
    inst = applicable_instance(data, "C3")
    params = {"eta_factor": data.draw(st.sampled_from(FACTORS), label="eta_factor")}
    enforce(check_C3(inst, **params), inst, params)


@pytest.mark.claim("C4")
@gd_property
def test_C4_conjecture_ngd_converges_in_direction_to_Wmm(data: st.DataObject) -> None:
    inst = applicable_instance(data, "C4")
    params = {"eta_factor": data.draw(st.sampled_from(FACTORS), label="eta_factor")}
    enforce(check_C4(inst, **params), inst, params)
