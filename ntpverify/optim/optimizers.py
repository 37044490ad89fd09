"""Optimizers beyond GD on the NTP cross-entropy, one interface for all (issue 12, part 1).

Notation of theory.md §1: ``H`` is m×d with rows ``h_j``, ``π`` the context weights, ``p_j`` the
next-token distributions with supports ``S_j``, ``g_k = ∇CE(W_k) = Σ_j π_j (softmax(W_k h_j) − p_j) h_jᵀ``.
The updates are pinned (users' conjectures are written against them):

* :class:`GD`         ``W_{k+1} = W_k − η g_k``;
* :class:`NGD`        ``W_{k+1} = W_k − η g_k/‖g_k‖`` (Frobenius norm; ``W_{k+1} = W_k`` if ``g_k = 0``);
* :class:`HeavyBall`  ``W_{k+1} = W_k − η g_k + β (W_k − W_{k−1})``, ``W_{−1} = W_0``;
* :class:`Adam`       ``m ← β₁m + (1−β₁)g_k``, ``v ← β₂v + (1−β₂)g_k⊙g_k`` (``m = v = 0`` at the start),
  ``W ← W − lr·(m/(1−β₁ᵗ))/(√(v/(1−β₂ᵗ)) + ε)`` at step ``t = k + 1 = 1, 2, …``;
* :class:`SignGD`     ``W_{k+1} = W_k − η sign(g_k)`` (entrywise, ``sign 0 = 0``);
* :class:`SGD`        ``W_{k+1} = W_k − η ĝ_k`` with a stochastic ``ĝ_k``, ``E ĝ_k = g_k`` (the footnote's two
  readings, see the class).

Each optimizer declares the exact invariants of theory.md §4 it keeps, as class attributes read by
the suite: ``keeps_column_sums`` (I1, ``𝟙ᵀW_k = 𝟙ᵀW_0``) and ``keeps_null_directions`` (I2,
``W_k x = W_0 x`` for ``x ⊥ span{h_j}``). Both hold for every update in the span of the
gradients (rows of ``g_k`` lie in ``span{h_j}`` and its columns sum to 0, since ``𝟙ᵀ(s_j − p_j) = 0``):
GD, NGD, heavy ball and SGD keep them; Adam and sign descent act entrywise and do not.

:func:`optimize` runs any of them and returns the :class:`ntpverify.optim.gd.Trajectory` of
:func:`ntpverify.optim.gd.gd` (lazy limit metrics), extended by the ℓ∞-normalized margin
:func:`linf_margin` at each checkpoint. Gradients are computed in the operation order of the GD
kernels' numpy form (kernels._residual_numpy: column-max shift, exp, scale by π/Σ, subtract
``P diag(π)``).

Backends (``backend`` of :func:`optimize`, as in kernels.py): GD runs kernels.DirectGD, the
kernel of ``gd(form="direct")`` itself, so the two agree bit for bit on the same plan. NGD, heavy
ball, Adam and sign descent run one compiled loop per chunk (:func:`_steps_numba`, built on the
kernels' compiled products and softmax, fastmath off) where kernels.plan says ``"numba loops"``,
else vectorized numpy per step; so does SGD (:func:`_sgd_numba`), on uniforms drawn from numpy's
Generator beforehand in the order of its numpy step, so that both plans take the same samples.
Both backends match the plain loops of the tests to 1e-12 (measured ≤ 2.6e-14 after 50 steps);
with ``backend="numpy"`` GD agrees with ``gd(form="direct")`` to ≤ 7.7e-16 relative after 2000 steps.

Steps per second (AMD EPYC, 2 cores, OPENBLAS_NUM_THREADS=1, best of 3), default backend / numpy:

* example A (V, m, d = 3, 2, 2): GD 6.0e6 / 1.4e5, NGD 6.1e6 / 1.2e5, heavy ball 6.0e6 / 1.2e5,
  Adam 4.5e6 / 8.8e4, sign 5.9e6 / 1.4e5;
* random (64, 32, 64): GD 8.7e4 / 4.2e4, NGD 7.5e4 / 3.7e4, heavy ball 9.1e4 / 3.5e4,
  Adam 8.1e4 / 2.5e4, sign 8.7e4 / 3.8e4.

SGD, batch 1 / 8, default backend against numpy in the same process (load ~2): example A over
contexts 3.9e6 / 2.1e6 against 1.4e4 / 1.2e4, over tokens 4.2e6 / 1.7e6 against 9.4e3 / 9.0e3
(180–450×); random (64, 32, 64) 2.9e4–3.1e4 against 7.0e3–8.8e3 (3–4×).
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.core.model import loss_gap
from ntpverify.core.solution import Solution
from ntpverify.optim import gd as _gd
from ntpverify.optim import kernels
from ntpverify.optim.kernels import _residual_numpy

#: The updates the compiled loop implements, by stepper kind.
_KIND_NGD, _KIND_HEAVY_BALL, _KIND_ADAM, _KIND_SIGN = 1, 2, 3, 4

# ---------------------------------------------------------------------------------------------
# parameter validation


def _positive(name: str, value: Any) -> float:
    """``value`` as a positive finite float, else ValueError naming the parameter."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive finite number, not {value!r}") from None
    if isinstance(value, bool) or not (math.isfinite(x) and x > 0.0):
        raise ValueError(f"{name} must be a positive finite number, not {value!r}")
    return x


