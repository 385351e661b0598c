"""Tests for helpers.stories: determinism, corpus format, vocabulary, grammar spot checks,
UTF-8, the long tail (distinct pre-tokens, Zipf-like frequencies, reachable BPE merges, names
mentioned again), the mixed-script text, cached corpus files, and the committed samples.

Run: ``python -m pytest grader/tests/test_stories.py -q``
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter

import pytest
import regex

from helpers import stories, story_words
from helpers.mixed_text import generate_mixed_text
from helpers.stories import (
    MIXED_SAMPLE,
    SEPARATOR,
    STORIES_SAMPLE,
    VALID_SEED_OFFSET,
    article,
    coined_words,
    generate_stories,
    join_corpus,
    plural,
    sample_bytes,
    split_corpus,
    stories_bytes,
    write_corpus,
)
from helpers.story_grammar import ing, past
from helpers.tokenization import GPT2_PATTERN

WORD = re.compile(r"[^\W\d_]+")


def pretokens(text: str) -> set[str]:
    """Distinct GPT-2 pre-tokens: an upper bound on what byte-level BPE can merge into."""
    return set(regex.findall(GPT2_PATTERN, text.replace(SEPARATOR, "")))


@pytest.fixture(scope="module")
def sample_text() -> str:
    return stories_bytes(300_000, seed=0).decode("utf-8")


@pytest.fixture(scope="module")
def sample_stories(sample_text: str) -> list[str]:
    return split_corpus(sample_text)


# ---------------------------------------------------------------------------------------------
# Determinism and limits
# ---------------------------------------------------------------------------------------------
def test_same_seed_gives_the_same_stories():
    assert list(generate_stories(num_stories=50, seed=3)) == \
        list(generate_stories(num_stories=50, seed=3))


def test_different_seeds_give_different_stories():
    a = list(generate_stories(num_stories=50, seed=0))
    b = list(generate_stories(num_stories=50, seed=1))
    assert not set(a) & set(b), "two seeds should not share whole stories"


def test_num_stories_and_num_bytes_limits():
    assert len(list(generate_stories(num_stories=7, seed=0))) == 7
    sizes = [len(s.encode("utf-8")) for s in generate_stories(num_bytes=5_000, seed=0)]
    assert sum(sizes) >= 5_000 > sum(sizes[:-1]), "stop at the first story that reaches it"
    assert len(list(generate_stories(num_stories=3, num_bytes=10**9))) == 3


# ---------------------------------------------------------------------------------------------
# Format and content
# ---------------------------------------------------------------------------------------------
def test_corpus_format_round_trips(sample_text, sample_stories):
    assert sample_text.endswith("\n") and not sample_text.endswith(SEPARATOR + "\n")
    assert join_corpus(sample_stories) == sample_text
    assert sample_text.count(SEPARATOR) == len(sample_stories) - 1
    for line in sample_text.split("\n"):
        assert line == SEPARATOR or SEPARATOR not in line
    for story in sample_stories:
        assert story.strip() == story and story, "no empty stories, no outer whitespace"
        assert "\n\n" not in story, "stories have no blank lines"


def test_story_size_and_structure(sample_stories):
    assert 250 < len(sample_stories) < 600
    lengths = sorted(len(s) for s in sample_stories)
    assert 300 < lengths[len(lengths) // 2] < 1500, "median story length like TinyStories"
    with_dialogue = sum('"' in s for s in sample_stories) / len(sample_stories)
    assert with_dialogue > 0.8, "most stories have dialogue"
    assert all(s.count('"') % 2 == 0 for s in sample_stories), "quotes are balanced"
    assert any("learned" in s or "moral" in s for s in sample_stories), "some have a moral"


def test_vocabulary_is_large_enough(sample_text):
    words = set(WORD.findall(sample_text))
    assert len(words) >= 3_000, f"only {len(words)} distinct words in 300 KB (measured: 3,600)"


def test_grammar_spot_checks(sample_text):
    assert "{" not in sample_text and "}" not in sample_text, "unfilled template slot"
    bad_articles = re.findall(r"\b[Aa] [aeiouAEIOU]\w*", sample_text)
    assert not [m for m in bad_articles if not m.split()[1].lower().startswith(("uni", "use"))]
    assert not re.findall(r"\b[Aa]n [b-df-hj-np-tv-z]\w*", sample_text.replace("an honest", ""))
    assert not re.search(r"\b(they was|he were|she were|They was|He were|She were)\b",
                         sample_text)
    sentences = re.split(r"(?<=[.!?])\s+", sample_text.replace(SEPARATOR, ""))
    starts = [s.lstrip('"')[:1] for s in sentences if s.strip()]
    assert sum(c.isupper() or c.isdigit() for c in starts) / len(starts) > 0.97


def test_utf8_accented_names_and_numbers(sample_text):
    data = sample_text.encode("utf-8")
    assert data.decode("utf-8", errors="strict") == sample_text
    assert any(name in sample_text for name in ("Zoë", "José", "Søren", "Amélie", "Björn"))
    assert re.search(r"\d", sample_text) and re.search(r"\b(two|three|seven)\b", sample_text)


def test_article_and_plural_helpers():
    assert article("owl") == "an owl" and article("red ball") == "a red ball"
    assert article("unicorn") == "a unicorn" and article("honest fox") == "an honest fox"
    assert [plural(w) for w in ("mouse", "box", "cherry", "toy", "peach", "sheep")] == \
        ["mice", "boxes", "cherries", "toys", "peaches", "sheep"]
    assert [plural(w) for w in ("baby mouse", "wolf", "loaf", "goldfish", "potato", "cactus",
                                "gingerbread man", "plumble pie", "day")] == \
        ["baby mice", "wolves", "loaves", "goldfish", "potatoes", "cacti", "gingerbread men",
         "plumble pies", "days"]


def test_verb_forms():
    pairs = {"hop": ("hopped", "hopping"), "tiptoe": ("tiptoed", "tiptoeing"),
             "tie": ("tied", "tying"), "cry": ("cried", "crying"), "play": ("played", "playing"),
             "unwrap": ("unwrapped", "unwrapping"), "zigzag": ("zigzagged", "zigzagging"),
             "frolic": ("frolicked", "frolicking"), "swim": ("swam", "swimming"),
             "visit": ("visited", "visiting"), "fix": ("fixed", "fixing"),
             "sew": ("sewed", "sewing"), "see": ("saw", "seeing"), "make": ("made", "making")}
    assert {v: (past(v), ing(v)) for v in pairs} == pairs


# ---------------------------------------------------------------------------------------------
# The long tail: what a 10,000-token BPE vocabulary and a copying language model need
# ---------------------------------------------------------------------------------------------
def test_distinct_pretokens_keep_growing(sample_text):
    small = pretokens(sample_text)
    assert len(small) >= 3_500, f"{len(small)} distinct pre-tokens in 300 KB (measured: 4,100)"
    big = pretokens(stories_bytes(2_000_000, seed=1).decode("utf-8"))
    assert len(big) >= 8_500, f"{len(big)} distinct pre-tokens in 2 MB (measured: 10,000)"


def test_bpe_can_fill_its_vocabulary(tmp_path):
    """Byte-level BPE (Hugging Face's trainer) reaches 2,000 tokens on the 300 KB sample and
    10,000 on 5 MB: 256 bytes + <|endoftext|> + the merges."""
    pytest.importorskip("tokenizers")
    from helpers.tokenization import hf_train_bpe

    _, merges = hf_train_bpe([STORIES_SAMPLE], 2_000, [SEPARATOR])
    assert len(merges) == 2_000 - 257, "the 300 KB sample ran out of pairs to merge"
    path = tmp_path / "stories_5mb.txt"
    path.write_bytes(stories_bytes(5_000_000, seed=0))
    _, merges = hf_train_bpe([path], 10_000, [SEPARATOR])
    assert len(merges) == 10_000 - 257, f"5 MB ran out of pairs after {len(merges)} merges"


def test_word_frequencies_are_zipf_like(sample_text):
    counts = sorted(Counter(WORD.findall(sample_text)).values(), reverse=True)
    top100 = sum(counts[:100]) / sum(counts)
    assert 0.40 < top100 < 0.62, f"the 100 commonest words cover {top100:.0%} (measured: 51%)"
    # Slope of log(frequency) against log(rank) for ranks 10..1000: -1 for Zipf's law.
    xs = [math.log(r) for r in range(10, 1001)]
    ys = [math.log(counts[r - 1]) for r in range(10, 1001)]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    assert -1.3 < slope < -0.8, f"rank-frequency slope {slope:.2f} (measured: -1.0)"
    hapax = sum(c == 1 for c in counts)
    assert hapax >= 300, f"only {hapax} words occur once: no long tail (measured: 800)"


def test_names_are_mentioned_again(sample_stories):
    """Every coined name in a story, and every character introduced with "named X" or
    "called X", occurs at least twice in that story, so a model can learn to copy it."""
    coined = coined_words()
    with_coined = 0
    for story in sample_stories:
        names = set(WORD.findall(story)) & coined
        names |= set(re.findall(r"\b(?:named|called) ([^\W\d_]+)", story))
        with_coined += bool(set(WORD.findall(story)) & coined)
        once = [n for n in names if len(re.findall(rf"\b{n}(?:e?s)?\b", story)) < 2]
        assert not once, f"{once} mentioned only once in:\n{story}"
    assert with_coined / len(sample_stories) > 0.8, "most stories have a coined name"


def test_coined_names_are_new_pronounceable_words():
    coined = {w.lower() for w in coined_words()}
    assert len(coined) > 100_000, "tens of thousands of coined names"
    assert all(re.fullmatch(r"[a-z]{4,12}", w) for w in coined)
    listed = set()  # every word of the real word lists and templates
    for name in dir(story_words):
        value = getattr(story_words, name)
        if name.isupper():
            listed |= {w.lower() for w in WORD.findall(json.dumps(value, ensure_ascii=False))}
    assert not coined & listed, f"coined words that are real words: {sorted(coined & listed)[:5]}"


def test_numbers_and_hyphens_in_many_forms(sample_text):
    forms = {"clock time": r"\b\d{1,2}:\d\d\b", "year": r"\b(?:18[5-9]\d|19\d\d|20[0-3]\d)\b",
             "price": r"[$£€]\d+(?:\.\d\d)?", "cents": r"\b\d+ (?:cents|pence)\b",
             "thousands": r"\b\d,\d{3}\b", "ordinal": r"\b\d+(?:st|nd|rd|th)\b",
             "fraction": r"\b\d/\d\b", "hyphenated word": r"\b[a-z]+-[a-z]+\b"}
    missing = [name for name, pattern in forms.items() if not re.search(pattern, sample_text)]
    assert not missing, f"no {missing} in the sample"
    assert len(re.findall(forms["hyphenated word"], sample_text)) >= 50


# ---------------------------------------------------------------------------------------------
# Mixed-script text
# ---------------------------------------------------------------------------------------------
def test_mixed_text_is_deterministic_and_adversarial():
    text = generate_mixed_text(100_000, seed=0)
    assert text == generate_mixed_text(100_000, seed=0)
    assert text != generate_mixed_text(100_000, seed=1)
    assert len(text.encode("utf-8")) >= 100_000
    must_have = {"ZWJ": "\u200d", "skin tone": "🏽", "CJK": "你好", "Greek": "Καλημέρα",
                 "Cyrillic": "Привет", "Korean": "안녕", "tab": "\t", "CRLF": "\r\n",
                 "special token": SEPARATOR, "contraction": "'re", "code": "def ",
                 "combining mark": "\u0301", "Vietnamese": "Tiếng", "NBSP": "\u00a0"}
    missing = [name for name, s in must_have.items() if s not in text]
    assert not missing, f"mixed text lacks {missing}"
    assert re.search(r" {4,}", text) and re.search(r"\n{3,}", text) and re.search(r"\d{5,}", text)


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------
def test_write_corpus_writes_the_generated_bytes_with_a_sidecar(tmp_path):
    path = write_corpus(tmp_path / "c.txt", 50_000, seed=2, progress=False)
    assert path.read_bytes() == stories_bytes(50_000, seed=2)
    meta = json.loads((tmp_path / "c.txt.json").read_text())
    assert meta["seed"] == 2 and meta["num_bytes"] == 50_000
    assert meta["size"] == path.stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt", "c.txt.json"], "no temp files"


def test_write_corpus_skips_an_identical_file_and_redoes_a_changed_one(tmp_path, monkeypatch):
    path = write_corpus(tmp_path / "c.txt", 20_000, seed=2, progress=False)
    real_chunks = stories._corpus_chunks

    def refuse(*args):
        raise AssertionError("regenerated a corpus that was already there")

    monkeypatch.setattr(stories, "_corpus_chunks", refuse)
    write_corpus(path, 20_000, seed=2, progress=False)  # cached: must not call the generator
    monkeypatch.setattr(stories, "_corpus_chunks", real_chunks)
    write_corpus(path, 20_000, seed=3, progress=False)  # another seed: rewritten
    assert path.read_bytes() == stories_bytes(20_000, seed=3)
    path.write_bytes(path.read_bytes()[:100])  # truncated: rewritten
    write_corpus(path, 20_000, seed=3, progress=False)
    assert path.read_bytes() == stories_bytes(20_000, seed=3)


def test_write_corpus_is_atomic_when_generation_fails(tmp_path, monkeypatch):
    def broken(*args):
        yield b"half a corpus"
        raise RuntimeError("boom")

    monkeypatch.setattr(stories, "_corpus_chunks", broken)
    with pytest.raises(RuntimeError):
        write_corpus(tmp_path / "c.txt", 10_000, progress=False)
    assert list(tmp_path.iterdir()) == [], "a failed write leaves nothing behind"


def test_stories_split_paths(tmp_path, monkeypatch):
    monkeypatch.setattr(stories, "DATA_DIR", tmp_path)
    train, valid = stories.stories_split_paths(1, seed=5, progress=False)
    assert train == tmp_path / "stories_1mb_seed5.txt" == stories.stories_path(1, 5)
    assert valid == tmp_path / "stories_1mb_seed5_valid.txt"
    assert 1_000_000 <= train.stat().st_size < 1_010_000
    assert 20_000 <= valid.stat().st_size < 25_000, "validation is 1/50 of train"
    assert valid.read_bytes() == stories_bytes(20_000, seed=5 + VALID_SEED_OFFSET)
    train_stories = set(split_corpus(train.read_text(encoding="utf-8")))
    assert not train_stories & set(split_corpus(valid.read_text(encoding="utf-8")))


def test_cli(tmp_path, capsys):
    out = tmp_path / "s.txt"
    assert stories.main(["--bytes", "20000", "--seed", "4", "--out", str(out)]) == 0
    assert out.read_bytes() == stories_bytes(20_000, seed=4)
    for bad in ([], ["--mb", "-1"], ["--mb", "1", "--bytes", "2"]):
        with pytest.raises(SystemExit) as exc:
            stories.main(bad)
        assert exc.value.code == 2


def test_committed_samples_equal_the_generator_output():
    for path, expected in sample_bytes().items():
        assert path.exists(), f"{path} is missing: run python -m helpers.stories --samples"
        assert path.read_bytes() == expected, \
            f"{path.name} differs from the generator: run python -m helpers.stories --samples"
    assert 290_000 < STORIES_SAMPLE.stat().st_size < 320_000
    assert 95_000 < MIXED_SAMPLE.stat().st_size < 110_000
