"""Properties of the paper's GD claims: P5 (Lemma 2) and P6 (Theorem 2), on drawn instances.

Each example is a compatible, separable instance (the theorems' hypotheses), checked by
ntpverify.suite.checks.gd_limits at the profile's GD budget (``budget().gd_steps``, raised per example to
cover its measured transient). Regimes: ``generic_wide`` and ``orthogonal`` are compatible and
separable by construction (``rank H = m``, P2); ``integer_grid`` is filtered with ``assume`` (about
a quarter of its draws are rejected, 68 of 300 measured: the statistics show the count).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.gd_limits import check_P5, check_P6a, check_P6b, check_P6c
from ntpverify.core.instance import Instance
from ntpverify.suite.profiles import budget
from ntpverify.core.solution import solve
from ntpverify.suite.verdict import Verdict
from ntpverify.suite.enforcement import enforce

#: Regimes drawn for GD properties (see the module docstring).
GD_REGIMES = ("generic_wide", "orthogonal", "integer_grid")
#: Entries of a drawn start W_0 lie on the grid k/64·W0_SCALE, |k| ≤ 64: "small" starts of the
#: order of a few GD steps (P5 and P6 hold for any W_0; large starts only lengthen the transient).
W0_SCALE = 0.5


def hypotheses_instance(data: st.DataObject) -> Instance:
    """A drawn instance that is compatible and separable (``assume`` on integer_grid draws)."""
    inst = data.draw(nst.instances(regime=GD_REGIMES), label="instance")
    sol = solve(inst)
    assume(sol.compatible is True and sol.separable is True)
    return inst


def gd_property(test: Callable[[st.DataObject], None]) -> Callable[..., None]:
    """A GD property: ``test(data)`` on ``budget().gd_examples`` examples, drawing through ``data``."""
    return settings(max_examples=budget().gd_examples)(given(data=st.data())(test))


def enforce_gd(check: Callable[..., Verdict], inst: Instance, **drawn: Any) -> None:
    """:func:`enforce` ``check(inst, steps=budget().gd_steps, **drawn)``; the example's params (archived
    with a failure, so it replays) are ``steps`` and the drawn arguments, arrays as lists."""
    steps = budget().gd_steps
    params = {"steps": steps, **{k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in drawn.items()}}
    enforce(check(inst, steps=steps, **drawn), inst, params)


def start(data: st.DataObject, inst: Instance) -> np.ndarray:
    """A small drawn ``W_0`` (V×d) on a dyadic grid (exact, shrinks to 0)."""
    grid = nst.GRID
    ks = data.draw(st.lists(st.integers(-grid, grid), min_size=inst.V * inst.d, max_size=inst.V * inst.d),
                   label="W0")
    return np.asarray(ks, dtype=float).reshape(inst.V, inst.d) * (W0_SCALE / grid)


@gd_property
def test_P5_gd_loss_tends_to_entropy_and_norm_diverges(data):
    inst = hypotheses_instance(data)
    enforce_gd(check_P5, inst, W0=start(data, inst))


@gd_property
def test_P6a_gd_direction_tends_to_W_mm(data):
    enforce_gd(check_P6a, hypotheses_instance(data))


@gd_property
def test_P6b_gd_F_part_tends_to_W_star(data):
    enforce_gd(check_P6b, hypotheses_instance(data))


@gd_property
def test_P6c_limits_independent_of_start_step_and_weights(data):
    inst = hypotheses_instance(data)
    W0 = start(data, inst)
    halvings = data.draw(st.integers(1, 2), label="eta_halvings")
    weights = data.draw(nst.context_weights(inst.m), label="weights")
    enforce_gd(check_P6c, inst, W0=W0, eta_halvings=halvings, weights=weights)
