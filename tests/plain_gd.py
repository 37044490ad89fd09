"""The independent reference loop of tests/test_gd.py and tests/test_kernels.py.

Written here on purpose (not imported from the package): plain gradient descent on the
cross-entropy, ``W ← W − η (softmax(W Hᵀ) − P) diag(π) H``, with a column-max-shifted softmax
(theory.md §1), one matrix product at a time.
"""

from __future__ import annotations

import numpy as np


def reference_gd(W: np.ndarray, H: np.ndarray, P: np.ndarray, pi: np.ndarray, eta: float,
                 steps: int) -> np.ndarray:
    """``steps`` plain GD steps on CE from ``W`` (not modified); H is m×d, P is V×m, π has m entries."""
    W = W.copy()
    for _ in range(steps):
        Z = W @ H.T
        S = np.exp(Z - Z.max(axis=0))
        S /= S.sum(axis=0)
        W -= eta * ((S - P) * pi) @ H
    return W
