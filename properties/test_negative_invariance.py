"""Negative controls for D9: a solver that decides on the raw H, with the absolute tolerances of
the LP, the NNLS and the Farkas check (the route before normalization), flips verdicts at scales
float64 represents well, and D9 rejects it."""

from __future__ import annotations

import pytest

from ntpverify.core.compatibility import compatibility_of
from ntpverify.core.geometry import Geometry
from ntpverify.core.instance import Instance
from ntpverify.core.maxmargin import decide
from ntpverify.core.model import entropy
from ntpverify.core.solution import Solution, solve
from ntpverify.suite.checks.invariance import check_D9
from ntpverify.suite.controls import assert_accepts, assert_rejects, case

pytestmark = pytest.mark.claim("D9")


def unnormalized(inst: Instance) -> Solution:
    """solve() without the exact normalization of scaling.py."""
    geo = Geometry(inst)
    return Solution(inst, geo, entropy(inst), compatibility_of(geo), *decide(geo))


@pytest.mark.parametrize("name", ["example-A", "example-I"])
def test_D9_rejects_a_solver_with_absolute_tolerances(name: str) -> None:
    """At c = 2^-565 ≈ 1e-170 the raw route certifies these separable cases not separable."""
    inst = case(name)
    assert_rejects(check_D9(inst, -565, solver=unnormalized), "separability does not depend on the scale of H")
    assert_accepts(check_D9(inst, -565))


def test_D9_rejects_a_solver_whose_objects_do_not_scale() -> None:
    """W^mm not divided by c: a solver returning W^mm(H) for cH."""
    inst = case("example-A")
    frozen = solve(inst)

    def stuck(other: Instance) -> Solution:
        return frozen if other is inst else Solution(other, frozen.geometry, frozen.entropy, frozen.compat,
                                                     frozen.sep, frozen.mm)

    assert_rejects(check_D9(inst, 3, solver=stuck), "W^mm(cH) = W^mm(H)")
