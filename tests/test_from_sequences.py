"""Instance.from_sequences against hand counts, and the built-in embeddings."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from ntpverify.core.embeddings import gaussian, one_hot
from ntpverify.core.errors import InputError
from ntpverify.core.instance import Instance

CORPUS = [[0, 1, 2], [0, 1, 0], [0, 2, 1], [1, 1], [0, 1, 2, 3]]

# Counted by hand from CORPUS: context -> (occurrences, {next token: count}), in order of first
# appearance. Fixed length 1: the first token of each sequence, followed by its second.
BY_HAND_L1 = {(0,): (4, {1: 3, 2: 1}), (1,): (1, {1: 1})}
# Fixed length 2 ([1, 1] is too short and contributes nothing).
BY_HAND_L2 = {(0, 1): (3, {2: 2, 0: 1}), (0, 2): (1, {1: 1})}
# Every prefix length: [0,1,2] gives (0,)->1 and (0,1)->2, [0,1,0] gives (0,)->1 and (0,1)->0, ...
BY_HAND_ALL = {
    (0,): (4, {1: 3, 2: 1}),
    (0, 1): (3, {2: 2, 0: 1}),
    (0, 2): (1, {1: 1}),
    (1,): (1, {1: 1}),
    (0, 1, 2): (1, {3: 1}),
}


def expected(by_hand: dict, V: int) -> tuple[list[float], list[list[float]]]:
    """Weights and probabilities from hand counts, via exact fractions."""
    total = sum(n for n, _ in by_hand.values())
    weights = [float(F(n, total)) for n, _ in by_hand.values()]
    probs = [[float(F(nxt.get(z, 0), n)) for z in range(V)] for n, nxt in by_hand.values()]
    return weights, probs


class Recorder:
    """A callable embedding that records the contexts it is asked for."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, ...]] = []

    def __call__(self, context: tuple[int, ...]) -> list[float]:
        self.seen.append(context)
        return [float(len(context)), float(sum(context))]


@pytest.mark.parametrize(
    ("context_length", "by_hand"), [(1, BY_HAND_L1), (2, BY_HAND_L2), (None, BY_HAND_ALL)]
)
def test_counts_match_hand_counts_exactly(context_length, by_hand) -> None:
    embed = Recorder()
    inst = Instance.from_sequences(CORPUS, context_length, embed, name="corpus")
    weights, probs = expected(by_hand, V=4)
    assert inst.weights.tolist() == weights
    assert inst.next_token_probs.tolist() == probs
    assert embed.seen == list(by_hand)  # order of first appearance
    assert inst.embeddings.tolist() == [[len(c), sum(c)] for c in by_hand]
    assert (inst.V, inst.name) == (4, "corpus")


def test_probabilities_are_exact_fractions_not_renormalized() -> None:
    inst = Instance.from_sequences([[0, 1], [0, 1], [0, 2]], 1, one_hot())
    assert inst.next_token_probs.tolist() == [[0.0, float(F(2, 3)), float(F(1, 3))]]
    assert inst.weights.tolist() == [1.0]


def test_vocab_size_adds_unseen_tokens() -> None:
    inst = Instance.from_sequences(CORPUS, 1, one_hot(), vocab_size=6)
    weights, probs = expected(BY_HAND_L1, V=6)
    assert inst.V == 6
    assert inst.next_token_probs.tolist() == probs and inst.weights.tolist() == weights


