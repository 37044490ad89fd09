"""The ci profile's property run, measured: wall time per property and examples per claim.

Runs ``pytest properties/ -n 2 --hypothesis-profile ci --durations=0`` with a results directory
(ntpverify.suite.results), then prints the wall time of each test (pytest's ``call`` durations, the
slowest first) and, per claim, the examples checked with their outcomes and the regimes the
inconclusive ones were drawn from (:func:`claim_table` also summarizes the rows of any run made
with ``NTPVERIFY_RESULTS_DIR`` set, e.g. a thorough one).
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import tempfile
import time

from ntpverify.suite import results

_DURATION = re.compile(r"^\s*([\d.]+)s call\s+(\S+)")


def run() -> tuple[int, float, str, list[dict]]:
    """``(exit status, wall seconds, pytest's output, result rows)`` of one property run."""
    with tempfile.TemporaryDirectory() as rows_dir:
        env = {**os.environ, "CI": "true", "OPENBLAS_NUM_THREADS": "1", results.ENV_DIR: rows_dir}
        cmd = [sys.executable, "-m", "pytest", "properties", "-q", "-n", "2", "-p", "no:cacheprovider",
               "--hypothesis-profile", "ci", "--durations=0"]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        return done.returncode, wall, done.stdout, results.read_all(rows_dir)


def claim_table(rows: list[dict]) -> list[str]:
    """One line per claim: examples, pass / fail / inconclusive, and the inconclusive regimes."""
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    regimes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for row in rows:
        if "outcome" not in row:
            continue
        counts[row["claim"]][row["outcome"]] += 1
        if row["outcome"] == "inconclusive":
            regimes[row["claim"]][row.get("regime") or "shared case"] += 1
    lines = [f"{'claim':6s} {'examples':>8s} {'pass':>6s} {'fail':>5s} {'inconcl.':>8s}  inconclusive regimes"]
    for claim in sorted(counts):
        c = counts[claim]
        where = ", ".join(f"{r} {n}" for r, n in regimes[claim].most_common()) or "-"
        lines.append(f"{claim:6s} {sum(c.values()):8d} {c['pass']:6d} {c['fail']:5d} {c['inconclusive']:8d}  {where}")
    return lines


def main() -> None:
    """Print the per-test wall times, the per-claim table and pytest's summary line."""
    status, wall, out, rows = run()
    durations = [m.groups() for m in map(_DURATION.match, out.splitlines()) if m]
    print(f"{'seconds':>8s}  test")
    for seconds, node in durations:
        print(f"{float(seconds):8.1f}  {node}")
    print()
    print("\n".join(claim_table(rows)))
    summary = [ln for ln in out.splitlines() if ln.startswith("=") and ("passed" in ln or "failed" in ln)]
    print(f"\npytest exit status {status}, wall {wall:.0f} s: {summary[-1] if summary else out[-500:]}")