def _unit_interval(name: str, value: Any) -> float:
    """``value`` as a float in ``[0, 1)``, else ValueError naming the parameter."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1), not {value!r}") from None
    if isinstance(value, bool) or not 0.0 <= x < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), not {value!r}")
    return x


def _integer(name: str, value: Any, low: int) -> int:
    """``value`` as an integer ≥ ``low``, else ValueError naming the parameter."""
    try:
        n = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, not {type(value).__name__}") from None
    if isinstance(value, bool) or n < low:
        raise ValueError(f"{name} must be an integer ≥ {low}, not {value!r}")
    return n


def _set(obj: object, **fields: object) -> None:
    """Normalize fields of a frozen dataclass in ``__post_init__``."""
    for key, value in fields.items():
        object.__setattr__(obj, key, value)


# ---------------------------------------------------------------------------------------------
# steppers: the state of one run and its update


class _Stepper:
    """The state of a run on one instance (``W`` and whatever the optimizer carries), advanced
    in place. ``t`` is the number of steps taken. Subclasses implement :meth:`step`."""

    #: The arrays that make up the state besides ``t`` (copied by :meth:`save`).
    arrays: ClassVar[tuple[str, ...]] = ("W",)
    #: How :meth:`advance` runs: ``"numpy"`` (:meth:`step` per step) or a plan of kernels.plan.
    how: str = "numpy"

    def __init__(self, inst: Instance, W0: np.ndarray) -> None:
        self.inst = inst
        self.H = np.ascontiguousarray(inst.embeddings)
        self.pi = np.ascontiguousarray(inst.weights)
        self.W = np.array(W0, dtype=np.float64, order="C")
        self.G = np.empty((inst.V, inst.d))
        self.t = 0

    # V×m, built on first use from the CSR supports: a GD run on kernels.DirectGD's sparse plan
    # never holds them (nor the instance's dense views, refused at corpus sizes)
    @cached_property
    def Q(self) -> np.ndarray:
        """``P diag(π)`` (V×m)."""
        return kernels.dense_targets(self.inst)

    @cached_property
    def Z(self) -> np.ndarray:
        """The logits buffer (V×m)."""
        return np.empty((self.inst.V, self.inst.m))

    def gradient(self, Q: np.ndarray | None = None, pi: np.ndarray | None = None) -> np.ndarray:
        """``(softmax(W Hᵀ) diag(π) − Q) H`` into the buffer ``G``: ``∇CE(W)`` by default; other
        weights ``π`` and targets ``Q`` give the stochastic gradients of :class:`SGD`."""
        np.matmul(self.W, self.H.T, out=self.Z)
        _residual_numpy(self.Z, self.Q if Q is None else Q, self.pi if pi is None else pi)
        np.matmul(self.Z, self.H, out=self.G)
        return self.G

    def step(self) -> None:
        raise NotImplementedError

    def advance(self, n: int) -> None:
        """``n`` steps, one :meth:`step` at a time (subclasses may run them compiled)."""
        for _ in range(n):
            self.t += 1
            self.step()

    def save(self) -> dict[str, Any]:
        """A copy of the state, for :meth:`restore`."""
        return {"t": self.t, **{name: getattr(self, name).copy() for name in self.arrays}}

    def restore(self, saved: dict[str, Any]) -> None:
        self.t = saved["t"]
        for name in self.arrays:
            getattr(self, name)[...] = saved[name]


class _GDStepper(_Stepper):
    def __init__(self, inst: Instance, W0: np.ndarray, eta: float) -> None:
        super().__init__(inst, W0)
        self.eta = eta

    def step(self) -> None:
        G = self.gradient()
        G *= self.eta
        self.W -= G


class _KernelGDStepper(_GDStepper):
    """GD through kernels.DirectGD (the GD kernel of ``gd(form="direct")``) unless numpy."""

    @cached_property
    def direct(self) -> kernels.DirectGD:  # prepared once per run, as gd() does
        return kernels.DirectGD.from_instance(self.inst, backend="numba")

    def advance(self, n: int) -> None:
        if self.how == "numpy":
            super().advance(n)
        else:
            self.direct.advance(self.W, self.eta, n)
            self.t += n


class _CompiledStepper(_Stepper):
    """A stepper whose steps also run in :func:`_steps_numba` (``kind``) on the ``"numba loops"`` plan."""

    kind: ClassVar[int]
    eta: float

    def advance(self, n: int) -> None:
        if self.how != "numba loops":
            super().advance(n)
            return
        W_prev, m, v = (getattr(self, name, self.W) for name in ("W_prev", "m", "v"))
        beta, beta1, beta2, eps = self.hyper()
        _steps_numba(self.kind, self.W, W_prev, m, v, self.H, self.Q, self.pi, self.eta, beta, beta1,
                     beta2, eps, self.t, n)
        self.t += n

    def hyper(self) -> tuple[float, float, float, float]:
        """``(β, β₁, β₂, ε)`` of the update (unused ones 0)."""
        return 0.0, 0.0, 0.0, 0.0


class _NGDStepper(_CompiledStepper, _GDStepper):
    kind = _KIND_NGD

    def step(self) -> None:
        G = self.gradient()
        norm = float(np.linalg.norm(G))
        if norm > 0.0:  # a zero gradient is a stationary point: W stays
            self.W -= self.eta * (G / norm)


class _HeavyBallStepper(_CompiledStepper, _GDStepper):
    kind = _KIND_HEAVY_BALL
    arrays = ("W", "W_prev")

    def __init__(self, inst: Instance, W0: np.ndarray, eta: float, beta: float) -> None:
        super().__init__(inst, W0, eta)
        self.beta = beta
        self.W_prev = self.W.copy()  # W_{−1} = W_0

    def hyper(self) -> tuple[float, float, float, float]:
        return self.beta, 0.0, 0.0, 0.0

    def step(self) -> None:
        G = self.gradient()
        W_next = self.W - self.eta * G + self.beta * (self.W - self.W_prev)
        self.W_prev[...] = self.W
        self.W[...] = W_next


class _AdamStepper(_CompiledStepper):
    kind = _KIND_ADAM
    arrays = ("W", "m", "v")

    def __init__(self, inst: Instance, W0: np.ndarray, opt: Adam) -> None:
        super().__init__(inst, W0)
        self.opt, self.eta = opt, opt.lr
        self.m = np.zeros_like(self.W)
        self.v = np.zeros_like(self.W)

    def hyper(self) -> tuple[float, float, float, float]:
        return 0.0, self.opt.beta1, self.opt.beta2, self.opt.eps

    def step(self) -> None:
        o, t = self.opt, self.t
        G = self.gradient()
        self.m *= o.beta1
        self.m += (1.0 - o.beta1) * G
        self.v *= o.beta2
        self.v += (1.0 - o.beta2) * (G * G)
        m_hat = self.m / (1.0 - o.beta1**t)
        v_hat = self.v / (1.0 - o.beta2**t)
        self.W -= o.lr * m_hat / (np.sqrt(v_hat) + o.eps)


class _SignStepper(_CompiledStepper, _GDStepper):
    kind = _KIND_SIGN

    def step(self) -> None:
        self.W -= self.eta * np.sign(self.gradient())


class _SGDStepper(_GDStepper):
    """The two samplings of :class:`SGD`, by inverse CDF from ``rng.random``. On the ``"numba
    loops"`` plan a chunk of steps runs in :func:`_sgd_numba` on uniforms drawn beforehand,
    ``rng.random((n, draws, B))``: the same stream, in the same order, as ``rng.random(B)`` once
    (contexts) or twice (tokens) per step, so both plans take the same samples."""

    #: Uniforms drawn at once on the compiled plan, at most (a chunk is split into blocks).
    BLOCK_UNIFORMS = 1 << 20

    def __init__(self, inst: Instance, W0: np.ndarray, opt: SGD) -> None:
        super().__init__(inst, W0, opt.eta)
        self.batch, self.over = opt.batch, opt.over
        self.rng = np.random.default_rng(opt.seed)
        self.cum_pi = np.cumsum(self.pi)
        # P (V×m) from the CSR supports: the token sampling reads whole rows of its CDF
        self.PT = kernels.dense_targets(inst, np.ones(inst.m))
        self.cum_p = np.cumsum(self.PT.T, axis=1)  # m×V, sequential sums as along a row of P
        self.last_token = inst.support_tokens[inst.support_indptr[1:] - 1]  # max S_j

    def save(self) -> dict[str, Any]:
        return {**super().save(), "rng": self.rng.bit_generator.state}

    def restore(self, saved: dict[str, Any]) -> None:
        super().restore(saved)
        self.rng.bit_generator.state = saved["rng"]

    def sample_contexts(self) -> np.ndarray:
        """``batch`` contexts, iid with probability ``π_j``: ``j = #{i : C_i ≤ u C_{m−1}}`` with
        ``C = cumsum(π)``, ``u = rng.random(batch)``."""
        u = self.rng.random(self.batch)
        j = np.searchsorted(self.cum_pi, u * self.cum_pi[-1], side="right")
        return np.minimum(j, self.cum_pi.size - 1)

    def step(self) -> None:
        m = self.pi.size
        j = self.sample_contexts()
        weights = np.bincount(j, minlength=m) / self.batch  # c_j / batch
        if self.over == "contexts":
            G = self.gradient(self.PT * weights, weights)
        else:
            u = self.rng.random(self.batch)  # the second draw of the step: one token per context drawn
            C = self.cum_p[j]
            z = np.minimum((C <= (u * C[:, -1])[:, None]).sum(axis=1), self.last_token[j])
            counts = np.zeros((self.PT.shape[0], m))
            np.add.at(counts, (z, j), 1.0)
            G = self.gradient(counts / self.batch, weights)
        G *= self.eta
        self.W -= G

    def advance(self, n: int) -> None:
        if self.how != "numba loops":
            super().advance(n)
            return
        draws = 1 if self.over == "contexts" else 2
        block = max(1, self.BLOCK_UNIFORMS // (draws * self.batch))
        while n > 0:
            b = min(n, block)
            u = self.rng.random((b, draws, self.batch))
            _sgd_numba(self.W, self.H, self.PT, self.cum_pi, self.cum_p, self.last_token, u, self.eta)
            self.t += b
            n -= b


if kernels.numba is not None:
    @kernels.numba.njit(**kernels._JIT)
    def _steps_numba(kind: int, W: np.ndarray, W_prev: np.ndarray, m: np.ndarray, v: np.ndarray,
                     H: np.ndarray, Q: np.ndarray, pi: np.ndarray, eta: float, beta: float, beta1: float,
                     beta2: float, eps: float, t0: int, steps: int) -> None:
        """``steps`` steps of NGD, heavy ball, Adam or sign descent (``kind``) from step ``t0``, in
        place on ``W`` (and ``W_prev`` for heavy ball, ``m``, ``v`` for Adam), with the gradient
        ``E H``, ``E = softmax(W Hᵀ) diag(π) − Q``, of kernels._direct_numba. The updates are the
        pinned ones, entry by entry (module docstring)."""
        V, d = W.shape
        HT = np.ascontiguousarray(H.T)
        Z = np.empty((V, H.shape[0]))
        G = np.empty((V, d))
        colmax = np.empty(H.shape[0])
        colscale = np.empty(H.shape[0])
        spare = np.empty(max(H.shape[0], d))
        for s in range(steps):
            kernels._rows_times(W, HT, Z, spare)
            kernels._residual(Z, Q, pi, colmax, colscale)
            kernels._rows_times(Z, H, G, spare)
            if kind == _KIND_NGD:
                total = 0.0
                for a in range(V):
                    for b in range(d):
                        total += G[a, b] * G[a, b]
                norm = math.sqrt(total)
                if norm > 0.0:
                    for a in range(V):
                        for b in range(d):
                            W[a, b] -= eta * (G[a, b] / norm)
            elif kind == _KIND_HEAVY_BALL:
                for a in range(V):
                    for b in range(d):
                        w = W[a, b]
                        W[a, b] = w - eta * G[a, b] + beta * (w - W_prev[a, b])
                        W_prev[a, b] = w
            elif kind == _KIND_ADAM:
                t = t0 + s + 1
                c1, c2 = 1.0 - beta1**t, 1.0 - beta2**t
                for a in range(V):
                    for b in range(d):
                        g = G[a, b]
                        m[a, b] = beta1 * m[a, b] + (1.0 - beta1) * g
                        v[a, b] = beta2 * v[a, b] + (1.0 - beta2) * (g * g)
                        W[a, b] -= eta * (m[a, b] / c1) / (math.sqrt(v[a, b] / c2) + eps)
            else:
                for a in range(V):
                    for b in range(d):
                        g = G[a, b]
                        W[a, b] -= eta * (1.0 if g > 0.0 else -1.0 if g < 0.0 else 0.0)


if kernels.numba is not None:
    @kernels.numba.njit(inline="always", **kernels._JIT)
    def _count_at_most(C: np.ndarray, x: float) -> int:
        """``#{i : C_i ≤ x}`` for a nondecreasing ``C`` (``np.searchsorted(C, x, side="right")``)."""
        lo, hi = 0, C.size
        while lo < hi:
            mid = (lo + hi) // 2
            if C[mid] <= x:
                lo = mid + 1
            else:
                hi = mid
        return lo

    @kernels.numba.njit(**kernels._JIT)
    def _sgd_numba(W: np.ndarray, H: np.ndarray, P: np.ndarray, cum_pi: np.ndarray, cum_p: np.ndarray,
                   last_token: np.ndarray, u: np.ndarray, eta: float) -> None:
        """``u.shape[0]`` SGD steps in place on ``W``, the samples read from the uniforms ``u``
        (steps × draws × B; draws = 1: over contexts, 2: over tokens) by _SGDStepper.step's
        inverse CDFs, the stochastic gradient ``E H``, ``E = softmax(W Hᵀ) diag(c/B) − Q`` with
        ``Q = P diag(c/B)`` (contexts) or the token counts over B (tokens), as in the numpy step;
        undrawn contexts have weight 0 and contribute exact zeros."""
        V, d = W.shape
        m = H.shape[0]
        steps, draws, B = u.shape
        HT = np.ascontiguousarray(H.T)
        Z = np.empty((V, m))
        G = np.empty((V, d))
        Q = np.zeros((V, m))
        counts = np.zeros((V, m))  # token draws by (z, j)
        c = np.zeros(m)  # context draws c_j
        w = np.zeros(m)
        colmax = np.empty(m)
        colscale = np.empty(m)
        spare = np.empty(max(m, d))
        js = np.empty(B, dtype=np.int64)
        total_pi = cum_pi[m - 1]
        for s in range(steps):
            for b in range(B):
                j = min(_count_at_most(cum_pi, u[s, 0, b] * total_pi), m - 1)
                js[b] = j
                c[j] += 1.0
            if draws == 2:
                for b in range(B):
                    j = js[b]
                    z = min(_count_at_most(cum_p[j], u[s, 1, b] * cum_p[j, V - 1]), last_token[j])
                    counts[z, j] += 1.0
            for b in range(B):  # idempotent: a context drawn twice is set twice to the same values
                j = js[b]
                w[j] = c[j] / B
                for v in range(V):
                    Q[v, j] = P[v, j] * w[j] if draws == 1 else counts[v, j] / B
            kernels._rows_times(W, HT, Z, spare)
            kernels._residual(Z, Q, w, colmax, colscale)
            kernels._rows_times(Z, H, G, spare)
            for a in range(V):
                for i in range(d):
                    W[a, i] -= eta * G[a, i]
            for b in range(B):
                j = js[b]
                c[j] = w[j] = 0.0
                for v in range(V):
                    Q[v, j] = counts[v, j] = 0.0


