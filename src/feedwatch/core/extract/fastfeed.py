"""The common case of feed parsing, fast: plain RSS 2.0 and Atom 1.0 read with lxml. Pure.

`parse_common()` returns what feeds.parse_feed reads of feedparser's result (a dict with
"version", "feed", "entries" and "bozo", entries shaped like feedparser's), or None whenever the
feed steps outside the common case; the caller then hands the same bytes to feedparser, which
stays the parser of everything unusual: bozo (not well-formed) feeds, other encodings, DOCTYPEs,
xml:base, xhtml content, RSS 1.0/0.9x and Atom 0.3, unknown elements inside an item, markup
inside a title, duplicate fields. tests/core/test_fastparse.py checks that both paths agree.

What real publishers add is read or skipped here, not handed over: categories (any number:
every WordPress feed), a channel <image>, <textInput>, Dublin Core (dc:creator, dc:date,
dc:title, dc:language, dc:subject), enclosures (kept as links, as feedparser does), Media RSS
elements that carry no title or description, and the WordPress/Drupal extension namespaces
(wfw, slash, sy, feedburner, georss) that feedparser keeps under names feeds.py never reads.

Safety: lxml is given bytes (never a file name or URL), no network, no DTD, no entity
expansion; a document with any DOCTYPE is refused here (feedparser's path strips them first).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from feedwatch.core.extract.xmlsafe import etree, safe_xml_parser

__all__ = ["parse_common"]

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC = "{http://purl.org/dc/elements/1.1/}"
MEDIA = "{http://search.yahoo.com/mrss/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

_DECL_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
_UTF8 = frozenset({"utf-8", "utf8"})
# feedparser maps U+0080-U+009F to windows-1252 characters; such text is left to it.
_C1 = re.compile("[\x80-\x9f]")
_URI_FIX = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)(/*)(.*?)")
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TYPE_ALIASES = {"text": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}

# Children of an RSS <item> / Atom <entry> that do not change what feeds.py reads.
_RSS_IGNORED = frozenset(
    {"category", "comments"}
    | {DC + t for t in ("subject", "rights", "publisher", "format", "type", "identifier",
                        "coverage", "relation")}
)  # fmt: skip
_ATOM_IGNORED = frozenset({ATOM + "category", ATOM + "rights"})
# Extension namespaces whose elements feedparser keeps under keys feeds.py does not read.
_IGNORED_NS = (
    "{http://wellformedweb.org/CommentAPI/}",
    "{http://purl.org/rss/1.0/modules/slash/}",
    "{http://purl.org/rss/1.0/modules/syndication/}",
    "{http://rssnamespace.org/feedburner/ext/1.0}",
    "{http://www.georss.org/georss}",
    "{http://www.w3.org/2003/01/geo/wgs84_pos#}",
    "{com-wordpress:feed-additions:1}",
    "{http://purl.org/syndication/thread/1.0}",
)
# Media RSS elements that feedparser reads into an item's title or summary.
_MEDIA_TEXT = frozenset({MEDIA + "title", MEDIA + "description", MEDIA + "text"})
# Children of an Atom <feed> besides entries and the title: nothing feeds.py reads.
_ATOM_FEED_IGNORED = frozenset(
    ATOM + t
    for t in ("link", "id", "updated", "author", "contributor", "generator", "icon", "logo",
              "rights", "subtitle", "category")
)  # fmt: skip


class _Unusual(Exception):
    """Internal: the feed is not the common case; feedparser reads it."""


def parse_common(body: bytes, headers: Mapping[str, str], url: str) -> dict[str, Any] | None:
    """A feedparser-shaped result for a plain RSS 2.0 / Atom 1.0 feed in UTF-8, else None.

    `headers` are the response headers with lower-case names; `url` is the base for relative
    links and ids, as feedparser resolves them (its content-location).
    """
    if not _plain_utf8(body, headers) or b"<!DOCTYPE" in body[:4096].upper():
        return None
    if "content-language" in headers or headers.get("content-location") != url:
        return None
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    body = body.lstrip()  # whitespace before the prolog (feeds.py strips it for feedparser too)
    try:
        root = etree.fromstring(body, safe_xml_parser())
    except (etree.XMLSyntaxError, ValueError, LookupError):  # UnicodeError is a ValueError
        return None
    if root is None:
        return None
    try:
        if root.tag == "rss" and root.get("version", "") in ("2.0", "0.92", "0.91"):
            return _rss(root, url)
        if root.tag == ATOM + "feed":
            return _atom(root, url)
    except _Unusual:
        return None
    return None


def _plain_utf8(body: bytes, headers: Mapping[str, str]) -> bool:
    """UTF-8 by every account: XML declaration, HTTP charset, and RFC 3023's text/* default."""
    if body.startswith((b"\xfe\xff", b"\xff\xfe")) or b"\x00" in body[:4]:
        return False
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    head = body.lstrip()[:200]
    if not head.startswith(b"<"):
        return False
    m = _DECL_ENCODING.match(head)
    if m and m.group(1).decode("latin-1").strip().lower() not in _UTF8:
        return False
    ctype = headers.get("content-type", "").lower()
    media, _, params = ctype.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip() == "charset":
            charset = value.strip().strip("\"'")
    if charset is not None and charset not in _UTF8:
        return False
    media = media.strip()
    if media.startswith("text/") and charset is None and not body.isascii():
        return False  # RFC 3023: text/xml without a charset is US-ASCII; feedparser's business
    return media == "" or "xml" in media or media in ("text/plain", "application/octet-stream")


