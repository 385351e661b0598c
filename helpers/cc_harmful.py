"""Harmful-content classifiers of lesson 07: a generated teaching set and its fastText models.

Real pipelines (Dolma, CS336 assignment 4) flag pages with fastText classifiers that AI2
trained on the Jigsaw Toxic Comment Classification data: ``jigsaw_fasttext_bigrams_nsfw`` (the
"obscene" label: ``__label__nsfw`` / ``__label__non-nsfw``) and
``jigsaw_fasttext_bigrams_hatespeech`` (``__label__toxic`` / ``__label__non-toxic``).

- The published models (``DOLMA_MODELS``): put the two ``.bin`` files under ``DATA_DIR``
  (``datasets/data/``, or ``$LMKIT_DATA_DIR``) and ``harmful_model_path`` returns them. They
  are fetched by hand from ``DOLMA_URL`` (no checksum is published for them, so the kit's
  checksummed downloader has no entry); nothing here downloads anything.
- Offline, the kit generates a **teaching stand-in** (``teaching_set``): short comments built
  from templates and word lists in this file, seeded and deterministic. Toxic comments are
  mild insults ("what a clown", "you are such an idiot"), NSFW ones the vocabulary of
  adult-site spam ("explicit videos", "18+ only"); nothing worse, and no slurs. Negatives are
  ordinary comments and web snippets, some on purpose with the same words in harmless senses
  ("hot weather", "adult education", "a stupid mistake I made"). The ``"test"`` split also
  uses words and sentence shapes the ``"train"`` split never has, so held-out recall shows
  what a classifier trained on a narrow sample misses.
- ``harmful_model_path(kind)`` trains the stand-in once (fastText, one thread, a fixed seed:
  the same bytes every time) and caches it in a per-user temporary file, which the lesson's
  ``classify_nsfw`` / ``classify_toxic_speech`` load lazily by path.

Test: ``python -m pytest grader/tests/test_cc_filtering.py -q -k harmful``.
"""
from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from helpers.env import DATA_DIR

KINDS = {"nsfw": ("nsfw", "non-nsfw"), "toxic": ("toxic", "non-toxic")}  # (positive, negative)
DOLMA_URL = "https://dolma-artifacts.org/fasttext_models/jigsaw_fasttext_bigrams_20230515/"
DOLMA_MODELS = {"nsfw": "jigsaw_fasttext_bigrams_nsfw_final.bin",
                "toxic": "jigsaw_fasttext_bigrams_hatespeech_final.bin"}
VERSION = 1  # bump when the lists below change: cached models are named after it

TOPICS = ["the history section", "this recipe", "the new bridge", "the football match",
          "the election results", "your edit", "the article about whales", "the tax rules",
          "the train timetable", "the garden photos", "the chess opening", "this laptop",
          "the city council", "the museum exhibit", "the bird migration map", "the poem"]
# words of the positives; the second list appears only in the "test" split
INSULTS = (["idiot", "moron", "clown", "loser", "fool", "jerk", "imbecile", "dimwit"],
           ["nitwit", "buffoon", "halfwit"])
INSULT_ADJ = (["stupid", "dumb", "pathetic", "worthless", "clueless", "brainless"],
              ["idiotic", "moronic"])
TOXIC_TEMPLATES = ["you are such a{n} {insult}", "what a {adj} {insult} you are",
                   "shut up, you {adj} {insult}", "only a{n} {insult} would write {topic}",
                   "nobody cares what a {adj} {insult} like you thinks about {topic}",
                   "get lost, {insult}", "your comment on {topic} is {adj}, you {insult}",
                   "go away, you {adj} {insult}, and stop ruining {topic}"]
TOXIC_TEST_TEMPLATES = ["honestly, you must be the most {adj} person on this site",
                        "keep your {adj} opinions about {topic} to yourself",
                        "people like you are why {topic} is {adj}"]
NSFW_ADJ = (["sexy", "naughty", "explicit", "xxx", "nude", "naked", "erotic", "uncensored"],
            ["steamy", "x-rated", "raunchy"])
NSFW_TEST_TEMPLATES = ["live {adj} cams, verify you are over 18",
                       "uncensored adult content, members see {adj} {noun} first"]
NSFW_NOUNS = ["videos", "pics", "webcams", "chat", "stories", "models", "photos", "clips"]
NSFW_TEMPLATES = ["{adj} {noun} for adults only, 18+ click here",
                  "hot singles near you, {adj} {noun} tonight",
                  "free {adj} {noun}, no sign up, adults only",
                  "watch {adj} {noun} now, {adj2} {noun2} every day",
                  "the best {adj} {noun} on the web, 18+ only",
                  "{adj} {noun} and {adj2} {noun2}, click to see more"]
POLITE_TEMPLATES = ["thanks for fixing {topic}, it reads much better now",
                    "i respectfully disagree about {topic}: the sources say otherwise",
                    "could you add a citation for {topic}?", "great work on {topic}",
                    "i think {topic} needs a short summary at the top",
                    "sorry, i made a stupid mistake in {topic} and reverted it",
                    "the fool in the play about {topic} is the wisest character",
                    "i was clueless about {topic} until i read this, thank you",
                    "please do not remove {topic} without discussing it first",
                    "a loser's bracket in the tournament decided {topic}"]
