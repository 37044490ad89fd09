"""The main job's report: aggregation (report.py), figures (figures.py) and ``ntpverify verify``
(verify.py) end to end on a small property suite of fake claims."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_archive import fake_claims, property_suite  # noqa: F401 - fake_claims is a fixture

from ntpverify.suite import archive, claims
from ntpverify.tools import cli, figures
from ntpverify.tools.report import claim_rows, summary_markdown
from ntpverify.tools.verify import MARKER, verify

FIGURES = ["loss_gap.png", "dist_F.png", "direction.png", "norm_Fperp.png", "rows_d2.png"]


def outcome(claim: str, outcome: str, score: float | None = None) -> dict:
    return {"claim": claim, "outcome": outcome, "score": score}


def test_rows_aggregate_outcomes_targets_and_archives():
    rows = claim_rows([
        outcome("P2", "pass", 0.25), outcome("P2", "pass", 0.5), outcome("P2", "inconclusive"),
        outcome("P1", "fail", 3.0), outcome("P1", "pass", float("nan")),
        {"claim": "P1", "target": "P1 normalized error", "score": 3.0},
        {"claim": "P1", "target": "margin", "score": 7.0},
        {"claim": None, "target": "orphan", "score": 99.0},
        {"claim": "P1", "archived": "/a/P1/x.json"}, {"claim": "P1", "archived": "/a/P1/x.json"},
        outcome("Q9", "pass", 0.1),
    ])
    assert [r.id for r in rows] == [c.id for c in claims.CATALOGUE] + ["Q9"], "catalogue order, unknown last"
    by_id = {r.id: r for r in rows}
    p1, p2 = by_id["P1"], by_id["P2"]
    assert (p1.status, p1.examples, p1.failed, p1.passed) == ("fail", 2, 1, 1)
    assert p1.worst_normalized_error == 3.0 and p1.counterexamples == ["/a/P1/x.json"]
    assert (p1.best_target_score, p1.best_target_label) == (7.0, "margin")
    assert (p2.status, p2.examples, p2.inconclusive, p2.worst_normalized_error) == ("inconclusive", 3, 1, 0.5)
    assert by_id["P3"].status == "not run" and by_id["Q9"].kind == "unknown"


def test_summary_links_are_relative_and_cells_escaped(tmp_path):
    (row,) = [r for r in claim_rows([outcome("P1", "fail", 2.0),
                                     {"claim": "P1", "archived": str(tmp_path / "counterexamples/P1/abcdef1234.json")}])
              if r.id == "P1"]
    row.statement = "a | b"
    prov = {"package": "ntpverify 0", "git_revision": None, "date": "d", "profile": "ci", "seed": 1,
            "python": "3", "platform": "p", "libraries": {"numpy": "2"}, "cpu": "c", "jobs": 2,
            "wall_seconds": 1.0, "pytest_seconds": 0.5}
    text = summary_markdown(prov, [row], {"exit_status": 1, "outcome": "1 failed in 1s", "log": "pytest.log"},
                            [{"file": "f.png", "title": "t", "caption": "c"}], tmp_path / "latest")
    assert "| P1 | paper | a \\| b | fail | 1 | 0 | 1 | 0 | 0 | 2 | – | [abcdef12](../counterexamples/P1/abcdef1234.json) |" in text
    assert "![t](f.png)" in text and "| git revision | unknown |" in text


def test_figures_are_byte_stable_pngs(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for d in (first, second):
        d.mkdir()
        assert [f["file"] for f in figures.render_all(d, steps=3000)] == FIGURES
    for name in FIGURES:
        data = (first / name).read_bytes()
        assert data.startswith(b"\x89PNG") and b"Software" not in data
        assert data == (second / name).read_bytes(), name


def test_log_checkpoints():
    assert figures.log_checkpoints(100, per_decade=2) == [0, 1, 3, 10, 32, 100]


@pytest.mark.usefixtures("fake_claims")
def test_verify_writes_the_report_and_fails_with_the_suite(tmp_path, capsys):
    out = tmp_path / "reports" / "latest"
    result = verify(profile="ci", jobs=2, out=out, properties=property_suite(tmp_path), figure_steps=2000,
                    echo=False)
    assert result.exit_status == 1
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "summary.md", "results.json", "pytest.log",
                                                            *FIGURES])
    assert [p.name for p in out.parent.iterdir()] == ["latest"], "no staging directory left behind"
    doc = json.loads((out / "results.json").read_text())
    assert doc["format"] == "ntpverify.report/1" and doc["pytest"]["exit_status"] == 1
    assert doc["provenance"]["profile"] == "ci" and doc["provenance"]["seed"] == "derandomized by the profile"
    rows = {r["id"]: r for r in doc["claims"]}
    z1, z2 = rows["Z1"], rows["Z2"]
    assert z1["status"] == "fail" and z1["failed"] >= 1 and z1["worst_normalized_error"] >= 1.5
    (case,) = z1["counterexamples"]
    assert archive.load(case)["instance"].V == 3
    assert z2["status"] == "pass" and z2["examples"] >= 20 and z2["inconclusive"] == 0
    assert z1["best_target_score"] == z1["worst_normalized_error"], "enforce targets the normalized error"
    summary = (out / "summary.md").read_text()
    assert "| package | ntpverify" in summary and "1 failed, 1 passed" in summary
    assert f"]({Path('..') / '..' / 'archive' / 'Z1' / Path(case).name})" in summary


@pytest.mark.usefixtures("fake_claims")
def test_verify_replaces_the_report_and_an_empty_suite_fails(tmp_path):
    out = tmp_path / "latest"
    out.mkdir()
    (out / MARKER).write_text("ntpverify.report/1\n")  # a report of an earlier run: replaced whole
    (out / "stale.txt").write_text("old")
    suite = property_suite(tmp_path, text="")  # conftest only: nothing collected, pytest exits 5
    result = verify(profile="dev", jobs=1, seed=11, out=out, properties=suite, figure_steps=500, echo=False)
    assert result.exit_status == 1 and result.document["pytest"]["exit_status"] == 5
    assert not (out / "stale.txt").exists() and (out / "summary.md").exists()
    assert result.document["provenance"]["seed"] == 11


def test_verify_rejects_an_unknown_profile(capsys):
    assert cli.main(["verify", "--profile", "search"]) == 2
    assert "unknown profile 'search'" in capsys.readouterr().err


def test_vacuous_examples_are_counted_apart_and_outside_the_budget():
    """20 vacuous draws and 19 passes with 1 inconclusive: 1/20 = 5% of the applicable ones is within
    the budget; vacuous draws are no passes, and a claim with only vacuous draws is ``vacuous``."""
    rows = [outcome("P2", "vacuous")] * 20 + [outcome("P2", "pass")] * 19 + [outcome("P2", "inconclusive")]
    rows += [outcome("P4", "vacuous")] * 3
    by_id = {r.id: r for r in claim_rows(rows)}
    p2, p4 = by_id["P2"], by_id["P4"]
    assert (p2.status, p2.examples, p2.passed, p2.vacuous, p2.inconclusive) == ("pass", 40, 19, 20, 1)
    assert (p4.status, p4.passed, p4.vacuous) == ("vacuous", 0, 3)
