"""Float64 rounding models of GD runs: first-order bounds on how far rounding can move a computed
quantity, against which the exact-fact checks (exact.py, special_gd.py) compare float runs.

The models, first order in the unit roundoff ``u = 2⁻⁵³``, share three ingredients (``m, V, d`` the sizes, ``π`` the
weights, ``E = (S − P)diag(π)`` the residual of a step, ``W_{k+1} = W_k − η E_k H``):

* ``G = η√2‖π‖₂`` bounds ``‖ηE‖_F`` (``‖s_j − p_j‖₂ ≤ √2``). Hence ``‖W_k − W_0‖ ≤ kG‖H‖₂`` and,
  in the reduced form ``W_k = W_0 + A_k H`` (kernels.py), ``‖A_k‖_F ≤ kG``.
* :func:`accumulated_rounding` ``T_k`` bounds ``‖R_k‖_F`` where the computed iterate is
  ``W_k = W_0 − η Σ_{i<k} E*_i H + R_k`` and ``E*_i`` is the *exact* residual of the logits the
  run computed (so ``𝟙ᵀE*_i = 0`` and ``E*_i H`` lies in the row space, exactly). Rounding of the
  logits themselves is harmless to I1/I2: it only changes which ``E*_i`` is used.
* :func:`trajectory_deviation` ``D_k`` bounds the distance of the computed ``W_k`` from the
  exact-arithmetic trajectory: for ``η ≤ 2/L`` GD's map is non-expansive, so per-step deviations
  (now including the logits' rounding) add up without amplification (I6, I7 compare two runs).
* :func:`gap_rounding` bounds the error of ``loss_gap`` (model.kl_terms) at one W.

Where a claim is a per-step identity (I3, I4) the run is read at pairs ``(k, k+1)`` of
log-spaced k; the one-step deviation ``Δ_k`` of the stored ``W_{k+1}`` from the exact step from the
stored ``W_k`` is :func:`step_deviation`.

These bounds are worst cases (no cancellation, ``‖A_k‖ ≤ kG``): the measured errors sit 3 to 10⁶
times below them, closest at the first steps, where a broken step would show.
"""

from __future__ import annotations

import math

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.core.model import kl_terms, log_softmax, logits

#: Unit roundoff of float64 (IEEE round to nearest): every basic operation is exact times (1 + δ),
#: |δ| ≤ U. The numba exponential is within 1 ulp = 2U (kernels.py).
U = 2.0 ** -53


def step_norm_bound(inst: Instance, eta: float) -> float:
    """``G = η√2‖π‖₂ ≥ ‖η E‖_F`` for every W, since ``‖s_j − p_j‖₂ ≤ √2``."""
    return eta * math.sqrt(2.0) * float(np.linalg.norm(inst.weights))


def _sizes(inst: Instance, eta: float) -> tuple[float, float, float]:
    """``(G, ‖H‖₂, ‖H‖_F)``."""
    H = inst.embeddings
    return step_norm_bound(inst, eta), float(np.linalg.norm(H, 2)), float(np.linalg.norm(H))


def residual_units(V: int) -> int:
    """``c_V = 3V + 14``: the computed residual column ``E_j = π_j s_j − q_j`` is within
    ``c_V·u·π_j`` of the exact one in 2-norm, first order in u (kernels._residual).

    The off-anchor entries ``t_v = π_j s_vj`` (softmax and normalization: V terms, exp within 2u)
    are within ``(V+6)u t_v``, and ``E_vj = t_v − q_vj`` adds ``u|E_vj|``. The anchor entry is
    ``(π_j − q_aj) − Σ_{v≠a} t_v``: the sum adds ``(V−2)u`` and inherits the ``t_v``'s errors,
    ``(2V+4)uπ_j(1 − s_aj)`` in all, and the two subtractions ``u(π_j + |E_aj|)``. With
    ``‖s_j‖₂ ≤ 1`` and ``‖E_j‖₂ ≤ √2π_j``: ``(V+6) + (2V+4) + 1 + 2√2 ≤ 3V + 14``."""
    return 3 * V + 14


