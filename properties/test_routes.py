"""D7 over every regime: the structured route agrees with the dense one (flags, dim F, W⋆, W^mm)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.routes import check_D7
from ntpverify.suite.enforcement import enforce
from ntpverify.suite.harness import SOLVER


@pytest.mark.claim("D7")
@pytest.mark.parametrize("regime", nst.REGIMES)
@SOLVER
@given(data=st.data())
def test_D7_structured_and_dense_routes_agree(regime: str, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=regime), label="instance")
    enforce(check_D7(inst), inst)
