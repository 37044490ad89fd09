"""Gradient-descent kernels for the NTP cross-entropy (theory.md §1, §4 I2): they only advance.

Notation (theory.md §1): ``H`` is m×d, ``π`` has m entries, ``P = probsᵀ`` is V×m (column j is
``p_j``). For logits ``Z`` (V×m, column j is ``W h_j``) let ``S = softmax(Z)`` column-wise and

    E = (S − P) diag(π) = S diag(π) − Q,    Q = P diag(π),

so that ``∇CE(W) = E H``. Gradient descent ``W_{k+1} = W_k − η ∇CE(W_k)`` runs in one of two forms:

* **direct**: ``Z = W Hᵀ``, ``W ← W − η E H``; ``4·V·m·d`` flops per step (two products).
* **reduced** (I2): ``W_k = W_0 + A_k H`` with ``A_0 = 0``, ``Z_k = Z0 + A_k K``, ``Z0 = W_0 Hᵀ``,
  ``K = H Hᵀ``, ``A ← A − η E``; ``2·V·m²`` flops per step whatever d is. Exact for any ``W_0``
  in exact arithmetic; in floating point only when H has full row rank and is well
  conditioned, see :func:`choose_form`.

Both share the softmax step: ``V·m`` exponentials besides ``O(V·m)`` flops. It is log-sum-exp
stable (the column maximum is subtracted first), so logits of any size are fine: they grow like
``log k`` along GD (theory.md §6), and a start with logits ~±1e4 stays finite.

Backends and plans
------------------
``"numpy"`` is the reference and the fallback: BLAS products, ``np.exp``, the arithmetic of the
formulas above in their order. ``"numba"`` runs compiled code with fastmath off (no
reassociation, no FMA contraction, IEEE ``max``/``exp`` semantics), cached with ``cache=True`` so
that a fresh process loads it from ``__pycache__`` instead of compiling. :func:`plan` picks how:

* ``"numba loops"``: one compiled call advances all ``steps`` steps with preallocated buffers
  and no Python in between, which is what makes small shapes fast;
* ``"blas + numba softmax"``: numpy's BLAS products with the compiled softmax in between, for
  steps above ``LOOPS_MAX_FLOPS`` flops, where BLAS outruns the loops. In the direct form
  (:class:`DirectGD`) the products write into buffers kept across calls and the softmax
  subtracts ``Q = P diag(π)`` by its Σ_j |S_j| nonzeros (_residual_sparse), never reading a
  dense V×m Q: at corpus shapes the step is then the two products plus three passes over the
  logits (see "Corpus shapes" below).

Both differ from numpy only by the summation order of the products and by the exponential
(below): they agree with it to ≤ 3e-15 relative after 10⁴ steps on the cases of the tests
(which assert 1e-12), and ``W_0 + A H`` agrees with the direct form to ~1e-14 wherever
:func:`choose_form` keeps the reduced form.

``backend="auto"`` means numba when it is importable and not disabled, else numpy. The
environment variable ``NTPVERIFY_DISABLE_NUMBA=1``, read at every call, forces numpy;
``backend="numba"`` then raises, as it does without numba. :func:`resolve_backend` and
:func:`plan` report what a call runs.

The exponential
---------------
``np.exp`` and ``math.exp`` on float64 are scalar libm calls on this AVX2 machine (numpy's SIMD
float64 exp needs AVX-512): 5.4–5.7 ns per element measured, 45 µs of each 8192-logit softmax
of the medium shape. :func:`_exp_nonpositive` (Cody–Waite reduction, degree-13 polynomial, 2^k
built in the exponent bits) has no branch, so LLVM vectorises the loops around it: 1.5–2 ns
per element, within 1 ulp of ``np.exp`` on ``[log 2^−1022, 0]``; results below ``2^−1022``
(< 2.3e-308) are flushed to 0.

Measurements
------------
µs per step on an AMD EPYC (Zen 3, 2 cores, AVX2), minimum of 5 runs under ``nice -20`` on a
shared, loaded machine, BLAS on one thread (``OPENBLAS_NUM_THREADS=1``):

=================  ===========  ==========  ==========  ===========  ==========  ==========
(V, m, d)          red. loops   red. blas   red. numpy  dir. loops   dir. blas   dir. numpy
=================  ===========  ==========  ==========  ===========  ==========  ==========
(8, 4, 8)          0.4          15          60          1.9          30          87
(32, 8, 16)        3.3          27          88          5.1          39          115
(256, 32, 64)      55           57          116         117          109         161
(128, 64, 64)      92           66          114         104          121         158
(512, 64, 128)     476          393         714         1156         833         1246
(256, 128, 128)    597          495         825         1136         778         1124
(512, 128, 128)    1350         967         1714        2232         1552        2295
(1024, 128, 256)   9084         2162        13129       21874        9938        13166
=================  ===========  ==========  ==========  ===========  ==========  ==========

The loops win below ~1 Mflop per step; above it BLAS wins, by 1.2–1.5× on the mid-sized shapes
and by 2–4× on the largest, where the working set of the loops outgrows the 512 KB L2 cache. But numpy's BLAS
runs on all cores by default, and threaded BLAS (like any threaded kernel) became 10–300×
slower whenever other processes oversubscribed the cores (the medium direct step: 31 ms
instead of 0.1 ms), which the single-threaded loops never did. Hence ``LOOPS_MAX_FLOPS = 2^24``
(16.8 Mflop): BLAS only where it is worth that risk.

Corpus shapes
-------------
At (V, m, d) = (1000, 4096, 256) (m > d: the direct form; 4.2 Gflop per step, far above
``LOOPS_MAX_FLOPS``, so the BLAS plan) a step is the two products (4·V·m·d flops) plus V·m = 4.1M
exponentials. Measured with ``python -m benchmarks.gd_speed corpus`` (gd's step, checkpoint
metric excluded, against the two products alone timed in the same rounds; the share is their
time over the step's) on the shared machine at a load of ~1.6: BLAS on one thread, products
88 ms (47 GFLOP/s), residual 9.5 ms, ``W −= ηG`` and gd's per-chunk copies and check ~1–2 ms:
89% of the products' rate; BLAS on both cores, products 49 ms (85 GFLOP/s), the
single-threaded residual 10.7 ms: 81%. Before DirectGD the same step ran at 61% (one thread)
and 57% (two): gd's check formed the logits once more (a third V·m·d product), each call
rebuilt the dense ``P diag(π)`` and its buffers, and the dense residual read that Q (one more
pass over V×m). At a load of 5–8 the share stayed 82–94% on one thread.

``python -m benchmarks`` measures the shapes of issue 5 against a plain numpy loop.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Literal, TypedDict

import numpy as np
import numpy.typing as npt

from ntpverify.core.instance import Instance

try:  # numba is a dependency, but the numpy forms below are complete without it
    import numba
    from numba import types as _nbtypes
    from numba.extending import intrinsic as _intrinsic
except ImportError:  # pragma: no cover - exercised only on installations without numba
    numba = None  # type: ignore[assignment]  # the module name is rebound as the "unavailable" flag

DISABLE_ENV = "NTPVERIFY_DISABLE_NUMBA"
BACKENDS = ("auto", "numba", "numpy")
REDUCED_MAX_COND = 100.0  # see choose_form: weak directions settle within ~cond² ≈ 1e4 steps
LOOPS_MAX_FLOPS = 2**24  # flops per step above which the BLAS products are used (module docstring)

Residual = Callable[[np.ndarray, np.ndarray, np.ndarray], None]  # (Z, Q, pi): logits → E in place


# ---------------------------------------------------------------------------------------------
# backend selection


def numba_available() -> bool:
    """True if numba is importable and ``NTPVERIFY_DISABLE_NUMBA`` is unset (or ``0``/empty)."""
    return numba is not None and os.environ.get(DISABLE_ENV, "") in ("", "0")


def resolve_backend(backend: str = "auto") -> str:
    """The backend a kernel call with ``backend`` runs: ``"numba"`` or ``"numpy"``.

    ``"auto"`` picks numba when :func:`numba_available`; ``"numba"`` raises ``RuntimeError``
    when it is not (an explicit request is never silently downgraded)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if backend == "numpy":
        return "numpy"
    if numba_available():
        return "numba"
    if backend == "numba":
        raise RuntimeError(f"numba backend requested but numba is unavailable or disabled by {DISABLE_ENV}")
    return "numpy"


