"""Soundness of the rate conjectures' checks (checks/rates.py) on cases whose behaviour is known."""

from __future__ import annotations

from pathlib import Path

import pytest

import ntpverify as nv
from ntpverify.suite import archive
from ntpverify.suite.checks import evidence
from ntpverify.suite.checks.rates import check_C1, envelope_ratio
from ntpverify.core.instance import Instance

DATA = Path(nv.__file__).parent / "data"
PLATEAU = Path(__file__).parents[1] / "reports" / "counterexamples" / "C1" / "629f799524e8f7ca03c8.json"


def test_envelope_ratio_tends_to_one_on_case_A():
    """ηk (CE(W_k) − ℋ) → ‖W^mm‖² (derived in rates.py): within 1e-3 at 2^20 steps on case A."""
    sol = nv.solve(Instance.from_json((DATA / "example-A.json").read_text()))
    r = evidence.run(sol, 2**20, extend=False)
    gap = float(evidence.loss_gaps(sol.instance, r.W[:1])[0])
    assert abs(envelope_ratio(r, gap) - 1.0) < 1e-3


def test_a_plateau_below_the_envelope_is_inconclusive_not_a_counterexample():
    """The thorough run's C1 false alarm: the gap is flat at 2.9e-8 over k ∈ [6.6e4, 1e8], far below
    ‖W^mm‖²/(ηk); the slope decides nothing there."""
    doc = archive.load(PLATEAU)
    v = check_C1(doc["instance"], **doc["params"])
    assert v.outcome == "inconclusive" and v.detail.startswith("plateau"), v


@pytest.mark.parametrize("name", ["eb4e845bda84926ef1da", "c3a44f91d2b81d280ba7"])
def test_a_dip_below_the_forcing_envelope_is_inconclusive_not_a_counterexample(name):
    """The thorough run's other C1 false alarms (seed 12, and its shrunk neighbour): ‖P_F W_k − W⋆‖
    dips near k = 2^17 (window slopes −0.05, −0.23) at 0.001–0.008 of the envelope
    2 max‖h_j‖ (CE − ℋ)/μ_F that bounds it."""
    doc = archive.load(PLATEAU.with_name(f"{name}.json"))
    v = check_C1(doc["instance"], **doc["params"])
    assert v.outcome == "inconclusive" and v.detail.startswith("below its forcing envelope"), v
