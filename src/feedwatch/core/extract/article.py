"""Article pages -> title, publication date with its provenance, summary, language; pure.

No I/O and no clock: callers pass the response bytes, its URL and the fetch time ``now``.
htmldate (a runtime dependency) is used where feedwatch's own reading finds no date beside
the title: measured on tests/data/articles with bench/article_dates.py, the combination beats
either alone (htmldate misses Dutch text dates and takes a URL's or a footer's date; our own
reading misses dates far from the title).
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from feedwatch.core.extract.dates import (
    AMSTERDAM,
    MAX_AHEAD,
    MIN_DATE,
    find_date_matches,
    parse_date_match,
    parse_iso_datetime,
)
from feedwatch.core.extract.page import (
    ARTICLE_TYPES,
    HEADINGS,
    MAX_SUMMARY,
    MAX_TITLE,
    SHORT_TEXT,
    El,
    Page,
    absolute_url,
    boiler_kind,
    clip,
    first_of,
    in_chrome,
    in_comments,
    is_comment_block,
    jsonld_str,
    parse_page,
    same_page,
    text_of,
    type_names,
)
from feedwatch.types import DateSource

__all__ = ["ArticleInfo", "extract_article"]

_RELATED_MARKERS = re.compile(
    r"^(?:lees ook|zie ook|bekijk ook|gerelateerd|gerelateerde|meer nieuws|meer over"
    r"|ook interessant|related|see also|read also|more news|andere berichten)",
    re.IGNORECASE,
)


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


_PAGE_TYPES = frozenset({"webpage", "creativework", "itempage", "collectionpage", "website"})


def _main_entity(page: Page) -> dict[str, Any] | None:
    """The JSON-LD object of the article itself: an Article-like type before a WebPage (Yoast
    graphs list the WebPage, with its own dates, before the NewsArticle); the one with the page's
    URL, else the only one with a datePublished, else the first."""
    candidates = [o for o in page.jsonld if type_names(o) & ARTICLE_TYPES]
    articles = [o for o in candidates if type_names(o) - _PAGE_TYPES]
    for group in (articles, candidates):
        for obj in group:
            own = absolute_url(jsonld_str(obj.get("url") or obj.get("@id")) or "", page.base)
            if own and same_page(own, page.url) and obj.get("datePublished"):
                return obj
        with_date = [o for o in group if o.get("datePublished")]
        if with_date:
            return with_date[0]
    return candidates[0] if candidates else None


_AFTER = 60  # elements looked at after the title (a date may follow the text)
_CLOSE = 2 * 12  # "beside the title": within a dozen elements


def _date_near_title(
    page: Page, title_el: El | None, now: datetime
) -> tuple[datetime, bool, bool, bool] | None:
    """A date shown next to the title: (value, machine, has_time, close) where machine means
    <time datetime> and close that it is within a few elements of the title.

    Looks a few elements before and after the <h1>, never in page chrome, and stops at a
    "Lees ook"/related block, whose dates belong to other articles.
    """
    elements = [e for e in page.root.iter() if isinstance(e.tag, str)]
    if title_el is None:
        main = first_of(page.root, ".//main", ".//article")
        if main is None:
            return None
        start = next(i for i, e in enumerate(elements) if e is main)
        window = list(range(start, min(len(elements), start + 30)))
        anchor = start
    else:
        anchor = next(i for i, e in enumerate(elements) if e is title_el)
        after: list[int] = []
        for i in range(anchor + 1, min(len(elements), anchor + _AFTER)):
            if _RELATED_MARKERS.match(text_of(elements[i])):
                break
            after.append(i)
        window = list(range(max(0, anchor - 15), anchor)) + after
    title_text = text_of(title_el) if title_el is not None else ""
    best: tuple[int, datetime, bool, bool] | None = None
    for i in window:
        el = elements[i]
        if el.tag in HEADINGS or el.tag in ("html", "body", "head", "title", "meta"):
            continue
        got: tuple[datetime, bool] | None = None
        machine = False
        if el.tag == "time" or el.get("datetime"):
            got = _machine(el.get("datetime"), page, now)
            machine = got is not None
        text = text_of(el)
        if got is None:
            if not text or len(text) > SHORT_TEXT or (title_text and title_text in text):
                continue
            got = _text_date(text, now)
            if got is None:
                continue
        if in_chrome(el) or in_comments(el):
            continue
        distance = abs(i - anchor) * 2 + (1 if i > anchor else 0)
        if best is None or distance < best[0]:
            best = (distance, got[0], machine, got[1])
    if best is None:
        return None
    return best[1], best[2], best[3], best[0] <= _CLOSE


@dataclass(frozen=True, slots=True)
class _Found:
    """A publication date found on the page, with how it was found."""

    value: datetime  # aware UTC; for a date without a time, Amsterdam midnight of that day
    has_time: bool
    source: DateSource  # page-meta (machine-readable) or page-text (a visible date)
    strength: Literal["meta", "near-title", "text"]
    near: bool = True  # a text date beside the title (not one found further away)


_SLASH_DATE = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*")
_DAY_FIRST_ENGLISH = ("en-gb", "en-ie", "en-au", "en-nz", "en-za", "en-in")
_HAS_TIME = re.compile(r"\d[T ]\d{1,2}:\d{2}|\d{1,2}:\d{2}")
_PUBLISHED_WORDS = re.compile(
    r"(?:gepubliceerd|geplaatst|published|posted|veröffentlicht|erschienen|publié|mis en ligne)"
    r"\W*$",
    re.IGNORECASE,
)
_UPDATED_WORDS = re.compile(
    r"(?:gewijzigd|bijgewerkt|aangepast|updated|modified|aktualisiert|geändert|mis à jour|modifié)"
    r"\W*(?:op|on|am|le)?\W*$",
    re.IGNORECASE,
)


def _machine(raw: str | None, page: Page, now: datetime) -> tuple[datetime, bool] | None:
    """A machine-readable date (meta content, JSON-LD, an attribute) -> (value, has_time).

    "11/01/2023" is read month first on an English page that is not British (or Irish, ...),
    day first everywhere else.
    """
    if not raw:
        return None
    m = _SLASH_DATE.fullmatch(raw)
    tag = page.lang_tag or ""
    if m is not None and page.lang == "en" and not tag.startswith(_DAY_FIRST_ENGLISH):
        raw = f"{m.group(3)}-{int(m.group(1)):02d}-{int(m.group(2)):02d}"
    value = parse_iso_datetime(raw, now=now)
    if value is None:
        return None
    return value, _HAS_TIME.search(raw) is not None


def _text_date(text: str, now: datetime) -> tuple[datetime, bool] | None:
    """The one date a short text shows; of "published X, updated Y" the published one."""
    m = parse_date_match(text, now=now)
    if m is not None:
        if _UPDATED_WORDS.search(text[: m.start]) and not _PUBLISHED_WORDS.search(text[: m.start]):
            return None  # "Bijgewerkt op 5 mei 2023" alone: a modification, not the publication
        return m.value, m.has_time
    matches = find_date_matches(text, now=now)
    if not matches:
        return None
    if len({x.value.date() for x in matches}) == 1:
        best = max(matches, key=lambda x: x.has_time)
        return best.value, best.has_time
    published = [x for x in matches if _PUBLISHED_WORDS.search(text[: x.start])]
    if published:
        return published[0].value, published[0].has_time
    kept = [x for x in matches if not _UPDATED_WORDS.search(text[: x.start])]
    if len({x.value for x in kept}) == 1:
        return kept[0].value, kept[0].has_time
    return None


def _own_date(
    page: Page, h1: El | None, metas: dict[str, str], entity: dict[str, Any] | None, now: datetime
) -> _Found | None:
    """feedwatch's own reading: metadata first, then a date beside the title."""
    if entity is not None:
        raw = jsonld_str(entity.get("datePublished") or entity.get("dateCreated"))
        got = _machine(raw, page, now)
        if got is not None:
            return _Found(got[0], got[1], "page-meta", "meta")
    for name in _META_DATE_NAMES:
        got = _machine(metas.get(name), page, now)
        if got is not None:
            return _Found(got[0], got[1], "page-meta", "meta")
    for raw in page.broken_jsonld:  # JSON-LD no repair could read: its datePublished still
        m = _JSONLD_DATE.search(raw)
        got = _machine(m.group(1), page, now) if m else None
        if got is not None:
            return _Found(got[0], got[1], "page-meta", "meta")
    for el in page.root.xpath(_MICRO_DATES):
        if in_chrome(el) or in_comments(el):
            continue
        got = _machine(el.get("datetime") or el.get("content") or el.get("title"), page, now)
        if got is None:
            got = _text_date(text_of(el), now)
        if got is not None:
            return _Found(got[0], got[1], "page-meta", "meta")
    anchor = h1
    if anchor is None:  # no <h1>: the first heading of the content stands in for it
        anchor = next(
            (h for h in page.root.iter("h2", "h3") if text_of(h) and not in_chrome(h)), None
        )
    near = _date_near_title(page, anchor, now)
    if near is not None:
        value, machine, has_time, close = near
        return _Found(
            value,
            has_time,
            "page-meta" if machine else "page-text",
            "near-title" if machine else "text",
            close,
        )
    return None


