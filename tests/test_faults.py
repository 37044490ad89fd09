"""The fault campaign of issue 13 (parts 3–4), one test per finding and variants of its class:
nothing destroyed (``verify --out``), nothing executed by surprise (``replay``), archive names
that stay inside the root, bounded resources (``--steps``, archived ``params``, special files,
malformed archives, divergence) and clean stops (Ctrl-C, SIGTERM: exit 130, one line)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ntpverify import data
from ntpverify.core.instance import Instance
from ntpverify.optim import gd as engine
from ntpverify.optim.gd import MAX_STEPS, Divergence, gd
from ntpverify.suite import archive
from ntpverify.suite.verdict import Verdict
from ntpverify.tools import cli, verify

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_A = str(data.DIR / "example-A.json")
V3 = Instance([[1.0, 0.5]], [1.0], [[0.2, 0.3, 0.5]])
CLAIM = {"id": "P6a", "kind": "paper", "statement": "s", "tolerance": "t"}


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(status: int, out: str, err: str, *words: str) -> bool:
    """Exit 2, nothing on stdout, one line on stderr containing every word."""
    return (status == 2 and out == "" and err.count("\n") == 1 and err.startswith("ntpverify")
            and all(w in err for w in words))


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its content (None for directories): a snapshot."""
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes() for p in sorted(root.rglob("*"))}


