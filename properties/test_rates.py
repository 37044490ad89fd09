"""Properties of the rate **conjectures** C1 and C2 (theory.md §6; not claims of the paper).

Same draws and budgets as test_gd_limits.py; the checks are ntpverify.suite.checks.rates.
"""

from __future__ import annotations

import pytest

from ntpverify.suite.harness import applicable_instance, enforce_gd, gd_property
from ntpverify.suite.checks.rates import check_C1, check_C2


@pytest.mark.claim("C1")
@gd_property
def test_C1_conjecture_gap_and_F_distance_decay_like_one_over_eta_k(data):
    enforce_gd(check_C1, applicable_instance(data, "C1"))


@pytest.mark.claim("C2")
@gd_property
def test_C2_conjecture_growth_along_W_mm_is_logarithmic(data):
    enforce_gd(check_C2, applicable_instance(data, "C2"))
