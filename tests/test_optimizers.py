"""ntpverify.optim.optimizers: every optimizer against an independent plain per-entry loop, GD
through ``optimize`` against ``gd``, the declared invariants (theory.md §4 I1, I2), parameter
validation, divergence, SGD's seeding and unbiasedness, long-run stability, the ℓ∞ margin.

The reference loops below are written here on purpose, from the pinned formulas of issue 12 (not
from the module's code): lists of floats, ``math.exp``, one entry at a time, the softmax shifted by
the maximum logit, ``g = Σ_j π_j (softmax(W h_j) − p_j) h_jᵀ`` (theory.md §1).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable

import numpy as np
import pytest

from ntpverify.core.instance import Instance
from ntpverify.core.model import default_step, gradient
from ntpverify.optim.gd import MAX_STEPS, Divergence, default_checkpoints, gd
from ntpverify.optim.optimizers import (
    GD,
    NGD,
    OPTIMIZERS,
    SGD,
    Adam,
    HeavyBall,
    Optimizer,
    OptimizerTrajectory,
    SignGD,
    _SGDStepper,
    from_assignments,
    linf_margin,
    optimize,
)
from ntpverify.suite.controls import case

Matrix = list[list[float]]

CASES = ("example-A", "example-C")
PLAIN_STEPS = 50
#: optimize() vs the plain loops at every checkpoint of 50 steps (the brief's bar). Measured ≤ 2.6e-14
#: (NGD; ≤ 3.2e-15 for the others) over both cases and both backends: they differ only in summation
#: order (BLAS or the kernels' blocked sums against left-to-right sums) and in the exponential.
PLAIN_RTOL = 1e-12
#: optimize(GD(η), backend="numpy") vs gd(form="direct") on every checkpoint of 2000 steps, every
#: shipped case (the brief's bar; measured ≤ 7.7e-16, the numba loops of gd summing in another order
#: than BLAS). With the default backend the two run the same kernel and agree bit for bit.
GD_RTOL = 1e-12
#: I1/I2 defect after INVARIANT_STEPS steps, relative to 1 + ‖W_k‖: rounding of ~k updates of size
#: ≤ η‖g‖, each exact up to ~V·eps (measured ≤ 2.8e-14 over 1000 steps, heavy ball; ≤ 2e-15 for the
#: others; either backend; bar 1e-12 as in test_gd).
INVARIANT_RTOL = 1e-12
INVARIANT_STEPS = 1000
#: What "broken" means for the entrywise optimizers: a defect far above any rounding (measured
#: 0.016–0.69 after 1000 steps, depending on the optimizer, the case and the invariant).
BROKEN_ABOVE = 1e-6

#: One optimizer of each kind (both SGD readings), the step sizes ordinary for these small cases.
OPTIMIZER_CASES: dict[str, Optimizer] = {
    "gd": GD(0.7),
    "ngd": NGD(0.3),
    "heavy-ball": HeavyBall(0.5, 0.9),
    "adam": Adam(0.05),
    "adam-large-eps": Adam(0.05, beta1=0.8, beta2=0.99, eps=1e-2),
    "sign-gd": SignGD(0.05),
    "sgd-contexts": SGD(0.5, 3, over="contexts", seed=7),
    "sgd-tokens": SGD(0.5, 3, over="tokens", seed=7),
}


# ---------------------------------------------------------------------------------------------
# the independent reference: plain loops over entries


def as_lists(X: np.ndarray) -> Matrix:
    return [[float(x) for x in row] for row in X]


def plain_context_gradient(H: Matrix, W: Matrix, j: int, target: list[float], weight: float, G: Matrix) -> None:
    """``G += weight · (softmax(W h_j) − target) h_jᵀ``, entry by entry."""
    V, d = len(W), len(H[j])
    z = [sum(W[v][i] * H[j][i] for i in range(d)) for v in range(V)]
    top = max(z)
    e = [math.exp(x - top) for x in z]
    total = sum(e)
    for v in range(V):
        r = weight * (e[v] / total - target[v])
        for i in range(d):
            G[v][i] += r * H[j][i]


def plain_gradient(inst: Instance, W: Matrix) -> Matrix:
    """``∇CE(W) = Σ_j π_j (softmax(W h_j) − p_j) h_jᵀ``."""
    H, P, pi = as_lists(inst.embeddings), as_lists(inst.next_token_probs), [float(x) for x in inst.weights]
    G = [[0.0] * inst.d for _ in range(inst.V)]
    for j in range(inst.m):
        plain_context_gradient(H, W, j, P[j], pi[j], G)
    return G


def inverse_cdf(weights: list[float], u: float) -> int:
    """The index ``#{i : C_i ≤ u·C_last}`` of ``C = cumsum(weights)``, capped at the last positive
    weight: the sampling SGD's docstring pins."""
    C, acc = [], 0.0
    for w in weights:
        acc += w
        C.append(acc)
    x = u * C[-1]
    last = max(i for i, w in enumerate(weights) if w > 0)
    return min(sum(1 for c in C if c <= x), last)