@pytest.mark.parametrize(
    ("kwargs", "field", "row", "fragment"),
    [
        ({"sequences": [[0, 1], [0, 5]], "vocab_size": 4}, "sequences", 1, "token 1 is 5"),
        ({"sequences": [[0, 1], [-1, 0]]}, "sequences", 1, "token 0 is -1"),
        ({"sequences": [[0, 1], [0, True]]}, "sequences", 1, "boolean"),
        ({"sequences": [[0, 1], [0, 1.0]]}, "sequences", 1, "number"),
        ({"sequences": [[0, 1], "01"]}, "sequences", 1, "string"),
        ({"sequences": "0101"}, "sequences", None, "string"),
        ({"sequences": [[0, 1], [1]], "context_length": 3}, "sequences", None, "no contexts"),
        ({"sequences": [[0, 0]]}, "sequences", None, "vocabulary of 1"),
        ({"sequences": [[0, 1]], "context_length": 0}, "context_length", None, "≥ 1"),
        ({"sequences": [[0, 1]], "context_length": 1.5}, "context_length", None, "int"),
        ({"sequences": [[0, 1]], "vocab_size": 1}, "vocab_size", None, "≥ 2"),
        ({"sequences": [[0, 1]], "vocab_size": 10**12}, "next_token_probs", None, "cap"),
    ],
)  # fmt: skip
def test_bad_corpora_name_field_and_row(kwargs, field, row, fragment) -> None:
    args = {"context_length": 1, "embed": gaussian(2), **kwargs}
    with pytest.raises(InputError) as info:
        Instance.from_sequences(**args)
    assert (info.value.field, info.value.row) == (field, row) and fragment in info.value.detail


def test_rows_are_built_sparse_so_m_times_V_is_not_capped(monkeypatch) -> None:
    from ntpverify.core import instance

    monkeypatch.setattr(instance, "MAX_ENTRIES", 12)  # m·V = 2·10 > 12; nnz = 3, V·d = 10·1
    inst = Instance.from_sequences(CORPUS, 1, lambda c: [1.0], vocab_size=10)
    assert inst.supports == ((1, 2), (1,)) and inst.support_probs.tolist() == [0.75, 0.25, 1.0]
    with pytest.raises(InputError, match="only available in sparse form"):
        _ = inst.next_token_probs


def test_bad_embeddings_are_named() -> None:
    class Short:
        def embed_all(self, contexts):
            return np.zeros((len(contexts) - 1, 2))

    with pytest.raises(InputError, match="embed: gave 1 embeddings for 2 contexts"):
        Instance.from_sequences(CORPUS, 1, Short())
    with pytest.raises(InputError) as info:
        Instance.from_sequences(CORPUS, 1, lambda c: np.ones(len(c) + c[0]))
    assert (info.value.field, info.value.row) == ("embeddings", 1)


# --- built-in embeddings --------------------------------------------------------------------------


def test_gaussian_is_deterministic_per_context() -> None:
    h = gaussian(8, seed=3)
    first = h((0, 1, 2))
    assert first.shape == (8,) and first.dtype == np.float64
    assert np.array_equal(first, h((0, 1, 2))) and np.array_equal(first, gaussian(8, 3)((0, 1, 2)))
    assert not np.array_equal(first, gaussian(8, seed=4)((0, 1, 2)))
    # the length is part of the seed: trailing zeros do not collide
    vectors = [h(c) for c in [(0,), (0, 0), (0, 0, 0), (1,), (0, 1), (1, 0)]]
    assert len({v.tobytes() for v in vectors}) == len(vectors)
    # the same context gets the same row whatever corpus it appears in
    a = Instance.from_sequences(CORPUS, 1, h)
    b = Instance.from_sequences([[3, 3], [0, 2]], 1, h)
    assert np.array_equal(a.embeddings[0], b.embeddings[1])


def test_gaussian_is_scaled_to_unit_expected_norm() -> None:
    norms = [np.sum(gaussian(4000)((t,)) ** 2) for t in range(20)]
    assert abs(np.mean(norms) - 1.0) < 0.05


@pytest.mark.parametrize(("d", "seed"), [(0, 0), (2, -1), (2.0, 0), (True, 0)])
def test_gaussian_rejects_bad_parameters(d, seed) -> None:
    with pytest.raises(ValueError):
        gaussian(d, seed)


def test_one_hot_gives_identity_rows_in_context_order() -> None:
    inst = Instance.from_sequences(CORPUS, None, one_hot())
    assert inst.d == inst.m == len(BY_HAND_ALL)
    assert inst.embeddings.tolist() == np.eye(len(BY_HAND_ALL)).tolist()
