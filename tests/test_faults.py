"""The fault campaign of issue 13 (parts 3–4), one test per finding and variants of its class:
nothing destroyed (``verify --out``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ntpverify import data
from ntpverify.core.instance import Instance
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


def test_an_interrupted_pytest_run_is_killed_with_its_whole_process_group(tmp_path):
    """The pytest child and the workers it started die with the run (here: a child that starts a
    grandchild, then both sleep; the interrupt comes from a timer)."""
    pids = tmp_path / "pids"
    script = ("import subprocess, sys, time\n"
              "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
              f"open({str(pids)!r}, 'w').write(f'{{g.pid}}')\n"
              "print('started', flush=True)\n"
              "time.sleep(60)\n")

    def alarm(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            verify.run_pytest([sys.executable, "-c", script], dict(os.environ), tmp_path / "log", echo=False)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    grandchild = int(pids.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        if Path(f"/proc/{grandchild}/stat").read_text().split(") ")[1].startswith("Z"):
            break  # a zombie: dead, waiting for init to reap it
        time.sleep(0.05)
    else:
        pytest.fail("the grandchild outlived the interrupted run")
