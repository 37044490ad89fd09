"""Properties of the rate **conjectures** C1 and C2 (theory.md §6; not claims of the paper).

Same draws and budgets as test_gd_limits.py; the checks are ntpverify.suite.checks.rates.
"""

from __future__ import annotations

from ntpverify.suite.checks.rates import check_C1, check_C2

from test_gd_limits import enforce_gd, gd_property, hypotheses_instance


@gd_property
def test_C1_conjecture_gap_and_F_distance_decay_like_one_over_eta_k(data):
    enforce_gd(check_C1, hypotheses_instance(data))


@gd_property
def test_C2_conjecture_growth_along_W_mm_is_logarithmic(data):
    enforce_gd(check_C2, hypotheses_instance(data))
