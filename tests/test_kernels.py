"""ntpverify.optim.kernels: both forms and every plan against an independent plain numpy GD on W.

The reference is tests/plain_gd.py's, written there on purpose (not imported from the package):
``W ← W − η (softmax(W Hᵀ) − P) diag(π) H`` with a column-max-shifted softmax (theory.md §1).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from ntpverify.optim import kernels
from ntpverify.suite.checks.rounding import U, residual_units

from plain_gd import reference_gd

needs_numba = pytest.mark.skipif(not kernels.numba_available(), reason="numba unavailable or disabled")
# plan → (backend, LOOPS_MAX_FLOPS forcing it)
PLANS = {"numpy": ("numpy", math.inf), "numba loops": ("numba", math.inf), "blas + numba softmax": ("numba", 0)}
ALL_PLANS = ["numpy", pytest.param("numba loops", marks=needs_numba),
             pytest.param("blas + numba softmax", marks=needs_numba)]
AGREE = 1e-12  # relative Frobenius distance required after STEPS steps
STEPS = 10_000


def rel(X: np.ndarray, Y: np.ndarray) -> float:
    """``‖X − Y‖ / ‖Y‖``."""
    return float(np.linalg.norm(X - Y) / np.linalg.norm(Y))


class Case:
    """A random instance (V, m, d) with partial supports; ``duplicate`` copies row 0 of H into
    row 1 (rank-deficient H); ``W0`` is 0 or random. ``eta = 1/λ_max(Σ π_j h_j h_jᵀ)``. The
    probabilities are multiples of 2^−30, so every ``p_j`` sums to 1 exactly in floating point
    and I1 holds up to the kernels' own rounding."""

    def __init__(self, V: int, m: int, d: int, seed: int, duplicate: bool = False, W0: bool = False):
        rng = np.random.default_rng(seed)
        self.H = rng.standard_normal((m, d))
        if duplicate:
            self.H[1] = self.H[0]
        self.pi = rng.random(m) + 0.2
        self.pi /= self.pi.sum()
        P = rng.random((V, m)) * (rng.random((V, m)) < 0.6)
        P[0] += 0.2
        P = np.round(P / P.sum(axis=0) * 2.0**30) / 2.0**30
        P[0] += 1.0 - P.sum(axis=0)
        self.P = P
        self.eta = 1.0 / np.linalg.eigvalsh((self.H.T * self.pi) @ self.H)[-1]
        self.W0 = rng.standard_normal((V, d)) if W0 else np.zeros((V, d))
        self.K = self.H @ self.H.T
        self.Z0 = self.W0 @ self.H.T

    def reduced(self, steps: int, backend: str) -> np.ndarray:
        """A after ``steps`` steps of advance_reduced."""
        A = np.zeros(self.Z0.shape)
        kernels.advance_reduced(A, self.Z0, self.K, self.P, self.pi, self.eta, steps, backend)
        return A

    def direct(self, steps: int, backend: str) -> np.ndarray:
        """W after ``steps`` steps of advance_direct."""
        W = self.W0.copy()
        kernels.advance_direct(W, self.H, self.P, self.pi, self.eta, steps, backend)
        return W

    @functools.cache
    def run(self, form: str, plan: str) -> np.ndarray:
        """A (reduced) or W (direct) after STEPS steps run by ``plan``, computed once."""
        backend, limit = PLANS[plan]
        saved, kernels.LOOPS_MAX_FLOPS = kernels.LOOPS_MAX_FLOPS, limit
        try:
            V, (m, d) = self.P.shape[0], self.H.shape
            assert kernels.plan(form, V, m, d, backend) == plan
            return getattr(self, form)(STEPS, backend)
        finally:
            kernels.LOOPS_MAX_FLOPS = saved


CASES = {
    "V2_m1_d1": Case(2, 1, 1, 0),
    "tiny": Case(8, 4, 8, 1),
    "tiny_W0": Case(8, 4, 8, 2, W0=True),
    "d_lt_m": Case(6, 7, 3, 3, W0=True),
    "duplicated_rows": Case(5, 4, 6, 4, duplicate=True),
    "small": Case(32, 8, 16, 5),
}
# where choose_form keeps the reduced form: H has full row rank and cond(H) ≤ 100
REDUCED_CASES = ["V2_m1_d1", "tiny", "tiny_W0", "small"]