def choose_form(V: int, m: int, d: int, H: np.ndarray | None = None) -> str:
    """``"reduced"`` if ``m ≤ d`` and (when ``H`` is given) ``cond(H) ≤ REDUCED_MAX_COND``,
    else ``"direct"``: the reduced form wherever it is accurate, as it is then also cheaper.

    Cost: a step costs ``2·V·m²`` flops reduced and ``4·V·m·d`` direct; with m ≤ d the reduced
    step took 0.2–1.0× (median 0.55×) the time of the direct one on the same plan (module
    docstring, "Measurements"), so only accuracy can rule it out.

    Accuracy: the map ``A ↦ A K`` has a null space when ``rank H < m`` (always when m > d).
    GD moves A along it without changing W, by ``−η E_∞`` every step once it converges with
    ``E_∞ ≠ 0`` (instances that are not separable or not compatible, e.g. duplicated
    embeddings), so ``‖A_k‖`` grows like k and the rounding of ``A_k K`` with it: the error of
    the reduced form grows like k² (measured against the direct form, which stays within
    3e-14 of itself across backends: 8e-9 at 10⁶ steps and 9e-7 at 10⁷ with a duplicated row of
    H; 4e-8 at 10⁶ with m = 7 > d = 3). A full-rank but ill-conditioned H does the same for the
    ~``cond(H)²`` steps a weak direction takes to settle: with a near-duplicated row, the error
    at 10⁷ steps was 1e-12 for cond(H) = 16, 6e-12 at 5e2, 8e-11 at 1.7e3, 4e-10 at 5e3. Pass
    ``H`` to have it checked; without it, full row rank is assumed when m ≤ d."""
    if m > d:
        return "direct"
    if H is not None and np.linalg.cond(H) > REDUCED_MAX_COND:
        return "direct"
    return "reduced"


