"""D10 on the near-degenerate regime (strategies/degenerate.py): instances walked towards
non-separability by δ = 2^{-e}‖h_i‖, e ≤ 50, and the exact boundary δ = 0."""

from __future__ import annotations

import pytest
from hypothesis import given

from ntpverify.core.instance import Instance
from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.boundary import check_D10
from ntpverify.suite.enforcement import enforce
from ntpverify.suite.harness import SOLVER


@pytest.mark.claim("D10")
@SOLVER
@given(inst=nst.near_degenerate_instances())
def test_D10_certificates_never_contradict_an_explicit_witness_or_obstruction(inst: Instance) -> None:
    enforce(check_D10(inst), inst)