@functools.cache
def reference(name: str) -> np.ndarray:
    """W after STEPS reference steps."""
    c = CASES[name]
    return reference_gd(c.W0, c.H, c.P, c.pi, c.eta, STEPS)


@pytest.mark.parametrize("plan", ALL_PLANS)
@pytest.mark.parametrize("name", CASES)
def test_direct_form_matches_reference(name: str, plan: str) -> None:
    assert rel(CASES[name].run("direct", plan), reference(name)) < AGREE


@pytest.mark.parametrize("plan", ALL_PLANS)
@pytest.mark.parametrize("name", REDUCED_CASES)
def test_reduced_form_matches_reference(name: str, plan: str) -> None:
    """``W_0 + A_k H`` is the GD iterate (I2), as the direct form's W is."""
    c = CASES[name]
    W = c.W0 + c.run("reduced", plan) @ c.H
    assert rel(W, reference(name)) < AGREE
    assert rel(W, c.run("direct", plan)) < AGREE


@pytest.mark.parametrize("plan", ["numba loops", "blas + numba softmax"])
@pytest.mark.parametrize("name", CASES)
@needs_numba
def test_numba_matches_numpy(name: str, plan: str) -> None:
    """On every case, rank-deficient ones included, for A itself as well as for W."""
    c = CASES[name]
    for form in ("reduced", "direct"):
        assert rel(c.run(form, plan), c.run(form, "numpy")) < AGREE


@pytest.mark.parametrize("name", CASES)
def test_choose_form_keeps_reduced_form_where_accurate(name: str) -> None:
    c = CASES[name]
    V, (m, d) = c.P.shape[0], c.H.shape
    assert kernels.choose_form(V, m, d, H=c.H) == ("reduced" if name in REDUCED_CASES else "direct")


def test_choose_form_by_shape() -> None:
    assert kernels.choose_form(256, 32, 64) == "reduced"
    assert kernels.choose_form(8, 8, 8) == "reduced"
    assert kernels.choose_form(32, 9, 8) == "direct"
    assert kernels.choose_form(3, 2, 2, H=np.diag([1.0, 1e-3])) == "direct"


def test_plan_by_size() -> None:
    auto = "numba loops" if kernels.numba_available() else "numpy"
    big = "blas + numba softmax" if kernels.numba_available() else "numpy"
    assert kernels.plan("reduced", 256, 32, 64) == auto
    assert kernels.plan("direct", 1000, 200, 200) == big
    assert kernels.plan("direct", 8, 4, 8, "numpy") == "numpy"


def test_env_var_forces_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """With NTPVERIFY_DISABLE_NUMBA=1 every entry point runs numpy: no compiled code is called."""
    def compiled_code_ran(*args: object) -> None:
        raise AssertionError("compiled kernel called although numba is disabled")

    monkeypatch.setenv(kernels.DISABLE_ENV, "1")
    for kernel in ("_reduced_numba", "_direct_numba", "_batch_numba", "_residual_compiled"):
        monkeypatch.setattr(kernels, kernel, compiled_code_ran, raising=False)
    assert not kernels.numba_available()
    assert kernels.resolve_backend("auto") == "numpy"
    assert kernels.plan("direct", 1000, 200, 200) == "numpy"
    with pytest.raises(RuntimeError):
        kernels.resolve_backend("numba")
    c = CASES["tiny_W0"]
    W_ref = reference_gd(c.W0, c.H, c.P, c.pi, c.eta, 100)
    assert rel(c.W0 + c.reduced(100, "auto") @ c.H, W_ref) < AGREE
    assert rel(c.direct(100, "auto"), W_ref) < AGREE
    A = np.zeros((2,) + c.Z0.shape)
    kernels.advance_batch(A, c.Z0, c.K, c.P, c.pi, c.eta, 100, "auto")
    assert rel(c.W0 + A[1] @ c.H, W_ref) < AGREE
    with pytest.raises(RuntimeError):
        c.reduced(1, "numba")


