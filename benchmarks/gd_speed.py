"""Speed of one GD step on CE (ntpverify.optim.kernels) against a plain numpy loop on W.

For the shapes tiny (V=8, m=4, d=8), small (32, 8, 16) and medium (256, 32, 64) this measures,
in one run, the time per step of

* ``plain numpy W``: the baseline, GD written as a user would (``Z = W @ H.T``, softmax,
  ``W -= eta * ((S - P) * pi) @ H``), with its allocations;
* each form of ntpverify.optim.kernels on each plan (numpy; compiled loops; BLAS products with the
  compiled softmax), the automatic choice (choose_form with H, then plan), and the batched
  entry point (8 step sizes of one instance per call; time per member-step);

each as µs/step (median of 7 rounds that time every method in turn, after a warm-up that
excludes numba's compilation; the minimum alongside, which is what the code does when no other
process takes the core), steps/s,
speed-up over the baseline, useful flop rate (flops of the form actually run:
``2·V·m² + V·m`` reduced, ``4·V·m·d + V·m`` direct) and that rate as a share of the rate of a
512×512 float64 matmul measured in the same run, with BLAS on all cores (the bar's yardstick) and
on one thread (the kernels' own). The bar (issue 5): auto ≥ 30× the baseline on tiny, ≥ 5× on
small, and on medium ≥ the best numpy form and ≥ 40% of the matmul rate; for medium the share is
printed twice, by the flops the chosen form executes and by the flops of the W-step it computes
(the reduced form gets the same step with 2Vm² instead of 4Vmd flops). Last, the
numba compile time in a fresh process with an empty cache, and the cache-load time in a second
fresh process.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ntpverify.optim import kernels

SHAPES: dict[str, tuple[int, int, int]] = {"tiny": (8, 4, 8), "small": (32, 8, 16), "medium": (256, 32, 64)}
SPEEDUP_BAR = {"tiny": 30.0, "small": 5.0}
MATMUL_SHARE_BAR = {"medium": 0.40}
BATCH = 8


@dataclass(frozen=True)
class Problem:
    """A random instance with partial supports: ``H`` (m×d), ``P`` (V×m, columns sum to 1),
    ``pi`` (m), ``K = H Hᵀ`` and the step ``eta = 1/λ_max(Σ_j π_j h_j h_jᵀ)`` (theory.md §1)."""

    H: np.ndarray
    P: np.ndarray
    pi: np.ndarray
    K: np.ndarray
    eta: float

    @staticmethod
    def random(V: int, m: int, d: int, seed: int = 0) -> Problem:
        rng = np.random.default_rng(seed)
        H = rng.standard_normal((m, d))
        pi = rng.random(m) + 0.1
        pi /= pi.sum()
        P = rng.random((V, m)) * (rng.random((V, m)) < 0.5)  # about half the tokens off support
        P[0] += 0.1  # every support non-empty
        P /= P.sum(axis=0)
        eta = 1.0 / np.linalg.eigvalsh((H.T * pi) @ H)[-1]
        return Problem(H, P, pi, H @ H.T, float(eta))


def plain_numpy_gd(W: np.ndarray, H: np.ndarray, P: np.ndarray, pi: np.ndarray, eta: float,
                   steps: int) -> None:
    """The baseline: ``steps`` GD steps on W written plainly, as a user would."""
    for _ in range(steps):
        Z = W @ H.T
        Z = Z - Z.max(axis=0)
        S = np.exp(Z)
        S /= S.sum(axis=0)
        W -= eta * ((S - P) * pi) @ H


def flops_per_step(form: str, V: int, m: int, d: int) -> int:
    """Useful flops of one step of ``form``: its products plus ~V·m for softmax and update."""
    return (2 * V * m * m if form == "reduced" else 4 * V * m * d) + V * m


@dataclass(frozen=True)
class Timing:
    """Median and minimum wall time (s) over repeats: the median is the figure of record, the
    minimum shows what the code does when no other process takes the core."""

    median: float
    best: float

    def __truediv__(self, n: float) -> Timing:
        return Timing(self.median / n, self.best / n)


def timing(run: Callable[[], None], repeats: int) -> Timing:
    """Wall time of ``repeats`` calls of ``run``."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return Timing(statistics.median(times), min(times))


def matmul_gflops(n: int = 512, repeats: int = 21) -> float:
    """GFLOP/s of an ``n×n`` float64 matmul (``2n³`` flops, median time), numpy's BLAS with the
    threads of this process."""
    X = np.random.default_rng(1).standard_normal((n, n))
    Y = np.empty_like(X)
    np.matmul(X, X, out=Y)  # warm-up: thread pool, caches
    return 2 * n**3 / timing(lambda: np.matmul(X, X, out=Y), repeats).median / 1e9


