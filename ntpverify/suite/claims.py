"""The claim catalogue: every statement the suite checks, with its kind, hypotheses and tolerances.

Kinds are kept apart everywhere (names, report, README): ``paper`` — a claim of Thrampoulidis
(arXiv 2402.18551); ``derived`` — follows from the definitions in a few lines (theory.md §2, §4,
§5); ``literature`` — a published result applied to NTP instances, with its source;
``conjecture`` — measured or open (theory.md §6; every rate-based check is one). Each entry
names its check, ``module:function`` under ``ntpverify.suite.checks``, a function ``(inst, **params) ->
Verdict`` that the property in ``properties/`` calls on drawn instances and that ``ntpverify
replay`` re-runs on an archived one; ``properties`` lists the test files that exercise it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["paper", "derived", "literature", "conjecture"]


@dataclass(frozen=True)
class Claim:
    id: str
    kind: Kind
    title: str
    statement: str
    hypotheses: str
    tolerance: str
    check: str
    budget: Literal["solver", "gd"] = "solver"
    #: The instance hypotheses, as names of applicability.REQUIREMENTS: the one gate
    #: (applicability.gate) makes a draw where one fails ``vacuous``, where one is undecided
    #: ``inconclusive``. ``hypotheses`` says the same in words, step-size conditions included.
    requires: tuple[str, ...] = ()

    def checker(self) -> Callable:
        """Import and return the check function."""
        module, name = self.check.split(":")
        return getattr(importlib.import_module(f"ntpverify.suite.checks.{module}"), name)

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "statement": self.statement,
                "hypotheses": self.hypotheses, "tolerance": self.tolerance}


_KKT = "W^mm certified by KKT residuals ≤ 1e-9 (maxmargin.KKT_RTOL), else inconclusive"

CATALOGUE: tuple[Claim, ...] = (
    # --- the paper's claims (theory.md §3) ---------------------------------------------------
    Claim("P1", "paper", "entropy lower bound is attained in the limit",
          "CE(W) > ℋ for every finite W, and inf_W CE = ℋ when the instance is compatible and separable.",
          "at least one |S_j| < V",
          "CE(W) − ℋ ≥ Σ_j π_j ε_j(W) > 0 (ε_j: softmax mass off S_j; data processing) on finite probes, "
          "rounding 1e-12 relative; along W⋆ + t·W^mm the gap is ≤ E(t) = Σ_j π_j x_j/(1−x_j) + 2η²e^{2η}, "
          "x_j = ρ_j e^{−tμ} = C e^{−t}(1 + o(1)) (margins ≥ μ = 1 − O(KKT_RTOL), in-support error "
          "η = O(1e-9·t)), checked at t = t_0 + 10, 20, 40",
          "conditions:check_P1", requires=("partial_support",)),
    Claim("D1", "derived", "P1's converse: either condition failing keeps CE away from ℋ",
          "If the instance is not compatible or not separable, inf CE > ℋ, by a certified margin.",
          "at least one |S_j| < V",
          "max-entropy dual (Gibbs): CE(W) − ℋ ≥ L − ‖W‖‖r‖ with r the moment residual recomputed "
          "from q; certified iff L ≥ 1e-10 on a ball ‖W‖ ≤ B_cert = L/(2‖r‖) ≥ 1e6, else inconclusive; "
          "the certificate must not exceed the gap at any probe (dual's primal point, W = 0) by > 1e-12",
          "conditions:check_D1", requires=("partial_support",)),
    Claim("P2", "paper", "overparameterization implies both conditions",
          "If rank H = m, the instance is compatible and separable for every support pattern and "
          "probabilities.", "rank H = m (generic d ≥ m)",
          "decisions of compatibility.py (residual ≤ 1e-9) and separability.py (LP margin > 1e-9, "
          "witness checked to 1e-7); Lemma 1's witnesses W = Z(HHᵀ)⁻¹H meet Definition 1 to 1e-9 and "
          "Definition 2 to 1e-7", "conditions:check_P2", requires=("rank_H_is_m",)),
    Claim("P3", "paper", "one-hot case is the multiclass SVM",
          "All |S_j| = 1: F = {0}, W⋆ = 0, ℋ = 0, and W^mm equals the multiclass hard-margin SVM "
          "without bias (built independently).", "all |S_j| = 1",
          "F_dim, W⋆, ℋ exactly 0; ‖W^mm − W_svm‖ ≤ e_mm + e_svm, each a certified distance to the QP "
          "optimum (weak duality + strong convexity: e² ≤ ‖W − Aᵀα‖² + 2Σα(margin − 1)); raw Clarabel "
          "gives e ≈ 1e-6·‖W‖",
          "conditions:check_P3", requires=("one_hot",)),
    Claim("P4", "paper", "regularization path: norm B and the two limits",
          "Ŵ_B = argmin_{‖W‖≤B} CE(W) has ‖Ŵ_B‖ = B, P_F(Ŵ_B) → W⋆ and Ŵ_B/B → W^mm/‖W^mm‖.",
          "compatible, separable",
          "‖Ŵ_B‖ = B to 1e-9 at KKT-certified points (1e-9); W⋆, and the ray of W^mm, inside certified "
          "balls at every B (around P_F Ŵ_B, radius ‖A_eq Ŵ_B − b‖/σ; around the path's F⊥ part scaled "
          "to margin 1, radius from the NTP-SVM's primal-dual gap), final balls ≤ 1e-6·max(1, ‖W⋆‖) and "
          "≤ 0.1‖W^mm‖ with every rival outside (else inconclusive); 1 − cos(Ŵ_B, W^mm) decreasing and "
          "≤ C/B² with C fitted on the tail, ‖P_F Ŵ_B − W⋆‖ decreasing (theory.md §6, measured): "
          "inconclusive gates only",
          "regpath:check_P4", requires=("compatible", "separable")),
    Claim("P5", "paper", "GD drives the loss to the entropy and the norm to infinity",
          "CE(W_k) → ℋ and ‖W_k‖ → ∞ for GD with η ≤ 1/(2L).", "compatible, separable",
          "derived bounds at every doubling checkpoint (no rate assumed): CE − ℋ never increases (I4) and "
          "is ≤ B(k) = min_t gap(W⋆ + tW^mm) + ‖W⋆ + tW^mm − W_0‖²/(2ηk) (convex GD, η ≤ 1/L; B → 0 like "
          "log²(ηk)/(ηk)); ‖W_k‖ ≥ the softmax-tail lower bound of its gap (→ ∞); inconclusive if B does "
          "not decrease", "gd_limits:check_P5", "gd", requires=("compatible", "separable")),
    Claim("P6a", "paper", "GD direction converges to W^mm",
          "W_k/‖W_k‖ → W^mm/‖W^mm‖.", "compatible, separable, η ≤ 1/(2L)",
          "contest over the last 3 doublings, budget ≥ 20 T (T = max(1/(ημ_F), 1/(η min π_j‖h_j‖²))): "
          "1 − cos(W_2k − W_k, W^mm) and 1 − cos(W_k − W⋆, W^mm) (or their F-components) ≤ ½ × every "
          "rival's (relaxed SVM, interpolators, W^mm without "
          "full-support contexts, W⋆), not increasing; fail only if a rival is ≥ 10× closer throughout while "
          "the claim's error does not halve; rivals within 1e-9 skipped, unresolved ones inconclusive",
          "gd_limits:check_P6a", "gd", requires=("compatible", "separable")),
    Claim("P6b", "paper", "GD's F-part converges to W⋆",
          "P_F(W_k) → W⋆.", "compatible, separable",
          "‖P_F W_k − W⋆‖ ≤ ½ × the distance to every rival (interpolators, least-squares fit, an off-F "
          "solution), not increasing over the last 3 doublings, past 20 T; fail only on a rival ≥ 10× "
          "closer throughout", "gd_limits:check_P6b", "gd", requires=("compatible", "separable")),
    Claim("P6c", "paper", "the limits do not depend on W_0, η or π",
          "The limits of P6 are the same for any W_0, any η within the bound and any weights π.",
          "compatible, separable",
          "W^mm and W⋆ of the re-weighted instance agree to 1e-9; runs from a drawn W_0, with η/2^h (same "
          "clock ηk) and with re-weighted π each pass the P6a and P6b contests against the same limits, "
          "and agree with the base run better than with any rival", "gd_limits:check_P6c", "gd",
          requires=("compatible", "separable")),
    # --- exact facts about GD (theory.md §4) -------------------------------------------------
    Claim("I1", "derived", "column sums are conserved", "𝟙ᵀW_k = 𝟙ᵀW_0 for all k and any η.", "none",
          "‖𝟙ᵀ(W_k − W_0)‖ ≤ √V·T_k at log-spaced k, T_k = u[k‖W_0‖ + ½k(k+1)G‖H‖₂ + kG((V+8)‖H‖₂ + "
          "(2m+3)‖H‖_F) + (V+d+3)‖W_k‖ + (V+d+2)‖W_0‖], u = 2⁻⁵³, G = η√2‖π‖₂ ≥ ‖ηE‖_F: first-order "
          "rounding model of the stored state, residual and assembly (rounding.accumulated_rounding; exact "
          "since 𝟙ᵀE* = 0); a worst case, measured errors 3–10⁶× below (exact.py)", "exact:check_I1", "gd"),
    Claim("I2", "derived", "directions orthogonal to the data never move",
          "W_k x = W_0 x for every x ⊥ span{h_j}.", "span{h_j} ≠ R^d (else vacuous)",
          "‖(W_k − W_0)N‖_F ≤ kG‖HN‖₂ + T_k (T_k, G as in I1; ‖HN‖₂ the SVD's own residual, ~1e-16‖H‖) "
          "for an orthonormal basis N of span{h_j}⊥, at log-spaced k; rank of H decided as in geometry.py, "
          "else inconclusive", "exact:check_I2", "gd"),
    Claim("I3", "derived", "every step increases the inner product with W^mm",
          "⟨W_{k+1} − W_k, W^mm⟩ = η Σ_j π_j Σ_{v∉S_j} s_{j,v}(c_j − ℓ^mm_{j,v}) > 0.", "separable",
          "sign certificate at each pair (k, k+1): off-support margins c_j − ℓ_v ≥ 1 − KKT_RTOL(1 + "
          "‖W^mm‖max‖h_j‖), no negative in-support term with spread > 2·KKT_RTOL‖W^mm‖max‖h_j‖ (W^mm's "
          "certified error, KKT_RTOL = 1e-9); formula = naive ⟨W_{k+1} − W_k, W^mm⟩ to 1e-9 relative "
          "wherever the naive value's first-order rounding model in u = 2⁻⁵³, η·ε(W_k) + ‖W^mm‖Δ_k + "
          "(Vd+2)u‖W_{k+1} − W_k‖‖W^mm‖, is ≤ 1e-10 relative, else not compared (ε = "
          "rounding.gradient_eval_noise, Δ_k = rounding.step_deviation)", "exact:check_I3", "gd",
          requires=("separable",)),
    Claim("I4", "derived", "descent lemma", "For η ≤ 1/L: CE(W_{k+1}) ≤ CE(W_k) − (η/2)‖∇CE(W_k)‖².", "η ≤ 1/L",
          "at each pair (k, k+1), CE(W_{k+1}) − CE(W_k) + (η/2)‖∇CE(W_k)‖² (differences of the stable gap) "
          "≤ γ(W_k) + γ(W_{k+1}) + max(‖∇CE(W_k)‖, ‖∇CE(W_{k+1})‖)·Δ_k + (m+V+d)u·(η/2)‖∇CE(W_k)‖², first "
          "order in u = 2⁻⁵³: γ the gap's rounding (rounding.gap_rounding: logit and log-ratio rounding times "
          "‖s_j − p_j‖₁, 8u·KL_j, plus the second-order term that remains at a minimizer), Δ_k the "
          "one-step deviation of the stored iterates (rounding.step_deviation)", "exact:check_I4", "gd"),
    Claim("I5", "derived", "no stationary point under separability", "∇CE(W) ≠ 0 for every W.", "separable",
          "⟨−∇CE(W), W^mm⟩ > 0 at W + t·W^mm by I3's sign certificate (margins and spreads within W^mm's "
          "KKT_RTOL = 1e-9); formula = naive value (model.gradient) to 1e-9 relative where its rounding "
          "model ε(W) = 2uΣ_j π_j‖W^mm h_j‖(½(d+1)‖W‖‖h_j‖ + 2(V+d+m+8)) (first order in u = 2⁻⁵³, "
          "rounding.gradient_eval_noise) is ≤ 1e-10 relative, else not compared",
          "exact:check_I5", requires=("separable",)),
    Claim("I6", "derived", "equivariance of GD",
          "Token permutations permute rows of W_k; H → HQᵀ, W_0 → W_0Qᵀ gives W_k → W_kQᵀ; H → cH, W_0 → W_0/c, "
          "η → η/c² gives W_k → W_k/c.", "none",
          "‖W'_k − T(W_k)‖ ≤ 2D_k(transformed) + Lip(T)·D_k(original) at log-spaced k (Lip = 1 for "
          "permutations and Householder Q, 1/c for the scaling; the transformed H is itself rounded), "
          "D_k = rounding.trajectory_deviation: first-order rounding (u = 2⁻⁵³) of state, residual and "
          "logits per step, adding up unamplified because GD's map is non-expansive for η ≤ 2/L",
          "exact:check_I6", "gd"),
    Claim("I7", "derived", "duplicated contexts merge",
          "Two contexts with identical (h_j, p_j) behave exactly like one with the summed weight.", "none",
          "‖W_k^split − W_k‖ ≤ 2D_k(split) + D_k(merged) at log-spaced k, D_k as in I6 (η ≤ 2/L); the "
          "split weights are rounded (≤ u relative), so the split run counts twice", "exact:check_I7", "gd"),
    Claim("OI1", "derived", "declared column-sum conservation holds for every optimizer",
          "Every optimizer whose class declares keeps_column_sums (optim.optimizers: GD, NGD, heavy ball, "
          "SGD) has 𝟙ᵀW_k = 𝟙ᵀW_0: its updates lie in the span of gradients, whose columns sum to 0.",
          "the optimizer declares keeps_column_sums (else vacuous)",
          "‖𝟙ᵀ(W_k − W_0)‖ ≤ √V·T_k at doublings k ≤ 256, T_k = A·u·Σ_{i<k}[(V+d+3)(‖W_{i+1}‖ + ‖ΔW_i‖) + "
          "c_i√2((V+8)‖H‖₂ + (m+2)‖H‖_F)], c_i = max(‖ΔW_i‖/‖∇CE(W_i)‖, step size), A = 1/(1 − β) "
          "(momentum), u = 2⁻⁵³: first-order rounding of gradient, update and storage read from every "
          "step (optim_invariants)", "optim_invariants:check_OI1"),
    Claim("OI2", "derived", "declared null directions stay put for every optimizer",
          "Every optimizer whose class declares keeps_null_directions has W_k x = W_0 x for x ⊥ span{h_j}.",
          "the optimizer declares keeps_null_directions, span{h_j} ≠ R^d (else vacuous)",
          "‖(W_k − W_0)N‖_F ≤ A·Σ_{i<k} c_i·√2‖HN‖₂ + T_k (T_k, c_i, A as in OI1; ‖HN‖₂ the SVD's residual) "
          "at doublings k ≤ 256", "optim_invariants:check_OI2"),
    # --- structure of the limit objects (theory.md §2) ---------------------------------------
    Claim("D2", "derived", "F⊥ is where logits are constant on supports",
          "W ∈ F⊥ ⇔ every W h_j is constant on S_j; every element of F has zero column sums; "
          "dim F ≤ Σ_j(|S_j| − 1) with equality when the h_j are linearly independent.", "none",
          "orthonormality 1e-12; column sums, spreads and projections 1e-13·κ relative (κ = σ₁/σ_k of "
          "the all-pairs generators: SVD subspace accuracy ~ε·κ, measured ≤ 70·ε·κ); dim F equal to "
          "the rank of the all-pairs generators (exact)", "structure:check_D2"),
    Claim("D3", "derived", "W⋆ is the minimum-norm solution and P_F of every solution",
          "W⋆ = P_F(W) for any solution W of Definition 1; 𝟙ᵀW⋆ = 0; rows vanish for tokens in no "
          "support of size ≥ 2; W⋆ depends only on in-support log-ratios, not on π.", "compatible",
          "1e-9 relative to max(1, ‖W⋆‖) (residuals of the SVD solve), against a random weighted "
          "least-squares solution plus a part outside span{h_j}", "structure:check_D3", requires=("compatible",)),
    Claim("D4", "derived", "structure and invariances of W^mm",
          "𝟙ᵀW^mm = 0; rows in span{h_j}; W^mm depends only on (H, supports); equal support patterns "
          "give equal rows; W^mm(HQᵀ) = W^mm(H)Qᵀ; token permutations permute rows; H → cH gives "
          "W^mm/c.", "separable", "1e-8 relative (two KKT-certified, active-set polished solutions; "
          "measured ≤ 9e-14); a non-separable instance stays non-separable under every transformation",
          "structure:check_D4"),
    Claim("D5", "derived", "closed forms for mutually orthogonal embeddings",
          "W^mm = Σ_j u_j h_jᵀ/‖h_j‖², u_j = 𝟙_{S_j} − (|S_j|/V)𝟙; W⋆ = Σ_j u⋆_j h_jᵀ/‖h_j‖².",
          "mutually orthogonal h_j", "1e-9 relative", "structure:check_D5", requires=("orthogonal",)),
    Claim("D6", "derived", "the two solvers agree",
          "W^mm from LDP-NNLS and from cvxpy+Clarabel (independent active sets) coincide, and the "
          "separability LP agrees with the LDP's feasibility.", "none", "1e-8 relative; " + _KKT,
          "structure:check_D6"),
    Claim("D7", "derived", "the structured and dense routes agree",
          "The structured route (dual block coordinate ascent with exact cone projections, LSQR polish, "
          "structural KKT and Farkas certificates; theory.md §9) and the dense route decide "
          "compatibility, separability and dim F identically and give the same W⋆ and W^mm.", "none",
          "flags and dim F exactly; W⋆, W^mm to 1e-9 relative (routes.ROUTES_RTOL)", "routes:check_D7"),
    Claim("D8", "literature", "Cover's function-counting law for V = 2 one-token supports",
          "With V = 2, one-token supports with fair labels and Gaussian h_j (homogeneous linear "
          "separability, Cover 1965): P(separable) = 2^{1−m} Σ_{k<d} binom(m−1, k).",
          "V = 2, |S_j| = 1, Gaussian h_j, fair labels",
          "exact two-sided binomial test over 800 seeded draws at level 1e-6 (cover.LEVEL)",
          "cover:check_D8"),
    Claim("D9", "derived", "every verdict is invariant under H → cH",
          "For c > 0, solve(cH) decides compatibility and separability as solve(H) does (or leaves "
          "them undecided where float64 cannot represent the objects), with W⋆(cH) = W⋆(H)/c and "
          "W^mm(cH) = W^mm(H)/c.", "none",
          "flags exactly; objects to 1e-8 relative (structure.MM_RTOL); c = mantissa·2^k for k over "
          "±1000", "invariance:check_D9"),
    Claim("D10", "derived", "certificates never contradict an explicit witness or obstruction",
          "Near the boundary of separability, solve() never certifies 'not separable' where an explicit "
          "witness of Definition 2 (Lemma 1's, checked from H) with ‖W‖·max‖h_j‖ ≤ 1e12 exists, nor "
          "'separable' where two contexts share an embedding with disjoint non-full supports.",
          "a witness or an exact obstruction",
          "exact (flags); the witness held to separability.WITNESS_RTOL", "boundary:check_D10"),
    Claim("D11", "derived", "the ℓ∞ NTP-SVM bounds every ℓ∞-normalized margin in F⊥",
          "γ∞* = max{γ : ‖W‖_max ≤ 1, W ∈ F⊥, margins ≥ γ} (LP with a two-sided certificate) is at "
          "least the ℓ∞-normalized margin of every W ∈ F⊥: the LP's maximizer, W^mm, random directions "
          "and sign-descent iterates projected onto F⊥.", "separable (γ∞* > 0)",
          "1e-8 relative (linf_svm.GAP_RTOL: the certified gap)", "linf:check_D11", requires=("separable",)),
    # --- other optimizers on one-hot data (issue 12; checks/optim_limits.py) ------------------
    Claim("L1", "literature", "sign descent maximizes the ℓ∞ margin (one-hot)",
          "On one-hot separable instances, sign descent W − η sign(∇CE) from 0 has ℓ∞-normalized margin "
          "→ γ∞* (Gunasekar, Lee, Soudry & Srebro 2018, steepest descent w.r.t. a norm; multiclass: Fan, "
          "Schmidt & Thrampoulidis 2025).", "all |S_j| = 1, separable, η = 0.002/max‖h_j‖₁ × drawn factor",
          "e(k) = 1 − γ∞(W_k)/γ∞* fitted as a + C/k through the last two doublings K/2, K that float64 "
          "resolves (min_j ε_j ≥ V·2⁻¹⁰²²/u: exp's flush costs ≤ u); |a| ≤ 0.24 = 2 × the measured max 0.119; "
          "inconclusive (budget too short) if an iterate at K/4, K/2 or K does not separate the data, if the "
          "fit misses e(K/4) by > 25% of |e(K/4) − a|, if a < −tolerance (below the bound γ∞ ≤ γ∞*), or < 3 "
          "readable doublings", "optim_limits:check_L1", "gd", requires=("one_hot", "separable")),
    Claim("L2", "literature", "NGD converges in direction to W^mm (one-hot)",
          "On one-hot separable instances, normalized GD W − η ∇CE/‖∇CE‖ from 0 has W_k/‖W_k‖ → "
          "W^mm/‖W^mm‖ (steepest descent for the ℓ2 norm; Gunasekar et al. 2018; the multiclass SVM by P3).",
          "all |S_j| = 1, separable, η = 0.1/max‖h_j‖ × drawn factor",
          "e(k) = 1 − cos(W_k, W^mm) fitted as a + C·(log k/k)² (the square of issue 12's direction rate) "
          "toward W^mm, else a + C·log k/k toward another limit, as in L1; NGD read while ‖∇CE‖ ≥ √(Vd)·2⁻⁵¹¹; "
          "|a| ≤ 3.5e-4 = 2 × the measured max 1.74e-4; inconclusive as L1", "optim_limits:check_L2", "gd",
          requires=("one_hot", "separable")),
    Claim("L3", "literature", "heavy ball converges in direction to W^mm (one-hot)",
          "On one-hot separable instances, heavy ball W − η∇CE + β(W_k − W_{k−1}) from 0 has W_k/‖W_k‖ → "
          "W^mm/‖W^mm‖, like GD (Soudry et al. 2018) at the effective step η/(1 − β).",
          "all |S_j| = 1, separable, η = default step (≤ 2/L) × drawn factor, β ∈ {0.5, 0.9}",
          "e(k) = 1 − cos(W_k, W^mm) fitted as a + C/log² k (GD's direction rate squared) toward W^mm, else "
          "a + C/log k, as in L1; |a| ≤ 0.089 = 2 × the measured max 0.0445 (β = 0.9 and 0.5); inconclusive as L1",
          "optim_limits:check_L3", "gd",
          requires=("one_hot", "separable")),
    # --- special cases (theory.md §5) --------------------------------------------------------
    Claim("S1", "derived", "one-token supports",
          "A context with |S_j| = 1 adds no equation and V − 1 margin inequalities.", "some |S_j| = 1",
          "exact counts; dropping such contexts leaves the projector onto F (1e-10) and W⋆ (1e-9) unchanged",
          "special:check_S1", requires=("some_one_token",)),
    Claim("S2", "derived", "full-support contexts constrain F⊥",
          "A context with |S_j| = V adds no inequality but forces W^mm h_j ∈ span(𝟙); dropping it "
          "changes W^mm unless the W^mm of the reduced problem is already constant on h_j.",
          "some |S_j| = V (the W^mm part: separable)",
          "exact counts; spread of W^mm h_j ≤ 1e-9 relative; W^mm with and without agree to 1e-8 when "
          "constant, else differ by ≥ spread/(√2‖h_j‖)",
          "special:check_S2", requires=("some_full_support",)),
    Claim("S3", "derived", "all contexts full-support: finite minimizer",
          "CE attains ℋ at a finite point; GD converges in norm to W⋆ + P_{F⊥}(W_0); W^mm is undefined.",
          "every |S_j| = V, compatible",
          "W^mm status undefined; CE(W⋆) − ℋ ≤ γ(W⋆) + 2·(equation residual of W⋆)² (γ = rounding.gap_rounding); "
          "between checkpoints a < b, δ_b ≤ (1 − ημ)^{(b−a)/2} δ_a + (b − a)·r + 2e with δ_k = ‖W_k − W⋆ − "
          "P_{F⊥}W_0‖, μ = μ_F e^{−√2(δ_a + e)max‖h_j‖} (strong convexity on F near W⋆, μ_F = λ_min of "
          "∇²CE(W⋆) on F, η ≤ 1/L), r the direct-form step rounding at norm ‖target‖ + δ_a + e "
          "(rounding.direct_step_rounding, first order in u = 2⁻⁵³), e = (Vd+m)u·κ(‖W⋆‖ + ‖W_0‖) the "
          "target's own error (κ = σ₁/σ_{dim F} of A_eq)",
          "special_gd:check_S3", "gd", requires=("all_full_support", "compatible")),
    Claim("S4", "derived", "only one condition: the gap stays open",
          "If exactly one of compatibility and separability holds, GD's loss gap stays above the "
          "certified bound of D1.", "exactly one condition",
          "CE(W_k) − ℋ ≥ L(1 − ‖W_k‖/(2B_cert)) − γ(W_k) at every checkpoint, (L, B_cert) D1's certificate "
          "(Gibbs, moment residual ‖r‖ = L/(2B_cert)), γ = rounding.gap_rounding (first order in u = 2⁻⁵³); "
          "inconclusive if ‖W_K‖ > B_cert at the end (bound below L/2) or L, B_cert ≤ 0",
          "special_gd:check_S4", "gd", requires=("exactly_one_condition",)),
    # --- conjectures (measured rates, theory.md §6) ------------------------------------------
    Claim("C1", "conjecture", "1/(ηk) decay of the loss gap and of the F-distance",
          "CE(W_k) − ℋ and ‖P_F W_k − W⋆‖ decay at least like 1/(ηk) after a transient (the F-distance "
          "can decay exponentially: theory.md §6's two-sided 'like 1/(ηk)' is refuted there).",
          "compatible, separable",
          "log-log slopes over the last 3 doublings ≤ −0.5 (measured −1, faster allowed) once past 20 T, "
          "T = max(1/(η μ_F), 1/(η min π_j‖h_j‖²)); inconclusive before; a slower slope fails only from "
          "100 T with the F-part settled (a non-decreasing gap: from 100 T, by I4) AND ηK(CE − ℋ)/‖W^mm‖² "
          "≥ 0.5 (derived envelope ηk(CE − ℋ) → ‖W^mm‖², measured 0.875–1.003 on the shared cases at "
          "2^17–2^20 steps, rates.py), below it inconclusive (plateau, seen at 0.004); the F-distance's "
          "slope fails only above D_K = 2 max‖h_j‖(CE − ℋ)/μ_F, the derived bound on the F-error the "
          "off-support mass sustains (measured ≤ 0.39 D_K on the shared cases), below it inconclusive "
          "(dips, seen at 0.001–0.008 D_K)",
          "rates:check_C1", "gd", requires=("compatible", "separable")),
    Claim("C2", "conjecture", "logarithmic growth along W^mm",
          "‖P_{F⊥}(W_k)‖ = ‖W^mm‖(log(ηk) + c) + o(1), and W_k − W⋆ − W^mm log(ηk) stays bounded.",
          "compatible, separable",
          "remainder increment δ = ‖(W_2k − W_k)/log 2 − W^mm‖/‖W^mm‖ (≥ |increment ratio of ‖P_{F⊥}W_k‖ "
          "− 1|) ≤ ½ × every rival's past 20 T; fail only from 100 T if a rival's is 10× smaller throughout",
          "rates:check_C2", "gd", requires=("compatible", "separable")),
    # --- conjectures: the figure-5 remark beyond GD (issue 12; checks/optim_conjectures.py) -----
    Claim("C3", "conjecture", "NGD with a constant step: F-part floor ∝ η (figure 5's remark refuted)",
          "Refutes the paper's figure-5 remark \"NGD and Adam exhibit the same implicit bias\" for NGD's "
          "F-part: with W − η ∇CE/‖∇CE‖ and a constant η, ‖P_F W_k − W⋆‖ settles at a floor c·η + o(η) "
          "with c > 0 on generic instances (c = 0 where P_F W_k = W⋆ is kept, e.g. orthogonal embeddings "
          "whose multi-token contexts have full support), so P_F W_k → W⋆ only as η → 0; shrunk "
          "counterexample to the remark: reports/counterexamples/C3 (V = 3, m = d = 1).",
          "compatible, separable, F ≠ {0} (else vacuous), η = 0.1/max‖h_j‖ × drawn factor ≤ 1",
          "floors f = ‖P_F W_K − W⋆‖ of runs from 0 at η (K steps) and η/2 (2K steps, same clock ηK), K "
          "doubled from 2^15 to 2^19 until both change ≤ 5% over the last doubling (else inconclusive); "
          "|log₂(f(η)/f(η/2)) − 1| ≤ 0.43 = 2 × the measured max 0.213 (369 drawn passes); both floors "
          "at rounding (1e-12·max(1, ‖W⋆‖)): pass with c = 0; one only: inconclusive",
          "optim_conjectures:check_C3", "gd", requires=("compatible", "separable")),
    Claim("C4", "conjecture", "NGD converges in direction to W^mm (general NTP)",
          "With W − η ∇CE/‖∇CE‖ and a constant η from 0, W_k/‖W_k‖ → W^mm/‖W^mm‖ on compatible, "
          "separable instances (figure 5's remark for NGD's direction; proved for one-hot data, L2).",
          "compatible, separable, η = 0.1/max‖h_j‖ × drawn factor",
          "e(k) = 1 − cos(W_k, W^mm) at doublings 16 … 2^18 that float64 resolves (off-support mass of "
          "partial-support contexts ≥ V·2⁻¹⁰²²/u, as L1; the fits read only where W_k separates the data at "
          "K/4, K/2, K, else inconclusive); limit bracketed by fits through K/2, K along 1/k (largest) and "
          "1/log k (smallest; ‖W_k‖ ∝ log k measured): pass if e(K) or the 1/k limit ≤ 0.23 = 2 × the "
          "measured max 0.115 of the 1/log k limits, fail if the 1/log k limit > 0.23 (fit predicting "
          "e(K/4) to 25%), else inconclusive",
          "optim_conjectures:check_C4", "gd", requires=("compatible", "separable")),
    # --- conjectures: footnote 8, SGD in its two readings (checks/sgd_conjectures.py) ----------
    Claim("C5", "conjecture", "SGD over tokens with a constant step: F-part noise floor S(η) (footnote 8 refuted)",
          "Refutes footnote 8 (\"SGD shares GD's implicit bias\") read over single next-token draws: with "
          "ĝ = (1/B)Σ_b (softmax(W h_j) − e_z) h_jᵀ and a constant η, ‖P_F W_k − W⋆‖² does not → 0 but "
          "settles at the noise floor S(η) = (η/B) Σ_i 1/(2 − ηλ_i) + O(η²) (λ_i the eigenvalues on F of CE's "
          "Hessian at the limit, which is also a draw's gradient covariance there; the stationary variance of "
          "the linearized recursion): it shrinks with η and does not vanish, and the distance floor is ∝ √η, "
          "not ∝ η; shrunk counterexample to the footnote: reports/counterexamples/C5 (V = 3, m = d = 1).",
          "compatible, separable, F ≠ {0} (else vacuous), η = factor/max‖h_j‖² with factor ≤ ½ (else "
          "inconclusive), batch B, seeded",
          "mean of ‖P_F W_k − W⋆‖² over 512 checkpoints in a window of 400 T_F (T_F = 1/(ηλ_min)) after a "
          "burn-in of 20 T, ≤ 2^21 steps (else inconclusive); |ln(mean/S(η))| ≤ 0.64 = 2 × the measured max "
          "0.320 (614 drawn passes at factors ½, ¼, 0 fail; 0.41 at factor 1, the O(η) term, hence factor ≤ ½)",
          "sgd_conjectures:check_C5", "gd", requires=("compatible", "separable")),
    Claim("C8", "conjecture", "SGD over contexts keeps GD's limits (footnote 8)",
          "Footnote 8 read over contexts: with ĝ = (1/B)Σ_b (softmax(W h_j) − p_j) h_jᵀ (j ∼ π) and a constant "
          "η, P_F W_k → W⋆ and W_k/‖W_k‖ → W^mm/‖W^mm‖ as for GD: every draw's gradient vanishes at the "
          "limit, so the noise does.",
          "compatible, separable, η = factor/max‖h_j‖² (factor ≤ 1), batch B, seeded",
          "K from 2^16 doubled to 2^20 until K ≥ 20 T (else inconclusive). F-part: the maxima of ‖P_F W_k − "
          "W⋆‖ over 32 checkpoints in [K/8, K/4], [K/4, K/2], [K/2, K] have log-log slope ≤ −0.5 (C1's bar; "
          "measured max −0.515 over 463 drawn readings) or the last is at rounding; fail if > −0.25 from "
          "100 T, else inconclusive. Direction: as C4, the limit of 1 − cos(W_k, W^mm) bracketed by the 1/k "
          "and 1/log k fits, tolerance 0.147 = 2 × the measured max 0.0734 of the 1/log k limits",
          "sgd_conjectures:check_C8", "gd", requires=("compatible", "separable")),
    # --- conjectures: figure 5's remark beyond GD, continued (checks/optim_conjectures.py) ------
    Claim("C6", "conjecture", "Adam with ε ≥ lr·λ_max converges in direction to W^mm (general NTP)",
          "Adam (β₁, β₂) = (0.9, 0.99) from 0 with lr = 0.002/max‖h_j‖₁ × drawn factor and ε = κ·lr·λ_max, "
          "κ ≥ 1 (λ_max = 1/default step: once |∇CE| ≪ ε Adam is heavy ball at step lr/ε ≤ 1/λ_max), has "
          "W_k/‖W_k‖ → W^mm/‖W^mm‖ on compatible, separable instances (figure 5's remark for Adam, read "
          "with ε large; one-hot: Wang et al. 2110.03891). With ε negligible (1e-12) it is not measured to "
          "tend to W^mm nor to the ℓ∞ face at 2^18 steps (direction error growing in 31 of 74 draws, ℓ∞ gap "
          "1 − γ∞/γ∞* median 0.35): not claimed.",
          "compatible, separable, κ ∈ {1, 4} (κ < 1: vacuous), lr factor ∈ {1, ½, ¼}",
          "e(k) = 1 − cos(W_k, W^mm) at doublings 16 … 2^18 that float64 resolves, fitted as a + C/log² k "
          "(L3's rate) else a + C/log k, as in L1; |a| ≤ 0.176 = 2 × the measured max 0.088 (444 drawn "
          "runs: 74 draws × lr factors 1, ½, ¼ × κ 1, 4; fits within 10.2% of e(K/4)); inconclusive as L1. "
          "Search (κ = 1): 400 draws, 340 pass, 0 fail",
          "optim_conjectures:check_C6", "gd", requires=("compatible", "separable")),
    Claim("C7", "conjecture", "GD past the F-part's edge of stability does not reach the entropy (general NTP)",
          "GD with a constant η = c/L, c ≫ 1 (L = λ_max/2, default step 1/(2L)), such that ηλ_F⁺ > 2 "
          "(λ_F⁺ = λ_max of ∇²CE on F at the limit, ≤ L) keeps CE(W_k) − ℋ away from 0: W⋆ is an unstable "
          "fixed point of the F-part, which settles on a period-2 or chaotic orbit; so the large-step result "
          "for separable logistic regression (Wu, Bartlett, Telgarsky & Yu 2024; F = {0}) does not carry over "
          "to general NTP. Below the edge GD may fail too (a coexisting orbit, measured at ηλ_F⁺ = 1.67): "
          "the edge is sufficient, not necessary. Shrunk counterexample to 'GD with η ≫ 1/L reaches ℋ': "
          "reports/counterexamples/C7 (V = 3, m = d = 1, p = (½, ½, 0), η = 16/L: gap ≈ 6.5 nats).",
          "compatible, separable, F ≠ {0}, ηλ_F⁺ ≥ 2.5 (else vacuous), c ∈ {4, 16, 64}",
          "r = max(CE − ℋ) over 33 points of [K/2, K] / max over 32 points of [K/4, K/2), K = 2^16 from 0: "
          "pass if r ≥ 0.544 = 0.9 × the measured min 0.604 (302 draws; a 1/(ηk) decay has r = ½); fail if "
          "r < 0.544 and the F-distance's window maximum fell by the same factor; inconclusive if only the "
          "gap's fell, or on overflow; vacuous where P_F W_k = W⋆ to 1e-12·max(1, ‖W⋆‖) over the window",
          "optim_conjectures:check_C7", "gd", requires=("compatible", "separable")),
)

BY_ID: dict[str, Claim] = {c.id: c for c in CATALOGUE}


def get(claim_id: str) -> Claim:
    """The catalogue entry ``claim_id`` (KeyError naming the known ids otherwise)."""
    try:
        return BY_ID[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim {claim_id!r}; known: {', '.join(BY_ID)}") from None


# --- the README's claims table ---------------------------------------------------------------------

README_BEGIN, README_END = "<!-- claims -->", "<!-- /claims -->"


def _cell(text: str) -> str:
    # a literal | would split the Markdown cell; ∣ (U+2223) reads the same
    return text.replace("|", "∣")


def readme_table() -> str:
    """The README's claims table, generated from the catalogue (tests/test_claims.py checks that
    README.md holds exactly this; ``python -m ntpverify.suite.claims README.md`` rewrites it)."""
    rows = ["| id | kind | claim | statement | hypotheses |", "|---|---|---|---|---|"]
    rows += [f"| `{c.id}` | {c.kind} | {_cell(c.title)} | {_cell(c.statement)} | {_cell(c.hypotheses)} |"
             for c in CATALOGUE]
    return "\n".join(rows)


def with_readme_table(text: str) -> str:
    """``text`` with the block between README_BEGIN and README_END replaced by :func:`readme_table`."""
    head, begin, rest = text.partition(README_BEGIN)
    _, end, tail = rest.partition(README_END)
    if not begin or not end:
        raise ValueError(f"no {README_BEGIN} … {README_END} block")
    return f"{head}{README_BEGIN}\n{readme_table()}\n{README_END}{tail}"


def _main(argv: list[str]) -> int:
    import os
    import sys
    import tempfile
    from pathlib import Path

    if len(argv) != 1:
        print("usage: python -m ntpverify.suite.claims README.md", file=sys.stderr)
        return 2
    path = Path(argv[0])
    new = with_readme_table(path.read_text(encoding="utf-8"))
    # write beside and rename: an interrupted run leaves the old README whole
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(new)
    os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