def _residual_rounding(inst: Instance, eta: float) -> float:
    """One step's rounding in units of u: the residual's ``‖ηΔE‖_F ≤ c_V·u·η‖π‖₂ ≤ c_V·uG``
    (:func:`residual_units`), times ``‖H‖₂``; the product ``ηE·H`` (m terms) adds ``(m+2)uG‖H‖_F``."""
    G, h2, hF = _sizes(inst, eta)
    return G * (residual_units(inst.V) * h2 + (inst.m + 2) * hF)


def _stored_and_residual(inst: Instance, eta: float, k: int, W0_norm: float) -> float:
    """``Σ_{i<k}`` of the per-step state and residual rounding, in units of u (accumulated_rounding)."""
    G, h2, _ = _sizes(inst, eta)
    return k * W0_norm + 0.5 * k * (k + 1) * G * h2 + k * _residual_rounding(inst, eta)


def _logit_effect(inst: Instance, eta: float, logit_error: float) -> float:
    """How far an entrywise logit error moves one step: ``s_j`` by ≤ ½ its 2-norm (``‖J‖ ≤ ½``, at
    most √V entries), hence ``ηE H`` by ``η·½√V‖H‖₂`` times it."""
    return 0.5 * eta * math.sqrt(inst.V) * float(np.linalg.norm(inst.embeddings, 2)) * logit_error


def accumulated_rounding(inst: Instance, eta: float, k: int, W0_norm: float, Wk_norm: float) -> float:
    """``T_k ≥ ‖R_k‖_F``: the rounding a k-step run adds to ``W_k`` beyond ``−ηΣ E*_i H`` (module doc).

    Per step i (first order in u; ``‖H‖₂ ≤ ‖H‖_F``):

    * storing the new state: direct form ``u‖W_{i+1}‖ ≤ u(‖W_0‖ + (i+1)G‖H‖₂)``; reduced form
      ``u‖A_{i+1}‖‖H‖₂ ≤ u(i+1)G‖H‖₂`` (A can grow linearly: duplicated contexts with different p
      drive a part of A that AH cancels);
    * the residual (:func:`_residual_rounding`).

    Summed over i < k: ``u(k‖W_0‖ + ½k(k+1)G‖H‖₂) + k·uG(c_V‖H‖₂ + (m+2)‖H‖_F)``. Once: the
    reduced form's assembly ``W_0 + A_k H`` (``u‖W_k‖ + (m+1)u·kG‖H‖_F``) and the evaluation of the
    checked quantity from ``W_k`` and ``W_0`` (``(V+d+2)u(‖W_k‖ + ‖W_0‖)``).
    """
    G, _, hF = _sizes(inst, eta)
    once = Wk_norm + (inst.m + 1) * k * G * hF + (inst.V + inst.d + 2) * (Wk_norm + W0_norm)
    return U * (_stored_and_residual(inst, eta, k, W0_norm) + once)


def trajectory_deviation(inst: Instance, eta: float, k: int, W0_norm: float, Wk_norm: float) -> float:
    """``D_k ≥ ‖W_k − W_k^exact‖_F``: distance of the computed iterate from the exact-arithmetic
    trajectory from the same start, for ``η ≤ 2/L``.

    GD's map is then non-expansive (CE is convex and L-smooth), so the per-step deviations add up
    without amplification: the state and residual rounding of :func:`accumulated_rounding`, plus
    the effect (:func:`_logit_effect`) of the logits' rounding, entrywise at most
    ``(d+1)u(‖W_i‖ + ‖W_0‖)‖H‖₂`` (direct form, and ``Z0 = W_0Hᵀ``) plus ``(m+1)u·iG‖HHᵀ‖`` (reduced
    form, ``‖A_i‖ ≤ iG``), with ``‖W_i‖ ≤ ‖W_0‖ + iG‖H‖₂``; plus the reduced form's assembly."""
    G, h2, hF = _sizes(inst, eta)
    logits_sum = ((inst.d + 1) * (2 * k * W0_norm + 0.5 * k * k * G * h2) * h2
                  + (inst.m + 1) * 0.5 * k * k * G * h2**2)
    assembly = Wk_norm + (inst.m + 1) * k * G * hF
    return U * (_stored_and_residual(inst, eta, k, W0_norm) + _logit_effect(inst, eta, logits_sum) + assembly)


