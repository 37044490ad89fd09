"""The negative-control harness: the shipped cases by name, and the two assertions every control
makes.

A negative control feeds a check's machinery a wrong limit, a wrong solver or a false claim and
must see it *rejected* (``fail``); its positive twin feeds the true objects and must see them
accepted, so the rejection is the wrong object's, not the case's. A control that sees
``inconclusive`` or ``vacuous`` has proved nothing and fails: a check that cannot fail is a defect.
"""

from __future__ import annotations

from functools import cache

from ntpverify import data
from ntpverify.core.instance import Instance
from ntpverify.core.solution import Solution, solve
from ntpverify.suite.verdict import Verdict


@cache
def case(name: str) -> Instance:
    """The shipped example instance whose file name starts with ``name`` (``"example-E"``)."""
    matches = sorted(data.DIR.glob(f"{name}*.json"))
    if len(matches) != 1:
        raise LookupError(f"{name!r} names {len(matches)} shipped cases: {[m.name for m in matches]}")
    return Instance.load(matches[0])


@cache
def solved(name: str) -> tuple[Instance, Solution]:
    """``(case(name), solve(case(name)))``, computed once per process."""
    inst = case(name)
    return inst, solve(inst)


def assert_rejects(verdict: Verdict, statement: str = "") -> None:
    """The check refuted the false ``statement`` it was fed: its outcome is ``fail``."""
    what = f" «{statement}»" if statement else ""
    assert verdict.outcome == "fail", f"did not refute{what}: {verdict.describe()}"


def assert_accepts(verdict: Verdict) -> None:
    """The check accepted the true objects: its outcome is ``pass``."""
    assert verdict.outcome == "pass", verdict.describe()