_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{6,40})"')
_MICRO_DATES = (
    "//*[@itemprop='datePublished'] | //time[@pubdate] | //*[contains(concat(' ', "
    "normalize-space(@class), ' '), ' dt-published ')] | //abbr[@title][contains(concat(' ', "
    "normalize-space(@class), ' '), ' published ')] | //time[@datetime][contains(concat(' ', "
    "normalize-space(@class), ' '), ' published ')]"
)


def _day(found: _Found) -> date:
    return found.value.astimezone(AMSTERDAM).date() if not found.has_time else found.value.date()


def _as_instant(found: _Found) -> datetime:
    """The stored instant: with a time as found; a date alone is 00:00 UTC of that day (the
    rule feed dates follow too), so that the day reads the same in UTC and in Europe."""
    if found.has_time:
        return found.value
    day = found.value.astimezone(AMSTERDAM).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _content_copy(page: Page) -> El:
    """A copy of the page without its chrome, comment threads and related-article blocks (the
    "bijgewerkt" line of a header, a comment's date, a "Lees ook" list are not the article's);
    the <head> with its metadata stays. One walk from the top: a removed block is not entered."""
    root = copy.deepcopy(page.root)
    body = root.find("body")
    stack = [body if body is not None else root]
    while stack:
        parent = stack.pop()
        for el in list(parent):
            if not isinstance(el.tag, str):
                continue
            if el.tag in HEADINGS and _RELATED_MARKERS.match(text_of(el)):
                if parent.tag not in ("body", "main", "article") and parent.getparent() is not None:
                    parent.getparent().remove(parent)  # the heading's block is the related list
                    break
                parent.remove(el)
                continue
            kind = boiler_kind(el) if el.tag not in ("main", "article") else None
            if kind is not None or is_comment_block(el):
                parent.remove(el)
                continue
            stack.append(el)
    return root


