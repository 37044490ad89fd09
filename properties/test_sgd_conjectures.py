"""C5, C8: footnote 8's SGD in its two readings on drawn general NTP instances (conjectures).

Draws: the GD regimes (harness.GD_REGIMES), kept when compatible and separable (the applicability
gate), a step factor, a batch and a sampling seed; the checks are
ntpverify.suite.checks.sgd_conjectures. The profile cuts the budgets (examples, and the runs'
``max_steps``), never the tolerances. A draw whose relaxation needs more steps than the budget
(sgd_conjectures.steps_needed: a slow F-mode or a small π_j; 18% of C5's and ~6% of C8's draws at
the checks' own budgets) is rejected before the run with an event naming it, instead of counting
as an inconclusive example: the statistics show how many draws it costs."""

from __future__ import annotations

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from ntpverify.suite.checks.sgd_conjectures import (
    C5_MAX_STEPS,
    C8_MAX_STEPS,
    ETA_FACTOR_MAX,
    check_C5,
    check_C8,
    steps_needed,
)
from ntpverify.suite.enforcement import enforce
from ntpverify.suite.harness import GD, applicable_instance
from ntpverify.suite.profiles import budget

#: Half the GD examples (25 in ci, 500 in thorough): each runs 10⁵–10⁶ compiled SGD steps (~0.1 s).
EXAMPLES = max(1, budget().gd_examples // 2)
#: The runs' budget: 4 × the profile's GD steps (4e5 in ci), at most the checks' own.
MAX_STEPS = 4 * budget().gd_steps
#: Step factors on sgd_conjectures.sgd_step (C5 judges factors ≤ ETA_FACTOR_MAX only).
FACTORS = (1.0, 0.5, 0.25)
#: The checks, their largest step factor and their budget.
CHECKS = {"C5": (check_C5, ETA_FACTOR_MAX, C5_MAX_STEPS), "C8": (check_C8, 1.0, C8_MAX_STEPS)}


@pytest.mark.parametrize("claim", [pytest.param(c, marks=pytest.mark.claim(c)) for c in CHECKS])
@settings(GD, max_examples=EXAMPLES)
@given(data=st.data())
def test_sgd_conjecture(claim: str, data: st.DataObject) -> None:
    """C5: SGD over tokens keeps its F-part at the noise floor S(η); C8: SGD over contexts keeps GD's
    limits (F-part → W⋆, direction → W^mm)."""
    check, top, most = CHECKS[claim]
    inst = applicable_instance(data, claim)
    params = {"eta_factor": data.draw(st.sampled_from([f for f in FACTORS if f <= top]), label="eta_factor"),
              "batch": data.draw(st.sampled_from((1, 4)), label="batch"),
              "seed": data.draw(st.integers(0, 2**16), label="seed"),
              "max_steps": min(MAX_STEPS, most)}
    need = steps_needed(claim, inst, params["eta_factor"])
    if need is not None and need > params["max_steps"]:
        event(f"{claim}: draw rejected (needs {need:.0e} steps > the budget)")
    assume(need is None or need <= params["max_steps"])
    enforce(check(inst, **params), inst, params)