def plain_sgd_gradient(inst: Instance, W: Matrix, opt: SGD, rng: np.random.Generator) -> Matrix:
    """``(1/B) Σ_b`` of the sampled gradient: the context's CE with weight 1 (``over="contexts"``)
    or ``−log softmax(W h_j)_z`` of one sampled token (``over="tokens"``)."""
    H, P, pi = as_lists(inst.embeddings), as_lists(inst.next_token_probs), [float(x) for x in inst.weights]
    G = [[0.0] * inst.d for _ in range(inst.V)]
    js = [inverse_cdf(pi, float(u)) for u in rng.random(opt.batch)]
    if opt.over == "contexts":
        targets = [P[j] for j in js]
    else:
        zs = [inverse_cdf(P[j], float(u)) for j, u in zip(js, rng.random(opt.batch), strict=True)]
        targets = [[1.0 if v == z else 0.0 for v in range(inst.V)] for z in zs]
    for j, target in zip(js, targets, strict=True):
        plain_context_gradient(H, W, j, target, 1.0 / opt.batch, G)
    return G


def sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


def plain_run(inst: Instance, opt: Optimizer, W0: np.ndarray, steps: int) -> list[np.ndarray]:
    """``W_0, …, W_steps`` of the pinned update of ``opt``, one entry at a time."""
    V, d = inst.V, inst.d
    W = as_lists(W0)
    W_prev = [row[:] for row in W]
    m = [[0.0] * d for _ in range(V)]
    s = [[0.0] * d for _ in range(V)]
    rng = np.random.default_rng(opt.seed) if isinstance(opt, SGD) else None
    out = [np.array(W)]
    for t in range(1, steps + 1):
        g = plain_sgd_gradient(inst, W, opt, rng) if isinstance(opt, SGD) and rng else plain_gradient(inst, W)
        new = [row[:] for row in W]
        norm = math.sqrt(sum(x * x for row in g for x in row))
        for v in range(V):
            for i in range(d):
                w, gi = W[v][i], g[v][i]
                if isinstance(opt, (GD, SGD)):
                    new[v][i] = w - opt.eta * gi
                elif isinstance(opt, NGD):
                    new[v][i] = w - opt.eta * gi / norm if norm > 0 else w
                elif isinstance(opt, HeavyBall):
                    new[v][i] = w - opt.eta * gi + opt.beta * (w - W_prev[v][i])
                elif isinstance(opt, Adam):
                    m[v][i] = opt.beta1 * m[v][i] + (1 - opt.beta1) * gi
                    s[v][i] = opt.beta2 * s[v][i] + (1 - opt.beta2) * gi * gi
                    m_hat = m[v][i] / (1 - opt.beta1**t)
                    s_hat = s[v][i] / (1 - opt.beta2**t)
                    new[v][i] = w - opt.lr * m_hat / (math.sqrt(s_hat) + opt.eps)
                elif isinstance(opt, SignGD):
                    new[v][i] = w - opt.eta * sign(gi)
                else:
                    raise AssertionError(opt)
        W_prev, W = W, new
        out.append(np.array(W))
    return out


def rel(X: np.ndarray, Y: np.ndarray) -> float:
    """``‖X − Y‖ / max(‖Y‖, 1)``."""
    return float(np.linalg.norm(X - Y) / max(float(np.linalg.norm(Y)), 1.0))


