"""Real text in, research answers out (issue 11): ``ntpverify corpus``.

A text becomes sequences (``lines``, ``paragraphs`` or the whole ``file``; empty ones skipped),
each sequence tokens (``whitespace``: ``str.split()`` and nothing else; ``words``: lowercased runs
of letters, digits and apostrophes; ``chars``: every character), the tokens ids (descending
frequency, ties by first appearance; with ``vocab = N`` the N most frequent are kept and every
other token becomes ``<unk>``, id N), and the id sequences an instance (theory.md §1) through
:meth:`Instance.from_sequences`: with ``window = L`` every position with at least L tokens before
it in its sequence is a context, its L predecessors, as an n-gram model sees them; without a
window every prefix is (the paper's App. C). Contexts are embedded by a seeded Gaussian map into
R^d or one-hot (d = m). The vocabulary is carried as ``x-vocabulary``.

Built-in texts need no network: the standard library's own (:data:`BUILTINS`).
"""

from __future__ import annotations

import ast
import codecs
import importlib.util
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ntpverify.core.embeddings import Embedding, gaussian, one_hot
from ntpverify.core.errors import InputError
from ntpverify.core.instance import Instance
from ntpverify.core.solution import Solution, solve

SEQUENCES = ("lines", "paragraphs", "file")
TOKENIZERS = ("whitespace", "words", "chars")
EMBEDDINGS = ("gaussian", "one-hot")
UNKNOWN = "<unk>"
_WORD = re.compile(r"(?:[^\W_]|')+")


def _zen() -> str:
    """The Zen of Python, read from the stdlib's ``this`` module without importing it (importing
    prints it): its rot13 string literal ``s``, decoded."""
    spec = importlib.util.find_spec("this")
    if spec is None or spec.origin is None:
        raise InputError("--builtin", "this: the standard library module is not available")
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "s" for t in node.targets):
            return codecs.decode(ast.literal_eval(node.value), "rot13")
    raise InputError("--builtin", "this: no string 's' in the module")


