"""Near-degenerate instances (issue 13, claim D10): separable, but only barely, or not at all.

A base with ``rank H = m`` and ``d > m`` (separable, with Lemma 1's explicit witness) gets one more
context on ``h_i + δ·e`` whose support is disjoint from ``S_i``: for ``δ > 0`` the new ``H`` still
has full row rank, so the instance stays separable, with a witness of norm ``≍ 1/δ``; at ``δ = 0``
the two contexts share an embedding with disjoint supports, and no W separates them (an exact
Farkas certificate). ``δ = 2^{-e}·‖h_i‖`` for ``e`` up to ``MAX_EXPONENT`` walks the instance towards
the boundary; ``e = 0`` first (the shrink target), ``δ = 0`` drawn explicitly.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from ntpverify.core.instance import Instance
from ntpverify.suite.strategies.arguments import check_int
from ntpverify.suite.strategies.described import described
from ntpverify.suite.strategies.instances import instances

#: ``δ = 2^{-e}‖h_i‖`` with ``e ≤ 50``: past ~2^-45 the witness's own float64 check fails (its
#: norm ≍ 2^e against rounding ≍ 2^-52), so deeper draws only test the undecided side.
MAX_EXPONENT = 50


@st.composite
def _near_degenerate(draw: st.DrawFn, max_m: int) -> Instance:
    base = draw(instances(regime="generic_wide", max_m=max_m, min_d=max_m + 1, max_d=max_m + 2), label="base")
    i = draw(st.integers(0, base.m - 1), label="copied_context")
    S = set(base.supports[i])
    outside = [v for v in range(base.V) if v not in S]
    if not outside:  # a full support has no disjoint partner: take the other tokens of one
        S = {base.supports[i][0]}
        outside = [v for v in range(base.V) if v not in S]
    chosen = draw(st.lists(st.sampled_from(outside), min_size=1, max_size=len(outside), unique=True),
                  label="new_support")
    exact = draw(st.booleans(), label="exact_duplicate")
    e = draw(st.integers(0, MAX_EXPONENT), label="delta_exponent")
    direction = draw(st.lists(st.sampled_from((1.0, -1.0, 0.5, -0.5)), min_size=base.d, max_size=base.d),
                     label="delta_direction")
    h = base.embeddings[i]
    delta = 0.0 if exact else math.ldexp(float(np.linalg.norm(h)), -e)
    h_new = h + delta * np.asarray(direction) / float(np.linalg.norm(direction))
    p_new = np.zeros(base.V)
    p_new[sorted(chosen)] = 1.0 / len(chosen)
    w = 1.0 / (base.m + 1)
    P = base.next_token_probs.copy()
    if S != set(base.supports[i]):  # the full-support case: context i itself becomes one-token
        P[i] = 0.0
        P[i, min(S)] = 1.0
    return Instance(np.vstack([base.embeddings, h_new]), np.append(base.weights * (1.0 - w), w),
                    np.vstack([P, p_new]), name="hyp-near_degenerate",
                    extras={"x-regime": "near_degenerate", "x-delta-exponent": None if exact else e})


@described
def near_degenerate_instances(max_m: int = 4) -> st.SearchStrategy[Instance]:
    """Instances at distance ``δ = 2^{-e}‖h_i‖`` (or 0) from non-separability (module docstring)."""
    max_m = check_int("max_m", max_m, 1)
    return _near_degenerate(max_m)