def lifted(name: str) -> tuple[Instance, np.ndarray]:
    """``case(name)`` with H lifted to d + 1 by a zero column and rotated, ``H → [H 0] Qᵀ`` with a
    random orthogonal Q, and the unit null direction ``x = Q e_{d+1}`` of the new H: a case where
    I2 says something, along no coordinate axis (so that entrywise updates can break it)."""
    inst = case(name)
    Q, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((inst.d + 1, inst.d + 1)))
    H = np.hstack([inst.embeddings, np.zeros((inst.m, 1))]) @ Q.T
    return Instance(H, inst.weights, inst.next_token_probs, name=f"{name}-lifted"), Q[:, -1]


# ---------------------------------------------------------------------------------------------
# exactness


@pytest.mark.parametrize("backend", ["auto", "numpy"])
@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("key", OPTIMIZER_CASES)
def test_matches_plain_loop(key: str, name: str, backend: str) -> None:
    inst, opt = case(name), OPTIMIZER_CASES[key]
    W0 = np.random.default_rng(1).standard_normal((inst.V, inst.d))
    tr = optimize(inst, PLAIN_STEPS, opt, W0=W0, backend=backend)
    ref = plain_run(inst, opt, W0, PLAIN_STEPS)
    assert sorted(tr.iterates) == default_checkpoints(PLAIN_STEPS)
    for k, W in tr.iterates.items():
        assert rel(W, ref[k]) <= PLAIN_RTOL, (k, rel(W, ref[k]))


def test_plain_gradient_is_the_model_gradient() -> None:
    """The reference gradient agrees with core.model.gradient (a check of the reference itself)."""
    inst = case("example-C")
    W = np.random.default_rng(2).standard_normal((inst.V, inst.d))
    assert rel(np.array(plain_gradient(inst, as_lists(W))), gradient(inst, W)) <= 1e-14


@pytest.mark.parametrize("name", ["example-A", "example-B", "example-C", "example-D", "example-E",
                                  "example-F", "example-G", "example-H", "example-I"])
def test_gd_through_optimize_equals_gd(name: str) -> None:
    inst = case(name)
    W0 = np.random.default_rng(4).standard_normal((inst.V, inst.d))
    eta = 0.9 * default_step(inst)
    for start in (None, W0):
        ref = gd(inst, 2000, eta=eta, W0=start, form="direct")
        ours = optimize(inst, 2000, GD(eta), W0=start)  # gd's own kernel on the same plan
        assert ours.iterates.keys() == ref.iterates.keys() and ours.gaps == ref.gaps
        assert all(np.array_equal(ours.iterates[k], ref.iterates[k]) for k in ref.iterates)
        numpy = optimize(inst, 2000, GD(eta), W0=start, backend="numpy")
        assert all(rel(numpy.iterates[k], ref.iterates[k]) <= GD_RTOL for k in ref.iterates)


# ---------------------------------------------------------------------------------------------
# invariants


def test_declared_invariants() -> None:
    """The declarations of issue 12: updates in the span of the gradient keep I1 and I2."""
    keeps = {cls: (cls.keeps_column_sums, cls.keeps_null_directions) for cls in OPTIMIZERS.values()}
    assert keeps == {GD: (True, True), NGD: (True, True), HeavyBall: (True, True), SGD: (True, True),
                     Adam: (False, False), SignGD: (False, False)}


def invariant_defects(inst: Instance, x: np.ndarray, opt: Optimizer, backend: str) -> tuple[float, float]:
    """Largest I1 and I2 defects over the checkpoints of INVARIANT_STEPS steps from a random start,
    each relative to ``1 + ‖W_k‖``."""
    W0 = np.random.default_rng(6).standard_normal((inst.V, inst.d))
    tr = optimize(inst, INVARIANT_STEPS, opt, W0=W0, backend=backend)
    I1 = max(float(np.abs(W.sum(axis=0) - W0.sum(axis=0)).max()) / (1 + np.linalg.norm(W))
             for W in tr.iterates.values())
    I2 = max(float(np.abs(W @ x - W0 @ x).max()) / (1 + np.linalg.norm(W)) for W in tr.iterates.values())
    return I1, I2


