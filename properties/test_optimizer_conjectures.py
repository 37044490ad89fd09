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


#: The conjectures run here (each check takes ``eta_factor``).
CHECKS = {"C3": check_C3, "C4": check_C4}


@pytest.mark.parametrize("claim", [pytest.param(c, marks=pytest.mark.claim(c)) for c in CHECKS])
@gd_property
def test_ngd_conjecture(claim: str, data: st.DataObject) -> None:
    """C3: NGD's F-part floor is proportional to η; C4: NGD converges in direction to W^mm."""
    inst = applicable_instance(data, claim)
    params = {"eta_factor": data.draw(st.sampled_from(FACTORS), label="eta_factor")}
    enforce(CHECKS[claim](inst, **params), inst, params)
