"""Certificates found on the sub-instance of the most frequent tokens (instance.restrict_vocabulary,
structured.frequent_vocabularies): the sub-instance holds exactly the instance's constraints among
its tokens, its certificates are mapped back and re-verified on the instance, and a wrong mapping
is rejected by that verification (the negative controls)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

import ntpverify as nv
from ntpverify.core.embeddings import gaussian
from ntpverify.core.errors import InputError
from ntpverify.core.geometry import SCALE_CAP, norm_bound
from ntpverify.core.instance import restrict_vocabulary
from ntpverify.core.structured import (
    VOCAB_SUBSET_FIRST,
    StructuredGeometry,
    Triples,
    anchored_equations,
    compatibility_structured,
    frequent_vocabularies,
)
from ntpverify.core.structured_svm import _lifted, _sub_certificate, farkas_from_frequent_tokens


def zipf_corpus(seed: int = 0, words: int = 80, tokens: int = 3000, d: int = 8) -> nv.Instance:
    """A window-1 instance of a Zipf(1.1) token stream: m > d, frequent tokens in many supports,
    token ids shuffled (so the frequent ones are not 0..k−1 and a missing id map shows)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, words + 1) ** 1.1
    stream = rng.permutation(words)[rng.choice(words, size=tokens, p=p / p.sum())].tolist()
    windows = [stream[t - 1:t + 1] for t in range(1, len(stream))]
    return nv.Instance.from_sequences(windows, 1, gaussian(d, seed), vocab_size=words)


def recheck_farkas(inst: nv.Instance, rows: np.ndarray, y: np.ndarray) -> float:
    """Term-by-term check that ``(rows, y)`` is a separability Farkas combination of ``inst``'s own
    constraints: margin rows have plus ∈ S_j and minus ∉ S_j with y ≥ 0 summing to 1, equality rows
    both tokens in S_j; returns max |Σ y_t (e_plus − e_minus) h_jᵀ|."""
    mask = inst.support_mask
    total = np.zeros((inst.V, inst.d))
    margin = np.array([not mask[j, minus] for j, _, minus in rows])
    for (j, plus, minus), coeff in zip(rows, y):
        assert mask[j, plus]
        total[plus] += coeff * inst.embeddings[j]
        total[minus] -= coeff * inst.embeddings[j]
    assert np.all(y[margin] >= 0) and abs(y[margin].sum() - 1) < 1e-12
    return float(np.abs(total).max())


def test_restrict_vocabulary_by_hand():
    P = np.array([[0.5, 0.25, 0.25, 0.0],
                  [1.0, 0.0, 0.0, 0.0],
                  [0.0, 0.2, 0.0, 0.8]])
    H = np.arange(6.0).reshape(3, 2) + 1.0
    inst = nv.Instance(H, np.array([0.2, 0.3, 0.5]), P)
    sub, K = restrict_vocabulary(inst, [3, 1])
    assert K.tolist() == [0, 2] and sub.V == 2 and sub.m == 2
    np.testing.assert_array_equal(sub.embeddings, H[[0, 2]])
    np.testing.assert_allclose(sub.weights, [0.2 / 0.7, 0.5 / 0.7])
    np.testing.assert_allclose(sub.next_token_probs, [[1.0, 0.0], [0.2, 0.8]])


@pytest.mark.parametrize("tokens", [[1], [2, 2], [-1, 2], [0, 4]])
def test_restrict_vocabulary_rejects_bad_token_sets(tokens):
    inst = nv.Instance(np.eye(2), np.array([0.5, 0.5]), np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]))
    with pytest.raises(InputError, match="tokens"):
        restrict_vocabulary(inst, tokens)


