"""ntpverify.suite.checks.sgd_conjectures: the noise floor S(η) against the exact stationary
covariance of the linear recursion, the step, the
typed outcomes (vacuous, inconclusive), determinism, and the archived C5 counterexample's replay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

from ntpverify.suite.checks.sgd_conjectures import (
    ETA_FACTOR_MAX,
    check_C5,
    check_C8,
    sgd_step,
    token_floor,
)
from ntpverify.suite.controls import case
from ntpverify.tools.replay import replay_file

ARCHIVE = Path(__file__).resolve().parents[1] / "reports" / "counterexamples" / "C5"


def test_token_floor_is_the_stationary_variance_of_the_linear_recursion() -> None:
    """``e ← (I − ηA)e − ηξ``, ``Cov ξ = A/B``: the stationary X solves X = M X Mᵀ + η²A/B
    (scipy's discrete Lyapunov solver, independent of the closed form); tr X = S(η)."""
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    lam = np.array([0.05, 0.3, 0.7, 1.1])
    A = Q @ np.diag(lam) @ Q.T
    eta, B = 0.8, 3
    M = np.eye(4) - eta * A
    X = scipy.linalg.solve_discrete_lyapunov(M, eta**2 * A / B)
    assert np.trace(X) == pytest.approx(token_floor(lam, eta, B), rel=1e-12)


def test_sgd_step_is_per_draw() -> None:
    inst = case("example-H-orthonormal")
    assert sgd_step(inst, 0.5) == pytest.approx(0.5 / np.max(np.sum(inst.embeddings**2, axis=1)))


def test_typed_outcomes() -> None:
    one_hot = case("example-I")
    assert check_C5(one_hot).outcome == "vacuous"  # F = {0}
    inst = case("example-C")
    v = check_C5(inst, eta_factor=2 * ETA_FACTOR_MAX)
    assert v.outcome == "inconclusive" and "eta_factor" in v.detail
    assert check_C5(inst, max_steps=1000).outcome == "inconclusive"  # budget too short
    assert check_C5(case("example-E")).outcome == "vacuous"  # not separable: the gate


@pytest.mark.parametrize("check", [check_C5, check_C8])
def test_seeded_and_deterministic(check) -> None:  # type: ignore[no-untyped-def]
    inst = case("example-A")
    a, b = check(inst, seed=3), check(inst, seed=3)
    assert (a.outcome, a.observed, a.detail) == (b.outcome, b.observed, b.detail)
    assert check(inst, seed=4).detail != a.detail


def test_archived_C5_counterexample_replays() -> None:
    files = sorted(ARCHIVE.glob("*.json"))
    assert files, "the C5 search archives its shrunk counterexample here"
    for f in files:
        record = replay_file(f)
        assert record.outcome == "pass" and record.exact, record
