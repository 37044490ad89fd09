"""``ntpverify replay FILE…``: re-run archived counterexamples on their exact instances.

A ``ntpverify.counterexample`` file (archive.py) says how to replay it: ``"kind": "claim"`` runs
the catalogue check ``claims.get(id).checker()(instance, **params)``; ``"kind": "conjecture"``
evaluates the named conjecture on the instance alone (conjecture.evaluate_once).
The instance and params are read back bit for bit (exactjson), and the file name, a hash of
(claim, instance, params), is recomputed to show it (``exact``), as is the content hash of
the whole file (``content``: ``ok``, ``mismatch`` for an edited file, ``absent`` for format /1).

A conjecture case runs Python code, and a data file must not decide which: the code is imported
only from the file given as ``conjecture_file`` (``--conjecture-file``), or, with ``trust_file``
(``--trust-file``), from the file the archive names (``replay.file``), and then only if the
content hash matches. Otherwise the case is refused with an InputError (exit 2). Claim cases run
catalogue code only, with ``params`` checked first (:func:`check_params`): known data parameters
of the check (no code hooks such as a solver), ``steps`` within the GD cap, ``eta`` positive and
finite, matrices of the instance's shape.

Exit status 1 when a case still fails, or is inconclusive (the fix is then not shown); 0 when every
case now holds.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ntpverify.core import exactjson
from ntpverify.core.errors import InputError
from ntpverify.optim.gd import MAX_STEPS
from ntpverify.suite import archive, claims
from ntpverify.suite.verdict import Verdict
from ntpverify.tools.conjecture import evaluate_once, select

#: Archived params that are V×d matrices (nested lists of finite numbers, or null).
MATRIX_PARAMS = ("W", "W0", "W_mm", "W_star")


def _matrix_problem(value: Any, V: int, d: int) -> str | None:
    """Why ``value`` is not a V×d matrix of finite numbers (None: it is one, or null)."""
    if value is None:
        return None
    rows = value if isinstance(value, list) else []
    if len(rows) != V or not all(isinstance(r, list) and len(r) == d for r in rows):
        return f"expected a {V}×{d} matrix (a list of {V} rows of {d} numbers)"
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
               for r in rows for x in r):
        return "expected finite numbers"
    return None


def check_params(claim_id: str, check: Callable[..., Verdict], params: dict[str, Any], V: int, d: int) -> None:
    """Refuse archived ``params`` that are not data for ``check``, or are malformed, or would run
    unbounded: an InputError naming ``params`` and the parameter, before anything runs.

    Accepted: the check's parameters after the instance whose default is not code (a function or
    a mapping of them, e.g. ``solver=``, ``run=``: hooks for tests; a data file does not choose
    code). ``steps`` must be an integer in ``[0, MAX_STEPS]``, ``eta`` a positive finite number,
    ``seed`` an integer, and ``W``, ``W0``, ``W_mm``, ``W_star`` V×d matrices of finite numbers."""
    accepted = [name for name, p in list(inspect.signature(check).parameters.items())[1:]
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                and not callable(p.default) and not isinstance(p.default, Mapping)]
    if unknown := sorted(set(params) - set(accepted)):
        raise InputError("params", f"{', '.join(map(repr, unknown))} not accepted by the check of "
                                   f"{claim_id} (accepted: {', '.join(accepted) or 'none'})")

    def is_int(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool)

    steps = params.get("steps", 0)
    if not is_int(steps) or not 0 <= steps <= MAX_STEPS:
        raise InputError("params", f"steps = {steps!r}: expected an integer in [0, {MAX_STEPS}]")
    eta = params.get("eta")
    if eta is not None and (not (is_int(eta) or isinstance(eta, float)) or not (math.isfinite(eta) and eta > 0)):
        raise InputError("params", f"eta = {eta!r}: expected a positive finite number")
    if "seed" in params and not is_int(params["seed"]):
        raise InputError("params", f"seed = {params['seed']!r}: expected an integer")
    for name in MATRIX_PARAMS:
        if (problem := _matrix_problem(params.get(name), V, d)) is not None:
            raise InputError("params", f"{name}: {problem}")


def claim_verdict(doc: dict[str, Any]) -> Verdict:
    """The catalogue check of the archived claim, run on the archived instance and params."""
    claim_id = doc["claim"]["id"]
    try:
        claim = claims.get(claim_id)
    except KeyError as e:
        raise InputError("claim", str(e.args[0])) from None
    check = claim.checker()
    check_params(claim_id, check, doc["params"], doc["instance"].V, doc["instance"].d)
    return check(doc["instance"], **doc["params"])


def conjecture_source(how: dict[str, Any], content: archive.ContentCheck, conjecture_file: str | None,
                      trust_file: bool) -> str:
    """The file to import a conjecture case's code from (see the module docstring)."""
    if conjecture_file is not None:
        return conjecture_file
    recorded = how["file"]
    if not trust_file:
        raise InputError("replay", f"this conjecture case would import {recorded}; code named in a data "
                                   "file is run only when asked: pass --conjecture-file PATH, or "
                                   "--trust-file to import the recorded file")
    if content == "mismatch":
        raise InputError("content_sha256", "does not match: the file was edited after it was archived, "
                                           f"so --trust-file does not import {recorded}; pass "
                                           "--conjecture-file PATH to name the code yourself")
    return recorded


