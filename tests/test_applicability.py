"""The applicability gate (suite/applicability.py): each requirement decides what it says on the
shipped cases, and every check defers to the gate: where the gate says a claim's hypothesis fails,
the check is ``vacuous`` (never a pass), so no check re-decides its hypotheses differently."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ntpverify import data
from ntpverify.core.instance import Instance
from ntpverify.core.status import Status
from ntpverify.suite import claims
from ntpverify.suite.applicability import applies, gate
from ntpverify.suite.controls import case, solved

CASES = sorted(p.stem for p in data.DIR.glob("*.json"))


@pytest.mark.parametrize("claim", [c for c in claims.CATALOGUE if c.requires], ids=lambda c: c.id)
def test_a_check_is_vacuous_where_the_gate_says(claim):
    outcomes = {}
    for name in CASES:
        inst, sol = solved(name)
        gated = applies(claim.id, inst, sol)
        if gated is not None and gated.outcome == "vacuous":
            outcomes[name] = claim.checker()(inst).outcome
    assert set(outcomes.values()) <= {"vacuous"}, outcomes


def test_requirements_decide_the_shipped_cases():
    E = case("example-E")  # compatible, not separable
    F = case("example-F")  # separable, not compatible
    G = case("example-G")  # one-hot, not separable
    assert gate("X", ("compatible",), E) is None
    assert gate("X", ("separable",), E).outcome == "vacuous"
    assert gate("X", ("compatible",), F).outcome == "vacuous"
    assert gate("X", ("exactly_one_condition",), E) is None
    assert gate("X", ("one_hot",), G) is None and gate("X", ("one_hot",), E).outcome == "vacuous"
    assert gate("X", ("orthogonal",), case("example-H")) is None


def test_an_undecided_requirement_is_inconclusive_not_vacuous():
    """A condition whose solver could not decide gives ``inconclusive`` with the reason."""
    inst, sol = solved("example-A")
    undecided = replace(sol, sep=replace(sol.sep, separable=None, status=Status("inconclusive", "test")))
    verdict = gate("X", ("separable",), inst, undecided)
    assert verdict.outcome == "inconclusive" and "separable" in verdict.detail


def test_a_gate_with_an_unknown_requirement_is_an_error():
    with pytest.raises(KeyError):
        gate("X", ("no_such_requirement",), case("example-A"))


def test_I2_and_OI2_are_vacuous_when_the_data_span_R_d() -> None:
    """Both null-direction claims say the same thing when span{h_j} = R^d: nothing to check, vacuous
    (not inconclusive: the hypothesis is decided false)."""
    from ntpverify.suite.checks.exact import check_I2
    from ntpverify.suite.checks.optim_invariants import check_OI2

    inst = Instance(np.eye(2), [0.5, 0.5], [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    assert check_I2(inst, steps=4).outcome == "vacuous"
    assert check_OI2(inst, "ngd", steps=4).outcome == "vacuous"
