"""Negative controls for OI1, OI2: an optimizer that declares the invariants but breaks them
(Adam, entrywise, with both flags set True) is rejected at the first steps; its honest twin (Adam
as shipped, declaring neither) is vacuous, and NGD, which keeps them, is accepted on the same case."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from ntpverify.optim.optimizers import Adam, SignGD
from ntpverify.suite.checks.exact import householder, transformed
from ntpverify.suite.checks.optim_invariants import check_OI1, check_OI2
from ntpverify.suite.controls import assert_accepts, assert_rejects, case


class DeclaredAdam(Adam):
    """Adam claiming I1 and I2, which an entrywise update does not keep."""

    keeps_column_sums: ClassVar[bool] = True
    keeps_null_directions: ClassVar[bool] = True


class DeclaredSign(SignGD):
    keeps_column_sums: ClassVar[bool] = True
    keeps_null_directions: ClassVar[bool] = True


@pytest.mark.claim("OI1")
@pytest.mark.parametrize("wrong", [DeclaredAdam(0.01), DeclaredSign(0.01)], ids=["adam", "sign"])
def test_OI1_rejects_an_optimizer_declaring_column_sums_it_breaks(wrong) -> None:
    inst = case("example-B")
    assert_rejects(check_OI1(inst, wrong), f"{type(wrong).__name__} keeps column sums")
    assert check_OI1(inst, Adam(0.01)).outcome == "vacuous"
    assert_accepts(check_OI1(inst, "ngd"))


@pytest.mark.claim("OI2")
@pytest.mark.parametrize("wrong", [DeclaredAdam(0.01), DeclaredSign(0.01)], ids=["adam", "sign"])
def test_OI2_rejects_an_optimizer_declaring_null_directions_it_breaks(wrong) -> None:
    # the shipped null directions are coordinate axes, where an entrywise update of a zero gradient
    # entry is zero too: rotate H (H → HQᵀ, Householder) so that span{h_j}⊥ is oblique
    inst = transformed(case("example-H"), Q=householder(np.arange(1.0, case("example-H").d + 1)))
    W0 = np.zeros((inst.V, inst.d))
    assert_rejects(check_OI2(inst, wrong, W0=W0), f"{type(wrong).__name__} keeps null directions")
    assert check_OI2(inst, Adam(0.01)).outcome == "vacuous"
    assert_accepts(check_OI2(inst, "ngd"))
