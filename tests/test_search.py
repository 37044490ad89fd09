"""The search runner (ntpverify/tools/search.py) and ``ntpverify search``: verdicts, shrinking, exact
archiving, seeds, parallel jobs, progress and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ntpverify import data
from ntpverify.suite import archive
from ntpverify.tools import cli
from ntpverify.tools.conjecture import select
from ntpverify.core.instance import Instance
from ntpverify.tools.search import run_conjecture, search

CONJECTURES = '''
import os

from hypothesis import strategies as st

import ntpverify as nv
from ntpverify.suite.strategies import instances


@nv.conjecture(strategy=instances())  # a strategy of its own: generated and shrunk, no edge cases
def small_vocabulary(inst):
    """V is at most 2 (false: the strategy draws V up to 6)."""
    if inst.V > 2 and os.environ.get("FAILURE_LOG"):
        with open(os.environ["FAILURE_LOG"], "a") as log:  # what failed, bit for bit
            log.write(" ".join(a.tobytes().hex() for a in
                               (inst.embeddings, inst.weights, inst.next_token_probs)) + "\\n")
    nv.target(float(inst.V), label="V")
    assert inst.V <= 2, f"V = {inst.V}"


@nv.conjecture
def weights_sum_to_one(inst):
    """The weights sum to 1 within 1e-9 (true: instances are validated)."""
    return abs(inst.weights.sum() - 1.0) <= 1e-9


@nv.conjecture
def always_raises(inst):
    raise ValueError("no idea")


@nv.conjecture
def never_applies(inst):
    from hypothesis import assume
    assume(False)


@nv.conjecture
def mostly_inconclusive(inst):
    if inst.V > 2:
        raise nv.Inconclusive("W_mm", "pretend the solver gave up")


_seen = set()


@nv.conjecture
def flaky(inst):
    """Fails the first time it sees an instance with V > 2, passes after."""
    first = inst.content_hash() not in _seen
    _seen.add(inst.content_hash())
    assert not (first and inst.V > 2)


@nv.conjecture(strategy=st.integers())
def wrong_strategy(inst):
    pass


@nv.conjecture
def embeddings_are_distinct(inst):
    """No two contexts share an embedding (false: example E shares one, and random draws too)."""
    assert len({h.tobytes() for h in inst.embeddings}) == inst.m


@nv.conjecture
def not_example_C(inst):
    """Only a shipped edge case can refute this."""
    assert inst.name != "example-C-two-dims-three-contexts"
'''


@pytest.fixture
def conjectures(tmp_path: Path, monkeypatch) -> Path:
    """The conjecture file above, an archive and a failure log in ``tmp_path``."""
    monkeypatch.setenv(archive.ENV_ROOT, str(tmp_path / "archive"))
    monkeypatch.setenv("FAILURE_LOG", str(tmp_path / "failures.log"))
    path = tmp_path / "conjectures.py"
    path.write_text(CONJECTURES)
    return path


def one(path: Path, name: str, max_examples: int = 60, seed: int = 1):
    (conj,) = select(path, name)
    return run_conjecture(conj, max_examples, seed)


def last_failure_bytes(tmp_path: Path) -> list[str]:
    return (tmp_path / "failures.log").read_text().splitlines()[-1].split()


def array_bytes(inst: Instance) -> list[str]:
    return [a.tobytes().hex() for a in (inst.embeddings, inst.weights, inst.next_token_probs)]


def test_refutation_is_shrunk_and_archived_exactly_once(conjectures, tmp_path):
    record = one(conjectures, "small_vocabulary")
    assert record.status == "refuted" and record.detail == "AssertionError: V = 3"
    assert 1 <= record.first_failure_at <= 60 and record.failed >= 1
    assert record.best_targets["V"] >= 3
    files = list((tmp_path / "archive" / "small_vocabulary").iterdir())
    assert [str(f) for f in files] == [record.counterexample]
    doc = archive.load(record.counterexample)
    inst = doc["instance"]
    assert inst.V == 3, "shrunk to the smallest failing vocabulary"
    assert array_bytes(inst) == last_failure_bytes(tmp_path), "archived floats = failing floats, bitwise"
    assert doc["replay"]["kind"] == "conjecture" and doc["replay"]["name"] == "small_vocabulary"
    assert doc["replay"]["file"] == str(conjectures.resolve())
    assert doc["hypothesis"]["seed"] == 1 and doc["claim"]["statement"].startswith("V is at most 2")


def test_a_true_conjecture_survives(conjectures):
    record = one(conjectures, "weights_sum_to_one", max_examples=40)
    assert record.status == "survived" and record.counterexample is None
    assert record.passed == record.examples == 40 + len(data.names()) and record.failed == 0


@pytest.mark.parametrize("name, reason", [
    ("always_raises", "49 of 49 examples inconclusive (budget 5%): 49× ValueError: no idea"),  # 9 edge cases
    ("never_applies", "no instance satisfied the assumptions"),
    ("mostly_inconclusive", "examples inconclusive (budget 5%): "),
    ("flaky", "a failure did not replay"),
    ("wrong_strategy", "the search stopped: TypeError: the strategy of wrong_strategy drew a int"),
])
def test_inconclusive_searches_say_why(conjectures, tmp_path, name, reason):
    record = one(conjectures, name, max_examples=40)
    assert record.status == "inconclusive" and reason in record.detail
    assert record.counterexample is None and not (tmp_path / "archive").exists()


def test_default_strategy_searches_start_with_the_edge_cases_and_prefer_a_shrunk_draw(conjectures):
    record = one(conjectures, "embeddings_are_distinct")
    assert record.status == "refuted" and record.first_failure_at <= len(data.names())
    shrunk = archive.load(record.counterexample)["instance"]
    assert shrunk.name.startswith("hyp-") and (shrunk.m, shrunk.d, shrunk.V) == (2, 1, 2)
    fallback = one(conjectures, "not_example_C")
    assert fallback.status == "refuted" and fallback.first_failure_at == 3
    assert archive.load(fallback.counterexample)["instance"].name == "example-C-two-dims-three-contexts"


def test_a_seed_repeats_the_search(conjectures):
    first, second = (one(conjectures, "small_vocabulary", seed=7) for _ in range(2))
    assert (first.first_failure_at, first.counterexample) == (second.first_failure_at, second.counterexample)


def test_progress_only_when_asked_or_on_a_terminal(conjectures, capsys):
    (conj,) = select(conjectures, "weights_sum_to_one")
    search([conj], max_examples=20, seed=1)  # stderr is captured: not a terminal
    assert capsys.readouterr().err == ""
    search([conj], max_examples=20, seed=1, progress=True)
    assert "search: weights_sum_to_one" in capsys.readouterr().err


# --- the command line ----------------------------------------------------------------------------


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_json_and_exit_status(conjectures, capsys):
    status, out, _ = run(["search", f"{conjectures}::small_vocabulary", "--max-examples", "30",
                          "--seed", "2", "--json"], capsys)
    assert status == 1
    (record,) = json.loads(out)["records"]
    assert record["status"] == "refuted" and Path(record["counterexample"]).is_file()
    status, out, _ = run(["search", f"{conjectures}::weights_sum_to_one", "--max-examples", "30"], capsys)
    assert status == 0 and out.startswith(f"survived      weights_sum_to_one: {30 + len(data.names())} examples")


@pytest.mark.parametrize("argv, message", [
    (["search", "missing.py"], "missing.py: no such file"),
    (["search", "{file}::nope"], "no conjecture named 'nope'"),
    (["search", "{file}", "--max-examples", "0"], "expected a positive integer"),
    (["search", "{file}", "--jobs", "x"], "expected a positive integer"),
])
def test_cli_bad_usage_exits_2(conjectures, capsys, argv, message):
    status, out, err = run([a.format(file=conjectures) for a in argv], capsys)
    assert status == 2 and out == "" and message in err and err.count("\n") == 1


def test_parallel_search_replays_bit_for_bit(conjectures, tmp_path):
    """``--jobs 2`` in a real process (spawned workers): the refutation replays and fails again,
    and the archived floats are the ones that failed."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    specs = [f"{conjectures}::small_vocabulary", f"{conjectures}::weights_sum_to_one"]
    done = subprocess.run([sys.executable, "-m", "ntpverify.tools.cli", "search", *specs, "--jobs", "2", "--seed", "5",
                           "--max-examples", "50", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "", "no progress output when stderr is not a terminal"
    refuted, survived = json.loads(done.stdout)["records"]
    assert (refuted["status"], survived["status"]) == ("refuted", "survived")
    path = refuted["counterexample"]
    assert array_bytes(archive.load(path)["instance"]) == last_failure_bytes(tmp_path)
    replayed = subprocess.run([sys.executable, "-m", "ntpverify.tools.cli", "replay", path, "--trust-file", "--json"],
                              capture_output=True, text=True, env=env, cwd=tmp_path)
    assert replayed.returncode == 1, replayed.stderr
    (record,) = json.loads(replayed.stdout)["records"]
    assert record["outcome"] == "fail" and record["exact"] and record["detail"] == "AssertionError: V = 3"


def test_all_conjectures_of_a_file_in_order(conjectures):
    names = [c.name for c in select(conjectures)]
    assert names[:2] == ["small_vocabulary", "weights_sum_to_one"]
    report = search([c for c in select(conjectures) if c.name in names[:2]], max_examples=20, seed=3, jobs=1)
    assert [r.conjecture for r in report.records] == names[:2]
    assert report.exit_status == 1 and np.isfinite(report.records[0].seconds)
    assert textwrap.dedent(report.summary()).startswith("refuted       small_vocabulary")
