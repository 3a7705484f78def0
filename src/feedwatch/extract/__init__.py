"""Extraction: response bytes -> RawItems, dispatched on the kind of source. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from feedwatch.errors import ExtractError
from feedwatch.extract.feeds import parse_feed
from feedwatch.types import FetchResult, RawItem, Source

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


def extract(source: Source, result: FetchResult, now: datetime) -> Extracted:
    """Read the items of one successful response. Raises ExtractError."""
    url = result.final_url or result.url
    content_type = result.headers.get("content-type", "")
    kind = source.kind
    if kind == "auto":
        kind = "rss" if looks_like_feed(result.body, content_type) else "html"
    if kind in FEED_KINDS:
        parsed = parse_feed(source.key, result.body, result.headers, url, now)
        return Extracted(parsed.items, parsed.warnings)
    if kind == "html":
        from feedwatch.extract.html import extract_listing

        if not result.body.strip():
            raise ExtractError(source.key, "empty response (200 with no body)")
        found = extract_listing(
            result.body, url, selectors=source.selectors, now=now, headers=result.headers
        )
        if not found:
            raise ExtractError(source.key, "no items found on the page")
        return Extracted(tuple(found))
    raise ExtractError(source.key, f"sources of kind {kind!r} are not supported yet")
