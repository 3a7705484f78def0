"""The web steps of one source around the pure decide step (core/decide.py): robots.txt,
pagination, sitemaps, article enrichment. I/O only: the rules are in core/decide.py.

`pipeline.run_fetch()` calls `fetch_source()` once per due source. A feed (rss/atom/json) is
fetched, read by `process()` and decided against the stored items (`Harvest.stored`, read once).
An HTML, sitemap or auto source also:

- asks robots.txt first (a disallowed listing is an error on the source and is not fetched;
  a disallowed article or later page is a warning and is skipped);
- on its first successful fetch only, follows "next page" links up to `max_pages` pages;
- for a sitemap index, reads up to `sitemap_max_children` child sitemaps, and takes at most
  `sitemap_max_new` new URLs per run (newest first; the rest come in later runs);
- enriches at most `enrich_limit` new or changed items per run that lack a date, a summary or a
  title, from their article page: date (page-meta / page-text), summary, title; else a
  trustworthy Last-Modified (http-last-modified); else the item stays first-seen.

An enriched item keeps the content hash of its listing version, so the next run, which sees the
same listing, finds it unchanged and does not fetch the article again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from feedwatch.app.connectors import fetch_connector
from feedwatch.core.decide import (
    Classifier,
    body_digest,
    build_items,
    decide,
    needs_enrichment,
    process,
    select_sitemap_items,
    to_enrich,
    trusted_last_modified,
    unchanged,
)
from feedwatch.core.entities import entity_map
from feedwatch.core.extract import resolve_kind
from feedwatch.core.extract.article import extract_article
from feedwatch.core.extract.paging import find_next_page
from feedwatch.core.extract.sitemap import SitemapEntry, newest_first, parse_sitemap, sitemap_items
from feedwatch.core.normalise import MAX_SUMMARY, MAX_TITLE, check_date, plain_text
from feedwatch.edges.http.fetch import Client, FetchSettings, HostLimiter, fetch
from feedwatch.edges.http.robots import RobotsCache
from feedwatch.errors import FetchError
from feedwatch.types import (
    FetchResult,
    Item,
    Source,
    SourceState,
    SourceUpdate,
    StoredItems,
    TopicScore,
)

__all__ = [
    "DEFAULT_ENRICH_LIMIT",
    "Harvest",
    "Lookup",
    "fetch_source",
    "needs_enrichment",
    "trusted_last_modified",
]

DEFAULT_ENRICH_LIMIT = 10  # article pages per source per run
SITEMAP_MAX_CHILDREN = 10  # child sitemaps read per run from an index
SITEMAP_MAX_NEW = 100  # new URLs taken from a sitemap per run
ROBOTS_KINDS = frozenset({"html", "sitemap", "auto"})

Scores = dict[str, tuple[TopicScore, ...]]
# decide.process() somewhere else (workers.ProcessPool.process): source, state, result, now
Offload = Callable[[Source, SourceState, FetchResult, datetime], Awaitable[SourceUpdate]]
# What the store holds of a source's items with these ids or URLs (Store.stored_items)
Lookup = Callable[[str, Sequence[str], Sequence[str]], Awaitable[StoredItems]]


async def _nothing_stored(_key: str, _ids: Sequence[str], _urls: Sequence[str]) -> StoredItems:
    return StoredItems()


def _no_cursor(_key: str) -> str | None:
    return None


@dataclass
class Harvest:
    """The shared tools of one run, passed to every source's fetch."""

    client: Client
    settings: FetchSettings
    limiter: HostLimiter
    robots: RobotsCache
    clock: Callable[[], datetime]
    stored: Lookup = _nothing_stored
    # where a connector source resumes: Store.connector_cursor (#17)
    cursor: Callable[[str], str | None] = _no_cursor
    classifier: Classifier | None = None
    classifier_version: str | None = None
    enrich_limit: int = DEFAULT_ENRICH_LIMIT
    sitemap_max_children: int = SITEMAP_MAX_CHILDREN
    sitemap_max_new: int = SITEMAP_MAX_NEW
    # key -> (digest, items) of the last body read: Store.body_hashes()
    bodies: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    offload: Offload | None = None  # runs process() for a full response, e.g. in a worker


def _refused(source: Source, url: str, reason: str, now: datetime) -> FetchResult:
    return FetchResult(
        source_key=source.key,
        url=url,
        final_url=url,
        status=None,
        error=FetchError(source.key, reason, kind="robots"),
        fetched_at=now,
    )


async def _get(h: Harvest, source: Source, url: str) -> FetchResult:
    return await fetch(
        h.client, source.key, url, settings=h.settings, limiter=h.limiter, now=h.clock()
    )