def _pydoc_topics() -> str:
    """The Python documentation topics the stdlib ships (``pydoc_data.topics``, ~65k words)."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


#: Built-in corpora: name → (description, reader). All ship with Python itself (PSF licence).
BUILTINS: dict[str, tuple[str, Callable[[], str]]] = {
    "this": ("The Zen of Python (stdlib module `this`, 19 aphorisms)", _zen),
    "pydoc-topics": ("Python's documentation topics (stdlib pydoc_data.topics, ~65k words)", _pydoc_topics),
}


def builtin_text(name: str) -> str:
    if name not in BUILTINS:
        raise InputError("--builtin", f"unknown corpus {name!r}; built in: {', '.join(BUILTINS)}")
    return BUILTINS[name][1]()


def split_sequences(text: str, how: str) -> list[str]:
    """The sequences of ``text``: its lines, its blank-line-separated paragraphs, or all of it;
    empty (whitespace-only) ones skipped."""
    if how == "lines":
        parts = text.splitlines()
    elif how == "paragraphs":
        parts = re.split(r"\n\s*\n", text)
    elif how == "file":
        parts = [text]
    else:
        raise InputError("--sequences", f"is {how!r}, expected one of {', '.join(SEQUENCES)}")
    return [p for p in parts if p.strip()]


def tokenize(sequence: str, how: str) -> list[str]:
    """``whitespace``: ``str.split()``; ``words``: lowercased runs of letters, digits and
    apostrophes; ``chars``: every character (newlines of a paragraph or file included)."""
    if how == "whitespace":
        return sequence.split()
    if how == "words":
        return _WORD.findall(sequence.lower())
    if how == "chars":
        return list(sequence)
    raise InputError("--tokenize", f"is {how!r}, expected one of {', '.join(TOKENIZERS)}")


def vocabulary(sequences: list[list[str]], cap: int | None) -> list[str]:
    """Tokens by descending count, ties by first appearance; with ``cap``, the ``cap`` most
    frequent and, if any token was left out, ``<unk>`` last (id ``cap``)."""
    counts = Counter(t for seq in sequences for t in seq)  # insertion order is first appearance
    order = sorted(counts, key=lambda t: -counts[t])  # stable: ties keep first appearance
    if cap is not None and len(order) > cap:
        return order[:cap] + [UNKNOWN]
    return order


@dataclass(frozen=True)
class CorpusOptions:
    """The options of ``ntpverify corpus`` (each default documented in ``--help``)."""

    sequences: str = "lines"
    tokenize: str = "whitespace"
    vocab: int | None = None
    window: int | None = None
    embedding: str = "gaussian"
    d: int = 64
    seed: int = 0

    def validate(self) -> None:
        if self.sequences not in SEQUENCES:
            raise InputError("--sequences", f"is {self.sequences!r}, expected one of {', '.join(SEQUENCES)}")
        if self.tokenize not in TOKENIZERS:
            raise InputError("--tokenize", f"is {self.tokenize!r}, expected one of {', '.join(TOKENIZERS)}")
        if self.embedding not in EMBEDDINGS:
            raise InputError("--embedding", f"is {self.embedding!r}, expected one of {', '.join(EMBEDDINGS)}")
        for name, value in (("--vocab", self.vocab), ("--window", self.window), ("--d", self.d)):
            if value is not None and value < 1:
                raise InputError(name, f"is {value}, expected an integer ≥ 1")
        if self.seed < 0:
            raise InputError("--seed", f"is {self.seed}, expected an integer ≥ 0")


def corpus_instance(text: str, options: CorpusOptions, name: str | None = None) -> tuple[Instance, int]:
    """The instance of ``text`` under ``options`` and the number of tokens counted."""
    options.validate()
    token_seqs = [tokenize(s, options.tokenize) for s in split_sequences(text, options.sequences)]
    token_seqs = [t for t in token_seqs if t]
    if not token_seqs:
        raise InputError("<text>", "has no tokens (empty, or only whitespace)")
    vocab = vocabulary(token_seqs, options.vocab)
    ids = {t: i for i, t in enumerate(vocab)}
    # every token has an id unless the vocabulary was capped, and then <unk> is the last one
    unk = len(vocab) - 1
    id_seqs = [[ids.get(t, unk) for t in seq] for seq in token_seqs]
    if options.window is None:
        seqs, L = id_seqs, None
    else:  # every position with L predecessors: one (L+1)-token window per position
        L = options.window
        seqs = [seq[t - L:t + 1] for seq in id_seqs for t in range(L, len(seq))]
        if not seqs:
            raise InputError("--window", f"is {L}: no sequence has more than {L} tokens")
    if L is None and not any(len(s) > 1 for s in seqs):
        raise InputError("<text>", "no sequence has two tokens: nothing to predict")
    embed: Embedding = gaussian(options.d, options.seed) if options.embedding == "gaussian" else one_hot()
    inst = Instance.from_sequences(seqs, L, embed, vocab_size=max(len(vocab), 2), name=name,
                                   extras={"x-vocabulary": vocab})
    return inst, sum(len(s) for s in id_seqs)


@dataclass(frozen=True)
class CorpusReport:
    """What ``ntpverify corpus`` prints: the instance's shape and its answers."""

    source: str
    options: CorpusOptions
    instance: Instance
    tokens: int
    solution: Solution
    seconds: float
    #: D1's certified ``CE(W) − ℋ ≥ gap`` on a ball (core/gap.py) when a condition fails, else None
    gap: float | None = None
    gap_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        inst, sol = self.instance, self.solution
        sizes = Counter(np.diff(inst.support_indptr).tolist())  # |S_j|, from the CSR rows
        return {
            "format": "ntpverify.corpus/1", "source": self.source, "options": self.options.__dict__,
            "V": inst.V, "m": inst.m, "d": inst.d, "tokens": self.tokens,
            "support_sizes": {str(k): sizes[k] for k in sorted(sizes)},
            "entropy": sol.entropy, "F_dim": sol.F_dim,
            "compatible": sol.compatible, "separable": sol.separable,
            "W_star_norm": None if sol.W_star is None else float(np.linalg.norm(sol.W_star)),
            "W_mm_norm": sol.W_mm_norm,
            "certified_gap": self.gap, "certified_gap_note": self.gap_note,
            "certificates": sol.certificates(), "seconds": self.seconds,
        }

    def summary(self) -> str:
        d = self.to_dict()
        hist = ", ".join(f"|S|={k}: {n}" for k, n in d["support_sizes"].items())
        def yn(b: bool | None) -> str:
            return {True: "yes", False: "no", None: "inconclusive"}[b]
        sol = self.solution
        lines = [f"corpus {self.source}: {self.tokens} tokens, V = {d['V']}, m = {d['m']} contexts, d = {d['d']}",
                 f"  support sizes    {hist}",
                 f"  entropy          {d['entropy']:.12g}",
                 f"  dim F            {d['F_dim']}",
                 f"  compatible       {yn(sol.compatible)}  ({sol.compat.status.reason or 'verified'})",
                 f"  separable        {yn(sol.separable)}  ({sol.sep.status.reason})"]
        if d["W_star_norm"] is not None:
            lines.append(f"  ||W_star||       {d['W_star_norm']:.12g}")
        if d["W_mm_norm"] is not None:
            lines.append(f"  ||W_mm||         {d['W_mm_norm']:.12g}  (margin {1 / d['W_mm_norm']:.6g})")
        else:
            lines.append(f"  W_mm             {sol.mm.status.state}: {sol.mm.status.reason}")
        if self.gap is not None or self.gap_note:
            gap = "" if self.gap is None else f"CE(W) − ℋ ≥ {self.gap:.6g} "
            lines.append(f"  certified gap    {gap}{self.gap_note}")
        lines.append(f"  time             {self.seconds:.3g} s")
        return "\n".join(lines)