def _text(el: Any) -> str:
    """The element's text, stripped; markup inside, a C1 character or attributes of note: no."""
    if len(el):
        raise _Unusual
    if el.get(XML_BASE) is not None or el.get(XML_LANG) is not None:
        raise _Unusual
    text = el.text or ""
    if _C1.search(text):
        raise _Unusual
    return str(text).strip()


# An absolute http(s) URL that urljoin would hand back unchanged (no dot segments, no "//"
# after the scheme's, nothing but plain URL characters): most links of most feeds.
_PLAIN_ABSOLUTE = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::\d+)?(?:/(?!\.\.?(?:/|$))[^\s/?#]*)*(?:\?[^\s#]*)?"
)


def _resolve(base: str, value: str) -> str:
    if _PLAIN_ABSOLUTE.fullmatch(value):
        return value
    value = _URI_FIX.sub(r"\1\3", value)
    try:
        return urljoin(base, value)
    except ValueError:
        return ""


def _once(seen: set[str], tag: str) -> None:
    if tag in seen:
        raise _Unusual
    seen.add(tag)


def _skippable(el: Any) -> bool:
    """An element whose content never reaches a field feeds.py reads (on either path)."""
    tag = el.tag
    if not isinstance(tag, str):
        return True  # a comment or processing instruction (already removed) or an entity
    if tag.startswith(_IGNORED_NS):
        return True
    if tag.startswith(MEDIA):
        # media:content / thumbnail / group are skipped unless a title or text sits inside
        return tag not in _MEDIA_TEXT and not any(
            isinstance(d.tag, str) and d.tag in _MEDIA_TEXT for d in el.iterdescendants()
        )
    return False


def _enclosure(el: Any, url: str) -> dict[str, str]:
    """An <enclosure> as feedparser keeps it: a link with rel="enclosure" (url -> href)."""
    if len(el) or el.get(XML_BASE) is not None:
        raise _Unusual
    link = {k: v for k, v in el.attrib.items() if k in ("type", "length")}
    href = el.get("url") or el.get("href")
    if not href:
        raise _Unusual
    link["href"] = href.strip()
    link["rel"] = "enclosure"
    return link


def _base(el: Any, url: str) -> str:
    """The base URL inside ``el``: its xml:base (Drupal puts one on <rss>) resolved on ``url``."""
    value = el.get(XML_BASE)
    return url if value is None else _resolve(url, value.strip())


def _rss(root: Any, url: str) -> dict[str, Any]:
    if root.get(XML_LANG) is not None:
        raise _Unusual
    channels = [c for c in root if c.tag == "channel"]
    if len(channels) != 1 or len(root) != 1:
        raise _Unusual
    channel = channels[0]
    if channel.get(XML_LANG) is not None:
        raise _Unusual
    url = _base(channel, _base(root, url))
    feed: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    for child in channel:
        tag = child.tag
        if tag == "item":
            entries.append(_rss_item(child, url))
        elif tag in ("title", DC + "title"):
            if "title" in feed:
                raise _Unusual
            feed["title"] = _text(child)
        elif tag in ("language", DC + "language"):
            if "language" in feed:
                raise _Unusual
            feed["language"] = _text(child)
        elif isinstance(tag, str) and tag.startswith((ATOM, MEDIA)) and tag != ATOM + "link":
            raise _Unusual  # an atom:title or a channel-level media text: feedparser's
        # everything else at channel level (link, description, image, textInput, generator,
        # lastBuildDate, sy:*, itunes:*, atom:link) holds nothing feeds.py reads
    return {"version": "rss20", "bozo": 0, "feed": feed, "entries": entries}


def _rss_item(item: Any, url: str) -> dict[str, Any]:
    if item.get(XML_BASE) is not None or item.get(XML_LANG) is not None:
        raise _Unusual
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    guid_is_link = False
    links: list[dict[str, str]] = []
    for child in item:
        tag = child.tag
        if tag in _RSS_IGNORED or _skippable(child):
            continue
        if tag == "enclosure":
            enc = _enclosure(child, url)
            links.append(enc)
            continue
        _once(seen, "title" if tag == DC + "title" else tag)
        if tag in ("title", DC + "title"):
            entry["title"] = _text(child)
            entry["title_detail"] = {"language": None}
        elif tag == "link":
            value = _text(child)
            if not value:
                raise _Unusual
            entry["link"] = _resolve(url, value)
        elif tag == "guid":
            guid_is_link = child.get("isPermaLink", "true") == "true"
            value = _text(child)  # feedparser resolves a permalink guid like a link
            entry["id"] = _resolve(url, value) if guid_is_link else value
        elif tag == "pubDate":
            entry["published"] = _text(child)
        elif tag == "description":
            entry["summary"] = _text(child)
        elif tag == CONTENT_ENCODED:
            entry["content"] = [{"value": _text(child)}]
        elif tag == DC + "creator":
            value = _text(child)
            if "@" in value or "(" in value:
                raise _Unusual  # feedparser splits names and addresses
            entry["author"] = value
        elif tag == DC + "date":
            entry["updated"] = _text(child)
        elif tag == DC + "language":
            entry["language"] = _text(child)
        else:
            raise _Unusual
    if links:
        entry["links"] = links
    if "link" not in entry and guid_is_link and entry.get("id") and "guid" in seen:
        entry["link"] = entry["id"]
    if "summary" not in entry and "content" in entry:
        entry["summary"] = entry["content"][0]["value"]
    if "updated" not in entry and "published" in entry:
        entry["updated"] = entry["published"]  # as feedparser 6 answers entry["updated"]
    elif "updated" in entry and "published" not in entry:
        raise _Unusual
    return entry


def _atom_type(el: Any) -> str:
    value = (el.get("type") or "text").strip().lower()
    mapped = _TYPE_ALIASES.get(value, value)
    if mapped not in ("text/plain", "text/html"):
        raise _Unusual  # xhtml, base64 and other media types: feedparser
    return mapped


def _atom(root: Any, url: str) -> dict[str, Any]:
    if root.get(XML_BASE) is not None:
        raise _Unusual
    lang = root.get(XML_LANG)
    feed: dict[str, Any] = {}
    if lang is not None:
        feed["language"] = lang.replace("_", "-")
    entries: list[dict[str, Any]] = []
    for child in root:
        tag = child.tag
        if tag == ATOM + "entry":
            entries.append(_atom_entry(child, url, lang))
        elif tag == ATOM + "title":
            if "title" in feed:
                raise _Unusual
            _atom_type(child)
            feed["title"] = _text(child)
        elif tag in _ATOM_FEED_IGNORED or _skippable(child):
            continue
        else:
            raise _Unusual  # an Atom <item>, dc:title, ...: feedparser
    return {"version": "atom10", "bozo": 0, "feed": feed, "entries": entries}


def _atom_entry(entry_el: Any, url: str, lang: str | None) -> dict[str, Any]:
    if entry_el.get(XML_BASE) is not None or entry_el.get(XML_LANG) is not None:
        raise _Unusual
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    links: list[dict[str, str]] = []
    html_link: str | None = None
    summary: str | None = None
    content: str | None = None
    for child in entry_el:
        tag = child.tag
        if tag in _ATOM_IGNORED:
            continue  # any number of categories
        if tag == ATOM + "link":
            if len(child) or child.get(XML_BASE) is not None:
                raise _Unusual
            rel = child.get("rel", "alternate")
            ltype = child.get("type") or ("application/atom+xml" if rel == "self" else "text/html")
            href = child.get("href")
            if href is None:
                raise _Unusual
            href = _resolve(url, href)
            links.append({"rel": rel, "type": ltype, "href": href})
            if rel == "alternate" and _TYPE_ALIASES.get(ltype, ltype) in _HTML_TYPES:
                if html_link is not None:
                    raise _Unusual
                html_link = href
            continue
        _once(seen, tag)
        if tag == ATOM + "title":
            _atom_type(child)
            entry["title"] = _text(child)
            entry["title_detail"] = {"language": lang}
        elif tag == ATOM + "id":
            entry["id"] = _resolve(url, _text(child))
        elif tag == ATOM + "published":
            entry["published"] = _text(child)
        elif tag == ATOM + "updated":
            entry["updated"] = _text(child)
        elif tag == ATOM + "summary":
            _atom_type(child)
            summary = _text(child)
        elif tag == ATOM + "content":
            if child.get("src") is not None:
                raise _Unusual
            _atom_type(child)
            content = _text(child)
        elif tag == ATOM + "author":
            entry["author"] = _atom_author(child)
        elif tag == DC + "language":
            entry["language"] = _text(child)
        elif tag not in _ATOM_IGNORED and not _skippable(child):
            raise _Unusual
    if html_link is not None:
        entry["link"] = html_link
    elif entry.get("id"):
        entry["link"] = entry["id"]
    entry["links"] = links
    if content is not None:
        entry["content"] = [{"value": content}]
    if summary is not None:
        entry["summary"] = summary
    elif content is not None:
        entry["summary"] = content
    if "published" in entry and "updated" not in entry:
        entry["updated"] = entry["published"]
    return entry


def _atom_author(el: Any) -> str:
    if el.get(XML_LANG) is not None or el.get(XML_BASE) is not None:
        raise _Unusual
    names = [c for c in el if c.tag == ATOM + "name"]
    if len(names) != 1 or any(c.tag not in (ATOM + "name", ATOM + "uri") for c in el):
        raise _Unusual  # an email, or something else feedparser joins into the name
    return _text(names[0])