def _htmldate(root: El, url: str, now: datetime, *, extensive: bool) -> _Found | None:
    """htmldate's original-date answer (a day) on the content copy, or None.

    Its fast mode (markup and metadata) runs whenever feedwatch's own reading found no date
    beside the title; its extensive search (dates anywhere in the text) only when nothing else
    found one, and a January 1st from it is refused (its reading of a bare copyright year).
    The URL's date is a last resort only. Provenance: page-meta when the day is written in ISO
    form in an attribute (meta content, datetime, title), page-text otherwise.
    """
    # htmldate is heavy (charset_normalizer, dateparser: ~7 MB and import time): imported on
    # first use, so that a fetch pass without article enrichment (and every worker) goes without.
    from htmldate import find_date

    try:
        with warnings.catch_warnings():  # dateutil warns about zone names it does not know
            warnings.simplefilter("ignore")
            raw = find_date(
                root,
                url=url,
                original_date=True,
                extensive_search=extensive,
                deferred_url_extractor=True,
                min_date=MIN_DATE.strftime("%Y-%m-%d"),
                max_date=(now + MAX_AHEAD).strftime("%Y-%m-%d"),
            )
        day = date.fromisoformat(raw[:10]) if raw else None
    except Exception:  # a third-party parser on hostile markup: its failure is "no date"
        return None
    if day is None or (extensive and (day.month, day.day) == (1, 1)):
        return None
    iso = day.isoformat()
    in_markup = any(iso in value for el in root.iter() for value in el.attrib.values())
    source: DateSource = "page-meta" if in_markup else "page-text"
    return _Found(_local_to_utc_midnight(day), False, source, "text", False)


