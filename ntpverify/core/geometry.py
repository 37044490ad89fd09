"""The linear-algebraic skeleton shared by every limit object of an instance.

Everything the theory asks about a decoder ``W`` (V×d) depends on ``W`` only through the logits
``W h_j``, i.e. through ``W`` restricted to ``span{h_j}`` (theory.md §4, I2). With ``R`` (d×r) an
orthonormal basis of that span and ``G = H R`` (m×r), a decoder in the span is ``W = B Rᵀ`` with
``B ∈ R^{V×r}``, ``W h_j = B g_j`` and ``‖W‖ = ‖B‖``. F, W⋆ and W^mm all lie in that span, so they
are computed in these *reduced coordinates* (``V·r`` unknowns, never ``V·d``) and mapped back.

Constraint rows are indexed by triples ``(j, plus, minus)`` meaning ``(e_plus − e_minus)ᵀ W h_j``:
equalities ``(j, z, a_j)`` for ``z ∈ S_j ∖ {a_j}`` (they span F, theory.md §2, with the anchor
``a_j = min S_j``) and margin inequalities ``(j, a_j, v)`` for ``v ∉ S_j`` (Definition 2 (b),
anchor form, equivalent under (a)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from ntpverify.core import compensated
from ntpverify.core.compensated import combination_dot2
from ntpverify.core.instance import Instance

#: Relative rank tolerance for the SVDs of H and of the equality system. Rounding in the inputs and
#: in the SVD leaves spurious singular values near 1e-16·s_max·size, while the embeddings this suite
#: draws have condition numbers ≤ 1e3 (strategies.py); 1e-9 sits ~6 decades from both.
RANK_RTOL = 1e-9

#: A rank decision whose nearest singular value is within this many decades of the cutoff is
#: reported as ambiguous (inconclusive) rather than trusted.
RANK_MARGIN_DECADES = 1.0


@dataclass(frozen=True)
class RankDecision:
    """Numerical rank ``#{i : s_i > RANK_RTOL · s_1}`` and how clearly it was decided.

    ``margin`` is ``min(log10(s_k / cut), log10(cut / s_{k+1}))`` in decades (``inf`` when no
    singular value lies on that side); a margin below ``RANK_MARGIN_DECADES`` is ambiguous.
    """

    rank: int
    cutoff: float
    margin: float

    @property
    def clear(self) -> bool:
        return self.margin >= RANK_MARGIN_DECADES

    @property
    def margin_or_none(self) -> float | None:
        """The margin for JSON, where ``inf`` (nothing near the cutoff) is ``null``."""
        return None if np.isinf(self.margin) else self.margin


def decide_rank(s: np.ndarray, n_total: int | None = None) -> RankDecision:
    """Rank of a matrix from its singular values ``s`` (descending), with the decision margin.

    ``n_total`` is the number of singular values including structural zeros not present in ``s``
    (e.g. more columns than rows); those count as exact zeros, which decide nothing.
    """
    if s.size == 0 or s[0] == 0.0:
        return RankDecision(0, 0.0, np.inf)
    cut = RANK_RTOL * s[0]
    rank = int(np.count_nonzero(s > cut))
    above = np.log10(s[rank - 1] / cut)
    below = np.log10(cut / s[rank]) if rank < s.size and s[rank] > 0 else np.inf
    return RankDecision(rank, float(cut), float(min(above, below)))


def _triples_rows(triples: np.ndarray, G: np.ndarray, V: int) -> np.ndarray:
    """Stack the rows ``vec((e_plus − e_minus) g_jᵀ)`` (row-major ``V×r``) for each triple."""
    n, r = triples.shape[0], G.shape[1]
    rows = np.zeros((n, V, r))
    idx = np.arange(n)
    j, plus, minus = triples.T
    rows[idx, plus] = G[j]
    rows[idx, minus] = -G[j]
    return rows.reshape(n, V * r)


def triples_sparse(triples: np.ndarray, G: np.ndarray, V: int) -> sp.csr_matrix:
    """The rows of :func:`_triples_rows` as a sparse matrix (2r nonzeros per row)."""
    n, r = triples.shape[0], G.shape[1]
    j, plus, minus = triples.T
    cols = np.concatenate([plus[:, None] * r + np.arange(r), minus[:, None] * r + np.arange(r)], axis=1)
    vals = np.concatenate([G[j], -G[j]], axis=1)
    rows = np.repeat(np.arange(n), 2 * r)
    return sp.csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(n, V * r))


def combine(triples: np.ndarray, coeffs: np.ndarray, m: int, V: int) -> np.ndarray:
    """``C`` (V×m) with ``C H = Σ_t c_t (e_plus − e_minus) h_jᵀ``: a combination of constraint rows
    in the original coordinates, so certificates can be checked against ``H`` itself."""
    C = np.zeros((V, m))
    if triples.size:
        j, plus, minus = triples.T
        np.add.at(C, (plus, j), coeffs)
        np.add.at(C, (minus, j), -coeffs)
    return C


#: Certificates decide only beyond this scale-free bound (issue 13): a system whose solutions all
#: have ``‖W‖·max_j‖h_j‖`` above it would need logits of size ≥ 1e12 against unit margins (or unit
#: log-ratios), relative differences ≤ 1e-12, within ~10⁴ unit roundoffs of float64 logits — no
#: float64 evaluation of the model can tell such a W from a non-solution. Below it, a certificate's
#: verdict is inconclusive and states its bound.
SCALE_CAP = 1e12
#: Unit roundoff of float64.
UNIT_ROUNDOFF = 2.0 ** -53


class Geometry:
    """Reduced coordinates, constraint systems and the SVD of the equality system of one instance.

    Built once per instance and shared by F, W⋆, separability and W^mm; every attribute is computed
    on first use.
    """

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.V, self.m, self.d = inst.V, inst.m, inst.d

    # --- reduced coordinates -------------------------------------------------------------
    @cached_property
    def _svd_H(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.linalg.svd(self.inst.embeddings, full_matrices=False)

    @cached_property
    def rank_H(self) -> RankDecision:
        """Rank of H (the paper's overparameterization condition is ``rank H = m``)."""
        return decide_rank(self._svd_H[1])

    @cached_property
    def R(self) -> np.ndarray:
        """Orthonormal basis (d×r) of ``span{h_j}``, from the SVD of H."""
        return self._svd_H[2][: self.rank_H.rank].T

    @cached_property
    def G(self) -> np.ndarray:
        """Reduced embeddings ``G = H R`` (m×r): ``W h_j = (W R) g_j`` for W in the span."""
        return self.inst.embeddings @ self.R

    @property
    def r(self) -> int:
        return self.R.shape[1]

    def lift(self, B: np.ndarray) -> np.ndarray:
        """``W = B Rᵀ`` (V×d) from reduced coordinates ``B`` (V×r)."""
        return B.reshape(self.V, self.r) @ self.R.T

    def reduce(self, W: np.ndarray) -> np.ndarray:
        """``B = W R``: the part of W that acts on the data (theory.md I2)."""
        return np.asarray(W, dtype=float) @ self.R

    # --- constraint systems ----------------------------------------------------------------
    @cached_property
    def anchors(self) -> np.ndarray:
        """``a_j = min S_j`` for every context: the first token of each (sorted) CSR row."""
        return self.inst.support_tokens[self.inst.support_indptr[:-1]]

    @cached_property
    def _non_anchor(self) -> np.ndarray:
        """The stored support entries other than each row's first, i.e. ``z ∈ S_j ∖ {a_j}``."""
        first = np.zeros(self.inst.nnz, dtype=bool)
        first[self.inst.support_indptr[:-1]] = True
        return np.flatnonzero(~first)

    @cached_property
    def eq_triples(self) -> np.ndarray:
        """``(j, z, a_j)`` for ``z ∈ S_j ∖ {a_j}``: the equalities of Definitions 1 and 2(a), in
        row-major (j, z) order, from the CSR rows."""
        j = self.inst.support_contexts[self._non_anchor]
        z = self.inst.support_tokens[self._non_anchor]
        return np.stack([j, z, self.anchors[j]], axis=1).astype(np.intp)

    @cached_property
    def in_triples(self) -> np.ndarray:
        """``(j, a_j, v)`` for ``v ∉ S_j``: the margin inequalities of Definition 2(b)."""
        j, v = np.nonzero(~self.inst.support_mask)
        return np.stack([j, self.anchors[j], v], axis=1).astype(np.intp)

    @cached_property
    def eq_rhs(self) -> np.ndarray:
        """``b_{j,z} = log p_{j,z} − log p_{j,a_j}`` (Definition 1), in the order of eq_triples."""
        p, first = self.inst.support_probs, self.inst.support_indptr[:-1]
        j = self.eq_triples[:, 0]
        return np.log(p[self._non_anchor]) - np.log(p[first[j]])

    @cached_property
    def A_eq(self) -> np.ndarray:
        """Equality rows in reduced coordinates (n_eq × V·r)."""
        return _triples_rows(self.eq_triples, self.G, self.V)

    @cached_property
    def A_in(self) -> np.ndarray:
        """Inequality rows in reduced coordinates (n_in × V·r)."""
        return _triples_rows(self.in_triples, self.G, self.V)

    @cached_property
    def A_eq_sparse(self) -> sp.csr_matrix:
        return triples_sparse(self.eq_triples, self.G, self.V)

    @cached_property
    def A_in_sparse(self) -> sp.csr_matrix:
        return triples_sparse(self.in_triples, self.G, self.V)

    # --- F and F⊥ ----------------------------------------------------------------------------
    @cached_property
    def _svd_eq(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Thin SVD ``A_eq = U diag(s) Vt`` (only the row space is needed for F, W⋆, P_F)."""
        if self.A_eq.shape[0] == 0:
            return np.zeros((0, 0)), np.zeros(0), np.zeros((0, self.V * self.r))
        return np.linalg.svd(self.A_eq, full_matrices=False)

    @cached_property
    def rank_F(self) -> RankDecision:
        """``dim F`` as the rank of the stacked equality rows."""
        return decide_rank(self._svd_eq[1])

    @property
    def F_dim(self) -> int:
        return self.rank_F.rank

    @cached_property
    def F_basis(self) -> np.ndarray:
        """Orthonormal basis Q of F in reduced coordinates (dim F × V·r)."""
        return self._svd_eq[2][: self.F_dim]

    @cached_property
    def Fperp_basis(self) -> np.ndarray:
        """Orthonormal basis ``N`` of ``F⊥ ∩ {B Rᵀ}`` in reduced coordinates (V·r × n), the
        orthogonal complement of Q (a full SVD, computed only when asked for)."""
        n = self.V * self.r
        if self.F_dim == 0:
            return np.eye(n)
        return np.linalg.svd(self.F_basis, full_matrices=True)[2][self.F_dim :].T

    def project_F_reduced(self, B: np.ndarray) -> np.ndarray:
        """``P_F`` in reduced coordinates: ``Qᵀ Q vec(B)`` with Q the orthonormal basis of F."""
        Q = self.F_basis
        return (Q.T @ (Q @ B.reshape(-1))).reshape(self.V, self.r)

    def project_F(self, W: np.ndarray) -> np.ndarray:
        """``P_F(W)`` (V×d). F lies in ``{B Rᵀ}``, so ``P_F(W) = P_F(W R Rᵀ)``."""
        return self.lift(self.project_F_reduced(self.reduce(W)))

    def eq_multipliers(self, x: np.ndarray) -> np.ndarray:
        """Least-squares ``β`` with ``A_eqᵀ β ≈ x`` (x in reduced coordinates), from the thin SVD:
        ``β = U_k S_k⁻¹ Q x``."""
        U, s, _ = self._svd_eq
        k = self.F_dim
        return U[:, :k] @ ((self.F_basis @ x) / s[:k])

    @cached_property
    def M_perp(self) -> np.ndarray:
        """Margin rows projected onto F⊥, ``A_in (I − QᵀQ)`` (n_in × V·r): for b ∈ F⊥ the margins
        are ``A_in b = M_perp b``, and ``‖M_perpᵀu‖ = ‖P_{F⊥} A_inᵀ u‖`` is the LDP objective."""
        return self.A_in - (self.A_in @ self.F_basis.T) @ self.F_basis

    @cached_property
    def M(self) -> np.ndarray:
        """Margin rows in F⊥ coordinates, ``M = A_in N`` (n_in × n): ``W = lift(N c)`` meets
        Definition 2 iff ``M c ≥ 1``."""
        return self.A_in @ self.Fperp_basis


def combination_bound(geo: Geometry, rows: np.ndarray, coeffs: np.ndarray) -> float:
    """The lower bound on ``‖W‖·max_j‖h_j‖`` that a combination of constraint rows proves for every
    W of the system it certifies against: ``C H = Σ_t c_t (e_plus − e_minus) h_jᵀ`` with
    ``⟨W, C H⟩ ≥ 1`` for every such W gives ``‖W‖ ≥ 1/‖C H‖`` (theory.md §9's argument with the
    defect kept). Separability: margin multipliers ``y ≥ 0``, ``𝟙ᵀy = 1``, plus free equality
    multipliers (``⟨W, CH⟩ = Σ y_t·margin_t ≥ 1``); compatibility: ``y`` over the equations with
    ``bᵀy = 1`` (``⟨W, CH⟩ = bᵀy = 1``).

    The structured route evaluates the same bound with its own operator (structured.py); both go
    through :func:`norm_bound`."""
    return norm_bound(geo.inst.embeddings, rows, coeffs,
                      lambda Hs: combine(rows, coeffs, geo.m, geo.V) @ Hs, geo.V)


def gamma(n: int) -> float:
    """Higham's ``γ_n = n·u/(1 − n·u)`` (Accuracy and Stability, Lemma 3.1); inf when ``n·u ≥ 1``."""
    nu = n * UNIT_ROUNDOFF
    return math.inf if nu >= 1.0 else nu / (1.0 - nu)


def terms_per_row(rows: np.ndarray, V: int) -> int:
    """``n_max = max_v #{t : plus_t = v} + #{t : minus_t = v}``: the most terms any token row of
    ``C H`` sums (a term with plus = minus counts twice)."""
    if rows.shape[0] == 0:
        return 0
    return int((np.bincount(rows[:, 1], minlength=V) + np.bincount(rows[:, 2], minlength=V)).max())


def abs_combination_norm(H: np.ndarray, rows: np.ndarray, coeffs: np.ndarray, V: int) -> float:
    """``‖ |C| |H| ‖_F`` with ``|C| |H| = Σ_t |c_t| (e_plus + e_minus) |h_{j_t}|ᵀ`` (V×d), through a
    sparse V×m matrix (memory O(n + V·d)). All terms are nonnegative, so the computed value is
    within a relative γ_{n_max + m + V·d + 2} of the exact one."""
    m = H.shape[0]
    a = np.abs(coeffs)
    C = sp.csr_matrix((np.concatenate([a, a]), (np.concatenate([rows[:, 1], rows[:, 2]]),
                                                np.concatenate([rows[:, 0], rows[:, 0]]))), shape=(V, m))
    return float(np.linalg.norm(C @ np.abs(H)))


def norm_bound(H: np.ndarray, rows: np.ndarray, coeffs: np.ndarray,
               combined: Callable[[np.ndarray], np.ndarray], V: int | None = None,
               needed: float = math.inf) -> float:
    """:func:`combination_bound` given ``combined(H')``, the combination ``C H'`` of the rows
    (``rows`` n×3, term t = ``coeffs[t]·(e_plus − e_minus) h_ctxᵀ``) for any H'; ``V`` defaults to
    ``max token + 1``. When that proves less than ``needed`` and the rounding allowance, not the
    computed ``‖C H‖``, is what limits it, ``C H`` is evaluated again in compensated arithmetic
    (compensated.py: the allowance falls from ``γ_n`` to ``γ_n²`` of ``‖|C||H|‖``) and the better
    of the two proofs is returned.

    ``C H`` is evaluated on ``H`` scaled by a power of two to max ``‖h_j‖ ∈ [1, 2)`` (used only when
    scaling back reproduces H exactly, i.e. nothing was lost to subnormals), plus an allowance for
    its rounding. **Derivation.** Every caller evaluates entry ``(v, i)`` of ``C H`` as a tree of
    float operations over the ``n_v`` terms touching row v: sums of coefficients into cells of C
    (add.at, bincount, their difference), one product per cell (or per term) with ``h_{j,i}``, and
    a sum over the row (BLAS, in any order, with or without FMA; the compiled adjoint: sequential).
    Exact zeros add no rounding, so a path from a term to the root meets at most ``n_v`` roundings
    (``k−1`` inside a cell of ``k`` terms, one product, at most ``n_v − k`` in the row sum), and
    ``|fl − exact|_{v,i} ≤ γ_{n_v} (|C||H|)_{v,i} + n_v·2^{−1074}`` (Higham Lemma 3.1 and §2.1's
    underflow term, which only products carry). Hence ``‖err‖_F ≤ γ_{n_max}‖|C||H|‖_F +
    n_max√(V d)·2^{−1074}``, ``n_max`` from :func:`terms_per_row`. The computed norms and the
    final sum and quotient err by relative ≤ γ_{N}, N = n_max + m + V·d + 8; the allowance is
    doubled and the total size multiplied by ``1 + 2γ_N`` to cover them."""
    e = _Evaluation(H, rows, coeffs, V)
    if e.hmax == 0.0:
        return math.inf  # every h_j = 0: ⟨W, C H⟩ = 0 < 1 for every W
    computed = float(np.linalg.norm(combined(e.Hs)))
    size = (computed + e.allowance) * (1.0 + 2.0 * gamma(e.N))
    if e.hmax < needed * size and e.allowance > computed:
        dot2 = combination_dot2(e.Hs, e.rows, coeffs, e.V)
        if dot2 is not None:
            size = min(size, e.compensated_size(float(np.linalg.norm(dot2))))
    return math.inf if size == 0.0 else e.hmax / size


def rounding_ceiling(H: np.ndarray, rows: np.ndarray, coeffs: np.ndarray, V: int | None = None) -> float:
    """The most :func:`norm_bound` can prove with these terms: its value were the computed ``C H``
    zero, so that only the rounding allowance remains (compensated where Dot2 applies to every
    product: no nonzero ``|c_t h_{j,i}|`` below 2⁻⁹⁶⁰, checked on the extreme magnitudes). A
    certificate whose bound is near it cannot be improved by refining its coefficients."""
    e = _Evaluation(H, rows, coeffs, V)
    if e.hmax == 0.0:
        return math.inf
    size = e.allowance * (1.0 + 2.0 * gamma(e.N))
    c, h = np.abs(coeffs[coeffs != 0]), np.abs(e.Hs[e.Hs != 0])
    if c.size and h.size and float(c.min()) * float(h.min()) >= compensated.TINY:
        size = min(size, e.compensated_size(0.0))
    return math.inf if size == 0.0 else e.hmax / size


class _Evaluation:
    """What norm_bound's derivation fixes before any evaluation of ``C H``: the power-of-two scaling
    ``Hs = 2^k H`` (``hmax`` is ``2^k max‖h_j‖``, the numerator of the bound), ``n_max``, ``N``,
    ``abs_norm = ‖|C||Hs|‖_F`` as computed (within relative γ_N, abs_combination_norm) and the plain
    rounding allowance."""

    def __init__(self, H: np.ndarray, rows: np.ndarray, coeffs: np.ndarray, V: int | None) -> None:
        norms = np.linalg.norm(H, axis=1)
        hmax = float(norms.max()) if norms.size else 0.0
        self.rows = np.asarray(rows, dtype=np.intp).reshape(-1, 3)
        self.V = V if V is not None else (int(self.rows[:, 1:].max()) + 1 if self.rows.size else 1)
        self.hmax, self.Hs = 0.0, H
        if not hmax > 0:
            return
        k = 1 - math.frexp(hmax)[1]
        Hs = np.ldexp(H, k)
        if k < 0 and not np.array_equal(np.ldexp(Hs, -k), H):
            k, Hs = 0, H  # scaling down lost subnormal bits: evaluate on H itself
        self.hmax, self.Hs = math.ldexp(hmax, k), Hs
        self.n_max = terms_per_row(self.rows, self.V)
        self.N = self.n_max + H.shape[0] + self.V * H.shape[1] + 8
        self.abs_norm = abs_combination_norm(Hs, self.rows, coeffs, self.V)
        self.allowance = 2.0 * (gamma(self.n_max) * self.abs_norm
                                + self.n_max * math.sqrt(self.V * H.shape[1]) * 2.0 ** -1074)

    def compensated_size(self, res_norm: float) -> float:
        """An upper bound on ``‖C Hs‖_F`` from the norm of its Dot2 evaluation ``res``: entrywise
        ``|C Hs| ≤ (|res| + γ_n²|C||Hs|)/(1 − u)`` (compensated.py) with n ≤ n_max, and
        ``‖|C||Hs|‖ ≤ abs_norm/(1 − γ_N)``; the norm of res and the sum err by ≤ γ_N relative, as in
        :func:`norm_bound`."""
        g = gamma(self.n_max)
        size = (res_norm + g * g * self.abs_norm / (1.0 - gamma(self.N))) / (1.0 - UNIT_ROUNDOFF)
        return size * (1.0 + 2.0 * gamma(self.N))
