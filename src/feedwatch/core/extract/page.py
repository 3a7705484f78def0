"""HTML pages, the shared part: encoding, lxml parse, text, URLs, page chrome; pure.

No I/O and no clock. The bytes go to lxml with the encoding a browser would use (see
``detect_encoding``). lxml with XPath is used rather than BeautifulSoup: ~10x faster on a 200 KB
listing (../shared/docs/PERFORMANCE.md). Only http(s) links are kept; all text is plain.
The jobs built on this module: listing.py (listing pages), article.py (article pages),
paging.py (next-page links).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from feedwatch.core.extract.dates import find_date_matches, parse_date, parse_iso_datetime
from feedwatch.core.extract.encoding import LXML_SAFE, decide_encoding, decode_lenient

__all__ = [
    "ARTICLE_TYPES",
    "HEADINGS",
    "MAX_SUMMARY",
    "MAX_TITLE",
    "SHORT_TEXT",
    "El",
    "Page",
    "absolute_url",
    "boiler_kind",
    "class_tokens",
    "clip",
    "content_elements",
    "detect_encoding",
    "first_date",
    "first_of",
    "in_chrome",
    "in_comments",
    "is_comment_block",
    "load_jsonld",
    "is_social",
    "jsonld_str",
    "machine_date",
    "parse_page",
    "same_page",
    "text_of",
    "type_names",
]

# lxml ships no type information; binding the modules as Any keeps mypy strict quiet whether or
# not lxml-stubs is installed (a `type: ignore` would turn into an "unused ignore" with stubs).
_lxml_html: Any = importlib.import_module("lxml.html")
_etree: Any = importlib.import_module("lxml.etree")

El = Any  # an lxml.html element

MAX_TITLE = 300
MAX_SUMMARY = 1000
SHORT_TEXT = 80  # a date element's text is short

_INLINE = frozenset(
    {"a", "b", "i", "em", "strong", "u", "sup", "sub", "mark", "abbr", "s", "q", "cite",
     "small", "code", "font", "bdi", "bdo", "wbr", "ins", "del", "kbd", "var", "dfn"}
)  # fmt: skip
_DROP = ("script", "style", "noscript", "template", "svg", "iframe", "object", "canvas")
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_WS = re.compile(r"\s+")

# Class/id words (first part of a token like "site-footer" or "cookie-bar") of page chrome.
_BOILER_WORDS = frozenset(
    {"nav", "navbar", "navigation", "menu", "menubar", "megamenu", "breadcrumb", "breadcrumbs",
     "footer", "header", "masthead", "cookie", "cookies", "cookiebar", "consent", "gdpr",
     "pagination", "pager", "paging", "social", "socials", "share", "sharing", "sharebar",
     "skip", "skiplink", "skiplinks", "sidebar", "related", "toolbar", "topbar", "banner",
     "newsletter", "nieuwsbrief", "lees-ook", "leesook", "langswitch", "languages"}
)  # fmt: skip
_BOILER_PREFIX = frozenset(
    {"site", "page", "main", "top", "global", "primary", "secondary", "mobile", "sub", "meta",
     "utility", "service", "js", "c", "o", "l", "m", "header", "footer", "bottom"}
)  # fmt: skip
_HEADER_WORDS = frozenset({"header", "footer", "masthead"})
_BOILER_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary"})
_BOILER_TAGS = frozenset({"nav", "aside", "dialog", "menu"})
_SOCIAL_HOSTS = (
    "facebook.com", "twitter.com", "x.com", "linkedin.com", "instagram.com", "youtube.com",
    "youtu.be", "tiktok.com", "whatsapp.com", "wa.me", "pinterest.com", "t.me", "telegram.me",
    "mastodon.social", "bsky.app", "threads.net", "flickr.com", "vimeo.com",
)  # fmt: skip

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
     "pressrelease", "report", "scholarlyarticle", "webpage", "socialmediaposting",
     "opinionnewsarticle", "backgroundnewsarticle", "creativework", "event"}
)  # fmt: skip


# --------------------------------------------------------------------------- parsing


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def detect_encoding(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """The encoding of an HTML body, as a browser decides it (see extract.encoding)."""
    content_type = _header(headers, "content-type") or ""
    m = re.search(r"charset\s*=\s*([^\s;]+)", content_type, re.I)
    mb = _META_CHARSET.search(body[:4096])
    return decide_encoding(
        body,
        m.group(1) if m else None,
        mb.group(1).decode("ascii", "replace") if mb else None,
    )


@dataclass(slots=True)
class Page:
    """A parsed page: root element, base URL for links, JSON-LD objects and language."""

    root: El
    url: str
    base: str
    jsonld: list[dict[str, Any]] = field(default_factory=list)
    lang: str | None = None
    lang_tag: str | None = None  # the whole <html lang>, e.g. "en-gb"
    broken_jsonld: list[str] = field(default_factory=list)  # JSON-LD no repair could read


_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_LINE_COMMENT = re.compile(r"^\s*//[^\n]*$", re.M)
_WRAPPERS = re.compile(r"^\s*(?:<!\[CDATA\[|<!--)|(?:\]\]>|-->)\s*$")


def load_jsonld(raw: str) -> Any:
    """A JSON-LD script's value, or None. Repairs what CMSs get wrong: raw newlines in strings,
    trailing commas, comments, CDATA or comment wrappers."""
    try:
        return json.loads(raw, strict=False)
    except (ValueError, RecursionError):
        pass
    fixed = _WRAPPERS.sub("", raw)
    fixed = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", fixed))
    fixed = _TRAILING_COMMA.sub(r"\1", fixed)
    try:
        return json.loads(fixed, strict=False)
    except (ValueError, RecursionError):
        return None


def _jsonld_objects(data: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside a JSON-LD value (through lists and @graph), outermost first."""
    stack = [data]
    while stack:
        cur = stack.pop(0)
        if isinstance(cur, list):
            stack[0:0] = cur
        elif isinstance(cur, dict):
            yield cur
            graph = cur.get("@graph")
            if graph is not None:
                stack.insert(0, graph)