async def fetch_source(h: Harvest, source: Source, state: SourceState) -> SourceUpdate:
    """Fetch one source with everything its kind needs and decide what to write; never raises
    for the source's faults."""

    def run_process(result: FetchResult, st: SourceState = state) -> SourceUpdate:
        return process(
            source,
            st,
            result,
            h.clock(),
            classifier=h.classifier,
            classifier_version=h.classifier_version,
        )

    if source.connector is not None:  # an open-data API (#17): feedwatch.app.connectors
        return await fetch_connector(h, source, state)
    if source.kind in ROBOTS_KINDS:
        verdict = await h.robots.check(
            h.client, state.url, settings=h.settings, limiter=h.limiter, key=source.key
        )
        if not verdict.allowed:
            reason = verdict.reason or "robots.txt disallows the page"
            return decide(
                run_process(_refused(source, state.url, reason, h.clock())), StoredItems()
            )
    result = await fetch(
        h.client,
        source.key,
        state.url,
        etag=state.etag,
        last_modified=state.last_modified,
        settings=h.settings,
        limiter=h.limiter,
        now=h.clock(),
    )
    digest = None
    if result.ok and source.kind != "sitemap":  # a sitemap index's children may change
        digest = body_digest(source, result.body, h.classifier_version)
        last, n_items = h.bodies.get(source.key, ("", 0))
        if last == digest and resolve_kind(source, result) != "sitemap":
            return unchanged(source, state, result, h.clock(), digest, n_items)
    if h.offload is not None and result.ok:
        update = await h.offload(source, state, result, h.clock())
    else:
        update = run_process(result)
    if update.outcome != "ok" or not result.ok:
        return decide(update, StoredItems())
    kind = resolve_kind(source, result)
    if kind not in ("html", "sitemap"):
        return decide(replace(update, body_hash=digest), await _stored(h, source, update.items))
    items = list(update.items)
    scores: Scores = dict(update.scores)
    warnings = list(update.warnings)
    paged = kind == "html" and state.last_success_at is None and source.max_pages > 1
    if paged:
        await _more_pages(h, source, state, result, items, scores, warnings, run_process)
    if kind == "sitemap":
        items, scores = await _sitemap_children(h, source, result, items, scores, warnings)
    stored = await _stored(h, source, items)
    if kind == "sitemap":
        items, found = select_sitemap_items(items, stored, h.sitemap_max_new)
        if found > h.sitemap_max_new:
            warnings.append(
                f"{found} new URLs in the sitemap; took the newest {h.sitemap_max_new}, "
                "the rest follow in later runs"
            )
        scores = {i.id: scores[i.id] for i in items if i.id in scores}
    items = await _enrich(h, source, items, scores, warnings, stored, result)
    return decide(
        replace(
            update,
            items=tuple(items),
            entities=entity_map(items),  # after enrichment (#17)
            scores=scores,
            warnings=tuple(warnings),
            # the digest stands for this one page's items: not when later pages were read too
            body_hash=digest if kind == "html" and not paged else None,
        ),
        stored,
    )


async def _stored(h: Harvest, source: Source, items: Sequence[Item]) -> StoredItems:
    if not items:
        return StoredItems()
    return await h.stored(source.key, [i.id for i in items], [i.url for i in items if i.url])


# ------------------------------------------------------------------------------- pagination


async def _more_pages(
    h: Harvest,
    source: Source,
    state: SourceState,
    first: FetchResult,
    items: list[Item],
    scores: Scores,
    warnings: list[str],
    run_process: Callable[[FetchResult, SourceState], SourceUpdate],
) -> None:
    """Follow next-page links (first fetch only) and add their items to `items`."""
    seen = {first.url, first.final_url}
    ids = {i.id for i in items}
    page = first
    for _ in range(source.max_pages - 1):
        nxt = find_next_page(page.body, page.final_url or page.url, page.headers)
        if nxt is None or nxt in seen:
            return
        seen.add(nxt)
        verdict = await h.robots.check(
            h.client, nxt, settings=h.settings, limiter=h.limiter, key=source.key
        )
        if not verdict.allowed:
            warnings.append(f"next page not fetched: {verdict.reason}")
            return
        page = await _get(h, source, nxt)
        upd = run_process(page, replace(state, url=nxt, etag=None, last_modified=None))
        if upd.outcome != "ok" or not page.ok:
            warnings.append(f"next page {nxt}: {upd.error or 'no answer'}")
            return
        for item in upd.items:
            if item.id not in ids:
                ids.add(item.id)
                items.append(item)
                if item.id in upd.scores:
                    scores[item.id] = upd.scores[item.id]
        warnings.extend(upd.warnings)


