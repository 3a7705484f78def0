"""Pure normalisation: canonical URLs, identity, plain text, dates with provenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedwatch.core.normalise import (
    canonical_url,
    check_date,
    content_hash,
    item_id,
    normalise,
    plain_text,
)
from feedwatch.types import RawItem

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.ORG/Nieuws", "https://www.example.org/Nieuws"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("http://example.org:8080/a", "http://example.org:8080/a"),
        ("https://example.org/a#reactie-3", "https://example.org/a"),
        ("https://example.org/a?utm_source=rss&utm_medium=feed", "https://example.org/a"),
        ("https://example.org/a?id=5&utm_campaign=x&fbclid=abc", "https://example.org/a?id=5"),
        ("https://example.org/a?b=2&a=1", "https://example.org/a?b=2&a=1"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org/caf%c3%a9", "https://example.org/caf%C3%A9"),
        ("https://example.org/café", "https://example.org/caf%C3%A9"),
        ("https://example.org/a%20b", "https://example.org/a%20b"),
        ("  https://example.org/x  ", "https://example.org/x"),
        ("https://ExAmple.org./x", "https://example.org/x"),
        ("https://[2001:DB8::1]:8443/x", "https://[2001:db8::1]:8443/x"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_resolves_relative_links() -> None:
    assert (
        canonical_url("../nieuws/2026/item?utm_source=x", "https://coa.nl/nl/actueel/lijst")
        == "https://coa.nl/nl/nieuws/2026/item"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,x",
        "mailto:a@b.nl",
        "ftp://x.org/",
        "/relative",
    ],
)
def test_canonical_url_refuses_other_schemes(url: str) -> None:
    with pytest.raises(ValueError):
        canonical_url(url)


@given(
    st.builds(
        lambda host, path, q, frag: f"https://{host}/{path}?{q}#{frag}",
        st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}\.(nl|org|EU)", fullmatch=True),
        st.text(min_size=0, max_size=30),
        st.text(min_size=0, max_size=30),
        st.text(min_size=0, max_size=10),
    )
)
def test_canonical_url_is_idempotent(url: str) -> None:
    try:
        once = canonical_url(url)
    except ValueError:
        return
    assert canonical_url(once) == once
    assert "#" not in once and "utm_" not in once.lower().split("?", 1)[-1].split("=")[0]


def test_plain_text() -> None:
    assert (
        plain_text("  Asiel&shy;zoekers &amp; <b>opvang</b>\n\n in  Ter Apel ")
        == "Asiel\xadzoekers & opvang in Ter Apel"
    )
    assert plain_text("<p>Eén</p><p>Twee</p>") == "Eén Twee"
    assert plain_text("<script>alert(1)</script>Tekst<style>p{}</style>") == "Tekst"
    assert plain_text("Titel met\r\nCR/LF en\x00 NUL") == "Titel met CR/LF en NUL"
    assert (
        plain_text("&lt;script&gt;") == "<script>"
    )  # decoded to text; escaping is the renderer's job
    assert plain_text(None) == ""
    long = plain_text("woord " * 100, limit=50)
    assert len(long) <= 51 and long.endswith("…")


def test_check_date() -> None:
    assert check_date(datetime(2026, 11, 1, tzinfo=UTC), NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    assert check_date(datetime(1990, 1, 1, tzinfo=UTC), NOW) is None
    assert check_date(NOW + timedelta(days=2), NOW) is None
    assert check_date(NOW + timedelta(hours=12), NOW) is not None
    assert check_date(datetime(2026, 11, 1), NOW) is None  # naive: refused


def test_identity_prefers_guid_then_url_then_title_and_date() -> None:
    a = item_id("s", "guid-1", "https://x.org/a", "T", None)
    assert a == item_id("s", "guid-1", "https://x.org/other", "Other", NOW)
    assert a != item_id("other-source", "guid-1", "https://x.org/a", "T", None)
    b = item_id("s", None, "https://x.org/a", "T", None)
    assert b == item_id("s", None, "https://x.org/a", "Changed title", NOW)
    c = item_id("s", None, None, "T", NOW)
    assert c != item_id("s", None, None, "T", NOW + timedelta(days=1))
    assert len({a, b, c}) == 3


def test_content_hash_ignores_nothing_that_matters() -> None:
    h = content_hash("T", "S", "https://x.org/")
    assert h == content_hash("T", "S", "https://x.org/")
    assert h != content_hash("T2", "S", "https://x.org/")
    assert content_hash("ab", "c", "u") != content_hash("a", "bc", "u")


def test_normalise_item() -> None:
    raw = RawItem(
        title="  Kabinet &amp; <i>asiel</i> ",
        link="/nieuws/1?utm_source=rss#top",
        guid="urn:x:1",
        summary="<p>Eerste <b>zin</b>.</p>",
        published=datetime(2026, 11, 20, 13, 0, tzinfo=UTC),
        date_source="feed",
        author="Redactie\r\nBcc: x@y.nl",
        lang="nl-NL",
    )
    item = normalise("src", raw, NOW, base_url="https://example.org/feed.xml")
    assert item is not None
    assert item.title == "Kabinet & asiel"
    assert item.url == "https://example.org/nieuws/1"
    assert item.summary == "Eerste zin."
    assert item.published == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    assert item.date_source == "feed"
    assert item.author == "Redactie Bcc: x@y.nl"
    assert item.lang == "nl"
    assert item.first_seen == NOW


def test_normalise_without_date_uses_first_seen() -> None:
    item = normalise("src", RawItem(title="T", link="https://x.org/a"), NOW)
    assert item is not None and item.published is None and item.date_source == "first-seen"


def test_normalise_future_date_is_not_kept() -> None:
    raw = RawItem(
        title="T", link="https://x.org/a", published=NOW + timedelta(days=400), date_source="feed"
    )
    item = normalise("src", raw, NOW)
    assert item is not None and item.published is None and item.date_source == "first-seen"


def test_normalise_drops_unsafe_links_and_empty_items() -> None:
    item = normalise("src", RawItem(title="Klik", link="javascript:alert(1)"), NOW)
    assert item is not None and item.url == ""
    assert normalise("src", RawItem(title=None, link=None, summary=None), NOW) is None
    assert normalise("src", RawItem(title="  ", link="data:x"), NOW) is None


@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=100))
def test_normalise_never_raises(title: str, summary: str, link: str) -> None:
    item = normalise("s", RawItem(title=title, link=link, summary=summary), NOW)
    if item is not None:
        assert "\n" not in item.title and "\r" not in item.title
        assert item.url == "" or item.url.startswith(("http://", "https://"))
