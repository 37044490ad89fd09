"""``ntpverify verify``: the main job, the theorem regression and its report.

Runs ``pytest properties/`` (the property suite, the archive regression set included) under a
Hypothesis profile on ``jobs`` pytest-xdist workers, in a subprocess whose outcome rows go to a
fresh directory (``NTPVERIFY_RESULTS_DIR``) and whose counterexamples go to the archive next to
the report (``NTPVERIFY_ARCHIVE_DIR``). Then it aggregates the rows (report.py), draws the figures
(figures.py) and writes ``summary.md``, ``results.json``, the figures and ``pytest.log`` into a
temporary directory beside ``out`` that replaces it only when complete: a report is never
half-written, and an interrupted run (Ctrl-C, SIGTERM) kills the pytest process group, removes the
temporary directory and leaves the old report whole.

``out`` is replaced only if it is a report this command wrote, recognized by the marker file
``.ntpverify-report`` (first line ``ntpverify.report/1``), or an empty directory. Anything else (a
file, a directory without the marker, a symbolic link, the current directory or one of its parents,
the source tree, the archive) is refused with an :class:`~ntpverify.core.errors.InputError` naming
``--out`` before pytest runs, and checked again just before the swap.

Exit status: 0 when pytest passed; 1 when it did not (failures, errors, or no test collected).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import settings

from ntpverify.core.errors import InputError
from ntpverify.suite import archive, profiles, results
from ntpverify.tools import figures, report

#: Profiles that verify accepts, and the default: ``ci`` is derandomized, without an example
#: database, and meets issue 3's budgets (200 solver examples, 50 GD examples of 1e5 steps).
PROFILES = ("ci", "dev", "thorough")
DEFAULT_PROFILE = "ci"
#: The source checkout: ntpverify/tools/verify.py is three levels below it.
REPO = Path(__file__).resolve().parents[2]
#: The file that marks a directory as a report written by verify (the only kind it replaces),
#: and its first line.
MARKER = ".ntpverify-report"
MARKER_LINE = report.FORMAT
_MARKER_TEXT = (f"{MARKER_LINE}\nWritten by `ntpverify verify`: the next run with this --out replaces "
                "this directory whole. Remove this file to keep the directory from being replaced.\n")
#: Seconds the pytest process group gets to exit after SIGTERM before it is killed.
_KILL_GRACE = 5.0
#: pytest's last line, e.g. "1 failed, 40 passed in 12.3s (0:00:12)", framed by "=" unless -q
_PYTEST_TAIL = re.compile(r"^=*\s*((?:no tests ran|\d+ \w+(?:, \d+ \w+)*) in [0-9.]+s(?: \([0-9:]+\))?)\s*=*$")


def properties_dir() -> Path:
    """The property suite next to the package (a source checkout), else ``./properties``."""
    beside = REPO / "properties"
    return beside if beside.is_dir() else Path("properties").resolve()


@dataclass(frozen=True)
class VerifyResult:
    """What ``ntpverify verify`` prints: where the report went, and the claim rows."""

    out: Path
    document: dict[str, Any]

    @property
    def exit_status(self) -> int:
        return 0 if self.document["pytest"]["exit_status"] == 0 else 1

    def to_dict(self) -> dict[str, Any]:
        return {**self.document, "out": str(self.out)}

    def summary(self) -> str:
        rows = self.document["claims"]
        bad = [r["id"] for r in rows if r["status"] in ("fail", "inconclusive")]
        counts = {s: sum(r["status"] == s for r in rows) for s in ("pass", "fail", "inconclusive", "not run")}
        return (f"pytest: {self.document['pytest']['outcome']} (exit status {self.document['pytest']['exit_status']})\n"
                f"claims: {counts['pass']} pass, {counts['fail']} fail, {counts['inconclusive']} inconclusive, "
                f"{counts['not run']} not run" + (f" (see {', '.join(bad)})" if bad else "") + "\n"
                f"report: {self.out / 'summary.md'}, {self.out / 'results.json'}, "
                f"{len(self.document['figures'])} figures")


def pytest_command(properties: Path, profile: str, jobs: int, seed: int) -> list[str]:
    """The pytest invocation of the regression (``-n 0``: in-process when one job)."""
    return [sys.executable, "-m", "pytest", str(properties), "-p", "no:cacheprovider", "-q", "-rfE",
            f"--hypothesis-profile={profile}", f"--hypothesis-seed={seed}", "-n", str(jobs if jobs > 1 else 0)]


def run_pytest(command: list[str], env: dict[str, str], log: Path, echo: bool) -> tuple[int, str]:
    """Run ``command``, saving its output to ``log`` (and echoing it when ``echo``); returns the exit
    status and pytest's last summary line.

    pytest and its xdist workers run in a session of their own, so that on any exception here (a
    KeyboardInterrupt from Ctrl-C or SIGTERM included) the whole group is killed: no worker is
    left running, or writing into the directories the caller is about to remove."""
    outcome = "no summary line"
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                fh.write(line)
                if echo:
                    sys.stderr.write(line)
                if match := _PYTEST_TAIL.match(line.strip()):
                    outcome = match.group(1)
            proc.wait()
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            proc.stdout.close()
    return proc.returncode, outcome


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group of ``proc``, SIGKILL what is left of it after ``_KILL_GRACE``
    seconds (a leader that ignored SIGTERM, or workers that outlived it), and reap the leader."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(_KILL_GRACE)
        except subprocess.TimeoutExpired:
            pass
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # the group is gone already
        pass
    proc.wait()


def _refuse(out: Path, why: str) -> InputError:
    return InputError("--out", f"{out} {why}; nothing was written (choose another --out)")


def _is_report(directory: Path) -> bool:
    """Does ``directory`` hold verify's marker (a small regular file whose first line is
    ``MARKER_LINE``)? Read without following a link and without blocking on a FIFO."""
    try:
        fd = os.open(directory / MARKER, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = fh.read(256)
    return head.split(b"\n", 1)[0].decode("utf-8", "replace").strip() == MARKER_LINE


def check_out(out: Path) -> Path:
    """``out`` as an absolute path if verify may write it (see the module docstring), else raise
    an InputError naming ``--out``."""
    given = Path(out)
    if given.is_symlink():
        raise _refuse(given, "is a symbolic link")
    target = given.resolve()
    for keep, what in ((Path.cwd().resolve(), "the current directory"), (REPO, "the source tree"),
                       (archive.root().resolve(), "the counterexample archive")):
        if target == keep or target in keep.parents:
            raise _refuse(given, f"is or contains {what} ({keep})")
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as e:
        raise _refuse(given, f"cannot be inspected ({e.strerror})") from None
    if not stat.S_ISDIR(mode):
        raise _refuse(given, "exists and is not a directory")
    if not _is_report(target) and any(target.iterdir()):
        raise _refuse(given, f"is a non-empty directory that ntpverify verify did not write (no {MARKER} "
                             "marker)")
    return target


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done, then deliver the first one that came: the
    two renames of a swap are never separated by an interrupt. (Python runs handlers in the main
    thread only; elsewhere the block runs as is.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, frame: came.append(number))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if came:
            signal.raise_signal(came[0])


def _publish(staging: Path, out: Path) -> None:
    """Replace ``out`` by the complete ``staging`` directory, if ``out`` is still ours to replace
    (it may have changed while pytest ran): two renames with signals held, never a partial report."""
    check_out(out)
    (staging / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    old = out.with_name(f".{out.name}.old-{secrets.token_hex(4)}")
    with _signals_deferred():
        had_old = os.path.lexists(out)
        if had_old:
            out.rename(old)
        try:
            staging.rename(out)
        except BaseException:
            if had_old:
                old.rename(out)
            raise
        if had_old:
            shutil.rmtree(old)


def verify(profile: str = DEFAULT_PROFILE, jobs: int = 2, seed: int | None = None,
           out: str | Path = "reports/latest", properties: Path | None = None,
           figure_steps: int = figures.DEFAULT_STEPS, echo: bool | None = None) -> VerifyResult:
    """Run the theorem regression and write the report to ``out``; see the module docstring.

    ``seed`` (default random, recorded) goes to ``--hypothesis-seed``; it has no effect under a
    derandomized profile such as ``ci``, which the report then says. ``echo`` (default: stderr is
    a terminal) streams pytest's output as it runs.
    """
    start = time.perf_counter()
    out = check_out(Path(out))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _refuse(out, f"cannot be created ({e.strerror})") from None
    seed = secrets.randbits(32) if seed is None else seed
    profiles.register()
    seed_note: int | str = "derandomized by the profile" if settings.get_profile(profile).derandomize else seed
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a report is for everyone who can read reports/
    try:
        with tempfile.TemporaryDirectory(prefix="ntpverify-results-") as rows_dir:
            env = {**os.environ, results.ENV_DIR: rows_dir, archive.ENV_ROOT: str(archive.root().resolve())}
            env.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread per worker (see Makefile)
            env["PYTHONUNBUFFERED"] = "1"  # stream pytest's progress through the pipe as it comes
            tick = time.perf_counter()
            status, outcome = run_pytest(pytest_command(properties or properties_dir(), profile, jobs, seed),
                                         env, staging / "pytest.log", sys.stderr.isatty() if echo is None else echo)
            pytest_seconds = time.perf_counter() - tick
            rows = report.claim_rows(results.read_all(rows_dir))
        figs = figures.render_all(staging, figure_steps)
        prov = report.provenance(profile, seed_note, jobs, time.perf_counter() - start, pytest_seconds)
        pytest_info = {"exit_status": status, "outcome": outcome, "log": "pytest.log"}
        report.write(staging, out, prov, rows, pytest_info, figs)
        _publish(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return VerifyResult(out, report.results_document(prov, rows, pytest_info, figs))
