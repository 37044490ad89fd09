"""Solver-only special cases (theory.md §5): one-token supports (S1) and full-support contexts (S2).

S1 draws the support kinds that contain one-token contexts, S2 the kinds "full", "nested" and
"mixed" with ``full_support_context=True``, so that every S2 example has a full-support context
(before that option, 45% of S2's examples had none and were vacuous), by groups of regimes.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.special import check_S1, check_S2

from ntpverify.suite.harness import GROUPS, SOLVER
from ntpverify.suite.enforcement import enforce


@pytest.mark.claim("S1")
@pytest.mark.parametrize("group", GROUPS)
@SOLVER
@given(data=st.data())
def test_S1_one_token_contexts_add_no_equation(group: str, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=GROUPS[group], supports=("one_hot", "mixed", "disjoint", "nested")),
                     label="instance")
    enforce(check_S1(inst), inst)


@pytest.mark.claim("S2")
@pytest.mark.parametrize("group", GROUPS)
@SOLVER
@given(data=st.data())
def test_S2_full_support_contexts_constrain_F_perp(group: str, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=GROUPS[group], supports=("full", "nested", "mixed"),
                                   full_support_context=True), label="instance")
    enforce(check_S2(inst), inst)
