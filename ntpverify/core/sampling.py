"""Seeded numpy sampling of instances for sweeps and benchmarks (Hypothesis strategies, which
shrink, are in strategies.py; these are for large, fast, reproducible batches)."""

from __future__ import annotations

import numpy as np

from ntpverify.core.instance import Instance

KINDS = ("generic", "narrow", "duplicated", "collinear", "rank_deficient", "one_hot")

#: log-probabilities are drawn uniformly in ±LOG_RATIO/2, so in-support ratios stay ≤ 1e4.
LOG_RATIO = np.log(1e4)


def random_instance(rng: np.random.Generator, V: int, m: int, d: int, kind: str = "generic") -> Instance:
    """An instance with Gaussian embeddings shaped by ``kind`` and random supports (context 0 always
    has ``|S| < V``): ``narrow`` forces ``d < m``, ``duplicated`` repeats half the rows,
    ``collinear`` sets ``h_1 = −2.5 h_0``, ``rank_deficient`` uses a rank ``⌈min(m,d)/2⌉`` product,
    ``one_hot`` gives every context a single next token."""
    if kind == "narrow" and m > 1:
        d = min(d, m - 1)
    H = rng.standard_normal((m, d))
    if kind == "duplicated" and m > 1:
        H[m // 2:] = H[: m - m // 2]
    elif kind == "collinear" and m > 1:
        H[1] = -2.5 * H[0]
    elif kind == "rank_deficient":
        r = max(1, min(m, d) // 2)
        H = rng.standard_normal((m, r)) @ rng.standard_normal((r, d))
    P = np.zeros((m, V))
    for j in range(m):
        k = 1 if kind == "one_hot" else int(rng.integers(1, V + 1 if j else V))
        S = rng.choice(V, size=k, replace=False)
        x = np.exp(rng.uniform(-LOG_RATIO / 2, LOG_RATIO / 2, size=k))
        P[j, S] = x / x.sum()
    w = rng.uniform(0.1, 1.0, m)
    return Instance(H, w / w.sum(), P, name=f"random-{kind}-{V}x{m}x{d}")
