"""Negative controls on the large size (properties/test_large.py): at m = 400 contexts, beyond the
dense route's size (solve() takes the structured route), the checks still reject a wrong solver.
The controls of the same claims on small instances are in the other test_negative_*.py files."""

from __future__ import annotations

import numpy as np
import pytest

from ntpverify.core.instance import Instance
from ntpverify.core.solution import Solution, solve
from ntpverify.suite.checks.invariance import check_D9
from ntpverify.suite.controls import assert_accepts, assert_rejects


def large_compatible() -> Instance:
    """m = 400, V = 4, d = 8 (1200 constraints > AUTO_DENSE_MAX_CONSTRAINTS): one-token supports
    except 12 two-token contexts, whose 12 equations on 32 unknowns are solvable, so W⋆ ≠ 0."""
    rng = np.random.default_rng(5)
    m, V, d = 400, 4, 8
    P = np.zeros((m, V))
    P[np.arange(m), rng.integers(0, V, m)] = 1.0
    for j in range(12):
        P[j] = 0.0
        P[j, rng.choice(V, 2, replace=False)] = rng.dirichlet(np.ones(2))
    return Instance(rng.standard_normal((m, d)), np.full(m, 1.0 / m), P, name="large-compatible")


@pytest.mark.claim("D9")
def test_D9_rejects_a_large_solver_whose_objects_do_not_scale() -> None:
    """W⋆ not divided by c on the structured route: a solver returning W⋆(H) for cH."""
    inst = large_compatible()
    frozen = solve(inst)
    assert frozen.structure is not None and frozen.compatible and frozen.W_star is not None
    assert np.linalg.norm(frozen.W_star) > 0

    def stuck(other: Instance) -> Solution:
        return frozen if other is inst else Solution(other, frozen.geometry, frozen.entropy, frozen.compat,
                                                     frozen.sep, frozen.mm, frozen.structure)

    assert_rejects(check_D9(inst, 3, solver=stuck), "W⋆(cH) = W⋆(H)")
    assert_accepts(check_D9(inst, 3))
