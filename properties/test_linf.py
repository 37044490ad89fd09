"""D11: no W in F⊥ beats the ℓ∞ NTP-SVM's margin, on one-hot (P3's setting, where sign descent's
margin tends to it) and general supports, by regime group."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.linf import check_D11
from ntpverify.suite.harness import GROUPS, SOLVER, enforce_seeded


@pytest.mark.claim("D11")
@pytest.mark.parametrize("supports", ["one_hot", None], ids=["one_hot", "any"])
@pytest.mark.parametrize("group", GROUPS)
@SOLVER
@given(data=st.data())
def test_D11_no_margin_in_F_perp_beats_the_linf_svm(group: str, supports: str | None, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=GROUPS[group], supports=supports, max_V=5, max_m=4, max_d=4),
                     label="instance")
    enforce_seeded(check_D11, inst, data)
