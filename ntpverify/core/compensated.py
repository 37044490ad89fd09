"""``C H`` in twice the working precision: the compensated dot products (Dot2) of Ogita, Rump & Oishi,
"Accurate sum and dot product", SIAM J. Sci. Comput. 26 (2005), Algorithm 5.3.

A certificate's combination ``C H = Σ_t c_t (e_plus − e_minus) h_jᵀ`` is nearly zero when its defect
is small, and evaluated in float64 its rounding (``γ_n`` relative to ``|C||H|``, n the terms a token
row sums) then decides the bound it proves (geometry.norm_bound). With 10⁴ terms a row that caps
the provable ``‖W‖`` near 10¹¹. Dot2 computes every entry as if in 106-bit arithmetic and rounds once:
``|res − (C H)_{v,i}| ≤ u|(C H)_{v,i}| + γ_n²(|C||H|)_{v,i}`` (their Proposition 5.5), so the
rounding falls to ``γ_n² ≈ 10⁻²⁴`` of ``|C||H|`` and the defect itself sets the bound.

The analysis assumes no underflow: TwoProduct is error-free when ``|a·b| ≥ 2⁻⁹⁶⁰`` (its error term
and Dekker's split parts stay normal) or ``a·b = 0``; TwoSum is error-free always. The kernel
reports a product outside both (or a non-finite value), and the caller then keeps its plain bound.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["combination_dot2"]

#: Dekker's splitting constant ``2^27 + 1`` for float64 (p = 53).
_SPLIT = 134217729.0
#: Below this, a nonzero product's TwoProduct may lose bits to underflow (module docstring).
TINY = 2.0 ** -960


@njit(cache=True)
def _combination_dot2(H: np.ndarray, ctx: np.ndarray, plus: np.ndarray, minus: np.ndarray,
                      coeffs: np.ndarray, V: int) -> tuple[np.ndarray, bool]:
    d = H.shape[1]
    hi = np.zeros((V, d))
    lo = np.zeros((V, d))
    exact = True
    for t in range(ctx.shape[0]):
        c = coeffs[t]
        cs = _SPLIT * c
        c1 = cs - (cs - c)
        c2 = c - c1
        j, p, q = ctx[t], plus[t], minus[t]
        for i in range(d):
            h = H[j, i]
            x = c * h
            ax = abs(x)
            if (ax < TINY and x != 0.0) or not ax < np.inf:
                exact = False
            hs = _SPLIT * h
            h1 = hs - (hs - h)
            h2 = h - h1
            ex = c2 * h2 - (((x - c1 * h1) - c2 * h1) - c1 * h2)  # TwoProduct: c·h = x + ex
            for row, sx, se in ((p, x, ex), (q, -x, -ex)):
                s = hi[row, i]
                sn = s + sx
                z = sn - s
                lo[row, i] += ((s - (sn - z)) + (sx - z)) + se  # TwoSum's error and the product's
                hi[row, i] = sn
    return hi + lo, exact


def combination_dot2(H: np.ndarray, rows: np.ndarray, coeffs: np.ndarray, V: int) -> np.ndarray | None:
    """The Dot2 evaluation ``res`` of ``C H`` (V×d; rows n×3 = (context, plus, minus), term t
    ``coeffs[t]·(e_plus − e_minus) h_ctxᵀ``), within ``u|C H| + γ_n²|C||H|`` entrywise; None when a
    product could underflow or a value is not finite (module docstring)."""
    rows = np.ascontiguousarray(rows, dtype=np.int64).reshape(-1, 3)
    res, exact = _combination_dot2(np.ascontiguousarray(H, dtype=np.float64), rows[:, 0].copy(),
                                   rows[:, 1].copy(), rows[:, 2].copy(),
                                   np.ascontiguousarray(coeffs, dtype=np.float64), int(V))
    if not exact or not np.all(np.isfinite(res)):
        return None
    return res
