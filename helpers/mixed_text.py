"""Adversarial mixed-script text for testing byte-level BPE and its pre-tokenizer.

- Mixes English prose (from the story generator), contractions (straight and curly), accented
  Latin, Greek, Cyrillic, CJK, emoji with skin tones and ZWJ sequences, Python code, numbers,
  runs of spaces, tabs and newlines (``\r\n`` too), and ``<|endoftext|>`` tokens.
- Deterministic: one ``random.Random(seed)``; the committed sample
  ``datasets/sample/multilingual_sample.txt`` is ``generate_mixed_text(100_000, seed=0)``.

Run: ``python -m helpers.stories --mixed --bytes 100000``; test:
``python -m pytest grader/tests/test_stories.py -q``.
"""
from __future__ import annotations

import random
import re

from helpers.story_generator import make_story

MIXED_POOLS: dict[str, tuple[str, ...]] = {
    "contractions": (
        "I'm sure it's fine, but they're late and we've waited; you'll see, he'd said so.",
        "DON'T SHOUT! I'M NOT DEAF, IT'S JUST LOUD.", "She's here; he's not. We'd've gone.",
        "Y'all can't say 'tis rock'n'roll, can you?", "don’t won’t it’s (curly apostrophes)",
        "The cat's toy, the cats' toys, James's hat, and O'Neil's dog.",
        "'s 't 're 've 'm 'll 'd", "I 'm you 're it 's", "we'll WE'LL We'Ll", "'''quoted'''",
        "it's-it's-it's", "rock 'n' roll", "'Hello,' she said. 'Isn't it?'",
    ),
    "latin": (
        "Le garçon a mangé une crème brûlée à l'hôtel. Où est la bibliothèque ? C'est là-bas !",
        "Der Bär läuft über die Straße, während Jürgen Äpfel isst. Grüße aus Köln, Mädchen!",
        "¿Dónde está el niño? ¡Mañana será pequeño! El pingüino comió jalapeños.",
        "Tiếng Việt có nhiều dấu: ắ ằ ẳ ẵ ặ ệ ữ. Người Việt Nam rất thân thiện.",
        "Não, a informação está na ação de graças. Coração, pão, irmã.",
        "Zażółć gęślą jaźń. Příliš žluťoučký kůň úpěl ďábelské ódy.",
        "İstanbul'da ılık bir gün; IİıI. Şişli'de çay içtik.", "Þórður, Ærø, Åland, Søren, ß, ẞ.",
        "cafe\u0301 vs café; n\u0303 vs ñ; A\u030a vs Å (combining marks, NFD vs NFC).",
        "ﬁnal ﬂow ﬀ (ligatures); ǅemal ǈubica (titlecase digraphs); ŉ ſ µ.",
    ),
    "greek_cyrillic": (
        "Καλημέρα κόσμε· η γλώσσα μου έδωσαν ελληνική. ΑΒΓΔ αβγδ ς σ Σ; ΐ ΰ.",
        "Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "Ґанок, їжак, є, ї. Љубав, Њива, Џеп. ПРОПИСНЫЕ и строчные буквы.",
        "Ωραίος ουρανός — Москва, 2024 г.; Σωκράτης και Ἀθῆναι.",
    ),
    "cjk": (
        "你好，世界！我们今天去公园玩。学习语言模型很有趣。",
        "こんにちは世界。カタカナとひらがなと漢字を混ぜます。",
        "ｶﾀｶﾅ(半角)とＡＢＣ１２３！（全角）", "안녕하세요, 세계! 한국어 문장입니다. ᄒᆞᆫ글",
        "東京スカイツリーは634メートルです。", "「括弧」『二重』【隅付き】〜ー…",
        "中文English混合text文本", "𠀀𠀁𪚥 (supplementary-plane ideographs)",
    ),
    "other_scripts": (
        "مرحبا بالعالم ١٢٣", "שָׁלוֹם עוֹלָם", "नमस्ते दुनिया १२३", "สวัสดีชาวโลก",
        "გამარჯობა მსოფლიო", "Բարեւ աշխարհ", "ሰላም ለዓለም", "வணக்கம் உலகம்",
    ),
    "emoji": (
        "👍 👍🏽 👋🏿 👨‍👩‍👧‍👦 👩🏾‍💻 🏳️‍🌈 🏴‍☠️ ❤️ 🇫🇷🇯🇵 1️⃣ 🧑‍🤝‍🧑", "😀😃😄😁😆😅😂🤣",
        "🐍 + 🤖 = 💻✨", "ok👌🏼done", "🫠🫶🏻🪿", "#️⃣ *️⃣ ©️ ®️ ™️", "🎉🎉🎉🎉🎉",
        "⚠️ ∞ → ← ★ ☆ ♠ ♥ ♦ ♣ ✓ ✗", "👩‍❤️‍💋‍👨 🧔🏻‍♂️ 🏃🏽‍♀️‍➡️",
    ),
    "numbers": (
        "3.14159", "1,234,567", "007", "2024-06-01T12:34:56Z", "+1 (555) 123-4567",
        "0xDEADBEEF", "1e-9", "٣٤٥", "½ ¾ ²³ Ⅻ ①②③", "१२३", "１２３", "100%", "-42", "12:30pm",
        "3x4=12", "v1.2.3-rc.4", "192.168.0.1", "$1,000.00", "€9,99", "1_000_000", "4th 21st 2nd",
    ),
    "code": (
        "def add(a: int, b: int) -> int:\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n",
        "for i in range(10):\n\tif i % 2 == 0:\n\t\tprint(f\"{i}'s even\")\n",
        "class Foo(Bar):\n    def __init__(self, x=None):\n"
        "        self.x = x or {'a': 1, \"b\": [1, 2, 3]}\n",
        "x = [y**2 for y in xs if y != 0 and y >= -3]  # squares\n",
        "if __name__ == \"__main__\":\n    main()\n",
        "@property\ndef name(self): return self._name\n",
        "s = 'it\\'s' + \"don't\" + r'\\n\\t'\nlambda k: k[::-1]\n",
        "    \n        \n", "while True:\n    pass  \n", "import os, sys; sys.exit(0)\n",
        "data = {\"key\": \"val\", \"n\": 3.0e-4, \"ok\": true, \"list\": [null]}\n",
        "    return {k: v for k, v in sorted(d.items(), key=lambda kv: -kv[1])}\n",
    ),
    "punctuation": (
        "!!!", "???", "...", "—", "–", "«guillemets»", "“curly quotes”", "„German“",
        "----", "====", "***", "@user #hashtag", "https://example.com/path?q=1&x=2#frag",
        "email+tag@example.co.uk", "C:\\Users\\me\\file.txt", "<b>bold</b> &amp; <i>it</i>",
        "(a)[b]{c}<d>", "a/b\\c|d", "~`^_", "¿¡", "§¶†‡•", "a.b.c", "end.", "?!?!",
    ),
    "special": (
        "<|endoftext|>", "the end.<|endoftext|>Start again", "<|endoftext|><|endoftext|>",
        "<|endoftext|", "<|endoftext>", "< |endoftext|>", "<|ENDOFTEXT|>", "<|endofprompt|>",
        "\n<|endoftext|>\n", " <|endoftext|> ", "<<|endoftext|>>",
    ),
    "invisible": (
        "zero\u200bwidth", "join\u200der", "\ufeffBOM inside", "soft\u00adhyphen",
        "word\u2060joiner", "nbsp\u00a0here", "ideographic\u3000space", "thin\u2009space",
        "en\u2002space em\u2003space", "left\u200eto\u200fright",
    ),
    "long": (
        "a" * 60, "ha" * 25, "😂" * 12, "Pneumonoultramicroscopicsilicovolcanoconiosis",
        "x" * 5 + " " * 17 + "y", "Donaudampfschifffahrtsgesellschaftskapitän", "ー" * 20,
        "1" * 40, ". " * 20,
    ),
}
_ALPHABETS = (
    "abcdefghijklmnopqrstuvwxyzàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœ",
    "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώϊϋΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ",
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
)
_CODEPOINT_RANGES = ((0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x3041, 0x3096), (0x30A1, 0x30FA))
_EMOJI_BASES = "👍👋👏🙌👶🧒👦👧🧑👩👨🧓👮🧑🏃💪🤚✋"
_SKIN_TONES = "🏻🏼🏽🏾🏿"


