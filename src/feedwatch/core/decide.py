"""The decide step: what one fetch of one source means, as one value the store applies. Pure.

In the spirit of reader's Decider: no I/O, no clock of its own, no database. Two halves:

- `process()` reads a response: items (normalised and classified), validators, the next check,
  or the error as a value. It runs in a worker process too (app/workers.py).
- `decide()` sets the read items against what the store holds of them (`StoredItems`, read once
  per fetch by Store.stored_items): new, changed or unchanged; a guid that changed for the same
  URL keeps the stored item; two articles that share one guid stay apart; which rule scores
  are replaced; the typical gap between new items. The store writes `SourceUpdate.writes` as
  they are and holds no policy.

Also here: the pure rules of the web steps in app/harvest.py (which sitemap URLs to take, which
items to enrich, which Last-Modified to trust).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from feedwatch.core.entities import entity_map
from feedwatch.core.extract import extract
from feedwatch.core.normalise import check_date, item_id, normalise
from feedwatch.core.schedule import max_age, next_check_at, typical_gap
from feedwatch.errors import ExtractError
from feedwatch.types import (
    FetchResult,
    Item,
    ItemWrite,
    RawItem,
    Source,
    SourceState,
    SourceUpdate,
    StoredItems,
    TopicScore,
)

__all__ = [
    "RECENT_ITEMS",
    "Classifier",
    "body_digest",
    "build_items",
    "decide",
    "internal_error",
    "needs_enrichment",
    "process",
    "select_sitemap_items",
    "separate_shared_guids",
    "to_enrich",
    "trusted_last_modified",
    "unchanged",
]

Classifier = Callable[[Item], Sequence[TopicScore]]
Scores = dict[str, tuple[TopicScore, ...]]
RECENT_ITEMS = 20  # the typical gap is learned from a source's newest items
LAST_MODIFIED_MIN_AGE = timedelta(minutes=10)


# ------------------------------------------------------------------------ reading a response


def _after_success(
    source: Source, state: SourceState, result: FetchResult, now: datetime
) -> datetime:
    return next_check_at(
        source.key,
        source.interval,
        now,
        cache_max_age=max_age(result.headers),
        bounds=source.interval_bounds,
        gap_seconds=state.typical_gap,
    )


def _success(
    source: Source, state: SourceState, result: FetchResult, now: datetime
) -> SourceUpdate:
    """The fields of every 200 (read or not): validators, a move, the next check."""
    return SourceUpdate(
        key=source.key,
        started_at=result.fetched_at or now,
        duration=result.elapsed,
        outcome="ok",
        url=result.final_url or result.url,
        http_status=result.status,
        bytes=len(result.body),
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        set_validators=True,
        new_url=result.permanent_redirect if result.permanent_redirect != state.url else None,
        next_check_at=_after_success(source, state, result, now),
    )


def process(
    source: Source,
    state: SourceState,
    result: FetchResult,
    now: datetime,
    *,
    classifier: Classifier | None = None,
    classifier_version: str | None = None,
) -> SourceUpdate:
    """What one response means: items read, validators, the next check, or the error."""
    started = result.fetched_at or now
    base = SourceUpdate(
        key=source.key,
        started_at=started,
        duration=result.elapsed,
        outcome="ok",
        url=result.final_url or result.url,
        http_status=result.status,
        bytes=len(result.body),
    )
    if result.error is not None:
        errors = state.consecutive_errors + 1
        disable = None
        if result.status == 410:
            disable = (
                "410 Gone: the site says this address is gone for good; fix the URL in the config"
            )
        return replace(
            base,
            outcome="error",
            error=result.error.message,
            error_kind=result.error.kind,
            next_check_at=next_check_at(
                source.key,
                source.interval,
                now,
                consecutive_errors=errors,
                retry_after=result.error.retry_after,
            ),
            disable_reason=disable,
        )
    new_url = result.permanent_redirect if result.permanent_redirect != state.url else None
    if result.not_modified:
        return replace(
            base,
            outcome="not-modified",
            new_url=new_url,
            next_check_at=_after_success(source, state, result, now),
        )
    try:
        extracted = extract(source, result, now)
    except ExtractError as exc:
        return replace(
            base,
            outcome="error",
            error=exc.message,
            error_kind="extract",
            new_url=new_url,
            next_check_at=next_check_at(
                source.key, source.interval, now, consecutive_errors=state.consecutive_errors + 1
            ),
        )
    items, scores = build_items(
        source, extracted.items, now, base_url=result.final_url or result.url, classifier=classifier
    )
    return replace(
        _success(source, state, result, now),
        items=tuple(items),
        warnings=extracted.warnings,
        scores=scores,
        classifier_version=classifier_version,
        entities=entity_map(items),  # references cited (#17)
    )


def body_digest(source: Source, body: bytes, classifier_version: str | None) -> str:
    """A digest of a body and of what reading it depends on (kind, keep, selectors, rules)."""
    what = f"{source.kind}\0{source.keep}\0{source.selectors!r}\0{classifier_version or ''}\0"
    digest = hashlib.sha256(what.encode())
    digest.update(body)
    return digest.hexdigest()


def unchanged(
    source: Source,
    state: SourceState,
    result: FetchResult,
    now: datetime,
    body_hash: str,
    items: int,
) -> SourceUpdate:
    """A 200 whose body is byte-identical to the last one read in full (which held `items`
    items): nothing to extract, classify or write but the source's state and its log row, "ok"
    with those items unchanged."""
    return replace(
        _success(source, state, result, now),
        body_hash=body_hash,
        same_body_items=items,
        writes=(),
    )


def internal_error(
    source: Source, state: SourceState, now: datetime, exc: BaseException
) -> SourceUpdate:
    """A bug met while reading one source, recorded on that source."""
    return SourceUpdate(
        key=source.key,
        started_at=now,
        duration=0.0,
        outcome="error",
        url=state.url,
        error=f"internal error while reading this source ({type(exc).__name__}: "
        f"{str(exc)[:200]}); please report it",
        error_kind="internal",
        next_check_at=next_check_at(
            source.key, source.interval, now, consecutive_errors=state.consecutive_errors + 1
        ),
        writes=(),
    )


def build_items(
    source: Source,
    raws: Sequence[RawItem],
    now: datetime,
    *,
    base_url: str,
    classifier: Classifier | None = None,
) -> tuple[list[Item], Scores]:
    """Normalise and classify raw items; a `keep: topical` source drops the off-topic."""
    items: list[Item] = []
    scores: Scores = {}
    read = [it for raw in raws if (it := normalise(source.key, raw, now, base_url=base_url))]
    for item in separate_shared_guids(read):
        if classifier is not None:
            item_scores = tuple(classifier(item))
            if source.keep == "topical" and not any(s.assigned for s in item_scores):
                continue
            scores[item.id] = item_scores
        items.append(item)
    return items, scores


# ------------------------------------------------------------------ against the stored items


def separate_shared_guids(items: Sequence[Item]) -> list[Item]:
    """One item per identity: a verbatim repeat (same id, same link) counts once, the first
    one; different articles that share one guid (another link, or another text where there is
    no link) are kept apart, each under an id of the guid and its link (or text), whatever
    their order in the feed."""
    groups: dict[str, list[Item]] = {}
    for it in items:
        groups.setdefault(it.id, []).append(it)
    out: list[Item] = []
    for it in items:
        group = groups[it.id]
        if len(group) == 1:
            out.append(it)
            continue
        if group[0] is not it:
            continue  # the group is handled at its first item
        distinct: dict[str, Item] = {}
        for member in group:
            distinct.setdefault(member.url or member.content_hash, member)
        if len(distinct) == 1 or not it.guid:
            out.append(it)  # a verbatim repeat, or one link twice: the first one wins
            continue
        for apart, member in distinct.items():
            new_id = item_id(member.source, f"{member.guid}\x1f{apart}", None, "", None)
            out.append(replace(member, id=new_id))
    return out


def decide(upd: SourceUpdate, stored: StoredItems) -> SourceUpdate:
    """The writes of one fetch, against what the store holds: new items, changed ones (a guid
    that changed for the same URL rewrites the stored item), unchanged ones (not written); the
    rule scores of a changed item replace its old ones; the typical gap between the newest items
    when some are new. An update without items (an error, a 304) has nothing to write."""
    if upd.writes is not None:
        return upd
    if not upd.items:
        return replace(upd, writes=())
    items: dict[str, Item] = {}
    for it in upd.items:  # the same id twice in one fetch: the first one wins
        items.setdefault(it.id, it)
    ids = set(items)
    hashes = dict(stored.by_id)
    writes: list[ItemWrite] = []
    unchanged_n = 0
    when: dict[str, datetime] = dict(stored.recent)
    for it in items.values():
        target = it.id
        if target not in hashes and it.url and it.url in stored.by_url:
            # A guid that changed for the same URL is the same item (unless that stored item
            # is read in this same fetch under its own id).
            old_id, old_hash = stored.by_url[it.url]
            if old_id not in ids:
                target = old_id
                hashes[old_id] = old_hash
        item_scores = tuple(upd.scores.get(it.id, ()))
        if target not in hashes:
            writes.append(ItemWrite("new", it, item_scores))
            when[target] = it.published or it.first_seen
        elif hashes[target] != it.content_hash:
            moved = it if target == it.id else replace(it, id=target)
            writes.append(ItemWrite("changed", moved, item_scores, bool(upd.scores)))
            if it.published is not None:  # the store rewrites the date only when there is one
                when[target] = it.published
        else:
            unchanged_n += 1
    gap = None
    if any(w.action == "new" for w in writes):
        newest = sorted(when.values(), reverse=True)[:RECENT_ITEMS]
        gap = typical_gap(newest)
    return replace(upd, writes=tuple(writes), unchanged=unchanged_n, typical_gap=gap)


# ------------------------------------------------------------------- rules of the web steps


def _known_hash(item: Item, stored: StoredItems) -> str | None:
    got = stored.by_id.get(item.id)
    if got is None and item.url and item.url in stored.by_url:
        got = stored.by_url[item.url][1]
    return got


def select_sitemap_items(
    items: Sequence[Item], stored: StoredItems, max_new: int
) -> tuple[list[Item], int]:
    """The sitemap URLs to take this run: every changed one and at most `max_new` new ones
    (in the order given: newest first); with the number of new ones found."""
    new = [i for i in items if _known_hash(i, stored) is None]
    changed = [
        i for i in items if (h := _known_hash(i, stored)) is not None and h != i.content_hash
    ]
    return changed + new[:max_new], len(new)


def needs_enrichment(item: Item) -> bool:
    """An item with a link but no date, no summary or no real title."""
    if not item.url:
        return False
    return item.published is None or not item.summary or item.title == item.url


def to_enrich(items: Sequence[Item], stored: StoredItems) -> list[Item]:
    """Items whose article page may add what they lack: new or changed ones only (an enriched
    item keeps its listing's content hash, so the next run finds it unchanged)."""
    return [i for i in items if needs_enrichment(i) and _known_hash(i, stored) != i.content_hash]


def http_date(value: str | None) -> datetime | None:
    """An HTTP date as an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def trusted_last_modified(
    responses: Mapping[str, FetchResult], now: datetime, *, listing: FetchResult | None = None
) -> dict[str, datetime]:
    """The Last-Modified values (same keys as `responses`) that can stand in for a publication
    date.

    Last-Modified is often not the publication: dynamic pages stamp the time they were served,
    and a deploy stamps every page of a site at once. A value is trusted only when it parses,
    lies after 1995 and not after `now`, is at least 10 minutes older than the response's own
    Date and than `now`, is not shared by another article of the same run, and differs from the
    listing page's Last-Modified.
    """
    parsed: dict[str, datetime] = {}
    for url, res in responses.items():
        lm = check_date(http_date(res.headers.get("last-modified")), now)
        if lm is None or lm > now:
            continue
        served = min(http_date(res.headers.get("date")) or now, now)
        if served - lm < LAST_MODIFIED_MIN_AGE:
            continue
        parsed[url] = lm
    counts: dict[datetime, int] = {}
    for lm in parsed.values():
        counts[lm] = counts.get(lm, 0) + 1
    listing_lm = http_date(listing.headers.get("last-modified")) if listing else None
    return {u: lm for u, lm in parsed.items() if counts[lm] == 1 and lm != listing_lm}