@pytest.fixture
def archive_root(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "archive"
    monkeypatch.setenv(archive.ENV_ROOT, str(root))
    return root


# --- 1. verify --out replaces only a report it wrote ----------------------------------------------


def _not_a_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("mine")
    return path


def _foreign_dir(tmp_path: Path) -> Path:
    path = tmp_path / "thesis"
    (path / "chapters").mkdir(parents=True)
    (path / "chapters" / "one.tex").write_text("precious")
    return path


def _cwd(tmp_path: Path) -> Path:
    (tmp_path / "work.txt").write_text("precious")
    return Path(".")


def _parent_of_cwd(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    os.chdir(tmp_path / "sub")
    return Path("..")


def _symlink(tmp_path: Path) -> Path:
    link = tmp_path / "link"
    link.symlink_to(_foreign_dir(tmp_path))
    return link


def _fake_marker(tmp_path: Path) -> Path:
    """A marker whose first line is not the report format."""
    path = _foreign_dir(tmp_path)
    (path / verify.MARKER).write_text("something else\n")
    return path


@pytest.mark.parametrize("make", [_not_a_file, _foreign_dir, _cwd, _parent_of_cwd, _symlink, _fake_marker])
def test_verify_out_refuses_what_it_did_not_write(make, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = make(tmp_path)
    before = tree(tmp_path)
    status, stdout, err = run(["verify", "--out", str(out)], capsys)
    assert one_line_error(status, stdout, err, "--out"), err
    assert tree(tmp_path) == before, "nothing touched"


def test_verify_out_accepts_a_new_an_empty_or_a_marked_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / verify.MARKER).write_text(f"{verify.MARKER_LINE}\nwritten by verify\n")
    for name in ("new", "empty", "ours"):
        assert verify.check_out(Path(name)) == tmp_path / name


def test_an_interrupted_verify_leaves_the_old_report_whole_and_no_temporary_directory(tmp_path, monkeypatch):
    out = tmp_path / "reports" / "latest"
    out.mkdir(parents=True)
    (out / verify.MARKER).write_text(f"{verify.MARKER_LINE}\n")
    (out / "summary.md").write_text("the old report")
    before = tree(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(verify, "run_pytest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        verify.verify(out=out, properties=tmp_path, echo=False)
    assert tree(tmp_path) == before and [p.name for p in out.parent.iterdir()] == ["latest"]


def test_a_signal_during_the_swap_waits_until_the_swap_is_done():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with verify._signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler would have run by now
            done.append(True)
    assert done == [True]


def living(pid: int) -> bool:
    """Is process ``pid`` running (not gone, not a zombie waiting for an init that may never reap it)?"""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def living_in_group(pgid: int) -> list[int]:
    """The living processes of process group ``pgid``."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(") ", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            found.append(int(stat_file.parent.name))
    return found


def test_an_interrupted_pytest_run_is_killed_with_its_whole_process_group(tmp_path, monkeypatch):
    """The pytest child and the workers it started die with the run (here: a child that starts a
    grandchild, then both sleep; the interrupt comes as the child's first line is echoed)."""
    pids = tmp_path / "pids"
    script = ("import subprocess, sys, time\n"
              "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
              f"open({str(pids)!r}, 'w').write(f'{{g.pid}}')\n"
              "print('started', flush=True)\n"
              "time.sleep(60)\n")

    class Interrupting:
        def write(self, text: str) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(sys, "stderr", Interrupting())
    with pytest.raises(KeyboardInterrupt):
        verify.run_pytest([sys.executable, "-c", script], dict(os.environ), tmp_path / "log", echo=True)
    monkeypatch.undo()
    grandchild = int(pids.read_text())
    deadline = time.monotonic() + 10
    while living(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not living(grandchild), "the grandchild outlived the interrupted run"


# --- 2. replay imports conjecture code only when asked --------------------------------------------

CONJECTURE = """import pathlib
import ntpverify as nv
pathlib.Path({flag!r}).write_text("imported")

@nv.conjecture
def few_contexts(inst):
    assert inst.m <= 0
"""


def conjecture_case(tmp_path: Path, name: str = "good.py") -> tuple[Path, Path, Path]:
    """An archived conjecture case naming ``tmp_path/name``; the file's import writes a flag file.
    Returns (case, conjecture file, flag)."""
    flag = tmp_path / f"{name}.imported"
    source = tmp_path / name
    source.write_text(CONJECTURE.format(flag=str(flag)))
    claim = {"id": "few_contexts", "kind": "user conjecture", "statement": "s", "tolerance": "t"}
    case = archive.write(claim, Verdict("few_contexts", "fail"), V3,
                         replay={"kind": "conjecture", "file": str(source), "name": "few_contexts"})
    return case, source, flag


def test_replay_imports_no_code_named_in_the_file_unless_asked(archive_root, tmp_path, capsys):
    case, _, flag = conjecture_case(tmp_path)
    status, out, err = run(["replay", str(case)], capsys)
    assert one_line_error(status, out, err, "--conjecture-file", "--trust-file"), err
    assert not flag.exists(), "nothing imported"
    assert run(["replay", str(case), "--trust-file"], capsys)[0] == 1 and flag.exists()


def test_an_edited_replay_file_is_refused_with_trust_and_flagged_otherwise(archive_root, tmp_path, capsys):
    case, good, _ = conjecture_case(tmp_path)
    evil, evil_flag = tmp_path / "evil.py", tmp_path / "evil.imported"
    evil.write_text(CONJECTURE.format(flag=str(evil_flag)))
    doc = json.loads(case.read_text())
    doc["replay"]["file"] = str(evil)
    case.write_text(json.dumps(doc))
    status, out, err = run(["replay", str(case), "--trust-file"], capsys)
    assert one_line_error(status, out, err, "content_sha256", "edited"), err
    assert not evil_flag.exists(), "the edited file's code was not imported"
    status, out, _ = run(["replay", str(case), "--conjecture-file", str(good), "--json"], capsys)
    (record,) = json.loads(out)["records"]
    assert status == 1 and record["content"] == "mismatch" and not record["exact"]
    assert "content hash does not match" in run(["replay", str(case), "--conjecture-file", str(good)], capsys)[1]


def test_the_content_hash_covers_every_field_and_old_archives_still_replay(archive_root, tmp_path, capsys):
    case = archive.write({**CLAIM, "id": "S2"}, Verdict("S2", "fail"), data.load("example-A"))
    assert archive.load_checked(case)[1] == "ok"
    doc = json.loads(case.read_text())
    for key in ("replay", "detail", "date"):
        edited = json.loads(case.read_text())
        edited[key] = {"kind": "claim", "command": "x"} if key == "replay" else "edited"
        case.write_text(json.dumps(edited))
        assert archive.load_checked(case)[1] == "mismatch", key
    old = {k: v for k, v in doc.items() if k != "content_sha256"} | {"format": "ntpverify.counterexample/1"}
    case.write_text(json.dumps(old))
    status, out, _ = run(["replay", str(case), "--json"], capsys)
    (record,) = json.loads(out)["records"]
    assert record["content"] == "absent" and record["exact"] and status in (0, 1)


def test_trust_and_a_given_conjecture_file_exclude_each_other(capsys):
    argv = ["replay", "x.json", "--trust-file", "--conjecture-file", "y.py"]
    assert one_line_error(*run(argv, capsys), "--trust-file", "--conjecture-file")


def test_help_says_which_commands_import_user_code(capsys):
    assert run(["--help"], capsys)[1].count("import") >= 1
    for command in ("search", "replay"):
        with pytest.raises(SystemExit):
            cli.build_parser().parse_args([command, "--help"])
        assert "import" in capsys.readouterr().out


# --- 3. archive names stay inside the root --------------------------------------------------------


@pytest.mark.parametrize("name", ["..", ".", "", "../x", "a/b", "/etc/passwd", "nul\0byte", "x" * 300,
                                  "..\\..\\win", "é/../.."])
def test_archive_names_never_leave_the_root(name, archive_root):
    path = archive.write({**CLAIM, "id": name}, Verdict(name, "fail"), V3)
    assert path.parent.parent == archive_root and path.resolve().is_relative_to(archive_root.resolve())
    assert len(path.parent.name) <= archive.MAX_NAME and not path.parent.name.startswith(".")
    assert archive.load(path)["claim"]["id"] == name


def test_names_that_clean_alike_stay_apart(archive_root):
    assert archive.safe_name("P6a") == "P6a"
    assert len({archive.safe_name(n) for n in ("a/b", "a_b", "a\0b", "a b")}) == 4


# --- 4. bounded resources -------------------------------------------------------------------------


@pytest.mark.parametrize("steps", ["1" + "0" * 30, str(MAX_STEPS + 1), "1e30", "0"])
def test_steps_beyond_the_cap_exit_2_naming_steps(steps, capsys):
    assert one_line_error(*run(["gd", EXAMPLE_A, "--steps", steps], capsys), "--steps")


def test_the_cap_itself_is_accepted():
    assert cli.build_parser().parse_args(["gd", "x.json", "--steps", str(MAX_STEPS)]).steps == MAX_STEPS


@pytest.mark.parametrize("params, word", [({"steps": 10**13}, "steps"), ({"steps": 2.5}, "steps"),
                                          ({"steps": True}, "steps"), ({"eta": -1.0}, "eta"),
                                          ({"descent": "os.system"}, "descent"), ({"nonsense": 1}, "nonsense"),
                                          ({"W0": [[1.0]]}, "W0"), ({"W0": "zeros"}, "W0"),
                                          ({"W0": [[1.0, "x"]] * 3}, "W0"), ({"seed": 1.5}, "seed")])
def test_archived_params_are_checked_before_anything_runs(params, word, archive_root, capsys):
    claim = {**CLAIM, "id": "I4" if "W0" in params else "D2" if "seed" in params else "P6a"}
    case = archive.write(claim, Verdict(claim["id"], "fail"), data.load("example-A"), params)
    assert one_line_error(*run(["replay", str(case)], capsys), "params", word)


@pytest.mark.parametrize("command", [["solve"], ["gd", "--steps", "3"], ["replay"]])
def test_special_files_are_refused_without_reading(command, tmp_path, capsys):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/null", str(tmp_path)):
        argv = [command[0], path, *command[1:]]
        assert one_line_error(*run(argv, capsys), "not a regular file"), path


def test_the_archive_reader_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "case.json"
    os.mkfifo(fifo)
    with pytest.raises(Exception, match="not a regular file"):
        archive.load(fifo)


def _doc(case: Path) -> dict:
    return json.loads(case.read_text())


MALFORMED_ARCHIVES = {
    "truncated": lambda d: json.dumps(d)[:50],
    "not an object": lambda d: "[1, 2]",
    "no claim id": lambda d: json.dumps({**d, "claim": {"kind": "x"}}),
    "replay not an object": lambda d: json.dumps({**d, "replay": "run me"}),
    "unknown replay kind": lambda d: json.dumps({**d, "replay": {"kind": "shell"}}),
    "conjecture without a name": lambda d: json.dumps({**d, "replay": {"kind": "conjecture", "file": "x.py"}}),
    "hash not a string": lambda d: json.dumps({**d, "content_sha256": 3}),
    "bad instance": lambda d: json.dumps({**d, "instance": {**d["instance"], "weights": [2.0]}}),
    "binary": lambda d: "\xff\xfe",
}


@pytest.mark.parametrize("case_name", list(MALFORMED_ARCHIVES))
def test_malformed_archives_exit_2_with_one_line(case_name, archive_root, capsys):
    case = archive.write(CLAIM, Verdict("P6a", "fail"), V3)
    text = MALFORMED_ARCHIVES[case_name](_doc(case))
    case.write_bytes(text.encode("latin-1") if case_name == "binary" else text.encode())
    assert one_line_error(*run(["replay", str(case)], capsys)), case_name


def test_a_malformed_archive_prints_no_traceback(archive_root):
    case = archive.write(CLAIM, Verdict("P6a", "fail"), V3)
    case.write_text(json.dumps({**_doc(case), "claim": {}}))
    done = subprocess.run([sys.executable, "-m", "ntpverify.tools.cli", "replay", str(case)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.parametrize("options", [["--eta", "1e300"], ["--eta", "1e200"], ["--eta", "1e300", "--json"]])
def test_a_diverging_gd_exits_2_naming_the_step(options, capsys):
    """Before: ``inf`` printed and exit 0 (with --json, exit 1: JSON has no inf)."""
    status, out, err = run(["gd", EXAMPLE_A, "--steps", "1000", *options], capsys)
    assert one_line_error(status, out, err, "diverged", "step k = ", "--eta"), err


def test_the_step_named_is_the_first_non_finite_one(monkeypatch):
    """A blow-up inside a chunk is located by replaying the chunk step by step. Here "non-finite"
    is faked as ``‖W_k‖`` above a threshold first crossed at step 777 (the norm grows along GD on
    case A), on both forms."""
    inst = data.load("example-A")
    norms = gd(inst, 1000, checkpoints=range(1001)).column("norm")
    first = 777
    threshold = (norms[first - 1] + norms[first]) / 2
    assert norms[first - 1] < threshold < norms[first]
    monkeypatch.setattr(engine, "nonfinite", lambda W, H: "fake" if np.linalg.norm(W) > threshold else None)
    for form in ("reduced", "direct"):
        with pytest.raises(Divergence) as caught:
            gd(inst, 10**5, form=form)
        assert (caught.value.step, caught.value.what) == (first, "fake")


def test_a_non_finite_start_is_refused():
    inst = data.load("example-A")
    with pytest.raises(Divergence, match="step k = 0"):
        gd(inst, 3, W0=[[1e308, 1e308]] * inst.V)


WRAPPER = """
import sys
import ntpverify.optim.gd as engine
from ntpverify.tools import cli

run = engine.gd
def announced(*args, **kwargs):  # tell the test that the run has started, then run it
    print("started", file=sys.stderr, flush=True)
    return run(*args, **kwargs)
engine.gd = announced
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_gd_exits_130_with_one_line(sig):
    proc = subprocess.Popen([sys.executable, "-c", WRAPPER, "gd", EXAMPLE_A, "--steps", str(MAX_STEPS)],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    try:
        assert proc.stderr.readline() == "started\n"
        time.sleep(0.3)  # inside the kernels
        proc.send_signal(sig)
        rc = proc.wait(timeout=20)
    finally:
        proc.kill()
    assert rc == cli.INTERRUPTED
    assert proc.stderr.read() == "ntpverify: interrupted\n" and proc.stdout.read() == ""
    proc.stderr.close()
    proc.stdout.close()


SLOW_CONJECTURES = """import pathlib, time
import ntpverify as nv

@nv.conjecture
def slow_a(inst):
    pathlib.Path({flag!r}).touch()
    time.sleep(0.05)

@nv.conjecture
def slow_b(inst):
    time.sleep(0.05)
"""


def test_an_interrupted_parallel_search_leaves_no_worker_and_no_temporary_file(tmp_path):
    """Ctrl-C reaches the whole process group (as from a terminal): the workers ignore it, the parent
    stops them, exits 130 with one line; nothing of the group survives, nothing half-written."""
    flag = tmp_path / "running"
    (tmp_path / "c.py").write_text(SLOW_CONJECTURES.format(flag=str(flag)))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", archive.ENV_ROOT: str(tmp_path / "archive")}
    proc = subprocess.Popen([sys.executable, "-m", "ntpverify.tools.cli", "search", "c.py", "--jobs", "2",
                             "--max-examples", "100000"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert flag.exists(), "the workers never started"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if living_in_group(proc.pid):  # a failed run: leave nothing behind either
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (proc.returncode, err, out) == (cli.INTERRUPTED, "ntpverify: interrupted\n", "")
    deadline = time.monotonic() + 10  # multiprocessing's resource tracker exits once the parent is gone
    while living_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not living_in_group(proc.pid)
    assert not list(tmp_path.rglob("*.tmp"))


def test_the_cli_restores_the_sigterm_handler(capsys):
    before = signal.getsignal(signal.SIGTERM)
    run(["gd", EXAMPLE_A, "--steps", "2"], capsys)
    assert signal.getsignal(signal.SIGTERM) is before


def test_loss_gap_is_finite_for_a_subnormal_probability():
    """Issue 13: a probability of 5e-324 made the stable gap inf (e^δ overflowed at δ ≈ 744)."""
    import numpy as np

    import ntpverify as nv

    inst = nv.Instance([[1.0, 0.0]], [1.0], [[1.0, 5e-324, 0.0]])
    W = np.zeros((3, 2))
    gap = nv.loss_gap(inst, W)
    assert np.isfinite(gap) and abs(gap - (nv.loss(inst, W) - nv.entropy(inst))) <= 1e-15