# ---------------------------------------------------------------------------------------------
# the optimizers


class Optimizer:
    """The interface: a frozen dataclass of parameters that declares the invariants it keeps
    (theory.md §4 I1, I2) and starts a run (:meth:`stepper`). ``step_size`` is the step reported
    by the trajectory (``η``, or ``lr`` for Adam); ``name`` the name used on the command line."""

    name: ClassVar[str]
    keeps_column_sums: ClassVar[bool]
    keeps_null_directions: ClassVar[bool]

    @property
    def step_size(self) -> float:
        return float(getattr(self, "eta"))  # noqa: B009 - every optimizer but Adam names it eta

    def stepper(self, inst: Instance, W0: np.ndarray) -> _Stepper:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The parameters, by name."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class GD(Optimizer):
    """Gradient descent ``W_{k+1} = W_k − η ∇CE(W_k)`` (theory.md §1)."""

    eta: float
    name: ClassVar[str] = "gd"
    keeps_column_sums: ClassVar[bool] = True
    keeps_null_directions: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _set(self, eta=_positive("eta", self.eta))

    def stepper(self, inst: Instance, W0: np.ndarray) -> _Stepper:
        return _KernelGDStepper(inst, W0, self.eta)


@dataclass(frozen=True)
class NGD(Optimizer):
    """Normalized GD ``W_{k+1} = W_k − η g_k/‖g_k‖`` (Frobenius); a zero gradient stops (W stays)."""

    eta: float
    name: ClassVar[str] = "ngd"
    keeps_column_sums: ClassVar[bool] = True
    keeps_null_directions: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _set(self, eta=_positive("eta", self.eta))

    def stepper(self, inst: Instance, W0: np.ndarray) -> _Stepper:
        return _NGDStepper(inst, W0, self.eta)


