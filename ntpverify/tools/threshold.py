"""``ntpverify threshold``: from which embedding dimension on is a corpus NTP-separable? (issue 11)

For each ``d`` and seed ``s``, the contexts of the source (their supports, probabilities and
weights kept) get Gaussian embeddings ``h_j ~ N(0, I_d/d)`` drawn from ``default_rng([s, d])``,
and :func:`ntpverify.solve` certifies separability (Definition 2) or leaves it undecided. Per d:
the certified-separable fraction of the decided draws with its Wilson 95% interval, and the
undecided count (never folded into either side). The threshold estimate ``d*`` is where the
fraction crosses ½ (linear interpolation between the bracketing d; reported also in units of m).
For Gaussian embeddings ``rank H = m`` almost surely from ``d = m`` on, where Lemma 1 makes every
draw separable; the paper asks for the exact threshold below it (Remark 1, §7).

Sources: an instance file, a text with the corpus options, or ``--random V,m,S``, which also
redraws the supports per seed (each context gets ``1..S`` distinct tokens, uniform
probabilities), from ``default_rng([s, 0])``.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ntpverify.core.errors import InputError
from ntpverify.core.instance import Instance

#: z of the two-sided 95% Wilson interval.
WILSON_Z = 1.959963984540054


def wilson(k: int, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval for ``k`` successes in ``n`` trials (``(0, 1)`` when n = 0).

    It always contains ``k/n``; at ``k = 0`` (``k = n``) its lower (upper) end is exactly 0 (1),
    where ``centre ∓ half`` is only so up to rounding, which would put the end on the wrong side of
    the fraction."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo = 0.0 if k == 0 else max(0.0, min(p, centre - half))
    hi = 1.0 if k == n else min(1.0, max(p, centre + half))
    return lo, hi


def random_supports(V: int, m: int, S: int, seed: int) -> Instance:
    """``m`` contexts with ``1..S`` distinct tokens each (uniform probabilities, uniform weights)
    and placeholder embeddings (re-drawn per d)."""
    rng = np.random.default_rng([seed, 0])
    P = np.zeros((m, V))
    for j in range(m):
        k = int(rng.integers(1, min(S, V) + 1))
        P[j, rng.choice(V, size=k, replace=False)] = 1.0 / k
    return Instance(np.ones((m, 1)), np.full(m, 1.0 / m), P, name=f"random-{V}x{m}-S{S}")


def embedded(template: Instance, d: int, seed: int) -> Instance:
    """``template`` with Gaussian embeddings ``N(0, I_d/d)`` from ``default_rng([seed, d])``."""
    H = np.random.default_rng([seed, d]).standard_normal((template.m, d)) / math.sqrt(d)
    return Instance(H, template.weights, template.next_token_probs, name=template.name)


def _decide(task: tuple[Instance, int, int]) -> tuple[int, int, bool | None]:
    from ntpverify.core.solution import solve

    template, d, seed = task
    return d, seed, solve(embedded(template, d, seed)).separable


@dataclass(frozen=True)
class Row:
    d: int
    separable: int
    decided: int
    undecided: int

    @property
    def fraction(self) -> float | None:
        return None if self.decided == 0 else self.separable / self.decided


@dataclass(frozen=True)
class ThresholdReport:
    """The separability curve of one source over ``ds``."""

    source: str
    m: int
    V: int
    seeds: int
    rows: list[Row]
    seconds: float
    random: tuple[int, int, int] | None = None
    plot: str | None = field(default=None)

    def threshold(self) -> float | None:
        """``d*`` where the fraction crosses ½ (linear interpolation), None if it never does."""
        pts = [(r.d, r.fraction) for r in self.rows if r.fraction is not None]
        for (d0, f0), (d1, f1) in zip(pts, pts[1:], strict=False):
            if f0 < 0.5 <= f1:
                return d0 + (0.5 - f0) * (d1 - d0) / (f1 - f0)
        if pts and pts[0][1] >= 0.5:
            return float(pts[0][0]) if pts[0][1] == 0.5 else None
        return None

    def to_dict(self) -> dict[str, Any]:
        d_star = self.threshold()
        return {"format": "ntpverify.threshold/1", "source": self.source, "V": self.V, "m": self.m,
                "seeds": self.seeds, "rank_H_equals_m_from_d": self.m,
                "rows": [{"d": r.d, "separable": r.separable, "decided": r.decided, "undecided": r.undecided,
                          "fraction": r.fraction, "wilson95": list(wilson(r.separable, r.decided))}
                         for r in self.rows],
                "d_star": d_star, "d_star_over_m": None if d_star is None else d_star / self.m,
                "plot": self.plot, "seconds": self.seconds}

    def summary(self) -> str:
        doc = self.to_dict()
        lines = [f"threshold {self.source}: V = {self.V}, m = {self.m}, {self.seeds} seeded Gaussian embeddings per d",
                 f"{'d':>6} {'separable':>10} {'fraction':>9} {'Wilson 95%':>17} {'undecided':>9}"]
        for r, row in zip(self.rows, doc["rows"], strict=True):
            lo, hi = row["wilson95"]
            frac = "-" if r.fraction is None else f"{r.fraction:.3f}"
            lines.append(f"{r.d:>6} {r.separable:>4}/{r.decided:<5} {frac:>9} [{lo:.3f}, {hi:.3f}] {r.undecided:>9}")
        d_star = doc["d_star"]
        lines.append("  d* (fraction crosses 1/2): " + ("not bracketed by these d" if d_star is None else
                                                        f"{d_star:.3g} = {d_star / self.m:.3g}·m"))
        lines.append(f"  rank H = m (Lemma 1: always separable) from d = {self.m}; time {self.seconds:.3g} s")
        if self.plot:
            lines.append(f"  figure: {self.plot}")
        return "\n".join(lines)


def threshold(template: Instance | None, ds: list[int], seeds: int, jobs: int = 1,
              random: tuple[int, int, int] | None = None, source: str = "", plot: str | None = None
              ) -> ThresholdReport:
    """The separability curve (module docstring). ``template`` gives the supports, probabilities
    and weights, or ``random = (V, m, S)`` redraws them per seed."""
    if seeds < 1:
        raise InputError("--seeds", f"is {seeds}, expected ≥ 1")
    start = time.perf_counter()
    if random is not None:
        V, m, S = random
        if V < 2 or m < 1 or S < 1:
            raise InputError("--random", f"is {random}, expected V ≥ 2, m ≥ 1, S ≥ 1")
        templates = [random_supports(V, m, S, s) for s in range(seeds)]
    else:
        assert template is not None
        templates = [template] * seeds
    tasks = [(templates[s], d, s) for d in ds for s in range(seeds)]
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_decide, tasks, chunksize=max(1, len(tasks) // (4 * jobs))))
    else:
        results = [_decide(t) for t in tasks]
    rows = []
    for d in ds:
        flags = [x for dd, _, x in results if dd == d]
        rows.append(Row(d, sum(x is True for x in flags), sum(x is not None for x in flags),
                        sum(x is None for x in flags)))
    report = ThresholdReport(source, templates[0].m, templates[0].V, seeds, rows,
                             round(time.perf_counter() - start, 3), random, plot)
    if plot is not None:
        _plot(report, Path(plot))
    return report


def _plot(report: ThresholdReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = [r.d for r in report.rows if r.fraction is not None]
    fr = [r.fraction for r in report.rows if r.fraction is not None]
    ci = [wilson(r.separable, r.decided) for r in report.rows if r.fraction is not None]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(ds, fr, yerr=[[f - lo for f, (lo, _) in zip(fr, ci, strict=True)],
                              [hi - f for f, (_, hi) in zip(fr, ci, strict=True)]], fmt="o-", capsize=3)
    ax.axhline(0.5, ls=":", c="gray")
    ax.axvline(report.m, ls="--", c="gray", label="d = m (rank H = m)")
    ax.set_xlabel("embedding dimension d")
    ax.set_ylabel("certified separable fraction")
    ax.set_title(f"{report.source}: V = {report.V}, m = {report.m}")
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)  # atomic: an interrupted run never leaves half a figure
