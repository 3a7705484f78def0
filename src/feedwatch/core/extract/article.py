"""Article pages -> title, publication date with its provenance, summary, language; pure.

No I/O and no clock: callers pass the response bytes, its URL and the fetch time ``now``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedwatch.core.extract.dates import find_date_matches, parse_date, parse_iso_datetime
from feedwatch.core.extract.page import (
    ARTICLE_TYPES,
    HEADINGS,
    MAX_SUMMARY,
    MAX_TITLE,
    SHORT_TEXT,
    El,
    Page,
    absolute_url,
    clip,
    first_of,
    in_chrome,
    jsonld_str,
    machine_date,
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


def _main_entity(page: Page) -> dict[str, Any] | None:
    candidates = [o for o in page.jsonld if type_names(o) & ARTICLE_TYPES]
    for obj in candidates:
        own = absolute_url(jsonld_str(obj.get("url") or obj.get("@id")) or "", page.base)
        if own and same_page(own, page.url):
            return obj
    with_date = [o for o in candidates if o.get("datePublished")]
    return with_date[0] if len(with_date) == 1 else (candidates[0] if candidates else None)


def _date_near_title(
    page: Page, title_el: El | None, now: datetime
) -> tuple[datetime, bool] | None:
    """A date shown next to the title: (value, machine) where machine means <time datetime>.

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
        for i in range(anchor + 1, min(len(elements), anchor + 30)):
            if _RELATED_MARKERS.match(text_of(elements[i])):
                break
            after.append(i)
        window = list(range(max(0, anchor - 15), anchor)) + after
    title_text = text_of(title_el) if title_el is not None else ""
    best: tuple[int, datetime, bool] | None = None
    for i in window:
        el = elements[i]
        if el.tag in HEADINGS or el.tag in ("html", "body", "head", "title", "meta"):
            continue
        if el.tag == "time" or el.get("datetime"):
            value = machine_date(el, now)
            machine = value is not None
        else:
            value, machine = None, False
        text = text_of(el)
        if value is None:
            if not text or len(text) > SHORT_TEXT or (title_text and title_text in text):
                continue
            value = parse_date(text, now=now)
            if value is None:
                matches = find_date_matches(text, now=now)
                if len({m.value for m in matches}) != 1:
                    continue
                value = matches[0].value
        if in_chrome(el):
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
    h1 = next((h for h in page.root.iter("h1") if text_of(h) and not in_chrome(h)), None)

    title: str | None = text_of(h1) if h1 is not None else None
    if not title:
        title = jsonld_str(metas.get("og:title"))
    if not title and entity is not None:
        title = jsonld_str(entity.get("headline") or entity.get("name"))
    if not title:
        title_el = page.root.find(".//title")
        title = (text_of(title_el) if title_el is not None else None) or None

    published: datetime | None = None
    source: DateSource | None = None
    if entity is not None:
        raw = jsonld_str(entity.get("datePublished") or entity.get("dateCreated"))
        published = parse_iso_datetime(raw, now=now) if raw else None
    if published is None:
        for name in _META_DATE_NAMES:
            if name in metas:
                published = parse_iso_datetime(metas[name], now=now)
                if published is not None:
                    break
    if published is None:
        for el in page.root.xpath("//*[@itemprop='datePublished'] | //time[@pubdate]"):
            if in_chrome(el):
                continue
            published = machine_date(el, now) or parse_date(text_of(el), now=now)
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
