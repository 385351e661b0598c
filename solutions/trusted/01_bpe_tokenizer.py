"""Trusted cases of lesson 01 (``grader.trusted``): hidden inputs, compared outside the kernel.

Never released (``solutions/`` is not in a bundle) and hidden from students' kernels. Each
graded test cell also keeps its in-kernel test; it scores only if both pass. Every graded
test cell has cases. How the cases get around what is not plain data, and what they leave to
the in-kernel tests:

- ``count_pretokens`` returns a ``Counter``: the cases read it through ``len`` and
  ``.get(pre-token)`` (bytes keys, and two str keys that must be absent), which any
  mapping answers.
- ``find_chunk_boundaries`` takes a binary file: an ``io.BytesIO`` built by
  ``@with_objects``. It may return fewer chunks than asked for, and where the guesses fall
  is the lesson's rule (evenly spaced, each moved forward to the next token), so the files
  have a size the number of chunks divides (every way of spacing the guesses agrees) and no
  token that starts at or straddles a guess. Its property checks on arbitrary files stay in
  the kernel.
- ``train_bpe`` and ``from_files`` read paths (``@with_files``); ``train_bpe``'s parallel
  path (a file over 1 MB) is left to the in-kernel test, and no training text holds a
  carriage return (a text-mode read may translate "\\r\\n").
- ``encode_iterable`` gets each list of chunks as an iterator (``@iterate``); its laziness
  on an endless stream cannot be plain data: in-kernel only.
- ``Tokenizer`` and ``from_files`` are compared by their ``vocab``, ``token_to_id``,
  ``merge_rank`` and ``special_tokens``; that the caller's vocab is not modified stays in
  the kernel.
- The tokenizer of the encode/decode/streaming cases is trained here by an independent
  brute-force BPE (``_bpe``), not by the lesson's code; its ids were checked against
  Hugging Face ``tokenizers`` (``helpers.tokenization.hf_tokenizer``).
"""
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import regex

from grader.trusted import Case, args, iterate_case, with_files_case, with_objects_case
from helpers.tokenization import GPT2_PATTERN, save_tokenizer_files

rng = np.random.default_rng(20260101)
EOT = "<|endoftext|>"
WORDS = ["the", "cat", "sat", "on", "mat", "dog", "a", "an", "héllo", "wörld", "naïve", "café",
         "Ελλάδα", "δέκα", "Москва", "牛肉面", "東京", "세계", "🙂", "👩🏽‍💻", "🏳️‍🌈", "don't",
         "we'll", "I'm", "they're", "IT'S", "3,141", "42", "2024", "!!", "...", "—", "¿qué?",
         "e\u0301", "x\u00a0y", "low", "lower", "newest", "widest"]
SEPS = [" ", " ", " ", " ", "", "\n", "\n\n", "  ", "\t", ", ", ". ", " \n ", "\r\n"]


def pick(seq):
    return seq[int(rng.integers(len(seq)))]


def words(k: int, pool=WORDS, seps=SEPS) -> str:
    return "".join(pick(pool) + pick(seps) for _ in range(k))


def _pretokens(text: str, specials) -> list[str]:
    """GPT-2 pre-tokens of ``text`` between special tokens (longest match first)."""
    if specials:
        longest_first = sorted(specials, key=len, reverse=True)
        pattern = "(" + "|".join(regex.escape(t) for t in longest_first) + ")"
        pieces = [p for p in regex.split(pattern, text) if p and p not in specials]
    else:
        pieces = [text] if text else []
    return [t for p in pieces for t in regex.findall(GPT2_PATTERN, p)]


