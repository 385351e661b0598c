"""Offline corpora of TinyStories-like children's stories: the corpus format, cached corpus
files, the committed samples and the command line.

The generator is split by concern: ``helpers.story_words`` (data: word lists, templates),
``helpers.story_grammar`` (inflection), ``helpers.story_names`` (coined names, Zipf draws),
``helpers.story_generator`` (one story from templates); the mixed-script text for tokenizer
tests is ``helpers.mixed_text``. This module re-exports what lessons and tests use.

- No network, no model: stories come from templates and word lists (``helpers/story_words.py``):
  named characters with he/she/they, places, objects, feelings, past-tense narration, dialogue
  in quotes, a small problem and its resolution, sometimes a moral. So BPE has real structure
  to find and a small Transformer has something to learn.
- A long tail, as in real text: about 3,900 real words, numbers in many forms (ages, 7:30,
  1987, $3.50, 4,594, 21st) and hyphenated words, plus pools of 109,000 coined names (people,
  pets, towns, landmarks, shopkeepers; made-up creatures, plants, treats and gadgets) built
  from syllables with a fixed seed. Names are drawn by Zipf's law (probability ~ 1/rank), so
  a few are everywhere and most are rare: new words keep coming as the corpus grows (3,600
  distinct words in 300 KB, 47,000 in 50 MB), and BPE can fill a 10,000-token vocabulary
  from 5 MB on (see datasets/README.md for the measurements).
- Names are reused: every named character, place or coined thing is mentioned at least twice
  in its story (a callback sentence is added when needed), so a model can learn to copy.
- Deterministic: one ``random.Random(seed)`` drives each corpus (lists, never sets; integer
  Zipf weights), so a seed gives the same bytes on every machine and Python >= 3.11. The
  pools of coined names do not depend on the seed. Bump ``GENERATOR_VERSION`` when templates,
  lists or rules change; cached corpora record it and are rebuilt.
- Corpus format (as TinyStoriesV2): stories joined by a separator on its own line,
  ``story1 + "\\n<|endoftext|>\\n" + story2 + ... + storyN + "\\n"``. Stories have no blank
  lines and never contain the separator; ``split_corpus`` inverts ``join_corpus``.
- Sizes: 1 MB = 1,000,000 bytes. A corpus of ``num_bytes`` holds the fewest whole stories
  whose joined UTF-8 size reaches ``num_bytes`` (so it is slightly larger).
- Train/validation: ``stories_split_paths(mb, seed)`` pairs the train corpus (seed ``seed``)
  with a validation corpus of ``mb * 1e6 / 50`` bytes from seed ``seed + VALID_SEED_OFFSET``.

Run: ``python -m helpers.stories --mb 50 --seed 0 --out datasets/data/stories_50mb.txt``;
regenerate the committed samples: ``python -m helpers.stories --samples``.
Test: ``python -m pytest grader/tests/test_stories.py -q``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from helpers.env import DATA_DIR, DATASETS_DIR
from helpers.mixed_text import generate_mixed_text
from helpers.story_generator import generate_stories
from helpers.story_grammar import article, plural
from helpers.story_names import coined_words

__all__ = ["GENERATOR_VERSION", "SEPARATOR", "VALID_SEED_OFFSET", "STORIES_SAMPLE", "MIXED_SAMPLE",
           "article", "coined_words", "generate_stories", "join_corpus", "plural", "sample_bytes",
           "split_corpus", "stories_bytes", "stories_path", "stories_split_paths", "write_corpus",
           "write_samples", "main"]

GENERATOR_VERSION = 2
SEPARATOR = "<|endoftext|>"
VALID_SEED_OFFSET = 1_000_003  # validation seed = train seed + this (a prime, far from small seeds)
VALID_FRACTION = 50  # validation corpus is 1/50 of the train corpus
SAMPLE_DIR = DATASETS_DIR / "sample"
STORIES_SAMPLE = SAMPLE_DIR / "stories_sample.txt"
STORIES_SAMPLE_BYTES = 300_000
MIXED_SAMPLE = SAMPLE_DIR / "multilingual_sample.txt"
MIXED_SAMPLE_BYTES = 100_000


# ---------------------------------------------------------------------------------------------
# The corpus format
# ---------------------------------------------------------------------------------------------
def join_corpus(stories: list[str], separator: str = SEPARATOR) -> str:
    """The corpus format: ``story1\\n<sep>\\nstory2 ... storyN\\n``."""
    return f"\n{separator}\n".join(stories) + "\n"


def split_corpus(text: str, separator: str = SEPARATOR) -> list[str]:
    """Inverse of ``join_corpus``."""
    if not text:
        return []
    body = text[:-1] if text.endswith("\n") else text
    return body.split(f"\n{separator}\n")


def stories_bytes(num_bytes: int, seed: int = 0, separator: str = SEPARATOR) -> bytes:
    """The exact bytes ``write_corpus`` writes, built in memory (for small sizes and tests)."""
    return b"".join(_corpus_chunks(num_bytes, seed, separator))


def _corpus_chunks(num_bytes: int, seed: int, separator: str) -> Iterator[bytes]:
    """Encoded pieces of the corpus: stories with separators, up to the first that reaches
    ``num_bytes`` in total."""
    sep = f"\n{separator}\n".encode("utf-8")
    size = 0
    for i, story in enumerate(generate_stories(seed=seed)):
        chunk = (sep if i else b"") + story.encode("utf-8")
        size += len(chunk)
        if size >= num_bytes:
            yield chunk + b"\n"
            return
        yield chunk


# ---------------------------------------------------------------------------------------------
# Files: corpora on disk (atomic, cached with a sidecar), committed samples, CLI
# ---------------------------------------------------------------------------------------------
def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _corpus_meta(num_bytes: int, seed: int, separator: str) -> dict[str, object]:
    return {"generator": "helpers.stories", "version": GENERATOR_VERSION,
            "num_bytes": num_bytes, "seed": seed, "separator": separator}


def _is_cached(path: Path, meta: dict[str, object]) -> bool:
    """True if ``path`` was written by write_corpus with the same parameters and is intact
    (its size equals the size recorded in the sidecar)."""
    try:
        recorded = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        return all(recorded.get(k) == v for k, v in meta.items()) and \
            path.stat().st_size == recorded.get("size")
    except (OSError, ValueError):
        return False


def _write_atomic(path: Path, chunks: Iterator[bytes], total: int | None = None,
                  progress: bool = False) -> tuple[int, str]:
    """Write chunks to a temp file beside ``path``, then rename it into place.
    Returns (size, sha256)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    digest, size = hashlib.sha256(), 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="B", unit_scale=True, desc=path.name)
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        os.replace(tmp, path)
    finally:
        if bar is not None:
            bar.close()
        tmp.unlink(missing_ok=True)
    return size, digest.hexdigest()


