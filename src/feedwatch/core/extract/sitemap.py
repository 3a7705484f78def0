"""XML sitemaps -> page URLs with dates: sitemap index, urlset with lastmod, Google News; pure.

No I/O. lxml parses with entity resolution, DTD loading and network access switched off (an
entity reference stays an unexpanded reference, so "billion laughs" and external entities do
nothing). A gzip body (``sitemap.xml.gz`` served without Content-Encoding) is inflated with a
cap. ``<lastmod>`` is the last modification of a page, not its publication: it orders and
bounds the URLs but is never stored as a publication date; ``news:publication_date`` is.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from feedwatch.core.extract.dates import parse_iso_datetime
from feedwatch.core.extract.encoding import xml_encoding
from feedwatch.core.extract.xmlsafe import etree, safe_xml_parser
from feedwatch.types import RawItem

__all__ = ["Sitemap", "SitemapEntry", "newest_first", "parse_sitemap", "sitemap_items"]

MAX_INFLATED = 50 * 1024 * 1024  # the sitemaps.org limit for one (uncompressed) file
MAX_URLS = 50_000  # the sitemaps.org limit of URLs per file


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    """One <url> (or one <sitemap> of an index): location, dates, and a Google News title."""

    url: str
    lastmod: datetime | None = None
    published: datetime | None = None  # news:publication_date
    title: str | None = None  # news:title
    lang: str | None = None  # news:language


@dataclass(frozen=True, slots=True)
class Sitemap:
    """A parsed sitemap: an index of child sitemaps or a set of page URLs."""

    kind: Literal["index", "urlset"]
    entries: tuple[SitemapEntry, ...]


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _inflate(body: bytes) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, MAX_INFLATED + 1)
    except zlib.error as exc:
        raise ValueError(f"corrupt gzip sitemap: {exc}") from exc
    if len(out) > MAX_INFLATED:
        raise ValueError("gzip sitemap is over 50 MiB once inflated")
    return out


def _text(el: Any) -> str:
    # text() nodes only: an unexpanded entity reference is not text and is left out
    return " ".join("".join(el.xpath(".//text()")).split()) if el is not None else ""


def _child(el: Any, name: str) -> Any:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def parse_sitemap(body: bytes, *, now: datetime) -> Sitemap:
    """Read a sitemap or sitemap index. Raises ValueError when it is neither."""
    if body[:2] == b"\x1f\x8b":
        body = _inflate(body)
    if not body.strip():
        raise ValueError("empty sitemap")
    try:
        root = etree.fromstring(body, safe_xml_parser(encoding=xml_encoding(body)))
    except (etree.XMLSyntaxError, LookupError, ValueError) as exc:  # an unknown codec name
        raise ValueError(f"not well-formed XML: {str(exc)[:200]}") from None
    if root is None:
        raise ValueError("not well-formed XML: no root element")
    kind = _local(root.tag)
    if kind not in ("sitemapindex", "urlset"):
        raise ValueError(f"not a sitemap: the root element is <{kind or '?'}>")
    member = "sitemap" if kind == "sitemapindex" else "url"
    entries: list[SitemapEntry] = []
    seen: set[str] = set()
    for el in root:
        if _local(el.tag) != member:
            continue
        loc = _text(_child(el, "loc"))
        if not _http(loc) or loc in seen:
            continue
        seen.add(loc)
        raw_mod = _text(_child(el, "lastmod"))
        lastmod = parse_iso_datetime(raw_mod, now=now) if raw_mod else None
        published = title = lang = None
        news = _child(el, "news")
        if news is not None:
            raw_pub = _text(_child(news, "publication_date"))
            published = parse_iso_datetime(raw_pub, now=now) if raw_pub else None
            title = _text(_child(news, "title")) or None
            pub = _child(news, "publication")
            lang = _text(_child(pub, "language")) or None if pub is not None else None
        entries.append(SitemapEntry(loc, lastmod, published, title, lang))
        if len(entries) >= MAX_URLS:
            break
    return Sitemap("index" if kind == "sitemapindex" else "urlset", tuple(entries))


def newest_first(entries: tuple[SitemapEntry, ...] | list[SitemapEntry]) -> list[SitemapEntry]:
    """Entries by news date or lastmod, newest first; undated ones after, in file order."""
    dated: list[tuple[datetime, SitemapEntry]] = []
    undated: list[SitemapEntry] = []
    for e in entries:
        when = e.published or e.lastmod
        if when is None:
            undated.append(e)
        else:
            dated.append((when, e))
    dated.sort(key=lambda pair: pair[0], reverse=True)
    return [e for _w, e in dated] + undated


def sitemap_items(entries: list[SitemapEntry], limit: int) -> list[RawItem]:
    """At most `limit` items, newest first. A news:publication_date is the item's date
    (provenance "feed": the site's own machine-readable metadata); lastmod never is."""
    out: list[RawItem] = []
    for e in newest_first(entries)[:limit]:
        out.append(
            RawItem(
                title=e.title,
                link=e.url,
                published=e.published,
                date_source="feed" if e.published is not None else None,
                lang=e.lang,
            )
        )
    return out
