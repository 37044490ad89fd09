"""Per-example outcomes of property checks, for the report and the inconclusive budget.

Each process keeps a tally per claim (``tally``); when ``NTPVERIFY_RESULTS_DIR`` is set it also
appends one JSON line per example to ``results-<pid>.jsonl`` there: one file per process, so
pytest-xdist workers never write to the same file. Two more kinds of line go there: target scores
(a ``target`` key, from ``ntpverify.target``) and archived counterexamples (an ``archived`` key),
which the report (report.py) turns into its "best target score" and "counterexamples" columns.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from ntpverify.core import exactjson

if TYPE_CHECKING:
    from ntpverify.core.instance import Instance
    from ntpverify.suite.verdict import Verdict

ENV_DIR = "NTPVERIFY_RESULTS_DIR"

#: ``tally[claim][outcome]`` for this process.
tally: defaultdict[str, Counter] = defaultdict(Counter)

#: The claim or conjecture under test in this process (set by the pytest hooks and the search
#: runner): target scores are attributed to it.
current_claim: str | None = None

#: ``best_targets[(claim, label)]``: the largest target score seen in this process.
best_targets: dict[tuple[str | None, str], float] = {}


def _append(row: dict) -> None:
    """Append ``row`` to this process's JSONL file, if a results directory is configured."""
    directory = os.environ.get(ENV_DIR)
    if not directory:
        return
    path = Path(directory) / f"results-{os.getpid()}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(exactjson.dumps(row) + "\n")


def record(verdict: Verdict, inst: Instance) -> None:
    """Count ``verdict`` and, if a results directory is configured, append it there."""
    tally[verdict.claim][verdict.outcome] += 1
    number = exactjson.number_or_text
    _append({"claim": verdict.claim, "outcome": verdict.outcome, "observed": number(verdict.observed),
             "bound": number(verdict.bound), "score": number(verdict.score), "source": verdict.source,
             "detail": verdict.detail, "regime": inst.extras.get("x-regime"),
             "instance_hash": inst.content_hash()[:16]})


def record_target(label: str, score: float) -> None:
    """Keep the best ``score`` per (current claim, ``label``); rows carry a ``target`` key."""
    key = (current_claim, label)
    best_targets[key] = max(score, best_targets.get(key, score))
    _append({"claim": current_claim, "target": label, "score": score})


def record_archive(claim: str, path: str | os.PathLike[str]) -> None:
    """Note that a counterexample of ``claim`` was archived at ``path``; rows carry ``archived``."""
    _append({"claim": claim, "archived": str(Path(path).resolve())})


def read_all(directory: str | os.PathLike[str]) -> list[dict]:
    """Every row written under ``directory`` by any process."""
    rows: list[dict] = []
    for path in sorted(Path(directory).glob("results-*.jsonl")):
        rows.extend(exactjson.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return rows
