"""OI1, OI2: every optimizer class that declares an invariant (read from its declaration, not a
list) keeps it on drawn instances, starts and steps, within its rounding model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.exact import null_basis
from ntpverify.suite.checks.optim_invariants import STEPS, check_OI1, check_OI2, declaring
from ntpverify.suite.enforcement import enforce
from ntpverify.suite.harness import ANY_STEP, GD, starts


def _params(data: st.DataObject, cls: type, inst, W0: np.ndarray) -> dict:
    params: dict = {"eta_factor": data.draw(st.sampled_from(ANY_STEP[:4]), label="eta_factor")}
    if cls.__name__ == "SGD":  # both readings of the footnote
        params["over"] = data.draw(st.sampled_from(("contexts", "tokens")), label="over")
    return {"optimizer": cls.name, "params": params, "W0": W0.tolist(), "steps": STEPS}


@pytest.mark.claim("OI1")
@pytest.mark.parametrize("cls", declaring("keeps_column_sums"), ids=lambda c: c.name)
@GD
@given(data=st.data())
def test_OI1_declared_column_sums_are_conserved(cls: type, data: st.DataObject) -> None:
    inst = data.draw(nst.instances(max_V=5, max_m=4, max_d=5), label="instance")
    params = _params(data, cls, inst, data.draw(starts(inst.V, inst.d)))
    enforce(check_OI1(inst, **params), inst, params)


@pytest.mark.claim("OI2")
@pytest.mark.parametrize("cls", declaring("keeps_null_directions"), ids=lambda c: c.name)
@GD
@given(data=st.data())
def test_OI2_declared_null_directions_never_move(cls: type, data: st.DataObject) -> None:
    # d ≥ 5 > 4 ≥ m, or rank H < min(m, d): span{h_j}⊥ is never {0}
    inst = data.draw(st.one_of(nst.instances(max_V=5, max_m=4, min_d=5, max_d=6),
                               nst.instances(regime="rank_deficient", max_V=5)), label="instance")
    N = null_basis(inst)
    W0 = data.draw(starts(inst.V, inst.d))
    if N is not None and N.shape[1]:
        W0 = W0 + np.outer(np.ones(inst.V), N[:, 0])  # a start with a load off the row space
    params = _params(data, cls, inst, W0)
    enforce(check_OI2(inst, **params), inst, params)
