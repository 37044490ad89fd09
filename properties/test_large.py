"""The solver claims on the ``large`` size (issue 10, part 5): m up to 500 contexts
(strategies.large_instances; beyond AUTO_DENSE_MAX_CONSTRAINTS ``solve()`` takes the structured
route, so these draws test its certificates and objects where the small suite cannot reach),
``budget().large_examples`` examples per claim and regime group (the thorough profile: 1000).

The claims are those whose checks stay well under a second at this size (measured on 36 draws per
claim: at most 0.25 s, P1); D6 and D7 solve with the dense or cvxpy routes and stay on the small
sizes of test_structure.py and test_routes.py; D5 needs mutually orthogonal h_j, so m ≤ d ≤ 8 here:
not a large instance.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.boundary import check_D10
from ntpverify.suite.checks.conditions import check_P1
from ntpverify.suite.checks.invariance import check_D9
from ntpverify.suite.checks.special import check_S1, check_S2
from ntpverify.suite.checks.structure import check_D2, check_D3, check_D4
from ntpverify.suite.enforcement import enforce
from ntpverify.suite.harness import GROUPS, LARGE, enforce_seeded

#: The claims run here, each with whether its check takes a seed for its own random probes.
CHECKS = {"P1": (check_P1, True), "D2": (check_D2, True), "D3": (check_D3, True), "D4": (check_D4, True),
          "D10": (check_D10, False), "S1": (check_S1, False), "S2": (check_S2, False)}


@pytest.mark.parametrize("claim", [pytest.param(c, marks=pytest.mark.claim(c)) for c in CHECKS])
@pytest.mark.parametrize("group", GROUPS)
@LARGE
@given(data=st.data())
def test_solver_claims_hold_on_large_instances(claim: str, group: str, data: st.DataObject) -> None:
    inst = data.draw(nst.large_instances(regime=GROUPS[group]), label="instance")
    check, seeded = CHECKS[claim]
    if seeded:
        enforce_seeded(check, inst, data)
    else:
        enforce(check(inst), inst)


@pytest.mark.claim("D9")
@pytest.mark.parametrize("group", GROUPS)
@LARGE
@given(data=st.data())
def test_D9_verdicts_are_invariant_under_scaling_large_H(group: str, data: st.DataObject) -> None:
    inst = data.draw(nst.large_instances(regime=GROUPS[group]), label="instance")
    params = {"exponent": data.draw(st.sampled_from((0, -1000, 1000, -40, 40)), label="exponent"),
              "mantissa": data.draw(st.sampled_from((1.0, 1.5)), label="mantissa")}
    enforce(check_D9(inst, **params), inst, params)
