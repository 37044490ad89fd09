"""The Hypothesis profiles: what each one promises (profiles.py)."""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings

from ntpverify.suite import profiles


@pytest.fixture(autouse=True)
def registered():
    profiles.register()


def test_ci_is_derandomized_without_database_or_deadline():
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None and ci.deadline is None


@pytest.mark.parametrize("name", ["dev", "thorough", "search"])
def test_other_profiles_stay_random(name):
    assert not settings.get_profile(name).derandomize


def test_thorough_has_no_target_phase_and_search_keeps_it():
    # thorough: the stall of Hypothesis's target schedule at max_examples ≥ 1000 (profiles.py)
    assert Phase.target not in settings.get_profile("thorough").phases
    assert Phase.generate in settings.get_profile("thorough").phases
    assert Phase.target in settings.get_profile("search").phases


def test_budgets_meet_the_issue_bars():
    ci, thorough = profiles.BUDGETS["ci"], profiles.BUDGETS["thorough"]
    assert ci.solver_examples >= 200 and ci.gd_examples >= 50 and ci.gd_steps >= 100_000
    assert thorough.gd_steps >= 1_000_000 and thorough.gd_examples >= 1000