def test_resolve_backend() -> None:
    assert kernels.resolve_backend("numpy") == "numpy"
    assert kernels.resolve_backend("auto") == ("numba" if kernels.numba_available() else "numpy")
    with pytest.raises(ValueError):
        kernels.resolve_backend("cuda")


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_batch_equals_loop_of_singles(backend: str) -> None:
    """Per-member starts and step sizes of one instance, then a batch of different instances:
    bit for bit what advance_reduced gives member by member."""
    B, V, m, d, steps = 4, 6, 3, 4, 500
    cases = [Case(V, m, d, seed) for seed in range(10, 10 + B)]
    Z0 = np.random.default_rng(7).standard_normal((B, V, m))
    c = cases[0]
    etas = c.eta * np.array([0.25, 0.5, 1.0, 2.0])
    A = np.zeros((B, V, m))
    kernels.advance_batch(A, Z0, c.K, c.P, c.pi, etas, steps, backend)
    for b in range(B):
        Ab = np.zeros((V, m))
        kernels.advance_reduced(Ab, Z0[b], c.K, c.P, c.pi, etas[b], steps, backend)
        assert np.array_equal(A[b], Ab)
    stack = {name: np.stack([getattr(cb, name) for cb in cases]) for name in ("K", "P", "pi")}
    A = np.zeros((B, V, m))
    kernels.advance_batch(A, Z0, stack["K"], stack["P"], stack["pi"], c.eta, steps, backend)
    for b, cb in enumerate(cases):
        Ab = np.zeros((V, m))
        kernels.advance_reduced(Ab, Z0[b], cb.K, cb.P, cb.pi, c.eta, steps, backend)
        assert np.array_equal(A[b], Ab)


