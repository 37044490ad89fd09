"""L1–L3: sign descent, NGD and heavy ball on drawn one-hot separable instances (P3's setting).

Steps: the profile's GD budget (float64 caps the normalized methods earlier, optim_limits.resolve_floor and _readable);
draws from every regime with one-hot supports, kept when separable (the applicability gate)."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.optim_limits import check_L1, check_L2, check_L3
from ntpverify.suite.enforcement import enforce
from ntpverify.suite.harness import applicable_instance, gd_property
from ntpverify.suite.profiles import budget

ONE_HOT = nst.instances(supports="one_hot", max_V=5, max_m=5, max_d=5)
#: Step factors on the checks' scale-free defaults.
FACTORS = (1.0, 0.5, 2.0)


def _params(data: st.DataObject, **extra: object) -> dict:
    return {"steps": budget().gd_steps, "eta_factor": data.draw(st.sampled_from(FACTORS), label="eta_factor"),
            **extra}


@pytest.mark.claim("L1")
@gd_property
def test_L1_sign_descent_attains_the_linf_max_margin(data: st.DataObject) -> None:
    inst = applicable_instance(data, "L1", ONE_HOT)
    params = _params(data)
    enforce(check_L1(inst, **params), inst, params)


@pytest.mark.claim("L2")
@gd_property
def test_L2_ngd_converges_in_direction_to_Wmm(data: st.DataObject) -> None:
    inst = applicable_instance(data, "L2", ONE_HOT)
    params = _params(data)
    enforce(check_L2(inst, **params), inst, params)


@pytest.mark.claim("L3")
@gd_property
def test_L3_heavy_ball_converges_in_direction_to_Wmm(data: st.DataObject) -> None:
    inst = applicable_instance(data, "L3", ONE_HOT)
    params = _params(data, beta=data.draw(st.sampled_from((0.9, 0.5)), label="beta"))
    enforce(check_L3(inst, **params), inst, params)
