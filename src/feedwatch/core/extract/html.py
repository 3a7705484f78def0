"""HTML pages -> dated items: listings by selectors or generic detection, articles, paging; pure.

No I/O and no clock: callers pass the response bytes, its URL and the fetch time ``now``.
The bytes go to lxml with the encoding found in the BOM, the Content-Type header or the
page's own ``<meta charset>`` (in that order; latin-1 is read as windows-1252, as browsers do).
lxml with XPath is used rather than BeautifulSoup: ~10x faster on a 200 KB listing
(../shared/docs/PERFORMANCE.md); CSS selectors from the config go through cssselect.

Only http(s) links are kept; all text is plain (entities decoded, whitespace collapsed).
"""

from __future__ import annotations

import codecs
import importlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from cssselect import HTMLTranslator, SelectorError

from feedwatch.core.extract.dates import (
    find_date_matches,
    parse_date,
    parse_iso_datetime,
)
from feedwatch.types import DateSource, RawItem, Selectors

__all__ = [
    "ArticleInfo",
    "Page",
    "absolute_url",
    "compile_selector",
    "detect_encoding",
    "extract_article",
    "extract_listing",
    "find_next_page",
    "parse_page",
    "text_of",
    "validate_selectors",
]

# lxml ships no type information; binding the modules as Any keeps mypy strict quiet whether or
# not lxml-stubs is installed (a `type: ignore` would turn into an "unused ignore" with stubs).
_lxml_html: Any = importlib.import_module("lxml.html")
_etree: Any = importlib.import_module("lxml.etree")

El = Any  # an lxml.html element

MAX_TITLE = 300
MAX_SUMMARY = 1000
_SHORT_TEXT = 80  # a date element's text is short

_INLINE = frozenset(
    {"a", "b", "i", "em", "strong", "u", "sup", "sub", "mark", "abbr", "s", "q", "cite",
     "small", "code", "font", "bdi", "bdo", "wbr", "ins", "del", "kbd", "var", "dfn"}
)  # fmt: skip
_DROP = ("script", "style", "noscript", "template", "svg", "iframe", "object", "canvas")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
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
_SKIP_RELS = frozenset({"tag", "category", "author", "next", "prev", "previous", "license"})
_PAGER_TEXT = re.compile(
    r"^(?:\d{1,4}|[«»‹›<>←→…]+|(?:ga naar )?(?:volgende|vorige|eerste|laatste)(?: pagina)?"
    r"|next|previous|prev|first|last|older|newer|(?:oudere|nieuwere) berichten"
    r"|older posts|newer posts)\W*$",
    re.IGNORECASE,
)
_GENERIC_TEXT = re.compile(
    r"^(?:lees (?:meer|verder|het artikel|het bericht)|meer(?: lezen| informatie)?|verder lezen"
    r"|bekijk(?: meer)?|read more|more|continue reading|download|klik hier|hier)\W*$",
    re.IGNORECASE,
)
_RELATED_MARKERS = re.compile(
    r"^(?:lees ook|zie ook|bekijk ook|gerelateerd|gerelateerde|meer nieuws|meer over"
    r"|ook interessant|related|see also|read also|more news|andere berichten)",
    re.IGNORECASE,
)
_NEXT_TEXT = re.compile(
    r"^(?:volgende(?: pagina)?|next(?: page)?|oudere berichten|older posts|[»›>→]+"
    r"|volgende\s*[»›>→]+|next\s*[»›>→]+)$",
    re.IGNORECASE,
)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
     "pressrelease", "report", "scholarlyarticle", "webpage", "socialmediaposting",
     "opinionnewsarticle", "backgroundnewsarticle", "creativework", "event"}
)  # fmt: skip
_LISTING_TYPES = _ARTICLE_TYPES - {"webpage", "creativework"}


# --------------------------------------------------------------------------- parsing


