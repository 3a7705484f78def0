"""Benchmark corpus: made-up Dutch RSS 2.0 / Atom feeds and HTML listing pages, deterministic.

Every text is assembled here from small word lists written for this benchmark (nothing is taken
from ../shared/data). Feeds have 20-50 items of about 3 KB each (HTML descriptions, 30% with
full content: `content:encoded` in RSS, `<content type="html">` in Atom); listing pages have
20 dated cards inside a page of navigation and footer, like a government site's news listing.

Feeds look like the ones real publishers serve (``realistic=True``, the default): 45% WordPress
RSS (a channel <image> on most, 1-5 <category> per item,
dc:creator, content:encoded for every item, wfw:commentRss and slash:comments, media:content
on a third, a PDF or MP3 enclosure on a few), 15% Drupal RSS (xml:base on <rss>, categories with
a domain, "N at URL" guids), 20% government RSS (dc:title/dc:language or plain, dc:subject
tags, media:thumbnail on some), 20% Atom (categories, an icon, a generator). With
``realistic=False`` the corpus is the plain one of bench/RESULTS.md before #14 (60% RSS with
none of these elements, 40% Atom).

    corpus = build_corpus(1000, html=100, seed=8)
    corpus.write(Path("/tmp/x"))        # feeds/0000.xml ..., html/0000.html ..., robots.txt
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

ORGS = (
    "Gemeente Zuiderveen",
    "Stichting Nieuwe Buren",
    "Ministerie van Wonen en Werk",
    "Raad voor Opvang",
    "Vluchtelingenhulp Oost",
    "Provincie Noordmeer",
    "Kenniscentrum Meedoen",
    "Landelijk Steunpunt Taal",
)
PLACES = (
    "Zuiderveen",
    "Noordmeer",
    "Oosterwijk",
    "Westerbeek",
    "Hoogdorp",
    "Lagevaart",
    "Bergeind",
    "Kanaalzijde",
)
SUBJECTS = (
    "De gemeenteraad",
    "Het college",
    "Een nieuwe werkgroep",
    "De provincie",
    "Het kabinet",
    "Een groep vrijwilligers",
    "De wethouder",
    "Het opvangbureau",
)
TOPICAL = (
    "de opvang van asielzoekers in een nieuw azc",
    "de huisvesting van statushouders",
    "de inburgering van nieuwkomers",
    "het aanmeldcentrum dat al weken vol zit",
    "taallessen voor inburgeraars",
    "de asielprocedure voor mensen uit veilige landen van herkomst",
    "arbeidsmigratie en de woningmarkt",
    "een noodopvang in een sporthal",
)
NEUTRAL = (
    "het onderhoud van fietspaden",
    "de nieuwe bibliotheek",
    "de begroting voor volgend jaar",
    "het groen in de binnenstad",
    "de verbouwing van het zwembad",
    "parkeervergunningen voor bewoners",
    "een zomerfestival op het plein",
    "de aanleg van glasvezel",
)
VERBS = (
    "besluit volgende week over",
    "praat donderdag opnieuw over",
    "presenteert een plan voor",
    "vraagt extra geld voor",
    "wil snel duidelijkheid over",
    "start een onderzoek naar",
    "organiseert een avond over",
    "reageert kritisch op",
)
FILLER = (
    "Bewoners kunnen tot het einde van de maand hun mening geven via een formulier op de website.",
    "Volgens de betrokkenen is er meer tijd nodig om alle gevolgen goed in kaart te brengen.",
    "Een woordvoerder laat weten dat de gesprekken in een goede sfeer zijn verlopen.",
    "Het voorstel wordt na de zomer besproken in de commissie en daarna in de raad.",
    "Eerder dit jaar ging het nog om een veel kleiner aantal plekken.",
    "De kosten worden gedeeld met het Rijk en de omliggende gemeenten.",
    "Op de informatieavond waren ruim honderd belangstellenden aanwezig.",
    "Ook scholen, huisartsen en sportverenigingen zijn bij de plannen betrokken.",
    "De wijkagent en het buurtteam blijven het aanspreekpunt voor vragen.",
    "Het definitieve besluit volgt naar verwachting over zes weken.",
    "Critici vinden dat er te weinig is gesproken met omwonenden en ondernemers.",
    "In de tussentijd blijft de huidige regeling gewoon van kracht.",
)
DUTCH_DAYS = ("ma", "di", "wo", "do", "vr", "za", "zo")
DUTCH_MONTHS = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
RFC_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RFC_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Doc:
    path: str  # URL path, e.g. /feeds/0001.xml
    body: bytes
    content_type: str
    kind: str  # rss | atom | html | robots
    items: int = 0


@dataclass
class Corpus:
    docs: dict[str, Doc] = field(default_factory=dict)

    def add(self, doc: Doc) -> None:
        self.docs[doc.path] = doc

    def feeds(self) -> list[Doc]:
        return [d for d in self.docs.values() if d.kind in ("rss", "atom")]

    def html(self) -> list[Doc]:
        return [d for d in self.docs.values() if d.kind == "html"]

    @property
    def bytes(self) -> int:
        return sum(len(d.body) for d in self.docs.values())

    def write(self, root: Path) -> None:
        """Write every document under `root` (the server serves them from memory)."""
        for doc in self.docs.values():
            target = root / doc.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(doc.body)


def _sentence(rng: random.Random, topical: bool) -> str:
    what = rng.choice(TOPICAL if topical else NEUTRAL)
    return f"{rng.choice(SUBJECTS)} van {rng.choice(PLACES)} {rng.choice(VERBS)} {what}."


def _paragraphs(rng: random.Random, topical: bool, size: int) -> str:
    parts: list[str] = []
    total = 0
    while total < size:
        words = [_sentence(rng, topical and rng.random() < 0.5)]
        words += rng.sample(FILLER, 3)
        if rng.random() < 0.3:
            words.append('Meer weten? Lees het <a href="/nieuws/achtergrond">achtergrondstuk</a>.')
        if rng.random() < 0.2:
            words.append(
                "Café &amp; bibliotheek blijven open; de kosten zijn € 12 per één persoon."
            )
        para = "<p>" + " ".join(words) + "</p>"
        parts.append(para)
        total += len(para)
    return "\n".join(parts)


def _title(rng: random.Random, topical: bool) -> str:
    what = rng.choice(TOPICAL if topical else NEUTRAL)
    return f"{rng.choice(PLACES)}: {rng.choice(SUBJECTS).lower()} {rng.choice(VERBS)} {what}"


def _rfc822(when: datetime, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.5:
        local, zone = when + timedelta(hours=1), "+0100"
    elif style < 0.8:
        local, zone = when, "GMT"
    else:
        local, zone = when + timedelta(hours=1), "CET"
    return (
        f"{RFC_DAYS[local.weekday()]}, {local.day:02d} {RFC_MONTHS[local.month - 1]} "
        f"{local.year} {local:%H:%M:%S} {zone}"
    )


def _iso(when: datetime, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (when + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+01:00")


def _items(rng: random.Random, n: int, i: int, host: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    when = NOW - timedelta(minutes=rng.randint(5, 600))
    for j in range(n):
        topical = rng.random() < 0.4
        slug = f"bericht-{i:04d}-{j:03d}"
        out.append(
            {
                "title": _title(rng, topical),
                "link": f"{host}/nieuws/{i:04d}/{slug}",
                "guid": f"urn:bench:{i:04d}:{j:03d}",
                "date": when,
                "summary": _paragraphs(rng, topical, 1400),
                "content": _paragraphs(rng, topical, 2600) if rng.random() < 0.3 else None,
                "author": rng.choice(("Redactie", "Afdeling Communicatie", None)),
            }
        )
        when -= timedelta(minutes=rng.randint(30, 60 * 30))
    return out


CATEGORIES = (
    "Nieuws", "Opvang", "Inburgering", "Wonen", "Werk", "Taal", "Gemeenteraad", "Vrijwilligers",
    "Onderwijs", "Zorg", "Beleid", "Evenementen",
)  # fmt: skip
RSS_NS = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"'
)
WP_NS = (
    ' xmlns:wfw="http://wellformedweb.org/CommentAPI/"'
    ' xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'
    ' xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
    ' xmlns:media="http://search.yahoo.com/mrss/"'
)


def _extras(rng: random.Random, flavour: str, it: dict[str, object], host: str) -> list[str]:
    """The elements a publisher's CMS adds to an item (none for the plain corpus)."""
    out: list[str] = []
    if flavour == "wordpress":
        out += [
            f"<category><![CDATA[{c}]]></category>"
            for c in rng.sample(CATEGORIES, rng.randint(1, 5))
        ]
        out.append(f"<wfw:commentRss>{it['link']}/feed/</wfw:commentRss>")
        out.append(f"<slash:comments>{rng.randint(0, 12)}</slash:comments>")
        if rng.random() < 0.33:
            out.append(
                f'<media:content url="{host}/wp-content/uploads/beeld-{rng.randint(1, 999)}.jpg" medium="image"/>'
            )
        if rng.random() < 0.05:
            out.append(
                f'<enclosure url="{host}/wp-content/uploads/bijlage.pdf" length="{rng.randint(10_000, 900_000)}" type="application/pdf"/>'
            )
    elif flavour == "drupal":
        out += [
            f'<category domain="{host}/onderwerp/{c.lower()}">{c}</category>'
            for c in rng.sample(CATEGORIES, rng.randint(0, 3))
        ]
    elif flavour == "government":
        out += [f"<dc:subject>{c}</dc:subject>" for c in rng.sample(CATEGORIES, rng.randint(0, 2))]
        if rng.random() < 0.3:
            out.append(f'<media:thumbnail url="{host}/beeld/{rng.randint(1, 999)}.jpg"/>')
        if rng.random() < 0.03:
            out.append(
                f'<enclosure url="{host}/podcast/{rng.randint(1, 99)}.mp3" length="1000" type="audio/mpeg"/>'
            )
    return out


