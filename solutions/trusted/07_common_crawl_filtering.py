"""Trusted cases of lesson 07 (``grader.trusted``): hidden inputs, compared outside the kernel.

Never released (``solutions/`` is not in a bundle) and hidden from students' kernels. Each
graded test cell below also keeps its in-kernel test; it scores only if both pass.

Every graded cell has cases. The two deduplications write files: their cases go through the
lesson's ``dedup_texts`` (files in, ``{file name: text}`` of the output folder back), so the
comparison is of plain data. MinHash's hash functions are the student's choice, so its cases
use documents whose pairs are either nearly identical (Jaccard >= 0.95: a candidate with
probability above 1 - 1e-9 for the bands used) or far apart (Jaccard <= 0.2: a candidate
with probability below 1e-6), where every correct implementation gives the same answer.
``identify_language``, ``classify_quality``, ``classify_nsfw`` and ``classify_toxic_speech``
are compared with the reference's scores (``close``): both load the same model file; the
quality model is trained deterministically (one thread, a fixed seed) from the committed
crawl sample and generated reference pages, the harmful-content stand-ins from
``helpers.cc_harmful``'s teaching sets (or both load Dolma's published models).
"""
import json
import random
import textwrap

from grader.trusted import Case
from helpers.cc_crawl import FOREIGN, reference_texts
from helpers.cc_harmful import teaching_set
from helpers.env import REPO_ROOT
from helpers.reference.cc_filters import jaccard, shingles

rng = random.Random(20261206)

# ---- extraction: real-world-shaped pages in several encodings and declarations ----
_BODY = ("<html><head>{meta}<title>t</title></head><body><nav><a href='/'>Home</a> | "
         "<a href='/shop'>Shop</a></nav><main><h1>{title}</h1><p>{text}</p><p>{more}</p></main>"
         "<footer><p>Copyright 2024</p></footer></body></html>")


def _page(lang: str, encoding: str, meta: str | None) -> bytes:
    sentences = FOREIGN[lang][1]
    html = _BODY.format(meta=f'<meta charset="{meta}">' if meta else "", title=sentences[0][:12],
                        text=" ".join(rng.sample(sentences, 4)), more=" ".join(sentences[:3]))
    return html.encode(encoding)


EXTRACT = [
    Case("extract_text_from_html_bytes", _page("ru", "koi8-r", "koi8-r")),
    Case("extract_text_from_html_bytes", _page("ja", "shift_jis", None), "shift_jis"),
    Case("extract_text_from_html_bytes", _page("zh", "gb18030", "gb18030"), "utf-8"),  # bad header
    Case("extract_text_from_html_bytes", _page("de", "cp1252", None), "no-such-codec"),
    Case("extract_text_from_html_bytes", _page("fr", "utf-8", None)),                  # detected
    Case("extract_text_from_html_bytes", b""),
    Case("extract_text_from_html_bytes", b"GIF89a\x01\x00\x01\x00\x00\xff\x00,<html>"),
    Case("extract_text_from_html_bytes", "<p>naïve café</p>".encode("utf-8"), None),
]

# ---- language ID ----
LANGUAGE = [Case("identify_language", " ".join(rng.sample(FOREIGN[lang][1], 3))).close(rtol=1e-4)
            for lang in ("de", "ru", "ja", "ko", "es")]
LANGUAGE += [Case("identify_language", "The cat sat on the mat.\nThen it slept.").close(rtol=1e-4),
             Case("identify_language", "x").close(rtol=1e-4)]

# ---- PII ----
EMAILS = [
    Case("mask_emails", "Mail ann.lee+news@sub.example.co.uk, or bob_9@ex-ample.org."),
    Case("mask_emails", "Not an address: user@localhost, 3 @ 4, @example.com"),
    Case("mask_emails", "a@b.cd\ne@f.gh"),
    Case("mask_emails", ""),
]
PHONES = [
    Case("mask_phone_numbers", "Call (415) 555-2671 or 415.555.2671; fax +1-415-555-2671."),
    Case("mask_phone_numbers", "Order 4155552671234 and code 9415-555-2671 and x415 555 2671"),
    Case("mask_phone_numbers", "1 415 555 2671 and (415)555-2671."),
    Case("mask_phone_numbers", "Version 415-55-2671, year 2024-2025"),
]
IPS = [
    Case("mask_ips", "Hosts 10.0.0.1, 172.16.254.3 and 255.255.255.255."),
    Case("mask_ips", "Not: 256.1.1.1 1.2.3 1.2.3.4.5 01.2.3.4 v2.10.4."),
    Case("mask_ips", "0.0.0.0\n8.8.8.8"),
]

# ---- Gopher rules: each near its bound ----
_WORDS = "the cat sat on a warm mat and looked at birds outside".split()


