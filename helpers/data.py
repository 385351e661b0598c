"""Token data for language-model training: text files -> flat arrays of token ids on disk.

- ``tokenize_file`` streams a text file in chunks of about ``chunk_bytes``, each cut just after
  an ``<|endoftext|>``, so the ids equal those of encoding the whole file at once (a
  tokenizer never merges across a special token) and memory stays flat. Each chunk is split
  into documents and encoded in parallel (``Tokenizer.encode_batch``).
- Output is a raw ``.bin`` of ``uint16`` ids (vocabularies up to 65,536; checked), read back
  without copying as a ``np.memmap`` (``load_tokens``), as nanoGPT does.
- Resumable: a sidecar ``<out>.json`` records the bytes consumed and tokens written after
  each chunk (written atomically, after the ids). An interrupted run is continued by running
  it again, and gives a byte-identical file; a finished file is reused.
- ``prepare_corpus(mb, vocab_size, seed)`` is a lesson's one-liner: the kit's generated
  stories (``helpers.stories``), a byte-level BPE tokenizer trained on the train split with
  Hugging Face ``tokenizers``, both splits tokenized; everything cached under
  ``DATA_DIR/lm_{mb}mb_v{vocab_size}_s{seed}/``. ``text_paths=(train, valid)`` swaps in other
  text, e.g. TinyStories (``python -m helpers.download get tinystories``).

Test: ``python -m pytest grader/tests/test_data.py -q``.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.env import DATA_DIR

EOT = "<|endoftext|>"
TINYSTORIES_DIR = DATA_DIR / "tinystories"
TINYSTORIES_PATHS = (TINYSTORIES_DIR / "TinyStoriesV2-GPT4-train.txt",
                     TINYSTORIES_DIR / "TinyStoriesV2-GPT4-valid.txt")


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _write_json_atomic(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _tokenizer_digest(tokenizer) -> str:
    return hashlib.sha256(tokenizer.to_str().encode("utf-8")).hexdigest()[:16]


def _documents(text: str, separator: str) -> list[str]:
    """Split text after each separator (kept), so the tokenizer sees the same boundaries."""
    parts = text.split(separator)
    return [p + separator for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def tokenize_file(
    text_path: str | os.PathLike,
    tokenizer,
    out_path: str | os.PathLike,
    dtype=np.uint16,
    chunk_bytes: int = 1 << 22,
    *,
    separator: str = EOT,
    progress: bool = True,
    max_chunks: int | None = None,
) -> np.memmap:
    """Encode a text file into a flat binary file of token ids, resumably.

    Args:
        text_path: UTF-8 text, documents separated by ``separator``.
        tokenizer: a Hugging Face ``tokenizers.Tokenizer`` (``separator`` a special token).
        out_path: the ``.bin`` to write (``<out_path>.json`` records progress).
        dtype: numpy integer dtype of the ids; the vocabulary must fit in it.
        chunk_bytes: about how many bytes to read and encode at a time (a chunk ends after a
            separator; one longer document makes a longer chunk).
        separator: the document separator that chunks are cut after.
        progress: show a tqdm bar (bytes of text).
        max_chunks: stop after this many chunks this call, leaving a partial, resumable file
            (for tests, or to tokenize in slices); ``None`` runs to the end.
    Returns:
        The ids written so far, a read-only ``np.memmap`` of shape (num_tokens,).
    """
    text_path, out_path = Path(text_path), Path(out_path)
    dtype = np.dtype(dtype)
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    if vocab_size - 1 > np.iinfo(dtype).max:
        raise ValueError(f"a vocabulary of {vocab_size} ids does not fit in {dtype.name} "
                         f"(max {np.iinfo(dtype).max}): pass dtype=np.uint32")
    source_size = text_path.stat().st_size
    meta = {"source": str(text_path.resolve()), "source_size": source_size,
            "tokenizer": _tokenizer_digest(tokenizer), "dtype": dtype.name,
            "separator": separator}
    state = {"bytes_consumed": 0, "tokens_written": 0, "done": False}
    sidecar = _sidecar(out_path)
    try:
        recorded = json.loads(sidecar.read_text(encoding="utf-8"))
        if all(recorded.get(k) == v for k, v in meta.items()) and out_path.exists() and \
                out_path.stat().st_size >= recorded["tokens_written"] * dtype.itemsize:
            state = {k: recorded[k] for k in state}
    except (OSError, ValueError, KeyError):
        pass
    if state["done"] and out_path.stat().st_size == state["tokens_written"] * dtype.itemsize:
        return load_tokens(out_path, dtype)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    sep = separator.encode("utf-8")
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=source_size, initial=state["bytes_consumed"], unit="B", unit_scale=True,
                   desc=f"tokenize {text_path.name}")
    chunks = 0
    try:
        with open(text_path, "rb") as src, open(out_path, "ab") as dst:
            dst.truncate(state["tokens_written"] * dtype.itemsize)  # drop ids past the record
            src.seek(state["bytes_consumed"])
            buffer = b""
            while max_chunks is None or chunks < max_chunks:
                block = src.read(chunk_bytes)
                buffer += block
                cut = buffer.rfind(sep)
                if block and cut < 0:
                    continue  # no separator yet: a long document, keep reading
                end = len(buffer) if not block else cut + len(sep)
                if end == 0:
                    break  # end of file
                piece, buffer = buffer[:end], buffer[end:]
                encodings = tokenizer.encode_batch(_documents(piece.decode("utf-8"), separator))
                ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64)
                dst.write(ids.astype(dtype).tobytes())
                dst.flush()
                state["bytes_consumed"] += len(piece)
                state["tokens_written"] += len(ids)
                # Un-consume what was read past the cut: the next run re-reads it.
                src.seek(state["bytes_consumed"])
                buffer = b""
                state["done"] = state["bytes_consumed"] >= source_size
                _write_json_atomic(sidecar, {**meta, **state})
                chunks += 1
                if bar is not None:
                    bar.update(len(piece))
                if state["done"]:
                    break
            if state["bytes_consumed"] >= source_size and not state["done"]:  # empty file
                state["done"] = True
                _write_json_atomic(sidecar, {**meta, **state})
    finally:
        if bar is not None:
            bar.close()
    return load_tokens(out_path, dtype)


def load_tokens(path: str | os.PathLike, dtype=np.uint16) -> np.memmap:
    """The token ids in ``path`` as a read-only memmap (num_tokens,) (no copy in memory)."""
    path = Path(path)
    if path.stat().st_size == 0:  # np.memmap refuses empty files
        return np.zeros(0, dtype=dtype)  # type: ignore[return-value]
    return np.memmap(path, dtype=dtype, mode="r")


@dataclass
class Corpus:
    """A tokenized train/validation corpus and its tokenizer."""

    train: np.memmap  # (num_train_tokens,) uint16
    valid: np.memmap  # (num_valid_tokens,) uint16
    tokenizer: object  # tokenizers.Tokenizer
    vocab_path: Path
    merges_path: Path
    eot_id: int
    directory: Path | None = None


def _file_meta(path: Path) -> dict:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size}


def prepare_corpus(
    mb: int,
    vocab_size: int,
    seed: int = 0,
    *,
    text_paths: tuple[str | os.PathLike, str | os.PathLike] | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Corpus:
    """Generated stories (or ``text_paths``), a BPE tokenizer trained on them, tokenized splits.

    Args:
        mb: size of the generated train corpus in MB (validation: 1/50 of it); ignored when
            ``text_paths`` is given.
        vocab_size: size of the BPE vocabulary (256 bytes + ``<|endoftext|>`` + merges).
        seed: seed of the generated corpus.
        text_paths: (train, valid) text files to use instead, e.g. ``TINYSTORIES_PATHS``.
        data_dir: where the cache folder goes (default ``helpers.env.DATA_DIR``).
        progress: show progress bars.
    Returns:
        A ``Corpus``; its files live in ``data_dir/lm_{mb}mb_v{vocab_size}_s{seed}/`` (or
        ``lm_{train file stem}_v{vocab_size}/``): vocab.json, merges.txt, train.bin, valid.bin.
    """
    from helpers.tokenization import (
        hf_tokenizer,
        hf_train_bpe,
        load_tokenizer_files,
        save_tokenizer_files,
    )

    base = Path(data_dir) if data_dir is not None else DATA_DIR
    if text_paths is None:
        from helpers.stories import stories_split_paths

        train_txt, valid_txt = stories_split_paths(mb, seed, progress=progress)
        directory = base / f"lm_{mb}mb_v{vocab_size}_s{seed}"
    else:
        train_txt, valid_txt = (Path(p) for p in text_paths)
        for p in (train_txt, valid_txt):
            if not p.exists():
                raise FileNotFoundError(f"{p} does not exist "
                                        "(TinyStories: python -m helpers.download get tinystories)")
        directory = base / f"lm_{train_txt.stem}_v{vocab_size}"
    directory.mkdir(parents=True, exist_ok=True)

    vocab_path, merges_path = directory / "vocab.json", directory / "merges.txt"
    meta_path = directory / "tokenizer_meta.json"
    meta = {"train": _file_meta(train_txt), "vocab_size": vocab_size, "special_tokens": [EOT]}
    try:
        cached = json.loads(meta_path.read_text(encoding="utf-8")) == meta
    except (OSError, ValueError):
        cached = False
    if cached and vocab_path.exists() and merges_path.exists():
        vocab, merges = load_tokenizer_files(vocab_path, merges_path)
    else:
        vocab, merges = hf_train_bpe([train_txt], vocab_size, special_tokens=[EOT])
        save_tokenizer_files(vocab, merges, vocab_path, merges_path)
        _write_json_atomic(meta_path, meta)
    tokenizer = hf_tokenizer(vocab, merges, special_tokens=[EOT])
    train = tokenize_file(train_txt, tokenizer, directory / "train.bin", progress=progress)
    valid = tokenize_file(valid_txt, tokenizer, directory / "valid.bin", progress=progress)
    return Corpus(train=train, valid=valid, tokenizer=tokenizer, vocab_path=vocab_path,
                  merges_path=merges_path, eot_id=tokenizer.token_to_id(EOT), directory=directory)
