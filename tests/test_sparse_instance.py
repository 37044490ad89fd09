"""The CSR storage of Instance (issue 10): corpus-sized instances (m = 10⁵, V = 10⁴) built from the
sparse form without any m×V array, round-tripped bit for bit, dense views refused beyond the cap;
sparse and dense constructions of one instance equal; bad sparse rows named."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from ntpverify.core import exactjson
from ntpverify.core.errors import InputError
from ntpverify.core.instance import MAX_ENTRIES, Instance, drop_contexts
from ntpverify.core.model import entropy, gradient, loss, loss_gap

CSR = ("support_indptr", "support_tokens", "support_probs")


def large_sparse(m: int = 100_000, V: int = 10_000, d: int = 16) -> dict:
    """A sparse form with supports of 1–20 tokens: row j is ``start_j + k·stride_j`` (strictly
    increasing, below V) with random positive probabilities normalized per row."""
    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 21, m)
    stride = rng.integers(1, V // 20, m)
    start = (rng.random(m) * (V - stride * sizes)).astype(np.int64)
    row = np.repeat(np.arange(m), sizes)
    k = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    tokens = start[row] + k * stride[row]
    w = rng.random(tokens.size) + 0.01
    probs = w / np.repeat(np.add.reduceat(w, np.cumsum(sizes) - sizes), sizes)
    cut = np.cumsum(sizes)[:-1]
    return {"embeddings": rng.standard_normal((m, d)), "weights": np.full(m, 1.0 / m),
            "next_token_probs": {"V": V, "tokens": [t.tolist() for t in np.split(tokens, cut)],
                                 "probs": [p.tolist() for p in np.split(probs, cut)]}}


@pytest.fixture(scope="module")
def large() -> Instance:
    args = large_sparse()
    return Instance(args["embeddings"], args["weights"], args["next_token_probs"], name="large")


def same_bits(a: Instance, b: Instance) -> bool:
    return all(getattr(a, k).tobytes() == getattr(b, k).tobytes()
               for k in ("embeddings", "weights", *CSR)) and a.V == b.V


def test_a_corpus_sized_instance_round_trips_through_dict_and_json_bit_for_bit(large: Instance) -> None:
    assert (large.m, large.V, large.d) == (100_000, 10_000, 16) and large.m * large.V > MAX_ENTRIES
    doc = large.to_dict()
    assert set(doc["next_token_probs"]) == {"V", "tokens", "probs"}  # auto: the sparse form
    again = Instance.from_dict(doc)
    assert same_bits(again, large) and again == large and hash(again) == hash(large)
    assert same_bits(pickle.loads(pickle.dumps(large)), large)
    assert np.isfinite(entropy(large))  # O(nnz): needs no dense view
    # JSON text on a tenth of the contexts (exactjson parses every float in Python): m·V = 10⁸
    part = Instance(**large_sparse(m=10_000))
    text = exactjson.dumps(part.to_dict())
    back = Instance.from_json(text)
    assert same_bits(back, part) and back == part and exactjson.dumps(back.to_dict()) == text


def plain_gap(inst: Instance, W: np.ndarray) -> float:
    """``Σ_j π_j Σ_{z∈S_j} p_z log(p_z/s_z)`` straight from the definition (float64 naive)."""
    Z = W @ inst.embeddings.T
    logS = Z - np.log(np.exp(Z - Z.max(axis=0)).sum(axis=0)) - Z.max(axis=0)
    P = inst.next_token_probs.T
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, P * (np.log(P) - logS), 0.0)
    return float(inst.weights @ terms.sum(axis=0))


@pytest.mark.parametrize("seed", range(6))
def test_loss_gap_reads_only_the_support_and_matches_the_definition(seed: int) -> None:
    """The stable KL form (model.kl_terms, O(nnz) on the support plus one pass over the logits)
    agrees with the naive definition where that has no cancellation (W of size 1: the gap is
    O(1)), including full-support and one-token contexts."""
    rng = np.random.default_rng(seed)
    m, V, d = 7, 6, 3
    P = np.zeros((m, V))
    for j in range(m):
        k = V if j == 0 else 1 if j == 1 else int(rng.integers(1, V + 1))
        P[j, rng.choice(V, k, replace=False)] = rng.dirichlet(np.ones(k))
    inst = Instance(rng.standard_normal((m, d)), rng.dirichlet(np.ones(m)), P)
    W = rng.standard_normal((V, d))
    assert abs(loss_gap(inst, W) - plain_gap(inst, W)) <= 1e-13 * plain_gap(inst, W)
    assert loss_gap(inst, W) == pytest.approx(loss(inst, W) - entropy(inst), rel=1e-12)


def test_loss_gap_needs_no_dense_view_beyond_the_cap() -> None:
    part = Instance(**large_sparse(m=2_000))  # m·V = 2·10⁷ > MAX_ENTRIES
    assert part.m * part.V > MAX_ENTRIES
    W = np.random.default_rng(1).standard_normal((part.V, part.d)) * 0.1
    assert loss_gap(part, W) == pytest.approx(loss(part, W) - entropy(part), rel=1e-10)


def test_dense_views_beyond_the_cap_are_refused_clearly(large: Instance) -> None:
    for attr in ("next_token_probs", "support_mask"):
        with pytest.raises(InputError) as info:
            getattr(large, attr)
        text = str(info.value)
        assert info.value.field == attr and "100000×10000" in text and str(MAX_ENTRIES) in text
        assert "only available in sparse form" in text
    with pytest.raises(InputError, match="next_token_probs: the dense m×V"):
        large.to_dict("dense")


def test_csr_arrays_are_read_only_and_hold_exactly_the_positive_entries() -> None:
    P = np.array([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0], [0.25, 0.25, 0.5]])
    inst = Instance(np.eye(3), np.full(3, 1 / 3), P)
    assert inst.support_indptr.tolist() == [0, 2, 3, 6]
    assert inst.support_tokens.tolist() == [0, 2, 1, 0, 1, 2]
    assert inst.support_probs.tolist() == P[P > 0].tolist()
    assert inst.support_contexts.tolist() == [0, 0, 1, 2, 2, 2]
    for attr in CSR:
        with pytest.raises(ValueError):
            getattr(inst, attr)[0] = 0


@pytest.mark.parametrize("seed", range(5))
def test_sparse_and_dense_constructions_are_equal_with_equal_hashes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m, V, d = 6, 9, 3
    P = rng.random((m, V)) * (rng.random((m, V)) < 0.4)
    P[:, seed % V] += 0.1
    P /= P.sum(axis=1, keepdims=True)
    H, pi = rng.standard_normal((m, d)), np.full(m, 1 / m)
    dense = Instance(H, pi, P, name="x", extras={"x-k": [1, 0.5]})
    sparse = Instance(H, pi, {"V": V, "tokens": [np.flatnonzero(r).tolist() for r in P],
                              "probs": [r[r > 0].tolist() for r in P]}, name="x", extras={"x-k": [1, 0.5]})
    assert dense == sparse and hash(dense) == hash(sparse) and dense.content_hash() == sparse.content_hash()
    assert same_bits(dense, sparse) and sparse.next_token_probs.tobytes() == P.tobytes()
    assert sparse.supports == dense.supports and sparse.support_mask.tolist() == (P > 0).tolist()
    W = rng.standard_normal((V, d))
    assert loss(dense, W) == loss(sparse, W) and np.array_equal(gradient(dense, W), gradient(sparse, W))
    sub = drop_contexts(sparse, [1, 4])
    assert sub == Instance(H[[0, 2, 3, 5]], pi[[0, 2, 3, 5]] / pi[[0, 2, 3, 5]].sum(), P[[0, 2, 3, 5]])


def test_a_dense_negative_zero_survives_pickling_and_the_hash_sees_it() -> None:
    P = [[0.5, 0.5, -0.0], [0.0, 0.5, 0.5]]
    inst = Instance([[1.0, 1.0], [-2.0, -1.0]], [0.5, 0.5], P)
    back = pickle.loads(pickle.dumps(inst))
    assert back == inst and np.signbit(back.next_token_probs[0, 2])
    assert inst != Instance(inst.embeddings, inst.weights, np.abs(np.array(P)))


def test_the_sparse_caps_are_nnz_and_V_times_d_not_m_times_V(monkeypatch) -> None:
    from ntpverify.core import instance

    monkeypatch.setattr(instance, "MAX_ENTRIES", 40)
    monkeypatch.setattr(instance, "MAX_ARRAY_ENTRIES", 40)
    doc = {"V": 30, "tokens": [[0, 1], [2]] * 3, "probs": [[0.5, 0.5], [1.0]] * 3}
    assert Instance(np.ones((6, 1)), np.full(6, 1 / 6), doc).m * 30 > 40  # m·V = 180 is fine
    with pytest.raises(InputError, match=r"V×d = 30×2 .* exceeds the cap of 40"):
        Instance(np.ones((6, 2)), np.full(6, 1 / 6), doc)
    many = {"V": 30, "tokens": [list(range(10))] * 6, "probs": [[0.1] * 10] * 6}
    with pytest.raises(InputError, match="lists 60 support entries, exceeding the cap of 40"):
        Instance(np.ones((6, 1)), np.full(6, 1 / 6), many)


@pytest.mark.parametrize(("tokens", "probs", "row", "field", "fragment"), [
    ([[0], [1, True]], [[1.0], [0.5, 0.5]], 1, "next_token_probs.tokens", "entry 1 is True"),
    ([[0], [1, 2.0]], [[1.0], [0.5, 0.5]], 1, "next_token_probs.tokens", "entry 1 is 2.0"),
    ([[0], [-1, 2]], [[1.0], [0.5, 0.5]], 1, "next_token_probs.tokens", "entry 0 is -1"),
    ([[0], [2, 2]], [[1.0], [0.5, 0.5]], 1, "next_token_probs.tokens", "strictly increasing"),
    ([[0], [1, 2]], [[1.0], [0.5, "x"]], 1, "next_token_probs.probs", "string"),
    ([[0], [1, 2]], [[1.0], [0.5, 10**400]], 1, "next_token_probs.probs", "too large"),
    ([[0], [1, 2]], [[1.0], [1.5, -0.5]], 1, "next_token_probs.probs", "entry 1 is -0.5"),
    ([[0], [1, 2]], [[1.0], [0.5, float("nan")]], 1, "next_token_probs.probs", "finite"),
    ([[0], [1, 2]], [[0.9], [0.5, 0.5]], 0, "next_token_probs", "row sums to 0.9"),
    ([[0], [1, 2]], [[1.0], [0.5, 0.5 + 2e-9]], 1, "next_token_probs", "row sums to 1.000000002"),
    ([[0, 5], [1]], [[0.5, 0.5], [1.0]], 0, "next_token_probs.tokens", "in 0..3"),
    ([[0], [10**30]], [[1.0], [1.0]], 1, "next_token_probs.tokens", "entry 0 is 1000000000000000000000000000000"),
])  # fmt: skip
def test_bad_sparse_rows_are_named(tokens, probs, row, field, fragment) -> None:
    with pytest.raises(InputError) as info:
        Instance([[1.0], [2.0]], [0.5, 0.5], {"V": 4, "tokens": tokens, "probs": probs})
    assert (info.value.field, info.value.row) == (field, row) and fragment in info.value.detail, str(info.value)


def test_the_first_bad_row_is_named_as_a_row_by_row_reading_would() -> None:
    # row 0 has a bad token, row 1 a bad probability: the vectorized check must not report row 1
    with pytest.raises(InputError) as info:
        Instance([[1.0], [2.0]], [0.5, 0.5], {"V": 4, "tokens": [[9], [1]], "probs": [[1.0], [0.0]]})
    assert (info.value.field, info.value.row) == ("next_token_probs.tokens", 0)
    with pytest.raises(InputError) as info:  # ... nor row 1's length before row 0's token
        Instance([[1.0], [2.0]], [0.5, 0.5], {"V": 4, "tokens": [[9], []], "probs": [[1.0], []]})
    assert (info.value.field, info.value.row) == ("next_token_probs.tokens", 0)


def test_numpy_rows_are_accepted_in_the_sparse_form() -> None:
    doc = {"V": 4, "tokens": [np.array([0, 3]), np.array([1])], "probs": [np.array([0.25, 0.75]), np.ones(1)]}
    inst = Instance([[1.0], [2.0]], [0.5, 0.5], doc)
    assert inst.supports == ((0, 3), (1,)) and inst.next_token_probs[0].tolist() == [0.25, 0, 0, 0.75]
