"""``ntpverify replay FILE…`` (ntpverify/tools/replay.py): claims and conjectures re-run on their exact
archived instances; exit 1 while a case fails (or is inconclusive), 0 once every case holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_archive import fake_claims  # noqa: F401 - the fixture: fake claims Z1, Z2, Z3

from ntpverify.suite import archive
from ntpverify.tools import cli
from ntpverify.tools.conjecture import select
from ntpverify.core.instance import Instance
from ntpverify.tools.search import run_conjecture
from ntpverify.suite.verdict import Verdict

V3 = Instance([[1.0, 0.5]], [1.0], [[0.2, 0.3, 0.5]])
V2 = Instance([[1.0, 0.5]], [1.0], [[0.2, 0.8]])


def archived(claim_id: str, inst: Instance, params: dict | None = None) -> Path:
    claim = {"id": claim_id, "kind": "derived", "statement": "s", "tolerance": "t"}
    return archive.write(claim, Verdict(claim_id, "fail", 3.0, 2.0, "test", "d"), inst, params)


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.usefixtures("fake_claims")
def test_claim_cases_exit_1_while_any_fails(capsys):
    fails, holds, unsure = archived("Z1", V3), archived("Z1", V2), archived("Z3", V3)
    assert run(["replay", str(holds)], capsys)[:2] == (0, f"now holds    Z1: V against limit (observed 2.0, "
                                                         f"bound 2.0)\n  {holds}\n")
    status, out, _ = run(["replay", str(holds), str(fails), str(unsure), "--json"], capsys)
    assert status == 1
    records = json.loads(out)["records"]
    assert [r["outcome"] for r in records] == ["pass", "fail", "inconclusive"]
    assert records[1]["observed"] == 3.0 and all(r["exact"] for r in records)
    assert run(["replay", str(unsure)], capsys)[0] == 1, "inconclusive does not show the fix"


@pytest.mark.usefixtures("fake_claims")
def test_params_are_replayed(capsys):
    path = archived("Z1", V3, {"limit": 5.0})
    assert run(["replay", str(path)], capsys)[0] == 0


@pytest.mark.usefixtures("fake_claims")
def test_a_renamed_file_still_replays_with_a_warning(capsys):
    path = archived("Z1", V3)
    moved = path.with_name("renamed.json")
    path.rename(moved)
    status, out, _ = run(["replay", str(moved)], capsys)
    assert status == 1 and "warning: the file name is not the hash of its content" in out


@pytest.mark.parametrize("how", [["--trust-file"], ["--conjecture-file", "SOURCE"]])
def test_conjecture_cases_replay_the_current_file(tmp_path, monkeypatch, capsys, how):
    """Conjecture code runs only when asked: from the recorded file with --trust-file, or from the
    file given with --conjecture-file."""
    monkeypatch.setenv(archive.ENV_ROOT, str(tmp_path / "archive"))
    source = tmp_path / "mine.py"
    source.write_text("import ntpverify as nv\n\n@nv.conjecture\ndef few_contexts(inst):\n"
                      "    assert inst.m <= 1, f'm = {inst.m}'\n")
    record = run_conjecture(select(source)[0], 50, seed=4)
    assert record.status == "refuted"
    options = [str(source) if o == "SOURCE" else o for o in how]
    status, out, _ = run(["replay", record.counterexample, *options], capsys)
    assert status == 1 and out.startswith("still fails  few_contexts: AssertionError: m = 2")
    source.write_text(source.read_text().replace("<= 1", "<= 10"))  # "fixed": replays the new code
    assert run(["replay", record.counterexample, *options], capsys)[0] == 0


def text_file(directory: Path, text: str) -> Path:
    path = directory / "x.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.json", "cannot be read"),
    (lambda d: text_file(d, '{"format": "other"}'), "format: expected"),
    (lambda d: text_file(d, "{"), "<json>"),
    (lambda d: archived("no-such-claim", V3), "unknown claim 'no-such-claim'"),
])
def test_bad_files_exit_2(tmp_path, monkeypatch, capsys, make, message):
    monkeypatch.setenv(archive.ENV_ROOT, str(tmp_path))
    status, out, err = run(["replay", str(make(tmp_path))], capsys)
    assert status == 2 and out == "" and message in err, err


def test_a_missing_conjecture_file_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(archive.ENV_ROOT, str(tmp_path))
    claim = {"id": "c", "kind": "user conjecture", "statement": "s", "tolerance": "t"}
    path = archive.write(claim, Verdict("c", "fail"), V3,
                         replay={"kind": "conjecture", "file": str(tmp_path / "gone.py"), "name": "c"})
    status, _, err = run(["replay", str(path), "--trust-file"], capsys)
    assert status == 2 and "gone.py: no such file" in err
