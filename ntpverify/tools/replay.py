"""``ntpverify replay FILE…``: re-run archived counterexamples on their exact instances.

A ``ntpverify.counterexample/1`` file (archive.py) says how to replay it: ``"kind": "claim"`` runs
the catalogue check ``claims.get(id).checker()(instance, **params)``; ``"kind": "conjecture"``
imports the recorded conjecture file and evaluates the named conjecture on the instance alone
(conjecture.evaluate_once).
The instance and params are read back bit for bit (exactjson), and the file name, a hash of
(claim, instance, params), is recomputed to show it (``exact``).

Exit status 1 when a case still fails, or is inconclusive (the fix is then not shown); 0 when every
case now holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ntpverify.suite import archive
from ntpverify.suite import claims
from ntpverify.core import exactjson
from ntpverify.tools.conjecture import evaluate_once, select
from ntpverify.core.errors import InputError
from ntpverify.suite.verdict import Verdict


def claim_verdict(doc: dict[str, Any]) -> Verdict:
    """The catalogue check of the archived claim, run on the archived instance and params."""
    claim_id = doc["claim"]["id"]
    try:
        claim = claims.get(claim_id)
    except KeyError as e:
        raise InputError("claim", str(e.args[0])) from None
    return claim.checker()(doc["instance"], **doc["params"])


@dataclass(frozen=True)
class ReplayRecord:
    """The outcome of one replayed file (``observed``/``bound`` for claims, as in the archive)."""

    file: str
    claim: str
    kind: str
    outcome: str
    detail: str
    observed: float | None
    bound: float | None
    exact: bool

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {**d, "observed": exactjson.number_or_text(self.observed),
                "bound": exactjson.number_or_text(self.bound)}

    def line(self) -> str:
        state = {"fail": "still fails", "pass": "now holds", "inconclusive": "inconclusive"}[self.outcome]
        numbers = "" if self.observed is None else f" (observed {self.observed!r}, bound {self.bound!r})"
        warning = "" if self.exact else "\n  warning: the file name is not the hash of its content (edited?)"
        return f"{state:12} {self.claim}: {self.detail}{numbers}\n  {self.file}{warning}"


@dataclass(frozen=True)
class ReplayReport:
    """All replayed files; exit status 1 unless every case now holds."""

    records: list[ReplayRecord]

    @property
    def exit_status(self) -> int:
        return 0 if all(r.outcome == "pass" for r in self.records) else 1

    def to_dict(self) -> dict[str, Any]:
        return {"format": "ntpverify.replay/1", "records": [r.to_dict() for r in self.records]}

    def summary(self) -> str:
        return "\n".join(r.line() for r in self.records)


def replay_file(path: str | Path) -> ReplayRecord:
    """Replay one counterexample file."""
    doc = archive.load(path)
    inst, params, claim_id = doc["instance"], doc["params"], doc["claim"]["id"]
    exact = archive.identity_hash(claim_id, inst, params)[:20] == Path(path).stem
    how = doc.get("replay", {})
    kind = how.get("kind", "claim")
    if kind == "claim":
        v = claim_verdict(doc)
        return ReplayRecord(str(path), claim_id, kind, v.outcome, v.detail, v.observed, v.bound, exact)
    if kind == "conjecture":
        (conj,) = select(how["file"], how["name"])
        ev = evaluate_once(conj, inst)
        return ReplayRecord(str(path), claim_id, kind, ev.outcome, ev.detail or "holds", None, None, exact)
    raise InputError("replay", f"unknown kind {kind!r}, expected 'claim' or 'conjecture'")


def replay(paths: list[str]) -> ReplayReport:
    """Replay every file in ``paths``, in order."""
    return ReplayReport([replay_file(p) for p in paths])
