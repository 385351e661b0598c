"""The story generator: one seeded children's story at a time, from templates and word lists.

- A story is a dict of slots (``_Story``): hero {A}, friend {B}, grown-up {C}, places, things,
  numbers, each filled the first time a template (``helpers.story_words``) asks for it and
  kept, so every sentence agrees and unused slots cost no random draws.
- Shape: opening, description, a friend, a problem and its resolution (an arc), an ending,
  sometimes a moral; a callback sentence for any name mentioned only once.
- Deterministic: one ``random.Random`` drives everything (lists, never sets).
  ``generate_stories(seed=...)`` is what corpora (``helpers.stories``) and the mixed-script
  text (``helpers.mixed_text``) are made of.

Test: ``python -m pytest grader/tests/test_stories.py -q``.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from helpers import story_words as words
from helpers.story_grammar import article, cap, ing, ordinal, past, phrase_form, plural
from helpers.story_names import mentions, zipf

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
            value = cap(self[key[:1].lower() + key[1:]])
        elif key.startswith("a_"):  # {a_color} -> "an orange"
            value = article(self[key[2:]])
        else:
            raise KeyError(key)
        self[key] = value
        return value

    def name(self, slot: str, pool: str, avoid: tuple[str, ...] = ()) -> tuple[str, str]:
        """Draw (name, text) from a pool, avoiding some names; remember it for callbacks."""
        name, text = zipf(self.rng, pool)
        while name in avoid:
            name, text = zipf(self.rng, pool)
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
    s["C"], s["Cc"] = c_name, cap(c_name)
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
    """Mostly a real word ("kite", "pear"), sometimes a coined one ("quofflute",
    "horble crumble")."""
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
    "activity_ing": lambda s: phrase_form(s["activity"], ing),
    "activity_past": lambda s: phrase_form(s["activity"], past),
    "activity2_ing": lambda s: phrase_form(s["activity2"], ing),
    "move_past": lambda s: past(s.rng.choice(words.MOVES)),
    "action_past": lambda s: past(s.rng.choice(_DOINGS)),
    "action2_past": lambda s: past(s.rng.choice(_DOINGS)),
    "action_ing": lambda s: ing(s.rng.choice(_DOINGS)),
    "handle_past": lambda s: past(s.rng.choice(words.HANDLES)),
    "skill": lambda s: s.rng.choice(words.SKILLS).replace("{his}", s["his"]),
    # numbers
    "age_ord": lambda s: ordinal(s.rng.randint(3, 10)),
    "day_ord": lambda s: ordinal(s.rng.randint(1, 28)),
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


def make_story(rng: random.Random) -> str:
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
             if mentions(story, name) == 1]
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
        story = make_story(rng)
        count += 1
        size += len(story.encode("utf-8"))
        yield story