@dataclass(frozen=True)
class HeavyBall(Optimizer):
    """Polyak's heavy ball ``W_{k+1} = W_k − η g_k + β (W_k − W_{k−1})``, ``W_{−1} = W_0``, ``β ∈ [0, 1)``."""

    eta: float
    beta: float
    name: ClassVar[str] = "heavy-ball"
    keeps_column_sums: ClassVar[bool] = True
    keeps_null_directions: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _set(self, eta=_positive("eta", self.eta), beta=_unit_interval("beta", self.beta))

    def stepper(self, inst: Instance, W0: np.ndarray) -> _Stepper:
        return _HeavyBallStepper(inst, W0, self.eta, self.beta)


@dataclass(frozen=True)
class Adam(Optimizer):
    """Adam, bias-corrected: ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g⊙g``,
    ``W ← W − lr·(m/(1−β₁ᵗ))/(√(v/(1−β₂ᵗ)) + ε)``, ``t = 1, 2, …``, ``m = v = 0`` at the start;
    ``β₁, β₂ ∈ [0, 1)``, ``lr, ε > 0``. Entrywise, so neither I1 nor I2 holds."""

    lr: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    name: ClassVar[str] = "adam"
    keeps_column_sums: ClassVar[bool] = False
    keeps_null_directions: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _set(self, lr=_positive("lr", self.lr), beta1=_unit_interval("beta1", self.beta1),
             beta2=_unit_interval("beta2", self.beta2), eps=_positive("eps", self.eps))

    @property
    def step_size(self) -> float:
        return self.lr

    def stepper(self, inst: Instance, W0: np.ndarray) -> _Stepper:
        return _AdamStepper(inst, W0, self)


