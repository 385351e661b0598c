"""English inflection for the story generator: past tense, -ing, plurals, a/an, ordinals.

- Rules for the regular forms, with the irregular ones listed in ``helpers.story_words``
  (``IRREGULAR_PAST``, ``ING_EXCEPTIONS``, ``IRREGULAR_PLURAL``, ``AN_EXCEPTIONS``).
- Pure functions of their argument: no randomness here.

Test: ``python -m pytest grader/tests/test_stories.py -q``.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from helpers import story_words as words

# One vowel then one final consonant (not w, x, y): hop, stop, trot, knit -> double it.
_SHORT_CVC = re.compile(r"^[^aeiou]*[aeiou][b-df-hj-np-tvz]$")


def _doubles(verb: str) -> bool:
    return verb in words.DOUBLE_FINAL or bool(_SHORT_CVC.match(verb))


def past(verb: str) -> str:
    """Past tense of a base verb: went, played, cried, hopped, tiptoed."""
    if verb in words.IRREGULAR_PAST:
        return words.IRREGULAR_PAST[verb]
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ied"
    return verb + verb[-1] + "ed" if _doubles(verb) else verb + "ed"


def ing(verb: str) -> str:
    """Present participle: going, making, hopping, seeing, tying, tiptoeing."""
    if verb in words.ING_EXCEPTIONS:
        return words.ING_EXCEPTIONS[verb]
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "oe", "ye")):
        return verb[:-1] + "ing"
    return verb + verb[-1] + "ing" if _doubles(verb) else verb + "ing"


def phrase_form(phrase: str, form: Callable[[str], str]) -> str:
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


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