def _codec_label(name: str) -> str | None:
    try:
        codec = codecs.lookup(name.strip().strip("\"'"))
    except (LookupError, ValueError):
        return None
    label = codec.name
    if label in ("latin-1", "iso8859-1", "ascii", "cp1252"):
        return "windows-1252"  # what browsers do with these labels
    if label == "utf-8-sig":
        return "utf-8"
    return label


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def detect_encoding(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """The encoding of an HTML body: BOM, then Content-Type charset, then <meta>, then sniff."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    content_type = _header(headers, "content-type") or ""
    m = re.search(r"charset\s*=\s*([^\s;]+)", content_type, re.I)
    if m:
        label = _codec_label(m.group(1))
        if label:
            return label
    mb = _META_CHARSET.search(body[:4096])
    if mb:
        label = _codec_label(mb.group(1).decode("ascii", "replace"))
        if label and not label.startswith("utf-16"):  # a byte page cannot truly be utf-16
            return label
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "windows-1252"
    return "utf-8"


@dataclass(slots=True)
class Page:
    """A parsed page: root element, base URL for links, JSON-LD objects and language."""

    root: El
    url: str
    base: str
    jsonld: list[dict[str, Any]] = field(default_factory=list)
    lang: str | None = None


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


def parse_page(body: bytes, url: str, headers: Mapping[str, str] | None = None) -> Page | None:
    """Parse bytes into a Page (scripts and styles dropped, JSON-LD kept); None if empty."""
    if not body or not body.strip():
        return None
    encoding = detect_encoding(body, headers)
    parser = _lxml_html.HTMLParser(encoding=encoding, remove_comments=True, remove_pis=True)
    try:
        root = _lxml_html.document_fromstring(body, parser=parser)
    except (_etree.ParserError, ValueError, LookupError):
        try:
            text = body.decode(encoding, errors="replace")
            text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
            root = _lxml_html.document_fromstring(text)
        except (_etree.ParserError, ValueError, LookupError):
            return None
    if root is None:
        return None
    jsonld: list[dict[str, Any]] = []
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = script.text or ""
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
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
    return Page(root=root, url=url, base=base, jsonld=jsonld, lang=lang)


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


def _same_page(a: str, b: str) -> bool:
    return a.rstrip("/") == b.split("#")[0].rstrip("/")


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _is_social(url: str) -> bool:
    host = _host(url)
    return any(host == h or host.endswith("." + h) for h in _SOCIAL_HOSTS)


def _tokens(el: El) -> list[str]:
    raw = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    return raw.split()


def _boiler_kind(el: El) -> str | None:
    """'chrome' for nav/cookie/pager/... elements, 'header' for header/footer ones, else None."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in _BOILER_TAGS:
        return "chrome"
    role = (el.get("role") or "").strip().lower()
    if role in _BOILER_ROLES:
        return "header" if role in ("banner", "contentinfo") else "chrome"
    if tag in ("header", "footer"):
        return "header"
    for token in _tokens(el):
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


def _content_elements(root: El) -> Iterator[tuple[El, tuple[str, ...]]]:
    """Elements outside page chrome, with their tag path; a card's own header stays in."""
    body = root.find("body")
    start = body if body is not None else root
    stack: list[tuple[El, tuple[str, ...], bool]] = [(start, (start.tag,), False)]
    while stack:
        el, path, in_article = stack.pop()
        yield el, path
        children = [c for c in el if isinstance(c.tag, str)]
        for child in reversed(children):
            kind = _boiler_kind(child)
            if kind == "chrome" or (kind == "header" and not in_article):
                continue
            stack.append(
                (child, (*path, _step(child)), in_article or child.tag in ("article", "li", "tr"))
            )


# --------------------------------------------------------------------------- dates in cards


def _first_date(text: str, now: datetime) -> datetime | None:
    value = parse_date(text, now=now)
    if value is not None:
        return value
    matches = find_date_matches(text, now=now)
    return matches[0].value if matches else None


def _machine_date(el: El, now: datetime) -> datetime | None:
    for attr in ("datetime", "content"):
        raw = el.get(attr)
        if raw:
            value = parse_iso_datetime(raw, now=now)
            if value is not None:
                return value
    return None


_MAY_DATE = re.compile(r"\d|gisteren|vandaag|yesterday|today", re.IGNORECASE)


def _own_text_may_date(el: El) -> bool:
    """Cheap test: does the element's own text (not its children's) hold a digit or a day word."""
    if el.text and _MAY_DATE.search(el.text):
        return True
    return any(child.tail and _MAY_DATE.search(child.tail) for child in el)


def _date_in(card: El, now: datetime) -> datetime | None:
    """The date a card shows: <time>, microdata, then a short dated element, then any text."""
    for t in card.iter("time"):
        value = _machine_date(t, now) or _first_date(text_of(t), now)
        if value is not None:
            return value
    for el in card.xpath(
        ".//*[@itemprop='datePublished' or @itemprop='dateCreated' or @property='datePublished']"
    ):
        value = _machine_date(el, now) or _first_date(text_of(el), now)
        if value is not None:
            return value
    for el in card.iter():
        if not isinstance(el.tag, str) or el.tag in _HEADINGS or not _own_text_may_date(el):
            continue
        text = text_of(el)
        if not text or len(text) > _SHORT_TEXT:
            continue
        value = _first_date(text, now)
        if value is not None:
            return value
    matches = find_date_matches(text_of(card), now=now)
    return matches[0].value if matches else None


# --------------------------------------------------------------------------- cards -> items


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _title_for(card: El, link: El | None) -> str | None:
    """The heading around or inside the link, else the link text, else the card's heading."""
    if link is not None:
        for anc in link.iterancestors():
            if anc.tag in _HEADINGS:
                return _clip(text_of(anc), MAX_TITLE) or None
            if anc is card:
                break
        inner = next((h for h in link.iter(*_HEADINGS)), None)
        if inner is not None and text_of(inner):
            return _clip(text_of(inner), MAX_TITLE)
        href = link.get("href")
        for h in card.iter(*_HEADINGS):
            if any(a.get("href") == href for a in h.iter("a")) and text_of(h):
                return _clip(text_of(h), MAX_TITLE)  # the heading links where this link does
        for prop in link.xpath(".//*[@itemprop='headline' or @itemprop='name']"):
            if text_of(prop):
                return _clip(text_of(prop), MAX_TITLE)
        text = text_of(link)
        if text and not _GENERIC_TEXT.match(text) and len(text) <= 200:
            return text
    for prop in card.xpath(".//*[@itemprop='headline']"):
        if text_of(prop):
            return _clip(text_of(prop), MAX_TITLE)
    heading = next((h for h in card.iter(*_HEADINGS) if text_of(h)), None)
    if heading is not None:
        return _clip(text_of(heading), MAX_TITLE)
    if link is not None:
        text = text_of(link) or (link.get("title") or "").strip() or link.get("aria-label") or ""
        if text and not _GENERIC_TEXT.match(text):
            return _clip(" ".join(text.split()), MAX_TITLE)
        img = next(link.iter("img"), None)
        if img is not None and (img.get("alt") or "").strip():
            return _clip(" ".join((img.get("alt") or "").split()), MAX_TITLE)
    return None


def _summary_for(card: El, title: str | None, now: datetime) -> str | None:
    for el in card.xpath(".//*[@itemprop='description']"):
        text = text_of(el)
        if text:
            return _clip(text, MAX_SUMMARY)
    for p in card.iter("p"):
        text = text_of(p)
        if len(text) < 20 or (title and text == title):
            continue
        if parse_date(text, now=now) is not None:
            continue
        return _clip(text, MAX_SUMMARY)
    return None


def _link_of(el: El, base: str) -> tuple[El, str] | None:
    """The element's own href, a descendant <a href>, or an enclosing <a href>."""
    candidates: list[El] = []
    if el.tag == "a":
        candidates.append(el)
    candidates.extend(a for a in el.iter("a") if a is not el)
    candidates.extend(a for a in el.iterancestors("a"))
    for a in candidates:
        url = absolute_url(a.get("href") or "", base)
        if url:
            return a, url
    return None


def _item(
    page: Page,
    title: str | None,
    url: str | None,
    summary: str | None,
    published: datetime | None,
) -> RawItem | None:
    if not url or not title:
        return None
    source: DateSource | None = "listing" if published is not None else None
    return RawItem(
        title=title,
        link=url,
        summary=summary,
        published=published,
        date_source=source,
        lang=page.lang,
    )


# --------------------------------------------------------------------------- selectors


@lru_cache(maxsize=256)
def compile_selector(css: str) -> Any:
    """A CSS selector compiled to an lxml XPath; raises ValueError when it is not valid CSS."""
    try:
        xpath = HTMLTranslator().css_to_xpath(css)
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {css!r}: {exc}") from exc
    return _etree.XPath(xpath)


def validate_selectors(selectors: Selectors) -> None:
    """Raise ValueError naming the first selector that is not valid CSS."""
    for name in ("item", "title", "link", "date", "summary"):
        css = getattr(selectors, name)
        if css:
            try:
                compile_selector(css)
            except ValueError as exc:
                raise ValueError(f"selectors.{name}: {exc}") from exc


def _select(el: El, css: str | None) -> list[El]:
    if not css:
        return []
    return [e for e in compile_selector(css)(el) if isinstance(getattr(e, "tag", None), str)]


def _selector_items(page: Page, sel: Selectors, now: datetime) -> list[RawItem]:
    # Without an item selector each link the link selector matches is an item.
    cards = _select(page.root, sel.item) if sel.item else _select(page.root, sel.link)
    items: list[RawItem] = []
    for card in cards:
        link_el: El | None = None
        url: str | None = None
        if sel.link and sel.item and card.tag != "a":
            for cand in _select(card, sel.link):
                found = _link_of(cand, page.base)
                if found:
                    link_el, url = found
                    break
        if url is None:
            found = _link_of(card, page.base)
            if found:
                link_el, url = found
        if url is None:
            continue
        title: str | None = None
        if sel.title:
            title_el = next((t for t in _select(card, sel.title) if text_of(t)), None)
            if title_el is not None:
                title = _clip(text_of(title_el), MAX_TITLE)
        if title is None and card.tag == "a":
            title = _clip(text_of(card), MAX_TITLE) or None
        if title is None:
            title = _title_for(card, link_el)
        published: datetime | None = None
        if sel.date:
            for date_el in _select(card, sel.date):
                published = _machine_date(date_el, now) or _first_date(text_of(date_el), now)
                if published is not None:
                    break
        else:
            published = _date_in(card, now)
        summary: str | None = None
        if sel.summary:
            summary_el = next((s for s in _select(card, sel.summary) if text_of(s)), None)
            if summary_el is not None:
                summary = _clip(text_of(summary_el), MAX_SUMMARY)
        else:
            summary = _summary_for(card, title, now)
        item = _item(page, title, url, summary, published)
        if item is not None:
            items.append(item)
    return items


# --------------------------------------------------------------------------- generic listing


@dataclass(slots=True)
class _Card:
    el: El
    link: El
    url: str
    key: str  # tree path of the card element
    published: datetime | None = None
    title: str | None = None


@dataclass(slots=True)
class _Group:
    links: list[tuple[El, str, str]]  # (a, url, tree path)
    cards: list[_Card] = field(default_factory=list)
    score: float = 0.0


def _candidate_links(page: Page) -> dict[tuple[str, ...], _Group]:
    """Article-looking links outside page chrome, grouped by their tag path."""
    groups: dict[tuple[str, ...], _Group] = {}
    tree = page.root.getroottree()
    for el, path in _content_elements(page.root):
        if el.tag != "a":
            continue
        rels = set((el.get("rel") or "").lower().split())
        if rels & _SKIP_RELS:
            continue
        url = absolute_url(el.get("href") or "", page.base)
        if url is None or _same_page(url, page.url) or _is_social(url):
            continue
        if urlsplit(url).path in ("", "/") and not urlsplit(url).query:
            continue  # the home page
        text = text_of(el)
        if text and _PAGER_TEXT.match(text):
            continue
        groups.setdefault(path, _Group(links=[])).links.append((el, url, tree.getpath(el)))
    return groups


def _build_cards(group: _Group, page: Page, now: datetime) -> None:
    tree = page.root.getroottree()
    body_path = tree.getpath(page.root.find("body")) if page.root.find("body") is not None else ""
    for a, url, _path in group.links:
        card = a
        for anc in a.iterancestors():
            anc_path = tree.getpath(anc)
            if anc.tag in ("body", "html", "main") or anc_path == body_path:
                break
            prefix = anc_path + "/"
            if any(p.startswith(prefix) and u != url for _a, u, p in group.links):
                break
            card = anc
        key = tree.getpath(card)
        group.cards.append(_Card(el=card, link=a, url=url, key=key))


def _score(group: _Group, page: Page, now: datetime) -> None:
    distinct = {c.url for c in group.cards}
    if len(distinct) < 2:
        group.score = 0.0
        return
    words = 0
    dated = 0
    for card in group.cards:
        card.title = _title_for(card.el, card.link)
        card.published = _date_in(card.el, now)
        words += len((card.title or "").split())
        dated += card.published is not None
    avg_words = words / len(group.cards)
    dated_frac = dated / len(group.cards)
    group.score = len(distinct) * (1.0 + 2.0 * dated_frac) * min(avg_words, 10.0)


def _is_dated_group(cards: list[_Card]) -> bool:
    dated = sum(c.published is not None for c in cards)
    return dated >= 2 or (dated >= 1 and dated * 2 >= len(cards))


def _generic_items(page: Page, now: datetime) -> list[RawItem]:
    groups = list(_candidate_links(page).values())
    for group in groups:
        _build_cards(group, page, now)
        _score(group, page, now)
    groups = [g for g in groups if g.score > 0]
    groups.sort(key=lambda g: -g.score)
    claimed: set[str] = set()
    chosen: list[tuple[_Group, list[_Card]]] = []
    for group in groups:
        cards = [c for c in group.cards if c.key not in claimed]
        if len({c.url for c in cards}) < 2:
            continue
        claimed.update(c.key for c in cards)
        chosen.append((group, cards))
    dated = [(g, cs) for g, cs in chosen if _is_dated_group(cs)]
    picked: list[list[_Card]] = []
    if dated:
        for _g, cards in dated:
            n_dated = sum(c.published is not None for c in cards)
            if n_dated * 2 >= len(cards):
                picked.append(cards)  # a dated list: a card whose date did not parse stays in
            else:
                # mostly undated cards beside a few dated ones: theme links, not news
                picked.append([c for c in cards if c.published is not None])
    else:
        for _g, cards in chosen:
            avg_words = sum(len((c.title or "").split()) for c in cards) / len(cards)
            if len(cards) >= 3 and avg_words >= 3:
                picked.append(cards)
                break
    order = {c.key: i for i, c in enumerate(_doc_order(page, [c for cs in picked for c in cs]))}
    all_cards = sorted((c for cs in picked for c in cs), key=lambda c: order[c.key])
    items: list[RawItem] = []
    for card in all_cards:
        summary = _summary_for(card.el, card.title, now)
        item = _item(page, card.title, card.url, summary, card.published)
        if item is not None:
            items.append(item)
    return items


def _doc_order(page: Page, cards: list[_Card]) -> list[_Card]:
    # lxml hands out one proxy per node while it is referenced: the list keeps them all alive,
    # so id() is a safe key here.
    elements = list(page.root.iter())
    index = {id(el): i for i, el in enumerate(elements)}
    return sorted(cards, key=lambda c: index.get(id(c.el), 0))


# --------------------------------------------------------------------------- JSON-LD lists


def _type_names(obj: Mapping[str, Any]) -> set[str]:
    raw = obj.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {str(n).rsplit("/", 1)[-1].lower() for n in names if n}


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        text = " ".join(value.split())
        return text or None
    if isinstance(value, list) and value:
        return _str(value[0])
    if isinstance(value, dict):
        return _str(value.get("@value") or value.get("name"))
    return None


def _jsonld_listing(page: Page, now: datetime) -> list[RawItem]:
    """Items of a schema.org ItemList, or of two or more Article-like objects with URLs."""
    entries: list[dict[str, Any]] = []
    for obj in page.jsonld:
        if "itemlist" in _type_names(obj):
            elements = obj.get("itemListElement") or []
            if not isinstance(elements, list):
                elements = [elements]
            for el in elements:
                if not isinstance(el, dict):
                    continue
                inner = el.get("item")
                if isinstance(inner, dict):
                    merged = {**el, **inner}
                    merged.setdefault("url", inner.get("@id"))
                    entries.append(merged)
                elif isinstance(inner, str):
                    entries.append({**el, "url": inner})
                else:
                    entries.append(el)
    if not entries:
        articles = [
            o
            for o in page.jsonld
            if _type_names(o) & _LISTING_TYPES
            and _str(o.get("url") or o.get("@id"))
            and not _same_page(
                absolute_url(_str(o.get("url") or o.get("@id")) or "", page.base) or "", page.url
            )
        ]
        if len(articles) >= 2:
            entries = articles
    items: list[RawItem] = []
    for entry in entries:
        url = absolute_url(_str(entry.get("url") or entry.get("@id")) or "", page.base)
        title = _str(entry.get("headline") or entry.get("name"))
        raw_date = _str(entry.get("datePublished") or entry.get("dateCreated"))
        published = parse_iso_datetime(raw_date, now=now) if raw_date else None
        summary = _str(entry.get("description"))
        item = _item(
            page,
            _clip(title, MAX_TITLE) if title else None,
            url,
            _clip(summary, MAX_SUMMARY) if summary else None,
            published,
        )
        if item is not None:
            items.append(item)
    return items


# --------------------------------------------------------------------------- public API


def _dedupe(items: list[RawItem]) -> list[RawItem]:
    seen: dict[str, int] = {}
    out: list[RawItem] = []
    for item in items:
        key = item.link or ""
        if key in seen:
            first = out[seen[key]]
            if first.published is None and item.published is not None:
                out[seen[key]] = replace(
                    first, published=item.published, date_source=item.date_source
                )
            continue
        seen[key] = len(out)
        out.append(item)
    return out


def extract_listing(
    body: bytes,
    url: str,
    *,
    selectors: Selectors | None,
    now: datetime,
    headers: Mapping[str, str] | None = None,
) -> list[RawItem]:
    """Items of a listing page, in page order; dated ones carry date_source "listing".

    With selectors (any of item/link set) those decide; otherwise JSON-LD ItemList or
    Article objects, else the generic detector of repeated link blocks. An undated card of a
    mostly dated list (a theme link) is left out; no item gets a date the page does not show.
    Raises ValueError for an invalid CSS selector.
    """
    page = parse_page(body, url, headers)
    if page is None:
        return []
    if selectors is not None and (selectors.item or selectors.link):
        return _dedupe(_selector_items(page, selectors, now))
    from_jsonld = _jsonld_listing(page, now)
    if len(from_jsonld) >= 2:
        # The DOM may show dates or summaries the JSON-LD leaves out.
        dom = {i.link: i for i in _generic_items(page, now)}
        merged = []
        for item in from_jsonld:
            seen = dom.get(item.link)
            if seen is not None:
                item = replace(
                    item,
                    published=item.published or seen.published,
                    date_source=item.date_source or seen.date_source,
                    summary=item.summary or seen.summary,
                )
            merged.append(item)
        return _dedupe(merged)
    return _dedupe(_generic_items(page, now))


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    """What an article page says about itself; published with its provenance, or None."""

    url: str
    title: str | None = None
    published: datetime | None = None
    date_source: DateSource | None = None  # "page-meta" or "page-text" when published is set
    modified: datetime | None = None
    summary: str | None = None
    lang: str | None = None


_META_DATE_NAMES = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "dcterms.issued",
    "dcterms.created",
    "dc.date.issued",
    "dc.date",
    "dcterms.date",
    "date",
    "publish-date",
    "publish_date",
    "publication_date",
    "pubdate",
    "citation_publication_date",
    "parsely-pub-date",
    "sailthru.date",
)
_META_MODIFIED_NAMES = (
    "article:modified_time",
    "og:updated_time",
    "dcterms.modified",
    "datemodified",
)


