"""Extraction: response bytes -> RawItems, dispatched on the kind of source. Pure, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from feedwatch.core.extract.feeds import parse_feed
from feedwatch.errors import ExtractError
from feedwatch.types import FetchResult, RawItem, Source, SourceKind

FEED_KINDS = frozenset({"rss", "atom", "json"})


@dataclass(frozen=True, slots=True)
class Extracted:
    items: tuple[RawItem, ...]
    warnings: tuple[str, ...] = ()


def looks_like_feed(body: bytes, content_type: str) -> bool:
    head = body[:2048].lstrip().lower()
    ctype = content_type.lower()
    if any(t in ctype for t in ("rss", "atom", "feed+json", "rdf")):
        return True
    if head.startswith(b"{"):
        return b"jsonfeed.org" in body[:4096]
    return head.startswith(b"<?xml") and not (b"<html" in head or b"<!doctype html" in head)


_SITEMAP_ROOT = re.compile(
    rb"^(?:\s*<\?[^>]*\?>|\s*<!--.*?-->)*\s*<(?:\w+:)?(?:urlset|sitemapindex)\b", re.S
)


def looks_like_sitemap(body: bytes) -> bool:
    """An XML sitemap or sitemap index (by its root element)."""
    return _SITEMAP_ROOT.match(body[:4096]) is not None


def resolve_kind(source: Source, result: FetchResult) -> SourceKind:
    """The kind a response is read as: the configured one, or for `auto` what the body is."""
    if source.kind != "auto":
        return source.kind
    from feedwatch.core.extract.discover import sniff_kind

    if looks_like_sitemap(result.body):
        return "sitemap"
    sniffed = sniff_kind(result.body, result.headers.get("content-type"))
    if sniffed is None:
        content_type = result.headers.get("content-type", "")
        return "rss" if looks_like_feed(result.body, content_type) else "html"
    return sniffed


def extract(source: Source, result: FetchResult, now: datetime) -> Extracted:
    """Read the items of one successful response. Raises ExtractError.

    A sitemap gives every page URL it lists, newest first (the caller bounds how many new ones
    it takes); a sitemap index gives no items (the caller reads its child sitemaps).
    """
    url = result.final_url or result.url
    kind = resolve_kind(source, result)
    if kind == "sitemap":
        from feedwatch.core.extract.sitemap import parse_sitemap, sitemap_items

        try:
            smap = parse_sitemap(result.body, now=now)
        except ValueError as exc:
            raise ExtractError(source.key, f"not a usable sitemap: {exc}") from None
        if smap.kind == "index":
            return Extracted((), ())
        return Extracted(tuple(sitemap_items(list(smap.entries), len(smap.entries))))
    if kind in FEED_KINDS:
        parsed = parse_feed(source.key, result.body, result.headers, url, now)
        return Extracted(parsed.items, parsed.warnings)
    if kind == "html":
        from feedwatch.core.extract.listing import extract_listing

        if not result.body.strip():
            raise ExtractError(source.key, "empty response (200 with no body)")
        found = extract_listing(
            result.body, url, selectors=source.selectors, now=now, headers=result.headers
        )
        if not found:
            raise ExtractError(source.key, "no items found on the page")
        return Extracted(tuple(found))
    raise ExtractError(source.key, f"sources of kind {kind!r} are not supported yet")
