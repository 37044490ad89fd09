"""Properties of the paper's GD claims: P5 (Lemma 2) and P6 (Theorem 2), on drawn instances.

Each example is a compatible, separable instance (the theorems' hypotheses), checked by
ntpverify.suite.checks.gd_limits at the profile's GD budget (``budget().gd_steps``, raised per example to
cover its measured transient). Regimes: ``generic_wide`` and ``orthogonal`` are compatible and
separable by construction (``rank H = m``, P2); ``integer_grid`` is filtered with ``assume`` (about
a quarter of its draws are rejected, 68 of 300 measured: the statistics show the count).
"""

from __future__ import annotations


import pytest
from hypothesis import strategies as st

from ntpverify.suite import strategies as nst
from ntpverify.suite.checks.gd_limits import check_P5, check_P6a, check_P6b, check_P6c
from ntpverify.suite.harness import applicable_instance, enforce_gd, gd_property, small_start


@pytest.mark.claim("P5")
@gd_property
def test_P5_gd_loss_tends_to_entropy_and_norm_diverges(data):
    inst = applicable_instance(data, "P5")
    enforce_gd(check_P5, inst, W0=small_start(data, inst))


@pytest.mark.claim("P6a")
@gd_property
def test_P6a_gd_direction_tends_to_W_mm(data):
    enforce_gd(check_P6a, applicable_instance(data, "P6a"))


@pytest.mark.claim("P6b")
@gd_property
def test_P6b_gd_F_part_tends_to_W_star(data):
    enforce_gd(check_P6b, applicable_instance(data, "P6b"))


@pytest.mark.claim("P6c")
@gd_property
def test_P6c_limits_independent_of_start_step_and_weights(data):
    inst = applicable_instance(data, "P6c")
    W0 = small_start(data, inst)
    halvings = data.draw(st.integers(1, 2), label="eta_halvings")
    weights = data.draw(nst.context_weights(inst.m), label="weights")
    enforce_gd(check_P6c, inst, W0=W0, eta_halvings=halvings, weights=weights)
