"""``ntpverify verify``: the main job, the theorem regression and its report.

Runs ``pytest properties/`` (the property suite, the archive regression set included) under a
Hypothesis profile on ``jobs`` pytest-xdist workers, in a subprocess whose outcome rows go to a
fresh directory (``NTPVERIFY_RESULTS_DIR``) and whose counterexamples go to the archive next to
the report (``NTPVERIFY_ARCHIVE_DIR``). Then it aggregates the rows (report.py), draws the figures
(figures.py) and writes ``summary.md``, ``results.json``, the figures and ``pytest.log`` into a
temporary directory that replaces ``out`` only when complete: a report is never half-written.

Exit status: 0 when pytest passed; 1 when it did not (failures, errors, or no test collected).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import settings

from ntpverify.suite import archive
from ntpverify.tools import figures
from ntpverify.suite import profiles
from ntpverify.tools import report
from ntpverify.suite import results

#: Profiles that verify accepts, and the default: ``ci`` is derandomized, without an example
#: database, and meets issue 3's budgets (200 solver examples, 50 GD examples of 1e5 steps).
PROFILES = ("ci", "dev", "thorough")
DEFAULT_PROFILE = "ci"
REPO = Path(__file__).resolve().parents[1]
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
    status and pytest's last summary line."""
    outcome = "no summary line"
    with log.open("w", encoding="utf-8") as fh, subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            if echo:
                sys.stderr.write(line)
            if match := _PYTEST_TAIL.match(line.strip()):
                outcome = match.group(1)
    return proc.returncode, outcome


def _publish(staging: Path, out: Path) -> None:
    """Replace ``out`` by the complete ``staging`` directory (two renames, never a partial report)."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def verify(profile: str = DEFAULT_PROFILE, jobs: int = 2, seed: int | None = None,
           out: str | Path = "reports/latest", properties: Path | None = None,
           figure_steps: int = figures.DEFAULT_STEPS, echo: bool | None = None) -> VerifyResult:
    """Run the theorem regression and write the report to ``out``; see the module docstring.

    ``seed`` (default random, recorded) goes to ``--hypothesis-seed``; it has no effect under a
    derandomized profile such as ``ci``, which the report then says. ``echo`` (default: stderr is
    a terminal) streams pytest's output as it runs.
    """
    start = time.perf_counter()
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
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
