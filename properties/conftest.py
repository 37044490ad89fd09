"""Profiles, the archive of shrunk counterexamples, and the inconclusive budget for `pytest properties/`.

Choose a profile with ``--hypothesis-profile {ci,dev,thorough}``; without one, ``ci`` is used when
the ``CI`` environment variable is set and ``dev`` otherwise. Every property and negative control
carries ``@pytest.mark.claim(ID)`` (the root conftest.py), so ``-k ID`` selects a claim's property
and its controls; a property (a Hypothesis test) checks exactly one claim, to which its examples,
target scores and inconclusive budget are attributed.
"""

from __future__ import annotations

import os
import re

import pytest
from ntpverify.suite.markers import claim_ids

from ntpverify.suite import archive, claims, profiles, results, verdict

profiles.register()

#: At most this fraction of a property's examples may be inconclusive (issue 3); measured
#: per test function, in the process that ran it.
INCONCLUSIVE_BUDGET = verdict.INCONCLUSIVE_BUDGET
_BLOB = re.compile(r"@reproduce_failure\(([^)]*)\)")


def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("hypothesis_profile", None) or ("ci" if os.environ.get("CI") else "dev")
    profiles.activate(name)


def claim_of(item: pytest.Item) -> str | None:
    """The claim a property (a Hypothesis test) checks, from its one ``claim`` marker; None for a
    negative control or another plain test, whose verdicts are not examples of a claim."""
    if not getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
        return None
    ids = claim_ids(item)
    if len(ids) != 1:
        raise pytest.UsageError(f"{item.nodeid}: a property checks exactly one claim; its markers name {ids}")
    return ids[0]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    claim = claim_of(item)
    before = dict(results.tally[claim]) if claim else {}
    results.current_claim = claim  # target scores recorded meanwhile belong to this claim
    try:
        outcome = yield
    finally:
        results.current_claim = None
    if claim:
        counts = {k: results.tally[claim][k] - before.get(k, 0)
                  for k in ("pass", "fail", "inconclusive", "vacuous")}
        # vacuous draws tested nothing: they are outside the budget's denominator, and a test
        # whose every draw was vacuous is no evidence at all
        total = counts["pass"] + counts["fail"] + counts["inconclusive"]
        if counts["vacuous"] and not total:
            raise AssertionError(f"{claim}: all {counts['vacuous']} examples vacuous (the claim's "
                                 "hypothesis never held): the strategy does not reach the claim")
        if total and counts["inconclusive"] > INCONCLUSIVE_BUDGET * total:
            raise AssertionError(f"{claim}: {counts['inconclusive']} of {total} examples inconclusive, "
                                 f"over the budget of {INCONCLUSIVE_BUDGET:.0%} (see the statistics)")
    return outcome


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if call.when == "call":
        noted = archive.take_noted()
        if report.failed and noted is not None:
            blob = _BLOB.search(report.longreprtext or "")
            path = archive.write(
                claims.get(noted.verdict.claim).to_dict(), noted.verdict, noted.inst, noted.params,
                replay={"kind": "claim", "nodeid": item.nodeid},
                hypothesis={"profile": profiles.active(), "seed": item.config.getoption("hypothesis_seed", None),
                            "reproduce_failure": blob.group(1) if blob else None})
            results.record_archive(noted.verdict.claim, path)
            report.sections.append(("ntpverify archive", f"shrunk counterexample archived at {path}"))
    return report
