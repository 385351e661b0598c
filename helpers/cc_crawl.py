"""An offline web crawl in Common Crawl's formats: gzipped WARC (HTTP responses with raw HTML)
and WET (extracted text) files, with the ground truth of every page (lesson 07).

- Seeded and deterministic: ``write_crawl(out_dir, num_pages, seed)`` writes
  ``crawl-NNNNN.warc.gz``, ``crawl-NNNNN.warc.wet.gz`` and ``truth.jsonl`` (one JSON object per
  page: url, file, kind, language, encoding and where it was declared, duplicate cluster,
  planted PII). Each record is its own gzip member, as Common Crawl ships them, so a reader
  can seek to any record.
- What real crawls contain: English pages (the kit's generated stories) wrapped in navigation,
  cookie banners and footers; pages in 9 other languages and 5 scripts, in legacy encodings
  (cp1252, koi8-r, cp1251, gb18030, shift_jis, euc-kr) declared in the HTTP header, in a meta
  tag, or nowhere; planted e-mail addresses, phone numbers and IPv4 addresses; SEO spam word
  lists; very short pages and link lists of "..." teasers; exact duplicates (the same page at
  another URL); near-duplicate clusters (templated shop pages, variants of one terms-of-use
  text); and a few records that are not HTML at all (binary bytes, empty bodies).
- ``reference_texts`` gives the "reference" pages, the stand-in for the Wikipedia-linked
  pages real quality filters use as positives: clean English stories, from another seed.
- The foreign sentences are short common phrases written for this kit; the English text comes
  from ``helpers.stories``. Everything here is generated: no third-party text, no licence
  beyond the kit's own.

Run: ``python -m helpers.cc_crawl OUT_DIR --pages 3000`` (about 20 MB). The committed sample
``datasets/crawl/`` was written by ``python -m helpers.cc_crawl datasets/crawl --pages 100
--files 1``. Test: ``python -m pytest grader/tests/test_cc_filtering.py -q``.
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from resiliparse.extract.html2text import extract_plain_text

from helpers.stories import generate_stories

FOREIGN = {  # language -> (encodings a site of that language may use, sentences)
    "de": (("cp1252", "utf-8"), (
        "Der Hund läuft schnell über die grüne Wiese.", "Wir haben heute keine Zeit für das Spiel.",
        "Meine Großmutter wohnt in einem kleinen Dorf am See.", "Das Wetter ist schön und warm.",
        "Ich möchte ein Stück Kuchen und eine Tasse Kaffee.", "Die Kinder spielen im Garten.",
        "Morgen fahren wir mit dem Zug nach Berlin.", "Es gibt viele Bücher in der Bibliothek.")),
    "fr": (("cp1252", "utf-8"), (
        "Le chat dort sur le canapé depuis ce matin.", "Nous allons au marché tous les samedis.",
        "Elle a préparé un gâteau délicieux pour ses amis.", "Il fait très beau aujourd'hui.",
        "Les enfants jouent dans le jardin après l'école.", "Je voudrais un café, s'il vous plaît.",
        "La bibliothèque est fermée le dimanche.", "Où se trouve la gare la plus proche ?")),
    "es": (("cp1252", "utf-8"), (
        "El perro corre por el parque todas las mañanas.", "Mi hermana vive en una ciudad grande.",
        "Hoy hace mucho calor en la playa.", "Los niños están jugando en la calle.",
        "¿Dónde está la estación de tren?", "Me gusta leer libros antes de dormir.",
        "Vamos a comer paella con nuestros amigos.", "La tienda abre a las nueve de la mañana.")),
    "it": (("cp1252", "utf-8"), (
        "Il gatto dorme sul divano tutto il giorno.", "Andiamo al mare durante l'estate.",
        "Mia nonna prepara la pasta ogni domenica.", "Oggi il cielo è azzurro e sereno.",
        "I bambini giocano nel cortile della scuola.", "Vorrei un caffè e un cornetto, grazie.")),
    "nl": (("cp1252", "utf-8"), (
        "De kinderen spelen buiten in de tuin.", "Wij gaan morgen met de fiets naar de stad.",
        "Het regent vandaag de hele dag.", "Mijn broer werkt in een grote winkel.",
        "Zij drinkt elke ochtend een kopje thee.", "Het museum is op maandag gesloten.")),
    "ru": (("koi8-r", "cp1251", "utf-8"), (
        "Собака быстро бежит по зелёному полю.", "Мы пойдём в магазин после работы.",
        "Моя бабушка живёт в маленькой деревне.", "Сегодня очень холодно и идёт снег.",
        "Дети играют во дворе после школы.", "Я хочу выпить чашку горячего чая.",
        "В библиотеке много интересных книг.", "Завтра мы поедем на поезде в Москву.")),
    "zh": (("gb18030", "utf-8"), (
        "今天天气很好，我们去公园散步吧。", "我的妹妹在一所大学里学习中文。",
        "这家饭店的菜非常好吃。", "孩子们在学校的操场上玩游戏。", "我每天早上喝一杯茶。",
        "图书馆里有很多有意思的书。",
        "明天我们坐火车去北京。", "他的朋友住在一个小城市里。")),
    "ja": (("shift_jis", "utf-8"), (
        "今日はとても良い天気ですね。", "私は毎朝コーヒーを飲みます。",
        "子供たちは公園で遊んでいます。", "この本はとても面白いです。",
        "明日は電車で東京に行きます。", "駅はどこにありますか。",
        "母は台所で料理を作っています。", "週末に友達と映画を見ました。")),
    "ko": (("euc-kr", "utf-8"), (
        "오늘은 날씨가 정말 좋습니다.", "저는 매일 아침 커피를 마십니다.",
        "아이들이 공원에서 놀고 있어요.", "이 책은 아주 재미있어요.",
        "내일 기차를 타고 서울에 갑니다.", "어머니는 부엌에서 요리를 하십니다.")),
}
NAV = ("Home", "News", "Shop", "About us", "Contact", "Blog", "Login", "Sign up", "Help")
COOKIE = ("We use cookies to improve your experience on our site. By continuing to browse you "
          "agree to our use of cookies. Accept all cookies")
FOOTER = ("Copyright 2024 All rights reserved", "Privacy policy | Terms of use | Imprint",
          "Follow us on social media", "Subscribe to our newsletter for weekly updates")
SPAM_WORDS = ("cheap", "best", "buy", "online", "free", "download", "casino", "bonus", "deal",
              "discount", "pills", "loans", "win", "money", "fast", "click", "here", "top", "2024",
              "offer", "sale", "crypto", "viagra", "replica", "watches", "seo", "ranking")
TERMS = ("By using this website you agree to these terms of use. The content of this site is "
         "provided as is, without warranty of any kind, express or implied. We may change "
         "these terms at any time without notice. You may not copy, reproduce or distribute "
         "any part of this site without our prior written permission. The operator is not "
         "liable for any damages arising from the use of this site or of linked sites. These "
         "terms are governed by the law of the country where the operator is registered. If "
         "any provision of these terms is found invalid, the remaining provisions stay in "
         "force. Questions about these terms can be sent to the operator through the contact "
         "page of this site.")
PRODUCTS = ("garden chair", "kitchen table", "rain jacket", "coffee grinder", "desk lamp",
            "bicycle helmet", "wool blanket", "travel mug")
CITIES = ("Springfield", "Riverton", "Lakeside", "Hillview", "Fairport", "Oakdale")
FIRST = ("anna", "ben", "carla", "dmitri", "emma", "felix", "grace", "hugo", "ines", "jonas")
DOMAINS = ("example.com", "mail.example.org", "example.net", "post.example.co.uk")


@dataclass
class Page:
    """One crawled record and its ground truth."""

    url: str
    kind: str            # article, foreign, spam, short, teaser, template, terms, binary, empty
    language: str | None  # ISO 639-1 of the main text; None for non-text records
    body: bytes          # the HTTP payload as served
    encoding: str | None  # the encoding of `body`
    declared: str        # where the charset is declared: "header", "meta" or "none"
    cluster: int | None = None  # duplicate cluster (exact copies and near-duplicates)
    exact_copy_of: str | None = None
    pii: dict = field(default_factory=lambda: {"email": [], "phone": [], "ip": []})
    file: str = ""


def _email(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)}.{rng.choice(FIRST)}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"


def _phone(rng: random.Random) -> str:
    a, b, c = rng.randint(200, 989), rng.randint(200, 999), rng.randint(0, 9999)
    return rng.choice((f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"{a}.{b}.{c:04d}",
                       f"+1 {a} {b} {c:04d}"))


def _ip(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def _html(title: str, paragraphs: list[str], rng: random.Random, charset_meta: str | None,
          boilerplate: bool = True) -> str:
    """A page: optional meta charset, navigation, cookie banner, main text, footer. Half the
    sites use semantic tags (nav/main/footer), half plain divs (harder to strip)."""
    semantic = rng.random() < 0.5
    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    main = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    if not boilerplate:
        return f"<!doctype html><html><head>{meta}<title>{title}</title></head>" \
               f"<body><h1>{title}</h1>\n{main}</body></html>"
    nav = " | ".join(f'<a href="/{n.lower().replace(" ", "-")}">{n}</a>'
                     for n in rng.sample(NAV, 6))
    foot = "".join(f"<p>{f}</p>" for f in rng.sample(FOOTER, 3))
    cookie = f'<div class="cookie-banner"><p>{COOKIE}</p></div>' if rng.random() < 0.6 else ""
    tags = ("nav", "main", "footer") if semantic else ("div",) * 3
    return (f"<!doctype html><html><head>{meta}<title>{title}</title></head><body>"
            f"<{tags[0]} class=\"menu\">{nav}</{tags[0]}>\n{cookie}\n"
            f"<{tags[1]} class=\"content\"><h1>{title}</h1>\n{main}</{tags[1]}>\n"
            f"<{tags[2]} class=\"footer\">{foot}</{tags[2]}></body></html>")


def _plant_pii(paragraphs: list[str], rng: random.Random, pii: dict) -> None:
    """Append contact sentences with e-mails, phone numbers and IPs to random paragraphs."""
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(("email", "phone", "ip"))
        value = {"email": _email, "phone": _phone, "ip": _ip}[kind](rng)
        sentence = {"email": f"Write to {value} for questions.",
                    "phone": f"Call us at {value} on weekdays.",
                    "ip": f"The server at {value} answered slowly."}[kind]
        i = rng.randrange(len(paragraphs))
        paragraphs[i] = f"{paragraphs[i]} {sentence}"
        pii[kind].append(value)


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.stories = generate_stories(seed=seed)
        self.count = 0
        self.clusters = 0
        self.templates: dict[int, int] = {}  # cluster -> pages so far

    def url(self, site: str | None = None) -> str:
        self.count += 1
        site = site or f"site{self.rng.randint(1, 400)}.example"
        return f"http://{site}/page/{self.count}"

    def encode(self, html_text: str, encodings: tuple[str, ...]) -> tuple[bytes, str, str, str]:
        """Encode with one of `encodings` and declare it in the header, a meta tag or nowhere.
        Returns (body, encoding, declared, header charset or "")."""
        enc = self.rng.choice(encodings)
        declared = self.rng.choice(("header", "meta", "none"))
        if declared == "meta":
            html_text = html_text.replace("<head>", f'<head><meta charset="{enc}">', 1)
        return html_text.encode(enc), enc, declared, enc if declared == "header" else ""

    def article(self) -> tuple[Page, str]:
        paragraphs = next(self.stories).split("\n")
        if self.rng.random() < 0.3:  # a long page: several stories
            paragraphs += [p for _ in range(self.rng.randint(2, 6))
                           for p in next(self.stories).split("\n")]
        page = Page(self.url(), "article", "en", b"", None, "")
        if self.rng.random() < 0.35:
            _plant_pii(paragraphs, self.rng, page.pii)
        title = paragraphs[0].split(".")[0][:60]
        html_text = _html(title, paragraphs, self.rng, None)
        page.body, page.encoding, page.declared, charset = self.encode(html_text, ("utf-8",))
        return page, charset

    def foreign(self) -> tuple[Page, str]:
        lang = self.rng.choice(sorted(FOREIGN))
        encodings, sentences = FOREIGN[lang]
        paragraphs = [" ".join(self.rng.choices(sentences, k=self.rng.randint(3, 7)))
                      for _ in range(self.rng.randint(3, 8))]
        html_text = _html(sentences[0][:20], paragraphs, self.rng, None)
        page = Page(self.url(f"{lang}{self.rng.randint(1, 50)}.example"), "foreign", lang, b"",
                    None, "")
        page.body, page.encoding, page.declared, charset = self.encode(html_text, encodings)
        return page, charset

    def english(self, kind: str, paragraphs: list[str], cluster: int | None = None,
                boilerplate: bool = True) -> tuple[Page, str]:
        page = Page(self.url(), kind, "en", b"", None, "", cluster=cluster)
        html_text = _html(paragraphs[0][:40], paragraphs, self.rng, None, boilerplate)
        page.body, page.encoding, page.declared, charset = self.encode(html_text, ("utf-8",))
        return page, charset

    def spam(self) -> tuple[Page, str]:
        words = self.rng.choices(SPAM_WORDS, k=self.rng.randint(80, 300))
        lines = [" ".join(words[i:i + 12]) for i in range(0, len(words), 12)]
        return self.english("spam", lines)

    def short(self) -> tuple[Page, str]:
        text = " ".join(next(self.stories).split()[: self.rng.randint(3, 30)])
        return self.english("short", [text])

    def teaser(self) -> tuple[Page, str]:
        story = next(self.stories).split(". ")
        lines = [" ".join(s.split()[:8]) + "..." for s in story[:12]]
        return self.english("teaser", lines)

    def template(self) -> tuple[Page, str]:
        """A shop page from one of a few templates: near-duplicates within a cluster."""
        if not self.templates or self.rng.random() < 0.25:
            self.clusters += 1
            self.templates[self.clusters] = 0
        cluster = self.rng.choice(sorted(self.templates))
        rng = random.Random(cluster)  # the template's fixed wording
        product = rng.choice(PRODUCTS)
        lines = [f"Buy the {product} at the best price. Our {product} is made from quality "
                 f"materials and ships within {rng.randint(2, 5)} days to your door.",
                 f"Customers love this {product}: it is sturdy, light and easy to clean. Order "
                 f"today and get free returns for {rng.randint(14, 60)} days.",
                 "Secure payment with all major cards. Our friendly team is happy to help with "
                 "any question about sizes, colours, delivery times and returns. Every order is "
                 "packed with care and tracked until it arrives at your door, and we answer "
                 "every message within one working day.",
                 f"Visit our store in {self.rng.choice(CITIES)} or order online any time."]
        self.templates[cluster] += 1
        return self.english("template", lines, cluster=cluster)

    def terms(self) -> tuple[Page, str]:
        """The same terms-of-use text with a site name and a date swapped in: one cluster."""
        site = f"Site{self.rng.randint(1, 999)}"
        text = TERMS.replace("the operator", site, 2) + f" Last updated {self.rng.randint(1, 28)}" \
            f" March {self.rng.randint(2015, 2024)}."
        return self.english("terms", [text], cluster=0, boilerplate=False)


KINDS = (("article", 0.42), ("foreign", 0.2), ("spam", 0.07), ("short", 0.05),
         ("teaser", 0.04), ("template", 0.08), ("terms", 0.04), ("copy", 0.08),
         ("binary", 0.01), ("empty", 0.01))


def generate_pages(num_pages: int, seed: int = 0) -> list[tuple[Page, str]]:
    """`num_pages` pages (with the HTTP header charset of each, "" when undeclared there)."""
    gen = _Generator(seed)
    kinds, weights = zip(*KINDS)
    pages: list[tuple[Page, str]] = []
    copies = 0
    for _ in range(num_pages):
        kind = gen.rng.choices(kinds, weights)[0]
        if kind == "copy" and pages:
            original, charset = gen.rng.choice(pages)
            if original.kind in ("binary", "empty"):
                kind = "article"
            else:
                if original.cluster is None:  # exact-copy clusters count down from -1
                    copies += 1
                    original.cluster = -copies
                copy = Page(gen.url(), original.kind, original.language, original.body,
                            original.encoding, original.declared, cluster=original.cluster,
                            exact_copy_of=original.url, pii=original.pii)
                pages.append((copy, charset))
                continue
        if kind == "copy":
            kind = "article"
        if kind == "binary":
            body = bytes(gen.rng.randrange(256) for _ in range(gen.rng.randint(200, 2000)))
            pages.append((Page(gen.url(), "binary", None, b"\x89PNG\r\n\x1a\n\x00" + body, None,
                               "none"), ""))
        elif kind == "empty":
            pages.append((Page(gen.url(), "empty", None, b"", None, "none"), ""))
        else:
            pages.append(getattr(gen, kind)())
    return pages


def reference_texts(num_texts: int, seed: int = 10_007) -> list[str]:
    """Clean English pages in the role of Wikipedia-linked pages (the quality positives and
    the held-out text of the payoff experiment): stories of another seed."""
    return list(generate_stories(num_texts, seed=seed))


# ---- WARC / WET writing (WARC 1.0; one gzip member per record) ----

def _record(warc_type: str, headers: dict[str, str], payload: bytes) -> bytes:
    head = {"WARC-Type": warc_type, "WARC-Date": "2024-03-01T12:00:00Z",
            "WARC-Record-ID": f"<urn:uuid:{headers.pop('id')}>", **headers,
            "Content-Length": str(len(payload))}
    text = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
    return gzip.compress(text.encode("utf-8") + payload + b"\r\n\r\n", mtime=0)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


def http_response(page: Page, charset: str) -> bytes:
    ctype = "image/png" if page.kind == "binary" else "text/html"
    ctype += f"; charset={charset}" if charset else ""
    return (f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(page.body)}\r\n"
            f"\r\n").encode("ascii") + page.body


def write_crawl(out_dir: str | Path, num_pages: int, seed: int = 0, num_files: int = 4,
                progress: bool = False) -> list[Path]:
    """Write the crawl: num_files WARC + WET pairs and truth.jsonl. Returns the WARC paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pages = generate_pages(num_pages, seed)
    rng = random.Random(seed + 1)
    warcs, truth = [], []
    per_file = -(-num_pages // num_files)
    for f in range(num_files):
        chunk = pages[f * per_file:(f + 1) * per_file]
        warc, wet = out / f"crawl-{f:05d}.warc.gz", out / f"crawl-{f:05d}.warc.wet.gz"
        info = {"id": _uuid(rng), "Content-Type": "application/warc-fields"}
        meta = f"software: lm-from-scratch-kit helpers.cc_crawl\r\nseed: {seed}\r\n".encode()
        with open(warc, "wb") as fw, open(wet, "wb") as ft:
            fw.write(_record("warcinfo", dict(info), meta))
            ft.write(_record("warcinfo", dict(info, id=_uuid(rng)), meta))
            for page, charset in chunk:
                page.file = warc.name
                rid = _uuid(rng)
                fw.write(_record("response", {
                    "id": rid, "WARC-Target-URI": page.url,
                    "Content-Type": "application/http; msgtype=response"},
                    http_response(page, charset)))
                if page.language is not None and page.body:
                    text = extract_plain_text(page.body.decode(page.encoding))
                    ft.write(_record("conversion", {
                        "id": _uuid(rng), "WARC-Target-URI": page.url,
                        "WARC-Refers-To": f"<urn:uuid:{rid}>", "Content-Type": "text/plain"},
                        text.encode("utf-8")))
                row = {k: v for k, v in asdict(page).items() if k != "body"}
                truth.append(row)
        warcs.append(warc)
    with open(out / "truth.jsonl", "w", encoding="utf-8") as fh:
        for row in truth:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return warcs


def load_truth(crawl_dir: str | Path) -> dict[str, dict]:
    """{url: ground truth} of a crawl written by write_crawl."""
    with open(Path(crawl_dir) / "truth.jsonl", encoding="utf-8") as fh:
        return {row["url"]: row for row in map(json.loads, fh)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    paths = write_crawl(args.out_dir, args.pages, args.seed, args.files)
    size = sum(p.stat().st_size for p in Path(args.out_dir).iterdir())
    print(f"{len(paths)} WARC files, {args.pages} pages, {size / 1e6:.1f} MB in {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
