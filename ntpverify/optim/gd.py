"""Gradient descent on CE from ``W_0`` with a constant step, and the metrics the theory predicts.

``W_{k+1} = W_k − η ∇CE(W_k)`` (theory.md §1). The iteration itself lives in kernels.py, which runs
it either on W or in the reduced coordinates ``W_k = W_0 + A_k H`` (I2), whichever is cheaper for
the shape. At each checkpoint k this module records ``CE(W_k) − ℋ``, ``‖W_k‖``,
``‖P_{F⊥}(W_k)‖`` and, where the limits exist, ``‖P_F(W_k) − W⋆‖`` (P6), ``cos(W_k, W^mm)`` (P6)
and the corrected cosine ``cos(W_k − W⋆, W^mm)`` (theory.md §6).

The kernels advance in chunks of about ``CHUNK_FLOPS`` of work. After each chunk the iterate is
checked: if ``W_k`` or its logits ``W_k h_j`` are no longer finite (a step size far too large, or
embeddings near the float64 range), the run stops with :class:`Divergence` naming the first such
step, found by replaying that chunk one step at a time, instead of returning NaN and infinity as
results. The chunks also bound how long a compiled call runs without returning to the interpreter,
so that Ctrl-C stops a long run within a fraction of a second. At corpus shapes a chunk is one
step, so the check must cost far less than one: it bounds the logits by ``‖W‖ ‖H‖`` and forms
them only when that bound nears overflow (:func:`nonfinite`), and the direct form keeps its
prepared operands and buffers across chunks (kernels.DirectGD).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.core.model import default_step, loss_gap
from ntpverify.core.solution import Solution, solve
from ntpverify.optim import kernels

#: The most steps one run may take. 10^8 steps of the smallest shapes already take about a minute
#: (0.4 µs each, kernels.py); the cap keeps a typo such as ``--steps 10**30`` from running unbounded.
MAX_STEPS = 10**8
#: Work (flops) per kernel call between two divergence checks: ~10–50 ms.
CHUNK_FLOPS = 2**25
#: ``‖W‖ ‖H‖`` up to which :func:`nonfinite` knows every logit is finite without computing it.
LOGITS_SAFE = 2.0**1000


class Divergence(ArithmeticError):
    """GD left float64: ``what`` (the iterate or its logits) is first non-finite at step ``step``."""

    def __init__(self, step: int, eta: float, what: str) -> None:
        self.step, self.eta, self.what = step, eta, what
        super().__init__(f"gradient descent diverged: {what} first non-finite at step k = {step} "
                         f"(eta = {eta!r})")


def nonfinite(W: np.ndarray, H: np.ndarray) -> str | None:
    """What of ``W`` is not finite: ``"W_k"`` (an entry, or ``‖W_k‖``, which the checkpoints report,
    overflows), ``"the logits W_k h_j"``, or None if all is finite."""
    with np.errstate(all="ignore"):  # overflow is the answer here, not a warning to print
        norm = float(np.linalg.norm(W))
        if not math.isfinite(norm):
            return "W_k (an entry or its norm)"
        # |w_v·h_j| ≤ ‖w_v‖‖h_j‖ ≤ ‖W‖‖H‖ (Cauchy–Schwarz), and the rounding of the products and
        # norms is a factor 1 + O(dε) ≪ 2^23 on it: below the bound no logit overflows, and the
        # V×m×d product (as costly as a GD step) is formed only above it
        if norm * float(np.linalg.norm(H)) <= LOGITS_SAFE:
            return None
        if not np.isfinite(W @ H.T).all():
            return "the logits W_k h_j"
    return None


def default_checkpoints(steps: int) -> list[int]:
    """``0``, then ``{1, 2, 5}·10^i`` below ``steps``, then ``steps``: log-spaced, as the rates of
    theory.md §6 are in ``log k`` and ``1/k``."""
    ks = {0, steps}
    scale = 1
    while scale <= steps:
        ks.update(x * scale for x in (1, 2, 5) if x * scale <= steps)
        scale *= 10
    return sorted(ks)


def cosine(A: np.ndarray, B: np.ndarray) -> float | None:
    """``⟨A, B⟩ / (‖A‖ ‖B‖)``, ``None`` if either is zero."""
    na, nb = np.linalg.norm(A), np.linalg.norm(B)
    return None if na == 0.0 or nb == 0.0 else float(np.sum(A * B) / (na * nb))


@dataclass(frozen=True)
class Checkpoint:
    """Metrics of one iterate ``W_k`` (``None`` where the limit they need does not exist)."""

    k: int
    loss_gap: float
    norm: float
    norm_Fperp: float
    dist_F: float | None
    cos_mm: float | None
    cos_mm_corrected: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def measure(sol: Solution, k: int, W: np.ndarray, gap: float | None = None) -> Checkpoint:
    """The checkpoint metrics of ``W_k`` against the limits in ``sol`` (``gap``: CE(W_k) − ℋ if
    already computed)."""
    PF = sol.project_F(W)
    Wstar, Wmm = sol.W_star, sol.W_mm
    return Checkpoint(
        k=k,
        loss_gap=loss_gap(sol.instance, W) if gap is None else gap,
        norm=float(np.linalg.norm(W)),
        norm_Fperp=float(np.linalg.norm(W - PF)),
        dist_F=None if Wstar is None else float(np.linalg.norm(PF - Wstar)),
        cos_mm=None if Wmm is None else cosine(W, Wmm),
        cos_mm_corrected=None if Wmm is None or Wstar is None else cosine(W - Wstar, Wmm),
    )


@dataclass(frozen=True)
class Trajectory:
    """A GD run: step ``eta``, ``steps``, the iterate at every checkpoint (``iterates[k]``, V×d),
    the final one ``W``, and the ``checkpoints`` metrics.

    The metrics that need the limits (``dist_F``, ``cos_mm``, …) are computed on first access to
    ``checkpoints``, from ``solution`` if one was given and otherwise by :func:`solve` then: a run
    that only needs its iterates never pays for the limit objects (issue 10)."""

    instance: Instance
    eta: float
    steps: int
    iterates: dict[int, np.ndarray] = field(repr=False)
    form: str = "reduced"
    solution: Solution | None = field(default=None, repr=False)
    gaps: dict[int, float] = field(default_factory=dict, repr=False)

    @cached_property
    def checkpoints(self) -> list[Checkpoint]:
        sol = solve(self.instance) if self.solution is None else self.solution
        return [measure(sol, k, W, self.gaps.get(k)) for k, W in sorted(self.iterates.items())]

    @property
    def W(self) -> np.ndarray:
        return self.iterates[self.steps]

    def column(self, name: str) -> np.ndarray:
        """One metric over the checkpoints, as floats (NaN where undefined)."""
        return np.array([np.nan if getattr(c, name) is None else getattr(c, name) for c in self.checkpoints])

    def to_dict(self) -> dict[str, Any]:
        """The ``ntpverify.trajectory/1`` object."""
        return {"format": "ntpverify.trajectory/1", "name": self.instance.name, "eta": self.eta,
                "steps": self.steps, "checkpoints": [c.to_dict() for c in self.checkpoints],
                "W_final": self.W.tolist()}

    def summary(self) -> str:
        """A readable table of the checkpoints."""
        def fmt(x: float | None) -> str:
            return "       -" if x is None else f"{x:9.3e}"
        head = f"GD on {self.instance.name or '(unnamed)'}: eta={self.eta:.6g}, {self.steps} steps ({self.form})"
        rows = [head, f"{'k':>10} {'CE-H':>9} {'||W||':>9} {'dist_F':>9} {'1-cos_mm':>9} {'1-cos_corr':>10}"]
        for c in self.checkpoints:
            one_minus = None if c.cos_mm is None else 1.0 - c.cos_mm
            one_minus_c = None if c.cos_mm_corrected is None else 1.0 - c.cos_mm_corrected
            rows.append(f"{c.k:>10} {fmt(c.loss_gap)} {fmt(c.norm)} {fmt(c.dist_F)} {fmt(one_minus)} "
                        f"{fmt(one_minus_c)}")
        return "\n".join(rows)


def _checkpoint_list(steps: int, checkpoints: Iterable[int] | None) -> list[int]:
    ks = default_checkpoints(steps) if checkpoints is None else sorted(set(int(k) for k in checkpoints) | {steps})
    if ks[0] < 0 or ks[-1] > steps:
        raise ValueError(f"checkpoints must lie in [0, {steps}]")
    return ks


def gd(inst: Instance, steps: int, eta: float | None = None, W0: np.ndarray | None = None,
       checkpoints: Iterable[int] | None = None, solution: Solution | None = None,
       form: str = "auto", backend: str = "auto") -> Trajectory:
    """Run ``steps`` GD steps from ``W0`` (default 0) with step ``eta`` (default
    ``1/λ_max(Σ π_j h_j h_jᵀ)``), recording metrics at ``checkpoints`` (default log-spaced).

    ``solution`` supplies the limits for the checkpoint metrics; without it they are computed
    when the metrics are first read (:class:`Trajectory`), never before the run. ``form`` is
    ``"reduced"``, ``"direct"`` or ``"auto"`` (kernels.choose_form); ``backend`` is passed to the
    kernels (``"auto"``, ``"numba"``, ``"numpy"``). ``steps`` is an integer in ``[0, MAX_STEPS]``.
    Raises :class:`Divergence` if an iterate or its logits become non-finite.
    """
    try:
        steps = operator.index(steps)
    except TypeError:
        raise ValueError(f"steps must be an integer, not {type(steps).__name__}") from None
    if not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must lie in [0, {MAX_STEPS}], not {steps}")
    eta = default_step(inst) if eta is None else float(eta)
    if not (np.isfinite(eta) and eta > 0):
        raise ValueError("eta must be positive and finite")
    H = inst.embeddings
    W0 = np.zeros((inst.V, inst.d)) if W0 is None else np.array(W0, dtype=float)
    if W0.shape != (inst.V, inst.d):
        raise ValueError(f"W0 must have shape {(inst.V, inst.d)}, not {W0.shape}")
    if (what := nonfinite(W0, H)) is not None:
        raise Divergence(0, eta, what)
    form = kernels.choose_form(inst.V, inst.m, inst.d, H=H) if form == "auto" else form
    state: np.ndarray  # what the kernel advances in place
    advance: Callable[[int], None]
    iterate: Callable[[], np.ndarray]  # W_k from the state
    if form == "reduced":
        # a dense P: where choose_form picks this form (m ≤ d), V·m ≤ V·d is within the caps
        P = np.ascontiguousarray(inst.next_token_probs.T)
        pi = np.ascontiguousarray(inst.weights)
        state = np.zeros((inst.V, inst.m))
        Z0 = np.ascontiguousarray(W0 @ H.T)
        K = np.ascontiguousarray(H @ H.T)
        step_flops = 2 * inst.V * inst.m * inst.m
        def advance(n: int) -> None:
            kernels.advance_reduced(state, Z0, K, P, pi, eta, n, backend=backend)
        def iterate() -> np.ndarray:
            return W0 + state @ H
    elif form == "direct":
        state = np.ascontiguousarray(W0.copy())
        # operands and buffers once, not per chunk; from the CSR supports, never a dense P
        direct = kernels.DirectGD.from_instance(inst, backend)
        step_flops = 4 * inst.V * inst.m * inst.d
        def advance(n: int) -> None:
            direct.advance(state, eta, n)
        def iterate() -> np.ndarray:
            return state.copy()
    else:
        raise ValueError(f"form must be 'reduced', 'direct' or 'auto', not {form!r}")
    chunk = max(1, CHUNK_FLOPS // (step_flops + inst.V * inst.m))  # V·m: the softmax

    def first_nonfinite(start: int, saved: np.ndarray, n: int, at_end: str) -> Divergence:
        """The first bad step of a chunk of ``n`` steps after ``start`` that ended non-finite
        (``at_end``): replay it one step at a time from ``saved`` (the same arithmetic)."""
        state[...] = saved
        for i in range(1, n):
            advance(1)
            if (what := nonfinite(iterate(), H)) is not None:
                return Divergence(start + i, eta, what)
        return Divergence(start + n, eta, at_end)

    iterates: dict[int, np.ndarray] = {}
    gaps: dict[int, float] = {}
    done, Wk = 0, W0.copy()
    for k in _checkpoint_list(steps, checkpoints):
        while done < k:
            n = min(chunk, k - done)
            saved = state.copy()
            advance(n)
            Wk = iterate()
            if (what := nonfinite(Wk, H)) is not None:
                raise first_nonfinite(done, saved, n, what)
            done += n
        iterates[k] = Wk
        gaps[k] = loss_gap(inst, Wk)
        if not (math.isfinite(gaps[k]) and math.isfinite(float(np.linalg.norm(Wk)))):
            raise Divergence(k, eta, "the loss gap CE(W_k) − ℋ")
    return Trajectory(inst, eta, steps, iterates, form, solution, gaps)
