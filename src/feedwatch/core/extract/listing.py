"""HTML listing pages -> dated items: CSS selectors, JSON-LD lists, or the generic detector; pure.

No I/O and no clock: callers pass the response bytes, its URL and the fetch time ``now``.
With selectors from the config those decide (cssselect compiles them to XPath); otherwise a
schema.org ItemList, else the generic detector of repeated link blocks ("cards").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from cssselect import HTMLTranslator, SelectorError

from feedwatch.core.extract.dates import find_date_matches, parse_date, parse_iso_datetime
from feedwatch.core.extract.page import (
    ARTICLE_TYPES,
    HEADINGS,
    MAX_SUMMARY,
    MAX_TITLE,
    SHORT_TEXT,
    El,
    Page,
    _etree,
    absolute_url,
    clip,
    content_elements,
    first_date,
    is_social,
    jsonld_str,
    machine_date,
    parse_page,
    same_page,
    text_of,
    type_names,
)
from feedwatch.types import DateSource, RawItem, Selectors

__all__ = ["compile_selector", "extract_listing", "validate_selectors"]

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
_LISTING_TYPES = ARTICLE_TYPES - {"webpage", "creativework"}


_MAY_DATE = re.compile(r"\d|gisteren|vandaag|yesterday|today", re.IGNORECASE)


def _own_text_may_date(el: El) -> bool:
    """Cheap test: does the element's own text (not its children's) hold a digit or a day word."""
    if el.text and _MAY_DATE.search(el.text):
        return True
    return any(child.tail and _MAY_DATE.search(child.tail) for child in el)


def _date_in(card: El, now: datetime) -> datetime | None:
    """The date a card shows: <time>, microdata, then a short dated element, then any text."""
    for t in card.iter("time"):
        value = machine_date(t, now) or first_date(text_of(t), now)
        if value is not None:
            return value
    for el in card.xpath(
        ".//*[@itemprop='datePublished' or @itemprop='dateCreated' or @property='datePublished']"
    ):
        value = machine_date(el, now) or first_date(text_of(el), now)
        if value is not None:
            return value
    for el in card.iter():
        if not isinstance(el.tag, str) or el.tag in HEADINGS or not _own_text_may_date(el):
            continue
        text = text_of(el)
        if not text or len(text) > SHORT_TEXT:
            continue
        value = first_date(text, now)
        if value is not None:
            return value
    matches = find_date_matches(text_of(card), now=now)
    return matches[0].value if matches else None


def _title_for(card: El, link: El | None) -> str | None:
    """The heading around or inside the link, else the link text, else the card's heading."""
    if link is not None:
        for anc in link.iterancestors():
            if anc.tag in HEADINGS:
                return clip(text_of(anc), MAX_TITLE) or None
            if anc is card:
                break
        inner = next((h for h in link.iter(*HEADINGS)), None)
        if inner is not None and text_of(inner):
            return clip(text_of(inner), MAX_TITLE)
        href = link.get("href")
        for h in card.iter(*HEADINGS):
            if any(a.get("href") == href for a in h.iter("a")) and text_of(h):
                return clip(text_of(h), MAX_TITLE)  # the heading links where this link does
        for prop in link.xpath(".//*[@itemprop='headline' or @itemprop='name']"):
            if text_of(prop):
                return clip(text_of(prop), MAX_TITLE)
        text = text_of(link)
        if text and not _GENERIC_TEXT.match(text) and len(text) <= 200:
            return text
    for prop in card.xpath(".//*[@itemprop='headline']"):
        if text_of(prop):
            return clip(text_of(prop), MAX_TITLE)
    heading = next((h for h in card.iter(*HEADINGS) if text_of(h)), None)
    if heading is not None:
        return clip(text_of(heading), MAX_TITLE)
    if link is not None:
        text = text_of(link) or (link.get("title") or "").strip() or link.get("aria-label") or ""
        if text and not _GENERIC_TEXT.match(text):
            return clip(" ".join(text.split()), MAX_TITLE)
        img = next(link.iter("img"), None)
        if img is not None and (img.get("alt") or "").strip():
            return clip(" ".join((img.get("alt") or "").split()), MAX_TITLE)
    return None


def _summary_for(card: El, title: str | None, now: datetime) -> str | None:
    for el in card.xpath(".//*[@itemprop='description']"):
        text = text_of(el)
        if text:
            return clip(text, MAX_SUMMARY)
    for p in card.iter("p"):
        text = text_of(p)
        if len(text) < 20 or (title and text == title):
            continue
        if parse_date(text, now=now) is not None:
            continue
        return clip(text, MAX_SUMMARY)
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
                title = clip(text_of(title_el), MAX_TITLE)
        if title is None and card.tag == "a":
            title = clip(text_of(card), MAX_TITLE) or None
        if title is None:
            title = _title_for(card, link_el)
        published: datetime | None = None
        if sel.date:
            for date_el in _select(card, sel.date):
                published = machine_date(date_el, now) or first_date(text_of(date_el), now)
                if published is not None:
                    break
        else:
            published = _date_in(card, now)
        summary: str | None = None
        if sel.summary:
            summary_el = next((s for s in _select(card, sel.summary) if text_of(s)), None)
            if summary_el is not None:
                summary = clip(text_of(summary_el), MAX_SUMMARY)
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
    for el, path in content_elements(page.root):
        if el.tag != "a":
            continue
        rels = set((el.get("rel") or "").lower().split())
        if rels & _SKIP_RELS:
            continue
        url = absolute_url(el.get("href") or "", page.base)
        if url is None or same_page(url, page.url) or is_social(url):
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


def _jsonld_listing(page: Page, now: datetime) -> list[RawItem]:
    """Items of a schema.org ItemList, or of two or more Article-like objects with URLs."""
    entries: list[dict[str, Any]] = []
    for obj in page.jsonld:
        if "itemlist" in type_names(obj):
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
            if type_names(o) & _LISTING_TYPES
            and jsonld_str(o.get("url") or o.get("@id"))
            and not same_page(
                absolute_url(jsonld_str(o.get("url") or o.get("@id")) or "", page.base) or "",
                page.url,
            )
        ]
        if len(articles) >= 2:
            entries = articles
    items: list[RawItem] = []
    for entry in entries:
        url = absolute_url(jsonld_str(entry.get("url") or entry.get("@id")) or "", page.base)
        title = jsonld_str(entry.get("headline") or entry.get("name"))
        raw_date = jsonld_str(entry.get("datePublished") or entry.get("dateCreated"))
        published = parse_iso_datetime(raw_date, now=now) if raw_date else None
        summary = jsonld_str(entry.get("description"))
        item = _item(
            page,
            clip(title, MAX_TITLE) if title else None,
            url,
            clip(summary, MAX_SUMMARY) if summary else None,
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
