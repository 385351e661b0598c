"""Lesson 01's reference solution against independent oracles.

- Hugging Face ``tokenizers`` loaded with our vocab and merges must encode > 1 MB of varied text
  (ASCII, accents, Greek, Cyrillic, CJK, emoji, code, whitespace runs, special tokens) id for id.
- ``train_bpe`` must equal a brute-force trainer (recount everything, every merge) on random
  small inputs (hypothesis), serial and parallel.
- Round trips: ``decode(encode(s)) == s`` and ``encode_iterable == encode`` for any string and
  any chunking; the GPT-2 file format survives save/load.

Run: ``python -m pytest grader/tests/test_tokenization.py -q`` (about a minute).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import regex as re
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.nbmodule import load_notebook
from helpers.env import REPO_ROOT
from helpers.mixed_text import generate_mixed_text
from helpers.stories import generate_stories
from helpers.tokenization import (
    GPT2_PATTERN,
    bytes_to_unicode,
    hf_tokenizer,
    load_tokenizer_files,
    save_tokenizer_files,
)

EOT = "<|endoftext|>"
SOLUTION = REPO_ROOT / "solutions" / "01_bpe_tokenizer.ipynb"


@pytest.fixture(scope="module")
def nb():
    return load_notebook(SOLUTION)


def brute_force_bpe(text: str, vocab_size: int, special_tokens: list[str]):
    """The definition of BPE training, with no cleverness: recount all pairs at every merge."""
    words: Counter = Counter()
    pattern = "(" + "|".join(map(re.escape, sorted(special_tokens, key=len, reverse=True))) + ")"
    pieces = re.split(pattern, text) if special_tokens else [text]
    for piece in pieces:
        if piece in special_tokens:
            continue
        for pre in re.findall(GPT2_PATTERN, piece):
            words[tuple(bytes([b]) for b in pre.encode())] += 1
    vocab = {i: bytes([i]) for i in range(256)}
    for s in special_tokens:
        vocab[len(vocab)] = s.encode()
    merges = []
    while len(vocab) < vocab_size:
        pairs: Counter = Counter()
        for w, c in words.items():
            for p in zip(w, w[1:]):
                pairs[p] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        vocab[len(vocab)] = best[0] + best[1]
        merged: Counter = Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += c
        words = merged
    return vocab, merges


@pytest.fixture(scope="module")
def corpus_1mb(tmp_path_factory) -> tuple[Path, str]:
    """Just over 1 MB of stories and adversarial mixed-script text, separated by EOT."""
    parts = [generate_mixed_text(600_000, seed=7)]
    parts += list(generate_stories(num_bytes=500_000, seed=7))
    text = f"\n{EOT}\n".join(parts)
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_bytes(text.encode("utf-8"))  # no newline translation
    assert len(text.encode()) > 1_000_000
    return path, text


@pytest.fixture(scope="module")
def trained(nb, corpus_1mb):
    path, _ = corpus_1mb
    return nb.train_bpe(path, 3_000, [EOT])


def test_encode_equals_huggingface_on_a_megabyte(nb, corpus_1mb, trained):
    _, text = corpus_1mb
    vocab, merges = trained
    ours = nb.Tokenizer(vocab, merges, [EOT]).encode(text)
    theirs = hf_tokenizer(vocab, merges, [EOT]).encode(text).ids
    first_diff = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), None)
    assert len(ours) == len(theirs) and first_diff is None, (
        f"first difference at token {first_diff}")


def test_parallel_training_equals_serial(nb, corpus_1mb, trained):
    path, _ = corpus_1mb
    assert nb.train_bpe(path, 3_000, [EOT], num_processes=1) == trained


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.lists(st.sampled_from(["a", "b", "ab", " ", "  ", "\n", "é", "猫", "!", "'s", "1",
                                   EOT]), max_size=40).map("".join),
    extra=st.integers(0, 40),
)
def test_train_equals_brute_force(nb, tmp_path_factory, text, extra):
    path = tmp_path_factory.mktemp("bf") / "t.txt"
    path.write_text(text, encoding="utf-8")
    assert nb.train_bpe(path, 257 + extra, [EOT]) == brute_force_bpe(text, 257 + extra, [EOT])


@pytest.fixture(scope="module")
def tokenizer(nb, trained):
    return nb.Tokenizer(*trained, [EOT])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_round_trip_any_string(tokenizer, s):
    assert tokenizer.decode(tokenizer.encode(s)) == s


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "l", "'", "'ll", " ", "   ", "\n", "\t", "é", "🙂", EOT, "<|",
                                 "end",
                                 "oftext|>", "1", "!"]), max_size=30),
       st.lists(st.integers(0, 200), max_size=6))
def test_encode_iterable_equals_encode(tokenizer, pieces, cuts):
    s = "".join(pieces)
    cuts = sorted({c % (len(s) + 1) for c in cuts})
    chunks = [s[a:b] for a, b in zip([0, *cuts], [*cuts, len(s)])]
    assert list(tokenizer.encode_iterable(chunks)) == tokenizer.encode(s), chunks


def test_encode_iterable_over_a_file(tokenizer, corpus_1mb):
    path, text = corpus_1mb
    with open(path, encoding="utf-8", newline="") as f:  # keep the sample's "\r\n"
        assert list(tokenizer.encode_iterable(f)) == tokenizer.encode(text)


def test_file_format_round_trip(nb, trained, tmp_path):
    vocab, merges = trained
    save_tokenizer_files(vocab, merges, tmp_path / "vocab.json", tmp_path / "merges.txt")
    loaded = load_tokenizer_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
    assert loaded == (vocab, list(merges))
    loaded = nb.Tokenizer.from_files(tmp_path / "vocab.json", tmp_path / "merges.txt", [EOT])
    assert loaded.vocab == nb.Tokenizer(vocab, merges, [EOT]).vocab
    # GPT-2's printable stand-ins: the space is "Ġ", every byte has one distinct character.
    assert bytes_to_unicode()[ord(" ")] == "Ġ" and len(set(bytes_to_unicode().values())) == 256


def test_bad_tokenizer_files_give_clear_errors(tmp_path):
    (tmp_path / "vocab.json").write_text("not json")
    (tmp_path / "merges.txt").write_text("a b\n")
    with pytest.raises(ValueError, match="not a JSON vocabulary"):
        load_tokenizer_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
    (tmp_path / "vocab.json").write_text('{"a": 0}')
    (tmp_path / "merges.txt").write_text("a b c\n")
    with pytest.raises(ValueError, match="expected two tokens"):
        load_tokenizer_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