def matmul_gflops_threads(threads: int) -> float:
    """:func:`matmul_gflops` in a fresh process with BLAS on ``threads`` threads (whatever the
    caller's environment says: ``make`` exports one thread for the test suite). One thread is
    the kernels' own yardstick (they are single-threaded); all cores is the bar's."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    code = "from benchmarks.gd_speed import matmul_gflops; print(matmul_gflops())"
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                         text=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return float(out.stdout)


def steps_per_chunk(advance: Callable[[int], None], target: float) -> int:
    """How many steps ``advance`` takes in about ``target`` seconds (after warming it up:
    numba's compilation is not timed)."""
    advance(1)
    n = 1
    while (elapsed := timing(lambda: advance(n), 1).median) < target / 4:
        n *= 4
    return max(1, int(n * target / elapsed))


def times_per_step(advances: dict[str, Callable[[int], None]], repeats: int = 7,
                   target: float = 0.05) -> dict[str, Timing]:
    """Time per step of each ``advance(n)`` (advances n steps): ``repeats`` rounds, each timing
    one chunk of about ``target`` seconds of every method in turn, so that all methods sample
    the same moments of a machine whose load varies."""
    chunks = {label: steps_per_chunk(advance, target) for label, advance in advances.items()}
    samples: dict[str, list[float]] = {label: [] for label in advances}
    for _ in range(repeats):
        for label, advance in advances.items():
            samples[label].append(timing(lambda: advance(chunks[label]), 1).median / chunks[label])
    return {label: Timing(statistics.median(ts), min(ts)) for label, ts in samples.items()}


@contextlib.contextmanager
def loops_max_flops(limit: float) -> Iterator[None]:
    """Temporarily move kernels.LOOPS_MAX_FLOPS, to force the compiled loops or BLAS."""
    saved = kernels.LOOPS_MAX_FLOPS
    kernels.LOOPS_MAX_FLOPS = limit
    try:
        yield
    finally:
        kernels.LOOPS_MAX_FLOPS = saved


def methods(pb: Problem, V: int, m: int, d: int) -> dict[str, tuple[str, int, Callable[[int], None]]]:
    """label → (form, members, advance(n)) for every method timed: ``advance(n)`` advances each
    of its ``members`` instances (1 but for the batch) by n steps; each owns its state."""
    Z0 = np.zeros((V, m))
    etas = pb.eta * np.linspace(0.5, 1.0, BATCH)

    def reduced(backend: str, limit: float = kernels.LOOPS_MAX_FLOPS) -> Callable[[int], None]:
        A = np.zeros((V, m))
        def advance(n: int) -> None:
            with loops_max_flops(limit):
                kernels.advance_reduced(A, Z0, pb.K, pb.P, pb.pi, pb.eta, n, backend)
        return advance

    def direct(backend: str, limit: float = kernels.LOOPS_MAX_FLOPS) -> Callable[[int], None]:
        W = np.zeros((V, d))
        def advance(n: int) -> None:
            with loops_max_flops(limit):
                kernels.advance_direct(W, pb.H, pb.P, pb.pi, pb.eta, n, backend)
        return advance

    A_batch = np.zeros((BATCH, V, m))
    W_plain = np.zeros((V, d))

    def batch(n: int) -> None:
        kernels.advance_batch(A_batch, Z0, pb.K, pb.P, pb.pi, etas, n)

    def plain(n: int) -> None:
        plain_numpy_gd(W_plain, pb.H, pb.P, pb.pi, pb.eta, n)

    form = kernels.choose_form(V, m, d, H=pb.H)
    return {
        "plain numpy W": ("direct", 1, plain),
        "numpy reduced": ("reduced", 1, reduced("numpy")),
        "numpy direct": ("direct", 1, direct("numpy")),
        "numba loops reduced": ("reduced", 1, reduced("numba", math.inf)),
        "numba loops direct": ("direct", 1, direct("numba", math.inf)),
        "blas+numba-softmax reduced": ("reduced", 1, reduced("numba", 0)),
        "blas+numba-softmax direct": ("direct", 1, direct("numba", 0)),
        f"auto: {form}, {kernels.plan(form, V, m, d)}": (form, 1, reduced("auto") if form == "reduced" else direct("auto")),
        f"batch B={BATCH}, per member": ("reduced", BATCH, batch),
    }


def shape_table(name: str, gflops: float, gflops_1: float) -> list[str]:
    """Rows of the table for one shape, then the bar verdicts for it."""
    V, m, d = SHAPES[name]
    pb = Problem.random(V, m, d)
    specs = methods(pb, V, m, d)
    measured = times_per_step({label: advance for label, (_, _, advance) in specs.items()})
    timings = {label: (form, measured[label] / members) for label, (form, members, _) in specs.items()}
    base = timings["plain numpy W"][1]
    rows = [f"{name} V={V} m={m} d={d}  eta={pb.eta:.3g}"]
    for label, (form, t) in timings.items():
        rate = flops_per_step(form, V, m, d) / t.median / 1e9
        rows.append(f"  {label:34s} {t.median * 1e6:10.3f} {t.best * 1e6:9.3f} {1 / t.median:10.0f} "
                    f"{base.median / t.median:8.1f}x {base.best / t.best:8.1f}x {rate:7.2f} "
                    f"{100 * rate / gflops:7.1f}% {100 * rate / gflops_1:7.1f}%")
    auto_form, auto = next(timing for label, timing in timings.items() if label.startswith("auto"))
    verdicts = []
    if name in SPEEDUP_BAR:
        speedup = base.median / auto.median
        verdicts.append(f"speed-up {speedup:.1f}x (bar {SPEEDUP_BAR[name]:.0f}x): "
                        f"{'met' if speedup >= SPEEDUP_BAR[name] else 'MISSED'}")
    if name in MATMUL_SHARE_BAR:
        best_numpy = min(t.median for label, (_, t) in timings.items() if label.startswith(("numpy", "plain")))
        share = flops_per_step(auto_form, V, m, d) / auto.median / 1e9 / gflops
        # the reduced form does 2Vm² instead of 4Vmd flops for the same step: rated by the flops it
        # executes it looks slow for being cheap, so the rate of the W-step it replaces is shown too
        equivalent = flops_per_step("direct", V, m, d) / auto.median / 1e9 / gflops
        verdicts.append(f"vs best numpy {best_numpy / auto.median:.2f}x (bar 1x): "
                        f"{'met' if auto.median <= best_numpy else 'MISSED'}")
        verdicts.append(f"matmul share, flops executed ({auto_form}): {100 * share:.0f}% "
                        f"(bar {100 * MATMUL_SHARE_BAR[name]:.0f}%): "
                        f"{'met' if share >= MATMUL_SHARE_BAR[name] else 'MISSED'}"
                        f" ({100 * share * gflops / gflops_1:.0f}% of one thread's matmul rate)")
        verdicts.append(f"matmul share, flops of the W-step it computes (4Vmd + Vm): {100 * equivalent:.0f}% "
                        f"(bar {100 * MATMUL_SHARE_BAR[name]:.0f}%): "
                        f"{'met' if equivalent >= MATMUL_SHARE_BAR[name] else 'MISSED'}")
    return rows + [f"  -> {v}" for v in verdicts]


_COMPILE_PROBE = """
import time
import numpy as np
from ntpverify.optim import kernels
V, m, d = 3, 2, 2
H, P, pi = np.eye(m, d), np.full((V, m), 1 / V), np.full(m, 1 / m)
calls = {
    "reduced": lambda: kernels.advance_reduced(np.zeros((V, m)), np.zeros((V, m)), H @ H.T, P, pi, 0.1, 1, "numba"),
    "direct": lambda: kernels.advance_direct(np.zeros((V, d)), H, P, pi, 0.1, 1, "numba"),
    "batch": lambda: kernels.advance_batch(np.zeros((2, V, m)), np.zeros((V, m)), H @ H.T, P, pi, 0.1, 1, "numba"),
    "blas-softmax": lambda: kernels._residual_compiled(np.zeros((V, m)), P, pi),
}
for name, call in calls.items():
    t = time.perf_counter()
    call()
    print(name, time.perf_counter() - t)
"""


def compile_seconds() -> list[dict[str, float]]:
    """First-call time of each numba kernel in two fresh processes sharing an initially empty
    numba cache: the first compiles and writes the cache, the second only loads it."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", _COMPILE_PROBE], env=env, check=True,
                                 capture_output=True, text=True).stdout
            runs.append({name: float(t) for name, t in (line.split() for line in out.splitlines())})
        return runs


def main() -> None:
    """Print the GD speed table, the bar verdicts and the numba compile/cache-load times."""
    if not kernels.numba_available():
        print("numba unavailable or disabled: nothing to compare the numpy baseline with")
        return
    cores = os.cpu_count() or 1
    gflops, gflops_1 = matmul_gflops_threads(cores), matmul_gflops_threads(1)
    print(f"512x512 float64 matmul: {gflops:.1f} GFLOP/s (numpy BLAS, {cores} threads), "
          f"{gflops_1:.1f} GFLOP/s (one thread)")
    print(f"  {'method':34s} {'us/step':>10} {'(best)':>9} {'steps/s':>10} {'vs plain':>9} {'(best)':>9} "
          f"{'GFLOP/s':>7} {'%matmul':>8} {'%1thread':>8}")
    for name in SHAPES:
        print("\n".join(shape_table(name, gflops, gflops_1)))
    print(f"512x512 float64 matmul again: {matmul_gflops_threads(cores):.1f} GFLOP/s (drift = machine load)")
    first, second = compile_seconds()
    print("numba, first call in a fresh process (the first one also initialises numba's runtime):")
    for name in first:
        print(f"  {name}: {first[name]:.2f} s compiling into an empty cache, {second[name]:.3f} s loading it")
