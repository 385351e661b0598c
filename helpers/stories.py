"""Offline corpora: a seeded generator of TinyStories-like children's stories (the mixed-script
text for tokenizer tests is in ``helpers.mixed_text``).

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
import bisect
import hashlib
import itertools
import json
import os
import random
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

from helpers import story_words as words
from helpers.env import DATA_DIR, DATASETS_DIR

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
# Inflection: past tense, -ing, plurals, a/an
# ---------------------------------------------------------------------------------------------
# One vowel then one final consonant (not w, x, y): hop, stop, trot, knit -> double it.
_SHORT_CVC = re.compile(r"^[^aeiou]*[aeiou][b-df-hj-np-tvz]$")


def _doubles(verb: str) -> bool:
    return verb in words.DOUBLE_FINAL or bool(_SHORT_CVC.match(verb))


def _past(verb: str) -> str:
    """Past tense of a base verb: went, played, cried, hopped, tiptoed."""
    if verb in words.IRREGULAR_PAST:
        return words.IRREGULAR_PAST[verb]
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ied"
    return verb + verb[-1] + "ed" if _doubles(verb) else verb + "ed"


def _ing(verb: str) -> str:
    """Present participle: going, making, hopping, seeing, tying, tiptoeing."""
    if verb in words.ING_EXCEPTIONS:
        return words.ING_EXCEPTIONS[verb]
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "oe", "ye")):
        return verb[:-1] + "ing"
    return verb + verb[-1] + "ing" if _doubles(verb) else verb + "ing"


def _phrase_form(phrase: str, form: Callable[[str], str]) -> str:
    """Apply a verb form to the first word of a phrase: "fly a kite" -> "flying a kite"."""
    first, _, rest = phrase.partition(" ")
    return f"{form(first)} {rest}".rstrip()


def plural(noun: str) -> str:
    """English plural of a noun or noun phrase (mice, berries, boxes, toy cars, baby mice)."""
    if noun in words.IRREGULAR_PLURAL:
        return words.IRREGULAR_PLURAL[noun]
    head, space, last = noun.rpartition(" ")
    if last in words.IRREGULAR_PLURAL:
        return head + space + words.IRREGULAR_PLURAL[last]
    if last.endswith("fish"):
        return noun
    if last.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def article(phrase: str) -> str:
    """Prefix "a" or "an" by the sound of the first word: an owl, a unicorn, an honest fox."""
    first = phrase.split(" ", 1)[0].lower()
    art = words.AN_EXCEPTIONS.get(first) or ("an" if first[:1] in "aeiou" else "a")
    return f"{art} {phrase}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# ---------------------------------------------------------------------------------------------
# The long tail: pools of coined names, drawn with Zipf's law
# ---------------------------------------------------------------------------------------------
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
    return word if kind in ("creature", "plant", "treat", "gadget") else _cap(word)


@lru_cache(maxsize=None)
def _pools() -> dict[str, tuple[tuple[str, str], ...]]:
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
    return frozenset(name for pool in _pools().values() for name, _ in pool if name not in real)


@lru_cache(maxsize=None)
def _zipf_cumulative(n: int) -> tuple[int, ...]:
    return tuple(itertools.accumulate(_ZIPF_SCALE // k for k in range(1, n + 1)))


def _zipf(rng: random.Random, pool: str) -> tuple[str, str]:
    """An item of a pool, rank k drawn with probability proportional to 1/k."""
    items = _pools()[pool]
    cum = _zipf_cumulative(len(items))
    return items[bisect.bisect_right(cum, rng.randrange(cum[-1]))]


def _mentions(text: str, word: str) -> int:
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


# ---------------------------------------------------------------------------------------------
# Story slots: everything a story refers to, chosen on first use
# ---------------------------------------------------------------------------------------------
_PRONOUNS = {
    "she": ("she", "her", "her", "herself", "was"),
    "he": ("he", "him", "his", "himself", "was"),
    "they": ("they", "them", "their", "themselves", "were"),
}


class _Story(dict):
    """The slots of one story. A slot is filled the first time a template asks for it (so
    unused slots cost no random draws) and keeps its value, so every sentence agrees.
    ``named`` maps a slot to the name it holds, which must be mentioned at least twice."""

    def __init__(self, rng: random.Random):
        super().__init__()
        self.rng = rng
        self.named: dict[str, str] = {}

    def __missing__(self, key: str) -> str:
        if key in _PICKS:
            value = self.rng.choice(_PICKS[key])
        elif key in _RANGES:
            value = str(self.rng.randint(*_RANGES[key]))
        elif key in _SLOTS:
            value = _SLOTS[key](self)
        elif key[:1].isupper():  # {Landmark}, {A_compound}: the slot, capitalised
            value = _cap(self[key[:1].lower() + key[1:]])
        elif key.startswith("a_"):  # {a_color} -> "an orange"
            value = article(self[key[2:]])
        else:
            raise KeyError(key)
        self[key] = value
        return value

    def name(self, slot: str, pool: str, avoid: tuple[str, ...] = ()) -> tuple[str, str]:
        """Draw (name, text) from a pool, avoiding some names; remember it for callbacks."""
        name, text = _zipf(self.rng, pool)
        while name in avoid:
            name, text = _zipf(self.rng, pool)
        self.named[slot] = name
        return name, text


def _add_person(s: _Story, prefix: str, pronoun: str) -> None:
    """Pronoun forms under a prefix: {he} {His} for the hero, {b_he} for the friend, ..."""
    he, him, his, himself, was = _PRONOUNS[pronoun]
    s.update({f"{prefix}he": he, f"{prefix}He": he.capitalize(), f"{prefix}him": him,
              f"{prefix}his": his, f"{prefix}His": his.capitalize(),
              f"{prefix}himself": himself, f"{prefix}was": was})


def _characters(s: _Story) -> None:
    """Hero {A}, friend {B} (names from the people pool) and grown-up {C}."""
    r = s.rng
    for prefix, slot in (("", "A"), ("b_", "B")):
        name, pronoun = s.name(slot, "people", avoid=(s.get("A", ""),))
        human = {"she": "girl", "he": "boy", "they": "kid"}[pronoun]
        kind = human if r.random() < 0.5 else r.choice(words.ANIMALS)
        s[slot], s[f"{prefix}kind"] = name, kind
        _add_person(s, prefix, pronoun)
    s["cadj"] = r.choice(words.CHAR_ADJS)
    s["a_kind"] = article(f"{s['cadj']} {s['kind']}")
    s["a_b_kind"] = article(f"{r.choice(words.CHAR_ADJS)} {s['b_kind']}")
    roll = r.random()
    if roll < 0.45:  # Mom, Grandpa, Aunt Rose
        c_name, c_pron = r.choice(words.ADULTS)
    elif roll < 0.7:  # the baker
        c_name, c_pron = f"the {r.choice(words.PROFESSIONS)}", r.choice(("she", "he", "they"))
    else:  # Captain Ricklewell
        title, c_pron = r.choice(words.TITLES)
        c_name = f"{title} {s.name('C', 'surname')[0]}"
    s["C"], s["Cc"] = c_name, _cap(c_name)
    _add_person(s, "c_", c_pron)


def _keeper(s: _Story) -> str:
    """A shopkeeper, "Mrs. Thootledale", and their pronoun {keeper_he}."""
    title, s["keeper_he"] = s.rng.choice(words.TITLES)
    return f"{title} {s.name('keeper', 'surname')[0]}"


def _price(s: _Story) -> str:
    """{price} and a smaller {price_low}, in one currency: $3.50 and $1.25, 80 and 35 cents."""
    r = s.rng
    cost = r.choice((r.randint(1, 20) * 100, r.randint(2, 99) * 5, r.randint(101, 2999)))  # cents
    have = r.randint(1, cost - 1)
    sym, small = r.choice((("$", "cents"), ("$", "cents"), ("£", "pence"), ("€", "cents")))

    def fmt(x: int) -> str:
        if x < 100:
            return f"{x} {small}" if x > 1 else f"1 {small.replace('cents', 'cent')}"
        return f"{sym}{x // 100}" + (f".{x % 100:02d}" if x % 100 else "")

    s["price_low"] = fmt(have)
    return fmt(cost)


def _clock(s: _Story) -> str:
    """7:30, 12:00, 4:07."""
    minute = s.rng.choice((0, 15, 30, 45)) if s.rng.random() < 0.6 else s.rng.randint(0, 59)
    return f"{s.rng.randint(1, 12)}:{minute:02d}"


def _big_count(s: _Story) -> str:
    """248 or 4,244."""
    r = s.rng
    if r.random() < 0.7:
        return str(r.randint(20, 999))
    return f"{r.randint(1, 9)},{r.randint(0, 999):03d}"


def _real_or_coined(s: _Story, slot: str, pool: str, real: tuple[str, ...]) -> str:
    """Mostly a real word ("kite", "pear"), sometimes a coined one ("quofflute", "horble crumble")."""
    return s.name(slot, pool)[1] if s.rng.random() < 0.12 else s.rng.choice(real)


def _voice(s: _Story) -> str:
    """{voice} and who makes it, {a_voice_animal}: "a magpie" "chattered"."""
    verb = s.rng.choice(tuple(words.VOICES))
    s["a_voice_animal"] = article(s.rng.choice(words.VOICES[verb]))
    return verb


def _after(first: str, key: str) -> Callable[[_Story], str]:
    """A slot set as a side effect of another one ({price_low} of {price})."""
    return lambda s: (s[first], dict.__getitem__(s, key))[1]


_DOINGS = words.MOVES + words.ACTIONS
# Slots that are one item of a list, slots that are a random integer, and the rest.
_PICKS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("adj", "adj2", "adj3", "adj4"), words.ADJS),
    **dict.fromkeys(("adv", "adv2"), words.ADVERBS),
    **dict.fromkeys(("said", "said2", "said3"), words.SAID),
    **dict.fromkeys(("place", "place2"), words.PLACES),
    **dict.fromkeys(("animal", "animal2"), words.ANIMALS),
    **dict.fromkeys(("activity", "activity2"), words.ACTIVITIES),
    **dict.fromkeys(("n", "n2"), words.NUMBER_WORDS[:11]),
    "n_small": words.NUMBER_WORDS[:8], "age_word": words.NUMBER_WORDS[1:6],
    "color2": words.COLORS, "shade": words.SHADES, "food2": words.FOODS, "mass": words.MASS_FOODS,
    "drink": words.DRINKS, "eat_past": words.EATS, "drink_past": words.DRINKS_PAST,
    "obj": words.OBJECTS, "material": words.MATERIALS, "fabric": words.FABRICS,
    "container": words.CONTAINERS, "clothes": words.CLOTHES, "plural_clothes": words.PLURAL_CLOTHES,
    "vehicle": words.VEHICLES, "vehicle_move": words.VEHICLE_MOVES, "instrument": words.INSTRUMENTS,
    "stuck": words.STUCK, "breakable": words.BREAKABLES, "built": words.BUILT,
    "plant": words.PLANTS, "shop": tuple(words.SHOPS), "collectibles": words.COLLECTIBLES,
    "perch": words.PERCHES, "pet_kind": words.PETS, "flower": words.FLOWERS, "tree": words.TREES,
    "nature": words.NATURE, "prof": words.PROFESSIONS, "relative": words.RELATIVES,
    "prof_person": words.PERSONS, "home": words.HOMES, "time": words.TIMES,
    "weather": words.WEATHERS, "weekday": words.WEEKDAYS, "month": words.MONTHS,
    "light": words.LIGHTS, "noise": words.NOISES, "smell": words.SMELLS, "hiding": words.HIDING,
    "festival": words.FESTIVALS, "good": words.GOOD_FEELINGS, "bad": words.BAD_FEELINGS,
    "hyphen_adj": words.HYPHEN_ADJS, "town_adj": words.TOWN_ADJS, "pet_adj": words.CHAR_ADJS,
    "game": words.GAMES, "wow": words.EXCLAIMS, "sfx": words.SFX, "moral": words.MORALS,
    "gadget_can": words.GADGET_CAN, "young_age": words.YOUNG_AGES, "frac": words.FRACTIONS,
    "mins": words.BAKE_MINUTES, "ord_place": words.PRIZE_PLACES,
}
_RANGES: dict[str, tuple[int, int]] = {
    "N": (2, 99), "N2": (2, 12), "age_num": (3, 9), "old_age": (60, 99), "temp": (-10, 35),
    "year": (1850, 2030), "bus_num": (1, 99), "platform": (1, 12), "page": (1, 300),
}
_SLOTS: dict[str, Callable[[_Story], str]] = {
    # things and food, sometimes coined
    "color": lambda s: (s.rng.choice(words.SHADES) + " " if s.rng.random() < 0.15 else "")
    + s.rng.choice(words.COLORS),
    "toy": lambda s: _real_or_coined(s, "toy", "gadget", words.TOYS),
    "a_toy": lambda s: article(f"{s['color']} {s['toy']}"),
    "food": lambda s: _real_or_coined(s, "food", "treat", words.FOODS),
    "foods": lambda s: plural(s["food"]),
    "gadget": lambda s: s.name("gadget", "gadget")[1],
    "treat": lambda s: s.name("treat", "treat")[1],
    "gplant": lambda s: s.name("gplant", "plant")[1],
    "gift": lambda s: s.rng.choice(words.SHOPS[s["shop"]]),
    "a_adj_obj": lambda s: article(f"{s['adj3']} {s['obj']}"),
    "a_material_obj": lambda s: article(f"{s['material']} {s.rng.choice(words.OBJECTS)}"),
    "a_adj_vehicle": lambda s: article(f"{s['adj3']} {s['vehicle']}"),
    "a_stuck": lambda s: article(f"{s['color']} {s['stuck']}"),
    "a_built": lambda s: article(f"{s['adj']} {s['built']}"),
    "a_built2": lambda s: article(f"{s['adj2']} {s['built']}"),
    "a_plant": lambda s: article(f"{s['adj2']} {s['plant']}"),
    "a_plant0": lambda s: article(s["plant"]),
    "a_ribbon": lambda s: article(f"{s['color2']} ribbon"),
    # living things
    "animals": lambda s: plural(s.rng.choice(words.ANIMALS)),
    "a_animal2": lambda s: article(f"{s['adj3']} {s['animal2']}"),
    "a_flyer": lambda s: article(f"{s.rng.choice(words.ADJS)} {s.rng.choice(words.FLYERS)}"),
    "a_butterfly": lambda s: article(f"{s['color']} butterfly"),
    "birds": lambda s: plural(s.rng.choice(words.FLYERS)),
    "flowers": lambda s: plural(s.rng.choice(words.FLOWERS)),
    "voice": _voice, "a_voice_animal": _after("voice", "a_voice_animal"),
    "pet": lambda s: s.name("pet", "pet", avoid=(s["A"], s["B"]))[0],
    "sound": lambda s: words.SOUNDS.get(s["pet_kind"], ""),
    "sound_lc": lambda s: s["sound"].lower(),
    "creature": lambda s: s.name("creature", "creature")[0],
    "creatures": lambda s: plural(s["creature"]),
    "compound": lambda s: f"{s.rng.choice(words.COMPOUND_FIRSTS)}-{s.rng.choice(words.BODY_EDS)}",
    "a_nature": lambda s: article(f"{s['adj3']} {s['nature']}"),
    # people, places
    "keeper": _keeper, "keeper_he": _after("keeper", "keeper_he"),
    "a_home": lambda s: article(f"{s['adj']} {s['home']}"),
    "a_home2": lambda s: article(f"{s['adj2']} {s['home']}"),
    "town": lambda s: s.name("town", "town")[0],
    "town2": lambda s: s.name("town2", "town", avoid=(s.get("town", ""),))[0],
    "landmark": lambda s: s.name("landmark", "landmark")[1],
    "street": lambda s: f"{s.rng.choice(words.STREET_STEMS)} {s.rng.choice(words.STREET_KINDS)}",
    # verbs
    "activity_ing": lambda s: _phrase_form(s["activity"], _ing),
    "activity_past": lambda s: _phrase_form(s["activity"], _past),
    "activity2_ing": lambda s: _phrase_form(s["activity2"], _ing),
    "move_past": lambda s: _past(s.rng.choice(words.MOVES)),
    "action_past": lambda s: _past(s.rng.choice(_DOINGS)),
    "action2_past": lambda s: _past(s.rng.choice(_DOINGS)),
    "action_ing": lambda s: _ing(s.rng.choice(_DOINGS)),
    "handle_past": lambda s: _past(s.rng.choice(words.HANDLES)),
    "skill": lambda s: s.rng.choice(words.SKILLS).replace("{his}", s["his"]),
    # numbers
    "age_ord": lambda s: _ordinal(s.rng.randint(3, 10)),
    "day_ord": lambda s: _ordinal(s.rng.randint(1, 28)),
    "hhmm": _clock, "big_count": _big_count,
    "house_num": lambda s: str(s.rng.randint(1, s.rng.choice((9, 99, 999)))),
    "price": _price, "price_low": _after("price", "price_low"),
}


# ---------------------------------------------------------------------------------------------
# Story generation
# ---------------------------------------------------------------------------------------------
def _maybe_transition(rng: random.Random, sentence: str) -> str:
    """Sometimes open a sentence that starts with a name or pronoun with "Later that day," etc."""
    if rng.random() < 0.2 and sentence.startswith(("{He} ", "{A} ", "{B} ")):
        if sentence.startswith("{He} "):
            sentence = "{he}" + sentence[4:]
        return f"{rng.choice(words.TRANSITIONS)}, {sentence}"
    return sentence


def _make_story(rng: random.Random) -> str:
    """One story: opening, description, a friend, a problem and its resolution, an ending;
    then a callback for any name mentioned only once."""
    s = _Story(rng)
    _characters(s)
    c = rng.choice
    first = [c(words.OPENINGS)] + [c(words.DESCRIPTIONS) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.7:  # the long tail: a town, a pet, a shop, a coined plant or treat
        first.insert(rng.randint(1, len(first)), c(words.SETTINGS))
    if rng.random() < 0.3 and "{pet}" not in "".join(first) and s["sound"]:
        first.append("{A} had a pet {pet_kind} named {pet}. " + c(words.SOUND_LINES))
    middle = [c(words.FRIENDS)] + ([c(words.GREETINGS)] if rng.random() < 0.6 else [])
    arc = words.ARCS[c(tuple(words.ARCS))]
    steps = [c(arc[0])] + [_maybe_transition(rng, c(step)) for step in arc[1:]]
    for detail in rng.sample(words.DETAILS, rng.randint(0, 3)):  # less predictable sentences
        steps.insert(rng.randint(0, len(steps)), detail)
    cut = rng.randint(2, 4)
    ending = [c(words.ENDINGS)] + ([c(words.MORAL_LINES)] if rng.random() < 0.4 else [])
    if rng.random() < 0.5:  # sometimes a short story: fewer paragraphs
        paragraphs = [first + middle, steps + ending]
    else:
        paragraphs = [first, middle + steps[:cut], steps[cut:], ending]
    texts = [[sentence.format_map(s) for sentence in p] for p in paragraphs]
    story = "\n".join(" ".join(p) for p in texts)
    # A name mentioned once gets a callback before the ending (one mentioned 0 times stays out).
    again = [c(words.CALLBACKS[slot]).format_map(s) for slot, name in list(s.named.items())
             if _mentions(story, name) == 1]
    if again:  # short story: just before the ending; long story: end of the last step
        where = texts[-1] if len(texts) == 2 else texts[-2]
        at = len(where) - len(ending) if len(texts) == 2 else len(where)
        where[at:at] = again
        story = "\n".join(" ".join(p) for p in texts)
    return story


def generate_stories(num_stories: int | None = None, num_bytes: int | None = None,
                     seed: int = 0) -> Iterator[str]:
    """Yield stories (no separators) until ``num_stories`` stories or ``num_bytes`` UTF-8 bytes
    of story text have been produced, whichever comes first (forever if both are None)."""
    rng = random.Random(seed)
    count = size = 0
    while (num_stories is None or count < num_stories) and (num_bytes is None or size < num_bytes):
        story = _make_story(rng)
        count += 1
        size += len(story.encode("utf-8"))
        yield story


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


def _mixed_text(num_bytes: int, seed: int) -> str:
    from helpers.mixed_text import generate_mixed_text  # it imports this module: import late

    return generate_mixed_text(num_bytes, seed)


def sample_bytes() -> dict[Path, bytes]:
    """What the committed samples must contain, exactly (checked by the tests)."""
    return {STORIES_SAMPLE: stories_bytes(STORIES_SAMPLE_BYTES, seed=0),
            MIXED_SAMPLE: _mixed_text(MIXED_SAMPLE_BYTES, seed=0).encode("utf-8")}


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
        _write_atomic(out, iter([_mixed_text(num_bytes, args.seed).encode("utf-8")]))
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
