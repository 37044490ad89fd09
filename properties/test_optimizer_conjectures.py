"""C3–: the paper's figure-5 remark for NGD, Adam and SGD, and GD's large steps, on drawn general NTP
instances (conjectures).

Draws: the GD regimes (harness.GD_REGIMES), kept when compatible and separable (the applicability
gate); the checks are ntpverify.suite.checks.optim_conjectures, at their own step counts (the
floors and fits are settled there; the profile's GD budget is for the GD limits)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import strategies as st

from ntpverify.suite.checks.optim_conjectures import check_C3, check_C4, check_C6, check_C7
from ntpverify.suite.enforcement import enforce
from ntpverify.suite.harness import applicable_instance, gd_property
from ntpverify.suite.verdict import Verdict

#: Step factors on the checks' scale-free defaults (optim_limits.ngd_step, sign_step).
FACTORS = (1.0, 0.5, 0.25)
#: C6's ε factors κ (ε = κ·lr·λ_max) and C7's step multiples c (η = c/L): the measured ones.
EPS_FACTORS = (1.0, 4.0)
LARGE_STEPS = (4.0, 16.0, 64.0)

#: The conjectures run here, each with the strategies of its drawn params.
CHECKS: dict[str, tuple[Callable[..., Verdict], dict[str, st.SearchStrategy[Any]]]] = {
    "C3": (check_C3, {"eta_factor": st.sampled_from(FACTORS)}),
    "C4": (check_C4, {"eta_factor": st.sampled_from(FACTORS)}),
    "C6": (check_C6, {"eta_factor": st.sampled_from(FACTORS), "eps_factor": st.sampled_from(EPS_FACTORS)}),
    "C7": (check_C7, {"c": st.sampled_from(LARGE_STEPS)}),
}


@pytest.mark.parametrize("claim", [pytest.param(c, marks=pytest.mark.claim(c)) for c in CHECKS])
@gd_property
def test_optimizer_conjecture(claim: str, data: st.DataObject) -> None:
    """C3: NGD's F-part floor is proportional to η; C4: NGD converges in direction to W^mm; C6: so
    does Adam with ε ≥ lr·λ_max; C7: GD past the F-part's edge of stability keeps the gap open."""
    inst = applicable_instance(data, claim)
    check, strategies = CHECKS[claim]
    params = {name: data.draw(strategy, label=name) for name, strategy in strategies.items()}
    enforce(check(inst, **params), inst, params)
