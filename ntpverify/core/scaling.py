"""Scale invariance by exact normalization (issue 13): every decision is taken on ``2^k H`` with
``max_j ‖2^k h_j‖ ∈ [1, 2)``, and the objects are scaled back exactly.

Multiplying by a power of two is exact in float64 (subnormal inputs included, as long as the
result is normal), so the normalized problem is *the same* for ``H`` and ``cH`` up to the
rounding of ``c`` itself, and bit-identical for ``c = 2^j``. The objects scale as theory.md §2
says: ``W⋆(cH) = W⋆(H)/c``, ``W^mm(cH) = W^mm(H)/c`` (so ``W(H) = 2^k W(2^k H)``), the KKT
multipliers by ``4^k``; flags, certificates' multipliers, relative residuals and the scale-free
bounds do not change. An object whose scaled-back value is not representable (``W^mm`` of
``H ≈ 1e-320`` has entries ≈ 1e320) is reported as such, never as inf.
"""

from __future__ import annotations

import math

import numpy as np

from ntpverify.core.instance import Instance, with_embeddings


def scale_exponent(H: np.ndarray) -> int:
    """``k`` with ``max_j ‖2^k h_j‖ ∈ [1, 2)`` (0 when H = 0), computed without overflow."""
    if not np.any(H):
        return 0
    # the largest entry's exponent first, so the row norms below are of O(1) numbers
    e = math.frexp(float(np.abs(H).max()))[1]
    hmax = float(np.linalg.norm(np.ldexp(H, -e), axis=1).max())
    return 1 - e - math.frexp(hmax)[1]


def normalized(inst: Instance) -> tuple[Instance, int]:
    """``(inst with H → 2^k H, k)``; the same instance when ``k = 0``."""
    k = scale_exponent(inst.embeddings)
    if k == 0:
        return inst, 0
    return with_embeddings(inst, np.ldexp(inst.embeddings, k)), k


def scaled_back(A: np.ndarray | None, k: int) -> np.ndarray | None:
    """``2^k A`` exactly (None stays None); callers check finiteness (representability)."""
    if A is None:
        return None
    with np.errstate(over="ignore", under="ignore"):  # out of range becomes inf/0: see representable
        return np.ldexp(A, k)


def representable(*arrays: np.ndarray | float | None) -> bool:
    """Every given value is finite (an object scaled back beyond float64's range is not)."""
    return all(a is None or bool(np.all(np.isfinite(a))) for a in arrays)