@dataclass(frozen=True)
class SignGD(Optimizer):
    """Sign descent ``W_{k+1} = W_k − η sign(g_k)`` (entrywise, ``sign 0 = 0``): steepest descent
    for the entrywise max-norm, so neither I1 nor I2 holds."""

    eta: float
    name: ClassVar[str] = "sign-gd"
    keeps_column_sums: ClassVar[bool] = False
    keeps_null_directions: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _set(self, eta=_positive("eta", self.eta))

    def stepper(self, inst: Instance, W0: np.ndarray) -> _Stepper:
        return _SignStepper(inst, W0, self.eta)


@dataclass(frozen=True)
class SGD(Optimizer):
    """Stochastic GD ``W_{k+1} = W_k − η ĝ_k``, the paper's footnote 8 in its two readings.

    ``over="contexts"``: draw ``j_1, …, j_B`` (``B = batch``) iid with ``P(j) = π_j`` and take
    ``ĝ = (1/B) Σ_b (softmax(W h_{j_b}) − p_{j_b}) h_{j_b}ᵀ``, the average gradient of the
    per-context CEs with weight 1, computed as ``Σ_j (c_j/B)(s_j − p_j)h_jᵀ`` with ``c_j`` the
    number of draws of j. ``over="tokens"``: draw single next-token occurrences, the context
    ``j_b`` as above and then its token ``z_b`` with ``P(z) = p_{j_b,z}``, and take
    ``ĝ = (1/B) Σ_b (softmax(W h_{j_b}) − e_{z_b}) h_{j_b}ᵀ``, the gradient of
    ``−log softmax(W h_j)_z`` averaged over the batch. Both are unbiased: ``E ĝ = ∇CE(W)``.

    Sampling, pinned so a run replays: one ``numpy.random.default_rng(seed)`` per run; each step
    draws ``u = rng.random(B)`` and takes ``j_b = #{i : C_i ≤ u_b C_{m−1}}`` with ``C = cumsum(π)``
    (inverse CDF; capped at m − 1); with ``over="tokens"`` it then draws ``u' = rng.random(B)`` and
    takes ``z_b = #{z : D_z ≤ u'_b D_{V−1}}`` with ``D = cumsum(p_{j_b})``, capped at ``max S_{j_b}``."""

    eta: float
    batch: int
    over: str = "contexts"
    seed: int = 0
    name: ClassVar[str] = "sgd"
    keeps_column_sums: ClassVar[bool] = True
    keeps_null_directions: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.over not in ("contexts", "tokens"):
            raise ValueError(f"over must be 'contexts' or 'tokens', not {self.over!r}")
        _set(self, eta=_positive("eta", self.eta), batch=_integer("batch", self.batch, 1),
             seed=_integer("seed", self.seed, 0))

    def stepper(self, inst: Instance, W0: np.ndarray) -> _Stepper:
        return _SGDStepper(inst, W0, self)