@dataclass(frozen=True)
class ReplayRecord:
    """The outcome of one replayed file (``observed``/``bound`` for claims, as in the archive).
    ``exact``: the file name is the hash of (claim, instance, params) and the content hash matches
    where there is one; ``content``: ``ok``, ``mismatch`` or ``absent`` (format /1)."""

    file: str
    claim: str
    kind: str
    outcome: str
    detail: str
    observed: float | None
    bound: float | None
    exact: bool
    content: archive.ContentCheck

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {**d, "observed": exactjson.number_or_text(self.observed),
                "bound": exactjson.number_or_text(self.bound)}

    def line(self) -> str:
        state = {"fail": "still fails", "pass": "now holds", "inconclusive": "inconclusive"}[self.outcome]
        numbers = "" if self.observed is None else f" (observed {self.observed!r}, bound {self.bound!r})"
        warning = ""
        if self.content == "mismatch":
            warning = "\n  warning: the content hash does not match (edited after it was archived?)"
        elif not self.exact:
            warning = "\n  warning: the file name is not the hash of its content (edited?)"
        elif self.content == "absent" and self.kind == "conjecture":
            warning = "\n  note: format /1 has no content hash: an edited replay.file would go unnoticed"
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


def replay_file(path: str | Path, conjecture_file: str | None = None, trust_file: bool = False) -> ReplayRecord:
    """Replay one counterexample file (``conjecture_file``, ``trust_file``: see the module
    docstring)."""
    doc, content = archive.load_checked(path)
    inst, params, claim_id = doc["instance"], doc["params"], doc["claim"]["id"]
    exact = archive.identity_hash(claim_id, inst, params)[:20] == Path(path).stem and content != "mismatch"
    how = doc["replay"]
    kind = how["kind"]
    if kind == "claim":
        v = claim_verdict(doc)
        return ReplayRecord(str(path), claim_id, kind, v.outcome, v.detail, v.observed, v.bound, exact, content)
    (conj,) = select(conjecture_source(how, content, conjecture_file, trust_file), how["name"])
    ev = evaluate_once(conj, inst)
    return ReplayRecord(str(path), claim_id, kind, ev.outcome, ev.detail or "holds", None, None, exact, content)


def replay(paths: list[str], conjecture_file: str | None = None, trust_file: bool = False) -> ReplayReport:
    """Replay every file in ``paths``, in order; an InputError names the file it is about."""
    records = []
    for path in paths:
        try:
            records.append(replay_file(path, conjecture_file, trust_file))
        except InputError as e:
            raise InputError(f"{path}: {e.field}", e.detail, e.row) from None
    return ReplayReport(records)