def _local_to_utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM).astimezone(UTC)


def extract_article(
    body: bytes,
    url: str,
    *,
    now: datetime,
    headers: Mapping[str, str] | None = None,
) -> ArticleInfo:
    """Title, publication date (page-meta, else page-text), summary and language of a page.

    The date, in this order: feedwatch's own reading of the metadata (the article's JSON-LD
    object, article:published_time and similar <meta>, microdata, hAtom/Blogger); a <time
    datetime> or a visible date beside the title (Dutch, English, German, French); where
    that finds no date close to the title, htmldate's fast mode, and where nothing at all was
    found, its extensive search. htmldate only sees the page without navigation, header,
    footer, comments and "Lees ook"/related lists, so their dates are never taken. A date
    without a time is 00:00 UTC of that day. Nothing here raises for odd bytes or markup.
    """
    page = parse_page(body, url, headers)
    if page is None:
        return ArticleInfo(url=url)
    metas = _metas(page)
    entity = _main_entity(page)
    h1 = next((h for h in page.root.iter("h1") if text_of(h) and not in_chrome(h)), None)

    title: str | None = text_of(h1) if h1 is not None else None
    if not title:
        title = jsonld_str(metas.get("og:title"))
    if not title and entity is not None:
        title = jsonld_str(entity.get("headline") or entity.get("name"))
    if not title:
        title_el = page.root.find(".//title")
        title = (text_of(title_el) if title_el is not None else None) or None

    found = _own_date(page, h1, metas, entity, now)
    if found is None or (found.strength == "text" and not found.near):
        # htmldate only where our own reading found nothing close to the title
        content = _content_copy(page)
        helper = _htmldate(content, url, now, extensive=False)
        if helper is None and found is None:
            helper = _htmldate(content, url, now, extensive=True)
        if helper is not None and (found is None or _day(found) != _day(helper)):
            found = helper
    published = _as_instant(found) if found is not None else None
    source: DateSource | None = found.source if found is not None else None

    modified: datetime | None = None
    raw_mod = jsonld_str(entity.get("dateModified")) if entity is not None else None
    for raw in [raw_mod, *(metas.get(n) for n in _META_MODIFIED_NAMES)]:
        if raw:
            modified = parse_iso_datetime(raw, now=now)
            if modified is not None:
                break

    summary = metas.get("og:description") or metas.get("description")
    if not summary and entity is not None:
        summary = jsonld_str(entity.get("description"))
    if not summary:
        scope = first_of(page.root, ".//article", ".//main")
        for p in (scope if scope is not None else page.root).iter("p"):
            text = text_of(p)
            if len(text) >= 40 and not in_chrome(p):
                summary = text
                break
    summary = clip(" ".join(summary.split()), MAX_SUMMARY) if summary else None

    return ArticleInfo(
        url=url,
        title=clip(title, MAX_TITLE) if title else None,
        published=published,
        date_source=source,
        modified=modified,
        summary=summary,
        lang=page.lang,
    )
