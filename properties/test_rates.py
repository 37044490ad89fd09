"""Properties of the rate **conjectures** C1 and C2 (theory.md §6; not claims of the paper).

Same draws and budgets as test_gd_limits.py; the checks are ntpverify.checks.rates.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ntpverify.checks.rates import check_C1, check_C2
from ntpverify.profiles import budget
from ntpverify.verdict import enforce

from test_gd_limits import hypotheses_instance


@settings(max_examples=budget().gd_examples)
@given(data=st.data())
def test_C1_conjecture_gap_and_F_distance_decay_like_one_over_eta_k(data):
    inst = hypotheses_instance(data)
    steps = budget().gd_steps
    enforce(check_C1(inst, steps=steps), inst, {"steps": steps})


@settings(max_examples=budget().gd_examples)
@given(data=st.data())
def test_C2_conjecture_growth_along_W_mm_is_logarithmic(data):
    inst = hypotheses_instance(data)
    steps = budget().gd_steps
    enforce(check_C2(inst, steps=steps), inst, {"steps": steps})
