"""solve() time per shape with its KKT residual, against the cvxpy + Clarabel route in the same run.

Issue 5's bar is a median ≤ 2 ms on small instances (V ≤ 32, m ≤ 8) including verification; the
"random small" row is that population (uniform V ∈ [2,32], m ∈ [1,8], d ∈ [1,16], seeded).
"""

from __future__ import annotations

import time

import numpy as np

import ntpverify as nv
from ntpverify.core.sampling import random_instance

REPEATS = 5


def _time(inst: nv.Instance, method: str) -> tuple[float, float | None]:
    """Median wall time of ``solve(inst, method)`` over REPEATS (after one warm-up) and its worst
    KKT residual (None when W^mm is not ok)."""
    sol = nv.solve(inst, method=method)
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        nv.solve(inst, method=method)
        times.append(time.perf_counter() - t0)
    kkt = max(sol.mm.kkt.values()) if sol.mm.status.ok else None
    return float(np.median(times)), kkt


def _population(rng: np.random.Generator, n: int, highs: tuple[int, int, int]) -> list[nv.Instance]:
    out = []
    for _ in range(n):
        V, m, d = (int(x) for x in rng.integers([2, 1, 1], highs))
        out.append(random_instance(rng, V, m, d))
    return out


def main() -> None:
    rng = np.random.default_rng(5)
    rows = {
        "tiny (V=8, m=4, d=8)": [random_instance(rng, 8, 4, 8) for _ in range(20)],
        "small (V=32, m=8, d=16)": [random_instance(rng, 32, 8, 16) for _ in range(20)],
        "random small (V≤32, m≤8, d≤16)": _population(rng, 60, (33, 9, 17)),
    }
    print(f"{'shape':34s} {'nnls ms':>9s} {'clarabel ms':>12s} {'ratio':>6s} {'worst KKT':>10s}")
    for label, insts in rows.items():
        fast = [_time(i, "nnls") for i in insts]
        slow = [_time(i, "clarabel")[0] for i in insts[:10]]
        kkts = [k for _, k in fast if k is not None]
        med_fast = np.median([t for t, _ in fast]) * 1e3
        med_slow = np.median(slow) * 1e3
        worst = f"{max(kkts):.1e}" if kkts else "-"
        print(f"{label:34s} {med_fast:9.2f} {med_slow:12.2f} {med_slow / med_fast:5.1f}x {worst:>10s}")
