"""Issue 2's certification sweep: solve() on 200 random instances (V ≤ 64, m ≤ 32, d ≤ 64, mixed
regimes) and the worst KKT residual, Farkas defect and W⋆ equation residual over them.

Run: ``python -m benchmarks.solve_sweep [N]`` (a few minutes: the largest instances dominate).
"""

from __future__ import annotations

import sys
import time
from collections import Counter

import numpy as np

import ntpverify as nv
from ntpverify.core.sampling import KINDS, random_instance


def sweep(n: int = 200, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    outcomes: Counter = Counter()
    worst = {"kkt": 0.0, "farkas": 0.0, "w_star_eq": 0.0, "incompat_cert": 0.0}
    times = []
    for i in range(n):
        V, m, d = (int(x) for x in rng.integers([2, 1, 1], [65, 33, 65]))
        inst = random_instance(rng, V, m, d, KINDS[i % len(KINDS)])
        t0 = time.perf_counter()
        sol = nv.solve(inst)
        times.append(time.perf_counter() - t0)
        outcomes[tuple(s.state for s in sol.status.values())] += 1
        if sol.mm.status.ok:
            worst["kkt"] = max(worst["kkt"], max(sol.mm.kkt.values()))
        if sol.sep.farkas_defect is not None:
            worst["farkas"] = max(worst["farkas"], sol.sep.farkas_defect)
        if sol.compat.equation_residual is not None:
            worst["w_star_eq"] = max(worst["w_star_eq"], sol.compat.equation_residual)
        if sol.compat.certificate_defect is not None:
            worst["incompat_cert"] = max(worst["incompat_cert"], sol.compat.certificate_defect)
    return {"n": n, "outcomes": outcomes, "worst": worst, "median_s": float(np.median(times)),
            "max_s": float(np.max(times))}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    res = sweep(n)
    print(f"solve() on {res['n']} random instances (V≤64, m≤32, d≤64; kinds {', '.join(KINDS)})")
    print("status (F, compatibility, separability, W_mm): count")
    for key, count in sorted(res["outcomes"].items(), key=lambda kv: -kv[1]):
        print(f"  {key}: {count}")
    for name, value in res["worst"].items():
        print(f"worst {name:14s} {value:.2e}")
    print(f"solve time median {res['median_s'] * 1e3:.1f} ms, max {res['max_s']:.2f} s")


if __name__ == "__main__":
    main()
