"""Negative controls of checks/conditions.py: each check, fed a plausible but false version of its
claim (a wrong path, gap, certificate, hypothesis or SVM), must return ``fail`` on a shared case.

Also the one number theory.md states for D1: on example E the gap tends to ≈ 0.342, and the
certified bound must be positive, below that limit and close to it (the max-entropy dual is tight).
"""

from __future__ import annotations


import numpy as np
import pytest

from ntpverify.suite.checks import rivals
from ntpverify.core.gap import certified_gap_lower_bound
from ntpverify.suite.checks.conditions import (SvmResult, _svm_rows, check_D1, check_P1,
                                         check_P2, check_P3, multiclass_svm, qp_distance_bound)
from ntpverify.core.geometry import Geometry
from ntpverify.core.instance import Instance
from ntpverify.core.maxmargin import CLARABEL_SETTINGS
from ntpverify.core.model import entropy, kl_terms, logits, loss_gap
from ntpverify.core.solution import solve
from ntpverify.suite.controls import case



# --- P1 ------------------------------------------------------------------------------------------


@pytest.mark.claim("P1")
def test_P1_rejects_compatibility_alone_driving_the_gap_to_zero():
    """False (theory.md §8): compatibility alone gives inf CE = ℋ. Example E is compatible, not
    separable; the best margin direction without the equalities (the relaxed SVM) and no direction at
    all (W⋆ itself) both leave the gap far above P1's envelope."""
    inst = case("example-E")
    relaxed = rivals.relaxed_svm(Geometry(inst))
    assert check_P1(inst, W_mm=relaxed).outcome == "fail"
    assert check_P1(inst, W_mm=np.zeros((inst.V, inst.d))).outcome == "fail"


@pytest.mark.claim("P1")
def test_P1_rejects_separability_alone_driving_the_gap_to_zero():
    """False (theory.md §8): separability alone gives inf CE = ℋ. Example F is separable, not
    compatible; along the least-squares fit of the log-probabilities plus t·W^mm the gap stays open."""
    inst = case("example-F")
    assert check_P1(inst, W_star=rivals.least_squares(Geometry(inst))).outcome == "fail"


def in_support_gap(inst: Instance, W: np.ndarray) -> float:
    """A plausible wrong "gap": the KL of p_j to the softmax renormalized on S_j (it forgets the mass
    off the support, so it vanishes at W⋆: "CE = ℋ at a finite W")."""
    Z = np.where(inst.support_mask.T, logits(inst, W), -np.inf)
    return float(inst.weights @ kl_terms(inst, Z))


@pytest.mark.claim("P1")
def test_P1_rejects_a_finite_W_attaining_the_entropy():
    """False (theory.md §8): CE(W) = ℋ at some finite W. The in-support gap is 0 at W⋆."""
    inst = case("example-B")
    assert in_support_gap(inst, solve(inst).W_star) < 1e-15
    assert check_P1(inst, gap=in_support_gap).outcome == "fail"
    assert check_P1(inst).outcome == "pass"


# --- D1 ------------------------------------------------------------------------------------------


@pytest.mark.claim("D1")
def test_D1_certificate_on_example_E_is_tight():
    """theory.md §8: on example E the gap tends to ≈ 0.342. The dual optimum is q_1 = q_2 = (0.65,
    0.35, 0) (the pooled next-token distribution), so inf CE − ℋ = H(0.65, 0.35) − ℋ exactly."""
    inst = case("example-E")
    exact = -(0.65 * np.log(0.65) + 0.35 * np.log(0.35)) - entropy(inst)
    L, B_cert, q = certified_gap_lower_bound(inst)
    assert abs(exact - 0.342) < 5e-4
    assert 0.0 < L <= exact and exact - L < 1e-9
    assert B_cert >= 1e6
    assert np.allclose(q[:, :2], [[0.65, 0.35], [0.65, 0.35]], atol=1e-8)
    assert check_D1(inst).outcome == "pass"


@pytest.mark.claim("D1")
@pytest.mark.parametrize("name", ["example-E", "example-F", "example-G"])
def test_D1_certifies_a_positive_gap_where_a_condition_fails(name):
    """The converse of P1 on the three shared cases where one condition fails."""
    inst = case(name)
    L, B_cert, _ = certified_gap_lower_bound(inst)
    assert L > 1e-2 and B_cert > 1e12
    assert check_D1(inst).outcome == "pass"


def claimed(inst: Instance, L: float) -> tuple[float, float, np.ndarray]:
    """A certificate claiming the bound ``L`` with the honest dual solution q."""
    _, B_cert, q = certified_gap_lower_bound(inst)
    return L, B_cert, q


@pytest.mark.claim("D1")
@pytest.mark.parametrize("name", ["example-E", "example-F"])
def test_D1_rejects_the_gap_at_W_star_or_at_the_least_squares_fit_as_the_limit(name):
    """False (theory.md §5, §8): the gap tends to its value at W⋆ (the infimum is attained there), or
    to its value at the least-squares fit of the log-probabilities. Both overstate inf CE − ℋ, which
    the dual's primal point then undercuts."""
    inst = case(name)
    geo = Geometry(inst)
    for W in (solve(inst).W_star, rivals.least_squares(geo)):
        if W is not None:
            assert check_D1(inst, certificate=claimed(inst, loss_gap(inst, W))).outcome == "fail"