# ---------------------------------------------------------------------------------------------
# numpy forms (reference and fallback); written for an optional leading batch axis


def _residual_numpy(Z: np.ndarray, Q: np.ndarray, pi: np.ndarray) -> None:
    """Logits ``Z`` (…×V×m) → ``E = softmax(Z) diag(π) − Q`` in place (column-wise softmax).

    The anchor entry ``a`` of each column (the first ``v`` with ``e^{Z_vj − max} = 1``, the
    largest softmax entry) is ``E_aj = (π_j − Q_aj) − Σ_{v≠a} π_j s_vj``, which is ``π_j s_aj −
    Q_aj`` as ``s_aj = 1 − Σ_{v≠a} s_vj``. Formed directly, ``π_j s_aj`` rounds to ``π_j`` once
    ``1 − s_aj < 2⁻⁵³`` while the off-anchor entries stay exact, and the gradient's direction is
    lost (NGD, sign descent, Adam at margins past ~37); as a sum it keeps relative accuracy (on
    one-hot contexts ``π_j − Q_aj = 0`` and ``E_aj`` is minus the off-anchor mass)."""
    Z -= Z.max(axis=-2, keepdims=True)  # log-sum-exp shift: every exponent ≤ 0, no overflow
    np.exp(Z, out=Z)
    anchor = np.expand_dims((Z == 1.0).argmax(axis=-2), -2)
    Z *= pi / Z.sum(axis=-2, keepdims=True)
    np.put_along_axis(Z, anchor, 0.0, axis=-2)
    off = Z.sum(axis=-2, keepdims=True)  # Σ_{v≠a} π_j s_vj, v ascending
    Qa = np.take_along_axis(np.broadcast_to(Q, Z.shape), anchor, axis=-2)
    Z -= Q
    np.put_along_axis(Z, anchor, (pi - Qa) - off, axis=-2)  # π broadcasts as in the scaling


def _reduced_numpy(A: np.ndarray, Z0: np.ndarray, K: np.ndarray, Q: np.ndarray, pi: np.ndarray,
                   eta: float | np.ndarray, steps: int, residual: Residual = _residual_numpy) -> None:
    """``steps`` times: ``Z = A K + Z0``, ``A ← A − η E(Z)``. ``eta`` broadcasts against ``A``."""
    Z = np.empty_like(A)
    for _ in range(steps):
        np.matmul(A, K, out=Z)
        Z += Z0
        residual(Z, Q, pi)
        Z *= eta
        A -= Z


# ---------------------------------------------------------------------------------------------
# numba kernels