def _prose(n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


GOPHER = [Case("gopher_quality_filter", text) for text in (
    _prose(50), _prose(49), _prose(400),
    " ".join(["ab"] * 60), " ".join(["abc"] * 60), " ".join(["abcdefghij"] * 60),
    " ".join(["abcdefghijk"] * 60),
    "\n".join([_prose(8) + "..."] * 3 + [_prose(40)] * 7),     # 30%: allowed
    "\n".join([_prose(8) + " …"] * 4 + [_prose(40)] * 6),      # 40%: removed
    " ".join(["42"] * 20 + [_prose(80)]),                      # 80% with letters: passes
    " ".join(["42"] * 21 + [_prose(80)]),
    "",
)]

# ---- quality classifier ----
QUALITY = [Case("classify_quality", t).close(rtol=1e-4) for t in reference_texts(2, seed=4242)]
QUALITY += [Case("classify_quality", "Buy the desk lamp at the best price. Free returns.\nOrder"
                 " today.").close(rtol=1e-4),
            Case("classify_quality", "cheap loans casino win money fast " * 8).close(rtol=1e-4)]

# ---- harmful content: comments of the stand-in's test split, and hard cases ----
_NSFW_TEXTS = [t for t, _ in teaching_set("nsfw", 6, seed=4242, split="test")]
_TOXIC_TEXTS = [t for t, _ in teaching_set("toxic", 6, seed=4242, split="test")]
_HARD = ["Hot weather and free chat support all week.\nAdult education starts in May.",
         "Sorry, I made a stupid mistake in the table and reverted it.", ""]
NSFW = [Case("classify_nsfw", t).close(rtol=1e-4) for t in _NSFW_TEXTS + _HARD]
TOXIC = [Case("classify_toxic_speech", t).close(rtol=1e-4) for t in _TOXIC_TEXTS + _HARD]

# ---- normalization ----
NORMALIZE = [Case("normalize_text", t) for t in (
    "Ça, c'est «très» Bien!!", "  Tabs\tand\nnewlines  ", "Über-Größe: 3.5 (¿sí?)",
    "e\u0301 vs é", "price $5 + 10% = ~", "", "ΑΘΗΝΑ, Ελλάδα", "日本語、テスト。")]

# ---- MinHash ----
_vocab = [f"v{i}" for i in range(5000)]


def _doc(n=300):
    return " ".join(rng.choice(_vocab) for _ in range(n))


def _variant(text: str, changes: int) -> str:
    words = text.split()
    for _ in range(changes):
        words[rng.randrange(len(words))] = rng.choice(("Alpha", "Beta", "gamma"))
    return " ".join(words)


def _variant_near(text: str, low: float = 0.84, high: float = 0.9) -> str:
    """A variant whose 3-gram Jaccard with text lies in [low, high]: a candidate for 24 bands
    of 5 rows with probability > 1 - 1e-5, for 5 bands of 24 rows with probability < 0.1."""
    while True:
        other = _variant(text, 8)
        if low <= jaccard(shingles(text, 3), shingles(other, 3)) <= high:
            return other


_a, _b, _c = _doc(), _doc(), _doc()
_KW = dict(num_hashes=120, num_bands=24, ngrams=3, jaccard_threshold=0.8)
MINHASH = [
    Case("dedup_texts", "minhash_deduplication",
         {"p1.txt": _a, "p2.txt": _b, "p3.txt": _variant(_a, 1), "p4.txt": _c,
          "p5.txt": _a.upper().replace(" ", " , "), "p6.txt": _variant(_b, 1)}, **_KW),
    Case("dedup_texts", "minhash_deduplication",
         {"z.txt": _variant(_c, 1), "a.txt": _c, "m.txt": ""}, **_KW),
    Case("dedup_texts", "minhash_deduplication",  # a chain: 0~1, 1~2, 0 !~ 2 at this threshold
         {f"c{k}.txt": " ".join(f"w{i}" for i in range(6 * k, 6 * k + 300)) for k in range(3)},
         num_hashes=120, num_bands=24, ngrams=2, jaccard_threshold=0.95
         ).hint("duplicate pairs join into clusters (union-find): a chain is one cluster"),
    Case("dedup_texts", "minhash_deduplication",  # pairs at J ~ 0.87: the S-curve's steep side
         {f"n{k}{v}.txt": text for k, d in enumerate(_doc() for _ in range(4))
          for v, text in enumerate((d, _variant_near(d)))}, **_KW
         ).hint("num_bands bands of num_hashes // num_bands rows each, not the other way round"),
    Case("dedup_texts", "minhash_deduplication",  # the same words shuffled: word 3-grams differ
         {"s1.txt": _a, "s2.txt": " ".join(rng.sample(_a.split(), 300))}, **_KW
         ).hint("shingles are n-grams of words, not of characters"),
    Case("dedup_texts", "minhash_deduplication",  # a half overlap (J ~ 1/3) stays
         {"h1.txt": _a, "h2.txt": " ".join(_a.split()[:150] + _b.split()[:150])}, **_KW
         ).hint("a pair whose Jaccard is under jaccard_threshold is not a duplicate"),
]

# ---- exact lines ----
LINES = [
    Case("dedup_texts", "exact_line_deduplication",
         {"1.txt": "Home | Shop\nA story.\nCopyright\n", "2.txt": "Home | Shop\nCopyright\nEnd",
          "3.txt": "Unique\n\n\nAlso unique\n"}),
    Case("dedup_texts", "exact_line_deduplication", {"a.txt": "x\nx\ny\n", "b.txt": "Y\ny \n"}),
    Case("dedup_texts", "exact_line_deduplication", {"only.txt": "one\ntwo\nthree"}),
]

CASES = {
    "test_extract_text_from_html_bytes": EXTRACT,
    "test_identify_language": LANGUAGE,
    "test_mask_emails": EMAILS,
    "test_mask_phone_numbers": PHONES,
    "test_mask_ips": IPS,
    "test_gopher_quality_filter": GOPHER,
    "test_classify_quality": QUALITY,
    "test_classify_nsfw": NSFW,
    "test_classify_toxic_speech": TOXIC,
    "test_normalize_text": NORMALIZE,
    "test_minhash_deduplication": MINHASH,
    "test_exact_line_deduplication": LINES,
}

def _cell(test) -> str:
    """The source of the first code cell of the lesson's notebook that passes ``test``."""
    notebook = json.loads((REPO_ROOT / "solutions" / "07_common_crawl_filtering.ipynb").read_text())
    return next("".join(c["source"]) for c in notebook["cells"]
                if c["cell_type"] == "code" and test(c))


# A mutant runs in a copy of the namespace, but the notebook's dedup_texts looks functions up
# in its own globals: each dedup mutant defines dedup_texts again, in the copy.
_WRAPPER = _cell(lambda c: "".join(c["source"]).startswith("def dedup_texts"))


def _dedup(source: str) -> str:
    return textwrap.dedent(source) + "\n\n" + _WRAPPER


def _minhash_variant(old: str, new: str) -> str:
    source = _cell(lambda c: c["metadata"].get("nbgrader", {}).get("grade_id")
                   == "minhash_deduplication")
    assert source.count(old) == 1, old
    return _dedup(source.replace(old, new))


MUTANTS = {
    "test_extract_text_from_html_bytes": [
        """
        def extract_text_from_html_bytes(html_bytes, declared_encoding=None):
            if not html_bytes:
                return None
            return extract_plain_text(html_bytes.decode("utf-8", "replace"), main_content=True)
        """,
        """
        _right = extract_text_from_html_bytes
        def extract_text_from_html_bytes(html_bytes, declared_encoding=None):
            text = _right(html_bytes, declared_encoding)
            return text if text is None else extract_plain_text(
                html_bytes.decode(detect_encoding(html_bytes), "replace"))
        """,
    ],
    "test_identify_language": [
        """
        _right = identify_language
        def identify_language(text):
            label, score = _right(text)
            return "__label__" + label, score
        """,
        """
        def identify_language(text):
            labels, probs = load_fasttext(str(lid_model_path())).predict(text.split("\\n")[0], k=1)
            return labels[0].removeprefix("__label__"), float(probs[0])
        """,
    ],
    "test_mask_emails": [
        "def mask_emails(text): return re.subn(r'\\S+@\\S+', '|||EMAIL_ADDRESS|||', text)",
        "def mask_emails(text): return re.subn(r'\\w+@\\w+\\.\\w+', '|||EMAIL_ADDRESS|||', text)",
    ],
    "test_mask_phone_numbers": [
        "def mask_phone_numbers(text): return re.subn(r'\\(?\\d{3}\\)?[ .-]?\\d{3}[ .-]\\d{4}',"
        " '|||PHONE_NUMBER|||', text)",
        "def mask_phone_numbers(text):\n"
        "    return re.subn(r'[\\d()+ .-]{10,}', '|||PHONE_NUMBER|||', text)",
    ],
    "test_mask_ips": [
        "def mask_ips(text):\n"
        "    return re.subn(r'\\d+\\.\\d+\\.\\d+\\.\\d+', '|||IP_ADDRESS|||', text)",
        "def mask_ips(text):\n"
        "    return re.subn(r'\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b', '|||IP_ADDRESS|||', text)",
    ],
    "test_gopher_quality_filter": [
        """
        _right = gopher_quality_filter
        def gopher_quality_filter(text):
            return len(text.split()) > 50 and _right(text)
        """,
        """
        def gopher_quality_filter(text):
            words = text.split()
            return 50 <= len(words) <= 100_000 and 3 <= sum(map(len, words)) / len(words) <= 10
        """,
        """
        def gopher_quality_filter(text):
            words = text.split()
            if not 50 <= len(words) <= 100_000 or not 3 <= sum(map(len, words)) / len(words) <= 10:
                return False
            return sum(c.isalpha() for c in text) >= 0.8 * len(text.replace(" ", ""))
        """,
    ],
    "test_classify_quality": [
        """
        _right = classify_quality
        def classify_quality(text):
            label, score = _right(text)
            return ("cc" if label == "wiki" else "wiki"), score
        """,
        """
        _right = classify_quality
        def classify_quality(text):
            label, score = _right(text.split("\\n")[0])
            return label, score
        """,
    ],
    "test_classify_nsfw": [
        """
        _right = classify_nsfw
        def classify_nsfw(text):
            label, score = _right(text)
            return ("non-nsfw" if label == "nsfw" else "nsfw"), 1 - score
        """,
        """
        _right = classify_nsfw
        def classify_nsfw(text):
            return _right(text.split("\\n")[0])
        """,
        """
        def classify_nsfw(text):  # the toxic-speech model instead
            label, score = classify_toxic_speech(text)
            return label.replace("toxic", "nsfw"), score
        """,
    ],
    "test_classify_toxic_speech": [
        """
        _right = classify_toxic_speech
        def classify_toxic_speech(text):
            label, score = _right(text)
            return "__label__" + label, score
        """,
        """
        def classify_toxic_speech(text):  # the NSFW model instead
            label, score = classify_nsfw(text)
            return label.replace("nsfw", "toxic"), score
        """,
        """
        _right = classify_toxic_speech
        def classify_toxic_speech(text):
            label, score = _right(text)
            return label, round(score, 1)
        """,
    ],
    "test_normalize_text": [
        "def normalize_text(text): return ' '.join(text.lower().split())",
        """
        def normalize_text(text):
            text = ''.join(c for c in text if not unicodedata.category(c).startswith('P')).lower()
            return ' '.join(text.split())
        """,
        """
        def normalize_text(text):
            text = unicodedata.normalize('NFD', text)
            text = ''.join(c for c in text if not unicodedata.combining(c)).lower()
            return ' '.join(re.sub(r'[^\\w\\s]', '', text).split())
        """,
    ],
    "test_minhash_deduplication": [
        # bands and rows swapped: 24 rows of 5 bands, far too strict
        _dedup("""
        _right = minhash_deduplication
        def minhash_deduplication(input_files, num_hashes, num_bands, ngrams, jaccard_threshold,
                                  output_directory):
            return _right(input_files, num_hashes, num_hashes // num_bands, ngrams,
                          jaccard_threshold, output_directory)
        """),
        _minhash_variant("normalize_text(t).split()", "t.split()"),             # no normalization
        _minhash_variant("normalize_text(t).split()",                          # character shingles
                         'list(normalize_text(t).replace(" ", ""))'),
        _minhash_variant("if find(i) == i:",                                   # drops clusters
                         "if sum(find(j) == find(i) for j in range(len(texts))) == 1:"),
    ],
    "test_exact_line_deduplication": [
        # keeps the first copy of each line (dedup, not removal of repeated lines)
        _dedup("""
        def exact_line_deduplication(input_files, output_directory):
            seen = set()
            out = Path(output_directory)
            out.mkdir(parents=True, exist_ok=True)
            for path in input_files:
                kept = []
                for line in Path(path).read_text(encoding="utf-8").splitlines(True):
                    if line.rstrip("\\n") not in seen:
                        kept.append(line)
                    seen.add(line.rstrip("\\n"))
                (out / Path(path).name).write_text("".join(kept), encoding="utf-8")
        """),
        # counts per file instead of across the corpus
        _dedup("""
        def exact_line_deduplication(input_files, output_directory):
            out = Path(output_directory)
            out.mkdir(parents=True, exist_ok=True)
            for path in input_files:
                lines = Path(path).read_text(encoding="utf-8").splitlines(True)
                counts = Counter(l.rstrip("\\n") for l in lines)
                (out / Path(path).name).write_text(
                    "".join(l for l in lines if counts[l.rstrip("\\n")] == 1), encoding="utf-8")
        """),
        # compares lines after stripping all whitespace and case
        _dedup("""
        def exact_line_deduplication(input_files, output_directory):
            counts = Counter()
            for path in input_files:
                text = Path(path).read_text(encoding="utf-8")
                counts.update(l.strip().lower() for l in text.splitlines())
            out = Path(output_directory)
            out.mkdir(parents=True, exist_ok=True)
            for path in input_files:
                lines = Path(path).read_text(encoding="utf-8").splitlines(True)
                (out / Path(path).name).write_text(
                    "".join(l for l in lines if counts[l.strip().lower()] == 1), encoding="utf-8")
        """),
    ],
}