@pytest.mark.parametrize("backend", ["auto", "numpy"])
@pytest.mark.parametrize("key", OPTIMIZER_CASES)
def test_invariants_as_declared(key: str, backend: str) -> None:
    opt = OPTIMIZER_CASES[key]
    defects = [invariant_defects(*lifted(name), opt, backend) for name in CASES]
    I1 = max(d[0] for d in defects)
    I2 = max(d[1] for d in defects)
    if opt.keeps_column_sums:
        assert I1 <= INVARIANT_RTOL
    else:
        assert I1 > BROKEN_ABOVE
    if opt.keeps_null_directions:
        assert I2 <= INVARIANT_RTOL
    else:
        assert I2 > BROKEN_ABOVE


# ---------------------------------------------------------------------------------------------
# validation and divergence


@pytest.mark.parametrize(("make", "param"), [
    (lambda: GD(0.0), "eta"), (lambda: GD(float("nan")), "eta"), (lambda: GD("x"), "eta"),
    (lambda: NGD(-1.0), "eta"), (lambda: SignGD(float("inf")), "eta"),
    (lambda: HeavyBall(0.1, 1.0), "beta"), (lambda: HeavyBall(0.1, -0.1), "beta"), (lambda: HeavyBall(0, 0.5), "eta"),
    (lambda: Adam(0.0), "lr"), (lambda: Adam(0.1, beta1=1.0), "beta1"), (lambda: Adam(0.1, beta2=-1e-3), "beta2"),
    (lambda: Adam(0.1, eps=0.0), "eps"),
    (lambda: SGD(0.1, 0), "batch"), (lambda: SGD(0.1, 2.5), "batch"), (lambda: SGD(0.1, True), "batch"),
    (lambda: SGD(0.1, 2, over="words"), "over"), (lambda: SGD(0.1, 2, seed=-1), "seed"),
    (lambda: SGD(-0.1, 2), "eta"),
])  # fmt: skip
def test_parameter_validation(make: Callable[[], Optimizer], param: str) -> None:
    with pytest.raises(ValueError, match=f"^{param} must"):
        make()


