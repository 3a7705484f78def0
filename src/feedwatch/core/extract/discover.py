"""Feed discovery on HTML pages and sniffing what a response body is; pure (no I/O).

``discover_feeds`` reads ``<link rel="alternate">`` (RSS, Atom, JSON Feed) and obvious
``<a href>`` links to feeds; ``COMMON_FEED_PATHS`` lists paths a caller may probe when the page
names none; ``sniff_kind`` tells a feed from a page by Content-Type and the first bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from feedwatch.core.extract.page import absolute_url, parse_page, text_of

__all__ = [
    "COMMON_FEED_PATHS",
    "DiscoveredFeed",
    "FeedKind",
    "common_feed_urls",
    "discover_feeds",
    "sniff_kind",
]

FeedKind = Literal["rss", "atom", "json"]

# Paths that commonly serve a site's main feed, most likely first (WordPress, Drupal, Hugo,
# Jekyll, Ghost, generic). A caller probes them in order when a page declares no feed.
COMMON_FEED_PATHS: tuple[str, ...] = (
    "/feed/",
    "/rss",
    "/rss.xml",
    "/feed.xml",
    "/atom.xml",
    "/index.xml",
    "/feed",
    "/rss/",
    "/nieuws/feed/",
    "/nieuws/rss",
    "/feed.json",
    "/index.rss",
)

_TYPES: dict[str, FeedKind] = {
    "application/rss+xml": "rss",
    "application/rdf+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/json": "json",
}
_FEED_HREF = re.compile(
    r"(?:/feed/?$|/rss/?$|/atom/?$|\.rss$|/rss\.xml$|/atom\.xml$|/feed\.xml$|/index\.xml$"
    r"|/feed\.json$|[/?&](?:format|type)=(?:rss|atom)\b|/rss-feeds?/)",
    re.IGNORECASE,
)
_COMMENTS = re.compile(r"/comments/feed|reacties|comments", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DiscoveredFeed:
    """A feed a page points to: absolute URL, kind and the title the page gives it."""

    url: str
    kind: FeedKind
    title: str | None = None


def _kind_from_href(url: str) -> FeedKind:
    path = urlsplit(url).path.lower()
    query = urlsplit(url).query.lower()
    if "atom" in path or "atom" in query:
        return "atom"
    if path.endswith(".json"):
        return "json"
    return "rss"


def discover_feeds(body: bytes, url: str) -> list[DiscoveredFeed]:
    """Feeds a page declares (``<link rel=alternate>``) then links to; comment feeds last."""
    page = parse_page(body, url)
    if page is None:
        return []
    found: list[DiscoveredFeed] = []
    seen: set[str] = set()

    def add(href: str | None, kind: FeedKind, title: str | None) -> None:
        absolute = absolute_url(href or "", page.base)
        if absolute is None or absolute in seen:
            return
        seen.add(absolute)
        found.append(DiscoveredFeed(absolute, kind, " ".join((title or "").split()) or None))

    for link in page.root.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        mime = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rels or mime not in _TYPES:
            continue
        if mime == "application/json" and "feed" not in (link.get("title") or "").lower():
            continue  # plain JSON alternates are usually APIs (WordPress /wp-json/)
        add(link.get("href"), _TYPES[mime], link.get("title"))
    for a in page.root.iter("a"):
        href = (a.get("href") or "").strip()
        if not href:
            continue
        mime = (a.get("type") or "").split(";")[0].strip().lower()
        label = text_of(a)
        path = urlsplit(href).path + ("?" + urlsplit(href).query if urlsplit(href).query else "")
        if mime in _TYPES and mime != "application/json":
            add(href, _TYPES[mime], label)
        elif _FEED_HREF.search(path) or re.fullmatch(r"(?i)(rss|atom|rss[- ]feed|feed)", label):
            add(href, _kind_from_href(href), label)
    main = [f for f in found if not _COMMENTS.search(f"{f.url} {f.title or ''}")]
    comments = [f for f in found if f not in main]
    return main + comments


def common_feed_urls(url: str) -> list[str]:
    """COMMON_FEED_PATHS resolved against the site root of ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return []
    return [urlunsplit((parts.scheme, parts.netloc, p, "", "")) for p in COMMON_FEED_PATHS]


def sniff_kind(
    body: bytes, content_type: str | None
) -> Literal["rss", "atom", "json", "html"] | None:
    """What a response is: "rss", "atom", "json" (JSON Feed), "html", or None when unknown.

    The body decides when it is clear (servers label feeds text/html or text/plain); the
    Content-Type decides otherwise.
    """
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"):
        try:
            head = body[:4096].decode("utf-16").encode("utf-8").lstrip().lower()
        except UnicodeDecodeError:
            head = b""
    # Skip an XML declaration, comments and processing instructions before the root element.
    probe = re.sub(
        rb"^(?:\s*<\?[^>]*\?>|\s*<!--.*?-->|\s*<!doctype[^>]*>)*\s*", b"", head, flags=re.S
    )
    if probe.startswith(b"<rss") or probe.startswith(b"<rdf:rdf"):
        return "rss"
    if probe.startswith(b"<feed"):
        return "atom"
    if head.startswith(b"{") and b"jsonfeed.org/version" in body[:4096].lower():
        return "json"
    if probe.startswith(b"<html") or head.startswith(b"<!doctype html") or b"<body" in head:
        return "html"
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in ("application/rss+xml", "application/rdf+xml"):
        return "rss"
    if mime == "application/atom+xml":
        return "atom"
    if mime == "application/feed+json":
        return "json"
    if mime in ("text/html", "application/xhtml+xml"):
        return "html"
    return None