def _merge(word: tuple, pair: tuple) -> tuple:
    out, i = [], 0
    while i < len(word):
        if word[i:i + 2] == pair:
            out.append(pair[0] + pair[1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def _bpe(text: str, num_merges: int, specials=(EOT,)):
    """Brute-force BPE (recount every pair each merge; ties to the greater pair)."""
    counts = Counter(tuple(bytes([b]) for b in t.encode()) for t in _pretokens(text, specials))
    merges = []
    for _ in range(num_merges):
        pairs = Counter()
        for word, c in counts.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += c
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))
        merges.append(best)
        merged = Counter()
        for word, c in counts.items():
            merged[_merge(word, best)] += c
        counts = merged
    vocab = {i: bytes([i]) for i in range(256)}
    for tok in specials:
        vocab[len(vocab)] = tok.encode()
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab, merges


# The tokenizer of the encode/decode cases: 256 bytes, <|endoftext|> (256), 120 merges.
CORPUS = EOT.join(words(50) for _ in range(6))
VOCAB, MERGES = _bpe(CORPUS, 120)
LONG = {i: t for i, t in VOCAB.items() if len(t) > 1 and i != 256}
ID = {t: i for i, t in VOCAB.items()}

# --- split_on_special_tokens ----------------------------------------------------------------


def with_specials(k: int, specials) -> str:
    return "".join(pick(WORDS) + pick(SEPS) + (pick(specials) if rng.random() < 0.4 else "")
                   for _ in range(k))


def split(text: str, specials, hint=None) -> Case:
    return Case("split_on_special_tokens", text, specials).hint(hint)


SPLIT = [
    split(with_specials(12, [EOT, EOT + EOT]), [EOT, EOT + EOT],
          hint="the longest special token wins, even when a shorter one is listed first"),
    split(with_specials(12, [EOT]) + EOT * 3, [EOT + EOT, EOT]),
    split("<s><s><s>ab<s>" + words(3) + "<s><s>", ["<s>", "<s><s>"]),
    split("a.b|c(d)*e\\d+[x]" + words(2) + "a.b[x]", ["a.b", "(d)*", "\\d+", "[x]", "|"],
          hint="escape the special tokens in the pattern (regex.escape)"),
    split("牛肉面<|ü|>🙂<|ü|><|ü|>é", ["<|ü|>"]),
    split(EOT, [EOT]),
    split(EOT + EOT, [EOT, EOT + EOT]),
    split("", [EOT]),
    split("", []),
    split(words(6), []),
    split("no special token in here", [EOT, "<pad>"]),
]

# --- count_pretokens: read through .get and len (a Counter is not plain data) ----------------


def pretoken_cases(text: str, specials) -> list:
    cell = [Case("count_pretokens.__len__").instance(text, specials)]
    keys = set(_pretokens(text, specials)) | set(regex.findall(GPT2_PATTERN, text)) | set(specials)
    for key in sorted(keys):
        cell.append(Case("count_pretokens.get", key.encode()).instance(text, specials))
    for key in sorted(keys)[:2]:
        cell.append(Case("count_pretokens.get", key).instance(text, specials)
                    .hint("the keys are bytes: a str key is absent"))
    return cell


# --- merge_word --------------------------------------------------------------------------


def random_word(n: int, alphabet=(b"a", b"b", b"ab", b"c")) -> tuple:
    return tuple(pick(alphabet) for _ in range(n))


def merge(word, pair, new, hint=None) -> Case:
    return Case("merge_word", word, pair, new).hint(hint)


MERGE_WORD = [
    merge((b"a",) * 7, (b"a", b"a"), b"aa",
          hint="merge left to right without overlaps: aaa gives aa, a"),
    merge((b"a", b"a", b"b", b"a", b"a", b"a", b"b"), (b"a", b"a"), b"aa"),
    merge((b"a", b"bc", b"ab", b"c", b"a", b"bc"), (b"ab", b"c"), b"abc",
          hint="merge the pair of tokens, not their concatenated bytes: a + bc is not ab + c"),
    merge((b" ", b"t", b"h", b"e", b" ", b"th", b"e"), (b" ", b"t"), b" t"),
    merge(("牛".encode()[:1], "牛".encode()[1:], b"\xe7", b"\x89"), (b"\xe7", b"\x89"),
          b"\xe7\x89"),
    merge((), (b"a", b"b"), b"ab"),
    merge((b"b",), (b"b", b"b"), b"bb"),
    merge((b"b", b"a", b"b", b"a"), (b"a", b"a"), b"aa"),
] + [merge(random_word(int(rng.integers(2, 14))), pair, pair[0] + pair[1])
     for pair in [(b"a", b"b"), (b"ab", b"c"), (b"b", b"b"), (b"c", b"a"), (b"ab", b"ab")]]

