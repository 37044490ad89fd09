"""What the two conditions buy (theory.md §2–§3): P1 and its converse D1, P2, P3.

Parametrized by embedding regime (strategies.REGIMES; P1, P2) or by groups of regimes (the
cvxpy-based D1 and P3, ~50 ms an example), so pytest-xdist can balance them; every
parametrization runs ``budget().solver_examples`` examples.
"""

from __future__ import annotations


import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.conditions import check_D1, check_P1, check_P2, check_P3
from ntpverify.suite.harness import GROUPS, SOLVER, enforce_seeded
from ntpverify.suite.enforcement import enforce


@pytest.mark.claim("P1")
@pytest.mark.parametrize("regime", nst.REGIMES)
@SOLVER
@given(data=st.data())
def test_P1_entropy_is_a_strict_lower_bound_attained_in_the_limit(regime: str, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=regime), label="instance")
    enforce_seeded(check_P1, inst, data)


@pytest.mark.claim("D1")
@pytest.mark.parametrize("group", ["narrow", "degenerate"])
@SOLVER
@given(data=st.data())
def test_D1_a_failing_condition_keeps_a_certified_gap(group: str, data: st.DataObject) -> None:
    # the full-rank regimes always satisfy both conditions (P2): nothing to certify there
    inst = data.draw(nst.instances(regime=GROUPS[group], max_V=5, max_m=4, max_d=4), label="instance")
    enforce(check_D1(inst), inst)


@pytest.mark.claim("P2")
@pytest.mark.parametrize("regime", GROUPS["full_rank"])
@SOLVER
@given(data=st.data())
def test_P2_full_row_rank_gives_both_conditions(regime: str, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=regime), label="instance")
    enforce(check_P2(inst), inst)


@pytest.mark.claim("P3")
@pytest.mark.parametrize("group", GROUPS)
@SOLVER
@given(data=st.data())
def test_P3_one_hot_is_the_multiclass_svm(group: str, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=GROUPS[group], supports="one_hot", max_V=5, max_m=4, max_d=4),
                     label="instance")
    enforce(check_P3(inst), inst)
