"""D7: the structured route (theory.md §9, core/structured*.py) and the dense route (geometry.py,
maxmargin.py) agree: the flags exactly, dim F exactly, W⋆ and W^mm to ROUTES_RTOL.

They share no solver: the dense route decides by an LDP (NNLS) or the HiGHS LP on the reduced
constraint matrix, the structured one by dual block coordinate ascent and LSQR. Where one leaves a
flag undecided the draw is inconclusive, never a pass; a decided disagreement is a counterexample.
The structured solver is overridable (``structured=``): the negative control feeds one whose
ascent drops a cone constraint and whose answer skips certification.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.core.solution import Solution, solve
from ntpverify.suite.verdict import Verdict, first_failure, holds, inconclusive, within

#: Two certified answers of the same strictly convex problem (KKT ≤ 1e-9 each, maxmargin.KKT_RTOL)
#: agree to their conditioning: measured ≤ 1.2e-12 (W^mm, W⋆) over 300 seeded draws of every
#: sampling kind (the sweep of the former benchmarks/structured_speed.py, commit 889e5ca); 1e-9 is the issue's bound.
ROUTES_RTOL = 1e-9

Solver = Callable[[Instance], Solution]


def structured_solve(inst: Instance) -> Solution:
    return solve(inst, method="structured")


def check_D7(inst: Instance, *, structured: Solver = structured_solve) -> Verdict:
    """D7: ``solve(method="nnls")`` and ``structured(inst)`` agree (module docstring)."""
    dense, other = solve(inst, method="nnls"), structured(inst)
    verdicts: list[Verdict] = []
    undecided = []
    for flag in ("compatible", "separable"):
        a, b = getattr(dense, flag), getattr(other, flag)
        if a is None or b is None:
            undecided.append(f"{flag}: dense {a}, structured {b}")
        else:
            verdicts.append(holds("D7", a == b, f"{flag}: dense {a}, structured {b}"))
    if other.F_dim is not None and dense.status["F"].ok and other.status["F"].ok:
        verdicts.append(holds("D7", dense.F_dim == other.F_dim, f"dim F: dense {dense.F_dim}, "
                              f"structured {other.F_dim}"))
    for name, mine, theirs in (("W^mm", dense.W_mm, other.W_mm), ("W⋆", dense.W_star, other.W_star)):
        if mine is None or theirs is None:
            continue
        ref = max(float(np.linalg.norm(mine)), 1.0)
        verdicts.append(within("D7", float(np.linalg.norm(theirs - mine)) / ref, ROUTES_RTOL,
                               "routes.ROUTES_RTOL (two certified solutions)",
                               f"‖{name} structured − {name} dense‖/max(1, ‖{name}‖)"))
    failed = [v for v in verdicts if v.outcome == "fail"]
    if failed or not undecided:
        return first_failure(verdicts) if verdicts else inconclusive("D7", "nothing decided by both routes")
    return inconclusive("D7", "undecided: " + "; ".join(undecided))
