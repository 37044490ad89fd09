"""Fixed context embeddings ``h``: maps from a context (a tuple of token ids) to ``h_j ∈ R^d``.

The theory (theory.md §1) takes the embeddings as given and never trains them. An embedding is
either a callable ``context -> 1-D array`` (each context on its own) or an object with
``embed_all(contexts) -> m×d array`` (a map that needs the whole list of contexts, e.g. one-hot of
the context's index). :func:`embed_contexts` accepts both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

Context = tuple[int, ...]


@runtime_checkable
class BatchEmbedding(Protocol):
    """An embedding that sees all contexts at once, in instance order."""

    def embed_all(self, contexts: Sequence[Context]) -> np.ndarray: ...


Embedding = Callable[[Context], Any] | BatchEmbedding


def embed_contexts(embed: Embedding, contexts: Sequence[Context]) -> np.ndarray | list[Any]:
    """The rows ``h_j`` for ``contexts`` in order: ``embed.embed_all(contexts)`` if it exists,
    else ``[embed(c) for c in contexts]``.

    Rows are returned as produced; the Instance validates them (shape, finiteness) and names the
    offending row.
    """
    if isinstance(embed, BatchEmbedding):
        return embed.embed_all(contexts)
    return [embed(context) for context in contexts]


@dataclass(frozen=True)
class GaussianEmbedding:
    """``h(c) ~ N(0, I_d / d)``, drawn from a generator seeded by ``(seed, len(c), *c)``.

    The draw depends only on the seed and the context itself, so the same context gets the same
    vector in every call, process and corpus. The length is part of the seed because numpy's
    SeedSequence ignores trailing zero words: without it ``(0,)`` and ``(0, 0)`` would collide.
    Token ids must be below 2**32 (one seed word each), which every admissible vocabulary is.
    The 1/sqrt(d) scale makes ``E‖h‖² = 1`` for every d.
    """

    d: int
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.d, bool) or not isinstance(self.d, int) or self.d < 1:
            raise ValueError(f"d must be a positive int, got {self.d!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {self.seed!r}")

    def __call__(self, context: Context) -> np.ndarray:
        rng = np.random.default_rng([self.seed, len(context), *map(int, context)])
        return rng.standard_normal(self.d) / math.sqrt(self.d)


@dataclass(frozen=True)
class OneHotEmbedding:
    """``h_j = e_j ∈ R^m``: the one-hot vector of the context's index, so ``H = I_m``.

    Mutually orthogonal unit embeddings: the setting of theory.md's closed forms (§2), where the
    instance is compatible and separable for every choice of supports (Lemma 1, rank H = m).
    """

    def embed_all(self, contexts: Sequence[Context]) -> np.ndarray:
        return np.eye(len(contexts))


def gaussian(d: int, seed: int = 0) -> GaussianEmbedding:
    """A seeded random Gaussian map into R^d (see :class:`GaussianEmbedding`)."""
    return GaussianEmbedding(d, seed)


def one_hot() -> OneHotEmbedding:
    """One-hot of the context index, ``d = m`` (see :class:`OneHotEmbedding`)."""
    return OneHotEmbedding()
