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