if numba is not None:
    # fastmath stays off: it would reassociate sums, contract FMAs and assume no inf/NaN,
    # breaking both the 1e-12 agreement with numpy and the max/exp semantics at large logits.
    # error_model="numpy": π_j / Σ_v S_vj never divides by zero (the sum is ≥ 1), skip the check.
    class _JitOptions(TypedDict):
        cache: bool
        nogil: bool
        error_model: Literal["numpy"]

    _JIT: _JitOptions = dict(cache=True, nogil=True, error_model="numpy")

    @_intrinsic
    def _bits_of(typingctx, x):
        """The IEEE bits of a float64 as an int64 (a bitcast; LLVM vectorises it)."""
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(_nbtypes.int64))
        return _nbtypes.int64(_nbtypes.float64), codegen

    @_intrinsic
    def _float_of(typingctx, i):
        """The float64 with IEEE bits ``i`` (a bitcast)."""
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(_nbtypes.float64))
        return _nbtypes.float64(_nbtypes.int64), codegen

    _LOG2E = 1.4426950408889634
    _LN2_HI = 6.93147180369123816490e-01  # ln 2 = _LN2_HI + _LN2_LO; k·_LN2_HI is exact for |k| < 2^11
    _LN2_LO = 1.90821492927058770002e-10
    _ROUND = 6755399441055744.0  # 1.5·2^52: x + _ROUND rounds x to an integer held in the low bits
    _EXP_MIN = -708.3964185322641  # log(2^−1022): below it e^x is subnormal, flushed to 0
    _C = tuple(1.0 / math.factorial(n) for n in range(14))  # Taylor coefficients of e^r

    @numba.njit(inline="always", **_JIT)
    def _exp_nonpositive(x: float) -> float:
        """``e^x`` for ``x ≤ 0`` within 1 ulp; 0 for ``x < log 2^−1022``; NaN stays NaN.

        ``x = k ln2 + r`` with ``k = round(x/ln2)``, ``|r| ≤ ln2/2``; ``e^r`` by its Taylor
        polynomial to degree 13 (truncation ≤ 5e-18) in Estrin's scheme (short dependency
        chains), ``2^k`` built in the exponent bits. No branches, so loops over it vectorise.
        Below ``_EXP_MIN`` the bit trick is meaningless and the final select discards it."""
        t = x * _LOG2E + _ROUND
        k = t - _ROUND
        r = (x - k * _LN2_HI) - k * _LN2_LO
        r2 = r * r
        r4 = r2 * r2
        b0 = (_C[2] + _C[3] * r) + (_C[4] + _C[5] * r) * r2
        b1 = (_C[6] + _C[7] * r) + (_C[8] + _C[9] * r) * r2
        b2 = (_C[10] + _C[11] * r) + (_C[12] + _C[13] * r) * r2
        q = (b0 + b1 * r4) + b2 * (r4 * r4)
        # the low bits of t hold k; shifting k + 1023 into the exponent field gives 2^k
        # numba's stub types an intrinsic's call with its typing signature (typingctx first)
        y = (1.0 + (r + r2 * q)) * _float_of((_bits_of(t) + 1023) << 52)  # type: ignore[call-arg]
        return 0.0 if x < _EXP_MIN else y

    @numba.njit(inline="always", **_JIT)
    def _two_rows_times(x0: np.ndarray, x1: np.ndarray, M: np.ndarray, out0: np.ndarray,
                        out1: np.ndarray) -> None:
        """``out0 = x0 M``, ``out1 = x1 M`` for rows ``x0``, ``x1`` (n) and a C-contiguous M (n×p).

        The inner loop runs along a row of M (contiguous, so it vectorises without
        reassociating any sum); each load of M serves two rows and four rows of M are taken
        per pass over ``out``, which halves the loads and stores per flop (measured 1.9× on
        the medium shape against one row, one term at a time). ``out_j = Σ_i x_i M_ij`` is
        summed in blocks of four terms."""
        n, p = M.shape
        for j in range(p):
            out0[j] = 0.0
            out1[j] = 0.0
        n4 = n - n % 4
        for i in range(0, n4, 4):
            a0, a1, a2, a3 = x0[i], x0[i + 1], x0[i + 2], x0[i + 3]
            b0, b1, b2, b3 = x1[i], x1[i + 1], x1[i + 2], x1[i + 3]
            for j in range(p):
                m0, m1, m2, m3 = M[i, j], M[i + 1, j], M[i + 2, j], M[i + 3, j]
                out0[j] += (a0 * m0 + a1 * m1) + (a2 * m2 + a3 * m3)
                out1[j] += (b0 * m0 + b1 * m1) + (b2 * m2 + b3 * m3)
        for i in range(n4, n):
            a, b = x0[i], x1[i]
            for j in range(p):
                out0[j] += a * M[i, j]
                out1[j] += b * M[i, j]

    @numba.njit(inline="always", **_JIT)
    def _rows_times(X: np.ndarray, M: np.ndarray, out: np.ndarray, spare: np.ndarray) -> None:
        """``out = X M`` (X r×n, M n×p, out r×p, all C-contiguous), two rows at a time; an odd
        last row is paired with itself, its copy going to ``spare`` (p)."""
        r = X.shape[0]
        for v in range(0, r - 1, 2):
            _two_rows_times(X[v], X[v + 1], M, out[v], out[v + 1])
        if r % 2:
            _two_rows_times(X[r - 1], X[r - 1], M, out[r - 1], spare)

    @numba.njit(inline="always", **_JIT)
    def _softmax_scaled(Z: np.ndarray, pi: np.ndarray, colmax: np.ndarray, colscale: np.ndarray) -> None:
        """Logits ``Z`` (V×m) → ``e^{Z_vj − max_v Z_vj}`` in place and
        ``colscale[j] = π_j / Σ_v e^{Z_vj − max}`` (``colmax`` (m) is scratch): the first steps
        of _residual_numpy, in its order (v ascending in every sum)."""
        V, m = Z.shape
        # the loops start at 0: from a variable start numba cannot prove an index ≥ 0, keeps its
        # negative-index wraparound, and LLVM stops vectorising (3–4× slower, measured)
        for j in range(m):
            colmax[j] = Z[0, j]
            colscale[j] = 0.0
        for v in range(1, V):
            for j in range(m):
                z = Z[v, j]
                colmax[j] = z if z > colmax[j] else colmax[j]
        for v in range(V):
            for j in range(m):
                s = _exp_nonpositive(Z[v, j] - colmax[j])
                Z[v, j] = s
                colscale[j] += s
        for j in range(m):
            colscale[j] = pi[j] / colscale[j]

    @numba.njit(**_JIT)
    def _residual(Z: np.ndarray, Q: np.ndarray, pi: np.ndarray, colmax: np.ndarray,
                  colscale: np.ndarray) -> None:
        """Logits ``Z`` (V×m) → ``E = softmax(Z) diag(π) − Q`` in place; ``colmax``,
        ``colscale`` (m) are scratch. The operations and their order are those of
        _residual_numpy."""
        V, m = Z.shape
        _softmax_scaled(Z, pi, colmax, colscale)
        _find_anchors(Z, colmax)
        for j in range(m):  # the anchor entry accumulates Σ_{v≠a} π_j s_vj (its own s is 1)
            Z[int(colmax[j]), j] = 0.0
        for v in range(V):
            for j in range(m):
                a = int(colmax[j])
                if v != a:
                    t = Z[v, j] * colscale[j]
                    Z[a, j] += t
                    Z[v, j] = t - Q[v, j]
        for j in range(m):
            a = int(colmax[j])
            Z[a, j] = (pi[j] - Q[a, j]) - Z[a, j]

    @numba.njit(inline="always", **_JIT)
    def _find_anchors(S: np.ndarray, anchor: np.ndarray) -> None:
        """``anchor[j]`` = the first ``v`` with ``S_vj = 1`` (held as a float; 0 if there is
        none, at NaN logits): the anchor of _residual_numpy, read before the entries are scaled."""
        V, m = S.shape
        for j in range(m):
            anchor[j] = -1.0
        for v in range(V):
            for j in range(m):
                if anchor[j] < 0.0 and S[v, j] == 1.0:
                    anchor[j] = v
        for j in range(m):
            anchor[j] = max(anchor[j], 0.0)

    @numba.njit(**_JIT)
    def _residual_sparse(Z: np.ndarray, indptr: np.ndarray, cols: np.ndarray, q: np.ndarray,
                         pi: np.ndarray) -> None:
        """:func:`_residual` with ``Q`` given by its nonzeros, row by row (CSR: row v holds
        ``Q[v, cols[i]] = q[i]`` for ``indptr[v] ≤ i < indptr[v+1]``), so the dense V×m Q is
        neither stored nor read: one pass over V×m less per step.

        Bit for bit _residual's result: ``s·c − q`` rounds the product, then the difference, in
        either loop; and off the support ``x − 0 = x`` exactly, so skipping a zero of Q changes
        nothing."""
        V, m = Z.shape
        colmax = np.empty(m)
        colscale = np.empty(m)
        off = np.zeros(m)  # Σ_{v≠a} π_j s_vj, and Q at the anchor: _residual's anchor entry
        qa = np.zeros(m)
        _softmax_scaled(Z, pi, colmax, colscale)
        _find_anchors(Z, colmax)
        for v in range(V):
            for j in range(m):
                t = Z[v, j] * colscale[j]
                Z[v, j] = t
                if v != int(colmax[j]):
                    off[j] += t
            for i in range(indptr[v], indptr[v + 1]):
                if v == int(colmax[cols[i]]):
                    qa[cols[i]] = q[i]
                else:
                    Z[v, cols[i]] = Z[v, cols[i]] - q[i]
        for j in range(m):
            Z[int(colmax[j]), j] = (pi[j] - qa[j]) - off[j]

    @numba.njit(**_JIT)
    def _residual_compiled(Z: np.ndarray, Q: np.ndarray, pi: np.ndarray) -> None:
        """_residual with its own scratch: the softmax step of the BLAS drivers."""
        _residual(Z, Q, pi, np.empty(Z.shape[1]), np.empty(Z.shape[1]))

    @numba.njit(**_JIT)
    def _reduced_numba(A: np.ndarray, Z0: np.ndarray, K: np.ndarray, Q: np.ndarray,
                       pi: np.ndarray, eta: float, steps: int) -> None:
        """``steps`` times: ``Z = A K + Z0``, ``A ← A − η E(Z)`` (all V×m, K m×m)."""
        V, m = A.shape
        Z = np.empty((V, m))
        colmax = np.empty(m)
        colscale = np.empty(m)
        spare = np.empty(m)
        for _ in range(steps):
            _rows_times(A, K, Z, spare)
            for v in range(V):
                for j in range(m):
                    Z[v, j] += Z0[v, j]
            _residual(Z, Q, pi, colmax, colscale)
            for v in range(V):
                for j in range(m):
                    A[v, j] -= eta * Z[v, j]

    @numba.njit(**_JIT)
    def _direct_numba(W: np.ndarray, H: np.ndarray, Q: np.ndarray, pi: np.ndarray, eta: float,
                      steps: int) -> None:
        """``steps`` times: ``Z = W Hᵀ``, ``W ← W − η E(Z) H`` (W V×d, H m×d)."""
        V, d = W.shape
        m = H.shape[0]
        HT = np.ascontiguousarray(H.T)  # both products then run _rows_times on contiguous rows
        Z = np.empty((V, m))
        G = np.empty((V, d))
        colmax = np.empty(m)
        colscale = np.empty(m)
        spare = np.empty(max(m, d))
        for _ in range(steps):
            _rows_times(W, HT, Z, spare)
            _residual(Z, Q, pi, colmax, colscale)
            _rows_times(Z, H, G, spare)
            for v in range(V):
                for k in range(d):
                    W[v, k] -= eta * G[v, k]

    @numba.njit(**_JIT)
    def _batch_numba(A: np.ndarray, Z0: np.ndarray, K: np.ndarray, Q: np.ndarray, pi: np.ndarray,
                     eta: np.ndarray, steps: int) -> None:
        """_reduced_numba on each ``A[b]`` (B×V×m) in turn. ``Z0``, ``K``, ``Q``, ``pi`` have a
        leading axis of length B or 1 (shared by every member).

        Serial on purpose: spreading the members over the 2 cores with ``prange`` gained at most
        1.25× per member-step with the machine partly busy, and once the cores were
        oversubscribed by other processes each call paid ~30 ms waiting for its threads (52 µs
        instead of 1 µs per member-step on the tiny shape). Run processes in parallel instead."""
        for b in range(A.shape[0]):
            _reduced_numba(A[b], Z0[b % Z0.shape[0]], K[b % K.shape[0]], Q[b % Q.shape[0]],
                           pi[b % pi.shape[0]], eta[b], steps)