#: The optimizers by their command-line name.
OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (GD, NGD, HeavyBall, Adam, SignGD, SGD)}
_PARSERS: dict[str, Callable[[str], Any]] = {"float": float, "int": int, "str": str}


def from_assignments(name: str, assignments: Iterable[str]) -> Optimizer:
    """The optimizer ``name`` (a key of :data:`OPTIMIZERS`) with parameters given as ``KEY=VALUE``
    strings (``"eta=0.1"``, ``"over=tokens"``), as on the command line; ValueError naming what is
    wrong (an unknown optimizer or key, a missing parameter, a value of the wrong type or range)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {name!r}")
    cls = OPTIMIZERS[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    params: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep or key not in fields:
            raise ValueError(f"{assignment!r}: expected KEY=VALUE with KEY one of {', '.join(fields)} ({name})")
        kind = str(fields[key].type)
        try:
            params[key] = _PARSERS[kind](value)
        except ValueError:
            raise ValueError(f"{key} must be {'an integer' if kind == 'int' else 'a number'}, not {value!r}") from None
    missing = [f for f, spec in fields.items() if spec.default is dataclasses.MISSING and f not in params]
    if missing:
        raise ValueError(f"{name} needs {', '.join(f'{f}=VALUE' for f in missing)}")
    return cls(**params)


# ---------------------------------------------------------------------------------------------
# the ℓ∞ margin and the run


def linf_margin(inst: Instance, W: np.ndarray) -> float | None:
    """``min_j min_{v∉S_j} ((W h_j)_{a_j} − (W h_j)_v) / ‖W‖_max`` with the anchor ``a_j = min S_j``
    (as in core.geometry) and ``‖W‖_max = max_{v,i} |W_{v,i}|``: the ℓ∞-normalized margin, the
    quantity sign descent maximizes (issue 12). ``None`` when no context has ``|S_j| < V`` (no
    margin constraint) or ``W = 0``. On F⊥ (W constant on each ``S_j``) the anchor does not matter."""
    W = np.asarray(W, dtype=np.float64)
    if W.shape != (inst.V, inst.d):
        raise ValueError(f"W must have shape {(inst.V, inst.d)}, not {W.shape}")
    scale = float(np.abs(W).max())
    if scale == 0.0 or inst.nnz == inst.m * inst.V:
        return None
    Z = (W @ inst.embeddings.T).T  # m×V, row j is W h_j
    anchor = Z[np.arange(inst.m), inst.support_tokens[inst.support_indptr[:-1]]]  # a_j: rows sorted
    gaps = anchor[:, None] - Z
    gaps[inst.support_contexts, inst.support_tokens] = np.inf  # the minimum is over v ∉ S_j
    return float(gaps.min() / scale)


@dataclass(frozen=True)
class OptimizerTrajectory(_gd.Trajectory):
    """A :class:`~ntpverify.optim.gd.Trajectory` of any optimizer (``eta`` is its step size,
    ``form`` is ``"direct"``: the iteration runs on W), with ``linf_margins[k]``
    (:func:`linf_margin` of ``W_k``) for every checkpoint, computed on first access."""

    optimizer: Optimizer | None = None

    @cached_property
    def linf_margins(self) -> dict[int, float | None]:
        return {k: linf_margin(self.instance, W) for k, W in sorted(self.iterates.items())}

    def to_dict(self) -> dict[str, Any]:
        """The ``ntpverify.trajectory/1`` object, with ``optimizer`` (name and parameters) and a
        ``linf_margin`` in every checkpoint."""
        out = super().to_dict()
        assert self.optimizer is not None
        out["optimizer"] = {"name": self.optimizer.name, **self.optimizer.params()}
        for c in out["checkpoints"]:
            c["linf_margin"] = self.linf_margins[c["k"]]
        return out

    def summary(self) -> str:
        """The table of :meth:`Trajectory.summary`, headed by the optimizer, with the ℓ∞ margin."""
        assert self.optimizer is not None
        lines = super().summary().split("\n")
        params = ", ".join(f"{k}={v!r}" for k, v in self.optimizer.params().items())
        lines[0] = f"{self.optimizer.name} on {self.instance.name or '(unnamed)'}: {params}, {self.steps} steps"
        lines[1] += f" {'linf_margin':>11}"
        for i, k in enumerate(sorted(self.iterates), start=2):
            g = self.linf_margins[k]
            lines[i] += "           -" if g is None else f" {g:11.3e}"
        return "\n".join(lines)


class OptimizerDivergence(_gd.Divergence):
    """:class:`~ntpverify.optim.gd.Divergence` of a run of ``optimizer``, whose message names it."""

    def __init__(self, step: int, eta: float, what: str, optimizer: Optimizer) -> None:
        super().__init__(step, eta, what)
        self.optimizer = optimizer
        self.args = (f"{optimizer!r} diverged: {what} first non-finite at step k = {step}",)

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (to worker processes) by its fields
        return type(self), (self.step, self.eta, self.what, self.optimizer)


def optimize(inst: Instance, steps: int, optimizer: Optimizer, W0: np.ndarray | None = None,
             checkpoints: Iterable[int] | None = None, solution: Solution | None = None,
             backend: str = "auto") -> OptimizerTrajectory:
    """Run ``steps`` steps of ``optimizer`` on CE from ``W0`` (default 0), recording the iterates at
    ``checkpoints`` (default :func:`~ntpverify.optim.gd.default_checkpoints`).

    ``steps`` is an integer in ``[0, gd.MAX_STEPS]``. ``backend`` (``"auto"``, ``"numba"``,
    ``"numpy"``) as in kernels.py: see the module docstring for what runs compiled. ``solution``
    supplies the limits of the lazy checkpoint metrics, as in :func:`~ntpverify.optim.gd.gd`. The
    run advances in chunks of about ``gd.CHUNK_FLOPS`` of work; after each, if ``W_k`` or its logits
    are no longer finite, the chunk is replayed one step at a time from its saved state (random
    generator included) and :class:`OptimizerDivergence` (a :class:`~ntpverify.optim.gd.Divergence`)
    names the first such step.
    """
    try:
        steps = operator.index(steps)
    except TypeError:
        raise ValueError(f"steps must be an integer, not {type(steps).__name__}") from None
    if not 0 <= steps <= _gd.MAX_STEPS:
        raise ValueError(f"steps must lie in [0, {_gd.MAX_STEPS}], not {steps}")
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be one of {', '.join(c.__name__ for c in OPTIMIZERS.values())}, "
                         f"not {type(optimizer).__name__}")
    eta, H = optimizer.step_size, inst.embeddings
    W0 = np.zeros((inst.V, inst.d)) if W0 is None else np.array(W0, dtype=float)
    if W0.shape != (inst.V, inst.d):
        raise ValueError(f"W0 must have shape {(inst.V, inst.d)}, not {W0.shape}")
    if (what := _gd.nonfinite(W0, H)) is not None:
        raise OptimizerDivergence(0, eta, what, optimizer)
    run = optimizer.stepper(inst, W0)
    run.how = kernels.plan("direct", inst.V, inst.m, inst.d, backend)
    chunk = max(1, _gd.CHUNK_FLOPS // (4 * inst.V * inst.m * inst.d + inst.V * inst.m))

    def first_nonfinite(start: int, saved: dict[str, Any], n: int, at_end: str) -> OptimizerDivergence:
        """The first bad step of a chunk of ``n`` steps after ``start`` that ended non-finite."""
        run.restore(saved)
        with np.errstate(all="ignore"):
            for i in range(1, n):
                run.advance(1)
                if (what := _gd.nonfinite(run.W, H)) is not None:
                    return OptimizerDivergence(start + i, eta, what, optimizer)
        return OptimizerDivergence(start + n, eta, at_end, optimizer)

    iterates: dict[int, np.ndarray] = {}
    gaps: dict[int, float] = {}
    done = 0
    for k in _gd._checkpoint_list(steps, checkpoints):
        while done < k:
            n = min(chunk, k - done)
            saved = run.save()
            with np.errstate(all="ignore"):  # non-finite values are detected just below
                run.advance(n)
            if (what := _gd.nonfinite(run.W, H)) is not None:
                raise first_nonfinite(done, saved, n, what)
            done += n
        iterates[k] = run.W.copy()
        gaps[k] = loss_gap(inst, iterates[k])
        if not math.isfinite(gaps[k]):
            raise OptimizerDivergence(k, eta, "the loss gap CE(W_k) − ℋ", optimizer)
    return OptimizerTrajectory(inst, eta, steps, iterates, "direct", solution, gaps, optimizer)