def step_deviation(inst: Instance, eta: float, k: int, W0_norm: float, Wk_norm: float,
                   Wnext_norm: float) -> float:
    """``Δ_k ≥ ‖W_{k+1} − (W_k − η∇CE(W_k))‖_F`` for the stored iterates ``W_k``, ``W_{k+1}``: step k
    of :func:`trajectory_deviation` (with the actual ``‖W_k‖``) and the assembly error of both stored
    iterates (reduced form)."""
    G, h2, hF = _sizes(inst, eta)
    one_step = _stored_and_residual(inst, eta, k + 1, W0_norm) - _stored_and_residual(inst, eta, k, W0_norm)
    logit_error = (inst.d + 1) * (Wk_norm + W0_norm) * h2 + (inst.m + 1) * k * G * h2**2
    assembly = Wk_norm + Wnext_norm + 2 * (inst.m + 1) * (k + 1) * G * hF
    return U * (one_step + _logit_effect(inst, eta, logit_error) + assembly)


def direct_step_rounding(inst: Instance, eta: float, W_norm: float) -> float:
    """Deviation of one direct-form step from the exact step, from an iterate of norm ≤ ``W_norm``:
    storing ``u‖W‖``, the residual (:func:`_residual_rounding`) and the logits' rounding
    ``(d+1)u‖W‖‖H‖₂`` (:func:`_logit_effect`)."""
    h2 = float(np.linalg.norm(inst.embeddings, 2))
    return U * (W_norm + _residual_rounding(inst, eta) + _logit_effect(inst, eta, (inst.d + 1) * W_norm * h2))


def gap_rounding(inst: Instance, W: np.ndarray) -> float:
    """A bound on the rounding of ``loss_gap(W) = Σ_j π_j KL_j`` (model.kl_terms).

    ``∂KL_j/∂z = s_j − p_j``, so the logits' rounding ``(d+1)u‖W‖‖h_j‖`` moves KL_j by at most
    ``‖s_j − p_j‖₁`` times it; the in-support part evaluates ``φ(log q − log p)`` with
    ``φ'(δ) = e^δ − 1``, so the rounding ``8u(max|z| + max|log p| + 1)`` of ``δ`` costs at most
    ``‖q − p‖₁ ≤ 2‖s − p‖₁`` times it; the sums and ``log1p`` add ``8u·KL_j``. At a minimizer all
    of that vanishes and the second-order term is the whole error: ``φ(ε) ≈ ε²/2`` for a rounding
    ε of δ, so ``(u·δ-error)²`` is added (φ'' = e^δ ≤ 2 within it)."""
    Z = logits(inst, W)
    S = np.exp(log_softmax(Z))
    P = inst.next_token_probs.T
    mask = inst.support_mask.T
    with np.errstate(divide="ignore"):
        logp = np.abs(np.where(mask, np.log(np.where(mask, P, 1.0)), 0.0)).max(axis=0)
    hnorm = np.linalg.norm(inst.embeddings, axis=1)
    l1 = np.abs(S - P).sum(axis=0)
    delta = (inst.d + 1) * np.linalg.norm(W) * hnorm + 8.0 * (np.abs(Z).max(axis=0) + logp + 1.0)
    first_order = U * (l1 * delta + 8.0 * kl_terms(inst, Z))
    return float(inst.weights @ (first_order + (U * delta) ** 2))


def gradient_eval_noise(inst: Instance, W: np.ndarray, C: np.ndarray) -> float:
    """A bound on the rounding of ``⟨−∇CE(W), C⟩`` evaluated either way (model.gradient and a dot
    product, or :func:`decompose`): the logits' rounding ``(d+1)u‖W‖‖h_j‖`` moves ``s_j`` by at
    most half of it, hence the result by ``π_j·½(d+1)u‖W‖‖h_j‖·‖Ch_j‖``; the other operations (at
    most V + d + m terms per sum) add ``(V+d+m+8)u`` times ``Σ_j π_j (‖s_j‖₁ + ‖p_j‖₁)‖Ch_j‖``."""
    H = inst.embeddings
    hnorm = np.linalg.norm(H, axis=1)
    Ch = np.linalg.norm(C @ H.T, axis=0)
    n = inst.V + inst.d + inst.m + 8
    return 2.0 * U * float(inst.weights @ (Ch * (0.5 * (inst.d + 1) * np.linalg.norm(W) * hnorm + 2.0 * n)))
