"""D11: the ℓ∞ NTP-SVM value bounds every ℓ∞-normalized margin in F⊥ (issue 12, core/linf_svm.py).

For every W ∈ F⊥, ``linf_margin(W) ≤ γ∞*`` by definition of the maximum; the check evaluates it
on the LP's own maximizer (which must attain the certified lower end), the ℓ2 max-margin W^mm,
seeded random directions projected onto F⊥, and sign-descent iterates projected onto F⊥ (the
dynamics whose margin the literature says tends to γ∞*), all against the certified upper end
``U``. The claimed value is overridable (``gamma=``): the negative control claims the ℓ∞ margin of
the ℓ2 solution, which the LP's maximizer beats wherever the two problems differ.
"""

from __future__ import annotations

import numpy as np

from ntpverify.core.instance import Instance
from ntpverify.core.linf_svm import GAP_RTOL, linf_max_margin
from ntpverify.core.solution import solve
from ntpverify.optim.optimizers import SignGD, linf_margin, optimize
from ntpverify.suite.applicability import applies
from ntpverify.suite.verdict import Verdict, first_failure, inconclusive, vacuous, within

#: Random directions and sign-descent steps per check.
PROBES, SIGN_STEPS = 8, 2000


def check_D11(inst: Instance, seed: int = 0, *, gamma: float | None = None) -> Verdict:
    """D11 on ``inst`` (module docstring); ``gamma`` overrides the certified upper end."""
    if (gated := applies("D11", inst)) is not None:
        return gated
    lm = linf_max_margin(inst)
    if lm.status.state in ("infeasible", "undefined"):
        return vacuous("D11", f"no ℓ∞ max-margin: {lm.status.reason}")
    if not lm.status.ok or lm.upper is None or lm.W is None:
        return inconclusive("D11", f"γ∞*: {lm.status.reason}")
    bound = lm.upper if gamma is None else float(gamma)
    sol = solve(inst)
    rng = np.random.default_rng(seed)
    candidates = {"the LP's maximizer": lm.W}
    if sol.W_mm is not None:
        candidates["W^mm (ℓ2)"] = sol.W_mm
    for i in range(PROBES):
        R = rng.standard_normal((inst.V, inst.d))
        candidates[f"random direction {i} in F⊥"] = R - sol.project_F(R)
    W_sign = optimize(inst, SIGN_STEPS, SignGD(1e-2)).W
    candidates[f"sign descent after {SIGN_STEPS} steps, in F⊥"] = W_sign - sol.project_F(W_sign)
    verdicts = []
    for name, W in candidates.items():
        margin = linf_margin(inst, W)
        if margin is None:
            continue
        verdicts.append(within("D11", margin - bound, GAP_RTOL * abs(bound),
                               "linf_svm.GAP_RTOL (the LP's certified gap; margins recomputed from H)",
                               f"ℓ∞-normalized margin of {name} minus γ∞* = {bound!r}"))
    return first_failure(verdicts)
