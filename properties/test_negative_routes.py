"""Negative control for D7: a structured solver whose dual ascent drops one cone constraint
(``g_{j,v} ≤ 0`` for a margin inactive at the optimum, so that margin is forced to 1) and returns
its converged W without certification disagrees with the dense W^mm, and D7 rejects it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ntpverify.core.instance import Instance
from ntpverify.core.sampling import random_instance
from ntpverify.core.solution import Solution, solve
from ntpverify.core.structured import StructuredGeometry
from ntpverify.core.structured_kernels import all_active, block_epoch, mask_rows
from ntpverify.suite.checks.routes import check_D7
from ntpverify.suite.controls import assert_accepts, assert_rejects

pytestmark = pytest.mark.claim("D7")


def dropped_cone(inst: Instance) -> Solution:
    """solve(method="structured"), with W^mm replaced by the uncertified ascent on broken cones."""
    good = solve(inst, method="structured")
    assert good.W_mm is not None
    sg = StructuredGeometry(inst)
    Z = good.W_mm @ inst.embeddings.T
    margins = np.where(inst.support_mask, -np.inf, Z[sg.anchors, np.arange(inst.m)][:, None] - Z.T)
    j, v = np.unravel_index(np.argmax(margins), margins.shape)
    sign_free = inst.support_mask.copy()
    sign_free[j, v] = True
    G, W = np.zeros((inst.m, inst.V)), np.zeros((inst.V, inst.d))
    free_ptr, free_tok = mask_rows(sign_free)
    active, n_active = all_active(inst.m, inst.V)  # no shrinking: every token stays active
    for _ in range(20000):
        if block_epoch(sg.H, sg.hsq, sg.sup_ptr, sg.sup_tok, free_ptr, free_tok, G, W, np.arange(inst.m),
                       active, n_active, False) < 1e-14:
            break
    return replace(good, mm=replace(good.mm, W_mm=W))


def test_D7_rejects_a_structured_solver_with_a_cone_constraint_dropped() -> None:
    inst = random_instance(np.random.default_rng(3), 6, 4, 6)
    assert_rejects(check_D7(inst, structured=dropped_cone), "the ascent may drop a cone constraint")
    assert_accepts(check_D7(inst))