@pytest.mark.parametrize("plan", ALL_PLANS)
@pytest.mark.parametrize("scale", [700.0, 1e4])
def test_large_logits_stay_finite(plan: str, scale: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Start from logits up to ±scale: nothing overflows, and the columns of A (of W − W_0)
    keep summing to 0: each step adds ``−η π_j (Σ_v S_vj − 1)`` (times ``h_j``) to them, so the
    softmax still sums to 1. For W the bound is the rounding of ``W − ηG`` itself, ≤ ε max|W|
    per entry and step."""
    backend, limit = PLANS[plan]
    monkeypatch.setattr(kernels, "LOOPS_MAX_FLOPS", limit)
    c = CASES["tiny"]
    rng = np.random.default_rng(8)
    Z0 = scale * rng.choice([-1.0, 1.0], size=c.Z0.shape) * rng.random(c.Z0.shape)
    A = np.zeros(c.Z0.shape)
    kernels.advance_reduced(A, Z0, c.K, c.P, c.pi, c.eta, 1000, backend)
    assert np.all(np.isfinite(A))
    assert np.abs(A.sum(axis=0)).max() <= 1e-13 * np.abs(A).max()
    W0 = scale * rng.choice([-1.0, 1.0], size=c.W0.shape) / np.abs(c.H).sum(axis=1).max()
    W = W0.copy()
    kernels.advance_direct(W, c.H, c.P, c.pi, c.eta, 1000, backend)
    assert np.all(np.isfinite(W))
    V = W.shape[0]
    assert np.abs((W - W0).sum(axis=0)).max() <= 1000 * V * np.finfo(float).eps * np.abs(W).max()


@needs_numba
@pytest.mark.parametrize("compiled", [False, True])
def test_residual_is_stable_softmax(compiled: bool) -> None:
    """``E + Q = softmax(Z) diag(π)`` for logits up to ±2e4, against a direct evaluation."""
    rng = np.random.default_rng(9)
    V, m = 7, 5
    Z = rng.standard_normal((V, m)) * np.array([1.0, 700.0, 1e4, 1e4, 0.0])
    Z[:, 3] = [1e4, -1e4, 1e4, 0.0, -745.0, -2e4, 1e4]  # ties at the maximum, underflow to 0
    pi = rng.random(m) + 0.1
    Q = rng.random((V, m))
    S_ref = np.exp(Z - Z.max(axis=0))
    S_ref /= S_ref.sum(axis=0)
    E = Z.copy()
    (kernels._residual_compiled if compiled else kernels._residual_numpy)(E, Q, pi)
    S = (E + Q) / pi
    assert np.all(np.isfinite(S))
    assert np.allclose(S, S_ref, rtol=1e-15, atol=1e-15)
    assert np.allclose(S.sum(axis=0), 1.0, rtol=0, atol=1e-15)


@needs_numba
def test_exp_within_one_ulp() -> None:
    x = np.concatenate([-np.geomspace(1e-300, 708.39, 3000), np.linspace(-708.39, 0.0, 3000), [0.0]])
    y = np.array([kernels._exp_nonpositive(t) for t in x])
    ref = np.exp(x)
    assert np.all(np.abs(y - ref) <= np.spacing(ref))
    tail = np.array([kernels._exp_nonpositive(t) for t in (-708.5, -745.2, -1e4, -np.inf)])
    assert np.all((tail >= 0.0) & (tail < 2.3e-308))
    assert np.isnan(kernels._exp_nonpositive(np.nan))


@pytest.mark.parametrize("kernel", ["numpy", pytest.param("compiled", marks=needs_numba),
                                    pytest.param("sparse", marks=needs_numba)])
def test_residual_keeps_the_anchor_past_unit_roundoff(kernel: str) -> None:
    """At margins where ``1 − s_a < u`` (here ``2e^{−40}``, ``e^{−45}``), a one-hot column's anchor
    entry is minus the off-anchor mass to relative ``c_V·u``, not the 0 that ``π s_a − π`` rounds to
    (the normalized methods read the gradient's direction from it), and the column sums to 0."""
    Z = np.array([[40.0, 0.0, 1.0], [0.0, 45.0, 3.0], [0.0, 0.0, 2.0]])
    pi = np.array([0.5, 0.25, 0.25])
    Q = np.array([[0.5, 0.0, 0.05], [0.0, 0.25, 0.1], [0.0, 0.0, 0.1]])
    E = Z.copy()
    if kernel == "numpy":
        kernels._residual_numpy(E, Q, pi)
    elif kernel == "compiled":
        kernels._residual_compiled(E, Q, pi)
    else:
        rows, cols = np.nonzero(Q)
        indptr = np.searchsorted(rows, np.arange(4))
        kernels._residual_sparse(E, indptr, cols.astype(np.int64), Q[rows, cols], pi)
    off = [2 * w * math.exp(-z) / (1 + 2 * math.exp(-z)) for w, z in ((0.5, 40.0), (0.25, 45.0))]
    for j in (0, 1):
        assert abs(E[j, j] + off[j]) <= residual_units(3) * U * off[j]
    assert np.abs(E.sum(axis=0)).max() <= residual_units(3) * U * pi.max()


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_column_sums_stay_zero(backend: str) -> None:
    """I1 (theory.md §4): 𝟙ᵀA_k = 0, here after 10⁵ steps (10⁴ for numpy, to stay fast), up to
    rounding: per step the residual column's ``√V·c_V·u·ηπ_j`` (rounding.residual_units) and the
    update's ``u|A|`` per entry; a residual whose columns do not sum to 0 drifts by O(η) per step."""
    c = CASES["tiny"]
    steps = 100_000 if backend == "numba" else 10_000
    A = c.reduced(steps, backend)
    V = A.shape[0]
    per_step = U * (math.sqrt(V) * residual_units(V) * c.eta * c.pi.max() + V * np.abs(A).max())
    assert np.abs(A.sum(axis=0)).max() <= steps * per_step


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_zero_steps_and_bad_input(backend: str) -> None:
    c = CASES["tiny"]
    A = np.zeros(c.Z0.shape)
    kernels.advance_reduced(A, c.Z0, c.K, c.P, c.pi, c.eta, 0, backend)
    assert not A.any()
    with pytest.raises(ValueError):  # A must be C-contiguous: it is updated in place
        kernels.advance_reduced(np.zeros(c.Z0.shape[::-1]).T, c.Z0, c.K, c.P, c.pi, c.eta, 1, backend)
    with pytest.raises(ValueError):
        kernels.advance_reduced(A, c.Z0, c.K[:-1], c.P, c.pi, c.eta, 1, backend)
    with pytest.raises(ValueError):
        kernels.advance_direct(np.zeros(c.W0.shape, dtype=np.float32), c.H, c.P, c.pi, c.eta, 1, backend)
    with pytest.raises(ValueError):
        kernels.advance_reduced(A, c.Z0, c.K, c.P, c.pi, c.eta, -1, backend)
    with pytest.raises(ValueError):
        kernels.advance_batch(np.zeros((2,) + c.Z0.shape), c.Z0, c.K, c.P, np.ones((3, 4)) / 4, c.eta, 1, backend)
