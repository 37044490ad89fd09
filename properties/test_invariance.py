"""D9, scale invariance (issue 13): every verdict of solve() survives H → cH, c = mantissa·2^k
with k over ±1000 (both ends of float64's normal range for the drawn H), by regime group."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.invariance import check_D9
from ntpverify.suite.enforcement import enforce
from ntpverify.suite.harness import GROUPS, SOLVER

#: Exponents k of c = mantissa·2^k: 0 first (the shrink target), then the extremes where absolute
#: tolerances used to flip verdicts (1e-170 … 1e-300, 1e158 … 1e300), and moderate ones.
EXPONENTS = st.one_of(st.sampled_from((0, -1000, 1000, -565, 530, -40, 40)), st.integers(-1000, 1000))
#: Mantissas: 1 (exact scaling) first, then values that round every entry of H.
MANTISSAS = st.sampled_from((1.0, 1.5, 1.1, 1.9375, 1.3333333333333333))


@pytest.mark.claim("D9")
@pytest.mark.parametrize("group", GROUPS)
@SOLVER
@given(data=st.data())
def test_D9_verdicts_are_invariant_under_scaling_H(group: str, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(regime=GROUPS[group]), label="instance")
    params = {"exponent": data.draw(EXPONENTS, label="exponent"), "mantissa": data.draw(MANTISSAS, label="mantissa")}
    enforce(check_D9(inst, **params), inst, params)
