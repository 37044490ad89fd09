"""Enforcement: how a property turns a :class:`~ntpverify.suite.verdict.Verdict` into a pass, a
counted inconclusive or vacuous draw, or a failure; and :func:`target`, which steers the search.

:func:`enforce` records the outcome (for the report and the per-property inconclusive budget),
labels it for ``--hypothesis-show-statistics``, steers the search with :func:`target` and, on
``fail``, archives the counterexample and raises an ``AssertionError`` whose message names the
claim, the instance (with a one-line replay command), the value, the bound and its source.
"""

from __future__ import annotations

import math

import hypothesis
from hypothesis.control import currently_in_test_context

from ntpverify.core.instance import Instance
from ntpverify.suite import archive, results
from ntpverify.suite.verdict import Verdict


def target(score: float, label: str = "") -> float:
    """Ask the search to maximize ``score`` (``hypothesis.target``); returns ``score``.

    Outside a Hypothesis run (a replay, a direct call) it does nothing, so a conjecture runs the
    same everywhere. Scores are also recorded (``results.record_target``) for the reports' "best
    target score".
    """
    if currently_in_test_context():
        hypothesis.target(score, label=label)
        results.record_target(label, float(score))
    return score


def replay_command(claim: str, inst: Instance, params: dict | None = None) -> str:
    """The shell command that re-runs ``claim`` on ``inst`` from its archive file."""
    return f"ntpverify replay {archive.path_for(claim, inst, params)}"


def _event(text: str) -> None:
    """``hypothesis.event``, a no-op outside a Hypothesis test (the archive regression set)."""
    if currently_in_test_context():
        hypothesis.event(text)


def enforce(verdict: Verdict, inst: Instance, params: dict | None = None) -> None:
    """Record ``verdict``; raise ``AssertionError`` (with a replayable message) if it failed.

    ``params`` are the drawn arguments besides the instance that the check was given (exact
    floats), archived with it so the failure replays. Call it once per example: ``target`` takes
    one score per label. Outside a Hypothesis test (the archive regression set) it records and
    raises the same way, without events or targets.
    """
    results.record(verdict, inst)
    _event(f"{verdict.claim}: {verdict.outcome}")
    if verdict.outcome in ("inconclusive", "vacuous"):
        _event(f"{verdict.claim}: {verdict.outcome} because {verdict.detail.split(':')[0]}")
        return
    # a NaN observation fails (``within``) but has no score Hypothesis could maximize
    if verdict.score is not None and math.isfinite(verdict.score):
        target(min(verdict.score, 1e6), label=f"{verdict.claim} normalized error")
    if verdict.outcome == "fail":
        archive.note_failure(verdict, inst, params)
        raise AssertionError(
            f"{verdict.describe()}\n  instance: {inst.to_json()}\n  params:   {params or {}}\n"
            f"  replay:   {replay_command(verdict.claim, inst, params)}")
