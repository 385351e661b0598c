"""The story generator's long tail: pools of coined names, drawn by Zipf's law.

- Pools of 109,000 pronounceable coined names (people, pets, surnames, towns, landmarks,
  creatures, plants, treats, gadgets) built from the syllables of ``helpers.story_words`` with
  a fixed seed (``POOL_SEED``): the same for every corpus seed, a shared "language". Real names
  head each pool, so they are the most frequent.
- ``zipf(rng, pool)`` draws rank k with probability ~ 1/k, in integer weights, so a draw is
  exact on every machine.
- ``mentions`` counts whole-word mentions of a name (the generator adds a callback sentence
  for a name mentioned once).

Test: ``python -m pytest grader/tests/test_stories.py -q``.
"""
from __future__ import annotations

import bisect
import itertools
import random
import re
from collections.abc import Iterator
from functools import lru_cache

from helpers import story_words as words
from helpers.story_grammar import cap

POOL_SEED = 20_240_601  # coined names are the same for every corpus seed (a shared "language")
POOL_SIZES = {"she": 13_000, "he": 13_000, "they": 3_000, "pet": 10_000, "surname": 20_000,
              "town": 10_000, "landmark": 8_000, "creature": 8_000, "plant": 8_000,
              "treat": 8_000, "gadget": 8_000}
_ZIPF_SCALE = 10**12  # weight of rank k is _ZIPF_SCALE // k: integers, so draws are exact
_BLOCKED = ("fuk", "fuc", "shit", "cunt", "nig", "fag", "sex", "cum", "dick", "cock", "tit",
            "ass", "piss", "porn", "rape", "kill", "slut", "whor", "bitch", "damn", "hell",
            "poo", "wank", "nazi", "crap", "butt", "puss", "anus", "pen", "vag", "turd", "dik",
            "coc", "fart", "jew", "gay", "spic", "kike", "homo", "dum", "fat", "ugly", "die",
            "dead", "gun", "war", "hate", "sick", "bum", "gag", "pee", "boob", "nud", "nip")


def _coin(rng: random.Random, kind: str) -> str:
    """One pronounceable coined word: Rukesara (she), Froovio (he), Drumzo (pet), Acornburgh or
    Dristlemarsh (town), Ricklewell (surname), Kufogine (landmark), flurlump (creature), kloly
    (plant), horble (treat), quofflute (gadget)."""
    c = rng.choice

    def vowel() -> str:
        return c(words.LONG_VOWELS) if rng.random() < 0.12 else c(words.VOWELS)

    def middle(after: str) -> str:  # one consonant after a long vowel: "Saido", not "Saiddo"
        return c(words.CLUSTERS) if len(after) == 1 and rng.random() < 0.4 else \
            c(words.CONSONANTS)

    end = c(words.COIN_ENDINGS[kind])
    v = vowel()
    stem = c(words.ONSETS) + v
    if kind in ("surname", "town", "gadget"):
        if kind == "town" and rng.random() < 0.4:
            return c(words.TOWN_STEMS) + end
        link = c(("le", "er", "en", "y", "", ""))
        join = middle(v) if link or end[0] in "aeiouy" else c(words.CONSONANTS)
        word = stem + join + link + end
    else:
        if rng.random() < 0.25:
            v = c(words.VOWELS)
            stem += c(words.CONSONANTS) + v
        join = middle(v) if end[0] in "aeiouy" else c(("", "", "l", "m", "n", "r", "s"))
        word = stem + join + end
    return word if kind in ("creature", "plant", "treat", "gadget") else cap(word)


@lru_cache(maxsize=None)
def pools() -> dict[str, tuple[tuple[str, str], ...]]:
    """Name pools, most frequent first: real names (the head), then coined ones (the tail).

    Items are (name, text): ("Rukesara", "she") for people, ("Kufogine", "Mount Kufogine") for
    landmarks, ("kloly", "kloly apple") for plants and treats, ("Drumzo", "Drumzo") otherwise.
    """
    rng = random.Random(POOL_SEED)
    taken = {w.lower() for name in dir(words) if name.isupper()
             for item in _strings(getattr(words, name)) for w in re.findall(r"\w+", item)}

    def coin_many(kind: str) -> list[str]:
        out: list[str] = []
        while len(out) < POOL_SIZES[kind]:
            word = _coin(rng, kind)
            low = word.lower()
            if low not in taken and 4 <= len(word) <= 12 and not any(b in low for b in _BLOCKED):
                taken.add(low)
                out.append(word)
        return out

    real = [(n, p) for pair in itertools.zip_longest(words.GIRLS, words.BOYS)
            for n, p in zip(pair, ("she", "he")) if n]
    for i, name in enumerate(words.THEYS):  # one "they" name in every 8 of the head
        real.insert(8 * i + 7, (name, "they"))
    coined = {kind: coin_many(kind) for kind in POOL_SIZES}
    people = [(n, k) for k in ("she", "he", "they") for n in coined[k]]
    rng.shuffle(people)  # so that rank does not depend on the pronoun

    def same(names: list[str]) -> tuple[tuple[str, str], ...]:
        return tuple((n, n) for n in names)

    return {
        "people": tuple(real + people),
        "pet": same(list(words.PET_NAMES) + coined["pet"]),
        "surname": same(list(words.SURNAMES) + coined["surname"]),
        "town": same(coined["town"]), "creature": same(coined["creature"]),
        "gadget": same(coined["gadget"]),
        "landmark": tuple((n, rng.choice(words.LANDMARK_KINDS).format(n))
                          for n in coined["landmark"]),
        "plant": tuple((w, f"{w} {rng.choice(words.PLANT_HEADS)}") for w in coined["plant"]),
        "treat": tuple((w, f"{w} {rng.choice(words.TREAT_HEADS)}") for w in coined["treat"]),
    }


def _strings(value: object) -> Iterator[str]:
    """Every string inside a word list, dict or template structure."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)


@lru_cache(maxsize=None)
def coined_words() -> frozenset[str]:
    """Every coined word of the pools (Rukesara, Dristlemarsh, flurlump, kloly, ...)."""
    real = set(words.GIRLS + words.BOYS + words.THEYS + words.PET_NAMES + words.SURNAMES)
    return frozenset(name for pool in pools().values() for name, _ in pool if name not in real)


@lru_cache(maxsize=None)
def _zipf_cumulative(n: int) -> tuple[int, ...]:
    return tuple(itertools.accumulate(_ZIPF_SCALE // k for k in range(1, n + 1)))


def zipf(rng: random.Random, pool: str) -> tuple[str, str]:
    """An item of a pool, rank k drawn with probability proportional to 1/k."""
    items = pools()[pool]
    cum = _zipf_cumulative(len(items))
    return items[bisect.bisect_right(cum, rng.randrange(cum[-1]))]


def mentions(text: str, word: str) -> int:
    """How often ``word`` (or word + "s"/"es", or word's) occurs as a whole word; the same as
    ``len(re.findall(rf"\\b{word}(?:e?s)?\\b", text))`` without compiling a pattern per name."""
    def inner(ch: str) -> bool:
        return ch.isalnum() or ch == "_"

    count, i = 0, text.find(word)
    while i >= 0:
        j = i + len(word)
        if (i == 0 or not inner(text[i - 1])) and any(
                text.startswith(end, j) and not inner(text[j + len(end):j + len(end) + 1] or " ")
                for end in ("", "s", "es")):
            count += 1
        i = text.find(word, i + 1)
    return count
