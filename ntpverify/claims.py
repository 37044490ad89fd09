"""The claim catalogue: every statement the suite checks, with its kind, hypotheses and tolerances.

Kinds are kept apart everywhere (names, report, README): ``paper`` — a claim of Thrampoulidis
(arXiv 2402.18551); ``derived`` — follows from the definitions in a few lines (theory.md §2, §4,
§5); ``conjecture`` — measured or open (theory.md §6; every rate-based check is one). Each entry
names its check, ``module:function`` under ``ntpverify.checks``, a function ``(inst, **params) ->
Verdict`` that the property in ``properties/`` calls on drawn instances and that ``ntpverify
replay`` re-runs on an archived one; ``properties`` lists the test files that exercise it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Literal

Kind = Literal["paper", "derived", "conjecture"]


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

    def checker(self) -> Callable:
        """Import and return the check function."""
        module, name = self.check.split(":")
        return getattr(importlib.import_module(f"ntpverify.checks.{module}"), name)

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "statement": self.statement,
                "hypotheses": self.hypotheses, "tolerance": self.tolerance}


_KKT = "W^mm certified by KKT residuals ≤ 1e-9 (maxmargin.KKT_RTOL), else inconclusive"

CATALOGUE: tuple[Claim, ...] = (
    # --- the paper's claims (theory.md §3) ---------------------------------------------------
    Claim("P1", "paper", "entropy lower bound is attained in the limit",
          "CE(W) > ℋ for every finite W, and inf_W CE = ℋ when the instance is compatible and separable.",
          "at least one |S_j| < V",
          "CE(W) − ℋ > 0 on drawn finite W (exact KL form, every term ≥ 0); along W⋆ + t·W^mm the gap "
          "is ≤ Σ_j π_j (V−|S_j|) e^{−t}(1 + o(1)) (from the margin ≥ 1 of W^mm), checked at t = 40",
          "conditions:check_P1"),
    Claim("D1", "derived", "P1's converse: either condition failing keeps CE away from ℋ",
          "If the instance is not compatible or not separable, inf CE > ℋ, by a certified margin.",
          "at least one |S_j| < V",
          "a certified lower bound on inf CE − ℋ from the verified Farkas/compatibility certificate, "
          "required > 0 (exact arithmetic of the certificate; margin reported)",
          "conditions:check_D1"),
    Claim("P2", "paper", "overparameterization implies both conditions",
          "If rank H = m, the instance is compatible and separable for every support pattern and "
          "probabilities.", "rank H = m (generic d ≥ m)",
          "decisions of compatibility.py (residual ≤ 1e-9) and separability.py (LP margin > 1e-9, "
          "witness checked to 1e-7)", "conditions:check_P2"),
    Claim("P3", "paper", "one-hot case is the multiclass SVM",
          "All |S_j| = 1: F = {0}, W⋆ = 0, ℋ = 0, and W^mm equals the multiclass hard-margin SVM "
          "without bias (built independently).", "all |S_j| = 1",
          "‖W^mm − W_svm‖ ≤ 1e-7·‖W_svm‖ (both KKT-certified to 1e-9; conditioning of the active set)",
          "conditions:check_P3"),
    Claim("P4", "paper", "regularization path: norm B and the two limits",
          "Ŵ_B = argmin_{‖W‖≤B} CE(W) has ‖Ŵ_B‖ = B, P_F(Ŵ_B) → W⋆ and Ŵ_B/B → W^mm/‖W^mm‖.",
          "compatible, separable",
          "‖Ŵ_B‖ = B to 1e-9; 1 − cos(Ŵ_B, W^mm) decreasing in B and ≤ C/B² with C fitted on the "
          "path (theory.md §6: ≈5e-3 at B=100, 5e-5 at B=1000); ‖P_F Ŵ_B − W⋆‖ decreasing",
          "regpath:check_P4"),
    Claim("P5", "paper", "GD drives the loss to the entropy and the norm to infinity",
          "CE(W_k) → ℋ and ‖W_k‖ → ∞ for GD with η ≤ 1/(2L).", "compatible, separable",
          "CE − ℋ decreasing over log-spaced checkpoints and ≤ its measured 1/(ηk) envelope; ‖P_{F⊥}W_k‖ "
          "grows like ‖W^mm‖ log(ηk) (theory.md §6)", "gd_limits:check_P5", "gd"),
    Claim("P6a", "paper", "GD direction converges to W^mm",
          "W_k/‖W_k‖ → W^mm/‖W^mm‖.", "compatible, separable, η ≤ 1/(2L)",
          "decided by the difference quotient W_{2k} − W_k and the corrected cosine cos(W_k − W⋆, W^mm): "
          "W^mm must beat every rival candidate strictly, with monotone trends (theory.md §6)",
          "gd_limits:check_P6a", "gd"),
    Claim("P6b", "paper", "GD's F-part converges to W⋆",
          "P_F(W_k) → W⋆.", "compatible, separable",
          "‖P_F W_k − W⋆‖ decreasing over the late checkpoints and closer to W⋆ than to every rival "
          "(least-squares fit, off-F solutions)", "gd_limits:check_P6b", "gd"),
    Claim("P6c", "paper", "the limits do not depend on W_0, η or π",
          "The limits of P6 are the same for any W_0, any η within the bound and any weights π.",
          "compatible, separable",
          "W^mm and W⋆ computed for re-weighted instances agree to 1e-9; GD from two starts/steps: the "
          "difference quotients agree in direction better than with any rival", "gd_limits:check_P6c", "gd"),
    # --- exact facts about GD (theory.md §4) -------------------------------------------------
    Claim("I1", "derived", "column sums are conserved", "𝟙ᵀW_k = 𝟙ᵀW_0 for all k and any η.", "none",
          "‖𝟙ᵀ(W_k − W_0)‖ ≤ 1e-12·(1 + ‖W_k‖)·√k rounding model", "exact:check_I1", "gd"),
    Claim("I2", "derived", "directions orthogonal to the data never move",
          "W_k x = W_0 x for every x ⊥ span{h_j}.", "none",
          "‖(W_k − W_0) x‖ ≤ 1e-12·(1+‖W_k‖) for an orthonormal basis of span{h_j}⊥", "exact:check_I2", "gd"),
    Claim("I3", "derived", "every step increases the inner product with W^mm",
          "⟨W_{k+1} − W_k, W^mm⟩ = η Σ_j π_j Σ_{v∉S_j} s_{j,v}(c_j − ℓ^mm_{j,v}) > 0.", "separable",
          "exact-sign formula evaluated term by term (each term > 0); agreement with the direct inner "
          "product to 1e-9 relative while it is above rounding", "exact:check_I3", "gd"),
    Claim("I4", "derived", "descent lemma", "For η ≤ 1/L: CE(W_{k+1}) ≤ CE(W_k) − (η/2)‖∇CE(W_k)‖².", "η ≤ 1/L",
          "violation ≤ 1e-12·CE (rounding of the stable loss)", "exact:check_I4", "gd"),
    Claim("I5", "derived", "no stationary point under separability", "∇CE(W) ≠ 0 for every W.", "separable",
          "⟨−∇CE(W), W^mm⟩ > 0 by the exact-sign formula (a certificate, not a float comparison)",
          "exact:check_I5"),
    Claim("I6", "derived", "equivariance of GD",
          "Token permutations permute rows of W_k; H → HQᵀ, W_0 → W_0Qᵀ gives W_k → W_kQᵀ; H → cH, W_0 → W_0/c, "
          "η → η/c² gives W_k → W_k/c.", "none", "agreement to 1e-10 relative after the run",
          "exact:check_I6", "gd"),
    Claim("I7", "derived", "duplicated contexts merge",
          "Two contexts with identical (h_j, p_j) behave exactly like one with the summed weight.", "none",
          "iterates agree to 1e-11 relative", "exact:check_I7", "gd"),
    # --- structure of the limit objects (theory.md §2) ---------------------------------------
    Claim("D2", "derived", "F⊥ is where logits are constant on supports",
          "W ∈ F⊥ ⇔ every W h_j is constant on S_j; every element of F has zero column sums; "
          "dim F ≤ Σ_j(|S_j| − 1) with equality when the h_j are linearly independent.", "none",
          "orthonormality 1e-12, spreads 1e-10 relative", "structure:check_D2"),
    Claim("D3", "derived", "W⋆ is the minimum-norm solution and P_F of every solution",
          "W⋆ = P_F(W) for any solution W of Definition 1; 𝟙ᵀW⋆ = 0; rows vanish for tokens in no "
          "support of size ≥ 2; W⋆ depends only on in-support log-ratios, not on π.", "compatible",
          "1e-9 relative (residuals of the SVD solve)", "structure:check_D3"),
    Claim("D4", "derived", "structure and invariances of W^mm",
          "𝟙ᵀW^mm = 0; rows in span{h_j}; W^mm depends only on (H, supports); equal support patterns "
          "give equal rows; W^mm(HQᵀ) = W^mm(H)Qᵀ; token permutations permute rows; H → cH gives "
          "W^mm/c.", "separable", "1e-8 relative (two KKT-certified solutions, each to 1e-9)",
          "structure:check_D4"),
    Claim("D5", "derived", "closed forms for mutually orthogonal embeddings",
          "W^mm = Σ_j u_j h_jᵀ/‖h_j‖², u_j = 𝟙_{S_j} − (|S_j|/V)𝟙; W⋆ = Σ_j u⋆_j h_jᵀ/‖h_j‖².",
          "mutually orthogonal h_j", "1e-9 relative", "structure:check_D5"),
    Claim("D6", "derived", "the two solvers agree",
          "W^mm from LDP-NNLS and from cvxpy+Clarabel (independent active sets) coincide, and the "
          "separability LP agrees with the LDP's feasibility.", "none", "1e-8 relative; " + _KKT,
          "structure:check_D6"),
    # --- special cases (theory.md §5) --------------------------------------------------------
    Claim("S1", "derived", "one-token supports",
          "A context with |S_j| = 1 adds no equation and V − 1 margin inequalities.", "none", "exact counts",
          "special:check_S1"),
    Claim("S2", "derived", "full-support contexts constrain F⊥",
          "A context with |S_j| = V adds no inequality but forces W^mm h_j ∈ span(𝟙); dropping it "
          "changes W^mm unless W^mm h_j is already constant.", "separable", "1e-9 relative",
          "special:check_S2"),
    Claim("S3", "derived", "all contexts full-support: finite minimizer",
          "CE attains ℋ at a finite point; GD converges in norm to W⋆ + P_{F⊥}(W_0); W^mm is undefined.",
          "every |S_j| = V, compatible", "‖W_k − W⋆ − P_{F⊥}W_0‖ decreasing and ≤ its linear-rate envelope",
          "special:check_S3", "gd"),
    Claim("S4", "derived", "only one condition: the gap stays open",
          "If exactly one of compatibility and separability holds, GD's loss gap stays above the "
          "certified bound of D1.", "exactly one condition", "CE(W_k) − ℋ ≥ certified margin − 1e-12",
          "special:check_S4", "gd"),
    # --- conjectures (measured rates, theory.md §6) ------------------------------------------
    Claim("C1", "conjecture", "1/(ηk) decay of the loss gap and of the F-distance",
          "CE(W_k) − ℋ and ‖P_F W_k − W⋆‖ decay like 1/(ηk) after a transient.", "compatible, separable",
          "log-log slope over the last decade in [−1.5, −0.5] once past the transient 1/(η μ_F); "
          "inconclusive before", "rates:check_C1", "gd"),
    Claim("C2", "conjecture", "logarithmic growth along W^mm",
          "‖P_{F⊥}(W_k)‖ = ‖W^mm‖(log(ηk) + c) + o(1), and W_k − W⋆ − W^mm log(ηk) stays bounded.",
          "compatible, separable",
          "increments of ‖P_{F⊥}W_k‖ per factor 2 in k equal ‖W^mm‖ log 2 to 10% at the last checkpoints",
          "rates:check_C2", "gd"),
)

BY_ID: dict[str, Claim] = {c.id: c for c in CATALOGUE}


def get(claim_id: str) -> Claim:
    """The catalogue entry ``claim_id`` (KeyError naming the known ids otherwise)."""
    try:
        return BY_ID[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim {claim_id!r}; known: {', '.join(BY_ID)}") from None