_C0 = bytes(c for c in range(32) if c not in (9, 10, 13))
_C0_TEXT = dict.fromkeys(_C0)


def parse_page(body: bytes, url: str, headers: Mapping[str, str] | None = None) -> Page | None:
    """Parse bytes into a Page (scripts and styles dropped, JSON-LD kept); None if empty."""
    if not body or not body.strip():
        return None
    encoding = detect_encoding(body, headers)
    try:
        if encoding in LXML_SAFE:
            # C0 controls are the same bytes in both; lxml refuses them when it edits the tree
            body = body.translate(None, _C0)
            parser = _lxml_html.HTMLParser(encoding=encoding, remove_comments=True, remove_pis=True)
            root = _lxml_html.document_fromstring(body, parser=parser)
        else:
            raise ValueError(encoding)  # decoded here: lxml may not know the codec's name
    except (_etree.ParserError, ValueError, LookupError):
        try:
            text = decode_lenient(body, encoding).lstrip("\ufeff").translate(_C0_TEXT)
            text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
            parser = _lxml_html.HTMLParser(remove_comments=True, remove_pis=True)
            root = _lxml_html.document_fromstring(text, parser=parser)
        except (_etree.ParserError, ValueError, LookupError):
            return None
    if root is None:
        return None
    jsonld: list[dict[str, Any]] = []
    broken_jsonld: list[str] = []
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = script.text or ""
        data = load_jsonld(raw)
        if data is None:
            broken_jsonld.append(raw[:20_000])
            continue
        jsonld.extend(_jsonld_objects(data))
    for el in list(root.iter(*_DROP)):
        el.drop_tree()
    base = url
    base_el = root.find(".//base[@href]")
    if base_el is not None:
        candidate = absolute_url(base_el.get("href") or "", url)
        if candidate:
            base = candidate
    lang_raw = root.get("lang") or root.get("xml:lang") or ""
    lang = lang_raw.strip().split("-")[0].split("_")[0].lower() or None
    return Page(
        root=root,
        url=url,
        base=base,
        jsonld=jsonld,
        lang=lang,
        lang_tag=lang_raw.strip().lower().replace("_", "-") or None,
        broken_jsonld=broken_jsonld,
    )


def text_of(el: El) -> str:
    """Visible text of an element, block boundaries kept as spaces, whitespace collapsed."""
    parts: list[str] = []
    for event, node in _etree.iterwalk(el, events=("start", "end")):
        tag = node.tag if isinstance(node.tag, str) else ""
        block = tag not in _INLINE
        if event == "start":
            if block:
                parts.append(" ")
            if node.text and tag:
                parts.append(node.text)
        else:
            if block:
                parts.append(" ")
            if node is not el and node.tail:
                parts.append(node.tail)
    return _WS.sub(" ", "".join(parts)).strip()


def absolute_url(href: str, base: str) -> str | None:
    """Absolute http(s) URL without fragment, or None (javascript:, mailto:, data:, '#x')."""
    href = re.sub(r"[\t\n\r]", "", href).strip()
    if not href or href.startswith("#"):
        return None
    try:
        joined = urljoin(base, href)
        parts = urlsplit(joined)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    path = _NON_URI.sub(_pct, parts.path) or "/"
    query = _NON_URI.sub(_pct, parts.query)
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, query, ""))


_NON_URI = re.compile(r"[^\x21-\x7e]+")


def _pct(m: re.Match[str]) -> str:
    """Percent-encode (UTF-8) characters a URI may not hold: spaces, non-ASCII."""
    return quote(m.group(0), safe="")