def test_run_argument_validation() -> None:
    inst = case("example-A")
    for steps in (-1, MAX_STEPS + 1):
        with pytest.raises(ValueError, match="steps must lie in"):
            optimize(inst, steps, GD(0.1))
    with pytest.raises(ValueError, match="steps must be an integer"):
        optimize(inst, 1.5, GD(0.1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="W0 must have shape"):
        optimize(inst, 1, GD(0.1), W0=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="optimizer must be"):
        optimize(inst, 1, 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="checkpoints must lie"):
        optimize(inst, 5, GD(0.1), checkpoints=[-1])


@pytest.mark.parametrize("opt", [GD(1e300), NGD(1e308), HeavyBall(1e300, 0.5), Adam(1e308), SignGD(1e308),
                                 SGD(1e300, 2), SGD(1e300, 2, over="tokens")], ids=repr)
@pytest.mark.parametrize("backend", ["auto", "numpy"])
def test_divergence_on_a_huge_step(opt: Optimizer, backend: str) -> None:
    inst = case("example-A")
    with pytest.raises(Divergence) as info:
        optimize(inst, 100, opt, backend=backend)
    assert 1 <= info.value.step <= 3 and info.value.eta == opt.step_size
    assert str(info.value).startswith(f"{opt!r} diverged: ") and f"step k = {info.value.step}" in str(info.value)
    assert str(pickle.loads(pickle.dumps(info.value))) == str(info.value)
    # the step named is the first non-finite one: the run up to the step before it is finite
    W = optimize(inst, info.value.step - 1, opt, backend=backend).W
    assert np.isfinite(W).all()


def test_zero_steps_and_zero_gradient() -> None:
    """0 steps returns W_0; NGD at a zero gradient (example G at W = 0, its minimizer) stays put."""
    inst = case("example-A")
    W0 = np.ones((inst.V, inst.d))
    assert np.array_equal(optimize(inst, 0, Adam(0.1), W0=W0).W, W0)
    G = case("example-G")
    assert np.abs(gradient(G, np.zeros((G.V, G.d)))).max() <= 1e-15
    assert np.abs(optimize(G, 20, NGD(0.1)).W).max() <= 1e-14


# ---------------------------------------------------------------------------------------------
# SGD


@pytest.mark.parametrize("over", ["contexts", "tokens"])
def test_sgd_reproducible_by_seed(over: str) -> None:
    inst = case("example-C")
    a = optimize(inst, 200, SGD(0.5, 2, over=over, seed=11))
    b = optimize(inst, 200, SGD(0.5, 2, over=over, seed=11))
    c = optimize(inst, 200, SGD(0.5, 2, over=over, seed=12))
    assert all(np.array_equal(a.iterates[k], b.iterates[k]) for k in a.iterates)
    assert not np.array_equal(a.W, c.W)


@pytest.mark.parametrize("over", ["contexts", "tokens"])
def test_sgd_compiled_takes_the_numpy_samples(over: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled plan draws its uniforms a block at a time, the numpy step one batch at a time:
    the same stream, so the runs agree to rounding after 10⁴ steps (a single different sample
    would move W by ~η‖h‖, far above 1e-10), and the block size changes nothing, bit for bit."""
    inst, opt = case("example-C"), SGD(0.5, 3, over=over, seed=5)
    compiled = optimize(inst, 10**4, opt)
    assert rel(compiled.W, optimize(inst, 10**4, opt, backend="numpy").W) <= 1e-10
    monkeypatch.setattr(_SGDStepper, "BLOCK_UNIFORMS", 7)
    assert np.array_equal(optimize(inst, 10**4, opt).W, compiled.W)


def one_draw_moments(inst: Instance, W: np.ndarray, over: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and entrywise variance of one sampled gradient (batch 1) at W, by enumeration:
    ``(s_j − p_j)h_jᵀ`` with probability ``π_j`` (contexts), ``(s_j − e_z)h_jᵀ`` with probability
    ``π_j p_{j,z}`` (tokens)."""
    Z = W @ inst.embeddings.T
    S = np.exp(Z - Z.max(axis=0))
    S /= S.sum(axis=0)
    draws: list[tuple[float, np.ndarray]] = []
    for j in range(inst.m):
        h = inst.embeddings[j]
        if over == "contexts":
            draws.append((inst.weights[j], np.outer(S[:, j] - inst.next_token_probs[j], h)))
        else:
            for z in inst.supports[j]:
                e = np.eye(inst.V)[z]
                draws.append((inst.weights[j] * inst.next_token_probs[j, z], np.outer(S[:, j] - e, h)))
    mean = sum(p * X for p, X in draws)
    var = sum(p * (X - mean) ** 2 for p, X in draws)
    assert isinstance(mean, np.ndarray) and isinstance(var, np.ndarray)
    return mean, var


@pytest.mark.parametrize("over", ["contexts", "tokens"])
def test_sgd_is_gd_in_expectation(over: str) -> None:
    """The mean of N one-step SGD updates (batch B, seeds 0..N−1) approaches the GD step.

    Each update is ``W_0 − η ĝ`` with ``ĝ`` the mean of B iid draws, so the mean of N updates has
    entrywise standard deviation ``σ_e = η √(Var_e/(N B))``, with ``Var_e`` the exact one-draw
    variance (enumerated). By the CLT each entry lies within 5σ_e of the GD step except with
    probability 5.7e-7; 10 entries (example C is 5×2) make a false failure < 6e-6 (and the seeds
    are fixed, so the test is deterministic). Resolution: 5σ_e ≤ 6.4e-4 (contexts), 1.0e-3
    (tokens), against GD step entries up to 0.097; a gradient scaled by 1.01 fails both."""
    inst = case("example-C")
    W0 = np.random.default_rng(8).standard_normal((inst.V, inst.d))
    eta, B, N = 0.5, 512, 1500
    mean_g, var_g = one_draw_moments(inst, W0, over)
    assert rel(mean_g, gradient(inst, W0)) <= 1e-14  # the enumeration is right: E ĝ = ∇CE
    updates = np.array([optimize(inst, 1, SGD(eta, B, over=over, seed=s), W0=W0).W for s in range(N)])
    gd_step = W0 - eta * gradient(inst, W0)
    sigma = eta * np.sqrt(var_g / (N * B))
    assert (np.abs(updates.mean(axis=0) - gd_step) <= 5 * sigma + 1e-14).all()
    # and the spread of single updates is the predicted one (within 10% for N = 1500 samples)
    assert np.allclose(updates.std(axis=0), eta * np.sqrt(var_g / B), rtol=0.1, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# long runs, margins, the trajectory


LONG_RUNS = [(opt, "auto", 10**6) for opt in (NGD(0.1), Adam(0.01), Adam(0.01, eps=1e-16))] + [
    (opt, "numpy", 10**5) for opt in (NGD(0.1), Adam(0.01))]


@pytest.mark.parametrize(("opt", "backend", "steps"), LONG_RUNS, ids=lambda x: repr(x))
def test_stable_over_long_runs(opt: Optimizer, backend: str, steps: int) -> None:
    """No non-finite value over 10⁶ compiled (10⁵ numpy) steps on example A, which is separable:
    the loss gap falls and the last iterate separates the data (positive ℓ∞ margin). Measured
    0.3–0.5 s compiled, 1.7–2.3 s numpy (under pytest -n 2); speed is the benchmarks' business."""
    inst = case("example-A")
    tr = optimize(inst, steps, opt, backend=backend)
    for k, W in tr.iterates.items():
        assert np.isfinite(W).all() and math.isfinite(tr.gaps[k])
    assert tr.gaps[steps] < tr.gaps[0]
    margin = tr.linf_margins[steps]
    assert margin is not None and margin > 0


def test_linf_margin() -> None:
    inst = case("example-A")
    W_mm = np.array([[1 / 3, 0], [-2 / 3, 1], [1 / 3, -1]])  # x-note of example A: margins ≥ 1
    assert linf_margin(inst, W_mm) == pytest.approx(1.0, rel=1e-15)  # ‖W_mm‖_max = 1
    assert linf_margin(inst, 7.5 * W_mm) == pytest.approx(1.0, rel=1e-15)  # scale-invariant
    assert linf_margin(inst, -W_mm) == pytest.approx(-1.0, rel=1e-15)
    assert linf_margin(inst, np.zeros((3, 2))) is None
    full = Instance([[1.0, 0.0]], [1.0], [[0.5, 0.5]])
    assert linf_margin(full, np.ones((2, 2))) is None


def test_trajectory_of_an_optimizer() -> None:
    inst = case("example-A")
    tr = optimize(inst, 100, SignGD(0.01), checkpoints=[10, 50])
    assert isinstance(tr, OptimizerTrajectory) and sorted(tr.iterates) == [10, 50, 100]
    assert tr.eta == 0.01 and tr.form == "direct"
    out = tr.to_dict()
    assert out["optimizer"] == {"name": "sign-gd", "eta": 0.01}
    assert [c["linf_margin"] for c in out["checkpoints"]] == [tr.linf_margins[k] for k in (10, 50, 100)]
    assert out["checkpoints"][-1]["cos_mm"] is not None  # the limit metrics of gd's Trajectory
    assert tr.summary().startswith("sign-gd on example-A: eta=0.01, 100 steps")


def test_from_assignments() -> None:
    """The command-line form ``--optimizer NAME --param KEY=VALUE …``."""
    assert from_assignments("sgd", ["eta=0.5", "batch=4", "over=tokens", "seed=3"]) == SGD(0.5, 4, "tokens", 3)
    assert from_assignments("adam", ["lr=1e-2", "eps=1e-3"]) == Adam(0.01, eps=1e-3)
    assert from_assignments("heavy-ball", ["eta=1", "beta=0.5"]) == HeavyBall(1.0, 0.5)
    for name, assignments, message in [
        ("lion", [], "optimizer must be one of"), ("gd", [], "gd needs eta=VALUE"),
        ("gd", ["lr=1"], "expected KEY=VALUE with KEY one of eta"), ("gd", ["eta"], "expected KEY=VALUE"),
        ("sgd", ["eta=1", "batch=two"], "batch must be an integer"), ("gd", ["eta=x"], "eta must be a number"),
        ("adam", ["lr=1", "beta2=1"], "beta2 must be a number in"),
    ]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            from_assignments(name, assignments)


def test_the_optimize_command_runs_and_refuses_bad_params(capsys):
    from ntpverify import data
    from ntpverify.tools.cli import main

    path = str(data.DIR / "example-A.json")
    assert main(["optimize", path, "--optimizer", "ngd", "--param", "eta=0.1", "--steps", "50", "--json"]) == 0
    assert "checkpoints" in capsys.readouterr().out
    assert main(["optimize", path, "--optimizer", "adam", "--param", "lr=-1", "--steps", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--param" in err and len(err.splitlines()) == 1
