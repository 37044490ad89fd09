"""Exact facts about GD (theory.md §4, claims I1–I7) on drawn instances, starts and steps.

Starts W_0 shrink to 0 (the paper's start) and reach entries of 512 (logits ~10³, past exp's overflow
at 709, so an unshifted softmax would break). Step factors multiply the default step
``1/λ_max(Σπ_j h_j h_jᵀ)``; claims that assume ``η ≤ 1/L`` draw factors ≤ 2 (``L ≤ λ_max/2``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.exact import (CONSERVATION_STEPS, COMPARISON_STEPS, STEP_IDENTITY_STEPS, check_I1,
                                    check_I2, check_I3, check_I4, check_I5, check_I6, check_I7, null_basis)
from ntpverify.suite.profiles import budget
from ntpverify.suite.harness import ANY_STEP, DESCENT_STEP, GD, applicable_instance, starts, step
from ntpverify.suite.enforcement import enforce

#: I3/I5's draws: half from the rank H = m regimes (always separable, P2), half from every regime,
#: kept when separable (about a third of the rank-deficient, duplicated, collinear and narrow
#: draws: the harder active sets of W^mm).
SEPARABLE_DRAWS = st.one_of(nst.instances(regime=("generic_wide", "orthogonal")), nst.instances())
#: I3/I5: multiples of W^mm added to the point; at 300 every off-support probability is < 1e-100.
ALONG_MM = (0.0, 1.0, 30.0, 300.0)


def conservation_params(data: st.DataObject, inst, offset: np.ndarray | None = None) -> dict:
    """The params of I1 and I2: a drawn start (plus ``offset`` if given), any step, and a GD form."""
    W0 = data.draw(starts(inst.V, inst.d))
    if offset is not None:
        W0 = W0 + offset
    eta = step(data, inst, ANY_STEP)
    form = data.draw(st.sampled_from(("reduced", "direct")), label="form")
    return {"W0": W0.tolist(), "eta": eta, "steps": CONSERVATION_STEPS, "form": form}


@pytest.mark.claim("I1")
@GD
@given(data=st.data())
def test_I1_column_sums_are_conserved(data: st.DataObject) -> None:
    inst = data.draw(nst.instances(), label="instance")
    params = conservation_params(data, inst)
    enforce(check_I1(inst, **params), inst, params)


@pytest.mark.claim("I2")
@GD
@given(data=st.data())
def test_I2_directions_orthogonal_to_the_data_never_move(data: st.DataObject) -> None:
    # d ≥ 5 > 4 ≥ m, or rank H < min(m, d): span{h_j}⊥ is never {0}
    inst = data.draw(st.one_of(nst.instances(max_m=4, min_d=5, max_d=6), nst.instances(regime="rank_deficient")),
                     label="instance")
    N = null_basis(inst)
    x = np.zeros(inst.d) if N is None else N[:, 0]  # None: ambiguous rank, the check says inconclusive
    loads = data.draw(st.lists(st.sampled_from((1.0, -1.0, 0.5, -2.0)), min_size=inst.V, max_size=inst.V),
                      label="W0.null_loads")
    params = conservation_params(data, inst, np.outer(loads, x))  # W0 never in the row space
    enforce(check_I2(inst, **params), inst, params)


@pytest.mark.claim("I3")
@GD
@given(data=st.data())
def test_I3_every_step_increases_the_inner_product_with_Wmm(data: st.DataObject) -> None:
    inst = applicable_instance(data, "I3", SEPARABLE_DRAWS)
    W0 = data.draw(starts(inst.V, inst.d))
    along = data.draw(st.sampled_from(ALONG_MM), label="start_along_mm")
    params = {"W0": W0.tolist(), "eta": step(data, inst, DESCENT_STEP), "start_along_mm": along,
              "steps": STEP_IDENTITY_STEPS}
    enforce(check_I3(inst, **params), inst, params)


@pytest.mark.claim("I4")
@GD
@given(data=st.data())
def test_I4_descent_lemma(data: st.DataObject) -> None:
    inst = data.draw(nst.instances(), label="instance")
    W0 = data.draw(starts(inst.V, inst.d))
    params = {"W0": W0.tolist(), "eta": step(data, inst, DESCENT_STEP), "steps": STEP_IDENTITY_STEPS}
    enforce(check_I4(inst, **params), inst, params)


@pytest.mark.claim("I5")
@settings(max_examples=budget().solver_examples)
@given(data=st.data())
def test_I5_no_stationary_point_under_separability(data: st.DataObject) -> None:
    inst = applicable_instance(data, "I5", SEPARABLE_DRAWS)
    W = data.draw(starts(inst.V, inst.d, "W"))
    along = data.draw(st.sampled_from(ALONG_MM), label="along_mm")
    params = {"W": W.tolist(), "along_mm": along}
    enforce(check_I5(inst, **params), inst, params)


@st.composite
def reflectors(draw, d: int) -> list[float]:
    """±1 on 2^i positions (2^i ≤ d), zero elsewhere: ``I − 2vvᵀ/vᵀv`` then has dyadic entries and is
    exactly orthogonal in floating point."""
    sizes = [2**i for i in range(d.bit_length()) if 2**i <= d]
    size = draw(st.sampled_from(sizes), label="reflector.size")
    where = draw(st.permutations(range(d)), label="reflector.positions")[:size]
    signs = draw(st.lists(st.sampled_from((1.0, -1.0)), min_size=size, max_size=size), label="reflector.signs")
    v = np.zeros(d)
    v[list(where)] = signs
    return v.tolist()


@pytest.mark.claim("I6")
@GD
@given(data=st.data())
def test_I6_gd_is_equivariant(data: st.DataObject) -> None:
    inst = data.draw(nst.instances(), label="instance")
    W0 = data.draw(starts(inst.V, inst.d))
    params = {
        "W0": W0.tolist(), "eta": step(data, inst, DESCENT_STEP),
        "perm": list(data.draw(st.permutations(range(inst.V)), label="perm")),
        "reflector": data.draw(reflectors(inst.d)),
        "scale": data.draw(st.sampled_from((3.0, 0.3, 1.5, 10.0, 0.7, 2.0)), label="scale"),
        "steps": COMPARISON_STEPS,
    }
    enforce(check_I6(inst, **params), inst, params)


@pytest.mark.claim("I7")
@GD
@given(data=st.data())
def test_I7_duplicated_contexts_merge(data: st.DataObject) -> None:
    inst = data.draw(nst.instances(), label="instance")
    W0 = data.draw(starts(inst.V, inst.d))
    params = {
        "context": data.draw(st.integers(0, inst.m - 1), label="context"),
        "fraction": data.draw(st.integers(1, 15), label="fraction_sixteenths") / 16.0,
        "W0": W0.tolist(), "eta": step(data, inst, DESCENT_STEP), "steps": COMPARISON_STEPS,
    }
    enforce(check_I7(inst, **params), inst, params)
