"""D9: scale invariance of every verdict (issue 13): ``H → cH`` changes no decision of ``solve``,
and the objects scale as theory.md §2 says, ``W⋆(cH) = W⋆(H)/c``, ``W^mm(cH) = W^mm(H)/c``.

A decision may turn inconclusive at an extreme scale (an object not representable in float64),
never flip: a flag that is ``True`` at one scale and ``False`` at another is a counterexample. The
solver is overridable (``solver=``): the negative control feeds one that decides on the raw H with
absolute tolerances, which flips.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.core.solution import Solution, solve
from ntpverify.suite.checks.structure import MM_RTOL
from ntpverify.suite.verdict import Verdict, first_failure, holds, inconclusive, within

Solver = Callable[[Instance], Solution]


def scaled(inst: Instance, c: float) -> Instance:
    """``inst`` with ``H → cH`` (rounded once per entry, unless ``c`` is a power of two)."""
    return Instance(inst.embeddings * c, inst.weights, inst.next_token_probs, name=inst.name,
                    extras=dict(inst.extras))


def scale_factor(exponent: int, mantissa: float = 1.0) -> float:
    """``c = mantissa · 2^exponent`` (exact)."""
    return math.ldexp(mantissa, exponent)


def check_D9(inst: Instance, exponent: int = 0, mantissa: float = 1.0, *, solver: Solver = solve) -> Verdict:
    """D9: the flags of ``solver(inst)`` and ``solver(c·inst)`` never disagree where both are
    decided, ``c = mantissa·2^exponent``; where both objects are certified, ``c·W^mm(cH)`` and
    ``c·W⋆(cH)`` equal ``W^mm(H)`` and ``W⋆(H)`` to MM_RTOL (relative to the object's norm: for a
    power of two the normalized problems are identical, otherwise H is rounded once per entry)."""
    c = scale_factor(exponent, mantissa)
    H = inst.embeddings * c
    if not np.all(np.isfinite(H)) or (np.any(inst.embeddings) and not np.any(H)):
        return inconclusive("D9", f"c·H is not representable for c = {c!r}")
    base, other = solver(inst), solver(scaled(inst, c))
    verdicts: list[Verdict] = []
    for flag in ("compatible", "separable"):
        a, b = getattr(base, flag), getattr(other, flag)
        if a is not None and b is not None:
            verdicts.append(holds("D9", a == b, f"{flag}: {a} at H, {b} at cH with c = {c!r}"))
    for name, mine, theirs in (("W^mm", base.W_mm, other.W_mm), ("W⋆", base.W_star, other.W_star)):
        if mine is None or theirs is None:
            continue
        ref = max(float(np.linalg.norm(mine)), np.finfo(float).tiny)
        verdicts.append(within("D9", float(np.linalg.norm(c * theirs - mine)) / ref, MM_RTOL,
                               "structure.MM_RTOL (two certified solutions)",
                               f"‖c·{name}(cH) − {name}(H)‖/‖{name}(H)‖ at c = {c!r}"))
    if not verdicts:
        return inconclusive("D9", "no flag decided at both scales")
    return first_failure(verdicts)