def _metas(page: Page) -> dict[str, str]:
    out: dict[str, str] = {}
    for meta in page.root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = meta.get("content")
        if key and content and key not in out:
            out[key.strip()] = content.strip()
    return out


def _main_entity(page: Page) -> dict[str, Any] | None:
    candidates = [o for o in page.jsonld if _type_names(o) & _ARTICLE_TYPES]
    for obj in candidates:
        own = absolute_url(_str(obj.get("url") or obj.get("@id")) or "", page.base)
        if own and _same_page(own, page.url):
            return obj
    with_date = [o for o in candidates if o.get("datePublished")]
    return with_date[0] if len(with_date) == 1 else (candidates[0] if candidates else None)


def _first(root: El, *paths: str) -> El | None:
    """The first element any of the paths finds (lxml elements are falsy when childless)."""
    for path in paths:
        found = root.find(path)
        if found is not None:
            return found
    return None


def _in_chrome(el: El) -> bool:
    in_article = False
    for anc in [el, *el.iterancestors()]:
        if anc.tag == "article":
            in_article = True
    for anc in [el, *el.iterancestors()]:
        kind = _boiler_kind(anc)
        if kind == "chrome" or (kind == "header" and not in_article):
            return True
    return False


def _date_near_title(
    page: Page, title_el: El | None, now: datetime
) -> tuple[datetime, bool] | None:
    """A date shown next to the title: (value, machine) where machine means <time datetime>.

    Looks a few elements before and after the <h1>, never in page chrome, and stops at a
    "Lees ook"/related block, whose dates belong to other articles.
    """
    elements = [e for e in page.root.iter() if isinstance(e.tag, str)]
    if title_el is None:
        main = _first(page.root, ".//main", ".//article")
        if main is None:
            return None
        start = next(i for i, e in enumerate(elements) if e is main)
        window = list(range(start, min(len(elements), start + 30)))
        anchor = start
    else:
        anchor = next(i for i, e in enumerate(elements) if e is title_el)
        after: list[int] = []
        for i in range(anchor + 1, min(len(elements), anchor + 30)):
            if _RELATED_MARKERS.match(text_of(elements[i])):
                break
            after.append(i)
        window = list(range(max(0, anchor - 15), anchor)) + after
    title_text = text_of(title_el) if title_el is not None else ""
    best: tuple[int, datetime, bool] | None = None
    for i in window:
        el = elements[i]
        if el.tag in _HEADINGS or el.tag in ("html", "body", "head", "title", "meta"):
            continue
        if el.tag == "time" or el.get("datetime"):
            value = _machine_date(el, now)
            machine = value is not None
        else:
            value, machine = None, False
        text = text_of(el)
        if value is None:
            if not text or len(text) > _SHORT_TEXT or (title_text and title_text in text):
                continue
            value = parse_date(text, now=now)
            if value is None:
                matches = find_date_matches(text, now=now)
                if len({m.value for m in matches}) != 1:
                    continue
                value = matches[0].value
        if _in_chrome(el):
            continue
        distance = abs(i - anchor) * 2 + (1 if i > anchor else 0)
        if best is None or distance < best[0]:
            best = (distance, value, machine)
    if best is None:
        return None
    return best[1], best[2]


