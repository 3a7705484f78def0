"""The stable Python API: feedwatch.parse_feed, extract_listing, article_date, classify_text."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import feedwatch
from feedwatch.errors import ExtractError

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>Nieuwe opvanglocatie</title><link>https://example.org/a?utm_source=x</link>"
    b"<pubDate>Thu, 20 Nov 2026 10:00:00 +0100</pubDate></item></channel></rss>"
)


def test_parse_feed_gives_stored_items() -> None:
    [item] = feedwatch.parse_feed(RSS, url="https://example.org/feed", now=NOW)
    assert item.url == "https://example.org/a"
    assert item.title == "Nieuwe opvanglocatie"
    assert item.published == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert item.date_source == "feed"


def test_parse_feed_raises_only_feedwatch_errors() -> None:
    for body in (b"", b"<html><body>not a feed</body></html>", b"\x00\xff garbage"):
        with pytest.raises(ExtractError):
            feedwatch.parse_feed(body, url="https://example.org/feed", now=NOW)


def test_extract_listing_and_article_date() -> None:
    page = (
        b"<html><body><main><ul>"
        + b"".join(
            b'<li><a href="/nieuws/%d">Bericht %d over asiel</a> <time datetime="2026-11-%02d">'
            b"%d november 2026</time></li>" % (i, i, i, i)
            for i in range(1, 6)
        )
        + b"</ul></main></body></html>"
    )
    items = feedwatch.extract_listing(page, url="https://example.org/nieuws", now=NOW)
    assert [i.url for i in items][:2] == [
        "https://example.org/nieuws/1",
        "https://example.org/nieuws/2",
    ]
    article = (
        b'<html><head><meta property="article:published_time" content="2026-11-20T10:00:00+01:00">'
        b"</head><body><h1>Titel</h1><p>Tekst</p></body></html>"
    )
    assert feedwatch.article_date(article, url="https://example.org/a") == (
        datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        "page-meta",
    )


def test_classify_text_explains_what_it_assigns() -> None:
    scores = feedwatch.classify_text(
        "Asielzoekerscentrum in Ter Apel vol", "Het azc in Ter Apel zit vol, meldt het COA."
    )
    assert set(scores) == {"migratie", "integratie", "asielzoekerscentrum", "veiligelanders"}
    assert scores["asielzoekerscentrum"].assigned
    for s in scores.values():
        assert not s.assigned or s.terms, f"{s.topic} assigned without an explanation"


# ---------------------------------------------------------------- whatever the bytes (#12)


FEEDISH = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda cut, junk, enc: (
            b'<?xml version="1.0" encoding="' + enc + b'"?>' + RSS[39:cut] + junk
        ),
        st.integers(min_value=0, max_value=len(RSS)),
        st.binary(max_size=40),
        st.sampled_from([b"utf-8", b"euc_kr", b"x-nothing", b"utf-16", b"macintosh", b"\xff"]),
    ),
    st.builds(
        lambda s: ('{"version": "https://jsonfeed.org/version/1.1", "items": ' + s + "}").encode(),
        st.sampled_from(["[1, 2]", "{}", '[{"title": 5, "url": [1]}]', '"x"', "null"]),
    ),
)


@settings(max_examples=150, deadline=None)
@given(FEEDISH)
def test_parse_feed_raises_nothing_but_extract_error(body: bytes) -> None:
    try:
        items = feedwatch.parse_feed(body, url="https://example.org/feed", now=NOW)
    except ExtractError:
        return
    assert all(i.published is None or i.published.tzinfo is not None for i in items)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["utf-8", "euc_kr", "iso-2022-jp", "x-bad"]))
def test_listing_and_article_date_raise_nothing_but_extract_error(body: bytes, codec: str) -> None:
    page = b"<meta charset='" + codec.encode() + b"'>" + body
    with contextlib.suppress(ExtractError):
        feedwatch.extract_listing(page, url="https://example.org/n", now=NOW)
    value, source = feedwatch.article_date(page, url="https://example.org/a")
    assert (value is None) == (source is None)
