"""Unit tests of the limit objects: shared cases, certificates re-checked independently, solvers."""

from __future__ import annotations

from pathlib import Path
import json

import numpy as np
import pytest

import ntpverify as nv
from ntpverify.core.geometry import Geometry
from ntpverify.core.sampling import random_instance
from ntpverify import data

CASES = data.DIR  # the shipped copies of the shared cases
CASE_FILES = sorted(CASES.glob("*.json"))


def expected(path: Path) -> dict:
    return json.loads(path.read_text())["x-expected"]


def close(a, b, tol=1e-8) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and np.abs(a - b).max() <= tol * max(1.0, np.linalg.norm(b))


@pytest.mark.parametrize("method", ["nnls", "clarabel"])
@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_shared_case_matches_expected(path, method):
    exp = expected(path)
    sol = nv.solve(nv.Instance.load(path), method=method)
    assert sol.compatible is exp["compatible"] and sol.separable is exp["separable"]
    assert sol.F_dim == exp["F_dim"]
    assert abs(sol.entropy - exp["entropy"]) <= 1e-12
    for ours, theirs in ((sol.W_star, exp["W_star"]), (sol.W_mm, exp["W_mm"])):
        assert (ours is None) == (theirs is None)
        if theirs is not None:
            assert close(ours, theirs)
    if exp["W_mm_norm"] is not None:
        assert abs(sol.W_mm_norm - exp["W_mm_norm"]) <= 1e-8 * exp["W_mm_norm"]
        assert max(sol.mm.kkt.values()) <= 1e-9


def farkas_rechecked(inst: nv.Instance, rows: np.ndarray, y: np.ndarray) -> float:
    """Independent check of a separability Farkas certificate: the margin multipliers are ≥ 0
    and sum to 1, and Σ y_t (e_plus − e_minus) h_jᵀ vanishes (built term by term)."""
    total = np.zeros((inst.V, inst.d))
    margin_rows = 0
    for (j, plus, minus), coeff in zip(rows, y):
        total[plus] += coeff * inst.embeddings[j]
        total[minus] -= coeff * inst.embeddings[j]
        margin_rows += int(not inst.support_mask[j, minus])
    margin_y = y[:margin_rows]
    assert np.all(margin_y >= 0) and abs(margin_y.sum() - 1) < 1e-12
    return float(np.abs(total).max())


@pytest.mark.parametrize("name", ["example-E-compatible-not-separable", "example-G-one-hot-not-separable"])
def test_farkas_certificate_checks_out(name):
    inst = nv.Instance.load(CASES / f"{name}.json")
    sep = nv.separability(inst)
    assert sep.separable is False and sep.status.state == "infeasible"
    assert farkas_rechecked(inst, sep.farkas_rows, sep.farkas_y) <= 1e-12


def test_incompatibility_certificate_checks_out():
    inst = nv.Instance.load(CASES / "example-F-separable-not-compatible.json")
    res = nv.compatibility(inst)
    assert res.compatible is False and res.status.state == "infeasible"
    geo = Geometry(inst)
    b = geo.eq_rhs
    assert abs(b @ res.certificate - 1.0) < 1e-12
    # Aᵀy = 0 in original coordinates: Σ y (e_z − e_a) h_jᵀ = 0.
    total = np.zeros((inst.V, inst.d))
    for (j, z, a), coeff in zip(res.equations, res.certificate):
        total[z] += coeff * inst.embeddings[j]
        total[a] -= coeff * inst.embeddings[j]
    assert np.abs(total).max() <= 1e-12 * np.abs(res.certificate).max()


def test_F_basis_is_orthonormal_and_spans_the_generators():
    inst = nv.Instance.load(CASES / "example-C-two-dims-three-contexts.json")
    fb = nv.F_basis(inst)
    flat = fb.basis.reshape(fb.dim, -1)
    assert np.allclose(flat @ flat.T, np.eye(fb.dim), atol=1e-13)
    for j, S in enumerate(inst.supports):
        for z in S[1:]:
            g = np.zeros((inst.V, inst.d))
            g[z] += inst.embeddings[j]
            g[S[0]] -= inst.embeddings[j]
            assert np.linalg.norm(fb.project(g) - g) <= 1e-12 * np.linalg.norm(g)
    assert fb.rank.clear


def test_project_F_is_idempotent_and_orthogonal():
    inst = nv.Instance.load(CASES / "example-H-orthonormal.json")
    W = np.random.default_rng(0).standard_normal((inst.V, inst.d))
    PF = nv.project_F(inst, W)
    assert np.allclose(nv.project_F(inst, PF), PF, atol=1e-13)
    assert abs(np.sum(PF * (W - PF))) <= 1e-12 * np.sum(W * W)


def test_near_incompatible_system_is_inconclusive_not_guessed():
    # Two contexts share an embedding; their log-ratios differ by 1e-8 relative: residual between
    # the compatible and incompatible thresholds, so nothing is decided.
    p = 0.3
    q = p * (1 + 3e-8)
    inst = nv.Instance([[1.0, 0.0], [1.0, 0.0]], [0.5, 0.5], [[p, 1 - p, 0.0], [q, 1 - q, 0.0]])
    res = nv.compatibility(inst)
    assert res.status.state == "inconclusive" and res.compatible is None
    with pytest.raises(nv.Inconclusive):
        nv.w_star(inst)


def test_all_full_support_has_no_max_margin_solution():
    inst = nv.Instance([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.5], [[0.2, 0.8], [0.6, 0.4]])
    sol = nv.solve(inst)
    assert sol.separable is True and sol.W_mm is None
    assert sol.status["W_mm"].state == "undefined"
    assert sol.to_dict()["W_mm"] is None


def test_zero_embedding_context_is_handled():
    # A zero embedding makes that context's logits constant: with |S| < V it is not separable.
    inst = nv.Instance([[0.0, 0.0], [1.0, 0.0]], [0.5, 0.5], [[1.0, 0.0], [0.0, 1.0]])
    sol = nv.solve(inst)
    assert sol.separable is False and sol.sep.status.state == "infeasible"


def test_solution_json_is_exact_and_finite():
    from ntpverify.core import exactjson

    for path in CASE_FILES:
        d = nv.solve(nv.Instance.load(path)).to_dict()
        assert exactjson.loads(exactjson.dumps(d)) == d


@pytest.mark.parametrize("kind", ["generic", "narrow", "duplicated", "collinear", "rank_deficient", "one_hot"])
def test_random_instances_are_certified(kind):
    """Every ok W^mm has KKT ≤ 1e-9, every infeasible a verified certificate, W⋆ its equations
    to 1e-10 (the full-size sweep of issue 2 is benchmarks/solve_sweep.py)."""
    rng = np.random.default_rng(7)
    for _ in range(15):
        V, m, d = (int(x) for x in rng.integers([2, 1, 1], [13, 9, 10]))
        sol = nv.solve(random_instance(rng, V, m, d, kind))
        assert sol.conclusive
        if sol.mm.status.ok:
            assert max(sol.mm.kkt.values()) <= 1e-9
        if sol.separable is False:
            assert sol.sep.farkas_defect <= 1e-9
        if sol.compatible:
            assert sol.compat.equation_residual <= 1e-10
        else:
            assert sol.compat.certificate_defect <= 1e-9
