"""User conjectures about optimizers beyond GD (examples/conjectures/optimizers.py, issue 12) go
through ``ntpverify search`` and ``ntpverify replay`` exactly like GD ones: same loading, same edge
cases for the default strategy, same verdicts, shrunk archives that replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from ntpverify import data
from ntpverify.suite import archive
from ntpverify.tools import cli
from ntpverify.tools.conjecture import select
from ntpverify.tools.search import run_conjecture, search

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "conjectures"
OPTIMIZERS = EXAMPLES / "optimizers.py"
TRUE_STATEMENTS = EXAMPLES / "true_statements.py"


@pytest.fixture(autouse=True)
def archive_root(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv(archive.ENV_ROOT, str(tmp_path / "archive"))
    return tmp_path / "archive"


def one(path: Path, name: str, max_examples: int, seed: int = 1):
    (conj,) = select(path, name)
    return run_conjecture(conj, max_examples, seed)


def test_the_file_loads_with_statements_and_strategies():
    conjectures = select(OPTIMIZERS)
    assert [c.name for c in conjectures] == ["heavy_ball_stays_on_w_mm", "ngd_keeps_zero_column_sums",
                                            "adam_tiny_eps_stays_on_w_mm", "ngd_drives_the_F_part_to_w_star"]
    assert [c.default_strategy for c in conjectures] == [False, True, False, True]
    assert all(c.file == str(OPTIMIZERS) for c in conjectures)
    assert conjectures[2].statement.startswith("False: Adam with ε = 1e-16")


def test_an_optimizer_conjecture_runs_like_the_gd_one():
    """NGD's column sums and GD's (true_statements.py): the same budget and seed give the same
    record shape, edge cases included (default strategy)."""
    ngd = one(OPTIMIZERS, "ngd_keeps_zero_column_sums", max_examples=20)
    gd = one(TRUE_STATEMENTS, "gd_conserves_column_sums", max_examples=20)
    for record in (ngd, gd):
        assert record.status == "survived" and record.counterexample is None
        assert record.passed == record.examples == 20 + len(data.names())
        assert record.failed == record.inconclusive == record.rejected == 0
    assert "relative column-sum drift" in ngd.best_targets


@pytest.mark.parametrize("name", ["heavy_ball_stays_on_w_mm", "ngd_keeps_zero_column_sums"])
def test_true_optimizer_conjectures_survive_a_small_budget(name, archive_root):
    record = one(OPTIMIZERS, name, max_examples=30)
    assert record.status == "survived", record.detail
    assert record.passed >= 30 and record.inconclusive == 0
    assert not archive_root.exists()


@pytest.mark.parametrize("name, message", [
    ("ngd_drives_the_F_part_to_w_star", "‖P_F W_k − W⋆‖"),
    ("adam_tiny_eps_stays_on_w_mm", "1 - cos(W_4000, W^mm)"),
])
def test_false_optimizer_conjectures_are_refuted_shrunk_and_replay(name, message, capsys):
    record = one(OPTIMIZERS, name, max_examples=30)
    assert record.status == "refuted" and message in record.detail
    doc = archive.load(record.counterexample)
    inst = doc["instance"]
    assert inst.name.startswith("hyp-"), "the shrunk generated example is archived, not an edge case"
    assert inst.m <= 2 and inst.d <= 2 and inst.V <= 5, "shrunk to a small instance"
    replay = doc["replay"]
    assert (replay["kind"], replay["file"], replay["name"]) == ("conjecture", str(OPTIMIZERS), name)
    status = cli.main(["replay", record.counterexample, "--conjecture-file", str(OPTIMIZERS)])
    out = capsys.readouterr().out
    assert status == 1 and out.startswith(f"still fails  {name}: AssertionError: {message}")
    assert record.detail in out, "the replay fails with the very message of the search"


def test_a_file_search_sorts_true_from_false():
    report = search(select(OPTIMIZERS), max_examples=20, seed=3, jobs=1)
    assert [r.status for r in report.records] == ["survived", "survived", "refuted", "refuted"]
    assert report.exit_status == 1
