"""Token data on disk (helpers/data.py): streaming, resumable tokenization and the corpus cache.

- Reference data: tokenizing a file in chunks gives exactly the ids of encoding it whole, and
  they decode back to the text.
- Resumability: a run stopped after some chunks (or with garbage past the recorded end, as a
  kill between writing ids and the sidecar leaves) continues to a byte-identical file.
- ``prepare_corpus`` trains, tokenizes and caches, and reuses its cache.

Run: ``python -m pytest grader/tests/test_data.py -q`` (a few seconds).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import data
from helpers.data import EOT, load_tokens, prepare_corpus, tokenize_file
from helpers.stories import STORIES_SAMPLE
from helpers.tokenization import hf_tokenizer, hf_train_bpe

TEXT = STORIES_SAMPLE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tokenizer():
    vocab, merges = hf_train_bpe([STORIES_SAMPLE], 400, special_tokens=[EOT])
    return hf_tokenizer(vocab, merges, special_tokens=[EOT])


@pytest.fixture
def text_file(tmp_path) -> Path:
    path = tmp_path / "stories.txt"
    path.write_text(TEXT[:60_000], encoding="utf-8")
    return path


def test_chunks_give_the_ids_of_the_whole_file(tmp_path, text_file, tokenizer):
    ids = tokenize_file(text_file, tokenizer, tmp_path / "a.bin", chunk_bytes=4096, progress=False)
    expected = tokenizer.encode(text_file.read_text(encoding="utf-8")).ids
    assert ids.dtype == np.uint16 and ids.shape == (len(expected),)
    np.testing.assert_array_equal(ids, expected)
    assert tokenizer.decode(ids.tolist(), skip_special_tokens=False) == text_file.read_text()
    assert (ids == tokenizer.token_to_id(EOT)).sum() == TEXT[:60_000].count(EOT)
    sidecar = json.loads((tmp_path / "a.bin.json").read_text())
    assert sidecar["done"] and sidecar["tokens_written"] == len(expected)
    assert not load_tokens(tmp_path / "a.bin").flags.writeable


def test_resume_gives_identical_bytes(tmp_path, text_file, tokenizer):
    whole = tmp_path / "whole.bin"
    tokenize_file(text_file, tokenizer, whole, chunk_bytes=4096, progress=False)
    part = tmp_path / "part.bin"
    first = tokenize_file(text_file, tokenizer, part, chunk_bytes=4096, progress=False,
                          max_chunks=3)
    assert 0 < len(first) < len(load_tokens(whole)), "max_chunks=3 should stop part-way"
    # A kill after writing ids but before recording them leaves extra bytes: they must go.
    with open(part, "ab") as f:
        f.write(b"\xff" * 1000)
    tokenize_file(text_file, tokenizer, part, chunk_bytes=4096, progress=False, max_chunks=2)
    tokenize_file(text_file, tokenizer, part, chunk_bytes=4096, progress=False)
    assert part.read_bytes() == whole.read_bytes()


def test_interrupted_by_an_exception(tmp_path, text_file, tokenizer):
    class Flaky:
        """Delegates to the tokenizer, but dies on the 4th chunk (as a killed process would)."""

        def __init__(self, inner):
            self.inner, self.calls = inner, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def encode_batch(self, texts):
            self.calls += 1
            if self.calls == 4:
                raise KeyboardInterrupt
            return self.inner.encode_batch(texts)

    whole = Flaky(tokenizer)
    whole.calls = 10  # never fails
    tokenize_file(text_file, whole, tmp_path / "whole.bin", chunk_bytes=4096, progress=False)
    num_chunks = whole.calls - 10
    out = tmp_path / "flaky.bin"
    with pytest.raises(KeyboardInterrupt):
        tokenize_file(text_file, Flaky(tokenizer), out, chunk_bytes=4096, progress=False)
    resumed = Flaky(tokenizer)
    resumed.calls = 10  # never fails again
    ids = tokenize_file(text_file, resumed, out, chunk_bytes=4096, progress=False)
    np.testing.assert_array_equal(ids, tokenizer.encode(text_file.read_text()).ids)
    assert resumed.calls - 10 == num_chunks - 3, "the resumed run should redo only the 4th chunk on"
    again = Flaky(tokenizer)
    tokenize_file(text_file, again, out, chunk_bytes=4096, progress=False)
    assert again.calls == 0, "a finished file is reused, not re-encoded"


def test_long_document_and_no_trailing_separator(tmp_path, tokenizer):
    text = "word " * 5000 + EOT + "\nshort one\n" + EOT + "\nlast story, no separator after it"
    path = tmp_path / "long.txt"
    path.write_text(text)
    ids = tokenize_file(path, tokenizer, tmp_path / "long.bin", chunk_bytes=1000, progress=False)
    np.testing.assert_array_equal(ids, tokenizer.encode(text).ids)


def test_vocab_must_fit_dtype(tmp_path, text_file, tokenizer):
    with pytest.raises(ValueError, match="uint32"):
        tokenize_file(text_file, tokenizer, tmp_path / "x.bin", dtype=np.uint8, progress=False)
    ids = tokenize_file(text_file, tokenizer, tmp_path / "x32.bin", dtype=np.uint32, progress=False)
    assert ids.dtype == np.uint32


def test_prepare_corpus_with_text_paths(tmp_path):
    cut = TEXT.index(EOT, 200_000) + len(EOT)
    train_txt, valid_txt = tmp_path / "train.txt", tmp_path / "valid.txt"
    train_txt.write_text(TEXT[:cut])
    valid_txt.write_text(TEXT[cut:])
    corpus = prepare_corpus(0, 300, text_paths=(train_txt, valid_txt), data_dir=tmp_path,
                            progress=False)
    assert corpus.directory == tmp_path / "lm_train_v300"
    assert corpus.tokenizer.get_vocab_size() == 300
    assert corpus.eot_id == corpus.tokenizer.token_to_id(EOT)
    assert corpus.vocab_path.exists() and corpus.merges_path.exists()
    assert corpus.train.dtype == np.uint16 and len(corpus.train) > len(corpus.valid) > 0
    assert corpus.tokenizer.decode(corpus.valid.tolist(), skip_special_tokens=False) == TEXT[cut:]
    again = prepare_corpus(0, 300, text_paths=(train_txt, valid_txt), data_dir=tmp_path,
                           progress=False)
    np.testing.assert_array_equal(again.train, corpus.train)
    with pytest.raises(FileNotFoundError):
        prepare_corpus(0, 300, text_paths=(tmp_path / "nope.txt", valid_txt), data_dir=tmp_path)


def test_prepare_corpus_from_generated_stories(tmp_path, monkeypatch):
    import helpers.stories

    monkeypatch.setattr(helpers.stories, "DATA_DIR", tmp_path)
    corpus = prepare_corpus(1, 400, seed=3, data_dir=tmp_path, progress=False)
    assert corpus.directory == tmp_path / "lm_1mb_v400_s3"
    assert (tmp_path / "stories_1mb_seed3.txt").exists()
    assert len(corpus.train) > 150_000 and 0 < len(corpus.valid) < len(corpus.train) / 30
    assert data.load_tokens(corpus.directory / "train.bin").shape == corpus.train.shape
