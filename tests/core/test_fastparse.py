"""The lxml fast path and feedparser agree: same items, ids, links, titles, dates, summaries."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedwatch.core.extract import fastfeed, feeds
from feedwatch.core.extract.feeds import ParsedFeed, parse_feed
from feedwatch.errors import ExtractError

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:8765"


def _bench_corpus() -> list[tuple[str, bytes, dict[str, str]]]:
    spec = importlib.util.spec_from_file_location("bench_corpus", ROOT / "bench" / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get("bench_corpus") or importlib.util.module_from_spec(spec)
    if "bench_corpus" not in sys.modules:
        sys.modules["bench_corpus"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    corpus = module.build_corpus(80, seed=11)
    return [(d.path, d.body, {"Content-Type": d.content_type}) for d in corpus.feeds()]


def _files() -> list[tuple[str, bytes, dict[str, str]]]:
    paths = sorted((ROOT / "tests" / "data" / "feeds").glob("*.xml"))
    paths += sorted((ROOT / "demo" / "site").rglob("*.xml"))
    return [("/" + p.relative_to(ROOT).as_posix(), p.read_bytes(), {}) for p in paths]


RSS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">'
    "<channel><title>Proefkanaal</title><link>https://proef.example.nl/</link>"
    "<language>nl-NL</language>"
)
ATOM_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
    'xml:lang="nl"><title>Proefstroom</title><id>urn:proef</id>'
    "<updated>2026-11-20T10:00:00Z</updated>"
)


def rss(*items: str, head: str = RSS_HEAD) -> bytes:
    return (head + "".join(f"<item>{i}</item>" for i in items) + "</channel></rss>").encode()


def atom(*entries: str, head: str = ATOM_HEAD) -> bytes:
    return (head + "".join(f"<entry>{e}</entry>" for e in entries) + "</feed>").encode()


# Common-case variants the fast path must read itself (and agree on).
COMMON: dict[str, bytes] = {
    "rss-relative-link-and-guid": rss(
        "<title>Raad praat over opvang</title><link>/nieuws/1</link><guid>1234</guid>"
        "<pubDate>Thu, 19 Nov 2026 09:00:00 +0100</pubDate><description>Kort.</description>"
    ),
    "rss-guid-not-permalink": rss(
        '<title>Tweede</title><guid isPermaLink="false">abc-1</guid>'
        "<pubDate>Thu, 19 Nov 2026 09:00:00 CET</pubDate>"
    ),
    "rss-permalink-guid-as-link": rss(
        "<title>Derde</title><guid>https://proef.example.nl/derde</guid>"
        "<pubDate>Wed, 18 Nov 2026 23:30:00 CEST</pubDate>"
    ),
    "rss-cdata-entities-content": rss(
        "<title>Caf&#233; &amp; buurthuis &lt;open&gt;</title><link>https://proef.example.nl/c</link>"
        "<description><![CDATA[<p>Een <b>nieuwe</b> plek &amp; meer</p>]]></description>"
        "<content:encoded><![CDATA[<p>Lang verhaal</p>]]></content:encoded>"
        "<dc:creator>Redactie</dc:creator><category>Opvang</category>"
    ),
    "rss-content-only-dc-date": rss(
        "<title>Vierde</title><link>https://proef.example.nl/4</link>"
        "<content:encoded>&lt;p&gt;Alleen inhoud&lt;/p&gt;</content:encoded>"
        "<dc:date>2026-11-17T08:00:00+01:00</dc:date><pubDate>do, 08 okt 2026</pubDate>"
    ),
    "rss-bad-dates": rss(
        "<title>Vijfde</title><link>https://proef.example.nl/5</link>"
        "<pubDate>Mon, 45 Foo 2026 99:00:00 +0100</pubDate>",
        "<title>  Zesde met spaties  </title><link>  https://proef.example.nl/6  </link>",
    ),
    "rss-wordpress-categories-media-extensions": rss(
        "<title>Met categorieën</title><link>https://proef.example.nl/wp/1</link>"
        "<category>Nieuws</category><category>Opvang</category><category>Taal</category>"
        '<guid isPermaLink="false">https://proef.example.nl/?p=1</guid>'
        "<pubDate>Thu, 19 Nov 2026 14:02:11 +0000</pubDate>"
        '<media:content url="https://proef.example.nl/i.jpg" medium="image"/>'
        '<media:thumbnail url="https://proef.example.nl/t.jpg"/>'
        '<wfw:commentRss xmlns:wfw="http://wellformedweb.org/CommentAPI/">https://c</wfw:commentRss>'
        '<slash:comments xmlns:slash="http://purl.org/rss/1.0/modules/slash/">3</slash:comments>'
        '<post-id xmlns="com-wordpress:feed-additions:1">1</post-id>',
        head=RSS_HEAD
        + "<image><url>https://proef.example.nl/logo.png</url><title>Logo</title>"
        + "<link>https://proef.example.nl/</link></image>",
    ),
    "rss-enclosures": rss(
        "<title>Met bijlagen</title><link>https://proef.example.nl/e/1</link>"
        '<enclosure url="/bijlage.pdf" type="application/pdf" length="12"/>'
        '<enclosure url="https://proef.example.nl/b.mp3" type="audio/mpeg" length="1"/>',
        '<enclosure url="https://proef.example.nl/alleen.mp3" type="audio/mpeg" length="1"/>',
        '<enclosure url="https://proef.example.nl/eerst.mp3"/><guid>https://proef.example.nl/g</guid>',
    ),
    "rss-dublin-core": rss(
        "<dc:title>DC-titel</dc:title><link>https://proef.example.nl/dc</link>"
        "<dc:language>en</dc:language><dc:subject>a</dc:subject><dc:subject>b</dc:subject>"
        "<dc:date>2026-11-17T08:00:00+01:00</dc:date><pubDate>Tue, 17 Nov 2026 07:00:00 GMT</pubDate>",
        head=RSS_HEAD.replace(
            "<title>Proefkanaal</title>", "<dc:title>DC-kanaal</dc:title>"
        ).replace("<language>nl-NL</language>", "<dc:language>de</dc:language>"),
    ),
    "rss-description-only": rss("<description>Alleen tekst</description>"),
    "rss-more-dublin-core": rss(
        "<title>Besluit</title><link>https://proef.example.nl/b</link>"
        "<pubDate>Tue, 17 Nov 2026 07:00:00 GMT</pubDate><dc:rights>CC0</dc:rights>"
        "<dc:publisher>Gemeente Proef</dc:publisher><dc:format>text/html</dc:format>"
        "<dc:type>besluit</dc:type><dc:identifier>gmb-2026-1</dc:identifier>"
        "<dc:coverage>Proefdorp</dc:coverage><dc:relation>https://proef.example.nl/r</dc:relation>"
    ),
    "rss-xml-base-drupal": rss(
        "<title>Relatief</title><link>nieuws/rel</link><guid>12 at x</guid>",
        head=RSS_HEAD.replace(
            '<rss version="2.0"', '<rss version="2.0" xml:base="https://d.example/"'
        ),
    ),
    "atom-categories-and-feed-extras": atom(
        '<title>Met categorie</title><link href="/c1"/><id>urn:c1</id>'
        '<category term="a"/><category term="b"/><rights>CC</rights>'
        "<updated>2026-11-18T10:00:00Z</updated>",
        head=ATOM_HEAD
        + '<subtitle>Sub</subtitle><icon>/i.png</icon><logo>/l.png</logo><link rel="self" href="/f"/>'
        + "<generator>Hugo</generator><author><name>Redactie</name></author>",
    ),
    "atom-kinds-of-links": atom(
        '<title type="html">A &amp;amp; B</title><link href="/a"/>'
        '<link rel="enclosure" href="/a.mp3" type="audio/mpeg"/><id>tag:proef,2026:1</id>'
        "<published>2026-11-19T10:00:00+01:00</published><updated>2026-11-19T11:00:00Z</updated>"
        '<summary type="html">&lt;p&gt;hoi&lt;/p&gt;</summary><author><name>Jan</name></author>',
        '<title>Zonder html-link</title><link rel="alternate" type="application/pdf" href="/b.pdf"/>'
        "<id>b-2</id><content>platte &lt; tekst</content>",
        '<title>Alleen updated</title><link rel="alternate" type="text/html" href="https://x.example/c"/>'
        "<id>urn:c</id><updated>2026-11-18T10:00:00Z</updated>",
    ),
}

# Outside the common case: the fast path steps aside and feedparser reads them.
UNUSUAL: dict[str, tuple[bytes, dict[str, str]]] = {
    "latin-1": (
        '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>x</title>'
        "<item><title>Caf\xe9</title><link>https://x.example/1</link></item></channel></rss>".encode(
            "latin-1"
        ),
        {},
    ),
    "text-xml-no-charset": (
        rss("<title>Café</title><link>https://x.example/1</link>"),
        {"Content-Type": "text/xml"},
    ),
    "charset-header": (
        rss("<title>x</title>"),
        {"Content-Type": "application/rss+xml; charset=iso-8859-1"},
    ),
    "c1-control": (rss("<title>prijs \u0080 5</title><link>https://x.example/1</link>"), {}),
    "xml-base": (
        atom(
            '<title>x</title><link href="a"/><id>x</id>',
            head=ATOM_HEAD.replace("<title>", '<title xml:base="https://b.example/">', 1),
        ),
        {},
    ),
    "xml-lang-entry": (atom('<title xml:lang="en">x</title><id>x</id>'), {}),
    "xhtml-title": (
        atom(
            '<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></title><id>x</id>'
        ),
        {},
    ),
    "atom-author-email": (
        atom(
            "<title>x</title><id>x</id><author><name>Jan</name><email>j@x.example</email></author>"
        ),
        {},
    ),
    "media-title": (
        rss("<title>x</title><media:title>y</media:title><link>https://x.example/1</link>"),
        {},
    ),
    "rss-author": (rss("<title>x</title><author>jan@x.example (Jan)</author>"), {}),
    "two-titles": (rss("<title>x</title><title>y</title>"), {}),
    "not-well-formed": (rss("<title>x &eacute; y</title><link>https://x.example/1</link>"), {}),
    "cut-off": (
        rss("<title>a</title><link>https://x.example/1</link>", "<title>b</title><link>htt")[:-30],
        {},
    ),
    "rss-1.0": (
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>x</title></channel>'
        b'<item rdf:about="https://x.example/1"><title>een</title><link>https://x.example/1</link>'
        b"</item></rdf:RDF>",
        {},
    ),
    "doctype-entities": (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa">]><rss version="2.0"><channel>'
        b"<title>x</title><item><title>&a;</title><link>https://x.example/1</link></item>"
        b"</channel></rss>",
        {},
    ),
    "atom-with-item": (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b'<title>F</title><item><title>Item</title><link href="https://x.example/i"/>'
        b"<id>urn:i</id></item></feed>",
        {},
    ),
    "media-description": (
        rss(
            "<link>https://x.example/m</link><media:content url='https://x.example/i.jpg'>"
            "<media:description>Beschrijving</media:description></media:content>"
        ),
        {},
    ),
    "content-language": (
        rss("<title>x</title><link>https://x.example/1</link>"),
        {"Content-Language": "en"},
    ),
}


def _both(
    monkeypatch: pytest.MonkeyPatch, path: str, body: bytes, headers: dict[str, str]
) -> tuple[ParsedFeed | str, ParsedFeed | str]:
    url = BASE + path

    def run() -> ParsedFeed | str:
        try:
            return parse_feed("k", body, headers, url, NOW)
        except ExtractError as exc:
            return f"ExtractError: {exc.message}"

    fast = run()
    with monkeypatch.context() as m:
        m.setattr(fastfeed, "parse_common", lambda *_a: None)
        slow = run()
    return fast, slow


def _took_fast_path(path: str, body: bytes, headers: dict[str, str]) -> bool:
    lower = {k.lower(): v for k, v in headers.items()}
    lower.setdefault("content-location", BASE + path)
    return fastfeed.parse_common(feeds._safe_xml(body), lower, BASE + path) is not None


def _cases() -> Iterator[tuple[str, bytes, dict[str, str]]]:
    yield from _bench_corpus()
    yield from _files()
    for name, body in COMMON.items():
        yield f"/common/{name}.xml", body, {"Content-Type": "application/rss+xml"}
    for name, (body, headers) in UNUSUAL.items():
        yield f"/unusual/{name}.xml", body, headers


def test_both_paths_agree_on_every_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = list(_cases())
    fast_count = 0
    items = 0
    for path, body, headers in cases:
        fast, slow = _both(monkeypatch, path, body, headers)
        if isinstance(fast, ParsedFeed) and isinstance(slow, ParsedFeed):
            for a, b in zip(fast.items, slow.items, strict=True):
                assert a == b, path  # title, link, guid, summary, dates, author, lang
            assert (fast.title, fast.lang, fast.warnings) == (slow.title, slow.lang, slow.warnings)
            items += len(fast.items)
        else:
            assert fast == slow, path
        fast_count += _took_fast_path(path, body, headers)
    assert items > 2000
    # every generated feed and every common variant went through the fast path
    assert fast_count >= 80 + len(COMMON)


def test_the_generated_corpus_and_common_variants_take_the_fast_path() -> None:
    for path, body, headers in _bench_corpus():
        assert _took_fast_path(path, body, headers), path
    for name, body in COMMON.items():
        assert _took_fast_path(f"/{name}", body, {}), name


@pytest.mark.parametrize("name", sorted(UNUSUAL))
def test_unusual_feeds_are_left_to_feedparser(name: str) -> None:
    body, headers = UNUSUAL[name]
    assert not _took_fast_path(f"/{name}", body, headers)


def test_fast_path_reads_the_fields_feeds_py_uses() -> None:
    parsed = parse_feed("k", COMMON["rss-relative-link-and-guid"], {}, BASE + "/f/x.xml", NOW)
    (item,) = parsed.items
    assert item.link == BASE + "/nieuws/1"
    assert item.guid == BASE + "/f/1234"  # a permalink guid is resolved, as feedparser does
    assert item.published == datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
    assert item.lang == "nl"
    entries = parse_feed("k", COMMON["atom-kinds-of-links"], {}, BASE + "/f/a.atom", NOW).items
    assert [e.link for e in entries] == [BASE + "/a", BASE + "/f/b-2", "https://x.example/c"]
    assert entries[0].title == "A &amp; B" and entries[0].author == "Jan"
    assert entries[1].summary == "platte < tekst"
    assert entries[2].published is None and entries[2].updated is not None


@pytest.mark.parametrize(
    "name", ["wordpress.xml", "drupal.xml", "government.xml", "bom-whitespace.xml", "rss2.xml"]
)
def test_real_publishers_feeds_take_the_fast_path(name: str) -> None:
    body = (ROOT / "tests" / "data" / "feeds" / name).read_bytes()
    assert _took_fast_path(f"/{name}", body, {"Content-Type": "application/rss+xml"})


def test_fast_path_never_expands_entities() -> None:
    body = UNUSUAL["doctype-entities"][0]
    assert fastfeed.parse_common(body, {"content-location": BASE}, BASE) is None
    parsed = parse_feed("k", body, {}, BASE + "/x.xml", NOW)
    assert all("aaaa" not in (i.title or "") for i in parsed.items)