def rss_feed(rng: random.Random, i: int, n: int, base: str, flavour: str = "plain") -> bytes:
    org = rng.choice(ORGS)
    host = f"https://www.voorbeeld-{i:04d}.nl"
    ns = RSS_NS + (WP_NS if flavour in ("wordpress", "government") else "")
    root = f'<rss version="2.0" {ns}>'
    if flavour == "drupal":
        root = f'<rss version="2.0" xml:base="{host}/" {ns}>'
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        root,
        "<channel>",
        f"<dc:title>{escape(org)} — nieuws {i}</dc:title>"
        if flavour == "government" and rng.random() < 0.5
        else f"<title>{escape(org)} — nieuws {i}</title>",
        f"<link>{host}/nieuws</link>",
        f'<atom:link href="{base}" rel="self" type="application/rss+xml"/>',
        "<description>Het laatste nieuws</description>",
        "<dc:language>nl</dc:language>"
        if flavour == "government"
        else "<language>nl-NL</language>",
    ]
    if flavour == "wordpress":
        parts += [
            "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>1</sy:updateFrequency>",
            "<generator>https://wordpress.org/?v=6.7</generator>",
        ]
    if flavour in ("wordpress", "government") and rng.random() < 0.7:
        parts.append(
            f"<image><url>{host}/logo.png</url><title>{escape(org)}</title>"
            f"<link>{host}</link><width>32</width><height>32</height></image>"
        )
    for it in _items(rng, n, i, host):
        when = it["date"]
        assert isinstance(when, datetime)
        guid = (
            f'<guid isPermaLink="false">{it["guid"]}</guid>'
            if rng.random() < 0.6
            else f"<guid>{it['link']}</guid>"
        )
        parts += [
            "<item>",
            f"<title>{escape(str(it['title']))}</title>",
            f"<link>{it['link']}</link>",
            guid,
            f"<pubDate>{_rfc822(when, rng)}</pubDate>",
            f"<description><![CDATA[{it['summary']}]]></description>"
            if rng.random() < 0.7
            else f"<description>{escape(str(it['summary']))}</description>",
        ]
        if it["author"] or flavour in ("wordpress", "drupal"):
            parts.append(f"<dc:creator>{it['author'] or 'Redactie'}</dc:creator>")
        if it["content"] or flavour == "wordpress":
            content = it["content"] or it["summary"]
            parts.append(f"<content:encoded><![CDATA[{content}]]></content:encoded>")
        parts += _extras(rng, flavour, it, host)
        parts.append("</item>")
    parts += ["</channel>", "</rss>", ""]
    return "\n".join(parts).encode("utf-8")


