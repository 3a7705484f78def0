"""Feed bytes -> RawItems: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed directly.

Pure: never fetches anything. feedparser is always handed a BytesIO (a bare bytes or str body
is treated as a file name or URL by feedparser 6), with DOCTYPE internal subsets removed first
(entity-expansion bombs), and with its own HTML sanitising off: summaries become plain text in
normalise() and anything rendered later is escaped or re-sanitised there.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from feedwatch.core.extract import dates, fastfeed
from feedwatch.errors import ExtractError
from feedwatch.types import RawItem

MAX_ITEMS = 200

# Exceptions after which feedparser's result is still whole (lemon24/reader does the same).
_SURVIVABLE = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.S | re.I)
_DOCTYPE_ANY = re.compile(rb"<!DOCTYPE[^>]*>", re.I)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
# A feed root element inside something else (an Atom feed in an XHTML wrapper).
_FEED_ROOT = re.compile(
    rb"<(?:[\w.-]+:)?(?:feed\b[^>]*http://www\.w3\.org/2005/Atom|rss\b[^>]*version\s*=|RDF\b)",
    re.I,
)
_ENTRY_START = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>/]", re.I)
_ENTRY_END = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.I)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    items: tuple[RawItem, ...]
    warnings: tuple[str, ...] = ()
    title: str | None = None
    lang: str | None = None


def parse_feed(
    key: str, body: bytes, headers: Mapping[str, str], url: str, now: datetime
) -> ParsedFeed:
    """Parse a feed body. Raises ExtractError when it is not a usable feed."""
    stripped = body.lstrip()
    if not stripped:
        raise ExtractError(key, "empty response (200 with no body)")
    if stripped[:1] in (b"{", b"["):
        return parse_json_feed(key, body, now)
    if _HTML_START.match(body[:4096]) and not _FEED_ROOT.search(body[:65536]):
        raise ExtractError(key, "got an HTML page where a feed was expected")
    return _parse_xml_feed(key, _trim_prolog(body), headers, url, now)


def _trim_prolog(body: bytes) -> bytes:
    """Drop a UTF-8 BOM and whitespace before the first "<" (an XML declaration must be first;
    PHP and template systems often put a newline before it)."""
    start = body[3:] if body.startswith(b"\xef\xbb\xbf") else body
    trimmed = start.lstrip(b" \t\r\n")
    return trimmed if trimmed.startswith(b"<") else body


def _safe_xml(body: bytes) -> bytes:
    """Remove DOCTYPE internal subsets (entity declarations) before any parser sees them."""
    head = body[:65536]
    if b"<!" not in head:
        return body
    if _DOCTYPE_SUBSET.search(head) or _ENTITY_DECL.search(head):
        body = _DOCTYPE_SUBSET.sub(b"", body, count=1)
        body = _DOCTYPE_ANY.sub(b"", body, count=1)
        if _ENTITY_DECL.search(body[:65536]):
            # A declaration outside a well-formed DOCTYPE: nothing legitimate looks like that.
            raise ValueError("entity declarations outside a DOCTYPE")
    return body


def _parse_xml_feed(
    key: str, body: bytes, headers: Mapping[str, str], url: str, now: datetime
) -> ParsedFeed:
    try:
        safe = _safe_xml(body)
    except ValueError as exc:
        raise ExtractError(key, f"refused XML: {exc}") from None
    response_headers = {k.lower(): v for k, v in headers.items()}
    response_headers.setdefault("content-location", url)
    # The common case (plain RSS 2.0 / Atom 1.0 in UTF-8) through lxml, ~8x faster; feedparser
    # reads everything else (tests/core/test_fastparse.py: both give the same items).
    parsed: Mapping[str, Any] | None = fastfeed.parse_common(safe, response_headers, url)
    if parsed is None:
        try:
            parsed = feedparser.parse(
                io.BytesIO(safe),
                response_headers=response_headers,
                sanitize_html=False,
                resolve_relative_uris=False,
            )
        except UnicodeError as exc:  # feedparser 6.0.14 on &#xD800; or a non-ASCII encoding name
            raise ExtractError(key, f"not a valid feed: {_bozo_words(exc)}") from None
        except (TypeError, KeyError, AttributeError, IndexError, ValueError) as exc:
            # feedparser's loose parser on broken markup (an <image><width/> without a value,
            # an end tag it has no context for): found by fuzz/run.py; the body is not usable
            raise ExtractError(
                key, f"not a valid feed: the parser failed ({type(exc).__name__})"
            ) from None
    entries = parsed.get("entries") or []
    version = parsed.get("version")
    warnings: list[str] = []
    if parsed.get("bozo"):
        bozo = parsed.get("bozo_exception")
        if not isinstance(bozo, _SURVIVABLE):
            reason = _bozo_words(bozo)
            if not entries:
                raise ExtractError(key, f"not a valid feed: {reason}")
            if _last_entry_cut_off(body):  # never store half an item; keep the whole ones
                entries = entries[:-1]
                if not entries:
                    raise ExtractError(key, f"not a valid feed: {reason}; the body is cut off")
                reason += "; the body is cut off, dropped its last entry"
            warnings.append(f"feed is not well-formed ({reason}); kept {len(entries)} entries")
    if not version and not entries:
        raise ExtractError(key, "not a feed (no RSS, Atom or JSON Feed found in the response)")

    feed = parsed.get("feed") or {}
    feed_lang = _lang(feed.get("language"))
    items: list[RawItem] = []
    broken = 0
    for entry in entries:
        try:
            items.append(_entry_item(entry, feed_lang, now))
        except (KeyError, TypeError, ValueError, AttributeError):
            broken += 1
    if entries and not items:
        raise ExtractError(key, f"none of the {len(entries)} entries could be read")
    if broken:
        warnings.append(f"skipped {broken} unreadable entries")
    if len(items) > MAX_ITEMS:
        warnings.append(f"kept the newest {MAX_ITEMS} of {len(items)} entries")
        items = _newest(items, MAX_ITEMS)
    title = feed.get("title")
    return ParsedFeed(
        items=tuple(items),
        warnings=tuple(warnings),
        title=str(title) if title else None,
        lang=feed_lang,
    )


def _last_entry_cut_off(body: bytes) -> bool:
    """True when the last <item>/<entry> that starts has no end tag (the body stops inside it).

    A body that stops after a complete item (``</channel>`` without ``</rss>``, or ``</rss``
    without ``>``) keeps every item; only an item cut in half is dropped.
    """
    last_end = max((m.end() for m in _ENTRY_START.finditer(body)), default=None)
    if last_end is None:
        return False
    return _ENTRY_END.search(body, last_end) is None


def _bozo_words(exc: object) -> str:
    text = str(exc) or type(exc).__name__
    text = text.replace("\n", " ").strip()
    return text[:200]


def _entry_item(entry: Mapping[str, Any], feed_lang: str | None, now: datetime) -> RawItem:
    link = entry.get("link")
    if not link:
        for rel in ("alternate", "enclosure"):  # an item with only an enclosure: its URL
            link = next(
                (
                    c["href"]
                    for c in entry.get("links") or []
                    if c.get("rel", "alternate") == rel and c.get("href")
                ),
                None,
            )
            if link:
                break
    summary = entry.get("summary")
    if not summary:
        content = entry.get("content") or []
        if content:
            summary = content[0].get("value")
    published = parse_feed_date(entry.get("published"), now)
    updated = parse_feed_date(entry.get("updated"), now)
    if published is None:
        published = parse_feed_date(entry.get("created"), now)
    lang = (
        _lang(entry.get("language"))  # dc:language of the item
        or _lang((entry.get("title_detail") or {}).get("language"))
        or feed_lang
    )
    return RawItem(
        title=_str(entry.get("title")),
        link=_str(link),
        guid=_str(entry.get("id")),
        summary=_str(summary),
        published=published,
        updated=updated,
        date_source="feed" if (published or updated) else None,
        author=_str(entry.get("author")),
        lang=lang,
    )


def _str(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _lang(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower().replace("_", "-").split("-")[0] or None


def _newest(items: list[RawItem], n: int) -> list[RawItem]:
    floor = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(items, key=lambda i: i.published or i.updated or floor, reverse=True)
    return ordered[:n]


def parse_feed_date(value: object, now: datetime | None = None) -> datetime | None:
    """A feed date string -> aware UTC, or None (rules: ``dates.parse_feed_date``).

    ``now`` is accepted for callers of the old signature; the rules do not depend on it
    (plausibility against the fetch time is normalise's job).
    """
    return dates.parse_feed_date(value)


def parse_json_feed(key: str, body: bytes, now: datetime | None = None) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ExtractError(key, f"not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise ExtractError(key, "JSON without a JSON Feed 'version' (not a JSON Feed)")
    raw_items = data.get("items")
    if not isinstance(raw_items, list):
        raise ExtractError(key, "JSON Feed without an 'items' list")
    feed_lang = _lang(data.get("language"))
    items: list[RawItem] = []
    broken = 0
    for entry in raw_items:
        if not isinstance(entry, dict):
            broken += 1
            continue
        published = parse_feed_date(entry.get("date_published"), now)
        updated = parse_feed_date(entry.get("date_modified"), now)
        authors = entry.get("authors") or ([entry["author"]] if entry.get("author") else [])
        author = None
        if isinstance(authors, list) and authors and isinstance(authors[0], dict):
            author = _jstr(authors[0].get("name"))
        summary = (
            _jstr(entry.get("summary"))
            or _jstr(entry.get("content_text"))
            or _jstr(entry.get("content_html"))
        )
        items.append(
            RawItem(
                title=_jstr(entry.get("title")),
                link=_jstr(entry.get("url")) or _jstr(entry.get("external_url")),
                guid=_json_id(entry.get("id")),
                summary=summary,
                published=published,
                updated=updated,
                date_source="feed" if (published or updated) else None,
                author=author,
                lang=_lang(entry.get("language")) or feed_lang,
            )
        )
    warnings: list[str] = []
    if broken:
        warnings.append(f"skipped {broken} unreadable entries")
    if raw_items and not items:
        raise ExtractError(key, f"none of the {len(raw_items)} entries could be read")
    if len(items) > MAX_ITEMS:
        warnings.append(f"kept the newest {MAX_ITEMS} of {len(items)} entries")
        items = _newest(items, MAX_ITEMS)
    return ParsedFeed(
        items=tuple(items), warnings=tuple(warnings), title=_jstr(data.get("title")), lang=feed_lang
    )


def _jstr(value: object) -> str | None:
    """A JSON Feed text field: strings only (a number is not a title, nor a link)."""
    return value if isinstance(value, str) and value.strip() else None


def _json_id(value: object) -> str | None:
    """A JSON Feed id: a string, or a number coerced to one (JSON Feed 1.1 says readers must)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return _jstr(value)
