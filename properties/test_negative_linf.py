"""Negative control for D11: claiming the ℓ∞ margin of the ℓ2 solution W^mm as γ∞* is refuted by
the LP's own maximizer on example I (one-hot, where the ℓ∞ and ℓ2 problems differ: 0.615 < 2/3)."""

from __future__ import annotations

import pytest

import ntpverify as nv
from ntpverify.optim.optimizers import linf_margin
from ntpverify.suite.checks.linf import check_D11
from ntpverify.suite.controls import assert_accepts, assert_rejects, case

pytestmark = pytest.mark.claim("D11")


def test_D11_rejects_the_l2_solution_as_the_linf_max_margin() -> None:
    inst = case("example-I")
    wrong = linf_margin(inst, nv.solve(inst).W_mm)
    assert wrong is not None and wrong < 0.66
    assert_rejects(check_D11(inst, gamma=wrong), "W^mm maximizes the ℓ∞-normalized margin too")
    assert_accepts(check_D11(inst))