# ---------------------------------------------------------------------------------------------
# public entry points


def _state(X: np.ndarray, ndim: int, name: str) -> np.ndarray:
    """``X`` itself, checked to be an in-place-updatable float64 C-contiguous array."""
    if not (isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim == ndim
            and X.flags.c_contiguous and X.flags.writeable):
        raise ValueError(f"{name} must be a writeable C-contiguous float64 array with {ndim} axes")
    return X


def _operand(x: npt.ArrayLike, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``x`` as a C-contiguous float64 array of ``shape`` (copied only if it is not one)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, not {x.shape}")
    return x


def _steps(steps: int) -> int:
    """``steps`` as a non-negative int."""
    steps = int(steps)
    if steps < 0:
        raise ValueError("steps must be ≥ 0")
    return steps


def plan(form: str, V: int, m: int, d: int, backend: str = "auto") -> str:
    """How a step of ``form`` on this shape runs under ``backend``: ``"numba loops"`` (the
    compiled kernels), ``"blas + numba softmax"`` (numpy's BLAS products, compiled softmax;
    for steps above ``LOOPS_MAX_FLOPS``) or ``"numpy"``."""
    if resolve_backend(backend) == "numpy":
        return "numpy"
    flops = 2 * V * m * m if form == "reduced" else 4 * V * m * d
    return "numba loops" if flops <= LOOPS_MAX_FLOPS else "blas + numba softmax"


def _run(how: str, loops: Callable[..., None], blas: Callable[..., None], *args: object) -> None:
    """Run a form on ``args`` the way :func:`plan` said (``loops``, ``blas`` implement it)."""
    if how == "numba loops":
        loops(*args)
    elif how == "numpy":
        blas(*args)
    else:
        blas(*args, residual=_residual_compiled)


def advance_reduced(A: np.ndarray, Z0: npt.ArrayLike, K: npt.ArrayLike,
                    P: npt.ArrayLike, pi: npt.ArrayLike, eta: float, steps: int,
                    backend: str = "auto") -> None:
    """Advance the reduced coordinates ``A`` (V×m, C-contiguous float64, updated in place) by
    ``steps`` GD steps: ``A ← A − η (softmax(Z0 + A K) − P) diag(π)`` (theory.md §4 I2).

    ``Z0 = W_0 Hᵀ`` and ``P`` are V×m, ``K = H Hᵀ`` is m×m, ``pi`` has m entries; then
    ``W_k = W_0 + A_k H``. ``backend``: ``"auto"``, ``"numba"`` or ``"numpy"`` (see :func:`plan`).
    Accurate when H has full row rank and is well conditioned (:func:`choose_form`)."""
    V, m = _state(A, 2, "A").shape
    Z0 = _operand(Z0, (V, m), "Z0")
    K = _operand(K, (m, m), "K")
    P = _operand(P, (V, m), "P")
    pi = _operand(pi, (m,), "pi")
    how = plan("reduced", V, m, m, backend)
    _run(how, _reduced_numba, _reduced_numpy, A, Z0, K, P * pi, pi, float(eta), _steps(steps))


class DirectGD:
    """Gradient descent in the direct form on one ``(H, P, π)``,
    ``W ← W − η (softmax(W Hᵀ) − P) diag(π) H`` (theory.md §1; H m×d, P V×m, π m), with the
    operands prepared and the buffers allocated once: a run that advances in many short calls
    (gd.py's chunks are one step each at corpus shapes) pays for them once, not per call.

    ``how`` is :func:`plan`'s. ``"numba loops"`` runs _direct_numba. ``"numpy"`` and
    ``"blas + numba softmax"`` run ``Z = W Hᵀ`` and ``G = E H`` as BLAS products into kept
    buffers, ``W −= η G``, and between them the residual ``E``: _residual_numpy with the dense
    ``Q = P diag(π)`` for numpy, _residual_sparse with Q by its nonzeros (Σ_j |S_j| of them) for
    the compiled plan. Both plans of a shape give the iterates of :func:`advance_direct` on it bit
    for bit, however the steps are split between calls.

    :meth:`from_instance` prepares the same operands from an instance's CSR supports, without P
    or the support mask (so also where the instance's dense views are refused): the compiled BLAS
    plan then holds Q by its nonzeros only; the others hold the dense Q, V×m like their logits."""

    def __init__(self, H: npt.ArrayLike, P: npt.ArrayLike, pi: npt.ArrayLike,
                 backend: str = "auto") -> None:
        H = np.ascontiguousarray(H, dtype=np.float64)
        if H.ndim != 2:
            raise ValueError(f"H must have shape (m, d), not {H.shape}")
        m = H.shape[0]
        P = np.ascontiguousarray(P, dtype=np.float64)
        if P.ndim != 2 or P.shape[1] != m:
            raise ValueError(f"P must have shape (V, {m}), not {P.shape}")
        self._prepare(H, pi, P.shape[0], backend)
        if self.how == "blas + numba softmax":
            rows, cols = np.nonzero(P)  # row-major order: by token v, contexts ascending
            self._sparse_targets(rows, cols, P[rows, cols])
        else:
            self.Q = P * self.pi

    @classmethod
    def from_instance(cls, inst: Instance, backend: str = "auto") -> DirectGD:
        """The direct form on ``inst``'s ``(H, P, π)``, read from its CSR supports (class docstring):
        the same operands, bit for bit, as ``DirectGD(H, inst.next_token_probs.T, π)``."""
        gd = cls.__new__(cls)
        gd._prepare(np.ascontiguousarray(inst.embeddings), inst.weights, inst.V, backend)
        if gd.how == "blas + numba softmax":
            tok, ctx = inst.support_tokens, inst.support_contexts
            order = np.argsort(tok, kind="stable")  # by token, contexts ascending: np.nonzero's order
            gd._sparse_targets(tok[order], ctx[order], inst.support_probs[order])
        else:
            gd.Q = dense_targets(inst)
        return gd

    def _prepare(self, H: np.ndarray, pi: npt.ArrayLike, V: int, backend: str) -> None:
        """Operands and buffers other than Q, for H (m×d, C-contiguous float64) and V tokens."""
        m, d = H.shape
        self.H, self.shape = H, (V, d)
        self.pi = _operand(pi, (m,), "pi")
        self.how = plan("direct", V, m, d, backend)
        if self.how != "numba loops":
            self.Z, self.G = np.empty((V, m)), np.empty((V, d))

    def _sparse_targets(self, rows: np.ndarray, cols: np.ndarray, p: np.ndarray) -> None:
        """Q in _residual_sparse's CSR by token from the nonzeros ``P[rows, cols] = p`` (by token,
        contexts ascending)."""
        V = self.shape[0]
        self.indptr = np.zeros(V + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=V), out=self.indptr[1:])
        self.cols = cols.astype(np.int64)
        self.q = p * self.pi[cols]  # the entries of P * pi, the same products

    def advance(self, W: np.ndarray, eta: float, steps: int) -> None:
        """Advance ``W`` (V×d, C-contiguous float64, updated in place) by ``steps`` steps of size
        ``eta``."""
        if _state(W, 2, "W").shape != self.shape:
            raise ValueError(f"W must have shape {self.shape}, not {W.shape}")
        eta, steps = float(eta), _steps(steps)
        if self.how == "numba loops":
            _direct_numba(W, self.H, self.Q, self.pi, eta, steps)
            return
        Z, G, HT = self.Z, self.G, self.H.T
        for _ in range(steps):
            np.matmul(W, HT, out=Z)
            if self.how == "numpy":
                _residual_numpy(Z, self.Q, self.pi)
            else:
                _residual_sparse(Z, self.indptr, self.cols, self.q, self.pi)
            np.matmul(Z, self.H, out=G)
            G *= eta
            W -= G