def same_page(a: str, b: str) -> bool:
    return a.rstrip("/") == b.split("#")[0].rstrip("/")


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def is_social(url: str) -> bool:
    host = _host(url)
    return any(host == h or host.endswith("." + h) for h in _SOCIAL_HOSTS)


def class_tokens(el: El) -> list[str]:
    raw = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    return raw.split()


def boiler_kind(el: El) -> str | None:
    """'chrome' for nav/cookie/pager/... elements, 'header' for header/footer ones, else None."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in _BOILER_TAGS:
        return "chrome"
    if tag in ("html", "body", "main"):
        return None  # their classes describe the page ("nav-below-header", "cookies-not-set")
    role = (el.get("role") or "").strip().lower()
    if role in _BOILER_ROLES:
        return "header" if role in ("banner", "contentinfo") else "chrome"
    if tag in ("header", "footer"):
        return "header"
    for token in class_tokens(el):
        parts = [p for p in re.split(r"[-_]+", token) if p]
        if not parts:
            continue
        word = parts[0]
        if word in _BOILER_PREFIX and len(parts) > 1 and parts[1] in _BOILER_WORDS:
            word = parts[1]
        elif word not in _BOILER_WORDS and token not in _BOILER_WORDS:
            continue
        return "header" if word in _HEADER_WORDS else "chrome"
    return None


_STATE_CLASSES = frozenset(
    {"odd", "even", "first", "last", "active", "is-active", "current", "selected", "new",
     "visited", "hover", "focus", "open", "closed", "hidden", "clearfix", "row", "col"}
)  # fmt: skip


def _step(el: El) -> str:
    """One step of a link's path: tag plus the first class that says what the element is.

    Only the first stable class counts, so cards of one list that differ in modifier or
    per-post classes (WordPress "category-x", Drupal "views-row-3 odd") stay one group, while
    a row of theme tiles beside a row of news cards does not join it.
    """
    for token in (el.get("class") or "").split():
        if not any(ch.isdigit() for ch in token) and token.lower() not in _STATE_CLASSES:
            return f"{el.tag}.{token.lower()}"
    return str(el.tag)


def content_elements(root: El) -> Iterator[tuple[El, tuple[str, ...]]]:
    """Elements outside page chrome, with their tag path; a card's own header stays in."""
    body = root.find("body")
    start = body if body is not None else root
    stack: list[tuple[El, tuple[str, ...], bool]] = [(start, (start.tag,), False)]
    while stack:
        el, path, in_article = stack.pop()
        yield el, path
        children = [c for c in el if isinstance(c.tag, str)]
        for child in reversed(children):
            kind = boiler_kind(child)
            if kind == "chrome" or (kind == "header" and not in_article):
                continue
            stack.append(
                (child, (*path, _step(child)), in_article or child.tag in ("article", "li", "tr"))
            )


# --------------------------------------------------------------------------- dates in cards


def first_date(text: str, now: datetime) -> datetime | None:
    value = parse_date(text, now=now)
    if value is not None:
        return value
    matches = find_date_matches(text, now=now)
    return matches[0].value if matches else None


def machine_date(el: El, now: datetime) -> datetime | None:
    for attr in ("datetime", "content"):
        raw = el.get(attr)
        if raw:
            value = parse_iso_datetime(raw, now=now)
            if value is not None:
                return value
    return None


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def type_names(obj: Mapping[str, Any]) -> set[str]:
    raw = obj.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {str(n).rsplit("/", 1)[-1].lower() for n in names if n}


def jsonld_str(value: Any) -> str | None:
    if isinstance(value, str):
        text = " ".join(value.split())
        return text or None
    if isinstance(value, list) and value:
        return jsonld_str(value[0])
    if isinstance(value, dict):
        return jsonld_str(value.get("@value") or value.get("name"))
    return None


def first_of(root: El, *paths: str) -> El | None:
    """The first element any of the paths finds (lxml elements are falsy when childless)."""
    for path in paths:
        found = root.find(path)
        if found is not None:
            return found
    return None


_COMMENT_WORDS = frozenset({"comment", "comments", "reactie", "reacties", "discussion", "replies"})


def is_comment_block(el: El) -> bool:
    """The element is (part of) a comment thread by its class or id ("comment-list", ...)."""
    return any(p in _COMMENT_WORDS for token in class_tokens(el) for p in re.split(r"[-_]+", token))


def in_comments(el: El) -> bool:
    """Inside a comment thread (its dates are the comments', not the article's)."""
    return any(is_comment_block(anc) for anc in [el, *el.iterancestors()])


def in_chrome(el: El) -> bool:
    in_article = False
    for anc in [el, *el.iterancestors()]:
        if anc.tag == "article":
            in_article = True
    for anc in [el, *el.iterancestors()]:
        kind = boiler_kind(anc)
        if kind == "chrome" or (kind == "header" and not in_article):
            return True
    return False
