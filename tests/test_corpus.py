"""`ntpverify corpus` (tools/corpus.py): tokenizers, vocabulary order and cap, windows, built-in
texts, the command's output and its errors (exit 2, one line naming the option)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ntpverify.core.errors import InputError
from ntpverify.core.instance import Instance
from ntpverify.tools.cli import main
from ntpverify.tools.corpus import (UNKNOWN, CorpusOptions, builtin_text, corpus_instance, split_sequences,
                                    tokenize, vocabulary)


def test_tokenizers_do_what_their_names_say():
    assert tokenize("It's  a\tTest, 42!", "whitespace") == ["It's", "a", "Test,", "42!"]
    assert tokenize("It's  a\tTest, 42!", "words") == ["it's", "a", "test", "42"]
    assert tokenize("ab c", "chars") == ["a", "b", " ", "c"]


def test_sequences_skip_empty_ones():
    text = "a b\n\n  \nc d\ne\n"
    assert split_sequences(text, "lines") == ["a b", "c d", "e"]
    assert split_sequences(text, "paragraphs") == ["a b", "c d\ne\n"]
    assert split_sequences(text, "file") == [text]


def test_vocabulary_is_by_frequency_then_first_appearance_and_caps_to_unk():
    seqs = [["b", "a", "c", "a", "b", "d"]]
    assert vocabulary(seqs, None) == ["b", "a", "c", "d"]  # b, a twice (b first); c, d once
    assert vocabulary(seqs, 2) == ["b", "a", UNKNOWN]
    assert vocabulary(seqs, 4) == ["b", "a", "c", "d"]  # nothing left out: no <unk>


def test_a_window_skips_positions_with_too_few_predecessors():
    inst, tokens = corpus_instance("x y z\nx y w", CorpusOptions(window=2, embedding="one-hot"))
    assert tokens == 6 and inst.m == 1  # one context (x, y), followed by z and by w
    vocab = inst.extras["x-vocabulary"]
    row = dict(zip(vocab, inst.next_token_probs[0].tolist(), strict=True))
    assert row["z"] == row["w"] == 0.5


def test_unk_gets_id_N():
    inst, _ = corpus_instance("a a a b c", CorpusOptions(vocab=1, window=1, embedding="one-hot"))
    assert inst.extras["x-vocabulary"] == ["a", UNKNOWN] and inst.V == 2


def test_the_zen_is_read_without_printing_it(capfd):
    text = builtin_text("this")
    assert text.startswith("The Zen of Python, by Tim Peters") and capfd.readouterr().out == ""


def test_corpus_command_prints_answers_and_saves_the_instance(tmp_path, capsys):
    out = tmp_path / "zen.json"
    assert main(["corpus", "--builtin", "this", "--window", "2", "--d", "32", "--json", "--out", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "ntpverify.corpus/1" and doc["compatible"] is True and doc["separable"] is True
    assert doc["V"] == Instance.load(out).V and "x-vocabulary" in Instance.load(out).extras
    assert isinstance(json.loads(out.read_text())["next_token_probs"], dict)  # the sparse form


@pytest.mark.parametrize("argv, needle", [
    (["--builtin", "nope"], "--builtin"),
    (["--builtin", "this", "--sequences", "words"], "--sequences"),
    (["--builtin", "this", "--tokenize", "bytes"], "--tokenize"),
    (["--builtin", "this", "--embedding", "random"], "--embedding"),
    (["--builtin", "this", "--window", "2", "--all-prefixes"], "--all-prefixes"),
    (["--builtin", "this", "--window", "500"], "--window"),
    (["--builtin", "this", "--vocab", "0"], "--vocab"),
    ([], "TEXT"),
])
def test_bad_options_exit_2_naming_the_option(argv, needle, capsys):
    assert main(["corpus", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_empty_or_unreadable_text_exits_2(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n")
    assert main(["corpus", str(empty)]) == 2
    assert "no tokens" in capsys.readouterr().err
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    assert main(["corpus", str(binary)]) == 2
    assert "UTF-8" in capsys.readouterr().err
    assert main(["corpus", str(tmp_path)]) == 2  # a directory


def test_stdin_is_a_text():
    out = subprocess.run([sys.executable, "-m", "ntpverify.tools.cli", "corpus", "-", "--window", "1", "--json"],
                         input="a b a c\n", capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["m"] == 2  # contexts (a) → b or c, and (b) → a


def test_options_are_validated_in_the_library_too():
    with pytest.raises(InputError, match="--d"):
        corpus_instance("a b", CorpusOptions(d=0))


def test_a_non_separable_corpus_reports_the_certified_gap():
    from ntpverify.tools.corpus import corpus

    opts = CorpusOptions(tokenize="chars", window=2, d=8, vocab=12)
    report = corpus(builtin_text("this"), "this", opts)
    assert report.solution.separable is False
    assert report.gap is not None and report.gap > 0 and "‖W‖ ≤" in report.gap_note


def test_a_corpus_beyond_the_dense_cap_builds_in_sparse_form():
    from ntpverify.core.instance import MAX_ENTRIES

    text = builtin_text("pydoc-topics")
    inst, _ = corpus_instance(text, CorpusOptions(tokenize="words", vocab=2000, window=2, d=8))
    assert inst.V == 2001 and inst.m * inst.V > MAX_ENTRIES  # refused before the CSR storage
    assert inst.nnz == sum(map(len, inst.supports)) < 2 * inst.m
    with pytest.raises(InputError, match="only available in sparse form"):
        _ = inst.support_mask