def atom_feed(rng: random.Random, i: int, n: int, base: str, realistic: bool = False) -> bytes:
    org = rng.choice(ORGS)
    host = f"https://www.voorbeeld-{i:04d}.nl"
    items = _items(rng, n, i, host)
    first = items[0]["date"]
    assert isinstance(first, datetime)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="nl">',
        f"<title>{escape(org)} — berichten {i}</title>",
        f'<link href="{host}/berichten" rel="alternate"/>',
        f'<link href="{base}" rel="self"/>',
        f"<id>urn:bench:feed:{i:04d}</id>",
        f"<updated>{_iso(first, rng)}</updated>",
    ]
    if realistic:
        parts += [f"<icon>{host}/favicon.png</icon>", "<generator>Hugo</generator>"]
    for it in items:
        when = it["date"]
        assert isinstance(when, datetime)
        parts += [
            "<entry>",
            f'<title type="html">{escape(str(it["title"]))}</title>',
            f'<link rel="alternate" type="text/html" href="{it["link"]}"/>',
            f"<id>{it['guid']}</id>",
            f"<published>{_iso(when, rng)}</published>",
            f"<updated>{_iso(when + timedelta(minutes=rng.choice((0, 0, 12))), rng)}</updated>",
            f'<summary type="html">{escape(str(it["summary"]))}</summary>',
        ]
        if it["author"]:
            parts.append(f"<author><name>{it['author']}</name></author>")
        if realistic:
            parts += [
                f'<category term="{c.lower()}" label="{c}"/>'
                for c in rng.sample(CATEGORIES, rng.randint(0, 3))
            ]
        if it["content"]:
            parts.append(f'<content type="html">{escape(str(it["content"]))}</content>')
        parts.append("</entry>")
    parts += ["</feed>", ""]
    return "\n".join(parts).encode("utf-8")


