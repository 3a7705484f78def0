"""Feed parsing: bytes in, RawItems out; broken and hostile bodies give clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedwatch.core.extract.feeds import parse_feed, parse_feed_date
from feedwatch.errors import ExtractError

DATA = Path(__file__).parents[1] / "data" / "feeds"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def parse(name_or_body: str | bytes, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    body = (DATA / name_or_body).read_bytes() if isinstance(name_or_body, str) else name_or_body
    return parse_feed("src", body, headers or {}, "https://bron.example.nl/feed.xml", NOW)


def test_rss2() -> None:
    feed = parse("rss2.xml")
    assert feed.warnings == ()
    assert feed.lang == "nl"
    first, second, undated, summer = feed.items
    assert first.title == "Gemeente opent nieuwe opvanglocatie voor asielzoekers"
    assert first.guid == "bron-2026-0001"
    assert first.published == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert first.date_source == "feed"
    assert "besloten" in (first.summary or "")
    assert first.author == "Redactie"
    assert second.published == datetime(2026, 11, 19, 8, 30, tzinfo=UTC)  # CET is +01:00
    assert summer.published == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # CEST is +02:00
    assert "Volledige tekst" in (summer.summary or "")
    assert undated.published is None and undated.date_source is None


def test_rss1_rdf() -> None:
    feed = parse("rdf.xml")
    assert [i.link for i in feed.items] == ["https://rdf.example.nl/a", "https://rdf.example.nl/b"]
    # dc:date arrives as `updated`; normalise() takes it as the publication date
    assert feed.items[0].updated == datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    assert feed.items[1].updated == datetime(2026, 11, 17, tzinfo=UTC)


def test_atom() -> None:
    feed = parse("atom.xml")
    a, b = feed.items
    assert a.guid == "ECLI:NL:TEST:2026:101"
    assert a.link == "https://uitspraken.example.nl/ECLI:NL:TEST:2026:101"
    assert a.published is None and a.updated == datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    assert b.published == datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    assert "Dublin" in (b.title or "")
    assert a.lang == "nl"


def test_json_feed() -> None:
    feed = parse("jsonfeed.json")
    a, b = feed.items
    assert a.title == "Persbericht: geen kind in de cel" and a.guid == "nk-1"
    assert a.published == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    assert a.author == "Persvoorlichting"
    assert b.title is None and b.summary == "<p>Tweede bericht</p>"
    assert a.lang == "nl"


def test_truncated_feed_keeps_entries_with_a_warning() -> None:
    body = (DATA / "rss2.xml").read_bytes()
    cut = body[: body.index(b"<title>Bericht zonder datum")]
    feed = parse(cut)
    assert [i.title for i in feed.items if i.title] == [
        "Gemeente opent nieuwe opvanglocatie voor asielzoekers",
        "Inburgeringsexamen: nieuwe cijfers over taaleis B1",
    ]
    assert feed.warnings and "not well-formed" in feed.warnings[0]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "empty response"),
        (b"   \n", "empty response"),
        (
            b"<!DOCTYPE html><html><body><h1>Nieuws</h1></body></html>",
            "HTML page where a feed was expected",
        ),
        (b"<html><head><title>500</title></head><body>Internal error</body></html>", "HTML page"),
        (b"<rss version='2.0'><channel><title>x", "not a valid feed"),
        (b"Dit is gewoon tekst.", "not"),
        (b'{"a": 1}', "not a JSON Feed"),
        (b"{not json", "not valid JSON"),
        (b"/dev/zero", "not"),
    ],
)
def test_broken_bodies_are_clear_errors(body: bytes, words: str) -> None:
    with pytest.raises(ExtractError) as info:
        parse(body)
    assert words in str(info.value)
    assert str(info.value).startswith("src: ")


def test_body_is_never_read_as_a_file_name(tmp_path: Path) -> None:
    target = tmp_path / "local.xml"
    target.write_bytes((DATA / "rss2.xml").read_bytes())
    with pytest.raises(ExtractError):
        parse(str(target).encode())


def test_entity_expansion_is_stripped() -> None:
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "' + b"A" * 65536 + b'">]>\n'
        b"<rss version='2.0'><channel><title>t</title><item><title>"
        + b"&a;" * 65536
        + b"</title><link>https://x.nl/1</link></item></channel></rss>"
    )
    feed = parse(bomb)  # must not expand 4 GiB; the undefined entity leaves a short title
    assert len(feed.items) <= 1
    for item in feed.items:
        assert len(item.title or "") < 1_000_000


def test_billion_laughs_is_refused_or_harmless() -> None:
    lol = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
            for i in range(1, 10)
        )
        + b"]><rss version='2.0'><channel><item><title>&lol9;</title><link>https://x.nl/</link></item></channel></rss>"
    )
    try:
        feed = parse(lol)
    except ExtractError:
        return
    assert all(len(i.title or "") < 10_000 for i in feed.items)


def test_windows_1252_declared_as_utf8() -> None:
    body = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
        "<item><title>Coëfficiënt van de naïeve opvangcapaciteit</title><link>https://x.nl/1</link></item>"
        "</channel></rss>"
    ).encode("windows-1252")
    feed = parse(body, {"content-type": "application/rss+xml; charset=utf-8"})
    assert feed.items[0].title == "Coëfficiënt van de naïeve opvangcapaciteit"


def test_more_than_200_items_keeps_the_newest() -> None:
    items = "".join(
        f"<item><title>Item {i}</title><link>https://x.nl/{i}</link>"
        f"<pubDate>{datetime(2026, 1, 1, tzinfo=UTC).replace(day=1 + i % 28, month=1 + i // 28 % 12).strftime('%a, %d %b %Y 10:00:00 +0000')}</pubDate></item>"
        for i in range(250)
    )
    feed = parse(f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode())
    assert len(feed.items) == 200
    assert any("newest 200" in w for w in feed.warnings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fri, 20 Nov 2026 13:00:00 +0100", datetime(2026, 11, 20, 12, 0, tzinfo=UTC)),
        ("Fri, 20 Nov 2026 13:00:00 GMT", datetime(2026, 11, 20, 13, 0, tzinfo=UTC)),
        ("Fri, 20 Nov 2026 13:00:00 CET", datetime(2026, 11, 20, 12, 0, tzinfo=UTC)),
        ("Wed, 01 Jul 2026 12:00:00 CEST", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
        ("2026-11-20T13:00:00+01:00", datetime(2026, 11, 20, 12, 0, tzinfo=UTC)),
        ("2026-11-20T12:00:00Z", datetime(2026, 11, 20, 12, 0, tzinfo=UTC)),
        ("2026-11-20 12:00:00", datetime(2026, 11, 20, 12, 0, tzinfo=UTC)),
        ("2024-13-45T99:99:99Z", None),
        ("Sat, 01 Jan 0001 00:00:00 +2400", None),
        ("0000-00-00 00:00:00", None),
        ("-62135596800", None),
        ("", None),
        (None, None),
    ],
)
def test_feed_dates_are_strict(text: str | None, expected: datetime | None) -> None:
    assert parse_feed_date(text) == expected


# ---------------------------------------------------------------- what real publishers write (#14)


def test_wordpress_feed_with_newline_before_prolog_categories_image_and_enclosure() -> None:
    feed = parse("wordpress.xml")
    assert feed.warnings == ()  # the newline before <?xml is not "not well-formed"
    assert feed.title == "Stichting Nieuwe Buren" and feed.lang == "nl"
    first, second = feed.items
    assert first.title == "Taalcafé in de bibliotheek gaat weer open"
    assert first.author == "Marieke de Vries"
    assert first.guid == "https://nieuweburen.example.nl/?p=4711"
    assert first.published == datetime(2026, 11, 19, 14, 2, 11, tzinfo=UTC)
    assert second.link == "https://nieuweburen.example.nl/2026/11/12/jaarverslag-2025/"


def test_dublin_core_title_and_language_are_used() -> None:
    feed = parse("government.xml")
    assert feed.title == "Ministerie van Wonen en Werk - Nieuwsberichten"
    assert feed.lang == "nl"
    dutch, english = feed.items
    assert dutch.lang == "nl" and english.lang == "en"
    assert dutch.published == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # +01:00
    assert english.published == datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # GMT+0100


def test_bom_and_whitespace_before_the_prolog() -> None:
    feed = parse("bom-whitespace.xml")
    assert feed.warnings == ()
    (item,) = feed.items
    assert item.title == "Advies over de opvangcapaciteit"
    assert item.published == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


ITEMS3 = (
    "<item><title>Een</title><link>https://x.example/1</link></item>"
    "<item><title>Twee</title><link>https://x.example/2</link></item>"
    "<item><title>Drie</title><link>https://x.example/3</link></item>"
)


@pytest.mark.parametrize(
    "tail",
    ["</channel></rss", "</channel>", "</channel>\n", "", "</channel></r"],
)
def test_a_body_cut_after_a_complete_item_keeps_every_item(tail: str) -> None:
    body = f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{ITEMS3}{tail}"
    feed = parse(body.encode())
    assert [i.title for i in feed.items] == ["Een", "Twee", "Drie"]
    assert any("not well-formed" in w for w in feed.warnings)


def test_a_body_cut_inside_an_item_drops_only_that_item() -> None:
    body = (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{ITEMS3}"
        "<item><title>Vier</title><link>https://x.exa"
    )
    feed = parse(body.encode())
    assert [i.title for i in feed.items] == ["Een", "Twee", "Drie"]
    assert any("cut off" in w for w in feed.warnings)


def test_atom_inside_an_xhtml_wrapper_is_read() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
        b"<head><title>Feed</title></head><body>"
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Binnen</title><id>urn:f</id>'
        b'<entry><title>Ingepakt bericht</title><link href="https://x.example/e"/><id>urn:e</id>'
        b"<updated>2026-11-20T10:00:00Z</updated></entry></feed></body></html>"
    )
    feed = parse(body)
    assert [(i.title, i.link) for i in feed.items] == [("Ingepakt bericht", "https://x.example/e")]


def test_a_plain_html_page_is_still_refused() -> None:
    with pytest.raises(ExtractError, match="HTML page"):
        parse(b"<!doctype html><html><body><p>Geen feed, een rss-link</p></body></html>")


def test_an_atom_document_using_item_gives_its_items() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<title>F</title><item><title>Item in Atom</title>"
        b'<link href="https://x.example/i"/><id>urn:i</id></item></feed>'
    )
    feed = parse(body)
    assert [(i.title, i.link) for i in feed.items] == [("Item in Atom", "https://x.example/i")]


def test_items_with_only_a_description_or_only_an_enclosure_are_kept() -> None:
    from feedwatch import parse_feed as public_parse_feed

    body = (
        b"<rss version='2.0'><channel><title>t</title>"
        b"<item><description>Alleen een beschrijving van dit bericht</description></item>"
        b"<item><enclosure url='https://x.example/podcast/7.mp3' type='audio/mpeg' length='9'/>"
        b"</item></channel></rss>"
    )
    raw = parse(body).items
    assert raw[0].summary == "Alleen een beschrijving van dit bericht"
    assert raw[1].link == "https://x.example/podcast/7.mp3"
    items = public_parse_feed(body, url="https://x.example/feed.xml", now=NOW)
    assert [(i.title, i.url) for i in items] == [
        ("Alleen een beschrijving van dit bericht", ""),
        ("https://x.example/podcast/7.mp3", "https://x.example/podcast/7.mp3"),
    ]


def test_json_feed_fields_that_are_not_strings_are_rejected() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": 12, "items": ['
        b'{"id": 1000, "title": 1000, "url": 1.2, "content_text": ["x"], '
        b'"date_published": 1700000000},'
        b'{"id": "b", "title": "Echt", "url": "https://x.example/b", "summary": {"x": 1},'
        b'"content_text": "tekst"}]}'
    )
    feed = parse(body)
    first, second = feed.items
    assert first.title is None and first.link is None and first.summary is None
    assert first.guid == "1000" and first.published is None
    assert feed.title is None
    assert (second.title, second.link, second.summary) == ("Echt", "https://x.example/b", "tekst")


@pytest.mark.parametrize("body", [b"</height<", b"<channel<item<link</item</link<"])
def test_feedparser_crashes_on_broken_markup_become_extract_errors(body: bytes) -> None:
    # minimised from fuzz/run.py findings: feedparser's loose parser raises TypeError/KeyError
    with pytest.raises(ExtractError, match="parser failed"):
        parse(body)
