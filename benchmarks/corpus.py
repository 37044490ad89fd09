"""``python -m benchmarks corpus [--quick]``: ``ntpverify corpus`` on texts it was not tuned on (issue 11).

Issue 11's bar is a 10⁵-token text at window 1 within 60 s, with certified answers. The texts:

* a synthetic whitespace text of 10⁵ tokens drawn i.i.d. from Zipf(1.1) over 5000 words (seeded,
  lines of 5–29 tokens): a full vocabulary, no cap, and a word distribution like natural text's;
* Python's documentation (``--builtin pydoc-topics``), words at windows 1 and 2, full vocabulary.

Each row is one ``corpus()`` call timed in this process, the lazy parts (dim F, statuses)
included, as the command reports them. ``--quick`` keeps the first row.
"""

from __future__ import annotations

import numpy as np

from ntpverify.tools.corpus import CorpusOptions, builtin_text, corpus

from .scale import quick

#: The synthetic text: tokens, vocabulary size, Zipf exponent, seed.
ZIPF_TOKENS, ZIPF_WORDS, ZIPF_EXPONENT, ZIPF_SEED = 100_000, 5000, 1.1, 1


def zipf_text(tokens: int = ZIPF_TOKENS, words: int = ZIPF_WORDS, exponent: float = ZIPF_EXPONENT,
              seed: int = ZIPF_SEED) -> str:
    """``tokens`` words ``w<i>`` drawn i.i.d. with ``P(i) ∝ (i+1)^−exponent``, in lines of 5–29."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, words + 1) ** exponent
    stream = rng.choice(words, size=tokens, p=p / p.sum())
    lines, i = [], 0
    while i < stream.size:
        n = int(rng.integers(5, 30))
        lines.append(" ".join(f"w{t}" for t in stream[i:i + n]))
        i += n
    return "\n".join(lines) + "\n"


def main() -> None:
    rows = [("zipf-1e5", zipf_text, CorpusOptions(window=1, d=64)),
            ("zipf-1e5", zipf_text, CorpusOptions(window=1, d=128)),
            ("pydoc-topics", lambda: builtin_text("pydoc-topics"), CorpusOptions(tokenize="words", window=1, d=128)),
            ("pydoc-topics", lambda: builtin_text("pydoc-topics"), CorpusOptions(tokenize="words", window=2, d=128))]
    if quick():
        rows = rows[:1]
    print(f"{'text':13s} {'tokens':>7s} {'window':>6s} {'d':>4s} {'V':>5s} {'m':>6s} {'dim F':>6s} "
          f"{'compat':>6s} {'sep':>6s} {'seconds':>8s}  (target: 10⁵ tokens at window 1 ≤ 60 s)")
    word = {True: "yes", False: "no", None: "?"}
    for name, text, options in rows:
        rep = corpus(text(), name, options)
        sol, inst = rep.solution, rep.instance
        print(f"{name:13s} {rep.tokens:7d} {options.window:6d} {options.d:4d} {inst.V:5d} {inst.m:6d} "
              f"{str(sol.F_dim):>6s} {word[sol.compatible]:>6s} {word[sol.separable]:>6s} {rep.seconds:8.2f}",
              flush=True)


if __name__ == "__main__":
    main()