# --------------------------------------------------------------------------------- sitemaps


async def _sitemap_children(
    h: Harvest,
    source: Source,
    result: FetchResult,
    items: list[Item],
    scores: Scores,
    warnings: list[str],
) -> tuple[list[Item], Scores]:
    """The items of a sitemap: those of an index's children (at most `sitemap_max_children`
    of them, newest first), else the sitemap's own."""
    now = h.clock()
    try:
        top = parse_sitemap(result.body, now=now)
    except ValueError:
        top = None
    if top is None or top.kind != "index":
        return items, scores
    children = newest_first(top.entries)
    if len(children) > h.sitemap_max_children:
        warnings.append(
            f"sitemap index lists {len(children)} sitemaps; read the newest "
            f"{h.sitemap_max_children}"
        )
    entries: list[SitemapEntry] = []
    for child in children[: h.sitemap_max_children]:
        verdict = await h.robots.check(
            h.client, child.url, settings=h.settings, limiter=h.limiter, key=source.key
        )
        if not verdict.allowed:
            warnings.append(f"child sitemap not fetched: {verdict.reason}")
            continue
        got = await _get(h, source, child.url)
        if not got.ok:
            msg = got.error.message if got.error is not None else f"HTTP {got.status}"
            warnings.append(f"child sitemap {child.url}: {msg}")
            continue
        try:
            sub = parse_sitemap(got.body, now=now)
        except ValueError as exc:
            warnings.append(f"child sitemap {child.url}: {exc}")
            continue
        if sub.kind == "index":
            warnings.append(f"child sitemap {child.url} is itself an index; not followed")
            continue
        entries.extend(sub.entries)
    raws = sitemap_items(entries, len(entries))
    return build_items(
        source, raws, now, base_url=result.final_url or result.url, classifier=h.classifier
    )


# ------------------------------------------------------------------------------- enrichment


async def _article(h: Harvest, source: Source, url: str, warnings: list[str]) -> FetchResult | None:
    verdict = await h.robots.check(
        h.client, url, settings=h.settings, limiter=h.limiter, key=source.key
    )
    if not verdict.allowed:
        warnings.append(f"article not fetched: {verdict.reason}")
        return None
    got = await _get(h, source, url)
    if not got.ok:
        msg = got.error.message if got.error is not None else f"HTTP {got.status}"
        warnings.append(f"article {url}: {msg}")
        return None
    return got


async def _enrich(
    h: Harvest,
    source: Source,
    items: list[Item],
    scores: Scores,
    warnings: list[str],
    stored: StoredItems,
    listing: FetchResult,
) -> list[Item]:
    """Items with what their article pages add (at most `enrich_limit` pages)."""
    if h.enrich_limit <= 0:
        return items
    wanted = to_enrich(items, stored)
    todo = wanted[: h.enrich_limit]
    if len(wanted) > len(todo):
        warnings.append(
            f"{len(wanted) - len(todo)} items not enriched: at most {h.enrich_limit} article "
            "pages per source per run"
        )
    if not todo:
        return items
    fetched = await asyncio.gather(*(_article(h, source, i.url, warnings) for i in todo))
    responses = {i.id: r for i, r in zip(todo, fetched, strict=True) if r is not None}
    now = h.clock()
    trusted = trusted_last_modified(responses, now, listing=listing)
    enriched: dict[str, Item] = {}
    for item in todo:
        res = responses.get(item.id)
        if res is None:
            continue
        info = extract_article(res.body, res.final_url or res.url, now=now, headers=res.headers)
        new = item
        published = check_date(info.published, now)
        if new.published is None and published is not None and info.date_source is not None:
            new = replace(new, published=published, date_source=info.date_source)
        elif new.published is None and item.id in trusted:
            new = replace(new, published=trusted[item.id], date_source="http-last-modified")
        if not new.summary and info.summary:
            new = replace(new, summary=plain_text(info.summary, MAX_SUMMARY))
        if new.title == new.url and info.title:
            new = replace(new, title=plain_text(info.title, MAX_TITLE))
        if new.lang is None and info.lang:
            lang = info.lang.strip().lower().replace("_", "-").split("-")[0]
            new = replace(new, lang=lang if lang.isalpha() else None)
        # new.content_hash stays the listing version's: the next run sees it unchanged
        if new != item:
            enriched[item.id] = new
            if h.classifier is not None:
                scores[item.id] = tuple(h.classifier(new))
    return [enriched.get(i.id, i) for i in items]
