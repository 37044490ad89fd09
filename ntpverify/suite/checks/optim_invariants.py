"""OI1, OI2: the exact invariants an optimizer declares (``keeps_column_sums``: I1,
``keeps_null_directions``: I2; optim/optimizers.py), checked on its runs.

Both hold in exact arithmetic for every update in the span of the gradients: each computed
gradient is ``G = E H`` with ``𝟙ᵀE = 0`` (columns ``w_j(s_j − p_j)``, or a sampled target), so
``𝟙ᵀG = 0`` and ``G x = 0`` for ``x ⊥ span{h_j}``. A run is compared with a rounding model, first
order in ``u = 2⁻⁵³``, that reads every step of the run (``ΔW_i = W_{i+1} − W_i``, ``g_i = ∇CE(W_i)``
recomputed), so one bound serves the whole family without a per-optimizer table:

* the gradient's rounding: ``‖G − E*H‖ ≤ u·R``, ``R = √2(c_V‖H‖₂ + (m+2)‖H‖_F)`` (the residual's
  softmax and normalization, then the product; rounding._residual_rounding with weights of norm
  ≤ 1, which covers π and SGD's ``c_j/B``), entering the step with the coefficient
  ``c_i = max(‖ΔW_i‖/‖g_i‖, step size)`` (GD, heavy ball, SGD: ``η``; NGD: ``η/‖g_i‖``, which is why
  NGD's allowance grows fastest: ``‖g_i‖ → 0``);
* the update's arithmetic and storage: ``(V+d+3)u(‖W_{i+1}‖ + ‖ΔW_i‖)``;
* a momentum ``β`` (heavy ball) re-applies past errors: the sum is multiplied by ``1/(1 − β)``.

I1: ``‖𝟙ᵀ(W_k − W_0)‖ ≤ √V·T_k`` with ``T_k`` the sum over ``i < k``; I2: ``‖(W_k − W_0)N‖ ≤
A·Σ_i c_i√2‖HN‖₂ + T_k`` (``‖HN‖₂`` the SVD's own residual). An optimizer that does not declare
the invariant is ``vacuous``; one that declares it and breaks it (Adam with the flag set, the
negative control) drifts by ``O(lr)`` at the first step, against an allowance of ~1e-15.
Measured on the shipped cases at 256 steps from 0, each declaring optimizer at its defaults: OI1
drifts 50–2400 times below the bound (largest 0.019 of it: GD on example B).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.core.model import default_step, gradient
from ntpverify.optim.optimizers import OPTIMIZERS, Optimizer, optimize
from ntpverify.suite.checks.exact import as_matrix, bounded, null_directions
from ntpverify.suite.checks.rounding import U, residual_units
from ntpverify.suite.verdict import Verdict, first_failure, vacuous

#: Steps per run: a broken update shows at the first step; the allowance grows with k.
STEPS = 256


def declaring(flag: str) -> list[type[Optimizer]]:
    """The optimizer classes of ``OPTIMIZERS`` whose declaration ``flag`` is True."""
    return [cls for cls in OPTIMIZERS.values() if getattr(cls, flag)]


def build(cls: type[Optimizer], inst: Instance, eta_factor: float = 1.0, **overrides: Any) -> Optimizer:
    """An instance of ``cls`` with its step ``eta_factor × default_step`` (``eta`` or ``lr``) and
    defaults for the rest (β = 0.9, batch 2, seed 0), overridable by name."""
    values: dict[str, Any] = {"eta": eta_factor * default_step(inst), "lr": eta_factor * default_step(inst),
                              "beta": 0.9, "batch": 2, "seed": 0}
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in {**values, **overrides}.items() if k in fields})


def _resolve(inst: Instance, optimizer: Optimizer | str, params: dict | None) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        return optimizer
    return build(OPTIMIZERS[optimizer], inst, **(params or {}))


def _allowances(inst: Instance, opt: Optimizer, iterates: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative ``(T_k, Σ_{i<k} c_i)`` for k = 0..K, amplified by 1/(1 − β)."""
    H = inst.embeddings
    R = math.sqrt(2.0) * (residual_units(inst.V) * np.linalg.norm(H, 2) + (inst.m + 2) * np.linalg.norm(H))
    K = max(iterates)
    T, C = np.zeros(K + 1), np.zeros(K + 1)
    for i in range(K):
        step = iterates[i + 1] - iterates[i]
        g = float(np.linalg.norm(gradient(inst, iterates[i])))
        c = max(float(np.linalg.norm(step)) / g if g > 0 else 0.0, opt.step_size)
        T[i + 1] = T[i] + U * ((inst.V + inst.d + 3) * (np.linalg.norm(iterates[i + 1]) + np.linalg.norm(step)) + c * R)
        C[i + 1] = C[i] + c
    amplify = 1.0 / (1.0 - float(getattr(opt, "beta", 0.0)))
    return amplify * T, amplify * C


def _run(inst: Instance, opt: Optimizer, W0: np.ndarray, steps: int) -> dict[int, np.ndarray]:
    return optimize(inst, steps, opt, W0=W0, checkpoints=range(steps + 1)).iterates


def _doublings(steps: int) -> list[int]:
    return [k for k in range(steps + 1) if k & (k - 1) == 0 and k > 0] + ([steps] if steps & (steps - 1) else [])


def check_OI1(inst: Instance, optimizer: Optimizer | str = "ngd", params: dict | None = None,
              W0: np.ndarray | Sequence | None = None, steps: int = STEPS) -> Verdict:
    """OI1: ``𝟙ᵀW_k = 𝟙ᵀW_0`` for an optimizer declaring ``keeps_column_sums`` (module docstring)."""
    opt = _resolve(inst, optimizer, params)
    if not opt.keeps_column_sums:
        return vacuous("OI1", f"{type(opt).__name__} does not declare keeps_column_sums")
    W0 = as_matrix(inst, W0)
    its = _run(inst, opt, W0, steps)
    T, _ = _allowances(inst, opt, its)
    verdicts = [bounded("OI1", float(np.linalg.norm((its[k] - W0).sum(axis=0))), math.sqrt(inst.V) * T[k],
                        "first-order rounding model √V·T_k (optim_invariants)",
                        f"‖𝟙ᵀ(W_k − W_0)‖ at k = {k} ({opt!r})") for k in _doublings(steps)]
    return first_failure(verdicts)


def check_OI2(inst: Instance, optimizer: Optimizer | str = "ngd", params: dict | None = None,
              W0: np.ndarray | Sequence | None = None, steps: int = STEPS) -> Verdict:
    """OI2: ``W_k x = W_0 x`` for ``x ⊥ span{h_j}``, for an optimizer declaring ``keeps_null_directions``."""
    opt = _resolve(inst, optimizer, params)
    if not opt.keeps_null_directions:
        return vacuous("OI2", f"{type(opt).__name__} does not declare keeps_null_directions")
    N = null_directions("OI2", inst)
    if isinstance(N, Verdict):
        return N
    W0 = as_matrix(inst, W0)
    its = _run(inst, opt, W0, steps)
    T, C = _allowances(inst, opt, its)
    hn = float(np.linalg.norm(inst.embeddings @ N, 2))
    verdicts = [bounded("OI2", float(np.linalg.norm((its[k] - W0) @ N)), C[k] * math.sqrt(2.0) * hn + T[k],
                        "first-order rounding model A·Σc_i√2‖HN‖ + T_k (optim_invariants)",
                        f"‖(W_k − W_0)N‖ over span{{h_j}}⊥ (dim {N.shape[1]}) at k = {k} ({opt!r})")
                for k in _doublings(steps)]
    return first_failure(verdicts)
