"""Closed forms of theory.md §2 (mutually orthogonal embeddings: W^mm, ‖W^mm‖², W⋆) and the special
cases of §5, against solve(), on hand-built instances whose answers are worked out in the docstrings
and on the shared case example H.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ntpverify.suite.checks.special import check_S1, check_S2
from ntpverify.suite.applicability import mutually_orthogonal
from ntpverify.suite.checks.structure import check_D5, closed_form_w_mm, closed_form_w_mm_norm2, closed_form_w_star
from ntpverify.core.geometry import Geometry
from ntpverify.core.instance import Instance
from ntpverify.core.model import loss_gap
from ntpverify.core.solution import solve
from ntpverify import data

CASES = data.DIR  # the shipped copies of the shared cases
LOG2, LOG3 = np.log(2.0), np.log(3.0)
#: Solved objects are exact up to rounding (polished active sets, SVD solves).
RTOL = 1e-12


def close(a: np.ndarray, b: np.ndarray) -> bool:
    return np.abs(np.asarray(a) - np.asarray(b)).max() <= RTOL * max(1.0, float(np.linalg.norm(b)))


def two_contexts() -> Instance:
    """V = 3, h_1 = (2, 0) with S_1 = {0}, h_2 = (0, 1) with p_2 = (0, 0.2, 0.8).

    u_1 = 𝟙_{0} − ⅓𝟙 = (⅔, −⅓, −⅓), u_2 = 𝟙_{1,2} − ⅔𝟙 = (−⅔, ⅓, ⅓); W^mm = u_1h_1ᵀ/4 + u_2h_2ᵀ;
    ‖W^mm‖² = 1·2/(3·4) + 2·1/(3·1) = 5/6. u⋆_2 = (0, log .2, log .8) − mean = (0, −log 2, log 2).
    """
    return Instance([[2.0, 0.0], [0.0, 1.0]], [0.5, 0.5], [[1.0, 0.0, 0.0], [0.0, 0.2, 0.8]])


TWO_CONTEXTS_W_MM = np.array([[1 / 3, -2 / 3], [-1 / 6, 1 / 3], [-1 / 6, 1 / 3]])
TWO_CONTEXTS_W_STAR = np.array([[0.0, 0.0], [0.0, -LOG2], [0.0, LOG2]])


def binary() -> Instance:
    """V = 2 (the binary logistic picture): h_1 = e_1 → token 0, h_2 = e_2 → token 1, and h_3 = 2e_3
    with p_3 = (¼, ¾). The separable part: u_1 = (½, −½), u_2 = (−½, ½), u_3 = 0 (full support), so
    W^mm = [[½, −½, 0], [−½, ½, 0]]; the strongly convex part on F = span{(e_1 − e_0)h_3ᵀ}:
    u⋆_3 = (−½ log 3, ½ log 3), W⋆ = u⋆_3 h_3ᵀ/4."""
    H = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]
    return Instance(H, [0.25, 0.25, 0.5], [[1.0, 0.0], [0.0, 1.0], [0.25, 0.75]])


BINARY_W_MM = np.array([[0.5, -0.5, 0.0], [-0.5, 0.5, 0.0]])
BINARY_W_STAR = np.array([[0.0, 0.0, -LOG3 / 4], [0.0, 0.0, LOG3 / 4]])


def rotated(inst: Instance) -> Instance:
    """``H → H Qᵀ`` with the exactly orthogonal dyadic Householder ``Q = I − 2vvᵀ/4``, v = (1, 1, 1, 1)
    on the first four coordinates (zero-padded): HHᵀ stays exactly diagonal."""
    d = max(inst.d, 4)
    H = np.zeros((inst.m, d))
    H[:, : inst.d] = inst.embeddings
    v = np.zeros(d)
    v[:4] = 1.0
    Q = np.eye(d) - 0.5 * np.outer(v, v)
    return Instance(H @ Q.T, inst.weights, inst.next_token_probs)


@pytest.mark.parametrize("make, W_mm, W_star", [(two_contexts, TWO_CONTEXTS_W_MM, TWO_CONTEXTS_W_STAR),
                                                (binary, BINARY_W_MM, BINARY_W_STAR)])
def test_closed_forms_match_hand_values_and_solve(make, W_mm, W_star):
    inst = make()
    sol = solve(inst)
    assert mutually_orthogonal(inst)
    assert close(closed_form_w_mm(inst), W_mm) and close(sol.W_mm, W_mm)
    assert close(closed_form_w_star(inst), W_star) and close(sol.W_star, W_star)
    assert abs(closed_form_w_mm_norm2(inst) - np.sum(W_mm**2)) <= RTOL
    assert check_D5(inst).outcome == "pass"


@pytest.mark.parametrize("make", [two_contexts, binary])
def test_closed_forms_after_an_exact_rotation(make):
    inst = rotated(make())
    sol = solve(inst)
    assert mutually_orthogonal(inst)
    assert close(sol.W_mm, closed_form_w_mm(inst)) and close(sol.W_star, closed_form_w_star(inst))


def test_closed_forms_on_example_H():
    """Example H (norms 1, 2, 0.5, the third context full support: u_3 = 0) against its hand-checked
    expected answers and solve()."""
    path = next(CASES.glob("example-H*.json"))
    inst, expected = Instance.load(path), json.loads(path.read_text())["x-expected"]
    sol = solve(inst)
    for closed, ours, theirs in ((closed_form_w_mm(inst), sol.W_mm, expected["W_mm"]),
                                 (closed_form_w_star(inst), sol.W_star, expected["W_star"])):
        assert close(closed, theirs) and close(ours, closed)
    assert abs(np.sqrt(closed_form_w_mm_norm2(inst)) - expected["W_mm_norm"]) <= RTOL


# --- special cases (theory.md §5) ----------------------------------------------------------------


def test_one_token_contexts_add_no_equation_and_V_minus_1_inequalities():
    """Example I (every |S_j| = 1, V = 4): no equation at all, 3 margin inequalities per context."""
    inst = Instance.load(next(CASES.glob("example-I*.json")))
    geo = Geometry(inst)
    assert geo.eq_triples.shape[0] == 0 and geo.F_dim == 0
    assert np.array_equal(np.bincount(geo.in_triples[:, 0]), [3, 3, 3, 3])
    assert check_S1(inst).outcome == "pass" and check_S1(two_contexts()).outcome == "pass"


def test_full_support_context_forces_constant_logits():
    """Example D: context B (full support) adds no inequality and V − 1 = 2 equations, and
    W^mm h_B = 0 = constant: W^mm = [[⅔, −⅔], [−⅓, ⅓], [−⅓, ⅓]] (theory.md §8)."""
    inst = Instance.load(next(CASES.glob("example-D*.json")))
    geo, sol = Geometry(inst), solve(inst)
    assert np.array_equal(np.bincount(geo.in_triples[:, 0], minlength=2), [2, 0])
    assert np.array_equal(np.bincount(geo.eq_triples[:, 0], minlength=2), [0, 2])
    assert close(sol.W_mm, [[2 / 3, -2 / 3], [-1 / 3, 1 / 3], [-1 / 3, 1 / 3]])
    assert np.ptp(sol.W_mm @ inst.embeddings[1]) <= RTOL
    assert check_S2(inst).outcome == "pass" and check_S2(binary()).outcome == "pass"


def test_all_full_support_has_a_finite_minimizer_and_no_W_mm():
    """Every |S_j| = V (orthogonal h_j): compatible, W^mm undefined (no margin constraint), and the
    entropy is attained at the finite point W⋆ (closed form): CE(W⋆) − ℋ = 0 up to rounding."""
    inst = Instance([[1.0, 0.0], [0.0, 2.0]], [0.3, 0.7], [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    sol = solve(inst)
    assert sol.compatible and sol.mm.status.state == "undefined" and sol.W_mm is None
    assert close(sol.W_star, closed_form_w_star(inst))
    assert loss_gap(inst, sol.W_star) <= 1e-15
