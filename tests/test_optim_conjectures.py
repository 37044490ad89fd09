"""checks/optim_conjectures.py and the judge it shares with optim_limits: the bracket of an unknown
rate (Rate.fast), C7's archived counterexample replayed, and the typed outcomes off the claims'
hypotheses (overflow, ε below the hypothesis)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ntpverify.optim.optimizers import GD, NGD
from ntpverify.suite.checks import optim_conjectures as oc
from ntpverify.suite.checks.optim_limits import Readings, judge
from ntpverify.suite.controls import solved
from ntpverify.tools.replay import replay_file

C7_CASE = next((Path(__file__).parents[1] / "reports/counterexamples/C7").glob("*.json"))
TOL = oc.C4_RATE.tolerance


def readings(shape: str, a: float, C: float) -> Readings:
    """``e(k) = a + C·shape(k)`` exactly at k = 2^10 … 2^13, every iterate separating the data."""
    f = {"1/k": lambda k: 1.0 / k, "1/log k": lambda k: 1.0 / math.log(k)}[shape]
    ks = [2**i for i in range(10, 14)]
    return Readings({k: a + C * f(k) for k in ks}, dict.fromkeys(ks, True), None, NGD(0.1))


def test_an_unknown_rate_passes_on_its_fastest_fit() -> None:
    # e falls like 1/k to 0.1·TOL: e(K) is beyond the tolerance, the 1/k limit within
    v = judge("C4", oc.C4_RATE, readings("1/k", 0.1 * TOL, 4000.0), "e", 0.0, 0.0)
    assert v.outcome == "pass" and "fastest rate allowed" in v.detail, v.describe()


def test_an_unknown_rate_fails_only_on_its_slowest_fit() -> None:
    # e falls like 1/log k to 2·TOL: even the slowest shape's (smallest) limit is beyond
    v = judge("C4", oc.C4_RATE, readings("1/log k", 2 * TOL, 1.0), "e", 0.0, 0.0)
    assert v.outcome == "fail" and v.observed is not None and math.isclose(v.observed, 2 * TOL), v.describe()


def test_fits_that_straddle_the_tolerance_are_inconclusive() -> None:
    # along 1/log k to 0.5·TOL: that limit is within, the 1/k one (larger) is not
    v = judge("C4", oc.C4_RATE, readings("1/log k", 0.5 * TOL, 2.0), "e", 0.0, 0.0)
    assert v.outcome == "inconclusive" and "bracket the tolerance" in v.detail, v.describe()


def test_the_archived_C7_counterexample_replays_as_a_pass() -> None:
    # the shrunk case: V = 3, m = d = 1, p = (½, ½, 0), η = 16/L; its gap stays at ≈ 6 nats
    record = replay_file(C7_CASE)
    assert record.claim == "C7" and record.outcome == "pass", record.detail


def test_C7_types_an_overflow_as_inconclusive() -> None:
    inst, _ = solved("example-A")
    v = oc.check_C7(inst, optimizer=GD(1e300))
    assert v.outcome == "inconclusive" and "float64's range" in v.detail, v.describe()


def test_C7_is_vacuous_below_the_edge() -> None:
    inst, _ = solved("example-B")  # ηλ_F⁺ = 2.18 at c = 4
    assert oc.check_C7(inst, c=4.0).outcome == "vacuous"


def test_C6_is_vacuous_below_its_eps() -> None:
    inst, _ = solved("example-B")
    assert oc.check_C6(inst, eps_factor=0.5).outcome == "vacuous"


def test_the_search_says_when_a_conjecture_survives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NTPVERIFY_ARCHIVE_DIR", str(tmp_path))  # a find would archive there, not in reports/
    out = oc.search("C6", 1, 2)
    assert isinstance(out, str) and out.startswith("C6 survives"), out