def _random_token(rng: random.Random) -> str:
    """A random word in a random script, or an emoji with a random skin tone, or digits:
    many distinct UTF-8 byte sequences for byte-level BPE."""
    r = rng.random()
    if r < 0.45:
        alphabet = rng.choice(_ALPHABETS)
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9)))
    if r < 0.75:
        lo, hi = rng.choice(_CODEPOINT_RANGES)
        return "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 6)))
    if r < 0.9:
        return rng.choice(_EMOJI_BASES) + rng.choice(_SKIN_TONES + "\ufe0f")
    return str(rng.randint(0, 10 ** rng.randint(1, 12)))


_MIXED_WEIGHTS = {"random": 8, "contractions": 10, "latin": 10, "greek_cyrillic": 6, "cjk": 7,
                  "other_scripts": 3, "emoji": 7, "numbers": 8, "code": 10, "punctuation": 6,
                  "special": 4, "invisible": 3, "long": 2, "prose": 14, "glued": 5}
_WHITESPACE = (" ", " ", " ", "  ", "   ", "    ", "\t", "\t\t", " \t ", "\n", "\n", "\n\n",
               "\n\n\n", "  \n", " \n ", "\n    ", "\r\n", "\u00a0", "\u3000", "", "")


def _mixed_chunk(rng: random.Random, kind: str) -> str:
    """One piece of mixed text of the given kind."""
    if kind == "prose":  # plain English, from the story generator
        sentences = re.split(r"(?<=[.!?\"]) (?=[A-Z\"])", make_story(rng).replace("\n", " "))
        start = rng.randrange(len(sentences))
        return " ".join(sentences[start:start + rng.randint(1, 3)])
    if kind == "random":
        return " ".join(_random_token(rng) for _ in range(rng.randint(1, 8)))
    if kind == "glued":  # letters of several scripts with no space between them
        pools = ("latin", "greek_cyrillic", "cjk", "emoji", "numbers", "contractions")
        parts = [rng.choice(MIXED_POOLS[rng.choice(pools)]).split(" ")[0] for _ in range(3)]
        return "".join(parts)
    return rng.choice(MIXED_POOLS[kind])


def generate_mixed_text(num_bytes: int, seed: int = 0) -> str:
    """Adversarial mixed text of at least ``num_bytes`` UTF-8 bytes (whole pieces only).

    ASCII prose, contractions in odd cases, accented Latin (NFC and NFD), Greek, Cyrillic,
    CJK, other scripts, emoji with ZWJ sequences and skin tones, Python code with tabs and
    indentation, numbers in many notations, runs of spaces/tabs/newlines (also CRLF, NBSP),
    invisible format characters and ``<|endoftext|>`` with near misses. Read it as bytes or
    with ``newline=""``: it contains ``\\r\\n``.
    """
    rng = random.Random(seed)
    kinds = tuple(_MIXED_WEIGHTS)
    weights = tuple(_MIXED_WEIGHTS.values())
    parts: list[str] = []
    size = 0
    while size < num_bytes:
        piece = _mixed_chunk(rng, rng.choices(kinds, weights)[0]) + rng.choice(_WHITESPACE)
        parts.append(piece)
        size += len(piece.encode("utf-8"))
    return "".join(parts)