def corpus(text: str, source: str, options: CorpusOptions) -> CorpusReport:
    """Build the instance of ``text`` and solve it (the structured route beyond the dense one's
    size, solution.solve's ``auto``)."""
    start = time.perf_counter()
    inst, tokens = corpus_instance(text, options, name=source)
    sol = solve(inst)
    _ = sol.F_dim, sol.status  # the lazy parts are reported, so they are timed too
    gap, note = certified_gap(inst, sol)
    return CorpusReport(source, options, inst, tokens, sol, round(time.perf_counter() - start, 3), gap, note)


#: The max-entropy dual of core/gap.py is a dense exponential-cone program in m·V variables:
#: beyond this many it is not attempted (measured: ~1 s at 2000).
GAP_MAX_ENTRIES = 4000


def certified_gap(inst: Instance, sol: Solution) -> tuple[float | None, str]:
    """D1's certified gap when compatibility or separability fails (core/gap.py), with a note."""
    if sol.compatible is not False and sol.separable is not False:
        return None, ""
    if inst.m * inst.V > GAP_MAX_ENTRIES:
        return None, f"not computed: m·V = {inst.m * inst.V} > {GAP_MAX_ENTRIES} (dense dual)"
    from ntpverify.core.gap import MIN_CERTIFIED_GAP, MIN_CERTIFIED_RADIUS, certified_gap_lower_bound
    from ntpverify.core.status import Inconclusive

    try:
        L, B_cert, _ = certified_gap_lower_bound(inst)
    except Inconclusive as e:
        return None, f"inconclusive: {e.reason}"
    if L < MIN_CERTIFIED_GAP or B_cert < MIN_CERTIFIED_RADIUS:
        return None, f"inconclusive: certificate too weak (L = {L:.3g}, radius {B_cert:.3g})"
    return L / 2.0, f"for every W with ‖W‖ ≤ {B_cert:.3g} (D1, core/gap.py)"


def list_builtins() -> str:
    width = max(map(len, BUILTINS))
    return "\n".join(f"{name:<{width}}  {desc}" for name, (desc, _) in BUILTINS.items())


__all__ = ["BUILTINS", "CorpusOptions", "CorpusReport", "builtin_text", "corpus", "corpus_instance",
           "list_builtins", "split_sequences", "tokenize", "vocabulary"]
