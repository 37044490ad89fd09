"""The data subspace ``F = span{(e_z − e_{z'}) h_jᵀ : j, z ≠ z' ∈ S_j}`` and projections onto it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ntpverify.core.geometry import Geometry, RankDecision
from ntpverify.core.instance import Instance


@dataclass(frozen=True)
class FBasis:
    """An orthonormal basis of F: ``basis[i]`` is a V×d matrix, ``⟨basis[i], basis[k]⟩ = δ_ik``.

    ``rank`` is the SVD rank decision that set ``dim`` (with its margin in decades, see
    geometry.RankDecision); ``rank_H`` the one for ``span{h_j}``.
    """

    basis: np.ndarray
    rank: RankDecision
    rank_H: RankDecision

    @property
    def dim(self) -> int:
        return self.basis.shape[0]

    def project(self, W: np.ndarray) -> np.ndarray:
        """``P_F(W) = Σ_i ⟨W, basis_i⟩ basis_i``."""
        coeffs = np.tensordot(self.basis, W, axes=([1, 2], [0, 1]))
        return np.tensordot(coeffs, self.basis, axes=1)


def F_basis(inst: Instance) -> FBasis:
    """Orthonormal basis of F from the SVD of the stacked rows ``(e_z − e_{a_j}) h_jᵀ`` (anchor
    pairs span F, theory.md §2), computed in reduced coordinates and lifted by ``W = B Rᵀ``, which
    preserves orthonormality since R has orthonormal columns."""
    geo = Geometry(inst)
    reduced = geo.F_basis.reshape(-1, geo.V, geo.r)
    return FBasis(reduced @ geo.R.T, geo.rank_F, geo.rank_H)


def project_F(inst: Instance, W: np.ndarray) -> np.ndarray:
    """``P_F(W)`` (V×d), the orthogonal projection of ``W`` onto F."""
    return Geometry(inst).project_F(np.asarray(W, dtype=float))


def project_F_perp(inst: Instance, W: np.ndarray) -> np.ndarray:
    """``P_{F⊥}(W) = W − P_F(W)``."""
    W = np.asarray(W, dtype=float)
    return W - project_F(inst, W)
