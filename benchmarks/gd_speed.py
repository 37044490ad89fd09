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

Then the corpus section (issue 10), in a fresh process per BLAS thread count (1, then all cores):
``nv.gd`` at ``CORPUS_SHAPE`` (V=1000, m=4096, d=256, supports of 1–20 tokens) against the two
products of its step (``W Hᵀ`` and ``E H``, 4·V·m·d flops, numpy's BLAS into kept buffers) timed
in the same rounds: that pair's rate is the machine's float64 matmul rate at this shape, and GD's
share of it is ``(product pair time) / (GD step time)`` (the bar: ≥ 60%). GD's step is
``(T(gd, 1 + n steps) − T(gd, 1 step)) / n`` with the checkpoint's loss gap stubbed out (its
cost grows with the logits, ~0.4–1.5 s here, so it would not cancel), so the set-up cancels; the
set-up and one loss gap are shown apart, with a breakdown of the step (products,
residual, the rest of DirectGD.advance, gd's per-chunk checks) and the plain numpy loop of a user.
Last, the time from calling ``nv.gd`` on the medium shape (256, 32, 64) to the end of its first
step (an upper bound of the time to start stepping; bar: 1 s), in a fresh process (numba's cache
loaded, the instance built) and warm.

``python -m benchmarks.gd_speed corpus`` runs the corpus section alone.
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
import unittest.mock
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ntpverify.core.model import loss_gap
from ntpverify.optim import gd as gd_module
from ntpverify.optim import kernels
from ntpverify.optim.gd import gd, nonfinite

SHAPES: dict[str, tuple[int, int, int]] = {"tiny": (8, 4, 8), "small": (32, 8, 16), "medium": (256, 32, 64)}
SPEEDUP_BAR = {"tiny": 30.0, "small": 5.0}
MATMUL_SHARE_BAR = {"medium": 0.40}
BATCH = 8
CORPUS_SHAPE = (1000, 4096, 256)
CORPUS_MAX_SUPPORT = 20
CORPUS_SHARE_BAR = 0.60
CORPUS_STEPS = 8  # steps of the longer timed gd run: ~0.1 s each at one thread
FIRST_STEP_BAR = 1.0  # seconds from nv.gd on the medium shape to its first step


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
from ntpverify.core.model import loss_gap
from ntpverify.optim import gd as gd_module
from ntpverify.optim import kernels
from ntpverify.optim.gd import gd, nonfinite
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


def corpus_rows(repeats: int = 5) -> list[str]:
    """The corpus section in this process (its BLAS threads): GD's share of the matmul rate at
    CORPUS_SHAPE, the breakdown of its step, and the medium shape's time to its first step."""
    from benchmarks.scale import random_supported  # the suite's random corpus instance

    V, m, d = CORPUS_SHAPE
    inst = random_supported(np.random.default_rng(0), V, m, d, CORPUS_MAX_SUPPORT)
    H, pi, PT = inst.embeddings, inst.weights, np.ascontiguousarray(inst.next_token_probs.T)
    eta = gd(inst, 0, checkpoints=[]).eta
    W = gd(inst, 1, checkpoints=[]).W  # also loads the kernels
    Z, G = np.empty((V, m)), np.empty((V, d))
    np.matmul(W, H.T, out=Z)
    logits = Z.copy()
    direct = kernels.DirectGD(H, PT, pi)
    W_direct, W_plain = W.copy(), W.copy()

    def residual() -> None:
        Z[...] = logits
        kernels._residual_sparse(Z, direct.indptr, direct.cols, direct.q, pi)

    def stepping(steps: int) -> Callable[[], object]:
        """gd without its checkpoint metric (stubbed: its cost varies with W_k, so it would not
        cancel in T(1 + n) − T(1)); it is timed on its own below."""
        def run() -> object:
            with unittest.mock.patch.object(gd_module, "loss_gap", lambda inst, W: 0.0):
                return gd(inst, steps, checkpoints=[])
        return run

    runs: dict[str, Callable[[], object]] = {
        "product pair": lambda: (np.matmul(W, H.T, out=Z), np.matmul(Z, H, out=G)),
        "gd 1+n steps": stepping(1 + CORPUS_STEPS),
        "gd 1 step": stepping(1),
        "loss gap": lambda: loss_gap(inst, W),
        "DirectGD.advance(1)": lambda: direct.advance(W_direct, eta, 1),
        "residual": residual,
        "copy of the logits": lambda: Z.__setitem__(Ellipsis, logits),
        "nonfinite": lambda: nonfinite(W, H),
        "plain numpy W": lambda: plain_numpy_gd(W_plain, H, PT, pi, eta, 1),
    }
    samples: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(repeats):  # every method in turn, so that all sample the same machine load
        for label, run in runs.items():
            samples[label].append(timing(run, 1).median)
    t = {label: Timing(statistics.median(ts), min(ts)) for label, ts in samples.items()}

    def minus(x: Timing, *ys: Timing) -> Timing:
        return Timing(x.median - sum(y.median for y in ys), x.best - sum(y.best for y in ys))

    pair = t["product pair"]
    step = minus(t["gd 1+n steps"], t["gd 1 step"]) / CORPUS_STEPS
    flops = 4 * V * m * d
    nnz = sum(len(S) for S in inst.supports)
    share, share_best = pair.median / step.median, pair.best / step.best
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    rows = [f"corpus V={V} m={m} d={d} (nnz(P) = {nnz}), OPENBLAS_NUM_THREADS={threads}, plan "
            f"{kernels.plan('direct', V, m, d)}: ms (median, min of {repeats} rounds)",
            f"  {'product pair W Ht, E H (the yardstick)':44s} {pair.median * 1e3:9.1f} {pair.best * 1e3:9.1f}"
            f"  {flops / pair.median / 1e9:6.1f} GFLOP/s",
            f"  {'gd step (T(1+n) - T(1)) / n':44s} {step.median * 1e3:9.1f} {step.best * 1e3:9.1f}"
            f"  {flops / step.median / 1e9:6.1f} GFLOP/s = {100 * share:.0f}% of the pair "
            f"({100 * share_best:.0f}% by minima)"]
    residual_alone = minus(t["residual"], t["copy of the logits"])
    parts = {
        "  of it: the products": pair,
        "  of it: residual (sparse softmax - P)": residual_alone,
        "  of it: W -= eta G (advance - the above)": minus(t["DirectGD.advance(1)"], pair, residual_alone),
        "  of it: gd's chunk (copies, checks)": minus(step, t["DirectGD.advance(1)"]),
    }
    rows += [f"  {label:44s} {x.median * 1e3:9.1f} {x.best * 1e3:9.1f}" for label, x in parts.items()]
    others = {"    nonfinite alone (no logits product)": t["nonfinite"],
              "gd set-up and 1 step (T(1))": t["gd 1 step"],
              "one checkpoint's loss gap (core.model, at W_1)": t["loss gap"],
              "plain numpy W, one step": t["plain numpy W"]}
    rows += [f"  {label:44s} {x.median * 1e3:9.1f} {x.best * 1e3:9.1f}" for label, x in others.items()]
    rows += [f"  -> plain numpy W runs at {100 * pair.median / t['plain numpy W'].median:.0f}% of the pair",
             f"  -> gd's share of the matmul rate {100 * share:.0f}% (bar {100 * CORPUS_SHARE_BAR:.0f}%): "
             f"{'met' if share >= CORPUS_SHARE_BAR else 'MISSED'}"]
    return rows + first_step_rows()


_FIRST_STEP_PROBE = """
import time
started = time.perf_counter()
import numpy as np
import ntpverify as nv
from benchmarks.gd_speed import SHAPES
from benchmarks.scale import random_supported
V, m, d = SHAPES["medium"]
inst = random_supported(np.random.default_rng(0), V, m, d, 8)
t = time.perf_counter()
nv.gd(inst, 1, checkpoints=[])
first = time.perf_counter() - t
t = time.perf_counter()
nv.gd(inst, 1, checkpoints=[])
print(time.perf_counter() - started - (time.perf_counter() - t), first, time.perf_counter() - t)
"""


def first_step_rows() -> list[str]:
    """The medium shape's time from calling nv.gd to the end of its first step, in a fresh
    process (the numba cache loaded in the call) and warm (a second call)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", _FIRST_STEP_PROBE], check=True, capture_output=True,
                         text=True, cwd=root, env=dict(os.environ, PYTHONPATH=root)).stdout.split()
    fresh_total, fresh, warm = map(float, out)
    V, m, d = SHAPES["medium"]
    return [f"medium V={V} m={m} d={d}: nv.gd to the end of its first step {fresh:.3f} s in a fresh process "
            f"({fresh_total:.2f} s with the imports and the instance), {warm * 1e3:.1f} ms warm",
            f"  -> time to start stepping {fresh:.3f} s (bar {FIRST_STEP_BAR:.0f} s): "
            f"{'met' if fresh <= FIRST_STEP_BAR else 'MISSED'}"]


def corpus_section() -> None:
    """Print :func:`corpus_rows` from a fresh process with BLAS on one thread, then on all cores."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for threads in sorted({1, os.cpu_count() or 1}):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   PYTHONPATH=root)
        code = "from benchmarks.gd_speed import corpus_rows; print('\\n'.join(corpus_rows()))"
        print(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                             text=True, cwd=root).stdout, end="")


def main() -> None:
    """Print the GD speed table, the bar verdicts, the numba compile/cache-load times and the
    corpus section."""
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
    corpus_section()


if __name__ == "__main__":
    if sys.argv[1:] == ["corpus"]:
        corpus_section()
    else:
        main()