def test_restrict_vocabulary_keeps_log_ratios():
    """Definition 1's right-hand sides among the kept tokens are unchanged by renormalization."""
    inst = zipf_corpus()
    T = np.array([0, 1, 2, 5])
    sub, K = restrict_vocabulary(inst, T)
    P, Q = inst.next_token_probs[K][:, T], sub.next_token_probs
    both = (P[:, :, None] > 0) & (P[:, None, :] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(np.log(P[:, :, None] / P[:, None, :])[both],
                                   np.log(Q[:, :, None] / Q[:, None, :])[both], atol=1e-13)


def test_frequent_vocabularies_order_and_range():
    inst = zipf_corpus()
    sg = StructuredGeometry(inst)
    counts = np.bincount(sg.sup_tok, minlength=sg.V)
    sizes = [T.size for T, _, _ in frequent_vocabularies(sg)]
    assert sizes[0] == VOCAB_SUBSET_FIRST and all(b == 2 * a for a, b in zip(sizes, sizes[1:]))
    assert sizes[-1] <= sg.V // 4 < 2 * sizes[-1]
    for T, sub, K in frequent_vocabularies(sg):
        assert counts[T].min() >= np.delete(counts, T).max()
    wide = StructuredGeometry(nv.Instance(np.eye(3), np.full(3, 1 / 3), np.eye(3)))
    assert list(frequent_vocabularies(wide)) == []  # m ≤ d: rank H = m, nothing to find


@pytest.mark.parametrize("seed", range(4))
def test_separability_certificate_from_frequent_tokens(seed):
    inst = zipf_corpus(seed)
    sep = farkas_from_frequent_tokens(StructuredGeometry(inst))
    assert sep is not None and sep.separable is False and "tokens in the most supports" in sep.status.reason
    assert recheck_farkas(inst, sep.farkas_rows, sep.farkas_y) <= 1e-12
    assert nv.solve(inst, method="nnls").separable is False  # the dense route agrees


def test_unmapped_sub_certificate_is_rejected():
    """Negative control: the sub-instance's rows taken as the instance's own (tokens and contexts
    not mapped back) are not constraints of the instance, and _lifted says so (relabelling tokens
    keeps ``G H = 0``, so only that check can catch it)."""
    inst = zipf_corpus()
    sg = StructuredGeometry(inst)
    T, sub, K = next(frequent_vocabularies(sg))
    mapped, unmapped = _sub_certificate(sub, K, T), _sub_certificate(sub, np.arange(sub.m))
    assert mapped is not None and unmapped is not None
    right = _lifted(sg, mapped[0], mapped[1], "mapped")
    wrong = _lifted(sg, unmapped[0], unmapped[1], "unmapped")
    assert right.separable is False and wrong.separable is not False


def test_anchored_equations_rewrites_exactly():
    """Any combination of support-token differences equals the rewritten one over sg.eq, with the
    same right-hand side."""
    inst = zipf_corpus(1)
    sg = StructuredGeometry(inst)
    rng = np.random.default_rng(0)
    ctx = np.flatnonzero(sg.support_size >= 2)[:40]
    pairs = [rng.choice(inst.supports[j], 2, replace=False) for j in ctx]
    plus, minus = (np.array([p[i] for p in pairs], dtype=np.intp) for i in (0, 1))
    y = rng.standard_normal(ctx.size)
    direct = Triples(ctx.astype(np.intp), plus, minus).adjoint(sg.H, y, sg.V)
    y_eq = anchored_equations(sg, ctx, plus, minus, y)
    np.testing.assert_allclose(sg.eq.adjoint(sg.H, y_eq, sg.V), direct, atol=1e-12)
    logp = {(j, t): np.log(inst.next_token_probs[j, t]) for j in ctx for t in inst.supports[j]}
    rhs = sum(c * (logp[j, p] - logp[j, q]) for j, p, q, c in zip(ctx, plus, minus, y))
    assert abs(sg.eq_rhs @ y_eq - rhs) <= 1e-12 * max(1.0, abs(rhs))


def test_incompatibility_certificate_from_frequent_tokens():
    inst = zipf_corpus(2)
    sg = StructuredGeometry(inst)
    res = compatibility_structured(sg)
    assert res.compatible is False and "tokens in the most supports" in res.status.reason
    # re-checked term by term over the instance's own equations
    b = sg.eq_rhs
    assert abs(b @ res.certificate - 1.0) < 1e-12
    total = np.zeros((inst.V, inst.d))
    for (j, z, a), c in zip(res.equations, res.certificate):
        assert inst.support_mask[j, z] and inst.support_mask[j, a]
        total[z] += c * inst.embeddings[j]
        total[a] -= c * inst.embeddings[j]
    assert np.abs(total).max() * SCALE_CAP < np.linalg.norm(inst.embeddings, axis=1).max()
    assert nv.solve(inst, method="nnls").compatible is False  # the dense route agrees


def test_unanchored_incompatibility_certificate_is_rejected():
    """Negative control: the sub-instance's certificate laid over the instance's rows without the
    rewrite (its coefficients on the first equations) proves no bound above the cap."""
    inst = zipf_corpus(2)
    sg = StructuredGeometry(inst)
    T, sub, K = next(frequent_vocabularies(sg))
    sub_res = compatibility_structured(StructuredGeometry(sub))
    assert sub_res.compatible is False
    y = np.zeros(sg.eq.n)
    y[:sub_res.certificate.size] = sub_res.certificate
    bound = norm_bound(sg.H, sg.eq.array(), y, partial(sg.eq.adjoint, y=y, V=sg.V), sg.V)
    assert not bound > SCALE_CAP
    e = StructuredGeometry(sub).eq  # unmapped tokens are not the instance's support tokens
    assert anchored_equations(sg, K[e.ctx], e.plus, e.minus, sub_res.certificate) is None


def test_an_inconclusive_sub_instance_does_not_end_the_search(monkeypatch):
    """A sub-instance whose certificate proves too little leaves the decision to the next
    vocabulary and to the whole instance, which still certifies."""
    from ntpverify.core import structured

    inst = zipf_corpus(2)
    monkeypatch.setattr(structured, "_incompatible_on", lambda sg, T, sub, K: structured.Compatibility(
        structured.Status("inconclusive", "too weak"), None, None, 1.0))
    res = compatibility_structured(StructuredGeometry(inst))
    assert res.compatible is False and "tokens in the most supports" not in res.status.reason