def html_listing(rng: random.Random, i: int, n: int) -> bytes:
    """A news listing: header, menu, n dated cards, a long footer (about 100-200 KB)."""
    org = rng.choice(ORGS)
    menu = "\n".join(
        f'<li><a href="/onderwerpen/{k}">Onderwerp {k}</a></li>' for k in range(rng.randint(40, 80))
    )
    cards: list[str] = []
    when = NOW - timedelta(hours=rng.randint(1, 30))
    for j in range(n):
        topical = rng.random() < 0.4
        local = when + timedelta(hours=1)
        label = (
            f"{DUTCH_DAYS[local.weekday()]} {local.day} {DUTCH_MONTHS[local.month - 1]}. "
            f"{local.year}"
        )
        text = escape(_sentence(rng, topical) + " " + rng.choice(FILLER))
        cards.append(
            f'<li class="news-card">\n  <a class="news-card__link" '
            f'href="/actueel/nieuws/{i:04d}/bericht-{j:03d}">\n'
            f'    <h3 class="news-card__title">{escape(_title(rng, topical))}</h3>\n'
            f'    <p class="news-card__text">{text}</p>\n'
            f'    <p class="news-card__meta"><time datetime="{local:%Y-%m-%dT%H:%M:%S}+01:00">'
            f"{label}</time></p>\n  </a>\n</li>"
        )
        when -= timedelta(hours=rng.randint(2, 40))
    footer = "\n".join(
        f'<div class="footer-col"><h4>Rubriek {k}</h4><p>{escape(rng.choice(FILLER))}</p>'
        f'<a href="/rubriek/{k}">Meer</a></div>'
        for k in range(rng.randint(600, 900))
    )
    style = "\n".join(f".c{k} {{ margin: {k}px; color: #{k:06x}; }}" for k in range(1000))
    page = f"""<!doctype html>
<html lang="nl">
<head>
<meta charset="utf-8">
<title>Nieuws - {escape(org)}</title>
<style>
{style}
</style>
</head>
<body>
<header><a href="/">{escape(org)}</a><nav><ul class="menu">
{menu}
</ul></nav></header>
<main>
<h1>Nieuws</h1>
<ul class="news-list">
{chr(10).join(cards)}
</ul>
</main>
<footer>
{footer}
</footer>
</body>
</html>
"""
    return page.encode("utf-8")


FLAVOURS = (("wordpress", 0.45), ("drupal", 0.15), ("government", 0.20), ("atom", 0.20))


def _flavour(rng: random.Random, realistic: bool) -> str:
    if not realistic:
        return "plain" if rng.random() < 0.6 else "atom"
    roll = rng.random()
    for name, share in FLAVOURS:
        if roll < share:
            return name
        roll -= share
    return "atom"


def build_corpus(
    feeds: int, *, html: int = 0, seed: int = 8, base: str = "", realistic: bool = True
) -> Corpus:
    """`feeds` feeds and `html` listing pages, the same for a seed (see the module docstring
    for the mix of publishers; ``realistic=False``: 60% plain RSS 2.0, 40% plain Atom)."""
    rng = random.Random(seed)
    corpus = Corpus()
    for i in range(feeds):
        n = rng.randint(20, 50)
        flavour = _flavour(rng, realistic)
        if flavour != "atom":
            path = f"/feeds/{i:04d}.xml"
            body = rss_feed(rng, i, n, base + path, flavour)
            corpus.add(Doc(path, body, "application/rss+xml; charset=utf-8", "rss", n))
        else:
            path = f"/feeds/{i:04d}.atom"
            body = atom_feed(rng, i, n, base + path, realistic)
            corpus.add(Doc(path, body, "application/atom+xml; charset=utf-8", "atom", n))
    for i in range(html):
        path = f"/html/{i:04d}.html"
        corpus.add(Doc(path, html_listing(rng, i, 20), "text/html; charset=utf-8", "html", 20))
    corpus.add(Doc("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain", "robots"))
    return corpus


if __name__ == "__main__":  # a quick look: sizes of a small corpus
    c = build_corpus(50, html=5)
    feeds = c.feeds()
    per_item = sum(len(d.body) for d in feeds) / sum(d.items for d in feeds)
    print(f"{len(feeds)} feeds, {sum(d.items for d in feeds)} items, {per_item:.0f} bytes/item")
    for d in c.html():
        print(d.path, len(d.body))