def extract_article(
    body: bytes,
    url: str,
    *,
    now: datetime,
    headers: Mapping[str, str] | None = None,
) -> ArticleInfo:
    """Title, publication date (page-meta, else page-text), summary and language of a page.

    page-meta: JSON-LD datePublished, article:published_time and similar <meta>, microdata,
    or a <time datetime> beside the title. page-text: a visible date beside the <h1>. Dates
    in "Lees ook"/related lists, navigation and footers are never taken.
    """
    page = parse_page(body, url, headers)
    if page is None:
        return ArticleInfo(url=url)
    metas = _metas(page)
    entity = _main_entity(page)
    h1 = next((h for h in page.root.iter("h1") if text_of(h) and not _in_chrome(h)), None)

    title: str | None = text_of(h1) if h1 is not None else None
    if not title:
        title = _str(metas.get("og:title"))
    if not title and entity is not None:
        title = _str(entity.get("headline") or entity.get("name"))
    if not title:
        title_el = page.root.find(".//title")
        title = (text_of(title_el) if title_el is not None else None) or None

    published: datetime | None = None
    source: DateSource | None = None
    if entity is not None:
        raw = _str(entity.get("datePublished") or entity.get("dateCreated"))
        published = parse_iso_datetime(raw, now=now) if raw else None
    if published is None:
        for name in _META_DATE_NAMES:
            if name in metas:
                published = parse_iso_datetime(metas[name], now=now)
                if published is not None:
                    break
    if published is None:
        for el in page.root.xpath("//*[@itemprop='datePublished'] | //time[@pubdate]"):
            if _in_chrome(el):
                continue
            published = _machine_date(el, now) or parse_date(text_of(el), now=now)
            if published is not None:
                break
    if published is not None:
        source = "page-meta"
    else:
        near = _date_near_title(page, h1, now)
        if near is not None:
            published = near[0]
            source = "page-meta" if near[1] else "page-text"

    modified: datetime | None = None
    raw_mod = _str(entity.get("dateModified")) if entity is not None else None
    for raw in [raw_mod, *(metas.get(n) for n in _META_MODIFIED_NAMES)]:
        if raw:
            modified = parse_iso_datetime(raw, now=now)
            if modified is not None:
                break

    summary = metas.get("og:description") or metas.get("description")
    if not summary and entity is not None:
        summary = _str(entity.get("description"))
    if not summary:
        scope = _first(page.root, ".//article", ".//main")
        for p in (scope if scope is not None else page.root).iter("p"):
            text = text_of(p)
            if len(text) >= 40 and not _in_chrome(p):
                summary = text
                break
    summary = _clip(" ".join(summary.split()), MAX_SUMMARY) if summary else None

    return ArticleInfo(
        url=url,
        title=_clip(title, MAX_TITLE) if title else None,
        published=published,
        date_source=source,
        modified=modified,
        summary=summary,
        lang=page.lang,
    )


def find_next_page(body: bytes, url: str, headers: Mapping[str, str] | None = None) -> str | None:
    """URL of the next page of a listing: rel=next, then a "volgende"/"next"/"»" link."""
    page = parse_page(body, url, headers)
    if page is None:
        return None
    current = url.split("#")[0]
    candidates: list[El] = [
        *page.root.xpath("//link[@href] | //a[@href]"),
    ]
    for el in candidates:
        if "next" in (el.get("rel") or "").lower().split():
            nxt = absolute_url(el.get("href") or "", page.base)
            if nxt and not _same_page(nxt, current):
                return nxt
    for el in page.root.iter("a"):
        label = " ".join(
            (text_of(el) or el.get("aria-label") or el.get("title") or "").split()
        ).lower()
        classes = _tokens(el)
        if (
            _NEXT_TEXT.match(label)
            or label.startswith(("volgende pagina", "ga naar volgende", "next page"))
            or any(c in ("next", "pager-next", "pagination-next", "next-page") for c in classes)
        ):
            nxt = absolute_url(el.get("href") or "", page.base)
            if nxt and not _same_page(nxt, current):
                return nxt
    return None