def dense_targets(inst: Instance, weights: np.ndarray | None = None) -> np.ndarray:
    """``Q = P diag(π)`` (V×m, column j is ``π_j p_j``; ``weights``, if given, in place of π) from
    the CSR supports: the same products as ``inst.next_token_probs.T * π`` (up to the
    sign of a zero, which no residual step can see: it subtracts Q from nonnegative numbers), but
    without the instance's m×V views, which are refused at corpus sizes. For the plans that read
    a dense Q: O(V·m) memory, like the logits they hold."""
    ctx = inst.support_contexts
    Q = np.zeros((inst.V, inst.m))
    w = inst.weights if weights is None else weights
    Q[inst.support_tokens, ctx] = inst.support_probs * w[ctx]
    return Q


def advance_direct(W: np.ndarray, H: npt.ArrayLike, P: npt.ArrayLike,
                   pi: npt.ArrayLike, eta: float, steps: int, backend: str = "auto") -> None:
    """Advance ``W`` (V×d, C-contiguous float64, updated in place) by ``steps`` GD steps:
    ``W ← W − η (softmax(W Hᵀ) − P) diag(π) H`` (theory.md §1), ``H`` m×d, ``P`` V×m. A run of
    many calls on one instance should keep a :class:`DirectGD` instead (same iterates)."""
    V, d = _state(W, 2, "W").shape
    H = np.ascontiguousarray(H, dtype=np.float64)
    if H.ndim != 2 or H.shape[1] != d:
        raise ValueError(f"H must have shape (m, {d}), not {H.shape}")
    DirectGD(H, _operand(P, (V, H.shape[0]), "P"), pi, backend).advance(W, eta, steps)


