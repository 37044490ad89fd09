"""The report of the main job: ``summary.md`` and ``results.json`` (``ntpverify.report/1``).

Input: the rows that property runs append under ``NTPVERIFY_RESULTS_DIR`` (results.py): one per
checked example (``outcome``), per target score (``target``) and per archived counterexample
(``archived``). Output: one row per claim of the catalogue, in catalogue order (claims seen in the
results but unknown to the catalogue follow), with the counts, the worst normalized error
``observed/bound`` (above 1 is a failure), the best target score and the counterexample files; and
a provenance header that says exactly what ran where.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from ntpverify.core import exactjson
from ntpverify.suite import archive, claims
from ntpverify.suite.verdict import INCONCLUSIVE_BUDGET

FORMAT = "ntpverify.report/1"
LIBRARIES = ("numpy", "scipy", "cvxpy", "clarabel", "numba", "hypothesis", "pytest", "pytest-xdist",
             "matplotlib")

#: Where ``ntpverify paper`` writes its page by default (tools/paper.py), linked from summary.md.
PAPER_PAGE = Path("reports/paper/paper.md")
_COUNTER = {"pass": "passed", "fail": "failed", "inconclusive": "inconclusive", "vacuous": "vacuous"}


@dataclass
class ClaimRow:
    """One claim's line of the report."""

    id: str
    kind: str
    title: str
    statement: str
    status: str = "not run"
    examples: int = 0
    passed: int = 0
    failed: int = 0
    inconclusive: int = 0
    vacuous: int = 0
    worst_normalized_error: float | None = None
    best_target_score: float | None = None
    best_target_label: str | None = None
    counterexamples: list[str] = field(default_factory=list)

    def add_outcome(self, row: dict[str, Any]) -> None:
        """Count one checked example."""
        self.examples += 1
        counter = _COUNTER[row["outcome"]]
        setattr(self, counter, getattr(self, counter) + 1)
        score = exactjson.number_from(row.get("score"))
        if score is not None and math.isfinite(score):
            self.worst_normalized_error = max(score, self.worst_normalized_error or -math.inf)

    def add_target(self, row: dict[str, Any]) -> None:
        """Keep the best target score (and its label)."""
        if self.best_target_score is None or row["score"] > self.best_target_score:
            self.best_target_score, self.best_target_label = row["score"], row["target"]

    def settle(self) -> None:
        """Status from the counts: any failure fails; too many inconclusive is inconclusive.

        Vacuous examples (the claim's hypothesis does not hold on the draw) are neither evidence
        nor a defect: they are left out of the budget's denominator, and a claim whose every
        example was vacuous is reported ``vacuous``, never ``pass``.
        """
        applicable = self.examples - self.vacuous
        if self.failed:
            self.status = "fail"
        elif self.examples == 0:
            self.status = "not run"
        elif applicable == 0:
            self.status = "vacuous"
        elif self.inconclusive > INCONCLUSIVE_BUDGET * applicable:
            self.status = "inconclusive"
        else:
            self.status = "pass"


def _row_for(claim_id: str) -> ClaimRow:
    try:
        c = claims.get(claim_id)
    except KeyError:
        return ClaimRow(claim_id, "unknown", "", "(not in the catalogue)")
    return ClaimRow(c.id, c.kind, c.title, c.statement)


def claim_rows(rows: Iterable[dict[str, Any]]) -> list[ClaimRow]:
    """Aggregate result rows into one :class:`ClaimRow` per claim (catalogue order first)."""
    table = {c.id: _row_for(c.id) for c in claims.CATALOGUE}
    for row in rows:
        claim_id = row.get("claim")
        if claim_id is None:  # a target scored outside any claim's test
            continue
        entry = table.setdefault(claim_id, _row_for(claim_id))
        if "target" in row:
            entry.add_target(row)
        elif "archived" in row:
            if row["archived"] not in entry.counterexamples:
                entry.counterexamples.append(row["archived"])
        else:
            entry.add_outcome(row)
    for entry in table.values():
        entry.counterexamples.sort()
        entry.settle()
    return list(table.values())