WEB_TEMPLATES = ["hot weather expected this weekend, see {topic}",
                 "adult education classes on {topic} start in may",
                 "watch videos of {topic} on our channel", "free chat support about {topic}",
                 "single rooms available, close to {topic}", "photos of {topic} from our trip",
                 "models of {topic} on display in the main hall",
                 "click here to read more about {topic}", "the best stories about {topic}",
                 "18 pages of notes on {topic}, free to download"]


def _fill(template: str, rng: random.Random, test: bool) -> str:
    def pick(pair: tuple[list[str], list[str]]) -> str:
        return rng.choice(pair[0] + pair[1] if test else pair[0])

    insult = pick(INSULTS)
    adj = pick(NSFW_ADJ) if "{noun" in template else pick(INSULT_ADJ)
    return template.format(insult=insult, adj=adj, adj2=pick(NSFW_ADJ),
                           noun=rng.choice(NSFW_NOUNS), noun2=rng.choice(NSFW_NOUNS),
                           topic=rng.choice(TOPICS), n="n" if insult[0] in "aeiou" else "")


def _sentences(rng: random.Random, stories: list[str], k: int) -> list[str]:
    """k consecutive sentences of a random story (ordinary prose, as around a comment)."""
    sentences = rng.choice(stories).replace("\n", " ").split(". ")
    start = rng.randrange(max(1, len(sentences) - k))
    return sentences[start:start + k]


def teaching_set(kind: str, num: int, seed: int = 0, split: str = "train"
                 ) -> list[tuple[str, str]]:
    """``num`` (text, label) pairs for ``kind`` ("nsfw" or "toxic"), half of them positive,
    shuffled. A teaching stand-in for Jigsaw's comments (see the module docstring): a
    harmful sentence, alone or amid ordinary sentences, against ordinary comments, web
    snippets and story sentences."""
    from helpers.stories import generate_stories

    if kind not in KINDS or split not in ("train", "test"):
        raise ValueError(f"kind is one of {sorted(KINDS)}, split 'train' or 'test'")
    positive, negative = KINDS[kind]
    rng = random.Random(f"{kind}-{split}-{seed}")
    stories = list(generate_stories(50, seed=rng.randrange(1 << 30)))
    test = split == "test"
    harmful = ((TOXIC_TEMPLATES + TOXIC_TEST_TEMPLATES * test) if kind == "toxic"
               else (NSFW_TEMPLATES + NSFW_TEST_TEMPLATES * test))

    def harmless() -> list[str]:
        choice = rng.randrange(3)
        if choice == 2:
            return _sentences(rng, stories, rng.randint(1, 4))
        templates = POLITE_TEMPLATES if choice == 0 else WEB_TEMPLATES
        return [_fill(rng.choice(templates), rng, test) for _ in range(rng.randint(1, 2))]

    def comment(sentences: list[str]) -> str:
        text = " ".join(s[:1].upper() + s[1:] + ("" if s[-1:] in ".!?\"" else ".")
                        for s in sentences)
        return text + rng.choice(["", "", "!", "!!"]) if text.endswith(".") else text

    rows = []
    for _ in range(num // 2):
        sentences = [_fill(rng.choice(harmful), rng, test)]
        if rng.random() < 0.5:  # amid ordinary sentences, as comments and pages have
            context = harmless()
            at = rng.randrange(len(context) + 1)
            sentences = context[:at] + sentences + context[at:]
        rows.append((comment(sentences), positive))
    rows += [(comment(harmless()), negative) for _ in range(num - num // 2)]
    rng.shuffle(rows)
    return rows


def dolma_model(kind: str) -> Path | None:
    """The published Dolma model for ``kind`` when its file is under DATA_DIR, else None."""
    path = DATA_DIR / DOLMA_MODELS[kind]
    return path if path.is_file() else None


def standin_model_path(kind: str) -> Path:
    """Where the trained stand-in is cached: a per-user temporary file (the grader's sandboxed
    kernels cannot write build/)."""
    return Path(tempfile.gettempdir()) / f"lmkit-07-{kind}-v{VERSION}-{os.getuid()}.bin"


def harmful_model_path(kind: str, num: int = 2000, seed: int = 0) -> Path:
    """The fastText model ``classify_nsfw`` ("nsfw") or ``classify_toxic_speech`` ("toxic")
    loads: Dolma's published model when it is there, else the stand-in trained once on
    ``teaching_set(kind, num, seed)`` (about a second) and cached."""
    from helpers.cc_pipeline import train_fasttext

    published = dolma_model(kind)
    if published is not None:
        return published
    path = standin_model_path(kind)
    if not path.exists():
        train_fasttext(teaching_set(kind, num, seed), path, seed=seed)
    return path


def precision_recall(classify, examples: list[tuple[str, str]], positive: str
                     ) -> dict[str, float]:
    """Precision and recall of ``classify`` (text -> (label, score)) for the label
    ``positive`` on labelled examples, and the counts behind them."""
    got = [(classify(text)[0] == positive, label == positive) for text, label in examples]
    tp = sum(p and t for p, t in got)
    flagged, actual = sum(p for p, _ in got), sum(t for _, t in got)
    return {"precision": tp / flagged if flagged else 1.0,
            "recall": tp / actual if actual else 1.0, "flagged": flagged, "positives": actual}