# --- find_chunk_boundaries: sizes divisible by n, no token at or across a guess --------------


def chunk_file(n: int, token: bytes, docs: int, seed: int, block: int | None = None) -> bytes:
    """A file of ``docs`` documents joined by ``token``, padded so that ``n`` divides its
    size, with no occurrence starting at a guess ``size * k / n`` or straddling it. With
    ``block``, the first occurrence after the first guess straddles a block boundary."""
    r = np.random.default_rng(seed)
    for _ in range(10_000):
        data = token.join(bytes(r.choice(list(b"ab \n"), int(r.integers(0, 60))))
                          for _ in range(docs))
        data += b"x" * (-len(data) % n)
        size = len(data)
        guesses = [size * k // n for k in range(1, n)]
        starts = [i for i in range(size) if data.startswith(token, i)]
        if any(g - len(token) < p <= g for g in guesses for p in starts):
            continue
        if block is not None:
            after = [p for p in starts if p >= guesses[0]]
            if not after or (after[0] - guesses[0]) % block <= block - len(token):
                continue  # wanted: the token crosses the end of a block read from the guess
        return data
    raise RuntimeError("no such file")


E = EOT.encode()
CHUNKS = [  # (data, num_chunks, split_token, block_size[, hint])
    (chunk_file(4, E, 12, 1), 4, E, 4096),
    (chunk_file(5, E, 20, 2), 5, E, len(E) + 1),
    (chunk_file(2, E, 9, 3, block=16), 2, E, 16, "a token may straddle two blocks read"),
    (chunk_file(3, E, 15, 4, block=20), 3, E, 20),
    (chunk_file(8, E, 5, 5), 8, E, 16, "more guesses than tokens: drop repeated boundaries"),
    (chunk_file(6, b"<s>", 30, 6, block=5), 6, b"<s>", 5),
    (chunk_file(3, E, 6, 7), 1, E, 4096, "one chunk: the boundaries are 0 and the size"),
    (b"", 4, E, 4096),
    (b"no token here at all, none" + b"!" * 6, 4, E, 8),
    (E + b"abc", 2, E, 4096, "a guess past the last token moves to the end of the file"),
]

# --- train_bpe (files) ---------------------------------------------------------------------

def train(text: str, vocab_size: int, specials, raises=None, hint=None) -> Case:
    """``train_bpe`` on a file holding ``text`` (``raises``: the solution's exception)."""
    return with_files_case("train_bpe", files={"corpus.txt": text},
                           args=("corpus.txt", vocab_size, specials),
                           kwargs={"num_processes": 1}, hint=hint).raises(raises)


TRAIN = [
    train("low low low low low lower lower widest widest widest newest newest newest newest "
          "newest newest" + EOT + "lowest", 256 + 1 + 14, [EOT],
          hint="special tokens are never merged across"),
    # (a,b) first; then (ab,x) and (a,y) tie: b"ab" > b"a" (also: b"ay" > b"abx" concatenated)
    train(EOT.join(["abx"] * 3 + ["ay"] * 3 + ["ab"] * 4), 256 + 1 + 3, [EOT],
          hint="ties go to the lexicographically greater pair of tokens (compare the pairs)"),
    train(EOT.join(words(int(rng.integers(3, 12)), ["ab", "ba", "abc", "cab", "bc", "ca", "cc"],
                         [" ", ""]) for _ in range(12)), 256 + 1 + 25, [EOT]),
    train(words(40, seps=SEPS[:-1]), 256 + 2 + 30, ["<s>", "<pad>"]),  # no "\r\n": text mode
    train("ab<s>xab<s>ab<s>x<s>xab cd" * 3, 256 + 2 + 6, ["<s>", "<s>x"],
          hint="the longest special token wins"),
    train("aaaa bbb", 300, [], hint="stop early when no pair is left"),
    train("", 256 + 1 + 5, [EOT], hint="an empty file"),
    train("hello world", 256, [], hint="vocab_size 256: no merges"),
    train("hello world", 256, [EOT], raises="ValueError",
          hint="a vocab_size below 256 + the special tokens is a ValueError"),
    train("hello world", 258, ["<a>", "<b>", "<c>"], raises="ValueError"),
]

# --- Tokenizer and its methods -------------------------------------------------------------

BYTES = {i: bytes([i]) for i in range(256)}
TINY = BYTES | {256: b"ab", 257: b"abc", 258: b"\xe7\x89"}
TINY_MERGES = [(b"a", b"b"), (b"ab", b"c"), (b"\xe7", b"\x89")]
RANKED = BYTES | {256: b"bc", 257: b"ab", 258: b"aa", 259: b"aaaa", 260: b"abc"}
RANKED_MERGES = [(b"b", b"c"), (b"a", b"b"), (b"a", b"a"), (b"aa", b"aa"), (b"a", b"bc")]
CONSTRUCT = [  # (args, kwargs[, hint])
    ((TINY, TINY_MERGES, [EOT, "<pad>"]), {}),
    ((VOCAB, MERGES, [EOT, EOT + EOT]), {},
     "a special token already in the vocab keeps its id; new ones are appended"),
    ((VOCAB, MERGES), {}, "no special tokens: an empty list"),
    ((TINY, TINY_MERGES, None), {}),
    ((RANKED, RANKED_MERGES, ["<|ü|>"]), {}),
    (({0: b"a", 1: b"b", 2: EOT.encode()}, [], [EOT, "<pad>", "<cls>"]), {}),
]

APPLY = [(RANKED, RANKED_MERGES, [b"abc", b"aaaaa", b"aaabcaa", b"cba", b"", b"xbcab",
                                  b"aaaaaaaabc", b"aab", b"caabc"]),
         (VOCAB, MERGES, [b"", b"\xff\xfe", "🙂".encode()] + [t.encode() for t in
                                                             _pretokens(words(5), [])])]

ENCODE_TEXTS = [
    words(60),
    words(30) + EOT + words(10) + EOT + EOT + EOT + words(5),
    "", EOT, EOT + EOT + "x",
    "'s 're 've 'm 'll 'd 't'S don't DON'T",
    "\r\n \u00a0\u2003end  \n\n\t\t  x   ",
    "🏳️‍🌈👩🏽‍💻 naïve café — ¿qué? 東京 🙂" * 2,
    "x" * 300 + " " + "ab" * 50,
    "3,14159 1000000 ٣٤ ²",
]


def encode_cases() -> list:
    cell = [Case("Tokenizer.encode", t).instance(VOCAB, MERGES, [EOT]) for t in ENCODE_TEXTS]
    overlap = f"x{EOT}{EOT}{EOT}y{EOT}{EOT}" + words(8)
    cell += [Case("Tokenizer.encode", overlap).instance(VOCAB, MERGES, [EOT, EOT + EOT]),
             Case("Tokenizer.encode", overlap).instance(VOCAB, MERGES, [EOT + EOT, EOT]),
             Case("Tokenizer.encode", overlap).instance(VOCAB, MERGES),        # plain text
             Case("Tokenizer.encode", "a<pad>b " + EOT).instance(VOCAB, MERGES, ["<pad>", EOT])]
    return cell


def random_ids(n: int) -> list[int]:
    pool = list(LONG) + list(range(256)) + [256]
    return [int(pick(pool)) for _ in range(n)]


def byte_ids(data: bytes) -> list[int]:
    return [ID[bytes([b])] for b in data]


DECODE = [
    [ID[t] for t in sorted(LONG.values())[:40]],
    random_ids(50), random_ids(50), random_ids(8),
    [],
    [256, 256] + byte_ids(b"hi"),
    byte_ids("牛".encode()[:2] + b"!" + "🙂".encode()[:3] + "é".encode()),  # truncated characters
    byte_ids(b"\x80\xbf\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xff"),         # stray, overlong, ...
    byte_ids("東京🙂".encode()),                                            # whole characters
]
BAD_UTF8 = "invalid UTF-8 (cut, stray or overlong bytes) decodes with errors='replace'"
DECODE_HINTS = {6: BAD_UTF8, 7: BAD_UTF8, 8: "characters of several tokens decode whole"}


def chunked(text: str, cuts: int) -> list[str]:
    points = sorted(int(x) for x in rng.choice(len(text) + 1, size=min(cuts, len(text) + 1),
                                               replace=False))
    return [text[a:b] for a, b in zip([0] + points, points + [len(text)])]


STREAM = [
    ["<|endof", "text|>x"],
    ["a'l", "l x"],                                      # "'" + "ll": a contraction
    ["the\n", "  cat\n\n", "\n ", " sat"],                # whitespace runs across chunks
    ["x<|", "endoftext", "|><|endoftext|", ">y<|e"],
    ["", "", "ab", "", " "],
    [],
    ["<|endoftext|"],                                     # never completed
    [EOT + EOT + EOT],
] + [chunked(words(20) + EOT + words(8), int(rng.integers(1, 9))) for _ in range(8)] \
  + [list(words(12)), list(EOT.join(["a", " b'll", "\n\n c"]))]  # one character per chunk


STREAM_HINT = ("the same ids as encode of the whole text: hold back what may continue in "
               "the next chunk (a pre-token, a special token)")


def stream(chunks, init, hint=STREAM_HINT) -> Case:
    return iterate_case("Tokenizer.encode_iterable", args=[chunks], init=init, hint=hint)


def stream_cases() -> list:
    cell = [stream(c, args(VOCAB, MERGES, [EOT])) for c in STREAM]
    overlap = [EOT + EOT + "x", EOT, EOT, "<|endoftext|><|end", "oftext|>z"]
    cell += [stream(overlap, args(VOCAB, MERGES, [EOT, EOT + EOT])),
             stream(["a<|endof", "text|>b"], args(VOCAB, MERGES),
                    hint="without special tokens, the end-of-text marker is plain text")]
    return cell


def tokenizer_files(vocab, merges) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        save_tokenizer_files(vocab, merges, Path(folder) / "vocab.json",
                             Path(folder) / "merges.txt")
        return {name: (Path(folder) / name).read_text(encoding="utf-8")
                for name in ("vocab.json", "merges.txt")}


FILES = tokenizer_files(VOCAB, MERGES)
RANKED_FILES = tokenizer_files(RANKED, RANKED_MERGES)
ATTRS = ("vocab", "token_to_id", "merge_rank", "special_tokens")


def from_files(files: dict, call_args, call_kwargs=None, hint=None) -> Case:
    return with_files_case("Tokenizer.from_files", files=files, args=call_args,
                           kwargs=call_kwargs, hint=hint).attrs(*ATTRS)

CASES = {
    "test_split_on_special_tokens": SPLIT,
    "test_count_pretokens": [
        *pretoken_cases(words(30), []),
        *pretoken_cases(with_specials(20, [EOT]), [EOT]),
        *pretoken_cases("ab<s>x<s>xab <s>x x<s>", ["<s>", "<s>x"]),  # the longest token wins
        *pretoken_cases("I'll 3,141\n\n  b", [EOT]),
        *pretoken_cases("", [EOT]),
    ],
    "test_merge_word": MERGE_WORD,
    "test_find_chunk_boundaries": [
        with_objects_case("find_chunk_boundaries", objects={"file": ("io.BytesIO", (data,), {})},
                          args=("file", n, token), kwargs={"block_size": block},
                          hint=hint[0] if hint else None)
        for data, n, token, block, *hint in CHUNKS],
    "test_train_bpe": TRAIN,
    "test_Tokenizer": [Case("Tokenizer", *a, **k).attrs(*ATTRS).hint(hint[0] if hint else None)
                       for a, k, *hint in CONSTRUCT],
    "test_apply_merges": [Case("Tokenizer.apply_merges", p).instance(v, m)
                          for v, m, pretokens in APPLY for p in pretokens],
    "test_encode": encode_cases(),
    "test_decode": [Case("Tokenizer.decode", ids).instance(VOCAB, MERGES, [EOT, "<pad>"])
                    .hint(DECODE_HINTS.get(n)) for n, ids in enumerate(DECODE)]
    + [Case("Tokenizer.decode", [256, len(VOCAB), 65]).instance(VOCAB, MERGES, [EOT, "<pad>"])
       .hint("an id that is not in the vocab")],
    "test_encode_iterable": stream_cases(),
    "test_from_files": [  # last: the "endless" sample loops here
        from_files(FILES, ("vocab.json", "merges.txt", [EOT])),
        from_files(FILES, ("vocab.json", "merges.txt"), {"special_tokens": ["<new>", EOT]}),
        from_files(RANKED_FILES, ("vocab.json", "merges.txt"),
                   hint="merges.txt lists the merges in rank order"),
    ],
}

def _brute_train_bpe(why: str, choose: str) -> str:
    """A brute-force ``train_bpe`` mutant whose only difference is the pair it merges:
    ``best = <choose>`` (an expression over the Counter ``pairs``)."""
    return f"""
        def train_bpe(input_path, vocab_size, special_tokens, num_processes=None):
            # brute force; {why}
            if vocab_size < 256 + len(special_tokens):
                raise ValueError(vocab_size)
            vocab = {{i: bytes([i]) for i in range(256)}}
            for tok in special_tokens:
                vocab[len(vocab)] = tok.encode()
            words = {{tuple(bytes([b]) for b in w): c
                     for w, c in count_file_pretokens(input_path, special_tokens, 1).items()}}
            merges = []
            while len(vocab) < vocab_size:
                pairs = Counter()
                for w, c in words.items():
                    for p in zip(w, w[1:]):
                        pairs[p] += c
                if not pairs:
                    break
                best = {choose}
                merges.append(best)
                vocab[len(vocab)] = best[0] + best[1]
                words = {{merge_word(w, best, best[0] + best[1]): c for w, c in words.items()}}
            return vocab, merges
    """


# Plausible wrong answers these cases must catch (grader/tests/test_trusted.py runs each over
# the solution's definitions; Tokenizer mutants subclass it, never patch the shared class).
MUTANTS = {
    "test_split_on_special_tokens": [
        """
        def split_on_special_tokens(text, special_tokens):  # the order given, not longest first
            if not special_tokens:
                return [text] if text else []
            pattern = "(" + "|".join(re.escape(t) for t in special_tokens) + ")"
            return [piece for piece in re.split(pattern, text) if piece]
        """,
        """
        def split_on_special_tokens(text, special_tokens):  # [""] for empty text
            if not special_tokens:
                return [text]
            longest_first = sorted(special_tokens, key=len, reverse=True)
            pattern = "(" + "|".join(re.escape(t) for t in longest_first) + ")"
            return [piece for piece in re.split(pattern, text) if piece]
        """,
    ],
    "test_count_pretokens": [
        """
        def count_pretokens(text, special_tokens):  # special tokens pre-tokenized and counted
            counts = Counter()
            for piece in split_on_special_tokens(text, special_tokens):
                counts.update(PRETOKEN_RE.findall(piece))
            return Counter({s.encode("utf-8"): c for s, c in counts.items()})
        """,
        """
        def count_pretokens(text, special_tokens):  # str keys
            counts = Counter()
            for piece in split_on_special_tokens(text, special_tokens):
                if piece not in special_tokens:
                    counts.update(PRETOKEN_RE.findall(piece))
            return counts
        """,
    ],
    "test_merge_word": [
        """
        def merge_word(word, pair, new_token):  # drops an unmerged last symbol
            out, i = [], 0
            while i < len(word) - 1:
                if (word[i], word[i + 1]) == pair:
                    out.append(new_token)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            return tuple(out)
        """,
        """
        def merge_word(word, pair, new_token):  # compares concatenations: a + bc == ab + c
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] + word[i + 1] == new_token:
                    out.append(new_token)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            return tuple(out)
        """,
    ],
    "test_find_chunk_boundaries": [
        """
        # blocks do not overlap
        def find_chunk_boundaries(file, num_chunks, split_token, block_size=4096):
            file.seek(0, os.SEEK_END)
            size = file.tell()
            boundaries = [0]
            for k in range(1, num_chunks):
                pos = size * k // num_chunks
                file.seek(pos)
                while True:
                    block = file.read(block_size)
                    if not block:
                        pos = size
                        break
                    found = block.find(split_token)
                    if found != -1:
                        pos += found
                        break
                    pos += len(block)
                boundaries.append(pos)
            boundaries.append(size)
            return sorted(set(boundaries))
        """,
        """
        # duplicates kept
        def find_chunk_boundaries(file, num_chunks, split_token, block_size=4096):
            file.seek(0, os.SEEK_END)
            size = file.tell()
            data = (file.seek(0), file.read())[1]
            boundaries = [0]
            for k in range(1, num_chunks):
                found = data.find(split_token, size * k // num_chunks)
                boundaries.append(size if found == -1 else found)
            return boundaries + [size]
        """,
    ],
    "test_train_bpe": [
        _brute_train_bpe("a tie goes to the pair counted first", "max(pairs, key=pairs.get)"),
        _brute_train_bpe("a tie goes to the greater concatenation a + b",
                         "max(pairs, key=lambda p: (pairs[p], p[0] + p[1]))"),
        _brute_train_bpe("a min-heap key that reverses bytes without the sentinel: "
                         "b\"a\" sorts above b\"ab\"",
                         "min(pairs, key=lambda p: (-pairs[p], tuple(-c for c in p[0]), "
                         "tuple(-c for c in p[1])))"),
        """
        _right = train_bpe
        def train_bpe(input_path, vocab_size, special_tokens, num_processes=None):
            # the special tokens left out of the budget: vocab_size - 256 merges
            return _right(input_path, vocab_size + len(set(special_tokens)), special_tokens,
                          num_processes)
        """,
    ],
    "test_Tokenizer": [
        """
        class Tokenizer(Tokenizer):  # appends every special token, even one in the vocab
            def __init__(self, vocab, merges, special_tokens=None):
                self.vocab = dict(vocab)
                self.special_tokens = list(special_tokens or [])
                for tok in self.special_tokens:
                    self.vocab[len(self.vocab)] = tok.encode("utf-8")
                self.token_to_id = {t: i for i, t in self.vocab.items()}
                self.merge_rank = {pair: rank for rank, pair in enumerate(merges)}
        """,
        """
        class Tokenizer(Tokenizer):  # special_tokens=None stays None
            def __init__(self, vocab, merges, special_tokens=None):
                super().__init__(vocab, merges, special_tokens)
                self.special_tokens = special_tokens
        """,
    ],
    "test_apply_merges": [
        """
        class Tokenizer(Tokenizer):  # merges the leftmost learned pair, not the lowest rank
            def apply_merges(self, pretoken):
                word = tuple(bytes([b]) for b in pretoken)
                while True:
                    for a, b in zip(word, word[1:]):
                        if (a, b) in self.merge_rank:
                            word = merge_word(word, (a, b), a + b)
                            break
                    else:
                        return [self.token_to_id[s] for s in word]
        """,
        """
        class Tokenizer(Tokenizer):  # greedy longest match in the vocabulary (WordPiece-like)
            def apply_merges(self, pretoken):
                ids, i = [], 0
                while i < len(pretoken):
                    j = next(j for j in range(len(pretoken), i, -1)
                             if pretoken[i:j] in self.token_to_id)
                    ids.append(self.token_to_id[pretoken[i:j]])
                    i = j
                return ids
        """,
    ],
    "test_encode": [
        """
        class Tokenizer(Tokenizer):  # special tokens matched in the order given
            def encode(self, text):
                ids, specials = [], self.special_tokens
                pattern = "(" + "|".join(map(re.escape, specials)) + ")"
                pieces = re.split(pattern, text) if specials else [text]
                for piece in pieces:
                    if piece in specials:
                        ids.append(self.token_to_id[piece.encode("utf-8")])
                    else:
                        for pretoken in PRETOKEN_RE.findall(piece):
                            ids.extend(self.encode_pretoken(pretoken))
                return ids
        """,
        """
        class Tokenizer(Tokenizer):  # special tokens encoded as ordinary text
            def encode(self, text):
                return [i for pretoken in PRETOKEN_RE.findall(text)
                        for i in self.encode_pretoken(pretoken)]
        """,
    ],
    "test_decode": [
        """
        class Tokenizer(Tokenizer):  # each token decoded on its own
            def decode(self, ids):
                return "".join(self.vocab[i].decode("utf-8", errors="replace") for i in ids)
        """,
        """
        class Tokenizer(Tokenizer):  # malformed bytes dropped
            def decode(self, ids):
                return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="ignore")
        """,
    ],
    "test_encode_iterable": [
        """
        class Tokenizer(Tokenizer):  # each chunk encoded on its own
            def encode_iterable(self, iterable):
                for chunk in iterable:
                    yield from self.encode(chunk)
        """,
        """
        class Tokenizer(Tokenizer):  # holds back only the last pre-token ("'" + "ll" breaks)
            def encode_iterable(self, iterable):
                specials = self.special_tokens
                buffer = ""
                for chunk in iterable:
                    buffer += chunk
                    hold = len(buffer)
                    longest = max(map(len, specials), default=0)
                    for i in range(max(0, len(buffer) - longest), len(buffer)):
                        if any(len(t) > len(buffer) - i and t.startswith(buffer[i:])
                               for t in specials):
                            hold = i
                            break
                    final, pending, pos = 0, hold, 0
                    for piece in split_on_special_tokens(buffer, specials):
                        if piece in specials:
                            if pos + len(piece) <= hold:
                                final = pos + len(piece)
                            else:
                                pending = min(pending, pos)
                                break
                        pos += len(piece)
                    if final:
                        yield from self.encode(buffer[:final])
                    matches = list(PRETOKEN_RE.finditer(buffer, final, pending))
                    for m in matches[:-1]:
                        yield from self.encode_pretoken(m.group())
                    buffer = buffer[matches[-1].start() if matches else final:]
                if buffer:
                    yield from self.encode(buffer)
        """,
    ],
    "test_from_files": [
        """
        class Tokenizer(Tokenizer):  # special_tokens ignored
            @classmethod
            def from_files(cls, vocab_path, merges_path, special_tokens=None):
                return cls(*load_tokenizer_files(vocab_path, merges_path))
        """,
    ],
}
