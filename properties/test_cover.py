"""D8, Cover's law (a literature result, Cover 1965): for V = 2 one-token supports with Gaussian
embeddings the certified separable fraction of 800 seeded draws passes an exact binomial test
against 2^{1−m} Σ_{k<d} binom(m−1, k), at shapes whose law ranges from 0.018 to 0.94."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntpverify.suite.checks.cover import check_D8, cover_instance
from ntpverify.suite.enforcement import enforce

#: (m, d) and Cover's P: (16, 4) 0.018, (12, 3) 0.033, (10, 5) 0.5, (20, 10) 0.5, (8, 6) 0.94.
SHAPES = ((16, 4), (12, 3), (10, 5), (20, 10), (8, 6))


@pytest.mark.claim("D8")
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"m{s[0]}-d{s[1]}")
@settings(max_examples=3)  # each example is 800 solves (~0.5 s); the seeds are the draws
@given(seed=st.integers(0, 2**32 - 1))
def test_D8_separable_fraction_follows_covers_law(shape: tuple[int, int], seed: int) -> None:
    template = cover_instance(np.random.default_rng(seed), *shape)
    enforce(check_D8(template, seed=seed), template, {"seed": seed})
