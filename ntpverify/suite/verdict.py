"""Verdicts of checks: a pure value type with four typed outcomes, and how sub-verdicts combine.

A check (ntpverify/suite/checks/) returns a :class:`Verdict`: ``pass``/``fail`` with the observed value,
the bound it was held to and where that bound comes from, ``inconclusive`` with the reason, or
``vacuous`` when the claim's hypothesis does not hold on the instance. Nothing here records,
archives or talks to Hypothesis: that is enforcement.py's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: ``vacuous``: the claim's hypothesis does not hold on this draw (decided, not undecided: an
#: undecided hypothesis is ``inconclusive``); never counted as a pass, nor in the inconclusive budget.
Outcome = Literal["pass", "fail", "inconclusive", "vacuous"]

#: At most this fraction of a property's (or a searched conjecture's) examples may be
#: inconclusive (issue 3); beyond it the run is not evidence either way.
INCONCLUSIVE_BUDGET = 0.05


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one claim on one instance.

    ``observed`` and ``bound`` are the compared numbers (``observed ≤ bound`` passes), ``source``
    says where the bound comes from, ``detail`` what was compared or why it is inconclusive.
    """

    claim: str
    outcome: Outcome
    observed: float | None = None
    bound: float | None = None
    source: str = ""
    detail: str = ""

    @property
    def score(self) -> float | None:
        """Normalized error ``observed / bound`` (> 1 is a failure), the report's "worst" column."""
        if self.observed is None or self.bound is None or self.bound == 0:
            return None
        return float(self.observed / self.bound)

    def describe(self) -> str:
        if self.outcome in ("inconclusive", "vacuous"):
            return f"{self.claim}: {self.outcome}: {self.detail}"
        return (f"{self.claim}: {self.detail}: observed {self.observed!r} vs bound {self.bound!r} "
                f"({self.source})")


def within(claim: str, observed: float, bound: float, source: str, detail: str) -> Verdict:
    """``pass`` iff ``observed ≤ bound`` (NaN fails)."""
    ok = bool(observed <= bound)
    return Verdict(claim, "pass" if ok else "fail", float(observed), float(bound), source, detail)


def holds(claim: str, condition: bool, detail: str, source: str = "exact") -> Verdict:
    """A yes/no claim: ``pass`` iff ``condition`` (observed 0/1 against bound 0)."""
    return Verdict(claim, "pass" if condition else "fail", 0.0 if condition else 1.0, 0.0, source, detail)


def inconclusive(claim: str, reason: str) -> Verdict:
    """The check could not establish its answer (never a pass, never a counterexample)."""
    return Verdict(claim, "inconclusive", detail=reason)


def vacuous(claim: str, reason: str) -> Verdict:
    """The claim's hypothesis is decided false on this instance: nothing was tested."""
    return Verdict(claim, "vacuous", detail=reason)


def first_failure(verdicts: list[Verdict]) -> Verdict:
    """Combine sub-verdicts of one claim: the first ``fail``, else the first ``inconclusive``,
    else the pass with the largest normalized error, else (all vacuous) the first vacuous."""
    for outcome in ("fail", "inconclusive"):
        for v in verdicts:
            if v.outcome == outcome:
                return v
    passes = [v for v in verdicts if v.outcome == "pass"]
    if not passes:
        return verdicts[0]
    return max(passes, key=lambda v: -1.0 if v.score is None else v.score)