@pytest.mark.claim("D1")
def test_D1_rejects_an_overstated_limit_on_example_E():
    """A bound 1e-6 above the true limit ≈ 0.342 must be refuted."""
    inst = case("example-E")
    L, _, _ = certified_gap_lower_bound(inst)
    assert check_D1(inst, certificate=claimed(inst, L + 1e-6)).outcome == "fail"


@pytest.mark.claim("D1")
def test_D1_without_the_moment_constraint_certifies_nothing():
    """A dual "solution" that ignores the moment constraint (uniform q: maximal entropy) claims a huge
    L on a huge ball, but the recomputed residual shrinks the ball below the required radius: not a
    pass (inconclusive; a certificate is never taken on trust)."""
    inst = case("example-E")
    q = np.full((inst.m, inst.V), 1.0 / inst.V)
    L = float(np.log(inst.V)) - entropy(inst)
    assert check_D1(inst, certificate=(L, 1e9, q)).outcome == "inconclusive"


# --- P2 ------------------------------------------------------------------------------------------


@pytest.mark.claim("P2")
@pytest.mark.parametrize("name", ["example-E", "example-F"])
def test_P2_rejects_d_at_least_m_as_the_hypothesis(name):
    """False: d ≥ m suffices (without rank H = m). Examples E and F have d = m = 2 but h_1 = h_2.

    The true claim's hypothesis (rank H = m) does not hold there, so it is vacuous, not a pass."""
    inst = case(name)
    assert check_P2(inst, overparameterized=lambda geo: geo.d >= geo.m).outcome == "fail"
    assert check_P2(inst).outcome == "vacuous"


# --- P3 ------------------------------------------------------------------------------------------


def biased_svm(inst: Instance) -> SvmResult:
    """The multiclass SVM *with* a bias: ``(w_y − w_v)ᵀh_j + b_y − b_v ≥ 1``, min ‖W‖², with its error
    bound for that problem (weak duality needs ``Σα(e_y − e_v) = 0``, met by Clarabel to ~1e-12)."""
    import cvxpy as cp

    j, v, A = _svm_rows(inst)
    y = inst.next_token_probs.argmax(axis=1)[j]
    E = np.zeros((j.size, inst.V))
    E[np.arange(j.size), y] += 1.0
    E[np.arange(j.size), v] -= 1.0
    x, b = cp.Variable(A.shape[1]), cp.Variable(inst.V)
    margins = A @ x + E @ b >= 1
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(x)), [margins])
    prob.solve(solver=cp.CLARABEL, **CLARABEL_SETTINGS)
    if prob.status != cp.OPTIMAL:
        return SvmResult(prob.status)
    alpha = np.asarray(margins.dual_value)
    # With the bias, ‖x − x*‖² ≤ ‖x − Aᵀα‖² + 2Σα(margin − 1) when Eᵀα = 0, the margins being
    # A x + E b: qp_distance_bound on A' = A + (E b) xᵀ/‖x‖², for which A'x = A x + E b and
    # A'ᵀα = Aᵀα + x·(αᵀE b)/‖x‖² = Aᵀα.
    shifted = A + (E @ b.value)[:, None] * (x.value / (x.value @ x.value))[None, :]
    return SvmResult("optimal", x.value.reshape(inst.V, inst.d), qp_distance_bound(shifted, x.value, alpha))


def svm_without_class(c: int):
    """The multiclass SVM on every class but c: class c's row is 0 and its constraints (as a label
    and as a competitor) are gone ("an SVM with one class dropped")."""
    def svm(inst: Instance) -> SvmResult:
        keep = np.flatnonzero(inst.next_token_probs.argmax(axis=1) != c)
        tokens = np.delete(np.arange(inst.V), c)
        sub = Instance(inst.embeddings[keep], np.full(keep.size, 1.0 / keep.size),
                       inst.next_token_probs[np.ix_(keep, tokens)])
        res = multiclass_svm(sub)
        if res.status != "optimal":
            return res
        return SvmResult("optimal", np.insert(res.W, c, 0.0, axis=0), res.error_bound)
    return svm


@pytest.mark.claim("P3")
def test_P3_rejects_the_svm_with_bias():
    """False: W^mm is the multiclass SVM with a bias term. On example I the bias lowers the norm; on
    example G (not separable through the origin) the biased SVM is feasible."""
    assert biased_svm(case("example-I")).status == "optimal"
    assert check_P3(case("example-I"), svm=biased_svm).outcome == "fail"
    assert check_P3(case("example-G"), svm=biased_svm).outcome == "fail"


@pytest.mark.claim("P3")
def test_P3_rejects_the_svm_with_a_class_dropped():
    """False: the tokens' rows can be fitted class by class; dropping class 3 of example I changes W."""
    assert check_P3(case("example-I"), svm=svm_without_class(3)).outcome == "fail"
    assert check_P3(case("example-I")).outcome == "pass"
