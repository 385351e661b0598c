"""Tokenizer machinery for lesson 01 and the lessons that tokenize text after it.

- Files use GPT-2's format (``vocab.json`` + ``merges.txt``), where every byte is shown as a
  printable Unicode character (``bytes_to_unicode``), so Hugging Face and others read them.
- ``hf_tokenizer`` and ``tiktoken_encoding`` build two independent library tokenizers from
  the *same* vocab and merges: the oracle for correctness tests and the yardsticks for speed.
- ``hf_train_bpe`` trains Hugging Face's BPE on the same files, to compare trainers.
- Nothing here trains or applies BPE itself: that is the student's work in lesson 01.

Test: ``pytest grader/tests/test_tokenization.py``.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

# GPT-2's pre-tokenization pattern (Radford et al., 2019), as used by tiktoken and Hugging Face.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


@lru_cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to printable Unicode characters.

    Printable Latin-1 bytes map to themselves; the rest (control characters, space, ...) are
    shifted to code points 256 and up, so no token string contains whitespace or controls.
    """
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    mapping, shift = {}, 0
    for b in range(256):
        if b in printable:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + shift)
            shift += 1
    return mapping


def _to_str(token: bytes) -> str:
    table = bytes_to_unicode()
    return "".join(table[b] for b in token)


def _to_bytes(text: str) -> bytes:
    inverse = {c: b for b, c in bytes_to_unicode().items()}
    try:
        return bytes(inverse[c] for c in text)
    except KeyError as err:
        raise ValueError(f"{text!r} is not a GPT-2 byte-level token string") from err


def save_tokenizer_files(
    vocab: dict[int, bytes],
    merges: list[tuple[bytes, bytes]],
    vocab_path: str | os.PathLike,
    merges_path: str | os.PathLike,
) -> None:
    """Write ``vocab.json`` ({token string: id}) and ``merges.txt`` (one "a b" pair a line)."""
    Path(vocab_path).write_text(
        json.dumps({_to_str(tok): i for i, tok in sorted(vocab.items())}, ensure_ascii=False,
                   indent=0),
        encoding="utf-8",
    )
    lines = ["#version: 0.2"] + [f"{_to_str(a)} {_to_str(b)}" for a, b in merges]
    Path(merges_path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_tokenizer_files(
    vocab_path: str | os.PathLike, merges_path: str | os.PathLike
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Read the files written by ``save_tokenizer_files`` (or GPT-2's own) back as bytes."""
    try:
        raw = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{vocab_path}: not a JSON vocabulary ({err})") from err
    vocab = {int(i): _to_bytes(tok) for tok, i in raw.items()}
    merges = []
    for n, line in enumerate(Path(merges_path).read_text(encoding="utf-8").splitlines(), 1):
        if not line or line.startswith("#version"):
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise ValueError(f"{merges_path}:{n}: expected two tokens separated by a space: "
                             f"{line!r}")
        merges.append((_to_bytes(parts[0]), _to_bytes(parts[1])))
    return vocab, merges


def hf_tokenizer(vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]], special_tokens=()):
    """A Hugging Face ``tokenizers.Tokenizer`` with exactly this byte-level vocab and merges."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    # Special tokens stay in the model's vocab, so AddedToken reuses their ids.
    model = models.BPE(
        vocab={_to_str(t): i for i, t in vocab.items()},
        merges=[(_to_str(a), _to_str(b)) for a, b in merges],
    )
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in special_tokens])
    return tok


def tiktoken_encoding(vocab: dict[int, bytes], special_tokens=(), name: str = "lmkit"):
    """A ``tiktoken.Encoding`` built offline from the vocab (token id = merge rank).

    tiktoken merges the adjacent pair whose *concatenation* has the lowest rank; with ranks in
    merge order this reproduces merge-rank BPE on ordinary text (used here for speed only).
    """
    import tiktoken

    specials = {s: i for i, t in vocab.items() for s in special_tokens if t == s.encode("utf-8")}
    ranks = {t: i for i, t in vocab.items() if i not in specials.values()}
    return tiktoken.Encoding(name, pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                             special_tokens=specials)


def hf_train_bpe(files: list[str | os.PathLike], vocab_size: int, special_tokens=()):
    """Train Hugging Face's byte-level BPE; returns ``(vocab, merges)`` as bytes, like ours."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train([str(f) for f in files], trainer)
    state = json.loads(tok.to_str())["model"]
    specials = set(special_tokens)
    vocab = {i: (s.encode("utf-8") if s in specials else _to_bytes(s)) for s,
             i in tok.get_vocab().items()}
    merges = [tuple(_to_bytes(x)
                    for x in (m.split(" ") if isinstance(m, str) else m)) for m in state["merges"]]
    return vocab, merges