# --- provenance ----------------------------------------------------------------------------------


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def cpu() -> str:
    """The CPU model (Linux ``/proc/cpuinfo``, else ``platform``) and the number of cores."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical cores"


def provenance(profile: str, seed: int | str | None, jobs: int, wall_seconds: float,
               pytest_seconds: float) -> dict[str, Any]:
    """What ran, where and when: the header of summary.md and ``provenance`` of results.json."""
    from ntpverify._version import __version__

    return {
        "package": f"ntpverify {__version__}",
        "git_revision": archive.git_revision(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "profile": profile,
        "seed": seed,
        "jobs": jobs,
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "cpu": cpu(),
        "wall_seconds": round(wall_seconds, 1),
        "pytest_seconds": round(pytest_seconds, 1),
    }


# --- writing -------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.3g}"


def _links(paths: list[str], out_dir: Path) -> str:
    return " ".join(f"[{Path(p).stem[:8]}]({os.path.relpath(p, out_dir)})" for p in paths) or "–"


def summary_markdown(prov: dict[str, Any], rows: list[ClaimRow], pytest: dict[str, Any],
                     figures: list[dict[str, str]], out_dir: Path) -> str:
    """The text of summary.md; links are relative to ``out_dir``, where it will live."""
    libs = ", ".join(f"{k} {v}" for k, v in prov["libraries"].items() if v)
    head = [
        "# ntpverify: theorem regression report", "",
        "Claims of Thrampoulidis, *Implicit Optimization Bias of Next-Token Prediction in Linear Models* "
        "(arXiv 2402.18551), checked on drawn instances. Kinds: **paper** (a claim of the paper), "
        "**derived** (follows from the definitions), **literature** (a published result applied to NTP "
        "instances), **conjecture** (measured, not proved).", "",
        "| provenance | |", "|---|---|",
        f"| package | {prov['package']} |",
        f"| git revision | {prov['git_revision'] or 'unknown'} |",
        f"| date (UTC) | {prov['date']} |",
        f"| profile | {prov['profile']} |",
        f"| seed | {prov['seed']} |",
        f"| Python | {_cell(prov['python'])} on {_cell(prov['platform'])} |",
        f"| libraries | {libs} |",
        f"| CPU | {_cell(prov['cpu'])}; {prov['jobs']} pytest-xdist workers |",
        f"| wall time | {prov['wall_seconds']} s (pytest {prov['pytest_seconds']} s) |",
        f"| pytest | exit status {pytest['exit_status']}: {_cell(pytest['outcome'])} "
        f"([log]({pytest['log']})) |", "",
        "## Claims", "",
        "Normalized error is observed/bound (above 1 fails); inconclusive examples are allowed up to "
        f"{INCONCLUSIVE_BUDGET:.0%} of the applicable ones per property; vacuous examples (the claim's "
        "hypothesis does not hold on the draw) are counted apart and are not passes.", "",
        "| id | kind | statement | status | examples | passed | failed | inconclusive | vacuous | "
        "worst normalized error | best target score | counterexamples |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    body = [f"| {r.id} | {r.kind} | {_cell(r.statement)} | {r.status} | {r.examples} | {r.passed} | "
            f"{r.failed} | {r.inconclusive} | {r.vacuous} | {_num(r.worst_normalized_error)} | "
            f"{_num(r.best_target_score)} | {_links(r.counterexamples, out_dir)} |" for r in rows]
    figs = ["", "## Figures", ""]
    for fig in figures:
        figs += [f"![{fig['title']}]({fig['file']})", "", f"*{fig['caption']}*", ""]
    paper = ["## The paper's experiments", "",
             "App. A.1 (figures 1, 2), App. A.2 (figure 4), figure 5 (NGD, Adam, sign descent, SGD) and the "
             "separability curve of a real corpus are a separate section, written by `ntpverify paper` to "
             f"[reports/paper/paper.md]({os.path.relpath(PAPER_PAGE, out_dir)}) (not re-run by `verify`).", ""]
    return "\n".join(head + body + figs + paper).rstrip() + "\n"


def results_document(prov: dict[str, Any], rows: list[ClaimRow], pytest: dict[str, Any],
                     figures: list[dict[str, str]]) -> dict[str, Any]:
    """The ``ntpverify.report/1`` object of results.json (the same rows, machine-readable)."""
    return {"format": FORMAT, "provenance": prov, "pytest": pytest,
            "claims": [asdict(r) for r in rows], "figures": figures}


def write(directory: Path, out_dir: Path, prov: dict[str, Any], rows: list[ClaimRow],
          pytest: dict[str, Any], figures: list[dict[str, str]]) -> None:
    """Write summary.md and results.json into ``directory`` (links as if it were ``out_dir``)."""
    (directory / "summary.md").write_text(summary_markdown(prov, rows, pytest, figures, out_dir),
                                          encoding="utf-8")
    exactjson.write(directory / "results.json", results_document(prov, rows, pytest, figures))
