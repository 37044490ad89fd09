"""Dense (nnls) against structured ``solve()`` on growing instances, with the fitted growth exponent.

Rows: random instances V = 64, m = 32/64/128, d = 2m, |S_j| ≤ 8 (separable: d ≥ m), one-hot
instances (m, d, V) = (200, 256, 10) and (2000, 2048, 20) (W^mm = hard-margin Crammer–Singer), and
non-separable ones: random V = 64, d = 8, m = 256/512/1024 and one-hot V = 10, m = 500, d = 20. The
dense route is timed only up to DENSE_MAX_CONSTRAINTS (issue 10 measured 176 s at 3.8k). The
exponent is the least-squares slope of log(seconds) on log(constraints) over the separable random
rows (where d = 2m, so the work of one epoch, ≈ 2·V·m·d flops, grows like constraints², and the
slope on log(V·m·d) is printed too) and over the non-separable random rows (d fixed).
scikit-learn's ``LinearSVC(multi_class="crammer_singer")`` is timed on the one-hot rows when it is
importable (a benchmark-only extra).
"""

from __future__ import annotations

import re
import time

import numpy as np

import ntpverify as nv

#: The dense route is skipped above this many constraints m(V − 1) (minutes per solve beyond).
DENSE_MAX_CONSTRAINTS = 2500


def random_supported(rng: np.random.Generator, V: int, m: int, d: int, max_support: int) -> nv.Instance:
    """Gaussian ``H`` (m×d) and, per context, a uniform random support of size 1..max_support with
    Dirichlet probabilities."""
    H = rng.standard_normal((m, d))
    P = np.zeros((m, V))
    for j in range(m):
        S = rng.choice(V, size=int(rng.integers(1, max_support + 1)), replace=False)
        P[j, S] = rng.dirichlet(np.ones(S.size))
    return nv.Instance(H, np.full(m, 1.0 / m), P, name=f"random-{V}x{m}x{d}")


def one_hot(rng: np.random.Generator, V: int, m: int, d: int) -> nv.Instance:
    H = rng.standard_normal((m, d))
    P = np.zeros((m, V))
    P[np.arange(m), rng.integers(0, V, m)] = 1.0
    return nv.Instance(H, np.full(m, 1.0 / m), P, name=f"one-hot-{V}x{m}x{d}")


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _complete(sol: nv.Solution) -> nv.Solution:
    """Force the lazily computed parts (dim F and every status) so that they are timed too."""
    assert sol.F_dim is not None and sol.status
    return sol


def _liblinear(inst: nv.Instance) -> float | None:
    """Seconds of LinearSVC(crammer_singer) at large C on a one-hot instance, None without sklearn."""
    try:
        from sklearn.svm import LinearSVC
    except ImportError:
        return None
    labels = np.argmax(inst.next_token_probs, axis=1)
    clf = LinearSVC(multi_class="crammer_singer", C=1e6, fit_intercept=False, tol=1e-10, max_iter=100000)
    return _timed(lambda: clf.fit(inst.embeddings, labels))[1]


def main() -> None:
    rng = np.random.default_rng(10)
    rows = [random_supported(rng, 64, m, 2 * m, 8) for m in (32, 64, 128)]
    rows += [one_hot(rng, 10, 200, 256), one_hot(rng, 20, 2000, 2048)]
    rows += [random_supported(rng, 64, m, 8, 8) for m in (256, 512, 1024)] + [one_hot(rng, 10, 500, 20)]
    nv.solve(rows[0], method="structured")  # compile (numba caches to disk after the first run)
    print(f"{'instance':24s} {'constraints':>11s} {'dense s':>9s} {'struct s':>9s} {'epochs':>6s} "
          f"{'KKT/Farkas':>10s} {'vs dense':>9s} {'liblinear s':>11s}")
    sizes, works, times, ns_sizes, ns_times = [], [], [], [], []
    for inst in rows:
        n = inst.m * (inst.V - 1)
        sol, t_struct = _timed(lambda inst=inst: _complete(nv.solve(inst, method="structured")))
        epochs = re.search(r"(\d+) epochs", sol.mm.status.reason or sol.sep.status.reason)
        dense, t_dense, agree = None, None, None
        if n <= DENSE_MAX_CONSTRAINTS:
            dense, t_dense = _timed(lambda inst=inst: nv.solve(inst, method="nnls"))
            assert dense.separable is sol.separable and dense.compatible is sol.compatible
            if dense.W_mm is not None and sol.W_mm is not None:
                agree = np.linalg.norm(sol.W_mm - dense.W_mm) / np.linalg.norm(dense.W_mm)
        if inst.name.startswith("random") and sol.separable is False:
            ns_sizes.append(n)
            ns_times.append(t_struct)
        elif inst.name.startswith("random"):
            sizes.append(n)
            works.append(inst.V * inst.m * inst.d)
            times.append(t_struct)
        if sol.mm.status.ok:
            kkt = f"{max(sol.mm.kkt.values()):.1e}"
        elif sol.separable is False:
            kkt = f"F{sol.sep.farkas_defect:.0e}"  # not separable: the Farkas certificate's defect
        else:
            kkt = sol.mm.status.state
        lib = _liblinear(inst) if inst.name.startswith("one-hot") else None
        print(f"{inst.name:24s} {n:11d} {t_dense if t_dense is not None else float('nan'):9.2f} "
              f"{t_struct:9.2f} {epochs.group(1) if epochs else '-':>6s} {kkt:>10s} "
              f"{agree if agree is not None else float('nan'):9.1e} "
              f"{lib if lib is not None else float('nan'):11.3f}")
    slope = np.polyfit(np.log(sizes), np.log(times), 1)[0]
    per_work = np.polyfit(np.log(works), np.log(times), 1)[0]
    ns_slope = np.polyfit(np.log(ns_sizes), np.log(ns_times), 1)[0]
    print(f"structured growth exponent (log-log slope of seconds): separable random rows {slope:.2f} "
          f"on constraints, {per_work:.2f} on V·m·d; non-separable random rows {ns_slope:.2f} on "
          f"constraints")
