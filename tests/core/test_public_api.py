"""The stable Python API: feedwatch.parse_feed, extract_listing, article_date, classify_text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

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