def _batched(x: npt.ArrayLike, core: tuple[int, ...], B: int, name: str) -> np.ndarray:
    """``x`` of shape ``core`` or ``(B,) + core`` as a C-contiguous float64 array of shape
    ``(1,) + core`` (shared by every batch member) or ``(B,) + core``."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.shape == core:
        return x[None]
    if x.shape != (B,) + core:
        raise ValueError(f"{name} must have shape {core} or {(B,) + core}, not {x.shape}")
    return x


def advance_batch(A: np.ndarray, Z0: npt.ArrayLike, K: npt.ArrayLike,
                  P: npt.ArrayLike, pi: npt.ArrayLike, eta: float | npt.ArrayLike,
                  steps: int, backend: str = "auto") -> None:
    """:func:`advance_reduced` on every ``A[b]`` of ``A`` (B×V×m, updated in place) at once.

    Each of ``Z0`` (V×m), ``K`` (m×m), ``P`` (V×m), ``pi`` (m) and ``eta`` (scalar) may carry a
    leading batch axis of length B or not (then it is shared). So one call runs many starts
    (``Z0[b] = W_0^{(b)} Hᵀ``), many step sizes (``eta[b]``) and even many instances of one shape
    (``K[b]``, ``P[b]``, ``pi[b]``). The numba backend runs the compiled loops member after
    member (on one thread: see _batch_numba), whatever the size; the numpy one vectorises each
    step over the members. Member b ends bit for bit where
    ``advance_reduced(A[b], Z0[b], K[b], P[b], pi[b], eta[b], steps, backend)`` does whenever
    that runs the same plan (always with numpy; up to ``LOOPS_MAX_FLOPS`` with numba)."""
    B, V, m = _state(A, 3, "A").shape
    Z0 = _batched(Z0, (V, m), B, "Z0")
    K = _batched(K, (m, m), B, "K")
    P = _batched(P, (V, m), B, "P")
    pi = _batched(pi, (m,), B, "pi")
    eta = np.broadcast_to(np.asarray(eta, dtype=np.float64), (B,))
    steps = _steps(steps)
    Q = P * pi[:, None, :]
    if resolve_backend(backend) == "numba":
        _batch_numba(A, Z0, K, Q, pi, np.ascontiguousarray(eta), steps)
    else:
        _reduced_numpy(A, Z0, K, Q, pi[:, None, :], eta[:, None, None], steps)