def write_corpus(path: str | Path, num_bytes: int, seed: int = 0, separator: str = SEPARATOR,
                 progress: bool = True) -> Path:
    """Write a story corpus of at least ``num_bytes`` bytes to ``path`` (atomically) with a
    sidecar ``path.json`` recording how it was made; skip the work if it is already there."""
    path = Path(path)
    if num_bytes <= 0:
        raise ValueError(f"num_bytes must be positive, got {num_bytes}")
    meta = _corpus_meta(num_bytes, seed, separator)
    if _is_cached(path, meta):
        return path
    size, sha = _write_atomic(path, _corpus_chunks(num_bytes, seed, separator), num_bytes,
                              progress)
    sidecar = json.dumps({**meta, "size": size, "sha256": sha}, indent=2) + "\n"
    _write_atomic(_sidecar(path), iter([sidecar.encode("utf-8")]))
    return path


def stories_path(mb: int, seed: int = 0, progress: bool = True) -> Path:
    """``DATA_DIR/stories_{mb}mb_seed{seed}.txt`` (1 MB = 10**6 bytes), generated on demand."""
    path = DATA_DIR / f"stories_{mb}mb_seed{seed}.txt"
    return write_corpus(path, int(mb * 1_000_000), seed=seed, progress=progress)


def stories_split_paths(mb: int, seed: int = 0, progress: bool = True) -> tuple[Path, Path]:
    """(train, valid): the train corpus of ``stories_path(mb, seed)`` and a validation corpus
    of ``mb * 1e6 / 50`` bytes from seed ``seed + VALID_SEED_OFFSET`` (different stories from
    the same distribution), ``DATA_DIR/stories_{mb}mb_seed{seed}_valid.txt``."""
    train = stories_path(mb, seed, progress=progress)
    valid = DATA_DIR / f"stories_{mb}mb_seed{seed}_valid.txt"
    valid_bytes = max(1, int(mb * 1_000_000) // VALID_FRACTION)
    write_corpus(valid, valid_bytes, seed=seed + VALID_SEED_OFFSET, progress=progress)
    return train, valid


def sample_bytes() -> dict[Path, bytes]:
    """What the committed samples must contain, exactly (checked by the tests)."""
    return {STORIES_SAMPLE: stories_bytes(STORIES_SAMPLE_BYTES, seed=0),
            MIXED_SAMPLE: generate_mixed_text(MIXED_SAMPLE_BYTES, seed=0).encode("utf-8")}


def write_samples() -> list[Path]:
    """Regenerate ``datasets/sample/*.txt`` (no sidecars: the tests pin their content)."""
    for path, data in sample_bytes().items():
        _write_atomic(path, iter([data]))
    return list(sample_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.stories", description=__doc__.split(
        "\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--mb", type=float, help="size in MB (10**6 bytes)")
    size.add_argument("--bytes", type=int, help="size in bytes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="output file (default: DATA_DIR/stories_...)")
    parser.add_argument("--mixed", action="store_true",
                        help="write adversarial mixed-script text instead of stories")
    parser.add_argument("--samples", action="store_true",
                        help="regenerate the committed samples in datasets/sample/")
    args = parser.parse_args(argv)
    if args.samples:
        for path in write_samples():
            print(f"wrote {path} ({path.stat().st_size:,} bytes)")
        return 0
    if args.mb is None and args.bytes is None:
        parser.error("give a size: --mb N or --bytes N (or --samples)")
    num_bytes = args.bytes if args.bytes is not None else int(args.mb * 1_000_000)
    if num_bytes <= 0:
        parser.error("the size must be positive")
    if args.mixed:
        out = args.out or DATA_DIR / f"mixed_{num_bytes}b_seed{args.seed}.txt"
        _write_atomic(out, iter([generate_mixed_text(num_bytes, args.seed).encode("utf-8")]))
    else:
        name = f"{int(args.mb)}mb" if args.mb is not None and args.mb == int(args.mb) \
            else f"{num_bytes}b"
        out = args.out or DATA_DIR / f"stories_{name}_seed{args.seed}.txt"
        if _is_cached(out, _corpus_meta(num_bytes, args.seed, SEPARATOR)):
            print(f"{out} is up to date (same size and seed, see {_sidecar(out).name})")
            return 0
        write_corpus(out, num_bytes, seed=args.seed)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
