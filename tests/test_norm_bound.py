"""The rounding allowance of geometry.norm_bound: the computed ``‖C H‖`` plus the allowance is never
below the exact ``‖C H‖`` (computed in rational arithmetic), on random combinations and on
adversarial near-cancellations, for both evaluations the routes use (geometry.combine then BLAS;
the structured adjoint); and no allowance is caught by the same comparison (the negative control:
the test can fail)."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest

from ntpverify.core import compensated, geometry
from ntpverify.core.geometry import abs_combination_norm, combine, norm_bound, terms_per_row
from ntpverify.core.structured import Triples


def exact_norm_sq(H: np.ndarray, rows: np.ndarray, coeffs: np.ndarray, V: int) -> Fraction:
    """``‖Σ_t c_t (e_plus − e_minus) h_jᵀ‖_F²`` exactly (every float is a rational)."""
    d = H.shape[1]
    acc = [[Fraction(0)] * d for _ in range(V)]
    for (j, p, q), c in zip(rows.tolist(), coeffs.tolist(), strict=True):
        fc = Fraction(c)
        for i in range(d):
            term = fc * Fraction(float(H[j, i]))
            acc[p][i] += term
            acc[q][i] -= term
    return sum((x * x for row in acc for x in row), Fraction(0))


def evaluations(H: np.ndarray, rows: np.ndarray, coeffs: np.ndarray, V: int) -> dict[str, Callable]:
    m = H.shape[0]
    tr = Triples(rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy())
    return {"dense": lambda Hs: combine(rows, coeffs, m, V) @ Hs,
            "structured": lambda Hs: tr.adjoint(Hs, coeffs, V)}


def draw(seed: int, cancel: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Random H (max ‖h_j‖ in [1, 2): no scaling, so the exact norm is that of H itself) and rows;
    ``cancel`` pairs every term with its negation perturbed in the last bits, so ``C H`` is ~1e-16
    of ``|C||H|`` and the rounding is the whole computed value."""
    rng = np.random.default_rng(seed)
    m, V, d = 4, 5, 3
    H = rng.standard_normal((m, d))
    H *= 1.5 / np.linalg.norm(H, axis=1).max()
    n = 12
    j = rng.integers(0, m, n)
    p = rng.integers(0, V, n)
    q = (p + rng.integers(1, V, n)) % V
    c = rng.uniform(0.1, 10.0, n)
    if cancel:
        j, p, q = np.tile(j, 2), np.tile(p, 2), np.tile(q, 2)
        c = np.concatenate([c, -np.nextafter(c, np.inf * rng.choice([-1, 1], n))])
    return H, np.stack([j, p, q], axis=1).astype(np.int64), c, V


