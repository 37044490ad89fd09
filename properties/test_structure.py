"""Structure of the limit objects (theory.md §2): F (D2), W⋆ (D3), W^mm's structure and invariances
(D4), the closed forms for orthogonal embeddings (D5), and the two W^mm solvers (D6).

Cheap properties (D2, D3: a few SVDs) run per regime; the W^mm ones (D4: six solves, D6: the LDP
and the cvxpy/Clarabel pipeline) per group of regimes, on smaller instances for D6.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.structure import check_D2, check_D3, check_D4, check_D5, check_D6

from ntpverify.suite.harness import GROUPS, SOLVER, enforce_seeded
from ntpverify.suite.enforcement import enforce


@pytest.mark.claim("D2")
@pytest.mark.parametrize("regime", nst.REGIMES)
@SOLVER
@given(data=st.data())
def test_D2_F_perp_is_where_logits_are_constant_on_supports(regime: str, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=regime), label="instance")
    enforce_seeded(check_D2, inst, data)


@pytest.mark.claim("D3")
@pytest.mark.parametrize("regime", nst.REGIMES)
@SOLVER
@given(data=st.data())
def test_D3_W_star_is_the_projection_of_every_solution(regime: str, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=regime), label="instance")
    enforce_seeded(check_D3, inst, data)


@pytest.mark.claim("D4")
@pytest.mark.parametrize("group", GROUPS)
@SOLVER
@given(data=st.data())
def test_D4_W_mm_structure_and_invariances(group: str, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=GROUPS[group]), label="instance")
    enforce_seeded(check_D4, inst, data)


@pytest.mark.claim("D5")
@SOLVER
@given(data=st.data())
def test_D5_closed_forms_for_orthogonal_embeddings(data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime="orthogonal"), label="instance")
    enforce(check_D5(inst), inst)


@pytest.mark.claim("D6")
@pytest.mark.parametrize("group", GROUPS)
@SOLVER
@given(data=st.data())
def test_D6_the_two_solvers_agree(group: str, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=GROUPS[group], max_V=5, max_m=4, max_d=4), label="instance")
    enforce(check_D6(inst), inst)
