"""Negative controls for C5, C8: each check is fed a false claim (a zero token floor, a wrong
limit, the other sampling) on a shared case where the conjecture's hypotheses hold, and must reject
it; the same check accepts the true objects on the same case."""

from __future__ import annotations

import pytest

from ntpverify.suite.checks.sgd_conjectures import check_C5, check_C8
from ntpverify.suite.controls import assert_accepts, assert_rejects, solved


@pytest.mark.claim("C5")
def test_C5_rejects_a_vanishing_floor() -> None:
    inst, _ = solved("example-C")
    # over contexts every draw's gradient vanishes at the limit: the F-part converges, and the
    # window mean of ‖P_F W_k − W⋆‖² is far below S(η) — the false claim "the token floor is 0"
    assert_rejects(check_C5(inst, over="contexts"), "SGD's F-part noise floor is S(η) with a vanishing noise")
    assert_accepts(check_C5(inst))


@pytest.mark.claim("C5")
def test_C5_rejects_a_wrong_W_star() -> None:
    inst, sol = solved("example-B")
    assert sol.W_star is not None
    # the floor around 2W⋆: the mean square distance is then ≈ ‖W⋆‖² + S(η), not S(η)
    assert_rejects(check_C5(inst, W_star=2.0 * sol.W_star), "token SGD's F-part floor is around 2W⋆")
    assert_accepts(check_C5(inst))


@pytest.mark.claim("C8")
def test_C8_rejects_a_floor() -> None:
    inst, _ = solved("example-C")
    # over tokens the F-part keeps its noise floor: the window maxima do not decay
    assert_rejects(check_C8(inst, over="tokens"), "SGD over tokens keeps GD's F-limit")
    assert_accepts(check_C8(inst))


@pytest.mark.claim("C8")
def test_C8_rejects_a_row_permuted_W_mm() -> None:
    inst, sol = solved("example-B")
    assert sol.W_mm is not None
    # W^mm of the instance with tokens 0, 1 swapped (as C4's control): the wrong instance's direction
    wrong = sol.W_mm[[1, 0, *range(2, inst.V)]]
    assert_rejects(check_C8(inst, limit=wrong), "SGD's direction tends to W^mm with tokens 0, 1 swapped")
    assert_accepts(check_C8(inst))
