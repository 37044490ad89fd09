"""Special cases of GD (theory.md §5): all contexts full-support (S3) and exactly one condition (S4).

Both are statements about the whole run, so both use the profile's GD budget ``budget().gd_steps``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.special_gd import check_S3, check_S4
from ntpverify.core.instance import Instance
from ntpverify.suite.profiles import budget
from ntpverify.suite.harness import DESCENT_STEP, GD, starts, step
from ntpverify.suite.enforcement import enforce


#: Positive factors for a collinear copy of an embedding (a negative one would break both conditions).
COPY_FACTORS = (1.0, 2.0, 0.5, 3.0)
#: Factors that tilt one in-support probability of the copy (any f ≠ 1 breaks compatibility).
TILTS = (2.0, 1 / 3, 5.0)


@pytest.mark.claim("S3")
@GD
@given(data=st.data())
def test_S3_full_support_converges_to_a_finite_minimizer(data: st.DataObject) -> None:
    # rank H = m makes every all-full instance compatible (P2), the claim's hypothesis
    inst = data.draw(nst.instances(regime=("generic_wide", "orthogonal"), supports="full", allow_all_full=True),
                     label="instance")
    W0 = data.draw(starts(inst.V, inst.d))
    params = {"W0": W0.tolist(), "eta": step(data, inst, DESCENT_STEP), "steps": budget().gd_steps}
    enforce(check_S3(inst, **params), inst, params)


@st.composite
def one_condition_instances(draw) -> Instance:
    """An instance where exactly one condition holds, by construction.

    A rank-H = m base (compatible and separable, P2) gets one more context on ``c·h_j`` (c > 0):

    * ``incompatible``: the copy has support S_j and ``p ∝ p_j^c`` with one probability tilted by a
      factor ≠ 1, so the log-ratio equations on ``h_j`` contradict; the margins only repeat
      (c > 0), so it stays separable. Needs ``|S_j| ≥ 2``; without such a context the other mode
      is used.
    * ``inseparable``: the copy's support S' is a proper nonempty subset of S_j with ``p ∝ p_j^c``
      there (the same equations: compatible), or, if ``|S_j| = 1``, ``S_j`` plus one token; then
      (a) for h_j and (b) for the copy contradict.
    """
    base = draw(nst.instances(regime=("generic_wide", "orthogonal"), max_m=4), label="base")
    sizes = base.support_mask.sum(axis=1)
    j = draw(st.integers(0, base.m - 1), label="context")
    mode = draw(st.sampled_from(("incompatible", "inseparable")), label="mode")
    if mode == "incompatible" and sizes.max() < 2:
        mode = "inseparable"
    if mode == "incompatible" and sizes[j] < 2:
        j = int(np.argmax(sizes))
    c = draw(st.sampled_from(COPY_FACTORS), label="copy_factor")
    S = list(base.supports[j])
    p = np.zeros(base.V)
    if mode == "incompatible":
        p[S] = base.next_token_probs[j, S] ** c
        p[draw(st.sampled_from(S), label="tilted_token")] *= draw(st.sampled_from(TILTS), label="tilt")
    elif len(S) >= 2:
        order = draw(st.permutations(S), label="subset.order")
        keep = order[:draw(st.integers(1, len(S) - 1), label="subset.size")]
        p[keep] = base.next_token_probs[j, keep] ** c
    else:
        extra = draw(st.sampled_from([v for v in range(base.V) if v not in S]), label="extra_token")
        p[[S[0], extra]] = (1.0, draw(st.sampled_from((1.0, 3.0, 0.25)), label="extra_ratio"))
    p /= p.sum()
    event(f"one_condition={mode}")
    share = draw(st.sampled_from((0.5, 0.25, 0.75)), label="copy_weight_share")
    pi = np.append(base.weights * (1.0 - share), share)
    return Instance(np.vstack([base.embeddings, c * base.embeddings[j]]), pi / pi.sum(),
                    np.vstack([base.next_token_probs, p]), name=f"one-condition-{mode}",
                    extras={**base.extras, "x-one-condition": mode})


@pytest.mark.claim("S4")
@GD
@given(data=st.data())
def test_S4_one_condition_keeps_the_gap_open(data: st.DataObject) -> None:
    inst = data.draw(one_condition_instances(), label="instance")
    W0 = data.draw(starts(inst.V, inst.d))
    params = {"W0": W0.tolist(), "eta": step(data, inst, DESCENT_STEP), "steps": budget().gd_steps}
    enforce(check_S4(inst, **params), inst, params)
