"""Negative controls for D8: a separability decision that errs on 5% of the draws (decided by a
hash of the instance, so deterministic), and one that ignores the dimension (Cover's law for
d − 1), are both rejected by the exact binomial test."""

from __future__ import annotations

import numpy as np
import pytest

from ntpverify.core.instance import Instance
from ntpverify.core.solution import solve
from ntpverify.suite.checks.cover import check_D8, cover_instance
from ntpverify.suite.controls import assert_accepts, assert_rejects

pytestmark = pytest.mark.claim("D8")


def erring(inst: Instance) -> bool | None:
    """solve()'s decision, flipped on the 5% of instances whose content hash is 0 mod 20."""
    decided = solve(inst).separable
    if decided is not None and int(inst.content_hash(), 16) % 20 == 0:
        return not decided
    return decided


def one_dimension_short(inst: Instance) -> bool | None:
    """Decides the instance with its last embedding coordinate dropped."""
    return solve(Instance(inst.embeddings[:, :-1], inst.weights, inst.next_token_probs)).separable


@pytest.mark.parametrize("shape", [(16, 4), (12, 3)])
def test_D8_rejects_a_decision_that_errs_on_5_percent(shape: tuple[int, int]) -> None:
    template = cover_instance(np.random.default_rng(0), *shape)
    assert_rejects(check_D8(template, seed=7, decide=erring), "a solver wrong on 5% of draws is right")
    assert_accepts(check_D8(template, seed=7))


def test_D8_rejects_a_decision_in_one_dimension_less() -> None:
    template = cover_instance(np.random.default_rng(0), 10, 5)
    assert_rejects(check_D8(template, seed=3, decide=one_dimension_short), "d − 1 dimensions suffice")