@pytest.mark.parametrize("cancel", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_the_allowance_covers_the_rounding_of_every_evaluation(seed: int, cancel: bool) -> None:
    H, rows, c, V = draw(seed, cancel)
    exact = math.sqrt(exact_norm_sq(H, rows, c, V))
    hmax = float(np.linalg.norm(H, axis=1).max())
    for name, combined in evaluations(H, rows, c, V).items():
        bound = norm_bound(H, rows, c, combined, V)
        # bound = hmax / size with size ≥ the exact ‖C H‖: the certificate never overstates
        assert exact == 0 or bound <= hmax / exact, name


def test_no_allowance_is_caught_on_cancelling_combinations(monkeypatch) -> None:
    """The negative control: without the allowance (γ = 0, the computed ‖C H‖ taken as exact) some
    cancelling draw overstates its bound: the products of c and its neighbour with h_{j,i} round to
    the same float, so the computed combination is 0 where the exact one is not. (The allowance is
    a worst case: γ/10 is not caught on these draws, which is why the control removes it.)"""
    monkeypatch.setattr(geometry, "gamma", lambda n: 0.0)
    overstated = 0
    for seed in range(40):
        H, rows, c, V = draw(seed, cancel=True)
        exact = math.sqrt(exact_norm_sq(H, rows, c, V))
        hmax = float(np.linalg.norm(H, axis=1).max())
        for combined in evaluations(H, rows, c, V).values():
            overstated += exact > 0 and norm_bound(H, rows, c, combined, V) > hmax / exact
    assert overstated > 0


def test_terms_per_row_and_the_absolute_combination() -> None:
    H = np.array([[1.0, -2.0], [3.0, 0.5]])
    rows = np.array([[0, 0, 1], [1, 0, 2], [1, 2, 0]])
    c = np.array([1.0, -2.0, 0.5])
    assert terms_per_row(rows, 3) == 3  # token 0: plus twice, minus once
    dense = np.zeros((3, 2))
    for (j, p, q), ct in zip(rows, c, strict=True):
        dense[p] += abs(ct) * np.abs(H[j])
        dense[q] += abs(ct) * np.abs(H[j])
    assert abs_combination_norm(H, rows, c, 3) == pytest.approx(np.linalg.norm(dense), rel=1e-15)


# --- the compensated evaluation (compensated.py) ------------------------------------------------


def long_cancelling(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """n terms on V = 3 tokens, d = 2, each paired with its negation perturbed in the last bit: the
    exact C H is ~1e-16·n of |C||H|, and the plain allowance γ_n of |C||H| dwarfs it."""
    rng = np.random.default_rng(seed)
    m, V, d = 5, 3, 2
    H = rng.standard_normal((m, d))
    H *= 1.5 / np.linalg.norm(H, axis=1).max()
    j = np.tile(rng.integers(0, m, n // 2), 2)
    p = np.tile(rng.integers(0, 2, n // 2), 2)
    q = np.full(n, 2)
    c = rng.uniform(0.5, 2.0, n // 2)
    c = np.concatenate([c, -np.nextafter(c, np.inf)])
    return H, np.stack([j, p, q], axis=1).astype(np.int64), c, V


@pytest.mark.parametrize("seed", range(4))
def test_dot2_is_within_its_error_bound_entrywise(seed: int) -> None:
    """``|res − C H| ≤ u|C H| + γ_n²|C||H|`` entrywise (Ogita–Rump–Oishi Prop. 5.5), exactly."""
    H, rows, c, V = long_cancelling(seed, 400)
    res = compensated.combination_dot2(H, rows, c, V)
    A = abs_combination_matrix(H, rows, c, V)
    n = terms_per_row(rows, V)
    for v in range(V):
        for i in range(H.shape[1]):
            exact = sum((Fraction(ct) * Fraction(float(H[j, i])) * ((p == v) - (q == v))
                         for (j, p, q), ct in zip(rows.tolist(), c.tolist(), strict=True)), Fraction(0))
            err = abs(Fraction(float(res[v, i])) - exact)
            assert err <= Fraction(geometry.UNIT_ROUNDOFF) * abs(exact) + Fraction(geometry.gamma(n) ** 2) * Fraction(
                float(A[v, i])) * 2


def test_long_rows_are_certified_through_dot2_and_never_overstated() -> None:
    """With 2·10⁴ terms a row the plain allowance caps the bound below 10¹² while the exact ‖C H‖
    allows ~10¹⁴; the compensated bound gets there and stays below hmax/‖C H‖ (exact)."""
    H, rows, c, V = long_cancelling(0, 20_000)
    exact = math.sqrt(exact_norm_sq(H, rows, c, V))
    hmax = float(np.linalg.norm(H, axis=1).max())
    combined = evaluations(H, rows, c, V)["structured"]
    plain = norm_bound(H, rows, c, combined, V, needed=0.0)
    best = norm_bound(H, rows, c, combined, V)
    assert plain < geometry.SCALE_CAP < best <= hmax / exact
    assert best <= geometry.rounding_ceiling(H, rows, c, V)


def test_a_dot2_without_its_error_terms_is_caught(monkeypatch) -> None:
    """The negative control: a 'compensated' evaluation that is the plain sum (the γ_n² allowance
    then covers nothing) overstates the bound on some cancelling draw."""
    def plain(H, rows, coeffs, V):
        return evaluations(H, rows, coeffs, V)["structured"](H)
    monkeypatch.setattr(geometry, "combination_dot2", plain)
    overstated = 0
    for seed in range(20):
        H, rows, c, V = draw(seed, cancel=True)
        exact = math.sqrt(exact_norm_sq(H, rows, c, V))
        hmax = float(np.linalg.norm(H, axis=1).max())
        overstated += exact > 0 and norm_bound(H, rows, c, evaluations(H, rows, c, V)["dense"], V) > hmax / exact
    assert overstated > 0


def abs_combination_matrix(H: np.ndarray, rows: np.ndarray, coeffs: np.ndarray, V: int) -> np.ndarray:
    out = np.zeros((V, H.shape[1]))
    for (j, p, q), ct in zip(rows.tolist(), coeffs.tolist(), strict=True):
        out[p] += abs(ct) * np.abs(H[j])
        out[q] += abs(ct) * np.abs(H[j])
    return out


def test_dot2_declines_products_that_may_underflow() -> None:
    H = np.array([[1.0, 2.0 ** -1000]])
    rows = np.array([[0, 0, 1]])
    assert compensated.combination_dot2(H, rows, np.array([2.0 ** -10]), 2) is None
    assert compensated.combination_dot2(H[:, :1], rows, np.array([2.0 ** -10]), 2) is not None
